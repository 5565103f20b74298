//! The reference interpreter.
//!
//! A module's code is decoded once and compiled to a flat array of [`ops::Op`]s (each basic
//! block led by one gas charge); execution is a `match` loop over that array with the
//! registers in a local array. Nothing is decoded while running.

mod exec;
mod memory;
mod ops;

pub(crate) use exec::{ExecState, Exit};
pub use memory::{FaultMode, GuestMemory, MemoryLimitExceeded, PageMapping};
pub(crate) use ops::{compile, CompiledCode};
