//! The reference interpreter.
//!
//! Code is compiled to a flat array of ops; each control transfer charges the gas of the
//! block it enters. Execution is a `match` loop over that array with the registers in a
//! local array and the hot memory regions as plain slices. By default each instance
//! compiles a run of blocks when execution first reaches it (a contract call usually runs a
//! little of a large program); step tracing, and a module configured so, compile the whole
//! code when the module is created. The ops, and so the results and the gas, are the same.

mod exec;
mod memory;
mod ops;

pub(crate) use exec::{ExecState, Exit};
pub use memory::GuestMemory;
pub(crate) use ops::{compile, BlockStarts, CompiledCode, LazyCode};
