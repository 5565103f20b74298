//! The engine's error type.

use crate::memory::LayoutError;
use crate::program::{MemoryMapError, ProgramError};
use alloc::string::String;
use core::fmt;

/// Everything the engine API can refuse.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Error {
    /// The program blob is malformed.
    Program(ProgramError),
    /// The memory layout cannot be built.
    MemoryMap(MemoryMapError),
    /// Instantiating would exceed the configured memory limit.
    MemoryLimit {
        /// Bytes needed.
        required: u64,
        /// The limit.
        limit: u64,
    },
    /// No export has this symbol.
    UnknownExport(String),
    /// More call arguments than argument registers.
    TooManyArguments {
        /// Arguments given.
        given: usize,
        /// Registers available.
        limit: usize,
    },
    /// `run()` was called with no program counter to continue from (nothing prepared,
    /// or the last run ended with `Finished`, `Trap` or a page fault).
    NotRunnable,
    /// A host memory access touched unmapped memory.
    MemoryAccess {
        /// Start of the access.
        address: u32,
        /// Its length.
        length: usize,
        /// The first unmapped byte.
        first_unmapped: u32,
    },
    /// The requested backend is not available on this host or build.
    BackendUnavailable(&'static str),
    /// A custom memory layout maps a range it may not.
    InvalidPageMapping {
        /// Start of the mapping.
        address: u32,
        /// Its length.
        length: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A memory layout is inconsistent, or its initial contents do not fit it.
    Layout(LayoutError),
    /// The JIT backend could not compile, map or run a module (an OS call failed, or the
    /// guest address space could not be built); the message says which and why.
    Jit(String),
    /// Crosscheck mode: the JIT and the interpreter disagreed; the message names the first
    /// difference (interrupt, pc, gas, a register or a memory byte) and both values.
    Divergence(String),
    /// The Linux process sandbox could not start a worker, or the worker running this
    /// instance failed (it crashed, was killed, hung past the timeout, or broke the
    /// protocol). The host and other instances are unaffected; this instance cannot run
    /// any more.
    Sandbox(SandboxError),
}

/// What went wrong with a Linux sandbox worker.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SandboxError {
    /// This host cannot run sandbox workers (the kernel forbids a namespace, a system call
    /// is filtered, ...); the message says what failed and how to fix it.
    Unavailable(String),
    /// A worker failed to start: the step and the errno it failed with.
    Setup {
        /// What the step does.
        step: &'static str,
        /// The errno (0 if unknown).
        errno: i32,
    },
    /// The worker process died while running the instance: killed by `signal`
    /// (`SIGSYS` (31) for a forbidden system call, `SIGKILL` (9) when killed from
    /// outside), or exited with `status`.
    WorkerDied {
        /// The signal that ended it, if one did.
        signal: Option<i32>,
        /// Its exit status, if it exited.
        status: Option<i32>,
    },
    /// A run took longer than the configured timeout; the worker was killed.
    Timeout {
        /// The timeout, in milliseconds.
        millis: u64,
    },
    /// The worker reported something no honest worker reports; it was killed.
    Protocol(&'static str),
    /// The host could not make an OS call the sandbox needs.
    Os {
        /// The call.
        call: &'static str,
        /// Its errno.
        errno: i32,
    },
    /// A module's machine code and jump table do not fit a worker's code area.
    CodeTooLarge {
        /// Bytes needed.
        bytes: u64,
        /// Bytes of the code area.
        capacity: u64,
    },
    /// This instance's worker failed earlier (see the error that run returned).
    WorkerGone,
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::Unavailable(why) => {
                write!(f, "the Linux sandbox is not available on this host: {why}")
            }
            SandboxError::Setup { step, errno } => {
                write!(f, "a sandbox worker failed to start while {step} (errno {errno})")
            }
            SandboxError::WorkerDied {
                signal: Some(signal),
                ..
            } => write!(
                f,
                "the sandbox worker was killed by signal {signal}{}",
                if *signal == 31 {
                    " (SIGSYS: a system call its seccomp filter forbids)"
                } else {
                    ""
                }
            ),
            SandboxError::WorkerDied { status, .. } => match status {
                Some(status) => write!(
                    f,
                    "the sandbox worker exited with status {status}{}",
                    match status {
                        100 => " (a fault outside guest code)",
                        101 => " (the worker panicked)",
                        65..=79 => " (a start-up step failed)",
                        _ => "",
                    }
                ),
                None => write!(f, "the sandbox worker is gone"),
            },
            SandboxError::Timeout { millis } => write!(
                f,
                "the sandbox worker ran for more than the {millis} ms timeout and was killed"
            ),
            SandboxError::Protocol(what) => {
                write!(f, "the sandbox worker broke the protocol ({what}) and was killed")
            }
            SandboxError::Os { call, errno } => {
                write!(f, "{call} failed for the sandbox (errno {errno})")
            }
            SandboxError::CodeTooLarge { bytes, capacity } => write!(
                f,
                "{bytes} bytes of machine code and jump table do not fit a sandbox worker's code area of {capacity} bytes"
            ),
            SandboxError::WorkerGone => {
                write!(f, "this instance's sandbox worker failed earlier")
            }
        }
    }
}

impl From<SandboxError> for Error {
    fn from(error: SandboxError) -> Self {
        Error::Sandbox(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Program(error) => write!(f, "invalid program: {error}"),
            Error::MemoryMap(error) => write!(f, "invalid memory layout: {error}"),
            Error::MemoryLimit { required, limit } => {
                write!(f, "the program needs {required} bytes of memory, the limit is {limit}")
            }
            Error::UnknownExport(name) => write!(f, "the program has no export named {name:?}"),
            Error::TooManyArguments { given, limit } => {
                write!(f, "{given} call arguments, at most {limit} fit in registers")
            }
            Error::NotRunnable => write!(f, "nothing to run: prepare a call or set the program counter first"),
            Error::MemoryAccess {
                address,
                length,
                first_unmapped,
            } => write!(
                f,
                "host access of {length} bytes at {address:#x} touches unmapped memory at {first_unmapped:#x}"
            ),
            Error::BackendUnavailable(name) => write!(f, "the {name} backend is not available here"),
            Error::InvalidPageMapping {
                address,
                length,
                reason,
            } => write!(f, "page mapping of {length:#x} bytes at {address:#x}: {reason}"),
            Error::Layout(error) => write!(f, "invalid memory layout: {error}"),
            Error::Jit(message) => write!(f, "JIT backend: {message}"),
            Error::Divergence(message) => {
                write!(f, "crosscheck: the JIT diverged from the interpreter: {message}")
            }
            Error::Sandbox(error) => write!(f, "{error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl From<ProgramError> for Error {
    fn from(error: ProgramError) -> Self {
        Error::Program(error)
    }
}

impl From<LayoutError> for Error {
    fn from(error: LayoutError) -> Self {
        match error {
            LayoutError::MemoryLimitExceeded { required, limit } => {
                Error::MemoryLimit { required, limit }
            }
            LayoutError::InvalidPageMapping {
                address,
                length,
                reason,
            } => Error::InvalidPageMapping {
                address,
                length,
                reason,
            },
            other => Error::Layout(other),
        }
    }
}

impl From<MemoryMapError> for Error {
    fn from(error: MemoryMapError) -> Self {
        Error::MemoryMap(error)
    }
}
