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
