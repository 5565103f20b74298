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

/// Bit 0 of the flags in the call parameters of [`call`] and [`instantiate`]: the calling
/// contract may be re-entered (called again, itself included) until the call returns.
/// Every other bit must be zero.
pub const CALL_FLAG_ALLOW_REENTRY: u64 = 1;

/// The length of the call parameters [`call`] and [`instantiate`] read: `flags: u64`,
/// `ref_time_limit: u64`, `proof_size_limit: u64`, `value: u128`, `deposit_limit: u128`,
/// little-endian, in that order.
pub const CALL_PARAMS_LEN: usize = 56;

/// [`call`]/[`instantiate`] result: the callee returned; its changes stand.
pub const CALL_SUCCESS: u32 = 0;
/// The callee reverted; its output is still copied.
pub const CALL_REVERTED: u32 = 1;
/// The callee trapped.
pub const CALL_TRAPPED: u32 = 2;
/// The callee used up its weight limit.
pub const CALL_OUT_OF_GAS: u32 = 3;
/// The value could not be sent.
pub const CALL_TRANSFER_FAILED: u32 = 4;
/// The callee's storage deposit exceeds its deposit limit.
pub const CALL_DEPOSIT_LIMIT_EXHAUSTED: u32 = 5;
/// The origin cannot pay the storage deposit the callee needs.
pub const CALL_DEPOSIT_NOT_ENOUGH_FUNDS: u32 = 6;
/// [`call`]: no contract at the address; [`instantiate`]: no code under the hash.
pub const CALL_NOT_FOUND: u32 = 7;
/// The callee would be one frame past the runtime's call-depth limit.
pub const CALL_DEPTH_EXCEEDED: u32 = 8;
/// The callee has a frame on the stack that does not allow re-entry.
pub const CALL_REENTRANCE_DENIED: u32 = 9;
/// [`instantiate`]: a contract already lives at the derived address.
pub const CALL_ALREADY_EXISTS: u32 = 10;

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

    /// `origin(out_ptr)`: writes the 32-byte account id of the origin, the account that
    /// signed the extrinsic (the caller of the outermost contract).
    pub fn origin(out_ptr: *mut u8);

    /// `call(callee_ptr, params_ptr, input_ptr, input_len, output_ptr, output_len_ptr) ->
    /// u32`: calls the contract at `callee` (32 bytes) with `input` and the call parameters
    /// at `params_ptr` ([`CALL_PARAMS_LEN`] bytes). `output_len_ptr` points at a `u32`: the
    /// output buffer's capacity before, the callee's full output length after; the first
    /// `min(len, capacity)` bytes are copied to `output_ptr`. Returns a `CALL_*` status.
    pub fn call(
        callee_ptr: *const u8,
        params_ptr: *const u8,
        input_ptr: *const u8,
        input_len: u32,
        output_ptr: *mut u8,
        output_len_ptr: *mut u32,
    ) -> u32;

    /// `instantiate(code_hash_ptr, params_ptr, input_ptr, input_len, salt_ptr, address_ptr)
    /// -> u32`: creates a contract from the code under `code_hash` (32 bytes) at the address
    /// derived from this contract, the code hash and the 32-byte salt, running its `deploy`
    /// with `input`; on [`CALL_SUCCESS`] writes the new address (32 bytes) to
    /// `address_ptr`. Returns a `CALL_*` status.
    pub fn instantiate(
        code_hash_ptr: *const u8,
        params_ptr: *const u8,
        input_ptr: *const u8,
        input_len: u32,
        salt_ptr: *const u8,
        address_ptr: *mut u8,
    ) -> u32;

    /// `terminate(beneficiary_ptr)`: ends the contract: its storage goes, its balance goes to
    /// the beneficiary (32 bytes), its storage deposit back to the origin. Does not return.
    /// Traps while the contract has another frame on the stack, or when the beneficiary is
    /// the contract itself.
    pub fn terminate(beneficiary_ptr: *const u8);
}
