//! `pvm demo`: deploys every example contract on the mock runtime, calls them through the
//! pallet's extrinsics, and prints what each call did.
//!
//! Each call is first dry-run (`bare_call` in a rolled-back transaction, as a wallet
//! estimates gas), then dispatched as the extrinsic; the report shows the extrinsic's
//! outcome, the engine gas the dry run measured, the weight the extrinsic was charged, what
//! left the caller's free balance (deposits, value sent and the new contract's existential
//! deposit; the mock has no fees), and the events it emitted.
//!
//! The last part has contracts call and create contracts: a factory creates a counter, a
//! proxy forwards calls to it, a revert travels back through the proxy, and the proxy ends
//! itself. Those calls are made as a wallet makes them: a dry run through the runtime API
//! (`PvmApi_call`) first, shown before the call, and the extrinsic then submitted with the
//! dry run's weight required and storage deposit as its limits.

use anyhow::{bail, Result};
use clap::Args;
use frame_support::{
    dispatch::DispatchResultWithPostInfo,
    storage::{with_transaction, TransactionOutcome},
};
use indicatif::{ProgressBar, ProgressStyle};
use pallet_pvm::weights::WeightInfo;
use pvm_contracts_examples::{COUNTER, FACTORY, FLIPPER, HASHER, PROXY, TOKEN};
use pvm_runtime_mock::*;
use sp_core::H256;
use sp_runtime::{AccountId32, DispatchError};
use std::process::ExitCode;

/// Arguments of `pvm demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Rounds of hashing for the hasher contract's calls.
    #[arg(long, default_value_t = 1000)]
    pub hash_rounds: u32,
    /// The native engine's backend: interpreter, jit or crosscheck.
    #[arg(long, default_value = "interpreter", value_parser = crate::load::parse_backend)]
    pub backend: pvm_core::BackendKind,
    /// Where the JIT's code runs (with `--backend jit` or `crosscheck`): `linux`, a
    /// locked-down worker process (the default), or `generic`, in this process.
    #[arg(long, value_name = "NAME", default_value = "linux", value_parser = crate::load::parse_sandbox)]
    pub sandbox: pvm_core::SandboxKind,
}

/// One step of the scenario.
enum Step {
    Upload(&'static str, &'static [u8]),
    Instantiate(&'static str, Vec<u8>),
    Call(&'static str, &'static str, AccountId32, Vec<u8>),
    /// A call as a wallet makes it, sending value: dry-run through the runtime API first,
    /// then submitted with the dry run's weight required and deposit as its limits.
    WalletCall(&'static str, &'static str, AccountId32, u128, Vec<u8>),
    RemoveCode(&'static str),
}

/// The name the demo gives the counter the factory creates.
const FACTORY_COUNTER: &str = "counter#1";

fn code_hash(code: &[u8]) -> H256 {
    H256(sp_io::hashing::blake2_256(code))
}

/// The counter the factory (instantiated by ALICE without salt) creates with salt `[1; 32]`.
fn factory_counter() -> AccountId32 {
    let factory = Pvm::contract_address(&ALICE, &code_hash(FACTORY), &[]);
    Pvm::contract_address(&factory, &code_hash(COUNTER), &[1; 32])
}

struct Report {
    title: String,
    /// What the dry run through the runtime API said, for a wallet's call.
    dry_run: Option<String>,
    outcome: String,
    expected_ok: bool,
    gas: Option<u64>,
    weight: Option<(u64, u64)>,
    paid: i128,
    events: Vec<String>,
}

fn account_bytes(who: &AccountId32) -> [u8; 32] {
    who.clone().into()
}

thread_local! {
    /// Contract addresses and the example each runs, for readable events.
    static CONTRACT_NAMES: std::cell::RefCell<Vec<(AccountId32, &'static str)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn name_of(who: &AccountId32) -> String {
    let contract = CONTRACT_NAMES.with(|names| {
        names
            .borrow()
            .iter()
            .find(|(address, _)| address == who)
            .map(|(_, name)| *name)
    });
    match (who, contract) {
        (_, Some(name)) => format!("{name} contract 0x{}..", hex(&account_bytes(who)[..4])),
        (who, None) if *who == ALICE => "ALICE".into(),
        (who, None) if *who == BOB => "BOB".into(),
        (who, None) if *who == CHARLIE => "CHARLIE".into(),
        _ => format!("0x{}..", hex(&account_bytes(who)[..4])),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn scenario(rounds: u32) -> Vec<(Step, bool)> {
    let bob = account_bytes(&BOB);
    let charlie = account_bytes(&CHARLIE);
    let alice = account_bytes(&ALICE);
    let with = |parts: &[&[u8]]| parts.concat();
    use Step::*;
    vec![
        (Upload("flipper", FLIPPER), true),
        (Upload("counter", COUNTER), true),
        (Upload("token", TOKEN), true),
        (Upload("hasher", HASHER), true),
        (Instantiate("flipper", vec![0]), true),
        (Instantiate("counter", 40u64.to_le_bytes().to_vec()), true),
        (
            Instantiate("token", 1_000_000u128.to_le_bytes().to_vec()),
            true,
        ),
        (Instantiate("hasher", vec![]), true),
        (Call("flipper", "flip()", ALICE, vec![0]), true),
        (Call("flipper", "get()", BOB, vec![1]), true),
        (
            Call(
                "counter",
                "increment(2)",
                BOB,
                with(&[&[0], &2u64.to_le_bytes()]),
            ),
            true,
        ),
        (
            Call(
                "counter",
                "decrement(100)",
                BOB,
                with(&[&[1], &100u64.to_le_bytes()]),
            ),
            false,
        ),
        (Call("counter", "get()", CHARLIE, vec![2]), true),
        (
            Call(
                "token",
                "transfer(BOB, 250)",
                ALICE,
                with(&[&[2], &bob, &250u128.to_le_bytes()]),
            ),
            true,
        ),
        (
            Call(
                "token",
                "approve(CHARLIE, 100)",
                BOB,
                with(&[&[3], &charlie, &100u128.to_le_bytes()]),
            ),
            true,
        ),
        (
            Call(
                "token",
                "transfer_from(BOB, CHARLIE, 60)",
                CHARLIE,
                with(&[&[5], &bob, &charlie, &60u128.to_le_bytes()]),
            ),
            true,
        ),
        (
            Call(
                "token",
                "transfer(ALICE, 500)",
                CHARLIE,
                with(&[&[2], &alice, &500u128.to_le_bytes()]),
            ),
            false,
        ),
        (
            Call("token", "balance_of(CHARLIE)", BOB, with(&[&[1], &charlie])),
            true,
        ),
        (
            Call(
                "hasher",
                "keccak256 in guest",
                ALICE,
                with(&[&[0], &rounds.to_le_bytes(), b"pvm"]),
            ),
            true,
        ),
        (
            Call(
                "hasher",
                "blake2b-256 by syscall",
                ALICE,
                with(&[&[1], &rounds.to_le_bytes(), b"pvm"]),
            ),
            true,
        ),
        (RemoveCode("flipper"), false),
        // Contracts calling contracts.
        (Upload("factory", FACTORY), true),
        (Upload("proxy", PROXY), true),
        (Instantiate("factory", code_hash(COUNTER).0.to_vec()), true),
        (
            Instantiate("proxy", account_bytes(&factory_counter()).to_vec()),
            true,
        ),
        (
            WalletCall(
                "factory",
                "create(salt 1, counter at 7) sending 1000",
                BOB,
                1_000,
                with(&[&[0], &[1; 32], &7u64.to_le_bytes()]),
            ),
            true,
        ),
        (
            WalletCall(
                "proxy",
                "increment(5), forwarded to counter#1",
                BOB,
                0,
                with(&[&[0], &5u64.to_le_bytes()]),
            ),
            true,
        ),
        (
            WalletCall(
                "proxy",
                "decrement(100): the counter reverts, so does the proxy",
                CHARLIE,
                0,
                with(&[&[1], &100u64.to_le_bytes()]),
            ),
            false,
        ),
        (
            WalletCall(
                "factory",
                "create(salt 1) again: address taken, the factory goes on",
                BOB,
                0,
                with(&[&[0], &[1; 32], &7u64.to_le_bytes()]),
            ),
            true,
        ),
        (Call(FACTORY_COUNTER, "get()", CHARLIE, vec![2]), true),
        (
            WalletCall(
                "proxy",
                "terminate(CHARLIE), by its owner",
                ALICE,
                0,
                with(&[&[1], &charlie]),
            ),
            true,
        ),
    ]
}

fn describe_output(name: &str, output: &[u8]) -> String {
    let decoded = match (name, output.len()) {
        (_, 0) => return "no output".into(),
        ("flipper", 1) => format!(" = {}", output[0] != 0),
        ("counter", 8) => format!(" = {}", u64::from_le_bytes(output.try_into().unwrap())),
        ("token", 16) => format!(" = {}", u128::from_le_bytes(output.try_into().unwrap())),
        // The proxy returns its target's output: here a counter's.
        ("proxy" | FACTORY_COUNTER, 8) => {
            format!(" = {}", u64::from_le_bytes(output.try_into().unwrap()))
        }
        ("factory", 36) => format!(
            " = status {}, address {}",
            u32::from_le_bytes(output[..4].try_into().unwrap()),
            name_of(&AccountId32::new(output[4..].try_into().unwrap()))
        ),
        _ => String::new(),
    };
    format!("output 0x{}{decoded}", hex(output))
}

fn describe_event(event: pallet_pvm::Event<Runtime>) -> String {
    use pallet_pvm::Event::*;
    match event {
        CodeStored {
            code_hash, deposit, ..
        } => format!("CodeStored {{ code_hash: {code_hash:?}, deposit: {deposit} }}"),
        CodeRemoved { code_hash, .. } => format!("CodeRemoved {{ code_hash: {code_hash:?} }}"),
        Instantiated {
            deployer, contract, ..
        } => format!(
            "Instantiated {{ deployer: {}, contract: {} }}",
            name_of(&deployer),
            name_of(&contract)
        ),
        Called { caller, contract } => format!(
            "Called {{ caller: {}, contract: {} }}",
            name_of(&caller),
            name_of(&contract)
        ),
        ContractEmitted { topics, data, .. } => format!(
            "ContractEmitted {{ topics: [{}], data: 0x{} }}",
            topics
                .iter()
                .map(|t| format!("{}..", hex(&t.0[..4])))
                .collect::<Vec<_>>()
                .join(", "),
            hex(&data)
        ),
        StorageDepositTransferred {
            who,
            charged,
            refunded,
            ..
        } => format!(
            "StorageDepositTransferred {{ who: {}, charged: {charged}, refunded: {refunded} }}",
            name_of(&who)
        ),
        Terminated {
            contract,
            beneficiary,
        } => format!(
            "Terminated {{ contract: {}, beneficiary: {} }}",
            name_of(&contract),
            name_of(&beneficiary)
        ),
        other => format!("{other:?}"),
    }
}

fn error_name(error: DispatchError) -> String {
    match error {
        DispatchError::Module(module) => module.message.unwrap_or("module error").to_string(),
        other => format!("{other:?}"),
    }
}

fn run_step(
    step: &Step,
    expected_ok: bool,
    code_hashes: &mut Vec<(&'static str, H256)>,
    contracts: &mut Vec<(&'static str, AccountId32)>,
) -> Report {
    System::reset_events();
    let hash_of = |name: &str, hashes: &Vec<(&str, H256)>| {
        hashes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| *h)
            .unwrap()
    };
    let (title, payer) = match step {
        Step::Upload(name, code) => (
            format!("upload_code({name}, {} bytes) by ALICE", code.len()),
            ALICE,
        ),
        Step::Instantiate(name, data) => (
            format!("instantiate({name}, data 0x{}) by ALICE", hex(data)),
            ALICE,
        ),
        Step::Call(name, what, who, _) | Step::WalletCall(name, what, who, ..) => (
            format!("call({name}.{what}) by {}", name_of(who)),
            who.clone(),
        ),
        Step::RemoveCode(name) => (format!("remove_code({name}) by ALICE"), ALICE),
    };
    let before = Balances::free_balance(&payer);
    let mut gas = None;
    let mut dry_output = None;
    let mut dry_run = None;
    let result: DispatchResultWithPostInfo = match step {
        Step::Upload(name, code) => {
            let result = Pvm::upload_code(signed(&ALICE), code.to_vec(), DEPOSIT_LIMIT);
            code_hashes.push((name, H256(sp_io::hashing::blake2_256(code))));
            result.map(Into::into).map_err(Into::into)
        }
        Step::Instantiate(name, data) => {
            let code_hash = hash_of(name, code_hashes);
            let dry = with_transaction(|| {
                let r = Pvm::bare_instantiate(
                    ALICE,
                    code_hash,
                    0,
                    GAS_LIMIT,
                    DEPOSIT_LIMIT,
                    data.clone(),
                    vec![],
                );
                TransactionOutcome::Rollback(Ok::<_, DispatchError>(r))
            })
            .expect("the dry run itself cannot fail");
            gas = Some(dry.gas_consumed);
            let address = Pvm::contract_address(&ALICE, &code_hash, &[]);
            CONTRACT_NAMES.with(|names| names.borrow_mut().push((address.clone(), name)));
            contracts.push((name, address));
            Pvm::instantiate(
                signed(&ALICE),
                0,
                GAS_LIMIT,
                DEPOSIT_LIMIT,
                code_hash,
                data.clone(),
                vec![],
            )
        }
        Step::Call(name, _, who, data) => {
            let contract = contracts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c.clone())
                .unwrap();
            let dry = with_transaction(|| {
                let r = Pvm::bare_call(
                    who.clone(),
                    contract.clone(),
                    0,
                    GAS_LIMIT,
                    DEPOSIT_LIMIT,
                    data.clone(),
                );
                TransactionOutcome::Rollback(Ok::<_, DispatchError>(r))
            })
            .expect("the dry run itself cannot fail");
            gas = Some(dry.gas_consumed);
            if let Ok(outcome) = &dry.result {
                dry_output = Some(outcome.output.clone());
            }
            Pvm::call(
                signed(who),
                contract,
                0,
                GAS_LIMIT,
                DEPOSIT_LIMIT,
                data.clone(),
            )
        }
        Step::WalletCall(name, _, who, value, data) => {
            let contract = contracts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c.clone())
                .unwrap();
            let dry = dry_run_call(who, &contract, *value, (None, None), data);
            gas = Some(dry.gas_consumed);
            let (weight, deposit) = (dry.weight_required, dry.storage_deposit_charged);
            let result = match &dry.result {
                Ok(outcome) => {
                    dry_output = Some(outcome.output.clone());
                    format!(
                        "{}{}",
                        if outcome.reverted {
                            "reverts, "
                        } else {
                            "Ok, "
                        },
                        describe_output(name, &outcome.output)
                    )
                }
                Err(error) => format!("Err({})", error_name(*error)),
            };
            dry_run = Some(format!(
                "{result}; gas {}, weight required ref_time {} proof_size {}, deposit {deposit}, \
                 {} events -> submitted with these as its limits",
                dry.gas_consumed,
                weight.ref_time(),
                weight.proof_size(),
                dry.events.len()
            ));
            Pvm::call(signed(who), contract, *value, weight, deposit, data.clone())
        }
        Step::RemoveCode(name) => {
            let code_hash = hash_of(name, code_hashes);
            Pvm::remove_code(signed(&ALICE), code_hash)
                .map(Into::into)
                .map_err(Into::into)
        }
    };
    // Calls without post-dispatch weight pay what they declared.
    let declared = match step {
        Step::Upload(_, code) => Some(<Runtime as pallet_pvm::Config>::WeightInfo::upload_code(
            code.len() as u32,
        )),
        Step::RemoveCode(_) => Some(<Runtime as pallet_pvm::Config>::WeightInfo::remove_code()),
        _ => None,
    };
    let weight = match &result {
        Ok(post) => post.actual_weight,
        Err(error) => error.post_info.actual_weight,
    }
    .or(declared)
    .map(|w| (w.ref_time(), w.proof_size()));
    let name = match step {
        Step::Upload(n, _)
        | Step::Instantiate(n, _)
        | Step::Call(n, ..)
        | Step::WalletCall(n, ..)
        | Step::RemoveCode(n) => *n,
    };
    let outcome = match (&result, dry_output) {
        (Ok(_), Some(output)) => format!("Ok, {}", describe_output(name, &output)),
        (Ok(_), None) => "Ok".into(),
        (Err(error), _) => format!("Err({})", error_name(error.error)),
    };
    let after = Balances::free_balance(&payer);
    Report {
        title,
        dry_run,
        outcome,
        expected_ok: expected_ok == result.is_ok(),
        gas,
        weight,
        paid: before as i128 - after as i128,
        events: pvm_events().into_iter().map(describe_event).collect(),
    }
}

fn print_report(index: usize, total: usize, report: &Report, bar: &ProgressBar) {
    let mut text = format!("[{index:>2}/{total}] {}\n", report.title);
    let line = |label: &str, value: String| format!("    {label:<10} {value}\n");
    if let Some(dry_run) = &report.dry_run {
        text += &line("dry run", dry_run.clone());
    }
    text += &line(
        "outcome",
        format!(
            "{}{}",
            report.outcome,
            if report.expected_ok {
                ""
            } else {
                "   <- UNEXPECTED"
            }
        ),
    );
    text += &line(
        "gas used",
        report.gas.map_or("-".into(), |g| format!("{g}")),
    );
    text += &line(
        "weight",
        report.weight.map_or("-".into(), |(r, p)| {
            format!(
                "ref_time {r} ps ({:.1} us), proof_size {p} B",
                r as f64 / 1e6
            )
        }),
    );
    text += &line(
        "paid",
        match report.paid {
            0 => "0".into(),
            paid if paid > 0 => format!("{paid} paid by the caller"),
            refund => format!("{} refunded to the caller", -refund),
        },
    );
    if report.events.is_empty() {
        text += &line("events", "none".into());
    }
    for (i, event) in report.events.iter().enumerate() {
        text += &line(if i == 0 { "events" } else { "" }, event.clone());
    }
    // A hidden bar (stderr not a terminal) swallows `println`: print directly then.
    if bar.is_hidden() {
        println!("{text}");
    } else {
        bar.println(text);
    }
}

/// Runs the demo; fails when any step's outcome is not the expected one.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let steps = scenario(args.hash_rounds);
    println!(
        "pallet-pvm demo: {} extrinsics on the mock runtime (System, Balances, Timestamp, Pvm), contracts run by the native pvm-core engine ({} backend{})",
        steps.len(),
        args.backend.name(),
        if args.backend == pvm_core::BackendKind::Interpreter {
            String::new()
        } else {
            format!(", {} sandbox", args.sandbox.name())
        }
    );
    println!("accounts: ALICE, BOB, CHARLIE with {INITIAL_BALANCE} each; every call gets weight limit ref_time {} and a deposit limit of {DEPOSIT_LIMIT}\n", GAS_LIMIT.ref_time());
    let bar = ProgressBar::new(steps.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("a valid template"),
    );
    let mut unexpected = 0;
    let mut summary = Vec::new();
    let sandbox = pvm_core::SandboxConfig {
        kind: args.sandbox,
        ..pvm_core::SandboxConfig::default()
    };
    new_test_ext_with_engine(args.backend, sandbox).execute_with(|| {
        let mut code_hashes = Vec::new();
        // The factory's counter has a name before it exists, for the proxy's target.
        let mut contracts = vec![(FACTORY_COUNTER, factory_counter())];
        CONTRACT_NAMES.with(|names| {
            names
                .borrow_mut()
                .push((factory_counter(), FACTORY_COUNTER))
        });
        for (index, (step, expected_ok)) in steps.iter().enumerate() {
            let report = run_step(step, *expected_ok, &mut code_hashes, &mut contracts);
            bar.set_message(report.title.clone());
            print_report(index + 1, steps.len(), &report, &bar);
            if !report.expected_ok {
                unexpected += 1;
            }
            summary.push(report);
            bar.inc(1);
        }
    });
    bar.finish_and_clear();
    println!(
        "{:<52} {:<34} {:>10} {:>14} {:>10}",
        "extrinsic", "outcome", "gas", "weight (us)", "paid"
    );
    for report in &summary {
        let outcome: String = report.outcome.chars().take(34).collect();
        println!(
            "{:<52} {:<34} {:>10} {:>14} {:>10}",
            report.title.chars().take(52).collect::<String>(),
            outcome,
            report.gas.map_or("-".into(), |g| g.to_string()),
            report
                .weight
                .map_or("-".into(), |(r, _)| format!("{:.1}", r as f64 / 1e6)),
            report.paid
        );
    }
    if unexpected > 0 {
        bail!("{unexpected} steps did not have the expected outcome");
    }
    println!("\nall {} steps had their expected outcome (3 reverts and a refused remove_code are part of the scenario)", summary.len());
    Ok(ExitCode::SUCCESS)
}
