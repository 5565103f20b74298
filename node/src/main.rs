//! `pvm-node`: a development node running `pvm-runtime` with the pvm host functions.
//!
//! The executor is `WasmExecutor<(SubstrateHostFunctions, pvm_host_functions::HostFunctions)>`
//! and every runtime execution (block import and authoring, transaction-pool validation,
//! RPC calls) gets a fresh `PvmExtension` from [`service::PvmExtensionsFactory`]. Blocks are
//! sealed instantly, on an interval or on request (no consensus: one node, for
//! development), the database is ParityDB. `pvm-node benchmark-block` executes blocks of
//! its database again and sets their time beside their weight.

// sc-cli's and sc-service's error types are large, and every node function returns them.
#![allow(clippy::result_large_err)]

mod benchmark_block;
mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
    command::run()
}
