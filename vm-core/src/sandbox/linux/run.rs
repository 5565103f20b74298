//! One instance's use of a worker: taking it from the pool, entering the code there, and
//! turning what the worker reports into what the in-process sandbox would have seen.

use super::code::WorkerCode;
use super::pool;
use super::protocol::{PROT_READ, PROT_READ_WRITE, WORKER_CODE_ADDRESS, WORKER_GUEST_BASE};
use super::sys;
use super::worker::{FaultReport, GuestRange, Worker};
use crate::engine::SandboxConfig;
use crate::error::SandboxError;
use crate::jit::abi::{ExitKind, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_PC};
use crate::memory::Fault;
use crate::sandbox::GuestAddressSpace;
use core::ptr::NonNull;
use core::time::Duration;
use std::sync::Arc;
use std::vec::Vec;

/// `SIGBUS` and `SIGSEGV`: the only signals the worker's fault handler reports.
const SIGBUS: u64 = 7;
const SIGSEGV: u64 = 11;

/// A worker held by one instance, with its module's code loaded.
pub(crate) struct WorkerRun {
    /// Always `Some` but while being dropped.
    worker: Option<Worker>,
    /// The worker failed: it was killed, and this instance cannot run again. Its files
    /// stay mapped until this value is dropped, so the guest's address space, built in
    /// the host's view of them, stays valid (and readable) for the instance's lifetime.
    failed: bool,
    code: Arc<WorkerCode>,
    /// The guest's accessible ranges changed (a new instance, `sbrk`, a reset) since the
    /// worker last applied them.
    protections_stale: bool,
    timeout: Option<Duration>,
    /// Keep the worker on another processor than the thread running the instance.
    pin: bool,
    /// Bytes of zeroed guest pages the worker may keep when given back.
    retain: u64,
}

impl WorkerRun {
    /// Takes a worker for `code` from the pool.
    pub(crate) fn take(
        code: Arc<WorkerCode>,
        config: &SandboxConfig,
    ) -> Result<WorkerRun, SandboxError> {
        let mut worker = pool::take(code.id())?;
        worker.nudge();
        worker.load(&code);
        Ok(WorkerRun {
            worker: Some(worker),
            failed: false,
            code,
            protections_stale: true,
            timeout: config.run_timeout,
            pin: config.pin_workers,
            retain: config.idle_worker_memory,
        })
    }

    /// The host's view of the worker's reservation, to build the guest's address space
    /// in. Valid for as long as this value lives (the worker's files are only given back
    /// or unmapped when it is dropped).
    pub(crate) fn reservation_view(&self) -> NonNull<u8> {
        self.worker().reservation_view()
    }

    fn worker(&self) -> &Worker {
        self.worker.as_ref().expect("taken only when dropped")
    }

    fn worker_mut(&mut self) -> &mut Worker {
        self.worker.as_mut().expect("taken only when dropped")
    }

    /// The worker's process id.
    pub(crate) fn pid(&self) -> i32 {
        self.worker().pid()
    }

    /// The compiled code.
    pub(crate) fn code(&self) -> &WorkerCode {
        &self.code
    }

    /// The guest's accessible memory changed: the worker must follow before it runs again.
    pub(crate) fn protections_changed(&mut self) {
        self.protections_stale = true;
    }

    /// Runs the code in the worker from the context's resume address until it exits,
    /// leaving the exit in the context as generated code (or the in-process fault
    /// handler) would. On any failure the worker is killed and the instance cannot run
    /// again.
    pub(crate) fn enter(&mut self, memory: &GuestAddressSpace) -> Result<(), SandboxError> {
        if self.failed {
            return Err(SandboxError::WorkerGone);
        }
        let desired: Option<Vec<GuestRange>> = self.protections_stale.then(|| {
            memory
                .regions()
                .map(|(address, length, writable)| GuestRange {
                    start: u64::from(address),
                    end: u64::from(address) + length,
                    protection: if writable { PROT_READ_WRITE } else { PROT_READ },
                })
                .collect()
        });
        let timeout = self.timeout;
        if self.pin {
            self.worker_mut().keep_apart();
        }
        let result =
            self.worker_mut()
                .run(desired.as_deref(), timeout)
                .and_then(|fault| match fault {
                    Some(fault) => record_fault(&self.code, memory, fault),
                    None => Ok(()),
                });
        match result {
            Ok(()) => {
                self.protections_stale = false;
                Ok(())
            }
            Err(error) => {
                self.fail();
                Err(error)
            }
        }
    }

    /// Kills the worker: the instance saw something wrong and will not run again.
    pub(crate) fn fail(&mut self) {
        if !self.failed {
            self.worker_mut().kill();
            self.failed = true;
        }
    }
}

/// Gives a healthy worker back to the pool; a failed one is dropped (its files unmapped).
/// The instance drops its guest address space, which lives in the worker's files, first.
impl Drop for WorkerRun {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            if !self.failed {
                pool::give_back(worker, self.retain);
            }
        }
    }
}

/// Writes the exit a guest fault stands for into the context (as the in-process fault
/// handler does), after checking the report: the instruction must be one of the code's
/// guest memory accesses and the address in the guest range, else no honest worker sent
/// it.
fn record_fault(
    code: &WorkerCode,
    memory: &GuestAddressSpace,
    fault: FaultReport,
) -> Result<(), SandboxError> {
    if fault.signal != SIGSEGV && fault.signal != SIGBUS {
        return Err(SandboxError::Protocol("a fault with an unexpected signal"));
    }
    let pc = fault
        .code_address
        .checked_sub(WORKER_CODE_ADDRESS)
        .and_then(|offset| u32::try_from(offset).ok())
        .and_then(|offset| code.program().fault_pc(offset))
        .ok_or(SandboxError::Protocol(
            "a fault outside the code's guest memory accesses",
        ))?;
    // The same offset from guest address 0 in the host's view.
    let host_address = sys::to_u64(memory.base().addr())
        .wrapping_add(fault.data_address.wrapping_sub(WORKER_GUEST_BASE));
    let fault = memory
        .fault_for_host_address(sys::to_usize(host_address))
        .ok_or(SandboxError::Protocol("a fault outside guest memory"))?;
    let (kind, argument) = match fault {
        Fault::Trap => (ExitKind::Trap, 0),
        Fault::PageFault(page) => (ExitKind::PageFault, page),
    };
    let context = memory.context_ptr();
    // SAFETY: the context is the first CONTEXT_SIZE bytes of the reservation, read-write in
    // the host's view; the fields are 4-byte aligned and inside it. The worker is idle.
    unsafe {
        write_u32(context, CTX_EXIT_KIND, kind.number());
        write_u32(context, CTX_EXIT_ARG, argument);
        write_u32(context, CTX_PC, pc);
    }
    Ok(())
}

/// Writes a `u32` context field.
///
/// # Safety
///
/// `context` must point to a live context.
unsafe fn write_u32(context: *mut u8, field: i32, value: u32) {
    let offset = usize::try_from(field).unwrap_or(0);
    // SAFETY: by the caller's contract; volatile because the memory is shared with
    // another process.
    unsafe { context.add(offset).cast::<u32>().write_volatile(value) };
}
