//! The worker's seccomp-BPF filter: the system calls its loop needs, with the arguments it
//! passes, and nothing else. Anything else kills the whole worker process
//! (`SECCOMP_RET_KILL_PROCESS`), so a guest that takes over the worker gains no system
//! call it could not have made through the loop anyway. Compiled into both the worker
//! (which installs it) and the host (whose tests run it through a BPF interpreter).
//!
//! | system call | arguments allowed | why the worker needs it |
//! |---|---|---|
//! | `futex` | `FUTEX_WAIT`, `FUTEX_WAKE` (shared, not private: the word is in memory shared with the host) | sleep when idle for a while, wake the host when it sleeps |
//! | `mprotect` | protection `PROT_NONE`, `PROT_READ` or `PROT_READ \| PROT_WRITE`: never `PROT_EXEC` | apply the guest's page protections (a new layout, `sbrk`) |
//! | `rt_sigreturn` | any | return from the fault handler into the exit path |
//! | `exit_group` | any | leave after a fatal error with a status the host reports |
//!
//! Not allowed, among everything else: `mmap` (no new mappings, so no new executable
//! memory), `munmap`, `open*`, `socket`, `clone*`/`fork`, `execve*`, `kill`/`tgkill`,
//! `ptrace`, `setrlimit`/`prlimit64`, `setns`/`unshare`, `read`/`write`. Calls through the
//! x32 ABI (`__X32_SYSCALL_BIT`) and from other architectures (`int 0x80` gives
//! `AUDIT_ARCH_I386`) are killed too. The code file cannot be made writable with the
//! allowed `mprotect`: it is mapped from a memory file sealed with `F_SEAL_FUTURE_WRITE`,
//! so the kernel refuses (`EACCES`).

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct SockFilter {
    /// Operation.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

/// `BPF_LD | BPF_W | BPF_ABS`: load the 32-bit word at offset `k` of `seccomp_data`.
pub const BPF_LOAD_WORD: u16 = 0x20;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
pub const BPF_JUMP_EQUAL: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`.
pub const BPF_JUMP_GREATER_EQUAL: u16 = 0x35;
/// `BPF_RET | BPF_K`.
pub const BPF_RETURN: u16 = 0x06;

/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_ALLOW`.
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// `__X32_SYSCALL_BIT`: system call numbers at or above it are the x32 ABI.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `mprotect`'s number on x86-64.
pub const SYS_MPROTECT: u32 = 10;
/// `rt_sigreturn`'s number on x86-64.
pub const SYS_RT_SIGRETURN: u32 = 15;
/// `futex`'s number on x86-64.
pub const SYS_FUTEX: u32 = 202;
/// `exit_group`'s number on x86-64.
pub const SYS_EXIT_GROUP: u32 = 231;
/// `FUTEX_WAIT` (without `FUTEX_PRIVATE_FLAG`).
pub const FUTEX_WAIT: u32 = 0;
/// `FUTEX_WAKE` (without `FUTEX_PRIVATE_FLAG`).
pub const FUTEX_WAKE: u32 = 1;

/// Offsets in `struct seccomp_data`: `nr` (u32), `arch` (u32), `instruction_pointer`
/// (u64), `args` (six u64, little-endian: the low word first).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const fn arg_low(index: u32) -> u32 {
    16 + 8 * index
}
const fn arg_high(index: u32) -> u32 {
    arg_low(index) + 4
}

const fn load(offset: u32) -> SockFilter {
    SockFilter {
        code: BPF_LOAD_WORD,
        jt: 0,
        jf: 0,
        k: offset,
    }
}

const fn ret(value: u32) -> SockFilter {
    SockFilter {
        code: BPF_RETURN,
        jt: 0,
        jf: 0,
        k: value,
    }
}

/// A conditional jump at index `at` to absolute indexes `if_true` / `if_false` (BPF
/// encodes them relative to the next instruction; only forward jumps exist). The
/// assertion makes both offsets fit a `u8`, so the casts are exact.
#[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
const fn jump(code: u16, value: u32, at: usize, if_true: usize, if_false: usize) -> SockFilter {
    assert!(if_true > at && if_false > at && if_true - at <= 256 && if_false - at <= 256);
    SockFilter {
        code,
        jt: (if_true - at - 1) as u8,
        jf: (if_false - at - 1) as u8,
        k: value,
    }
}

const ALLOW: usize = 18;
const KILL: usize = 19;
const FUTEX: usize = 9;
const MPROTECT: usize = 12;

/// The filter, in order; see the module docs for what it allows and why.
pub const FILTER: [SockFilter; 20] = {
    use BPF_JUMP_EQUAL as EQ;
    [
        /* 0 */ load(DATA_ARCH),
        /* 1 */ jump(EQ, AUDIT_ARCH_X86_64, 1, 2, KILL),
        /* 2 */ load(DATA_NR),
        /* 3 */ jump(BPF_JUMP_GREATER_EQUAL, X32_SYSCALL_BIT, 3, KILL, 4),
        /* 4 */ jump(EQ, SYS_FUTEX, 4, FUTEX, 5),
        /* 5 */ jump(EQ, SYS_MPROTECT, 5, MPROTECT, 6),
        /* 6 */ jump(EQ, SYS_RT_SIGRETURN, 6, ALLOW, 7),
        /* 7 */ jump(EQ, SYS_EXIT_GROUP, 7, ALLOW, 8),
        /* 8 */ ret(SECCOMP_RET_KILL_PROCESS),
        // futex: the operation is an `int`, the kernel reads the low word only.
        /* 9 */
        load(arg_low(1)),
        /* 10 */ jump(EQ, FUTEX_WAIT, 10, ALLOW, 11),
        /* 11 */ jump(EQ, FUTEX_WAKE, 11, ALLOW, KILL),
        // mprotect: the protection is an `unsigned long`; its high word must be 0.
        /* 12 */
        load(arg_high(2)),
        /* 13 */ jump(EQ, 0, 13, 14, KILL),
        /* 14 */ load(arg_low(2)),
        /* 15 */ jump(EQ, 0, 15, ALLOW, 16),
        /* 16 */ jump(EQ, 1, 16, ALLOW, 17),
        /* 17 */ jump(EQ, 3, 17, ALLOW, KILL),
        /* 18 */ ret(SECCOMP_RET_ALLOW),
        /* 19 */ ret(SECCOMP_RET_KILL_PROCESS),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter on a system call as the kernel's classic-BPF interpreter would.
    fn verdict(arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (index, arg) in args.iter().enumerate() {
            data[16 + 8 * index..24 + 8 * index].copy_from_slice(&arg.to_le_bytes());
        }
        let mut accumulator = 0u32;
        let mut pc = 0usize;
        loop {
            let instruction = FILTER[pc];
            match instruction.code {
                BPF_LOAD_WORD => {
                    let at = usize::try_from(instruction.k).unwrap();
                    accumulator = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                    pc += 1;
                }
                BPF_JUMP_EQUAL | BPF_JUMP_GREATER_EQUAL => {
                    let taken = if instruction.code == BPF_JUMP_EQUAL {
                        accumulator == instruction.k
                    } else {
                        accumulator >= instruction.k
                    };
                    let offset = if taken {
                        instruction.jt
                    } else {
                        instruction.jf
                    };
                    pc += 1 + usize::from(offset);
                }
                BPF_RETURN => return instruction.k,
                other => panic!("unexpected BPF instruction {other:#x}"),
            }
        }
    }

    fn allowed(nr: u32, args: [u64; 6]) -> bool {
        verdict(AUDIT_ARCH_X86_64, nr, args) == SECCOMP_RET_ALLOW
    }

    #[test]
    fn the_filter_allows_exactly_the_worker_loop() {
        let none = [0; 6];
        // What the loop does.
        assert!(allowed(SYS_FUTEX, [0x1000, 0, 2, 0, 0, 0]));
        assert!(allowed(SYS_FUTEX, [0x1000, 1, 1, 0, 0, 0]));
        for protection in [0, 1, 3] {
            assert!(allowed(SYS_MPROTECT, [0x1000, 0x1000, protection, 0, 0, 0]));
        }
        assert!(allowed(SYS_RT_SIGRETURN, none));
        assert!(allowed(SYS_EXIT_GROUP, none));
        // Everything else, including the allowed calls with other arguments.
        for nr in (0..460)
            .filter(|nr| ![SYS_FUTEX, SYS_MPROTECT, SYS_RT_SIGRETURN, SYS_EXIT_GROUP].contains(nr))
        {
            assert!(!allowed(nr, none), "system call {nr}");
        }
        for operation in [2, 3, 4, 5, 9, 128, 129] {
            assert!(
                !allowed(SYS_FUTEX, [0, operation, 0, 0, 0, 0]),
                "futex op {operation}"
            );
        }
        for protection in [2, 4, 5, 6, 7, 0x1_0000_0001] {
            assert!(
                !allowed(SYS_MPROTECT, [0, 0, protection, 0, 0, 0]),
                "mprotect {protection:#x}"
            );
        }
        // Other ABIs and architectures.
        assert!(!allowed(X32_SYSCALL_BIT | SYS_FUTEX, [0; 6]));
        assert_eq!(
            verdict(0x4000_0003, SYS_RT_SIGRETURN, none),
            SECCOMP_RET_KILL_PROCESS,
            "AUDIT_ARCH_I386"
        );
    }
}
