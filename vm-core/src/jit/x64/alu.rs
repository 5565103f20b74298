//! Arithmetic and logic: the eight classic binary operations, `test`, the unary group
//! (`neg`, `not`, widening `mul`/`imul`, `div`/`idiv`), `imul` with two and three operands,
//! `cdq`/`cqo`, shifts and rotates, bit counts and `bswap`.

use super::encoder::{fits_i8, imm_len, w_form, Assembler, Rm, PF3, REG8, REX_W, RM8};
use super::operand::{Mem, Reg, Size};

/// The eight classic binary ALU operations, numbered by their opcode extension (`/digit`
/// of `0x80`/`0x81`/`0x83`, and bits 3..5 of the register forms).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum AluOp {
    /// `dst += src`.
    Add = 0,
    /// `dst |= src`.
    Or = 1,
    /// `dst += src + CF`.
    Adc = 2,
    /// `dst -= src + CF`.
    Sbb = 3,
    /// `dst &= src`.
    And = 4,
    /// `dst -= src`.
    Sub = 5,
    /// `dst ^= src`.
    Xor = 6,
    /// Sets flags as `dst - src` would, without writing `dst`.
    Cmp = 7,
}

impl AluOp {
    /// All eight operations in encoding order.
    pub const ALL: [AluOp; 8] = [
        AluOp::Add,
        AluOp::Or,
        AluOp::Adc,
        AluOp::Sbb,
        AluOp::And,
        AluOp::Sub,
        AluOp::Xor,
        AluOp::Cmp,
    ];
}

/// Shifts and rotates, numbered by their opcode extension (`/digit` of `0xC0`..`0xD3`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum ShiftOp {
    /// Rotate left.
    Rol = 0,
    /// Rotate right.
    Ror = 1,
    /// Rotate left through the carry flag.
    Rcl = 2,
    /// Rotate right through the carry flag.
    Rcr = 3,
    /// Shift left.
    Shl = 4,
    /// Logical (unsigned) shift right.
    Shr = 5,
    /// Arithmetic (signed) shift right.
    Sar = 7,
}

impl ShiftOp {
    /// All seven operations.
    pub const ALL: [ShiftOp; 7] = [
        ShiftOp::Rol,
        ShiftOp::Ror,
        ShiftOp::Rcl,
        ShiftOp::Rcr,
        ShiftOp::Shl,
        ShiftOp::Shr,
        ShiftOp::Sar,
    ];
}

/// Opcode extensions of the `0xF6`/`0xF7` group.
const NOT: u8 = 2;
const NEG: u8 = 3;
const MUL: u8 = 4;
const IMUL: u8 = 5;
const DIV: u8 = 6;
const IDIV: u8 = 7;

/// VEX opcode maps (the `mmmmm` field) and implied prefixes (`pp`).
const VEX_0F38: u8 = 0b0_0010;
const VEX_0F3A: u8 = 0b0_0011;
const VEX_NO_PREFIX: u8 = 0b00;
const VEX_66: u8 = 0b01;
const VEX_F3: u8 = 0b10;
const VEX_F2: u8 = 0b11;

/// Panics unless `size` is 16, 32 or 64 bits.
#[inline(always)]
fn no_byte_form(size: Size, what: &str) {
    assert!(size != Size::B8, "{what} has no 8-bit form");
}

/// Sign-truncates `imm` to `size`: the value the CPU sees after extension.
#[inline(always)]
const fn truncate(size: Size, imm: i32) -> i32 {
    match size {
        Size::B8 => imm as i8 as i32,
        Size::B16 => imm as i16 as i32,
        Size::B32 | Size::B64 => imm,
    }
}

impl Assembler {
    // ---- the eight binary operations ----------------------------------------------------

    /// `op dst, src` on two registers of `size`.
    #[inline]
    pub fn alu_rr(&mut self, op: AluOp, size: Size, dst: Reg, src: Reg) {
        let (flags, opcode) = w_form(size, (op as u16) << 3);
        self.emit_modrm(flags, opcode, src.code(), Rm::Reg(dst), 0, 0);
    }

    /// `op dst, imm` on a register of `size`. For 64 bits the immediate is sign-extended;
    /// for 8 and 16 bits only its low bits are used. Picks the shortest of the imm8 form,
    /// the accumulator short form and the full-immediate form.
    #[inline]
    pub fn alu_ri(&mut self, op: AluOp, size: Size, dst: Reg, imm: i32) {
        let imm = truncate(size, imm);
        let digit = op as u8;
        if size == Size::B8 {
            if dst == Reg::Rax {
                self.emit_raw(u64::from((op as u8) << 3 | 4) | (imm as u8 as u64) << 8, 2);
            } else {
                self.emit_modrm(RM8, 0x80, digit, Rm::Reg(dst), imm, 1);
            }
        } else if fits_i8(imm) {
            self.emit_modrm(size.flags(), 0x83, digit, Rm::Reg(dst), imm, 1);
        } else if dst == Reg::Rax {
            self.alu_accumulator(op, size, imm);
        } else {
            self.emit_modrm(size.flags(), 0x81, digit, Rm::Reg(dst), imm, imm_len(size));
        }
    }

    /// `op ax/eax/rax, imm16/imm32` (opcode `op << 3 | 5`).
    fn alu_accumulator(&mut self, op: AluOp, size: Size, imm: i32) {
        let opcode = u64::from((op as u8) << 3 | 5);
        let imm = imm as u32 as u64;
        match size {
            Size::B16 => self.emit_raw(0x66 | opcode << 8 | (imm & 0xFFFF) << 16, 4),
            Size::B64 => self.emit_raw(0x48 | opcode << 8 | imm << 16, 6),
            _ => self.emit_raw(opcode | imm << 8, 5),
        }
    }

    /// `op dst, [mem]`: a register and a loaded value of `size`.
    #[inline]
    pub fn alu_rm(&mut self, op: AluOp, size: Size, dst: Reg, mem: Mem) {
        let (flags, opcode) = w_form(size, ((op as u16) << 3) | 2);
        self.emit_modrm(flags, opcode, dst.code(), Rm::Mem(mem), 0, 0);
    }

    /// `op [mem], src`: read-modify-write of memory (or, for `cmp`, a compare).
    #[inline]
    pub fn alu_mr(&mut self, op: AluOp, size: Size, mem: Mem, src: Reg) {
        let (flags, opcode) = w_form(size, (op as u16) << 3);
        self.emit_modrm(flags, opcode, src.code(), Rm::Mem(mem), 0, 0);
    }

    /// `op [mem], imm`, with the immediate rules of [`alu_ri`](Assembler::alu_ri).
    #[inline]
    pub fn alu_mi(&mut self, op: AluOp, size: Size, mem: Mem, imm: i32) {
        let imm = truncate(size, imm);
        let digit = op as u8;
        if size == Size::B8 {
            self.emit_modrm(0, 0x80, digit, Rm::Mem(mem), imm, 1);
        } else if fits_i8(imm) {
            self.emit_modrm(size.flags(), 0x83, digit, Rm::Mem(mem), imm, 1);
        } else {
            self.emit_modrm(size.flags(), 0x81, digit, Rm::Mem(mem), imm, imm_len(size));
        }
    }
}

impl Assembler {
    /// `op mem, imm32` always with a four-byte immediate (never the `imm8` form), so the
    /// immediate can be patched later with [`Assembler::patch_u32`] at
    /// `offset() - 4` right after this call.
    #[inline]
    pub fn alu_mi_imm32(&mut self, op: AluOp, size: Size, mem: Mem, imm: i32) {
        assert!(
            size != Size::B8 && size != Size::B16,
            "imm32 forms are 32/64-bit"
        );
        self.emit_modrm(size.flags(), 0x81, op as u8, Rm::Mem(mem), imm, 4);
    }

    /// `op dst, imm32` always with a four-byte immediate, patchable as
    /// [`alu_mi_imm32`](Assembler::alu_mi_imm32)'s.
    #[inline]
    pub fn alu_ri_imm32(&mut self, op: AluOp, size: Size, dst: Reg, imm: i32) {
        assert!(
            size != Size::B8 && size != Size::B16,
            "imm32 forms are 32/64-bit"
        );
        self.emit_modrm(size.flags(), 0x81, op as u8, Rm::Reg(dst), imm, 4);
    }
}

/// Defines the named `_rr`, `_ri`, `_rm`, `_mr` and `_mi` methods of one [`AluOp`].
macro_rules! alu_methods {
    ($($op:ident: $rr:ident $ri:ident $rm:ident $mr:ident $mi:ident, $text:literal;)*) => {
        impl Assembler {$(
            #[doc = concat!("`", $text, " dst, src` on two registers of `size`.")]
            #[inline]
            pub fn $rr(&mut self, size: Size, dst: Reg, src: Reg) {
                self.alu_rr(AluOp::$op, size, dst, src);
            }

            #[doc = concat!("`", $text, " dst, imm` (see [`alu_ri`](Assembler::alu_ri)).")]
            #[inline]
            pub fn $ri(&mut self, size: Size, dst: Reg, imm: i32) {
                self.alu_ri(AluOp::$op, size, dst, imm);
            }

            #[doc = concat!("`", $text, " dst, [mem]`.")]
            #[inline]
            pub fn $rm(&mut self, size: Size, dst: Reg, mem: Mem) {
                self.alu_rm(AluOp::$op, size, dst, mem);
            }

            #[doc = concat!("`", $text, " [mem], src`.")]
            #[inline]
            pub fn $mr(&mut self, size: Size, mem: Mem, src: Reg) {
                self.alu_mr(AluOp::$op, size, mem, src);
            }

            #[doc = concat!("`", $text, " [mem], imm` (see [`alu_ri`](Assembler::alu_ri)).")]
            #[inline]
            pub fn $mi(&mut self, size: Size, mem: Mem, imm: i32) {
                self.alu_mi(AluOp::$op, size, mem, imm);
            }
        )*}
    };
}

alu_methods! {
    Add: add_rr add_ri add_rm add_mr add_mi, "add";
    Or: or_rr or_ri or_rm or_mr or_mi, "or";
    Adc: adc_rr adc_ri adc_rm adc_mr adc_mi, "adc";
    Sbb: sbb_rr sbb_ri sbb_rm sbb_mr sbb_mi, "sbb";
    And: and_rr and_ri and_rm and_mr and_mi, "and";
    Sub: sub_rr sub_ri sub_rm sub_mr sub_mi, "sub";
    Xor: xor_rr xor_ri xor_rm xor_mr xor_mi, "xor";
    Cmp: cmp_rr cmp_ri cmp_rm cmp_mr cmp_mi, "cmp";
}

impl Assembler {
    // ---- test -------------------------------------------------------------------------

    /// `test a, b`: sets flags as `a & b` would.
    #[inline]
    pub fn test_rr(&mut self, size: Size, a: Reg, b: Reg) {
        let (flags, opcode) = w_form(size, 0x84);
        self.emit_modrm(flags, opcode, b.code(), Rm::Reg(a), 0, 0);
    }

    /// `test reg, imm` (no imm8 form exists; the accumulator gets the short form).
    #[inline]
    pub fn test_ri(&mut self, size: Size, reg: Reg, imm: i32) {
        let imm = truncate(size, imm);
        if reg == Reg::Rax {
            let imm = imm as u32 as u64;
            match size {
                Size::B8 => self.emit_raw(0xA8 | (imm & 0xFF) << 8, 2),
                Size::B16 => self.emit_raw(0xA9_66 | (imm & 0xFFFF) << 16, 4),
                Size::B32 => self.emit_raw(0xA9 | imm << 8, 5),
                Size::B64 => self.emit_raw(0xA9_48 | imm << 16, 6),
            }
        } else {
            let (flags, opcode) = w_form(size, 0xF6);
            self.emit_modrm(flags & !REG8, opcode, 0, Rm::Reg(reg), imm, imm_len(size));
        }
    }

    /// `test [mem], reg`.
    #[inline]
    pub fn test_mr(&mut self, size: Size, mem: Mem, reg: Reg) {
        let (flags, opcode) = w_form(size, 0x84);
        self.emit_modrm(flags, opcode, reg.code(), Rm::Mem(mem), 0, 0);
    }

    /// `test [mem], imm`.
    #[inline]
    pub fn test_mi(&mut self, size: Size, mem: Mem, imm: i32) {
        let imm = truncate(size, imm);
        let (flags, opcode) = w_form(size, 0xF6);
        self.emit_modrm(flags & !REG8, opcode, 0, Rm::Mem(mem), imm, imm_len(size));
    }

    // ---- the unary group ----------------------------------------------------------------

    /// One instruction of the `0xF6`/`0xF7` group on a register.
    #[inline(always)]
    fn group3(&mut self, digit: u8, size: Size, reg: Reg) {
        let (flags, opcode) = w_form(size, 0xF6);
        self.emit_modrm(flags & !REG8, opcode, digit, Rm::Reg(reg), 0, 0);
    }

    /// `neg reg`: two's-complement negation.
    #[inline]
    pub fn neg(&mut self, size: Size, reg: Reg) {
        self.group3(NEG, size, reg);
    }

    /// `not reg`: bitwise complement (flags unchanged).
    #[inline]
    pub fn not(&mut self, size: Size, reg: Reg) {
        self.group3(NOT, size, reg);
    }

    /// `mul src`: unsigned widening multiply, `rdx:rax = rax * src` (for 64 bits; `edx:eax`,
    /// `dx:ax` and `ax = al * src` for the smaller sizes).
    #[inline]
    pub fn mul(&mut self, size: Size, src: Reg) {
        self.group3(MUL, size, src);
    }

    /// `imul src`: signed widening multiply, `rdx:rax = rax * src` (as [`mul`](Assembler::mul)).
    #[inline]
    pub fn imul(&mut self, size: Size, src: Reg) {
        self.group3(IMUL, size, src);
    }

    /// `div src`: unsigned divide of `rdx:rax` by `src`; quotient to `rax`, remainder to
    /// `rdx` (per size as [`mul`](Assembler::mul)). Divide by zero or an overflowing
    /// quotient raises `#DE`.
    #[inline]
    pub fn div(&mut self, size: Size, src: Reg) {
        self.group3(DIV, size, src);
    }

    /// `idiv src`: signed divide, as [`div`](Assembler::div); `MIN / -1` raises `#DE`.
    #[inline]
    pub fn idiv(&mut self, size: Size, src: Reg) {
        self.group3(IDIV, size, src);
    }

    /// `cdq`: sign-extends `eax` into `edx` (before a 32-bit `idiv`).
    #[inline]
    pub fn cdq(&mut self) {
        self.emit_raw(0x99, 1);
    }

    /// `cqo`: sign-extends `rax` into `rdx` (before a 64-bit `idiv`).
    #[inline]
    pub fn cqo(&mut self) {
        self.emit_raw(0x99_48, 2);
    }

    // ---- imul with two and three operands -------------------------------------------------

    /// `imul dst, src`: `dst *= src`, truncated (16, 32 or 64 bits).
    #[inline]
    pub fn imul_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        no_byte_form(size, "imul r, r/m");
        self.emit_modrm(size.flags(), 0x0FAF, dst.code(), Rm::Reg(src), 0, 0);
    }

    /// `imul dst, [mem]`.
    #[inline]
    pub fn imul_rm(&mut self, size: Size, dst: Reg, mem: Mem) {
        no_byte_form(size, "imul r, r/m");
        self.emit_modrm(size.flags(), 0x0FAF, dst.code(), Rm::Mem(mem), 0, 0);
    }

    /// `imul dst, src, imm`: `dst = src * imm` (imm8 form when it fits; the immediate is
    /// sign-extended, and for 16 bits truncated).
    #[inline]
    pub fn imul_rri(&mut self, size: Size, dst: Reg, src: Reg, imm: i32) {
        no_byte_form(size, "imul r, r/m, imm");
        let imm = truncate(size, imm);
        if fits_i8(imm) {
            self.emit_modrm(size.flags(), 0x6B, dst.code(), Rm::Reg(src), imm, 1);
        } else {
            self.emit_modrm(
                size.flags(),
                0x69,
                dst.code(),
                Rm::Reg(src),
                imm,
                imm_len(size),
            );
        }
    }

    // ---- shifts and rotates -------------------------------------------------------------

    /// `op reg, imm8` (the one-bit form `D0`/`D1` when `count == 1`). The CPU masks the
    /// count to 5 bits (6 for 64-bit operands).
    #[inline]
    pub fn shift_ri(&mut self, op: ShiftOp, size: Size, reg: Reg, count: u8) {
        let (flags, base) = w_form(size, 0xC0);
        let flags = flags & !REG8;
        if count == 1 {
            self.emit_modrm(flags, base + 0x10, op as u8, Rm::Reg(reg), 0, 0);
        } else {
            self.emit_modrm(flags, base, op as u8, Rm::Reg(reg), i32::from(count), 1);
        }
    }

    /// `op reg, cl`.
    #[inline]
    pub fn shift_rcl(&mut self, op: ShiftOp, size: Size, reg: Reg) {
        let (flags, opcode) = w_form(size, 0xD2);
        self.emit_modrm(flags & !REG8, opcode, op as u8, Rm::Reg(reg), 0, 0);
    }
}

/// Defines the named immediate and `cl` forms of one [`ShiftOp`].
macro_rules! shift_methods {
    ($($op:ident: $ri:ident $cl:ident, $text:literal;)*) => {
        impl Assembler {$(
            #[doc = concat!("`", $text, " reg, count` (see [`shift_ri`](Assembler::shift_ri)).")]
            #[inline]
            pub fn $ri(&mut self, size: Size, reg: Reg, count: u8) {
                self.shift_ri(ShiftOp::$op, size, reg, count);
            }

            #[doc = concat!("`", $text, " reg, cl`.")]
            #[inline]
            pub fn $cl(&mut self, size: Size, reg: Reg) {
                self.shift_rcl(ShiftOp::$op, size, reg);
            }
        )*}
    };
}

shift_methods! {
    Rol: rol_ri rol_cl, "rol";
    Ror: ror_ri ror_cl, "ror";
    Shl: shl_ri shl_cl, "shl";
    Shr: shr_ri shr_cl, "shr";
    Sar: sar_ri sar_cl, "sar";
}

impl Assembler {
    // ---- bit counts and byte swap -------------------------------------------------------

    /// `lzcnt dst, src`: leading zero bits of `src` (its width when zero). Needs the
    /// LZCNT (ABM) extension; older CPUs run it as `bsr`.
    #[inline]
    pub fn lzcnt(&mut self, size: Size, dst: Reg, src: Reg) {
        no_byte_form(size, "lzcnt");
        self.emit_modrm(size.flags() | PF3, 0x0FBD, dst.code(), Rm::Reg(src), 0, 0);
    }

    /// `tzcnt dst, src`: trailing zero bits of `src` (its width when zero). Needs BMI1;
    /// older CPUs run it as `bsf`.
    #[inline]
    pub fn tzcnt(&mut self, size: Size, dst: Reg, src: Reg) {
        no_byte_form(size, "tzcnt");
        self.emit_modrm(size.flags() | PF3, 0x0FBC, dst.code(), Rm::Reg(src), 0, 0);
    }

    /// `andn dst, src1, src2`: `dst = !src1 & src2` (32 or 64 bits; flags set as by
    /// `and`). Needs BMI1.
    #[inline]
    pub fn andn(&mut self, size: Size, dst: Reg, src1: Reg, src2: Reg) {
        self.vex(
            size,
            VEX_0F38,
            VEX_NO_PREFIX,
            0xF2,
            dst,
            src1.code(),
            src2,
            None,
        );
    }

    /// `mulx hi, lo, src`: the unsigned product `rdx * src`, its upper half to `hi` and
    /// its lower half to `lo` (32 or 64 bits; flags unchanged). Callers keep `hi` and `lo`
    /// distinct: only Intel's manual defines the result when they are the same. Needs
    /// BMI2.
    #[inline]
    pub fn mulx(&mut self, size: Size, hi: Reg, lo: Reg, src: Reg) {
        self.vex(size, VEX_0F38, VEX_F2, 0xF6, hi, lo.code(), src, None);
    }

    /// `rorx dst, src, count`: `src` rotated right by `count` (masked to the size) into
    /// `dst` (32 or 64 bits; flags unchanged). Needs BMI2.
    #[inline]
    pub fn rorx(&mut self, size: Size, dst: Reg, src: Reg, count: u8) {
        self.vex(size, VEX_0F3A, VEX_F2, 0xF0, dst, 0, src, Some(count));
    }

    /// `shlx`, `shrx` or `sarx dst, src, count`: `src` shifted by `count` (masked to the
    /// size, as the one-operand shifts mask `cl`) into `dst` (32 or 64 bits; flags
    /// unchanged). `op` is `Shl`, `Shr` or `Sar`. Needs BMI2.
    #[inline]
    pub fn shift_x(&mut self, op: ShiftOp, size: Size, dst: Reg, src: Reg, count: Reg) {
        let prefix = match op {
            ShiftOp::Shl => VEX_66,
            ShiftOp::Shr => VEX_F2,
            ShiftOp::Sar => VEX_F3,
            _ => panic!("{op:?} has no BMI2 form"),
        };
        self.vex(size, VEX_0F38, prefix, 0xF7, dst, count.code(), src, None);
    }

    /// A VEX-encoded register-only instruction (the BMI ones): `C4`, then the inverted R
    /// and B register bits with the opcode map, then W, the inverted `vvvv` register
    /// code, no vector length and the implied prefix, then the opcode, a register ModRM
    /// (`reg`, `rm`) and the immediate byte if any.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn vex(
        &mut self,
        size: Size,
        map: u8,
        prefix: u8,
        opcode: u8,
        reg: Reg,
        vvvv: u8,
        rm: Reg,
        imm: Option<u8>,
    ) {
        assert!(
            matches!(size, Size::B32 | Size::B64),
            "BMI instructions have only 32- and 64-bit forms"
        );
        let byte1 = ((reg.high() ^ 1) << 7) | (1 << 6) | ((rm.high() ^ 1) << 5) | map;
        let w = u8::from(size == Size::B64);
        let byte2 = (w << 7) | ((!vvvv & 0xF) << 3) | prefix;
        let modrm = 0xC0 | (reg.low3() << 3) | rm.low3();
        let imm_byte = imm.unwrap_or(0);
        self.emit_raw(
            u64::from_le_bytes([0xC4, byte1, byte2, opcode, modrm, imm_byte, 0, 0]),
            5 + usize::from(imm.is_some()),
        );
    }

    /// `popcnt dst, src`: set bits of `src`. Needs POPCNT.
    #[inline]
    pub fn popcnt(&mut self, size: Size, dst: Reg, src: Reg) {
        no_byte_form(size, "popcnt");
        self.emit_modrm(size.flags() | PF3, 0x0FB8, dst.code(), Rm::Reg(src), 0, 0);
    }

    /// `bswap reg`: reverses the byte order of a 32- or 64-bit register.
    ///
    /// # Panics
    ///
    /// For 8- and 16-bit sizes (the 16-bit form is undefined).
    #[inline]
    pub fn bswap(&mut self, size: Size, reg: Reg) {
        let flags = match size {
            Size::B32 => 0,
            Size::B64 => REX_W,
            _ => panic!("bswap takes only 32- or 64-bit registers"),
        };
        self.emit_plus_r(flags, 0x0FC8, reg, 0, 0);
    }
}
