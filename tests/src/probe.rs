//! Call data for the `probe` and `factory` example contracts' calls between contracts, and
//! readers of their raw results: the mock-runtime tests (`pallet_calls`) and the wasm
//! executor tests (`executor`) drive the same scenarios with them.
//!
//! The probe's selectors `[10]` (call), `[11]` (instantiate), `[12]` (terminate), `[13]`
//! (origin) and `[14]` (set storage, then run another command) return the syscalls' raw
//! results; see `pvm_contracts_examples::PROBE`.

use pallet_pvm::abi::{CallParams, CallStatus, FLAG_ALLOW_REENTRY};
use sp_core::H256;
use sp_runtime::AccountId32;

/// An account's 32 bytes.
pub fn bytes(account: &AccountId32) -> [u8; 32] {
    account.clone().into()
}

/// Call parameters giving the callee everything the caller has: no value, all the weight
/// and deposit left, no re-entry.
pub fn all() -> CallParams {
    CallParams {
        flags: 0,
        ref_time_limit: u64::MAX,
        proof_size_limit: u64::MAX,
        value: 0,
        deposit_limit: u128::MAX,
    }
}

/// [`all`], sending `value`.
pub fn with_value(value: u128) -> CallParams {
    CallParams { value, ..all() }
}

/// [`all`], with the caller allowing re-entry.
pub fn reentrant() -> CallParams {
    CallParams {
        flags: FLAG_ALLOW_REENTRY,
        ..all()
    }
}

/// [`all`], with the callee's `ref_time` capped at `ref_time`.
pub fn starved(ref_time: u64) -> CallParams {
    CallParams {
        ref_time_limit: ref_time,
        ..all()
    }
}

/// Probe call data: `call(callee, params, input)`.
pub fn probe_call(callee: &AccountId32, params: CallParams, input: &[u8]) -> Vec<u8> {
    [&[10u8][..], &bytes(callee), &params.encode(), input].concat()
}

/// Probe call data: `instantiate(code_hash, params, input, salt = [salt; 32])`.
pub fn probe_instantiate(code: H256, params: CallParams, salt: u8, input: &[u8]) -> Vec<u8> {
    [&[11u8][..], &code.0, &params.encode(), &[salt; 32], input].concat()
}

/// Probe call data: `terminate(beneficiary)`.
pub fn probe_terminate(beneficiary: &AccountId32) -> Vec<u8> {
    [&[12u8][..], &bytes(beneficiary)].concat()
}

/// Probe call data: return the origin.
pub const PROBE_ORIGIN: [u8; 1] = [13];

/// Probe call data: `set_storage(key, value)`, then `command`.
pub fn set_then(key: &[u8], value: &[u8], command: &[u8]) -> Vec<u8> {
    [
        &[14u8, key.len() as u8][..],
        key,
        &(value.len() as u16).to_le_bytes(),
        value,
        command,
    ]
    .concat()
}

/// Probe call data: `set_storage(key, value)` and return its raw result.
pub fn probe_set(key: &[u8], value: &[u8]) -> Vec<u8> {
    [&[3u8, key.len() as u8][..], key, value].concat()
}

/// Probe call data that calls `contract` (allowing re-entry) `depth` times deep, the
/// innermost frame returning the origin.
pub fn nested_self_calls(contract: &AccountId32, depth: usize) -> Vec<u8> {
    (0..depth).fold(PROBE_ORIGIN.to_vec(), |inner, _| {
        probe_call(contract, reentrant(), &inner)
    })
}

/// A probe `[10]` output: the status, the callee's full output length, and what was copied.
pub fn call_result(output: &[u8]) -> (CallStatus, usize, Vec<u8>) {
    let status = u32::from_le_bytes(output[..4].try_into().unwrap());
    let len = u32::from_le_bytes(output[4..8].try_into().unwrap());
    (
        CallStatus::from_code(status).unwrap_or_else(|| panic!("status {status}")),
        len as usize,
        output[8..].to_vec(),
    )
}

/// A probe `[11]` (or factory `[0]`) output: the status and the address.
pub fn instantiate_result(output: &[u8]) -> (CallStatus, AccountId32) {
    let status = u32::from_le_bytes(output[..4].try_into().unwrap());
    let address: [u8; 32] = output[4..36].try_into().unwrap();
    (CallStatus::from_code(status).unwrap(), address.into())
}

/// The statuses of nested probe `[10]` outputs, outermost first, and the innermost output:
/// a level is a status and a length that is exactly what follows it.
pub fn unwrap_nested(mut output: &[u8]) -> (Vec<CallStatus>, Vec<u8>) {
    let mut statuses = Vec::new();
    while output.len() >= 8 {
        let len = u32::from_le_bytes(output[4..8].try_into().unwrap()) as usize;
        if len != output.len() - 8 {
            break;
        }
        let code = u32::from_le_bytes(output[..4].try_into().unwrap());
        statuses.push(CallStatus::from_code(code).unwrap());
        output = &output[8..];
    }
    (statuses, output.to_vec())
}

/// Factory call data: create a contract with `salt = [salt; 32]`, giving its `deploy`
/// `input`.
pub fn factory_create(salt: u8, input: &[u8]) -> Vec<u8> {
    [&[0u8][..], &[salt; 32], input].concat()
}
