//! The entry and exit trampolines: the only code that moves guest registers between the
//! host registers and the context, and switches between the host's and the guest's view
//! of the registers.

use super::Compiler;
use crate::jit::abi::{
    ctx_reg, CONTEXT_BYTES, CTX_GAS, CTX_HOST_GS, CTX_HOST_RSP, CTX_RESUME, GAS_REG, GUEST_REGS,
    MEMORY_BASE, SCRATCH,
};
use crate::jit::x64::{Mem, Reg, Size};

/// Callee-saved registers of the System V ABI (besides `rsp`), pushed by the entry.
const CALLEE_SAVED: [Reg; 6] = [Reg::Rbx, Reg::Rbp, Reg::R12, Reg::R13, Reg::R14, Reg::R15];

impl Compiler<'_> {
    /// `extern "sysv64" fn(context: *mut u8)`: saves the host's callee-saved registers
    /// and stack pointer, points the memory base (register, or `gs` base) at the guest's
    /// address 0 (right after the context), loads the guest registers (and the gas, when
    /// it lives in a register) and jumps to the context's resume address.
    pub(super) fn entry_trampoline(&mut self) -> u32 {
        self.asm.align(16);
        let offset = self.asm.offset() as u32;
        for reg in CALLEE_SAVED {
            self.asm.push(reg);
        }
        self.asm
            .mov_mr(Size::B64, Mem::base_disp(Reg::Rdi, CTX_HOST_RSP), Reg::Rsp);
        if self.options.segment_memory {
            // Guest accesses and the context are `gs`-relative: save the host's base,
            // point it at guest address 0. The exit path (also the fault path) restores
            // it.
            self.asm.rdgsbase(SCRATCH);
            self.asm
                .mov_mr(Size::B64, Mem::base_disp(Reg::Rdi, CTX_HOST_GS), SCRATCH);
            self.asm
                .lea(Size::B64, SCRATCH, Mem::base_disp(Reg::Rdi, CONTEXT_BYTES));
            self.asm.wrgsbase(SCRATCH);
            self.asm.mov_rm(Size::B64, GAS_REG, self.ctx(CTX_GAS));
        } else {
            self.asm.lea(
                Size::B64,
                MEMORY_BASE,
                Mem::base_disp(Reg::Rdi, CONTEXT_BYTES),
            );
        }
        // Every load goes through the memory base or `gs`, so overwriting `rdi` (a guest
        // register) on the way is harmless.
        for (index, reg) in GUEST_REGS.iter().enumerate() {
            self.asm.mov_rm(Size::B64, *reg, self.ctx(ctx_reg(index)));
        }
        self.asm.jmp_mem(self.ctx(CTX_RESUME));
        offset
    }

    /// Stores the guest registers (and the gas, when it lives in a register) and returns
    /// from the entry trampoline.
    pub(super) fn exit_trampoline(&mut self) {
        for (index, reg) in GUEST_REGS.iter().enumerate() {
            self.asm.mov_mr(Size::B64, self.ctx(ctx_reg(index)), *reg);
        }
        // The stack pointer is read before the `gs` base goes back to the host's: with
        // `segment_memory` it is how the context is reached.
        self.asm.mov_rm(Size::B64, Reg::Rsp, self.ctx(CTX_HOST_RSP));
        if self.options.segment_memory {
            self.asm.mov_mr(Size::B64, self.ctx(CTX_GAS), GAS_REG);
            self.asm.mov_rm(Size::B64, SCRATCH, self.ctx(CTX_HOST_GS));
            self.asm.wrgsbase(SCRATCH);
        }
        for reg in CALLEE_SAVED.iter().rev() {
            self.asm.pop(*reg);
        }
        self.asm.ret();
    }
}
