//! Cold calls on the real-code corpus: a fresh module from the blob's bytes, an instance and
//! one short call (each program's [`Program::cold`] call), which is what a chain pays for most
//! contract calls. Four VMs: pvm-core's interpreter against polkavm's interpreter, and
//! pvm-core's JIT against polkavm's recompiler; compile, instantiate and call timed
//! separately so tuning can see where the time goes.
//!
//! Every round runs each program once on each VM, the VMs' order rotating from round to
//! round, after one untimed warm-up round (polkavm's recompiler starts its sandbox workers
//! then). Every call's result must be the documented one and the gas the same on all four.

use super::stats::{self, format_duration};
use super::vm::{ColdCall, Ours, Polkavm, Vm};
use anyhow::{bail, Result};
use pvm_contracts_examples::corpus::{Program, CORPUS};
use std::fmt::Write as _;
use std::time::Duration;

/// The four VMs, in table order.
pub const VMS: [&str; 4] = [
    "pvm-core interpreter",
    "polkavm interpreter",
    "pvm-core JIT",
    "polkavm recompiler",
];

/// The VMs under test, built once.
pub struct Engines {
    ours_interpreter: Ours,
    polkavm_interpreter: Polkavm,
    ours_jit: Ours,
    polkavm_compiler: Polkavm,
}

impl Engines {
    /// All four with synchronous gas metering and the naive cost model.
    pub fn new() -> Result<Engines> {
        Ok(Engines {
            ours_interpreter: Ours::new(true)?,
            polkavm_interpreter: Polkavm::new(true)?,
            ours_jit: Ours::with_backend(true, pvm_core::BackendKind::Jit)?,
            polkavm_compiler: Polkavm::with_backend(true, polkavm::BackendKind::Compiler)?,
        })
    }

    fn cold_call(&self, vm: usize, program: &Program) -> Result<ColdCall> {
        let blob = program.latest64.bytes;
        let call = program.cold;
        let args = [u64::from(call.arg)];
        match vm {
            0 => self.ours_interpreter.cold_call(blob, call.export, &args),
            1 => self.polkavm_interpreter.cold_call(blob, call.export, &args),
            2 => self.ours_jit.cold_call(blob, call.export, &args),
            _ => self.polkavm_compiler.cold_call(blob, call.export, &args),
        }
    }
}

/// One VM's samples for one program.
#[derive(Clone, Debug, Default)]
pub struct PhaseSamples {
    /// Module creation.
    pub compile: Vec<Duration>,
    /// Instantiation.
    pub instantiate: Vec<Duration>,
    /// The call.
    pub call: Vec<Duration>,
    /// The three together, per round.
    pub total: Vec<Duration>,
}

impl PhaseSamples {
    fn push(&mut self, cold: &ColdCall) {
        self.compile.push(cold.compile);
        self.instantiate.push(cold.instantiate);
        self.call.push(cold.call);
        self.total.push(cold.total());
    }
}

/// All four VMs' samples for one program.
#[derive(Clone, Debug)]
pub struct ColdResult {
    /// The program.
    pub program: &'static Program,
    /// Gas the call used (the same on every VM).
    pub gas_used: i64,
    /// Samples per VM, in [`VMS`] order.
    pub vms: [PhaseSamples; 4],
}

impl ColdResult {
    /// Median total time of `ours` over `theirs` (indices into [`VMS`]).
    pub fn ratio_median(&self, ours: usize, theirs: usize) -> f64 {
        stats::ratio(
            stats::median(&self.vms[ours].total),
            stats::median(&self.vms[theirs].total),
        )
    }

    /// Minimum total time of `ours` over `theirs`.
    pub fn ratio_min(&self, ours: usize, theirs: usize) -> f64 {
        stats::ratio(
            stats::min(&self.vms[ours].total),
            stats::min(&self.vms[theirs].total),
        )
    }

    /// `corpus-json.latest64 parse(4)`.
    pub fn name(&self) -> String {
        format!(
            "{} {}({})",
            self.program.latest64.name, self.program.cold.export, self.program.cold.arg
        )
    }
}

/// The corpus programs ordered by Latest64 blob size, largest first; `largest` of them if
/// given.
pub fn programs(largest: Option<usize>) -> Vec<&'static Program> {
    let mut programs: Vec<&Program> = CORPUS.iter().collect();
    programs.sort_by_key(|p| std::cmp::Reverse(p.latest64.bytes.len()));
    programs.truncate(largest.unwrap_or(programs.len()));
    programs
}

/// Measures `rounds` interleaved rounds over `programs`.
pub fn measure(
    engines: &Engines,
    programs: &[&'static Program],
    rounds: usize,
) -> Result<Vec<ColdResult>> {
    let mut results: Vec<ColdResult> = programs
        .iter()
        .map(|&program| ColdResult {
            program,
            gas_used: 0,
            vms: Default::default(),
        })
        .collect();
    for round in 0..=rounds {
        for result in &mut results {
            for k in 0..VMS.len() {
                let vm = (round + k) % VMS.len();
                let cold = engines.cold_call(vm, result.program)?;
                let expected = result.program.cold.expected;
                let gas = cold.outcome.gas_used.unwrap_or(0);
                if cold.outcome.result != expected {
                    bail!(
                        "MISMATCH on {}: {} returned {:#x}, expected {expected:#x}",
                        result.name(),
                        VMS[vm],
                        cold.outcome.result
                    );
                }
                if round == 0 && k == 0 {
                    result.gas_used = gas;
                } else if gas != result.gas_used {
                    bail!(
                        "MISMATCH on {}: {} used {gas} gas, another VM {}",
                        result.name(),
                        VMS[vm],
                        result.gas_used
                    );
                }
                // Round 0 warms up (code, caches, polkavm's sandbox workers).
                if round > 0 {
                    result.vms[vm].push(&cold);
                }
            }
        }
    }
    Ok(results)
}

/// The table of phases: one row per program and VM.
pub fn phase_table(results: &[ColdResult]) -> String {
    let mut out = String::from(
        "| program, cold call | blob | gas | VM | compile median | instantiate median | call median | total median | total min |\n\
         |---|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        for (vm, samples) in VMS.iter().zip(&r.vms) {
            let _ = writeln!(
                out,
                "| {} | {:.1} KiB | {} | {vm} | {} | {} | {} | {} | {} |",
                r.name(),
                r.program.latest64.bytes.len() as f64 / 1024.0,
                r.gas_used,
                format_duration(stats::median(&samples.compile)),
                format_duration(stats::median(&samples.instantiate)),
                format_duration(stats::median(&samples.call)),
                format_duration(stats::median(&samples.total)),
                format_duration(stats::min(&samples.total)),
            );
        }
    }
    out
}

/// The table of ratios (ours over polkavm, total time) and the geometric means.
pub fn ratio_table(results: &[ColdResult]) -> String {
    let mut out = String::from(
        "| program, cold call | interpreter ours/polkavm (median) | (min) | JIT ours/recompiler (median) | (min) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.name(),
            r.ratio_median(0, 1),
            r.ratio_min(0, 1),
            r.ratio_median(2, 3),
            r.ratio_min(2, 3),
        );
    }
    let mean = |f: &dyn Fn(&ColdResult) -> f64| stats::geometric_mean(results.iter().map(f));
    let _ = writeln!(
        out,
        "| **geometric mean** | **{:.2}** | **{:.2}** | **{:.2}** | **{:.2}** |",
        mean(&|r| r.ratio_median(0, 1)),
        mean(&|r| r.ratio_min(0, 1)),
        mean(&|r| r.ratio_median(2, 3)),
        mean(&|r| r.ratio_min(2, 3)),
    );
    out
}
