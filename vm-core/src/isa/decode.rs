//! Turning code bytes into instructions, for both encodings.
//!
//! Decoding is total: every byte string decodes to a sequence of instructions, where
//! anything that is not a valid instruction becomes an invalid one (which traps). The
//! sequence starts at offset 0 and covers the whole code, and the instruction after a
//! block-ending one, or at a Latest64 macro-block boundary, starts a basic block.

use super::table::{Flow, Format, InstructionSet, Opcode, Reg, NO_OPCODE};
use crate::cast::{low_u32_of_usize, usize_from_u32};
use alloc::vec::Vec;
use core::fmt;

/// The longest run of non-instruction-start bytes a bitmask may encode before the bytes
/// after it become an invalid instruction.
pub const MAX_SKIP: u32 = 24;

/// Latest64 code is cut into macro blocks of this size; no instruction may straddle one.
pub const MACRO_BLOCK_SIZE: u32 = 1024;

/// The longest code [`Decoder`] (and [`decode_code`]) takes: every offset it hands out,
/// up to one past the opcode of the last instruction, then fits in a `u32`.
pub const MAX_DECODED_CODE: usize = usize_from_u32(u32::MAX - 1);

/// The operands of one instruction. Immediates are kept as the raw 32-bit value (already
/// sign-extended from their encoded length); offsets are resolved to absolute code offsets.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Args {
    None,
    Imm(u32),
    Offset(u32),
    ImmImm(u32, u32),
    RegImm(Reg, u32),
    RegImm64(Reg, u64),
    RegImmOffset(Reg, u32, u32),
    RegImmImm(Reg, u32, u32),
    RegRegImm(Reg, Reg, u32),
    RegRegOffset(Reg, Reg, u32),
    /// `(destination, first source, second source)`.
    RegRegReg(Reg, Reg, Reg),
    RegReg(Reg, Reg),
    RegRegImmImm(Reg, Reg, u32, u32),
}

/// One decoded instruction.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Instruction {
    /// What it does.
    pub opcode: Opcode,
    /// Its operands; the variant always matches `opcode.format()`.
    pub args: Args,
}

/// An instruction together with where it sits in the code.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct DecodedInstruction {
    /// Byte offset of the instruction (its program counter).
    pub pc: u32,
    /// Its length in bytes (0 for the implicit trap after the end of the code).
    pub length: u32,
    /// `None` for an invalid instruction, which traps.
    pub instruction: Option<Instruction>,
}

impl DecodedInstruction {
    /// The instruction's effect on basic blocks; invalid instructions behave as `trap`.
    #[inline]
    pub fn flow(&self) -> Flow {
        self.instruction.map_or(Flow::Jump, |i| i.opcode.flow())
    }
}

/// The decoded form of a whole code section: every instruction in order, and which of
/// them start basic blocks.
#[derive(Clone, Debug, Default)]
pub struct InstructionStream {
    /// All instructions, ending with an implicit trap at `code.len()` when the last real
    /// instruction could fall through.
    pub instructions: Vec<DecodedInstruction>,
    /// `block_starts[i]` is whether `instructions[i]` begins a basic block.
    pub block_starts: Vec<bool>,
}

impl InstructionStream {
    /// The index of the instruction at `pc` if a basic block starts there (a valid target
    /// for a branch or a jump-table entry; the implicit trap at the end is never one).
    pub fn block_at(&self, pc: u32) -> Option<usize> {
        let index = self.instructions.binary_search_by_key(&pc, |i| i.pc).ok()?;
        (self.block_starts[index] && self.instructions[index].length != 0).then_some(index)
    }
}

#[inline]
fn byte_at(code: &[u8], offset: usize) -> u8 {
    code.get(offset).copied().unwrap_or(0)
}

/// Reads `length` (0..=4) little-endian bytes and sign-extends them to 32 bits.
#[inline]
fn read_imm(code: &[u8], offset: usize, length: u32) -> u32 {
    if length == 0 {
        return 0;
    }
    let value = match code.get(offset..offset.saturating_add(4)) {
        // Four bytes in range: one load; the shifts below drop the bytes past `length`.
        Some(&[b0, b1, b2, b3]) => u32::from_le_bytes([b0, b1, b2, b3]),
        _ => {
            // Near the end: the bytes that exist, zeros past them (dropped as above).
            let mut bytes = [0u8; 4];
            let rest = code.get(offset..).unwrap_or_default();
            for (byte, &value) in bytes.iter_mut().zip(rest) {
                *byte = value;
            }
            u32::from_le_bytes(bytes)
        }
    };
    if length == 4 {
        return value;
    }
    // (`length` is 1..=3 here.)
    let shift = 32 - 8 * length;
    ((value << shift).cast_signed() >> shift).cast_unsigned()
}

/// Decodes the operands of `opcode`, whose operand bytes start at `at` and are
/// `length` bytes long (the Graypaper's `ℓ`). Bytes past the end of the code read as zero.
///
/// `at` must be at most `code.len()` plus a few bytes (as a [`Decoder`]'s instructions
/// have it): the offsets below add at most 10 to it, which then cannot wrap on any target.
#[inline(always)]
pub(crate) fn decode_args(code: &[u8], pc: u32, opcode: Opcode, at: usize, length: u32) -> Args {
    // Immediate lengths: what is left of the `length` operand bytes after `used` of
    // them, at most 4.
    let imm_length = |used: u32| length.saturating_sub(used).min(4);
    let reg_lo = |offset: usize| Reg::from_nibble(byte_at(code, offset) & 0xf);
    let reg_hi = |offset: usize| Reg::from_nibble(byte_at(code, offset) >> 4);
    match opcode.format() {
        Format::Argless => Args::None,
        Format::Imm => Args::Imm(read_imm(code, at, imm_length(0))),
        Format::Offset => Args::Offset(pc.wrapping_add(read_imm(code, at, imm_length(0)))),
        Format::ImmImm => {
            let lx = u32::from(byte_at(code, at) & 7).min(4);
            let ly = imm_length(lx + 1);
            Args::ImmImm(
                read_imm(code, at + 1, lx),
                read_imm(code, at + 1 + usize_from_u32(lx), ly),
            )
        }
        Format::RegImm => Args::RegImm(reg_lo(at), read_imm(code, at + 1, imm_length(1))),
        Format::RegImm64 => {
            let mut value = 0u64;
            for n in 0..8 {
                value |= u64::from(byte_at(code, at + 1 + n)) << (8 * n);
            }
            Args::RegImm64(reg_lo(at), value)
        }
        Format::RegImmImm | Format::RegImmOffset => {
            let lx = u32::from((byte_at(code, at) >> 4) & 7).min(4);
            let ly = imm_length(lx + 1);
            let x = read_imm(code, at + 1, lx);
            let y = read_imm(code, at + 1 + usize_from_u32(lx), ly);
            if opcode.format() == Format::RegImmImm {
                Args::RegImmImm(reg_lo(at), x, y)
            } else {
                Args::RegImmOffset(reg_lo(at), x, pc.wrapping_add(y))
            }
        }
        Format::RegRegImm => Args::RegRegImm(
            reg_lo(at),
            reg_hi(at),
            read_imm(code, at + 1, imm_length(1)),
        ),
        Format::RegRegOffset => {
            let offset = read_imm(code, at + 1, imm_length(1));
            Args::RegRegOffset(reg_lo(at), reg_hi(at), pc.wrapping_add(offset))
        }
        Format::RegRegReg => Args::RegRegReg(reg_lo(at + 1), reg_lo(at), reg_hi(at)),
        Format::RegReg => Args::RegReg(reg_lo(at), reg_hi(at)),
        Format::RegRegImmImm => {
            let lx = u32::from(byte_at(code, at + 1) & 7).min(4);
            let ly = imm_length(lx + 2);
            let x = read_imm(code, at + 2, lx);
            let y = read_imm(code, at + 2 + usize_from_u32(lx), ly);
            Args::RegRegImmImm(reg_lo(at), reg_hi(at), x, y)
        }
    }
}

fn is_bit_set(bitmask: &[u8], offset: usize) -> bool {
    bitmask
        .get(offset >> 3)
        .is_some_and(|byte| (byte >> (offset & 7)) & 1 == 1)
}

/// The offset of the first set bitmask bit at or after `offset`, or `code_len`.
#[inline(always)]
fn next_set_bit(bitmask: &[u8], code_len: usize, mut offset: usize) -> usize {
    while offset < code_len {
        // Eight bitmask bytes at a time: instructions are short, so the next start is
        // nearly always in the first word.
        let byte_index = offset >> 3;
        let word = match bitmask.get(byte_index..byte_index + 8) {
            Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) => {
                u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
            }
            _ => {
                let rest = bitmask.get(byte_index..).unwrap_or(&[]);
                let mut bytes = [0u8; 8];
                bytes[..rest.len().min(8)].copy_from_slice(&rest[..rest.len().min(8)]);
                u64::from_le_bytes(bytes)
            }
        } >> (offset & 7);
        if word != 0 {
            return (offset + usize_from_u32(word.trailing_zeros())).min(code_len);
        }
        offset = (byte_index + 8) << 3;
    }
    code_len
}

/// How many instructions start in `bitmask` (its set bits; bits past the code's end in
/// the last byte count too, so this is an estimate for sizing buffers). Eight bytes a
/// `popcnt`: byte by byte this was 2% of compiling a program for the JIT.
pub(crate) fn instruction_starts(bitmask: &[u8]) -> usize {
    let words = bitmask.chunks_exact(8);
    let tail: usize = words
        .remainder()
        .iter()
        .map(|byte| usize_from_u32(byte.count_ones()))
        .sum();
    words
        .map(|word| {
            let word: [u8; 8] = word.try_into().unwrap_or_default();
            usize_from_u32(u64::from_le_bytes(word).count_ones())
        })
        .sum::<usize>()
        + tail
}

/// Decodes a whole code section. `bitmask` must be `code.len().div_ceil(8)` bytes for the
/// bitmask instruction sets and is ignored for Latest64.
///
/// # Panics
///
/// If `code` is longer than [`MAX_DECODED_CODE`] bytes, as [`Decoder::new`].
pub fn decode_code(isa: InstructionSet, code: &[u8], bitmask: &[u8]) -> InstructionStream {
    // Room for every instruction up front: growing a multi-megabyte Vec copies it.
    let estimate = if isa.has_bitmask() {
        instruction_starts(bitmask)
    } else {
        code.len() / 2
    };
    let mut instructions = Vec::with_capacity(estimate + 2);
    let mut block_starts = Vec::with_capacity(estimate + 2);
    let mut decoder = Decoder::new(isa, code, bitmask);
    while let Some(instruction) = decoder.next() {
        instructions.push(instruction);
        block_starts.push(decoder.starts_block());
    }
    InstructionStream {
        instructions,
        block_starts,
    }
}

/// An instruction located but not yet decoded: where it is, its opcode, and where its
/// operand bytes are. [`RawInstruction::decode`] gives the [`DecodedInstruction`].
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct RawInstruction {
    /// Offset of the instruction.
    pub pc: u32,
    /// Its length in bytes (0 for the implicit trap after the code).
    pub length: u32,
    /// Its opcode's index in [`Opcode::ALL`], or 255 for an invalid instruction (see
    /// [`RawInstruction::opcode`]).
    pub opcode_index: u8,
    /// Offset of its operand bytes.
    pub args_at: u32,
    /// Number of operand bytes (the Graypaper's `ℓ`).
    pub args_length: u32,
}

impl RawInstruction {
    /// An invalid instruction of `length` bytes at `pc`.
    #[inline(always)]
    fn invalid(pc: u32, length: u32) -> RawInstruction {
        RawInstruction {
            pc,
            length,
            opcode_index: NO_OPCODE,
            args_at: pc,
            args_length: 0,
        }
    }

    /// Its opcode; `None` for an invalid instruction.
    #[inline(always)]
    pub fn opcode(&self) -> Option<Opcode> {
        Opcode::from_index(self.opcode_index)
    }

    /// Decodes the operands (`code` is the code the instruction was located in).
    #[inline(always)]
    pub fn decode(&self, code: &[u8]) -> DecodedInstruction {
        // One made by hand may point anywhere. Past the end every byte reads as zero, so
        // clamping there changes nothing, and keeps `decode_args`'s sums from wrapping
        // where `usize` is 32 bits.
        self.decode_at(code, usize_from_u32(self.args_at).min(code.len()))
    }

    /// [`decode`](RawInstruction::decode) with the operands at `at`.
    #[inline(always)]
    fn decode_at(&self, code: &[u8], at: usize) -> DecodedInstruction {
        DecodedInstruction {
            pc: self.pc,
            length: self.length,
            instruction: self.opcode().map(|opcode| Instruction {
                opcode,
                args: decode_args(code, self.pc, opcode, at, self.args_length),
            }),
        }
    }
}

/// Decodes code one instruction at a time, in order, without materialising the stream:
/// what [`decode_code`] collects, and what the JIT compiles from directly.
///
/// The sequence is exactly [`decode_code`]'s: invalid instructions for stretches that
/// decode to nothing, and an implicit zero-length invalid instruction at the end of the
/// code when the last instruction can fall through.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    isa: InstructionSet,
    /// `isa`'s one-byte opcode table (looked up once, not per instruction).
    opcode_table: &'static [u8; 256],
    code: &'a [u8],
    bitmask: &'a [u8],
    /// Where the next instruction to decode starts.
    pc: usize,
    /// An invalid instruction decoded ahead (the bytes after a too-long skip), returned
    /// before decoding at `pc`.
    pending: Option<RawInstruction>,
    /// Whether the instruction returned last may fall through (true before the first).
    falls_through: bool,
    /// Whether the instruction returned last starts a basic block.
    starts_block: bool,
    /// Whether the instruction returned before it ended its basic block.
    previous_ends_block: bool,
    /// Whether the implicit trap at the end was considered already.
    finished: bool,
}

impl<'a> Decoder<'a> {
    /// A decoder at offset 0 of `code` (`bitmask` as for [`decode_code`]).
    ///
    /// # Panics
    ///
    /// If `code` is longer than [`MAX_DECODED_CODE`] bytes (no program is: see
    /// [`MAX_CODE_SIZE`](crate::program::MAX_CODE_SIZE)).
    pub fn new(isa: InstructionSet, code: &'a [u8], bitmask: &'a [u8]) -> Decoder<'a> {
        Decoder::at(isa, code, bitmask, 0)
    }

    /// A decoder at `pc`, which must be where an instruction starts in the sequence
    /// [`new`](Decoder::new) gives (any other place decodes differently): from there the
    /// sequence is the same. Its first instruction is taken to start a block, so `pc` must
    /// start one for [`starts_block`](Decoder::starts_block) to hold (callers that track
    /// flow themselves may start at any instruction). For compiling code block by block,
    /// as execution reaches it.
    ///
    /// # Panics
    ///
    /// As [`new`](Decoder::new).
    pub fn at(isa: InstructionSet, code: &'a [u8], bitmask: &'a [u8], pc: u32) -> Decoder<'a> {
        // Past it, offsets would not fit the `u32`s the decoder hands out (on 64-bit
        // hosts only: a 32-bit one cannot hold such code).
        assert!(
            code.len() <= MAX_DECODED_CODE,
            "{} bytes of code, more than the decoder's limit {MAX_DECODED_CODE}",
            code.len()
        );
        let pc = usize_from_u32(pc).min(code.len());
        let mut decoder = Decoder {
            isa,
            opcode_table: isa.opcode_index_table(),
            code,
            bitmask,
            pc,
            pending: None,
            falls_through: true,
            starts_block: false,
            previous_ends_block: true,
            finished: false,
        };
        if isa.has_bitmask() && pc < code.len() && !is_bit_set(bitmask, pc) {
            // The start of an invalid stretch: the bytes before the first instruction, or
            // after a too-long skip.
            let next = next_set_bit(bitmask, code.len(), pc);
            decoder.pending = Some(RawInstruction::invalid(
                low_u32_of_usize(pc),
                low_u32_of_usize(next - pc),
            ));
            decoder.pc = next;
        }
        decoder
    }

    /// Whether the instruction returned last starts a basic block: the first one, one
    /// after a block-ending instruction, or (Latest64) one at a macro-block boundary.
    #[inline(always)]
    pub fn starts_block(&self) -> bool {
        self.starts_block
    }

    /// The next instruction, or `None` after the last.
    #[allow(clippy::should_implement_trait)]
    #[inline(always)]
    pub fn next(&mut self) -> Option<DecodedInstruction> {
        let raw = self.next_raw()?;
        // (Operands located here are at most one byte past the end.)
        Some(raw.decode_at(self.code, usize_from_u32(raw.args_at)))
    }

    /// The next instruction, located but with its operands not decoded, or `None` after
    /// the last.
    #[inline(always)]
    pub fn next_raw(&mut self) -> Option<RawInstruction> {
        let raw = self.locate_next(self.falls_through)?;
        let flow = Opcode::flow_of_index(raw.opcode_index);
        let at_macro_boundary = !self.isa.has_bitmask() && raw.pc % MACRO_BLOCK_SIZE == 0;
        self.starts_block = self.previous_ends_block || at_macro_boundary;
        self.previous_ends_block = flow.ends_block();
        self.falls_through = flow.can_fall_through();
        Some(raw)
    }

    /// The next instruction, as [`next_raw`](Decoder::next_raw), for a caller that
    /// tracks flow itself: `falls_through` tells whether the previous instruction may
    /// fall through (which decides the implicit trap at the end), and
    /// [`starts_block`](Decoder::starts_block) is not updated.
    #[inline(always)]
    pub fn locate_next(&mut self, falls_through: bool) -> Option<RawInstruction> {
        if self.isa.has_bitmask() {
            self.locate_next_in::<true>(falls_through)
        } else {
            self.locate_next_in::<false>(falls_through)
        }
    }

    /// [`locate_next`](Decoder::locate_next) for an instruction set known to have a
    /// bitmask (`BITMASK`) or not, so that a loop specialised on it tests nothing else.
    #[inline(always)]
    pub fn locate_next_in<const BITMASK: bool>(
        &mut self,
        falls_through: bool,
    ) -> Option<RawInstruction> {
        debug_assert_eq!(BITMASK, self.isa.has_bitmask());
        // Only bitmask code has invalid stretches decoded ahead.
        if BITMASK && self.pending.is_some() {
            return self.pending.take();
        }
        if self.pc < self.code.len() {
            return Some(if BITMASK {
                self.locate_bitmask()
            } else {
                self.locate_extended()
            });
        }
        if BITMASK {
            // (Invalid stretches end before the code does.)
            debug_assert!(self.pending.is_none());
        }
        if self.finished || !falls_through {
            self.finished = true;
            return None;
        }
        self.finished = true;
        Some(RawInstruction::invalid(
            low_u32_of_usize(self.code.len()),
            0,
        ))
    }

    // Offsets here are below `code.len()` plus a few bytes, and `code.len()` is at most
    // `MAX_DECODED_CODE` (checked in `new`): the sums fit a `usize` on every target and
    // the results a `u32`, so no arithmetic below wraps or truncates.
    #[inline(always)]
    fn locate_bitmask(&mut self) -> RawInstruction {
        let (code, pc) = (self.code, self.pc);
        let code_len = code.len();
        let next_start = next_set_bit(self.bitmask, code_len, pc + 1);
        let distance = next_start - pc - 1;
        let skip = distance.min(usize_from_u32(MAX_SKIP));
        let next = pc + skip + 1;
        if next < next_start {
            self.skip_gap(next, next_start);
        }
        self.pc = next_start;
        RawInstruction {
            pc: low_u32_of_usize(pc),
            length: low_u32_of_usize(skip + 1),
            opcode_index: self.opcode_table[usize::from(code[pc])],
            args_at: low_u32_of_usize(pc + 1),
            args_length: low_u32_of_usize(skip),
        }
    }

    /// More than MAX_SKIP bytes without an instruction start: the bytes from `next` to
    /// `next_start` form an invalid instruction, returned next. (Out of line: no valid
    /// program has one, and a branch here keeps the common path free of the stores.)
    #[cold]
    #[inline(never)]
    fn skip_gap(&mut self, next: usize, next_start: usize) {
        self.pending = Some(RawInstruction::invalid(
            low_u32_of_usize(next),
            low_u32_of_usize(next_start - next),
        ));
    }

    /// (Offsets as in `locate_bitmask`.)
    #[inline(always)]
    fn locate_extended(&mut self) -> RawInstruction {
        let (code, pc) = (self.code, self.pc);
        let code_len = code.len();
        let macro_block = usize_from_u32(MACRO_BLOCK_SIZE);
        let block_end = ((pc / macro_block + 1) * macro_block).min(code_len);
        let mut raw = u16::from(code[pc]);
        let mut opcode_length = 1;
        if raw == 255 {
            raw += u16::from(byte_at(code, pc + 1));
            opcode_length = 2;
        }
        let (mut opcode_index, args_length) = InstructionSet::extended_opcode_index(raw);
        let args_length = usize::from(args_length);
        let mut length = opcode_length + args_length;
        let next = pc + length;
        if next >= block_end {
            // The last instruction of a macro block must fit in it and end a basic block
            // (an invalid one does: it traps).
            let ends_block = Opcode::flow_of_index(opcode_index).ends_block();
            if next > block_end || !ends_block {
                opcode_index = NO_OPCODE;
            }
            length = block_end - pc;
        }
        self.pc = pc + length;
        RawInstruction {
            pc: low_u32_of_usize(pc),
            length: low_u32_of_usize(length),
            opcode_index,
            args_at: low_u32_of_usize(pc + opcode_length),
            args_length: low_u32_of_usize(args_length),
        }
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.opcode.name();
        let imm = |v: u32| v.cast_signed();
        match self.args {
            Args::None => write!(f, "{name}"),
            Args::Imm(x) => write!(f, "{name} {}", imm(x)),
            Args::Offset(t) => write!(f, "{name} @{t}"),
            Args::ImmImm(x, y) => write!(f, "{name} {}, {}", imm(x), imm(y)),
            Args::RegImm(r, x) => write!(f, "{name} {r}, {}", imm(x)),
            Args::RegImm64(r, x) => write!(f, "{name} {r}, {:#x}", x),
            Args::RegImmOffset(r, x, t) => write!(f, "{name} {r}, {}, @{t}", imm(x)),
            Args::RegImmImm(r, x, y) => write!(f, "{name} {r}, {}, {}", imm(x), imm(y)),
            Args::RegRegImm(a, b, x) => write!(f, "{name} {a}, {b}, {}", imm(x)),
            Args::RegRegOffset(a, b, t) => write!(f, "{name} {a}, {b}, @{t}"),
            Args::RegRegReg(d, a, b) => write!(f, "{name} {d}, {a}, {b}"),
            Args::RegReg(d, a) => write!(f, "{name} {d}, {a}"),
            Args::RegRegImmImm(a, b, x, y) => write!(f, "{name} {a}, {b}, {}, {}", imm(x), imm(y)),
        }
    }
}
