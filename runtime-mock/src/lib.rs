//! A test runtime with `pallet-pvm`: System, Balances, Timestamp and the pallet in
//! `construct_runtime!`, externalities with the native engine registered, and helpers to
//! upload, instantiate and call contracts. Tests, benchmarks and the demo use it.
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
    type CostTableVersion = ConstU32<{ pallet_pvm::weights::DEFAULT_COST_TABLE_VERSION }>;
    type DepositPerByte = DepositPerByte;
    type DepositPerItem = DepositPerItem;
    // The mock engine is pvm-core natively, on the interpreter.
    type RefTimePerGas =
        ConstU64<{ pallet_pvm::weights::RECOMMENDED_REF_TIME_PER_GAS.interpreter }>;
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
