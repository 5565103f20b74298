//! The values that cross the runtime/host boundary, SCALE-encoded.

use alloc::vec::Vec;
use codec::{Decode, Encode};

/// Identifies a compiled module inside one engine session. Ids are handed out by a counter,
/// so the same sequence of calls gives the same ids on every node.
pub type ModuleId = u32;

/// Identifies a live instance inside one engine session (a counter, like [`ModuleId`]).
pub type InstanceId = u32;

/// What [`compile`](crate::pvm::compile) did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Compiled {
    /// The module to instantiate.
    pub module: ModuleId,
    /// `true` when the cache key named a module compiled earlier in this session, so
    /// nothing was compiled. Informational only: what a call costs must not depend on it,
    /// because a node without the native engine has no cache.
    pub cached: bool,
}

/// Why [`run`](crate::pvm::run) returned.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum RunOutcome {
    /// The export returned to the host. The instance is idle again.
    Finished {
        /// Gas left of what this run was given.
        gas_left: u64,
        /// The guest's `a0` and `a1` (its return value).
        result: [u64; 2],
    },
    /// The guest called an import. The instance is suspended: serve the call (reading and
    /// writing its memory as needed), then `run` again with the result as `a0`.
    Syscall {
        /// Index of the import in the program's import table.
        import_index: u32,
        /// The import's symbol.
        symbol: Vec<u8>,
        /// The guest's `a0..a5`, the syscall's arguments.
        args: [u64; 6],
        /// Gas left of what this run was given.
        gas_left: u64,
    },
    /// The guest trapped (explicit `trap`, invalid instruction or jump, an access outside
    /// its memory). The instance is idle again.
    Trap {
        /// Gas left of what this run was given.
        gas_left: u64,
    },
    /// The next basic block did not fit in the gas given. The instance is idle again.
    OutOfGas,
}

/// Every way a host-function call can be refused. Each is a caller's mistake or a limit;
/// none changes any state.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum HostError {
    /// The node has the host functions but no engine extension registered for this
    /// execution.
    ExtensionMissing,
    /// No live module has this id.
    UnknownModule,
    /// No live instance has this id.
    UnknownInstance,
    /// The instance is not in a state that allows this call (for example `run` before
    /// `prepare_call`, or a memory access while it is idle).
    WrongState,
    /// A memory access touched guest memory that is not mapped.
    OutOfBounds,
    /// The blob failed to parse or validate.
    InvalidCode,
    /// The module has no export with this symbol.
    UnknownExport,
    /// The session already holds the most live instances it may.
    TooManyInstances,
    /// The blob is larger than the engine accepts.
    CodeTooLarge,
    /// The program's memory image does not fit in the per-instance memory limit.
    MemoryLimit,
    /// A memory access is longer than the engine hands across the boundary at once.
    AccessTooLarge,
}

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = match self {
            HostError::ExtensionMissing => "no pvm engine extension is registered",
            HostError::UnknownModule => "unknown module id",
            HostError::UnknownInstance => "unknown instance id",
            HostError::WrongState => "the instance is not in a state that allows this call",
            HostError::OutOfBounds => "the memory access touches unmapped guest memory",
            HostError::InvalidCode => "the blob is not a valid program",
            HostError::UnknownExport => "the module has no such export",
            HostError::TooManyInstances => "the live-instance limit is reached",
            HostError::CodeTooLarge => "the blob is larger than the engine accepts",
            HostError::MemoryLimit => "the program's memory does not fit in the instance limit",
            HostError::AccessTooLarge => "the memory access is longer than the per-call limit",
        };
        f.write_str(text)
    }
}

/// What one engine session may hold. Together they bound the host memory a session uses:
/// at most `max_instances * memory_per_instance` bytes of guest memory, plus the modules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
    /// Live instances at once.
    pub max_instances: u32,
    /// Guest memory one instance may map (its initial image plus what `sbrk` grows).
    pub memory_per_instance: u64,
    /// Compiled modules kept at once; compiling one more evicts the oldest (instances
    /// of it keep running, only its id and cache entry go).
    pub max_modules: u32,
    /// The largest blob accepted.
    pub max_code_len: u32,
    /// The longest single memory read or write across the boundary.
    pub max_access_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_instances: 32,
            memory_per_instance: 16 << 20,
            max_modules: 64,
            max_code_len: 1 << 20,
            max_access_len: 1 << 20,
        }
    }
}
