//! `compare-jit`: times pvm-core's JIT against polkavm 0.37's recompiler on the real-code
//! corpus and on our own `pvm-contracts-examples` guests (execution and compile time,
//! synchronous gas metering on both), then compile time against code size on generated programs from 1 KiB to 1 MiB of
//! code with a linear fit; prints the tables and optionally writes them to markdown.
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --bin compare-jit -- --write-markdown BENCHMARKS.md
//! ```

use anyhow::{bail, Context, Result};
use pvm_benchmarking::compare::args::Flags;
use pvm_benchmarking::compare::native;
use pvm_benchmarking::compare::report::verdict;
use pvm_benchmarking::compare::report::{self, Environment};
use pvm_benchmarking::compare::run::{measure, summarize, RunConfig, WorkloadResult};
use pvm_benchmarking::compare::scaling::{generated_program, linear_fit, Fit};
use pvm_benchmarking::compare::stats::{self, format_duration};
use pvm_benchmarking::compare::vm::{Ours, Polkavm, Vm};
use pvm_benchmarking::compare::workloads::{
    corpus_workloads, default_workloads, Set, WorkloadParams,
};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const START_MARKER: &str = "<!-- jit-comparison:start -->";
const END_MARKER: &str = "<!-- jit-comparison:end -->";
/// The issue's goals: at most polkavm's time, for execution and for compilation.
const GOAL_RATIO: f64 = 1.0;
/// Issue 14's goal on the real-code corpus: the geometric mean of exec ours/polkavm.
const CORPUS_GOAL_GEOMEAN: f64 = 0.85;
/// Issue 14's goal on the real-code corpus: no call above this exec ratio.
const CORPUS_GOAL_MAX: f64 = 1.0;
/// Code sizes of the generated programs.
const SIZES: [usize; 6] = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];

const USAGE: &str = "\
compare-jit: pvm-core's JIT vs polkavm 0.37's recompiler, same blobs, same host functions.

USAGE:
    cargo run --release -p pvm-benchmarking --bin compare-jit -- [OPTIONS]

OPTIONS:
    --runs N               timed executions per VM and workload (default 7)
    --compile-runs N       timed compilations per VM and workload (default 21)
    --scaling-runs N       timed compilations per VM and generated size (default 5)
    --filter TEXT          only workloads whose name contains TEXT (repeatable)
    --corpus-only          only the real-code corpus (not our own guests, no scaling)
    --sandbox NAME         where pvm-core's JIT code runs: linux (default; polkavm's
                           recompiler runs in its Linux sandbox too) or generic
    --write-markdown PATH  write/replace the JIT comparison section of PATH
    -h, --help             this text
";

struct Args {
    runs: usize,
    compile_runs: usize,
    scaling_runs: usize,
    filters: Vec<String>,
    corpus_only: bool,
    sandbox: pvm_core::SandboxKind,
    markdown: Option<PathBuf>,
}

fn parse_args(raw: &[String]) -> Result<Option<Args>> {
    let mut args = Args {
        runs: 7,
        compile_runs: 21,
        scaling_runs: 5,
        filters: Vec::new(),
        corpus_only: false,
        sandbox: pvm_core::SandboxKind::Linux,
        markdown: None,
    };
    let mut flags = Flags::new(raw);
    while let Some(flag) = flags.next_flag() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--runs" => args.runs = flags.number(flag)?,
            "--compile-runs" => args.compile_runs = flags.number(flag)?,
            "--scaling-runs" => args.scaling_runs = flags.number(flag)?,
            "--filter" => args.filters.push(flags.value(flag)?.to_string()),
            "--corpus-only" => args.corpus_only = true,
            "--sandbox" => {
                let name = flags.value(flag)?;
                args.sandbox = pvm_core::SandboxKind::from_name(name)
                    .with_context(|| format!("--sandbox: {name:?} is not linux or generic"))?;
            }
            "--write-markdown" => args.markdown = Some(flags.path(flag)?),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if args.runs == 0 || args.compile_runs == 0 || args.scaling_runs == 0 {
        bail!("run counts must be at least 1");
    }
    Ok(Some(args))
}

/// One generated size: code bytes and both VMs' median compile times.
struct ScalingPoint {
    code_bytes: usize,
    ours: Duration,
    polkavm: Duration,
}

fn measure_scaling(ours: &Ours, polkavm: &Polkavm, runs: usize) -> Result<Vec<ScalingPoint>> {
    let mut points = Vec::new();
    for size in SIZES {
        let (bytes, code_bytes) = generated_program(size)?;
        let mut our_times = Vec::new();
        let mut their_times = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let module = ours.compile(&bytes)?;
            our_times.push(start.elapsed());
            drop(module);
            let start = Instant::now();
            let module = polkavm.compile(&bytes)?;
            their_times.push(start.elapsed());
            drop(module);
        }
        let point = ScalingPoint {
            code_bytes,
            ours: stats::median(&our_times),
            polkavm: stats::median(&their_times),
        };
        eprintln!(
            "    {code_bytes} bytes: ours {} / polkavm {}",
            format_duration(point.ours),
            format_duration(point.polkavm)
        );
        points.push(point);
    }
    Ok(points)
}

fn fit(points: &[ScalingPoint], ours: bool) -> Fit {
    let xy: Vec<(f64, f64)> = points
        .iter()
        .map(|p| {
            let t = if ours { p.ours } else { p.polkavm };
            (p.code_bytes as f64, t.as_nanos() as f64)
        })
        .collect();
    linear_fit(&xy)
}

fn table_rows(results: &[WorkloadResult], natives: &[Option<Duration>]) -> String {
    let mut out = String::from(
        "| workload | JIT exec median | JIT exec min | polkavm exec median | polkavm exec min | exec ours/polkavm | exec ours/polkavm (min) | native min | JIT/native (min) | compile ours | compile polkavm | compile ours/polkavm | gas used | JIT ns/gas (min) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (r, native) in results.iter().zip(natives) {
        let (native_min, jit_over_native) = match native {
            Some(native) => (
                format_duration(*native),
                format!("{:.2}", stats::ratio(r.ours.exec_min(), *native)),
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {native_min} | {jit_over_native} | {} | {} | {:.2} | {} | {} |",
            r.workload.name,
            format_duration(r.ours.exec_median()),
            format_duration(r.ours.exec_min()),
            format_duration(r.polkavm.exec_median()),
            format_duration(r.polkavm.exec_min()),
            r.exec_ratio(),
            r.exec_ratio_min(),
            format_duration(r.ours.compile_median()),
            format_duration(r.polkavm.compile_median()),
            r.compile_ratio(),
            r.outcome
                .gas_used
                .map_or_else(|| "-".to_string(), |g| g.to_string()),
            r.ns_per_gas()
                .map_or_else(|| "-".to_string(), |ns| format!("{ns:.3}")),
        );
    }
    out
}

/// Geometric mean of JIT min / native min over the rows with a native build.
fn native_geomean(results: &[WorkloadResult], natives: &[Option<Duration>]) -> (f64, usize) {
    let ratios: Vec<f64> = results
        .iter()
        .zip(natives)
        .filter_map(|(r, n)| n.map(|n| stats::ratio(r.ours.exec_min(), n)))
        .collect();
    (stats::geometric_mean(ratios.iter().copied()), ratios.len())
}

/// The corpus table and its summary against issue 14's goals.
fn corpus_table(results: &[WorkloadResult], natives: &[Option<Duration>]) -> String {
    let mut out = table_rows(results, natives);
    let Some(s) = summarize(results, Set::Corpus) else {
        return out;
    };
    let compile = stats::geometric_mean(results.iter().map(WorkloadResult::compile_ratio));
    let (native, native_count) = native_geomean(results, natives);
    let _ = write!(
        out,
        "\n**Real-code corpus, {} calls: exec ours/polkavm geometric mean {:.3} on medians \
         ({:.3} on minima; goal <= {CORPUS_GOAL_GEOMEAN}: {}), median {:.2}, highest {:.2} \
         ({}; goal <= {CORPUS_GOAL_MAX} for every call: {}). Compile ours/polkavm: geometric \
         mean {compile:.3}. The JIT's minimum exec time is {native:.2}x the same code built \
         natively ({native_count} calls; geometric mean).**\n",
        s.count,
        s.geomean,
        s.geomean_min,
        verdict(s.geomean <= CORPUS_GOAL_GEOMEAN),
        s.median,
        s.highest.0,
        s.highest.1,
        verdict(s.highest.0 <= CORPUS_GOAL_MAX),
    );
    out
}

fn workload_table(results: &[WorkloadResult], natives: &[Option<Duration>]) -> String {
    let mut out = table_rows(results, natives);
    let compute: Vec<&WorkloadResult> = results.iter().filter(|r| r.workload.compute).collect();
    let (native, native_count) = native_geomean(results, natives);
    let exec = stats::geometric_mean(compute.iter().map(|r| r.exec_ratio()));
    let exec_all = stats::geometric_mean(results.iter().map(WorkloadResult::exec_ratio));
    let compile = stats::geometric_mean(compute.iter().map(|r| r.compile_ratio()));
    let compile_all = stats::geometric_mean(results.iter().map(WorkloadResult::compile_ratio));
    let slowest_compile = results
        .iter()
        .max_by(|a, b| a.compile_ratio().total_cmp(&b.compile_ratio()));
    let verdict = |ratio: f64| {
        if ratio <= GOAL_RATIO {
            "goal met"
        } else {
            "goal NOT met"
        }
    };
    let _ = write!(
        out,
        "\n**Geometric means: exec ours/polkavm {exec:.3} over the {} compute workloads ({}); \
         {exec_all:.3} over all {} (the `hostcalls` row favours us: polkavm's recompiler \
         crosses a process boundary per host call); compile ours/polkavm {compile:.3} over \
         the compute workloads ({}), {compile_all:.3} over all, {:.2} at most ({}). \
         Goal <= {GOAL_RATIO} for both. The JIT's minimum exec time is {native:.2}x the same \
         Rust compiled natively (geometric mean over the {} workloads with a native build).**\n",
        compute.len(),
        verdict(exec),
        results.len(),
        verdict(compile),
        slowest_compile.map_or(0.0, |r| r.compile_ratio()),
        slowest_compile.map_or("-", |r| r.workload.name.as_str()),
        native_count,
    );
    out
}

fn scaling_table(points: &[ScalingPoint]) -> String {
    let mut out = String::from(
        "| code bytes | compile ours | compile polkavm | ours/polkavm | ours ns/byte | polkavm ns/byte |\n\
         |---:|---:|---:|---:|---:|---:|\n",
    );
    for p in points {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            p.code_bytes,
            format_duration(p.ours),
            format_duration(p.polkavm),
            stats::ratio(p.ours, p.polkavm),
            p.ours.as_nanos() as f64 / p.code_bytes as f64,
            p.polkavm.as_nanos() as f64 / p.code_bytes as f64,
        );
    }
    for (name, f) in [("ours", fit(points, true)), ("polkavm", fit(points, false))] {
        let _ = writeln!(
            out,
            "\nLinear fit, {name}: compile time = {:.3} ns/byte x code bytes + {:.1} µs (R² = {:.5})",
            f.slope,
            f.intercept / 1000.0,
            f.r_squared
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
    let ours = Ours::with_config(
        true,
        &pvm_core::Config {
            backend: pvm_core::BackendKind::Jit,
            sandbox: pvm_core::SandboxConfig {
                kind: args.sandbox,
                ..pvm_core::SandboxConfig::default()
            },
            ..pvm_core::Config::default()
        },
    )?;
    let polkavm = Polkavm::with_backend(true, polkavm::BackendKind::Compiler)
        .context("polkavm's recompiler (it needs its Linux sandbox)")?;
    let mut workloads = corpus_workloads();
    if !args.corpus_only {
        workloads.extend(default_workloads(&WorkloadParams::default()));
    }
    let workloads: Vec<_> = workloads
        .into_iter()
        .filter(|w| {
            args.filters.is_empty() || args.filters.iter().any(|f| w.name.contains(f.as_str()))
        })
        .collect();
    let config = RunConfig {
        runs: args.runs,
        compile_runs: args.compile_runs,
    };
    let mut results = Vec::new();
    let mut natives = Vec::new();
    for workload in &workloads {
        eprintln!("{} ...", workload.name);
        let result = measure(workload, &ours, &polkavm, config)?;
        // The corpus and our own compute guest also run as native Rust, for reference.
        let native = match (workload.set, workload.program, &workload.args[..]) {
            (Set::Corpus, program, &[arg]) => pvm_corpus_native::min_time(
                program,
                workload.export,
                arg as u32,
                args.runs,
                result.outcome.result,
            ),
            (Set::Guests, "compute", &[arg]) => native::min_time(
                workload.export,
                arg as u32,
                args.runs,
                result.outcome.result,
            ),
            _ => None,
        };
        natives.push(native);
        eprintln!(
            "    exec ours {} / polkavm {} = {:.2}; compile {:.2}",
            format_duration(result.ours.exec_median()),
            format_duration(result.polkavm.exec_median()),
            result.exec_ratio(),
            result.compile_ratio()
        );
        results.push(result);
    }
    let points = if args.corpus_only {
        Vec::new()
    } else {
        eprintln!("compile time against code size ...");
        measure_scaling(&ours, &polkavm, args.scaling_runs)?
    };

    let split = |set: Set| -> (Vec<WorkloadResult>, Vec<Option<Duration>>) {
        results
            .iter()
            .zip(&natives)
            .filter(|(r, _)| r.workload.set == set)
            .map(|(r, n)| (r.clone(), *n))
            .unzip()
    };
    let (corpus_results, corpus_natives) = split(Set::Corpus);
    let (guest_results, guest_natives) = split(Set::Guests);
    let corpus_md = if corpus_results.is_empty() {
        String::new()
    } else {
        corpus_table(&corpus_results, &corpus_natives)
    };
    let workloads_md = if guest_results.is_empty() {
        String::new()
    } else {
        workload_table(&guest_results, &guest_natives)
    };
    let scaling_md = if points.is_empty() {
        String::new()
    } else {
        scaling_table(&points)
    };
    println!("\n{corpus_md}\n{workloads_md}\n{scaling_md}");

    if let Some(path) = &args.markdown {
        let env = Environment::detect(
            pvm_benchmarking::compare::report::reproduce_command("compare-jit", &raw),
            args.runs,
            args.compile_runs,
            load_before,
        );
        let mut section = format!("{START_MARKER}\n");
        section += "## JIT comparison: pvm-core's JIT vs polkavm 0.37's recompiler\n\n";
        section += "Generated by `compare-jit`; do not edit by hand, rerun instead.\n\n";
        section += &format!("- Date: {}\n", env.date);
        section += &format!(
            "- Machine: {} logical CPUs (nproc), {}; load average {} when the run started\n",
            env.nproc, env.cpu_model, env.load_average
        );
        section += &format!("- Toolchain: {}; commit {}\n", env.rustc, env.commit);
        section += &format!("- Reproduce: `{}`\n", env.command);
        section += &format!(
            "- Method: as `compare-interpreters` (the real-code corpus first, then our guests; same blobs, host functions, outcome checks, \
             alternating VMs), with pvm-core's `BackendKind::Jit` in its {} sandbox against polkavm's \
             `BackendKind::Compiler` (its default sandbox, Linux), synchronous gas metering and the \
             naive cost model on both. Exec: median and min of {} runs on fresh instances \
             (instantiation untimed). Compile: module creation from the blob bytes, median of \
             {} runs; both compile the whole program up front. Scaling: generated ReviveV1 \
             programs of chained basic blocks (ALU, stack loads and stores, a branch), median \
             of {} compilations per size, and a least-squares line per VM. Native: the \
             same Rust built for the host (the corpus with the same crates, which may use the \
             host's SIMD and SHA instructions where the guest cannot), minimum of as many runs.\n",
            args.sandbox.name(),
            env.runs,
            env.compile_runs,
            args.scaling_runs
        );
        section += &format!(
            "- Goal: at most {GOAL_RATIO}x polkavm's time, for execution and for compilation.\n"
        );
        if !corpus_md.is_empty() {
            section += "\n### Real-code corpus (gas metering on)\n\n";
            section += &corpus_md;
        }
        if !workloads_md.is_empty() {
            section += "\n### Our guests (gas metering on)\n\n";
            section += &workloads_md;
        }
        if !scaling_md.is_empty() {
            section += "\n### Compile time against code size\n\n";
            section += &scaling_md;
        }
        section += &format!("{END_MARKER}\n");
        report::update_markdown_between(path, &section, START_MARKER, END_MARKER)?;
        eprintln!("wrote the JIT comparison section of {}", path.display());
    }
    Ok(())
}
