//! End to end on the mock runtime: every example contract uploaded, instantiated and
//! called through the extrinsics, with balances, deposits, events and storage checked.

use frame_support::traits::fungible::{Inspect, InspectHold};
use frame_support::weights::Weight;
use pallet_pvm::{CodeInfoOf, ContractInfoOf, Error, Event, HoldReason};
use pvm_contracts_examples::{token, COUNTER, FLIPPER, HASHER, TOKEN};
use pvm_runtime_mock::*;
use sp_core::H256;
use sp_runtime::AccountId32;

fn held(reason: HoldReason, who: &AccountId32) -> Balance {
    Balances::balance_on_hold(&RuntimeHoldReason::Pvm(reason), who)
}

fn storage(contract: &AccountId32, key: &[u8]) -> Option<Vec<u8>> {
    Pvm::get_storage(contract, key)
}

/// The deposit a contract holds for `items` entries of `bytes` bytes in total.
fn contract_deposit(items: u32, bytes: u32) -> Balance {
    use frame_support::pallet_prelude::MaxEncodedLen;
    let info_len = pallet_pvm::ContractInfo::<Runtime>::max_encoded_len() as Balance;
    DepositPerItem::get() * (items as Balance + 1)
        + DepositPerByte::get() * (bytes as Balance + info_len)
}

fn emitted(contract: &AccountId32) -> Vec<(Vec<H256>, Vec<u8>)> {
    pvm_events()
        .into_iter()
        .filter_map(|event| match event {
            Event::ContractEmitted {
                contract: from,
                topics,
                data,
            } if &from == contract => Some((topics, data)),
            _ => None,
        })
        .collect()
}

#[test]
fn flipper_upload_instantiate_call() {
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, FLIPPER).unwrap();
        let code_deposit = Pvm::code_deposit(FLIPPER.len() as u32);
        assert_eq!(
            held(HoldReason::CodeUploadDepositReserve, &ALICE),
            code_deposit
        );
        assert!(pvm_events().contains(&Event::CodeStored {
            code_hash,
            deposit: code_deposit,
            uploader: ALICE,
        }));
        let info = CodeInfoOf::<Runtime>::get(code_hash).unwrap();
        assert_eq!(
            (info.refcount, info.code_len, info.blob_version),
            (0, FLIPPER.len() as u32, 2)
        );

        let flipper = instantiate(&ALICE, code_hash, &[0], b"salt").unwrap();
        assert!(pvm_events().contains(&Event::Instantiated {
            deployer: ALICE,
            contract: flipper.clone(),
            code_hash,
        }));
        assert_eq!(CodeInfoOf::<Runtime>::get(code_hash).unwrap().refcount, 1);
        assert_eq!(storage(&flipper, b"flip"), Some(vec![0]));

        // The contract account: the existential deposit free, its storage deposit held.
        let deposit = contract_deposit(1, 4 + 1);
        assert_eq!(held(HoldReason::StorageDepositReserve, &flipper), deposit);
        assert_eq!(Balances::balance(&flipper), EXISTENTIAL_DEPOSIT);
        assert_eq!(
            Balances::total_balance(&ALICE),
            INITIAL_BALANCE - deposit - EXISTENTIAL_DEPOSIT
        );

        let post = call_extrinsic(&BOB, &flipper, &[0]).unwrap();
        assert!(post.actual_weight.unwrap().ref_time() > 0);
        assert!(pvm_events().contains(&Event::Called {
            caller: BOB,
            contract: flipper.clone(),
        }));
        assert_eq!(storage(&flipper, b"flip"), Some(vec![1]));
        assert_eq!(call(&BOB, &flipper, &[1]).unwrap(), vec![1]);
        call_extrinsic(&BOB, &flipper, &[0]).unwrap();
        assert_eq!(call(&BOB, &flipper, &[1]).unwrap(), vec![0]);
        // Flipping stores no more bytes: no further deposit.
        assert_eq!(held(HoldReason::StorageDepositReserve, &flipper), deposit);
        assert_eq!(Balances::total_balance(&BOB), INITIAL_BALANCE);

        // An unknown selector reverts, and the extrinsic fails with that.
        let error = call_extrinsic(&BOB, &flipper, &[7]).unwrap_err();
        assert_eq!(error.error, Error::<Runtime>::ContractReverted.into());
    });
}

#[test]
fn remove_code_is_refused_while_in_use_and_releases_the_deposit_after() {
    new_test_ext().execute_with(|| {
        let flipper_hash = upload(&ALICE, FLIPPER).unwrap();
        instantiate(&ALICE, flipper_hash, &[], &[]).unwrap();
        assert_eq!(
            Pvm::remove_code(signed(&ALICE), flipper_hash),
            Err(Error::<Runtime>::CodeInUse.into())
        );

        let counter_hash = upload(&ALICE, COUNTER).unwrap();
        assert_eq!(
            Pvm::remove_code(signed(&BOB), counter_hash),
            Err(Error::<Runtime>::NotCodeOwner.into())
        );
        let held_before = held(HoldReason::CodeUploadDepositReserve, &ALICE);
        Pvm::remove_code(signed(&ALICE), counter_hash).unwrap();
        let released = Pvm::code_deposit(COUNTER.len() as u32);
        assert_eq!(
            held(HoldReason::CodeUploadDepositReserve, &ALICE),
            held_before - released
        );
        assert!(pvm_events().contains(&Event::CodeRemoved {
            code_hash: counter_hash,
            deposit_released: released,
            remover: ALICE,
        }));
        assert!(CodeInfoOf::<Runtime>::get(counter_hash).is_none());
        assert_eq!(
            Pvm::remove_code(signed(&ALICE), counter_hash),
            Err(Error::<Runtime>::CodeNotFound.into())
        );
    });
}

#[test]
fn counter_counts_and_reverts_on_underflow() {
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, COUNTER).unwrap();
        let counter = instantiate(&ALICE, code_hash, &5u64.to_le_bytes(), &[]).unwrap();
        let op = |selector: u8, by: u64| [&[selector][..], &by.to_le_bytes()].concat();
        assert_eq!(
            call(&BOB, &counter, &op(0, 10)).unwrap(),
            15u64.to_le_bytes()
        );
        assert_eq!(
            call(&BOB, &counter, &op(1, 3)).unwrap(),
            12u64.to_le_bytes()
        );
        assert_eq!(call(&BOB, &counter, &[2]).unwrap(), 12u64.to_le_bytes());
        assert_eq!(
            call(&BOB, &counter, &op(1, 13)),
            Err(Error::<Runtime>::ContractReverted.into())
        );
        assert_eq!(
            storage(&counter, b"count"),
            Some(12u64.to_le_bytes().to_vec())
        );
        assert_eq!(
            call(&BOB, &counter, &op(0, u64::MAX)),
            Err(Error::<Runtime>::ContractReverted.into())
        );
        call_extrinsic(&CHARLIE, &counter, &op(0, 1)).unwrap();
        assert_eq!(call(&BOB, &counter, &[2]).unwrap(), 13u64.to_le_bytes());
    });
}

#[test]
fn token_transfers_approvals_and_events() {
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, TOKEN).unwrap();
        let supply: u128 = 1_000_000;
        let token_account = instantiate(&ALICE, code_hash, &supply.to_le_bytes(), &[]).unwrap();
        let account = |who: &AccountId32| -> [u8; 32] { who.clone().into() };
        let balance_of = |who: &AccountId32| {
            let out = call(
                &CHARLIE,
                &token_account,
                &[&[1u8][..], &account(who)].concat(),
            )
            .unwrap();
            u128::from_le_bytes(out.try_into().unwrap())
        };
        let transfer_topic = H256(token::TRANSFER_TOPIC);
        let approval_topic = H256(token::APPROVAL_TOPIC);
        let topic = |who: &AccountId32| H256(account(who));

        assert_eq!(
            call(&BOB, &token_account, &[0]).unwrap(),
            supply.to_le_bytes()
        );
        assert_eq!(balance_of(&ALICE), supply);
        assert_eq!(
            emitted(&token_account),
            vec![(
                vec![transfer_topic, H256([0; 32]), topic(&ALICE)],
                supply.to_le_bytes().to_vec()
            )]
        );

        // transfer 300 ALICE -> BOB
        let transfer = [&[2u8][..], &account(&BOB), &300u128.to_le_bytes()].concat();
        call_extrinsic(&ALICE, &token_account, &transfer).unwrap();
        assert_eq!((balance_of(&ALICE), balance_of(&BOB)), (supply - 300, 300));
        assert_eq!(
            emitted(&token_account).last().unwrap(),
            &(
                vec![transfer_topic, topic(&ALICE), topic(&BOB)],
                300u128.to_le_bytes().to_vec()
            )
        );

        // BOB cannot send more than he has; nothing changes.
        let too_much = [&[2u8][..], &account(&CHARLIE), &301u128.to_le_bytes()].concat();
        let events_before = pvm_events().len();
        let error = call_extrinsic(&BOB, &token_account, &too_much).unwrap_err();
        assert_eq!(error.error, Error::<Runtime>::ContractReverted.into());
        assert_eq!(pvm_events().len(), events_before);
        assert_eq!((balance_of(&BOB), balance_of(&CHARLIE)), (300, 0));

        // ALICE approves CHARLIE for 50; CHARLIE moves 40 of ALICE's to BOB.
        let approve = [&[3u8][..], &account(&CHARLIE), &50u128.to_le_bytes()].concat();
        call_extrinsic(&ALICE, &token_account, &approve).unwrap();
        assert_eq!(
            emitted(&token_account).last().unwrap(),
            &(
                vec![approval_topic, topic(&ALICE), topic(&CHARLIE)],
                50u128.to_le_bytes().to_vec()
            )
        );
        let allowance_query = [&[4u8][..], &account(&ALICE), &account(&CHARLIE)].concat();
        assert_eq!(
            call(&BOB, &token_account, &allowance_query).unwrap(),
            50u128.to_le_bytes()
        );
        let transfer_from = |amount: u128| {
            [
                &[5u8][..],
                &account(&ALICE),
                &account(&BOB),
                &amount.to_le_bytes(),
            ]
            .concat()
        };
        call_extrinsic(&CHARLIE, &token_account, &transfer_from(40)).unwrap();
        assert_eq!((balance_of(&ALICE), balance_of(&BOB)), (supply - 340, 340));
        assert_eq!(
            call(&BOB, &token_account, &allowance_query).unwrap(),
            10u128.to_le_bytes()
        );
        // Over the remaining allowance: reverted.
        assert_eq!(
            call_extrinsic(&CHARLIE, &token_account, &transfer_from(11))
                .unwrap_err()
                .error,
            Error::<Runtime>::ContractReverted.into()
        );

        // The contract's deposit covers its storage: the total, ALICE's and BOB's balances
        // and one allowance (the reverted transfer to CHARLIE stored nothing).
        let info = ContractInfoOf::<Runtime>::get(&token_account).unwrap();
        assert_eq!(info.storage_items, 4);
        assert_eq!(info.storage_bytes, (5 + 16) + 2 * (36 + 16) + (68 + 16));
        assert_eq!(
            held(HoldReason::StorageDepositReserve, &token_account),
            contract_deposit(info.storage_items, info.storage_bytes)
        );
    });
}

fn iterate(rounds: u32, seed: &[u8], hash: fn(&[u8]) -> [u8; 32]) -> Vec<u8> {
    let mut state = seed.to_vec();
    for _ in 0..rounds {
        state = hash(&state).to_vec();
    }
    state
}

#[test]
fn hasher_in_guest_and_by_syscall() {
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, HASHER).unwrap();
        let hasher = instantiate(&ALICE, code_hash, &[], &[]).unwrap();
        let request =
            |mode: u8, rounds: u32| [&[mode][..], &rounds.to_le_bytes(), b"seed"].concat();

        let keccak = Pvm::bare_call(
            ALICE,
            hasher.clone(),
            0,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            request(0, 100),
        );
        let blake = Pvm::bare_call(
            ALICE,
            hasher.clone(),
            0,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            request(1, 100),
        );
        assert_eq!(
            keccak.result.unwrap().output,
            iterate(100, b"seed", sp_io::hashing::keccak_256)
        );
        assert_eq!(
            blake.result.unwrap().output,
            iterate(100, b"seed", sp_io::hashing::blake2_256)
        );
        // Hashing in the guest is the compute-heavy path: many more instructions run
        // (the syscall path pays its round trips and the hash in weight instead).
        assert!(keccak.gas_consumed > 5 * blake.gas_consumed);
    });
}

/// A few calls of every kind; their outputs and weights, and the final storage root.
type Transcript = (Vec<(Vec<u8>, Weight)>, Vec<u8>);

fn transcript(mut ext: sp_io::TestExternalities) -> Transcript {
    ext.execute_with(|| {
        let token_hash = upload(&ALICE, TOKEN).unwrap();
        let token_account = instantiate(&ALICE, token_hash, &1_000u128.to_le_bytes(), &[]).unwrap();
        let bob: [u8; 32] = BOB.into();
        let transfer = [&[2u8][..], &bob, &7u128.to_le_bytes()].concat();
        let hasher_hash = upload(&ALICE, HASHER).unwrap();
        let hasher = instantiate(&ALICE, hasher_hash, &[], &[]).unwrap();
        let mut outcomes = Vec::new();
        for (contract, data) in [
            (&token_account, transfer),
            (&hasher, [&[0u8][..], &20u32.to_le_bytes(), b"x"].concat()),
            (&hasher, [&[1u8][..], &20u32.to_le_bytes(), b"x"].concat()),
        ] {
            let result = Pvm::bare_call(ALICE, contract.clone(), 0, GAS_LIMIT, DEPOSIT_LIMIT, data);
            outcomes.push((result.result.unwrap().output, result.weight_consumed));
        }
        (outcomes, sp_io::storage::root(sp_runtime::StateVersion::V1))
    })
}

#[test]
fn every_engine_gives_the_same_results_and_weight() {
    use pvm_core::BackendKind;
    let interpreter = transcript(new_test_ext());
    let in_runtime = with_in_runtime_engine(|| transcript(new_test_ext()));
    assert_eq!(interpreter, in_runtime, "in-runtime interpreter");
    let jit = transcript(new_test_ext_with_backend(BackendKind::Jit));
    assert_eq!(interpreter, jit, "native JIT");
    let crosscheck = transcript(new_test_ext_with_backend(BackendKind::Crosscheck));
    assert_eq!(interpreter, crosscheck, "JIT and interpreter in lockstep");
}

#[test]
fn instantiate_with_code_uploads_once_and_value_moves() {
    new_test_ext().execute_with(|| {
        let alice_before = Balances::free_balance(&ALICE);
        let post = Pvm::instantiate_with_code(
            signed(&ALICE),
            5_000,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            COUNTER.to_vec(),
            7u64.to_le_bytes().to_vec(),
            vec![1],
        )
        .unwrap();
        assert!(post.actual_weight.unwrap().ref_time() > 0);
        let code_hash = H256(sp_io::hashing::blake2_256(COUNTER));
        let counter = Pvm::contract_address(&ALICE, &code_hash, &[1]);
        let events = pvm_events();
        assert!(matches!(events[0], Event::CodeStored { .. }));
        assert!(events.contains(&Event::Instantiated {
            deployer: ALICE,
            contract: counter.clone(),
            code_hash,
        }));
        assert_eq!(call(&BOB, &counter, &[2]).unwrap(), 7u64.to_le_bytes());
        // The value and the existential deposit are free on the contract; ALICE paid them,
        // the code deposit and the contract's storage deposit.
        assert_eq!(
            Balances::free_balance(&counter),
            EXISTENTIAL_DEPOSIT + 5_000
        );
        let storage_deposit = held(HoldReason::StorageDepositReserve, &counter);
        assert_eq!(storage_deposit, contract_deposit(1, 5 + 8));
        assert_eq!(
            alice_before - Balances::free_balance(&ALICE),
            Pvm::code_deposit(COUNTER.len() as u32) + storage_deposit + EXISTENTIAL_DEPOSIT + 5_000
        );

        // The same code again: not uploaded twice, only instantiated.
        System::reset_events();
        Pvm::instantiate_with_code(
            signed(&BOB),
            0,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            COUNTER.to_vec(),
            vec![],
            vec![],
        )
        .unwrap();
        assert!(!pvm_events()
            .iter()
            .any(|e| matches!(e, Event::CodeStored { .. })));
        assert_eq!(CodeInfoOf::<Runtime>::get(code_hash).unwrap().refcount, 2);
        assert_eq!(
            Pvm::upload_code(signed(&BOB), COUNTER.to_vec(), DEPOSIT_LIMIT),
            Err(Error::<Runtime>::CodeAlreadyExists.into())
        );

        // A call with value moves it to the contract; a reverted call moves nothing.
        let before = Balances::free_balance(&counter);
        Pvm::call(
            signed(&BOB),
            counter.clone(),
            300,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            vec![2],
        )
        .unwrap();
        assert_eq!(Balances::free_balance(&counter), before + 300);
        let underflow = [&[1u8][..], &100u64.to_le_bytes()].concat();
        Pvm::call(
            signed(&BOB),
            counter.clone(),
            300,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            underflow,
        )
        .unwrap_err();
        assert_eq!(Balances::free_balance(&counter), before + 300);
    });
}

#[test]
fn the_compute_contract_runs_the_compute_guests_workloads() {
    use pvm_contracts_examples::{COMPUTE_CONTRACT, COMPUTE_LATEST64};
    let engine = pvm_core::Engine::new(&pvm_core::Config::default()).unwrap();
    let guest = pvm_core::Module::new(
        &engine,
        &pvm_core::ModuleConfig::default(),
        COMPUTE_LATEST64,
    )
    .unwrap();
    let direct = |export: &str, arg: u32| {
        let mut instance = guest.instantiate().unwrap();
        instance.set_gas(i64::MAX);
        instance.prepare_call_export(export, &[arg.into()]).unwrap();
        assert_eq!(instance.run().unwrap(), pvm_core::Interrupt::Finished);
        instance.reg(pvm_core::Reg::A0)
    };
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, COMPUTE_CONTRACT).unwrap();
        let contract = instantiate(&ALICE, code_hash, &[], &[]).unwrap();
        for (selector, export, arg) in [
            (0u8, "sieve", 5_000u32),
            (1, "hash", 20),
            (2, "fib", 15),
            (3, "sort", 500),
        ] {
            let input = [vec![selector], arg.to_le_bytes().to_vec()].concat();
            let output = call(&BOB, &contract, &input).unwrap();
            assert_eq!(output, direct(export, arg).to_le_bytes(), "{export}({arg})");
        }
        assert!(
            call(&BOB, &contract, &[9, 0, 0, 0, 0]).is_err(),
            "unknown selector reverts"
        );
    });
}
