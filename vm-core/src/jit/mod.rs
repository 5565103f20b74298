//! The x86-64 JIT: compiles a validated PVM program into native x86-64 code.
//!
//! Three parts, all safe code (the compiler only produces bytes; running them is the
//! sandbox's business, in `crate::sandbox`):
//!
//! - [`x64`]: the encoder, which turns typed instructions into machine code bytes with
//!   labels and rel8/rel32 fixups;
//! - [`abi`]: the contract between generated code and its runner (register mapping,
//!   context layout, exit reasons);
//! - [`compile`]: the compiler, which turns a decoded program into a [`CompiledProgram`].
//!
//! How it works:
//!
//! - **One pass, O(n).** The decoded instruction stream is walked once; each basic block
//!   becomes one stretch of code that starts with its gas stub, and branch targets are
//!   labels bound as blocks are emitted. Dynamic jumps index a table of block addresses
//!   built from the program's jump table.
//! - **Registers.** The 13 guest registers live in fixed host registers; one more holds the
//!   guest memory base. Instructions that need `rax`/`rdx` (division, the upper half of a
//!   multiplication) or `cl` (shifts) save and restore around themselves.
//! - **Gas, synchronously.** The counter sits in the VM context just below guest address 0.
//!   A block's stub compares the counter with the block's cost and leaves to the host
//!   before the block when it does not fit, so gas is unchanged and the block resumable.
//! - **Memory without checks.** Guest memory is a 4 GiB reservation plus a guard
//!   (`sandbox`): an access is `[base + zero-extended 32-bit address]`, and the MMU catches
//!   unmapped and read-only pages; the fault handler turns a fault inside JIT code into the
//!   interrupt the interpreter gives (trap, or a page fault with the guest pc and page).
//! - **Exits.** `ecalli`, traps, the return address and out-of-gas leave through stubs that
//!   store the guest registers and the guest pc in the context and return to the host.
//! - **Held to the interpreter.** Every backend passes the JAM vectors and the
//!   differential tests against the interpreter; a crosscheck mode runs both in lockstep.
//!
//! The module exists only with the `std` feature on x86-64 hosts.

pub mod abi;
mod compiler;
pub mod x64;

pub use compiler::{compile, CompileOptions, CompiledProgram, INVALID_ENTRY};
