//! Dry runs of the extrinsics for [`crate::runtime_api::PvmApi`]: the same code paths the
//! extrinsics take, reporting what they need. The runtime API's caller discards the state
//! changes.

use crate::pallet::{BalanceOf, CodeInfoOf, Config, Pallet};
use crate::runtime_api::{Code, ContractResult, UploadResult};
use crate::{CallOutcome, ExecResult, InstantiateOutcome};
use alloc::vec::Vec;
use frame_support::{dispatch::DispatchClass, traits::Get, weights::Weight};
use sp_core::H256;
use sp_runtime::{
    traits::{Bounded, Saturating, UniqueSaturatedFrom},
    DispatchError,
};

/// The event records of the runtime.
pub type EventRecordOf<T> = frame_system::EventRecord<
    <T as frame_system::Config>::RuntimeEvent,
    <T as frame_system::Config>::Hash,
>;

/// The result of a dry run of `T`'s extrinsics.
pub type DryRunResult<T, R> = ContractResult<R, BalanceOf<T>, EventRecordOf<T>>;

impl<T: Config> Pallet<T> {
    /// The most weight one extrinsic may use: the default limit of a dry run.
    fn max_extrinsic_weight() -> Weight {
        let weights = <T as frame_system::Config>::BlockWeights::get();
        weights
            .get(DispatchClass::Normal)
            .max_extrinsic
            .unwrap_or(weights.max_block)
    }

    /// Runs `f`, returning its result and the events it deposited.
    fn with_events<R>(f: impl FnOnce() -> R) -> (R, Vec<EventRecordOf<T>>) {
        let before = frame_system::Pallet::<T>::event_count();
        let result = f();
        let skip = usize::try_from(before).unwrap_or(usize::MAX);
        let events = frame_system::Pallet::<T>::read_events_no_consensus()
            .skip(skip)
            .map(|record| *record)
            .collect();
        (result, events)
    }

    fn report<R>(
        result: ExecResult<R>,
        extra_deposit: BalanceOf<T>,
        events: Vec<EventRecordOf<T>>,
    ) -> DryRunResult<T, R> {
        ContractResult {
            result: result.result,
            gas_consumed: result.gas_consumed,
            weight_required: result.weight_required,
            storage_deposit_charged: BalanceOf::<T>::unique_saturated_from(result.deposit_charged)
                .saturating_add(extra_deposit),
            storage_deposit_refunded: BalanceOf::<T>::unique_saturated_from(
                result.deposit_refunded,
            ),
            events,
        }
    }

    /// A dry run of `call`.
    pub fn dry_run_call(
        origin: T::AccountId,
        dest: T::AccountId,
        value: BalanceOf<T>,
        weight_limit: Option<Weight>,
        storage_deposit_limit: Option<BalanceOf<T>>,
        input: Vec<u8>,
    ) -> DryRunResult<T, CallOutcome> {
        let (result, events) = Self::with_events(|| {
            Self::bare_call(
                origin,
                dest,
                value,
                weight_limit.unwrap_or_else(Self::max_extrinsic_weight),
                storage_deposit_limit.unwrap_or_else(BalanceOf::<T>::max_value),
                input,
            )
        });
        Self::report(result, 0u32.into(), events)
    }

    /// A dry run of `instantiate` (existing code) or `instantiate_with_code` (a blob).
    pub fn dry_run_instantiate(
        origin: T::AccountId,
        value: BalanceOf<T>,
        weight_limit: Option<Weight>,
        storage_deposit_limit: Option<BalanceOf<T>>,
        code: Code,
        data: Vec<u8>,
        salt: Vec<u8>,
    ) -> DryRunResult<T, InstantiateOutcome> {
        let deposit_limit = storage_deposit_limit.unwrap_or_else(BalanceOf::<T>::max_value);
        let weight_limit = weight_limit.unwrap_or_else(Self::max_extrinsic_weight);
        let ((result, code_deposit), events) = Self::with_events(|| {
            let (code_hash, code_deposit) = match code {
                Code::Existing(hash) => (hash, 0u32.into()),
                Code::Upload(blob) => {
                    let hash = H256(sp_io::hashing::blake2_256(&blob));
                    if CodeInfoOf::<T>::contains_key(hash) {
                        (hash, 0u32.into())
                    } else {
                        match Self::store_code(&origin, blob, deposit_limit) {
                            Ok(deposit) => (hash, deposit),
                            Err(error) => return (failed(error), 0u32.into()),
                        }
                    }
                }
            };
            let result = Self::bare_instantiate(
                origin,
                code_hash,
                value,
                weight_limit,
                deposit_limit.saturating_sub(code_deposit),
                data,
                salt,
            );
            (result, code_deposit)
        });
        Self::report(result, code_deposit, events)
    }

    /// A dry run of `upload_code`.
    pub fn dry_run_upload(
        origin: T::AccountId,
        code: Vec<u8>,
        storage_deposit_limit: Option<BalanceOf<T>>,
    ) -> Result<UploadResult<BalanceOf<T>>, DispatchError> {
        let code_hash = H256(sp_io::hashing::blake2_256(&code));
        let deposit = Self::store_code(
            &origin,
            code,
            storage_deposit_limit.unwrap_or_else(BalanceOf::<T>::max_value),
        )?;
        Ok(UploadResult { code_hash, deposit })
    }
}

/// An execution that failed before it started.
fn failed<R>(error: DispatchError) -> ExecResult<R> {
    ExecResult {
        result: Err(error),
        weight_consumed: Weight::zero(),
        weight_required: Weight::zero(),
        gas_consumed: 0,
        deposit_charged: 0,
        deposit_refunded: 0,
    }
}
