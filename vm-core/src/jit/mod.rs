//! The x86-64 JIT: compiles a validated PVM program into native x86-64 code.
//!
//! This first part is the encoder: [`x64`] turns typed instructions into machine
//! code bytes, with labels and rel32 fixups, and needs no `unsafe`. The compiler proper and
//! the sandbox that runs its output come next and build on it.
//!
//! The module exists only with the `std` feature on x86-64 hosts.

pub mod x64;
