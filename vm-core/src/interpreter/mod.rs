//! The reference interpreter.
//!
//! A module's code is decoded once and compiled to a flat array of ops; each control
//! transfer charges the gas of the block it enters. Execution is a `match` loop over that
//! array with the registers in a local array and the hot memory regions as plain slices.
//! Nothing is decoded while running.

mod exec;
mod memory;
mod ops;

pub(crate) use exec::{ExecState, Exit};
pub use memory::GuestMemory;
pub(crate) use ops::{compile, CompiledCode};
