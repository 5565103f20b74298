//! A test runtime with `pallet-pvm`: System, Balances, Timestamp and the pallet in
//! `construct_runtime!`, the pallet's dry-run runtime API (`PvmApi`, reached by name through
//! [`api::dispatch`] as a node's `state_call` reaches it), externalities with the native
//! engine registered, and helpers to upload, instantiate and call contracts. Tests,
//! benchmarks and the demo use it.
//!
//! ```
//! use pvm_runtime_mock::*;
//! new_test_ext().execute_with(|| {
//!     let code_hash = upload(&ALICE, pvm_contracts_examples::FLIPPER).unwrap();
//!     let flipper = instantiate(&ALICE, code_hash, &[1], &[]).unwrap();
//!     assert_eq!(call(&ALICE, &flipper, &[1]).unwrap(), vec![1]);
//! });
//! ```

#![deny(missing_docs)]

use core::cell::Cell;
use frame_support::{
    derive_impl,
    dispatch::DispatchResultWithPostInfo,
    traits::{ConstU32, ConstU64},
    weights::Weight,
};
use pallet_pvm::{InRuntimeEngine, NativeEngine};
use pvm_host_functions::{
    Compiled, Engine, EngineLimits, HostError, InstanceId, ModuleId, RunOutcome,
};
use sp_core::H256;
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage, DispatchError};
use std::time::{Duration, Instant};

/// Balances are `u128`.
pub type Balance = u128;

type Block = frame_system::mocking::MockBlock<Runtime>;

// The runtime and its aggregate types are generated; their items carry no docs of their own.
#[allow(missing_docs)]
mod runtime {
    frame_support::construct_runtime!(
        pub enum Runtime {
            System: frame_system,
            Balances: pallet_balances,
            Timestamp: pallet_timestamp,
            Pvm: pallet_pvm,
        }
    );
}
pub use runtime::*;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = Block;
    type AccountId = AccountId32;
    type Lookup = IdentityLookup<AccountId32>;
    type AccountData = pallet_balances::AccountData<Balance>;
}

/// The existential deposit.
pub const EXISTENTIAL_DEPOSIT: Balance = 1_000;

frame_support::parameter_types! {
    /// See [`EXISTENTIAL_DEPOSIT`].
    pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
    /// Deposit per byte of code or storage.
    pub const DepositPerByte: Balance = 10;
    /// Deposit per stored item.
    pub const DepositPerItem: Balance = 1_000;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Runtime {
    type Balance = Balance;
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
}

#[derive_impl(pallet_timestamp::config_preludes::TestDefaultConfig)]
impl pallet_timestamp::Config for Runtime {}

impl pallet_pvm::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Time = Timestamp;
    type Engine = MockEngine;
    type WeightInfo = pallet_pvm::weights::SubstrateWeight<Runtime>;
    type MaxCodeLen = ConstU32<{ 128 * 1024 }>;
    type MaxBasicBlockLen = ConstU32<1024>;
    type MemoryPerInstance = ConstU64<{ 16 << 20 }>;
    type MaxCallDepth = ConstU32<8>;
    type CostTableVersion = ConstU32<{ pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION }>;
    type DepositPerByte = DepositPerByte;
    type DepositPerItem = DepositPerItem;
    // The mock engine is pvm-core natively, on the interpreter.
    type RefTimePerGas = ConstU64<{ pallet_pvm::gas::RECOMMENDED_REF_TIME_PER_GAS.interpreter }>;
}

/// Event records, as the dry-run API returns them.
pub type EventRecord = frame_system::EventRecord<RuntimeEvent, H256>;

/// What a dry run of a call reports.
pub type CallDryRun =
    pallet_pvm::runtime_api::ContractResult<pallet_pvm::CallOutcome, Balance, EventRecord>;

/// What a dry run of an instantiation reports.
pub type InstantiateDryRun =
    pallet_pvm::runtime_api::ContractResult<pallet_pvm::InstantiateOutcome, Balance, EventRecord>;

// The generated API glue carries no docs of its own.
#[allow(missing_docs)]
mod apis {
    use super::*;
    use pallet_pvm::runtime_api::{Code, ContractResult, UploadResult};
    use pallet_pvm::{CallOutcome, InstantiateOutcome};

    /// The mock's version, for `Core`.
    pub const VERSION: sp_version::RuntimeVersion = sp_version::RuntimeVersion {
        spec_name: std::borrow::Cow::Borrowed("pvm-mock"),
        impl_name: std::borrow::Cow::Borrowed("pvm-mock"),
        authoring_version: 1,
        spec_version: 1,
        impl_version: 1,
        apis: RUNTIME_API_VERSIONS,
        transaction_version: 1,
        system_version: 1,
    };

    sp_api::impl_runtime_apis! {
        // Required beside any API. The mock builds no blocks: tests drive it through
        // externalities, `pvm-runtime` is the runtime that imports blocks.
        impl sp_api::Core<Block> for Runtime {
            fn version() -> sp_version::RuntimeVersion {
                VERSION
            }

            fn execute_block(_block: <Block as sp_runtime::traits::Block>::LazyBlock) {
                panic!("the mock runtime imports no blocks; pvm-runtime does");
            }

            fn initialize_block(
                header: &<Block as sp_runtime::traits::Block>::Header,
            ) -> sp_runtime::ExtrinsicInclusionMode {
                use sp_runtime::traits::Header as _;
                System::initialize(header.number(), header.parent_hash(), header.digest());
                sp_runtime::ExtrinsicInclusionMode::AllExtrinsics
            }
        }

        impl pallet_pvm::runtime_api::PvmApi<Block, AccountId32, Balance, EventRecord> for Runtime {
            fn call(
                origin: AccountId32,
                dest: AccountId32,
                value: Balance,
                weight_limit: Option<Weight>,
                storage_deposit_limit: Option<Balance>,
                input: Vec<u8>,
            ) -> ContractResult<CallOutcome, Balance, EventRecord> {
                Pvm::dry_run_call(origin, dest, value, weight_limit, storage_deposit_limit, input)
            }

            fn instantiate(
                origin: AccountId32,
                value: Balance,
                weight_limit: Option<Weight>,
                storage_deposit_limit: Option<Balance>,
                code: Code,
                data: Vec<u8>,
                salt: Vec<u8>,
            ) -> ContractResult<InstantiateOutcome, Balance, EventRecord> {
                Pvm::dry_run_instantiate(origin, value, weight_limit, storage_deposit_limit, code, data, salt)
            }

            fn upload_code(
                origin: AccountId32,
                code: Vec<u8>,
                storage_deposit_limit: Option<Balance>,
            ) -> Result<UploadResult<Balance>, DispatchError> {
                Pvm::dry_run_upload(origin, code, storage_deposit_limit)
            }
        }
    }
}
pub use apis::{api, RUNTIME_API_VERSIONS, VERSION};

/// Calls runtime-API `method` (`"PvmApi_call"`, `"PvmApi_instantiate"`,
/// `"PvmApi_upload_code"`) with SCALE-encoded arguments, as a node's `state_call` does, and
/// discards every change it made: a dry run, as a wallet asks for one. Call it inside
/// externalities.
pub fn dry_run_api(method: &str, arguments: &[u8]) -> Vec<u8> {
    frame_support::storage::with_transaction(|| {
        let output = api::dispatch(method, arguments)
            .unwrap_or_else(|| panic!("the mock runtime has no API method {method}"));
        frame_support::storage::TransactionOutcome::Rollback(Ok::<_, DispatchError>(output))
    })
    .expect("a rolled-back transaction returns its output")
}

/// A dry run of `call` through the runtime API ([`dry_run_api`]), as `origin` sending
/// `value`; `None` limits are the most an extrinsic may use.
pub fn dry_run_call(
    origin: &AccountId32,
    dest: &AccountId32,
    value: Balance,
    limits: (Option<Weight>, Option<Balance>),
    input: &[u8],
) -> CallDryRun {
    use codec::{Decode, Encode};
    let arguments = (origin, dest, value, limits.0, limits.1, input).encode();
    CallDryRun::decode(&mut &dry_run_api("PvmApi_call", &arguments)[..])
        .expect("PvmApi_call returns a ContractResult")
}

thread_local! {
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
    /// Time spent inside engine calls, while [`measure_engine_time`] runs.
    static ENGINE_TIME: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// Runs `f` and returns, with its result, the time spent inside the engine's calls
/// (compile, instantiate, run, memory access, destroy) during it: the engine's share of an
/// extrinsic, for benchmarks.
pub fn measure_engine_time<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    ENGINE_TIME.with(|time| time.set(Some(Duration::ZERO)));
    let result = f();
    let spent = ENGINE_TIME.with(|time| time.take()).unwrap_or_default();
    (result, spent)
}

/// Runs `f` with contracts executed by the runtime's own interpreter
/// ([`InRuntimeEngine`]) instead of the native engine, to show both agree.
pub fn with_in_runtime_engine<R>(f: impl FnOnce() -> R) -> R {
    IN_RUNTIME.with(|flag| flag.set(true));
    let result = f();
    IN_RUNTIME.with(|flag| flag.set(false));
    result
}

/// The mock's engine: the native one through the host functions, or (inside
/// [`with_in_runtime_engine`]) the in-runtime interpreter; either timed while
/// [`measure_engine_time`] runs.
pub enum MockEngine {
    /// Through `pvm-host-functions`.
    Native(NativeEngine),
    /// Inside the runtime.
    InRuntime(Box<InRuntimeEngine>),
}

impl Default for MockEngine {
    fn default() -> Self {
        if IN_RUNTIME.with(Cell::get) {
            MockEngine::InRuntime(Box::default())
        } else {
            MockEngine::Native(NativeEngine::default())
        }
    }
}

impl MockEngine {
    /// Runs `call` on the engine in use, adding its time to the engine time being measured.
    fn timed<R>(&mut self, call: impl FnOnce(&mut dyn Engine) -> R) -> R {
        let start = ENGINE_TIME.with(Cell::get).is_some().then(Instant::now);
        let result = match self {
            MockEngine::Native(engine) => call(engine),
            MockEngine::InRuntime(engine) => call(&mut **engine),
        };
        if let Some(start) = start {
            let spent = start.elapsed();
            ENGINE_TIME.with(|time| time.set(time.get().map(|total| total + spent)));
        }
        result
    }
}

impl Engine for MockEngine {
    fn compile(
        &mut self,
        code: &[u8],
        cache_key: Option<[u8; 32]>,
        limits: &EngineLimits,
    ) -> Result<Compiled, HostError> {
        self.timed(|engine| engine.compile(code, cache_key, limits))
    }
    fn instantiate(
        &mut self,
        module: ModuleId,
        limits: &EngineLimits,
    ) -> Result<InstanceId, HostError> {
        self.timed(|engine| engine.instantiate(module, limits))
    }
    fn prepare_call(&mut self, instance: InstanceId, symbol: &[u8]) -> Result<(), HostError> {
        self.timed(|engine| engine.prepare_call(instance, symbol))
    }
    fn run(&mut self, instance: InstanceId, gas: u64, a0: u64) -> Result<RunOutcome, HostError> {
        self.timed(|engine| engine.run(instance, gas, a0))
    }
    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError> {
        self.timed(|engine| engine.read_memory(instance, address, out))
    }
    fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        self.timed(|engine| engine.write_memory(instance, address, data))
    }
    fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError> {
        self.timed(|engine| engine.destroy(instance))
    }
}

/// Endowed test account.
pub const ALICE: AccountId32 = AccountId32::new([1; 32]);
/// Endowed test account.
pub const BOB: AccountId32 = AccountId32::new([2; 32]);
/// Endowed test account.
pub const CHARLIE: AccountId32 = AccountId32::new([3; 32]);
/// What each test account starts with.
pub const INITIAL_BALANCE: Balance = 1_000_000_000_000;
/// The weight limit the helpers give a call: generous, far below a block.
pub const GAS_LIMIT: Weight = Weight::from_parts(500_000_000_000, 1 << 20);
/// The storage deposit limit the helpers give a call.
pub const DEPOSIT_LIMIT: Balance = 1_000_000_000;
/// The timestamp of block 1, in milliseconds.
pub const GENESIS_TIMESTAMP: u64 = 1_700_000_000_000;

/// Externalities with the test accounts endowed, block 1 at [`GENESIS_TIMESTAMP`], and
/// the native engine extension (interpreter backend, default limits) registered.
pub fn new_test_ext() -> sp_io::TestExternalities {
    new_test_ext_with_backend(pvm_core::BackendKind::Interpreter)
}

/// [`new_test_ext`] with the native engine running `backend` (the JIT falls back to the
/// interpreter where it cannot run), the JIT's code in the default sandbox.
pub fn new_test_ext_with_backend(backend: pvm_core::BackendKind) -> sp_io::TestExternalities {
    new_test_ext_with_engine(backend, pvm_core::SandboxConfig::default())
}

/// [`new_test_ext`] with the native engine running `backend`, the JIT's code in the
/// sandbox `sandbox` chooses.
pub fn new_test_ext_with_engine(
    backend: pvm_core::BackendKind,
    sandbox: pvm_core::SandboxConfig,
) -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Runtime>::default()
        .build_storage()
        .expect("the mock genesis builds");
    pallet_balances::GenesisConfig::<Runtime> {
        balances: [ALICE, BOB, CHARLIE]
            .into_iter()
            .map(|account| (account, INITIAL_BALANCE))
            .collect(),
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("the balances genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    let extension = pvm_host_functions::PvmExtension::with_sandbox(
        backend,
        sandbox,
        pvm_host_functions::NodeLimits::default(),
    )
    .expect("every backend is available, falling back to the interpreter");
    ext.register_extension(extension);
    ext.execute_with(|| {
        System::set_block_number(1);
        pallet_timestamp::Now::<Runtime>::put(GENESIS_TIMESTAMP);
    });
    ext
}

/// A signed origin.
pub fn signed(who: &AccountId32) -> RuntimeOrigin {
    RuntimeOrigin::signed(who.clone())
}

/// `upload_code` by `who`; the code's hash.
pub fn upload(who: &AccountId32, code: &[u8]) -> Result<H256, DispatchError> {
    Pvm::upload_code(signed(who), code.to_vec(), DEPOSIT_LIMIT)?;
    Ok(H256(sp_io::hashing::blake2_256(code)))
}

/// `instantiate` by `who` with the default limits; the contract's address.
pub fn instantiate(
    who: &AccountId32,
    code_hash: H256,
    data: &[u8],
    salt: &[u8],
) -> Result<AccountId32, DispatchError> {
    Pvm::instantiate(
        signed(who),
        0,
        GAS_LIMIT,
        DEPOSIT_LIMIT,
        code_hash,
        data.to_vec(),
        salt.to_vec(),
    )
    .map_err(|error| error.error)?;
    Ok(Pvm::contract_address(who, &code_hash, salt))
}

/// A `call` extrinsic by `who` with the default limits.
pub fn call_extrinsic(
    who: &AccountId32,
    contract: &AccountId32,
    data: &[u8],
) -> DispatchResultWithPostInfo {
    Pvm::call(
        signed(who),
        contract.clone(),
        0,
        GAS_LIMIT,
        DEPOSIT_LIMIT,
        data.to_vec(),
    )
}

/// Calls `contract` as `who` through `bare_call`; its output, or the error (a revert is
/// `ContractReverted`).
pub fn call(
    who: &AccountId32,
    contract: &AccountId32,
    data: &[u8],
) -> Result<Vec<u8>, DispatchError> {
    let result = Pvm::bare_call(
        who.clone(),
        contract.clone(),
        0,
        GAS_LIMIT,
        DEPOSIT_LIMIT,
        data.to_vec(),
    );
    match result.result? {
        outcome if outcome.reverted => Err(pallet_pvm::Error::<Runtime>::ContractReverted.into()),
        outcome => Ok(outcome.output),
    }
}

/// The pallet's events so far, oldest first.
pub fn pvm_events() -> Vec<pallet_pvm::Event<Runtime>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Pvm(event) => Some(event),
            _ => None,
        })
        .collect()
}
