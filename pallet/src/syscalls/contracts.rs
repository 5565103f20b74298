//! The syscalls between contracts: `call`, `instantiate` and `terminate` (see
//! [`crate::abi`] for their layouts). Each reads and checks its arguments and charges its
//! weight before anything runs; the callee's own weight and deposit then come out of the
//! limits it is given, which are carved out of the caller's ([`crate::exec`]).

use super::{within, Context, Flow};
use crate::abi::{self, CallParams, CallStatus};
use crate::costs::RuntimeCost;
use crate::exec::{call_status, Limits};
use crate::pallet::{BalanceOf, Config, Error};
use alloc::vec::Vec;
use frame_support::weights::Weight;
use sp_core::H256;
use sp_runtime::{
    traits::{UniqueSaturatedFrom, UniqueSaturatedInto},
    AccountId32, DispatchError,
};

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
    let input_len = within::<T>(input_len, abi::MAX_CALL_DATA_LEN)?;
    let (callee, params, input, output_cap) = cx.charge_bounded(
        RuntimeCost::Call {
            value: true,
            reentry: true,
            input_len,
        },
        |cx| {
            let callee = AccountId32::new(cx.read_array::<32>(callee_ptr)?);
            let params = cx.params(params_ptr)?;
            let input = cx.read(input_ptr, input_len)?;
            let output_cap = u32::from_le_bytes(cx.read_array::<4>(output_len_ptr)?);
            Ok((callee, params, input, output_cap))
        },
        |(_, params, _, _)| RuntimeCost::Call {
            value: params.value != 0,
            reentry: params.allows_reentry(),
            input_len,
        },
    )?;
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
    cx.charge(RuntimeCost::CopyToGuest(copied as u32))?;
    cx.write(output_ptr, &output[..copied])?;
    cx.write(output_len_ptr, &(output.len() as u32).to_le_bytes())?;
    Ok(Flow::Resume(status.code().into()))
}

/// `instantiate(code_hash_ptr, params_ptr, input_ptr, input_len, salt_ptr, address_ptr)`.
pub(super) fn instantiate<T: Config>(
    cx: &mut Context<'_, T>,
    [code_hash_ptr, params_ptr, input_ptr, input_len, salt_ptr, address_ptr]: [u32; 6],
) -> Result<Flow, DispatchError> {
    let input_len = within::<T>(input_len, abi::MAX_CALL_DATA_LEN)?;
    let (code_hash, params, input, salt) = cx.charge_bounded(
        RuntimeCost::Instantiate {
            value: true,
            reentry: true,
            input_len,
        },
        |cx| {
            let code_hash = H256(cx.read_array::<32>(code_hash_ptr)?);
            let params = cx.params(params_ptr)?;
            let input = cx.read(input_ptr, input_len)?;
            let salt = cx.read_array::<{ abi::SALT_LEN }>(salt_ptr)?;
            Ok((code_hash, params, input, salt))
        },
        |(_, params, _, _)| RuntimeCost::Instantiate {
            value: params.value != 0,
            reentry: params.allows_reentry(),
            input_len,
        },
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
    // Every storage item is deleted: the count is known before.
    cx.charge(RuntimeCost::Terminate(cx.frame.info.storage_items))?;
    let beneficiary = AccountId32::new(cx.read_array::<32>(beneficiary_ptr)?);
    cx.stack.terminate(cx.frame, &beneficiary)?;
    Ok(Flow::Terminated)
}
