//! The interpreter inside the runtime, measured where it runs: the compute workloads as a
//! contract (`COMPUTE_CONTRACT`), called through `PvmApi_call` dry runs of `pvm-runtime`
//! executed three ways (`pvm_tests::chain`): the runtime compiled natively, the wasm runtime
//! through `sc-executor` calling the node's native engine (host functions), and the wasm
//! runtime running contracts on pvm-core's interpreter inside the wasm (`InRuntimeEngine`).
//! Beside them, pvm-core's interpreter running the `compute` guest directly (no pallet).
//!
//! Each workload runs at a small and a large size; ns per gas is the difference of their
//! times over the difference of their gas, so what every call pays regardless of size
//! (executor entry, loading and compiling the code, the frame) cancels out. Rounds
//! alternate between the ways; the figures are over the minima and the medians.
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --bin in-runtime-speed -- [--rounds N] [--write-markdown BENCHMARKS.md]
//! ```

use anyhow::{bail, Result};
use codec::{Decode, Encode};
use frame_support::weights::Weight;
use pallet_pvm::runtime_api::{Code, ContractResult};
use pallet_pvm::{CallOutcome, InstantiateOutcome};
use pvm_benchmarking::compare::args::Flags;
use pvm_benchmarking::compare::report::{
    load_average, reproduce_command, update_markdown_between, utc_date_time,
};
use pvm_benchmarking::compare::stats::{median, min};
use pvm_contracts_examples::{COMPUTE_CONTRACT, COMPUTE_LATEST64};
use pvm_core::{Config, Engine, Interrupt, Module, ModuleConfig, Reg};
use pvm_runtime::{AccountId, Balance, EventRecord};
use pvm_tests::chain::{Chain, Way};
use sp_keyring::Ed25519Keyring::Alice;
use std::time::{Duration, Instant, SystemTime};

const START_MARKER: &str = "<!-- in-runtime-speed:start -->";
const END_MARKER: &str = "<!-- in-runtime-speed:end -->";

/// Workload name, contract selector, and the small and large argument.
const WORKLOADS: &[(&str, u8, u32, u32)] = &[
    ("sieve", 0, 1_000, 60_000),
    ("hash", 1, 10, 300),
    ("fib", 2, 8, 20),
    ("sort", 3, 100, 4_000),
];

const WAYS: [Way; 3] = [Way::Native, Way::WasmNativeEngine, Way::WasmInRuntimeEngine];

fn way_name(way: Way) -> &'static str {
    match way {
        Way::Native => "runtime native, native engine",
        Way::WasmNativeEngine => "wasm runtime, native engine (host functions)",
        Way::WasmInRuntimeEngine => "wasm runtime, in-runtime interpreter",
    }
}

type DryRun<R> = ContractResult<R, Balance, EventRecord>;

/// A chain with the compute contract instantiated; its address.
fn chain_with_contract(way: Way) -> Result<(Chain, AccountId)> {
    let mut chain = Chain::new(way);
    let args = (
        Alice.to_account_id(),
        0 as Balance,
        None::<Weight>,
        None::<Balance>,
        Code::Upload(COMPUTE_CONTRACT.to_vec()),
        Vec::<u8>::new(),
        Vec::<u8>::new(),
    );
    // Upload and instantiate in a block, as a user would (dry run first for the limits).
    let dry = DryRun::<InstantiateOutcome>::decode(
        &mut &chain.dry_run("PvmApi_instantiate", &args.encode())[..],
    )?;
    let contract = dry
        .result
        .map_err(|e| anyhow::anyhow!("{way:?}: instantiation fails: {e:?}"))?
        .contract;
    let upload = chain.sign(
        Alice,
        pvm_runtime::RuntimeCall::Pvm(pallet_pvm::Call::instantiate_with_code {
            value: 0,
            weight_limit: dry.weight_required,
            storage_deposit_limit: dry.storage_deposit_charged,
            code: COMPUTE_CONTRACT.to_vec(),
            data: Vec::new(),
            salt: Vec::new(),
        }),
    );
    let block = chain.build_block(vec![upload]);
    if !block.results.iter().all(|r| matches!(r, Ok(Ok(())))) {
        bail!("{way:?}: instantiate_with_code failed: {:?}", block.results);
    }
    Ok((chain, contract))
}

/// One timed dry-run call: its time, gas and output.
fn timed_call(
    chain: &mut Chain,
    contract: &AccountId,
    input: Vec<u8>,
) -> Result<(Duration, u64, u64)> {
    let args = (
        Alice.to_account_id(),
        contract.clone(),
        0 as Balance,
        None::<Weight>,
        None::<Balance>,
        input,
    )
        .encode();
    let start = Instant::now();
    let output = chain.dry_run("PvmApi_call", &args);
    let elapsed = start.elapsed();
    let result = DryRun::<CallOutcome>::decode(&mut &output[..])?;
    let outcome = result
        .result
        .map_err(|e| anyhow::anyhow!("the call failed: {e:?}"))?;
    if outcome.reverted || outcome.output.len() != 8 {
        bail!("the call reverted or returned {:?}", outcome.output);
    }
    let value = u64::from_le_bytes(outcome.output.try_into().expect("8 bytes"));
    Ok((elapsed, result.gas_consumed, value))
}

/// pvm-core's interpreter running the `compute` guest export directly: time, gas, result.
fn direct_call(module: &Module, export: &str, arg: u32) -> (Duration, u64, u64) {
    let mut instance = module
        .instantiate()
        .expect("the compute guest instantiates");
    instance.set_gas(i64::MAX);
    instance
        .prepare_call_export(export, &[u64::from(arg)])
        .expect("the export exists");
    let start = Instant::now();
    let interrupt = instance.run().expect("it runs");
    let elapsed = start.elapsed();
    assert_eq!(interrupt, Interrupt::Finished);
    let gas = u64::try_from(i64::MAX - instance.gas()).expect("gas used is positive");
    (elapsed, gas, instance.reg(Reg::A0))
}

#[derive(Default)]
struct Samples {
    small: Vec<Duration>,
    large: Vec<Duration>,
    gas: (u64, u64),
}

impl Samples {
    /// ns per gas over minima and over medians.
    fn ns_per_gas(&self) -> (f64, f64) {
        let gas = self.gas.1.saturating_sub(self.gas.0).max(1) as f64;
        let per = |large: Duration, small: Duration| {
            large.saturating_sub(small).as_secs_f64() * 1e9 / gas
        };
        (
            per(min(&self.large), min(&self.small)),
            per(median(&self.large), median(&self.small)),
        )
    }
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut rounds = 15usize;
    let mut markdown = None;
    let mut flags = Flags::new(&raw);
    while let Some(flag) = flags.next_flag() {
        match flag {
            "--rounds" => rounds = flags.number(flag)?,
            "--write-markdown" => markdown = Some(flags.path(flag)?),
            other => bail!("unknown argument {other:?}"),
        }
    }
    if rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let load = load_average();
    let engine = Engine::new(&Config::default())?;
    let direct = Module::new(&engine, &ModuleConfig::default(), COMPUTE_LATEST64)?;

    let mut chains = Vec::new();
    for way in WAYS {
        eprintln!("setting up: {}", way_name(way));
        chains.push(chain_with_contract(way)?);
    }

    // samples[workload][0] = direct interpreter, [1 + way index] = the ways.
    let mut samples: Vec<Vec<Samples>> = WORKLOADS
        .iter()
        .map(|_| (0..=WAYS.len()).map(|_| Samples::default()).collect())
        .collect();
    for round in 0..rounds {
        eprint!("\rround {}/{rounds}", round + 1);
        for (w, &(name, selector, small, large)) in WORKLOADS.iter().enumerate() {
            for (size_index, size) in [small, large].into_iter().enumerate() {
                let (time, gas, expected) = direct_call(&direct, name, size);
                let slot = &mut samples[w][0];
                record(slot, size_index, time, gas);
                for (index, (chain, contract)) in chains.iter_mut().enumerate() {
                    let input = [vec![selector], size.to_le_bytes().to_vec()].concat();
                    let (time, gas, value) = timed_call(chain, contract, input)?;
                    if value != expected {
                        bail!(
                            "{name}({size}) on {:?}: {value}, the guest gives {expected}",
                            chain.way()
                        );
                    }
                    record(&mut samples[w][1 + index], size_index, time, gas);
                }
            }
        }
    }
    eprintln!();
    for (w, &(name, ..)) in WORKLOADS.iter().enumerate() {
        let gas = samples[w][1].gas;
        if samples[w][2..].iter().any(|s| s.gas != gas) {
            bail!("{name}: the ways charged different gas");
        }
    }

    let mut table = String::from(
        "| workload | gas (large - small) | pvm-core interpreter, no pallet | runtime native, native engine | wasm runtime, native engine | wasm runtime, in-runtime interpreter | in-runtime / no-pallet interpreter |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (w, &(name, _, small, large)) in WORKLOADS.iter().enumerate() {
        let figures: Vec<(f64, f64)> = samples[w].iter().map(Samples::ns_per_gas).collect();
        let gas = samples[w][1].gas.1 - samples[w][1].gas.0;
        let cell = |(at_min, at_median): (f64, f64)| format!("{at_min:.2} / {at_median:.2}");
        table += &format!(
            "| {name}({small} → {large}) | {gas} | {} | {} | {} | {} | {:.1}x |\n",
            cell(figures[0]),
            cell(figures[1]),
            cell(figures[2]),
            cell(figures[3]),
            figures[3].0 / figures[0].0,
        );
    }
    print!("{table}");

    if let Some(path) = markdown {
        let mut section =
            format!("{START_MARKER}\n## The interpreter inside the runtime (wasm)\n\n");
        section += "Generated by `in-runtime-speed`; do not edit by hand, rerun instead.\n\n";
        section += &format!(
            "- Date: {}; load average {load} when the run started\n",
            utc_date_time(SystemTime::now())
        );
        section += &format!(
            "- Reproduce: `{}`\n",
            reproduce_command("in-runtime-speed", &raw)
        );
        section += &format!(
            "- Method: the `compute` guest's workloads as a contract (`COMPUTE_CONTRACT`), called through \
             `PvmApi_call` dry runs of `pvm-runtime` executed by `pvm_tests::chain` (wasm through \
             `sc-executor`'s `WasmExecutor`, compiled with wasmtime, over an in-memory state), and the \
             `compute` guest run by pvm-core's interpreter directly. ns per gas = (time at the large size - \
             time at the small size) / (gas at the large size - gas at the small size), so per-call costs \
             cancel; each cell is over the minima / over the medians of {rounds} alternating rounds. The \
             same calls give the same gas on every way (checked), and the results match the guest's.\n\n"
        );
        section += &table;
        section += &format!("{END_MARKER}\n");
        update_markdown_between(
            std::path::Path::new(&path),
            &section,
            START_MARKER,
            END_MARKER,
        )?;
    }
    Ok(())
}

fn record(slot: &mut Samples, size_index: usize, time: Duration, gas: u64) {
    if size_index == 0 {
        slot.small.push(time);
        slot.gas.0 = gas;
    } else {
        slot.large.push(time);
        slot.gas.1 = gas;
    }
}
