//! Runs one corpus program's cold call (module creation, instantiation, the short call) on
//! pvm-core's interpreter or JIT, for profiling what a cold call costs:
//! `cargo run --release -p pvm-benchmarking --example cold_call -- [program] [runs] [interpreter|jit]`,
//! e.g. under `valgrind --tool=callgrind` (the default program is the big-integer one). It
//! prints the mean time of each phase.

use pvm_contracts_examples::corpus::CORPUS;
use pvm_core::{BackendKind, Config, Engine, Interrupt, Module, ModuleConfig};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "bigint".into());
    let runs: u32 = std::env::args().nth(2).map_or(Ok(1), |s| s.parse())?;
    let backend = match std::env::args().nth(3).as_deref() {
        None | Some("interpreter") => BackendKind::Interpreter,
        Some("jit") => BackendKind::Jit,
        Some(other) => anyhow::bail!("unknown backend {other}: interpreter or jit"),
    };
    let program = CORPUS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| anyhow::anyhow!("no corpus program {name}"))?;
    let engine = Engine::new(&Config {
        backend,
        ..Config::default()
    })?;
    let config = ModuleConfig::default();
    let mut phases = [Duration::ZERO; 3];
    for _ in 0..runs {
        let start = Instant::now();
        let module = Module::new(&engine, &config, program.latest64.bytes)?;
        let compiled = Instant::now();
        let mut instance = module.instantiate()?;
        let instantiated = Instant::now();
        instance.prepare_call_export(program.cold.export, &[u64::from(program.cold.arg)])?;
        instance.set_gas(1 << 40);
        anyhow::ensure!(
            instance.run()? == Interrupt::Finished,
            "the call did not finish"
        );
        let called = Instant::now();
        phases[0] += compiled - start;
        phases[1] += instantiated - compiled;
        phases[2] += called - instantiated;
    }
    let [compile, instantiate, call] = phases.map(|phase| phase / runs);
    println!(
        "{} {}({}) on {backend:?}, mean of {runs}: compile {compile:?}, instantiate \
         {instantiate:?}, call {call:?}",
        program.name, program.cold.export, program.cold.arg,
    );
    Ok(())
}
