//! The runtime where it runs: built to wasm and executed through `sc-executor`'s
//! `WasmExecutor` over an `sp-state-machine` backend, as a node executes it.
//!
//! Every example contract (the probe too) is uploaded, instantiated and called through
//! signed extrinsics in blocks, then read back through the dry-run API, three ways: the
//! runtime compiled natively, the wasm blob with the pvm host functions and a `PvmExtension`
//! (`NativeEngine`), and the in-runtime-engine blob with no pvm host function at all
//! (`InRuntimeEngine`, the interpreter inside the wasm). Outputs, gas, weights, events,
//! extrinsic results and every block's state root must be identical.
//!
//! A second scenario has contracts call, create and end contracts (value between them, a
//! callee reverting or running out of gas alone, the depth limit, re-entry by the rule, the
//! factory and the proxy, `terminate`), each call dry-run first and submitted with the dry
//! run's weight required as its limit, as a wallet does; the same weight less one unit runs
//! out of gas. It too must be identical every way.

use codec::{Decode, Encode};
use frame_support::traits::Get;
use frame_support::weights::Weight;
use pallet_pvm::abi::CallParams;
use pallet_pvm::abi::CallStatus;
use pallet_pvm::runtime_api::{Code, ContractResult};
use pallet_pvm::{CallOutcome, InstantiateOutcome};
use pvm_contracts_examples::{COUNTER, FACTORY, FLIPPER, HASHER, PROBE, PROXY, TOKEN};
use pvm_host_functions::NodeLimits;
use pvm_runtime::{AccountId, Balance, EventRecord, Runtime, RuntimeCall, RuntimeEvent, UNIT};
use pvm_tests::chain::{BlockOutcome, Chain, Way};
use pvm_tests::probe::*;
use sp_core::H256;
use sp_keyring::Ed25519Keyring::{self, Alice, Bob, Charlie};
use sp_runtime::{DispatchError, ModuleError};

/// The weight limit every contract extrinsic gets: generous, well inside a block.
const WEIGHT_LIMIT: Weight = Weight::from_parts(100_000_000_000, 1 << 20);
const DEPOSIT_LIMIT: Balance = 1_000 * UNIT;

type DryRun<R> = ContractResult<R, Balance, EventRecord>;

/// Everything a way of running produced, in order, each entry labelled.
#[derive(Default)]
struct Transcript(Vec<(String, Vec<u8>)>);

impl Transcript {
    fn push(&mut self, label: impl Into<String>, value: &impl Encode) {
        self.0.push((label.into(), value.encode()));
    }
}

/// Records a block: its header (the state root included), results and events.
fn record(transcript: &mut Transcript, label: &str, outcome: &BlockOutcome) {
    transcript.push(format!("{label}: header"), &outcome.header);
    transcript.push(format!("{label}: results"), &outcome.results);
    transcript.push(format!("{label}: events"), &outcome.events);
}

fn pvm(call: pallet_pvm::Call<Runtime>) -> RuntimeCall {
    RuntimeCall::Pvm(call)
}

fn code_hash(code: &[u8]) -> H256 {
    H256(sp_io::hashing::blake2_256(code))
}

fn address(code: &[u8]) -> AccountId {
    pallet_pvm::Pallet::<Runtime>::contract_address(&Alice.to_account_id(), &code_hash(code), b"")
}

fn call(contract: &[u8], data: Vec<u8>) -> RuntimeCall {
    pvm(pallet_pvm::Call::call {
        dest: address(contract),
        value: 0,
        weight_limit: WEIGHT_LIMIT,
        storage_deposit_limit: DEPOSIT_LIMIT,
        data,
    })
}

fn dry_call(chain: &mut Chain, contract: &[u8], input: Vec<u8>) -> DryRun<CallOutcome> {
    let args = (
        Bob.to_account_id(),
        address(contract),
        0 as Balance,
        None::<Weight>,
        None::<Balance>,
        input,
    );
    let output = chain.dry_run("PvmApi_call", &args.encode());
    DryRun::<CallOutcome>::decode(&mut &output[..]).expect("PvmApi_call returns a result")
}

/// The contracts, what `deploy` gets, and their calls (as Charlie) for block 3.
fn contracts() -> Vec<(&'static str, &'static [u8], Vec<u8>)> {
    vec![
        ("flipper", FLIPPER, vec![1]),
        ("counter", COUNTER, 5u64.to_le_bytes().to_vec()),
        ("token", TOKEN, 1_000_000u128.to_le_bytes().to_vec()),
        ("hasher", HASHER, vec![]),
        ("probe", PROBE, vec![]),
    ]
}

fn bob_bytes() -> Vec<u8> {
    Bob.to_account_id().encode()
}

/// The calls of block 3: name, contract, call data, and whether the extrinsic succeeds.
fn calls() -> Vec<(&'static str, &'static [u8], Vec<u8>, bool)> {
    let with = |selector: u8, rest: &[u8]| [&[selector][..], rest].concat();
    let mut hasher_call = with(1, &3u32.to_le_bytes());
    hasher_call.extend(b"seed");
    let mut keccak_call = with(0, &2u32.to_le_bytes());
    keccak_call.extend(b"seed");
    vec![
        ("flip", FLIPPER, vec![0], true),
        ("counter += 3", COUNTER, with(0, &3u64.to_le_bytes()), true),
        (
            "counter underflow reverts",
            COUNTER,
            with(1, &100u64.to_le_bytes()),
            false,
        ),
        (
            "token transfer",
            TOKEN,
            [with(2, &bob_bytes()), 250u128.to_le_bytes().to_vec()].concat(),
            false, // Charlie holds no tokens: the transfer reverts.
        ),
        ("hasher blake2 x3", HASHER, hasher_call, true),
        ("hasher keccak x2", HASHER, keccak_call, true),
        ("probe environment", PROBE, vec![0], true),
        (
            "probe set_storage",
            PROBE,
            [vec![3, 2], b"k1".to_vec(), b"value".to_vec()].concat(),
            true,
        ),
        ("probe contains_storage", PROBE, with(2, b"k1"), true),
        ("probe get_storage", PROBE, with(5, b"k1"), true),
        ("probe clear_storage", PROBE, with(4, b"k1"), true),
        ("probe keccak", PROBE, with(6, b"data"), true),
        ("probe blake2", PROBE, with(7, b"data"), true),
        ("probe revert", PROBE, with(8, b"no"), false),
        ("probe trap", PROBE, vec![9], false),
        (
            "probe transfer",
            PROBE,
            [with(1, &bob_bytes()), 0u128.to_le_bytes().to_vec()].concat(),
            true,
        ),
    ]
}

/// Runs the scenario on `chain`: checks what must hold on every way, and returns the
/// transcript to compare across ways.
/// Builds a block in which Alice uploads each of `codes`, asserts every upload succeeded
/// and records the block as `label`.
fn upload_block(chain: &mut Chain, transcript: &mut Transcript, codes: &[&[u8]], label: &str) {
    let way = chain.way();
    let uploads = codes
        .iter()
        .map(|code| {
            chain.sign(
                Alice,
                pvm(pallet_pvm::Call::upload_code {
                    code: code.to_vec(),
                    storage_deposit_limit: DEPOSIT_LIMIT,
                }),
            )
        })
        .collect();
    let block = chain.build_block(uploads);
    assert!(
        block.results.iter().all(|r| matches!(r, Ok(Ok(())))),
        "{way:?}: {block:?}"
    );
    record(transcript, label, &block);
}

fn run_scenario(chain: &mut Chain) -> Transcript {
    let way = chain.way();
    let mut transcript = Transcript::default();

    // A dry-run upload first, as a wallet would, then block 1: every upload.
    let dry_upload = chain.dry_run(
        "PvmApi_upload_code",
        &(Alice.to_account_id(), FLIPPER.to_vec(), None::<Balance>).encode(),
    );
    transcript.push("dry upload flipper", &dry_upload);
    let codes: Vec<&[u8]> = contracts().into_iter().map(|(_, code, _)| code).collect();
    upload_block(chain, &mut transcript, &codes, "block 1 (uploads)");

    // Block 2: every instantiation, each dry-run first.
    let mut instantiations = Vec::new();
    for (name, code, data) in contracts() {
        let args = (
            Alice.to_account_id(),
            0 as Balance,
            None::<Weight>,
            None::<Balance>,
            Code::Existing(code_hash(code)),
            data.clone(),
            Vec::<u8>::new(),
        );
        let dry = DryRun::<InstantiateOutcome>::decode(
            &mut &chain.dry_run("PvmApi_instantiate", &args.encode())[..],
        )
        .expect("PvmApi_instantiate returns a result");
        let outcome = dry.result.as_ref().expect("every deploy succeeds");
        assert!(!outcome.reverted, "{way:?}: {name} deploy reverted");
        assert_eq!(outcome.contract, address(code));
        assert!(dry.gas_consumed > 0, "{way:?}: {name} used no gas");
        transcript.push(format!("dry instantiate {name}"), &dry);
        instantiations.push(chain.sign(
            Alice,
            pvm(pallet_pvm::Call::instantiate {
                value: 0,
                weight_limit: dry.weight_required,
                storage_deposit_limit: DEPOSIT_LIMIT,
                code_hash: code_hash(code),
                data,
                salt: Vec::new(),
            }),
        ));
    }
    let block = chain.build_block(instantiations);
    assert!(
        block.results.iter().all(|r| matches!(r, Ok(Ok(())))),
        "{way:?}: the dry run's weight is enough for every instantiation: {:?}",
        block.results
    );
    record(&mut transcript, "block 2 (instantiations)", &block);

    // Block 3: the calls, by Charlie.
    let extrinsics = calls()
        .into_iter()
        .map(|(_, contract, data, _)| chain.sign(Charlie, call(contract, data)))
        .collect();
    let block = chain.build_block(extrinsics);
    for ((name, _, _, succeeds), result) in calls().iter().zip(&block.results[1..]) {
        match (succeeds, result) {
            (true, Ok(Ok(()))) => {}
            (false, Ok(Err(DispatchError::Module(ModuleError { .. })))) => {}
            _ => panic!("{way:?}: {name}: {result:?}"),
        }
    }
    let emitted = block
        .events
        .iter()
        .filter(|record| {
            matches!(
                record.event,
                RuntimeEvent::Pvm(pallet_pvm::Event::Called { .. })
            )
        })
        .count();
    let succeeded = calls().iter().filter(|(.., succeeds)| *succeeds).count();
    assert_eq!(
        emitted, succeeded,
        "{way:?}: a Called event per call that was not rolled back"
    );
    record(&mut transcript, "block 3 (calls)", &block);

    // Read everything back through the dry-run API.
    let flipper = dry_call(chain, FLIPPER, vec![1]);
    assert_eq!(
        flipper.result.as_ref().unwrap().output,
        vec![0],
        "{way:?}: 1 flipped"
    );
    transcript.push("read flipper", &flipper);
    let counter = dry_call(chain, COUNTER, vec![2]);
    assert_eq!(
        counter.result.as_ref().unwrap().output,
        8u64.to_le_bytes(),
        "{way:?}: 5 + 3"
    );
    transcript.push("read counter", &counter);
    let balance = dry_call(
        chain,
        TOKEN,
        [vec![1], Alice.to_account_id().encode()].concat(),
    );
    assert_eq!(
        balance.result.as_ref().unwrap().output,
        1_000_000u128.to_le_bytes()
    );
    transcript.push("read token balance", &balance);
    let environment = dry_call(chain, PROBE, vec![0]);
    let output = &environment.result.as_ref().unwrap().output;
    assert_eq!(
        &output[..32],
        &Bob.to_account_id().encode()[..],
        "{way:?}: caller"
    );
    assert_eq!(
        u64::from_le_bytes(output[96..104].try_into().unwrap()),
        3,
        "{way:?}: block number"
    );
    transcript.push("read probe environment", &environment);
    let hashed = dry_call(
        chain,
        HASHER,
        [vec![1], 1u32.to_le_bytes().to_vec(), b"x".to_vec()].concat(),
    );
    assert_eq!(
        hashed.result.as_ref().unwrap().output,
        sp_io::hashing::blake2_256(b"x"),
        "{way:?}: hasher"
    );
    transcript.push("read hasher", &hashed);
    transcript
}

/// The account of `code` instantiated by Alice with `salt`.
fn address_salted(code: &[u8], salt: &[u8]) -> AccountId {
    pallet_pvm::Pallet::<Runtime>::contract_address(&Alice.to_account_id(), &code_hash(code), salt)
}

/// A dry run of `who` calling `dest` with `value`, through the runtime API.
fn dry_call_from(
    chain: &mut Chain,
    who: Ed25519Keyring,
    dest: &AccountId,
    value: Balance,
    input: Vec<u8>,
) -> DryRun<CallOutcome> {
    let args = (
        who.to_account_id(),
        dest.clone(),
        value,
        None::<Weight>,
        None::<Balance>,
        input,
    );
    let output = chain.dry_run("PvmApi_call", &args.encode());
    DryRun::<CallOutcome>::decode(&mut &output[..]).expect("PvmApi_call returns a result")
}

/// A call extrinsic with explicit limits.
fn call_with_limits(
    dest: &AccountId,
    value: Balance,
    weight_limit: Weight,
    storage_deposit_limit: Balance,
    data: Vec<u8>,
) -> RuntimeCall {
    pvm(pallet_pvm::Call::call {
        dest: dest.clone(),
        value,
        weight_limit,
        storage_deposit_limit,
        data,
    })
}

/// A check of a dry run's (successful, not reverted) output.
type Check = Box<dyn Fn(&[u8])>;

/// A step of the calls scenario: a label, the contract Bob calls, the value, the call data,
/// and the check of the dry run's output.
type Step = (&'static str, AccountId, Balance, Vec<u8>, Check);

/// Runs the calls scenario on `chain` (see the module docs).
fn run_calls_scenario(chain: &mut Chain) -> Transcript {
    let way = chain.way();
    let mut transcript = Transcript::default();

    // Block 1: the code. Block 2: two probes, a factory of counters, and a proxy whose
    // target is the counter the factory will create first.
    upload_block(
        chain,
        &mut transcript,
        &[PROBE, COUNTER, FACTORY, PROXY],
        "calls: block 1 (uploads)",
    );
    let a = address_salted(PROBE, b"a");
    let b = address_salted(PROBE, b"b");
    let factory = address_salted(FACTORY, b"");
    let child =
        pallet_pvm::Pallet::<Runtime>::contract_address(&factory, &code_hash(COUNTER), &[1; 32]);
    let proxy = address_salted(PROXY, b"");
    let deploys: [(&[u8], Vec<u8>, &[u8]); 4] = [
        (PROBE, vec![], b"a"),
        (PROBE, vec![], b"b"),
        (FACTORY, code_hash(COUNTER).0.to_vec(), b""),
        (PROXY, bytes(&child).to_vec(), b""),
    ];
    let instantiations = deploys
        .into_iter()
        .map(|(code, data, salt)| {
            chain.sign(
                Alice,
                pvm(pallet_pvm::Call::instantiate {
                    value: 0,
                    weight_limit: WEIGHT_LIMIT,
                    storage_deposit_limit: DEPOSIT_LIMIT,
                    code_hash: code_hash(code),
                    data,
                    salt: salt.to_vec(),
                }),
            )
        })
        .collect();
    let block = chain.build_block(instantiations);
    assert!(
        block.results.iter().all(|r| matches!(r, Ok(Ok(())))),
        "{way:?}: {block:?}"
    );
    record(&mut transcript, "calls: block 2 (instantiations)", &block);

    // B's environment call needs this much on its own: as B's limit, one unit less runs
    // out of gas when A calls it.
    let b_needs = dry_call_from(chain, Bob, &b, 0, vec![0]).weight_required;
    let b_short = CallParams {
        ref_time_limit: b_needs.ref_time() - 1,
        proof_size_limit: b_needs.proof_size(),
        ..all()
    };
    let statuses = |expected: Vec<CallStatus>| -> Check {
        Box::new(move |output| assert_eq!(unwrap_nested(output).0, expected))
    };
    let a_bytes = bytes(&a);
    let steps: Vec<Step> = vec![
        (
            "A pays B",
            a.clone(),
            10 * UNIT,
            probe_call(&b, with_value(3 * UNIT), &[0]),
            Box::new(move |output| {
                let (status, len, environment) = call_result(output);
                assert_eq!((status, len), (CallStatus::Success, 120));
                assert_eq!(environment[..32], a_bytes, "B's caller is A");
            }),
        ),
        (
            "B reverts alone",
            a.clone(),
            0,
            set_then(
                b"a",
                b"1",
                &probe_call(
                    &b,
                    with_value(UNIT),
                    &set_then(b"b", b"2", &[8, b'n', b'o']),
                ),
            ),
            Box::new(|output| {
                assert_eq!(
                    call_result(output),
                    (CallStatus::Reverted, 2, b"no".to_vec())
                )
            }),
        ),
        (
            "B runs out of gas, A goes on",
            a.clone(),
            0,
            set_then(b"after", b"1", &probe_call(&b, b_short, &[0])),
            Box::new(|output| assert_eq!(call_result(output), (CallStatus::OutOfGas, 0, vec![]))),
        ),
        (
            "the depth limit",
            a.clone(),
            0,
            nested_self_calls(&a, 8),
            statuses(
                [
                    vec![CallStatus::Success; 7],
                    vec![CallStatus::CallDepthExceeded],
                ]
                .concat(),
            ),
        ),
        (
            "re-entry allowed",
            a.clone(),
            0,
            set_then(
                b"k1",
                b"v1",
                &probe_call(
                    &b,
                    reentrant(),
                    &probe_call(&a, all(), &probe_set(b"k2", b"v")),
                ),
            ),
            statuses(vec![CallStatus::Success, CallStatus::Success]),
        ),
        (
            "re-entry refused",
            a.clone(),
            0,
            probe_call(&b, all(), &probe_call(&a, all(), &PROBE_ORIGIN)),
            statuses(vec![CallStatus::Success, CallStatus::ReentranceDenied]),
        ),
        (
            "the factory creates a counter",
            factory.clone(),
            UNIT,
            factory_create(1, &40u64.to_le_bytes()),
            {
                let child = child.clone();
                Box::new(move |output| {
                    assert_eq!(
                        instantiate_result(output),
                        (CallStatus::Success, child.clone())
                    )
                })
            },
        ),
        (
            "the proxy forwards to it",
            proxy.clone(),
            0,
            [&[0u8][..], &2u64.to_le_bytes()].concat(),
            Box::new(|output| assert_eq!(output, 42u64.to_le_bytes())),
        ),
        (
            "B terminates, paying Charlie",
            a.clone(),
            0,
            probe_call(&b, all(), &probe_terminate(&Charlie.to_account_id())),
            Box::new(|output| assert_eq!(call_result(output), (CallStatus::Success, 0, vec![]))),
        ),
    ];
    let out_of_gas = DispatchError::from(pallet_pvm::Error::<Runtime>::OutOfGas);
    for (label, dest, value, data, check) in steps {
        let dry = dry_call_from(chain, Bob, &dest, value, data.clone());
        let outcome = dry
            .result
            .as_ref()
            .unwrap_or_else(|error| panic!("{way:?}: {label}: {error:?}"));
        assert!(!outcome.reverted, "{way:?}: {label}: reverted");
        check(&outcome.output);
        transcript.push(format!("dry {label}"), &dry);
        let (weight, deposit) = (dry.weight_required, dry.storage_deposit_charged);
        // One unit of ref_time less than the dry run said: out of gas, nothing changes but
        // the fee and the nonce.
        let short = weight.saturating_sub(Weight::from_parts(1, 0));
        let extrinsic = chain.sign(
            Bob,
            call_with_limits(&dest, value, short, deposit, data.clone()),
        );
        let block = chain.build_block(vec![extrinsic]);
        match &block.results[1] {
            Ok(Err(DispatchError::Module(error))) => {
                let DispatchError::Module(expected) = out_of_gas else {
                    unreachable!("a pallet error is a module error")
                };
                assert_eq!(
                    (error.index, error.error),
                    (expected.index, expected.error),
                    "{way:?}: {label}, one unit short"
                );
            }
            other => panic!("{way:?}: {label}, one unit short: {other:?}"),
        }
        record(&mut transcript, &format!("{label}, one unit short"), &block);
        let extrinsic = chain.sign(Bob, call_with_limits(&dest, value, weight, deposit, data));
        let block = chain.build_block(vec![extrinsic]);
        assert!(
            matches!(block.results[1], Ok(Ok(()))),
            "{way:?}: {label} with the dry run's limits: {:?}",
            block.results[1]
        );
        record(&mut transcript, label, &block);
    }

    // Read back: the counter the factory made and the proxy incremented, and B gone.
    let counter = dry_call_from(chain, Bob, &child, 0, vec![2]);
    assert_eq!(
        counter.result.as_ref().unwrap().output,
        42u64.to_le_bytes(),
        "{way:?}: 40 + 2"
    );
    transcript.push("read the factory's counter", &counter);
    let gone = dry_call_from(chain, Bob, &b, 0, vec![0]);
    assert_eq!(
        gone.result,
        Err(pallet_pvm::Error::<Runtime>::ContractNotFound.into()),
        "{way:?}: B terminated"
    );
    transcript
}

fn first_difference(left: &Transcript, right: &Transcript) -> Option<String> {
    for ((label, a), (_, b)) in left.0.iter().zip(&right.0) {
        if a != b {
            return Some(label.clone());
        }
    }
    (left.0.len() != right.0.len()).then(|| "transcript length".to_string())
}

#[test]
fn every_example_contract_gives_identical_results_natively_and_in_wasm_with_either_engine() {
    let transcripts: Vec<(Way, Transcript)> = Way::ALL
        .into_iter()
        .map(|way| (way, run_scenario(&mut Chain::new(way))))
        .collect();
    let (reference_way, reference) = &transcripts[0];
    for (way, transcript) in &transcripts[1..] {
        assert_eq!(
            first_difference(reference, transcript),
            None,
            "{way:?} differs from {reference_way:?}"
        );
    }
}

#[test]
fn contracts_calling_contracts_give_identical_results_natively_and_in_wasm_with_either_engine() {
    let transcripts: Vec<(Way, Transcript)> = Way::ALL
        .into_iter()
        .map(|way| (way, run_calls_scenario(&mut Chain::new(way))))
        .collect();
    let (reference_way, reference) = &transcripts[0];
    for (way, transcript) in &transcripts[1..] {
        assert_eq!(
            first_difference(reference, transcript),
            None,
            "{way:?} differs from {reference_way:?}"
        );
    }

    // A node allowing exactly the runtime's `MaxCallDepth` live instances (the engine limit
    // the runtime asks for) runs the deepest call too, on the JIT as well: every live frame
    // holds one instance, and no more frames live at once than that.
    let depth = <Runtime as pallet_pvm::Config>::MaxCallDepth::get();
    let tight = NodeLimits {
        max_instances: depth,
        ..NodeLimits::default()
    };
    for backend in [
        pvm_core::BackendKind::Interpreter,
        pvm_core::BackendKind::Jit,
    ] {
        let mut chain = Chain::with_node(Way::WasmNativeEngine, tight, backend);
        let transcript = run_calls_scenario(&mut chain);
        assert_eq!(
            first_difference(reference, &transcript),
            None,
            "{backend:?} on a node allowing {depth} instances"
        );
    }
}

#[test]
fn node_limits_other_than_the_runtimes_change_no_result() {
    let generous = NodeLimits {
        max_memory_per_instance: 1 << 30,
        max_instances: 1024,
        max_code_len: 1 << 24,
        max_modules: 1,
    };
    let default = run_scenario(&mut Chain::new(Way::WasmNativeEngine));
    for backend in [
        pvm_core::BackendKind::Interpreter,
        pvm_core::BackendKind::Jit,
    ] {
        let mut chain = Chain::with_node(Way::WasmNativeEngine, generous, backend);
        let transcript = run_scenario(&mut chain);
        assert_eq!(first_difference(&default, &transcript), None, "{backend:?}");
    }

    // A node allowing less than the runtime's MemoryPerInstance cannot run the contracts:
    // the runtime stops with the reason rather than recording a different outcome.
    let stingy = NodeLimits {
        max_memory_per_instance: 1 << 20,
        ..NodeLimits::default()
    };
    let mut chain = Chain::with_node(
        Way::WasmNativeEngine,
        stingy,
        pvm_core::BackendKind::Interpreter,
    );
    let upload = chain.sign(
        Alice,
        pvm(pallet_pvm::Call::upload_code {
            code: FLIPPER.to_vec(),
            storage_deposit_limit: DEPOSIT_LIMIT,
        }),
    );
    chain.build_block(vec![upload]);
    let instantiate = chain.sign(
        Alice,
        pvm(pallet_pvm::Call::instantiate {
            value: 0,
            weight_limit: WEIGHT_LIMIT,
            storage_deposit_limit: DEPOSIT_LIMIT,
            code_hash: code_hash(FLIPPER),
            data: vec![],
            salt: vec![],
        }),
    );
    let logged = runtime_errors::capture(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            chain.build_block(vec![instantiate])
        }))
    });
    let (result, messages) = logged;
    let panic = result.expect_err("the block cannot be built on this node");
    let executor_error = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        executor_error.contains("engine_error"),
        "the wasm trapped in the pallet's engine-error path: {executor_error}"
    );
    assert!(
        messages
            .iter()
            .any(|message| message.contains("this node cannot run pallet-pvm's contracts")),
        "the runtime says why: {messages:?}"
    );
}

/// The runtime's error log (its panic messages arrive there), captured while a closure runs.
mod runtime_errors {
    use std::sync::{Mutex, OnceLock};

    static MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.level() <= log::Level::Error
        }
        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                MESSAGES.lock().unwrap().push(record.args().to_string());
            }
        }
        fn flush(&self) {}
    }

    /// Runs `f`; returns its result and the error messages logged meanwhile.
    pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            log::set_logger(&Capture).expect("no other logger in this test binary");
            log::set_max_level(log::LevelFilter::Error);
        });
        MESSAGES.lock().unwrap().clear();
        let result = f();
        (result, std::mem::take(&mut *MESSAGES.lock().unwrap()))
    }
}

/// The names of the functions a wasm module imports.
fn imported_functions(wasm: &[u8]) -> Vec<String> {
    fn leb(bytes: &[u8], at: &mut usize) -> u32 {
        let mut value = 0u32;
        let mut shift = 0;
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    fn name(bytes: &[u8], at: &mut usize) -> String {
        let len = leb(bytes, at) as usize;
        let name = String::from_utf8_lossy(&bytes[*at..*at + len]).into_owned();
        *at += len;
        name
    }
    assert_eq!(&wasm[..4], b"\0asm");
    let mut at = 8;
    let mut names = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at) as usize;
        let end = at + size;
        if id == 2 {
            let count = leb(wasm, &mut at);
            for _ in 0..count {
                let _module = name(wasm, &mut at);
                let field = name(wasm, &mut at);
                let kind = wasm[at];
                at += 1;
                match kind {
                    0 => {
                        leb(wasm, &mut at);
                        names.push(field);
                    }
                    1 => {
                        at += 1;
                        let flags = leb(wasm, &mut at);
                        leb(wasm, &mut at);
                        if flags & 1 != 0 {
                            leb(wasm, &mut at);
                        }
                    }
                    2 => {
                        let flags = leb(wasm, &mut at);
                        leb(wasm, &mut at);
                        if flags & 1 != 0 {
                            leb(wasm, &mut at);
                        }
                    }
                    _ => at += 2,
                }
            }
        }
        at = end;
    }
    names
}

#[test]
fn the_in_runtime_engine_blob_imports_no_pvm_host_function() {
    let decompress = |blob: &[u8]| {
        sp_maybe_compressed_blob::decompress(blob, 64 << 20)
            .expect("the runtime decompresses")
            .into_owned()
    };
    let native = imported_functions(&decompress(Way::WasmNativeEngine.wasm().unwrap()));
    let in_runtime = imported_functions(&decompress(Way::WasmInRuntimeEngine.wasm().unwrap()));
    let pvm_imports = |names: &[String]| {
        names
            .iter()
            .filter(|name| name.starts_with("ext_pvm_"))
            .count()
    };
    assert_eq!(pvm_imports(&native), 7, "{native:?}");
    assert_eq!(pvm_imports(&in_runtime), 0, "{in_runtime:?}");
    assert!(in_runtime
        .iter()
        .any(|name| name.starts_with("ext_storage_")));
}
