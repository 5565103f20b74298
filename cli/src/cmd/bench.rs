//! `pvm bench`: time compiling a program and calling it; prints one JSON line.

use super::call::CallArgs;
use crate::host::Host;
use crate::runner::run_to_end;
use anyhow::{anyhow, bail, ensure, Result};
use clap::Args;
use pvm_core::gas::CostTable;
use pvm_core::Reg;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `pvm bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to call.
    #[command(flatten)]
    pub call: CallArgs,
    /// How many times to compile and how many times to run.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub runs: u32,
    /// The gas cost table to charge by (`naive`: one per instruction; `interpreter`,
    /// `jit`: the newest table measured in that engine's shape; or a version number, e.g.
    /// `3`); the default is the pallet's default table.
    #[arg(long, value_name = "NAME|VERSION")]
    pub cost_table: Option<String>,
}

/// Compiles `runs` times (timing `Module::new`, parse included) and runs `runs` fresh
/// instances (timing `Module::instantiate` and, apart, the run loop with host calls), then
/// prints `{"backend", "compile_ns", "instantiate_ns", "exec_ns_median", "gas_used",
/// "cost_table", "cost_table_version", "result"}` with medians; `backend` is the one that ran (`jit` falls back to
/// `interpreter` where it cannot run).
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    ensure!(args.runs > 0, "--runs must be at least 1");
    let mut prepared = args.call.prepare(false)?;
    let table = match &args.cost_table {
        Some(name) => CostTable::by_name_or_version(name).ok_or_else(|| {
            let known: Vec<String> = CostTable::all()
                .iter()
                .map(|t| format!("{} (version {})", t.name, t.version))
                .collect();
            anyhow!(
                "no cost table named {name:?}: give a name (its newest version) or a version \
                 number; known: {}",
                known.join(", ")
            )
        })?,
        None => super::costs::default_table()?,
    };
    prepared.config.cost_table = table.clone();

    let mut compile_ns = Vec::with_capacity(args.runs as usize);
    let mut module = None;
    for _ in 0..args.runs {
        let start = Instant::now();
        let compiled = prepared.compile()?;
        compile_ns.push(start.elapsed().as_nanos());
        module = Some(compiled);
    }
    let module = module.expect("at least one run");

    let mut instantiate_ns = Vec::with_capacity(args.runs as usize);
    let mut exec_ns = Vec::with_capacity(args.runs as usize);
    let mut last = None;
    for _ in 0..args.runs {
        let start = Instant::now();
        let instance = module.instantiate();
        instantiate_ns.push(start.elapsed().as_nanos());
        let mut instance = instance.map_err(|e| anyhow!("cannot instantiate: {e}"))?;
        prepared.prepare(&mut instance, &args.call.args, args.call.gas)?;
        let mut host = Host::new(module.imports());
        let start = Instant::now();
        let outcome = run_to_end(&mut instance, &mut host, None)?;
        exec_ns.push(start.elapsed().as_nanos());
        if !outcome.is_finished() {
            let pc = instance.program_counter().unwrap_or(0);
            bail!("the call ended with {outcome} at pc {pc}, not Finished; nothing to benchmark");
        }
        let gas_used = args.call.gas - instance.gas();
        let result = instance.reg(Reg::A0);
        if let Some((previous_gas, previous_result)) = last {
            ensure!(
                (previous_gas, previous_result) == (gas_used, result),
                "runs disagree: gas {previous_gas} / result {previous_result:#x}, then gas {gas_used} / result {result:#x}"
            );
        }
        last = Some((gas_used, result));
    }
    let (gas_used, result) = last.expect("at least one run");

    let line = serde_json::json!({
        // What ran: the JIT falls back to the interpreter where it cannot run.
        "backend": module.backend().name(),
        "compile_ns": median(&mut compile_ns),
        "instantiate_ns": median(&mut instantiate_ns),
        "exec_ns_median": median(&mut exec_ns),
        "gas_used": gas_used,
        "cost_table": table.name,
        "cost_table_version": table.version,
        "result": result,
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// The median of `values` (the lower middle one for an even count), as `u64`.
fn median(values: &mut [u128]) -> u64 {
    values.sort_unstable();
    let middle = values[(values.len() - 1) / 2];
    u64::try_from(middle).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_picks_the_middle() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut [7]), 7);
    }
}
