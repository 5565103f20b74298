//! The host's handle on one worker process: its memory and code files, the host's views
//! of them, and the command round trip.

use super::code::{WorkerCode, INT3};
use super::protocol::{
    Control, ProtectionChange, SetupStep, Signals, CODE_CAPACITY, COMMAND_PROTECT, COMMAND_RUN,
    COMMAND_SERIALIZE, CONTEXT_COMMAND_OFFSET, CONTEXT_STATE_OFFSET, CONTROL_FILE_OFFSET,
    MAX_PROTECTION_CHANGES, MEMORY_FILE_SIZE, PAGE_SIZE, PROT_NONE, RESERVATION_SIZE, STATE_BUSY,
    STATE_BUSY_HOST_SLEEPING, STATE_IDLE, STATE_IDLE_SLEEPING,
};
use super::spawn;
use super::sys::{self, Executable, Mapping, Process};
use crate::error::SandboxError;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::time::Instant;
use std::vec::Vec;

/// How long a new worker may take to report ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to spin waiting for the worker before sleeping, in time-stamp counter ticks:
/// adapted per worker between these bounds (about 1 and 90 microseconds at 2 GHz). A
/// round trip for an `ecalli` takes well under a microsecond, and spinning then saves two
/// system calls and a wake-up, so a run that completes while the host spins doubles the
/// budget. One that outlasts the budget but not the largest one (a worker that had to
/// be woken first, a short call) sets it to twice that run's time: halving it then would
/// leave the host asleep at every such run for good, each time paying a wake-up of tens
/// of microseconds where its processor halted. Only a run longer than that (a long
/// computation) halves it, so the host does not burn a core on every long run.
const MIN_SPIN_TICKS: u64 = 2_000;
const MAX_SPIN_TICKS: u64 = 200_000;

/// The first sleep while waiting for a worker; doubled up to [`MAX_SLEEP`]. Between
/// sleeps the host checks the worker is alive and the run within its timeout, so a dead
/// worker is noticed within a sleep.
const FIRST_SLEEP: Duration = Duration::from_millis(1);
const MAX_SLEEP: Duration = Duration::from_millis(50);

/// A page-aligned guest range with the protection the worker gives it (only ranges that
/// are not `PROT_NONE` are recorded).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct GuestRange {
    /// First byte (guest address).
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// `PROT_READ` or `PROT_READ_WRITE` (or `PROT_NONE` in a change).
    pub protection: u64,
}

/// A fault the worker's handler caught in guest code: the signal, the instruction address
/// and the data address, in the worker's address space (untrusted: the host checks them).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct FaultReport {
    pub signal: u64,
    pub code_address: u64,
    pub data_address: u64,
}

/// One worker process and the host's side of it.
pub(crate) struct Worker {
    // Declared first, dropped first: the process is killed before its files go.
    process: Process,
    memory_file: OwnedFd,
    /// The whole memory file, read-write: the reservation, then the control block.
    memory: Mapping,
    /// The code file, read-write (the worker maps it read-execute).
    code: Mapping,
    /// Kept so the code file outlives any question about its seals.
    _code_file: OwnedFd,
    /// Bytes at the start of the code file that may hold machine code (the rest is zero
    /// or `int3`).
    code_dirty: u64,
    /// The module whose code the code file holds.
    loaded: Option<u64>,
    /// New code was written since the worker last ran.
    serialize: bool,
    /// What the worker's guest range looks like now.
    protections: Vec<GuestRange>,
    /// The current spin budget (see [`MAX_SPIN_TICKS`]).
    spin_ticks: u64,
    /// The processor the worker is kept off (the calling thread's, when last checked).
    excluded_cpu: Option<usize>,
}

impl Worker {
    /// Starts a worker and waits until it is ready.
    pub(crate) fn start() -> Result<Worker, SandboxError> {
        let memory_file =
            sys::memory_file(c"pvm-sandbox-memory", MEMORY_FILE_SIZE, Executable::No)?;
        sys::seal(
            &memory_file,
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW,
        )?;
        let memory = Mapping::shared(&memory_file, 0, MEMORY_FILE_SIZE)?;
        let code_file = sys::memory_file(c"pvm-sandbox-code", CODE_CAPACITY, Executable::No)?;
        let code = Mapping::shared(&code_file, 0, CODE_CAPACITY)?;
        // From here on no one can map the code file writable: the worker's read-execute
        // mapping can never be made writable. Our mapping above stays writable.
        sys::seal(
            &code_file,
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_FUTURE_WRITE,
        )?;
        // Start-up counts as the first command: the worker completes it when ready.
        signals_at(&memory)
            .state
            .store(STATE_BUSY, Ordering::Release);
        let process = spawn::spawn(&memory_file, &code_file, control_at(&memory))?;
        let mut worker = Worker {
            process,
            memory_file,
            memory,
            code,
            _code_file: code_file,
            code_dirty: 0,
            loaded: None,
            serialize: false,
            protections: Vec::new(),
            spin_ticks: MAX_SPIN_TICKS,
            excluded_cpu: None,
        };
        LIVE.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        match worker.wait(Some((deadline, STARTUP_TIMEOUT))) {
            Ok(()) => Ok(worker),
            Err(error) => {
                let control = worker.control();
                let step = control.setup_step.load(Ordering::Acquire);
                let errno = control.setup_errno.load(Ordering::Relaxed);
                let errno = i32::try_from(errno).unwrap_or(i32::MAX);
                match SetupStep::from_u32(step) {
                    Some(SetupStep::Execute) if errno == libc::EACCES => {
                        Err(SandboxError::Unavailable(
                            "the kernel refuses to execute the worker image from a memory file \
                             (EACCES): `vm.memfd_noexec` is 2, or a security module forbids it"
                                .into(),
                        ))
                    }
                    Some(step) => Err(SandboxError::Setup {
                        step: step.describe(),
                        errno,
                    }),
                    None => Err(error),
                }
            }
        }
    }

    /// The pid of the worker process, in the host's PID namespace.
    pub(crate) fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// Whether the process is still there (checked without waiting).
    pub(crate) fn is_alive(&mut self) -> bool {
        self.process.ended().is_none()
    }

    fn control(&self) -> &Control {
        control_at(&self.memory)
    }

    fn signals(&self) -> &Signals {
        signals_at(&self.memory)
    }

    /// The host's read-write view of the reservation (context, guest range, guard).
    pub(crate) fn reservation_view(&self) -> NonNull<u8> {
        self.memory.start()
    }

    /// The module whose code the worker holds, if any.
    pub(crate) fn loaded(&self) -> Option<u64> {
        self.loaded
    }

    /// Puts `code` into the code file, unless it is there already.
    pub(crate) fn load(&mut self, code: &WorkerCode) {
        let control = self.control();
        control
            .entry_address
            .store(code.entry_address(), Ordering::Relaxed);
        control
            .exit_address
            .store(code.exit_address(), Ordering::Relaxed);
        control.code_end.store(code.code_end(), Ordering::Relaxed);
        if self.loaded == Some(code.id()) {
            return;
        }
        let view = self.code.start().as_ptr();
        let machine_code = code.code();
        let table_at = code.jump_table_offset();
        let table = code.jump_table_bytes();
        let end = table_at + table.len();
        debug_assert!(
            sys::to_u64(end) <= CODE_CAPACITY && machine_code.len() <= table_at,
            "checked by WorkerCode::new"
        );
        // SAFETY: the code view is CODE_CAPACITY writable bytes, and `end` (the code, the
        // padding up to the table and the table) is within it; code and table are host
        // allocations outside it. The worker is idle (between commands): it executes
        // nothing in this file until the next run, which serializes first.
        unsafe {
            core::ptr::copy_nonoverlapping(machine_code.as_ptr(), view, machine_code.len());
            core::ptr::write_bytes(
                view.add(machine_code.len()),
                INT3,
                table_at - machine_code.len(),
            );
            core::ptr::copy_nonoverlapping(table.as_ptr(), view.add(table_at), table.len());
            let dirty = sys::to_usize(self.code_dirty);
            if dirty > end {
                // Nothing of an earlier module stays executable.
                core::ptr::write_bytes(view.add(end), INT3, dirty - end);
            }
        }
        self.code_dirty = sys::to_u64(end);
        self.loaded = Some(code.id());
        self.serialize = true;
    }

    /// Keeps the worker off the processor the calling thread runs on (its affinity is
    /// every other processor), so that each can spin waiting for the other without taking
    /// the processor the other needs: the scheduler would otherwise often wake the worker
    /// on the waker's processor. Costs a system call only when the calling thread has
    /// moved. Where only one processor is available there is nothing to do (and the host
    /// does not spin: it would only delay the worker).
    pub(crate) fn keep_apart(&mut self) {
        let cpus = allowed_cpus();
        if cpus.len() < 2 {
            return;
        }
        // SAFETY: sched_getcpu takes no arguments (a vDSO call on x86-64).
        let Ok(current) = usize::try_from(unsafe { libc::sched_getcpu() }) else {
            return;
        };
        if self.excluded_cpu == Some(current) {
            return;
        }
        // Anywhere but here: the scheduler still balances the worker over the others.
        // SAFETY: all zeroes is an empty CPU set.
        let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
        for &cpu in cpus.iter().filter(|&&cpu| cpu != current) {
            // SAFETY: `cpu` is below CPU_SETSIZE (see `allowed_cpus`).
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        // SAFETY: sets the affinity of our own child (same user) from a valid set. It fails
        // only where a cpuset allows the worker no processor of the set: then it stays
        // where the scheduler puts it, which is only slower.
        let result = unsafe {
            libc::sched_setaffinity(self.pid(), core::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        self.excluded_cpu = (result == 0).then_some(current);
    }

    /// Applies `desired` protections (if given) and runs the loaded code from the
    /// context's resume address until it exits; returns the fault that stopped it, if
    /// one did. `timeout` bounds the whole call.
    pub(crate) fn run(
        &mut self,
        desired: Option<&[GuestRange]>,
        timeout: Option<Duration>,
    ) -> Result<Option<FaultReport>, SandboxError> {
        let deadline = timeout.map(|timeout| (Instant::now() + timeout, timeout));
        let changes = match desired {
            Some(desired) => changes(&self.protections, desired),
            None => Vec::new(),
        };
        let mut chunks = changes.chunks(MAX_PROTECTION_CHANGES).peekable();
        loop {
            let chunk = chunks.next().unwrap_or(&[]);
            let last = chunks.peek().is_none();
            let mut command = 0;
            if !chunk.is_empty() {
                self.write_changes(chunk);
                self.control().protection_errno.store(0, Ordering::Relaxed);
                command |= COMMAND_PROTECT;
            }
            if last {
                command |= COMMAND_RUN;
                if self.serialize {
                    command |= COMMAND_SERIALIZE;
                }
            }
            self.post(command)?;
            self.wait(deadline)?;
            let errno = self.control().protection_errno.load(Ordering::Relaxed);
            if errno != 0 {
                return Err(SandboxError::Os {
                    call: "mprotect in the worker",
                    errno: i32::try_from(errno).unwrap_or(i32::MAX),
                });
            }
            if last {
                break;
            }
        }
        self.serialize = false;
        if let Some(desired) = desired {
            self.protections.clear();
            self.protections.extend_from_slice(desired);
        }
        let control = self.control();
        let signal = control.fault_signal.load(Ordering::Relaxed);
        if signal == 0 {
            return Ok(None);
        }
        // Cleared here, not by the worker before each run: its writes would move the
        // cache line the host spins on.
        control.fault_signal.store(0, Ordering::Relaxed);
        Ok(Some(FaultReport {
            signal,
            code_address: control.fault_address_code.load(Ordering::Relaxed),
            data_address: control.fault_address_data.load(Ordering::Relaxed),
        }))
    }

    fn write_changes(&self, changes: &[GuestRange]) {
        let control = self.control();
        for (slot, change) in control.protections.iter().zip(changes) {
            let ProtectionChange {
                guest_address,
                length,
                protection,
            } = slot;
            guest_address.store(change.start, Ordering::Relaxed);
            length.store(change.end - change.start, Ordering::Relaxed);
            protection.store(change.protection, Ordering::Relaxed);
        }
        control.protection_count.store(
            u32::try_from(changes.len()).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
    }

    /// Tells the worker a command follows soon: a sleeping worker is woken now and spins
    /// (see the worker's `wait_for_command`), so the command does not wait for its
    /// wake-up, which costs tens of microseconds where its processor has halted. Called
    /// when an instance takes the worker, before the work (copying the code, building
    /// the guest's memory) that the wake-up then overlaps.
    pub(crate) fn nudge(&self) {
        let state = &self.signals().state;
        if state
            .compare_exchange(
                STATE_IDLE_SLEEPING,
                STATE_IDLE,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            sys::futex_wake(state);
        }
    }

    /// Posts `command`, waking the worker if it sleeps.
    fn post(&self, command: u32) -> Result<(), SandboxError> {
        let signals = self.signals();
        signals.command.store(command, Ordering::Relaxed);
        // Release: the command, the context and guest memory are visible to the worker
        // once it sees BUSY.
        match signals.state.swap(STATE_BUSY, Ordering::AcqRel) {
            STATE_IDLE => Ok(()),
            STATE_IDLE_SLEEPING => {
                sys::futex_wake(&signals.state);
                Ok(())
            }
            _ => Err(SandboxError::Protocol(
                "the worker was not waiting for a command",
            )),
        }
    }

    /// Waits for the worker to complete the posted command: spins a while, then sleeps,
    /// checking between sleeps that the worker lives and `deadline` has not passed (then
    /// the worker is killed).
    fn wait(&mut self, deadline: Option<(Instant, Duration)>) -> Result<(), SandboxError> {
        let start = timestamp();
        let budget = if allowed_cpus().len() < 2 {
            0
        } else {
            self.spin_ticks
        };
        while timestamp().wrapping_sub(start) < budget {
            // Acquire: what the worker wrote before completing is visible.
            if is_idle(self.signals().state.load(Ordering::Acquire)) {
                self.spin_ticks = (self.spin_ticks * 2).min(MAX_SPIN_TICKS);
                return Ok(());
            }
            core::hint::spin_loop();
        }
        let result = self.sleep_until_idle(deadline);
        let waited = timestamp().wrapping_sub(start);
        self.spin_ticks = if waited <= MAX_SPIN_TICKS {
            waited
                .saturating_mul(2)
                .clamp(MIN_SPIN_TICKS, MAX_SPIN_TICKS)
        } else {
            (self.spin_ticks / 2).max(MIN_SPIN_TICKS)
        };
        result
    }

    /// The sleeping half of [`Worker::wait`].
    fn sleep_until_idle(
        &mut self,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(), SandboxError> {
        let mut sleep = FIRST_SLEEP;
        loop {
            let signals = self.signals();
            match signals.state.compare_exchange(
                STATE_BUSY,
                STATE_BUSY_HOST_SLEEPING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) | Err(STATE_BUSY_HOST_SLEEPING) => {}
                Err(state) if is_idle(state) => return Ok(()),
                Err(_) => return Err(SandboxError::Protocol("an unknown state")),
            }
            let mut nap = sleep;
            if let Some((deadline, _)) = deadline {
                nap = nap.min(deadline.saturating_duration_since(Instant::now()));
            }
            sys::futex_wait(&signals.state, STATE_BUSY_HOST_SLEEPING, nap);
            if is_idle(signals.state.load(Ordering::Acquire)) {
                return Ok(());
            }
            if let Some(ended) = self.process.ended() {
                return Err(ended.into_error());
            }
            if let Some((deadline, timeout)) = deadline {
                if Instant::now() >= deadline {
                    self.process.kill();
                    return Err(SandboxError::Timeout {
                        millis: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    });
                }
            }
            sleep = (sleep * 2).min(MAX_SLEEP);
        }
    }

    /// Erases everything the last guest left in the memory file (context, guest memory),
    /// so nothing carries over to the next instance. Pages are zeroed in place while
    /// there are at most `retain` bytes of them, and freed otherwise: a page the next
    /// instance touches again then costs no fault in the worker (a fresh page of a memory
    /// file costs about 2 µs there, zeroing one about 0.1 µs), at the price of that memory
    /// staying with the idle worker. The worker's protections stay: the next instance of
    /// the same module needs the same ones.
    pub(crate) fn wipe(&mut self, retain: u64) -> Result<(), SandboxError> {
        // The context's first page holds the signal words the idle worker waits on:
        // cleared around them instead of freed.
        let view = self.memory.start().as_ptr();
        let (state, end) = (
            sys::to_usize(CONTEXT_STATE_OFFSET),
            sys::to_usize(CONTEXT_COMMAND_OFFSET + 4),
        );
        // SAFETY: the first page of the view is read-write memory of the file; the ranges
        // leave out the 8 bytes of the signal words, which the worker reads concurrently.
        unsafe {
            core::ptr::write_bytes(view, 0, state);
            core::ptr::write_bytes(view.add(end), 0, sys::to_usize(PAGE_SIZE) - end);
        }
        let extents = sys::data_extents(&self.memory_file, PAGE_SIZE, RESERVATION_SIZE)?;
        let held: u64 = extents.iter().map(|(start, end)| end - start).sum();
        if held > retain {
            return sys::punch_hole(&self.memory_file, PAGE_SIZE, RESERVATION_SIZE - PAGE_SIZE);
        }
        for (start, end) in extents {
            // SAFETY: the extent lies in the reservation part of the view (read-write
            // memory of the file, below RESERVATION_SIZE); the worker is idle.
            unsafe {
                core::ptr::write_bytes(
                    view.add(sys::to_usize(start)),
                    0,
                    sys::to_usize(end - start),
                );
            }
        }
        Ok(())
    }

    /// Kills the process now.
    pub(crate) fn kill(&mut self) {
        self.process.kill();
    }
}

/// The processors workers may be pinned to: the online ones (read once). Not the calling
/// thread's affinity, which the host (or a library such as polkavm, which pins threads)
/// may have narrowed to one processor; a cpuset that forbids some is found out by
/// `sched_setaffinity` failing.
fn allowed_cpus() -> &'static [usize] {
    static CPUS: OnceLock<Vec<usize>> = OnceLock::new();
    CPUS.get_or_init(|| {
        // SAFETY: sysconf reads a system constant.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        let limit = usize::try_from(libc::CPU_SETSIZE).unwrap_or(0);
        (0..usize::try_from(online).unwrap_or(1).min(limit)).collect()
    })
}

/// Whether the worker has completed the command: it waits for the next one (and may have
/// gone to sleep already).
fn is_idle(state: u32) -> bool {
    state == STATE_IDLE || state == STATE_IDLE_SLEEPING
}

/// Workers alive in this process (idle or in use).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many workers are alive in this process, idle or in use.
pub(crate) fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

impl Drop for Worker {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The signal words in a memory file's mapping (in the context).
fn signals_at(memory: &Mapping) -> &Signals {
    // SAFETY: the mapping starts with the context, which holds the signal words at this
    // 4-byte aligned offset; they live as long as the mapping and are atomics (the worker
    // writes them concurrently).
    unsafe {
        &*memory
            .start()
            .as_ptr()
            .add(sys::to_usize(CONTEXT_STATE_OFFSET))
            .cast::<Signals>()
    }
}

/// The control block in a memory file's mapping.
fn control_at(memory: &Mapping) -> &Control {
    debug_assert!(memory.len() >= sys::to_usize(MEMORY_FILE_SIZE));
    // SAFETY: the mapping covers the whole memory file, page-aligned, so the control block
    // at CONTROL_FILE_OFFSET is in it and aligned; it lives as long as the mapping, and
    // every field is an atomic (the worker writes it concurrently).
    unsafe {
        &*memory
            .start()
            .as_ptr()
            .add(sys::to_usize(CONTROL_FILE_OFFSET))
            .cast::<Control>()
    }
}

fn timestamp() -> u64 {
    // SAFETY: `rdtsc` reads the time-stamp counter and has no other effect.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The changes that turn `current` into `desired` (both sorted, disjoint, without
/// `PROT_NONE` ranges): every maximal range whose protection differs, with its new
/// protection (`PROT_NONE` where `desired` has nothing).
pub(crate) fn changes(current: &[GuestRange], desired: &[GuestRange]) -> Vec<GuestRange> {
    let mut bounds: Vec<u64> = current
        .iter()
        .chain(desired)
        .flat_map(|range| [range.start, range.end])
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let protection_at = |ranges: &[GuestRange], address: u64| {
        let after = ranges.partition_point(|range| range.start <= address);
        after
            .checked_sub(1)
            .map(|index| ranges[index])
            .filter(|range| address < range.end)
            .map_or(PROT_NONE, |range| range.protection)
    };
    let mut changes: Vec<GuestRange> = Vec::new();
    for pair in bounds.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let wanted = protection_at(desired, start);
        if protection_at(current, start) == wanted {
            continue;
        }
        match changes.last_mut() {
            Some(last) if last.end == start && last.protection == wanted => last.end = end,
            _ => changes.push(GuestRange {
                start,
                end,
                protection: wanted,
            }),
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::super::protocol::{PROT_READ, PROT_READ_WRITE};
    use super::*;

    fn range(start: u64, end: u64, protection: u64) -> GuestRange {
        GuestRange {
            start,
            end,
            protection,
        }
    }

    #[test]
    fn changes_are_the_differences_only() {
        let rw = PROT_READ_WRITE;
        let layout = [
            range(0x10000, 0x20000, PROT_READ),
            range(0x30000, 0x40000, rw),
        ];
        assert_eq!(changes(&layout, &layout), []);
        assert_eq!(changes(&[], &layout), layout);
        assert_eq!(
            changes(&layout, &[]),
            [
                range(0x10000, 0x20000, PROT_NONE),
                range(0x30000, 0x40000, PROT_NONE)
            ]
        );
        // The heap grows: only the new pages.
        let grown = [
            range(0x10000, 0x20000, PROT_READ),
            range(0x30000, 0x48000, rw),
        ];
        assert_eq!(changes(&layout, &grown), [range(0x40000, 0x48000, rw)]);
        assert_eq!(
            changes(&grown, &layout),
            [range(0x40000, 0x48000, PROT_NONE)]
        );
        // A region changes protection and another moves.
        let other = [range(0x10000, 0x20000, rw), range(0x38000, 0x40000, rw)];
        assert_eq!(
            changes(&layout, &other),
            [
                range(0x10000, 0x20000, rw),
                range(0x30000, 0x38000, PROT_NONE)
            ]
        );
    }
}
