//! Weight is charged before the work. For every syscall of the ABI and the extrinsics that
//! take a weight limit: the limit a dry run reports as required (`weight_required`) lets
//! the call through, and a limit one unit short of it, in `ref_time` or in proof size,
//! stops the call with `OutOfGas` and leaves the state (the storage root) as it was. Each
//! probe contract makes its syscall last, so the charge that needs the last unit is the
//! syscall's own: were it charged after the work, the work would be done (and, for the
//! storage syscalls, its value recorded in the proof) before the limit ran out.

use frame_support::storage::{with_transaction, TransactionOutcome};
use frame_support::weights::Weight;
use pallet_pvm::abi::{CallParams, Syscall, MAX_VALUE_LEN};
use pallet_pvm::Error;
use pvm_core::asm::assemble;
use pvm_runtime_mock::*;
use sp_runtime::{AccountId32, DispatchError, StateVersion};

/// Where the probe's read-only data starts (the first segment of a PolkaVM layout).
const RO: i64 = 0x10000;
/// The storage key: one byte, `k`, at `RO`.
const KEY: i64 = RO;
/// A 32-byte account id (or code hash) at `RO + 0x20`.
const ACCOUNT: i64 = RO + 0x20;
/// The call parameters at `RO + 0x40`.
const PARAMS: i64 = RO + 0x40;
/// A 16-byte value at `RO + 0x80`.
const VALUE: i64 = RO + 0x80;
/// Read-only data is this long: enough for the largest stored value (zeros past the
/// fields above).
const RO_LEN: u32 = 20 * 1024;
/// Bytes below the stack pointer the probes write outputs to.
const OUT_OFFSET: i64 = -0x8000;

/// The read-only data: the key, `account`, call parameters sending `value`, and `value`.
fn ro_data(account: &AccountId32, value: u128) -> String {
    let mut bytes = [0u8; 0x90];
    bytes[0] = b'k';
    bytes[0x20..0x40].copy_from_slice(account.as_ref());
    let params = CallParams {
        flags: 0,
        ref_time_limit: u64::MAX,
        proof_size_limit: u64::MAX,
        value,
        deposit_limit: u128::MAX,
    };
    bytes[0x40..0x78].copy_from_slice(&params.encode());
    bytes[0x80..0x90].copy_from_slice(&value.to_le_bytes());
    bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A register's value: a constant, or an address below the stack pointer.
#[derive(Clone, Copy)]
enum Arg {
    Imm(i64),
    Out(i64),
}
use Arg::{Imm, Out};

fn load(args: &[Arg]) -> String {
    args.iter()
        .enumerate()
        .map(|(index, arg)| match arg {
            Imm(value) => format!("    load_imm a{index}, {value}\n"),
            Out(offset) => format!("    add_imm_64 a{index}, sp, {}\n", OUT_OFFSET + offset),
        })
        .collect()
}

/// A contract whose `deploy` stores the largest value under the key and whose `call` makes
/// the syscall `symbol` with `args`, as its last work.
fn probe(symbol: &str, args: &[Arg], account: &AccountId32, value: u128) -> Vec<u8> {
    let store = load(&[Imm(KEY), Imm(1), Imm(RO), Imm(MAX_VALUE_LEN.into())]);
    let source = format!(
        ".import \"set_storage\"\n.import \"{symbol}\"\n.ro_data {}\n.ro_data_size {RO_LEN}\n\
         .stack_size 65536\npub @deploy:\n{store}    ecalli 0\n    jump_indirect ra, 0\n\
         pub @call:\n{}    ecalli 1\n    jump_indirect ra, 0\n",
        ro_data(account, value),
        load(args),
    );
    assemble(&source)
        .unwrap_or_else(|error| panic!("{symbol}: {error}"))
        .to_bytes()
        .unwrap()
}

/// Arguments that make `syscall` succeed and do its most: the largest stored value read,
/// value sent, a contract called or created.
fn arguments(syscall: Syscall) -> Vec<Arg> {
    let max = i64::from(MAX_VALUE_LEN);
    match syscall {
        Syscall::CallDataSize | Syscall::BlockNumber | Syscall::Now | Syscall::GasLeft => vec![],
        Syscall::CallDataCopy => vec![Out(0), Imm(64), Imm(0)],
        Syscall::ReturnData => vec![Imm(0), Imm(RO), Imm(256)],
        Syscall::GetStorage => vec![Imm(KEY), Imm(1), Out(0), Imm(max)],
        Syscall::SetStorage => vec![Imm(KEY), Imm(1), Imm(RO), Imm(64)],
        Syscall::ClearStorage | Syscall::ContainsStorage => vec![Imm(KEY), Imm(1)],
        Syscall::Caller
        | Syscall::Address
        | Syscall::Origin
        | Syscall::ValueTransferred
        | Syscall::Balance => vec![Out(0)],
        Syscall::Transfer => vec![Imm(ACCOUNT), Imm(VALUE)],
        Syscall::DepositEvent => vec![Imm(ACCOUNT), Imm(1), Imm(RO), Imm(256)],
        Syscall::HashBlake2_256 | Syscall::HashKeccak256 => vec![Imm(RO), Imm(4096), Out(0)],
        Syscall::Call => vec![Imm(ACCOUNT), Imm(PARAMS), Imm(RO), Imm(64), Out(0), Out(64)],
        Syscall::Instantiate => {
            vec![Imm(ACCOUNT), Imm(PARAMS), Imm(RO), Imm(64), Imm(RO), Out(0)]
        }
        Syscall::Terminate => vec![Imm(ACCOUNT)],
    }
}

fn root() -> Vec<u8> {
    sp_io::storage::root(StateVersion::V1)
}

/// Runs `f` and rolls back what it changed, as a dry run does.
fn dry_run<R>(f: impl FnOnce() -> R) -> R {
    with_transaction(|| TransactionOutcome::Rollback(Ok::<_, DispatchError>(f()))).unwrap()
}

fn short_by_one(weight: Weight, proof: bool) -> Weight {
    if proof {
        weight.set_proof_size(weight.proof_size() - 1)
    } else {
        weight.set_ref_time(weight.ref_time() - 1)
    }
}

/// A contract that returns at once: the callee of `call`, the code of `instantiate`.
fn returning_code() -> Vec<u8> {
    assemble("pub @deploy:\n    jump_indirect ra, 0\npub @call:\n    jump_indirect ra, 0\n")
        .unwrap()
        .to_bytes()
        .unwrap()
}

#[test]
fn every_syscall_is_paid_before_its_work() {
    new_test_ext().execute_with(|| {
        let returning = upload(&ALICE, &returning_code()).unwrap();
        let callee = instantiate(&ALICE, returning, &[], &[]).unwrap();
        let value = 10 * EXISTENTIAL_DEPOSIT;
        for &syscall in Syscall::ALL {
            let account = match syscall {
                Syscall::Call => callee.clone(),
                Syscall::Instantiate => AccountId32::new(returning.0),
                _ => BOB,
            };
            let code = probe(syscall.symbol(), &arguments(syscall), &account, value);
            let hash = upload(&ALICE, &code).unwrap();
            let contract = instantiate(&ALICE, hash, &[], &[]).unwrap();
            // The contract sends value (`transfer`, `call`, `instantiate`): fund it.
            let call = |limit: Weight| {
                Pvm::bare_call(
                    ALICE,
                    contract.clone(),
                    3 * value,
                    limit,
                    DEPOSIT_LIMIT,
                    vec![7; 64],
                )
            };
            let dry_run = dry_run(|| call(GAS_LIMIT));
            assert!(dry_run.result.is_ok(), "{syscall:?}: {:?}", dry_run.result);
            let required = dry_run.weight_required;
            // What `instantiate` creates: salted with the first 32 bytes of read-only data.
            let mut salt = [0u8; 32];
            salt[0] = b'k';
            let created = Pvm::contract_address(&contract, &returning, &salt);
            let callee_balance = Balances::free_balance(&callee);
            for proof in [false, true] {
                let before = root();
                let short = call(short_by_one(required, proof)).result.map(drop);
                let what = if proof { "proof size" } else { "ref_time" };
                match syscall {
                    // The callee's limit is what the caller has left: one unit short, the
                    // callee runs out, its frame is rolled back and the caller goes on
                    // (keeping the value it was sent).
                    Syscall::Call if short.is_ok() => {
                        assert_eq!(Balances::free_balance(&callee), callee_balance);
                    }
                    Syscall::Instantiate if short.is_ok() => {
                        assert!(!pallet_pvm::ContractInfoOf::<Runtime>::contains_key(
                            &created
                        ));
                    }
                    _ => {
                        assert_eq!(
                            short,
                            Err(DispatchError::from(Error::<Runtime>::OutOfGas)),
                            "{syscall:?} with {what} one short of {required:?}"
                        );
                        assert_eq!(
                            root(),
                            before,
                            "{syscall:?}: a stopped call changed the state"
                        );
                    }
                }
            }
            let exact = call(required);
            assert!(exact.result.is_ok(), "{syscall:?} at exactly {required:?}");
        }
    });
}

/// The extrinsics with a weight limit: `instantiate` (whose `deploy` here stores the
/// largest value) and `call`.
#[test]
fn extrinsics_one_unit_short_of_their_limit_change_nothing() {
    new_test_ext().execute_with(|| {
        let code = probe("block_number", &[], &BOB, 0);
        let hash = upload(&ALICE, &code).unwrap();
        let instantiate = |limit: Weight, salt: u8| {
            Pvm::bare_instantiate(ALICE, hash, 0, limit, DEPOSIT_LIMIT, vec![], vec![salt])
        };
        let required = dry_run(|| instantiate(GAS_LIMIT, 1)).weight_required;
        let before = root();
        for proof in [false, true] {
            let short = instantiate(short_by_one(required, proof), 1);
            assert_eq!(
                short.result.map(drop),
                Err(DispatchError::from(Error::<Runtime>::OutOfGas))
            );
            assert_eq!(root(), before);
        }
        assert!(instantiate(required, 1).result.is_ok());

        let contract = Pvm::contract_address(&ALICE, &hash, &[1]);
        let call = |limit: Weight| {
            Pvm::call(
                signed(&ALICE),
                contract.clone(),
                0,
                limit,
                DEPOSIT_LIMIT,
                vec![],
            )
        };
        let required = dry_run(|| {
            Pvm::bare_call(ALICE, contract.clone(), 0, GAS_LIMIT, DEPOSIT_LIMIT, vec![])
        })
        .weight_required;
        let before = root();
        for proof in [false, true] {
            let error = call(short_by_one(required, proof)).unwrap_err();
            assert_eq!(error.error, Error::<Runtime>::OutOfGas.into());
            assert_eq!(root(), before);
        }
        assert!(call(required).is_ok());
    });
}

/// The committed weights cover every point their generation measured (`pallet-weights
/// --json`, committed beside them): each point's median time on each engine, and its
/// proof size. A weight edited by hand, or generated from other measurements, that falls
/// below one fails here.
#[test]
fn the_weights_cover_every_measured_point() {
    use pallet_pvm::weights::WeightInfo;
    use std::collections::BTreeMap;
    type W = ();
    macro_rules! generated {
        ($name:expr, $components:expr; $($function:ident($($arg:ident),*)),* $(,)?) => {
            match $name {
                $(stringify!($function) => {
                    #[allow(unused_mut, unused_variables)]
                    let mut values = $components.iter().copied();
                    $(let $arg = values.next().expect("a component per argument");)*
                    Some(<W as WeightInfo>::$function($($arg),*))
                })*
                _ => None,
            }
        };
    }
    let weight_of = |name: &str, components: &[u32]| -> Weight {
        generated!(name, components;
            upload_code(c), remove_code(), instantiate(i), call(i), load_code(c),
            instantiate_memory(p), sbrk(p), syscall_call_data_size(), syscall_call_data_copy(n),
            syscall_return_data(n), syscall_caller(), syscall_address(), syscall_origin(),
            syscall_value_transferred(), syscall_block_number(), syscall_now(),
            syscall_gas_left(), syscall_get_storage(n), syscall_set_storage(n, o),
            syscall_clear_storage(o), syscall_contains_storage(o), syscall_deposit_event(t, n),
            syscall_hash_blake2_256(n), syscall_hash_keccak_256(n), syscall_transfer(),
            syscall_balance(), syscall_call(t, r, i), syscall_instantiate(t, r, i),
            syscall_terminate(n), syscall_round_trip(r),
        )
        .unwrap_or_else(|| panic!("{name} was measured but has no weight function"))
    };
    let measured: serde_json::Value =
        serde_json::from_str(include_str!("../../benchmarking/weights/weights.json")).unwrap();
    let components = |result: &serde_json::Value| -> Vec<u32> {
        result["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| pair[1].as_u64().unwrap() as u32)
            .collect()
    };
    let mut benchmarks = 0;
    for run in measured.as_array().unwrap() {
        let (engine, batch) = (&run[0], &run[1]);
        let name = batch["benchmark"].as_str().unwrap();
        benchmarks += 1;
        let mut times: BTreeMap<Vec<u32>, Vec<u64>> = BTreeMap::new();
        for result in batch["time_results"].as_array().unwrap() {
            let nanoseconds = result["extrinsic_time"].as_u64().unwrap();
            times
                .entry(components(result))
                .or_default()
                .push(nanoseconds);
        }
        for (point, mut runs) in times {
            runs.sort_unstable();
            let median = runs[(runs.len() - 1) / 2] * 1_000;
            let weight = weight_of(name, &point).ref_time();
            assert!(
                weight >= median,
                "{name}{point:?} on {engine}: {weight} ps charged, {median} ps measured"
            );
        }
        for result in batch["db_results"].as_array().unwrap() {
            let point = components(result);
            let proof = result["proof_size"].as_u64().unwrap();
            let weight = weight_of(name, &point).proof_size();
            assert!(
                weight >= proof,
                "{name}{point:?}: proof size {weight} charged, {proof} measured"
            );
        }
    }
    // Every benchmark, on both engines.
    assert_eq!(benchmarks, 2 * 30);
}
