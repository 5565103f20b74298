//! Corpus guest `json`: the `serde_json` and `serde` crates, on the `sbrk` heap. See
//! `work.rs` for what each export does.

#![no_std]
#![no_main]

extern crate alloc;

use corpus_support::data;

mod work;

#[polkavm_derive::polkavm_export]
fn parse(n: u32) -> u64 {
    corpus_support::heap::reset();
    work::parse(n)
}

#[polkavm_derive::polkavm_export]
fn roundtrip(n: u32) -> u64 {
    corpus_support::heap::reset();
    work::roundtrip(n)
}
