//! Runs one corpus program's cold call (module creation, instantiation, the short call) on
//! pvm-core's interpreter, for profiling what a cold call costs:
//! `cargo run --release -p pvm-benchmarking --example cold_call -- [program] [runs]`, e.g.
//! under `valgrind --tool=callgrind` (the default program is the big-integer one).

use pvm_contracts_examples::corpus::CORPUS;
use pvm_core::{Config, Engine, Interrupt, Module, ModuleConfig};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "bigint".into());
    let runs: u32 = std::env::args().nth(2).map_or(Ok(1), |s| s.parse())?;
    let program = CORPUS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| anyhow::anyhow!("no corpus program {name}"))?;
    let engine = Engine::new(&Config::default())?;
    let config = ModuleConfig::default();
    let start = Instant::now();
    for _ in 0..runs {
        let module = Module::new(&engine, &config, program.latest64.bytes)?;
        let mut instance = module.instantiate()?;
        instance.prepare_call_export(program.cold.export, &[u64::from(program.cold.arg)])?;
        instance.set_gas(1 << 40);
        anyhow::ensure!(
            instance.run()? == Interrupt::Finished,
            "the call did not finish"
        );
    }
    println!(
        "{} {}({}): {:?} per cold call (mean of {runs})",
        program.name,
        program.cold.export,
        program.cold.arg,
        start.elapsed() / runs
    );
    Ok(())
}
