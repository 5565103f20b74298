//! `compare-sandbox`: what running JIT code in a Linux worker process costs, pvm-core's
//! sandbox against polkavm 0.37's, same blobs, in one run: the `ecalli` round trip,
//! execution time on the compute guests, instantiating on a warm worker pool, and the
//! memory an idle worker holds.
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --bin compare-sandbox -- --write-markdown BENCHMARKS.md
//! ```

use anyhow::{bail, Context, Result};
use pvm_benchmarking::compare::args::Flags;
use pvm_benchmarking::compare::report::{self, Environment};
use pvm_benchmarking::compare::run::{measure, RunConfig, WorkloadResult};
use pvm_benchmarking::compare::sandbox::{
    mean_memory, our_loop, polkavm_loop, CacheLineFloor, Instantiate, Interleaved, OurModule,
    PolkavmModule, ProcessMemory, RoundTrips,
};
use pvm_benchmarking::compare::stats::{self, format_duration};
use pvm_benchmarking::compare::vm::{Ours, Polkavm};
use pvm_benchmarking::compare::workloads::{default_workloads, WorkloadParams};
use std::fmt::Write as _;
use std::path::PathBuf;

const START_MARKER: &str = "<!-- sandbox-comparison:start -->";
const END_MARKER: &str = "<!-- sandbox-comparison:end -->";
/// The issue's goals, as fractions of polkavm's time.
const GOAL_ECALLI: f64 = 0.75;
const GOAL_EXEC: f64 = 1.0;
const GOAL_INSTANTIATE: f64 = 1.0;

const USAGE: &str = "\
compare-sandbox: pvm-core's Linux sandbox vs polkavm 0.37's, same blobs.

USAGE:
    cargo run --release -p pvm-benchmarking --bin compare-sandbox -- [OPTIONS]

OPTIONS:
    --rounds N             alternating samples per contender for the round trip and
                           instantiation (default 41)
    --calls N              host calls per round-trip sample (default 20000)
    --runs N               timed executions per VM and compute workload (default 7)
    --filter TEXT          only compute workloads whose name contains TEXT (repeatable)
    --write-markdown PATH  write/replace the sandbox comparison section of PATH
    -h, --help             this text
";

struct Args {
    rounds: usize,
    calls: u64,
    runs: usize,
    filters: Vec<String>,
    markdown: Option<PathBuf>,
}

fn parse_args(raw: &[String]) -> Result<Option<Args>> {
    let mut args = Args {
        rounds: 41,
        calls: 20_000,
        runs: 7,
        filters: Vec::new(),
        markdown: None,
    };
    let mut flags = Flags::new(raw);
    while let Some(flag) = flags.next_flag() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--rounds" => args.rounds = flags.number(flag)?,
            "--calls" => args.calls = flags.number(flag)?,
            "--runs" => args.runs = flags.number(flag)?,
            "--filter" => args.filters.push(flags.value(flag)?.to_string()),
            "--write-markdown" => args.markdown = Some(flags.path(flag)?),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if args.rounds == 0 || args.calls == 0 || args.runs == 0 {
        bail!("counts must be at least 1");
    }
    Ok(Some(args))
}

fn our_config(backend: pvm_core::BackendKind, sandbox: pvm_core::SandboxKind) -> pvm_core::Config {
    pvm_core::Config {
        backend,
        sandbox: pvm_core::SandboxConfig {
            kind: sandbox,
            ..pvm_core::SandboxConfig::default()
        },
        ..pvm_core::Config::default()
    }
}

/// polkavm's recompiler in its Linux sandbox, otherwise its defaults (two cached workers,
/// host and worker threads pinned to cores).
fn polkavm_linux() -> polkavm::Config {
    let mut config = polkavm::Config::new();
    config.set_backend(Some(polkavm::BackendKind::Compiler));
    config.set_sandbox(Some(polkavm::SandboxKind::Linux));
    config
}

fn polkavm_interpreter() -> polkavm::Config {
    let mut config = polkavm::Config::new();
    config.set_backend(Some(polkavm::BackendKind::Interpreter));
    config
}

/// A row of a min/median table.
struct Row {
    name: String,
    min: std::time::Duration,
    median: std::time::Duration,
}

fn round_trip_table(rows: &[Row], reference: usize) -> String {
    let mut out = String::from(
        "| contender | min per round trip | median per round trip | median / polkavm's Linux sandbox |\n\
         |---|---:|---:|---:|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} |",
            row.name,
            format_duration(row.min),
            format_duration(row.median),
            stats::ratio(row.median, rows[reference].median)
        );
    }
    out
}

fn exec_table(results: &[WorkloadResult]) -> (String, f64) {
    let mut out = String::from(
        "| workload | pvm-core (linux) median | pvm-core min | polkavm (linux) median | polkavm min | ours/polkavm (median) |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} |",
            r.workload.name,
            format_duration(r.ours.exec_median()),
            format_duration(r.ours.exec_min()),
            format_duration(r.polkavm.exec_median()),
            format_duration(r.polkavm.exec_min()),
            r.exec_ratio()
        );
    }
    let geomean = stats::geometric_mean(results.iter().map(WorkloadResult::exec_ratio));
    (out, geomean)
}

fn verdict(ratio: f64, goal: f64) -> &'static str {
    if ratio <= goal {
        "goal met"
    } else {
        "goal NOT met"
    }
}

fn memory_table(ours: ProcessMemory, ours_lean: ProcessMemory, theirs: ProcessMemory) -> String {
    let mut out = String::from("| idle worker | RSS | PSS | private |\n|---|---:|---:|---:|\n");
    for (name, memory) in [
        (
            "pvm-core (default: keeps up to 4 MiB of zeroed guest pages for the next instance)",
            ours,
        ),
        ("pvm-core, `idle_worker_memory: 0`", ours_lean),
        ("polkavm", theirs),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {} KiB | {} KiB | {} KiB |",
            memory.rss_kib, memory.pss_kib, memory.private_kib
        );
    }
    out
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(args) = parse_args(&raw)? else {
        print!("{USAGE}");
        return Ok(());
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; numbers are meaningless, use --release");
    }
    if !pvm_core::BackendKind::jit_supported() {
        bail!(
            "pvm-core's JIT cannot run on this host (it needs {})",
            pvm_core::BackendKind::JIT_REQUIREMENTS
        );
    }
    let load_before = report::load_average();
    use pvm_core::{BackendKind as B, SandboxKind as S};

    // 1. The ecalli round trip.
    eprintln!("ecalli round trip ({} calls per sample) ...", args.calls);
    // The floor's echo thread first: a thread inherits its creator's CPU affinity, and
    // polkavm pins the calling thread when its engine starts.
    let floor = CacheLineFloor::new();
    let mut loops: Vec<(String, Box<dyn RoundTrips>)> = vec![
        (
            "pvm-core JIT, Linux sandbox".into(),
            Box::new(our_loop(&our_config(B::Jit, S::Linux))?),
        ),
        (
            "polkavm recompiler, Linux sandbox".into(),
            Box::new(polkavm_loop(&polkavm_linux())?),
        ),
        (
            "pvm-core JIT, generic sandbox (in-process, reference)".into(),
            Box::new(our_loop(&our_config(B::Jit, S::Generic))?),
        ),
        (
            "pvm-core interpreter (reference)".into(),
            Box::new(our_loop(&our_config(B::Interpreter, S::Linux))?),
        ),
        (
            "polkavm interpreter (reference)".into(),
            Box::new(polkavm_loop(&polkavm_interpreter())?),
        ),
        (
            "two threads bouncing one cache line between the cores (the floor, reference)".into(),
            Box::new(floor),
        ),
    ];
    // Warm up (first runs fault in pages, the spin budgets settle).
    for (_, contender) in &mut loops {
        contender.round_trips(args.calls)?;
    }
    let calls = args.calls;
    let sampled = Interleaved::measure(&mut loops, args.rounds, |(_, contender)| {
        contender.round_trips(calls)
    })?;
    let round_trips: Vec<Row> = loops
        .iter()
        .enumerate()
        .map(|(index, (name, _))| Row {
            name: name.clone(),
            min: sampled.min(index),
            median: sampled.median(index),
        })
        .collect();
    drop(loops);
    let ecalli_ratio = stats::ratio(round_trips[0].median, round_trips[1].median);
    let floor = round_trips.last().context("the floor row")?;
    let floor_ratio = stats::ratio(floor.median, round_trips[1].median);
    eprintln!(
        "    ours {} / polkavm {} = {ecalli_ratio:.2}",
        format_duration(round_trips[0].median),
        format_duration(round_trips[1].median)
    );

    // 2. Execution on the compute guests.
    let ours = Ours::with_config(true, &our_config(B::Jit, S::Linux))?;
    let polkavm = Polkavm::with_config(true, &polkavm_linux())
        .context("polkavm's recompiler in its Linux sandbox")?;
    let workloads: Vec<_> = default_workloads(&WorkloadParams::default())
        .into_iter()
        .filter(|w| w.compute)
        .filter(|w| {
            args.filters.is_empty() || args.filters.iter().any(|f| w.name.contains(f.as_str()))
        })
        .collect();
    let run_config = RunConfig {
        runs: args.runs,
        compile_runs: 1,
    };
    let mut results = Vec::new();
    for workload in &workloads {
        eprintln!("{} ...", workload.name);
        let result = measure(workload, &ours, &polkavm, run_config)?;
        eprintln!(
            "    exec ours {} / polkavm {} = {:.2}",
            format_duration(result.ours.exec_median()),
            format_duration(result.polkavm.exec_median()),
            result.exec_ratio()
        );
        results.push(result);
    }
    let (exec_md, exec_ratio) = exec_table(&results);

    // 3. Instantiation on a warm pool (the compute guest: code, ro data, rw data, stack).
    eprintln!("instantiate on a warm pool ...");
    let blob = pvm_contracts_examples::COMPUTE_LATEST64;
    let mut modules: Vec<Box<dyn Instantiate>> = vec![
        Box::new(OurModule(ours_compile(&ours, blob)?)),
        Box::new(PolkavmModule(polkavm_compile(&polkavm, blob)?)),
    ];
    for module in &mut modules {
        for _ in 0..20 {
            module.instantiate(true)?;
        }
    }
    let rounds = args.rounds * 5;
    let alone = Interleaved::measure(&mut modules, rounds, |m| m.instantiate(false))?;
    let with_drop = Interleaved::measure(&mut modules, rounds, |m| m.instantiate(true))?;
    drop(modules);
    let instantiate_ratio = stats::ratio(alone.median(0), alone.median(1));
    let mut instantiate_md = String::from(
        "| | pvm-core (linux) min | pvm-core median | polkavm (linux) min | polkavm median | ours/polkavm (median) |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for (name, samples) in [("instantiate", &alone), ("instantiate + drop", &with_drop)] {
        let _ = writeln!(
            instantiate_md,
            "| {name} | {} | {} | {} | {} | {:.2} |",
            format_duration(samples.min(0)),
            format_duration(samples.median(0)),
            format_duration(samples.min(1)),
            format_duration(samples.median(1)),
            stats::ratio(samples.median(0), samples.median(1))
        );
    }
    eprintln!("    instantiate ours/polkavm {instantiate_ratio:.2}");

    // 4. Memory per idle worker, after each ran the same call (sieve touches about 1 MiB of
    // guest memory) and got its worker back.
    let (export, argument) = ("sieve", 1_000_000);
    let ours_default = our_idle_worker(&our_config(B::Jit, S::Linux), blob, export, argument)?;
    let mut lean = our_config(B::Jit, S::Linux);
    lean.sandbox.idle_worker_memory = 0;
    let ours_lean = our_idle_worker(&lean, blob, export, argument)?;
    {
        use pvm_benchmarking::compare::vm::Vm;
        let module = polkavm.compile(blob)?;
        polkavm.execute(&module, export, &[argument])?;
    }
    let theirs = mean_memory(&polkavm.engine().idle_worker_pids())?;
    let memory_md = memory_table(ours_default, ours_lean, theirs);

    let summary = format!(
        "**ecalli round trip: {ecalli_ratio:.2}x polkavm's (goal <= {GOAL_ECALLI}: {}; one \
         cache line each way between the cores, the floor under both, is {floor_ratio:.2}x); \
         compute exec: geometric mean {exec_ratio:.3}x over {} workloads (goal <= {GOAL_EXEC}: {}); \
         instantiate on a warm pool: {instantiate_ratio:.2}x (goal <= {GOAL_INSTANTIATE}: {}).**\n",
        verdict(ecalli_ratio, GOAL_ECALLI),
        results.len(),
        verdict(exec_ratio, GOAL_EXEC),
        verdict(instantiate_ratio, GOAL_INSTANTIATE),
    );
    let round_trip_md = round_trip_table(&round_trips, 1);
    println!("\n{round_trip_md}\n{exec_md}\n{instantiate_md}\n{memory_md}\n{summary}");

    if let Some(path) = &args.markdown {
        let env = Environment::detect(
            report::reproduce_command("compare-sandbox", &raw),
            args.runs,
            1,
            load_before,
        );
        let mut section = format!("{START_MARKER}\n");
        section += "## Linux sandbox: pvm-core's worker processes vs polkavm 0.37's\n\n";
        section += "Generated by `compare-sandbox`; do not edit by hand, rerun instead.\n\n";
        section += &format!("- Date: {}\n", env.date);
        section += &format!(
            "- Machine: {} logical CPUs (nproc), {}; load average {} when the run started\n",
            env.nproc, env.cpu_model, env.load_average
        );
        section += &format!("- Toolchain: {}; commit {}\n", env.rustc, env.commit);
        section += &format!("- Reproduce: `{}`\n", env.command);
        section += &format!(
            "- Method: pvm-core's `BackendKind::Jit` with `SandboxKind::Linux` against polkavm's \
             `BackendKind::Compiler` with `SandboxKind::Linux` (its defaults otherwise: two \
             cached workers, threads pinned to cores), synchronous gas metering and the naive \
             cost model on both. Every measurement alternates between the contenders sample by \
             sample. Round trip: a guest loop of {} `ecalli`s per sample (the host reads an \
             argument register and writes a result each time), time per call, {} samples; \
             the floor row bounces one cache line between two threads of this process as \
             many times per sample (the hypervisor places this VM's two vCPUs near or far \
             apart, and the floor moves with it). Exec: the compute guests as in `compare-jit`, {} runs each on fresh instances. \
             Instantiate: `Module::instantiate` of the compute guest (code, ro and rw data, \
             stack) on a warm pool, {} samples, with and without the drop that gives the worker \
             back. Memory: `/proc/<pid>/smaps_rollup` of an idle worker whose instance ran \
             `sieve(1000000)` of the compute guest (about 1 MiB of guest memory touched) and was \
             dropped (polkavm: its idle workers, averaged, after the same call).\n",
            args.calls, args.rounds, args.runs, rounds
        );
        section += &format!(
            "- Goals: round trip at most {GOAL_ECALLI}x polkavm's, exec at most {GOAL_EXEC}x, \
             instantiate at most {GOAL_INSTANTIATE}x.\n\n"
        );
        section += &summary;
        section += "\n### ecalli round trip\n\n";
        section += &round_trip_md;
        section += "\n### Execution (compute guests, gas metering on)\n\n";
        section += &exec_md;
        let _ = writeln!(
            section,
            "\nGeometric mean ours/polkavm: {exec_ratio:.3} ({}).",
            verdict(exec_ratio, GOAL_EXEC)
        );
        section += "\n### Instantiate on a warm pool\n\n";
        section += &instantiate_md;
        section += "\n### Memory per idle worker\n\n";
        section += &memory_md;
        section += &format!("{END_MARKER}\n");
        report::update_markdown_between(path, &section, START_MARKER, END_MARKER)?;
        eprintln!("wrote the sandbox comparison section of {}", path.display());
    }
    Ok(())
}

/// Runs `export(argument)` of `blob` on an engine with `config`, drops the instance, and
/// reads what its worker holds once idle.
fn our_idle_worker(
    config: &pvm_core::Config,
    blob: &[u8],
    export: &str,
    argument: u64,
) -> Result<ProcessMemory> {
    let ours = Ours::with_config(true, config)?;
    let module = ours_compile(&ours, blob)?;
    let mut instance = module.instantiate()?;
    let pid = instance
        .sandbox_worker_pid()
        .context("the instance runs in a worker")?;
    instance.set_gas(1 << 40);
    instance.prepare_call_export(export, &[argument])?;
    let interrupt = instance.run()?;
    if interrupt != pvm_core::Interrupt::Finished {
        bail!("{export}({argument}) stopped with {interrupt:?}");
    }
    drop(instance);
    pvm_benchmarking::compare::sandbox::process_memory(pid)
}

fn ours_compile(ours: &Ours, blob: &[u8]) -> Result<pvm_core::Module> {
    use pvm_benchmarking::compare::vm::Vm;
    ours.compile(blob)
}

fn polkavm_compile(polkavm: &Polkavm, blob: &[u8]) -> Result<polkavm::Module> {
    use pvm_benchmarking::compare::vm::Vm;
    polkavm.compile(blob)
}
