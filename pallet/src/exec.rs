//! Running contracts: the call stack of one extrinsic, its frames, gas and deposits.
//!
//! One [`Stack`] per extrinsic owns the engine handle and the list of live frames. Each
//! running contract is a [`Frame`] on it, executed inside its own storage transaction so a
//! trap, out-of-gas or revert rolls back exactly that frame and the frames it called. A
//! contract calling or instantiating another ([`nested`]) runs the callee as a new frame
//! on the same stack, with a gas meter and a deposit meter carved out of its own, and gets
//! a [`CallStatus`](crate::abi::CallStatus) back.
//!
//! # Re-entry
//!
//! A contract that has a frame on the stack can be called again only if every one of its
//! frames allowed it: a frame allows re-entry only while it waits on a call it made with
//! [`FLAG_ALLOW_REENTRY`](crate::abi::FLAG_ALLOW_REENTRY). Calling oneself is re-entry too.
//! Before such a call the caller's storage deposit is settled and its [`ContractInfo`]
//! written, and after it the info is read back, so a re-entrant frame builds on the
//! caller's storage accounting and the caller's later write-back keeps what it changed.

mod nested;

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
use sp_runtime::{
    traits::{Saturating, Zero},
    AccountId32, DispatchError,
};

pub(crate) use nested::{call_status, Limits};

/// The result of running a contract, with what it consumed whatever the outcome.
#[derive(Debug)]
pub struct ExecResult<R> {
    /// The outcome, or why the call failed (its state changes are rolled back).
    pub result: Result<R, DispatchError>,
    /// Weight consumed by loading code and running it (gas and syscalls), in every frame.
    pub weight_consumed: Weight,
    /// The least weight limit under which the execution does what it did: the most it had
    /// consumed at any point (syscalls charge worst cases first and give back the rest).
    pub weight_required: Weight,
    /// Engine gas used: the instructions run, in every frame (part of `weight_consumed`).
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
            weight_required: self.weight_required,
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
    /// Who called it: the origin, or the calling contract.
    pub caller: T::AccountId,
    /// Value sent with the call.
    pub value: BalanceOf<T>,
    /// The contract's info, written back when the frame commits.
    pub info: ContractInfo<T>,
    /// The input.
    pub call_data: Vec<u8>,
    /// The info as stored (`None` for a contract being created and not written yet): the
    /// info is written back only when it differs.
    pub stored_info: Option<ContractInfo<T>>,
}

/// How a frame ended without an error.
pub(crate) struct FrameOutput {
    /// What it returned.
    pub output: Vec<u8>,
    /// It reverted: its changes are rolled back.
    pub reverted: bool,
    /// It ended with `terminate`: the contract is gone.
    pub terminated: bool,
}

/// The storage deposit one frame may charge the origin, and what it did.
pub(crate) struct DepositMeter<T: Config> {
    limit: BalanceOf<T>,
    charged: BalanceOf<T>,
    refunded: BalanceOf<T>,
}

impl<T: Config> Clone for DepositMeter<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Config> Copy for DepositMeter<T> {}

impl<T: Config> DepositMeter<T> {
    fn new(limit: BalanceOf<T>) -> Self {
        DepositMeter {
            limit,
            charged: Zero::zero(),
            refunded: Zero::zero(),
        }
    }

    /// Charges `amount` against the limit (refunds do not make room: the limit bounds
    /// what the origin pays out).
    fn charge(&mut self, amount: BalanceOf<T>) -> Result<(), DispatchError> {
        let charged = self.charged.saturating_add(amount);
        if charged > self.limit {
            return Err(Error::<T>::StorageDepositLimitExhausted.into());
        }
        self.charged = charged;
        Ok(())
    }

    fn refund(&mut self, amount: BalanceOf<T>) {
        self.refunded = self.refunded.saturating_add(amount);
    }

    /// A meter for a callee allowed `limit`, capped at what this one may still charge.
    fn nested(&self, limit: BalanceOf<T>) -> Self {
        DepositMeter::new(limit.min(self.limit.saturating_sub(self.charged)))
    }

    /// Takes over what a committed callee's meter (from [`DepositMeter::nested`]) did.
    fn absorb(&mut self, callee: &Self) {
        self.charged = self.charged.saturating_add(callee.charged);
        self.refunded = self.refunded.saturating_add(callee.refunded);
    }
}

/// A frame's place on the stack, for the depth limit and the re-entry rule.
struct LiveFrame<T: Config> {
    contract: T::AccountId,
    /// The frame waits on a call it allowed re-entry for.
    allows_reentry: bool,
}

/// Everything one extrinsic's execution shares.
pub(crate) struct Stack<T: Config> {
    pub origin: T::AccountId,
    pub engine: T::Engine,
    /// The running frame's gas meter.
    pub gas: GasMeter,
    /// The running frame's deposit meter.
    deposit: DepositMeter<T>,
    /// The live frames, outermost first.
    frames: Vec<LiveFrame<T>>,
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

/// Whether a frame's result commits its changes.
fn commits(result: &Result<FrameOutput, DispatchError>) -> bool {
    matches!(result, Ok(output) if !output.reverted)
}

impl<T: Config> Stack<T> {
    fn new(origin: T::AccountId, weight_limit: Weight, deposit_limit: BalanceOf<T>) -> Self {
        Stack {
            origin,
            engine: T::Engine::default(),
            gas: GasMeter::new(weight_limit, T::RefTimePerGas::get()),
            deposit: DepositMeter::new(deposit_limit),
            frames: Vec::new(),
        }
    }

    /// A stack with no frame, for benchmarks that call one syscall directly on a frame
    /// they set up.
    #[cfg(feature = "runtime-benchmarks")]
    pub(crate) fn for_benchmarks(
        origin: T::AccountId,
        weight_limit: Weight,
        deposit_limit: BalanceOf<T>,
    ) -> Self {
        Self::new(origin, weight_limit, deposit_limit)
    }

    fn finish<R>(self, result: Result<R, DispatchError>) -> ExecResult<R> {
        let ok = result.is_ok();
        ExecResult {
            result,
            weight_consumed: self.gas.consumed(),
            weight_required: self.gas.required(),
            gas_consumed: self.gas.engine_gas(),
            // A failed call rolled its deposit movements back.
            deposit_charged: if ok {
                to_u128::<T>(self.deposit.charged)
            } else {
                0
            },
            deposit_refunded: if ok {
                to_u128::<T>(self.deposit.refunded)
            } else {
                0
            },
        }
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
    pub(crate) fn settle_deposit(&mut self, frame: &mut Frame<T>) -> Result<(), DispatchError> {
        let required = Self::required_deposit(&frame.info);
        let held = frame.info.storage_deposit;
        let reason = HoldReason::StorageDepositReserve.into();
        if required > held {
            let amount = required - held;
            self.deposit.charge(amount)?;
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
            self.deposit.refund(moved);
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
            frame.stored_info = Some(frame.info.clone());
        }
        Ok(())
    }

    /// Runs `export` of the frame's contract in a storage transaction of its own, after
    /// `setup` (value transfer, account creation) inside the same transaction. Refuses a
    /// frame past `MaxCallDepth` and re-entry the contract's live frames do not allow.
    fn run_frame(
        &mut self,
        frame: &mut Frame<T>,
        export: &str,
        setup: impl FnOnce(&mut Self, &mut Frame<T>) -> Result<(), DispatchError>,
    ) -> Result<FrameOutput, DispatchError> {
        if frame.call_data.len() > abi::MAX_CALL_DATA_LEN as usize {
            return Err(Error::<T>::CallDataTooLarge.into());
        }
        if self.frames.len() >= T::MaxCallDepth::get() as usize {
            return Err(Error::<T>::MaxCallDepthReached.into());
        }
        let reentry_denied = self
            .frames
            .iter()
            .any(|live| live.contract == frame.contract && !live.allows_reentry);
        if reentry_denied {
            return Err(Error::<T>::ReentranceDenied.into());
        }
        self.frames.push(LiveFrame {
            contract: frame.contract.clone(),
            allows_reentry: false,
        });
        let deposit_before = self.deposit;
        let result = with_transaction(|| {
            let result = setup(self, frame)
                .and_then(|()| self.execute(frame, export))
                .and_then(|output| {
                    // A terminated contract released its deposit and has no info left.
                    if !output.reverted && !output.terminated {
                        self.settle_deposit(frame)?;
                    }
                    Ok(output)
                });
            if commits(&result) {
                TransactionOutcome::Commit(result)
            } else {
                TransactionOutcome::Rollback(result)
            }
        });
        if !commits(&result) {
            self.deposit = deposit_before;
        }
        self.frames.pop();
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
        // Every live frame holds one instance and the depth was checked against
        // `MaxCallDepth`, which is the engine's instance limit: this cannot be refused
        // for the count.
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
                        terminated: false,
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
                            return Ok(FrameOutput {
                                output,
                                reverted,
                                terminated: false,
                            })
                        }
                        Flow::Terminated => {
                            return Ok(FrameOutput {
                                output: Vec::new(),
                                reverted: false,
                                terminated: true,
                            })
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

    /// Runs a frame at the top of the stack, or (with `limits`) as a callee whose meters
    /// are carved out of the running frame's.
    fn enter(
        &mut self,
        limits: Option<Limits<T>>,
        frame: &mut Frame<T>,
        export: &str,
        setup: impl FnOnce(&mut Self, &mut Frame<T>) -> Result<(), DispatchError>,
    ) -> Result<FrameOutput, DispatchError> {
        let Some(limits) = limits else {
            return self.run_frame(frame, export, setup);
        };
        let callee_gas = self.gas.nested(limits.weight);
        let callee_deposit = self.deposit.nested(limits.deposit);
        let caller_gas = core::mem::replace(&mut self.gas, callee_gas);
        let caller_deposit = core::mem::replace(&mut self.deposit, callee_deposit);
        let result = self.run_frame(frame, export, setup);
        let callee_gas = core::mem::replace(&mut self.gas, caller_gas);
        let callee_deposit = core::mem::replace(&mut self.deposit, caller_deposit);
        self.gas.absorb(&callee_gas);
        if commits(&result) {
            self.deposit.absorb(&callee_deposit);
        }
        result
    }

    /// Instantiates `code_hash` for `caller` (the origin, or a contract): a new account
    /// derived from the caller, the code hash and `salt`, funded with `value` by the
    /// caller and the existential deposit by the origin, running `deploy` with `data`.
    fn instantiate_frame(
        &mut self,
        limits: Option<Limits<T>>,
        caller: T::AccountId,
        code_hash: H256,
        value: BalanceOf<T>,
        data: Vec<u8>,
        salt: &[u8],
    ) -> Result<(T::AccountId, FrameOutput), DispatchError> {
        let contract = Pallet::<T>::contract_address(&caller, &code_hash, salt);
        if !CodeInfoOf::<T>::contains_key(code_hash) {
            return Err(Error::<T>::CodeNotFound.into());
        }
        if ContractInfoOf::<T>::contains_key(&contract) {
            return Err(Error::<T>::ContractAlreadyExists.into());
        }
        let mut frame = Frame {
            contract,
            caller,
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
        let output = self.enter(limits, &mut frame, abi::DEPLOY_EXPORT, |stack, frame| {
            // The account is created with the existential deposit, which the origin pays
            // as part of the deposit.
            let existential = T::Currency::minimum_balance();
            stack.deposit.charge(existential)?;
            if frame.caller == stack.origin {
                T::Currency::transfer(
                    &stack.origin,
                    &frame.contract,
                    existential.saturating_add(frame.value),
                    Preservation::Preserve,
                )
                .map_err(|_| Error::<T>::TransferFailed)?;
            } else {
                T::Currency::transfer(
                    &stack.origin,
                    &frame.contract,
                    existential,
                    Preservation::Preserve,
                )
                .map_err(|_| Error::<T>::StorageDepositNotEnoughFunds)?;
                if !frame.value.is_zero() {
                    T::Currency::transfer(
                        &frame.caller,
                        &frame.contract,
                        frame.value,
                        Preservation::Preserve,
                    )
                    .map_err(|_| Error::<T>::TransferFailed)?;
                }
            }
            CodeInfoOf::<T>::mutate(code_hash, |info| {
                if let Some(info) = info {
                    info.refcount = info.refcount.saturating_add(1);
                }
            });
            Pallet::<T>::deposit_event(Event::Instantiated {
                deployer: frame.caller.clone(),
                contract: frame.contract.clone(),
                code_hash,
            });
            Ok(())
        })?;
        Ok((frame.contract, output))
    }

    /// Calls `dest` for `caller` (the origin, or a contract), sending `value` from the
    /// caller.
    fn call_frame(
        &mut self,
        limits: Option<Limits<T>>,
        caller: T::AccountId,
        dest: T::AccountId,
        value: BalanceOf<T>,
        data: Vec<u8>,
    ) -> Result<FrameOutput, DispatchError> {
        let info = ContractInfoOf::<T>::get(&dest).ok_or(Error::<T>::ContractNotFound)?;
        let mut frame = Frame {
            contract: dest,
            caller,
            value,
            stored_info: Some(info.clone()),
            info,
            call_data: data,
        };
        self.enter(limits, &mut frame, abi::CALL_EXPORT, |_, frame| {
            if !frame.value.is_zero() {
                T::Currency::transfer(
                    &frame.caller,
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
        })
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
    // The weight covers hashing a salt of at most this length into the address.
    if salt.len() > abi::SALT_LEN {
        return stack.finish(Err(Error::<T>::SaltTooLong.into()));
    }
    let result = stack
        .instantiate_frame(None, origin, code_hash, value, data, &salt)
        .map(|(contract, output)| InstantiateOutcome {
            contract,
            output: output.output,
            reverted: output.reverted,
        });
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
    let result = stack
        .call_frame(None, origin, dest, value, data)
        .map(|output| CallOutcome {
            output: output.output,
            reverted: output.reverted,
        });
    stack.finish(result)
}
