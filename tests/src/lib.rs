//! Shared helpers for the cross-crate tests and the CLI: the JAM conformance runner.

pub mod conformance;
