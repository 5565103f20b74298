//! Contracts calling contracts on the mock runtime: value between contracts, frames that
//! roll back alone, the call-depth limit, a callee out of gas, `terminate`, the re-entry
//! rule, the dry run's exactness for nested calls, the factory and proxy examples, and the
//! same results, gas, weights, events and storage root on every engine.
//!
//! Most scenarios drive the `probe` contract, whose selectors `[10]` (call), `[11]`
//! (instantiate), `[12]` (terminate), `[13]` (origin) and `[14]` (set storage, then run
//! another command) return the syscalls' raw results ([`pvm_tests::probe`] builds their call
//! data and reads their outputs).

use frame_support::pallet_prelude::MaxEncodedLen;
use frame_support::traits::fungible::{Inspect, InspectHold};
use frame_support::traits::Get;
use frame_support::weights::Weight;
use pallet_pvm::abi::{CallParams, CallStatus};
use pallet_pvm::{CodeInfoOf, ContractInfo, ContractInfoOf, Error, Event, HoldReason};
use pvm_contracts_examples::{COUNTER, FACTORY, HASHER, PROBE, PROXY};
use pvm_runtime_mock::*;
use pvm_tests::probe::*;
use sp_core::H256;
use sp_runtime::{AccountId32, DispatchError};

/// An account that starts with nothing.
const DAVE: AccountId32 = AccountId32::new([4; 32]);

fn code_hash(code: &[u8]) -> H256 {
    H256(sp_io::hashing::blake2_256(code))
}

fn deploy(code: &[u8], data: &[u8], salt: &[u8]) -> AccountId32 {
    let hash = match upload(&ALICE, code) {
        Ok(hash) => hash,
        Err(error) if error == Error::<Runtime>::CodeAlreadyExists.into() => code_hash(code),
        Err(error) => panic!("upload: {error:?}"),
    };
    instantiate(&ALICE, hash, data, salt).unwrap()
}

fn deploy_probe(salt: &[u8]) -> AccountId32 {
    deploy(PROBE, &[], salt)
}

/// Calls `contract` as `who` with `value`; its output (a revert is `ContractReverted`).
fn call_with(
    who: &AccountId32,
    contract: &AccountId32,
    value: Balance,
    data: &[u8],
) -> Result<Vec<u8>, DispatchError> {
    let result = Pvm::bare_call(
        who.clone(),
        contract.clone(),
        value,
        GAS_LIMIT,
        DEPOSIT_LIMIT,
        data.to_vec(),
    );
    match result.result? {
        outcome if outcome.reverted => Err(Error::<Runtime>::ContractReverted.into()),
        outcome => Ok(outcome.output),
    }
}

fn held(who: &AccountId32) -> Balance {
    Balances::balance_on_hold(
        &RuntimeHoldReason::Pvm(HoldReason::StorageDepositReserve),
        who,
    )
}

/// The deposit a contract holds for `items` entries of `bytes` bytes in total.
fn contract_deposit(items: u32, bytes: u32) -> Balance {
    let info_len = ContractInfo::<Runtime>::max_encoded_len() as Balance;
    DepositPerItem::get() * (items as Balance + 1)
        + DepositPerByte::get() * (bytes as Balance + info_len)
}

#[test]
fn value_moves_between_contracts_and_the_callee_sees_caller_and_origin() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        call_with(&BOB, &a, 10_000, &[0]).unwrap();

        let output = call_with(&BOB, &a, 0, &probe_call(&b, with_value(3_000), &[0])).unwrap();
        let (status, len, environment) = call_result(&output);
        assert_eq!((status, len), (CallStatus::Success, 120));
        assert_eq!(&environment[..32], &bytes(&a), "the callee's caller is A");
        assert_eq!(&environment[32..64], &bytes(&b));
        assert_eq!(
            u128::from_le_bytes(environment[64..80].try_into().unwrap()),
            3_000
        );
        assert_eq!(Balances::balance(&a), EXISTENTIAL_DEPOSIT + 7_000);
        assert_eq!(Balances::balance(&b), EXISTENTIAL_DEPOSIT + 3_000);
        assert!(pvm_events().contains(&Event::Called {
            caller: a.clone(),
            contract: b.clone(),
        }));

        // The origin is who signed, however deep.
        let output = call_with(&BOB, &a, 0, &probe_call(&b, all(), &PROBE_ORIGIN)).unwrap();
        assert_eq!(call_result(&output).2, bytes(&BOB));

        // More than A can send (it keeps the existential deposit): refused, nothing moves,
        // and A goes on.
        let output = call_with(&BOB, &a, 0, &probe_call(&b, with_value(7_001), &[0])).unwrap();
        assert_eq!(
            call_result(&output),
            (CallStatus::TransferFailed, 0, vec![])
        );
        assert_eq!(Balances::balance(&b), EXISTENTIAL_DEPOSIT + 3_000);

        // A contract creates one with value: the value from A, the existential deposit
        // and the new contract's deposit from the origin.
        let bob_before = Balances::balance(&BOB);
        let create = probe_instantiate(code_hash(PROBE), with_value(2_000), 1, &[]);
        let (status, child) = instantiate_result(&call_with(&BOB, &a, 0, &create).unwrap());
        assert_eq!(status, CallStatus::Success);
        assert_eq!(
            child,
            Pvm::contract_address(&a, &code_hash(PROBE), &[1; 32])
        );
        assert_eq!(Balances::balance(&child), EXISTENTIAL_DEPOSIT + 2_000);
        assert_eq!(Balances::balance(&a), EXISTENTIAL_DEPOSIT + 5_000);
        assert_eq!(
            bob_before - Balances::balance(&BOB),
            EXISTENTIAL_DEPOSIT + held(&child)
        );
        assert!(pvm_events().contains(&Event::Instantiated {
            deployer: a.clone(),
            contract: child.clone(),
            code_hash: code_hash(PROBE),
        }));
        assert_eq!(
            CodeInfoOf::<Runtime>::get(code_hash(PROBE))
                .unwrap()
                .refcount,
            3
        );
        // The same salt again: the address is taken.
        let output = call_with(&BOB, &a, 0, &create).unwrap();
        assert_eq!(instantiate_result(&output).0, CallStatus::AlreadyExists);
        // No such code.
        let missing = probe_instantiate(H256([7; 32]), all(), 2, &[]);
        let output = call_with(&BOB, &a, 0, &missing).unwrap();
        assert_eq!(
            instantiate_result(&output),
            (CallStatus::NotFound, AccountId32::new([0; 32]))
        );
        // No such contract.
        let output = call_with(&BOB, &a, 0, &probe_call(&DAVE, all(), &[0])).unwrap();
        assert_eq!(call_result(&output).0, CallStatus::NotFound);
    });
}

#[test]
fn a_callee_that_reverts_or_traps_rolls_back_only_itself() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        let b_info = ContractInfoOf::<Runtime>::get(&b).unwrap();
        System::reset_events();

        // A writes, sends B 100 and calls it; B writes and reverts.
        let b_reverts = set_then(b"b", b"2", &[8, b'n', b'o']);
        let data = set_then(b"a", b"1", &probe_call(&b, with_value(100), &b_reverts));
        let output = call_with(&BOB, &a, 500, &data).unwrap();
        assert_eq!(
            call_result(&output),
            (CallStatus::Reverted, 2, b"no".to_vec()),
            "the revert output reaches the caller"
        );
        assert_eq!(
            Pvm::get_storage(&a, b"a"),
            Some(b"1".to_vec()),
            "A's write stands"
        );
        assert_eq!(Pvm::get_storage(&b, b"b"), None, "B's write is rolled back");
        assert_eq!(Balances::balance(&a), EXISTENTIAL_DEPOSIT + 500);
        assert_eq!(
            Balances::balance(&b),
            EXISTENTIAL_DEPOSIT,
            "the value went back"
        );
        assert_eq!(ContractInfoOf::<Runtime>::get(&b).unwrap(), b_info);
        let events = pvm_events();
        assert!(events.contains(&Event::Called {
            caller: BOB,
            contract: a.clone()
        }));
        assert!(
            !events.contains(&Event::Called {
                caller: a.clone(),
                contract: b.clone()
            }),
            "B's events are rolled back with it"
        );

        // B writes and traps: the same, and A goes on to return.
        let b_traps = set_then(b"b", b"2", &[9]);
        let data = set_then(b"a2", b"1", &probe_call(&b, with_value(100), &b_traps));
        let output = call_with(&BOB, &a, 0, &data).unwrap();
        assert_eq!(call_result(&output), (CallStatus::Trapped, 0, vec![]));
        assert_eq!(Pvm::get_storage(&a, b"a2"), Some(b"1".to_vec()));
        assert_eq!(Pvm::get_storage(&b, b"b"), None);
        assert_eq!(Pvm::get_storage(&b, b"x"), None);
        assert_eq!(Balances::balance(&b), EXISTENTIAL_DEPOSIT);
    });
}

#[test]
fn the_call_depth_limit_gives_its_status_to_the_deepest_caller() {
    new_test_ext().execute_with(|| {
        let depth: u32 = <Runtime as pallet_pvm::Config>::MaxCallDepth::get();
        let depth = depth as usize;
        assert_eq!(depth, 8);
        let a = deploy_probe(b"a");
        // The outermost frame and depth - 1 calls: every frame runs (as many engine
        // instances live at once as the limit allows).
        let output = call_with(&BOB, &a, 0, &nested_self_calls(&a, depth - 1)).unwrap();
        let (statuses, innermost) = unwrap_nested(&output);
        assert_eq!(statuses, vec![CallStatus::Success; depth - 1]);
        assert_eq!(innermost, bytes(&BOB));
        // One call more: the deepest caller gets `CallDepthExceeded` and goes on.
        let output = call_with(&BOB, &a, 0, &nested_self_calls(&a, depth)).unwrap();
        let (statuses, innermost) = unwrap_nested(&output);
        let mut expected = vec![CallStatus::Success; depth - 1];
        expected.push(CallStatus::CallDepthExceeded);
        assert_eq!(statuses, expected);
        assert!(innermost.is_empty());
    });
}

#[test]
fn a_callee_out_of_gas_is_reported_and_the_caller_goes_on() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let hasher = deploy(HASHER, &[], b"");
        let heavy = [&[0u8][..], &2_000u32.to_le_bytes(), b"seed"].concat();
        // What the hasher's work needs when called directly: a callee's meter counts the
        // same charges, so as a limit it is exactly enough, and one unit less is not.
        let needed = Pvm::bare_call(
            BOB,
            hasher.clone(),
            0,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            heavy.clone(),
        )
        .weight_consumed;
        let limit = needed.saturating_sub(Weight::from_parts(1, 0));
        let params = CallParams {
            ref_time_limit: limit.ref_time(),
            proof_size_limit: limit.proof_size(),
            ..all()
        };
        let data = set_then(b"after", b"1", &probe_call(&hasher, params, &heavy));
        let result = Pvm::bare_call(BOB, a.clone(), 0, GAS_LIMIT, DEPOSIT_LIMIT, data.clone());
        let outcome = result.result.unwrap();
        assert!(!outcome.reverted);
        assert_eq!(
            call_result(&outcome.output),
            (CallStatus::OutOfGas, 0, vec![])
        );
        // The caller paid the callee's whole limit, and its own work besides.
        assert!(result.weight_consumed.ref_time() > limit.ref_time());
        assert!(result.weight_consumed.ref_time() < 2 * limit.ref_time());
        assert_eq!(Pvm::get_storage(&a, b"after"), Some(b"1".to_vec()));

        // With exactly what it needs, the same call returns the hash.
        let params = CallParams {
            ref_time_limit: needed.ref_time(),
            proof_size_limit: needed.proof_size(),
            ..all()
        };
        let output = call_with(&BOB, &a, 0, &probe_call(&hasher, params, &heavy)).unwrap();
        let (status, len, _) = call_result(&output);
        assert_eq!((status, len), (CallStatus::Success, 32));
    });
}

#[test]
fn terminate_pays_out_removes_the_contract_and_refunds_its_deposit() {
    new_test_ext().execute_with(|| {
        let c = deploy_probe(b"c");
        // Storage paid by BOB, value from BOB.
        call_with(&BOB, &c, 5_000, &probe_set(b"key", &[7; 100])).unwrap();
        call_with(&BOB, &c, 0, &probe_set(b"k2", b"v")).unwrap();
        let held_before = held(&c);
        assert_eq!(held_before, contract_deposit(2, 3 + 100 + 2 + 1));
        let refcount = CodeInfoOf::<Runtime>::get(code_hash(PROBE))
            .unwrap()
            .refcount;
        let charlie_before = Balances::balance(&CHARLIE);
        System::reset_events();

        let result = Pvm::bare_call(
            CHARLIE,
            c.clone(),
            0,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            probe_terminate(&DAVE),
        );
        let outcome = result.result.unwrap();
        assert!(!outcome.reverted && outcome.output.is_empty());
        assert_eq!(result.deposit_refunded, held_before);
        // The balance (value and existential deposit) to the beneficiary, the deposit to
        // the origin; the account, its storage and its info are gone.
        assert_eq!(Balances::balance(&DAVE), EXISTENTIAL_DEPOSIT + 5_000);
        assert_eq!(Balances::balance(&CHARLIE), charlie_before + held_before);
        assert_eq!(Balances::total_balance(&c), 0);
        assert!(!System::account_exists(&c));
        assert_eq!(ContractInfoOf::<Runtime>::get(&c), None);
        assert_eq!(Pvm::get_storage(&c, b"key"), None);
        assert_eq!(Pvm::get_storage(&c, b"k2"), None);
        assert_eq!(
            pallet_pvm::ContractStorage::<Runtime>::iter_prefix(&c).count(),
            0
        );
        assert_eq!(
            CodeInfoOf::<Runtime>::get(code_hash(PROBE))
                .unwrap()
                .refcount,
            refcount - 1
        );
        assert!(pvm_events().contains(&Event::Terminated {
            contract: c.clone(),
            beneficiary: DAVE,
        }));
        // It cannot be called any more.
        assert_eq!(
            call_with(&BOB, &c, 0, &[0]),
            Err(Error::<Runtime>::ContractNotFound.into())
        );

        // Terminated by a call from another contract: the caller goes on.
        let a = deploy_probe(b"a");
        let d = deploy_probe(b"d");
        let output = call_with(&BOB, &a, 0, &probe_call(&d, all(), &probe_terminate(&a))).unwrap();
        assert_eq!(call_result(&output), (CallStatus::Success, 0, vec![]));
        assert_eq!(ContractInfoOf::<Runtime>::get(&d), None);
        assert_eq!(Balances::balance(&a), 2 * EXISTENTIAL_DEPOSIT);

        // Not to itself.
        assert_eq!(
            call_with(&BOB, &a, 0, &probe_terminate(&a)),
            Err(Error::<Runtime>::BeneficiaryIsSelf.into())
        );
        assert!(ContractInfoOf::<Runtime>::contains_key(&a));
    });
}

#[test]
fn reentry_is_refused_unless_every_frame_of_the_callee_allows_it() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        // Calling oneself is re-entry.
        let output = call_with(&BOB, &a, 0, &probe_call(&a, all(), &PROBE_ORIGIN)).unwrap();
        assert_eq!(call_result(&output).0, CallStatus::ReentranceDenied);
        // A -> B -> A without the flag: B gets the refusal and goes on.
        let data = probe_call(&b, all(), &probe_call(&a, all(), &PROBE_ORIGIN));
        let (statuses, _) = unwrap_nested(&call_with(&BOB, &a, 0, &data).unwrap());
        assert_eq!(
            statuses,
            vec![CallStatus::Success, CallStatus::ReentranceDenied]
        );
        // A allows it: A -> B -> A runs, but B did not allow it: A -> B -> A -> B is refused.
        let data = probe_call(
            &b,
            reentrant(),
            &probe_call(&a, all(), &probe_call(&b, all(), &PROBE_ORIGIN)),
        );
        let (statuses, _) = unwrap_nested(&call_with(&BOB, &a, 0, &data).unwrap());
        assert_eq!(
            statuses,
            vec![
                CallStatus::Success,
                CallStatus::Success,
                CallStatus::ReentranceDenied
            ]
        );
        // A contract re-entered cannot terminate itself under its own caller's feet.
        let data = probe_call(
            &b,
            reentrant(),
            &probe_call(&a, all(), &probe_terminate(&DAVE)),
        );
        let (statuses, _) = unwrap_nested(&call_with(&BOB, &a, 0, &data).unwrap());
        assert_eq!(statuses, vec![CallStatus::Success, CallStatus::Trapped]);
        assert!(ContractInfoOf::<Runtime>::contains_key(&a));
    });
}

#[test]
fn a_reentrant_frames_storage_accounting_survives_the_outer_frames_write_back() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        // A writes k1, calls B allowing re-entry; B calls A, which writes k2 and k3 and
        // clears nothing; then the outer A frame ends and writes its info back.
        let inner = set_then(b"k2", b"v22", &probe_set(b"k3", b"v333"));
        let data = set_then(
            b"k1",
            b"v1",
            &probe_call(&b, reentrant(), &probe_call(&a, all(), &inner)),
        );
        let (statuses, _) = unwrap_nested(&call_with(&BOB, &a, 0, &data).unwrap());
        assert_eq!(statuses, vec![CallStatus::Success, CallStatus::Success]);
        let info = ContractInfoOf::<Runtime>::get(&a).unwrap();
        let bytes_stored = (2 + 2) + (2 + 3) + (2 + 4);
        assert_eq!((info.storage_items, info.storage_bytes), (3, bytes_stored));
        assert_eq!(info.storage_deposit, contract_deposit(3, bytes_stored));
        assert_eq!(held(&a), info.storage_deposit);
        for (key, value) in [(&b"k1"[..], &b"v1"[..]), (b"k2", b"v22"), (b"k3", b"v333")] {
            assert_eq!(Pvm::get_storage(&a, key), Some(value.to_vec()));
        }

        // The same when the re-entrant frame reverts: the outer frame's own writes stay
        // accounted for, the inner one's are gone.
        let inner = set_then(b"k4", b"v4", &[8]);
        let data = set_then(
            b"k5",
            b"v5",
            &probe_call(&b, reentrant(), &probe_call(&a, all(), &inner)),
        );
        let (statuses, _) = unwrap_nested(&call_with(&BOB, &a, 0, &data).unwrap());
        assert_eq!(statuses, vec![CallStatus::Success, CallStatus::Reverted]);
        let info = ContractInfoOf::<Runtime>::get(&a).unwrap();
        let bytes_stored = bytes_stored + 2 + 2;
        assert_eq!((info.storage_items, info.storage_bytes), (4, bytes_stored));
        assert_eq!(held(&a), contract_deposit(4, bytes_stored));
        assert_eq!(Pvm::get_storage(&a, b"k4"), None);
    });
}

#[test]
fn a_callees_deposit_limit_is_its_own_and_the_callers_bounds_it() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        // B's write of `key` = `value` needs this much more deposit.
        let (key, value) = (b"key".as_slice(), [7u8; 50]);
        let needed = contract_deposit(1, (key.len() + value.len()) as u32) - held(&b);
        let with_deposit = |deposit_limit: u128| CallParams {
            deposit_limit,
            ..all()
        };
        // One less than B needs: B is refused, its write rolled back; A goes on.
        let data = set_then(
            b"a",
            b"1",
            &probe_call(&b, with_deposit(needed - 1), &probe_set(key, &value)),
        );
        let output = call_with(&BOB, &a, 0, &data).unwrap();
        assert_eq!(
            call_result(&output),
            (CallStatus::DepositLimitExhausted, 0, vec![])
        );
        assert_eq!(Pvm::get_storage(&b, key), None);
        assert_eq!(Pvm::get_storage(&a, b"a"), Some(b"1".to_vec()));

        // Exactly what it needs: done.
        let data = probe_call(&b, with_deposit(needed), &probe_set(key, &value));
        let output = call_with(&BOB, &a, 0, &data).unwrap();
        assert_eq!(call_result(&output).0, CallStatus::Success);
        assert_eq!(Pvm::get_storage(&b, key), Some(value.to_vec()));

        // However much the callee is allowed, the extrinsic's limit bounds it: here the
        // outer limit leaves B less than it needs.
        let data = probe_call(&b, all(), &probe_set(b"key2", &value));
        let result = Pvm::bare_call(BOB, a.clone(), 0, GAS_LIMIT, needed - 1, data);
        assert_eq!(
            call_result(&result.result.unwrap().output),
            (CallStatus::DepositLimitExhausted, 0, vec![])
        );
        assert_eq!(Pvm::get_storage(&b, b"key2"), None);
    });
}

#[test]
fn unknown_call_flags_trap_the_caller() {
    new_test_ext().execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        let params = CallParams { flags: 2, ..all() };
        assert_eq!(
            call_with(&BOB, &a, 0, &probe_call(&b, params, &[0])),
            Err(Error::<Runtime>::InvalidSyscallFlags.into())
        );
    });
}

/// The dry run through the runtime API reports `W` and `D`: the call with exactly those
/// limits succeeds with the dry run's outcome, gas and events, and with one unit less of
/// either weight component it runs out of gas and changes nothing.
fn assert_dry_run_is_exact(who: &AccountId32, contract: &AccountId32, data: &[u8]) -> Balance {
    let dry = dry_run_call(who, contract, 0, (None, None), data);
    let outcome = dry.result.clone().expect("the dry run succeeds");
    assert!(!outcome.reverted);
    let (required, deposit) = (dry.weight_required, dry.storage_deposit_charged);
    let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
    for short in [
        required.saturating_sub(Weight::from_parts(1, 0)),
        required.saturating_sub(Weight::from_parts(0, 1)),
    ] {
        let error = Pvm::call(
            signed(who),
            contract.clone(),
            0,
            short,
            deposit,
            data.to_vec(),
        )
        .unwrap_err();
        assert_eq!(error.error, Error::<Runtime>::OutOfGas.into(), "{short:?}");
        assert_eq!(sp_io::storage::root(sp_runtime::StateVersion::V1), root);
    }
    System::reset_events();
    let result = Pvm::bare_call(
        who.clone(),
        contract.clone(),
        0,
        required,
        deposit,
        data.to_vec(),
    );
    assert_eq!(result.result.unwrap(), outcome);
    // Worst-case charges given back after the work leave the consumed weight at most
    // what was required.
    assert_eq!(result.weight_required, required);
    assert!(result.weight_consumed.all_lte(required));
    assert_eq!(result.gas_consumed, dry.gas_consumed);
    assert_eq!(result.deposit_charged, deposit);
    assert_eq!(System::events(), dry.events);
    deposit
}

#[test]
fn the_dry_runs_weight_is_exactly_enough_for_nested_calls() {
    new_test_ext().execute_with(|| {
        let counter_hash = upload(&ALICE, COUNTER).unwrap();
        let factory = deploy(FACTORY, &counter_hash.0, b"");
        // A nested instantiation.
        let create = |salt: u8| [&[0u8][..], &[salt; 32], &40u64.to_le_bytes()].concat();
        let dry = dry_run_call(&BOB, &factory, 0, (None, None), &create(5));
        let deposit = dry.storage_deposit_charged;
        assert!(deposit > 0);
        // Its deposit is exact too: the factory's own write is the last charge.
        assert_eq!(
            Pvm::call(
                signed(&BOB),
                factory.clone(),
                0,
                dry.weight_required,
                deposit - 1,
                create(5),
            )
            .unwrap_err()
            .error,
            Error::<Runtime>::StorageDepositLimitExhausted.into()
        );
        assert_eq!(assert_dry_run_is_exact(&BOB, &factory, &create(5)), deposit);
        let child = Pvm::contract_address(&factory, &counter_hash, &[5; 32]);
        assert_eq!(call(&BOB, &child, &[2]).unwrap(), 40u64.to_le_bytes());

        // A nested call through the proxy.
        let proxy = deploy(PROXY, &bytes(&child), b"");
        let increment = [&[0u8][..], &2u64.to_le_bytes()].concat();
        assert_dry_run_is_exact(&BOB, &proxy, &increment);
        assert_eq!(call(&BOB, &child, &[2]).unwrap(), 42u64.to_le_bytes());

        // Re-entry, with the caller's deposit settled before and storage written inside.
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        let inner = set_then(b"k2", b"v22", &probe_set(b"k3", b"v333"));
        let data = set_then(
            b"k1",
            b"v1",
            &probe_call(&b, reentrant(), &probe_call(&a, all(), &inner)),
        );
        assert_dry_run_is_exact(&BOB, &a, &data);
        assert_eq!(Pvm::get_storage(&a, b"k3"), Some(b"v333".to_vec()));
    });
}

fn u32_output(output: &[u8]) -> u32 {
    u32::from_le_bytes(output.try_into().unwrap())
}

#[test]
fn the_factory_creates_contracts_and_goes_on_when_a_creation_fails() {
    new_test_ext().execute_with(|| {
        let counter_hash = upload(&ALICE, COUNTER).unwrap();
        let factory = deploy(FACTORY, &counter_hash.0, b"");
        let output = call_with(
            &BOB,
            &factory,
            1_000,
            &factory_create(1, &40u64.to_le_bytes()),
        )
        .unwrap();
        let (status, child) = instantiate_result(&output);
        assert_eq!(status, CallStatus::Success);
        assert_eq!(
            child,
            Pvm::contract_address(&factory, &counter_hash, &[1; 32])
        );
        assert_eq!(call(&BOB, &child, &[2]).unwrap(), 40u64.to_le_bytes());
        assert_eq!(Balances::balance(&child), EXISTENTIAL_DEPOSIT + 1_000);
        assert_eq!(u32_output(&call(&BOB, &factory, &[1]).unwrap()), 1);
        let first = [&[2u8][..], &0u32.to_le_bytes()].concat();
        assert_eq!(call(&BOB, &factory, &first).unwrap(), bytes(&child));

        // The same salt: taken. The factory records the failure, keeps the value, goes on.
        let output = call_with(
            &BOB,
            &factory,
            500,
            &factory_create(1, &40u64.to_le_bytes()),
        )
        .unwrap();
        assert_eq!(
            instantiate_result(&output),
            (CallStatus::AlreadyExists, AccountId32::new([0; 32]))
        );
        // A deploy that reverts (the counter refuses 3 bytes of input).
        let output = call_with(&BOB, &factory, 0, &factory_create(2, &[1, 2, 3])).unwrap();
        assert_eq!(instantiate_result(&output).0, CallStatus::Reverted);
        assert_eq!(u32_output(&call(&BOB, &factory, &[3]).unwrap()), 2);
        assert_eq!(u32_output(&call(&BOB, &factory, &[1]).unwrap()), 1);
        assert_eq!(Balances::balance(&factory), EXISTENTIAL_DEPOSIT + 500);
        let second = [&[2u8][..], &1u32.to_le_bytes()].concat();
        assert_eq!(
            call(&BOB, &factory, &second),
            Err(Error::<Runtime>::ContractReverted.into())
        );
    });
}

#[test]
fn the_proxy_forwards_bubbles_reverts_and_obeys_its_owner() {
    new_test_ext().execute_with(|| {
        let counter = deploy(COUNTER, &5u64.to_le_bytes(), b"");
        let proxy = deploy(PROXY, &bytes(&counter), b"");
        let increment = [&[0u8][..], &2u64.to_le_bytes()].concat();
        let decrement = [&[1u8][..], &100u64.to_le_bytes()].concat();
        assert_eq!(
            call_with(&BOB, &proxy, 300, &increment).unwrap(),
            7u64.to_le_bytes()
        );
        assert_eq!(Balances::balance(&counter), EXISTENTIAL_DEPOSIT + 300);
        assert_eq!(Balances::balance(&proxy), EXISTENTIAL_DEPOSIT);
        assert!(pvm_events().contains(&Event::Called {
            caller: proxy.clone(),
            contract: counter.clone()
        }));
        // The target's revert is the proxy's, output and all; nothing moved.
        let result = Pvm::bare_call(BOB, proxy.clone(), 300, GAS_LIMIT, DEPOSIT_LIMIT, decrement);
        assert_eq!(
            result.result.unwrap(),
            pallet_pvm::CallOutcome {
                output: vec![],
                reverted: true
            }
        );
        assert_eq!(Balances::balance(&counter), EXISTENTIAL_DEPOSIT + 300);
        assert_eq!(call(&BOB, &counter, &[2]).unwrap(), 7u64.to_le_bytes());

        // The owner's calls are commands: retarget to nowhere, and forwarding fails with
        // the status as the revert output.
        call(&ALICE, &proxy, &[&[0u8][..], &bytes(&DAVE)].concat()).unwrap();
        let result = Pvm::bare_call(BOB, proxy.clone(), 0, GAS_LIMIT, DEPOSIT_LIMIT, vec![2]);
        assert_eq!(
            result.result.unwrap().output,
            CallStatus::NotFound.code().to_le_bytes()
        );
        assert_eq!(
            call(&ALICE, &proxy, &[2]),
            Err(Error::<Runtime>::ContractReverted.into())
        );
        call(&ALICE, &proxy, &[&[0u8][..], &bytes(&counter)].concat()).unwrap();
        assert_eq!(call(&BOB, &proxy, &[2]).unwrap(), 7u64.to_le_bytes());

        // And it ends on the owner's word: its balance to the beneficiary.
        let charlie_before = Balances::balance(&CHARLIE);
        call(&ALICE, &proxy, &[&[1u8][..], &bytes(&CHARLIE)].concat()).unwrap();
        assert_eq!(
            Balances::balance(&CHARLIE),
            charlie_before + EXISTENTIAL_DEPOSIT
        );
        assert_eq!(ContractInfoOf::<Runtime>::get(&proxy), None);
    });
}

/// Outputs, gas, weights and deposits of a scenario of nested calls, its events and the
/// final storage root.
type Transcript = (Vec<(Vec<u8>, u64, Weight, u128, u128)>, Vec<u8>, H256);

fn transcript(mut ext: sp_io::TestExternalities) -> Transcript {
    use codec::Encode;
    ext.execute_with(|| {
        let a = deploy_probe(b"a");
        let b = deploy_probe(b"b");
        let hasher = deploy(HASHER, &[], b"");
        let counter_hash = upload(&ALICE, COUNTER).unwrap();
        let factory = deploy(FACTORY, &counter_hash.0, b"");
        let child = Pvm::contract_address(&factory, &counter_hash, &[1; 32]);
        let proxy = deploy(PROXY, &bytes(&child), b"");
        let heavy = [&[1u8][..], &500u32.to_le_bytes(), b"seed"].concat();
        let starved = starved(500_000_000);
        let calls: Vec<(&AccountId32, Balance, Vec<u8>)> = vec![
            (&a, 10_000, probe_call(&b, with_value(3_000), &[0])),
            (&factory, 1_000, factory_create(1, &40u64.to_le_bytes())),
            (&proxy, 0, [&[0u8][..], &2u64.to_le_bytes()].concat()),
            (
                &a,
                0,
                set_then(b"k", b"v", &probe_call(&hasher, starved, &heavy)),
            ),
            (&a, 0, nested_self_calls(&a, 8)),
            (
                &a,
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
            ),
            (&b, 0, set_then(b"b", b"1", &[8])),
            (&a, 0, probe_call(&b, all(), &probe_terminate(&DAVE))),
        ];
        let outcomes = calls
            .into_iter()
            .map(|(contract, value, data)| {
                let result =
                    Pvm::bare_call(BOB, contract.clone(), value, GAS_LIMIT, DEPOSIT_LIMIT, data);
                (
                    result.result.encode(),
                    result.gas_consumed,
                    result.weight_consumed,
                    result.deposit_charged,
                    result.deposit_refunded,
                )
            })
            .collect();
        let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
        (outcomes, System::events().encode(), H256::from_slice(&root))
    })
}

#[test]
fn every_engine_gives_the_same_nested_calls() {
    use pvm_core::BackendKind;
    let interpreter = transcript(new_test_ext());
    assert!(
        interpreter.0.iter().all(|(result, ..)| result[0] == 0),
        "every call returns: {:?}",
        interpreter.0
    );
    let in_runtime = with_in_runtime_engine(|| transcript(new_test_ext()));
    assert_eq!(interpreter, in_runtime, "in-runtime interpreter");
    let jit = transcript(new_test_ext_with_backend(BackendKind::Jit));
    assert_eq!(interpreter, jit, "native JIT");
    let crosscheck = transcript(new_test_ext_with_backend(BackendKind::Crosscheck));
    assert_eq!(interpreter, crosscheck, "JIT and interpreter in lockstep");
}
