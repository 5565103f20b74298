//! # pallet-pvm
//!
//! Stores PolkaVM contract blobs on chain and runs them with `pvm-core`.
//!
//! - **Code** is uploaded once (`upload_code`, or with `instantiate_with_code`), validated
//!   at upload only ([`validation`]), and kept by hash in [`PristineCode`] with its
//!   [`CodeInfo`]; the uploader holds a deposit for it until `remove_code`, which is refused
//!   while any contract uses the code.
//! - **Contracts** are instances of code with an account, their own storage
//!   ([`ContractStorage`]) and a storage deposit held on the contract's account, paid by
//!   whoever grows the storage and refunded to whoever shrinks it.
//! - **Calls** run the blob's `deploy` or `call` export. Gas is metered by the engine per
//!   basic block; the pallet converts the extrinsic's weight limit into gas and charges the
//!   gas used at every syscall plus the syscall's own weight ([`costs`], from the generated
//!   [`weights`]), before its work. A trap, running out of gas or a revert rolls back the
//!   frame's state changes; the fee is kept.
//! - **Contracts call contracts** (`call`, `instantiate`, `terminate`): each callee is a
//!   frame of its own on the extrinsic's stack, transactional, with weight and deposit
//!   limits carved out of its caller's, at most `MaxCallDepth` frames deep, re-entered only
//!   where it allowed it ([`abi`], "Calls between contracts").
//! - **Syscalls** are the contract ABI: [`abi`].
//!
//! ## Adding it to a runtime
//!
//! ```ignore
//! impl pallet_pvm::Config for Runtime {
//!     type Currency = Balances;
//!     type RuntimeHoldReason = RuntimeHoldReason;
//!     type Time = Timestamp;
//!     // `NativeEngine` on nodes with `pvm_host_functions::HostFunctions`,
//!     // `InRuntimeEngine` where the runtime must run without them.
//!     type Engine = pallet_pvm::NativeEngine;
//!     type WeightInfo = pallet_pvm::weights::SubstrateWeight<Runtime>;
//!     type MaxCodeLen = ConstU32<{ 256 * 1024 }>;
//!     type MaxBasicBlockLen = ConstU32<1024>;
//!     type MemoryPerInstance = ConstU64<{ 16 << 20 }>;
//!     type MaxCallDepth = ConstU32<8>;
//!     type CostTableVersion = ConstU32<{ pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION }>;
//!     type DepositPerByte = ConstU128<1>;
//!     type DepositPerItem = ConstU128<100>;
//!     // The figure for the engine the validators run (`in_runtime` with `InRuntimeEngine`).
//!     type RefTimePerGas =
//!         ConstU64<{ pallet_pvm::gas::RECOMMENDED_REF_TIME_PER_GAS.interpreter }>;
//! }
//! ```
//!
//! The runtime's `AccountId` must be `AccountId32`: contracts see 32-byte accounts.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod abi;
mod backend;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod costs;
mod dry_run;
mod exec;
pub mod gas;
// Used by the benchmark test suite only, for now.
#[cfg(all(test, feature = "runtime-benchmarks"))]
mod mock;
pub mod runtime_api;
mod syscalls;
pub mod validation;
pub mod weights;

pub use backend::{InRuntimeEngine, NativeEngine};
pub use dry_run::{DryRunResult, EventRecordOf};
pub use exec::{CallOutcome, ExecResult, InstantiateOutcome};
pub use pallet::*;

#[frame_support::pallet]
pub mod pallet {
    use crate::abi;
    use crate::exec;
    use crate::validation::{self, ValidationError};
    use crate::weights::WeightInfo;
    use alloc::vec::Vec;
    use frame_support::{
        dispatch::{DispatchErrorWithPostInfo, PostDispatchInfo},
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate, MutateHold},
            tokens::Precision,
            Time,
        },
    };
    use frame_system::pallet_prelude::*;
    use pvm_host_functions::EngineLimits;
    use sp_core::H256;
    use sp_runtime::{AccountId32, Saturating};

    /// The balance type of the currency.
    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

    /// Upper bound on stored code, for the storage layout.
    pub type CodeVec<T> = BoundedVec<u8, <T as Config>::MaxCodeLen>;

    /// A storage key of a contract.
    pub type StorageKey = BoundedVec<u8, ConstU32<{ crate::abi::MAX_KEY_LEN }>>;

    /// A storage value of a contract.
    pub type StorageValue = BoundedVec<u8, ConstU32<{ crate::abi::MAX_VALUE_LEN }>>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// The pallet's configuration.
    #[pallet::config]
    pub trait Config: frame_system::Config<AccountId = AccountId32> {
        /// Pays fees for nothing but holds code and storage deposits and moves value.
        type Currency: Inspect<Self::AccountId>
            + Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// The runtime's hold reasons.
        type RuntimeHoldReason: From<HoldReason>;
        /// The block timestamp, for the `now` syscall.
        type Time: Time;
        /// Where contracts run: [`NativeEngine`](crate::NativeEngine) on nodes with the pvm
        /// host functions, [`InRuntimeEngine`](crate::InRuntimeEngine) inside the runtime.
        /// One value per extrinsic (`Default`).
        type Engine: pvm_host_functions::Engine + Default;
        /// Weights.
        type WeightInfo: WeightInfo;
        /// The largest blob `upload_code` accepts, in bytes.
        #[pallet::constant]
        type MaxCodeLen: Get<u32>;
        /// The most instructions one basic block of uploaded code may have.
        #[pallet::constant]
        type MaxBasicBlockLen: Get<u32>;
        /// Deposit per byte of stored code or contract storage.
        #[pallet::constant]
        type DepositPerByte: Get<BalanceOf<Self>>;
        /// Deposit per stored item (a code blob, a contract, a storage entry).
        #[pallet::constant]
        type DepositPerItem: Get<BalanceOf<Self>>;
        /// Guest memory one contract instance may make accessible (its image plus heap), in
        /// bytes. Consensus: passed to the engine with every call; code whose memory does
        /// not fit is refused at upload.
        #[pallet::constant]
        type MemoryPerInstance: Get<u64>;
        /// How many contract frames may be live at once (the outermost and the contracts
        /// it calls, nested); a call one deeper fails with `CallDepthExceeded` for its
        /// caller. Also the engine's instance limit: every live frame holds one instance.
        #[pallet::constant]
        type MaxCallDepth: Get<u32>;
        /// The gas cost table contracts are charged by, by version
        /// ([`pvm_core::gas::CostTable::by_version`]). Consensus.
        #[pallet::constant]
        type CostTableVersion: Get<u32>;
        /// `ref_time` charged per unit of engine gas: the figure the cost table's
        /// measurement recommends for the engine the validators run
        /// ([`crate::gas::RECOMMENDED_REF_TIME_PER_GAS`]). Consensus.
        #[pallet::constant]
        type RefTimePerGas: Get<u64>;
    }

    /// Why the pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// Deposit for stored code, held on the uploader.
        CodeUploadDepositReserve,
        /// Deposit for a contract and its storage, held on the contract.
        StorageDepositReserve,
    }

    /// What the chain knows about stored code.
    #[derive(
        Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
    )]
    #[scale_info(skip_type_params(T))]
    pub struct CodeInfo<T: Config> {
        /// Who uploaded it and holds its deposit.
        pub owner: T::AccountId,
        /// The deposit held.
        pub deposit: BalanceOf<T>,
        /// How many contracts use it.
        pub refcount: u64,
        /// The blob's length in bytes.
        pub code_len: u32,
        /// The blob's instruction set, as its container version byte (0 = ReviveV1,
        /// 2 = Latest64).
        pub blob_version: u8,
    }

    /// A contract.
    #[derive(
        Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
    )]
    #[scale_info(skip_type_params(T))]
    pub struct ContractInfo<T: Config> {
        /// Its code.
        pub code_hash: H256,
        /// Entries in its storage.
        pub storage_items: u32,
        /// Bytes of keys and values in its storage.
        pub storage_bytes: u32,
        /// Deposit held on the contract's account for itself and its storage.
        pub storage_deposit: BalanceOf<T>,
    }

    /// Code blobs by hash (BLAKE2b-256 of the blob).
    #[pallet::storage]
    pub type PristineCode<T: Config> = StorageMap<_, Identity, H256, CodeVec<T>>;

    /// Information about stored code.
    #[pallet::storage]
    pub type CodeInfoOf<T: Config> = StorageMap<_, Identity, H256, CodeInfo<T>>;

    /// Contracts by account.
    #[pallet::storage]
    pub type ContractInfoOf<T: Config> = StorageMap<_, Identity, T::AccountId, ContractInfo<T>>;

    /// Each contract's own storage.
    #[pallet::storage]
    pub type ContractStorage<T: Config> =
        StorageDoubleMap<_, Identity, T::AccountId, Blake2_128Concat, StorageKey, StorageValue>;

    /// Events.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// Code was stored.
        CodeStored {
            /// Its hash.
            code_hash: H256,
            /// The deposit held for it.
            deposit: BalanceOf<T>,
            /// Who uploaded it.
            uploader: T::AccountId,
        },
        /// Code was removed and its deposit released.
        CodeRemoved {
            /// Its hash.
            code_hash: H256,
            /// The deposit released.
            deposit_released: BalanceOf<T>,
            /// To whom.
            remover: T::AccountId,
        },
        /// A contract was instantiated.
        Instantiated {
            /// Who instantiated it.
            deployer: T::AccountId,
            /// The new contract.
            contract: T::AccountId,
            /// Its code.
            code_hash: H256,
        },
        /// A contract was called.
        Called {
            /// Who called.
            caller: T::AccountId,
            /// The contract.
            contract: T::AccountId,
        },
        /// A contract emitted an event (`deposit_event`).
        ContractEmitted {
            /// The contract.
            contract: T::AccountId,
            /// Its topics.
            topics: Vec<H256>,
            /// Its data.
            data: Vec<u8>,
        },
        /// A storage deposit was charged (positive) to or refunded to an account.
        StorageDepositTransferred {
            /// The account that paid or was refunded.
            who: T::AccountId,
            /// The contract.
            contract: T::AccountId,
            /// The amount charged.
            charged: BalanceOf<T>,
            /// The amount refunded.
            refunded: BalanceOf<T>,
        },
        /// A contract ended itself (`terminate`): its storage and account are gone, its
        /// balance went to the beneficiary and its storage deposit back to the origin.
        Terminated {
            /// The contract.
            contract: T::AccountId,
            /// Who received its balance.
            beneficiary: T::AccountId,
        },
    }

    /// Errors. Validation errors carry their figures in the log message and in
    /// [`Pallet::validate_code`]'s [`ValidationError`].
    #[pallet::error]
    pub enum Error<T> {
        /// The code is larger than `MaxCodeLen`.
        CodeTooLarge,
        /// The code is not a well-formed PolkaVM blob.
        CodeMalformed,
        /// The blob's instruction set is not allowed.
        UnsupportedInstructionSet,
        /// The blob imports a symbol that is no syscall of the ABI.
        UnknownImport,
        /// The blob lacks the `deploy` or `call` export.
        MissingExport,
        /// The code holds an invalid instruction.
        InvalidInstruction,
        /// A basic block is longer than `MaxBasicBlockLen`.
        BasicBlockTooLarge,
        /// The engine refuses the code (its memory does not fit).
        CodeRejectedByEngine,
        /// No code with this hash is stored.
        CodeNotFound,
        /// This code is stored already.
        CodeAlreadyExists,
        /// Contracts still use the code.
        CodeInUse,
        /// Only the uploader may remove the code.
        NotCodeOwner,
        /// No contract at this address.
        ContractNotFound,
        /// A contract already lives at the derived address (change the salt).
        ContractAlreadyExists,
        /// The contract trapped.
        ContractTrapped,
        /// The call ran out of gas (its weight limit).
        OutOfGas,
        /// The contract reverted (`return_data` with the revert flag).
        ContractReverted,
        /// The storage deposit needed exceeds the limit given.
        StorageDepositLimitExhausted,
        /// The payer cannot afford the deposit.
        StorageDepositNotEnoughFunds,
        /// The value could not be transferred.
        TransferFailed,
        /// A syscall's pointer and length do not lie in the guest's memory.
        GuestMemoryOutOfBounds,
        /// A syscall's length is over its limit.
        SyscallLengthTooLarge,
        /// `return_data` got unknown flag bits.
        InvalidSyscallFlags,
        /// The call data is longer than the ABI allows.
        CallDataTooLarge,
        /// The engine failed in a way the contract cannot cause (a bug or a missing
        /// engine extension on the node).
        EngineFailure,
        /// A call would have more frames on the stack than `MaxCallDepth`.
        MaxCallDepthReached,
        /// The callee has a frame on the stack that does not allow re-entry.
        ReentranceDenied,
        /// `terminate` while the contract has another frame on the stack.
        TerminatedWhileReentrant,
        /// `terminate` named the contract itself as the beneficiary.
        BeneficiaryIsSelf,
        /// The salt is longer than `abi::SALT_LEN` bytes.
        SaltTooLong,
    }

    impl<T: Config> From<ValidationError> for Error<T> {
        fn from(error: ValidationError) -> Self {
            match error {
                ValidationError::TooLarge { .. } => Error::CodeTooLarge,
                ValidationError::Malformed(_) => Error::CodeMalformed,
                ValidationError::UnsupportedInstructionSet(_) => Error::UnsupportedInstructionSet,
                ValidationError::UnknownImport(_) => Error::UnknownImport,
                ValidationError::MissingExport(_) => Error::MissingExport,
                ValidationError::InvalidInstruction { .. } => Error::InvalidInstruction,
                ValidationError::BasicBlockTooLarge { .. } => Error::BasicBlockTooLarge,
                ValidationError::Engine(_) => Error::CodeRejectedByEngine,
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        /// The runtime's constants fit together and fit what nodes allow by default, so a
        /// validator with default settings runs every contract the runtime admits.
        fn integrity_test() {
            let limits = Self::engine_limits();
            let node = pvm_host_functions::NodeLimits::default();
            assert!(
                limits.max_code_len <= pvm_core::program::MAX_CODE_SIZE,
                "MaxCodeLen {} is past what pvm-core parses ({})",
                limits.max_code_len,
                pvm_core::program::MAX_CODE_SIZE
            );
            assert!(
                node.allow(&limits),
                "the engine limits {limits:?} exceed a default node's {node:?}: validators \
                 would refuse to run contracts"
            );
            assert!(
                pvm_core::gas::CostTable::by_version(limits.cost_table).is_some(),
                "CostTableVersion {} names no cost table pvm-core knows",
                limits.cost_table
            );
            // Memory made accessible is paid in engine gas (the table's page cost), before
            // it is made accessible: the benchmarks' time per page, and all of the time of
            // making the most memory accessible, must fit in it.
            if let Some(table) = pvm_core::gas::CostTable::by_version(limits.cost_table) {
                let page_charge = u64::from(table.page).saturating_mul(T::RefTimePerGas::get());
                let pages = u32::try_from(limits.memory_per_instance / pvm_core::gas::PAGE_BYTES)
                    .unwrap_or(u32::MAX);
                for (what, weight) in [
                    (
                        "instantiation",
                        T::WeightInfo::instantiate_memory as fn(u32) -> Weight,
                    ),
                    ("sbrk", T::WeightInfo::sbrk),
                ] {
                    let per_page = weight(1).saturating_sub(weight(0)).ref_time();
                    let all = weight(pages).ref_time();
                    assert!(
                        table.page == 0
                            || (per_page <= page_charge
                                && all <= page_charge.saturating_mul(pages.into())),
                        "memory made accessible by {what} takes {per_page} ps per page and \
                         {all} ps for {pages} pages, more than the {page_charge} ps per page its \
                         gas pays (cost table {}, RefTimePerGas {})",
                        limits.cost_table,
                        T::RefTimePerGas::get()
                    );
                }
            }
            assert!(
                limits.max_instances >= 1,
                "MaxCallDepth must allow one frame"
            );
            assert!(
                limits.memory_per_instance >= 1 << 16,
                "MemoryPerInstance {} is too small for any program's stack and data",
                limits.memory_per_instance
            );
            // A contract's input and outputs must fit in its memory.
            let largest_buffer = [
                abi::MAX_CALL_DATA_LEN,
                abi::MAX_VALUE_LEN,
                abi::MAX_OUTPUT_LEN,
                abi::MAX_HASH_INPUT_LEN,
            ]
            .into_iter()
            .max()
            .unwrap_or(0);
            assert!(
                u64::from(largest_buffer) < limits.memory_per_instance,
                "MemoryPerInstance {} cannot hold the ABI's largest buffer ({largest_buffer})",
                limits.memory_per_instance
            );
            assert!(
                T::RefTimePerGas::get() > 0,
                "RefTimePerGas must be positive"
            );
            assert!(
                T::MaxBasicBlockLen::get() > 0,
                "MaxBasicBlockLen must be positive"
            );
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Stores `code` (validated) and holds its deposit on the origin. Uploading code
        /// that is already stored fails with nothing charged but the fee.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::upload_code(code.len() as u32))]
        pub fn upload_code(
            origin: OriginFor<T>,
            code: Vec<u8>,
            #[pallet::compact] storage_deposit_limit: BalanceOf<T>,
        ) -> DispatchResult {
            let origin = ensure_signed(origin)?;
            Self::store_code(&origin, code, storage_deposit_limit).map(drop)
        }

        /// Removes unused code and releases its deposit to the uploader.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::remove_code())]
        pub fn remove_code(origin: OriginFor<T>, code_hash: H256) -> DispatchResult {
            let origin = ensure_signed(origin)?;
            let info = CodeInfoOf::<T>::get(code_hash).ok_or(Error::<T>::CodeNotFound)?;
            ensure!(info.owner == origin, Error::<T>::NotCodeOwner);
            ensure!(info.refcount == 0, Error::<T>::CodeInUse);
            T::Currency::release(
                &HoldReason::CodeUploadDepositReserve.into(),
                &origin,
                info.deposit,
                Precision::BestEffort,
            )?;
            CodeInfoOf::<T>::remove(code_hash);
            PristineCode::<T>::remove(code_hash);
            Self::deposit_event(Event::CodeRemoved {
                code_hash,
                deposit_released: info.deposit,
                remover: origin,
            });
            Ok(())
        }

        /// Uploads `code` (unless stored already) and instantiates it; the code's deposit
        /// counts against `storage_deposit_limit` too.
        #[pallet::call_index(2)]
        #[pallet::weight(
            T::WeightInfo::upload_code(code.len() as u32)
                .saturating_add(T::WeightInfo::instantiate(data.len() as u32))
                .saturating_add(*weight_limit)
        )]
        pub fn instantiate_with_code(
            origin: OriginFor<T>,
            #[pallet::compact] value: BalanceOf<T>,
            weight_limit: Weight,
            #[pallet::compact] storage_deposit_limit: BalanceOf<T>,
            code: Vec<u8>,
            data: Vec<u8>,
            salt: Vec<u8>,
        ) -> DispatchResultWithPostInfo {
            let origin = ensure_signed(origin)?;
            let code_len = code.len() as u32;
            let base = T::WeightInfo::upload_code(code_len)
                .saturating_add(T::WeightInfo::instantiate(data.len() as u32));
            let code_hash = H256(sp_io::hashing::blake2_256(&code));
            let mut deposit_left = storage_deposit_limit;
            if !CodeInfoOf::<T>::contains_key(code_hash) {
                let deposit = Self::store_code(&origin, code, storage_deposit_limit)
                    .map_err(|error| with_weight(error, base))?;
                deposit_left = deposit_left.saturating_sub(deposit);
            }
            let result = exec::instantiate::<T>(
                origin,
                code_hash,
                value,
                weight_limit,
                deposit_left,
                data,
                salt,
            );
            into_post_dispatch::<T>(base, result.map_outcome(|outcome| outcome.reverted))
        }

        /// Instantiates stored code: a new contract account derived from the origin, the
        /// code hash and `salt`, funded with `value`, running `deploy` with `data`.
        ///
        /// The origin pays the new account's existential deposit and the deposit for the
        /// contract and its storage; `storage_deposit_limit` bounds both together.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::instantiate(data.len() as u32).saturating_add(*weight_limit))]
        pub fn instantiate(
            origin: OriginFor<T>,
            #[pallet::compact] value: BalanceOf<T>,
            weight_limit: Weight,
            #[pallet::compact] storage_deposit_limit: BalanceOf<T>,
            code_hash: H256,
            data: Vec<u8>,
            salt: Vec<u8>,
        ) -> DispatchResultWithPostInfo {
            let origin = ensure_signed(origin)?;
            let base = T::WeightInfo::instantiate(data.len() as u32);
            let result = exec::instantiate::<T>(
                origin,
                code_hash,
                value,
                weight_limit,
                storage_deposit_limit,
                data,
                salt,
            );
            into_post_dispatch::<T>(base, result.map_outcome(|outcome| outcome.reverted))
        }

        /// Calls a contract's `call` export with `data`, sending `value`.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::call(data.len() as u32).saturating_add(*weight_limit))]
        pub fn call(
            origin: OriginFor<T>,
            dest: T::AccountId,
            #[pallet::compact] value: BalanceOf<T>,
            weight_limit: Weight,
            #[pallet::compact] storage_deposit_limit: BalanceOf<T>,
            data: Vec<u8>,
        ) -> DispatchResultWithPostInfo {
            let origin = ensure_signed(origin)?;
            let base = T::WeightInfo::call(data.len() as u32);
            let result = exec::call::<T>(
                origin,
                dest,
                value,
                weight_limit,
                storage_deposit_limit,
                data,
            );
            into_post_dispatch::<T>(base, result.map_outcome(|outcome| outcome.reverted))
        }
    }

    fn with_weight(error: DispatchError, weight: Weight) -> DispatchErrorWithPostInfo {
        DispatchErrorWithPostInfo {
            post_info: PostDispatchInfo {
                actual_weight: Some(weight),
                pays_fee: Pays::Yes,
            },
            error,
        }
    }

    /// The extrinsic's result: its base weight plus what the contract consumed; a
    /// contract that reverted fails the extrinsic with `ContractReverted`.
    fn into_post_dispatch<T: Config>(
        base: Weight,
        reverted: crate::ExecResult<bool>,
    ) -> DispatchResultWithPostInfo {
        let actual_weight = base.saturating_add(reverted.weight_consumed);
        match reverted.result {
            Ok(false) => Ok(PostDispatchInfo {
                actual_weight: Some(actual_weight),
                pays_fee: Pays::Yes,
            }),
            Ok(true) => Err(with_weight(
                Error::<T>::ContractReverted.into(),
                actual_weight,
            )),
            Err(error) => Err(with_weight(error, actual_weight)),
        }
    }

    impl<T: Config> Pallet<T> {
        /// Validates `code` as `upload_code` would, with the figures of any refusal.
        pub fn validate_code(code: &[u8]) -> Result<validation::ValidatedCode, ValidationError> {
            validation::validate(code, &Self::engine_limits(), T::MaxBasicBlockLen::get())
        }

        /// The consensus limits the engine runs contracts under, from the runtime's
        /// constants: passed with every compile and instantiate.
        pub fn engine_limits() -> EngineLimits {
            EngineLimits {
                memory_per_instance: T::MemoryPerInstance::get(),
                max_instances: T::MaxCallDepth::get(),
                max_code_len: T::MaxCodeLen::get(),
                cost_table: T::CostTableVersion::get(),
            }
        }

        /// The deposit for storing `len` bytes of code.
        pub fn code_deposit(len: u32) -> BalanceOf<T> {
            T::DepositPerItem::get()
                .saturating_add(T::DepositPerByte::get().saturating_mul(len.into()))
        }

        /// Validates and stores code, holding its deposit on `owner`; returns the deposit.
        /// Code that is stored already is refused before it is validated again: hashing
        /// and one read are all a repeated upload costs the node.
        pub(crate) fn store_code(
            owner: &T::AccountId,
            code: Vec<u8>,
            storage_deposit_limit: BalanceOf<T>,
        ) -> Result<BalanceOf<T>, DispatchError> {
            let code_hash = H256(sp_io::hashing::blake2_256(&code));
            ensure!(
                !CodeInfoOf::<T>::contains_key(code_hash),
                Error::<T>::CodeAlreadyExists
            );
            let validated = Self::validate_code(&code).map_err(|error| {
                log::debug!(target: LOG_TARGET, "code refused: {error}");
                Error::<T>::from(error)
            })?;
            let deposit = Self::code_deposit(validated.code_len);
            ensure!(
                deposit <= storage_deposit_limit,
                Error::<T>::StorageDepositLimitExhausted
            );
            T::Currency::hold(&HoldReason::CodeUploadDepositReserve.into(), owner, deposit)
                .map_err(|_| Error::<T>::StorageDepositNotEnoughFunds)?;
            let code: CodeVec<T> = code.try_into().map_err(|_| Error::<T>::CodeTooLarge)?;
            PristineCode::<T>::insert(code_hash, code);
            CodeInfoOf::<T>::insert(
                code_hash,
                CodeInfo {
                    owner: owner.clone(),
                    deposit,
                    refcount: 0,
                    code_len: validated.code_len,
                    blob_version: validated.blob_version,
                },
            );
            Self::deposit_event(Event::CodeStored {
                code_hash,
                deposit,
                uploader: owner.clone(),
            });
            Ok(deposit)
        }

        /// Calls a contract without an extrinsic (dry runs, tests): the outcome with its
        /// output, gas and weight. State changes persist unless the caller wraps this in
        /// a transaction it rolls back.
        pub fn bare_call(
            origin: T::AccountId,
            dest: T::AccountId,
            value: BalanceOf<T>,
            weight_limit: Weight,
            storage_deposit_limit: BalanceOf<T>,
            data: Vec<u8>,
        ) -> crate::ExecResult<crate::CallOutcome> {
            exec::call::<T>(
                origin,
                dest,
                value,
                weight_limit,
                storage_deposit_limit,
                data,
            )
        }

        /// Instantiates stored code without an extrinsic (dry runs, tests).
        pub fn bare_instantiate(
            origin: T::AccountId,
            code_hash: H256,
            value: BalanceOf<T>,
            weight_limit: Weight,
            storage_deposit_limit: BalanceOf<T>,
            data: Vec<u8>,
            salt: Vec<u8>,
        ) -> crate::ExecResult<crate::InstantiateOutcome> {
            exec::instantiate::<T>(
                origin,
                code_hash,
                value,
                weight_limit,
                storage_deposit_limit,
                data,
                salt,
            )
        }

        /// The address a contract instantiated by `deployer` from `code_hash` with `salt`
        /// gets.
        pub fn contract_address(
            deployer: &T::AccountId,
            code_hash: &H256,
            salt: &[u8],
        ) -> T::AccountId {
            let preimage = (b"pvm:contract", deployer, code_hash, salt).encode();
            AccountId32::new(sp_io::hashing::blake2_256(&preimage))
        }

        /// Reads a contract's storage value.
        pub fn get_storage(contract: &T::AccountId, key: &[u8]) -> Option<Vec<u8>> {
            let key: StorageKey = key.to_vec().try_into().ok()?;
            ContractStorage::<T>::get(contract, key).map(|value| value.into_inner())
        }
    }

    pub(crate) const LOG_TARGET: &str = "runtime::pvm";
}
