//! Corpus guest `sha3`: the RustCrypto `sha3` crate. See `work.rs` for what each export does.

#![no_std]
#![no_main]

use corpus_support::data;

mod work;

#[polkavm_derive::polkavm_export]
fn keccak256(len: u32) -> u64 {
    work::keccak256(len)
}

#[polkavm_derive::polkavm_export]
fn sha3_256(len: u32) -> u64 {
    work::sha3_256(len)
}
