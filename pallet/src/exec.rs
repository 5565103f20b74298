//! Running contracts: the call stack of one extrinsic, its frames, gas and deposits.
//!
//! One [`Stack`] per extrinsic owns the engine handle, the gas meter and the deposit
//! account. Each running contract is a [`Frame`] on it, executed inside its own storage
//! transaction so a trap, out-of-gas or revert rolls back exactly that frame. Calls
//! between contracts will push frames on the same stack.

use crate::abi;
use crate::gas::GasMeter;
use crate::pallet::{
    BalanceOf, CodeInfoOf, Config, ContractInfo, ContractInfoOf, Error, Event, HoldReason, Pallet,
    PristineCode,
};
use crate::syscalls::{self, Flow};
use crate::weights::WeightInfo;
use alloc::vec::Vec;
use codec::{Decode, Encode, MaxEncodedLen};
use frame_support::{
    storage::{with_transaction, TransactionOutcome},
    traits::{
        fungible::{Inspect, Mutate, MutateHold},
        tokens::{Fortitude, Precision, Preservation, Restriction},
        Get,
    },
    weights::Weight,
};
use pvm_host_functions::{Engine, HostError, InstanceId, RunOutcome};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::{traits::Zero, AccountId32, DispatchError, Saturating};

/// The result of running a contract, with what it consumed whatever the outcome.
#[derive(Debug)]
pub struct ExecResult<R> {
    /// The outcome, or why the call failed (its state changes are rolled back).
    pub result: Result<R, DispatchError>,
    /// Weight consumed by loading code and running it (gas and syscalls).
    pub weight_consumed: Weight,
    /// Engine gas used: the instructions run (part of `weight_consumed`).
    pub gas_consumed: u64,
    /// Storage deposit the origin paid.
    pub deposit_charged: u128,
    /// Storage deposit refunded to the origin.
    pub deposit_refunded: u128,
}

impl<R> ExecResult<R> {
    /// The same result with the outcome mapped.
    pub fn map_outcome<S>(self, f: impl FnOnce(R) -> S) -> ExecResult<S> {
        ExecResult {
            result: self.result.map(f),
            weight_consumed: self.weight_consumed,
            gas_consumed: self.gas_consumed,
            deposit_charged: self.deposit_charged,
            deposit_refunded: self.deposit_refunded,
        }
    }
}

/// A finished call.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CallOutcome {
    /// What the contract returned.
    pub output: Vec<u8>,
    /// The contract reverted: its state changes were rolled back.
    pub reverted: bool,
}

/// A finished instantiation.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct InstantiateOutcome {
    /// The new contract's account (also when `deploy` reverted, though then it was not
    /// created).
    pub contract: AccountId32,
    /// What `deploy` returned.
    pub output: Vec<u8>,
    /// `deploy` reverted: nothing was created.
    pub reverted: bool,
}

/// A contract running on the stack.
pub(crate) struct Frame<T: Config> {
    /// The contract's account.
    pub contract: T::AccountId,
    /// Who called it.
    pub caller: T::AccountId,
    /// Value sent with the call.
    pub value: BalanceOf<T>,
    /// The contract's info, written back when the frame commits.
    pub info: ContractInfo<T>,
    /// The input.
    pub call_data: Vec<u8>,
    /// The info as stored when the frame began (`None` for a contract being created):
    /// the info is written back only when it differs.
    pub stored_info: Option<ContractInfo<T>>,
}

/// What a frame returned.
pub(crate) struct FrameOutput {
    pub output: Vec<u8>,
    pub reverted: bool,
}

/// Everything one extrinsic's execution shares.
pub(crate) struct Stack<T: Config> {
    pub origin: T::AccountId,
    pub engine: T::Engine,
    pub gas: GasMeter,
    deposit_limit: BalanceOf<T>,
    deposit_charged: BalanceOf<T>,
    deposit_refunded: BalanceOf<T>,
}

/// The pallet's error for an engine refusal.
///
/// # Panics
///
/// On a node-side refusal ([`HostError::is_node_side`]: no engine extension, or the node
/// allows less than the runtime's limits). Recording it as the call's outcome would give
/// this node a different state than nodes that ran the contract, so the runtime stops the
/// block (or dry run) here with the reason, for the operator to see.
pub(crate) fn engine_error<T: Config>(error: HostError) -> DispatchError {
    assert!(
        !error.is_node_side(),
        "this node cannot run pallet-pvm's contracts: {error} (the runtime's engine limits \
         are {:?}; see pvm_host_functions::NodeLimits)",
        Pallet::<T>::engine_limits()
    );
    match error {
        HostError::OutOfBounds => Error::<T>::GuestMemoryOutOfBounds.into(),
        other => {
            log::error!(target: crate::pallet::LOG_TARGET, "engine failure: {other}");
            Error::<T>::EngineFailure.into()
        }
    }
}

pub(crate) fn out_of_gas<T: Config>(_: crate::gas::OutOfGas) -> DispatchError {
    Error::<T>::OutOfGas.into()
}

fn to_u128<T: Config>(balance: BalanceOf<T>) -> u128 {
    sp_runtime::traits::UniqueSaturatedInto::<u128>::unique_saturated_into(balance)
}

impl<T: Config> Stack<T> {
    fn new(origin: T::AccountId, weight_limit: Weight, deposit_limit: BalanceOf<T>) -> Self {
        Stack {
            origin,
            engine: T::Engine::default(),
            gas: GasMeter::new(weight_limit, T::RefTimePerGas::get()),
            deposit_limit,
            deposit_charged: Zero::zero(),
            deposit_refunded: Zero::zero(),
        }
    }

    fn finish<R>(self, result: Result<R, DispatchError>) -> ExecResult<R> {
        let ok = result.is_ok();
        ExecResult {
            result,
            weight_consumed: self.gas.consumed(),
            gas_consumed: self.gas.engine_gas(),
            // A failed call rolled its deposit movements back.
            deposit_charged: if ok {
                to_u128::<T>(self.deposit_charged)
            } else {
                0
            },
            deposit_refunded: if ok {
                to_u128::<T>(self.deposit_refunded)
            } else {
                0
            },
        }
    }

    /// Charges `amount` of deposit against the limit.
    fn charge_deposit(&mut self, amount: BalanceOf<T>) -> Result<(), DispatchError> {
        let charged = self.deposit_charged.saturating_add(amount);
        if charged > self.deposit_limit {
            return Err(Error::<T>::StorageDepositLimitExhausted.into());
        }
        self.deposit_charged = charged;
        Ok(())
    }

    /// The deposit a contract with `info`'s storage holds.
    fn required_deposit(info: &ContractInfo<T>) -> BalanceOf<T> {
        let items = BalanceOf::<T>::from(info.storage_items.saturating_add(1));
        let bytes = BalanceOf::<T>::from(
            info.storage_bytes
                .saturating_add(ContractInfo::<T>::max_encoded_len() as u32),
        );
        T::DepositPerItem::get()
            .saturating_mul(items)
            .saturating_add(T::DepositPerByte::get().saturating_mul(bytes))
    }

    /// Moves deposit between the origin and the contract so the contract holds what its
    /// storage requires, and writes its info back.
    fn settle_deposit(&mut self, frame: &mut Frame<T>) -> Result<(), DispatchError> {
        let required = Self::required_deposit(&frame.info);
        let held = frame.info.storage_deposit;
        let reason = HoldReason::StorageDepositReserve.into();
        if required > held {
            let amount = required - held;
            self.charge_deposit(amount)?;
            T::Currency::transfer_and_hold(
                &reason,
                &self.origin,
                &frame.contract,
                amount,
                Precision::Exact,
                Preservation::Preserve,
                Fortitude::Polite,
            )
            .map_err(|_| Error::<T>::StorageDepositNotEnoughFunds)?;
        } else if held > required {
            let amount = held - required;
            let moved = T::Currency::transfer_on_hold(
                &reason,
                &frame.contract,
                &self.origin,
                amount,
                Precision::BestEffort,
                Restriction::Free,
                Fortitude::Polite,
            )?;
            self.deposit_refunded = self.deposit_refunded.saturating_add(moved);
        }
        if required != held {
            Pallet::<T>::deposit_event(Event::StorageDepositTransferred {
                who: self.origin.clone(),
                contract: frame.contract.clone(),
                charged: required.saturating_sub(held),
                refunded: held.saturating_sub(required),
            });
        }
        frame.info.storage_deposit = required;
        // A call that leaves the contract's storage size alone (most reads) writes nothing.
        if frame.stored_info.as_ref() != Some(&frame.info) {
            ContractInfoOf::<T>::insert(&frame.contract, &frame.info);
        }
        Ok(())
    }

    /// Runs `export` of the frame's contract in a storage transaction of its own, after
    /// `setup` (value transfer, account creation) inside the same transaction.
    fn run_frame(
        &mut self,
        frame: &mut Frame<T>,
        export: &str,
        setup: impl FnOnce(&mut Self, &mut Frame<T>) -> Result<(), DispatchError>,
    ) -> Result<FrameOutput, DispatchError> {
        if frame.call_data.len() > abi::MAX_CALL_DATA_LEN as usize {
            return Err(Error::<T>::CallDataTooLarge.into());
        }
        let deposit_before = (self.deposit_charged, self.deposit_refunded);
        let result = with_transaction(|| {
            let result = setup(self, frame)
                .and_then(|()| self.execute(frame, export))
                .and_then(|output| {
                    if !output.reverted {
                        self.settle_deposit(frame)?;
                    }
                    Ok(output)
                });
            match result {
                Ok(output) if !output.reverted => TransactionOutcome::Commit(Ok(output)),
                other => TransactionOutcome::Rollback(other),
            }
        });
        let committed = matches!(&result, Ok(output) if !output.reverted);
        if !committed {
            (self.deposit_charged, self.deposit_refunded) = deposit_before;
        }
        result
    }

    /// Loads the code and runs the export to its end.
    fn execute(
        &mut self,
        frame: &mut Frame<T>,
        export: &str,
    ) -> Result<FrameOutput, DispatchError> {
        let code_hash = frame.info.code_hash;
        let code_info = CodeInfoOf::<T>::get(code_hash).ok_or(Error::<T>::CodeNotFound)?;
        self.gas
            .charge(T::WeightInfo::load_code(code_info.code_len))
            .map_err(out_of_gas::<T>)?;
        let code = PristineCode::<T>::get(code_hash).ok_or(Error::<T>::CodeNotFound)?;
        let limits = Pallet::<T>::engine_limits();
        let compiled = self
            .engine
            .compile(&code, Some(code_hash.0), &limits)
            .map_err(engine_error::<T>)?;
        let instance = self
            .engine
            .instantiate(compiled.module, &limits)
            .map_err(engine_error::<T>)?;
        let result = self.drive(frame, instance, export);
        // Destroying can only fail for an unknown id, which `instantiate` just gave us.
        let _ = self.engine.destroy(instance);
        result
    }

    /// The syscall loop.
    fn drive(
        &mut self,
        frame: &mut Frame<T>,
        instance: InstanceId,
        export: &str,
    ) -> Result<FrameOutput, DispatchError> {
        self.engine
            .prepare_call(instance, export.as_bytes())
            .map_err(engine_error::<T>)?;
        let mut a0 = 0;
        loop {
            let gas = self.gas.gas_left();
            let outcome = self
                .engine
                .run(instance, gas, a0)
                .map_err(engine_error::<T>)?;
            match outcome {
                RunOutcome::Finished { gas_left, .. } => {
                    self.gas
                        .charge_gas(gas.saturating_sub(gas_left))
                        .map_err(out_of_gas::<T>)?;
                    return Ok(FrameOutput {
                        output: Vec::new(),
                        reverted: false,
                    });
                }
                RunOutcome::Syscall {
                    symbol,
                    args,
                    gas_left,
                    ..
                } => {
                    self.gas
                        .charge_gas(gas.saturating_sub(gas_left))
                        .map_err(out_of_gas::<T>)?;
                    match syscalls::dispatch(self, frame, instance, &symbol, args)? {
                        Flow::Resume(result) => a0 = result,
                        Flow::Return { reverted, output } => {
                            return Ok(FrameOutput { output, reverted })
                        }
                    }
                }
                RunOutcome::Trap { gas_left } => {
                    self.gas
                        .charge_gas(gas.saturating_sub(gas_left))
                        .map_err(out_of_gas::<T>)?;
                    return Err(Error::<T>::ContractTrapped.into());
                }
                RunOutcome::OutOfGas => {
                    self.gas.exhaust();
                    return Err(Error::<T>::OutOfGas.into());
                }
            }
        }
    }
}

/// Instantiates `code_hash`: see [`Pallet::bare_instantiate`].
pub(crate) fn instantiate<T: Config>(
    origin: T::AccountId,
    code_hash: H256,
    value: BalanceOf<T>,
    weight_limit: Weight,
    deposit_limit: BalanceOf<T>,
    data: Vec<u8>,
    salt: Vec<u8>,
) -> ExecResult<InstantiateOutcome> {
    let mut stack = Stack::<T>::new(origin.clone(), weight_limit, deposit_limit);
    let contract = Pallet::<T>::contract_address(&origin, &code_hash, &salt);
    let result = (|| {
        if !CodeInfoOf::<T>::contains_key(code_hash) {
            return Err(Error::<T>::CodeNotFound.into());
        }
        if ContractInfoOf::<T>::contains_key(&contract) {
            return Err(Error::<T>::ContractAlreadyExists.into());
        }
        let mut frame = Frame {
            contract: contract.clone(),
            caller: origin.clone(),
            value,
            info: ContractInfo {
                code_hash,
                storage_items: 0,
                storage_bytes: 0,
                storage_deposit: Zero::zero(),
            },
            call_data: data,
            stored_info: None,
        };
        let output = stack.run_frame(&mut frame, abi::DEPLOY_EXPORT, |stack, frame| {
            // The account is created with the existential deposit, which the
            // instantiator pays as part of the deposit.
            let existential = T::Currency::minimum_balance();
            stack.charge_deposit(existential)?;
            T::Currency::transfer(
                &stack.origin,
                &frame.contract,
                existential.saturating_add(frame.value),
                Preservation::Preserve,
            )
            .map_err(|_| Error::<T>::TransferFailed)?;
            CodeInfoOf::<T>::mutate(code_hash, |info| {
                if let Some(info) = info {
                    info.refcount = info.refcount.saturating_add(1);
                }
            });
            Pallet::<T>::deposit_event(Event::Instantiated {
                deployer: stack.origin.clone(),
                contract: frame.contract.clone(),
                code_hash,
            });
            Ok(())
        })?;
        Ok(InstantiateOutcome {
            contract,
            output: output.output,
            reverted: output.reverted,
        })
    })();
    stack.finish(result)
}

/// Calls `dest`: see [`Pallet::bare_call`].
pub(crate) fn call<T: Config>(
    origin: T::AccountId,
    dest: T::AccountId,
    value: BalanceOf<T>,
    weight_limit: Weight,
    deposit_limit: BalanceOf<T>,
    data: Vec<u8>,
) -> ExecResult<CallOutcome> {
    let mut stack = Stack::<T>::new(origin.clone(), weight_limit, deposit_limit);
    let result = (|| {
        let info = ContractInfoOf::<T>::get(&dest).ok_or(Error::<T>::ContractNotFound)?;
        let mut frame = Frame {
            contract: dest,
            caller: origin,
            value,
            stored_info: Some(info.clone()),
            info,
            call_data: data,
        };
        let output = stack.run_frame(&mut frame, abi::CALL_EXPORT, |stack, frame| {
            if !frame.value.is_zero() {
                T::Currency::transfer(
                    &stack.origin,
                    &frame.contract,
                    frame.value,
                    Preservation::Preserve,
                )
                .map_err(|_| Error::<T>::TransferFailed)?;
            }
            Pallet::<T>::deposit_event(Event::Called {
                caller: frame.caller.clone(),
                contract: frame.contract.clone(),
            });
            Ok(())
        })?;
        Ok(CallOutcome {
            output: output.output,
            reverted: output.reverted,
        })
    })();
    stack.finish(result)
}
