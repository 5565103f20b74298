//! The sandbox worker: the only program that runs in a worker process, and the only code
//! besides the guest's compiled code in its address space.
//!
//! Built by `vm-core/build.rs` as a freestanding static executable (no libc, no std, no
//! allocator, a few KiB), embedded in the host library and executed from a sealed memory
//! file, so a worker shares nothing with the host's address space. The host has already
//! put the process in its own namespaces, an empty root, resource limits and
//! `PR_SET_NO_NEW_PRIVS` (see `spawn.rs`); this program:
//!
//! 1. maps the memory file (context, guest range and guard, `PROT_NONE` but for the
//!    context; then the control block) and the code file (read-execute; it cannot become
//!    writable: the file is sealed against writable mappings) at fixed addresses;
//! 2. installs the fault handler on its own stack;
//! 3. closes every file descriptor and forbids new ones (`RLIMIT_NOFILE` 0), becomes
//!    non-dumpable, and installs the seccomp filter (`seccomp.rs`);
//! 4. reports ready and serves commands forever: apply protection changes, serialize
//!    after new code, call the compiled code's entry trampoline with the context.
//!
//! A guest access that faults lands in the fault handler, which records the signal, the
//! instruction address and the data address in the control block and continues at the
//! code's exit path, as the in-process sandbox does; the host turns that into the
//! interrupt (it owns the tables that say which guest instruction it was). A fault
//! anywhere else ends the process.
#![no_std]
#![no_main]

#[path = "../protocol.rs"]
#[allow(dead_code)]
mod protocol;
#[path = "../seccomp.rs"]
#[allow(dead_code)]
mod seccomp;

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicBool, Ordering};
use protocol::*;

// The process entry point: the kernel starts here with a 16-byte aligned stack and no
// return address; `worker_main` is called like any function.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym worker_main,
);

// Returns from a signal handler (`SA_RESTORER`): the kernel restores the interrupted
// context from the frame the handler ran on.
global_asm!(
    ".globl pvm_worker_signal_restorer",
    "pvm_worker_signal_restorer:",
    "mov eax, 15",
    "syscall",
    "ud2",
);

extern "C" {
    fn pvm_worker_signal_restorer();
}

/// Raw x86-64 Linux system calls: the worker has no libc.
mod sys {
    use core::arch::asm;

    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const SIGALTSTACK: usize = 131;
    pub const PRCTL: usize = 157;
    pub const SETRLIMIT: usize = 160;
    pub const FUTEX: usize = 202;
    pub const EXIT_GROUP: usize = 231;
    pub const SECCOMP: usize = 317;
    pub const CLOSE_RANGE: usize = 436;

    /// A system call with up to six arguments; returns the kernel's result (a negative
    /// errno on failure).
    ///
    /// # Safety
    ///
    /// The arguments must be valid for the call.
    #[inline(always)]
    pub unsafe fn call6(nr: usize, a: [usize; 6]) -> isize {
        let result: isize;
        // SAFETY: the caller vouches for the arguments; `syscall` clobbers rcx and r11.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") nr => result,
                in("rdi") a[0],
                in("rsi") a[1],
                in("rdx") a[2],
                in("r10") a[3],
                in("r8") a[4],
                in("r9") a[5],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        result
    }

    /// Ends the process.
    pub fn exit_group(status: i32) -> ! {
        loop {
            // SAFETY: exit_group takes a status and does not return.
            unsafe { call6(EXIT_GROUP, [status as usize, 0, 0, 0, 0, 0]) };
        }
    }
}

/// The control block, mapped at its fixed address during start-up.
fn control() -> &'static Control {
    // SAFETY: mapped read-write at this address before anything calls this (start-up maps
    // it first), never unmapped, and every field is an atomic.
    unsafe { &*(WORKER_CONTROL_ADDRESS as *const Control) }
}

/// The state and command words, in the context.
fn signals() -> &'static Signals {
    // SAFETY: the context is mapped read-write during start-up, before anything calls
    // this, and never unmapped; the words are atomics, 4-byte aligned.
    unsafe { &*((WORKER_CONTEXT_ADDRESS + CONTEXT_STATE_OFFSET) as *const Signals) }
}

/// Set while guest code runs: the fault handler handles faults only then.
static IN_GUEST: AtomicBool = AtomicBool::new(false);
/// Set once the control block is mapped, so start-up failures can be reported in it.
static CONTROL_MAPPED: AtomicBool = AtomicBool::new(false);

/// The fault handler's stack (`sigaltstack`): the guest's faults arrive with the stack of
/// the code that faulted, which the handler should not have to trust.
const SIGNAL_STACK_SIZE: usize = 64 << 10;
#[repr(C, align(16))]
struct SignalStack([u8; SIGNAL_STACK_SIZE]);
static mut SIGNAL_STACK: SignalStack = SignalStack([0; SIGNAL_STACK_SIZE]);

/// Reports a failed start-up step (in the control block once it is mapped) and exits.
fn fail(step: SetupStep, result: isize) -> ! {
    if CONTROL_MAPPED.load(Ordering::Relaxed) {
        let control = control();
        control
            .setup_errno
            .store(result.unsigned_abs() as u32, Ordering::Relaxed);
        control.setup_step.store(step as u32, Ordering::Release);
    }
    sys::exit_group(EXIT_SETUP_FAILED + step as i32)
}

fn check(step: SetupStep, result: isize) {
    if result < 0 {
        fail(step, result);
    }
}

const PROT_READ: usize = 1;
const PROT_WRITE: usize = 2;
const PROT_EXEC: usize = 4;
const MAP_SHARED: usize = 0x01;
const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
const SIGBUS: usize = 7;
const SIGSEGV: usize = 11;
const SIG_SETMASK: usize = 2;
const SA_SIGINFO: u64 = 0x4;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTORER: u64 = 0x0400_0000;
const RLIMIT_NOFILE: usize = 7;
const PR_SET_DUMPABLE: usize = 4;
const PR_SET_NO_NEW_PRIVS: usize = 38;
const SECCOMP_SET_MODE_FILTER: usize = 1;

/// The kernel's `struct sigaction` for `rt_sigaction` on x86-64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// `stack_t`.
#[repr(C)]
struct SignalStackDescription {
    pointer: usize,
    flags: i32,
    size: usize,
}

/// `struct sock_fprog`.
#[repr(C)]
struct FilterProgram {
    length: u16,
    filter: *const seccomp::SockFilter,
}

/// `struct rlimit`.
#[repr(C)]
struct Rlimit {
    current: u64,
    maximum: u64,
}

/// Where the kernel puts `si_addr` in a `siginfo_t`, and the interrupted instruction
/// pointer (`uc_mcontext.gregs[REG_RIP]`) in a `ucontext_t`, on x86-64.
const SIGINFO_ADDRESS_OFFSET: usize = 16;
const UCONTEXT_RIP_OFFSET: usize = 168;

/// The fault handler: a fault in guest code continues at the code's exit path, with the
/// fault recorded for the host; anything else ends the process.
extern "C" fn on_fault(signal: i32, info: *mut u8, context: *mut u8) {
    let control = control();
    if !IN_GUEST.load(Ordering::Relaxed) || info.is_null() || context.is_null() {
        sys::exit_group(EXIT_FAULT_OUTSIDE_GUEST);
    }
    // SAFETY: the kernel passes a valid `ucontext_t` to an SA_SIGINFO handler; the field
    // is the saved instruction pointer, 8-byte aligned.
    let rip_slot = unsafe { context.add(UCONTEXT_RIP_OFFSET).cast::<u64>() };
    // SAFETY: as above; `si_addr` of a SIGSEGV/SIGBUS is the faulting data address.
    let data_address = unsafe { info.add(SIGINFO_ADDRESS_OFFSET).cast::<u64>().read() };
    // SAFETY: see `rip_slot`.
    let rip = unsafe { rip_slot.read() };
    let code_end = control.code_end.load(Ordering::Relaxed);
    let exit = control.exit_address.load(Ordering::Relaxed);
    if !(WORKER_CODE_ADDRESS..code_end).contains(&rip)
        || !(WORKER_CODE_ADDRESS..code_end).contains(&exit)
    {
        sys::exit_group(EXIT_FAULT_OUTSIDE_GUEST);
    }
    control
        .fault_signal
        .store(signal.unsigned_abs().into(), Ordering::Relaxed);
    control.fault_address_code.store(rip, Ordering::Relaxed);
    control
        .fault_address_data
        .store(data_address, Ordering::Relaxed);
    // SAFETY: see `rip_slot`; the exit path stores the guest registers and returns from
    // the entry trampoline, which restores the stack pointer it saved.
    unsafe { rip_slot.write(exit) };
}

/// Start-up, then the command loop.
extern "C" fn worker_main() -> ! {
    map_files();
    install_fault_handler();
    lock_down();
    serve(control())
}

fn map_files() {
    let map = |address: u64, length: u64, protection: usize, fd: i32, offset: u64| {
        // SAFETY: a new shared mapping of a file we were given, at a fixed address where
        // nothing is mapped (MAP_FIXED_NOREPLACE refuses to replace anything).
        unsafe {
            sys::call6(
                sys::MMAP,
                [
                    address as usize,
                    length as usize,
                    protection,
                    MAP_SHARED | MAP_FIXED_NOREPLACE,
                    fd as usize,
                    offset as usize,
                ],
            )
        }
    };
    // The control block first, so later failures can be reported in it.
    let result = map(
        WORKER_CONTROL_ADDRESS,
        CONTROL_SIZE,
        PROT_READ | PROT_WRITE,
        FD_MEMORY,
        CONTROL_FILE_OFFSET,
    );
    check(SetupStep::MapMemory, result);
    CONTROL_MAPPED.store(true, Ordering::Relaxed);
    let result = map(WORKER_CONTEXT_ADDRESS, RESERVATION_SIZE, 0, FD_MEMORY, 0);
    check(SetupStep::MapMemory, result);
    // SAFETY: the context is the first CONTEXT_SIZE bytes of the mapping just made.
    let result = unsafe {
        sys::call6(
            sys::MPROTECT,
            [
                WORKER_CONTEXT_ADDRESS as usize,
                CONTEXT_SIZE as usize,
                PROT_READ | PROT_WRITE,
                0,
                0,
                0,
            ],
        )
    };
    check(SetupStep::MapMemory, result);
    let result = map(
        WORKER_CODE_ADDRESS,
        CODE_CAPACITY,
        PROT_READ | PROT_EXEC,
        FD_CODE,
        0,
    );
    check(SetupStep::MapCode, result);
}

fn install_fault_handler() {
    let stack = SignalStackDescription {
        pointer: core::ptr::addr_of_mut!(SIGNAL_STACK) as usize,
        flags: 0,
        size: SIGNAL_STACK_SIZE,
    };
    // SAFETY: the stack is a static buffer used for nothing else.
    let result = unsafe { sys::call6(sys::SIGALTSTACK, [&stack as *const _ as usize, 0, 0, 0, 0, 0]) };
    check(SetupStep::FaultHandler, result);
    let action = KernelSigaction {
        handler: on_fault as *const () as usize,
        flags: SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
        restorer: pvm_worker_signal_restorer as *const () as usize,
        // A second fault while handling one is blocked, which makes the kernel end the
        // process.
        mask: 0,
    };
    for signal in [SIGSEGV, SIGBUS] {
        // SAFETY: installs a handler with a valid restorer; the old action is not needed.
        let result = unsafe {
            sys::call6(
                sys::RT_SIGACTION,
                [signal, &action as *const _ as usize, 0, 8, 0, 0],
            )
        };
        check(SetupStep::FaultHandler, result);
    }
    // The host's thread may have had signals blocked; a blocked SIGSEGV would kill us
    // instead of reaching the handler.
    let empty: u64 = 0;
    // SAFETY: sets the signal mask from a valid 8-byte set.
    let result = unsafe {
        sys::call6(
            sys::RT_SIGPROCMASK,
            [SIG_SETMASK, &empty as *const u64 as usize, 0, 8, 0, 0],
        )
    };
    check(SetupStep::FaultHandler, result);
}

fn lock_down() {
    // SAFETY: closes every descriptor; the files are mapped and need none.
    let result = unsafe { sys::call6(sys::CLOSE_RANGE, [0, u32::MAX as usize, 0, 0, 0, 0]) };
    check(SetupStep::CloseDescriptors, result);
    let none = Rlimit {
        current: 0,
        maximum: 0,
    };
    // SAFETY: passes a valid `struct rlimit`.
    let result = unsafe {
        sys::call6(
            sys::SETRLIMIT,
            [RLIMIT_NOFILE, &none as *const Rlimit as usize, 0, 0, 0, 0],
        )
    };
    check(SetupStep::CloseDescriptors, result);
    // SAFETY: prctl with plain integer arguments.
    let result = unsafe { sys::call6(sys::PRCTL, [PR_SET_DUMPABLE, 0, 0, 0, 0, 0]) };
    check(SetupStep::NotDumpable, result);
    // Inherited from the host's set-up already; repeated so the filter never depends on it.
    // SAFETY: as above.
    let result = unsafe { sys::call6(sys::PRCTL, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]) };
    check(SetupStep::Seccomp, result);
    let program = FilterProgram {
        length: seccomp::FILTER.len() as u16,
        filter: seccomp::FILTER.as_ptr(),
    };
    // SAFETY: passes a valid filter program, copied by the kernel.
    let result = unsafe {
        sys::call6(
            sys::SECCOMP,
            [
                SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const FilterProgram as usize,
                0,
                0,
                0,
            ],
        )
    };
    check(SetupStep::Seccomp, result);
}

/// How long to spin for the next command before sleeping, in time-stamp counter ticks:
/// adapted between these bounds (about 1 and 90 microseconds at 2 GHz). A command that
/// arrives while spinning (an `ecalli` answered quickly) doubles it. One that finds the
/// worker asleep but came within the largest budget (a host that answers an `ecalli` in a
/// few microseconds, more than the budget had fallen to) sets it to twice that wait:
/// halving it then would keep the worker asleep at every `ecalli` after any idle spell,
/// paying a futex wake-up (several microseconds) per syscall for good. Only a command
/// that comes later than that halves it, so a worker whose host takes its time stops
/// burning a core.
const MIN_SPIN_TICKS: u64 = 2_000;
const MAX_SPIN_TICKS: u64 = 200_000;

/// How long to spin after a nudge (about 25 microseconds at 2 GHz): the command usually
/// comes before the wake-up does, a few microseconds of instantiation after the nudge,
/// and a worker nudged for an instance that never runs burns no more than this.
const NUDGED_SPIN_TICKS: u64 = 50_000;
static SPIN_TICKS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(MAX_SPIN_TICKS);

fn timestamp() -> u64 {
    // SAFETY: `rdtsc` reads the time-stamp counter; it has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

fn futex(word: &core::sync::atomic::AtomicU32, operation: u32, value: u32) {
    // SAFETY: the word is a valid u32 in shared memory; no timeout.
    unsafe {
        sys::call6(
            sys::FUTEX,
            [
                word.as_ptr() as usize,
                operation as usize,
                value as usize,
                0,
                0,
                0,
            ],
        )
    };
}

/// Returns once the host has posted a command.
fn wait_for_command(control: &Signals) {
    let mut start = timestamp();
    let mut budget = SPIN_TICKS.load(Ordering::Relaxed);
    let mut spinning = true;
    let mut nudged = false;
    loop {
        let state = control.state.load(Ordering::Acquire);
        if state == STATE_BUSY || state == STATE_BUSY_HOST_SLEEPING {
            // The spin after a nudge says nothing about how soon commands follow each
            // other: the budget stays.
            if !nudged {
                let waited = timestamp().wrapping_sub(start);
                let budget = if spinning {
                    budget * 2
                } else if waited <= MAX_SPIN_TICKS {
                    waited.saturating_mul(2)
                } else {
                    budget / 2
                };
                SPIN_TICKS.store(budget.clamp(MIN_SPIN_TICKS, MAX_SPIN_TICKS), Ordering::Relaxed);
            }
            return;
        }
        if spinning && timestamp().wrapping_sub(start) < budget {
            core::hint::spin_loop();
            continue;
        }
        spinning = false;
        if state == STATE_IDLE
            && control
                .state
                .compare_exchange(
                    STATE_IDLE,
                    STATE_IDLE_SLEEPING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            continue;
        }
        // Returns at once if the host has posted or nudged meanwhile (the word is no
        // longer IDLE_SLEEPING), else when it wakes us.
        futex(&control.state, seccomp::FUTEX_WAIT, STATE_IDLE_SLEEPING);
        if control.state.load(Ordering::Acquire) == STATE_IDLE {
            // Nudged: an instance has taken this worker and will post a command soon
            // (the host's `Worker::nudge`). Spin for it: a wake-up from the futex costs
            // tens of microseconds where this processor halted meanwhile.
            nudged = true;
            spinning = true;
            start = timestamp();
            budget = NUDGED_SPIN_TICKS;
        }
    }
}

/// Reports the command done, waking the host if it sleeps.
fn complete(control: &Signals) {
    let previous = control.state.swap(STATE_IDLE, Ordering::AcqRel);
    if previous == STATE_BUSY_HOST_SLEEPING {
        futex(&control.state, seccomp::FUTEX_WAKE, 1);
    }
}

fn serve(control: &'static Control) -> ! {
    let signals = signals();
    // Start-up is the first command: its completion tells the host we are ready.
    complete(signals);
    loop {
        wait_for_command(signals);
        // Nothing here writes the control block but a failure, nor the signals' cache line
        // but the exit and the completion: the host spins on that line, and every write
        // would move it.
        let command = signals.command.load(Ordering::Relaxed);
        let mut errno = 0;
        if command & COMMAND_PROTECT != 0 {
            errno = apply_protections(control);
            if errno != 0 {
                // The host cleared it before posting.
                control.protection_errno.store(errno, Ordering::Relaxed);
            }
        }
        if command & COMMAND_SERIALIZE != 0 {
            // New code was written into the code file by another processor: execute a
            // serializing instruction before running it (Intel SDM 3A, 9.1.3).
            // SAFETY: `cpuid` has no side effects besides its outputs (and rbx, which
            // the asm block saves, as LLVM reserves it).
            unsafe {
                asm!(
                    "mov {saved}, rbx",
                    "cpuid",
                    "mov rbx, {saved}",
                    saved = out(reg) _,
                    inout("eax") 0 => _,
                    inout("ecx") 0 => _,
                    out("edx") _,
                );
            }
        }
        if command & COMMAND_RUN != 0 && errno == 0 {
            // `fault_signal` is 0: the host clears it after a fault.
            let entry = control.entry_address.load(Ordering::Relaxed);
            IN_GUEST.store(true, Ordering::Relaxed);
            // SAFETY: the host put compiled code at `entry` (its entry trampoline,
            // `extern "sysv64" fn(context)`), which saves and restores our callee-saved
            // registers and stack pointer and returns through its exit path, also after
            // a fault (see `on_fault`). Whatever else the code does is confined by this
            // process's sandbox, which is the point of it.
            unsafe {
                let entry: extern "sysv64" fn(*mut u8) = core::mem::transmute(entry as usize);
                entry(WORKER_CONTEXT_ADDRESS as *mut u8);
            }
            IN_GUEST.store(false, Ordering::Relaxed);
        }
        complete(signals);
    }
}

/// Applies the posted protection changes; 0, or the errno of the first that failed.
fn apply_protections(control: &Control) -> u32 {
    let count = (control.protection_count.load(Ordering::Relaxed) as usize)
        .min(MAX_PROTECTION_CHANGES);
    for change in &control.protections[..count] {
        let address = change.guest_address.load(Ordering::Relaxed);
        let length = change.length.load(Ordering::Relaxed);
        let protection = change.protection.load(Ordering::Relaxed);
        // Only ever inside the guest range.
        let inside = address
            .checked_add(length)
            .is_some_and(|end| end <= GUEST_SIZE);
        if !inside {
            return 22; // EINVAL
        }
        // SAFETY: changes the protection of guest pages only (checked above), which no
        // Rust reference points into.
        let result = unsafe {
            sys::call6(
                sys::MPROTECT,
                [
                    (WORKER_GUEST_BASE + address) as usize,
                    length as usize,
                    protection as usize,
                    0,
                    0,
                    0,
                ],
            )
        };
        if result < 0 {
            return result.unsigned_abs() as u32;
        }
    }
    0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    sys::exit_group(EXIT_PANIC)
}

// The compiler may call these for copies and fills; there is no libc to provide them.
// `rep movsb` / `rep stosb` keep LLVM from turning the loops back into calls to
// themselves.

/// `memcpy`.
///
/// # Safety
///
/// As C's `memcpy`.
#[no_mangle]
pub unsafe extern "C" fn memcpy(destination: *mut u8, source: *const u8, length: usize) -> *mut u8 {
    // SAFETY: the caller's contract is memcpy's.
    unsafe {
        asm!("rep movsb", inout("rdi") destination => _, inout("rsi") source => _,
             inout("rcx") length => _, options(nostack, preserves_flags));
    }
    destination
}

/// `memmove` (copies backwards when the destination is above an overlapping source).
///
/// # Safety
///
/// As C's `memmove`.
#[no_mangle]
pub unsafe extern "C" fn memmove(destination: *mut u8, source: *const u8, length: usize) -> *mut u8 {
    if (destination as usize) <= (source as usize) || (destination as usize) >= (source as usize) + length {
        // SAFETY: a forward copy is correct when the destination does not start inside
        // the source.
        return unsafe { memcpy(destination, source, length) };
    }
    // SAFETY: copies backwards with the direction flag set, restored after.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rdi") destination.add(length).wrapping_sub(1) => _,
             inout("rsi") source.add(length).wrapping_sub(1) => _,
             inout("rcx") length => _, options(nostack));
    }
    destination
}

/// `memset`.
///
/// # Safety
///
/// As C's `memset`.
#[no_mangle]
pub unsafe extern "C" fn memset(destination: *mut u8, value: i32, length: usize) -> *mut u8 {
    // SAFETY: the caller's contract is memset's.
    unsafe {
        asm!("rep stosb", inout("rdi") destination => _, inout("rcx") length => _,
             in("al") value as u8, options(nostack, preserves_flags));
    }
    destination
}

/// `memcmp` (and `bcmp`).
///
/// # Safety
///
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, length: usize) -> i32 {
    let mut index = 0;
    while index < length {
        // SAFETY: both ranges are readable for `length` bytes by the caller's contract.
        let (x, y) = unsafe { (a.add(index).read_volatile(), b.add(index).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        index += 1;
    }
    0
}

/// `bcmp`.
///
/// # Safety
///
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, length: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { memcmp(a, b, length) }
}
