//! The runtime API for dry runs: what a call, an instantiation or an upload would do, with
//! the gas, weight and deposit it needs, without committing anything. Wallets and front
//! ends call it (over RPC, `state_call`) to set the limits of the real extrinsic.

// The generated client-side functions add a block hash and a context to each call's own
// arguments.
#![allow(clippy::too_many_arguments)]

use alloc::vec::Vec;
use codec::{Codec, Decode, Encode};
use frame_support::weights::Weight;
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::DispatchError;

/// What a dry run of a call or an instantiation reports.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ContractResult<R, Balance, EventRecord> {
    /// The outcome (a revert is an `Ok` with `reverted` set), or why it failed.
    pub result: Result<R, DispatchError>,
    /// Engine gas the contract's instructions used.
    pub gas_consumed: u64,
    /// The weight the execution needs: pass it as the extrinsic's `weight_limit` (the
    /// extrinsic adds its own base weight on top).
    pub weight_required: Weight,
    /// Storage deposit the origin would pay.
    pub storage_deposit_charged: Balance,
    /// Storage deposit the origin would get back.
    pub storage_deposit_refunded: Balance,
    /// The events the execution deposits.
    pub events: Vec<EventRecord>,
}

/// Which code a dry-run instantiation runs.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub enum Code {
    /// Upload this blob first, as `instantiate_with_code` does.
    Upload(Vec<u8>),
    /// Code stored under this hash.
    Existing(H256),
}

/// What a dry-run upload reports.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct UploadResult<Balance> {
    /// The code's hash.
    pub code_hash: H256,
    /// The deposit held for it.
    pub deposit: Balance,
}

sp_api::decl_runtime_apis! {
    /// Dry runs of pallet-pvm's extrinsics. Limits left `None` default to the most an
    /// extrinsic may use (the block's maximum extrinsic weight, an unlimited deposit).
    pub trait PvmApi<AccountId, Balance, EventRecord>
    where
        AccountId: Codec,
        Balance: Codec,
        EventRecord: Codec,
    {
        /// Calls `dest` with `input`, as the `call` extrinsic would.
        fn call(
            origin: AccountId,
            dest: AccountId,
            value: Balance,
            weight_limit: Option<Weight>,
            storage_deposit_limit: Option<Balance>,
            input: Vec<u8>,
        ) -> ContractResult<crate::CallOutcome, Balance, EventRecord>;

        /// Instantiates `code` with `data` and `salt`, as `instantiate` (existing code) or
        /// `instantiate_with_code` (a blob) would.
        fn instantiate(
            origin: AccountId,
            value: Balance,
            weight_limit: Option<Weight>,
            storage_deposit_limit: Option<Balance>,
            code: Code,
            data: Vec<u8>,
            salt: Vec<u8>,
        ) -> ContractResult<crate::InstantiateOutcome, Balance, EventRecord>;

        /// Uploads `code`, as `upload_code` would.
        fn upload_code(
            origin: AccountId,
            code: Vec<u8>,
            storage_deposit_limit: Option<Balance>,
        ) -> Result<UploadResult<Balance>, DispatchError>;
    }
}
