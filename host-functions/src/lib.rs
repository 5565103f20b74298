//! Host functions that let a Substrate runtime run PolkaVM programs on the native
//! `pvm-core` engine.
//!
//! The runtime (wasm, `no_std`) calls the [`pvm`] runtime interface: compile a blob,
//! instantiate it, prepare an export, and run it until it finishes, traps, runs out of gas,
//! or stops at a syscall that the runtime serves (by import symbol) before resuming. On the
//! node the calls land in a [`PvmExtension`] registered in the externalities, which owns a
//! `pvm-core` engine, a module cache and the live instances of one execution.
//!
//! # On a node
//!
//! Add [`HostFunctions`] to the executor's host functions, and register a fresh
//! [`PvmExtension`] for every runtime execution that may run contracts (block import and
//! authoring, and the calls of RPC dry runs), e.g. through an `ExtensionsFactory`:
//!
//! ```ignore
//! type Executor = sc_executor::WasmExecutor<(
//!     sp_io::SubstrateHostFunctions,
//!     pvm_host_functions::HostFunctions,
//! )>;
//! ```
//!
//! In tests, [`register_extension`] does it for `TestExternalities`.
//!
//! # Without the native engine
//!
//! [`EngineSession`] is the same engine as plain `no_std` code: a runtime that cannot rely
//! on these host functions runs its contracts with it directly (same results, same gas).
//!
//! # Limits and errors
//!
//! What can change a result is the runtime's: [`EngineLimits`] (memory per instance, live
//! instances, code size, cost table) come with every `compile` and `instantiate`. The node
//! only says how much it allows ([`NodeLimits`]); a runtime asking more gets
//! [`HostError::NodeLimit`], a node-side refusal the runtime must not record as a result.
//! Every misuse (an unknown id, a call in the wrong state, a memory access out of bounds)
//! is a [`HostError`], never a panic, and changes nothing.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

mod engine;
mod interface;
mod session;
mod types;

pub use engine::{Engine, HostEngine};
pub use interface::pvm;
pub use session::EngineSession;
pub use types::{Compiled, EngineLimits, HostError, InstanceId, ModuleId, NodeLimits, RunOutcome};

/// The host functions to add to a node's executor.
#[cfg(not(substrate_runtime))]
pub type HostFunctions = pvm::HostFunctions;

#[cfg(not(substrate_runtime))]
sp_externalities::decl_extension! {
    /// The native engine of one runtime execution: register a fresh one per execution.
    pub struct PvmExtension(EngineSession);
}

#[cfg(not(substrate_runtime))]
impl PvmExtension {
    /// An extension running the interpreter, allowing what `node_limits` allow.
    pub fn new(node_limits: NodeLimits) -> PvmExtension {
        PvmExtension(EngineSession::with_node_limits(node_limits))
    }

    /// An extension running `backend`, allowing what `node_limits` allow; fails when the
    /// backend is not available on this host.
    pub fn with_backend(
        backend: pvm_core::BackendKind,
        node_limits: NodeLimits,
    ) -> Result<PvmExtension, pvm_core::Error> {
        Ok(PvmExtension(EngineSession::new(backend, node_limits)?))
    }

    /// An extension running `backend`, allowing what `node_limits` allow, the JIT's code
    /// in the sandbox `sandbox` chooses (a Linux worker process by default, or the generic
    /// in-process sandbox); fails when the backend or sandbox is not available on this host
    /// and `sandbox` allows no fall-back.
    pub fn with_sandbox(
        backend: pvm_core::BackendKind,
        sandbox: pvm_core::SandboxConfig,
        node_limits: NodeLimits,
    ) -> Result<PvmExtension, pvm_core::Error> {
        Ok(PvmExtension(EngineSession::with_sandbox(
            backend,
            sandbox,
            node_limits,
        )?))
    }
}

#[cfg(not(substrate_runtime))]
impl Default for PvmExtension {
    fn default() -> Self {
        PvmExtension::new(NodeLimits::default())
    }
}

/// Registers a fresh [`PvmExtension`] with default limits in `externalities` (for example
/// a `TestExternalities`), replacing none: call it once per externalities.
#[cfg(not(substrate_runtime))]
pub fn register_extension(externalities: &mut impl sp_externalities::ExtensionStore) {
    // Registering twice is an error we ignore: the first extension stays and serves.
    let _ = externalities.register_extension_with_type_id(
        core::any::TypeId::of::<PvmExtension>(),
        alloc::boxed::Box::new(PvmExtension::default()),
    );
}
