//! Turning code bytes into instructions, for both encodings.
//!
//! Decoding is total: every byte string decodes to a sequence of instructions, where
//! anything that is not a valid instruction becomes an invalid one (which traps). The
//! sequence starts at offset 0 and covers the whole code, and the instruction after a
//! block-ending one, or at a Latest64 macro-block boundary, starts a basic block.

use super::table::{Flow, Format, InstructionSet, Opcode, Reg};
use alloc::vec::Vec;
use core::fmt;

/// The longest run of non-instruction-start bytes a bitmask may encode before the bytes
/// after it become an invalid instruction.
pub const MAX_SKIP: u32 = 24;

/// Latest64 code is cut into macro blocks of this size; no instruction may straddle one.
pub const MACRO_BLOCK_SIZE: u32 = 1024;

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
            let mut value: u32 = 0;
            for n in 0..length as usize {
                value |= u32::from(byte_at(code, offset + n)) << (8 * n);
            }
            value
        }
    };
    if length == 4 {
        return value;
    }
    let shift = 32 - 8 * length;
    (((value << shift) as i32) >> shift) as u32
}

/// Decodes the operands of `opcode`, whose operand bytes start at `at` and are
/// `length` bytes long (the Graypaper's `ℓ`). Bytes past the end of the code read as zero.
fn decode_args(code: &[u8], pc: u32, opcode: Opcode, at: usize, length: u32) -> Args {
    let clamp4 = |n: i64| n.clamp(0, 4) as u32;
    let l = i64::from(length);
    let reg_lo = |offset: usize| Reg::from_nibble(byte_at(code, offset) & 0xf);
    let reg_hi = |offset: usize| Reg::from_nibble(byte_at(code, offset) >> 4);
    match opcode.format() {
        Format::Argless => Args::None,
        Format::Imm => Args::Imm(read_imm(code, at, clamp4(l))),
        Format::Offset => Args::Offset(pc.wrapping_add(read_imm(code, at, clamp4(l)))),
        Format::ImmImm => {
            let lx = clamp4(i64::from(byte_at(code, at) & 7));
            let ly = clamp4(l - i64::from(lx) - 1);
            Args::ImmImm(
                read_imm(code, at + 1, lx),
                read_imm(code, at + 1 + lx as usize, ly),
            )
        }
        Format::RegImm => Args::RegImm(reg_lo(at), read_imm(code, at + 1, clamp4(l - 1))),
        Format::RegImm64 => {
            let mut value = 0u64;
            for n in 0..8 {
                value |= u64::from(byte_at(code, at + 1 + n)) << (8 * n);
            }
            Args::RegImm64(reg_lo(at), value)
        }
        Format::RegImmImm | Format::RegImmOffset => {
            let lx = clamp4(i64::from((byte_at(code, at) >> 4) & 7));
            let ly = clamp4(l - i64::from(lx) - 1);
            let x = read_imm(code, at + 1, lx);
            let y = read_imm(code, at + 1 + lx as usize, ly);
            if opcode.format() == Format::RegImmImm {
                Args::RegImmImm(reg_lo(at), x, y)
            } else {
                Args::RegImmOffset(reg_lo(at), x, pc.wrapping_add(y))
            }
        }
        Format::RegRegImm => Args::RegRegImm(
            reg_lo(at),
            reg_hi(at),
            read_imm(code, at + 1, clamp4(l - 1)),
        ),
        Format::RegRegOffset => {
            let offset = read_imm(code, at + 1, clamp4(l - 1));
            Args::RegRegOffset(reg_lo(at), reg_hi(at), pc.wrapping_add(offset))
        }
        Format::RegRegReg => Args::RegRegReg(reg_lo(at + 1), reg_lo(at), reg_hi(at)),
        Format::RegReg => Args::RegReg(reg_lo(at), reg_hi(at)),
        Format::RegRegImmImm => {
            let lx = clamp4(i64::from(byte_at(code, at + 1) & 7));
            let ly = clamp4(l - i64::from(lx) - 2);
            let x = read_imm(code, at + 2, lx);
            let y = read_imm(code, at + 2 + lx as usize, ly);
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
fn next_set_bit(bitmask: &[u8], code_len: usize, mut offset: usize) -> usize {
    while offset < code_len {
        let byte = bitmask[offset >> 3] >> (offset & 7);
        if byte != 0 {
            return (offset + byte.trailing_zeros() as usize).min(code_len);
        }
        offset = (offset | 7) + 1;
    }
    code_len
}

/// Decodes a whole code section. `bitmask` must be `code.len().div_ceil(8)` bytes for the
/// bitmask instruction sets and is ignored for Latest64.
pub fn decode_code(isa: InstructionSet, code: &[u8], bitmask: &[u8]) -> InstructionStream {
    // Room for every instruction up front: growing a multi-megabyte Vec copies it.
    let estimate = if isa.has_bitmask() {
        bitmask
            .iter()
            .map(|b| b.count_ones() as usize)
            .sum::<usize>()
    } else {
        code.len() / 2
    };
    let mut out = Vec::with_capacity(estimate + 2);
    if isa.has_bitmask() {
        decode_bitmask_code(isa, code, bitmask, &mut out);
    } else {
        decode_extended_code(code, &mut out);
    }

    if out.last().is_none_or(|last| last.flow().can_fall_through()) {
        out.push(DecodedInstruction {
            pc: code.len() as u32,
            length: 0,
            instruction: None,
        });
    }

    let mut block_starts = Vec::with_capacity(out.len());
    let mut previous_ends_block = true;
    for instruction in &out {
        let at_macro_boundary = !isa.has_bitmask() && instruction.pc % MACRO_BLOCK_SIZE == 0;
        block_starts.push(previous_ends_block || at_macro_boundary);
        previous_ends_block = instruction.flow().ends_block();
    }

    InstructionStream {
        instructions: out,
        block_starts,
    }
}

fn decode_bitmask_code(
    isa: InstructionSet,
    code: &[u8],
    bitmask: &[u8],
    out: &mut Vec<DecodedInstruction>,
) {
    let code_len = code.len();
    let mut pc = 0usize;
    if code_len > 0 && !is_bit_set(bitmask, 0) {
        // No instruction starts at 0: the bytes up to the first start are invalid.
        let first = next_set_bit(bitmask, code_len, 0);
        out.push(DecodedInstruction {
            pc: 0,
            length: first as u32,
            instruction: None,
        });
        pc = first;
    }
    while pc < code_len {
        let next_start = next_set_bit(bitmask, code_len, pc + 1);
        let distance = next_start - pc - 1;
        let skip = distance.min(MAX_SKIP as usize);
        let instruction = isa.opcode_from_byte(code[pc]).map(|opcode| Instruction {
            opcode,
            args: decode_args(code, pc as u32, opcode, pc + 1, skip as u32),
        });
        out.push(DecodedInstruction {
            pc: pc as u32,
            length: skip as u32 + 1,
            instruction,
        });

        let next = pc + skip + 1;
        if next < next_start {
            // More than MAX_SKIP bytes without an instruction start: those bytes form an
            // invalid instruction reaching to the next start.
            out.push(DecodedInstruction {
                pc: next as u32,
                length: (next_start - next) as u32,
                instruction: None,
            });
        }
        pc = next_start;
    }
}

fn decode_extended_code(code: &[u8], out: &mut Vec<DecodedInstruction>) {
    let code_len = code.len();
    let mut pc = 0usize;
    while pc < code_len {
        let block_end =
            ((pc / MACRO_BLOCK_SIZE as usize + 1) * MACRO_BLOCK_SIZE as usize).min(code_len);
        let mut raw = u16::from(code[pc]);
        let mut opcode_length = 1;
        if raw == 255 {
            raw += u16::from(byte_at(code, pc + 1));
            opcode_length = 2;
        }
        let entry = InstructionSet::extended_opcode(raw);
        let args_length = entry.map_or(0, |(_, args)| usize::from(args));
        let mut length = opcode_length + args_length;
        let mut instruction = entry.map(|(opcode, args_length)| Instruction {
            opcode,
            args: decode_args(
                code,
                pc as u32,
                opcode,
                pc + opcode_length,
                u32::from(args_length),
            ),
        });

        let next = pc + length;
        if next >= block_end {
            // The last instruction of a macro block must fit in it and end a basic block.
            let ends_block = instruction.is_none_or(|i| i.opcode.flow().ends_block());
            if next > block_end || !ends_block {
                instruction = None;
            }
            length = block_end - pc;
        }
        out.push(DecodedInstruction {
            pc: pc as u32,
            length: length as u32,
            instruction,
        });
        pc += length;
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.opcode.name();
        let imm = |v: u32| v as i32;
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
