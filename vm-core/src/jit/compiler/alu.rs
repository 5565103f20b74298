//! Arithmetic and logic: every instruction that only reads and writes registers.
//!
//! 32-bit operations compute in the low half and sign-extend the result (`movsxd`), as
//! the interpreter's `sext`. Shift and rotate counts are masked by the hardware exactly as
//! Rust's `wrapping_shl`/`rotate_*` mask them (by 31 or 63).

use super::{Carry, Compiler, LastAdd};
use crate::isa::{Args, Opcode, Reg};
use crate::jit::abi::{host, SCRATCH};
use crate::jit::x64::{AluOp, Cond, Mem, Reg as H, ShiftOp, Size};

const RAX: H = H::Rax;
const RDX: H = H::Rdx;
const RSP: H = H::Rsp;

/// Which result of a division.
#[derive(Copy, Clone, PartialEq, Eq)]
enum DivResult {
    Quotient,
    Remainder,
}

/// Which upper multiplication.
#[derive(Copy, Clone, PartialEq, Eq)]
enum MulUpper {
    SignedSigned,
    UnsignedUnsigned,
    SignedUnsigned,
}

fn sext(x: u32) -> i64 {
    x as i32 as i64
}

impl Compiler<'_> {
    /// `d = sext(x)`.
    pub(super) fn load_imm(&mut self, d: Reg, x: u32) {
        self.asm.mov_ri(Size::B64, host(d), sext(x));
    }

    /// Sign-extends the low 32 bits of `d` in place.
    fn sext32(&mut self, d: H) {
        self.asm.movsx_rr(Size::B64, Size::B32, d, d);
    }

    /// `d = a op b` for the two-operand ALU ops, at `size` (32-bit results sign-extended).
    fn binop(&mut self, op: AluOp, size: Size, d: Reg, a: Reg, b: Reg, commutative: bool) {
        let (d, a, b) = (host(d), host(a), host(b));
        if d == a {
            self.asm.alu_rr(op, size, d, b);
        } else if d == b && commutative {
            self.asm.alu_rr(op, size, d, a);
        } else if d == b {
            self.asm.mov_rr(Size::B64, SCRATCH, b);
            self.asm.mov_rr(Size::B64, d, a);
            self.asm.alu_rr(op, size, d, SCRATCH);
        } else {
            self.asm.mov_rr(Size::B64, d, a);
            self.asm.alu_rr(op, size, d, b);
        }
        if size == Size::B32 {
            self.sext32(d);
        }
    }

    /// `d = a op sext(x)` (64-bit).
    fn binop_imm(&mut self, op: AluOp, d: Reg, a: Reg, x: u32) {
        let (d, a) = (host(d), host(a));
        if d != a {
            self.asm.mov_rr(Size::B64, d, a);
        }
        self.asm.alu_ri(op, Size::B64, d, x as i32);
    }

    /// `d = a * b` at `size`.
    fn mul(&mut self, size: Size, d: Reg, a: Reg, b: Reg) {
        let (d, a, b) = (host(d), host(a), host(b));
        if d == a {
            self.asm.imul_rr(size, d, b);
        } else if d == b {
            self.asm.imul_rr(size, d, a);
        } else {
            self.asm.mov_rr(Size::B64, d, a);
            self.asm.imul_rr(size, d, b);
        }
        if size == Size::B32 {
            self.sext32(d);
        }
    }

    /// `d = cond(a, b) as u64` for a comparison of `a` with `b`. Where `d` is neither
    /// operand, it is zeroed before the `cmp` and set in place: no `movzx` after the
    /// `setcc`, so a cycle less on the result's path (carry chains in big-integer code
    /// run through here), and the zeroing idiom takes no execution unit. Otherwise
    /// through the scratch register.
    fn set_if(&mut self, cond: Cond, d: Reg, a: H, b: Compared) {
        let d = host(d);
        let in_place = d != a && b != Compared::Reg(d);
        if in_place {
            self.asm.alu_rr(AluOp::Xor, Size::B32, d, d);
        }
        match b {
            Compared::Reg(b) => self.asm.cmp_rr(Size::B64, a, b),
            Compared::Imm(x) => self.asm.cmp_ri(Size::B64, a, x),
        }
        if in_place {
            self.asm.setcc(cond, d);
        } else {
            self.asm.setcc(cond, SCRATCH);
            self.asm.movzx_rr(Size::B8, d, SCRATCH);
        }
    }

    /// `d = a shift (b & mask)`: shifts in one BMI2 instruction, which masks the count
    /// as the guest does; rotates through `cl` (taken first, so `d == b` is fine).
    fn shift_reg(&mut self, op: ShiftOp, size: Size, d: Reg, a: Reg, b: Reg) {
        let (d, a, b) = (host(d), host(a), host(b));
        if matches!(op, ShiftOp::Shl | ShiftOp::Shr | ShiftOp::Sar) {
            self.asm.shift_x(op, size, d, a, b);
            if size == Size::B32 {
                self.sext32(d);
            }
            return;
        }
        self.asm.mov_rr(Size::B32, SCRATCH, b);
        if d != a {
            self.asm.mov_rr(Size::B64, d, a);
        }
        self.asm.shift_rcl(op, size, d);
        if size == Size::B32 {
            self.sext32(d);
        }
    }

    /// `d = a shift x` with an immediate count.
    fn shift_imm(&mut self, op: ShiftOp, size: Size, d: Reg, a: Reg, x: u32) {
        let (d, a) = (host(d), host(a));
        let count = (x & (size.bits() - 1)) as u8;
        if op == ShiftOp::Ror && count != 0 {
            // Non-destructive (BMI2): no copy of `a` first.
            self.asm.rorx(size, d, a, count);
            if size == Size::B32 {
                self.sext32(d);
            }
            return;
        }
        if d != a {
            self.asm.mov_rr(Size::B64, d, a);
        }
        if count != 0 {
            self.asm.shift_ri(op, size, d, count);
        }
        if size == Size::B32 {
            self.sext32(d);
        }
    }

    /// `d = sext(x) shift (s & mask)` (the `_alt` forms: the immediate is shifted).
    fn shift_imm_alt(&mut self, op: ShiftOp, size: Size, d: Reg, s: Reg, x: u32) {
        let (d, s) = (host(d), host(s));
        self.asm.mov_rr(Size::B32, SCRATCH, s);
        match size {
            Size::B32 => self.asm.mov_ri(Size::B32, d, i64::from(x)),
            _ => self.asm.mov_ri(Size::B64, d, sext(x)),
        }
        self.asm.shift_rcl(op, size, d);
        if size == Size::B32 {
            self.sext32(d);
        }
    }

    /// Division and remainder, with the interpreter's rules for a zero divisor (quotient
    /// all ones, remainder the dividend) and for a divisor of -1 in signed division
    /// (wrapping negation, remainder 0; this also covers `MIN / -1`, which would fault).
    fn div(&mut self, size: Size, signed: bool, result: DivResult, d: Reg, a: Reg, b: Reg) {
        let (d, a, b) = (host(d), host(a), host(b));
        let done = self.asm.label();
        let nonzero = self.asm.label();
        self.asm.mov_rr(Size::B64, SCRATCH, b);
        self.asm.test_rr(size, SCRATCH, SCRATCH);
        self.asm.jcc(Cond::Ne, nonzero);
        match result {
            DivResult::Quotient => self.asm.mov_ri(Size::B64, d, -1),
            DivResult::Remainder => match size {
                Size::B32 => self.asm.movsx_rr(Size::B64, Size::B32, d, a),
                _ => self.asm.mov_rr(Size::B64, d, a),
            },
        }
        self.asm.jmp(done);
        self.asm.bind(nonzero);
        if signed {
            let normal = self.asm.label();
            self.asm.cmp_ri(size, SCRATCH, -1);
            self.asm.jcc(Cond::Ne, normal);
            match result {
                DivResult::Quotient => {
                    if d != a {
                        self.asm.mov_rr(Size::B64, d, a);
                    }
                    self.asm.neg(size, d);
                    if size == Size::B32 {
                        self.sext32(d);
                    }
                }
                DivResult::Remainder => self.asm.xor_rr(Size::B32, d, d),
            }
            self.asm.jmp(done);
            self.asm.bind(normal);
        }
        self.asm.push(RAX);
        self.asm.push(RDX);
        if a != RAX {
            self.asm.mov_rr(Size::B64, RAX, a);
        }
        if signed {
            match size {
                Size::B32 => self.asm.cdq(),
                _ => self.asm.cqo(),
            }
            self.asm.idiv(size, SCRATCH);
        } else {
            self.asm.xor_rr(Size::B32, RDX, RDX);
            self.asm.div(size, SCRATCH);
        }
        let out = match result {
            DivResult::Quotient => RAX,
            DivResult::Remainder => RDX,
        };
        match size {
            Size::B32 => self.asm.movsx_rr(Size::B64, Size::B32, SCRATCH, out),
            _ => self.asm.mov_rr(Size::B64, SCRATCH, out),
        }
        self.asm.pop(RDX);
        self.asm.pop(RAX);
        self.asm.mov_rr(Size::B64, d, SCRATCH);
        self.asm.bind(done);
    }

    /// The upper 64 bits of the 128-bit product.
    fn mul_upper(&mut self, kind: MulUpper, d: Reg, a: Reg, b: Reg) {
        let (d, a, b) = (host(d), host(a), host(b));
        if kind == MulUpper::UnsignedUnsigned {
            // `mulx` (the JIT needs BMI2) multiplies by rdx and leaves rax alone. Its two
            // outputs are always distinct registers (Intel defines the upper half winning
            // when they are the same; that is not relied on): the lower half goes to a
            // register that is free or about to be restored.
            if a == RDX || b == RDX {
                let other = if a == RDX { b } else { a };
                self.asm.mulx(Size::B64, d, SCRATCH, other);
            } else if d == RDX {
                self.asm.mov_rr(Size::B64, RDX, a);
                self.asm.mulx(Size::B64, RDX, SCRATCH, b);
            } else {
                self.asm.mov_rr(Size::B64, SCRATCH, RDX);
                self.asm.mov_rr(Size::B64, RDX, a);
                self.asm.mulx(Size::B64, d, RDX, b);
                self.asm.mov_rr(Size::B64, RDX, SCRATCH);
            }
            return;
        }
        self.asm.push(RAX);
        self.asm.push(RDX);
        self.asm.mov_rr(Size::B64, SCRATCH, b);
        if a != RAX {
            self.asm.mov_rr(Size::B64, RAX, a);
        }
        match kind {
            MulUpper::SignedSigned => self.asm.imul(Size::B64, SCRATCH),
            MulUpper::UnsignedUnsigned | MulUpper::SignedUnsigned => {
                self.asm.mul(Size::B64, SCRATCH)
            }
        }
        if kind == MulUpper::SignedUnsigned {
            // signed(a) * unsigned(b) = unsigned product - (a < 0 ? b << 64 : 0).
            // `a` itself may be rax or rdx, whose values are saved on the stack.
            match a {
                RAX => self.asm.mov_rm(Size::B64, RAX, Mem::base_disp(RSP, 8)),
                RDX => self.asm.mov_rm(Size::B64, RAX, Mem::base(RSP)),
                other => self.asm.mov_rr(Size::B64, RAX, other),
            }
            self.asm.shift_ri(ShiftOp::Sar, Size::B64, RAX, 63);
            self.asm.and_rr(Size::B64, RAX, SCRATCH);
            self.asm.sub_rr(Size::B64, RDX, RAX);
        }
        self.asm.mov_rr(Size::B64, SCRATCH, RDX);
        self.asm.pop(RDX);
        self.asm.pop(RAX);
        self.asm.mov_rr(Size::B64, d, SCRATCH);
    }

    /// Emits a register-only instruction.
    #[inline(always)]
    pub(super) fn alu_instruction(&mut self, opcode: Opcode, args: Args) {
        use Opcode as O;
        use Size::{B32, B64};
        match args {
            Args::RegRegImm(d, s, x) => {
                let (hd, hs) = (host(d), host(s));
                match opcode {
                    O::AddImm32 => {
                        self.asm.lea(B32, hd, Mem::base_disp(hs, x as i32));
                        self.sext32(hd);
                        self.note_sum(hd, hs, x as i32);
                    }
                    O::AddImm64 => {
                        self.asm.lea(B64, hd, Mem::base_disp(hs, x as i32));
                        self.note_sum(hd, hs, x as i32);
                    }
                    O::AndImm => self.binop_imm(AluOp::And, d, s, x),
                    O::XorImm => self.binop_imm(AluOp::Xor, d, s, x),
                    O::OrImm => self.binop_imm(AluOp::Or, d, s, x),
                    O::MulImm32 => {
                        self.asm.imul_rri(B32, hd, hs, x as i32);
                        self.sext32(hd);
                    }
                    O::MulImm64 => self.asm.imul_rri(B64, hd, hs, x as i32),
                    O::SetLessThanUnsignedImm => {
                        self.set_if(Cond::B, d, hs, Compared::Imm(x as i32));
                    }
                    O::SetLessThanSignedImm => {
                        self.set_if(Cond::L, d, hs, Compared::Imm(x as i32));
                    }
                    O::SetGreaterThanUnsignedImm => {
                        self.set_if(Cond::A, d, hs, Compared::Imm(x as i32));
                    }
                    O::SetGreaterThanSignedImm => {
                        self.set_if(Cond::G, d, hs, Compared::Imm(x as i32));
                    }
                    O::ShiftLogicalLeftImm32 => self.shift_imm(ShiftOp::Shl, B32, d, s, x),
                    O::ShiftLogicalLeftImm64 => self.shift_imm(ShiftOp::Shl, B64, d, s, x),
                    O::ShiftLogicalRightImm32 => self.shift_imm(ShiftOp::Shr, B32, d, s, x),
                    O::ShiftLogicalRightImm64 => self.shift_imm(ShiftOp::Shr, B64, d, s, x),
                    O::ShiftArithmeticRightImm32 => self.shift_imm(ShiftOp::Sar, B32, d, s, x),
                    O::ShiftArithmeticRightImm64 => self.shift_imm(ShiftOp::Sar, B64, d, s, x),
                    O::RotateRightImm32 => self.shift_imm(ShiftOp::Ror, B32, d, s, x),
                    O::RotateRightImm64 => self.shift_imm(ShiftOp::Ror, B64, d, s, x),
                    O::NegateAndAddImm32 => {
                        self.asm.mov_ri(B32, SCRATCH, i64::from(x));
                        self.asm.sub_rr(B32, SCRATCH, hs);
                        self.asm.movsx_rr(B64, B32, hd, SCRATCH);
                    }
                    O::NegateAndAddImm64 => {
                        self.asm.mov_ri(B64, SCRATCH, sext(x));
                        self.asm.sub_rr(B64, SCRATCH, hs);
                        self.asm.mov_rr(B64, hd, SCRATCH);
                    }
                    O::ShiftLogicalRightImmAlt32 => self.shift_imm_alt(ShiftOp::Shr, B32, d, s, x),
                    O::ShiftLogicalRightImmAlt64 => self.shift_imm_alt(ShiftOp::Shr, B64, d, s, x),
                    O::ShiftArithmeticRightImmAlt32 => {
                        self.shift_imm_alt(ShiftOp::Sar, B32, d, s, x)
                    }
                    O::ShiftArithmeticRightImmAlt64 => {
                        self.shift_imm_alt(ShiftOp::Sar, B64, d, s, x)
                    }
                    O::ShiftLogicalLeftImmAlt32 => self.shift_imm_alt(ShiftOp::Shl, B32, d, s, x),
                    O::ShiftLogicalLeftImmAlt64 => self.shift_imm_alt(ShiftOp::Shl, B64, d, s, x),
                    O::RotateRightImmAlt32 => self.shift_imm_alt(ShiftOp::Ror, B32, d, s, x),
                    O::RotateRightImmAlt64 => self.shift_imm_alt(ShiftOp::Ror, B64, d, s, x),
                    O::CmovIfZeroImm | O::CmovIfNotZeroImm => {
                        let cond = if opcode == O::CmovIfZeroImm {
                            Cond::E
                        } else {
                            Cond::Ne
                        };
                        self.asm.mov_ri(B64, SCRATCH, sext(x));
                        self.asm.test_rr(B64, hs, hs);
                        self.asm.cmov_rr(cond, B64, hd, SCRATCH);
                    }
                    _ => unreachable!("{opcode:?} is not a reg-reg-imm ALU op"),
                }
            }
            Args::RegRegReg(d, a, b) => {
                let (hd, ha, hb) = (host(d), host(a), host(b));
                match opcode {
                    O::Add32 => self.binop(AluOp::Add, B32, d, a, b, true),
                    O::Add64 => {
                        self.binop(AluOp::Add, B64, d, a, b, true);
                        self.note_add(LastAdd::Carry(Carry {
                            sum: hd,
                            operands: [ha, hb],
                        }));
                    }
                    O::Sub32 => self.binop(AluOp::Sub, B32, d, a, b, false),
                    O::Sub64 => self.binop(AluOp::Sub, B64, d, a, b, false),
                    O::And => self.binop(AluOp::And, B64, d, a, b, true),
                    O::Xor => self.binop(AluOp::Xor, B64, d, a, b, true),
                    O::Or => self.binop(AluOp::Or, B64, d, a, b, true),
                    O::Mul32 => self.mul(B32, d, a, b),
                    O::Mul64 => self.mul(B64, d, a, b),
                    O::MulUpperSignedSigned => self.mul_upper(MulUpper::SignedSigned, d, a, b),
                    O::MulUpperUnsignedUnsigned => {
                        self.mul_upper(MulUpper::UnsignedUnsigned, d, a, b)
                    }
                    O::MulUpperSignedUnsigned => self.mul_upper(MulUpper::SignedUnsigned, d, a, b),
                    O::SetLessThanUnsigned => match self.add_just_before() {
                        Some(LastAdd::Carry(carry))
                            if ha == carry.sum
                                && hb != carry.sum
                                && carry.operands.contains(&hb) =>
                        {
                            // `mov` rather than `xor`: the flags must survive.
                            self.asm.mov_ri(B32, hd, 0);
                            self.asm.setcc(Cond::B, hd);
                        }
                        _ => self.set_if(Cond::B, d, ha, Compared::Reg(hb)),
                    },
                    O::SetLessThanSigned => {
                        self.set_if(Cond::L, d, ha, Compared::Reg(hb));
                    }
                    O::ShiftLogicalLeft32 => self.shift_reg(ShiftOp::Shl, B32, d, a, b),
                    O::ShiftLogicalLeft64 => self.shift_reg(ShiftOp::Shl, B64, d, a, b),
                    O::ShiftLogicalRight32 => self.shift_reg(ShiftOp::Shr, B32, d, a, b),
                    O::ShiftLogicalRight64 => self.shift_reg(ShiftOp::Shr, B64, d, a, b),
                    O::ShiftArithmeticRight32 => self.shift_reg(ShiftOp::Sar, B32, d, a, b),
                    O::ShiftArithmeticRight64 => self.shift_reg(ShiftOp::Sar, B64, d, a, b),
                    O::RotateLeft32 => self.shift_reg(ShiftOp::Rol, B32, d, a, b),
                    O::RotateLeft64 => self.shift_reg(ShiftOp::Rol, B64, d, a, b),
                    O::RotateRight32 => self.shift_reg(ShiftOp::Ror, B32, d, a, b),
                    O::RotateRight64 => self.shift_reg(ShiftOp::Ror, B64, d, a, b),
                    O::DivUnsigned32 => self.div(B32, false, DivResult::Quotient, d, a, b),
                    O::DivUnsigned64 => self.div(B64, false, DivResult::Quotient, d, a, b),
                    O::DivSigned32 => self.div(B32, true, DivResult::Quotient, d, a, b),
                    O::DivSigned64 => self.div(B64, true, DivResult::Quotient, d, a, b),
                    O::RemUnsigned32 => self.div(B32, false, DivResult::Remainder, d, a, b),
                    O::RemUnsigned64 => self.div(B64, false, DivResult::Remainder, d, a, b),
                    O::RemSigned32 => self.div(B32, true, DivResult::Remainder, d, a, b),
                    O::RemSigned64 => self.div(B64, true, DivResult::Remainder, d, a, b),
                    // Register order `(d, a, b)`: `d = a` if `b` (the condition) is zero.
                    O::CmovIfZero => {
                        self.asm.test_rr(B64, hb, hb);
                        self.asm.cmov_rr(Cond::E, B64, hd, ha);
                    }
                    O::CmovIfNotZero => {
                        self.asm.test_rr(B64, hb, hb);
                        self.asm.cmov_rr(Cond::Ne, B64, hd, ha);
                    }
                    // `d = a & !b` in one instruction (the JIT needs BMI1).
                    O::AndInverted => self.asm.andn(B64, hd, hb, ha),
                    // The rest compute into `d` itself where it is not an operand still
                    // needed, and through the scratch register only where it is.
                    O::OrInverted => {
                        if hd == ha {
                            self.asm.mov_rr(B64, SCRATCH, hb);
                            self.asm.not(B64, SCRATCH);
                            self.asm.alu_rr(AluOp::Or, B64, hd, SCRATCH);
                        } else {
                            if hd != hb {
                                self.asm.mov_rr(B64, hd, hb);
                            }
                            self.asm.not(B64, hd);
                            self.asm.alu_rr(AluOp::Or, B64, hd, ha);
                        }
                    }
                    O::Xnor => {
                        let other = if hd == hb {
                            ha
                        } else {
                            if hd != ha {
                                self.asm.mov_rr(B64, hd, ha);
                            }
                            hb
                        };
                        self.asm.xor_rr(B64, hd, other);
                        self.asm.not(B64, hd);
                    }
                    O::Maximum | O::MaximumUnsigned | O::Minimum | O::MinimumUnsigned => {
                        // d = b if a <cond> b, else a.
                        let cond = match opcode {
                            O::Maximum => Cond::L,
                            O::MaximumUnsigned => Cond::B,
                            O::Minimum => Cond::G,
                            _ => Cond::A,
                        };
                        if hd == hb {
                            // d holds b already: it takes a unless a <cond> b.
                            self.asm.cmp_rr(B64, ha, hb);
                            self.asm.cmov_rr(cond.invert(), B64, hd, ha);
                        } else {
                            if hd != ha {
                                self.asm.mov_rr(B64, hd, ha);
                            }
                            self.asm.cmp_rr(B64, hd, hb);
                            self.asm.cmov_rr(cond, B64, hd, hb);
                        }
                    }
                    _ => unreachable!("{opcode:?} is not a reg-reg-reg op"),
                }
            }
            Args::RegReg(d, s) => {
                let (hd, hs) = (host(d), host(s));
                match opcode {
                    O::MoveReg => {
                        if hd != hs {
                            self.asm.mov_rr(B64, hd, hs)
                        }
                    }
                    O::CountLeadingZeroBits32 => self.asm.lzcnt(B32, hd, hs),
                    O::CountLeadingZeroBits64 => self.asm.lzcnt(B64, hd, hs),
                    O::CountTrailingZeroBits32 => self.asm.tzcnt(B32, hd, hs),
                    O::CountTrailingZeroBits64 => self.asm.tzcnt(B64, hd, hs),
                    O::CountSetBits32 => self.asm.popcnt(B32, hd, hs),
                    O::CountSetBits64 => self.asm.popcnt(B64, hd, hs),
                    O::SignExtend8 => self.asm.movsx_rr(B64, Size::B8, hd, hs),
                    O::SignExtend16 => self.asm.movsx_rr(B64, Size::B16, hd, hs),
                    O::ZeroExtend16 => self.asm.movzx_rr(Size::B16, hd, hs),
                    O::ReverseByte => {
                        if hd != hs {
                            self.asm.mov_rr(B64, hd, hs);
                        }
                        self.asm.bswap(B64, hd);
                    }
                    _ => unreachable!("{opcode:?} is not a reg-reg op"),
                }
            }
            _ => unreachable!("{opcode:?} decoded with unexpected operands {args:?}"),
        }
    }
}

/// The right-hand side of a comparison ([`Compiler::set_if`]).
#[derive(Copy, Clone, PartialEq, Eq)]
enum Compared {
    Reg(H),
    Imm(i32),
}
