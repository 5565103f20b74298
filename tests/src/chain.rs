//! `pvm-runtime`'s chain, executed as a node executes it, for tests and benchmarks: the
//! wasm blob through `sc-executor`'s [`WasmExecutor`] over an in-memory `sp-state-machine`
//! backend (with the pvm host functions and a fresh `PvmExtension` per call, or the
//! in-runtime-engine blob with no pvm host function at all), or the same runtime compiled
//! natively. Blocks are built with the `BlockBuilder` API; dry runs go through `PvmApi`.
//!
//! Every way takes the same calls, SCALE-encoded, by runtime-API method name, so a test can
//! run one scenario three ways and compare the bytes.

use codec::{Decode, Encode};
use pvm_host_functions::{NodeLimits, PvmExtension};
use pvm_runtime::{
    AccountId, EventRecord, Hash, Header, Nonce, RuntimeCall, SignedPayload, TxExtension,
    UncheckedExtrinsic, VERSION,
};
use sc_executor::{WasmExecutionMethod, WasmExecutor};
use sp_core::{
    storage::Storage,
    traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode},
    Pair,
};
use sp_externalities::Extensions;
use sp_keyring::Ed25519Keyring;
use sp_runtime::{
    generic::{Digest, Era},
    traits::{BlakeTwo256, Hash as _, Header as _},
    ApplyExtrinsicResult, MultiAddress, MultiSignature,
};
use sp_state_machine::{InMemoryBackend, OverlayedChanges, StateMachine};
use std::collections::BTreeMap;

/// The host functions a node running this runtime provides: Substrate's and pvm's.
pub type HostFunctions = (
    sp_io::SubstrateHostFunctions,
    pvm_host_functions::HostFunctions,
);

/// How the chain's runtime is executed.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Way {
    /// The runtime compiled for the host, contracts on the native engine (interpreter).
    Native,
    /// The wasm blob with `NativeEngine`, through the executor, with the pvm host functions
    /// and a `PvmExtension` (interpreter backend) registered for every call.
    WasmNativeEngine,
    /// The in-runtime-engine wasm blob through an executor with Substrate's host functions
    /// only: contracts run on the interpreter inside the wasm.
    WasmInRuntimeEngine,
}

impl Way {
    /// Every way.
    pub const ALL: [Way; 3] = [Way::Native, Way::WasmNativeEngine, Way::WasmInRuntimeEngine];

    /// The wasm blob this way executes.
    pub fn wasm(self) -> Option<&'static [u8]> {
        match self {
            Way::Native => None,
            Way::WasmNativeEngine => pvm_runtime::WASM_BINARY,
            Way::WasmInRuntimeEngine => pvm_runtime::in_runtime_engine::WASM_BINARY,
        }
    }
}

enum Executor {
    Native(Box<sp_io::TestExternalities>),
    WithPvm(WasmExecutor<HostFunctions>),
    WithoutPvm(WasmExecutor<sp_io::SubstrateHostFunctions>),
}

/// A chain of this runtime, grown block by block in memory.
pub struct Chain {
    way: Way,
    executor: Executor,
    code: Vec<u8>,
    backend: InMemoryBackend<BlakeTwo256>,
    overlay: OverlayedChanges<BlakeTwo256>,
    node_limits: NodeLimits,
    backend_kind: pvm_core::BackendKind,
    parent_hash: Hash,
    number: u32,
    genesis_hash: Hash,
    nonces: BTreeMap<AccountId, Nonce>,
    /// Milliseconds since the epoch of the block being built.
    now: u64,
}

/// What building a block gave.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlockOutcome {
    /// The finalized header (with the state root).
    pub header: Header,
    /// Each extrinsic's result, the timestamp inherent first.
    pub results: Vec<ApplyExtrinsicResult>,
    /// The block's events.
    pub events: Vec<EventRecord>,
}

/// The storage key of `System::Events`.
fn events_key() -> Vec<u8> {
    let mut key = sp_io::hashing::twox_128(b"System").to_vec();
    key.extend(sp_io::hashing::twox_128(b"Events"));
    key
}

/// The genesis block's timestamp.
pub const GENESIS_TIME: u64 = 1_700_000_000_000;

impl Chain {
    /// A chain at genesis with the development preset (the development accounts endowed),
    /// its genesis state built by the runtime itself through `GenesisBuilder`.
    pub fn new(way: Way) -> Chain {
        Self::with_node(
            way,
            NodeLimits::default(),
            pvm_core::BackendKind::Interpreter,
        )
    }

    /// [`Chain::new`] on a node that allows its engine `node_limits` and runs contracts on
    /// `backend` (for the native-engine ways).
    pub fn with_node(
        way: Way,
        node_limits: NodeLimits,
        backend_kind: pvm_core::BackendKind,
    ) -> Chain {
        let executor = match way {
            Way::Native => Executor::Native(Box::new(native_externalities(Storage::default()))),
            Way::WasmNativeEngine => Executor::WithPvm(
                WasmExecutor::builder()
                    .with_execution_method(WasmExecutionMethod::default())
                    .build(),
            ),
            Way::WasmInRuntimeEngine => Executor::WithoutPvm(
                WasmExecutor::builder()
                    .with_execution_method(WasmExecutionMethod::default())
                    .build(),
            ),
        };
        let code = way.wasm().map(<[u8]>::to_vec).unwrap_or_default();
        let mut chain = Chain {
            way,
            executor,
            code,
            backend: InMemoryBackend::default(),
            overlay: OverlayedChanges::default(),
            node_limits,
            backend_kind,
            parent_hash: Hash::zero(),
            number: 0,
            genesis_hash: Hash::zero(),
            nonces: BTreeMap::new(),
            now: GENESIS_TIME,
        };
        // As a chain-spec builder does: the runtime's default config, patched by the preset.
        let mut get_preset = |id: Option<&str>| -> serde_json::Value {
            let id = id.map(sp_genesis_builder::PresetId::from);
            let json: Option<Vec<u8>> =
                Decode::decode(&mut &chain.call("GenesisBuilder_get_preset", &id.encode())[..])
                    .expect("get_preset returns an optional preset");
            serde_json::from_slice(&json.expect("the runtime has the preset"))
                .expect("presets are JSON")
        };
        let mut config = get_preset(None);
        merge(
            &mut config,
            get_preset(Some(sp_genesis_builder::DEV_RUNTIME_PRESET)),
        );
        let preset = serde_json::to_vec(&config).expect("JSON serializes");
        let built: sp_genesis_builder::Result =
            Decode::decode(&mut &chain.call("GenesisBuilder_build_state", &preset.encode())[..])
                .expect("build_state returns a result");
        built.expect("the development preset builds");
        let storage = chain.take_storage();
        chain.genesis_hash = genesis_header(&storage).hash();
        chain.parent_hash = chain.genesis_hash;
        chain.reset_to(storage);
        chain
    }

    /// The way this chain's runtime runs.
    pub fn way(&self) -> Way {
        self.way
    }

    /// The number of the last block built (0 at genesis).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The state, as storage, taken out of the overlay (at genesis: what `build_state`
    /// wrote).
    fn take_storage(&mut self) -> Storage {
        match &mut self.executor {
            Executor::Native(ext) => {
                let mut storage = Storage::default();
                ext.execute_with(|| {
                    let mut key = Vec::new();
                    while let Some(next) = sp_io::storage::next_key(&key) {
                        let value = sp_io::storage::get(&next).expect("a listed key has a value");
                        storage.top.insert(next.clone(), value.to_vec());
                        key = next;
                    }
                });
                storage
            }
            _ => {
                let changes = self
                    .overlay
                    .drain_storage_changes(&self.backend, sp_core::storage::StateVersion::V1)
                    .expect("the overlay drains");
                let mut storage = Storage::default();
                for (key, value) in changes.main_storage_changes {
                    if let Some(value) = value {
                        storage.top.insert(key, value);
                    }
                }
                storage
            }
        }
    }

    /// Starts over from `storage`.
    fn reset_to(&mut self, storage: Storage) {
        match &mut self.executor {
            Executor::Native(ext) => {
                let mut fresh = native_externalities(storage);
                fresh.register_extension(
                    PvmExtension::with_backend(self.backend_kind, self.node_limits)
                        .expect("the backend is available"),
                );
                **ext = fresh;
            }
            _ => {
                self.backend = InMemoryBackend::from((storage, sp_core::storage::StateVersion::V1));
                self.overlay = OverlayedChanges::default();
            }
        }
    }

    /// Calls runtime-API `method` with SCALE-encoded `data`, as block building does; its
    /// changes persist.
    pub fn call(&mut self, method: &str, data: &[u8]) -> Vec<u8> {
        self.call_in(method, data, CallContext::Onchain { import: false })
    }

    fn call_in(&mut self, method: &str, data: &[u8], context: CallContext) -> Vec<u8> {
        match &mut self.executor {
            Executor::Native(ext) => ext.execute_with(|| {
                pvm_runtime::api::dispatch(method, data)
                    .unwrap_or_else(|| panic!("the runtime has no API method {method}"))
            }),
            Executor::WithPvm(executor) => {
                let mut extensions = Extensions::new();
                extensions.register(
                    PvmExtension::with_backend(self.backend_kind, self.node_limits)
                        .expect("the backend is available"),
                );
                execute(
                    executor,
                    &self.backend,
                    &mut self.overlay,
                    (&self.code, method, data, context),
                    extensions,
                )
            }
            Executor::WithoutPvm(executor) => execute(
                executor,
                &self.backend,
                &mut self.overlay,
                (&self.code, method, data, context),
                Extensions::new(),
            ),
        }
    }

    /// Calls runtime-API `method` and discards its changes (a dry run, as over RPC).
    pub fn dry_run(&mut self, method: &str, data: &[u8]) -> Vec<u8> {
        match &mut self.executor {
            Executor::Native(ext) => ext.execute_with(|| {
                frame_support::storage::with_transaction(|| {
                    let output = pvm_runtime::api::dispatch(method, data)
                        .unwrap_or_else(|| panic!("the runtime has no API method {method}"));
                    frame_support::storage::TransactionOutcome::Rollback(Ok::<
                        _,
                        sp_runtime::DispatchError,
                    >(
                        output
                    ))
                })
                .expect("a rolled-back transaction returns its output")
            }),
            _ => {
                self.overlay.start_transaction();
                let output = self.call_in(method, data, CallContext::Offchain);
                self.overlay
                    .rollback_transaction()
                    .expect("the transaction just started");
                output
            }
        }
    }

    /// Reads a storage value.
    pub fn storage(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        match &mut self.executor {
            Executor::Native(ext) => {
                ext.execute_with(|| sp_io::storage::get(key).map(|v| v.to_vec()))
            }
            _ => match self.overlay.storage(key) {
                Some(value) => value.map(<[u8]>::to_vec),
                None => sp_state_machine::Backend::storage(&self.backend, key)
                    .expect("the in-memory backend reads"),
            },
        }
    }

    /// A signed extrinsic from `who` with its next nonce. Ed25519 signatures are
    /// deterministic, so the same calls give the same block on every way.
    pub fn sign(&mut self, who: Ed25519Keyring, call: RuntimeCall) -> UncheckedExtrinsic {
        let account = who.to_account_id();
        let nonce = self.nonces.entry(account.clone()).or_insert(0);
        let tx_extension: TxExtension = (
            frame_system::CheckNonZeroSender::new(),
            frame_system::CheckSpecVersion::new(),
            frame_system::CheckTxVersion::new(),
            frame_system::CheckGenesis::new(),
            frame_system::CheckEra::from(Era::Immortal),
            frame_system::CheckNonce::from(*nonce),
            frame_system::CheckWeight::new(),
            // No tip: fees are the weight's and the length's alone, the same on every way.
            pallet_transaction_payment::ChargeTransactionPayment::from(0),
        );
        *nonce += 1;
        let payload = SignedPayload::from_raw(
            call.clone(),
            tx_extension.clone(),
            (
                (),
                VERSION.spec_version,
                VERSION.transaction_version,
                self.genesis_hash,
                self.genesis_hash,
                (),
                (),
                (),
            ),
        );
        let signature = payload.using_encoded(|bytes| who.pair().sign(bytes));
        UncheckedExtrinsic::new_signed(
            call,
            MultiAddress::Id(account),
            MultiSignature::Ed25519(signature),
            tx_extension,
        )
    }

    /// Builds the next block with `extrinsics` after the timestamp inherent, six seconds
    /// after the last.
    pub fn build_block(&mut self, extrinsics: Vec<UncheckedExtrinsic>) -> BlockOutcome {
        self.number += 1;
        self.now += 6_000;
        let header = Header::new(
            self.number,
            Default::default(),
            Default::default(),
            self.parent_hash,
            Digest::default(),
        );
        self.call("Core_initialize_block", &header.encode());
        let timestamp =
            UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::set {
                now: self.now,
            }));
        let results = core::iter::once(timestamp)
            .chain(extrinsics)
            .map(|extrinsic| {
                let output = self.call("BlockBuilder_apply_extrinsic", &extrinsic.encode());
                ApplyExtrinsicResult::decode(&mut &output[..])
                    .expect("apply_extrinsic returns its result")
            })
            .collect();
        let header = Header::decode(&mut &self.call("BlockBuilder_finalize_block", &[])[..])
            .expect("finalize_block returns the header");
        self.parent_hash = header.hash();
        let events = self
            .storage(&events_key())
            .map(|bytes| Vec::<EventRecord>::decode(&mut &bytes[..]).expect("events decode"))
            .unwrap_or_default();
        BlockOutcome {
            header,
            results,
            events,
        }
    }
}

/// Externalities over `storage` for the native way, with the state as the wasm ways have
/// it: the runtime's code is not in the state (it is handed to the executor instead).
fn native_externalities(storage: Storage) -> sp_io::TestExternalities {
    let mut ext = sp_io::TestExternalities::new_with_state_version(
        storage,
        sp_core::storage::StateVersion::V1,
    );
    ext.execute_with(|| sp_io::storage::clear(sp_core::storage::well_known_keys::CODE));
    ext.commit_all().expect("the in-memory backend commits");
    ext
}

/// Merges a JSON `patch` into `base`, object by object.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Executes `method` through `executor` as a node does for one runtime call.
fn execute<E: CodeExecutor + Clone + 'static>(
    executor: &E,
    backend: &InMemoryBackend<BlakeTwo256>,
    overlay: &mut OverlayedChanges<BlakeTwo256>,
    (code, method, data, context): (&[u8], &str, &[u8], CallContext),
    mut extensions: Extensions,
) -> Vec<u8> {
    let fetcher = WrappedRuntimeCode(code.into());
    let runtime_code = RuntimeCode {
        code_fetcher: &fetcher,
        heap_pages: None,
        hash: BlakeTwo256::hash(code).encode(),
    };
    let mut machine = StateMachine::new(
        backend,
        overlay,
        executor,
        method,
        data,
        &mut extensions,
        &runtime_code,
        context,
    );
    let output = machine.execute();
    drop(machine);
    output.unwrap_or_else(|error| panic!("{method} failed: {error}"))
}

/// The genesis header of `storage`: the state root of the genesis state.
fn genesis_header(storage: &Storage) -> Header {
    let root = sp_state_machine::Backend::storage_root(
        &InMemoryBackend::<BlakeTwo256>::from((
            storage.clone(),
            sp_core::storage::StateVersion::V1,
        )),
        core::iter::empty(),
        sp_core::storage::StateVersion::V1,
    )
    .0;
    Header::new(
        0,
        Default::default(),
        root,
        Default::default(),
        Digest::default(),
    )
}
