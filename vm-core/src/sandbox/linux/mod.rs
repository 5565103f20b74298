//! The Linux process sandbox: JIT code runs in a separate, locked-down worker process.
//!
//! The in-process ([`generic`](super::generic)) sandbox isolates a guest by its address
//! space alone: one code-generation bug and the guest reaches the host's memory. Here the
//! same compiled code runs in a worker process that can do almost nothing even if the
//! guest takes it over entirely:
//!
//! - **Namespaces and root.** New user, PID, mount, network, IPC, UTS and cgroup
//!   namespaces; an empty read-only root (`pivot_root` into a tmpfs with nothing in it);
//!   no user-ID mapping, so no capabilities in any namespace after it executes its image;
//!   `PR_SET_NO_NEW_PRIVS`; not dumpable.
//! - **Nothing inherited.** The worker image is executed from a sealed memory file
//!   (`execveat`), which replaces the address space: nothing of the host's memory is
//!   left. It receives two descriptors (its memory and code files), maps them and closes
//!   every descriptor; `RLIMIT_NOFILE` is 0.
//! - **Limits.** No core dumps, files, locks, locked memory, message queues or processes;
//!   a bounded address space and data size. It dies with the host (`PR_SET_PDEATHSIG`).
//! - **System calls.** A seccomp filter (`seccomp.rs`) allows `futex` (wait and wake),
//!   `mprotect` (never executable), `rt_sigreturn` and `exit_group`, and kills the process
//!   on anything else.
//! - **Memory and code.** Guest memory and the context live in a memory file both
//!   processes map: the host reads and writes guest memory and registers without a round
//!   trip. The code lives in a second memory file, read-execute in the worker and sealed
//!   against writable mappings, so the worker can never write code.
//!
//! ```text
//!  host process                                  worker process (pid 1 of its namespace)
//!  Instance ── JitInstance ── WorkerRun          worker image (freestanding, ~3 KiB)
//!    GuestAddressSpace ─┐                          control block ◄── futex word
//!    (host view, rw)    ├── memory file ──────────► context + 4 GiB guest (guest prots)
//!    code (rw view) ────┴── code file (sealed) ───► compiled code (read-execute)
//! ```
//!
//! A run is one round trip: the host writes registers and gas into the context, posts the
//! command on the control block's futex word, and waits; the worker calls the code's entry
//! trampoline, the code exits (an `ecalli`, `sbrk`, a trap, out of gas, the end, or a fault
//! the worker's handler turns into an exit), and the worker completes the command. Both
//! sides spin before they sleep, so a quick round trip makes no system call. The host
//! treats everything the worker reports as untrusted: an exit it could not have produced
//! (a fault outside the code's memory accesses, a block number out of range) kills the
//! worker, as does a crash or a run past [`SandboxConfig::run_timeout`]; the instance then
//! fails with [`Error::Sandbox`] and the host and every other
//! worker go on.
//!
//! Workers come from a process-wide pool (`pool.rs`) and go back to it, wiped, when their
//! instance is dropped.
//!
//! What isolation does not cover: a guest that took over its worker can still change its
//! own guest memory at any time, also while the host handles one of its host calls (an
//! honest worker only waits then). Host functions already treat guest memory as untrusted;
//! they should also read what they validate once, into host memory, rather than twice. And
//! a worker it took over stays taken over while it lives: the pool reuses workers, so such a
//! guest could disturb later instances run in the same worker (not the host or other
//! workers). It can also make its whole 4 GiB guest range accessible (`mprotect` is allowed
//! inside it) and touch it: the memory limit binds honest guests, and a taken-over worker
//! can use up to the size of its memory file; only a memory cgroup per worker (not set up
//! here: it needs cgroup delegation) would bound that. The walls above are what stops it
//! from going further.
//!
//! Requires Linux 5.11 or later (`clone3` with process descriptors, `close_range` with
//! `CLOSE_RANGE_CLOEXEC`, `F_SEAL_FUTURE_WRITE`) where the process may create user
//! namespaces.
//!
//! [`SandboxConfig::run_timeout`]: crate::SandboxConfig::run_timeout

// New code written for 32-bit-clean rules although it only exists on x86-64: conversions
// go through `From`/`TryFrom`, `crate::cast` or `sys::to_usize`/`sys::to_u64`.
#![deny(clippy::as_conversions, clippy::cast_possible_truncation)]

mod code;
mod pool;
mod protocol;
mod run;
#[cfg(test)]
mod seccomp;
mod spawn;
mod sys;
mod worker;

pub use code::WorkerCode;
pub(crate) use run::WorkerRun;

/// Where code offset 0 is in every worker.
pub(crate) const WORKER_CODE_ORIGIN: u64 = protocol::WORKER_CODE_ADDRESS;

use crate::error::{Error, SandboxError};
use crate::jit::CompiledProgram;
use core::time::Duration;
use std::sync::OnceLock;
use std::vec::Vec;

// The worker's copy of the layout agrees with the host's.
const _: () = {
    use crate::cast::{u64_from_usize, usize_from_u32};
    use crate::jit::abi::{CTX_SANDBOX_COMMAND, CTX_SANDBOX_STATE};
    assert!(protocol::CONTEXT_SIZE == u64_from_usize(super::CONTEXT_SIZE));
    assert!(protocol::RESERVATION_SIZE == u64_from_usize(super::RESERVATION_SIZE));
    assert!(protocol::TRAILING_GUARD_SIZE == u64_from_usize(super::TRAILING_GUARD_SIZE));
    let state = u64_from_usize(usize_from_u32(CTX_SANDBOX_STATE.unsigned_abs()));
    let command = u64_from_usize(usize_from_u32(CTX_SANDBOX_COMMAND.unsigned_abs()));
    assert!(CTX_SANDBOX_STATE >= 0 && protocol::CONTEXT_STATE_OFFSET == state);
    assert!(CTX_SANDBOX_COMMAND >= 0 && protocol::CONTEXT_COMMAND_OFFSET == command);
};

static AVAILABLE: OnceLock<Result<(), SandboxError>> = OnceLock::new();

/// Whether this host can run workers: the first call starts one (and keeps it in the
/// pool); later calls return the first answer.
pub fn availability() -> Result<(), SandboxError> {
    AVAILABLE
        .get_or_init(|| {
            let worker = worker::Worker::start().map_err(|error| match error {
                SandboxError::Unavailable(_) => error,
                other => SandboxError::Unavailable(std::format!("starting a worker: {other}")),
            })?;
            pool::give_back(worker, 0);
            Ok(())
        })
        .clone()
}

/// Makes this process behave as a host where workers cannot start, with `reason` as the
/// explanation: for tests of the error and the fall-back. Has effect only before the first
/// use of the Linux sandbox in the process; returns whether it had.
#[doc(hidden)]
pub fn pretend_unavailable(reason: &str) -> bool {
    AVAILABLE
        .set(Err(SandboxError::Unavailable(reason.into())))
        .is_ok()
}

/// Checks the sandbox is available and keeps at least `pool_size` workers started.
pub(crate) fn prepare(pool_size: u32) -> Result<(), SandboxError> {
    availability()?;
    pool::reserve(pool_size)
}

/// The process ids of the idle workers in the pool, for measuring what an idle worker
/// costs (`/proc/<pid>/smaps_rollup`).
pub fn idle_worker_pids() -> Vec<i32> {
    pool::idle_pids()
}

/// What raw machine code run by [`run_machine_code`] left in the first words of the
/// context.
pub type ContextWords = [u64; 16];

/// Where in the context raw code's results go: clear of the signal words and exit fields.
const RAW_RESULTS_OFFSET: usize = 0x1000;

/// Runs raw x86-64 machine code in a new worker, as a guest that had taken over the
/// generated code would: for tests of the sandbox's walls.
///
/// The code is called as `extern "sysv64" fn(results: *mut u64)` at its first byte (the
/// pointer is into the worker's context); it may store up to 16 words there, which are
/// returned if it returns. If the worker dies (a forbidden system call, a fault) or runs
/// past `timeout`, the error says how. The worker is never reused.
#[doc(hidden)]
pub fn run_machine_code(code: &[u8], timeout: Duration) -> Result<ContextWords, Error> {
    availability()?;
    // `lea rdi, [rdi + RAW_RESULTS_OFFSET]`, then the code (position-independent code
    // does not mind being moved).
    let mut code_with_prologue = std::vec![0x48, 0x8d, 0xbf, 0x00, 0x10, 0x00, 0x00];
    const _: () = assert!(RAW_RESULTS_OFFSET == 0x1000);
    code_with_prologue.extend_from_slice(code);
    let code_len = code_with_prologue.len();
    let program = CompiledProgram {
        entry_offset: 0,
        // No exit path: a fault anywhere ends the worker.
        exit_offset: u32::MAX,
        ..CompiledProgram::default()
    };
    let code = WorkerCode::new(program, code_with_prologue, code_len)?;
    let mut worker = worker::Worker::start()?;
    worker.load(&code);
    let result = worker.run(None, Some(timeout));
    let view = worker.reservation_view();
    let mut words = [0u64; 16];
    for (index, word) in words.iter_mut().enumerate() {
        // SAFETY: the context is the first CONTEXT_SIZE (0x4000) bytes of the view, so the
        // 16 words at RAW_RESULTS_OFFSET are in it; volatile because the worker shares it.
        *word = unsafe {
            view.as_ptr()
                .add(RAW_RESULTS_OFFSET)
                .cast::<u64>()
                .add(index)
                .read_volatile()
        };
    }
    worker.kill();
    match result {
        Ok(None) => Ok(words),
        Ok(Some(_)) => Err(SandboxError::Protocol("a fault in raw code").into()),
        Err(error) => Err(error.into()),
    }
}
