//! The [`Assembler`] buffer with its labels and fixups, and the encoding core that every
//! instruction goes through: legacy prefixes, REX, opcode, ModRM, SIB, displacement and
//! immediate.
//!
//! Each instruction is assembled in a small stack buffer and appended to the code vector in
//! one fixed-size copy, so the hot path has one capacity check per instruction rather than
//! one per byte.

use super::operand::{Mem, MemForm, Reg, Size};
use alloc::vec::Vec;
use core::fmt;

/// A position in the code, created unbound by [`Assembler::label`] and fixed by
/// [`Assembler::bind`]; jumps may refer to it before or after it is bound.
///
/// A label belongs to the assembler that made it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Label(u32);

impl Label {
    /// The label's number within its assembler (0, 1, 2, ... in creation order).
    #[inline]
    pub const fn index(self) -> u32 {
        self.0
    }

    /// The label numbered `index` (as [`index`](Label::index) gave it), for compilers
    /// that keep labels in their own tables.
    #[inline]
    pub(crate) const fn from_index(index: u32) -> Label {
        Label(index)
    }
}

/// Why [`Assembler::finalize`] could not resolve the code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodeError {
    /// An instruction refers to a label that was never bound.
    UnboundLabel {
        /// The label's number.
        label: u32,
        /// Code offset of the referring rel32 field.
        used_at: usize,
    },
    /// A rel32 field cannot reach its label (the code spans more than 2 GiB).
    OutOfRange {
        /// The label's number.
        label: u32,
        /// Code offset of the referring rel32 field.
        used_at: usize,
        /// The displacement that does not fit in `i32`.
        distance: i64,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::UnboundLabel { label, used_at } => write!(
                f,
                "label {label} is used by the rel32 field at code offset {used_at:#x} but was never bound"
            ),
            EncodeError::OutOfRange {
                label,
                used_at,
                distance,
            } => write!(
                f,
                "the rel32 field at code offset {used_at:#x} would need a displacement of {distance} bytes to reach label {label}; rel32 reaches -2^31..2^31-1"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

/// A pending rel32 field: the 4 bytes at `at` become `target(label) - (at + 4)`.
///
/// Every user puts the rel32 field last in its instruction, so `at + 4` is the address
/// the CPU measures from (the next instruction).
#[derive(Clone, Copy, Debug)]
struct Fixup {
    at: u32,
    label: Label,
}

/// Marks a label that is not bound yet.
const UNBOUND: u32 = u32::MAX;

/// Encoding flag: REX.W (64-bit operand size).
pub(super) const REX_W: u8 = 1 << 0;
/// Encoding flag: the `0x66` operand-size prefix (16-bit operand size).
pub(super) const P66: u8 = 1 << 1;
/// Encoding flag: the `0xF3` mandatory prefix (`lzcnt`, `tzcnt`, `popcnt`).
pub(super) const PF3: u8 = 1 << 2;
/// Encoding flag: a register in the r/m field is a byte register.
pub(super) const RM8: u8 = 1 << 3;
/// Encoding flag: the register in the ModRM.reg field is a byte register.
pub(super) const REG8: u8 = 1 << 4;

/// The r/m operand of a ModRM-encoded instruction.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rm {
    /// A register (`mod = 11`).
    Reg(Reg),
    /// A memory operand.
    Mem(Mem),
}

/// Room for the longest instruction (15 bytes). Displacements and immediates are written
/// with fixed-size stores before their length is known; the worst case still fits: at most
/// 7 bytes of prefixes, opcode, ModRM and SIB, then a 4-byte displacement and a 4-byte
/// immediate (or, for `emit_plus_r`, at most 4 bytes before an 8-byte one).
const BUF: usize = 16;

/// An x86-64 machine-code assembler: appends encoded instructions to a byte buffer and
/// resolves label references when [`finalize`](Assembler::finalize)d.
///
/// Instruction methods are named by operand form: `_rr` register, register; `_ri` register,
/// immediate; `_rm` register, memory (a load into the register); `_mr` memory, register (a
/// store of the register); `_mi` memory, immediate. The destination comes first, as in
/// Intel syntax.
///
/// Misuse that no valid program could want (an operand size the instruction does not have,
/// binding a label twice) panics: the callers are compilers, not untrusted input.
#[derive(Clone, Debug, Default)]
pub struct Assembler {
    /// The code is `code[..len]`; the bytes after it are room for the next instructions
    /// (whatever an earlier use left there), so that emitting needs no reallocation
    /// check per byte and no zeroing when the assembler is reused.
    code: Vec<u8>,
    len: usize,
    labels: Vec<u32>,
    fixups: Vec<Fixup>,
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// An empty assembler with room for `bytes` of code before it reallocates.
    pub fn with_capacity(bytes: usize) -> Assembler {
        let mut assembler = Assembler::default();
        assembler.reserve_code(bytes);
        assembler
    }

    /// Takes the code buffer, leaving the assembler empty: the code is its first
    /// [`offset`](Assembler::offset) bytes (resolved if [`resolve`](Assembler::resolve)
    /// ran), the rest is room that a later [`put_code_buffer`](Assembler::put_code_buffer)
    /// can reuse without zeroing it again.
    pub fn take_code_buffer(&mut self) -> Vec<u8> {
        self.len = 0;
        core::mem::take(&mut self.code)
    }

    /// Emits into `buffer` (its bytes are room, their contents do not matter) from now
    /// on, instead of the assembler's own buffer; the assembler must be empty.
    pub fn put_code_buffer(&mut self, buffer: Vec<u8>) {
        debug_assert_eq!(self.len, 0, "put_code_buffer on an assembler holding code");
        self.code = buffer;
    }

    /// Bytes of room in the code buffer.
    pub fn code_buffer_len(&self) -> usize {
        self.code.len()
    }

    /// Reserves room for `labels` more labels and `fixups` more forward references.
    pub fn reserve(&mut self, labels: usize, fixups: usize) {
        self.labels.reserve(labels);
        self.fixups.reserve(fixups);
    }

    /// Forgets all code, labels and fixups but keeps the allocations, for reuse.
    pub fn clear(&mut self) {
        self.len = 0;
        self.labels.clear();
        self.fixups.clear();
    }

    /// The current code offset: where the next instruction will start.
    #[inline]
    pub fn offset(&self) -> usize {
        self.len
    }

    /// The code emitted so far; rel32 fields of forward references still hold zero until
    /// [`finalize`](Assembler::finalize) or [`resolve`](Assembler::resolve).
    #[inline]
    pub fn code(&self) -> &[u8] {
        &self.code[..self.len]
    }

    /// A new, unbound label.
    #[inline]
    pub fn label(&mut self) -> Label {
        let label = Label(self.labels.len() as u32);
        self.labels.push(UNBOUND);
        label
    }

    /// Binds `label` to the current offset.
    ///
    /// # Panics
    ///
    /// If the label is already bound. (A label of another assembler is a bug this cannot
    /// always see: it panics or names one of this assembler's labels.)
    #[inline]
    pub fn bind(&mut self, label: Label) {
        let offset = self.offset_u32();
        let slot = &mut self.labels[label.0 as usize];
        assert!(*slot == UNBOUND, "label {} is bound twice", label.0);
        *slot = offset;
    }

    /// A new label bound to the current offset.
    #[inline]
    pub fn bound_label(&mut self) -> Label {
        let label = self.label();
        self.bind(label);
        label
    }

    /// The offset `label` is bound to, or `None` while it is unbound.
    #[inline]
    pub fn label_offset(&self, label: Label) -> Option<usize> {
        match self.labels[label.0 as usize] {
            UNBOUND => None,
            offset => Some(offset as usize),
        }
    }

    /// Appends raw bytes (data, or an encoding this assembler does not offer).
    #[inline]
    pub fn bytes(&mut self, bytes: &[u8]) {
        if self.code.len() < self.len + bytes.len() {
            self.grow(bytes.len());
        }
        self.code[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Overwrites the byte at `at` with `value`.
    ///
    /// # Panics
    ///
    /// If `at` is past the code emitted so far.
    #[inline]
    pub fn patch_u8(&mut self, at: usize, value: u8) {
        assert!(at < self.len, "patching past the end of the code");
        self.code[at] = value;
    }

    /// Reserves room for `bytes` more bytes of code.
    pub fn reserve_code(&mut self, bytes: usize) {
        if self.code.len() < self.len + bytes {
            self.code.resize(self.len + bytes, 0);
        }
    }

    /// Bytes of memory the assembler's buffers hold on to.
    pub fn capacity_bytes(&self) -> usize {
        self.code.capacity()
            + self.labels.capacity() * core::mem::size_of::<u32>()
            + self.fixups.capacity() * core::mem::size_of::<Fixup>()
    }

    /// Overwrites the four bytes at `at` (an immediate emitted earlier) with `value`.
    ///
    /// # Panics
    ///
    /// If `at + 4` is past the code emitted so far.
    #[inline]
    pub fn patch_u32(&mut self, at: usize, value: u32) {
        assert!(at + 4 <= self.len, "patching past the end of the code");
        self.code[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Patches every pending rel32 field and returns the finished code, keeping the
    /// assembler (and its allocations) for [`clear`](Assembler::clear) and reuse.
    pub fn resolve(&mut self) -> Result<&[u8], EncodeError> {
        for fixup in &self.fixups {
            let target = self.labels[fixup.label.0 as usize];
            if target == UNBOUND {
                return Err(EncodeError::UnboundLabel {
                    label: fixup.label.0,
                    used_at: fixup.at as usize,
                });
            }
            let distance = i64::from(target) - (i64::from(fixup.at) + 4);
            let rel = i32::try_from(distance).map_err(|_| EncodeError::OutOfRange {
                label: fixup.label.0,
                used_at: fixup.at as usize,
                distance,
            })?;
            let at = fixup.at as usize;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        self.fixups.clear();
        Ok(&self.code[..self.len])
    }

    /// Patches every pending rel32 field and returns the finished code.
    pub fn finalize(mut self) -> Result<Vec<u8>, EncodeError> {
        self.resolve()?;
        self.code.truncate(self.len);
        Ok(self.code)
    }

    // ---- helpers for the instruction modules --------------------------------------------

    /// The current offset as the `u32` that labels and fixups store.
    #[inline]
    pub(super) fn offset_u32(&self) -> u32 {
        // Offsets are stored as u32: JIT output stays far below 4 GiB.
        debug_assert!(self.len <= u32::MAX as usize, "code past 4 GiB");
        self.len as u32
    }

    /// Where `label` is bound, if it is.
    #[inline]
    pub(super) fn target(&self, label: Label) -> Option<u32> {
        match self.labels[label.0 as usize] {
            UNBOUND => None,
            offset => Some(offset),
        }
    }

    /// Appends a rel32 field for `label`; it must be the last field of the instruction.
    ///
    /// A bound label within range is written at once; otherwise the field is left zero
    /// and recorded for [`resolve`](Assembler::resolve).
    #[inline(always)]
    pub(super) fn rel32(&mut self, label: Label) {
        let at = self.offset_u32();
        let rel = match self.target(label) {
            Some(target) => i32::try_from(i64::from(target) - (i64::from(at) + 4)).ok(),
            None => None,
        };
        match rel {
            Some(rel) => self.bytes(&rel.to_le_bytes()),
            None => {
                self.fixups.push(Fixup { at, label });
                self.bytes(&[0; 4]);
            }
        }
    }

    /// The `BUF` bytes at the end of the code, for an instruction to be written into in
    /// place (then [`len`](Assembler::len) is advanced by its length).
    ///
    /// Writing the bytes where they stay, rather than into a stack buffer copied over in
    /// one wide move, matters: that move would read back a dozen narrow stores the CPU
    /// cannot forward, and stall on every instruction emitted.
    #[inline(always)]
    fn slot(&mut self) -> &mut [u8; BUF] {
        if self.code.len() < self.len + BUF {
            self.grow(BUF);
        }
        let start = self.len;
        (&mut self.code[start..start + BUF])
            .try_into()
            .expect("BUF bytes")
    }

    /// Makes room for at least `bytes` past the end of the code.
    #[cold]
    fn grow(&mut self, bytes: usize) {
        let wanted = (self.code.len() * 2).max(self.len + bytes).max(4096);
        self.code.resize(wanted, 0);
    }

    /// Emits an instruction with a ModRM byte.
    ///
    /// `flags` picks prefixes (`P66`, `PF3`, `REX_W`) and marks byte-register operands
    /// (`RM8`, `REG8`) so that `spl`..`dil` get their REX prefix. `opcode` is one byte, or
    /// `0x0Fxx` for the two-byte map. `reg` is the ModRM.reg field: a register encoding
    /// (0..15) or an opcode extension digit (0..7, without `REG8`). The immediate's low
    /// `imm_len` bytes (0, 1, 2 or 4) follow the address bytes.
    #[inline(always)]
    pub(super) fn emit_modrm(
        &mut self,
        flags: u8,
        opcode: u16,
        reg: u8,
        rm: Rm,
        imm: i32,
        imm_len: usize,
    ) {
        let b = self.slot();
        let mut n = 0;
        if let Rm::Mem(m) = rm {
            if m.is_gs() {
                b[0] = 0x65;
                n = 1;
            }
            if m.is_gs32() {
                // The 32-bit address-size override, after the `gs` segment override.
                b[1] = 0x67;
                n = 2;
            }
        }
        if flags & P66 != 0 {
            b[n] = 0x66;
            n += 1;
        }
        if flags & PF3 != 0 {
            b[n] = 0xF3;
            n += 1;
        }
        let mut rex = ((flags & REX_W) << 3) | ((reg >> 3) << 2);
        let mut force_rex = flags & REG8 != 0 && (4..8).contains(&reg);
        match rm {
            Rm::Reg(r) => {
                rex |= r.high();
                force_rex |= flags & RM8 != 0 && r.byte_needs_rex();
            }
            Rm::Mem(m) => {
                rex |= m.base_reg().high();
                if let Some((index, _)) = m.index() {
                    rex |= index.high() << 1;
                }
            }
        }
        if rex != 0 || force_rex {
            b[n] = 0x40 | rex;
            n += 1;
        }
        if opcode > 0xFF {
            b[n] = 0x0F;
            n += 1;
        }
        b[n] = opcode as u8;
        n += 1;
        let reg = (reg & 7) << 3;
        match rm {
            Rm::Reg(r) => {
                b[n] = 0xC0 | reg | r.low3();
                n += 1;
            }
            Rm::Mem(m) => n = put_mem(b, n, reg, m),
        }
        b[n..n + 4].copy_from_slice(&imm.to_le_bytes());
        n += imm_len;
        self.len += n;
    }

    /// Emits an instruction with a RIP-relative memory operand whose rel32 refers to
    /// `label` (`[rip + label]`); nothing may follow the displacement.
    #[inline]
    pub(super) fn emit_modrm_rip(&mut self, flags: u8, opcode: u16, reg: u8, label: Label) {
        let b = self.slot();
        let mut n = 0;
        if flags & P66 != 0 {
            b[n] = 0x66;
            n += 1;
        }
        let rex = ((flags & REX_W) << 3) | ((reg >> 3) << 2);
        if rex != 0 {
            b[n] = 0x40 | rex;
            n += 1;
        }
        if opcode > 0xFF {
            b[n] = 0x0F;
            n += 1;
        }
        b[n] = opcode as u8;
        n += 1;
        // mod = 00, r/m = 101: [rip + disp32].
        b[n] = ((reg & 7) << 3) | 0b101;
        n += 1;
        self.len += n;
        self.rel32(label);
    }

    /// Emits an instruction whose opcode carries the register (`opcode + reg.low3()`):
    /// `push`, `pop`, `bswap`, `mov r, imm`. The immediate's low `imm_len` bytes follow.
    #[inline(always)]
    pub(super) fn emit_plus_r(&mut self, flags: u8, opcode: u16, r: Reg, imm: u64, imm_len: usize) {
        let b = self.slot();
        let mut n = 0;
        if flags & P66 != 0 {
            b[n] = 0x66;
            n += 1;
        }
        let rex = ((flags & REX_W) << 3) | r.high();
        if rex != 0 || (flags & RM8 != 0 && r.byte_needs_rex()) {
            b[n] = 0x40 | rex;
            n += 1;
        }
        if opcode > 0xFF {
            b[n] = 0x0F;
            n += 1;
        }
        b[n] = opcode as u8 + r.low3();
        n += 1;
        b[n..n + 8].copy_from_slice(&imm.to_le_bytes());
        n += imm_len;
        self.len += n;
    }

    /// Emits up to 8 bytes given as a little-endian `u64`.
    #[inline(always)]
    pub(super) fn emit_raw(&mut self, bytes: u64, len: usize) {
        let b = self.slot();
        b[..8].copy_from_slice(&bytes.to_le_bytes());
        self.len += len;
    }
}

/// Writes ModRM (with `reg`, already shifted into bits 3..5), SIB and displacement for
/// `m` at `b[n..]` and returns the new length.
#[inline(always)]
fn put_mem(b: &mut [u8; BUF], mut n: usize, reg: u8, m: Mem) -> usize {
    if matches!(m.form(), MemForm::Gs32Abs | MemForm::Gs) {
        // mod = 00, r/m = 100, SIB with no base (101) and the index or none (100):
        // [index * scale + disp32].
        let sib = match m.index() {
            Some((index, scale)) => ((scale as u8) << 6) | (index.low3() << 3),
            None => 0b00_100_000,
        };
        b[n] = reg | 0b100;
        b[n + 1] = sib | 0b101;
        b[n + 2..n + 6].copy_from_slice(&m.disp().to_le_bytes());
        return n + 6;
    }
    let base = m.base_reg().low3();
    // `mod = 00` with base 101 means RIP-relative (no SIB) or "no base" (with SIB), so
    // rbp and r13 always take at least a disp8.
    let (mode, disp_len) = if m.disp() == 0 && base != 0b101 {
        (0x00, 0)
    } else if m.disp() as i8 as i32 == m.disp() {
        (0x40, 1)
    } else {
        (0x80, 4)
    };
    match m.index() {
        // r/m = 100 means "SIB follows", so rsp and r12 as a base need one.
        None if base != 0b100 => {
            b[n] = mode | reg | base;
            n += 1;
        }
        // SIB index 100 without REX.X: no index.
        None => {
            b[n] = mode | reg | 0b100;
            b[n + 1] = 0b00_100_100;
            n += 2;
        }
        Some((index, scale)) => {
            b[n] = mode | reg | 0b100;
            b[n + 1] = ((scale as u8) << 6) | (index.low3() << 3) | base;
            n += 2;
        }
    }
    b[n..n + 4].copy_from_slice(&m.disp().to_le_bytes());
    n + disp_len
}

/// Flags and opcode for an instruction whose byte form is `opcode` and whose 16/32/64-bit
/// form is `opcode + 1` (the `w` bit), with every register operand of `size`. Callers
/// whose ModRM.reg field is an opcode digit clear `REG8`.
#[inline(always)]
pub(super) fn w_form(size: Size, opcode: u16) -> (u8, u16) {
    match size {
        Size::B8 => (RM8 | REG8, opcode),
        _ => (size.flags(), opcode + 1),
    }
}

/// The length of a full-width immediate (`ib`, `iw`, `id`; 64-bit operations take a
/// sign-extended `id`).
#[inline(always)]
pub(super) const fn imm_len(size: Size) -> usize {
    match size {
        Size::B8 => 1,
        Size::B16 => 2,
        Size::B32 | Size::B64 => 4,
    }
}

/// Whether `value` survives a round trip through `i8`.
#[inline(always)]
pub(super) const fn fits_i8(value: i32) -> bool {
    value as i8 as i32 == value
}
