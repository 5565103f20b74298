//! Every syscall of the contract ABI through the pallet, with the `probe` example contract:
//! what the guest sees of the chain, storage, transfers, hashes, reverts and traps.

use frame_support::traits::fungible::Inspect;
use frame_support::traits::Get;
use pallet_pvm::{abi::KEY_NOT_FOUND, Error, Event};
use pvm_contracts_examples::PROBE;
use pvm_runtime_mock::*;
use sp_runtime::AccountId32;

fn deploy_probe() -> AccountId32 {
    let code_hash = upload(&ALICE, PROBE).unwrap();
    instantiate(&ALICE, code_hash, &[], &[]).unwrap()
}

fn u32_output(output: Vec<u8>) -> u32 {
    u32::from_le_bytes(output.try_into().unwrap())
}

#[test]
fn the_guest_sees_caller_address_value_balance_block_time_and_gas() {
    new_test_ext().execute_with(|| {
        let probe = deploy_probe();
        System::set_block_number(42);
        Timestamp::set_timestamp(GENESIS_TIMESTAMP + 6_000);
        let result = Pvm::bare_call(BOB, probe.clone(), 777, GAS_LIMIT, DEPOSIT_LIMIT, vec![0]);
        let gas_given = GAS_LIMIT.ref_time()
            / <<Runtime as pallet_pvm::Config>::RefTimePerGas as Get<u64>>::get();
        let output = result.result.unwrap().output;
        assert_eq!(output.len(), 120);
        let bob: [u8; 32] = BOB.into();
        let address: [u8; 32] = probe.clone().into();
        assert_eq!(&output[..32], &bob);
        assert_eq!(&output[32..64], &address);
        assert_eq!(u128::from_le_bytes(output[64..80].try_into().unwrap()), 777);
        // The value arrived before the code ran.
        assert_eq!(
            u128::from_le_bytes(output[80..96].try_into().unwrap()),
            Balances::balance(&probe)
        );
        assert_eq!(u64::from_le_bytes(output[96..104].try_into().unwrap()), 42);
        assert_eq!(
            u64::from_le_bytes(output[104..112].try_into().unwrap()),
            GENESIS_TIMESTAMP + 6_000
        );
        let gas_left = u64::from_le_bytes(output[112..120].try_into().unwrap());
        assert!(
            gas_left < gas_given && gas_left > gas_given - 1_000_000,
            "{gas_left}"
        );
    });
}

#[test]
fn transfers_move_the_contracts_balance_and_fail_softly() {
    new_test_ext().execute_with(|| {
        let probe = deploy_probe();
        let charlie: [u8; 32] = CHARLIE.into();
        let transfer = |amount: u128| [&[1u8][..], &charlie, &amount.to_le_bytes()].concat();
        // Fund the contract through a call with value, then send some of it on.
        Pvm::call(
            signed(&BOB),
            probe.clone(),
            10_000,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            vec![0],
        )
        .unwrap();
        let charlie_before = Balances::balance(&CHARLIE);
        assert_eq!(u32_output(call(&BOB, &probe, &transfer(4_000)).unwrap()), 0);
        assert_eq!(Balances::balance(&CHARLIE), charlie_before + 4_000);
        // More than it has (or would leave it below the existential deposit): refused, the
        // contract goes on and sees 1.
        assert_eq!(u32_output(call(&BOB, &probe, &transfer(6_001)).unwrap()), 1);
        assert_eq!(Balances::balance(&CHARLIE), charlie_before + 4_000);
        assert_eq!(Balances::balance(&probe), EXISTENTIAL_DEPOSIT + 6_000);
    });
}

#[test]
fn storage_syscalls_report_lengths() {
    new_test_ext().execute_with(|| {
        let probe = deploy_probe();
        let set = |key: &[u8], value: &[u8]| {
            let data = [&[3u8, key.len() as u8][..], key, value].concat();
            u32_output(call(&ALICE, &probe, &data).unwrap())
        };
        let with_key = |selector: u8, key: &[u8]| [&[selector][..], key].concat();
        assert_eq!(
            u32_output(call(&ALICE, &probe, &with_key(2, b"k")).unwrap()),
            KEY_NOT_FOUND
        );
        assert_eq!(set(b"k", b"hello"), KEY_NOT_FOUND);
        assert_eq!(
            u32_output(call(&ALICE, &probe, &with_key(2, b"k")).unwrap()),
            5
        );
        assert_eq!(set(b"k", b"hello world"), 5);
        assert_eq!(
            call(&ALICE, &probe, &with_key(5, b"k")).unwrap(),
            b"hello world"
        );
        assert_eq!(
            Pvm::get_storage(&probe, b"k"),
            Some(b"hello world".to_vec())
        );
        assert_eq!(
            u32_output(call(&ALICE, &probe, &with_key(4, b"k")).unwrap()),
            11
        );
        assert_eq!(
            u32_output(call(&ALICE, &probe, &with_key(4, b"k")).unwrap()),
            KEY_NOT_FOUND
        );
        assert_eq!(
            call(&ALICE, &probe, &with_key(5, b"k")),
            Err(Error::<Runtime>::ContractReverted.into())
        );
        // The largest value the ABI allows round-trips; one byte more is refused.
        let big = vec![0xab; 16 * 1024 - 4];
        assert_eq!(set(b"b", &big), KEY_NOT_FOUND);
        assert_eq!(call(&ALICE, &probe, &with_key(5, b"b")).unwrap(), big);
        // A key over 128 bytes traps the contract with its own error.
        assert_eq!(
            call(&ALICE, &probe, &with_key(4, &[1; 129])),
            Err(Error::<Runtime>::SyscallLengthTooLarge.into())
        );
    });
}

#[test]
fn hashes_match_the_runtimes() {
    new_test_ext().execute_with(|| {
        let probe = deploy_probe();
        for data in [&b""[..], b"abc", &[7; 4000]] {
            let keccak = call(&ALICE, &probe, &[&[6u8][..], data].concat()).unwrap();
            assert_eq!(keccak, sp_io::hashing::keccak_256(data));
            let blake = call(&ALICE, &probe, &[&[7u8][..], data].concat()).unwrap();
            assert_eq!(blake, sp_io::hashing::blake2_256(data));
        }
    });
}

#[test]
fn a_revert_returns_output_and_a_trap_rolls_back() {
    new_test_ext().execute_with(|| {
        let probe = deploy_probe();
        let result = Pvm::bare_call(
            ALICE,
            probe.clone(),
            0,
            GAS_LIMIT,
            DEPOSIT_LIMIT,
            [&[8u8][..], b"why"].concat(),
        );
        let outcome = result.result.unwrap();
        assert!(outcome.reverted);
        assert_eq!(outcome.output, b"why");

        System::reset_events();
        let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
        let error = call_extrinsic(&ALICE, &probe, &[9]).unwrap_err();
        assert_eq!(error.error, Error::<Runtime>::ContractTrapped.into());
        assert_eq!(Pvm::get_storage(&probe, b"x"), None);
        assert_eq!(sp_io::storage::root(sp_runtime::StateVersion::V1), root);
        assert!(!pvm_events()
            .iter()
            .any(|e| matches!(e, Event::Called { .. })));
    });
}

/// Reading a stored value puts all of it in the storage proof, also where the syscall
/// only reports its length or replaces it: every storage syscall pays the old value's
/// proof size, and pays the largest value's before it reads, so a proof-size limit below
/// that stops the contract with nothing read or written.
#[test]
fn storage_syscalls_pay_for_the_value_they_read_before_reading_it() {
    new_test_ext().execute_with(|| {
        let probe = deploy_probe();
        let big = vec![0xab; 16 * 1024 - 4];
        let set = [&[3u8, 1, b'b'][..], &big].concat();
        call(&ALICE, &probe, &set).unwrap();
        let proof = |data: Vec<u8>| {
            let result = Pvm::bare_call(ALICE, probe.clone(), 0, GAS_LIMIT, DEPOSIT_LIMIT, data);
            result.result.unwrap();
            result.weight_consumed.proof_size()
        };
        let old_len = big.len() as u64;
        // contains_storage (2), get_storage (5), set_storage (3) of one byte over the big
        // value, clear_storage (4): each has the big value in its proof.
        assert!(proof(vec![2, b'b']) >= old_len);
        assert!(proof(vec![5, b'b']) >= old_len);
        assert!(proof(vec![3, 1, b'b', 7]) >= old_len);
        call(&ALICE, &probe, &set).unwrap();
        assert!(proof(vec![4, b'b']) >= old_len);
        // An absent key costs no value bytes.
        assert!(proof(vec![2, b'x']) < old_len);

        // Charged before the read: proof size enough for the small value found but not
        // for the largest a key may hold stops the call, and the value stays.
        call(&ALICE, &probe, &[3, 1, b's', 1, 2, 3]).unwrap();
        let clear_small = vec![4, b's'];
        let limit = GAS_LIMIT.set_proof_size(proof(vec![2, b'x']) + 1_000);
        let result = Pvm::bare_call(ALICE, probe.clone(), 0, limit, DEPOSIT_LIMIT, clear_small);
        assert_eq!(result.result, Err(Error::<Runtime>::OutOfGas.into()));
        assert_eq!(Pvm::get_storage(&probe, b"s"), Some(vec![1, 2, 3]));
    });
}
