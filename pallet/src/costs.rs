//! What each piece of work a contract makes the runtime do costs, in one place (as
//! pallet-revive's `RuntimeCosts`): one variant per syscall (the ABI table,
//! `pallet/src/abi.md`, names each row's cost), its weight from the generated
//! [`WeightInfo`], one function per benchmark (`benchmarking.rs`). Every syscall benchmark
//! runs the syscall's whole path on a live frame (reading its arguments from guest memory,
//! the work, writing the results back), at the worst case of what its components do not
//! capture, so a cost covers all of it.
//!
//! The syscall path charges a cost before the work. Where only a bound is known before
//! (the length of a stored value it reads, whether a call sends value), it charges the
//! cost at the bound and adjusts to the real cost after ([`RuntimeCost::adjust`]).

use crate::weights::WeightInfo;
use frame_support::weights::Weight;

/// One piece of work, with what its cost depends on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RuntimeCost {
    /// The engine stopping at `ecalli`, the runtime taking the syscall and resuming the
    /// guest: charged for every syscall, before anything else.
    RoundTrip,
    /// `call_data_size`.
    CallDataSize,
    /// `call_data_copy` of this many bytes.
    CallDataCopy(u32),
    /// `return_data` of this many bytes.
    ReturnData(u32),
    /// `get_storage` of a value of this many bytes (0: none).
    GetStorage(u32),
    /// `set_storage` of a value of `new` bytes over one of `old` bytes (0: none).
    SetStorage {
        /// The value written.
        new: u32,
        /// The value replaced.
        old: u32,
    },
    /// `clear_storage` of a value of this many bytes (0: none).
    ClearStorage(u32),
    /// `contains_storage` of a value of this many bytes (0: none).
    ContainsStorage(u32),
    /// `caller`.
    Caller,
    /// `address`.
    Address,
    /// `origin`.
    Origin,
    /// `value_transferred`.
    ValueTransferred,
    /// `balance`.
    Balance,
    /// `transfer`.
    Transfer,
    /// `block_number`.
    BlockNumber,
    /// `now`.
    Now,
    /// `gas_left`.
    GasLeft,
    /// `deposit_event` with this many topics and bytes of data.
    DepositEvent {
        /// Topics.
        topics: u32,
        /// Bytes of data.
        len: u32,
    },
    /// `hash_blake2_256` of this many bytes.
    HashBlake2_256(u32),
    /// `hash_keccak_256` of this many bytes.
    HashKeccak256(u32),
    /// `call`, up to the callee's start (its code loading and running come out of its own
    /// limit), with `input_len` bytes of input.
    Call {
        /// Value is sent.
        value: bool,
        /// The caller allows re-entry (its deposit is settled before the call).
        reentry: bool,
        /// Bytes of input.
        input_len: u32,
    },
    /// `instantiate`, as [`RuntimeCost::Call`].
    Instantiate {
        /// Value is sent.
        value: bool,
        /// The caller allows re-entry.
        reentry: bool,
        /// Bytes of input.
        input_len: u32,
    },
    /// `terminate` of a contract with this many storage items.
    Terminate(u32),
    /// Copying this many bytes into guest memory after the work (a callee's output):
    /// the per-byte part of `call_data_copy`.
    CopyToGuest(u32),
}

impl RuntimeCost {
    /// The weight of this work under `W`.
    pub fn weight<W: WeightInfo>(self) -> Weight {
        use RuntimeCost::*;
        match self {
            RoundTrip => W::syscall_round_trip(1).saturating_sub(W::syscall_round_trip(0)),
            CallDataSize => W::syscall_call_data_size(),
            CallDataCopy(len) => W::syscall_call_data_copy(len),
            ReturnData(len) => W::syscall_return_data(len),
            GetStorage(len) => W::syscall_get_storage(len),
            SetStorage { new, old } => W::syscall_set_storage(new, old),
            ClearStorage(old) => W::syscall_clear_storage(old),
            ContainsStorage(len) => W::syscall_contains_storage(len),
            Caller => W::syscall_caller(),
            Address => W::syscall_address(),
            Origin => W::syscall_origin(),
            ValueTransferred => W::syscall_value_transferred(),
            Balance => W::syscall_balance(),
            Transfer => W::syscall_transfer(),
            BlockNumber => W::syscall_block_number(),
            Now => W::syscall_now(),
            GasLeft => W::syscall_gas_left(),
            DepositEvent { topics, len } => W::syscall_deposit_event(topics, len),
            HashBlake2_256(len) => W::syscall_hash_blake2_256(len),
            HashKeccak256(len) => W::syscall_hash_keccak_256(len),
            Call {
                value,
                reentry,
                input_len,
            } => W::syscall_call(value.into(), reentry.into(), input_len),
            Instantiate {
                value,
                reentry,
                input_len,
            } => W::syscall_instantiate(value.into(), reentry.into(), input_len),
            Terminate(items) => W::syscall_terminate(items),
            CopyToGuest(len) => {
                W::syscall_call_data_copy(len).saturating_sub(W::syscall_call_data_copy(0))
            }
        }
    }

    /// What to give back, once the work is done, of a charge for `self` (a bound) when
    /// the work turned out to cost `actual`: never more than was charged.
    pub fn adjust<W: WeightInfo>(self, actual: RuntimeCost) -> Weight {
        self.weight::<W>().saturating_sub(actual.weight::<W>())
    }
}

#[cfg(all(test, feature = "runtime-benchmarks"))]
mod tests {
    use crate::abi::Syscall;
    use alloc::string::String;
    use frame_benchmarking::Benchmarking;

    /// The ABI table's rows name benchmarks that exist, so every syscall's weight is
    /// generated from a measurement of it.
    #[test]
    fn every_syscall_names_a_benchmark_that_exists() {
        let benchmarks: alloc::vec::Vec<String> =
            <crate::Pallet<crate::mock::Test> as Benchmarking>::benchmarks(false)
                .into_iter()
                .map(|benchmark| String::from_utf8(benchmark.name).expect("ASCII names"))
                .collect();
        for syscall in Syscall::ALL {
            assert!(
                benchmarks.iter().any(|name| name == syscall.benchmark()),
                "{} has no benchmark {}",
                syscall.symbol(),
                syscall.benchmark()
            );
        }
    }
}
