//! Gas: the stub at the start of every basic block, and the out-of-line paths that leave
//! when a block does not fit.
//!
//! A block's stub subtracts the block's cost from the counter (in [`GAS_REG`] with
//! `segment_memory`, else in the context) and leaves when the result is negative in true
//! signed arithmetic (`jl` reads the overflow flag too, so it is exactly the
//! interpreter's `gas < cost`). The exit names the block by its number; the host adds the
//! cost back, so gas is unchanged, and resumes at the block's stub: the block is charged
//! again when the host has added gas.

use super::control::ROTATED_RETURN_TO_HOST;
use super::{Compiler, Stub};
use crate::jit::abi::{
    ctx_disp, ExitKind, CTX_ACCESS_COST, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_GAS, CTX_PC, CTX_RESUME,
    GAS_REG, MEMORY_BASE, SCRATCH,
};
use crate::jit::x64::{AluOp, Cond, Reg as HostReg, Size};

// The surcharged stubs below are written as bytes: `rcx` is the scratch register, and
// without `segment_memory` `r15` is the memory base with both context fields within an
// 8-bit displacement of it; with it, `r15` holds the gas.
const _: () = {
    assert!(matches!(SCRATCH, HostReg::Rcx) && matches!(MEMORY_BASE, HostReg::R15));
    assert!(matches!(GAS_REG, HostReg::R15));
    assert!(ctx_disp(CTX_GAS) >= -128 && ctx_disp(CTX_ACCESS_COST) >= -128);
};
/// `ctx_disp(CTX_ACCESS_COST)` as a disp32.
const ACCESS_COST_DISP32: [u8; 4] = ctx_disp(CTX_ACCESS_COST).to_le_bytes();
/// `add rcx, imm32`, the immediate to patch last.
const ADD_RCX: [u8; 3] = [0x48, 0x81, 0xC1];
/// `mov ecx, imm32` (zero-extends into `rcx`).
const MOV_ECX: u8 = 0xB9;
/// A 10-byte no-op: padding where a block without loads and stores needs no multiply.
const NOP10: [u8; 10] = [0x66, 0x2E, 0x0F, 0x1F, 0x84, 0, 0, 0, 0, 0];
/// The same padding, 15 bytes long: a 10-byte and a 5-byte no-op.
const NOP15: [u8; 15] = [
    0x66, 0x2E, 0x0F, 0x1F, 0x84, 0, 0, 0, 0, 0, 0x0F, 0x1F, 0x44, 0, 0,
];

/// The bytes of a surcharged gas check (`imul rcx, [access cost], accesses; add rcx,
/// cost; sub gas, rcx`) for one place of the gas counter.
struct SurchargedCheck {
    /// `imul rcx, qword [access cost], imm32` without its immediate.
    imul: &'static [u8],
    /// `sub gas, rcx`.
    sub: &'static [u8],
    /// What follows `mov ecx, cost` in place of the `imul` and `add` when a block has no
    /// loads or stores.
    padding: &'static [u8],
}

impl SurchargedCheck {
    /// Bytes of the `imul` and `add` with their immediates, which `mov ecx, cost` and
    /// the padding replace.
    const fn surcharge_bytes(&self) -> usize {
        self.imul.len() + 4 + ADD_RCX.len() + 4
    }
}

/// The gas in the context, reached through the memory base `r15`.
const GAS_IN_CONTEXT: SurchargedCheck = SurchargedCheck {
    // `imul rcx, [r15 + disp8], imm32`.
    imul: &[0x49, 0x69, 0x4F, ctx_disp(CTX_ACCESS_COST) as u8],
    // `sub qword [r15 + disp8], rcx`.
    sub: &[0x49, 0x29, 0x4F, ctx_disp(CTX_GAS) as u8],
    padding: &NOP10,
};

/// The gas in `r15`, the access cost in the context below the `gs` base.
const GAS_IN_REGISTER: SurchargedCheck = SurchargedCheck {
    // `imul rcx, gs:[disp32], imm32`.
    imul: &[
        0x65,
        0x48,
        0x69,
        0x0C,
        0x25,
        ACCESS_COST_DISP32[0],
        ACCESS_COST_DISP32[1],
        ACCESS_COST_DISP32[2],
        ACCESS_COST_DISP32[3],
    ],
    // `sub r15, rcx`.
    sub: &[0x49, 0x29, 0xCF],
    padding: &NOP15,
};

const _: () = {
    assert!(GAS_IN_CONTEXT.surcharge_bytes() == 1 + 4 + GAS_IN_CONTEXT.padding.len());
    assert!(GAS_IN_REGISTER.surcharge_bytes() == 1 + 4 + GAS_IN_REGISTER.padding.len());
};

/// Where a block's gas check takes its cost, to patch when the block ends.
#[derive(Copy, Clone, Debug)]
pub(super) enum CostSlot {
    /// The 32-bit immediate of `sub qword [gas], imm32` at this offset.
    Plain(usize),
    /// A surcharged check starting at this offset: `imul` by the loads and stores, `add`
    /// the static cost, `sub` from the gas.
    Surcharged(usize),
}

impl Compiler<'_> {
    /// The surcharged check's bytes for where this code keeps the gas.
    #[inline(always)]
    fn surcharged_check(&self) -> &'static SurchargedCheck {
        if self.gas_in_register() {
            &GAS_IN_REGISTER
        } else {
            &GAS_IN_CONTEXT
        }
    }

    /// The gas check at the start of the next block, whose cost (and number of loads and
    /// stores, for tables with a memory-access surcharge) is known.
    pub(super) fn gas_stub(&mut self, cost: u32, accesses: u32) {
        if self.options.costs.has_access_costs() && accesses > 0 {
            let check = self.surcharged_check();
            self.asm.bytes(check.imul);
            self.asm.bytes(&accesses.to_le_bytes());
            if let Ok(cost) = i32::try_from(cost) {
                self.asm.bytes(&ADD_RCX);
                self.asm.bytes(&cost.to_le_bytes());
                self.asm.bytes(check.sub);
                self.jump_if_out_of_gas();
                return;
            }
            // A block costing more than 2^31 on its own (only with enormous tables): two
            // subtractions, exact unless the gas is within the surcharge of `i64::MIN`.
            self.asm.bytes(check.sub);
        }
        self.sub_gas(cost);
        self.jump_if_out_of_gas();
    }

    /// The gas check at the start of the next block, for a table with a memory-access
    /// surcharge, whose cost and accesses are not known yet: `imul rcx, [access cost],
    /// accesses; add rcx, cost; sub gas, rcx; jl`. [`patch_cost`](Self::patch_cost)
    /// fills it in.
    pub(super) fn surcharged_gas_stub(&mut self) -> CostSlot {
        let at = self.asm.offset();
        let check = self.surcharged_check();
        self.asm.bytes(check.imul);
        self.asm.bytes(&[0; 4]);
        self.asm.bytes(&ADD_RCX);
        self.asm.bytes(&[0; 4]);
        self.asm.bytes(check.sub);
        self.jump_if_out_of_gas();
        CostSlot::Surcharged(at)
    }

    /// Writes a closed block's cost (and accesses) into its gas check.
    pub(super) fn patch_cost(&mut self, slot: CostSlot, cost: u32, accesses: u32) {
        match slot {
            CostSlot::Plain(at) => self.asm.patch_u32(at, cost),
            CostSlot::Surcharged(at) if accesses == 0 => {
                // No loads or stores: `mov ecx, cost` and padding instead of the multiply.
                self.asm.patch_u8(at, MOV_ECX);
                self.asm.patch_u32(at + 1, cost);
                for (i, &byte) in self.surcharged_check().padding.iter().enumerate() {
                    self.asm.patch_u8(at + 5 + i, byte);
                }
            }
            CostSlot::Surcharged(at) => {
                let imul = self.surcharged_check().imul.len();
                self.asm.patch_u32(at + imul, accesses);
                self.asm.patch_u32(at + imul + 4 + ADD_RCX.len(), cost);
            }
        }
    }

    /// The gas check at the start of the next block, whose cost is not known yet:
    /// returns the code offset of the check's 32-bit immediate, for the block's end to
    /// write its cost into.
    pub(super) fn patchable_gas_stub(&mut self) -> CostSlot {
        if self.options.costs.has_access_costs() {
            return self.surcharged_gas_stub();
        }
        if self.gas_in_register() {
            self.asm.alu_ri_imm32(AluOp::Sub, Size::B64, GAS_REG, 0);
        } else {
            let gas = self.ctx(CTX_GAS);
            self.asm.alu_mi_imm32(AluOp::Sub, Size::B64, gas, 0);
        }
        let at = self.asm.offset() - 4;
        self.jump_if_out_of_gas();
        CostSlot::Plain(at)
    }

    /// `jl` to the next block's out-of-gas exit. The exits are emitted at the end, one per
    /// block in block order, and each jump is patched then (no label or fixup per block).
    fn jump_if_out_of_gas(&mut self) {
        let at = self.asm.jcc_rel32_unresolved(Cond::L);
        self.buffers.gas_exits.push(at as u32);
    }

    fn sub_gas(&mut self, cost: u32) {
        let gas = self.ctx(CTX_GAS);
        match (i32::try_from(cost), self.gas_in_register()) {
            (Ok(cost), true) => self.asm.sub_ri(Size::B64, GAS_REG, cost),
            (Ok(cost), false) => self.asm.sub_mi(Size::B64, gas, cost),
            (Err(_), in_register) => {
                self.asm.mov_ri(Size::B64, SCRATCH, i64::from(cost));
                if in_register {
                    self.asm.sub_rr(Size::B64, GAS_REG, SCRATCH);
                } else {
                    self.asm.sub_mr(Size::B64, gas, SCRATCH);
                }
            }
        }
    }

    /// Emits every out-of-line stub, then the shared exit paths, then each block's
    /// out-of-gas exit (after the shared path it jumps to, so that jump needs no fixup).
    pub(super) fn emit_stubs(&mut self) {
        let stubs = core::mem::take(&mut self.buffers.stubs);
        for &stub in &stubs {
            match stub {
                Stub::MemsetOutOfGas { entry, resume, pc } => {
                    self.asm.bind(entry);
                    self.asm.mov_mi(Size::B32, self.ctx(CTX_PC), pc as i32);
                    self.asm.lea_label(SCRATCH, resume);
                    self.asm.jmp(self.exits.out_of_gas);
                }
                Stub::Trap { entry, pc } => {
                    self.asm.bind(entry);
                    self.asm.mov_mi(Size::B32, self.ctx(CTX_PC), pc as i32);
                    self.asm.jmp(self.exits.trap);
                }
                Stub::Finished { entry, pc } => {
                    self.asm.bind(entry);
                    self.asm.mov_mi(Size::B32, self.ctx(CTX_PC), pc as i32);
                    self.asm.jmp(self.exits.finished);
                }
                Stub::JumpTableMiss {
                    entry,
                    finished,
                    trap,
                } => {
                    self.asm.bind(entry);
                    self.asm
                        .cmp_ri(Size::B32, SCRATCH, ROTATED_RETURN_TO_HOST as i32);
                    self.asm.jcc(Cond::E, finished);
                    self.asm.jmp(trap);
                }
            }
        }

        self.buffers.stubs = stubs;
        let exits = &self.exits;
        let (trap, finished, out_of_gas, block_out_of_gas, save) = (
            exits.trap,
            exits.finished,
            exits.out_of_gas,
            exits.block_out_of_gas,
            exits.save_and_exit,
        );
        self.asm.bind(block_out_of_gas);
        self.asm.mov_mr(Size::B32, self.ctx(CTX_EXIT_ARG), SCRATCH);
        self.asm.mov_mi(
            Size::B32,
            self.ctx(CTX_EXIT_KIND),
            ExitKind::BlockOutOfGas as i32,
        );
        self.asm.jmp(save);
        self.asm.bind(trap);
        self.asm
            .mov_mi(Size::B32, self.ctx(CTX_EXIT_KIND), ExitKind::Trap as i32);
        self.asm.jmp(save);
        self.asm.bind(finished);
        self.asm.mov_mi(
            Size::B32,
            self.ctx(CTX_EXIT_KIND),
            ExitKind::Finished as i32,
        );
        self.asm.jmp(save);
        self.asm.bind(out_of_gas);
        self.asm.mov_mr(Size::B64, self.ctx(CTX_RESUME), SCRATCH);
        self.asm.mov_mi(
            Size::B32,
            self.ctx(CTX_EXIT_KIND),
            ExitKind::NotEnoughGas as i32,
        );
        self.asm.jmp(save);
        self.asm.bind(save);
        self.exit_trampoline();

        // Block `n`'s exit: `n` in the scratch register, then the shared path.
        let gas_exits = core::mem::take(&mut self.buffers.gas_exits);
        for (block, &at) in gas_exits.iter().enumerate() {
            let exit = self.asm.offset() as u32;
            self.asm.patch_u32(at as usize, exit.wrapping_sub(at + 4));
            self.asm.mov_ri(Size::B32, SCRATCH, block as i64);
            self.asm.jmp(block_out_of_gas);
        }
        self.buffers.gas_exits = gas_exits;
    }
}
