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

/// Every way a host-function call can be refused. None changes any state.
///
/// Most are results the runtime may act on (the same on every node): the guest's or the
/// caller's doing, or a consensus limit ([`EngineLimits`]). Two are the node's alone
/// ([`HostError::is_node_side`]): the node cannot run what the runtime asks, and the runtime
/// must not turn that into a result, or nodes would disagree.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum HostError {
    /// The node has the host functions but no engine extension registered for this
    /// execution (node-side).
    ExtensionMissing,
    /// The runtime's limits exceed what this node allows its engine ([`NodeLimits`]), or
    /// name a cost table this node does not know (node-side).
    NodeLimit,
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
    /// The session already holds the runtime's limit of live instances.
    TooManyInstances,
    /// The blob is larger than the runtime's limit.
    CodeTooLarge,
    /// The program's memory image does not fit in the runtime's per-instance limit.
    MemoryLimit,
}

impl HostError {
    /// Whether the node, not the runtime's rules or the guest, refused: the runtime must
    /// stop rather than record an outcome another node would not.
    pub fn is_node_side(self) -> bool {
        matches!(self, HostError::ExtensionMissing | HostError::NodeLimit)
    }
}

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = match self {
            HostError::ExtensionMissing => "no pvm engine extension is registered on this node",
            HostError::NodeLimit => {
                "the runtime's engine limits exceed what this node allows, or name an unknown cost table"
            }
            HostError::UnknownModule => "unknown module id",
            HostError::UnknownInstance => "unknown instance id",
            HostError::WrongState => "the instance is not in a state that allows this call",
            HostError::OutOfBounds => "the memory access touches unmapped guest memory",
            HostError::InvalidCode => "the blob is not a valid program",
            HostError::UnknownExport => "the module has no such export",
            HostError::TooManyInstances => "the live-instance limit is reached",
            HostError::CodeTooLarge => "the blob is larger than the runtime accepts",
            HostError::MemoryLimit => "the program's memory does not fit in the instance limit",
        };
        f.write_str(text)
    }
}

/// The consensus limits of contract execution: constants of the runtime, passed to the
/// engine with every `compile` and `instantiate`, so every node enforces the same ones.
/// A node configures only how much it allows ([`NodeLimits`]); it never changes these.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct EngineLimits {
    /// Guest memory one instance may make accessible (its initial image plus what `sbrk`
    /// grows), in bytes.
    pub memory_per_instance: u64,
    /// Live instances at once (one per frame of nested calls).
    pub max_instances: u32,
    /// The largest blob, in bytes.
    pub max_code_len: u32,
    /// The gas cost table, by version ([`pvm_core::gas::CostTable::by_version`]).
    pub cost_table: u32,
}

/// What a node allows its engine, to bound the host resources one runtime execution may
/// use. Never a consensus input: a runtime whose [`EngineLimits`] stay within these gets
/// the same results on every node, and one that asks for more gets
/// [`HostError::NodeLimit`] (the node cannot follow that chain) instead of a different
/// result.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodeLimits {
    /// The most guest memory the node lets one instance use.
    pub max_memory_per_instance: u64,
    /// The most live instances at once.
    pub max_instances: u32,
    /// The largest blob the node compiles.
    pub max_code_len: u32,
    /// Compiled modules kept for reuse; compiling one more evicts the oldest (instances
    /// of it keep running, only its id and cache entry go). Affects speed only.
    pub max_modules: u32,
}

impl NodeLimits {
    /// No limit of the node's own: the runtime's limits alone apply (for the engine
    /// running inside the runtime, whose resources are the runtime's).
    pub const UNLIMITED: NodeLimits = NodeLimits {
        max_memory_per_instance: u64::MAX,
        max_instances: u32::MAX,
        max_code_len: u32::MAX,
        max_modules: 64,
    };

    /// Whether a runtime's limits fit within the node's.
    pub fn allow(&self, limits: &EngineLimits) -> bool {
        limits.memory_per_instance <= self.max_memory_per_instance
            && limits.max_instances <= self.max_instances
            && limits.max_code_len <= self.max_code_len
    }
}

impl Default for NodeLimits {
    /// Room for what a sensible runtime asks: 64 instances of 64 MiB, 4 MiB blobs.
    fn default() -> Self {
        NodeLimits {
            max_memory_per_instance: 64 << 20,
            max_instances: 64,
            max_code_len: 4 << 20,
            max_modules: 64,
        }
    }
}
