//! Shared helpers for the cross-crate tests and the CLI: the JAM conformance runner, and the
//! harness for differential tests against polkavm (VM-neutral state snapshots and their
//! comparison, the example guests' host functions, a deterministic RNG and a random program
//! generator), the runtime's chain executed as a node executes it (`chain`), and the call
//! data of the example contracts' calls between contracts (`probe`).

#[cfg(feature = "chain")]
pub mod chain;
pub mod conformance;
pub mod differential;
pub mod guest_host;
#[cfg(feature = "chain")]
pub mod probe;
pub mod program_gen;
pub mod rng;
