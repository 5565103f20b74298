//! Loads, stores and `memset`: every access is `[memory base + zero-extended 32-bit guest
//! address]`, with no check; the MMU stops what the guest may not touch, and the fault
//! handler finds the guest pc through [`CompiledProgram::fault_sites`](super::CompiledProgram).
//!
//! The guest address is formed with 32-bit wrapping arithmetic, so whatever the guest
//! computes, the access lands inside its own reservation: the sandbox's invariant. With
//! `segment_memory` that is one instruction, `gs:[reg32 + offset]` (the `0x67` prefix wraps
//! the address, the `gs` base is the memory base); otherwise `lea ecx, [reg + offset]`
//! (which also zero-extends) and then `[r15 + rcx]`.

use super::{Compiler, LastAdd, Stub, Sum};
use crate::isa::{Args, Opcode, Reg};
use crate::jit::abi::{host, CTX_ACCESS_COST, CTX_GAS, GAS_REG, MEMORY_BASE, SCRATCH};
use crate::jit::x64::{AluOp, Cond, Mem, Reg as H, Scale, Size};

/// The low bits of an address within its page (`memset`'s surcharge is paid per page:
/// `CostTable::memset_pays_access`).
const PAGE_OFFSET_MASK: i32 = (crate::gas::PAGE_BYTES - 1) as i32;

/// How a load extends its value.
#[derive(Copy, Clone)]
enum Extend {
    Zero,
    Sign,
}

impl Compiler<'_> {
    /// Records that the `add_imm` just emitted wrote `dest = base + disp` (see [`Sum`]);
    /// nothing if `dest` is `base`, whose old value is then gone.
    #[inline(always)]
    pub(super) fn note_sum(&mut self, dest: H, base: H, disp: i32) {
        if dest != base {
            self.note_add(LastAdd::Sum(Sum { dest, base, disp }));
        }
    }

    /// The memory operand for guest address `base + offset` (or `offset` alone), computing
    /// the address into the scratch register when needed.
    #[inline(always)]
    fn guest_address(&mut self, base: Option<Reg>, mut offset: u32) -> Mem {
        // An `add_imm` emitted right before this access (no code between, so the same
        // block, and its operand untouched) that wrote the base: address its operand.
        let base = match (base, self.add_just_before()) {
            (Some(base), Some(LastAdd::Sum(sum))) if sum.dest == host(base) => {
                offset = offset.wrapping_add(sum.disp as u32);
                Some(sum.base)
            }
            (base, _) => base.map(host),
        };
        if self.options.segment_memory {
            // The `0x67` prefix makes `base + offset` wrap at 2^32, as the guest's
            // address arithmetic does, and `gs` adds the memory base.
            return match base {
                None => Mem::gs32_abs(offset),
                Some(base) => Mem::gs32(base, offset as i32),
            };
        }
        match base {
            // Below 2^31 the address fits a non-negative displacement.
            None if (offset as i32) >= 0 => Mem::base_disp(MEMORY_BASE, offset as i32),
            None => {
                self.asm.mov_ri(Size::B32, SCRATCH, i64::from(offset));
                Mem::indexed(MEMORY_BASE, SCRATCH, Scale::S1, 0)
            }
            Some(base) => {
                self.asm
                    .lea(Size::B32, SCRATCH, Mem::base_disp(base, offset as i32));
                Mem::indexed(MEMORY_BASE, SCRATCH, Scale::S1, 0)
            }
        }
    }

    /// Records that the next instruction accesses guest memory for the instruction at `pc`.
    #[inline(always)]
    fn fault_site(&mut self, pc: u32) {
        self.fault_sites.push((self.asm.offset() as u32, pc));
    }

    #[inline(always)]
    fn load(
        &mut self,
        size: Size,
        extend: Extend,
        d: Reg,
        base: Option<Reg>,
        offset: u32,
        pc: u32,
    ) {
        let mem = self.guest_address(base, offset);
        self.fault_site(pc);
        let d = host(d);
        match (size, extend) {
            (Size::B64, _) => self.asm.mov_rm(Size::B64, d, mem),
            (_, Extend::Zero) => self.asm.movzx_rm(size, d, mem),
            (_, Extend::Sign) => self.asm.movsx_rm(Size::B64, size, d, mem),
        }
    }

    #[inline(always)]
    fn store(&mut self, size: Size, src: Reg, base: Option<Reg>, offset: u32, pc: u32) {
        let mem = self.guest_address(base, offset);
        self.fault_site(pc);
        self.asm.mov_mr(size, mem, host(src));
    }

    #[inline(always)]
    fn store_imm(&mut self, size: Size, value: u32, base: Option<Reg>, offset: u32, pc: u32) {
        let mem = self.guest_address(base, offset);
        self.fault_site(pc);
        // A 64-bit store sign-extends the 32-bit immediate, as the interpreter does.
        self.asm.mov_mi(size, mem, value as i32);
    }

    /// Emits a load or store; `false` if `opcode` is neither.
    #[inline(always)]
    pub(super) fn memory_instruction(&mut self, opcode: Opcode, args: Args, pc: u32) -> bool {
        use self::Extend::{Sign, Zero};
        use Args as A;
        use Opcode as O;
        use Size::{B16, B32, B64, B8};
        match (opcode, args) {
            (O::LoadU8, A::RegImm(d, x)) => self.load(B8, Zero, d, None, x, pc),
            (O::LoadI8, A::RegImm(d, x)) => self.load(B8, Sign, d, None, x, pc),
            (O::LoadU16, A::RegImm(d, x)) => self.load(B16, Zero, d, None, x, pc),
            (O::LoadI16, A::RegImm(d, x)) => self.load(B16, Sign, d, None, x, pc),
            (O::LoadU32, A::RegImm(d, x)) => self.load(B32, Zero, d, None, x, pc),
            (O::LoadI32, A::RegImm(d, x)) => self.load(B32, Sign, d, None, x, pc),
            (O::LoadU64, A::RegImm(d, x)) => self.load(B64, Zero, d, None, x, pc),
            (O::StoreU8, A::RegImm(s, x)) => self.store(B8, s, None, x, pc),
            (O::StoreU16, A::RegImm(s, x)) => self.store(B16, s, None, x, pc),
            (O::StoreU32, A::RegImm(s, x)) => self.store(B32, s, None, x, pc),
            (O::StoreU64, A::RegImm(s, x)) => self.store(B64, s, None, x, pc),
            (O::StoreImmIndirectU8, A::RegImmImm(b, x, y)) => self.store_imm(B8, y, Some(b), x, pc),
            (O::StoreImmIndirectU16, A::RegImmImm(b, x, y)) => {
                self.store_imm(B16, y, Some(b), x, pc)
            }
            (O::StoreImmIndirectU32, A::RegImmImm(b, x, y)) => {
                self.store_imm(B32, y, Some(b), x, pc)
            }
            (O::StoreImmIndirectU64, A::RegImmImm(b, x, y)) => {
                self.store_imm(B64, y, Some(b), x, pc)
            }
            (O::StoreImmU8, A::ImmImm(x, y)) => self.store_imm(B8, y, None, x, pc),
            (O::StoreImmU16, A::ImmImm(x, y)) => self.store_imm(B16, y, None, x, pc),
            (O::StoreImmU32, A::ImmImm(x, y)) => self.store_imm(B32, y, None, x, pc),
            (O::StoreImmU64, A::ImmImm(x, y)) => self.store_imm(B64, y, None, x, pc),
            (O::StoreIndirectU8, A::RegRegImm(s, b, x)) => self.store(B8, s, Some(b), x, pc),
            (O::StoreIndirectU16, A::RegRegImm(s, b, x)) => self.store(B16, s, Some(b), x, pc),
            (O::StoreIndirectU32, A::RegRegImm(s, b, x)) => self.store(B32, s, Some(b), x, pc),
            (O::StoreIndirectU64, A::RegRegImm(s, b, x)) => self.store(B64, s, Some(b), x, pc),
            (O::LoadIndirectU8, A::RegRegImm(d, b, x)) => self.load(B8, Zero, d, Some(b), x, pc),
            (O::LoadIndirectI8, A::RegRegImm(d, b, x)) => self.load(B8, Sign, d, Some(b), x, pc),
            (O::LoadIndirectU16, A::RegRegImm(d, b, x)) => self.load(B16, Zero, d, Some(b), x, pc),
            (O::LoadIndirectI16, A::RegRegImm(d, b, x)) => self.load(B16, Sign, d, Some(b), x, pc),
            (O::LoadIndirectU32, A::RegRegImm(d, b, x)) => self.load(B32, Zero, d, Some(b), x, pc),
            (O::LoadIndirectI32, A::RegRegImm(d, b, x)) => self.load(B32, Sign, d, Some(b), x, pc),
            (O::LoadIndirectU64, A::RegRegImm(d, b, x)) => self.load(B64, Zero, d, Some(b), x, pc),
            _ => return false,
        }
        true
    }

    /// `memset`: writes `a1`'s low byte to `a2` (as `u32`) bytes from `a0` (as `u32`),
    /// one byte at a time, charging the table's gas per byte and leaving with
    /// `NotEnoughGas` when the counter is below it with bytes left; resuming runs the
    /// memset again with the registers as they are then. A fault stops it with `a0` at the
    /// faulting byte and `a2` the bytes left, as in the interpreter. Under a table whose
    /// `memset` pays the memory-access surcharge, the first byte and every byte at the
    /// start of a page cost that too (`rcx` holds the next byte's cost).
    pub(super) fn memset(&mut self, pc: u32) {
        let (dst, value, count) = (host(Reg::A0), host(Reg::A1), host(Reg::A2));
        let costs = &self.options.costs;
        let surcharged =
            self.options.gas_metering && costs.memset_pays_access && costs.has_access_costs();
        let start = self.asm.bound_label();
        // The interpreter works on the 32-bit values and writes them back zero-extended.
        self.asm.mov_rr(Size::B32, dst, dst);
        self.asm.mov_rr(Size::B32, count, count);
        if surcharged {
            self.asm
                .mov_rm(Size::B64, SCRATCH, self.ctx(CTX_ACCESS_COST));
            self.asm
                .alu_ri(AluOp::Add, Size::B64, SCRATCH, self.memset_byte_cost());
        }
        let head = self.asm.bound_label();
        let done = self.asm.label();
        self.asm.test_rr(Size::B64, count, count);
        self.asm.jcc(Cond::E, done);
        if self.options.gas_metering {
            let out_of_gas = self.asm.label();
            self.buffers.stubs.push(Stub::MemsetOutOfGas {
                entry: out_of_gas,
                resume: start,
                pc,
            });
            match (surcharged, self.gas_in_register()) {
                (true, true) => self.asm.alu_rr(AluOp::Cmp, Size::B64, GAS_REG, SCRATCH),
                (true, false) => self
                    .asm
                    .alu_mr(AluOp::Cmp, Size::B64, self.ctx(CTX_GAS), SCRATCH),
                (false, true) => self.asm.cmp_ri(Size::B64, GAS_REG, self.memset_byte_cost()),
                (false, false) => {
                    self.asm
                        .cmp_mi(Size::B64, self.ctx(CTX_GAS), self.memset_byte_cost())
                }
            }
            self.asm.jcc(Cond::L, out_of_gas);
        }
        self.fault_site(pc);
        // `dst` holds a zero-extended 32-bit address.
        let byte = if self.options.segment_memory {
            Mem::gs32(dst, 0)
        } else {
            Mem::indexed(MEMORY_BASE, dst, Scale::S1, 0)
        };
        self.asm.mov_mr(Size::B8, byte, value);
        if self.options.gas_metering {
            match (surcharged, self.gas_in_register()) {
                (true, true) => self.asm.alu_rr(AluOp::Sub, Size::B64, GAS_REG, SCRATCH),
                (true, false) => self
                    .asm
                    .alu_mr(AluOp::Sub, Size::B64, self.ctx(CTX_GAS), SCRATCH),
                (false, true) => self.asm.sub_ri(Size::B64, GAS_REG, self.memset_byte_cost()),
                (false, false) => {
                    self.asm
                        .sub_mi(Size::B64, self.ctx(CTX_GAS), self.memset_byte_cost())
                }
            }
        }
        self.asm.add_ri(Size::B32, dst, 1);
        self.asm.sub_ri(Size::B64, count, 1);
        if surcharged {
            // The next byte pays the surcharge again if it starts a page.
            self.asm
                .mov_ri(Size::B32, SCRATCH, i64::from(self.memset_byte_cost()));
            self.asm.test_ri(Size::B32, dst, PAGE_OFFSET_MASK);
            self.asm.jcc(Cond::Ne, head);
            self.asm
                .alu_rm(AluOp::Add, Size::B64, SCRATCH, self.ctx(CTX_ACCESS_COST));
        }
        self.asm.jmp(head);
        self.asm.bind(done);
    }

    /// The gas per `memset` byte, as an immediate (every table keeps it below 2^31: a
    /// test checks).
    fn memset_byte_cost(&self) -> i32 {
        i32::try_from(self.options.costs.memset_byte).unwrap_or(i32::MAX)
    }
}
