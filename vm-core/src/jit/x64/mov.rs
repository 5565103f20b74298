//! Data movement: register moves and immediates, loads and stores of every width,
//! zero- and sign-extension, `lea`, `xchg`, `push`/`pop`, `cmovcc` and `setcc`.

use super::encoder::{imm_len, w_form, Assembler, Rm, P66, REG8, REX_W, RM8};
use super::operand::{Cond, Mem, Reg, Size};

impl Assembler {
    // ---- moves --------------------------------------------------------------------------

    /// `mov dst, src`. A 32-bit move zeroes bits 32..63 of `dst`; 8- and 16-bit moves keep
    /// the rest of `dst`.
    #[inline]
    pub fn mov_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        let (flags, opcode) = w_form(size, 0x88);
        self.emit_modrm(flags, opcode, src.code(), Rm::Reg(dst), 0, 0);
    }

    /// `mov dst, imm`: the low `size` bits of `imm` into `dst`.
    ///
    /// For 64 bits it picks the shortest encoding of the value: `mov r32, imm32` (5 bytes,
    /// 6 with REX.B; it zero-extends) when it fits in `u32`, `mov r/m64, simm32` (7 bytes)
    /// when it fits in `i32`, else `movabs r64, imm64` (10 bytes). Flags are never touched
    /// (it does not turn zero into `xor`).
    #[inline]
    pub fn mov_ri(&mut self, size: Size, dst: Reg, imm: i64) {
        match size {
            Size::B8 => self.emit_plus_r(RM8, 0xB0, dst, imm as u8 as u64, 1),
            Size::B16 => self.emit_plus_r(P66, 0xB8, dst, imm as u16 as u64, 2),
            Size::B32 => self.emit_plus_r(0, 0xB8, dst, imm as u32 as u64, 4),
            Size::B64 => {
                if imm as u64 <= u64::from(u32::MAX) {
                    self.emit_plus_r(0, 0xB8, dst, imm as u64, 4);
                } else if imm as i32 as i64 == imm {
                    self.emit_modrm(REX_W, 0xC7, 0, Rm::Reg(dst), imm as i32, 4);
                } else {
                    self.emit_plus_r(REX_W, 0xB8, dst, imm as u64, 8);
                }
            }
        }
    }

    /// `mov dst, [mem]`: a load of `size`. A 32-bit load zero-extends to 64 bits; 8- and
    /// 16-bit loads keep the rest of `dst` (use [`movzx_rm`](Assembler::movzx_rm) or
    /// [`movsx_rm`](Assembler::movsx_rm) to extend).
    #[inline]
    pub fn mov_rm(&mut self, size: Size, dst: Reg, mem: Mem) {
        let (flags, opcode) = w_form(size, 0x8A);
        self.emit_modrm(flags, opcode, dst.code(), Rm::Mem(mem), 0, 0);
    }

    /// `mov [mem], src`: a store of the low `size` bits of `src`.
    #[inline]
    pub fn mov_mr(&mut self, size: Size, mem: Mem, src: Reg) {
        let (flags, opcode) = w_form(size, 0x88);
        self.emit_modrm(flags, opcode, src.code(), Rm::Mem(mem), 0, 0);
    }

    /// `mov [mem], imm`: a store of the low `size` bits of `imm`; for 64 bits the
    /// immediate is sign-extended.
    #[inline]
    pub fn mov_mi(&mut self, size: Size, mem: Mem, imm: i32) {
        let (flags, opcode) = w_form(size, 0xC6);
        let flags = flags & !REG8;
        self.emit_modrm(flags, opcode, 0, Rm::Mem(mem), imm, imm_len(size));
    }

    // ---- zero- and sign-extension -------------------------------------------------------

    /// Zero-extends the low `src_size` bits of `src` into all 64 bits of `dst`.
    ///
    /// 8 and 16 bits use `movzx r32, r/m8|16` (a 32-bit write clears the upper half, so no
    /// REX.W is spent); 32 bits use `mov r32, r32`; 64 bits are a plain `mov`.
    #[inline]
    pub fn movzx_rr(&mut self, src_size: Size, dst: Reg, src: Reg) {
        match src_size {
            Size::B8 => self.emit_modrm(RM8, 0x0FB6, dst.code(), Rm::Reg(src), 0, 0),
            Size::B16 => self.emit_modrm(0, 0x0FB7, dst.code(), Rm::Reg(src), 0, 0),
            Size::B32 | Size::B64 => self.mov_rr(src_size, dst, src),
        }
    }

    /// A zero-extending load: `src_size` bits from `mem` into all 64 bits of `dst` (as
    /// [`movzx_rr`](Assembler::movzx_rr)).
    #[inline]
    pub fn movzx_rm(&mut self, src_size: Size, dst: Reg, mem: Mem) {
        match src_size {
            Size::B8 => self.emit_modrm(0, 0x0FB6, dst.code(), Rm::Mem(mem), 0, 0),
            Size::B16 => self.emit_modrm(0, 0x0FB7, dst.code(), Rm::Mem(mem), 0, 0),
            Size::B32 | Size::B64 => self.mov_rm(src_size, dst, mem),
        }
    }

    /// Sign-extends the low `src_size` bits of `src` into `dst_size` bits of `dst`
    /// (`movsx`, or `movsxd` for 32 to 64 bits). A 32-bit result zeroes bits 32..63.
    ///
    /// # Panics
    ///
    /// Unless `dst_size` is 32 or 64 bits and `src_size` is smaller.
    #[inline]
    pub fn movsx_rr(&mut self, dst_size: Size, src_size: Size, dst: Reg, src: Reg) {
        let (flags, opcode) = movsx_form(dst_size, src_size);
        self.emit_modrm(flags, opcode, dst.code(), Rm::Reg(src), 0, 0);
    }

    /// A sign-extending load: `src_size` bits from `mem` into `dst_size` bits of `dst`
    /// (as [`movsx_rr`](Assembler::movsx_rr)).
    #[inline]
    pub fn movsx_rm(&mut self, dst_size: Size, src_size: Size, dst: Reg, mem: Mem) {
        let (flags, opcode) = movsx_form(dst_size, src_size);
        self.emit_modrm(flags & !RM8, opcode, dst.code(), Rm::Mem(mem), 0, 0);
    }

    // ---- addresses, exchanges, the stack --------------------------------------------------

    /// `lea dst, [mem]`: the address, truncated to `size` (16, 32 or 64 bits).
    #[inline]
    pub fn lea(&mut self, size: Size, dst: Reg, mem: Mem) {
        assert!(size != Size::B8, "lea has no 8-bit form");
        self.emit_modrm(size.flags(), 0x8D, dst.code(), Rm::Mem(mem), 0, 0);
    }

    /// `xchg a, b` (always `87 /r`, never the one-byte `90+r`: `xchg eax, eax` would be a
    /// `nop` that does not clear the upper half).
    #[inline]
    pub fn xchg_rr(&mut self, size: Size, a: Reg, b: Reg) {
        let (flags, opcode) = w_form(size, 0x86);
        self.emit_modrm(flags, opcode, b.code(), Rm::Reg(a), 0, 0);
    }

    /// `xchg [mem], reg` (implicitly locked by the CPU).
    #[inline]
    pub fn xchg_mr(&mut self, size: Size, mem: Mem, reg: Reg) {
        let (flags, opcode) = w_form(size, 0x86);
        self.emit_modrm(flags, opcode, reg.code(), Rm::Mem(mem), 0, 0);
    }

    /// `push reg` (64 bits).
    #[inline]
    pub fn push(&mut self, reg: Reg) {
        self.emit_plus_r(0, 0x50, reg, 0, 0);
    }

    /// `pop reg` (64 bits).
    #[inline]
    pub fn pop(&mut self, reg: Reg) {
        self.emit_plus_r(0, 0x58, reg, 0, 0);
    }

    /// `push imm`: pushes the sign-extended immediate as 64 bits.
    #[inline]
    pub fn push_imm(&mut self, imm: i32) {
        if imm as i8 as i32 == imm {
            self.emit_raw(0x6A | u64::from(imm as u8) << 8, 2);
        } else {
            self.emit_raw(0x68 | u64::from(imm as u32) << 8, 5);
        }
    }

    // ---- conditional moves and sets -------------------------------------------------------

    /// `cmovcc dst, src`: `dst = src` if `cond` holds (16, 32 or 64 bits). A 32-bit cmov
    /// zeroes bits 32..63 of `dst` even when the condition is false.
    #[inline]
    pub fn cmov_rr(&mut self, cond: Cond, size: Size, dst: Reg, src: Reg) {
        assert!(size != Size::B8, "cmovcc has no 8-bit form");
        let opcode = 0x0F40 + u16::from(cond.code());
        self.emit_modrm(size.flags(), opcode, dst.code(), Rm::Reg(src), 0, 0);
    }

    /// `cmovcc dst, [mem]` (the load happens, and can fault, whatever `cond`).
    #[inline]
    pub fn cmov_rm(&mut self, cond: Cond, size: Size, dst: Reg, mem: Mem) {
        assert!(size != Size::B8, "cmovcc has no 8-bit form");
        let opcode = 0x0F40 + u16::from(cond.code());
        self.emit_modrm(size.flags(), opcode, dst.code(), Rm::Mem(mem), 0, 0);
    }

    /// `setcc dst8`: the low byte of `dst` becomes 1 if `cond` holds, else 0; the other
    /// bits are kept (zero them first, e.g. with `xor`, before the flags are set).
    #[inline]
    pub fn setcc(&mut self, cond: Cond, dst: Reg) {
        let opcode = 0x0F90 + u16::from(cond.code());
        self.emit_modrm(RM8, opcode, 0, Rm::Reg(dst), 0, 0);
    }
}

/// Flags and opcode for sign-extending `src_size` into `dst_size`.
#[inline(always)]
fn movsx_form(dst_size: Size, src_size: Size) -> (u8, u16) {
    let w = match dst_size {
        Size::B32 => 0,
        Size::B64 => REX_W,
        _ => panic!("movsx extends only into 32 or 64 bits"),
    };
    match src_size {
        Size::B8 => (w | RM8, 0x0FBE),
        Size::B16 => (w, 0x0FBF),
        Size::B32 if w != 0 => (w, 0x63),
        _ => panic!("movsx extends only from a smaller size"),
    }
}
