//! The contract between generated code and whatever runs it: where the guest registers
//! live on the host, the layout of the VM context, and the exit reasons.
//!
//! The context is `CONTEXT_SIZE` (the sandbox's) bytes of read-write memory
//! that ends exactly where guest address 0 begins, so generated code reaches it with a
//! negative displacement from whatever holds guest address 0 (the memory base register,
//! or the `gs` base) and needs no second pointer.
//! Offsets below are from the start of the context.

use super::x64::Reg as HostReg;
use crate::isa::Reg;

/// Bytes of context below guest address 0 (the sandbox's `CONTEXT_SIZE`).
pub const CONTEXT_BYTES: i32 = 0x4000;

// The first cache line holds everything one exit and one command touch in the common
// case: the Linux sandbox's signal words, the exit fields, and the registers host
// functions take their arguments from and return results in (a0..a4). Between processes on
// different cores every cache line that changes hands costs the better part of a
// microsecond on a virtual machine, so an `ecalli` round trip through a worker moves this
// one line each way and nothing else. The other registers fill the second line; what only
// the code itself uses (stack pointer, resume address, tables) comes after.

/// The Linux sandbox's signalling word (`u32`, a futex shared with the worker process;
/// see `sandbox::linux`). Generated code never touches it.
pub const CTX_SANDBOX_STATE: i32 = 0;
/// The Linux sandbox's command word (`u32`).
pub const CTX_SANDBOX_COMMAND: i32 = 4;
/// Why the code exited ([`ExitKind`] as `u32`).
pub const CTX_EXIT_KIND: i32 = 8;
/// The exit's argument, `u32`: the `ecalli` number, the `sbrk` operands
/// (`dst << 8 | src`), or the page of a page fault.
pub const CTX_EXIT_ARG: i32 = 12;
/// The guest pc the exit happened at, `u32`.
pub const CTX_PC: i32 = 16;
/// The guest pc execution continues at after an `ecalli`, `u32`.
pub const CTX_NEXT_PC: i32 = 20;
/// Registers a0..a4 (`u64` each), in the first cache line; see [`ctx_reg`].
pub const CTX_ARGUMENT_REGS: i32 = 24;
/// Register a5, then ra, sp, t0, t1, t2, s0, s1 (`u64` each): the second cache line.
pub const CTX_OTHER_REGS: i32 = 64;
/// The host stack pointer saved by the entry trampoline, `u64`.
pub const CTX_HOST_RSP: i32 = 128;
/// Native address to continue at on the next entry, `u64`.
pub const CTX_RESUME: i32 = CTX_HOST_RSP + 8;
/// Address of the module's native jump table (`u64` entries, 0 = invalid target), whose
/// first entry is an extra 0 (generated code indexes it by `address / 2`).
pub const CTX_JUMP_TABLE: i32 = CTX_RESUME + 8;
/// The host's `gs` segment base, saved by the entry trampoline and restored by the exit
/// path when the code addresses guest memory through `gs` (`u64`).
pub const CTX_HOST_GS: i32 = CTX_JUMP_TABLE + 8;
/// Bytes of the context's fixed fields.
pub const CTX_USED: i32 = CTX_HOST_GS + 8;

/// Where guest register number `index` (encoding order: ra, sp, t0, t1, t2, s0, s1, a0,
/// .., a5) lives in the context, `u64`.
pub const fn ctx_reg(index: usize) -> i32 {
    // Indexes are below 13, so the casts are exact.
    match index {
        7..=11 => CTX_ARGUMENT_REGS + 8 * (index as i32 - 7),
        12 => CTX_OTHER_REGS,
        _ => CTX_OTHER_REGS + 8 + 8 * index as i32,
    }
}

const _: () = {
    assert!(CTX_NEXT_PC + 4 == CTX_ARGUMENT_REGS && ctx_reg(11) + 8 == CTX_OTHER_REGS);
    assert!(ctx_reg(6) + 8 == CTX_HOST_RSP && ctx_reg(0) == CTX_OTHER_REGS + 8);
};
/// Where a small jump table lives inside the context (`u64` native addresses, 0 for an
/// invalid target): at a fixed offset from the memory base, one load finds an entry. The
/// word before it stays 0: generated code reads it for guest address 0.
pub const CTX_INLINE_JUMP_TABLE: i32 = 256;
/// Remaining gas, `i64`: the context's last word, so that without `segment_memory`
/// every block's gas check reaches it with an 8-bit displacement (`sub qword [r15 - 8],
/// imm32` is 8 bytes; a 32-bit displacement made it 11, on every block). With it, the
/// gas is in [`GAS_REG`] while the code runs.
pub const CTX_GAS: i32 = CONTEXT_BYTES - 8;
/// The memory-access surcharge per load or store, `i64` (the cost table's for the memory
/// accessible now; the host keeps it current): next to the gas, for the same short
/// displacement in the gas checks of cost tables that have one.
pub const CTX_ACCESS_COST: i32 = CTX_GAS - 8;
/// The most jump-table entries that fit in the context (up to the access cost); larger
/// tables stay outside it and are reached through [`CTX_JUMP_TABLE`].
pub const INLINE_JUMP_TABLE_ENTRIES: u32 = ((CTX_ACCESS_COST - CTX_INLINE_JUMP_TABLE) / 8) as u32;

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
    /// The `u32` the context holds for this kind.
    pub fn number(self) -> u32 {
        self as u32
    }

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

/// Without [`CompileOptions::segment_memory`](super::CompileOptions): holds the host
/// address of guest address 0 for the whole run, and every guest access and context field
/// is reached through it.
///
/// With it, the `gs` base holds that address instead, guest accesses and context fields
/// go through `gs`, and this register is [`GAS_REG`].
pub const MEMORY_BASE: HostReg = HostReg::R15;
/// With [`CompileOptions::segment_memory`](super::CompileOptions): the remaining gas
/// while the code runs. The entry loads it from [`CTX_GAS`] and the exit path (which a
/// fault handler's exits take too) stores it back, so the context's field is current
/// whenever the host looks. Every block's gas check is then `sub r15, cost` rather than a
/// read-modify-write of memory, which chained one block's check to the next through a
/// store-to-load forward (about 6 cycles a block in a tight loop).
pub const GAS_REG: HostReg = HostReg::R15;
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
