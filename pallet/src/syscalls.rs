//! The syscalls of the contract ABI ([`crate::abi`]), served while the guest is suspended.
//!
//! Every argument is untrusted: pointers and lengths are the guest's `u32` registers,
//! checked against the ABI's limits before anything is allocated and against the guest's
//! memory by the engine. Any violation ends the frame with its specific error.
//!
//! The syscalls between contracts (`call`, `instantiate`, `terminate`, `origin`) are in
//! [`contracts`].

mod contracts;

use crate::abi::{self, Syscall};
use crate::costs::RuntimeCost;
use crate::exec::{engine_error, out_of_gas, Frame, Stack};
use crate::pallet::{
    BalanceOf, Config, ContractStorage, Error, Event, Pallet, StorageKey, StorageValue,
};
use alloc::{vec, vec::Vec};
use frame_support::traits::{
    fungible::{Inspect, Mutate},
    tokens::Preservation,
    Time,
};
use pvm_host_functions::{Engine, InstanceId};
use sp_core::H256;
use sp_runtime::{
    traits::{UniqueSaturatedFrom, UniqueSaturatedInto},
    AccountId32, DispatchError,
};

/// What the frame does after a syscall.
pub(crate) enum Flow {
    /// Resume the guest with this value in `a0`.
    Resume(u64),
    /// End the frame (`return_data`).
    Return {
        /// The frame's state changes are rolled back.
        reverted: bool,
        /// Its output.
        output: Vec<u8>,
    },
    /// End the frame: the contract terminated itself (`terminate`).
    Terminated,
}

struct Context<'a, T: Config> {
    stack: &'a mut Stack<T>,
    frame: &'a mut Frame<T>,
    instance: InstanceId,
}

impl<T: Config> Context<'_, T> {
    /// Charges `cost` before the work it pays for.
    fn charge(&mut self, cost: RuntimeCost) -> Result<(), DispatchError> {
        self.stack
            .gas
            .charge(cost.weight::<T::WeightInfo>())
            .map_err(out_of_gas::<T>)
    }

    /// Runs `work` after charging `bound`, the cost of its worst case, and gives back the
    /// difference to the cost `actual` reports once the work is done.
    fn charge_bounded<R>(
        &mut self,
        bound: RuntimeCost,
        work: impl FnOnce(&mut Self) -> Result<R, DispatchError>,
        actual: impl FnOnce(&R) -> RuntimeCost,
    ) -> Result<R, DispatchError> {
        self.charge(bound)?;
        let result = work(self)?;
        let refund = bound.adjust::<T::WeightInfo>(actual(&result));
        self.stack.gas.refund(refund);
        Ok(result)
    }

    /// Reads `len` guest bytes at `ptr`; `len` was checked against its limit
    /// ([`within`]) and paid for.
    fn read(&mut self, ptr: u32, len: u32) -> Result<Vec<u8>, DispatchError> {
        let mut buffer = vec![0; len as usize];
        self.stack
            .engine
            .read_memory(self.instance, ptr, &mut buffer)
            .map_err(engine_error::<T>)?;
        Ok(buffer)
    }

    fn read_array<const N: usize>(&mut self, ptr: u32) -> Result<[u8; N], DispatchError> {
        let mut buffer = [0; N];
        self.stack
            .engine
            .read_memory(self.instance, ptr, &mut buffer)
            .map_err(engine_error::<T>)?;
        Ok(buffer)
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), DispatchError> {
        self.stack
            .engine
            .write_memory(self.instance, ptr, data)
            .map_err(engine_error::<T>)
    }

    /// Reads a storage key of `len` bytes (checked against [`abi::MAX_KEY_LEN`] by the
    /// caller, before charging).
    fn key(&mut self, ptr: u32, len: u32) -> Result<StorageKey, DispatchError> {
        let key = self.read(ptr, len)?;
        Ok(key.try_into().expect("length checked against MAX_KEY_LEN"))
    }

    /// Replaces (or removes, with `None`) a storage value, keeping the contract's item and
    /// byte counts; returns the previous value's length, if there was one.
    fn replace(&mut self, key: StorageKey, value: Option<Vec<u8>>) -> Option<u32> {
        let contract = &self.frame.contract;
        let info = &mut self.frame.info;
        let key_len = key.len() as u32;
        let previous = ContractStorage::<T>::take(contract, &key);
        if let Some(previous) = &previous {
            info.storage_items = info.storage_items.saturating_sub(1);
            info.storage_bytes = info
                .storage_bytes
                .saturating_sub(key_len + previous.len() as u32);
        }
        if let Some(value) = value {
            info.storage_items = info.storage_items.saturating_add(1);
            info.storage_bytes = info
                .storage_bytes
                .saturating_add(key_len + value.len() as u32);
            let value: StorageValue = value
                .try_into()
                .expect("length checked against MAX_VALUE_LEN");
            ContractStorage::<T>::insert(contract, &key, value);
        }
        previous.map(|value| value.len() as u32)
    }
}

/// A stored value's length as the ABI returns it: `KEY_NOT_FOUND` for none.
fn len_or_not_found(len: Option<u32>) -> u64 {
    u64::from(len.unwrap_or(abi::KEY_NOT_FOUND))
}

/// `len` if it is at most `limit`; a length over its limit ends the frame before anything
/// is charged for it or allocated.
fn within<T: Config>(len: u32, limit: u32) -> Result<u32, DispatchError> {
    if len > limit {
        return Err(Error::<T>::SyscallLengthTooLarge.into());
    }
    Ok(len)
}

fn balance_bytes<T: Config>(balance: BalanceOf<T>) -> [u8; 16] {
    UniqueSaturatedInto::<u128>::unique_saturated_into(balance).to_le_bytes()
}

/// Serves the syscall `symbol` with the guest's `args`. Every arm charges its
/// [`RuntimeCost`] before its work (the ABI table names it).
pub(crate) fn dispatch<T: Config>(
    stack: &mut Stack<T>,
    frame: &mut Frame<T>,
    instance: InstanceId,
    symbol: &[u8],
    args: [u64; 6],
) -> Result<Flow, DispatchError> {
    // The ABI's arguments are all `u32`: a 64-bit register holds one sign- or
    // zero-extended, and its low half is the value.
    let [a0, a1, a2, a3, _, _] = args.map(|arg| arg as u32);
    let mut cx = Context {
        stack,
        frame,
        instance,
    };
    cx.charge(RuntimeCost::RoundTrip)?;
    // Validation admitted only known symbols; an unknown one means the engine and the
    // stored code disagree, which the contract cannot cause.
    let syscall = Syscall::from_symbol(symbol).ok_or(Error::<T>::EngineFailure)?;
    let resume = |value: u64| Ok(Flow::Resume(value));
    // Writes `bytes` to the guest at `ptr` after charging `cost`; resumes with 0.
    let put = |cx: &mut Context<'_, T>, cost, ptr, bytes: &[u8]| {
        cx.charge(cost)?;
        cx.write(ptr, bytes)?;
        resume(0)
    };
    match syscall {
        Syscall::CallDataSize => {
            cx.charge(RuntimeCost::CallDataSize)?;
            resume(cx.frame.call_data.len() as u64)
        }
        Syscall::CallDataCopy => {
            let (out_ptr, out_len, offset) = (a0, a1, a2);
            let len = cx.frame.call_data.len();
            let start = (offset as usize).min(len);
            let count = (out_len as usize).min(len - start);
            cx.charge(RuntimeCost::CallDataCopy(count as u32))?;
            let chunk = cx.frame.call_data[start..start + count].to_vec();
            cx.write(out_ptr, &chunk)?;
            resume(count as u64)
        }
        Syscall::ReturnData => {
            let (flags, ptr, len) = (a0, a1, within::<T>(a2, abi::MAX_OUTPUT_LEN)?);
            if flags & !abi::FLAG_REVERT != 0 {
                return Err(Error::<T>::InvalidSyscallFlags.into());
            }
            cx.charge(RuntimeCost::ReturnData(len))?;
            let output = cx.read(ptr, len)?;
            Ok(Flow::Return {
                reverted: flags & abi::FLAG_REVERT != 0,
                output,
            })
        }
        Syscall::GetStorage => {
            let (key_ptr, key_len, out_ptr, out_cap) = (a0, a1, a2, a3);
            let key_len = within::<T>(key_len, abi::MAX_KEY_LEN)?;
            // All of the value enters the proof, whatever is copied of it.
            let value = cx.charge_bounded(
                RuntimeCost::GetStorage(abi::MAX_VALUE_LEN),
                |cx| {
                    let key = cx.key(key_ptr, key_len)?;
                    Ok(ContractStorage::<T>::get(&cx.frame.contract, &key))
                },
                |value| RuntimeCost::GetStorage(value.as_ref().map_or(0, |v| v.len() as u32)),
            )?;
            match value {
                None => resume(abi::KEY_NOT_FOUND.into()),
                Some(value) => {
                    let count = value.len().min(out_cap as usize);
                    cx.write(out_ptr, &value[..count])?;
                    resume(value.len() as u64)
                }
            }
        }
        Syscall::SetStorage => {
            let (key_ptr, value_ptr) = (a0, a2);
            let key_len = within::<T>(a1, abi::MAX_KEY_LEN)?;
            let new = within::<T>(a3, abi::MAX_VALUE_LEN)?;
            // Replacing reads the old value (its length keeps the deposit accounting).
            let bound = RuntimeCost::SetStorage {
                new,
                old: abi::MAX_VALUE_LEN,
            };
            let previous = cx.charge_bounded(
                bound,
                |cx| {
                    let key = cx.key(key_ptr, key_len)?;
                    let value = cx.read(value_ptr, new)?;
                    Ok(cx.replace(key, Some(value)))
                },
                |previous| RuntimeCost::SetStorage {
                    new,
                    old: previous.unwrap_or(0),
                },
            )?;
            resume(len_or_not_found(previous))
        }
        Syscall::ClearStorage => {
            let key_len = within::<T>(a1, abi::MAX_KEY_LEN)?;
            let previous = cx.charge_bounded(
                RuntimeCost::ClearStorage(abi::MAX_VALUE_LEN),
                |cx| {
                    let key = cx.key(a0, key_len)?;
                    Ok(cx.replace(key, None))
                },
                |previous| RuntimeCost::ClearStorage(previous.unwrap_or(0)),
            )?;
            resume(len_or_not_found(previous))
        }
        Syscall::ContainsStorage => {
            let key_len = within::<T>(a1, abi::MAX_KEY_LEN)?;
            // Only the length comes back, but the whole value enters the proof.
            let len = cx.charge_bounded(
                RuntimeCost::ContainsStorage(abi::MAX_VALUE_LEN),
                |cx| {
                    let key = cx.key(a0, key_len)?;
                    Ok(ContractStorage::<T>::decode_len(&cx.frame.contract, &key)
                        .map(|len| len as u32))
                },
                |len| RuntimeCost::ContainsStorage(len.unwrap_or(0)),
            )?;
            resume(len_or_not_found(len))
        }
        Syscall::Caller => {
            let caller: [u8; 32] = cx.frame.caller.clone().into();
            put(&mut cx, RuntimeCost::Caller, a0, &caller)
        }
        Syscall::Address => {
            let address: [u8; 32] = cx.frame.contract.clone().into();
            put(&mut cx, RuntimeCost::Address, a0, &address)
        }
        Syscall::Origin => {
            let origin: [u8; 32] = cx.stack.origin.clone().into();
            put(&mut cx, RuntimeCost::Origin, a0, &origin)
        }
        Syscall::ValueTransferred => {
            let value = balance_bytes::<T>(cx.frame.value);
            put(&mut cx, RuntimeCost::ValueTransferred, a0, &value)
        }
        Syscall::Balance => {
            cx.charge(RuntimeCost::Balance)?;
            let balance = balance_bytes::<T>(T::Currency::balance(&cx.frame.contract));
            cx.write(a0, &balance)?;
            resume(0)
        }
        Syscall::Transfer => {
            cx.charge(RuntimeCost::Transfer)?;
            let dest = AccountId32::new(cx.read_array::<32>(a0)?);
            let value = u128::from_le_bytes(cx.read_array::<16>(a1)?);
            let amount = BalanceOf::<T>::unique_saturated_from(value);
            let fits = UniqueSaturatedInto::<u128>::unique_saturated_into(amount) == value;
            let done = fits
                && T::Currency::transfer(&cx.frame.contract, &dest, amount, Preservation::Preserve)
                    .is_ok();
            resume(if done { 0 } else { abi::TRANSFER_FAILED.into() })
        }
        Syscall::BlockNumber => {
            cx.charge(RuntimeCost::BlockNumber)?;
            resume(frame_system::Pallet::<T>::block_number().unique_saturated_into())
        }
        Syscall::Now => {
            cx.charge(RuntimeCost::Now)?;
            resume(T::Time::now().unique_saturated_into())
        }
        Syscall::GasLeft => {
            cx.charge(RuntimeCost::GasLeft)?;
            resume(cx.stack.gas.gas_left())
        }
        Syscall::DepositEvent => {
            let (topics_ptr, data_ptr) = (a0, a2);
            let topics = within::<T>(a1, abi::MAX_EVENT_TOPICS)?;
            let len = within::<T>(a3, abi::MAX_EVENT_DATA_LEN)?;
            cx.charge(RuntimeCost::DepositEvent { topics, len })?;
            let topics = cx.read(topics_ptr, topics * 32)?;
            let data = cx.read(data_ptr, len)?;
            let topics = topics
                .chunks_exact(32)
                .map(H256::from_slice)
                .collect::<Vec<_>>();
            Pallet::<T>::deposit_event(Event::ContractEmitted {
                contract: cx.frame.contract.clone(),
                topics,
                data,
            });
            resume(0)
        }
        Syscall::Call => contracts::call(&mut cx, args.map(|arg| arg as u32)),
        Syscall::Instantiate => contracts::instantiate(&mut cx, args.map(|arg| arg as u32)),
        Syscall::Terminate => contracts::terminate(&mut cx, a0),
        Syscall::HashBlake2_256 | Syscall::HashKeccak256 => {
            let (input_ptr, out_ptr) = (a0, a2);
            let len = within::<T>(a1, abi::MAX_HASH_INPUT_LEN)?;
            let blake2 = syscall == Syscall::HashBlake2_256;
            cx.charge(if blake2 {
                RuntimeCost::HashBlake2_256(len)
            } else {
                RuntimeCost::HashKeccak256(len)
            })?;
            let input = cx.read(input_ptr, len)?;
            let hash = if blake2 {
                sp_io::hashing::blake2_256(&input)
            } else {
                sp_io::hashing::keccak_256(&input)
            };
            cx.write(out_ptr, &hash)?;
            resume(0)
        }
    }
}
