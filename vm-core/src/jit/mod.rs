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
//!   A block's stub subtracts the block's cost and, when the result is negative, leaves
//!   through a ten-byte stub naming the block; the host gives the cost back, so gas is
//!   unchanged and the block resumable. `memset` charges per byte in its loop.
//! - **Memory without checks.** Guest memory is a 4 GiB reservation plus a guard
//!   (`sandbox`): an access is `[base + zero-extended 32-bit address]` (one instruction,
//!   `gs:[reg32 + offset]`, where the OS lets us set the `gs` base), and the MMU catches
//!   unmapped and read-only pages; the fault handler turns a fault inside JIT code into the
//!   interrupt the interpreter gives (trap, or a page fault with the guest pc and page).
//! - **Exits.** `ecalli`, `sbrk` (the host owns the heap), traps, the return address and
//!   out-of-gas leave through stubs that record the guest pc (and where to resume) in the
//!   context and return to the host through one exit path that stores the registers.
//! - **Encoder.** Our own ([`x64`]): 3.66 ns per instruction on a mixed 1M-instruction
//!   benchmark against 213 ns for iced-x86's `CodeAssembler` (`vm-core/tests/x64_encoder.rs`,
//!   `encode_speed*`), and small enough to audit.
//! - **Held to the interpreter.** Every backend passes the JAM vectors and the
//!   differential tests against the interpreter; a crosscheck mode runs both in lockstep.
//!
//! The module exists only with the `std` feature on x86-64 hosts.

pub mod abi;
mod compiler;
pub mod x64;

pub use compiler::{
    compile, compile_in, recycle_code_buffer, with_scratch, CompileOptions, CompiledProgram,
    Scratch, INVALID_ENTRY,
};
