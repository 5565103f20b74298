//! Calling, creating and ending contracts.
//!
//! A call runs the callee as a frame of its own: if it reverts, traps or runs out of gas,
//! its state changes (and the value sent) are rolled back, the caller gets a [`CallError`]
//! and goes on. The callee's weight and storage deposit come out of the caller's, at most
//! the limits in its [`CallParams`].
//!
//! ```ignore
//! use pvm_contract_api::{self as api, CallParams};
//!
//! let mut output = [0u8; 64];
//! match api::call(&target, &CallParams::new().value(100), b"input", &mut output) {
//!     Ok(len) => { /* output[..len.min(64)] */ }
//!     Err(api::CallError::Reverted { output_len }) => { /* the callee's revert output */ }
//!     Err(other) => { /* it failed: other.code() */ }
//! }
//! ```

use crate::{sys, trap, AccountId, Hash};

/// What a callee may use and receive: the value sent, its weight limit (`ref_time` and
/// `proof_size`) and its storage deposit limit, each capped at what the caller has left, and
/// the flags.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct CallParams {
    flags: u64,
    ref_time_limit: u64,
    proof_size_limit: u64,
    value: u128,
    deposit_limit: u128,
}

impl CallParams {
    /// No value, all the weight and deposit the caller has left, no re-entry.
    pub const fn new() -> CallParams {
        CallParams {
            flags: 0,
            ref_time_limit: u64::MAX,
            proof_size_limit: u64::MAX,
            value: 0,
            deposit_limit: u128::MAX,
        }
    }

    /// Sends `value` from the caller's balance to the callee.
    pub const fn value(mut self, value: u128) -> CallParams {
        self.value = value;
        self
    }

    /// Lets the callee use at most `ref_time` and `proof_size` of weight.
    pub const fn weight_limit(mut self, ref_time: u64, proof_size: u64) -> CallParams {
        self.ref_time_limit = ref_time;
        self.proof_size_limit = proof_size;
        self
    }

    /// Lets the callee charge the origin at most `limit` of storage deposit.
    pub const fn deposit_limit(mut self, limit: u128) -> CallParams {
        self.deposit_limit = limit;
        self
    }

    /// Allows this contract to be re-entered (called again, by the callee or anyone it
    /// calls, itself included) until the call returns. Without it such calls fail with
    /// [`CallError::ReentranceDenied`].
    pub const fn allow_reentry(mut self) -> CallParams {
        self.flags |= sys::CALL_FLAG_ALLOW_REENTRY;
        self
    }

    /// The memory layout [`sys::call`] and [`sys::instantiate`] read.
    pub fn encode(&self) -> [u8; sys::CALL_PARAMS_LEN] {
        let mut bytes = [0u8; sys::CALL_PARAMS_LEN];
        bytes[0..8].copy_from_slice(&self.flags.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ref_time_limit.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.proof_size_limit.to_le_bytes());
        bytes[24..40].copy_from_slice(&self.value.to_le_bytes());
        bytes[40..56].copy_from_slice(&self.deposit_limit.to_le_bytes());
        bytes
    }
}

impl Default for CallParams {
    fn default() -> Self {
        CallParams::new()
    }
}

/// Why a call or instantiation did not succeed; the callee's changes are rolled back.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CallError {
    /// The callee reverted; its output (`output_len` bytes, of which what fit was copied)
    /// is still returned.
    Reverted {
        /// The full length of the callee's output.
        output_len: usize,
    },
    /// The callee trapped.
    Trapped,
    /// The callee used up its weight limit.
    OutOfGas,
    /// The value could not be sent.
    TransferFailed,
    /// The callee's storage deposit exceeds its deposit limit.
    DepositLimitExhausted,
    /// The origin cannot pay the callee's storage deposit.
    DepositNotEnoughFunds,
    /// No contract at the address (call), or no code under the hash (instantiate).
    NotFound,
    /// The call would go past the runtime's call-depth limit.
    CallDepthExceeded,
    /// The callee is on the stack and does not allow re-entry.
    ReentranceDenied,
    /// A contract already lives at the address (instantiate).
    AlreadyExists,
    /// A status this SDK does not know.
    Unknown(u32),
}

impl CallError {
    /// The status code the syscall returned.
    pub fn code(&self) -> u32 {
        match self {
            CallError::Reverted { .. } => sys::CALL_REVERTED,
            CallError::Trapped => sys::CALL_TRAPPED,
            CallError::OutOfGas => sys::CALL_OUT_OF_GAS,
            CallError::TransferFailed => sys::CALL_TRANSFER_FAILED,
            CallError::DepositLimitExhausted => sys::CALL_DEPOSIT_LIMIT_EXHAUSTED,
            CallError::DepositNotEnoughFunds => sys::CALL_DEPOSIT_NOT_ENOUGH_FUNDS,
            CallError::NotFound => sys::CALL_NOT_FOUND,
            CallError::CallDepthExceeded => sys::CALL_DEPTH_EXCEEDED,
            CallError::ReentranceDenied => sys::CALL_REENTRANCE_DENIED,
            CallError::AlreadyExists => sys::CALL_ALREADY_EXISTS,
            CallError::Unknown(code) => *code,
        }
    }

    /// `Ok(())` for [`sys::CALL_SUCCESS`], else the error; `output_len` is the callee's.
    pub fn check(status: u32, output_len: usize) -> Result<(), CallError> {
        Err(match status {
            sys::CALL_SUCCESS => return Ok(()),
            sys::CALL_REVERTED => CallError::Reverted { output_len },
            sys::CALL_TRAPPED => CallError::Trapped,
            sys::CALL_OUT_OF_GAS => CallError::OutOfGas,
            sys::CALL_TRANSFER_FAILED => CallError::TransferFailed,
            sys::CALL_DEPOSIT_LIMIT_EXHAUSTED => CallError::DepositLimitExhausted,
            sys::CALL_DEPOSIT_NOT_ENOUGH_FUNDS => CallError::DepositNotEnoughFunds,
            sys::CALL_NOT_FOUND => CallError::NotFound,
            sys::CALL_DEPTH_EXCEEDED => CallError::CallDepthExceeded,
            sys::CALL_REENTRANCE_DENIED => CallError::ReentranceDenied,
            sys::CALL_ALREADY_EXISTS => CallError::AlreadyExists,
            other => CallError::Unknown(other),
        })
    }
}

/// Calls the contract at `callee` with `input` (at most
/// [`MAX_CALL_DATA_LEN`](crate::MAX_CALL_DATA_LEN) bytes): `Ok(len)` with the full length of
/// its output, of which the first `min(len, output.len())` bytes were copied to `output`.
#[inline]
pub fn call(
    callee: &AccountId,
    params: &CallParams,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, CallError> {
    let params = params.encode();
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
    let output_len = output_len as usize;
    CallError::check(status, output_len).map(|()| output_len)
}

/// Creates a contract from the code under `code_hash`, running its `deploy` with `input`;
/// its address derives from this contract's, the code hash and `salt`, so the same salt
/// twice gives [`CallError::AlreadyExists`]. `Ok` with the new contract's address.
#[inline]
pub fn instantiate(
    code_hash: &Hash,
    params: &CallParams,
    input: &[u8],
    salt: &[u8; 32],
) -> Result<AccountId, CallError> {
    let params = params.encode();
    let mut address = [0u8; 32];
    // SAFETY: `code_hash` and `salt` are 32 readable bytes, `params` CALL_PARAMS_LEN, `input`
    // readable for its length, `address` 32 writable bytes.
    let status = unsafe {
        sys::instantiate(
            code_hash.as_ptr(),
            params.as_ptr(),
            input.as_ptr(),
            input.len() as u32,
            salt.as_ptr(),
            address.as_mut_ptr(),
        )
    };
    CallError::check(status, 0).map(|()| address)
}

/// Ends this contract: its storage is removed, its whole balance goes to `beneficiary` and
/// its storage deposit back to the origin. Traps while the contract has another frame on the
/// stack, or if `beneficiary` is the contract itself.
#[inline]
pub fn terminate(beneficiary: &AccountId) -> ! {
    // SAFETY: `beneficiary` is 32 readable bytes.
    unsafe { sys::terminate(beneficiary.as_ptr()) };
    trap()
}
