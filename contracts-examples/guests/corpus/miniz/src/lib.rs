//! Corpus guest `miniz`: the `miniz_oxide` crate, on the `sbrk` heap. See `work.rs` for what
//! each export does.

#![no_std]
#![no_main]

extern crate alloc;

use corpus_support::data;

mod work;

// The compressor's state (hash chains and the dictionary) is built on the stack; the linker's default stack is 8 KiB.
polkavm_derive::min_stack_size!(256 * 1024);

#[polkavm_derive::polkavm_export]
fn deflate(len: u32) -> u64 {
    corpus_support::heap::reset();
    work::deflate(len)
}

#[polkavm_derive::polkavm_export]
fn roundtrip(len: u32) -> u64 {
    corpus_support::heap::reset();
    work::roundtrip(len)
}
