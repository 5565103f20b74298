//! The entry and exit trampolines: the only code that moves guest registers between the
//! host registers and the context, and switches between the host's and the guest's view
//! of the registers.

use super::Compiler;
use crate::jit::abi::{
    ctx_reg, CONTEXT_BYTES, CTX_HOST_GS, CTX_HOST_RSP, CTX_RESUME, GUEST_REGS, MEMORY_BASE, SCRATCH,
};
use crate::jit::x64::{Mem, Reg, Size};

/// Callee-saved registers of the System V ABI (besides `rsp`), pushed by the entry.
const CALLEE_SAVED: [Reg; 6] = [Reg::Rbx, Reg::Rbp, Reg::R12, Reg::R13, Reg::R14, Reg::R15];

impl Compiler<'_> {
    /// `extern "sysv64" fn(context: *mut u8)`: saves the host's callee-saved registers
    /// and stack pointer, points the memory base at the guest's address 0 (right after the
    /// context), loads the guest registers and jumps to the context's resume address.
    pub(super) fn entry_trampoline(&mut self) -> u32 {
        self.asm.align(16);
        let offset = self.asm.offset() as u32;
        for reg in CALLEE_SAVED {
            self.asm.push(reg);
        }
        self.asm
            .mov_mr(Size::B64, Mem::base_disp(Reg::Rdi, CTX_HOST_RSP), Reg::Rsp);
        self.asm.lea(
            Size::B64,
            MEMORY_BASE,
            Mem::base_disp(Reg::Rdi, CONTEXT_BYTES),
        );
        if self.options.segment_memory {
            // Guest accesses are `gs`-relative: save the host's base, point it at guest
            // address 0. The exit path (also the fault path) restores it.
            self.asm.rdgsbase(SCRATCH);
            self.asm.mov_mr(Size::B64, Self::ctx(CTX_HOST_GS), SCRATCH);
            self.asm.wrgsbase(MEMORY_BASE);
        }
        // Every load goes through the memory base, so overwriting `rdi` (a guest register)
        // on the way is harmless.
        for (index, reg) in GUEST_REGS.iter().enumerate() {
            self.asm.mov_rm(Size::B64, *reg, Self::ctx(ctx_reg(index)));
        }
        self.asm.jmp_mem(Self::ctx(CTX_RESUME));
        offset
    }

    /// Stores the guest registers and returns from the entry trampoline.
    pub(super) fn exit_trampoline(&mut self) {
        for (index, reg) in GUEST_REGS.iter().enumerate() {
            self.asm.mov_mr(Size::B64, Self::ctx(ctx_reg(index)), *reg);
        }
        if self.options.segment_memory {
            self.asm.mov_rm(Size::B64, SCRATCH, Self::ctx(CTX_HOST_GS));
            self.asm.wrgsbase(SCRATCH);
        }
        self.asm
            .mov_rm(Size::B64, Reg::Rsp, Self::ctx(CTX_HOST_RSP));
        for reg in CALLEE_SAVED.iter().rev() {
            self.asm.pop(*reg);
        }
        self.asm.ret();
    }
}
