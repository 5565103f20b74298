//! The example contracts (`pvm_contracts_examples::CONTRACTS`) against their documented
//! interfaces, run on `pvm_core` with a small in-memory host of the contract ABI
//! (`pallet/src/abi.md`).
//!
//! [`Chain`] is a test harness, not the real host (that is `pallet-pvm`): one storage map per
//! contract, events in a list, no weights or deposits. It does follow the ABI where a
//! contract could notice: argument order, results, `KEY_NOT_FOUND`, the limits, revert rolling
//! back storage, and bad pointers or lengths trapping the call.

use pvm_contracts_examples::{token, CONTRACTS, COUNTER, FLIPPER, HASHER, PROBE, TOKEN};
use pvm_core::{Config, Engine, Instance, Interrupt, Module, ModuleConfig, Reg};
use sp_crypto_hashing::{blake2_256, keccak_256};
use std::collections::BTreeMap;

/// Every syscall symbol of the ABI.
const SYSCALLS: &[&str] = &[
    "call_data_size",
    "call_data_copy",
    "return_data",
    "get_storage",
    "set_storage",
    "clear_storage",
    "contains_storage",
    "caller",
    "address",
    "value_transferred",
    "balance",
    "transfer",
    "block_number",
    "now",
    "gas_left",
    "deposit_event",
    "hash_blake2_256",
    "hash_keccak_256",
    "origin",
    "call",
    "instantiate",
    "terminate",
];

const KEY_NOT_FOUND: u64 = u32::MAX as u64;
const MAX_KEY: u32 = 128;
const MAX_VALUE: u32 = 16 * 1024;
const MAX_OUTPUT: u32 = 16 * 1024;
const MAX_TOPICS: u32 = 4;
const MAX_EVENT_DATA: u32 = 4 * 1024;
const MAX_HASH_INPUT: u32 = 64 * 1024;

/// Gas for every call: plenty.
const GAS: i64 = 1 << 40;

const ALICE: [u8; 32] = [0xa1; 32];
const BOB: [u8; 32] = [0xb0; 32];
const CAROL: [u8; 32] = [0xca; 32];
const DAVE: [u8; 32] = [0xda; 32];

type Storage = BTreeMap<Vec<u8>, Vec<u8>>;

/// An event as `deposit_event` emitted it.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Event {
    topics: Vec<[u8; 32]>,
    data: Vec<u8>,
}

/// How a call ended, when it did not trap.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Output {
    reverted: bool,
    data: Vec<u8>,
}

/// What one call did.
#[derive(Debug)]
struct Outcome {
    /// The output, or why the call trapped.
    result: Result<Output, String>,
    /// Events of a successful call (none after a revert or trap).
    events: Vec<Event>,
    /// Gas the call used (instructions only; the harness charges nothing for syscalls).
    gas_used: i64,
}

impl Outcome {
    /// The output of a call that succeeded; panics on a revert or trap.
    fn ok(&self) -> &[u8] {
        match &self.result {
            Ok(Output {
                reverted: false,
                data,
            }) => data,
            other => panic!("call did not succeed: {other:?}"),
        }
    }

    /// Asserts the call reverted with empty output.
    fn assert_reverted_empty(&self) {
        assert_eq!(
            self.result,
            Ok(Output {
                reverted: true,
                data: vec![]
            }),
            "expected a revert with empty output"
        );
        assert!(self.events.is_empty(), "a reverted call emitted events");
    }
}

/// One deployed contract: its code, its address and its storage.
struct Contract {
    module: Module,
    address: [u8; 32],
    storage: Storage,
}

/// The harness's chain: the block context. Contracts hold no balance and calls carry no value.
struct Chain {
    block_number: u64,
    now: u64,
}

/// The state one call frame sees and changes.
struct Frame<'a> {
    chain: &'a Chain,
    storage: &'a mut Storage,
    address: [u8; 32],
    caller: [u8; 32],
    input: &'a [u8],
    events: Vec<Event>,
}

fn low32(instance: &Instance, reg: Reg) -> u32 {
    instance.reg(reg) as u32
}

fn args<const N: usize>(instance: &Instance) -> [u32; N] {
    let regs = [Reg::A0, Reg::A1, Reg::A2, Reg::A3, Reg::A4, Reg::A5];
    std::array::from_fn(|i| low32(instance, regs[i]))
}

fn read(instance: &Instance, ptr: u32, len: u32, limit: u32) -> Result<Vec<u8>, String> {
    if len > limit {
        return Err(format!("length {len} is over the limit {limit}"));
    }
    instance
        .read_memory(ptr, len)
        .map_err(|e| format!("guest memory: {e}"))
}

fn write(instance: &mut Instance, ptr: u32, data: &[u8]) -> Result<(), String> {
    instance
        .write_memory(ptr, data)
        .map_err(|e| format!("guest memory: {e}"))
}

impl Frame<'_> {
    /// Serves one syscall: `Ok(Some(output))` when it ends the frame (`return_data`),
    /// `Err` when it traps.
    fn syscall(&mut self, instance: &mut Instance, symbol: &str) -> Result<Option<Output>, String> {
        let result: u64 = match symbol {
            "call_data_size" => self.input.len() as u64,
            "call_data_copy" => {
                let [out_ptr, out_len, offset] = args(instance);
                let len = self.input.len();
                let start = (offset as usize).min(len);
                let n = (out_len as usize).min(len - start);
                write(instance, out_ptr, &self.input[start..start + n])?;
                n as u64
            }
            "return_data" => {
                let [flags, ptr, len] = args(instance);
                if flags & !1 != 0 {
                    return Err(format!("return_data: unknown flags {flags:#x}"));
                }
                let data = read(instance, ptr, len, MAX_OUTPUT)?;
                return Ok(Some(Output {
                    reverted: flags & 1 != 0,
                    data,
                }));
            }
            "get_storage" => {
                let [key_ptr, key_len, out_ptr, out_cap] = args(instance);
                let key = read(instance, key_ptr, key_len, MAX_KEY)?;
                match self.storage.get(&key) {
                    None => KEY_NOT_FOUND,
                    Some(value) => {
                        let value = value.clone();
                        let n = value.len().min(out_cap as usize);
                        write(instance, out_ptr, &value[..n])?;
                        value.len() as u64
                    }
                }
            }
            "set_storage" => {
                let [key_ptr, key_len, value_ptr, value_len] = args(instance);
                let key = read(instance, key_ptr, key_len, MAX_KEY)?;
                let value = read(instance, value_ptr, value_len, MAX_VALUE)?;
                let previous = self.storage.insert(key, value);
                previous.map_or(KEY_NOT_FOUND, |v| v.len() as u64)
            }
            "clear_storage" | "contains_storage" => {
                let [key_ptr, key_len] = args(instance);
                let key = read(instance, key_ptr, key_len, MAX_KEY)?;
                let value = if symbol == "clear_storage" {
                    self.storage.remove(&key)
                } else {
                    self.storage.get(&key).cloned()
                };
                value.map_or(KEY_NOT_FOUND, |v| v.len() as u64)
            }
            "caller" | "address" => {
                let [out_ptr] = args(instance);
                let account = if symbol == "caller" {
                    self.caller
                } else {
                    self.address
                };
                write(instance, out_ptr, &account)?;
                return Ok(None);
            }
            "value_transferred" | "balance" => {
                // The harness sends no value and the contracts hold none.
                let [out_ptr] = args(instance);
                write(instance, out_ptr, &0u128.to_le_bytes())?;
                return Ok(None);
            }
            "transfer" => {
                let [dest_ptr, value_ptr] = args(instance);
                read(instance, dest_ptr, 32, 32)?;
                let value = read(instance, value_ptr, 16, 16)?;
                let value = u128::from_le_bytes(value.try_into().expect("16 bytes"));
                // With a balance of 0, only a transfer of nothing can succeed.
                u64::from(value != 0)
            }
            "block_number" => self.chain.block_number,
            "now" => self.chain.now,
            "gas_left" => instance.gas().max(0) as u64,
            "deposit_event" => {
                let [topics_ptr, topics_count, data_ptr, data_len] = args(instance);
                if topics_count > MAX_TOPICS {
                    return Err(format!("{topics_count} topics, the limit is {MAX_TOPICS}"));
                }
                let topics = read(instance, topics_ptr, topics_count * 32, MAX_TOPICS * 32)?;
                let data = read(instance, data_ptr, data_len, MAX_EVENT_DATA)?;
                let topics = topics
                    .chunks_exact(32)
                    .map(|topic| topic.try_into().expect("32 bytes"))
                    .collect();
                self.events.push(Event { topics, data });
                return Ok(None);
            }
            "hash_blake2_256" | "hash_keccak_256" => {
                let [input_ptr, input_len, out_ptr] = args(instance);
                let input = read(instance, input_ptr, input_len, MAX_HASH_INPUT)?;
                let hash = if symbol == "hash_blake2_256" {
                    blake2_256(&input)
                } else {
                    keccak_256(&input)
                };
                write(instance, out_ptr, &hash)?;
                return Ok(None);
            }
            other => return Err(format!("unknown syscall {other:?}")),
        };
        instance.set_reg(Reg::A0, result);
        Ok(None)
    }
}

impl Chain {
    fn new() -> Chain {
        Chain {
            block_number: 7,
            now: 1_700_000_000_000,
        }
    }

    /// Compiles `blob` and runs its `deploy` with `input` as `caller`. Panics unless the
    /// deploy succeeds.
    fn deploy(&self, blob: &[u8], caller: [u8; 32], input: &[u8]) -> (Contract, Outcome) {
        let engine = Engine::new(&Config::default()).expect("engine");
        let module = Module::new(&engine, &ModuleConfig::default(), blob).expect("module");
        let mut contract = Contract {
            module,
            address: [0xcc; 32],
            storage: Storage::new(),
        };
        let outcome = self.exec(&mut contract, "deploy", caller, input);
        (contract, outcome)
    }

    /// Runs `call` with `input` as `caller`.
    fn call(&self, contract: &mut Contract, caller: [u8; 32], input: &[u8]) -> Outcome {
        self.exec(contract, "call", caller, input)
    }

    /// Runs `export` on a fresh instance; a revert or trap restores the storage.
    fn exec(
        &self,
        contract: &mut Contract,
        export: &str,
        caller: [u8; 32],
        input: &[u8],
    ) -> Outcome {
        let mut instance = contract.module.instantiate().expect("instantiate");
        instance.set_gas(GAS);
        instance
            .prepare_call_export(export, &[])
            .expect("the export exists");
        let snapshot = contract.storage.clone();
        let mut frame = Frame {
            chain: self,
            storage: &mut contract.storage,
            address: contract.address,
            caller,
            input,
            events: Vec::new(),
        };
        let result = loop {
            let interrupt = match instance.run() {
                Ok(interrupt) => interrupt,
                Err(error) => break Err(format!("run: {error}")),
            };
            match interrupt {
                Interrupt::Finished => {
                    break Ok(Output {
                        reverted: false,
                        data: vec![],
                    })
                }
                Interrupt::Ecalli(index) => {
                    let symbol = contract.module.imports()[index as usize].clone();
                    match frame.syscall(&mut instance, &symbol) {
                        Ok(None) => {}
                        Ok(Some(output)) => break Ok(output),
                        Err(error) => break Err(format!("{symbol}: {error}")),
                    }
                }
                other => break Err(format!("{other:?}")),
            }
        };
        let mut events = std::mem::take(&mut frame.events);
        if !matches!(
            result,
            Ok(Output {
                reverted: false,
                ..
            })
        ) {
            contract.storage = snapshot;
            events.clear();
        }
        Outcome {
            result,
            events,
            gas_used: GAS - instance.gas(),
        }
    }
}

#[test]
fn contracts_import_only_abi_syscalls_and_export_deploy_and_call() {
    let engine = Engine::new(&Config::default()).unwrap();
    for (name, blob) in CONTRACTS {
        let module = Module::new(&engine, &ModuleConfig::default(), blob)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for import in module.imports() {
            assert!(
                SYSCALLS.contains(&import.as_str()),
                "{name} imports {import:?}, which the ABI does not know"
            );
        }
        for export in ["deploy", "call"] {
            assert!(module.export_pc(export).is_some(), "{name}: no {export}");
        }
        assert_eq!(module.exports().len(), 2, "{name}: exports");
    }
}

// ---------------------------------------------------------------------------------------------
// flipper

#[test]
fn flipper_flips_and_gets() {
    let chain = Chain::new();
    let (mut flipper, deployed) = chain.deploy(FLIPPER, ALICE, &[]);
    assert_eq!(deployed.ok(), b"");
    assert_eq!(flipper.storage.get(&b"flip"[..]), Some(&vec![0]));
    assert_eq!(chain.call(&mut flipper, ALICE, &[1]).ok(), [0]);
    assert_eq!(chain.call(&mut flipper, BOB, &[0]).ok(), b"");
    assert_eq!(flipper.storage.get(&b"flip"[..]), Some(&vec![1]));
    assert_eq!(chain.call(&mut flipper, ALICE, &[1]).ok(), [1]);
    assert_eq!(chain.call(&mut flipper, ALICE, &[0]).ok(), b"");
    assert_eq!(chain.call(&mut flipper, ALICE, &[1]).ok(), [0]);

    let (mut flipper, _) = chain.deploy(FLIPPER, ALICE, &[1]);
    assert_eq!(chain.call(&mut flipper, ALICE, &[1]).ok(), [1]);
    let (mut flipper, _) = chain.deploy(FLIPPER, ALICE, &[0]);
    assert_eq!(chain.call(&mut flipper, ALICE, &[1]).ok(), [0]);
}

#[test]
fn flipper_reverts_on_malformed_input() {
    let chain = Chain::new();
    for bad in [&[2][..], &[1, 0], &[0xff; 40]] {
        chain.deploy(FLIPPER, ALICE, bad).1.assert_reverted_empty();
    }
    let (mut flipper, _) = chain.deploy(FLIPPER, ALICE, &[1]);
    for bad in [&[][..], &[2], &[0, 0], &[1, 1], &[0xff; 100]] {
        chain.call(&mut flipper, ALICE, bad).assert_reverted_empty();
    }
    assert_eq!(flipper.storage.get(&b"flip"[..]), Some(&vec![1]));
}

// ---------------------------------------------------------------------------------------------
// counter

fn counter_op(selector: u8, by: u64) -> Vec<u8> {
    let mut input = vec![selector];
    input.extend_from_slice(&by.to_le_bytes());
    input
}

fn as_u64(output: &[u8]) -> u64 {
    u64::from_le_bytes(output.try_into().expect("8 bytes"))
}

#[test]
fn counter_increments_decrements_and_gets() {
    let chain = Chain::new();
    let (mut counter, _) = chain.deploy(COUNTER, ALICE, &[]);
    assert_eq!(
        counter.storage.get(&b"count"[..]),
        Some(&0u64.to_le_bytes().to_vec())
    );
    assert_eq!(as_u64(chain.call(&mut counter, ALICE, &[2]).ok()), 0);

    let (mut counter, _) = chain.deploy(COUNTER, ALICE, &5u64.to_le_bytes());
    assert_eq!(as_u64(chain.call(&mut counter, ALICE, &[2]).ok()), 5);
    let inc = chain.call(&mut counter, BOB, &counter_op(0, 10));
    assert_eq!(as_u64(inc.ok()), 15);
    assert_eq!(
        counter.storage.get(&b"count"[..]),
        Some(&15u64.to_le_bytes().to_vec())
    );
    assert_eq!(
        as_u64(chain.call(&mut counter, BOB, &counter_op(1, 4)).ok()),
        11
    );
    assert_eq!(
        as_u64(chain.call(&mut counter, BOB, &counter_op(1, 11)).ok()),
        0
    );
    assert_eq!(as_u64(chain.call(&mut counter, ALICE, &[2]).ok()), 0);
}

#[test]
fn counter_reverts_on_underflow_overflow_and_malformed_input() {
    let chain = Chain::new();
    let (mut counter, _) = chain.deploy(COUNTER, ALICE, &3u64.to_le_bytes());
    chain
        .call(&mut counter, ALICE, &counter_op(1, 4))
        .assert_reverted_empty();
    assert_eq!(as_u64(chain.call(&mut counter, ALICE, &[2]).ok()), 3);

    let near_max = u64::MAX - 1;
    assert_eq!(
        as_u64(
            chain
                .call(&mut counter, ALICE, &counter_op(0, near_max - 3))
                .ok()
        ),
        near_max
    );
    chain
        .call(&mut counter, ALICE, &counter_op(0, 2))
        .assert_reverted_empty();
    assert_eq!(
        as_u64(chain.call(&mut counter, ALICE, &counter_op(0, 1)).ok()),
        u64::MAX
    );
    assert_eq!(as_u64(chain.call(&mut counter, ALICE, &[2]).ok()), u64::MAX);

    for bad in [&[][..], &[3], &[2, 0], &[0, 1, 2, 3], &[0; 10], &[7; 9]] {
        chain.call(&mut counter, ALICE, bad).assert_reverted_empty();
    }
    for bad in [&[1][..], &[0; 7], &[0; 9]] {
        chain.deploy(COUNTER, ALICE, bad).1.assert_reverted_empty();
    }
}

// ---------------------------------------------------------------------------------------------
// token

fn balance_key(account: &[u8; 32]) -> Vec<u8> {
    [&b"bal:"[..], account].concat()
}

fn allowance_key(owner: &[u8; 32], spender: &[u8; 32]) -> Vec<u8> {
    [&b"alw:"[..], owner, spender].concat()
}

fn as_u128(output: &[u8]) -> u128 {
    u128::from_le_bytes(output.try_into().expect("16 bytes"))
}

fn transfer_event(from: [u8; 32], to: [u8; 32], amount: u128) -> Event {
    Event {
        topics: vec![token::TRANSFER_TOPIC, from, to],
        data: amount.to_le_bytes().to_vec(),
    }
}

fn approval_event(owner: [u8; 32], spender: [u8; 32], amount: u128) -> Event {
    Event {
        topics: vec![token::APPROVAL_TOPIC, owner, spender],
        data: amount.to_le_bytes().to_vec(),
    }
}

fn input(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn balance_of(chain: &Chain, token: &mut Contract, account: [u8; 32]) -> u128 {
    as_u128(chain.call(token, DAVE, &input(&[&[1], &account])).ok())
}

fn allowance(chain: &Chain, token: &mut Contract, owner: [u8; 32], spender: [u8; 32]) -> u128 {
    as_u128(
        chain
            .call(token, DAVE, &input(&[&[4], &owner, &spender]))
            .ok(),
    )
}

#[test]
fn token_event_topics_are_keccak_of_the_names() {
    assert_eq!(token::TRANSFER_TOPIC, keccak_256(b"Transfer"));
    assert_eq!(token::APPROVAL_TOPIC, keccak_256(b"Approval"));
}

#[test]
fn token_deploy_transfer_approve_transfer_from() {
    let chain = Chain::new();
    let (mut token, deployed) = chain.deploy(TOKEN, ALICE, &1_000u128.to_le_bytes());
    assert_eq!(deployed.ok(), b"");
    assert_eq!(deployed.events, [transfer_event([0; 32], ALICE, 1_000)]);
    assert_eq!(
        token.storage.get(&b"total"[..]),
        Some(&1_000u128.to_le_bytes().to_vec())
    );
    assert_eq!(
        token.storage.get(&balance_key(&ALICE)),
        Some(&1_000u128.to_le_bytes().to_vec())
    );
    assert_eq!(as_u128(chain.call(&mut token, BOB, &[0]).ok()), 1_000);
    assert_eq!(balance_of(&chain, &mut token, ALICE), 1_000);
    assert_eq!(balance_of(&chain, &mut token, BOB), 0);

    // transfer
    let sent = chain.call(
        &mut token,
        ALICE,
        &input(&[&[2], &BOB, &300u128.to_le_bytes()]),
    );
    assert_eq!(sent.ok(), b"");
    assert_eq!(sent.events, [transfer_event(ALICE, BOB, 300)]);
    assert_eq!(balance_of(&chain, &mut token, ALICE), 700);
    assert_eq!(balance_of(&chain, &mut token, BOB), 300);
    assert_eq!(
        token.storage.get(&balance_key(&BOB)),
        Some(&300u128.to_le_bytes().to_vec())
    );

    // to oneself, and of nothing: allowed, balances unchanged
    let to_self = chain.call(
        &mut token,
        BOB,
        &input(&[&[2], &BOB, &300u128.to_le_bytes()]),
    );
    assert_eq!(to_self.events, [transfer_event(BOB, BOB, 300)]);
    assert_eq!(balance_of(&chain, &mut token, BOB), 300);
    let nothing = chain.call(&mut token, CAROL, &input(&[&[2], &BOB, &[0; 16]]));
    assert_eq!(nothing.events, [transfer_event(CAROL, BOB, 0)]);

    // approve
    let approved = chain.call(
        &mut token,
        ALICE,
        &input(&[&[3], &CAROL, &200u128.to_le_bytes()]),
    );
    assert_eq!(approved.ok(), b"");
    assert_eq!(approved.events, [approval_event(ALICE, CAROL, 200)]);
    assert_eq!(allowance(&chain, &mut token, ALICE, CAROL), 200);
    assert_eq!(allowance(&chain, &mut token, CAROL, ALICE), 0);
    assert_eq!(
        token.storage.get(&allowance_key(&ALICE, &CAROL)),
        Some(&200u128.to_le_bytes().to_vec())
    );

    // transfer_from: CAROL moves ALICE's tokens to DAVE
    let moved = chain.call(
        &mut token,
        CAROL,
        &input(&[&[5], &ALICE, &DAVE, &150u128.to_le_bytes()]),
    );
    assert_eq!(moved.ok(), b"");
    assert_eq!(moved.events, [transfer_event(ALICE, DAVE, 150)]);
    assert_eq!(allowance(&chain, &mut token, ALICE, CAROL), 50);
    assert_eq!(balance_of(&chain, &mut token, ALICE), 550);
    assert_eq!(balance_of(&chain, &mut token, DAVE), 150);
    assert_eq!(balance_of(&chain, &mut token, CAROL), 0);
    assert_eq!(as_u128(chain.call(&mut token, BOB, &[0]).ok()), 1_000);

    // re-approving overwrites
    chain.call(&mut token, ALICE, &input(&[&[3], &CAROL, &[0; 16]]));
    assert_eq!(allowance(&chain, &mut token, ALICE, CAROL), 0);
}

#[test]
fn token_reverts_on_insufficient_balance_or_allowance() {
    let chain = Chain::new();
    let (mut token, _) = chain.deploy(TOKEN, ALICE, &100u128.to_le_bytes());
    chain.call(
        &mut token,
        ALICE,
        &input(&[&[2], &BOB, &40u128.to_le_bytes()]),
    );
    chain.call(
        &mut token,
        BOB,
        &input(&[&[3], &CAROL, &1_000u128.to_le_bytes()]),
    );
    chain.call(
        &mut token,
        ALICE,
        &input(&[&[3], &CAROL, &10u128.to_le_bytes()]),
    );
    let before = token.storage.clone();

    // balance too low
    chain
        .call(
            &mut token,
            BOB,
            &input(&[&[2], &CAROL, &41u128.to_le_bytes()]),
        )
        .assert_reverted_empty();
    chain
        .call(
            &mut token,
            DAVE,
            &input(&[&[2], &CAROL, &1u128.to_le_bytes()]),
        )
        .assert_reverted_empty();
    // allowance too low
    chain
        .call(
            &mut token,
            CAROL,
            &input(&[&[5], &ALICE, &DAVE, &11u128.to_le_bytes()]),
        )
        .assert_reverted_empty();
    // no allowance at all
    chain
        .call(
            &mut token,
            DAVE,
            &input(&[&[5], &ALICE, &DAVE, &1u128.to_le_bytes()]),
        )
        .assert_reverted_empty();
    // allowance enough, balance not: the allowance is not spent either
    chain
        .call(
            &mut token,
            CAROL,
            &input(&[&[5], &BOB, &DAVE, &41u128.to_le_bytes()]),
        )
        .assert_reverted_empty();
    assert_eq!(token.storage, before);
    assert_eq!(allowance(&chain, &mut token, BOB, CAROL), 1_000);
    assert_eq!(balance_of(&chain, &mut token, BOB), 40);

    // and the exact amounts go through
    let all = chain.call(
        &mut token,
        CAROL,
        &input(&[&[5], &BOB, &DAVE, &40u128.to_le_bytes()]),
    );
    assert_eq!(all.events, [transfer_event(BOB, DAVE, 40)]);
    assert_eq!(allowance(&chain, &mut token, BOB, CAROL), 960);
    assert_eq!(balance_of(&chain, &mut token, BOB), 0);
    assert_eq!(
        token.storage.get(&balance_key(&BOB)),
        Some(&0u128.to_le_bytes().to_vec())
    );
}

#[test]
fn token_reverts_on_malformed_input() {
    let chain = Chain::new();
    for bad in [&[][..], &[1; 15], &[1; 17]] {
        chain.deploy(TOKEN, ALICE, bad).1.assert_reverted_empty();
    }
    let (mut token, _) = chain.deploy(TOKEN, ALICE, &100u128.to_le_bytes());
    let before = token.storage.clone();
    let bad_inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![6],
        vec![0xff],
        vec![0, 0],
        input(&[&[1], &BOB[..31]]),
        input(&[&[1], &BOB, &[0]]),
        input(&[&[2], &BOB, &[1; 15]]),
        input(&[&[2], &BOB, &[1; 17]]),
        input(&[&[3], &BOB]),
        input(&[&[4], &BOB]),
        input(&[&[4], &BOB, &ALICE, &[0]]),
        input(&[&[5], &ALICE, &BOB, &[1; 15]]),
        vec![5; 82],
        vec![0; 200],
    ];
    for bad in &bad_inputs {
        chain.call(&mut token, ALICE, bad).assert_reverted_empty();
    }
    assert_eq!(token.storage, before);
}

// ---------------------------------------------------------------------------------------------
// hasher

fn hasher_input(mode: u8, rounds: u32, seed: &[u8]) -> Vec<u8> {
    input(&[&[mode], &rounds.to_le_bytes(), seed])
}

fn iterate(hash: fn(&[u8]) -> [u8; 32], rounds: u32, seed: &[u8]) -> Vec<u8> {
    let mut state = seed.to_vec();
    for _ in 0..rounds {
        state = hash(&state).to_vec();
    }
    state
}

#[test]
fn hasher_in_guest_keccak_matches_keccak_256_iterated() {
    let chain = Chain::new();
    let (mut hasher, deployed) = chain.deploy(HASHER, ALICE, &[]);
    assert_eq!(deployed.ok(), b"");
    assert!(hasher.storage.is_empty());
    // Known answer: Keccak-256 of the empty string.
    let empty = chain.call(&mut hasher, ALICE, &hasher_input(0, 1, b""));
    assert_eq!(empty.ok(), keccak_256(b""), "keccak256(\"\") = c5d24601...");
    for (rounds, seed) in [
        (1, &b"abc"[..]),
        (2, b"seed"),
        (10, &[0x5a; 64]),
        (100, b"pvm"),
    ] {
        let outcome = chain.call(&mut hasher, ALICE, &hasher_input(0, rounds, seed));
        assert_eq!(outcome.ok(), iterate(keccak_256, rounds, seed), "{rounds}");
        assert_eq!(outcome.ok().len(), 32);
        let again = chain.call(&mut hasher, BOB, &hasher_input(0, rounds, seed));
        assert_eq!(again.ok(), outcome.ok(), "deterministic");
        assert_eq!(again.gas_used, outcome.gas_used, "same gas");
    }
}

#[test]
fn hasher_syscall_mode_matches_blake2_256_iterated() {
    let chain = Chain::new();
    let (mut hasher, _) = chain.deploy(HASHER, ALICE, &[1, 2, 3]);
    for (rounds, seed) in [(1, &b""[..]), (3, b"seed"), (50, &[7; 64])] {
        let outcome = chain.call(&mut hasher, ALICE, &hasher_input(1, rounds, seed));
        assert_eq!(outcome.ok(), iterate(blake2_256, rounds, seed), "{rounds}");
        assert_eq!(outcome.ok().len(), 32);
    }
    // The guest's own hashing is what makes mode 0 heavy.
    let guest = chain.call(&mut hasher, ALICE, &hasher_input(0, 50, b"x"));
    let host = chain.call(&mut hasher, ALICE, &hasher_input(1, 50, b"x"));
    assert!(
        guest.gas_used > 10 * host.gas_used,
        "guest keccak {} gas, syscall blake2 {} gas",
        guest.gas_used,
        host.gas_used
    );
}

#[test]
fn hasher_edge_cases() {
    let chain = Chain::new();
    let (mut hasher, _) = chain.deploy(HASHER, ALICE, &[]);
    // Zero rounds: the seed itself.
    assert_eq!(
        chain
            .call(&mut hasher, ALICE, &hasher_input(0, 0, b"seed"))
            .ok(),
        b"seed"
    );
    assert_eq!(
        chain
            .call(&mut hasher, ALICE, &hasher_input(1, 0, b""))
            .ok(),
        b""
    );
    for bad in [
        vec![],
        vec![0, 1, 0, 0],
        hasher_input(2, 1, b""),
        hasher_input(0, 1, &[0; 65]),
        hasher_input(1, 1, &[0; 65]),
    ] {
        chain.call(&mut hasher, ALICE, &bad).assert_reverted_empty();
    }
}

// ---------------------------------------------------------------------------------------------
// probe

fn as_u32(output: &[u8]) -> u32 {
    u32::from_le_bytes(output.try_into().expect("4 bytes"))
}

/// Deploys `probe`; its deploy ignores the call data and stores nothing.
fn deploy_probe(chain: &Chain) -> Contract {
    let (probe, deployed) = chain.deploy(PROBE, ALICE, b"ignored");
    assert_eq!(deployed.ok(), b"");
    assert!(deployed.events.is_empty());
    assert!(probe.storage.is_empty());
    probe
}

/// `[3] ++ key_len ++ key ++ value`: `set_storage`'s raw result.
fn probe_set(chain: &Chain, probe: &mut Contract, key: &[u8], value: &[u8]) -> u32 {
    let key_len = u8::try_from(key.len()).expect("short key");
    as_u32(
        chain
            .call(probe, ALICE, &input(&[&[3, key_len], key, value]))
            .ok(),
    )
}

#[test]
fn probe_reads_the_environment_in_order() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    let outcome = chain.call(&mut probe, BOB, &[0]);
    let out = outcome.ok();
    assert_eq!(out.len(), 120);
    assert_eq!(out[..32], BOB, "caller");
    assert_eq!(out[32..64], probe.address, "address");
    assert_eq!(as_u128(&out[64..80]), 0, "value_transferred");
    assert_eq!(as_u128(&out[80..96]), 0, "balance");
    assert_eq!(as_u64(&out[96..104]), chain.block_number, "block_number");
    assert_eq!(as_u64(&out[104..112]), chain.now, "now");
    // Read last, before the output is returned: between the gas at the start and at the end.
    let gas_left = as_u64(&out[112..]) as i64;
    assert!(
        GAS - outcome.gas_used <= gas_left && gas_left < GAS,
        "gas_left {gas_left}, used {}",
        outcome.gas_used
    );
    assert_eq!(chain.call(&mut probe, CAROL, &[0]).ok()[..32], CAROL);
}

#[test]
fn probe_transfer_returns_the_raw_result() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    // The harness's contracts hold nothing: only a transfer of 0 goes through.
    let send = |probe: &mut Contract, amount: u128| {
        as_u32(
            chain
                .call(probe, ALICE, &input(&[&[1], &BOB, &amount.to_le_bytes()]))
                .ok(),
        )
    };
    assert_eq!(send(&mut probe, 0), 0);
    assert_eq!(send(&mut probe, 1), 1);
    assert_eq!(send(&mut probe, u128::MAX), 1);
}

#[test]
fn probe_storage_syscalls_return_raw_results() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    let contains = |probe: &mut Contract, key: &[u8]| {
        as_u32(chain.call(probe, ALICE, &input(&[&[2], key])).ok())
    };
    let clear = |probe: &mut Contract, key: &[u8]| {
        as_u32(chain.call(probe, ALICE, &input(&[&[4], key])).ok())
    };
    let get = |probe: &mut Contract, key: &[u8]| chain.call(probe, ALICE, &input(&[&[5], key]));

    assert_eq!(contains(&mut probe, b"k"), u32::MAX);
    get(&mut probe, b"k").assert_reverted_empty();
    assert_eq!(clear(&mut probe, b"k"), u32::MAX);

    assert_eq!(probe_set(&chain, &mut probe, b"k", b"hello"), u32::MAX);
    assert_eq!(probe.storage.get(&b"k"[..]), Some(&b"hello".to_vec()));
    assert_eq!(contains(&mut probe, b"k"), 5);
    assert_eq!(get(&mut probe, b"k").ok(), b"hello");

    // The longest value that fits in 16 KiB of call data, read back through the 16 KiB buffer.
    let big: Vec<u8> = (0..16 * 1024 - 3).map(|i| (i * 7) as u8).collect();
    assert_eq!(probe_set(&chain, &mut probe, b"k", &big), 5);
    assert_eq!(contains(&mut probe, b"k"), big.len() as u32);
    assert_eq!(get(&mut probe, b"k").ok(), big);

    // Empty values and the empty key are values like any other.
    assert_eq!(probe_set(&chain, &mut probe, b"e", b""), u32::MAX);
    assert_eq!(contains(&mut probe, b"e"), 0);
    assert_eq!(get(&mut probe, b"e").ok(), b"");
    assert_eq!(probe_set(&chain, &mut probe, b"", b"empty key"), u32::MAX);
    assert_eq!(get(&mut probe, b"").ok(), b"empty key");
    assert_eq!(clear(&mut probe, b""), 9);

    // Keys up to the 128-byte limit.
    let long_key = [0x4b; 128];
    assert_eq!(probe_set(&chain, &mut probe, &long_key, b"v"), u32::MAX);
    assert_eq!(contains(&mut probe, &long_key), 1);
    assert_eq!(get(&mut probe, &long_key).ok(), b"v");

    assert_eq!(clear(&mut probe, b"k"), big.len() as u32);
    assert_eq!(clear(&mut probe, b"k"), u32::MAX);
    assert_eq!(contains(&mut probe, b"k"), u32::MAX);
    get(&mut probe, b"k").assert_reverted_empty();
    let expected: Storage = [(b"e".to_vec(), vec![]), (long_key.to_vec(), b"v".to_vec())]
        .into_iter()
        .collect();
    assert_eq!(probe.storage, expected);

    // A key over the limit reaches the syscall through `[4]` and `[5]` and traps.
    let too_long = [0x4b; 129];
    for selector in [4, 5] {
        let outcome = chain.call(&mut probe, ALICE, &input(&[&[selector], &too_long]));
        let error = outcome.result.expect_err("an over-limit key traps");
        assert!(
            error.contains("length 129 is over the limit 128"),
            "{error}"
        );
    }
    assert_eq!(probe.storage, expected);
}

#[test]
fn probe_hashes_match_keccak_256_and_blake2_256() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    let long: Vec<u8> = (0..16 * 1024 - 1).map(|i| (i * 13) as u8).collect();
    for data in [&b""[..], b"abc", &[0x5a; 200], &long] {
        let keccak = chain.call(&mut probe, ALICE, &input(&[&[6], data]));
        assert_eq!(
            keccak.ok(),
            keccak_256(data),
            "keccak, {} bytes",
            data.len()
        );
        let blake2 = chain.call(&mut probe, ALICE, &input(&[&[7], data]));
        assert_eq!(
            blake2.ok(),
            blake2_256(data),
            "blake2, {} bytes",
            data.len()
        );
    }
}

#[test]
fn probe_revert_carries_output_and_rolls_back() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    probe_set(&chain, &mut probe, b"k", b"v");
    let before = probe.storage.clone();
    for data in [&b""[..], b"reverted output", &[0xee; 16 * 1024 - 1]] {
        let outcome = chain.call(&mut probe, ALICE, &input(&[&[8], data]));
        assert_eq!(
            outcome.result,
            Ok(Output {
                reverted: true,
                data: data.to_vec()
            })
        );
    }
    assert_eq!(probe.storage, before);
}

#[test]
fn probe_trap_rolls_back_storage() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    let outcome = chain.call(&mut probe, ALICE, &[9]);
    assert_eq!(outcome.result, Err("Trap".to_owned()));
    assert!(outcome.events.is_empty());
    assert!(
        probe.storage.is_empty(),
        "the write of b\"x\" was rolled back"
    );
    // The same write without the trap stays.
    assert_eq!(probe_set(&chain, &mut probe, b"x", &[1]), u32::MAX);
    assert_eq!(probe.storage.get(&b"x"[..]), Some(&vec![1]));
}

#[test]
fn probe_reverts_on_malformed_input() {
    let chain = Chain::new();
    let mut probe = deploy_probe(&chain);
    probe_set(&chain, &mut probe, b"k", b"v");
    let before = probe.storage.clone();
    let bad_inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![10],
        vec![0xff],
        vec![0, 0],
        vec![9, 0],
        vec![1],
        input(&[&[1], &BOB, &[0; 15]]),
        input(&[&[1], &BOB, &[0; 17]]),
        vec![2],
        input(&[&[2], &[0x4b; 129]]),
        vec![3],
        vec![3, 2, b'k'],
        // Shorter than their fixed parts: call, instantiate, terminate, origin, set-then.
        input(&[&[10], &[0; 87]]),
        input(&[&[11], &[0; 119]]),
        input(&[&[12], &[0; 31]]),
        input(&[&[12], &[0; 33]]),
        vec![13, 0],
        vec![14],
        vec![14, 2, b'k'],
        vec![14, 1, b'k', 9],
        vec![14, 1, b'k', 9, 0, 1],
        // Call data over 16 KiB.
        input(&[&[6], &[0; 16 * 1024]]),
    ];
    for bad in &bad_inputs {
        chain.call(&mut probe, ALICE, bad).assert_reverted_empty();
    }
    assert_eq!(probe.storage, before);
}
