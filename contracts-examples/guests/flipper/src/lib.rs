//! `flipper`: one boolean in storage, flipped on request.
//!
//! Storage: key `b"flip"` holds one byte, `0` (false) or `1` (true).
//!
//! | export | call data | effect | output |
//! |---|---|---|---|
//! | `deploy` | empty, or `[init]` with `init` 0 or 1 | stores `b"flip"` = `[init]` (empty = 0) | empty |
//! | `call` | `[0]` | flip: stores the negated value | empty |
//! | `call` | `[1]` | get | `[0]` or `[1]` |
//!
//! Any other call data (unknown selector, trailing bytes, `init` other than 0 or 1) reverts
//! with empty output.

#![no_std]
#![no_main]

use pvm_contract_api as api;

api::contract!(deploy = on_deploy, call = on_call);

const KEY: &[u8] = b"flip";

fn input<const N: usize>(buffer: &mut [u8; N]) -> &[u8] {
    match api::call_data(buffer) {
        Some(input) => input,
        None => api::revert(&[]),
    }
}

fn load() -> u8 {
    api::storage::get_array::<1>(KEY).map_or(0, |[value]| value)
}

fn on_deploy() {
    let mut buffer = [0u8; 1];
    let init = match input(&mut buffer) {
        [] => 0,
        &[value @ (0 | 1)] => value,
        _ => api::revert(&[]),
    };
    api::storage::set(KEY, &[init]);
}

fn on_call() {
    let mut buffer = [0u8; 1];
    match input(&mut buffer) {
        [0] => {
            api::storage::set(KEY, &[u8::from(load() == 0)]);
        }
        [1] => api::return_value(&[load()]),
        _ => api::revert(&[]),
    }
}
