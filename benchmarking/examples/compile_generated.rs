//! Compiles one generated program with the JIT, for profiling compile time:
//! `cargo run --release -p pvm-benchmarking --example compile_generated -- [bytes] [runs]`,
//! e.g. under `valgrind --tool=callgrind --toggle-collect='*Module::new*'`.

use pvm_benchmarking::compare::scaling::generated_program;
use pvm_benchmarking::compare::vm::{Ours, Vm};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bytes = args.get(1).map_or(Ok(1 << 20), |s| s.parse())?;
    let runs: usize = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let (blob, size) = generated_program(bytes)?;
    let vm = Ours::with_backend(true, pvm_core::BackendKind::Jit)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let module = vm.compile(&blob)?;
        times.push(start.elapsed());
        drop(module);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{size} code bytes: median {median:?} of {runs}, min {:?}, {:.2} ns/byte (median)",
        times[0],
        median.as_nanos() as f64 / size as f64
    );
    Ok(())
}
