//! `pvm-node`: a development node running `pvm-runtime` with the pvm host functions.
//!
//! The executor is `WasmExecutor<(SubstrateHostFunctions, pvm_host_functions::HostFunctions)>`
//! and every runtime execution (block import and authoring, transaction-pool validation,
//! RPC calls) gets a fresh `PvmExtension` from [`service::PvmExtensionsFactory`]. Blocks are
//! sealed instantly or on an interval (no consensus: one node, for development), the
//! database is ParityDB.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
    command::run()
}
