//! The gas model's measurement: programs that exercise one opcode's (or dimension's) worst
//! case, timed on every engine a chain may run, and the cost table derived from them
//! (`gas-model`, README "Gas").
//!
//! A program runs at two iteration counts; time and gas per iteration are the differences
//! over the difference of iterations, so its setup (filling a pointer-chasing cycle,
//! compiling, entering the executor) cancels out.

pub mod programs;
pub mod search;

use anyhow::{anyhow, bail, Context, Result};
use codec::{Decode, Encode};
use frame_support::weights::Weight;
use pallet_pvm::runtime_api::{Code, ContractResult};
use pallet_pvm::InstantiateOutcome;
use pvm_core::asm::assemble;
use pvm_core::gas::CostTable;
use pvm_core::{
    BackendKind, Config, Engine, Interrupt, Module, ModuleConfig, SandboxConfig, SandboxKind,
};
use pvm_runtime::{Balance, EventRecord};
use pvm_tests::chain::{Chain, Way};
use sp_keyring::Ed25519Keyring::Alice;
use std::time::Duration;

pub use programs::Gadget;

/// The engines a chain may run contracts on.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum EngineKind {
    /// pvm-core's interpreter, natively.
    Interpreter,
    /// pvm-core's JIT (in-process sandbox: the code is the same in the worker sandbox).
    Jit,
    /// pvm-core's interpreter inside the wasm runtime, through `sc-executor`.
    InRuntime,
}

impl EngineKind {
    /// Every engine, in the order of `RefTimePerGas`'s fields.
    pub const ALL: [EngineKind; 3] = [
        EngineKind::Interpreter,
        EngineKind::Jit,
        EngineKind::InRuntime,
    ];

    /// The key of this engine in `RefTimePerGas`, `pvm costs` and the raw figures.
    pub fn key(self) -> &'static str {
        match self {
            EngineKind::Interpreter => "interpreter",
            EngineKind::Jit => "jit",
            EngineKind::InRuntime => "in_runtime",
        }
    }

    /// The engine named `key`.
    pub fn from_key(key: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|e| e.key() == key)
    }
}

/// Where programs run: native engines, and a chain executing the wasm runtime with the
/// interpreter inside (set up once: building its genesis takes a while).
pub struct Runners {
    interpreter: Engine,
    jit: Option<Engine>,
    chain: Option<Chain>,
}

/// Memory a native instance may make accessible: the largest working set measured, plus
/// the image.
const NATIVE_MEMORY_LIMIT: u64 = 80 << 20;

impl Runners {
    /// The runners for `engines` (the JIT only where it is supported).
    pub fn new(engines: &[EngineKind]) -> Result<Runners> {
        let interpreter = Engine::new(&Config {
            backend: BackendKind::Interpreter,
            ..Config::default()
        })?;
        let jit = if engines.contains(&EngineKind::Jit) {
            if !BackendKind::jit_supported() {
                bail!("the JIT is not supported here");
            }
            // In-process: the same generated code as in the worker sandbox, and the thread's
            // CPU clock covers it.
            Some(Engine::new(&Config {
                backend: BackendKind::Jit,
                sandbox: SandboxConfig {
                    kind: SandboxKind::Generic,
                    ..SandboxConfig::default()
                },
                ..Config::default()
            })?)
        } else {
            None
        };
        let chain = engines
            .contains(&EngineKind::InRuntime)
            .then(|| Chain::new(Way::WasmInRuntimeEngine));
        Ok(Runners {
            interpreter,
            jit,
            chain,
        })
    }

    /// Runs `source` once on `engine`, charged by `table`: the CPU time of this thread
    /// from its `ecalli` marker (if it has one, else from the start) to its end, and the
    /// gas it used (`None` for the gas in the runtime, where the pallet's table charges).
    pub fn run(
        &mut self,
        engine: EngineKind,
        source: &str,
        table: &CostTable,
    ) -> Result<(Duration, Option<u64>)> {
        let blob = assemble_padded(source)?;
        match engine {
            EngineKind::Interpreter | EngineKind::Jit => {
                let engine = match engine {
                    EngineKind::Jit => self.jit.as_ref().context("no JIT runner")?,
                    _ => &self.interpreter,
                };
                let module_config = ModuleConfig {
                    cost_table: table.clone(),
                    ..ModuleConfig::default()
                };
                let module = Module::from_blob(engine, &module_config, blob)?;
                let mut instance = module.instantiate_with_memory_limit(NATIVE_MEMORY_LIMIT)?;
                instance.prepare_call_export("call", &[])?;
                let start_gas = i64::MAX / 2;
                instance.set_gas(start_gas);
                let mut start = thread_cpu_time();
                let mut interrupt = instance.run()?;
                if interrupt == Interrupt::Ecalli(0) {
                    start = thread_cpu_time();
                    interrupt = instance.run()?;
                }
                let elapsed = thread_cpu_time().saturating_sub(start);
                if interrupt != Interrupt::Finished {
                    bail!("the program stopped with {interrupt:?}");
                }
                let used = u64::try_from(start_gas - instance.gas())?;
                Ok((elapsed, Some(used)))
            }
            EngineKind::InRuntime => {
                let chain = self.chain.as_mut().context("no in-runtime runner")?;
                let bytes = blob.to_bytes().context("the blob serializes")?;
                Ok((dry_run_deploy(chain, bytes)?, None))
            }
        }
    }

    /// The gas `source` uses under `table` (natively: every engine charges alike).
    pub fn gas(&mut self, source: &str, table: &CostTable) -> Result<u64> {
        let (_, gas) = self.run(EngineKind::Interpreter, source, table)?;
        gas.context("the interpreter reports gas")
    }
}

/// This thread's CPU time: what a run costs without the time other processes on the
/// machine took the core (the machine measurements run on is shared).
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Assembles `source`, with a `fallthrough` put before each instruction that would cross a
/// 1024-byte macro block (or end one inside a basic block), as the encoding requires.
/// Where the padding goes is remembered per program with its iteration count left out
/// (`load_imm64` has a fixed length, so the count does not move anything).
pub fn assemble_padded(source: &str) -> Result<pvm_core::ProgramBlob> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PADDING: OnceLock<Mutex<HashMap<String, Vec<usize>>>> = OnceLock::new();
    let cache = PADDING.get_or_init(Default::default);
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    let key: String = lines
        .iter()
        .map(|l| {
            if l.starts_with("load_imm64 s1, ") {
                "load_imm64 s1, N"
            } else {
                l.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(positions) = cache.lock().expect("not poisoned").get(&key).cloned() {
        for &at in &positions {
            lines.insert(at, "fallthrough".to_string());
        }
        return assemble(&lines.join("\n")).map_err(|e| anyhow!("{e}"));
    }
    let mut positions = Vec::new();
    for _ in 0..10_000 {
        match assemble(&lines.join("\n")) {
            Ok(blob) => {
                cache.lock().expect("not poisoned").insert(key, positions);
                return Ok(blob);
            }
            Err(e) => {
                let message = e.to_string();
                let line = message
                    .strip_prefix("line ")
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|n| n.parse::<usize>().ok());
                match line {
                    Some(n) if message.contains("macro block") && n >= 1 => {
                        lines.insert(n - 1, "fallthrough".to_string());
                        positions.push(n - 1);
                    }
                    _ => bail!("{message}"),
                }
            }
        }
    }
    bail!("could not pad the program into macro blocks")
}

type DryRun<R> = ContractResult<R, Balance, EventRecord>;

/// The weight limit of the dry runs that time a program inside the runtime: far above an
/// extrinsic's. The default (the runtime's largest extrinsic) stopped the fast cases that
/// the measured tables charge many times their time (a chase over 4 MiB at a DRAM miss an
/// access, `memset` bytes) with `OutOfGas` long before their loops took the time a
/// measurement needs, so they had no in-runtime figure. A dry run changes no state, and
/// the loops are sized by time, so this limit is never what ends a measured run.
const MEASUREMENT_WEIGHT_LIMIT: Weight = Weight::from_parts(1 << 52, 1 << 52);

/// Instantiates `code` in a dry run (its `deploy` export runs the program): the time.
fn dry_run_deploy(chain: &mut Chain, code: Vec<u8>) -> Result<Duration> {
    let args = (
        Alice.to_account_id(),
        0 as Balance,
        Some(MEASUREMENT_WEIGHT_LIMIT),
        None::<Balance>,
        Code::Upload(code),
        Vec::<u8>::new(),
        Vec::<u8>::new(),
    )
        .encode();
    let start = thread_cpu_time();
    let output = chain.dry_run("PvmApi_instantiate", &args);
    let elapsed = thread_cpu_time().saturating_sub(start);
    let result = DryRun::<InstantiateOutcome>::decode(&mut &output[..])?;
    result
        .result
        .map_err(|e| anyhow!("the program fails in the runtime: {e:?}"))?;
    Ok(elapsed)
}

/// The address of the programs' read-write data (the same for every program: the layout
/// depends only on the section sizes, which all programs share).
pub fn rw_base() -> Result<u32> {
    let gadget = &programs::all()[0];
    let blob = assemble_padded(&programs::source(gadget, 1, 0))?;
    let engine = Engine::new(&Config::default())?;
    let module = Module::from_blob(&engine, &ModuleConfig::default(), blob)?;
    let map = module.memory_map().context("the standard layout")?;
    Ok(map.rw_data_address)
}

/// One program's figures on one engine.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Nanoseconds per unit (minimum over rounds of the per-iteration difference).
    pub ns_min: f64,
    /// Nanoseconds per unit over the medians.
    pub ns_median: f64,
}

/// Times `gadget` on `engine`: `rounds` runs sized so the loop takes about `target`.
/// Natively the clock starts at the marker after the setup, so a run's loop is timed
/// alone; in the runtime (contracts have no marker) a small and a large iteration count run
/// interleaved and the difference is taken, so setup, validation and executor entry cancel.
pub fn time_gadget(
    runners: &mut Runners,
    engine: EngineKind,
    gadget: &Gadget,
    base: u32,
    rounds: usize,
    target: Duration,
) -> Result<Timing> {
    let table = CostTable::naive();
    let cap = gadget.max_iterations.unwrap_or(u64::MAX);
    let per_iteration = u64::from(gadget.unroll) * gadget.units;
    if engine != EngineKind::InRuntime {
        let mut probe = 4.min(cap);
        let iterations = loop {
            let source = programs::source_with(gadget, probe, base, true);
            let (t, _) = runners.run(engine, &source, &table)?;
            if t >= target / 8 || probe >= cap {
                let per = t.as_secs_f64().max(1e-9) / probe as f64;
                break ((target.as_secs_f64() / per) as u64).clamp(probe.min(64), cap);
            }
            probe = (probe * 4).min(cap);
        };
        let source = programs::source_with(gadget, iterations, base, true);
        let mut times = Vec::new();
        for _ in 0..rounds {
            times.push(runners.run(engine, &source, &table)?.0);
        }
        times.sort();
        let units = (iterations * per_iteration) as f64;
        return Ok(Timing {
            ns_min: times[0].as_secs_f64() * 1e9 / units,
            ns_median: times[rounds / 2].as_secs_f64() * 1e9 / units,
        });
    }
    // Inside the runtime every run includes a dry-run instantiation, tens of milliseconds
    // that vary by several from run to run: the loop must take many times that spread,
    // or the difference of two runs is mostly noise (a probe once sized a program's
    // loop at a fiftieth of a millisecond, and the check then read it as 100x slower
    // than it is). So the loop is sized to `IN_RUNTIME_LOOP_FACTOR` times the native
    // target, and a probe counts only once it agrees with the one before it.
    let loop_target = target * IN_RUNTIME_LOOP_FACTOR;
    // The probes take the fastest of three runs: a large heap's setup inside the runtime
    // takes milliseconds, and one slow run of it would pass for a slow loop (and size the
    // measured runs far too short).
    let mut fastest_of_three = |source: &str| -> Result<Duration> {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            best = best.min(runners.run(engine, source, &table)?.0);
        }
        Ok(best)
    };
    let t0 = fastest_of_three(&programs::source(gadget, 1, base))?;
    let mut probe = 16.min(cap);
    let mut previous_per: Option<f64> = None;
    let large = loop {
        let t1 = fastest_of_three(&programs::source(gadget, probe, base))?;
        let spent = t1.saturating_sub(t0);
        let per = spent.as_secs_f64().max(1e-9) / (probe - 1).max(1) as f64;
        let steady = previous_per.is_some_and(|p| (per / p - 1.0).abs() < 0.25);
        if (spent >= loop_target / 8 && steady) || probe >= cap {
            break ((loop_target.as_secs_f64() / per) as u64).clamp(probe.min(64), cap);
        }
        previous_per = (spent >= loop_target / 32).then_some(per);
        probe = (probe * 4).min(cap);
    };
    let small = (large / 8).max(1);
    let (small_source, large_source) = (
        programs::source(gadget, small, base),
        programs::source(gadget, large, base),
    );
    // Paired rounds: each round's difference has that round's conditions on both sides.
    let mut differences = Vec::new();
    for _ in 0..rounds {
        let small_time = runners.run(engine, &small_source, &table)?.0;
        let large_time = runners.run(engine, &large_source, &table)?.0;
        differences.push(large_time.saturating_sub(small_time));
    }
    let units = ((large - small) * per_iteration) as f64;
    let per_unit = |d: Duration| d.as_secs_f64() * 1e9 / units;
    differences.sort();
    Ok(Timing {
        ns_min: per_unit(differences[0]),
        ns_median: per_unit(differences[rounds / 2]),
    })
}

/// How many times the native loop target a loop inside the runtime takes (see
/// [`time_gadget`]): 8 ms natively, 64 ms inside the runtime, against a dry run's
/// instantiation that varies by a few milliseconds.
pub const IN_RUNTIME_LOOP_FACTOR: u32 = 8;

/// Gas per unit of `gadget` under `table` (differences of two iteration counts).
pub fn gas_per_unit(
    runners: &mut Runners,
    gadget: &Gadget,
    base: u32,
    table: &CostTable,
) -> Result<f64> {
    let cap = gadget.max_iterations.unwrap_or(u64::MAX);
    let (small, large) = (2.min(cap), 10.min(cap));
    let g0 = runners.gas(&programs::source(gadget, small, base), table)?;
    let g1 = runners.gas(&programs::source(gadget, large, base), table)?;
    let units = ((large - small) * u64::from(gadget.unroll) * gadget.units) as f64;
    Ok((g1 - g0) as f64 / units)
}
