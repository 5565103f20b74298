//! `token`: a fungible token in the style of ERC-20 (balances, transfers, allowances, events).
//!
//! Integers are little-endian; accounts are 32 bytes. A missing storage value counts as 0;
//! every balance or allowance the contract writes is stored, also when it becomes 0.
//!
//! # Storage
//!
//! | key | value |
//! |---|---|
//! | `b"total"` | total supply, `u128` (16 bytes) |
//! | `b"bal:" ++ account` (36 bytes) | balance of `account`, `u128` |
//! | `b"alw:" ++ owner ++ spender` (68 bytes) | what `spender` may still move from `owner`, `u128` |
//!
//! # Interface
//!
//! | export | call data | effect | output |
//! |---|---|---|---|
//! | `deploy` | `total_supply: u128` | `total` = `bal:caller` = `total_supply`; emits Transfer(`[0; 32]`, caller, `total_supply`) | empty |
//! | `call` | `[0]` | total_supply | `u128` |
//! | `call` | `[1] ++ account` | balance_of | `u128` |
//! | `call` | `[2] ++ to ++ amount: u128` | transfer `amount` from the caller to `to`; emits Transfer(caller, to, amount) | empty |
//! | `call` | `[3] ++ spender ++ amount: u128` | approve: sets `alw:caller ++ spender` = `amount`; emits Approval(caller, spender, amount) | empty |
//! | `call` | `[4] ++ owner ++ spender` | allowance | `u128` |
//! | `call` | `[5] ++ from ++ to ++ amount: u128` | transfer_from: the caller spends `amount` of its allowance from `from` (decremented) and moves `amount` from `from` to `to`; emits Transfer(from, to, amount) | empty |
//!
//! An unknown selector, call data of the wrong length, a balance or allowance lower than
//! `amount` revert with empty output (and no event). Transfers of 0 and to oneself succeed
//! and emit their event.
//!
//! # Events
//!
//! * Transfer: topics `[TRANSFER, from, to]`, data `amount` (16 bytes);
//! * Approval: topics `[APPROVAL, owner, spender]`, data `amount` (16 bytes);
//!
//! where `TRANSFER` = keccak256(`"Transfer"`) and `APPROVAL` = keccak256(`"Approval"`) of the
//! bare names (not of Solidity signatures). Both are constants here; the host-side test
//! `tests/tests/contract_guests.rs` checks them against a Keccak-256 implementation.

#![no_std]
#![no_main]

use pvm_contract_api::{self as api, AccountId, Hash};

api::contract!(deploy = on_deploy, call = on_call);

/// keccak256(b"Transfer").
const TRANSFER: Hash = [
    0xf0, 0x99, 0xcd, 0x8b, 0xde, 0x55, 0x78, 0x14, 0x84, 0x2a, 0x31, 0x21, 0xe8, 0xdd, 0xfd, 0x43,
    0x3a, 0x53, 0x9b, 0x8c, 0x9f, 0x14, 0xbf, 0x31, 0xeb, 0xf1, 0x08, 0xd1, 0x2e, 0x61, 0x96, 0xe9,
];

/// keccak256(b"Approval").
const APPROVAL: Hash = [
    0x71, 0x34, 0x69, 0x2b, 0x23, 0x0b, 0x9e, 0x1f, 0xfa, 0x39, 0x09, 0x89, 0x04, 0x72, 0x21, 0x34,
    0x15, 0x96, 0x52, 0xb0, 0x9c, 0x5b, 0xc4, 0x1d, 0x88, 0xd6, 0x69, 0x87, 0x79, 0xd2, 0x28, 0xff,
];

const TOTAL: &[u8] = b"total";

/// The longest call data: transfer_from, `1 + 32 + 32 + 16` bytes.
const MAX_INPUT: usize = 81;

fn fail() -> ! {
    api::revert(&[])
}

fn balance_key(account: &AccountId) -> [u8; 36] {
    let mut key = [0u8; 36];
    key[..4].copy_from_slice(b"bal:");
    key[4..].copy_from_slice(account);
    key
}

fn allowance_key(owner: &AccountId, spender: &AccountId) -> [u8; 68] {
    let mut key = [0u8; 68];
    key[..4].copy_from_slice(b"alw:");
    key[4..36].copy_from_slice(owner);
    key[36..].copy_from_slice(spender);
    key
}

fn load(key: &[u8]) -> u128 {
    api::storage::get_array::<16>(key).map_or(0, u128::from_le_bytes)
}

fn store(key: &[u8], value: u128) {
    api::storage::set(key, &value.to_le_bytes());
}

fn emit(topic: Hash, a: &AccountId, b: &AccountId, amount: u128) {
    api::deposit_event(&[topic, *a, *b], &amount.to_le_bytes());
}

/// Moves `amount` from `from` to `to` and emits Transfer; reverts if `from` has too little.
fn move_balance(from: &AccountId, to: &AccountId, amount: u128) {
    let from_key = balance_key(from);
    let Some(left) = load(&from_key).checked_sub(amount) else {
        fail()
    };
    store(&from_key, left);
    // Read after the write so that a transfer to oneself is a no-op.
    let to_key = balance_key(to);
    let Some(credited) = load(&to_key).checked_add(amount) else {
        fail()
    };
    store(&to_key, credited);
    emit(TRANSFER, from, to, amount);
}

/// Splits `N` bytes off the front of `input`.
fn take<const N: usize>(input: &mut &[u8]) -> [u8; N] {
    let Some((head, rest)) = input.split_first_chunk::<N>() else {
        fail()
    };
    *input = rest;
    *head
}

fn take_u128(input: &mut &[u8]) -> u128 {
    u128::from_le_bytes(take(input))
}

/// Reverts unless the whole input was consumed.
fn end(input: &[u8]) {
    if !input.is_empty() {
        fail()
    }
}

fn on_deploy() {
    let mut buffer = [0u8; 16];
    let Some(mut input) = api::call_data(&mut buffer) else {
        fail()
    };
    let supply = take_u128(&mut input);
    end(input);
    let caller = api::caller();
    store(TOTAL, supply);
    store(&balance_key(&caller), supply);
    emit(TRANSFER, &[0; 32], &caller, supply);
}

fn on_call() {
    let mut buffer = [0u8; MAX_INPUT];
    let Some(mut input) = api::call_data(&mut buffer) else {
        fail()
    };
    let [selector] = take(&mut input);
    match selector {
        0 => {
            end(input);
            api::return_value(&load(TOTAL).to_le_bytes())
        }
        1 => {
            let account = take(&mut input);
            end(input);
            api::return_value(&load(&balance_key(&account)).to_le_bytes())
        }
        2 => {
            let to = take(&mut input);
            let amount = take_u128(&mut input);
            end(input);
            move_balance(&api::caller(), &to, amount);
        }
        3 => {
            let spender = take(&mut input);
            let amount = take_u128(&mut input);
            end(input);
            let owner = api::caller();
            store(&allowance_key(&owner, &spender), amount);
            emit(APPROVAL, &owner, &spender, amount);
        }
        4 => {
            let owner = take(&mut input);
            let spender = take(&mut input);
            end(input);
            api::return_value(&load(&allowance_key(&owner, &spender)).to_le_bytes())
        }
        5 => {
            let from = take(&mut input);
            let to = take(&mut input);
            let amount = take_u128(&mut input);
            end(input);
            let allowance_key = allowance_key(&from, &api::caller());
            let Some(left) = load(&allowance_key).checked_sub(amount) else {
                fail()
            };
            store(&allowance_key, left);
            move_balance(&from, &to, amount);
        }
        _ => fail(),
    }
}
