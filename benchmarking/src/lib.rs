//! Weight generation, per-instruction cost derivation and comparisons against peers.
//!
//! So far this crate holds [`compare`]: a side-by-side timing of pvm-core's interpreter
//! and the polkavm 0.37 interpreter on the guest blobs from `pvm-contracts-examples`, driven
//! by the `compare-interpreters` binary:
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --bin compare-interpreters -- --write-markdown BENCHMARKS.md
//! ```
//!
//! polkavm is a dependency of this crate only; pvm-core never depends on it.

pub mod compare;
pub mod gas_model;
