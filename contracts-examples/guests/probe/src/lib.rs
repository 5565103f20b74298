//! `probe`: one selector per syscall the other example contracts leave out, so that a host's
//! end-to-end tests can check each syscall of the ABI through a real guest.
//!
//! Integers are little-endian; accounts are 32 bytes. The `u32` outputs are the syscalls' raw
//! results (read through `pvm_contract_api::sys`, not the wrappers), so a test sees exactly
//! what the host returned.
//!
//! | export | call data | effect | output |
//! |---|---|---|---|
//! | `deploy` | anything (ignored) | nothing; stores nothing | empty |
//! | `call` | `[0]` | reads `caller`, `address`, `value_transferred`, `balance`, `block_number`, `now`, `gas_left`, in that order | `caller (32) ++ address (32) ++ value_transferred: u128 ++ balance: u128 ++ block_number: u64 ++ now: u64 ++ gas_left: u64` (120 bytes) |
//! | `call` | `[1] ++ dest (32) ++ amount: u128` | `transfer(dest, amount)` | its result, `u32`: 0 done, 1 failed |
//! | `call` | `[2] ++ key` (1 to 128 bytes) | `contains_storage(key)` | its result, `u32`: length or `0xFFFF_FFFF` |
//! | `call` | `[3] ++ key_len: u8 ++ key ++ value` | `set_storage(key, value)` | its result, `u32`: previous length or `0xFFFF_FFFF` |
//! | `call` | `[4] ++ key` | `clear_storage(key)` | its result, `u32`: removed length or `0xFFFF_FFFF` |
//! | `call` | `[5] ++ key` | `get_storage(key)` into a 16 KiB buffer | the value; reverts with empty output if absent |
//! | `call` | `[6] ++ data` | `hash_keccak_256(data)` | the hash (32 bytes) |
//! | `call` | `[7] ++ data` | `hash_blake2_256(data)` | the hash (32 bytes) |
//! | `call` | `[8] ++ data` | `return_data` with the revert flag | reverts with `data` as output |
//! | `call` | `[9]` | `set_storage(b"x", [1])`, then traps (`unimp`) | none: the call fails and the write is rolled back |
//!
//! Malformed call data reverts with empty output: empty call data, an unknown selector,
//! trailing bytes after `[0]` or `[9]`, a `[1]` other than 49 bytes, a `[2]` key that is
//! empty or longer than 128 bytes, a `[3]` without `key_len` or with fewer than `key_len`
//! bytes after it. The keys of `[3]`, `[4]` and `[5]` are passed on unchecked (empty is a
//! valid key), so a key over the ABI's 128-byte limit reaches the syscall, which traps.
//!
//! Call data is at most 16 KiB (the ABI's limit), so every key and value fits in the ABI's
//! limits otherwise. The two 16 KiB buffers are statics (zeroed memory, no allocator): the
//! default guest stack is only 8 KiB.

#![no_std]
#![no_main]

use pvm_contract_api::{self as api, sys, MAX_CALL_DATA_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};

api::contract!(deploy = on_deploy, call = on_call);

/// The key selector `[9]` writes before trapping.
const TRAP_KEY: &[u8] = b"x";

/// The call data and the value read by `get_storage`.
struct Buffers {
    input: [u8; MAX_CALL_DATA_LEN],
    value: [u8; MAX_VALUE_LEN],
}

static mut BUFFERS: Buffers = Buffers {
    input: [0; MAX_CALL_DATA_LEN],
    value: [0; MAX_VALUE_LEN],
};

fn fail() -> ! {
    api::revert(&[])
}

/// Reverts unless nothing follows the selector.
fn end(rest: &[u8]) {
    if !rest.is_empty() {
        fail()
    }
}

/// Ends the call with a syscall's `u32` result as output.
fn return_u32(result: u32) -> ! {
    api::return_value(&result.to_le_bytes())
}

fn on_deploy() {}

fn on_call() {
    // SAFETY: `call` runs once per instance (single-threaded, not re-entered), and this is the
    // only place that takes a reference to `BUFFERS`.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let Some(input) = api::call_data(&mut buffers.input) else {
        fail()
    };
    let Some((&selector, rest)) = input.split_first() else {
        fail()
    };
    match selector {
        0 => {
            end(rest);
            environment()
        }
        1 => {
            let Some((dest, amount)) = rest.split_first_chunk::<32>() else {
                fail()
            };
            let Ok(amount) = <&[u8; 16]>::try_from(amount) else {
                fail()
            };
            // SAFETY: `dest` is 32 readable bytes, `amount` 16.
            return_u32(unsafe { sys::transfer(dest.as_ptr(), amount.as_ptr()) })
        }
        2 => {
            if rest.is_empty() || rest.len() > MAX_KEY_LEN {
                fail()
            }
            // SAFETY: `rest` is readable for its length.
            return_u32(unsafe { sys::contains_storage(rest.as_ptr(), rest.len() as u32) })
        }
        3 => {
            let Some((&key_len, rest)) = rest.split_first() else {
                fail()
            };
            let Some((key, value)) = rest.split_at_checked(usize::from(key_len)) else {
                fail()
            };
            // SAFETY: `key` and `value` are readable for their lengths.
            return_u32(unsafe {
                sys::set_storage(
                    key.as_ptr(),
                    key.len() as u32,
                    value.as_ptr(),
                    value.len() as u32,
                )
            })
        }
        // SAFETY: `rest` is readable for its length.
        4 => return_u32(unsafe { sys::clear_storage(rest.as_ptr(), rest.len() as u32) }),
        5 => {
            let out = &mut buffers.value;
            // SAFETY: `rest` is readable and `out` writable for their lengths.
            let len = unsafe {
                sys::get_storage(
                    rest.as_ptr(),
                    rest.len() as u32,
                    out.as_mut_ptr(),
                    out.len() as u32,
                )
            };
            if len == sys::KEY_NOT_FOUND {
                fail()
            }
            api::return_value(&out[..(len as usize).min(out.len())])
        }
        6 => api::return_value(&api::hash_keccak_256(rest)),
        7 => api::return_value(&api::hash_blake2_256(rest)),
        8 => api::revert(rest),
        9 => {
            end(rest);
            api::storage::set(TRAP_KEY, &[1]);
            api::trap()
        }
        _ => fail(),
    }
}

/// Selector `[0]`: the call's environment, each value read by its syscall in output order.
fn environment() -> ! {
    let mut out = [0u8; 120];
    out[..32].copy_from_slice(&api::caller());
    out[32..64].copy_from_slice(&api::address());
    out[64..80].copy_from_slice(&api::value_transferred().to_le_bytes());
    out[80..96].copy_from_slice(&api::balance().to_le_bytes());
    out[96..104].copy_from_slice(&api::block_number().to_le_bytes());
    out[104..112].copy_from_slice(&api::now().to_le_bytes());
    out[112..].copy_from_slice(&api::gas_left().to_le_bytes());
    api::return_value(&out)
}
