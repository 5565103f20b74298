//! Corpus guest `ed25519`: the `ed25519-dalek` crate. See `work.rs` for what each export does.

#![no_std]
#![no_main]

use corpus_support::data;

mod work;

// Verification keeps lookup tables of curve points on the stack (about 10 KiB); the linker's default stack is 8 KiB.
polkavm_derive::min_stack_size!(32 * 1024);

#[polkavm_derive::polkavm_export]
fn verify(n: u32) -> u64 {
    work::verify(n)
}

#[polkavm_derive::polkavm_export]
fn sign(n: u32) -> u64 {
    work::sign(n)
}

#[polkavm_derive::polkavm_export]
fn parse_key(n: u32) -> u64 {
    work::parse_key(n)
}
