//! `proxy`: a forwarding proxy. Every call from anyone but its owner is forwarded to a target
//! contract, with the value it carried, and the target's output comes back as the proxy's;
//! the owner (its deployer) retargets or ends it. Calls by the owner are never forwarded, so
//! the owner's two commands cannot clash with the target's interface (the "transparent
//! proxy" rule).
//!
//! Accounts are 32 bytes.
//!
//! # Storage
//!
//! | key | value |
//! |---|---|
//! | `b"target"` | the contract calls are forwarded to |
//! | `b"owner"` | the deployer |
//!
//! # Interface
//!
//! | export | caller | call data | effect | output |
//! |---|---|---|---|---|
//! | `deploy` | anyone | `target` (32) | stores the target, and the caller as the owner | empty |
//! | `call` | not the owner | anything | `call(target, input = call data)` sending the value received, with all the weight and deposit left, no re-entry | the target's output; a revert of the target reverts the proxy with the target's output; any other failure reverts it with the `u32` status |
//! | `call` | the owner | `[0] ++ new_target` (33 bytes) | retargets | empty |
//! | `call` | the owner | `[1] ++ beneficiary` (33 bytes) | `terminate(beneficiary)`: the proxy's balance to the beneficiary, its deposit back to the origin | none |
//!
//! Other call data from the owner, or deploy data other than 32 bytes, revert with empty
//! output. Outputs longer than 16 KiB cannot occur (the ABI's limit).

#![no_std]
#![no_main]

use pvm_contract_api::{self as api, AccountId, CallError, CallParams, MAX_CALL_DATA_LEN};

api::contract!(deploy = on_deploy, call = on_call);

const TARGET: &[u8] = b"target";
const OWNER: &[u8] = b"owner";

/// The call data forwarded and the output returned: statics (zeroed memory, no allocator),
/// the default guest stack is only 8 KiB.
struct Buffers {
    input: [u8; MAX_CALL_DATA_LEN],
    output: [u8; api::MAX_OUTPUT_LEN],
}

static mut BUFFERS: Buffers = Buffers {
    input: [0; MAX_CALL_DATA_LEN],
    output: [0; api::MAX_OUTPUT_LEN],
};

fn account(bytes: &[u8]) -> AccountId {
    match <[u8; 32]>::try_from(bytes) {
        Ok(account) => account,
        Err(_) => api::revert(&[]),
    }
}

fn on_deploy() {
    let mut buffer = [0u8; 32];
    let Some(target) = api::call_data(&mut buffer) else {
        api::revert(&[])
    };
    api::storage::set(TARGET, &account(target));
    api::storage::set(OWNER, &api::caller());
}

fn on_call() {
    // SAFETY: `call` runs once per instance (single-threaded; a re-entrant call would run in
    // an instance of its own), and this is the only place that takes a reference to `BUFFERS`.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let Some(input) = api::call_data(&mut buffers.input) else {
        api::revert(&[])
    };
    let owner = api::storage::get_array::<32>(OWNER);
    if owner == Some(api::caller()) {
        administer(input)
    }
    let Some(target) = api::storage::get_array::<32>(TARGET) else {
        api::revert(&[])
    };
    let params = CallParams::new().value(api::value_transferred());
    let output = &mut buffers.output;
    match api::call(&target, &params, input, output) {
        Ok(len) => api::return_value(&output[..len.min(output.len())]),
        Err(CallError::Reverted { output_len }) => {
            api::revert(&output[..output_len.min(output.len())])
        }
        Err(error) => api::revert(&error.code().to_le_bytes()),
    }
}

/// The owner's commands.
fn administer(input: &[u8]) -> ! {
    match input.split_first() {
        Some((0, new_target)) => {
            api::storage::set(TARGET, &account(new_target));
            api::return_value(&[])
        }
        Some((1, beneficiary)) => api::terminate(&account(beneficiary)),
        _ => api::revert(&[]),
    }
}
