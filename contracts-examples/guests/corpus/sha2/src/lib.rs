//! Corpus guest `sha2`: the RustCrypto `sha2` crate. See `work.rs` for what each export does.

#![no_std]
#![no_main]

use corpus_support::data;

mod work;

#[polkavm_derive::polkavm_export]
fn sha256(len: u32) -> u64 {
    work::sha256(len)
}

#[polkavm_derive::polkavm_export]
fn sha512(len: u32) -> u64 {
    work::sha512(len)
}
