//! Where contracts run: on the node's native engine through the host functions, or inside
//! the runtime with pvm-core's `no_std` interpreter. Both give the same results and gas.
//! Either is a [`pvm_host_functions::Engine`], the one engine surface.

/// Runs contracts on the node's native engine, through `pvm-host-functions`. The node must
/// provide the host functions and register a `PvmExtension` for every execution.
pub type NativeEngine = pvm_host_functions::HostEngine;

/// Runs contracts inside the runtime with pvm-core's interpreter: for runtimes on nodes
/// without the pvm host functions. Slower, same results and gas.
pub type InRuntimeEngine = pvm_host_functions::EngineSession;
