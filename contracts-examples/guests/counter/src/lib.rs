//! `counter`: a `u64` in storage, incremented and decremented with overflow checks.
//!
//! Storage: key `b"count"` holds the counter as 8 little-endian bytes. Integers in call data
//! and output are little-endian.
//!
//! | export | call data | effect | output |
//! |---|---|---|---|
//! | `deploy` | empty, or `initial: u64` (8 bytes) | stores `b"count"` = `initial` (empty = 0) | empty |
//! | `call` | `[0] ++ by: u64` | increment by `by`; past `u64::MAX` reverts | new value, `u64` |
//! | `call` | `[1] ++ by: u64` | decrement by `by`; below zero reverts | new value, `u64` |
//! | `call` | `[2]` | get | value, `u64` |
//!
//! Reverts (overflow, underflow, unknown selector, wrong length) have empty output.

#![no_std]
#![no_main]

use pvm_contract_api as api;

api::contract!(deploy = on_deploy, call = on_call);

const KEY: &[u8] = b"count";

fn input<const N: usize>(buffer: &mut [u8; N]) -> &[u8] {
    match api::call_data(buffer) {
        Some(input) => input,
        None => api::revert(&[]),
    }
}

fn load() -> u64 {
    api::storage::get_array::<8>(KEY).map_or(0, u64::from_le_bytes)
}

fn store(value: u64) {
    api::storage::set(KEY, &value.to_le_bytes());
}

fn on_deploy() {
    let mut buffer = [0u8; 8];
    let initial = match input(&mut buffer) {
        [] => 0,
        bytes => match <[u8; 8]>::try_from(bytes) {
            Ok(bytes) => u64::from_le_bytes(bytes),
            Err(_) => api::revert(&[]),
        },
    };
    store(initial);
}

fn on_call() {
    let mut buffer = [0u8; 9];
    let (selector, by) = match input(&mut buffer) {
        [2] => api::return_value(&load().to_le_bytes()),
        [selector, by @ ..] => match <[u8; 8]>::try_from(by) {
            Ok(by) => (*selector, u64::from_le_bytes(by)),
            Err(_) => api::revert(&[]),
        },
        [] => api::revert(&[]),
    };
    let value = load();
    let new = match selector {
        0 => value.checked_add(by),
        1 => value.checked_sub(by),
        _ => None,
    };
    let Some(new) = new else { api::revert(&[]) };
    store(new);
    api::return_value(&new.to_le_bytes());
}
