//! Corpus guest `bigint`: the `num-bigint` crate, on the `sbrk` heap. See `work.rs` for what
//! each export does.

#![no_std]
#![no_main]

extern crate alloc;

use corpus_support::data;

mod work;

#[polkavm_derive::polkavm_export]
fn mul_decimal(bits: u32) -> u64 {
    corpus_support::heap::reset();
    work::mul_decimal(bits)
}

#[polkavm_derive::polkavm_export]
fn modpow(bits: u32) -> u64 {
    corpus_support::heap::reset();
    work::modpow(bits)
}
