//! `compare-interpreters`: times pvm-core's interpreter against polkavm 0.37's on the
//! real-code corpus and on our own `pvm-contracts-examples` guests, and prints (optionally
//! writes to markdown) the ratios.
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --bin compare-interpreters -- --write-markdown BENCHMARKS.md
//! ```
//!
//! See `pvm_benchmarking::compare` for what is measured and how; `--help` for the flags.

use anyhow::{bail, Result};
use pvm_benchmarking::compare::args::Flags;
use pvm_benchmarking::compare::report::{self, Environment, Table};
use pvm_benchmarking::compare::run::{measure, RunConfig};
use pvm_benchmarking::compare::vm::{Ours, Polkavm};
use pvm_benchmarking::compare::workloads::{
    corpus_workloads, default_workloads, Set, WorkloadParams,
};
use std::path::PathBuf;

const USAGE: &str = "\
compare-interpreters: pvm-core's interpreter vs polkavm 0.37's, same blobs, same host functions.

USAGE:
    cargo run --release -p pvm-benchmarking --bin compare-interpreters -- [OPTIONS]

OPTIONS:
    --runs N               timed executions per VM and workload (default 7)
    --compile-runs N       timed compilations per VM and workload (default 21)
    --without-gas          also measure with gas metering off (second table)
    --filter TEXT          only workloads whose name contains TEXT (repeatable: any match)
    --corpus-only          only the real-code corpus (not our own guests)
    --write-markdown PATH  write/replace the comparison section of PATH (e.g. BENCHMARKS.md)
    --sieve N --hash N --fib N --sort N --vec-work N --hostcalls N
                           workload arguments (defaults 1000000, 20000, 27, 50000, 100000, 100000)
    -h, --help             this text
";

struct Args {
    runs: usize,
    compile_runs: usize,
    without_gas: bool,
    filters: Vec<String>,
    corpus_only: bool,
    markdown: Option<PathBuf>,
    params: WorkloadParams,
}

fn parse_args(raw: &[String]) -> Result<Option<Args>> {
    let mut args = Args {
        runs: 7,
        compile_runs: 21,
        without_gas: false,
        filters: Vec::new(),
        corpus_only: false,
        markdown: None,
        params: WorkloadParams::default(),
    };
    let mut flags = Flags::new(raw);
    while let Some(flag) = flags.next_flag() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--runs" => args.runs = flags.number(flag)?,
            "--compile-runs" => args.compile_runs = flags.number(flag)?,
            "--without-gas" => args.without_gas = true,
            "--filter" => args.filters.push(flags.value(flag)?.to_string()),
            "--corpus-only" => args.corpus_only = true,
            "--write-markdown" => args.markdown = Some(flags.path(flag)?),
            "--sieve" => args.params.sieve_n = flags.number(flag)?,
            "--hash" => args.params.hash_rounds = flags.number(flag)?,
            "--fib" => args.params.fib_n = flags.number(flag)?,
            "--sort" => args.params.sort_n = flags.number(flag)?,
            "--vec-work" => args.params.vec_work_n = flags.number(flag)?,
            "--hostcalls" => args.params.hostcalls_n = flags.number(flag)?,
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if args.runs == 0 || args.compile_runs == 0 {
        bail!("--runs and --compile-runs must be at least 1");
    }
    Ok(Some(args))
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

    let mut workloads = corpus_workloads();
    if !args.corpus_only {
        workloads.extend(default_workloads(&args.params));
    }
    let workloads: Vec<_> = workloads
        .into_iter()
        .filter(|w| {
            args.filters.is_empty() || args.filters.iter().any(|f| w.name.contains(f.as_str()))
        })
        .collect();
    if workloads.is_empty() {
        bail!("no workload matches the filters {:?}", args.filters);
    }
    let config = RunConfig {
        runs: args.runs,
        compile_runs: args.compile_runs,
    };

    let load_before = report::load_average();
    let mut tables = Vec::new();
    let metering_modes: &[bool] = if args.without_gas {
        &[true, false]
    } else {
        &[true]
    };
    for &gas_metering in metering_modes {
        let ours = Ours::new(gas_metering)?;
        let polkavm = Polkavm::new(gas_metering)?;
        let mut results = Vec::new();
        for workload in &workloads {
            eprintln!(
                "[gas {}] {} ...",
                if gas_metering { "on " } else { "off" },
                workload.name
            );
            let result = measure(workload, &ours, &polkavm, config)?;
            eprintln!(
                "    ours {} / polkavm {} = {:.2}",
                pvm_benchmarking::compare::stats::format_duration(result.ours.exec_median()),
                pvm_benchmarking::compare::stats::format_duration(result.polkavm.exec_median()),
                result.exec_ratio()
            );
            results.push(result);
        }
        for set in [Set::Corpus, Set::Guests] {
            let table = Table {
                gas_metering,
                set,
                results: results
                    .iter()
                    .filter(|r| r.workload.set == set)
                    .cloned()
                    .collect(),
            };
            if table.results.is_empty() {
                continue;
            }
            println!();
            print!("{}", report::console_table(&table));
            tables.push(table);
        }
    }

    if let Some(path) = &args.markdown {
        let env = Environment::detect(
            pvm_benchmarking::compare::report::reproduce_command("compare-interpreters", &raw),
            args.runs,
            args.compile_runs,
            load_before,
        );
        report::update_markdown_file(path, &report::markdown_section(&env, &tables))?;
        eprintln!(
            "wrote the interpreter comparison section of {}",
            path.display()
        );
    }
    Ok(())
}
