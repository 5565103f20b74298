//! A runtime with `pallet-pvm`, built to wasm: System, Timestamp, Balances,
//! TransactionPayment and Pvm, with the runtime APIs a node needs (the dev node in `node/`
//! runs it) and pallet-pvm's dry-run API.
//!
//! Two wasm variants are built (the `std` build embeds both):
//! - [`WASM_BINARY`]: contracts run on the node's native engine (`NativeEngine`), through
//!   `pvm_host_functions::HostFunctions`, which the node's executor must provide;
//! - [`in_runtime_engine::WASM_BINARY`]: contracts run on pvm-core's interpreter inside the
//!   runtime (`InRuntimeEngine`, the `in-runtime-engine` feature); the blob imports no pvm
//!   host function and runs on any node.
//!
//! Both charge the same gas and weight, so they reach the same state on the same blocks
//! (the wasm-executor tests in `runtime/tests/` check it).

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime!` and `impl_runtime_apis!` expand deeply.
#![recursion_limit = "256"]

extern crate alloc;

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

/// The variant whose contracts run inside the runtime (`InRuntimeEngine`).
#[cfg(feature = "std")]
pub mod in_runtime_engine {
    include!(concat!(
        env!("OUT_DIR"),
        "/wasm_binary_in_runtime_engine.rs"
    ));
}

pub mod genesis;

use alloc::{borrow::Cow, vec::Vec};
use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    genesis_builder_helper::{build_state, get_preset},
    parameter_types,
    traits::{ConstU16, ConstU32, ConstU64, ConstU8},
    weights::{
        constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
        ConstantMultiplier, IdentityFee, Weight,
    },
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_api::impl_runtime_apis;
use sp_core::OpaqueMetadata;
use sp_runtime::{
    generic,
    traits::{BlakeTwo256, Block as BlockT, IdentifyAccount, Verify},
    transaction_validity::{TransactionSource, TransactionValidity},
    ApplyExtrinsicResult, ExtrinsicInclusionMode, MultiAddress, MultiSignature, Perbill,
};
use sp_version::RuntimeVersion;

/// How extrinsics are signed.
pub type Signature = MultiSignature;
/// An account: the public key behind a [`Signature`] (32 bytes, as pallet-pvm requires).
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balances.
pub type Balance = u128;
/// Transactions an account has sent.
pub type Nonce = u32;
/// Block numbers.
pub type BlockNumber = u32;
/// Block and state hashes.
pub type Hash = sp_core::H256;
/// How an extrinsic names its sender.
pub type Address = MultiAddress<AccountId, ()>;
/// Block headers.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Blocks.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// The checks every signed extrinsic carries.
pub type TxExtension = (
    frame_system::CheckNonZeroSender<Runtime>,
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
    pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);
/// Extrinsics as they arrive.
pub type UncheckedExtrinsic =
    generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// What a signed extrinsic's signature covers.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;
/// Dispatches extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
>;
/// Event records, as the dry-run API returns them.
pub type EventRecord = frame_system::EventRecord<RuntimeEvent, Hash>;

/// The runtime's version.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
    spec_name: Cow::Borrowed("pvm-dev"),
    impl_name: Cow::Borrowed("pvm-dev"),
    authoring_version: 1,
    spec_version: 1,
    impl_version: 1,
    apis: RUNTIME_API_VERSIONS,
    transaction_version: 1,
    system_version: 1,
};

frame_support::construct_runtime!(
    pub enum Runtime {
        System: frame_system,
        Timestamp: pallet_timestamp,
        Balances: pallet_balances,
        TransactionPayment: pallet_transaction_payment,
        Pvm: pallet_pvm,
    }
);

/// 75% of a block is for normal extrinsics, the rest for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// One unit of balance, as wallets show it.
pub const UNIT: Balance = 1_000_000_000_000;
/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = UNIT / 1_000;

parameter_types! {
    /// The runtime's version, for frame-system.
    pub const Version: RuntimeVersion = VERSION;
    /// Two seconds of `ref_time` and 5 MiB of proof per block: proof size is charged as
    /// a parachain would have to.
    pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
        Weight::from_parts(2 * WEIGHT_REF_TIME_PER_SECOND, 5 * 1024 * 1024),
        NORMAL_DISPATCH_RATIO,
    );
    /// 5 MiB blocks, 75% of them for normal extrinsics.
    pub RuntimeBlockLength: BlockLength = BlockLength::builder()
        .max_length(5 * 1024 * 1024)
        .modify_max_length_for_class(DispatchClass::Normal, |max| {
            *max = NORMAL_DISPATCH_RATIO * *max
        })
        .build();
    /// See [`EXISTENTIAL_DEPOSIT`].
    pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
    /// Deposit per byte of contract code or storage.
    pub const DepositPerByte: Balance = UNIT / 100_000;
    /// Deposit per stored item (a code blob, a contract, a storage entry).
    pub const DepositPerItem: Balance = UNIT / 1_000;
    /// Fee per byte of an extrinsic: a megabyte costs one unit.
    pub const TransactionByteFee: Balance = UNIT / 1_000_000;
    /// Fees do not follow congestion on a dev chain: the same call always costs the same,
    /// so tests can compute it.
    pub FeeMultiplier: Multiplier = Multiplier::from_u32(1);
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = Block;
    type Version = Version;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type AccountData = pallet_balances::AccountData<Balance>;
    type Nonce = Nonce;
    type Hash = Hash;
    type DbWeight = ParityDbWeight;
    type SS58Prefix = ConstU16<42>;
    type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
    type Moment = u64;
    type OnTimestampSet = ();
    type MinimumPeriod = ConstU64<1>;
    type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
    type Balance = Balance;
    type DustRemoval = ();
    type RuntimeEvent = RuntimeEvent;
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
    type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
    type MaxLocks = ConstU32<50>;
    type MaxReserves = ConstU32<50>;
    type ReserveIdentifier = [u8; 8];
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxFreezes = ConstU32<0>;
    type DoneSlashHandler = ();
}

/// Fees: one unit of balance per second of `ref_time` ([`IdentityFee`]: [`UNIT`] is
/// `WEIGHT_REF_TIME_PER_SECOND`), plus [`TransactionByteFee`] per byte, withdrawn from the
/// signer before dispatch and the unused part of the declared weight refunded after it (so a
/// contract call pays for the gas it used, not for its limit). Fees are burnt: no author to
/// pay them to on a dev chain.
impl pallet_transaction_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type OnChargeTransaction = FungibleAdapter<Balances, ()>;
    type OperationalFeeMultiplier = ConstU8<5>;
    type WeightToFee = IdentityFee<Balance>;
    type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
    type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
    type WeightInfo = ();
}

/// Where this variant runs contracts.
#[cfg(not(feature = "in-runtime-engine"))]
pub type ContractEngine = pallet_pvm::NativeEngine;
/// Where this variant runs contracts.
#[cfg(feature = "in-runtime-engine")]
pub type ContractEngine = pallet_pvm::InRuntimeEngine;

impl pallet_pvm::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Time = Timestamp;
    type Engine = ContractEngine;
    type WeightInfo = pallet_pvm::weights::SubstrateWeight<Runtime>;
    type MaxCodeLen = ConstU32<{ 128 * 1024 }>;
    type MaxBasicBlockLen = ConstU32<1024>;
    type MemoryPerInstance = ConstU64<{ 16 << 20 }>;
    type MaxCallDepth = ConstU32<8>;
    type CostTableVersion = ConstU32<{ pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION }>;
    type DepositPerByte = DepositPerByte;
    type DepositPerItem = DepositPerItem;
    type RefTimePerGas = ConstU64<REF_TIME_PER_GAS>;
}

/// `ref_time` per gas of the default (interpreter-shaped) table: the largest of its engines' figures. The
/// native-engine variant's nodes may run the interpreter or the JIT (node configuration,
/// which must not change weight), and both variants of this runtime charge the same weight
/// for the same call (`tests/tests/executor.rs` holds them to identical transcripts), so
/// both take the slowest engine's figure; a runtime that only ever runs one engine takes
/// that engine's (`pallet_pvm::gas::RECOMMENDED_REF_TIME_PER_GAS`).
const REF_TIME_PER_GAS: u64 = {
    let ps = pallet_pvm::gas::RECOMMENDED_REF_TIME_PER_GAS;
    let mut max = ps.interpreter;
    if ps.jit > max {
        max = ps.jit;
    }
    if ps.in_runtime > max {
        max = ps.in_runtime;
    }
    max
};

#[cfg(feature = "runtime-benchmarks")]
mod benches {
    frame_benchmarking::define_benchmarks!([pallet_pvm, Pvm]);
}

impl_runtime_apis! {
    impl sp_api::Core<Block> for Runtime {
        fn version() -> RuntimeVersion {
            VERSION
        }

        fn execute_block(block: <Block as BlockT>::LazyBlock) {
            Executive::execute_block(block)
        }

        fn initialize_block(header: &<Block as BlockT>::Header) -> ExtrinsicInclusionMode {
            Executive::initialize_block(header)
        }
    }

    impl sp_api::Metadata<Block> for Runtime {
        fn metadata() -> OpaqueMetadata {
            OpaqueMetadata::new(Runtime::metadata().into())
        }

        fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
            Runtime::metadata_at_version(version)
        }

        fn metadata_versions() -> Vec<u32> {
            Runtime::metadata_versions()
        }
    }

    impl sp_block_builder::BlockBuilder<Block> for Runtime {
        fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
            Executive::apply_extrinsic(extrinsic)
        }

        fn finalize_block() -> <Block as BlockT>::Header {
            Executive::finalize_block()
        }

        fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
            data.create_extrinsics()
        }

        fn check_inherents(
            block: <Block as BlockT>::LazyBlock,
            data: sp_inherents::InherentData,
        ) -> sp_inherents::CheckInherentsResult {
            data.check_extrinsics(&block)
        }
    }

    impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
        fn validate_transaction(
            source: TransactionSource,
            tx: <Block as BlockT>::Extrinsic,
            block_hash: <Block as BlockT>::Hash,
        ) -> TransactionValidity {
            Executive::validate_transaction(source, tx, block_hash)
        }
    }

    impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
        fn offchain_worker(header: &<Block as BlockT>::Header) {
            Executive::offchain_worker(header)
        }
    }

    impl sp_session::SessionKeys<Block> for Runtime {
        fn generate_session_keys(
            _owner: Vec<u8>,
            _seed: Option<Vec<u8>>,
        ) -> sp_session::OpaqueGeneratedSessionKeys {
            // No session keys: blocks are sealed by the dev node, not by validators.
            Default::default()
        }

        fn decode_session_keys(_encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, sp_core::crypto::KeyTypeId)>> {
            None
        }
    }

    impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
        fn account_nonce(account: AccountId) -> Nonce {
            System::account_nonce(account)
        }
    }

    impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
        fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
            build_state::<RuntimeGenesisConfig>(config)
        }

        fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
            get_preset::<RuntimeGenesisConfig>(id, genesis::preset)
        }

        fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
            genesis::preset_names()
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
        fn query_info(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_info(uxt, len)
        }

        fn query_fee_details(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_fee_details(uxt, len)
        }

        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }

        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl pallet_pvm::runtime_api::PvmApi<Block, AccountId, Balance, EventRecord> for Runtime {
        fn call(
            origin: AccountId,
            dest: AccountId,
            value: Balance,
            weight_limit: Option<Weight>,
            storage_deposit_limit: Option<Balance>,
            input: Vec<u8>,
        ) -> pallet_pvm::runtime_api::ContractResult<pallet_pvm::CallOutcome, Balance, EventRecord> {
            Pvm::dry_run_call(origin, dest, value, weight_limit, storage_deposit_limit, input)
        }

        fn instantiate(
            origin: AccountId,
            value: Balance,
            weight_limit: Option<Weight>,
            storage_deposit_limit: Option<Balance>,
            code: pallet_pvm::runtime_api::Code,
            data: Vec<u8>,
            salt: Vec<u8>,
        ) -> pallet_pvm::runtime_api::ContractResult<pallet_pvm::InstantiateOutcome, Balance, EventRecord> {
            Pvm::dry_run_instantiate(origin, value, weight_limit, storage_deposit_limit, code, data, salt)
        }

        fn upload_code(
            origin: AccountId,
            code: Vec<u8>,
            storage_deposit_limit: Option<Balance>,
        ) -> Result<pallet_pvm::runtime_api::UploadResult<Balance>, sp_runtime::DispatchError> {
            Pvm::dry_run_upload(origin, code, storage_deposit_limit)
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    impl frame_benchmarking::Benchmark<Block> for Runtime {
        fn benchmark_metadata(
            extra: bool,
        ) -> (
            Vec<frame_benchmarking::BenchmarkList>,
            Vec<frame_support::traits::StorageInfo>,
        ) {
            use frame_benchmarking::BenchmarkList;
            use frame_support::traits::StorageInfoTrait;
            let mut list = Vec::<BenchmarkList>::new();
            list_benchmarks!(list, extra);
            (list, AllPalletsWithSystem::storage_info())
        }

        fn dispatch_benchmark(
            config: frame_benchmarking::BenchmarkConfig,
        ) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
            use frame_benchmarking::BenchmarkBatch;
            use frame_support::traits::{TrackedStorageKey, WhitelistedStorageKeys};
            let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
            let mut batches = Vec::<BenchmarkBatch>::new();
            let params = (&config, &whitelist);
            add_benchmarks!(params, batches);
            Ok(batches)
        }
    }
}

/// The share of a block normal extrinsics may fill, for callers sizing blocks.
pub fn normal_dispatch_ratio() -> Perbill {
    NORMAL_DISPATCH_RATIO
}

/// The most weight one normal extrinsic may use.
pub fn max_extrinsic_weight() -> Weight {
    RuntimeBlockWeights::get()
        .get(DispatchClass::Normal)
        .max_extrinsic
        .unwrap_or_else(|| RuntimeBlockWeights::get().max_block)
}
