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
use crate::exec::{engine_error, out_of_gas, Frame, Stack};
use crate::pallet::{
    BalanceOf, Config, ContractStorage, Error, Event, Pallet, StorageKey, StorageValue,
};
use crate::weights::WeightInfo;
use alloc::{vec, vec::Vec};
use frame_support::{
    traits::{
        fungible::{Inspect, Mutate},
        tokens::Preservation,
        Time,
    },
    weights::Weight,
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
    fn charge(&mut self, weight: Weight) -> Result<(), DispatchError> {
        self.stack.gas.charge(weight).map_err(out_of_gas::<T>)
    }

    /// Runs `work`, which reads one of the contract's stored values (all of it enters the
    /// proof, whatever the syscall returns of it): charges reading a value of the largest
    /// length before, and gives back the difference to the length `found_len` reports
    /// after (`None`: no value).
    fn read_stored_value<R>(
        &mut self,
        work: impl FnOnce(&mut Self) -> R,
        found_len: impl FnOnce(&R) -> Option<u32>,
    ) -> Result<R, DispatchError> {
        let worst = T::WeightInfo::storage_read(abi::MAX_VALUE_LEN);
        self.charge(worst)?;
        let result = work(self);
        let actual = T::WeightInfo::storage_read(found_len(&result).unwrap_or(0));
        self.stack.gas.refund(worst.saturating_sub(actual));
        Ok(result)
    }

    /// Reads `len` guest bytes at `ptr`, refusing lengths over `limit` before allocating.
    fn read(&mut self, ptr: u32, len: u32, limit: u32) -> Result<Vec<u8>, DispatchError> {
        if len > limit {
            return Err(Error::<T>::SyscallLengthTooLarge.into());
        }
        self.charge(T::WeightInfo::copy(len))?;
        let mut buffer = vec![0; len as usize];
        self.stack
            .engine
            .read_memory(self.instance, ptr, &mut buffer)
            .map_err(engine_error::<T>)?;
        Ok(buffer)
    }

    fn read_array<const N: usize>(&mut self, ptr: u32) -> Result<[u8; N], DispatchError> {
        let mut buffer = [0; N];
        self.charge(T::WeightInfo::copy(N as u32))?;
        self.stack
            .engine
            .read_memory(self.instance, ptr, &mut buffer)
            .map_err(engine_error::<T>)?;
        Ok(buffer)
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), DispatchError> {
        self.charge(T::WeightInfo::copy(data.len() as u32))?;
        self.stack
            .engine
            .write_memory(self.instance, ptr, data)
            .map_err(engine_error::<T>)
    }

    fn key(&mut self, ptr: u32, len: u32) -> Result<StorageKey, DispatchError> {
        let key = self.read(ptr, len, abi::MAX_KEY_LEN)?;
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

fn balance_bytes<T: Config>(balance: BalanceOf<T>) -> [u8; 16] {
    UniqueSaturatedInto::<u128>::unique_saturated_into(balance).to_le_bytes()
}

/// Serves the syscall `symbol` with the guest's `args`.
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
    cx.charge(T::WeightInfo::syscall())?;
    // Validation admitted only known symbols; an unknown one means the engine and the
    // stored code disagree, which the contract cannot cause.
    let syscall = Syscall::from_symbol(symbol).ok_or(Error::<T>::EngineFailure)?;
    let resume = |value: u64| Ok(Flow::Resume(value));
    match syscall {
        Syscall::CallDataSize => resume(cx.frame.call_data.len() as u64),
        Syscall::CallDataCopy => {
            let (out_ptr, out_len, offset) = (a0, a1, a2);
            let data = &cx.frame.call_data;
            let start = (offset as usize).min(data.len());
            let count = (out_len as usize).min(data.len() - start);
            let chunk = data[start..start + count].to_vec();
            cx.write(out_ptr, &chunk)?;
            resume(count as u64)
        }
        Syscall::ReturnData => {
            let (flags, ptr, len) = (a0, a1, a2);
            if flags & !abi::FLAG_REVERT != 0 {
                return Err(Error::<T>::InvalidSyscallFlags.into());
            }
            let output = cx.read(ptr, len, abi::MAX_OUTPUT_LEN)?;
            Ok(Flow::Return {
                reverted: flags & abi::FLAG_REVERT != 0,
                output,
            })
        }
        Syscall::GetStorage => {
            let (key_ptr, key_len, out_ptr, out_cap) = (a0, a1, a2, a3);
            let key = cx.key(key_ptr, key_len)?;
            let value = cx.read_stored_value(
                |cx| ContractStorage::<T>::get(&cx.frame.contract, &key),
                |value| value.as_ref().map(|v| v.len() as u32),
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
            let (key_ptr, key_len, value_ptr, value_len) = (a0, a1, a2, a3);
            let key = cx.key(key_ptr, key_len)?;
            let value = cx.read(value_ptr, value_len, abi::MAX_VALUE_LEN)?;
            cx.charge(T::WeightInfo::storage_write(value_len))?;
            // Replacing reads the old value (its length keeps the deposit accounting).
            let previous = cx.read_stored_value(|cx| cx.replace(key, Some(value)), |len| *len)?;
            resume(len_or_not_found(previous))
        }
        Syscall::ClearStorage => {
            let key = cx.key(a0, a1)?;
            cx.charge(T::WeightInfo::storage_write(0))?;
            let previous = cx.read_stored_value(|cx| cx.replace(key, None), |len| *len)?;
            resume(len_or_not_found(previous))
        }
        Syscall::ContainsStorage => {
            let key = cx.key(a0, a1)?;
            // Only the length comes back, but the whole value enters the proof.
            let len = cx.read_stored_value(
                |cx| ContractStorage::<T>::decode_len(&cx.frame.contract, &key),
                |len| len.map(|len| len as u32),
            )?;
            resume(len_or_not_found(len.map(|len| len as u32)))
        }
        Syscall::Caller => {
            let caller: [u8; 32] = cx.frame.caller.clone().into();
            cx.write(a0, &caller)?;
            resume(0)
        }
        Syscall::Address => {
            let address: [u8; 32] = cx.frame.contract.clone().into();
            cx.write(a0, &address)?;
            resume(0)
        }
        Syscall::ValueTransferred => {
            let value = balance_bytes::<T>(cx.frame.value);
            cx.write(a0, &value)?;
            resume(0)
        }
        Syscall::Balance => {
            cx.charge(T::WeightInfo::storage_read(0))?;
            let balance = balance_bytes::<T>(T::Currency::balance(&cx.frame.contract));
            cx.write(a0, &balance)?;
            resume(0)
        }
        Syscall::Transfer => {
            let dest = AccountId32::new(cx.read_array::<32>(a0)?);
            let value = u128::from_le_bytes(cx.read_array::<16>(a1)?);
            cx.charge(T::WeightInfo::transfer())?;
            let amount = BalanceOf::<T>::unique_saturated_from(value);
            let fits = UniqueSaturatedInto::<u128>::unique_saturated_into(amount) == value;
            let done = fits
                && T::Currency::transfer(&cx.frame.contract, &dest, amount, Preservation::Preserve)
                    .is_ok();
            resume(if done { 0 } else { abi::TRANSFER_FAILED.into() })
        }
        Syscall::BlockNumber => {
            resume(frame_system::Pallet::<T>::block_number().unique_saturated_into())
        }
        Syscall::Now => resume(T::Time::now().unique_saturated_into()),
        Syscall::GasLeft => resume(cx.stack.gas.gas_left()),
        Syscall::DepositEvent => {
            let (topics_ptr, topics_count, data_ptr, data_len) = (a0, a1, a2, a3);
            if topics_count > abi::MAX_EVENT_TOPICS {
                return Err(Error::<T>::SyscallLengthTooLarge.into());
            }
            let topics = cx.read(topics_ptr, topics_count * 32, abi::MAX_EVENT_TOPICS * 32)?;
            let data = cx.read(data_ptr, data_len, abi::MAX_EVENT_DATA_LEN)?;
            cx.charge(T::WeightInfo::deposit_event(topics_count, data_len))?;
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
        Syscall::Origin => {
            let origin: [u8; 32] = cx.stack.origin.clone().into();
            cx.write(a0, &origin)?;
            resume(0)
        }
        Syscall::Call => contracts::call(&mut cx, args.map(|arg| arg as u32)),
        Syscall::Instantiate => contracts::instantiate(&mut cx, args.map(|arg| arg as u32)),
        Syscall::Terminate => contracts::terminate(&mut cx, a0),
        Syscall::HashBlake2_256 | Syscall::HashKeccak256 => {
            let (input_ptr, input_len, out_ptr) = (a0, a1, a2);
            let input = cx.read(input_ptr, input_len, abi::MAX_HASH_INPUT_LEN)?;
            let hash = if syscall == Syscall::HashBlake2_256 {
                cx.charge(T::WeightInfo::hash_blake2_256(input_len))?;
                sp_io::hashing::blake2_256(&input)
            } else {
                cx.charge(T::WeightInfo::hash_keccak_256(input_len))?;
                sp_io::hashing::keccak_256(&input)
            };
            cx.write(out_ptr, &hash)?;
            resume(0)
        }
    }
}
