//! `factory`: creates contracts from one code hash, keeps a list of them, and goes on when a
//! creation fails.
//!
//! Integers are little-endian; accounts and hashes are 32 bytes.
//!
//! # Storage
//!
//! | key | value |
//! |---|---|
//! | `b"code"` | the code hash it instantiates |
//! | `b"count"` | how many contracts it created, `u32` |
//! | `b"child" ++ index: u32` | the address of the contract created `index`-th (from 0) |
//! | `b"failed"` | how many creations failed, `u32` |
//!
//! # Interface
//!
//! | export | call data | effect | output |
//! |---|---|---|---|
//! | `deploy` | `code_hash` (32) | stores the code hash; `count` = `failed` = 0 | empty |
//! | `call` | `[0] ++ salt (32) ++ input` | `instantiate(code, input, salt)` sending the value received, with all the weight and deposit left; on success appends the new address to the list, on failure counts it in `failed` (the value stays with the factory) | `status: u32 ++ address (32)`: the syscall's status, and the address (zeros unless the status is 0) |
//! | `call` | `[1]` | count | `u32` |
//! | `call` | `[2] ++ index: u32` | the `index`-th contract | its address (32); reverts with empty output past the end |
//! | `call` | `[3]` | failed creations | `u32` |
//!
//! An unknown selector or call data of the wrong length (input over 1 KiB included) reverts
//! with empty output. Addresses derive from the factory's address, the code hash and the
//! salt, so the same salt twice fails with status 10 (`CALL_ALREADY_EXISTS`).

#![no_std]
#![no_main]

use pvm_contract_api::{self as api, CallParams};

api::contract!(deploy = on_deploy, call = on_call);

const CODE: &[u8] = b"code";
const COUNT: &[u8] = b"count";
const FAILED: &[u8] = b"failed";

/// The longest call data: a salt and 1 KiB of input for the new contract.
const MAX_INPUT: usize = 1 + 32 + 1024;

fn child_key(index: u32) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[..5].copy_from_slice(b"child");
    key[5..].copy_from_slice(&index.to_le_bytes());
    key
}

fn load_u32(key: &[u8]) -> u32 {
    api::storage::get_array::<4>(key).map_or(0, u32::from_le_bytes)
}

fn on_deploy() {
    let mut buffer = [0u8; 32];
    let code_hash = match api::call_data(&mut buffer) {
        Some(bytes) if bytes.len() == 32 => bytes,
        _ => api::revert(&[]),
    };
    api::storage::set(CODE, code_hash);
    api::storage::set(COUNT, &0u32.to_le_bytes());
    api::storage::set(FAILED, &0u32.to_le_bytes());
}

fn on_call() {
    let mut buffer = [0u8; MAX_INPUT];
    let Some(input) = api::call_data(&mut buffer) else {
        api::revert(&[])
    };
    match input {
        [0, rest @ ..] => create(rest),
        [1] => api::return_value(&load_u32(COUNT).to_le_bytes()),
        [2, index @ ..] => {
            let Ok(index) = <[u8; 4]>::try_from(index) else {
                api::revert(&[])
            };
            let mut address = [0u8; 32];
            match api::storage::get(&child_key(u32::from_le_bytes(index)), &mut address) {
                Some(32) => api::return_value(&address),
                _ => api::revert(&[]),
            }
        }
        [3] => api::return_value(&load_u32(FAILED).to_le_bytes()),
        _ => api::revert(&[]),
    }
}

/// Selector `[0]`.
fn create(rest: &[u8]) -> ! {
    let Some((salt, input)) = rest.split_first_chunk::<32>() else {
        api::revert(&[])
    };
    let Some(code_hash) = api::storage::get_array::<32>(CODE) else {
        api::revert(&[])
    };
    let params = CallParams::new().value(api::value_transferred());
    let mut output = [0u8; 36];
    match api::instantiate(&code_hash, &params, input, salt) {
        Ok(address) => {
            let count = load_u32(COUNT);
            api::storage::set(&child_key(count), &address);
            api::storage::set(COUNT, &(count + 1).to_le_bytes());
            output[4..].copy_from_slice(&address);
        }
        Err(error) => {
            api::storage::set(FAILED, &(load_u32(FAILED) + 1).to_le_bytes());
            output[..4].copy_from_slice(&error.code().to_le_bytes());
        }
    }
    api::return_value(&output)
}
