//! `pvm-contract-api`: the guest side of the `pallet-pvm` contract ABI.
//!
//! A contract is a PolkaVM program (instruction set `Latest64`) exporting `deploy` (run once
//! at instantiation) and `call` (run by every `call` extrinsic), both without arguments. It
//! reads its input with [`call_data`], talks to the chain through the syscalls of
//! `pallet/src/abi.md`, and ends by returning from the export (success, empty output), with
//! [`return_value`] (success with output) or with [`revert`] (output, state changes rolled
//! back). A panic traps the contract (see [`contract!`]).
//!
//! * [`sys`] — the raw imports, one per ABI symbol, exactly as the pallet knows them;
//! * the functions at the crate root — safe wrappers over them;
//! * [`storage`] — the contract's key-value storage;
//! * [`call`], [`instantiate`], [`terminate`] ([`calls`]) — calling, creating and ending
//!   contracts;
//! * [`contract!`] — declares the `deploy` and `call` exports and the panic handler.
//!
//! The crate needs no allocator: everything goes through caller-provided buffers and the
//! `MAX_*` limits bound their sizes.
//!
//! # A complete minimal contract
//!
//! A guest crate is a `cdylib` built for the PolkaVM target (see `build-guests` in
//! `pvm-contracts-examples`), with `panic = "abort"`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! pvm-contract-api = { path = "../api" }
//! ```
//!
//! This one keeps a single value: `deploy` stores its call data, `call` with empty call data
//! returns the value, any other call data replaces it.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! use pvm_contract_api as api;
//!
//! api::contract!(deploy = on_deploy, call = on_call);
//!
//! const KEY: &[u8] = b"value";
//!
//! fn on_deploy() {
//!     on_call_store();
//! }
//!
//! fn on_call() {
//!     if api::call_data_size() == 0 {
//!         let mut value = [0u8; 64];
//!         match api::storage::get(KEY, &mut value) {
//!             Some(len) => api::return_value(&value[..len.min(value.len())]),
//!             None => api::revert(&[]),
//!         }
//!     }
//!     on_call_store();
//! }
//!
//! fn on_call_store() {
//!     let mut buffer = [0u8; 64];
//!     // Call data longer than the buffer is malformed input: revert with empty output.
//!     let Some(input) = api::call_data(&mut buffer) else { api::revert(&[]) };
//!     api::storage::set(KEY, input);
//!     api::deposit_event(&[api::caller()], input);
//! }
//! ```

#![no_std]
#![deny(missing_docs)]

pub mod calls;
pub mod storage;
pub mod sys;

pub use calls::{call, instantiate, terminate, CallError, CallParams};

/// Re-exported so that [`contract!`] works in crates that do not depend on `polkavm-derive`
/// themselves.
pub use polkavm_derive;

/// The longest storage key, in bytes.
pub const MAX_KEY_LEN: usize = 128;
/// The longest storage value, in bytes (16 KiB).
pub const MAX_VALUE_LEN: usize = 16 * 1024;
/// The longest output of [`return_value`]/[`revert`], in bytes (16 KiB).
pub const MAX_OUTPUT_LEN: usize = 16 * 1024;
/// The longest call data, in bytes (16 KiB).
pub const MAX_CALL_DATA_LEN: usize = 16 * 1024;
/// The most topics an event may have.
pub const MAX_TOPICS: usize = 4;
/// The longest event data, in bytes (4 KiB).
pub const MAX_EVENT_DATA_LEN: usize = 4 * 1024;
/// The longest input of the hash syscalls, in bytes (64 KiB).
pub const MAX_HASH_INPUT_LEN: usize = 64 * 1024;

/// A 32-byte account id.
pub type AccountId = [u8; 32];

/// A 32-byte event topic or hash.
pub type Hash = [u8; 32];

/// Stops the contract with a trap (the `unimp` instruction): the frame's state changes are
/// rolled back and the call fails with a pallet error rather than an output.
#[inline(always)]
pub fn trap() -> ! {
    #[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
    // SAFETY: `unimp` traps; nothing runs after it.
    unsafe {
        core::arch::asm!("unimp", options(noreturn))
    }
    // Only host builds of this crate (docs, lints) get here; contracts never run on the host.
    #[cfg(not(any(target_arch = "riscv32", target_arch = "riscv64")))]
    loop {
        core::hint::spin_loop()
    }
}

/// Declares the two exports of a contract and its panic handler.
///
/// ```ignore
/// pvm_contract_api::contract!(deploy = on_deploy, call = on_call);
/// ```
///
/// expands to an exported `fn deploy()` that calls `on_deploy()`, an exported `fn call()`
/// that calls `on_call()`, and a `#[panic_handler]` that [`trap`]s. `on_deploy` and `on_call`
/// are paths to functions taking no arguments and returning `()` (or `!`); they must not be
/// named `deploy` or `call` themselves, since the macro defines those names at the crate
/// root. Returning from them ends the frame successfully with empty output.
///
/// Use it once, at the root of a `#![no_std]`, `#![no_main]` `cdylib` crate.
#[macro_export]
macro_rules! contract {
    (deploy = $deploy:path, call = $call:path $(,)?) => {
        /// The `deploy` export: run once at instantiation.
        #[$crate::polkavm_derive::polkavm_export(abi = $crate::polkavm_derive::default_abi)]
        pub fn deploy() {
            $deploy()
        }

        /// The `call` export: run by every `call`.
        #[$crate::polkavm_derive::polkavm_export(abi = $crate::polkavm_derive::default_abi)]
        pub fn call() {
            $call()
        }

        #[panic_handler]
        fn __pvm_contract_panic(_info: &::core::panic::PanicInfo) -> ! {
            $crate::trap()
        }
    };
}

/// The length of the call data, in bytes.
#[inline]
pub fn call_data_size() -> u32 {
    // SAFETY: no pointers.
    unsafe { sys::call_data_size() }
}

/// Copies call data starting at byte `offset` into `out` and returns how many bytes were
/// copied: `min(out.len(), len - min(offset, len))`.
#[inline]
pub fn call_data_copy(out: &mut [u8], offset: u32) -> usize {
    // SAFETY: `out` is writable for `out.len()` bytes.
    unsafe { sys::call_data_copy(out.as_mut_ptr(), out.len() as u32, offset) as usize }
}

/// The whole call data, copied into `buffer`: `Some(&buffer[..len])`, or `None` when the call
/// data is longer than `buffer` (nothing useful is copied then). Size `buffer` to the longest
/// input the contract accepts; at most [`MAX_CALL_DATA_LEN`] is ever needed.
#[inline]
pub fn call_data(buffer: &mut [u8]) -> Option<&[u8]> {
    let len = call_data_size() as usize;
    if len > buffer.len() {
        return None;
    }
    let copied = call_data_copy(&mut buffer[..len], 0);
    Some(&buffer[..copied])
}

/// Ends the call successfully with `output` (at most [`MAX_OUTPUT_LEN`] bytes).
#[inline]
pub fn return_value(output: &[u8]) -> ! {
    // SAFETY: `output` is readable for its length; flags are 0.
    unsafe { sys::return_data(0, output.as_ptr(), output.len() as u32) };
    trap()
}

/// Ends the call with `output` (at most [`MAX_OUTPUT_LEN`] bytes) and rolls back every state
/// change the frame made.
#[inline]
pub fn revert(output: &[u8]) -> ! {
    // SAFETY: `output` is readable for its length; the revert flag is the only flag set.
    unsafe {
        sys::return_data(
            sys::RETURN_FLAG_REVERT,
            output.as_ptr(),
            output.len() as u32,
        )
    };
    trap()
}

/// The account that called the contract (for `deploy`, the instantiator): the origin, or
/// the calling contract.
#[inline]
pub fn caller() -> AccountId {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { sys::caller(out.as_mut_ptr()) };
    out
}

/// The origin: the account that signed the extrinsic, the caller of the outermost
/// contract. Equal to [`caller`] unless a contract called this one.
#[inline]
pub fn origin() -> AccountId {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { sys::origin(out.as_mut_ptr()) };
    out
}

/// The contract's own account.
#[inline]
pub fn address() -> AccountId {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { sys::address(out.as_mut_ptr()) };
    out
}

/// The value sent with this call.
#[inline]
pub fn value_transferred() -> u128 {
    let mut out = [0u8; 16];
    // SAFETY: `out` is 16 writable bytes.
    unsafe { sys::value_transferred(out.as_mut_ptr()) };
    u128::from_le_bytes(out)
}

/// The contract's free balance.
#[inline]
pub fn balance() -> u128 {
    let mut out = [0u8; 16];
    // SAFETY: `out` is 16 writable bytes.
    unsafe { sys::balance(out.as_mut_ptr()) };
    u128::from_le_bytes(out)
}

/// [`transfer`] could not send the value: the contract's balance is too low, or the
/// destination would stay below the existential deposit.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct TransferFailed;

/// Sends `value` from the contract's balance to `dest`.
#[inline]
pub fn transfer(dest: &AccountId, value: u128) -> Result<(), TransferFailed> {
    let value = value.to_le_bytes();
    // SAFETY: `dest` is 32 readable bytes, `value` 16.
    match unsafe { sys::transfer(dest.as_ptr(), value.as_ptr()) } {
        0 => Ok(()),
        _ => Err(TransferFailed),
    }
}

/// The current block number.
#[inline]
pub fn block_number() -> u64 {
    // SAFETY: no pointers.
    unsafe { sys::block_number() }
}

/// The current block's timestamp, in milliseconds.
#[inline]
pub fn now() -> u64 {
    // SAFETY: no pointers.
    unsafe { sys::now() }
}

/// The gas this frame has left (instructions and syscalls so far already charged).
#[inline]
pub fn gas_left() -> u64 {
    // SAFETY: no pointers.
    unsafe { sys::gas_left() }
}

/// Emits an event with `topics` (at most [`MAX_TOPICS`]) and `data` (at most
/// [`MAX_EVENT_DATA_LEN`] bytes); the chain records it as `ContractEmitted`.
#[inline]
pub fn deposit_event(topics: &[Hash], data: &[u8]) {
    // SAFETY: `topics` is `topics.len()` contiguous 32-byte arrays, `data` is readable.
    unsafe {
        sys::deposit_event(
            topics.as_ptr().cast::<u8>(),
            topics.len() as u32,
            data.as_ptr(),
            data.len() as u32,
        )
    }
}

/// BLAKE2b-256 of `input` (at most [`MAX_HASH_INPUT_LEN`] bytes), computed by the host.
#[inline]
pub fn hash_blake2_256(input: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    // SAFETY: `input` is readable, `out` is 32 writable bytes.
    unsafe { sys::hash_blake2_256(input.as_ptr(), input.len() as u32, out.as_mut_ptr()) };
    out
}

/// Keccak-256 (the original Keccak padding, as Ethereum uses) of `input` (at most
/// [`MAX_HASH_INPUT_LEN`] bytes), computed by the host.
#[inline]
pub fn hash_keccak_256(input: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    // SAFETY: `input` is readable, `out` is 32 writable bytes.
    unsafe { sys::hash_keccak_256(input.as_ptr(), input.len() as u32, out.as_mut_ptr()) };
    out
}
