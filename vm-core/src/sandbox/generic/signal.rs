//! The SIGSEGV/SIGBUS handler that turns a guest's faulting access inside JIT code into
//! an interrupt.
//!
//! Installed once per process, it chains to whatever handler was installed before it
//! (Rust's stack-overflow detection, a debugger's, a host application's) for every fault
//! it does not own. It owns a fault only when all of these hold:
//!
//! 1. this thread is running JIT code right now (a thread-local [`ActiveRun`] is set for
//!    the duration of the call into generated code);
//! 2. the faulting instruction lies inside that run's code, at a recorded guest memory
//!    access ([`CompiledProgram::fault_sites`](crate::jit::CompiledProgram));
//! 3. the faulting address lies in that run's guest range (4 GiB plus the trailing guard,
//!    measured from the run's memory base).
//!
//! It then writes the exit kind, guest pc and page into the context and makes the thread
//! continue at the code's exit path, which stores the guest registers and returns to the
//! host as any other exit does. It allocates nothing, takes no lock and calls nothing but
//! `sigaction` when chaining to a default action.

use super::super::address_space::{GUEST_ADDRESS_SPACE_SIZE, TRAILING_GUARD_SIZE};
use crate::jit::abi::{ExitKind, CONTEXT_BYTES, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_PC};
use crate::memory::{Fault, FaultMode};
use core::cell::Cell;
use std::io;
use std::sync::OnceLock;

/// What the handler needs to know about the run in progress on this thread.
pub(crate) struct ActiveRun {
    /// First byte of the code.
    pub code_start: usize,
    /// One past its last byte.
    pub code_end: usize,
    /// Where a faulting access continues (the exit path).
    pub exit_address: usize,
    /// `(code offset, guest pc)` of every memory access, sorted by offset.
    pub fault_sites: *const (u32, u32),
    /// Number of fault sites.
    pub fault_sites_len: usize,
    /// How the layout reports faults.
    pub fault_mode: FaultMode,
    /// The host address of guest address 0; the context ends there.
    pub memory_base: usize,
}

std::thread_local! {
    static ACTIVE: Cell<*const ActiveRun> = const { Cell::new(core::ptr::null()) };
}

/// Marks `run` as the JIT code running on this thread until the guard drops.
pub(crate) struct ActiveGuard;

impl ActiveGuard {
    /// Publishes `run` to the handler; it must outlive the guard.
    pub(crate) fn new(run: &ActiveRun) -> ActiveGuard {
        ACTIVE.with(|active| active.set(run));
        ActiveGuard
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.set(core::ptr::null()));
    }
}

/// The handlers that were installed before ours, for SIGSEGV and SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();
static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();

fn slot(signal: libc::c_int) -> usize {
    if signal == libc::SIGBUS {
        1
    } else {
        0
    }
}

/// Installs the handler (once per process; later calls return the first result).
pub(crate) fn install() -> io::Result<()> {
    let result = INSTALLED.get_or_init(|| {
        let mut previous: [libc::sigaction; 2] =
            // SAFETY: `sigaction` is plain data for which all zeroes is a valid value.
            unsafe { core::mem::zeroed() };
        for (index, signal) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
            // SAFETY: queries the current disposition into our own struct.
            if unsafe { libc::sigaction(signal, core::ptr::null(), &mut previous[index]) } != 0 {
                return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        // Published before our handler can run, so chaining always finds it.
        let _ = PREVIOUS.set(previous);
        for signal in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: all zeroes is a valid `sigaction`; the fields we need are set below.
            let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            // SAFETY: `sa_mask` is ours to initialise.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: installs a handler that is async-signal-safe (see the module docs).
            if unsafe { libc::sigaction(signal, &action, core::ptr::null_mut()) } != 0 {
                return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(())
    });
    result.map_err(io::Error::from_raw_os_error)
}

/// The guest fault a fault at `host_address` stands for, given the run's memory base,
/// or `None` if the address is not in the guest range.
fn guest_fault(base: usize, host_address: usize, mode: FaultMode) -> Option<Fault> {
    let offset = host_address.checked_sub(base)?;
    if offset < GUEST_ADDRESS_SPACE_SIZE {
        Some(Fault::at(mode, offset as u32))
    } else if offset < GUEST_ADDRESS_SPACE_SIZE + TRAILING_GUARD_SIZE {
        // The access wrapped past 2^32 - 1; the interpreter reports it there.
        Some(Fault::at(mode, u32::MAX))
    } else {
        None
    }
}

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes valid `siginfo_t` and `ucontext_t` pointers to an
    // SA_SIGINFO handler; `handle` reads and writes only those, the active run (alive
    // while published) and that run's context area (read-write, owned by the run).
    let handled = unsafe { handle(info, context.cast()) };
    if !handled {
        // SAFETY: forwards the same arguments the kernel gave us.
        unsafe { chain(signal, info, context) };
    }
}

/// Handles a fault owned by the active run; `false` if it is not ours.
///
/// # Safety
///
/// `info` and `context` must be the kernel's arguments to an SA_SIGINFO handler.
unsafe fn handle(info: *mut libc::siginfo_t, context: *mut libc::ucontext_t) -> bool {
    let active = ACTIVE.with(|active| active.get());
    if active.is_null() || info.is_null() || context.is_null() {
        return false;
    }
    // SAFETY: a published run outlives its guard, which is alive while JIT code runs on
    // this thread, and this signal is synchronous to that code.
    let run = unsafe { &*active };
    // SAFETY: `context` is the kernel's `ucontext_t` (see the caller).
    let gregs = unsafe { &mut (*context).uc_mcontext.gregs };
    let rip = gregs[libc::REG_RIP as usize] as usize;
    if rip < run.code_start || rip >= run.code_end {
        return false;
    }
    let offset = (rip - run.code_start) as u32;
    // SAFETY: the run's fault sites are a live slice (owned by the module it runs).
    let sites = unsafe { core::slice::from_raw_parts(run.fault_sites, run.fault_sites_len) };
    let Ok(index) = sites.binary_search_by_key(&offset, |s| s.0) else {
        return false;
    };
    let pc = sites[index].1;
    let base = run.memory_base;
    // SAFETY: `info` is valid; for SIGSEGV and SIGBUS `si_addr` is the faulting address.
    let address = unsafe { (*info).si_addr() } as usize;
    let Some(fault) = guest_fault(base, address, run.fault_mode) else {
        return false;
    };
    let (kind, arg) = match fault {
        Fault::Trap => (ExitKind::Trap, 0),
        Fault::PageFault(page) => (ExitKind::PageFault, page),
    };
    let ctx = base.wrapping_sub(CONTEXT_BYTES as usize) as *mut u8;
    // SAFETY: `ctx` is the run's context area (it ends at the memory base): read-write,
    // `CONTEXT_BYTES` long, and not otherwise accessed while the thread is stopped here.
    // Fields are 4-byte aligned.
    unsafe {
        ctx.add(CTX_EXIT_KIND as usize)
            .cast::<u32>()
            .write(kind as u32);
        ctx.add(CTX_EXIT_ARG as usize).cast::<u32>().write(arg);
        ctx.add(CTX_PC as usize).cast::<u32>().write(pc);
    }
    gregs[libc::REG_RIP as usize] = run.exit_address as i64;
    true
}

/// Passes a fault that is not ours to the handler installed before ours.
///
/// # Safety
///
/// The arguments must be the kernel's arguments to our handler.
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    let previous = &previous[slot(signal)];
    let action = previous.sa_sigaction;
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction runs again and
        // the default action (a crash with a core dump) happens, as it would without us.
        // SAFETY: all zeroes is a valid `sigaction` (SIG_DFL, empty mask, no flags).
        let mut default: libc::sigaction = unsafe { core::mem::zeroed() };
        default.sa_sigaction = libc::SIG_DFL;
        // SAFETY: `sigaction` is async-signal-safe.
        unsafe { libc::sigaction(signal, &default, core::ptr::null_mut()) };
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this type.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { core::mem::transmute(action) };
        f(signal, info, context);
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes only the signal number.
        let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(action) };
        f(signal);
    }
}
