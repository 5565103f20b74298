//! The raw syscalls of the contract ABI (`pallet/src/abi.md`), one `polkavm_import` per
//! symbol, exactly as the pallet knows them.
//!
//! Arguments arrive in the host's `a0..a5` in the order written here; a result comes back
//! in `a0`. Pointers are guest addresses (the host reads their low 32 bits), lengths are
//! `u32`. A pointer/length pair outside the guest's readable (for output: writable) memory,
//! a length over its limit (see the `MAX_*` constants at the crate root) or unknown flags
//! **trap the contract**: its state changes are rolled back and the gas used is charged.
//!
//! Every function here is `unsafe` because the host dereferences the pointers it is given.
//! Prefer the safe wrappers at the crate root.

/// The result of the storage syscalls when the key has no value: `u32::MAX`.
pub const KEY_NOT_FOUND: u32 = u32::MAX;

/// The result of [`transfer`] when the value could not be sent (insufficient balance, or
/// the destination would stay below the existential deposit).
pub const TRANSFER_FAILED: u32 = 1;

/// Bit 0 of the `flags` of [`return_data`]: roll back the frame's state changes (the output
/// is still returned). Every other bit must be zero.
pub const RETURN_FLAG_REVERT: u32 = 1;

// The macro also emits undocumented private helpers next to each documented function.
#[polkavm_derive::polkavm_import]
#[allow(missing_docs)]
extern "C" {
    /// `call_data_size() -> u32`: the length of the call data.
    pub fn call_data_size() -> u32;

    /// `call_data_copy(out_ptr, out_len, offset) -> u32`: copies
    /// `n = min(out_len, len - min(offset, len))` bytes of the call data, starting at
    /// `offset`, to `out_ptr`, and returns `n`.
    pub fn call_data_copy(out_ptr: *mut u8, out_len: u32, offset: u32) -> u32;

    /// `return_data(flags, data_ptr, data_len)`: ends the call frame with `data` as its
    /// output; `flags` bit 0 ([`RETURN_FLAG_REVERT`]) reverts the frame's state changes.
    /// Does not return. `data_len` is at most [`MAX_OUTPUT_LEN`](crate::MAX_OUTPUT_LEN).
    pub fn return_data(flags: u32, data_ptr: *const u8, data_len: u32);

    /// `get_storage(key_ptr, key_len, out_ptr, out_cap) -> u32`: [`KEY_NOT_FOUND`] when the
    /// key has no value, else the value's full length, after copying `min(len, out_cap)`
    /// bytes of it to `out_ptr`.
    pub fn get_storage(key_ptr: *const u8, key_len: u32, out_ptr: *mut u8, out_cap: u32) -> u32;

    /// `set_storage(key_ptr, key_len, value_ptr, value_len) -> u32`: stores the value and
    /// returns the previous value's length, or [`KEY_NOT_FOUND`].
    pub fn set_storage(
        key_ptr: *const u8,
        key_len: u32,
        value_ptr: *const u8,
        value_len: u32,
    ) -> u32;

    /// `clear_storage(key_ptr, key_len) -> u32`: removes the value and returns its length,
    /// or [`KEY_NOT_FOUND`].
    pub fn clear_storage(key_ptr: *const u8, key_len: u32) -> u32;

    /// `contains_storage(key_ptr, key_len) -> u32`: the value's length, or
    /// [`KEY_NOT_FOUND`].
    pub fn contains_storage(key_ptr: *const u8, key_len: u32) -> u32;

    /// `caller(out_ptr)`: writes the caller's 32-byte account id to `out_ptr`.
    pub fn caller(out_ptr: *mut u8);

    /// `address(out_ptr)`: writes the contract's own 32-byte account id to `out_ptr`.
    pub fn address(out_ptr: *mut u8);

    /// `value_transferred(out_ptr)`: writes the value sent with this call, a `u128` as 16
    /// little-endian bytes.
    pub fn value_transferred(out_ptr: *mut u8);

    /// `balance(out_ptr)`: writes the contract's free balance, a `u128` as 16 little-endian
    /// bytes.
    pub fn balance(out_ptr: *mut u8);

    /// `transfer(dest_ptr, value_ptr) -> u32`: sends `value` (16 little-endian bytes) from
    /// the contract to `dest` (32 bytes). 0 = done, [`TRANSFER_FAILED`] otherwise.
    pub fn transfer(dest_ptr: *const u8, value_ptr: *const u8) -> u32;

    /// `block_number() -> u64`: the current block number.
    pub fn block_number() -> u64;

    /// `now() -> u64`: the current block's timestamp in milliseconds.
    pub fn now() -> u64;

    /// `gas_left() -> u64`: the gas the frame has left.
    pub fn gas_left() -> u64;

    /// `deposit_event(topics_ptr, topics_count, data_ptr, data_len)`: emits an event with
    /// `topics_count` 32-byte topics read from `topics_ptr` (at most
    /// [`MAX_TOPICS`](crate::MAX_TOPICS)) and `data_len` bytes of data (at most
    /// [`MAX_EVENT_DATA_LEN`](crate::MAX_EVENT_DATA_LEN)).
    pub fn deposit_event(
        topics_ptr: *const u8,
        topics_count: u32,
        data_ptr: *const u8,
        data_len: u32,
    );

    /// `hash_blake2_256(input_ptr, input_len, out_ptr)`: writes the 32-byte BLAKE2b-256
    /// hash of the input.
    pub fn hash_blake2_256(input_ptr: *const u8, input_len: u32, out_ptr: *mut u8);

    /// `hash_keccak_256(input_ptr, input_len, out_ptr)`: writes the 32-byte Keccak-256 hash
    /// of the input.
    pub fn hash_keccak_256(input_ptr: *const u8, input_len: u32, out_ptr: *mut u8);
}
