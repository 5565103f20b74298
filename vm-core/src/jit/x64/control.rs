//! Control flow: jumps and calls to labels, through registers and through memory, `ret`,
//! traps, padding, and RIP-relative label addresses.

use super::encoder::{Assembler, Label, Rm, PF3, REX_W};
use super::operand::{Cond, Mem, Reg};

/// Recommended multi-byte `nop` encodings of 1 to 8 bytes (little-endian, indexed by
/// length; the 9-byte form is `0x66` + the 8-byte one).
const NOPS: [u64; 9] = [
    0,
    0x90,
    0x90_66,
    0x00_1F_0F,
    0x00_40_1F_0F,
    0x00_00_44_1F_0F,
    0x00_00_44_1F_0F_66,
    0x00_00_00_00_80_1F_0F,
    0x00_00_00_00_00_84_1F_0F,
];

impl Assembler {
    /// The rel8 displacement from the end of a 2-byte short jump emitted here to `label`,
    /// if the label is bound (backward) and within reach.
    #[inline(always)]
    fn short_rel(&self, label: Label) -> Option<i8> {
        let target = self.target(label)?;
        let rel = i64::from(target) - (self.offset() as i64 + 2);
        i8::try_from(rel).ok()
    }

    /// `jmp label`: the 2-byte `EB rel8` for a bound label within reach, otherwise the
    /// 5-byte `E9 rel32` (for a label bound later, resolved at finalize).
    #[inline(always)]
    pub fn jmp(&mut self, label: Label) {
        match self.short_rel(label) {
            Some(rel) => self.emit_raw(0xEB | u64::from(rel as u8) << 8, 2),
            None => {
                self.emit_raw(0xE9, 1);
                self.rel32(label);
            }
        }
    }

    /// `jcc label`: jump if `cond` holds; `70+cc rel8` or `0F 80+cc rel32` as for
    /// [`jmp`](Assembler::jmp).
    #[inline(always)]
    pub fn jcc(&mut self, cond: Cond, label: Label) {
        let cc = u64::from(cond.code());
        match self.short_rel(label) {
            Some(rel) => self.emit_raw((0x70 + cc) | u64::from(rel as u8) << 8, 2),
            None => {
                self.emit_raw(0x0F | (0x80 + cc) << 8, 2);
                self.rel32(label);
            }
        }
    }

    /// `jcc rel32` with a zero displacement, for the caller to patch (with
    /// [`patch_u32`](Assembler::patch_u32)) once it knows the target: returns the code
    /// offset of the rel32 field, which is measured from that offset plus 4.
    #[inline(always)]
    pub fn jcc_rel32_unresolved(&mut self, cond: Cond) -> usize {
        let cc = u64::from(cond.code());
        self.emit_raw(0x0F | (0x80 + cc) << 8, 6);
        self.offset() - 4
    }

    /// `call label` (`E8 rel32`).
    #[inline]
    pub fn call(&mut self, label: Label) {
        self.emit_raw(0xE8, 1);
        self.rel32(label);
    }

    /// `jmp reg`: an indirect jump to the 64-bit address in `reg`.
    #[inline]
    pub fn jmp_reg(&mut self, reg: Reg) {
        self.emit_modrm(0, 0xFF, 4, Rm::Reg(reg), 0, 0);
    }

    /// `call reg`: an indirect call to the 64-bit address in `reg`.
    #[inline]
    pub fn call_reg(&mut self, reg: Reg) {
        self.emit_modrm(0, 0xFF, 2, Rm::Reg(reg), 0, 0);
    }

    /// `jmp qword [mem]`: an indirect jump through a 64-bit address in memory (a jump
    /// table entry).
    #[inline]
    pub fn jmp_mem(&mut self, mem: Mem) {
        self.emit_modrm(0, 0xFF, 4, Rm::Mem(mem), 0, 0);
    }

    /// `call qword [mem]`: an indirect call through a 64-bit address in memory.
    #[inline]
    pub fn call_mem(&mut self, mem: Mem) {
        self.emit_modrm(0, 0xFF, 2, Rm::Mem(mem), 0, 0);
    }

    /// `lea dst, [rip + label]`: the absolute address of `label` once the code is placed.
    #[inline]
    pub fn lea_label(&mut self, dst: Reg, label: Label) {
        self.emit_modrm_rip(REX_W, 0x8D, dst.code(), label);
    }

    /// `rdgsbase reg`: reads the `gs` segment base (needs `fsgsbase`, enabled by the OS).
    #[inline]
    pub fn rdgsbase(&mut self, reg: Reg) {
        self.emit_modrm(PF3 | REX_W, 0x0FAE, 1, Rm::Reg(reg), 0, 0);
    }

    /// `wrgsbase reg`: sets the `gs` segment base (needs `fsgsbase`, enabled by the OS).
    #[inline]
    pub fn wrgsbase(&mut self, reg: Reg) {
        self.emit_modrm(PF3 | REX_W, 0x0FAE, 3, Rm::Reg(reg), 0, 0);
    }

    /// `ret`.
    #[inline]
    pub fn ret(&mut self) {
        self.emit_raw(0xC3, 1);
    }

    /// `ud2`: raises `#UD` (an invalid-opcode trap).
    #[inline]
    pub fn ud2(&mut self) {
        self.emit_raw(0x0B_0F, 2);
    }

    /// `int3`: raises `#BP` (a breakpoint trap).
    #[inline]
    pub fn int3(&mut self) {
        self.emit_raw(0xCC, 1);
    }

    /// `nop` (one byte).
    #[inline]
    pub fn nop(&mut self) {
        self.emit_raw(0x90, 1);
    }

    /// Exactly `len` bytes of padding, as few `nop` instructions (of up to 9 bytes each)
    /// as possible.
    pub fn nops(&mut self, mut len: usize) {
        while len > 0 {
            let n = len.min(9);
            if n == 9 {
                self.emit_raw(0x66, 1);
                self.emit_raw(NOPS[8], 8);
            } else {
                self.emit_raw(NOPS[n], n);
            }
            len -= n;
        }
    }

    /// Pads with `nop`s until the offset is a multiple of `alignment`.
    ///
    /// # Panics
    ///
    /// Unless `alignment` is a power of two.
    pub fn align(&mut self, alignment: usize) {
        assert!(
            alignment.is_power_of_two(),
            "alignment must be a power of two"
        );
        let pad = self.offset().wrapping_neg() & (alignment - 1);
        self.nops(pad);
    }
}
