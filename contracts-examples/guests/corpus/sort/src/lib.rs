//! Corpus guest `sort`: the standard library's sorts, on the `sbrk` heap. See `work.rs` for
//! what each export does.

#![no_std]
#![no_main]

extern crate alloc;

use corpus_support::data;

mod work;

#[polkavm_derive::polkavm_export]
fn sort_unstable(n: u32) -> u64 {
    corpus_support::heap::reset();
    work::sort_unstable(n)
}

#[polkavm_derive::polkavm_export]
fn sort_stable(n: u32) -> u64 {
    corpus_support::heap::reset();
    work::sort_stable(n)
}
