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
//! | `call` | `[10] ++ callee (32) ++ params (56) ++ input` | `call(callee, params, input)` with a 16 KiB - 8 output buffer | `status: u32 ++ output_len: u32 ++ output` (the part that fit) |
//! | `call` | `[11] ++ code_hash (32) ++ params (56) ++ salt (32) ++ input` | `instantiate(code_hash, params, input, salt)` | `status: u32 ++ address (32)` (zeros unless the status is 0) |
//! | `call` | `[12] ++ beneficiary (32)` | `terminate(beneficiary)` | none: the frame ends |
//! | `call` | `[13]` | reads `origin` | `origin (32)` |
//! | `call` | `[14] ++ key_len: u8 ++ key ++ value_len: u16 ++ value ++ command` | `set_storage(key, value)`, then runs `command` as call data of its own (any selector, `[14]` too) | the command's |
//!
//! `params` is the ABI's call-parameter layout: `flags: u64 ++ ref_time_limit: u64 ++
//! proof_size_limit: u64 ++ value: u128 ++ deposit_limit: u128`, passed to the syscall
//! unchecked (unknown flags trap the probe), as are `callee`, `code_hash` and `beneficiary`.
//!
//! Malformed call data reverts with empty output: empty call data, an unknown selector,
//! trailing bytes after `[0]`, `[9]` or `[13]`, a `[1]` other than 49 bytes, a `[2]` key
//! that is empty or longer than 128 bytes, a `[3]` without `key_len` or with fewer than
//! `key_len` bytes after it, a `[10]` shorter than 89 bytes, an `[11]` shorter than 121, a
//! `[12]` other than 33 bytes, a `[14]` shorter than its lengths say. The keys of `[3]`,
//! `[4]` and `[5]` are passed on unchecked (empty is a valid key), so a key over the ABI's
//! 128-byte limit reaches the syscall, which traps.
//!
//! Call data is at most 16 KiB (the ABI's limit), so every key and value fits in the ABI's
//! limits otherwise. The two 16 KiB buffers are statics (zeroed memory, no allocator): the
//! default guest stack is only 8 KiB.

#![no_std]
#![no_main]

use pvm_contract_api::{
    self as api, sys, MAX_CALL_DATA_LEN, MAX_KEY_LEN, MAX_OUTPUT_LEN, MAX_VALUE_LEN,
};

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
    // SAFETY: `call` runs once per instance (single-threaded; a re-entrant call runs in an
    // instance of its own), and this is the only place that takes a reference to `BUFFERS`.
    let buffers = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let Some(input) = api::call_data(&mut buffers.input) else {
        fail()
    };
    command(input, &mut buffers.value)
}

/// Runs one command: a selector and its arguments.
fn command(input: &[u8], value_buffer: &mut [u8; MAX_VALUE_LEN]) -> ! {
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
            let out = value_buffer;
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
        10 => call_contract(rest, value_buffer),
        11 => instantiate_contract(rest),
        12 => {
            let Ok(beneficiary) = <&[u8; 32]>::try_from(rest) else {
                fail()
            };
            // SAFETY: `beneficiary` is 32 readable bytes.
            unsafe { sys::terminate(beneficiary.as_ptr()) };
            api::trap()
        }
        13 => {
            end(rest);
            api::return_value(&api::origin())
        }
        14 => {
            let Some((&key_len, rest)) = rest.split_first() else {
                fail()
            };
            let Some((key, rest)) = rest.split_at_checked(usize::from(key_len)) else {
                fail()
            };
            let Some((value_len, rest)) = rest.split_first_chunk::<2>() else {
                fail()
            };
            let value_len = usize::from(u16::from_le_bytes(*value_len));
            let Some((value, rest)) = rest.split_at_checked(value_len) else {
                fail()
            };
            api::storage::set(key, value);
            command(rest, value_buffer)
        }
        _ => fail(),
    }
}

/// Selector `[10]`: `call`, its raw status and output.
fn call_contract(rest: &[u8], out: &mut [u8; MAX_VALUE_LEN]) -> ! {
    let Some((callee, rest)) = rest.split_first_chunk::<32>() else {
        fail()
    };
    let Some((params, input)) = rest.split_first_chunk::<{ sys::CALL_PARAMS_LEN }>() else {
        fail()
    };
    let (header, output) = out[..MAX_OUTPUT_LEN].split_at_mut(8);
    let mut output_len = output.len() as u32;
    // SAFETY: `callee` is 32 readable bytes, `params` CALL_PARAMS_LEN, `input` readable for
    // its length, `output` writable for `output_len` bytes, `output_len` a writable u32.
    let status = unsafe {
        sys::call(
            callee.as_ptr(),
            params.as_ptr(),
            input.as_ptr(),
            input.len() as u32,
            output.as_mut_ptr(),
            &mut output_len,
        )
    };
    header[..4].copy_from_slice(&status.to_le_bytes());
    header[4..].copy_from_slice(&output_len.to_le_bytes());
    let copied = (output_len as usize).min(output.len());
    api::return_value(&out[..8 + copied])
}

/// Selector `[11]`: `instantiate`, its raw status and the address.
fn instantiate_contract(rest: &[u8]) -> ! {
    let Some((code_hash, rest)) = rest.split_first_chunk::<32>() else {
        fail()
    };
    let Some((params, rest)) = rest.split_first_chunk::<{ sys::CALL_PARAMS_LEN }>() else {
        fail()
    };
    let Some((salt, input)) = rest.split_first_chunk::<32>() else {
        fail()
    };
    let mut out = [0u8; 36];
    // SAFETY: `code_hash` and `salt` are 32 readable bytes, `params` CALL_PARAMS_LEN, `input`
    // readable for its length, `out[4..]` 32 writable bytes.
    let status = unsafe {
        sys::instantiate(
            code_hash.as_ptr(),
            params.as_ptr(),
            input.as_ptr(),
            input.len() as u32,
            salt.as_ptr(),
            out[4..].as_mut_ptr(),
        )
    };
    out[..4].copy_from_slice(&status.to_le_bytes());
    api::return_value(&out)
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
