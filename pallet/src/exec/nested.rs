//! Contracts calling, instantiating and ending contracts: what the `call`, `instantiate`
//! and `terminate` syscalls do on the stack once their arguments are read and their
//! weight charged.
//!
//! A callee runs as a new frame with meters carved out of the caller's ([`Limits`]); how
//! it ended reaches the caller as a [`CallStatus`] ([`call_status`]), and the caller goes
//! on. Only a failure of the caller's own part (settling its deposit before a call that
//! allows re-entry, or refusing `terminate`) ends the caller.

use super::{Frame, FrameOutput, Stack};
use crate::abi::CallStatus;
use crate::pallet::{
    BalanceOf, CodeInfoOf, Config, ContractInfoOf, ContractStorage, Error, Event, HoldReason,
    Pallet,
};
use alloc::vec::Vec;
use frame_support::{
    traits::{
        fungible::{Inspect, InspectHold, Mutate, MutateHold},
        tokens::{Fortitude, Precision, Preservation, Restriction},
    },
    weights::Weight,
};
use sp_core::H256;
use sp_runtime::{traits::Zero, DispatchError};

/// What a callee may use: at most this, and at most what the caller has left.
pub(crate) struct Limits<T: Config> {
    /// The weight (`ref_time` and `proof_size`) the callee may consume.
    pub weight: Weight,
    /// The storage deposit the callee may charge the origin.
    pub deposit: BalanceOf<T>,
}

/// The status a callee's result gives its caller.
pub(crate) fn call_status<T: Config, R>(result: &Result<R, DispatchError>) -> CallStatus
where
    R: AsRef<FrameOutput>,
{
    let error = match result {
        Ok(output) if output.as_ref().reverted => return CallStatus::Reverted,
        Ok(_) => return CallStatus::Success,
        Err(error) => *error,
    };
    let is = |expected: Error<T>| error == DispatchError::from(expected);
    if is(Error::OutOfGas) {
        CallStatus::OutOfGas
    } else if is(Error::TransferFailed) {
        CallStatus::TransferFailed
    } else if is(Error::StorageDepositLimitExhausted) {
        CallStatus::DepositLimitExhausted
    } else if is(Error::StorageDepositNotEnoughFunds) {
        CallStatus::DepositNotEnoughFunds
    } else if is(Error::ContractNotFound) || is(Error::CodeNotFound) {
        CallStatus::NotFound
    } else if is(Error::MaxCallDepthReached) {
        CallStatus::CallDepthExceeded
    } else if is(Error::ReentranceDenied) {
        CallStatus::ReentranceDenied
    } else if is(Error::ContractAlreadyExists) {
        CallStatus::AlreadyExists
    } else {
        // A trap, a fault, a syscall the callee called wrongly, a refused `terminate`:
        // the callee's doing, ending it.
        CallStatus::Trapped
    }
}

impl AsRef<FrameOutput> for FrameOutput {
    fn as_ref(&self) -> &FrameOutput {
        self
    }
}

/// A created contract with the output of its `deploy`.
pub(crate) struct Created<T: Config> {
    /// Its account.
    pub contract: T::AccountId,
    /// How `deploy` ended.
    pub output: FrameOutput,
}

impl<T: Config> AsRef<FrameOutput> for Created<T> {
    fn as_ref(&self) -> &FrameOutput {
        &self.output
    }
}

impl<T: Config> Stack<T> {
    /// Runs `f` (a call out of `caller`'s frame) with the caller's frame marked as
    /// allowing re-entry or not. Allowing it settles the caller's deposit and writes its
    /// info first, so a re-entrant frame of the same contract starts from it, and reads the
    /// info back after, so the caller's later write-back keeps what that frame changed.
    fn call_out<R>(
        &mut self,
        caller: &mut Frame<T>,
        allow_reentry: bool,
        f: impl FnOnce(&mut Self) -> R,
    ) -> Result<R, DispatchError> {
        if allow_reentry {
            self.settle_deposit(caller)?;
        }
        self.set_allows_reentry(allow_reentry);
        let result = f(self);
        self.set_allows_reentry(false);
        if allow_reentry {
            // Only the contract's own frames change its info, and none of them could
            // terminate it while this one lives.
            if let Some(info) = ContractInfoOf::<T>::get(&caller.contract) {
                caller.info = info.clone();
                caller.stored_info = Some(info);
            }
        }
        Ok(result)
    }

    fn set_allows_reentry(&mut self, allows: bool) {
        if let Some(running) = self.frames.last_mut() {
            running.allows_reentry = allows;
        }
    }

    /// `caller`'s frame calls `dest`. The outer error is the caller's own (it ends the
    /// caller); the inner result is the callee's, for [`call_status`].
    pub(crate) fn call_from(
        &mut self,
        caller: &mut Frame<T>,
        dest: T::AccountId,
        value: BalanceOf<T>,
        limits: Limits<T>,
        allow_reentry: bool,
        input: Vec<u8>,
    ) -> Result<Result<FrameOutput, DispatchError>, DispatchError> {
        let from = caller.contract.clone();
        self.call_out(caller, allow_reentry, |stack| {
            stack.call_frame(Some(limits), from, dest, value, input)
        })
    }

    /// `caller`'s frame instantiates `code_hash`; errors as for [`Stack::call_from`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn instantiate_from(
        &mut self,
        caller: &mut Frame<T>,
        code_hash: H256,
        value: BalanceOf<T>,
        limits: Limits<T>,
        allow_reentry: bool,
        input: Vec<u8>,
        salt: &[u8],
    ) -> Result<Result<Created<T>, DispatchError>, DispatchError> {
        let from = caller.contract.clone();
        self.call_out(caller, allow_reentry, |stack| {
            stack
                .instantiate_frame(Some(limits), from, code_hash, value, input, salt)
                .map(|(contract, output)| Created { contract, output })
        })
    }

    /// Ends `frame`'s contract: its storage deposit back to the origin, its storage, info
    /// and code reference gone, its whole balance to `beneficiary`. Refused while the
    /// contract has another frame on the stack (that frame would go on without it), and for
    /// the contract itself as the beneficiary.
    pub(crate) fn terminate(
        &mut self,
        frame: &mut Frame<T>,
        beneficiary: &T::AccountId,
    ) -> Result<(), DispatchError> {
        if *beneficiary == frame.contract {
            return Err(Error::<T>::BeneficiaryIsSelf.into());
        }
        let frames_of_contract = self
            .frames
            .iter()
            .filter(|live| live.contract == frame.contract)
            .count();
        if frames_of_contract > 1 {
            return Err(Error::<T>::TerminatedWhileReentrant.into());
        }
        let contract = &frame.contract;
        let reason = HoldReason::StorageDepositReserve.into();
        let held = T::Currency::balance_on_hold(&reason, contract);
        if !held.is_zero() {
            let refunded = T::Currency::transfer_on_hold(
                &reason,
                contract,
                &self.origin,
                held,
                Precision::BestEffort,
                Restriction::Free,
                Fortitude::Polite,
            )?;
            self.deposit.refund(refunded);
            Pallet::<T>::deposit_event(Event::StorageDepositTransferred {
                who: self.origin.clone(),
                contract: contract.clone(),
                charged: Zero::zero(),
                refunded,
            });
        }
        // The weight charged covers exactly the entries the info counts.
        let _ = ContractStorage::<T>::clear_prefix(contract, frame.info.storage_items, None);
        ContractInfoOf::<T>::remove(contract);
        CodeInfoOf::<T>::mutate(frame.info.code_hash, |info| {
            if let Some(info) = info {
                info.refcount = info.refcount.saturating_sub(1);
            }
        });
        let balance =
            T::Currency::reducible_balance(contract, Preservation::Expendable, Fortitude::Polite);
        T::Currency::transfer(contract, beneficiary, balance, Preservation::Expendable)
            .map_err(|_| Error::<T>::TransferFailed)?;
        Pallet::<T>::deposit_event(Event::Terminated {
            contract: contract.clone(),
            beneficiary: beneficiary.clone(),
        });
        Ok(())
    }
}
