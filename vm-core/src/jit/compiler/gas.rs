//! Gas: the stub at the start of every basic block, and the out-of-line paths that leave
//! when a block does not fit.
//!
//! A block's stub subtracts the block's cost from the counter in the context and leaves
//! when the result is negative in true signed arithmetic (`jl` reads the overflow flag
//! too, so it is exactly the interpreter's `gas < cost`). The exit names the block by its
//! number; the host adds the cost back, so gas is unchanged, and resumes at the block's
//! stub: the block is charged again when the host has added gas.

use super::control::ROTATED_RETURN_TO_HOST;
use super::{Compiler, Stub};
use crate::jit::abi::{
    ExitKind, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_GAS, CTX_PC, CTX_RESUME, SCRATCH,
};
use crate::jit::x64::{AluOp, Cond, Size};

impl Compiler<'_> {
    /// The gas check at the start of the next block, whose cost is known.
    pub(super) fn gas_stub(&mut self, cost: u32) {
        self.sub_gas(cost);
        self.jump_if_out_of_gas();
    }

    /// The gas check at the start of the next block, whose cost is not known yet:
    /// returns the code offset of the check's 32-bit immediate, for the block's end to
    /// write its cost into.
    pub(super) fn patchable_gas_stub(&mut self) -> usize {
        self.asm
            .alu_mi_imm32(AluOp::Sub, Size::B64, Self::ctx(CTX_GAS), 0);
        let at = self.asm.offset() - 4;
        self.jump_if_out_of_gas();
        at
    }

    /// `jl` to the next block's out-of-gas exit. The exits are emitted at the end, one per
    /// block in block order, and each jump is patched then (no label or fixup per block).
    fn jump_if_out_of_gas(&mut self) {
        let at = self.asm.jcc_rel32_unresolved(Cond::L);
        self.buffers.gas_exits.push(at as u32);
    }

    fn sub_gas(&mut self, cost: u32) {
        match i32::try_from(cost) {
            Ok(cost) => self.asm.sub_mi(Size::B64, Self::ctx(CTX_GAS), cost),
            Err(_) => {
                self.asm.mov_ri(Size::B64, SCRATCH, i64::from(cost));
                self.asm.sub_mr(Size::B64, Self::ctx(CTX_GAS), SCRATCH);
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
                    self.asm.mov_mi(Size::B32, Self::ctx(CTX_PC), pc as i32);
                    self.asm.lea_label(SCRATCH, resume);
                    self.asm.jmp(self.exits.out_of_gas);
                }
                Stub::Trap { entry, pc } => {
                    self.asm.bind(entry);
                    self.asm.mov_mi(Size::B32, Self::ctx(CTX_PC), pc as i32);
                    self.asm.jmp(self.exits.trap);
                }
                Stub::Finished { entry, pc } => {
                    self.asm.bind(entry);
                    self.asm.mov_mi(Size::B32, Self::ctx(CTX_PC), pc as i32);
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
        self.asm.mov_mr(Size::B32, Self::ctx(CTX_EXIT_ARG), SCRATCH);
        self.asm.mov_mi(
            Size::B32,
            Self::ctx(CTX_EXIT_KIND),
            ExitKind::BlockOutOfGas as i32,
        );
        self.asm.jmp(save);
        self.asm.bind(trap);
        self.asm
            .mov_mi(Size::B32, Self::ctx(CTX_EXIT_KIND), ExitKind::Trap as i32);
        self.asm.jmp(save);
        self.asm.bind(finished);
        self.asm.mov_mi(
            Size::B32,
            Self::ctx(CTX_EXIT_KIND),
            ExitKind::Finished as i32,
        );
        self.asm.jmp(save);
        self.asm.bind(out_of_gas);
        self.asm.mov_mr(Size::B64, Self::ctx(CTX_RESUME), SCRATCH);
        self.asm.mov_mi(
            Size::B32,
            Self::ctx(CTX_EXIT_KIND),
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
