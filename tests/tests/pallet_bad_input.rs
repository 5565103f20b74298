//! Untrusted input to pallet-pvm: every bad blob, bad call and misbehaving guest gets its
//! own error, and the state (the storage root) is exactly as before. The mock runtime has
//! no transaction-payment pallet, so there are no fees to except.

use frame_support::{assert_err, dispatch::DispatchResultWithPostInfo, weights::Weight};
use pallet_pvm::{weights::WeightInfo, Error};
use pvm_contracts_examples::FLIPPER;
use pvm_core::asm::assemble;
use pvm_runtime_mock::*;
use sp_runtime::{DispatchError, StateVersion};

fn root() -> Vec<u8> {
    sp_io::storage::root(StateVersion::V1)
}

/// Runs `f` and asserts it fails with `expected` and leaves the storage root unchanged.
fn refused(expected: Error<Runtime>, f: impl FnOnce() -> Result<(), DispatchError>) {
    let before = root();
    assert_err!(f(), DispatchError::from(expected));
    assert_eq!(root(), before, "state changed by a refused call");
}

fn blob(source: &str) -> Vec<u8> {
    assemble(source)
        .unwrap_or_else(|error| panic!("{error}"))
        .to_bytes()
        .unwrap()
}

fn upload_code(code: Vec<u8>) -> Result<(), DispatchError> {
    Pvm::upload_code(signed(&ALICE), code, DEPOSIT_LIMIT)
}

fn dropping_weight(result: DispatchResultWithPostInfo) -> Result<(), DispatchError> {
    result.map(drop).map_err(|error| error.error)
}

/// Uploads and instantiates a contract written in assembly; its address.
fn deploy_asm(source: &str) -> sp_runtime::AccountId32 {
    let code = blob(source);
    let hash = upload(&ALICE, &code).unwrap();
    instantiate(&ALICE, hash, &[], &[]).unwrap()
}

const RETURNING_DEPLOY: &str = "pub @deploy:\n    jump_indirect ra, 0\n";

#[test]
fn bad_blobs_are_refused_at_upload() {
    new_test_ext().execute_with(|| {
        refused(Error::CodeMalformed, || upload_code(b"garbage bytes".to_vec()));
        refused(Error::CodeTooLarge, || upload_code(vec![0; 200 * 1024]));
        // The figures are in the message (also logged at upload).
        let message = Pvm::validate_code(&vec![0; 200 * 1024]).unwrap_err().to_string();
        assert_eq!(message, "code is 204800 bytes, the limit is 131072");
        refused(Error::UnknownImport, || {
            upload_code(blob(&format!(
                ".import \"launch_missiles\"\n{RETURNING_DEPLOY}pub @call:\n    ecalli 0\n    jump_indirect ra, 0\n"
            )))
        });
        refused(Error::MissingExport, || {
            upload_code(blob("pub @call:\n    jump_indirect ra, 0\n"))
        });
        refused(Error::UnsupportedInstructionSet, || {
            upload_code(blob(&format!(".isa jam_v1\n{RETURNING_DEPLOY}pub @call:\n    trap\n")))
        });
        // An opcode byte no instruction has, in otherwise valid ReviveV1 code.
        let mut program = assemble(&format!(
            ".isa revive_v1\n{RETURNING_DEPLOY}pub @call:\n    trap\n"
        ))
        .unwrap();
        let call_pc = program.export("call").unwrap().pc as usize;
        program.code.code[call_pc] = 0xff;
        refused(Error::InvalidInstruction, || upload_code(program.to_bytes().unwrap()));
        // Too low a deposit limit for the code.
        refused(Error::StorageDepositLimitExhausted, || {
            Pvm::upload_code(signed(&ALICE), FLIPPER.to_vec(), 10)
        });
    });
}

/// A repeated upload costs hashing and one read, not a second validation: bytes that
/// are stored already are refused as stored even where validating them would fail (as
/// stored code can after a runtime upgrade tightens the limits).
#[test]
fn stored_code_is_refused_before_it_is_validated_again() {
    new_test_ext().execute_with(|| {
        let bytes = b"not a blob, stored by an older runtime".to_vec();
        let hash = sp_core::H256(sp_io::hashing::blake2_256(&bytes));
        pallet_pvm::CodeInfoOf::<Runtime>::insert(
            hash,
            pallet_pvm::CodeInfo {
                owner: ALICE,
                deposit: 0,
                refcount: 0,
                code_len: 38,
                blob_version: 0,
            },
        );
        refused(Error::CodeAlreadyExists, || upload_code(bytes.clone()));
        // Without the stored entry the same bytes fail validation.
        pallet_pvm::CodeInfoOf::<Runtime>::remove(hash);
        refused(Error::CodeMalformed, || upload_code(bytes));
    });
}

#[test]
fn basic_blocks_over_the_limit_are_refused() {
    new_test_ext().execute_with(|| {
        // ReviveV1: Latest64's 1024-byte macro blocks cap blocks by themselves.
        let long_block = "    add_imm_64 a0, a0, 1\n".repeat(1025);
        refused(Error::BasicBlockTooLarge, || {
            upload_code(blob(&format!(".isa revive_v1\n{RETURNING_DEPLOY}pub @call:\n{long_block}    jump_indirect ra, 0\n")))
        });
        // At the limit is fine.
        let block = "    add_imm_64 a0, a0, 1\n".repeat(1023);
        upload_code(blob(&format!(".isa revive_v1\n{RETURNING_DEPLOY}pub @call:\n{block}    jump_indirect ra, 0\n"))).unwrap();
    });
}

#[test]
fn misbehaving_guests_are_stopped_with_their_error() {
    new_test_ext().execute_with(|| {
        let call = |contract: &sp_runtime::AccountId32, data: &[u8]| {
            dropping_weight(call_extrinsic(&BOB, contract, data))
        };
        let trapping = deploy_asm(&format!("{RETURNING_DEPLOY}pub @call:\n    trap\n"));
        refused(Error::ContractTrapped, || call(&trapping, &[]));

        let looping = deploy_asm(&format!("{RETURNING_DEPLOY}pub @call:\n@spin:\n    jump @spin\n"));
        refused(Error::OutOfGas, || call(&looping, &[]));

        // call_data_copy into address 0x100, which is never mapped.
        let out_of_bounds = deploy_asm(&format!(
            ".import \"call_data_copy\"\n{RETURNING_DEPLOY}pub @call:\n    load_imm a0, 0x100\n    load_imm a1, 8\n    load_imm a2, 0\n    ecalli 0\n    jump_indirect ra, 0\n"
        ));
        refused(Error::GuestMemoryOutOfBounds, || call(&out_of_bounds, &[7; 8]));

        // A storage key of 1000 bytes (the limit is 128).
        let long_key = deploy_asm(&format!(
            ".import \"set_storage\"\n.ro_data 6b\n{RETURNING_DEPLOY}pub @call:\n    load_imm a0, 0x10000\n    load_imm a1, 1000\n    load_imm a2, 0x10000\n    load_imm a3, 1\n    ecalli 0\n    jump_indirect ra, 0\n"
        ));
        refused(Error::SyscallLengthTooLarge, || call(&long_key, &[]));

        // An output length of 4 GiB - 1.
        let huge_output = deploy_asm(&format!(
            ".import \"return_data\"\n{RETURNING_DEPLOY}pub @call:\n    load_imm a0, 0\n    load_imm a1, 0x10000\n    load_imm a2, -1\n    ecalli 0\n    trap\n"
        ));
        refused(Error::SyscallLengthTooLarge, || call(&huge_output, &[]));

        let bad_flags = deploy_asm(&format!(
            ".import \"return_data\"\n{RETURNING_DEPLOY}pub @call:\n    load_imm a0, 2\n    load_imm a1, 0\n    load_imm a2, 0\n    ecalli 0\n    trap\n"
        ));
        refused(Error::InvalidSyscallFlags, || call(&bad_flags, &[]));

        refused(Error::CallDataTooLarge, || call(&trapping, &vec![0; 16 * 1024 + 1]));
        refused(Error::ContractNotFound, || call(&BOB, &[]));
    });
}

/// A contract whose `call` export makes one syscall with `args` (a0, a1, ...) and returns.
/// Its read-only data is one byte, `0x6b`, at 0x10000, and zeros up to the page's end.
fn one_syscall(symbol: &str, args: &[i64]) -> String {
    let loads: String = args
        .iter()
        .enumerate()
        .map(|(index, value)| format!("    load_imm a{index}, {value}\n"))
        .collect();
    format!(
        ".import \"{symbol}\"\n.ro_data 6b\n{RETURNING_DEPLOY}pub @call:\n{loads}    ecalli 0\n    jump_indirect ra, 0\n"
    )
}

#[test]
fn calls_between_contracts_with_bad_arguments_stop_the_caller_and_change_nothing() {
    new_test_ext().execute_with(|| {
        let call = |source: String| {
            let contract = deploy_asm(&source);
            move || dropping_weight(call_extrinsic(&BOB, &contract, &[]))
        };
        // Readable memory: the callee (0x6b, then zeros), zeroed call parameters.
        let (callee, params, unmapped) = (0x10000, 0x10100, 0x100);
        refused(
            Error::GuestMemoryOutOfBounds,
            call(one_syscall("call", &[unmapped, params, 0, 0, 0, params])),
        );
        // Input over 16 KiB: refused before anything is read or allocated.
        refused(
            Error::SyscallLengthTooLarge,
            call(one_syscall(
                "call",
                &[callee, params, callee, 16 * 1024 + 1, 0, params],
            )),
        );
        // The output length pointer is read before the call: nothing runs.
        refused(
            Error::GuestMemoryOutOfBounds,
            call(one_syscall(
                "call",
                &[callee, params, callee, 0, 0, unmapped],
            )),
        );
        // Flags 0x6b: unknown bits.
        refused(
            Error::InvalidSyscallFlags,
            call(one_syscall("call", &[callee, callee, callee, 0, 0, params])),
        );
        refused(
            Error::GuestMemoryOutOfBounds,
            call(one_syscall(
                "instantiate",
                &[callee, params, callee, 0, unmapped, params],
            )),
        );
        refused(
            Error::SyscallLengthTooLarge,
            call(one_syscall(
                "instantiate",
                &[callee, params, callee, -1, callee, params],
            )),
        );
        refused(
            Error::GuestMemoryOutOfBounds,
            call(one_syscall("terminate", &[unmapped])),
        );
        refused(
            Error::GuestMemoryOutOfBounds,
            call(one_syscall("origin", &[unmapped])),
        );
    });
}

#[test]
fn out_of_gas_charges_the_whole_limit_and_changes_nothing() {
    new_test_ext().execute_with(|| {
        let looping = deploy_asm(&format!(
            "{RETURNING_DEPLOY}pub @call:\n@spin:\n    jump @spin\n"
        ));
        let limit = Weight::from_parts(1_000_000_000, 1 << 20);
        let before = root();
        let error = Pvm::call(signed(&BOB), looping, 0, limit, DEPOSIT_LIMIT, vec![]).unwrap_err();
        assert_eq!(error.error, Error::<Runtime>::OutOfGas.into());
        let charged = error.post_info.actual_weight.unwrap();
        let base = <Runtime as pallet_pvm::Config>::WeightInfo::call(0);
        // All of the time allowed; the proof size of what was read (the code), not all of
        // the limit.
        assert_eq!(charged.ref_time(), base.ref_time() + limit.ref_time());
        assert!(charged.proof_size() > base.proof_size());
        assert!(charged.proof_size() < base.proof_size() + limit.proof_size());
        assert_eq!(root(), before);
    });
}

#[test]
fn deposit_limits_are_enforced() {
    new_test_ext().execute_with(|| {
        let hash = upload(&ALICE, FLIPPER).unwrap();
        let before = root();
        let error =
            Pvm::instantiate(signed(&BOB), 0, GAS_LIMIT, 100, hash, vec![1], vec![]).unwrap_err();
        assert_eq!(
            error.error,
            Error::<Runtime>::StorageDepositLimitExhausted.into()
        );
        assert_eq!(root(), before);
        // A poor account cannot pay the deposit at all.
        let poor = sp_runtime::AccountId32::new([9; 32]);
        assert_err!(
            dropping_weight(Pvm::instantiate(
                signed(&poor),
                0,
                GAS_LIMIT,
                DEPOSIT_LIMIT,
                hash,
                vec![1],
                vec![]
            )),
            Error::<Runtime>::TransferFailed
        );
        assert_eq!(root(), before);
        // The same salt twice: the address is taken.
        instantiate(&ALICE, hash, &[], b"s").unwrap();
        assert_err!(
            instantiate(&ALICE, hash, &[], b"s"),
            Error::<Runtime>::ContractAlreadyExists
        );
    });
}

#[test]
fn shrinking_storage_refunds_the_deposit() {
    new_test_ext().execute_with(|| {
        // deploy stores "k" = "k"; call clears it.
        let contract = deploy_asm(
            ".import \"set_storage\"\n.import \"clear_storage\"\n.ro_data 6b\npub @deploy:\n    load_imm a0, 0x10000\n    load_imm a1, 1\n    load_imm a2, 0x10000\n    load_imm a3, 1\n    ecalli 0\n    jump_indirect ra, 0\npub @call:\n    load_imm a0, 0x10000\n    load_imm a1, 1\n    ecalli 1\n    jump_indirect ra, 0\n",
        );
        assert_eq!(Pvm::get_storage(&contract, b"k"), Some(b"k".to_vec()));
        let bob_before = Balances::free_balance(&BOB);
        let result = Pvm::bare_call(BOB, contract.clone(), 0, GAS_LIMIT, DEPOSIT_LIMIT, vec![]);
        result.result.unwrap();
        let refund = DepositPerItem::get() + 2 * DepositPerByte::get();
        assert_eq!(result.deposit_refunded, refund);
        assert_eq!(Balances::free_balance(&BOB), bob_before + refund);
        assert_eq!(Pvm::get_storage(&contract, b"k"), None);
    });
}
