//! Generates `pallet_pvm`'s weights from its frame-benchmarking benchmarks, without a node:
//! what `frame-omni-bencher v1 benchmark pallet` does, plus the pvm host functions and a
//! fresh `PvmExtension` for every runtime call (no stock bencher can load them).
//!
//! The runtime (`pvm-runtime`, built to wasm with `runtime-benchmarks` by this crate's
//! `pallet-weights` feature) runs in `sc-executor`'s `WasmExecutor` with
//! `sp_io::SubstrateHostFunctions`, frame-benchmarking's host functions and
//! `pvm_host_functions::HostFunctions`, over `sc-client-db`'s `BenchmarkingState` (the
//! backend frame-benchmarking-cli uses: it counts reads and writes, records the proof and
//! resets the state between runs). For every benchmark and every step of its components:
//! one run with database tracking and proof recording (reads, writes, proof size), then
//! `--repeat` timed runs. Linear models are fitted with frame-benchmarking's `Analysis`
//! (least squares without outliers for time, reads and writes; the maximum of the two
//! fits for the proof size, which must never be under-estimated) and written in the shape
//! frame-omni-bencher writes.
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --features pallet-weights --bin pallet-weights -- \
//!     [--steps 10] [--repeat 5] [--backend interpreter|jit|all] [--benchmark NAME]...
//!     [--runtime FILE] [--output FILE] [--json FILE]
//! ```

use anyhow::{bail, ensure, Context, Result};
use codec::{Decode, Encode};
use frame_benchmarking::{
    Analysis, BenchmarkBatch, BenchmarkList, BenchmarkParameter, BenchmarkResult, BenchmarkSelector,
};
use pvm_benchmarking::compare::args::Flags;
use pvm_benchmarking::compare::report::utc_date_time;
use pvm_host_functions::{NodeLimits, PvmExtension};
use sc_client_db::BenchmarkingState;
use sc_executor::{WasmExecutionMethod, WasmExecutor};
use sp_core::traits::{CallContext, ReadRuntimeVersionExt, RuntimeCode, WrappedRuntimeCode};
use sp_externalities::Extensions;
use sp_runtime::traits::{BlakeTwo256, Hash};
use sp_state_machine::{OverlayedChanges, StateMachine};
use sp_trie::proof_size_extension::ProofSizeExt;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

const USAGE: &str = "\
usage: pallet-weights [--steps N] [--repeat N] [--backend interpreter|jit|all] [--benchmark NAME]...
                      [--runtime FILE] [--output FILE] [--json FILE]

Runs pallet-pvm's benchmarks inside the wasm runtime, as a node executes it, and writes the
weights (default: print them). --steps: points per component (at least 2, default 10);
--repeat: timed runs per point (default 5); --backend: the engine the node runs contracts
on (default all: each term is the larger of the interpreter's and the JIT's, so the
weights hold whichever engine a node chooses); --benchmark: only these (the output then
lacks the others);
--runtime: a runtime's wasm (built with runtime-benchmarks and pallet-pvm's benchmarks in
its Benchmark API; default: pvm-runtime's, built by this binary's feature); --json: also
write every measured point (frame-benchmarking's BenchmarkBatchSplitResults).
";

/// What the executor provides: what a node provides, frame-benchmarking's timer and
/// database hooks, and pallet-pvm's engine.
type HostFunctions = (
    sp_io::SubstrateHostFunctions,
    frame_benchmarking::benchmarking::HostFunctions,
    pvm_host_functions::HostFunctions,
);

struct Args {
    steps: u32,
    repeat: u32,
    backends: Vec<pvm_core::BackendKind>,
    only: Vec<String>,
    runtime: Option<PathBuf>,
    output: Option<PathBuf>,
    json: Option<PathBuf>,
}

fn parse_args(raw: &[String]) -> Result<Option<Args>> {
    let mut args = Args {
        steps: 10,
        repeat: 5,
        backends: vec![
            pvm_core::BackendKind::Interpreter,
            pvm_core::BackendKind::Jit,
        ],
        only: Vec::new(),
        runtime: None,
        output: None,
        json: None,
    };
    let mut flags = Flags::new(raw);
    while let Some(flag) = flags.next_flag() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--steps" => args.steps = flags.number(flag)?,
            "--repeat" => args.repeat = flags.number(flag)?,
            "--backend" => {
                args.backends = match flags.value(flag)? {
                    "interpreter" => vec![pvm_core::BackendKind::Interpreter],
                    "jit" => vec![pvm_core::BackendKind::Jit],
                    "all" => vec![
                        pvm_core::BackendKind::Interpreter,
                        pvm_core::BackendKind::Jit,
                    ],
                    other => bail!("--backend: {other:?} is not interpreter, jit or all"),
                }
            }
            "--benchmark" => args.only.push(flags.value(flag)?.to_string()),
            "--output" => args.output = Some(flags.path(flag)?),
            "--runtime" => args.runtime = Some(flags.path(flag)?),
            "--json" => args.json = Some(flags.path(flag)?),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    ensure!(
        args.steps >= 2,
        "--steps must be at least 2 (a slope needs two points)"
    );
    ensure!(args.repeat >= 1, "--repeat must be at least 1");
    Ok(Some(args))
}

/// The runtime, its executor and the two states frame-benchmarking-cli uses: one that
/// tracks reads and writes and records the proof, one that only runs.
struct Bench {
    code: Vec<u8>,
    executor: WasmExecutor<HostFunctions>,
    tracking: BenchmarkingState<BlakeTwo256>,
    untracked: BenchmarkingState<BlakeTwo256>,
}

impl Bench {
    fn new(runtime: Option<&PathBuf>) -> Result<Bench> {
        let code = match runtime {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                sp_maybe_compressed_blob::decompress(&bytes, 64 << 20)
                    .with_context(|| format!("{} is not a (compressed) wasm blob", path.display()))?
                    .into_owned()
            }
            None => pvm_runtime::WASM_BINARY
                .context("the runtime's wasm was not built (SKIP_WASM_BUILD set?)")?
                .to_vec(),
        };
        let executor = WasmExecutor::<HostFunctions>::builder()
            .with_execution_method(WasmExecutionMethod::default())
            .with_max_runtime_instances(2)
            .with_runtime_cache_size(2)
            .build();
        let mut genesis = genesis_storage(&executor, &code)?;
        genesis.top.insert(
            sp_core::storage::well_known_keys::CODE.to_vec(),
            code.clone(),
        );
        let tracking = BenchmarkingState::new(genesis.clone(), None, true, true)
            .map_err(|error| anyhow::anyhow!("state: {error}"))?;
        let untracked = BenchmarkingState::new(genesis, None, true, false)
            .map_err(|error| anyhow::anyhow!("state: {error}"))?;
        Ok(Bench {
            code,
            executor,
            tracking,
            untracked,
        })
    }

    /// Calls the runtime's `method` with `data` over `state`, with the extensions a node's
    /// block execution has (a fresh engine running contracts on `backend` among them).
    fn call<R: Decode>(
        &self,
        backend: pvm_core::BackendKind,
        tracked: bool,
        method: &str,
        data: &[u8],
    ) -> Result<R> {
        let state = if tracked {
            &self.tracking
        } else {
            &self.untracked
        };
        let mut extensions = Extensions::default();
        extensions.register(ReadRuntimeVersionExt::new(self.executor.clone()));
        if let Some(recorder) = state.recorder() {
            extensions.register(ProofSizeExt::new(recorder));
        }
        let engine = PvmExtension::with_backend(backend, NodeLimits::default())
            .context("the engine for the benchmarks")?;
        extensions.register(engine);
        let fetcher = WrappedRuntimeCode(self.code.as_slice().into());
        let runtime_code = RuntimeCode {
            code_fetcher: &fetcher,
            heap_pages: None,
            hash: BlakeTwo256::hash(&self.code).encode(),
        };
        let mut overlay = OverlayedChanges::default();
        let output = StateMachine::new(
            state,
            &mut overlay,
            &self.executor,
            method,
            data,
            &mut extensions,
            &runtime_code,
            CallContext::Offchain,
        )
        .execute()
        .map_err(|error| anyhow::anyhow!("{method}: {error}"))?;
        R::decode(&mut &output[..]).with_context(|| format!("{method}: undecodable result"))
    }

    /// One dispatch of `benchmark` at `components` on `backend`, `repeats` times.
    fn dispatch(
        &self,
        backend: pvm_core::BackendKind,
        tracked: bool,
        benchmark: &str,
        components: &[(BenchmarkParameter, u32)],
        verify: bool,
        repeats: u32,
    ) -> Result<Vec<BenchmarkResult>> {
        let params = (
            b"pallet_pvm".as_slice(),
            b"Pvm".as_slice(),
            benchmark.as_bytes(),
            components,
            verify,
            repeats,
        )
            .encode();
        let batches: Result<Vec<BenchmarkBatch>, String> =
            self.call(backend, tracked, "Benchmark_dispatch_benchmark", &params)?;
        let batches = batches.map_err(|error| anyhow::anyhow!("{benchmark}: {error}"))?;
        Ok(batches
            .into_iter()
            .flat_map(|batch| batch.results)
            .collect())
    }
}

/// The runtime's genesis state with its default configuration, built by the runtime
/// itself (`GenesisBuilder`), as a chain-spec builder does. The benchmarks fund their own
/// accounts.
fn genesis_storage(
    executor: &WasmExecutor<HostFunctions>,
    code: &[u8],
) -> Result<sp_core::storage::Storage> {
    let backend = sp_state_machine::InMemoryBackend::<BlakeTwo256>::default();
    let mut overlay = OverlayedChanges::default();
    let fetcher = WrappedRuntimeCode(code.into());
    let runtime_code = RuntimeCode {
        code_fetcher: &fetcher,
        heap_pages: None,
        hash: BlakeTwo256::hash(code).encode(),
    };
    let mut call = |method: &str, data: &[u8]| -> Result<Vec<u8>> {
        let mut extensions = Extensions::default();
        extensions.register(ReadRuntimeVersionExt::new(executor.clone()));
        let mut machine = StateMachine::new(
            &backend,
            &mut overlay,
            executor,
            method,
            data,
            &mut extensions,
            &runtime_code,
            CallContext::Offchain,
        );
        let output = machine.execute();
        drop(machine);
        output.map_err(|error| anyhow::anyhow!("{method}: {error}"))
    };
    let preset: Option<Vec<u8>> =
        Decode::decode(&mut &call("GenesisBuilder_get_preset", &None::<String>.encode())?[..])
            .context("GenesisBuilder_get_preset: undecodable result")?;
    let preset = preset.context("the runtime has no default genesis configuration")?;
    let built: Result<(), String> =
        Decode::decode(&mut &call("GenesisBuilder_build_state", &preset.encode())?[..])
            .context("GenesisBuilder_build_state: undecodable result")?;
    built.map_err(|error| anyhow::anyhow!("building the genesis state: {error}"))?;
    let changes = overlay
        .drain_storage_changes(&backend, sp_core::storage::StateVersion::V1)
        .map_err(|error| anyhow::anyhow!("genesis changes: {error}"))?;
    let mut storage = sp_core::storage::Storage::default();
    for (key, value) in changes.main_storage_changes {
        if let Some(value) = value {
            storage.top.insert(key, value);
        }
    }
    Ok(storage)
}

/// A benchmark's points: each component from its low to its high value in `steps` steps,
/// the others at their highest (as frame-benchmarking-cli chooses them).
fn points(
    components: &[(BenchmarkParameter, u32, u32)],
    steps: u32,
) -> Vec<Vec<(BenchmarkParameter, u32)>> {
    if components.is_empty() {
        return vec![Vec::new()];
    }
    let mut points = Vec::new();
    for (name, low, high) in components {
        for step in 0..steps {
            let value =
                low + ((u64::from(high - low) * u64::from(step)) / u64::from(steps - 1)) as u32;
            points.push(
                components
                    .iter()
                    .map(|(other, _, other_high)| {
                        (*other, if other == name { value } else { *other_high })
                    })
                    .collect(),
            );
        }
    }
    points
}

/// One benchmark's fitted model.
struct Model {
    name: String,
    components: Vec<(BenchmarkParameter, u32, u32)>,
    /// Picoseconds: base and per component.
    time: Analysis,
    reads: Analysis,
    writes: Analysis,
    /// Bytes: base and per component.
    proof: Analysis,
    points: usize,
}

/// Fits `name`'s models. Time and proof size take frame-benchmarking's `Analysis::max`
/// (per term the larger of least squares and the median slopes: a weight is charged before
/// the work, so it must not sit below the points it was fitted to), and time the larger
/// term of the engines' fits; reads and writes are counts, fitted by least squares.
fn fit(
    name: &str,
    components: &[(BenchmarkParameter, u32, u32)],
    time_by_engine: &[Vec<BenchmarkResult>],
    db: &Vec<BenchmarkResult>,
) -> Result<Model> {
    let analysis = |results, selector| {
        Analysis::min_squares_iqr(results, selector).with_context(|| format!("fitting {name}"))
    };
    let mut times = time_by_engine.iter().map(|results| {
        Analysis::max(results, BenchmarkSelector::ExtrinsicTime)
            .with_context(|| format!("fitting {name}'s time"))
    });
    let mut time = times.next().context("no engine")??;
    for other in times {
        time = envelope(time, &other?);
    }
    // A fit may still pass below a point: a bend the linear model smooths over, or an
    // engine with two speeds (the JIT's sandbox round trip is fast while both processes
    // spin and several times slower once they sleep on the futex). Each slope is raised
    // to the steepest chord from a component's lowest point (less the points' spread),
    // then the base until every point (its median time, on every engine; its proof size)
    // is covered.
    for results in time_by_engine {
        let medians: Vec<Measured> = group_by_point(results)
            .into_iter()
            .map(|point| {
                let mut times: Vec<u128> = point.iter().map(|r| r.extrinsic_time * 1_000).collect();
                times.sort_unstable();
                let quartile = |q: usize| times[(times.len() - 1) * q / 4];
                Measured {
                    components: point[0].components.clone(),
                    value: quartile(2),
                    spread: quartile(3) - quartile(1),
                }
            })
            .collect();
        cover_all(&mut time, &medians, name, "time");
    }
    let mut proof = Analysis::max(db, BenchmarkSelector::ProofSize)
        .with_context(|| format!("fitting {name}'s proof size"))?;
    let largest: Vec<Measured> = group_by_point(db)
        .into_iter()
        .map(|point| Measured {
            components: point[0].components.clone(),
            value: point
                .iter()
                .map(|r| u128::from(r.proof_size))
                .max()
                .unwrap_or(0),
            spread: 0,
        })
        .collect();
    cover_all(&mut proof, &largest, name, "proof size");
    Ok(Model {
        name: name.to_string(),
        components: components.to_vec(),
        time,
        reads: analysis(db, BenchmarkSelector::Reads)?,
        writes: analysis(db, BenchmarkSelector::Writes)?,
        proof,
        points: time_by_engine.iter().map(Vec::len).sum(),
    })
}

/// The most entries a storage map is assumed to hold when its type does not bound it
/// (frame-omni-bencher's default `--worst-case-map-values`).
const WORST_CASE_MAP_VALUES: u32 = 1_000_000;

/// The proof a read needs beyond what the benchmark's small trie recorded: on a chain, a
/// map of [`WORST_CASE_MAP_VALUES`] entries (or its bound) is `log16` of them deep, and
/// every level adds 15 sibling hashes of 33 bytes to the proof. frame-benchmarking-cli
/// adds the same for `pov_mode = Measured`. Whitelisted keys (the block's own, always in
/// the proof) add nothing.
fn with_trie_depth(
    mut result: BenchmarkResult,
    storage_info: &[frame_support::traits::StorageInfo],
) -> BenchmarkResult {
    let overhead: u32 = result
        .keys
        .iter()
        .filter(|(_, reads, _, whitelisted)| *reads > 0 && !*whitelisted)
        .map(|(key, reads, _, _)| {
            let prefix = &key[..key.len().min(32)];
            let max_values = storage_info
                .iter()
                .find(|info| info.prefix == prefix)
                .and_then(|info| info.max_values)
                .unwrap_or(WORST_CASE_MAP_VALUES);
            // log16, rounded up, at least one level for any item (as frame-benchmarking-cli).
            let depth = match max_values {
                0 => 0,
                n => (u32::BITS - (n - 1).leading_zeros()).div_ceil(4).max(1),
            };
            depth * 15 * 33 * reads
        })
        .sum();
    result.proof_size = result.proof_size.saturating_add(overhead);
    result
}

/// `results` in runs of equal components (the order they were measured in).
fn group_by_point(results: &[BenchmarkResult]) -> Vec<&[BenchmarkResult]> {
    results
        .chunk_by(|a, b| a.components == b.components)
        .collect()
}

/// The fit's value at `components`.
fn predict(analysis: &Analysis, components: &[(BenchmarkParameter, u32)]) -> u128 {
    components
        .iter()
        .fold(analysis.base, |sum, (parameter, value)| {
            sum + slope_of(analysis, &parameter.to_string()) * u128::from(*value)
        })
}

/// One point's measurement: its median (or largest) value and the spread of its runs
/// (interquartile range; 0 for a single figure).
struct Measured {
    components: Vec<(BenchmarkParameter, u32)>,
    value: u128,
    spread: u128,
}

/// Raises the fit so that it is at least the measured value at every point: each slope to
/// the steepest chord from the lowest point of its component (among points where the
/// other components are the same), less what the two points' spread could account for,
/// then the base.
fn cover_all(analysis: &mut Analysis, points: &[Measured], name: &str, what: &str) {
    for (index, parameter) in analysis.names.clone().iter().enumerate() {
        let value_of = |components: &[(BenchmarkParameter, u32)]| {
            components
                .iter()
                .find(|(other, _)| other.to_string() == *parameter)
                .map_or(0, |(_, value)| *value)
        };
        let others = |components: &[(BenchmarkParameter, u32)]| {
            components
                .iter()
                .filter(|(other, _)| other.to_string() != *parameter)
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut steepest = 0u128;
        for point in points {
            let lowest = points
                .iter()
                .filter(|low| others(&low.components) == others(&point.components))
                .min_by_key(|low| value_of(&low.components));
            if let Some(low) = lowest {
                let run = u128::from(value_of(&point.components) - value_of(&low.components));
                let rise = point
                    .value
                    .saturating_sub(low.value)
                    .saturating_sub(point.spread + low.spread);
                if let Some(slope) = rise.checked_div(run) {
                    steepest = steepest.max(slope);
                }
            }
        }
        if steepest > analysis.slopes[index] {
            eprintln!(
                "\n{name}: {what} per {parameter} raised from {} to {steepest}",
                analysis.slopes[index]
            );
            analysis.slopes[index] = steepest;
        }
    }
    for point in points {
        let predicted = predict(analysis, &point.components);
        if predicted < point.value {
            analysis.base += point.value - predicted;
        }
    }
}

/// The larger of two fits over the same components, term by term.
fn envelope(mut a: Analysis, b: &Analysis) -> Analysis {
    a.base = a.base.max(b.base);
    a.minimum = a.minimum.max(b.minimum);
    for (name, slope) in a.names.clone().iter().zip(a.slopes.iter_mut()) {
        *slope = (*slope).max(slope_of(b, name));
    }
    a
}

/// Prints the runtime's warnings and errors (a benchmark's panic message among them) to
/// stderr.
struct RuntimeLog;

impl log::Log for RuntimeLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "\n{} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

fn main() -> Result<()> {
    let _ = log::set_logger(&RuntimeLog).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(args) = parse_args(&raw)? else {
        print!("{USAGE}");
        return Ok(());
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; the weights would be meaningless, use --release");
    }
    let bench = Bench::new(args.runtime.as_ref())?;
    let first = args.backends[0];
    let (lists, storage_info): (Vec<BenchmarkList>, Vec<frame_support::traits::StorageInfo>) =
        bench.call(
            first,
            false,
            "Benchmark_benchmark_metadata",
            &false.encode(),
        )?;
    let mut selected = Vec::new();
    for list in lists.iter().filter(|list| list.pallet == b"pallet_pvm") {
        for benchmark in &list.benchmarks {
            let name = String::from_utf8_lossy(&benchmark.name).into_owned();
            if args.only.is_empty() || args.only.contains(&name) {
                selected.push((name, benchmark.components.clone()));
            }
        }
    }
    ensure!(!selected.is_empty(), "no benchmark of pallet_pvm selected");

    let total: usize = selected
        .iter()
        .map(|(_, components)| points(components, args.steps).len())
        .sum();
    let mut done = 0;
    let started = Instant::now();
    let mut models = Vec::new();
    let mut raw_results = Vec::new();
    for (name, components) in &selected {
        // Times per engine (the engines interleaved point by point, so a busy spell of
        // the machine falls on both); database accesses and proof sizes do not depend
        // on the engine.
        let mut time_results = vec![Vec::new(); args.backends.len()];
        let mut db_results = Vec::new();
        for (index, point) in points(components, args.steps).iter().enumerate() {
            progress(done, total, name, started);
            if index == 0 {
                // The benchmark's own checks, once per engine (their cost is not measured).
                for &backend in &args.backends {
                    bench.dispatch(backend, false, name, point, true, 1)?;
                }
            }
            let tracked = bench.dispatch(first, true, name, point, false, 1)?;
            db_results.extend(
                tracked
                    .into_iter()
                    .map(|result| with_trie_depth(result, &storage_info)),
            );
            for (results, &backend) in time_results.iter_mut().zip(&args.backends) {
                results.extend(bench.dispatch(backend, false, name, point, false, args.repeat)?);
            }
            done += 1;
        }
        models.push(fit(name, components, &time_results, &db_results)?);
        for (results, backend) in time_results.into_iter().zip(&args.backends) {
            raw_results.push((
                format!("{backend:?}").to_lowercase(),
                frame_benchmarking::BenchmarkBatchSplitResults {
                    pallet: b"pallet_pvm".to_vec(),
                    instance: b"Pvm".to_vec(),
                    benchmark: name.as_bytes().to_vec(),
                    time_results: results,
                    db_results: db_results.clone(),
                },
            ));
        }
    }
    progress(done, total, "done", started);
    eprintln!();

    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&raw_results)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    let text = weights_file(&models, &args, &raw);
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn progress(done: usize, total: usize, name: &str, started: Instant) {
    const WIDTH: usize = 30;
    let filled = WIDTH * done / total.max(1);
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "\r[{}{}] {done}/{total} points, {:.0} s  {name:<32}",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        started.elapsed().as_secs_f64()
    );
    let _ = stderr.flush();
}

fn component_name(parameter: &BenchmarkParameter) -> String {
    parameter.to_string()
}

/// The weights file, in the shape frame-omni-bencher writes (its "dev" template): header,
/// the `WeightInfo` trait, `SubstrateWeight<T>` with `T::DbWeight`, and `()` with
/// `RocksDbWeight`.
fn weights_file(models: &[Model], args: &Args, raw: &[String]) -> String {
    let mut out = String::new();
    let cpu = pvm_benchmarking::compare::report::cpu_model();
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let _ = writeln!(out, "//! Autogenerated weights for `pallet_pvm`");
    let _ = writeln!(out, "//!");
    let _ = writeln!(
        out,
        "//! THIS FILE WAS AUTO-GENERATED USING pvm-benchmarking's pallet-weights (frame-benchmarking 50)"
    );
    let _ = writeln!(
        out,
        "//! DATE: {}, STEPS: `{}`, REPEAT: `{}`, ENGINES: `{:?}` (each term the largest)",
        utc_date_time(std::time::SystemTime::now()),
        args.steps,
        args.repeat,
        args.backends
    );
    let _ = writeln!(out, "//! HOSTNAME: `{host}`, CPU: `{cpu}`");
    let _ = writeln!(
        out,
        "//! WASM-EXECUTION: `Compiled`, CHAIN: `pvm-runtime (genesis)`"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "// Executed Command:");
    let _ = writeln!(out, "// pallet-weights");
    for arg in raw {
        let _ = writeln!(out, "// {arg}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "#![cfg_attr(rustfmt, rustfmt_skip)]");
    let _ = writeln!(out, "#![allow(unused_parens)]");
    let _ = writeln!(out, "#![allow(unused_imports)]");
    let _ = writeln!(out, "#![allow(missing_docs)]");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "use frame_support::{{traits::Get, weights::{{Weight, constants::RocksDbWeight}}}};"
    );
    let _ = writeln!(out, "use core::marker::PhantomData;");
    let _ = writeln!(out);
    let _ = writeln!(out, "/// Weight functions needed for `pallet_pvm`.");
    let _ = writeln!(out, "pub trait WeightInfo {{");
    for model in models {
        let _ = writeln!(
            out,
            "\tfn {}({}) -> Weight;",
            model.name,
            parameters(model, false)
        );
    }
    let _ = writeln!(out, "}}");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "/// Weights for `pallet_pvm` using the runtime's database weights."
    );
    let _ = writeln!(out, "pub struct SubstrateWeight<T>(PhantomData<T>);");
    let _ = writeln!(
        out,
        "impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {{"
    );
    for model in models {
        function(&mut out, model, "T::DbWeight::get()");
    }
    let _ = writeln!(out, "}}");
    let _ = writeln!(out);
    let _ = writeln!(out, "// For backwards compatibility and tests.");
    let _ = writeln!(out, "impl WeightInfo for () {{");
    for model in models {
        function(&mut out, model, "RocksDbWeight::get()");
    }
    let _ = writeln!(out, "}}");
    out
}

/// `c: u32, n: u32`; unused components get a leading underscore in implementations.
fn parameters(model: &Model, implementation: bool) -> String {
    model
        .components
        .iter()
        .map(|(parameter, _, _)| {
            let name = component_name(parameter);
            let used = used(model, parameter);
            if implementation && !used {
                format!("_{name}: u32")
            } else {
                format!("{name}: u32")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn slope_of(analysis: &Analysis, name: &str) -> u128 {
    analysis
        .names
        .iter()
        .position(|other| other == name)
        .map(|index| analysis.slopes[index])
        .unwrap_or(0)
}

fn used(model: &Model, parameter: &BenchmarkParameter) -> bool {
    let name = component_name(parameter);
    [&model.time, &model.reads, &model.writes, &model.proof]
        .iter()
        .any(|analysis| slope_of(analysis, &name) != 0)
}

fn function(out: &mut String, model: &Model, db: &str) {
    for (parameter, low, high) in &model.components {
        let _ = writeln!(
            out,
            "\t/// The range of component `{parameter}` is `[{low}, {high}]`."
        );
    }
    let _ = writeln!(
        out,
        "\tfn {}({}) -> Weight {{",
        model.name,
        parameters(model, true)
    );
    let _ = writeln!(out, "\t\t// Proof Size summary in bytes:");
    let _ = writeln!(
        out,
        "\t\t//  Measured:  `{}{}`",
        model.proof.base,
        model
            .components
            .iter()
            .map(|(p, _, _)| format!(" + {p} * ({})", slope_of(&model.proof, &p.to_string())))
            .collect::<String>()
    );
    let _ = writeln!(
        out,
        "\t\t// Minimum execution time: {}_000 picoseconds ({} points).",
        underscore(model.time.minimum),
        model.points
    );
    let _ = writeln!(
        out,
        "\t\tWeight::from_parts({}, {})",
        underscore(model.time.base),
        model.proof.base
    );
    for (parameter, _, _) in &model.components {
        let name = parameter.to_string();
        let time = slope_of(&model.time, &name);
        let proof = slope_of(&model.proof, &name);
        if time != 0 || proof != 0 {
            let _ = writeln!(
                out,
                "\t\t\t.saturating_add(Weight::from_parts({}, {proof}).saturating_mul({name}.into()))",
                underscore(time)
            );
        }
    }
    if model.reads.base != 0 {
        let _ = writeln!(
            out,
            "\t\t\t.saturating_add({db}.reads({}_u64))",
            model.reads.base
        );
    }
    if model.writes.base != 0 {
        let _ = writeln!(
            out,
            "\t\t\t.saturating_add({db}.writes({}_u64))",
            model.writes.base
        );
    }
    for (parameter, _, _) in &model.components {
        let name = parameter.to_string();
        let reads = slope_of(&model.reads, &name);
        if reads != 0 {
            let _ = writeln!(
                out,
                "\t\t\t.saturating_add({db}.reads(({reads}_u64).saturating_mul({name}.into())))"
            );
        }
        let writes = slope_of(&model.writes, &name);
        if writes != 0 {
            let _ = writeln!(
                out,
                "\t\t\t.saturating_add({db}.writes(({writes}_u64).saturating_mul({name}.into())))"
            );
        }
    }
    let _ = writeln!(out, "\t}}");
}

/// `1234567` as `1_234_567`.
fn underscore(value: u128) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push('_');
        }
        out.push(digit);
    }
    out
}
