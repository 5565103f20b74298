//! The contract between generated code and whatever runs it: where the guest registers
//! live on the host, the layout of the VM context, and the exit reasons.
//!
//! The context is `CONTEXT_SIZE` (the sandbox's) bytes of read-write memory
//! that ends exactly where guest address 0 begins, so generated code reaches it from the
//! memory base register with a small negative displacement and needs no second pointer.
//! Offsets below are from the start of the context.

use super::x64::Reg as HostReg;
use crate::isa::Reg;

/// Bytes of context below guest address 0 (the sandbox's `CONTEXT_SIZE`).
pub const CONTEXT_BYTES: i32 = 0x4000;

/// The 13 guest registers, `u64` each, in encoding order.
pub const CTX_REGS: i32 = 0;
/// The host stack pointer saved by the entry trampoline, `u64`.
pub const CTX_HOST_RSP: i32 = 13 * 8;
/// Native address to continue at on the next entry, `u64`.
pub const CTX_RESUME: i32 = CTX_HOST_RSP + 8;
/// Address of the module's native jump table (`u64` entries, 0 = invalid target), whose
/// first entry is an extra 0 (generated code indexes it by `address / 2`).
pub const CTX_JUMP_TABLE: i32 = CTX_RESUME + 8;
/// Why the code exited ([`ExitKind`] as `u32`).
pub const CTX_EXIT_KIND: i32 = CTX_JUMP_TABLE + 8;
/// The exit's argument, `u32`: the `ecalli` number, the `sbrk` operands
/// (`dst << 8 | src`), or the page of a page fault.
pub const CTX_EXIT_ARG: i32 = CTX_EXIT_KIND + 4;
/// The guest pc the exit happened at, `u32`.
pub const CTX_PC: i32 = CTX_EXIT_ARG + 4;
/// The guest pc execution continues at after an `ecalli`, `u32`.
pub const CTX_NEXT_PC: i32 = CTX_PC + 4;
/// The host's `gs` segment base, saved by the entry trampoline and restored by the exit
/// path when the code addresses guest memory through `gs` (`u64`).
pub const CTX_HOST_GS: i32 = CTX_NEXT_PC + 4;
/// Bytes of the context's fixed fields.
pub const CTX_USED: i32 = CTX_HOST_GS + 8;
/// Where a small jump table lives inside the context (`u64` native addresses, 0 for an
/// invalid target): at a fixed offset from the memory base, one load finds an entry. The
/// word before it stays 0: generated code reads it for guest address 0.
pub const CTX_INLINE_JUMP_TABLE: i32 = 256;
/// Remaining gas, `i64`: the context's last word, so that every block's gas check
/// reaches it with an 8-bit displacement (`sub qword [r15 - 8], imm32` is 8 bytes; a
/// 32-bit displacement made it 11, on every block).
pub const CTX_GAS: i32 = CONTEXT_BYTES - 8;
/// The most jump-table entries that fit in the context (up to the gas counter); larger
/// tables stay outside it and are reached through [`CTX_JUMP_TABLE`].
pub const INLINE_JUMP_TABLE_ENTRIES: u32 = ((CTX_GAS - CTX_INLINE_JUMP_TABLE) / 8) as u32;

const _: () = assert!(CTX_USED <= CTX_INLINE_JUMP_TABLE - 8);

/// A context field as a displacement from the memory base register.
#[inline]
pub const fn ctx_disp(field: i32) -> i32 {
    field - CONTEXT_BYTES
}

/// Why generated code returned to the host.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum ExitKind {
    /// A dynamic jump to the return-to-host address.
    Finished = 1,
    /// A trap at `CTX_PC`.
    Trap = 2,
    /// `ecalli CTX_EXIT_ARG` at `CTX_PC`; resume continues after it.
    Ecalli = 3,
    /// The block at `CTX_PC` (or the rest of a `memset` there) does not fit in the gas.
    NotEnoughGas = 4,
    /// `sbrk`: the host grows the heap, writes the destination register and resumes.
    Sbrk = 5,
    /// A page fault at `CTX_PC` on the page `CTX_EXIT_ARG` (written by the fault handler).
    PageFault = 6,
    /// Block number `CTX_EXIT_ARG` does not fit in the gas; its cost has been subtracted
    /// and the host gives it back (then reports `NotEnoughGas` at the block).
    BlockOutOfGas = 7,
}

impl ExitKind {
    /// Decodes the `u32` the context holds.
    pub fn from_u32(value: u32) -> Option<ExitKind> {
        Some(match value {
            1 => ExitKind::Finished,
            2 => ExitKind::Trap,
            3 => ExitKind::Ecalli,
            4 => ExitKind::NotEnoughGas,
            5 => ExitKind::Sbrk,
            6 => ExitKind::PageFault,
            7 => ExitKind::BlockOutOfGas,
            _ => return None,
        })
    }
}

/// Holds the host address of guest address 0 for the whole run; never written by
/// generated code, so a fault handler can trust it to find the context. With
/// [`CompileOptions::segment_memory`](super::CompileOptions) the `gs` base holds the same
/// address and guest accesses go through `gs`; the context is still reached through this.
pub const MEMORY_BASE: HostReg = HostReg::R15;
/// The one scratch register: shift counts (`cl`), addresses, temporaries.
pub const SCRATCH: HostReg = HostReg::Rcx;

/// The host register of each guest register, in guest encoding order. `rax` and `rdx`
/// hold guest registers too; division and the upper half of multiplication save them.
pub const GUEST_REGS: [HostReg; 13] = [
    HostReg::Rax, // ra
    HostReg::Rdx, // sp
    HostReg::Rbx, // t0
    HostReg::Rbp, // t1
    HostReg::Rsi, // t2
    HostReg::Rdi, // s0
    HostReg::R8,  // s1
    HostReg::R9,  // a0
    HostReg::R10, // a1
    HostReg::R11, // a2
    HostReg::R12, // a3
    HostReg::R13, // a4
    HostReg::R14, // a5
];

/// The host register holding `reg`.
#[inline]
pub const fn host(reg: Reg) -> HostReg {
    GUEST_REGS[reg.index()]
}
