//! The measurement loop.
//!
//! Per workload: compile the blob on both VMs, run the call once on each (untimed warm-up)
//! and require identical outcomes (result, gas used, host calls, emitted bytes) that also
//! match the documented result when one is known; then time compilation and execution,
//! alternating between the VMs every sample so drift (frequency scaling, noisy neighbours)
//! hits both alike. Every timed execution's outcome is checked again.

use super::stats;
use super::vm::{Execution, Ours, Outcome, Polkavm, Vm};
use super::workloads::{Set, Workload};
use anyhow::{bail, Result};
use std::time::{Duration, Instant};

/// How many samples to take.
#[derive(Copy, Clone, Debug)]
pub struct RunConfig {
    /// Timed executions per VM and workload.
    pub runs: usize,
    /// Timed compilations per VM and workload.
    pub compile_runs: usize,
}

/// One VM's samples for one workload.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// Execution samples (`prepare_call` + run loop).
    pub exec: Vec<Duration>,
    /// Compilation samples (module creation from bytes).
    pub compile: Vec<Duration>,
}

impl Timings {
    /// Median execution time.
    pub fn exec_median(&self) -> Duration {
        stats::median(&self.exec)
    }
    /// Fastest execution.
    pub fn exec_min(&self) -> Duration {
        stats::min(&self.exec)
    }
    /// Median compilation time.
    pub fn compile_median(&self) -> Duration {
        stats::median(&self.compile)
    }
}

/// Both VMs' measurements of one workload.
#[derive(Clone, Debug)]
pub struct WorkloadResult {
    /// What ran.
    pub workload: Workload,
    /// The outcome both VMs agreed on.
    pub outcome: Outcome,
    /// pvm-core's samples.
    pub ours: Timings,
    /// polkavm's samples.
    pub polkavm: Timings,
}

impl WorkloadResult {
    /// Median execution time, ours / polkavm.
    pub fn exec_ratio(&self) -> f64 {
        stats::ratio(self.ours.exec_median(), self.polkavm.exec_median())
    }
    /// Fastest execution, ours / polkavm.
    pub fn exec_ratio_min(&self) -> f64 {
        stats::ratio(self.ours.exec_min(), self.polkavm.exec_min())
    }
    /// Our fastest execution in nanoseconds per unit of gas used (with metering on).
    pub fn ns_per_gas(&self) -> Option<f64> {
        let gas = self.outcome.gas_used.filter(|&gas| gas > 0)?;
        Some(self.ours.exec_min().as_nanos() as f64 / gas as f64)
    }
    /// Median compile time, ours / polkavm.
    pub fn compile_ratio(&self) -> f64 {
        stats::ratio(self.ours.compile_median(), self.polkavm.compile_median())
    }
}

/// Exec ratios ours/polkavm over the workloads of one [`Set`].
#[derive(Clone, Debug)]
pub struct SetSummary {
    /// How many workloads.
    pub count: usize,
    /// Geometric mean of the ratios of medians.
    pub geomean: f64,
    /// Geometric mean of the ratios of minima.
    pub geomean_min: f64,
    /// Median of the ratios of medians.
    pub median: f64,
    /// The highest ratio of medians and its workload's name.
    pub highest: (f64, String),
}

/// [`SetSummary`] of the results in `set`; `None` if there are none.
pub fn summarize(results: &[WorkloadResult], set: Set) -> Option<SetSummary> {
    let rows: Vec<&WorkloadResult> = results.iter().filter(|r| r.workload.set == set).collect();
    let highest = rows
        .iter()
        .max_by(|a, b| a.exec_ratio().total_cmp(&b.exec_ratio()))?;
    let mut ratios: Vec<f64> = rows.iter().map(|r| r.exec_ratio()).collect();
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    let median = if ratios.len() % 2 == 1 {
        ratios[mid]
    } else {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    };
    Some(SetSummary {
        count: rows.len(),
        geomean: stats::geometric_mean(ratios.iter().copied()),
        geomean_min: stats::geometric_mean(rows.iter().map(|r| r.exec_ratio_min())),
        median,
        highest: (highest.exec_ratio(), highest.workload.name.clone()),
    })
}

/// Geometric mean of [`WorkloadResult::exec_ratio`] over the compute workloads, and how many
/// there were.
pub fn compute_geomean(results: &[WorkloadResult]) -> (f64, usize) {
    let ratios: Vec<f64> = results
        .iter()
        .filter(|r| r.workload.compute)
        .map(WorkloadResult::exec_ratio)
        .collect();
    (stats::geometric_mean(ratios.iter().copied()), ratios.len())
}

fn check_outcome(workload: &Workload, vm: &str, expected: &Outcome, got: &Outcome) -> Result<()> {
    if got != expected {
        bail!(
            "MISMATCH on {}: {vm} produced result {:#x}, gas {:?}, {} host calls, {} emitted bytes; \
             expected result {:#x}, gas {:?}, {} host calls, {} emitted bytes{}",
            workload.name,
            got.result,
            got.gas_used,
            got.host_calls,
            got.emitted.len(),
            expected.result,
            expected.gas_used,
            expected.host_calls,
            expected.emitted.len(),
            if got.emitted != expected.emitted { " (emitted bytes differ)" } else { "" },
        );
    }
    Ok(())
}

/// Checks both VMs agree on `workload`, then measures it.
pub fn measure(
    workload: &Workload,
    ours: &Ours,
    polkavm: &Polkavm,
    config: RunConfig,
) -> Result<WorkloadResult> {
    let our_module = ours.compile(workload.blob)?;
    let polkavm_module = polkavm.compile(workload.blob)?;

    let ours_warm = ours.execute(&our_module, workload.export, &workload.args)?;
    let polkavm_warm = polkavm.execute(&polkavm_module, workload.export, &workload.args)?;
    let outcome = polkavm_warm.outcome;
    check_outcome(workload, ours.name(), &outcome, &ours_warm.outcome)?;
    if let Some(expected) = workload.expected {
        if outcome.result != expected {
            bail!(
                "MISMATCH on {}: both VMs returned {:#x}, the documented result is {expected:#x}",
                workload.name,
                outcome.result
            );
        }
    }

    let mut our_times = Timings::default();
    let mut polkavm_times = Timings::default();
    for _ in 0..config.compile_runs {
        our_times
            .compile
            .push(time(|| ours.compile(workload.blob))?);
        polkavm_times
            .compile
            .push(time(|| polkavm.compile(workload.blob))?);
    }
    for i in 0..config.runs {
        // Alternate which VM goes first, so neither always runs right after the other.
        let (a, b) = if i % 2 == 0 {
            let a = ours.execute(&our_module, workload.export, &workload.args)?;
            let b = polkavm.execute(&polkavm_module, workload.export, &workload.args)?;
            (a, b)
        } else {
            let b = polkavm.execute(&polkavm_module, workload.export, &workload.args)?;
            let a = ours.execute(&our_module, workload.export, &workload.args)?;
            (a, b)
        };
        record(workload, ours.name(), &outcome, a, &mut our_times.exec)?;
        record(
            workload,
            polkavm.name(),
            &outcome,
            b,
            &mut polkavm_times.exec,
        )?;
    }
    Ok(WorkloadResult {
        workload: workload.clone(),
        outcome,
        ours: our_times,
        polkavm: polkavm_times,
    })
}

fn record(
    workload: &Workload,
    vm: &str,
    expected: &Outcome,
    run: Execution,
    into: &mut Vec<Duration>,
) -> Result<()> {
    check_outcome(workload, vm, expected, &run.outcome)?;
    into.push(run.elapsed);
    Ok(())
}

fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<Duration> {
    let start = Instant::now();
    let value = f()?;
    let elapsed = start.elapsed();
    drop(value);
    Ok(elapsed)
}
