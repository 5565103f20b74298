//! Corpus guest `blake`: the RustCrypto `blake2` crate and the `blake3` crate. See
//! `work.rs` for what each export does.

#![no_std]
#![no_main]

use corpus_support::data;

mod work;

#[polkavm_derive::polkavm_export]
fn blake2b(len: u32) -> u64 {
    work::blake2b(len)
}

#[polkavm_derive::polkavm_export]
fn blake2s(len: u32) -> u64 {
    work::blake2s(len)
}

#[polkavm_derive::polkavm_export]
fn blake3(len: u32) -> u64 {
    work::blake3(len)
}
