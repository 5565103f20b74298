//! What the host and the sandbox worker agree on: where things live in the worker's
//! address space and in the memory file they share, the control block, and the signalling
//! states. Compiled into both (the worker includes this file by path), so it uses `core`
//! only and names nothing else of the crate.
//!
//! # The memory file
//!
//! One memory file per worker, mapped by both processes:
//!
//! ```text
//!  file offset 0        CONTEXT_SIZE                         RESERVATION_SIZE
//!  [ VM context ][ guest address 0 .. 2^32 ][ trailing guard ][ control block ]
//!  worker: WORKER_CONTEXT_ADDRESS, WORKER_GUEST_BASE = + CONTEXT_SIZE   WORKER_CONTROL_ADDRESS
//! ```
//!
//! The first `RESERVATION_SIZE` bytes are the same reservation the in-process sandbox
//! builds (context, guest range, guard), so generated code cannot tell the two apart. The
//! worker maps it with the guest's protections (everything `PROT_NONE` until the host
//! says otherwise); the host maps it read-write and decides by its own bookkeeping what
//! it touches. The control block is read-write in both.
//!
//! # Signalling
//!
//! The state word at [`CONTEXT_STATE_OFFSET`] of the context is a futex word. The host
//! posts a command (the word at [`CONTEXT_COMMAND_OFFSET`]) by swapping in
//! [`STATE_BUSY`] (and wakes the worker only if it was asleep); the worker reports
//! completion by swapping in [`STATE_IDLE`] (and wakes the host only if it was asleep).
//! Each side spins for a while before it sleeps, so a quick round trip (an `ecalli`) makes
//! no system call at all. Both words share a cache line with the exit fields generated
//! code writes (kind, argument, pc): between processes on different cores, every cache
//! line that changes hands costs the better part of a microsecond on a virtual machine,
//! and this way a round trip moves that line once each way (plus the registers the host
//! uses beyond a0..a4, which share the line too).

use core::sync::atomic::{AtomicU32, AtomicU64};

/// Bytes of a page, here and in the guest layout.
pub const PAGE_SIZE: u64 = 0x1000;
/// Bytes of the VM context below guest address 0 (the sandbox's `CONTEXT_SIZE`).
pub const CONTEXT_SIZE: u64 = 0x4000;
/// Bytes of guest address space.
pub const GUEST_SIZE: u64 = 1 << 32;
/// Bytes of never-accessible guard after the guest range (the sandbox's
/// `TRAILING_GUARD_SIZE`).
pub const TRAILING_GUARD_SIZE: u64 = 0x10000;
/// Bytes of context, guest range and guard: the part of the memory file laid out as the
/// in-process reservation.
pub const RESERVATION_SIZE: u64 = CONTEXT_SIZE + GUEST_SIZE + TRAILING_GUARD_SIZE;
/// Bytes of the control block.
pub const CONTROL_SIZE: u64 = 0x4000;
/// Where the control block starts in the memory file.
pub const CONTROL_FILE_OFFSET: u64 = RESERVATION_SIZE;
/// Bytes of the memory file.
pub const MEMORY_FILE_SIZE: u64 = RESERVATION_SIZE + CONTROL_SIZE;

/// Where the control block is mapped in the worker.
pub const WORKER_CONTROL_ADDRESS: u64 = 0x2000_0000_0000;
/// Where guest address 0 is in the worker (4 GiB aligned, for legible addresses).
pub const WORKER_GUEST_BASE: u64 = 0x2002_0000_0000;
/// Where the context (and the memory file) starts in the worker.
pub const WORKER_CONTEXT_ADDRESS: u64 = WORKER_GUEST_BASE - CONTEXT_SIZE;
/// Where the compiled code is mapped in the worker, read-execute.
pub const WORKER_CODE_ADDRESS: u64 = 0x3000_0000_0000;
/// Bytes of the code file (and of its mapping in the worker): compiled code plus its jump
/// table. Only the pages written take memory.
pub const CODE_CAPACITY: u64 = 512 << 20;

/// Where the state word (a `u32` futex word, one of the `STATE_*` values) is in the
/// context: the JIT's `CTX_SANDBOX_STATE`.
pub const CONTEXT_STATE_OFFSET: u64 = 0;
/// Where the command word (a `u32` of `COMMAND_*` bits) is in the context: the JIT's
/// `CTX_SANDBOX_COMMAND`.
pub const CONTEXT_COMMAND_OFFSET: u64 = 4;

/// The worker's descriptor of the memory file (until it has mapped it).
pub const FD_MEMORY: i32 = 3;
/// The worker's descriptor of the code file (until it has mapped it).
pub const FD_CODE: i32 = 4;

/// The worker waits for a command (spinning).
pub const STATE_IDLE: u32 = 1;
/// The worker waits for a command, asleep in `futex_wait`: posting must wake it.
pub const STATE_IDLE_SLEEPING: u32 = 2;
/// A command is posted; the worker works on it.
pub const STATE_BUSY: u32 = 3;
/// A command is posted and the host sleeps in `futex_wait`: completing must wake it.
pub const STATE_BUSY_HOST_SLEEPING: u32 = 4;

/// Command bit: apply [`Control::protections`] first.
pub const COMMAND_PROTECT: u32 = 1 << 0;
/// Command bit: execute a serializing instruction before running (new code was written
/// into the code file since the worker last ran).
pub const COMMAND_SERIALIZE: u32 = 1 << 1;
/// Command bit: call the entry trampoline at [`Control::entry_address`] with the context.
pub const COMMAND_RUN: u32 = 1 << 2;

/// `PROT_NONE`.
pub const PROT_NONE: u64 = 0;
/// `PROT_READ`.
pub const PROT_READ: u64 = 1;
/// `PROT_READ | PROT_WRITE`.
pub const PROT_READ_WRITE: u64 = 3;

/// Protection changes one command can carry; more go in several commands.
pub const MAX_PROTECTION_CHANGES: usize = 640;

/// The state and command words, at [`CONTEXT_STATE_OFFSET`] of the context.
#[repr(C)]
pub struct Signals {
    /// The futex word: one of the `STATE_*` values.
    pub state: AtomicU32,
    /// Host to worker: the `COMMAND_*` bits of the posted command.
    pub command: AtomicU32,
}

const _: () = assert!(CONTEXT_COMMAND_OFFSET == CONTEXT_STATE_OFFSET + 4);

/// A change of protection of guest pages in the worker.
#[repr(C)]
pub struct ProtectionChange {
    /// First byte, as a guest address (page-aligned).
    pub guest_address: AtomicU64,
    /// Bytes (page-aligned, not zero).
    pub length: AtomicU64,
    /// [`PROT_NONE`], [`PROT_READ`] or [`PROT_READ_WRITE`].
    pub protection: AtomicU64,
}

/// The control block: what a command needs besides the context. Every field is an
/// atomic: the other side may be hostile and write at any time, so neither reads anything
/// it has not synchronised on through the state word, and the host checks what it reads.
#[repr(C)]
pub struct Control {
    /// Host to worker: how many entries of [`protections`](Self::protections) apply.
    pub protection_count: AtomicU32,
    /// Worker to host: 0, or the errno of the first protection change that failed (then
    /// nothing ran). The host clears it before posting protection changes.
    pub protection_errno: AtomicU32,
    /// Host to worker: the entry trampoline's address in the worker.
    pub entry_address: AtomicU64,
    /// Host to worker: the exit path's address in the worker (where a fault continues).
    pub exit_address: AtomicU64,
    /// Host to worker: one past the last byte of code that may fault (the fault handler
    /// ignores nothing else).
    pub code_end: AtomicU64,
    /// Worker to host: 0, or the signal that interrupted guest code in the last run. The
    /// host clears it after reading a fault.
    pub fault_signal: AtomicU64,
    /// Worker to host: the instruction address of that fault.
    pub fault_address_code: AtomicU64,
    /// Worker to host: the data address of that fault (`si_addr`).
    pub fault_address_data: AtomicU64,
    /// Worker to host, at start-up: the [`SetupStep`] that failed (0 for none).
    pub setup_step: AtomicU32,
    /// Worker to host, at start-up: the errno of that step.
    pub setup_errno: AtomicU32,
    /// Host to worker: protection changes, applied in order.
    pub protections: [ProtectionChange; MAX_PROTECTION_CHANGES],
}

// (The worker has no `cast` module: these compile-time checks and `SetupStep`'s
// discriminants are the protocol's only `as`, each exact.)
#[allow(clippy::as_conversions)]
const _: () = assert!(core::mem::size_of::<Control>() as u64 <= CONTROL_SIZE);
const _: () = assert!(WORKER_CONTEXT_ADDRESS + RESERVATION_SIZE <= WORKER_CODE_ADDRESS);
const _: () = assert!(WORKER_CONTROL_ADDRESS + CONTROL_SIZE <= WORKER_CONTEXT_ADDRESS);

/// The start-up steps of a worker, before and after it executes its own image; a failed
/// step is reported in [`Control::setup_step`] with its errno, then the process exits.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum SetupStep {
    /// Closing the host's end of the lifetime pipe, or finding the host already gone.
    ParentGone = 1,
    /// `prctl(PR_SET_PDEATHSIG)`.
    DeathSignal = 2,
    /// Making the mount tree private to the worker's mount namespace.
    PrivateMounts = 3,
    /// Mounting an empty read-only tmpfs.
    MountEmptyRoot = 4,
    /// `pivot_root` into it and detaching the old root.
    PivotRoot = 5,
    /// Setting resource limits.
    ResourceLimits = 6,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`.
    NoNewPrivileges = 7,
    /// Moving the memory and code files to their descriptor numbers, closing the rest.
    Descriptors = 8,
    /// Executing the worker image.
    Execute = 9,
    /// (In the worker.) Mapping the memory file.
    MapMemory = 10,
    /// (In the worker.) Mapping the code file.
    MapCode = 11,
    /// (In the worker.) Installing the fault handler and its stack.
    FaultHandler = 12,
    /// (In the worker.) Closing every descriptor and forbidding new ones.
    CloseDescriptors = 13,
    /// (In the worker.) `prctl(PR_SET_DUMPABLE, 0)`.
    NotDumpable = 14,
    /// (In the worker.) Installing the seccomp filter.
    Seccomp = 15,
}

impl SetupStep {
    /// The step with this number.
    pub fn from_u32(value: u32) -> Option<SetupStep> {
        use SetupStep as S;
        const ALL: [SetupStep; 15] = [
            S::ParentGone,
            S::DeathSignal,
            S::PrivateMounts,
            S::MountEmptyRoot,
            S::PivotRoot,
            S::ResourceLimits,
            S::NoNewPrivileges,
            S::Descriptors,
            S::Execute,
            S::MapMemory,
            S::MapCode,
            S::FaultHandler,
            S::CloseDescriptors,
            S::NotDumpable,
            S::Seccomp,
        ];
        ALL.into_iter().find(|step| step.number() == value)
    }

    /// The step's number (its discriminant).
    #[allow(clippy::as_conversions)]
    pub fn number(self) -> u32 {
        self as u32
    }

    /// What the step does, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            SetupStep::ParentGone => "checking the host is alive",
            SetupStep::DeathSignal => "asking to die with the host (PR_SET_PDEATHSIG)",
            SetupStep::PrivateMounts => "making the mount tree private",
            SetupStep::MountEmptyRoot => "mounting an empty root file system",
            SetupStep::PivotRoot => "switching to the empty root (pivot_root)",
            SetupStep::ResourceLimits => "setting resource limits",
            SetupStep::NoNewPrivileges => "setting PR_SET_NO_NEW_PRIVS",
            SetupStep::Descriptors => "arranging file descriptors",
            SetupStep::Execute => "executing the worker image (execveat)",
            SetupStep::MapMemory => "mapping the memory file",
            SetupStep::MapCode => "mapping the code file",
            SetupStep::FaultHandler => "installing the fault handler",
            SetupStep::CloseDescriptors => "closing file descriptors",
            SetupStep::NotDumpable => "making the process non-dumpable",
            SetupStep::Seccomp => "installing the seccomp filter",
        }
    }
}

// The exit statuses are the worker's; the host reports them as numbers, explained in
// `SandboxError`'s messages.

/// Exit status of a worker that failed a [`SetupStep`] (the step is added).
pub const EXIT_SETUP_FAILED: i32 = 64;
/// Exit status of a worker whose fault handler saw a fault outside guest code.
#[allow(dead_code)]
pub const EXIT_FAULT_OUTSIDE_GUEST: i32 = 100;
/// Exit status of a worker that panicked (a bug in the worker).
#[allow(dead_code)]
pub const EXIT_PANIC: i32 = 101;
