//! The syscalls between contracts: `call`, `instantiate` and `terminate` (see
//! [`crate::abi`] for their layouts). Each reads and checks its arguments and charges its
//! weight before anything runs; the callee's own weight and deposit then come out of the
//! limits it is given, which are carved out of the caller's ([`crate::exec`]).

use super::{Context, Flow};
use crate::abi::{self, CallParams, CallStatus};
use crate::exec::{call_status, Limits};
use crate::pallet::{BalanceOf, Config, ContractInfo, Error};
use crate::weights::WeightInfo;
use alloc::vec::Vec;
use codec::MaxEncodedLen;
use frame_support::weights::Weight;
use sp_core::H256;
use sp_runtime::{
    traits::{UniqueSaturatedFrom, UniqueSaturatedInto},
    AccountId32, DispatchError,
};

/// The address preimage `instantiate` hashes is shorter than this.
const ADDRESS_PREIMAGE_LEN: u32 = 128;
/// A `StorageDepositTransferred` event is shorter than this.
const DEPOSIT_EVENT_LEN: u32 = 128;

/// `value` as a balance, if it is one.
fn to_balance<T: Config>(value: u128) -> Option<BalanceOf<T>> {
    let balance = BalanceOf::<T>::unique_saturated_from(value);
    (UniqueSaturatedInto::<u128>::unique_saturated_into(balance) == value).then_some(balance)
}

fn limits<T: Config>(params: &CallParams) -> Limits<T> {
    Limits {
        weight: Weight::from_parts(params.ref_time_limit, params.proof_size_limit),
        deposit: BalanceOf::<T>::unique_saturated_from(params.deposit_limit),
    }
}

/// What a call out of a frame costs the caller beyond the call itself: sending value, and
/// for a call that allows re-entry, settling the caller's deposit (a hold moved, its info
/// written, an event) and reading its info back after.
fn caller_side_weight<T: Config>(params: &CallParams) -> Weight {
    let mut weight = Weight::zero();
    if params.value != 0 {
        weight = weight.saturating_add(T::WeightInfo::transfer());
    }
    if params.allows_reentry() {
        let info_len = ContractInfo::<T>::max_encoded_len() as u32;
        weight = weight
            .saturating_add(T::WeightInfo::transfer())
            .saturating_add(T::WeightInfo::storage_write(info_len))
            .saturating_add(T::WeightInfo::deposit_event(0, DEPOSIT_EVENT_LEN))
            .saturating_add(T::WeightInfo::storage_read(info_len));
    }
    weight
}

impl<T: Config> Context<'_, T> {
    /// Reads call parameters; unknown flags trap the caller.
    fn params(&mut self, ptr: u32) -> Result<CallParams, DispatchError> {
        let bytes = self.read_array::<{ abi::CALL_PARAMS_LEN }>(ptr)?;
        CallParams::decode(&bytes).ok_or_else(|| Error::<T>::InvalidSyscallFlags.into())
    }
}

/// `call(callee_ptr, params_ptr, input_ptr, input_len, output_ptr, output_len_ptr)`.
pub(super) fn call<T: Config>(
    cx: &mut Context<'_, T>,
    [callee_ptr, params_ptr, input_ptr, input_len, output_ptr, output_len_ptr]: [u32; 6],
) -> Result<Flow, DispatchError> {
    let callee = AccountId32::new(cx.read_array::<32>(callee_ptr)?);
    let params = cx.params(params_ptr)?;
    let input = cx.read(input_ptr, input_len, abi::MAX_CALL_DATA_LEN)?;
    let output_cap = u32::from_le_bytes(cx.read_array::<4>(output_len_ptr)?);
    cx.charge(T::WeightInfo::call().saturating_add(caller_side_weight::<T>(&params)))?;
    let (status, output) = match to_balance::<T>(params.value) {
        None => (CallStatus::TransferFailed, Vec::new()),
        Some(value) => {
            let result = cx.stack.call_from(
                cx.frame,
                callee,
                value,
                limits(&params),
                params.allows_reentry(),
                input,
            )?;
            let status = call_status::<T, _>(&result);
            (
                status,
                result.map(|output| output.output).unwrap_or_default(),
            )
        }
    };
    let copied = output.len().min(output_cap as usize);
    cx.write(output_ptr, &output[..copied])?;
    cx.write(output_len_ptr, &(output.len() as u32).to_le_bytes())?;
    Ok(Flow::Resume(status.code().into()))
}

/// `instantiate(code_hash_ptr, params_ptr, input_ptr, input_len, salt_ptr, address_ptr)`.
pub(super) fn instantiate<T: Config>(
    cx: &mut Context<'_, T>,
    [code_hash_ptr, params_ptr, input_ptr, input_len, salt_ptr, address_ptr]: [u32; 6],
) -> Result<Flow, DispatchError> {
    let code_hash = H256(cx.read_array::<32>(code_hash_ptr)?);
    let params = cx.params(params_ptr)?;
    let input = cx.read(input_ptr, input_len, abi::MAX_CALL_DATA_LEN)?;
    let salt = cx.read_array::<{ abi::SALT_LEN }>(salt_ptr)?;
    cx.charge(
        T::WeightInfo::instantiate()
            .saturating_add(T::WeightInfo::hash_blake2_256(ADDRESS_PREIMAGE_LEN))
            .saturating_add(caller_side_weight::<T>(&params)),
    )?;
    let Some(value) = to_balance::<T>(params.value) else {
        return Ok(Flow::Resume(CallStatus::TransferFailed.code().into()));
    };
    let result = cx.stack.instantiate_from(
        cx.frame,
        code_hash,
        value,
        limits(&params),
        params.allows_reentry(),
        input,
        &salt,
    )?;
    let status = call_status::<T, _>(&result);
    if let (CallStatus::Success, Ok(created)) = (status, result) {
        let address: [u8; 32] = created.contract.into();
        cx.write(address_ptr, &address)?;
    }
    Ok(Flow::Resume(status.code().into()))
}

/// `terminate(beneficiary_ptr)`.
pub(super) fn terminate<T: Config>(
    cx: &mut Context<'_, T>,
    beneficiary_ptr: u32,
) -> Result<Flow, DispatchError> {
    let beneficiary = AccountId32::new(cx.read_array::<32>(beneficiary_ptr)?);
    let (items, bytes) = (cx.frame.info.storage_items, cx.frame.info.storage_bytes);
    cx.charge(T::WeightInfo::terminate(items, bytes))?;
    cx.stack.terminate(cx.frame, &beneficiary)?;
    Ok(Flow::Terminated)
}
