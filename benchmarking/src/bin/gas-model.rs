//! The gas model's derivation (README "Gas"):
//!
//! ```text
//! gas-model measure [--engines interpreter,jit,in_runtime] [--rounds N] [--ms T] [--only PREFIX,...]
//!                   [--out benchmarking/gas-model/measured.json]
//! gas-model measure --engines interpreter,jit --only load/chase/,store/scattered/,memset/,page/ \
//!                   --evict-l3 256 --keep-slowest --out benchmarking/gas-model/contended.json
//! gas-model generate [--in benchmarking/gas-model/measured.json] [--contended benchmarking/gas-model/contended.json]
//! gas-model check [--engines ...] [--rounds N] [--table NAME|VERSION] [--only PREFIX,...|none]
//! gas-model search --engine jit --seconds S [--seed N] [--table NAME|VERSION]
//! ```
//!
//! `--evict-l3 MIB` (`measure`, `check`, `search`) runs a thread beside the measurement
//! that keeps writing one byte per cache line over MIB mebibytes, as another tenant or the
//! node's own work can. It does two things to a guest's memory accesses: where the thread's
//! core shares the L3 with the measurement's, it evicts the guest's working set from it
//! (a VM's reported topology does not promise that: confirm that it slows `measure --only
//! load/chase/4MiB` before trusting that); and everywhere it keeps the memory controller
//! busy, so that every access that goes to DRAM waits longer (here the 64 MiB chase goes
//! from 140-170 ns to 250-300 ns a load, what other tenants' slow windows gave it too).
//! The second is what the tables from version 4 on price every access beyond the private
//! cache at ([`TableSpec::dram_above`]): its measurement is `contended.json`, the slowest
//! of several runs (`--keep-slowest`).
//!
//! `measure` times every program of `pvm_benchmarking::gas_model::programs` on each engine
//! and writes the raw figures; `generate` derives the cost tables from them (one per shape
//! and pricing rule, [`TABLES`]) and writes their source; `check` runs the real-code corpus
//! and the regression programs under a measured table (by default the newest in each
//! engine's shape) and reports charged time (gas times the engine's `RefTimePerGas`) over
//! measured time; `search` hill-climbs over generated programs for the most time per gas.

use anyhow::{bail, Context, Result};
use pvm_benchmarking::compare::report::{cpu_model, load_average, utc_date_time};
use pvm_benchmarking::gas_model::{
    gas_per_unit, programs, rw_base, time_gadget, EngineKind, Gadget, Runners,
};
use pvm_core::gas::CostTable;
use pvm_core::isa::{Flow, Format};
use pvm_core::Opcode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

const RAW: &str = "benchmarking/gas-model/measured.json";

/// The memory tiers measured with a thread contending for memory beside them (`measure
/// --evict-l3`; see the module doc).
const CONTENDED: &str = "benchmarking/gas-model/contended.json";

/// The figures of `measure` on another machine kind a chain's validators run: an Intel
/// Xeon (2 vCPUs, 48 KiB L1d and 2 MiB L2 per core), where `popcnt` and `lzcnt` take
/// three cycles and a 16-bit immediate store stalls the decoder, which the reference
/// machine does neither (BENCHMARKS.md "The JIT table on an Intel machine").
const INTEL: &str = "benchmarking/gas-model/intel.json";

/// The largest cache the reference machine gives each core for itself: AMD Zen 4's L2,
/// 1 MiB. A working set that fits it stays there whatever other tenants do; one that does
/// not lives in the L3 that other cores (other tenants' VMs, the node's other threads)
/// share, and any of them can evict it and make every access a DRAM access.
pub const PRIVATE_CACHE_BYTES: u64 = 1 << 20;

/// A measured table `generate` writes: tuned to the shape of `engines`' costs.
pub struct TableSpec {
    /// Its version (`CostTable::version`).
    pub version: u32,
    /// Its name (`CostTable::name`).
    pub name: &'static str,
    /// The engines whose per-opcode times set its costs (the maximum over them, in each
    /// one's units); its recommended `ref_time` covers every engine.
    pub engines: &'static [EngineKind],
    /// Engines that bound its costs in absolute time (see [`fn@derive`]).
    pub bounded: &'static [EngineKind],
    /// With `Some(bytes)`, every load and store of an instance whose accessible memory
    /// exceeds `bytes` is priced as the slowest access measured beyond it, quiet or
    /// contended (`contended.json`): a working set beyond the private cache is one a
    /// neighbour can evict, so its accesses are DRAM accesses waiting behind other traffic.
    /// The other memory-bound figures (the tiers up to `bytes`, pages, `memset` bytes)
    /// take the slower of their quiet and contended measurements too.
    /// With `None`, each tier is priced by its own quiet measurement (versions 2 and 3,
    /// which undercharge a pointer chase beyond the L2 whenever something evicts the L3:
    /// BENCHMARKS.md "The 4 MiB tier is not safe on a shared machine").
    pub dram_above: Option<u64>,
    /// Whether its recommended `ref_time` per gas covers the programs that mix opcodes
    /// (`programs::mixes`, measured from version 6 on: the interpreter inside the runtime
    /// runs a mix at twice the time per instruction of each opcode's own case).
    pub covers_mixes: bool,
    /// Raw figures measured on other machine kinds, merged into the reference machine's
    /// quiet figures (`measured.json`) by keeping each figure's slowest: a
    /// table must be safe on every kind of machine its chains' validators run, and an
    /// opcode can be slow on one and fast on another (`popcnt`: one cycle on Zen 4, three
    /// on Intel's cores).
    pub also_measured_on: &'static [&'static str],
    /// Where its source goes.
    pub source: &'static str,
}

/// The measured tables, by version: the interpreters' shape and the JIT's, each with its
/// tiers priced by working set alone (2, 3), then with DRAM beyond the private cache
/// (4, 5), then with a `ref_time` per gas that covers programs mixing opcodes (6, 7; these
/// also charge `memset` the memory surcharge: `CostTable::memset_pays_access`). `generate`
/// writes all of them from the same figures, so the old ones come out unchanged (a
/// changed table is a new version).
pub const TABLES: [TableSpec; 7] = [
    TableSpec {
        version: 2,
        name: "interpreter",
        engines: &[EngineKind::Interpreter, EngineKind::InRuntime],
        bounded: &[EngineKind::Jit],
        dram_above: None,
        covers_mixes: false,
        also_measured_on: &[],
        source: "vm-core/src/gas/v2.rs",
    },
    TableSpec {
        version: 3,
        name: "jit",
        engines: &[EngineKind::Jit],
        bounded: &[],
        dram_above: None,
        covers_mixes: false,
        also_measured_on: &[],
        source: "vm-core/src/gas/v3.rs",
    },
    TableSpec {
        version: 4,
        name: "interpreter",
        engines: &[EngineKind::Interpreter, EngineKind::InRuntime],
        bounded: &[EngineKind::Jit],
        dram_above: Some(PRIVATE_CACHE_BYTES),
        covers_mixes: false,
        also_measured_on: &[],
        source: "vm-core/src/gas/v4.rs",
    },
    TableSpec {
        version: 5,
        name: "jit",
        engines: &[EngineKind::Jit],
        bounded: &[],
        dram_above: Some(PRIVATE_CACHE_BYTES),
        covers_mixes: false,
        also_measured_on: &[],
        source: "vm-core/src/gas/v5.rs",
    },
    TableSpec {
        version: 6,
        name: "interpreter",
        engines: &[EngineKind::Interpreter, EngineKind::InRuntime],
        bounded: &[EngineKind::Jit],
        dram_above: Some(PRIVATE_CACHE_BYTES),
        covers_mixes: true,
        also_measured_on: &[],
        source: "vm-core/src/gas/v6.rs",
    },
    TableSpec {
        version: 7,
        name: "jit",
        engines: &[EngineKind::Jit],
        bounded: &[],
        dram_above: Some(PRIVATE_CACHE_BYTES),
        covers_mixes: true,
        also_measured_on: &[],
        source: "vm-core/src/gas/v7.rs",
    },
    TableSpec {
        version: 8,
        name: "jit",
        engines: &[EngineKind::Jit],
        bounded: &[],
        dram_above: Some(PRIVATE_CACHE_BYTES),
        covers_mixes: true,
        also_measured_on: &[INTEL],
        source: "vm-core/src/gas/v8.rs",
    },
];

/// The newest measured table tuned for `engine`.
fn own_table(engine: EngineKind) -> CostTable {
    match engine {
        EngineKind::Jit => CostTable::jit(),
        EngineKind::Interpreter | EngineKind::InRuntime => CostTable::interpreter(),
    }
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = raw.first() else {
        bail!("usage: gas-model measure|generate|check|search [options]");
    };
    let options = Options::parse(&raw[1..])?;
    let _evictor = (options.evict_l3_mib > 0).then(|| CacheEvictor::start(options.evict_l3_mib));
    match command.as_str() {
        "measure" => measure(&options),
        "generate" => generate(&options),
        "check" => check(&options),
        "search" => search(&options),
        other => bail!("unknown command {other:?}"),
    }
}

/// A thread that writes one byte per cache line over a buffer larger than the last-level
/// cache, round after round, until dropped: the neighbour that evicts a guest's working
/// set from the shared cache between its accesses. On a machine with two logical CPUs it
/// takes the one the measurement does not.
struct CacheEvictor {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CacheEvictor {
    fn start(mebibytes: usize) -> CacheEvictor {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buffer = vec![0u8; mebibytes << 20];
            while !flag.load(Ordering::Relaxed) {
                for line in buffer.chunks_mut(64) {
                    line[0] = line[0].wrapping_add(1);
                }
                std::hint::black_box(&mut buffer);
            }
        });
        eprintln!(
            "evicting: a thread writes every cache line of {mebibytes} MiB, round after round \
             (it evicts only if its core shares the L3 with the measurement's)"
        );
        CacheEvictor {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for CacheEvictor {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Command-line options (each command uses the ones it needs).
pub struct Options {
    engines: Vec<EngineKind>,
    rounds: usize,
    target: Duration,
    /// Name prefixes of the programs to run (`--only a,b`); `None` for all.
    only: Option<Vec<String>>,
    input: String,
    contended: String,
    out: Option<String>,
    seconds: u64,
    seed: u64,
    table: Option<CostTable>,
    /// Mebibytes a cache-evicting thread keeps writing during the command (0: none).
    evict_l3_mib: usize,
    /// `measure --keep-slowest`: merge into `--out` keeping each figure's slower run.
    keep_slowest: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            engines: EngineKind::ALL.to_vec(),
            rounds: 5,
            target: Duration::from_millis(8),
            only: None,
            input: RAW.to_string(),
            contended: CONTENDED.to_string(),
            out: None,
            seconds: 60,
            seed: 1,
            table: None,
            evict_l3_mib: 0,
            keep_slowest: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--engines" | "--engine" => {
                    options.engines = value()?
                        .split(',')
                        .map(|k| EngineKind::from_key(k).with_context(|| format!("engine {k}")))
                        .collect::<Result<_>>()?
                }
                "--rounds" => options.rounds = value()?.parse()?,
                "--ms" => options.target = Duration::from_millis(value()?.parse()?),
                "--only" => options.only = Some(value()?.split(',').map(str::to_string).collect()),
                "--in" => options.input = value()?.clone(),
                "--contended" => options.contended = value()?.clone(),
                "--out" => options.out = Some(value()?.clone()),
                "--seconds" => options.seconds = value()?.parse()?,
                "--seed" => options.seed = value()?.parse()?,
                "--evict-l3" => options.evict_l3_mib = value()?.parse()?,
                "--keep-slowest" => options.keep_slowest = true,
                "--table" => {
                    let name = value()?;
                    options.table = Some(
                        CostTable::by_name_or_version(name)
                            .with_context(|| format!("no cost table named {name:?}"))?,
                    )
                }
                other => bail!("unknown option {other:?}"),
            }
        }
        Ok(options)
    }

    /// Whether `--only` selects the program named `name`.
    fn selects(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|prefixes| prefixes.iter().any(|p| name.starts_with(p.as_str())))
    }
}

fn measure(options: &Options) -> Result<()> {
    let base = rw_base()?;
    let mut runners = Runners::new(&options.engines)?;
    let gadgets: Vec<Gadget> = programs::all()
        .into_iter()
        .filter(|g| options.selects(&g.name))
        .collect();
    let load_before = load_average();
    let mut cases = Vec::new();
    for (i, gadget) in gadgets.iter().enumerate() {
        let mut ns = serde_json::Map::new();
        for &engine in &options.engines {
            match time_gadget(
                &mut runners,
                engine,
                gadget,
                base,
                options.rounds,
                options.target,
            ) {
                Ok(t) => {
                    ns.insert(
                        engine.key().to_string(),
                        json!({"min": round3(t.ns_min), "median": round3(t.ns_median)}),
                    );
                }
                Err(e) => eprintln!("{} on {}: {e:#}", gadget.name, engine.key()),
            }
        }
        eprintln!(
            "[{}/{}] {} {}",
            i + 1,
            gadgets.len(),
            gadget.name,
            Value::Object(ns.clone())
        );
        cases.push(json!({
            "name": gadget.name,
            "opcode": gadget.opcode.map(|o| o.name()),
            "others": gadget.others.iter().map(|o| o.name()).collect::<Vec<_>>(),
            "heap": gadget.heap,
            "ns": ns,
        }));
    }
    let raw = json!({
        "what": "ns per unit (instruction, page or byte) of each gas-model program: min and median over interleaved rounds of (large - small) / iterations",
        "command": format!("cargo run --release -p pvm-benchmarking --bin gas-model -- measure {}", std::env::args().skip(2).collect::<Vec<_>>().join(" ")),
        "date": utc_date_time(SystemTime::now()),
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_average(),
        "rounds": options.rounds,
        "cases": cases,
    });
    let out = options.out.clone().unwrap_or_else(|| RAW.to_string());
    merge_write(&out, raw, options.only.is_some(), options.keep_slowest)?;
    eprintln!("wrote {out}");
    Ok(())
}

/// Writes `raw` to `path`; with `partial`, replaces only the cases it has in what is there;
/// with `keep_slowest` as well, keeps an engine's figures of a case where they are slower
/// (by median) than this run's, and lists this run beside the earlier ones (`runs`).
fn merge_write(path: &str, mut raw: Value, partial: bool, keep_slowest: bool) -> Result<()> {
    let run = |raw: &Value| json!({"command": raw["command"], "date": raw["date"], "load_before": raw["load_before"], "load_after": raw["load_after"]});
    if partial {
        if let Ok(text) = std::fs::read_to_string(path) {
            let mut old: Value = serde_json::from_str(&text)?;
            let new_cases = raw["cases"].as_array().cloned().unwrap_or_default();
            let cases = old["cases"].as_array_mut().context("cases")?;
            for case in new_cases {
                match cases.iter_mut().find(|c| c["name"] == case["name"]) {
                    Some(slot) => {
                        // Keep figures of engines this run did not measure.
                        let mut merged = slot["ns"].as_object().cloned().unwrap_or_default();
                        for (k, v) in case["ns"].as_object().cloned().unwrap_or_default() {
                            let median = |v: &Value| v["median"].as_f64().unwrap_or(0.0);
                            if keep_slowest
                                && merged.get(&k).is_some_and(|o| median(o) >= median(&v))
                            {
                                continue;
                            }
                            merged.insert(k, v);
                        }
                        *slot = case;
                        slot["ns"] = Value::Object(merged);
                    }
                    None => cases.push(case),
                }
            }
            if keep_slowest {
                let mut runs = old["runs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![run(&old)]);
                runs.push(run(&raw));
                old["runs"] = Value::Array(runs);
                old["what"] =
                    json!("the slowest (by median) of several measurements per program: see runs");
            }
            raw = old;
        }
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&raw)? + "\n")?;
    Ok(())
}

fn machine() -> String {
    format!(
        "{}, {} threads",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The raw figures: for each case, ns per unit by engine (the minimum over rounds).
#[derive(Clone)]
pub struct Raw {
    pub cases: Vec<RawCase>,
}

impl Raw {
    /// Takes each figure of `other` that is slower than this one's, and its cases that
    /// this one lacks.
    pub fn keep_slowest(&mut self, other: &Raw) {
        for theirs in &other.cases {
            match self.cases.iter_mut().find(|c| c.name == theirs.name) {
                Some(ours) => {
                    for (&engine, &ns) in &theirs.ns {
                        let slot = ours.ns.entry(engine).or_insert(ns);
                        *slot = slot.max(ns);
                    }
                }
                None => self.cases.push(theirs.clone()),
            }
        }
    }
}

#[derive(Clone)]
pub struct RawCase {
    pub name: String,
    pub opcode: Option<Opcode>,
    pub others: Vec<Opcode>,
    pub ns: BTreeMap<&'static str, f64>,
}

pub fn read_raw(path: &str) -> Result<Raw> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let value: Value = serde_json::from_str(&text)?;
    let mut cases = Vec::new();
    for case in value["cases"].as_array().context("cases")? {
        let mut ns = BTreeMap::new();
        // Memory latency depends on what else uses the shared caches: the tiers take the
        // median of the rounds (a cache-missing walk is slower under load, and a validator
        // is not alone on its caches either); everything else the minimum.
        let name = case["name"].as_str().unwrap_or_default();
        let statistic = if is_tier_case(name) { "median" } else { "min" };
        for engine in EngineKind::ALL {
            let figures = &case["ns"][engine.key()];
            if let Some(x) = figures[statistic].as_f64() {
                ns.insert(engine.key(), x.max(figures["min"].as_f64().unwrap_or(0.0)));
            }
        }
        cases.push(RawCase {
            name: case["name"].as_str().context("name")?.to_string(),
            opcode: case["opcode"].as_str().and_then(Opcode::from_name),
            others: case["others"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.as_str().and_then(Opcode::from_name))
                        .collect()
                })
                .unwrap_or_default(),
            ns,
        });
    }
    Ok(Raw { cases })
}

/// Gas of the median opcode: costs are whole numbers, so a finer unit rounds less (an
/// opcode at 1.1 units would cost 2, nearly twice its time, with a unit of one opcode).
pub const GAS_PER_TYPICAL_OPCODE: u32 = 4;

/// Safety margin of the recommended `ref_time` per gas over the worst measured case.
pub const MARGIN: f64 = 1.25;

/// Extra margin of the memory tiers' surcharges and of the page cost: a cache-missing
/// walk's latency depends on what else uses the shared caches, and moved by a fifth between
/// two quiet runs here (the JIT's 64 KiB walk: 2.87 ns, then 3.42 ns an hour and a half
/// later); growing memory inside the runtime moved as much between `measure` and `check`.
/// Both more than `MARGIN` alone would absorb.
pub const MEMORY_MARGIN: f64 = 1.25;

/// The derived table, before it is written as source.
pub struct Derived {
    pub costs: BTreeMap<Opcode, u32>,
    pub invalid: u32,
    pub memset_byte: u32,
    pub page: u32,
    pub tiers: Vec<(u64, u32)>,
    /// ns per gas unit per engine (the unit each engine's costs are relative to).
    pub unit: BTreeMap<&'static str, f64>,
    /// Each opcode's fastest attributed time per engine (ns): its throughput where a
    /// program measures that, a mispredict for conditional branches.
    pub fastest: BTreeMap<(&'static str, Opcode), f64>,
}

fn is_tier_case(name: &str) -> bool {
    name.starts_with("load/chase/") || name.starts_with("store/scattered/")
}

/// Derives a table in the shape of `shape`'s engines from the raw figures: per engine, each
/// opcode's time (its slowest case, less the other instructions of that case at their own
/// fastest); an engine's unit is the median opcode time over [`GAS_PER_TYPICAL_OPCODE`]; an
/// opcode costs its time in units on the engine of `shape` where that is most (at least 1).
/// The tiers price a load or store's miss over the L1 access the opcode's own cost covers.
/// `bounded` engines do not shape the table but bound it in absolute time: an opcode or
/// case costs at least their time in the shape's smallest unit, so the table's
/// `ref_time` on them is no higher than on its own engines where that is cheap (the JIT's
/// `sbrk` exits to the host and takes longer than the interpreter's). With `dram`, the
/// tiers beyond its bound are priced at least as the slowest access measured beyond it,
/// in `raw` or in its contended figures ([`TableSpec::dram_above`]).
pub fn derive(
    raw: &Raw,
    shape: &[EngineKind],
    bounded: &[EngineKind],
    dram: Option<(u64, &Raw)>,
) -> Result<Derived> {
    let measured = |k: &&'static str| raw.cases.iter().any(|c| c.ns.contains_key(k));
    let engines: Vec<&'static str> = shape.iter().map(|e| e.key()).filter(measured).collect();
    let bounded: Vec<&'static str> = bounded.iter().map(|e| e.key()).filter(measured).collect();
    let all_engines: Vec<&'static str> = engines.iter().chain(&bounded).copied().collect();
    // Each opcode's fastest case per engine (for subtracting) and attributed time. An
    // instruction in another case's body may sit on that case's dependency chain, so the
    // independent loads' rate is not subtracted (it only bounds the throughput floor).
    let mut fastest: BTreeMap<(&str, Opcode), f64> = BTreeMap::new();
    for case in &raw.cases {
        if let Some(op) = case
            .opcode
            .filter(|_| !is_tier_case(&case.name) && !case.name.ends_with("/l1-independent"))
        {
            for (&e, &ns) in &case.ns {
                let slot = fastest.entry((e, op)).or_insert(f64::MAX);
                *slot = slot.min(ns);
            }
        }
    }
    let gadgets = programs::all();
    let attributed = |case: &RawCase, e: &str| -> Option<f64> {
        let ns = *case.ns.get(e)?;
        // `others` are per body copy; the figures are per unit.
        let units = gadgets
            .iter()
            .find(|g| g.name == case.name)
            .map_or(1, |g| g.units) as f64;
        let others: f64 = case
            .others
            .iter()
            .map(|o| fastest.get(&(e, *o)).copied().unwrap_or(0.0))
            .sum::<f64>()
            / units;
        Some((ns - others).max(ns * 0.1))
    };
    let mut time: BTreeMap<(&str, Opcode), f64> = BTreeMap::new();
    let mut fastest_attributed: BTreeMap<(&'static str, Opcode), f64> = BTreeMap::new();
    for case in &raw.cases {
        if let Some(op) = case.opcode.filter(|_| !is_tier_case(&case.name)) {
            for &e in &all_engines {
                if let Some(t) = attributed(case, e) {
                    let slot = time.entry((e, op)).or_insert(0.0);
                    *slot = slot.max(t);
                    let slot = fastest_attributed.entry((e, op)).or_insert(f64::MAX);
                    *slot = slot.min(t);
                }
            }
        }
    }
    let mut unit = BTreeMap::new();
    for &e in &engines {
        let mut times: Vec<f64> = time
            .iter()
            .filter(|((k, _), _)| *k == e)
            .map(|(_, &t)| t)
            .collect();
        if times.is_empty() {
            bail!("no figures for {e}");
        }
        times.sort_by(f64::total_cmp);
        unit.insert(
            e,
            times[times.len() / 2] / f64::from(GAS_PER_TYPICAL_OPCODE),
        );
    }
    let smallest_unit = engines.iter().map(|e| unit[e]).fold(f64::MAX, f64::min);
    let in_units = |e: &str, ns: f64| ns / unit.get(e).copied().unwrap_or(smallest_unit);
    let cost_of = |op: Opcode| -> Option<u32> {
        let worst = all_engines
            .iter()
            .filter_map(|&e| time.get(&(e, op)).map(|&t| in_units(e, t)))
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))))?;
        Some((worst.ceil() as u32).max(1))
    };
    let units_in = |raw: &Raw, name: &str| -> Option<f64> {
        let case = raw.cases.iter().find(|c| c.name == name)?;
        all_engines
            .iter()
            .filter_map(|&e| attributed(case, e).map(|t| in_units(e, t)))
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))))
    };
    // With contended figures, the memory-bound cases (pages, `memset`) cost the slower of
    // their quiet and their contended measurement.
    let case_units = |name: &str| {
        let quiet = units_in(raw, name);
        match dram.and_then(|(_, contended)| units_in(contended, name)) {
            Some(contended) => Some(quiet.map_or(contended, |q| q.max(contended))),
            None => quiet,
        }
    };
    let mut costs = BTreeMap::new();
    for &op in Opcode::ALL {
        if let Some(c) = cost_of(op) {
            costs.insert(op, c);
        }
    }
    let max_of = |ops: &mut dyn Iterator<Item = Opcode>, costs: &BTreeMap<Opcode, u32>| {
        ops.filter_map(|o| costs.get(&o).copied())
            .max()
            .unwrap_or(1)
    };
    let branch_max = max_of(
        &mut Opcode::ALL
            .iter()
            .copied()
            .filter(|o| o.flow() == Flow::Branch),
        &costs,
    );
    let indirect = costs
        .get(&Opcode::JumpIndirect)
        .copied()
        .unwrap_or(branch_max);
    let page =
        (case_units("page/sbrk+touch").context("the page case")? * MEMORY_MARGIN).ceil() as u32;
    let memset_byte = (case_units("memset/bytes")
        .context("the memset case")?
        .ceil() as u32)
        .max(1);
    let max_plain = max_of(
        &mut Opcode::ALL
            .iter()
            .copied()
            .filter(|o| o.flow() == Flow::Plain && !o.accesses_memory()),
        &costs,
    );
    for &op in Opcode::ALL {
        if costs.contains_key(&op) {
            continue;
        }
        // What no program measures on its own is priced like what it does: a direct jump
        // like the dearest branch, an indirect one like the measured dynamic jump, an exit
        // to the host (`trap`, `ecalli`; the host call itself is the pallet's weight) like a
        // dynamic jump, `sbrk` like the page case (it exits to the host), `memset`'s
        // instruction like a dynamic jump (its bytes are charged apart).
        let cost = match op {
            Opcode::Jump | Opcode::LoadImmAndJump => branch_max,
            Opcode::JumpIndirect
            | Opcode::LoadImmAndJumpIndirect
            | Opcode::Trap
            | Opcode::Ecalli
            | Opcode::Memset => indirect,
            _ if op.format() == Format::RegRegImmImm => max_plain,
            _ => max_plain,
        };
        costs.insert(op, cost);
    }
    // Tiers: the surcharge of the tier whose bound is S is the slowest access over S,
    // less what the opcode's own cost covers; never falling as memory grows.
    let tier_extra = |raw: &Raw, bound: u64| -> f64 {
        let mut extra = 0.0f64;
        for (name, op) in [
            (
                format!("load/chase/{}", programs::size_name(bound)),
                Opcode::LoadIndirectU64,
            ),
            (
                format!("store/scattered/{}", programs::size_name(bound)),
                Opcode::StoreIndirectU64,
            ),
        ] {
            if let Some(u) = units_in(raw, &name) {
                extra = extra.max(u - f64::from(costs[&op]));
            }
        }
        extra
    };
    // With contended figures, every tier takes the slower of its quiet and its contended
    // walk, and beyond the private cache the slowest access measured at any size beyond
    // it, quiet or contended.
    let dram_extra = match dram {
        Some((above, contended)) => {
            let beyond = programs::TIER_SIZES.iter().filter(|&&b| b > above);
            let extra = beyond
                .flat_map(|&b| [tier_extra(raw, b), tier_extra(contended, b)])
                .fold(0.0f64, f64::max);
            if extra == 0.0 {
                bail!("no tier beyond {above} bytes measured, quiet or contended");
            }
            extra
        }
        None => 0.0,
    };
    let mut tiers = Vec::new();
    let mut surcharge = 0u32;
    for (i, &bound) in programs::TIER_SIZES.iter().enumerate() {
        let mut extra = tier_extra(raw, bound);
        if let Some((above, contended)) = dram {
            extra = extra.max(tier_extra(contended, bound));
            if bound > above {
                extra = extra.max(dram_extra);
            }
        }
        surcharge = surcharge.max((extra.max(0.0) * MEMORY_MARGIN).ceil() as u32);
        let up_to = if i + 1 == programs::TIER_SIZES.len() {
            u64::MAX
        } else {
            bound
        };
        tiers.push((up_to, surcharge));
    }
    Ok(Derived {
        costs,
        invalid: indirect,
        memset_byte,
        page,
        tiers,
        unit,
        fastest: fastest_attributed,
    })
}

fn generate(options: &Options) -> Result<()> {
    let raw = read_raw(&options.input)?;
    let contended = read_raw(&options.contended)?;
    let base = rw_base()?;
    let mut runners = Runners::new(&[EngineKind::Interpreter])?;
    for spec in &TABLES {
        let mut inputs: Vec<&str> = vec![&options.input];
        if spec.dram_above.is_some() {
            inputs.push(&options.contended);
        }
        inputs.extend(spec.also_measured_on);
        let mut raw = std::borrow::Cow::Borrowed(&raw);
        for other in spec.also_measured_on {
            raw.to_mut().keep_slowest(&read_raw(other)?);
        }
        generate_table(&raw, &contended, spec, base, &mut runners, &inputs)?;
    }
    Ok(())
}

fn generate_table(
    raw: &Raw,
    contended: &Raw,
    spec: &TableSpec,
    base: u32,
    runners: &mut Runners,
    inputs: &[&str],
) -> Result<()> {
    let dram = spec.dram_above.map(|above| (above, contended));
    let derived = derive(raw, spec.engines, spec.bounded, dram)?;
    // The recommended ref_time per gas: every case's time over the gas the new table
    // charges it, the worst per engine (every engine, not only the table's own), with the
    // margin; the contended figures count for the tables priced by them.
    let table = table_from(&derived, None);
    let mut worst: BTreeMap<&'static str, (f64, String)> = BTreeMap::new();
    let sources: &[&Raw] = match dram {
        Some(_) => &[raw, contended],
        None => &[raw],
    };
    for gadget in programs::all() {
        if !spec.covers_mixes && gadget.name.starts_with(programs::MIX_PREFIX) {
            continue;
        }
        let mut cases = sources
            .iter()
            .flat_map(|r| r.cases.iter().filter(|c| c.name == gadget.name))
            .peekable();
        if cases.peek().is_none() {
            continue;
        }
        let gas = gas_per_unit(runners, &gadget, base, &table)?;
        for case in cases {
            for (&e, &ns) in &case.ns {
                let per_gas = ns / gas;
                let slot = worst.entry(e).or_insert((0.0, String::new()));
                if per_gas > slot.0 {
                    *slot = (per_gas, gadget.name.clone());
                }
            }
        }
    }
    let mut ps = BTreeMap::new();
    for (e, (per_gas, name)) in &worst {
        let recommended = (per_gas * MARGIN * 1000.0).ceil() as u64;
        eprintln!(
            "{} (version {}): {e}: worst case {name} at {per_gas:.3} ns per gas: {recommended} ps per gas",
            spec.name, spec.version
        );
        ps.insert(*e, recommended);
    }
    let source = render(spec.name, &derived, &ps, inputs);
    std::fs::write(spec.source, source)?;
    eprintln!("wrote {}", spec.source);
    Ok(())
}

/// A `CostTable` with the derived figures (version 2's shape), for computing gas.
pub fn table_from(derived: &Derived, ps: Option<pvm_core::gas::RefTimePerGas>) -> CostTable {
    let tiers: Vec<pvm_core::gas::MemoryTier> = derived
        .tiers
        .iter()
        .map(|&(up_to, access)| pvm_core::gas::MemoryTier { up_to, access })
        .collect();
    let mut costs = [1u32; Opcode::ALL.len()];
    for (op, c) in &derived.costs {
        costs[op.index()] = *c;
    }
    CostTable {
        version: u32::MAX,
        name: "derived",
        costs,
        invalid: derived.invalid,
        memset_byte: derived.memset_byte,
        page: derived.page,
        memory_tiers: Box::leak(tiers.into_boxed_slice()),
        // The rule of versions 6 and 7 only adds gas, so a recommendation derived
        // without it (the time per gas of the worst program) covers them too.
        memset_pays_access: false,
        ref_time_ps_per_gas: ps,
    }
}

fn render(
    name: &str,
    derived: &Derived,
    ps: &BTreeMap<&'static str, u64>,
    inputs: &[&str],
) -> String {
    let mut s = String::new();
    s.push_str("//! Generated by `gas-model generate` (benchmarking) from `");
    s.push_str(&inputs.join("` and `"));
    s.push_str("`; do not edit:\n//! rerun it instead (README \"Gas\").\n\n");
    s.push_str("use super::{Generated, MemoryTier, RefTimePerGas};\nuse crate::isa::Opcode;\n\n");
    s.push_str("pub(super) const TABLE: Generated = Generated {\n");
    s.push_str(&format!("    name: \"{name}\",\n"));
    s.push_str(&format!("    invalid: {},\n", derived.invalid));
    s.push_str(&format!("    memset_byte: {},\n", derived.memset_byte));
    s.push_str(&format!("    page: {},\n", derived.page));
    s.push_str("    memory_tiers: &[\n");
    for (up_to, access) in &derived.tiers {
        let bound = if *up_to == u64::MAX {
            "u64::MAX".to_string()
        } else {
            up_to.to_string()
        };
        s.push_str(&format!(
            "        MemoryTier {{\n            up_to: {bound},\n            access: {access},\n        }},\n"
        ));
    }
    s.push_str("    ],\n");
    s.push_str("    ref_time_ps_per_gas: RefTimePerGas {\n");
    for e in EngineKind::ALL {
        s.push_str(&format!(
            "        {}: {},\n",
            e.key(),
            ps.get(e.key()).copied().unwrap_or(0)
        ));
    }
    s.push_str("    },\n");
    s.push_str("    costs: &[\n");
    for &op in Opcode::ALL {
        s.push_str(&format!(
            "        (Opcode::{op:?}, {}),\n",
            derived.costs[&op]
        ));
    }
    s.push_str("    ],\n};\n");
    s
}

/// The recommended `ref_time` per gas of the measured table for `engine`, in ps.
fn ps_per_gas(table: &CostTable, engine: EngineKind) -> Result<u64> {
    let ps = table
        .ref_time_ps_per_gas
        .context("the table recommends no ref_time")?;
    Ok(match engine {
        EngineKind::Interpreter => ps.interpreter,
        EngineKind::Jit => ps.jit,
        EngineKind::InRuntime => ps.in_runtime,
    })
}

const REGRESSION: &str = "benchmarking/gas-model/regression.json";

/// Charged time over measured time (below 1: undercharged) for the real-code corpus,
/// the regression programs and every measured program, per engine.
fn check(options: &Options) -> Result<()> {
    use pvm_contracts_examples::corpus::CORPUS;
    use pvm_core::{Interrupt, Reg};
    let base = rw_base()?;
    let mut runners = Runners::new(&options.engines)?;
    let mut report = Vec::new();
    let mut worst = f64::MAX;
    println!("load: {}", load_average());
    for &engine in &options.engines {
        let table = options.table.clone().unwrap_or_else(|| own_table(engine));
        let ps = ps_per_gas(&table, engine)?;
        println!(
            "== {} (table {}, {ps} ps per gas)",
            engine.key(),
            table.name
        );
        // The corpus: its programs are not contracts, so natively only.
        if engine != EngineKind::InRuntime {
            let backend = match engine {
                EngineKind::Jit => pvm_core::BackendKind::Jit,
                _ => pvm_core::BackendKind::Interpreter,
            };
            let config = pvm_core::Config {
                backend,
                sandbox: pvm_core::SandboxConfig {
                    kind: pvm_core::SandboxKind::Generic,
                    ..Default::default()
                },
                ..Default::default()
            };
            let vm = pvm_core::Engine::new(&config)?;
            let module_config = pvm_core::ModuleConfig {
                cost_table: table.clone(),
                ..Default::default()
            };
            let own_shape = derive(&read_raw(RAW)?, &[engine], &[], None)?;
            let branch_ns = mispredicted_branch_ns(&own_shape, engine)?;
            let throughput = throughput_table(&own_shape, engine);
            let mut ratios = Vec::new();
            let mut floors = Vec::new();
            let mut throughput_floors = Vec::new();
            for program in CORPUS {
                let module = pvm_core::Module::new(&vm, &module_config, program.latest64.bytes)?;
                for call in program.exec {
                    let branches = conditional_branches(program.latest64.bytes, call)?;
                    let throughput_ps = gas_of(&throughput, program.latest64.bytes, call)?;
                    let mut times = Vec::new();
                    let mut gas = 0;
                    for _ in 0..options.rounds {
                        let mut instance = module.instantiate()?;
                        instance.prepare_call_export(call.export, &[u64::from(call.arg)])?;
                        let start_gas = i64::MAX / 2;
                        instance.set_gas(start_gas);
                        let start = pvm_benchmarking::gas_model::thread_cpu_time();
                        let interrupt = instance.run()?;
                        times.push(pvm_benchmarking::gas_model::thread_cpu_time() - start);
                        if interrupt != Interrupt::Finished
                            || instance.reg(Reg::A0) != call.expected
                        {
                            bail!("{} {}: {interrupt:?}", program.name, call.export);
                        }
                        gas = u64::try_from(start_gas - instance.gas())?;
                    }
                    times.sort();
                    let ns = times[0].as_secs_f64() * 1e9;
                    let ratio = gas as f64 * ps as f64 / 1000.0 / ns;
                    let floor = branches as f64 * branch_ns / ns;
                    let throughput_floor = throughput_ps as f64 / 1000.0 / ns;
                    println!(
                        "corpus {:<10} {:<12} gas {gas:>12} measured {:>9.3} ms  {:>6.3} ns/gas  charged/measured {ratio:.2}  floor {floor:.2}  throughput floor {throughput_floor:.2}",
                        program.name, call.export, ns / 1e6, ns / gas as f64
                    );
                    worst = worst.min(ratio);
                    ratios.push(ratio);
                    floors.push(floor);
                    throughput_floors.push(throughput_floor);
                    report.push(json!({"engine": engine.key(), "table": table.name, "kind": "corpus", "name": format!("{}/{}", program.name, call.export), "gas": gas, "ns": ns, "charged_over_measured": ratio, "conditional_branches": branches, "floor": floor, "throughput_floor": throughput_floor}));
                }
            }
            ratios.sort_by(f64::total_cmp);
            floors.sort_by(f64::total_cmp);
            throughput_floors.sort_by(f64::total_cmp);
            println!(
                "corpus median throughput floor on {} (every instruction at its fastest measured time, conditional branches at a mispredict, no cache miss: what any schedule fixed before the run and safe against a repeated block charges at least): {:.2}",
                engine.key(),
                throughput_floors[throughput_floors.len() / 2]
            );
            println!(
                "corpus median floor on {} (conditional branches at {branch_ns:.2} ns, a mispredicted branch's time: what any table safe against random branches charges at least): {:.2}",
                engine.key(),
                floors[floors.len() / 2]
            );
            println!(
                "corpus median charged/measured on {}: {:.2} (min {:.2}, max {:.2})",
                engine.key(),
                ratios[ratios.len() / 2],
                ratios[0],
                ratios[ratios.len() - 1]
            );
        }
        // The regression programs (the search's worst) and every measured program.
        let mut gadgets = Vec::new();
        if let Ok(text) = std::fs::read_to_string(REGRESSION) {
            let value: Value = serde_json::from_str(&text)?;
            for entry in value.as_array().into_iter().flatten() {
                gadgets.extend(pvm_benchmarking::gas_model::search::gadget_from_json(entry));
            }
        }
        gadgets.extend(
            programs::all()
                .into_iter()
                .filter(|g| options.selects(&g.name)),
        );
        let mut lowest = (f64::MAX, String::new());
        for gadget in gadgets {
            let gas = gas_per_unit(&mut runners, &gadget, base, &table)?;
            let t = match time_gadget(
                &mut runners,
                engine,
                &gadget,
                base,
                options.rounds,
                options.target,
            ) {
                Ok(t) => t,
                // Beyond the pallet's memory limit a program cannot run in the runtime
                // (nor can an adversary's).
                Err(e) if engine == EngineKind::InRuntime => {
                    println!("skipped {} on {}: {e}", gadget.name, engine.key());
                    continue;
                }
                Err(e) => return Err(e),
            };
            let ratio = gas * ps as f64 / 1000.0 / t.ns_min;
            if !programs::all().iter().any(|g| g.name == gadget.name) {
                println!("regression {:<40} {:.3} ns per iteration, {gas} gas: charged/measured {ratio:.2}", gadget.name, t.ns_min);
            }
            if ratio < lowest.0 {
                lowest = (ratio, gadget.name.clone());
            }
            report.push(json!({"engine": engine.key(), "table": table.name, "kind": "program", "name": gadget.name, "gas_per_unit": gas, "ns_per_unit": t.ns_min, "charged_over_measured": ratio}));
        }
        println!(
            "lowest charged/measured of the programs on {}: {:.2} ({})",
            engine.key(),
            lowest.0,
            lowest.1
        );
        worst = worst.min(lowest.0);
    }
    println!(
        "lowest charged/measured overall: {worst:.2} ({})",
        if worst >= 1.0 {
            "never undercharged"
        } else {
            "UNDERCHARGED"
        }
    );
    if let Some(out) = &options.out {
        std::fs::write(
            out,
            serde_json::to_string_pretty(
                &json!({"date": utc_date_time(SystemTime::now()), "load": load_average(), "machine": machine(), "rows": report}),
            )? + "\n",
        )?;
    }
    Ok(())
}

/// A lower bound of a mispredicted conditional branch's time on `engine` from the raw
/// figures: the cheapest conditional branch of the table derived in that engine's shape,
/// less the unit its cost was rounded up by.
fn mispredicted_branch_ns(derived: &Derived, engine: EngineKind) -> Result<f64> {
    let cheapest = Opcode::ALL
        .iter()
        .filter(|op| op.flow() == Flow::Branch && **op != Opcode::Fallthrough)
        .filter_map(|op| derived.costs.get(op))
        .min()
        .context("no conditional branch measured")?;
    Ok(f64::from(cheapest.saturating_sub(1)) * derived.unit[engine.key()])
}

/// A table charging every opcode its fastest measured time on `engine` in ps (its
/// throughput; a mispredict for conditional branches) and nothing else: its gas is a lower
/// bound, in ps, of what any schedule safe on that engine charges a program.
fn throughput_table(derived: &Derived, engine: EngineKind) -> CostTable {
    let mut table = CostTable::naive();
    table.name = "throughput";
    table.costs = [0; Opcode::ALL.len()];
    table.invalid = 0;
    table.memset_byte = 0;
    for op in Opcode::ALL {
        if let Some(ns) = derived.fastest.get(&(engine.key(), *op)) {
            table.costs[op.index()] = (ns * 1000.0).floor() as u32;
        }
    }
    table
}

/// How many conditional branches `call` of a corpus program executes (gas under a table
/// that charges them 1 and nothing else).
fn conditional_branches(blob: &[u8], call: &pvm_contracts_examples::corpus::Call) -> Result<u64> {
    let mut counting = CostTable::naive();
    counting.costs = [0; Opcode::ALL.len()];
    counting.invalid = 0;
    counting.memset_byte = 0;
    for op in Opcode::ALL {
        if op.flow() == Flow::Branch && *op != Opcode::Fallthrough {
            counting.costs[op.index()] = 1;
        }
    }
    gas_of(&counting, blob, call)
}

/// The gas `call` of a corpus program uses under `table`.
fn gas_of(
    table: &CostTable,
    blob: &[u8],
    call: &pvm_contracts_examples::corpus::Call,
) -> Result<u64> {
    let engine = pvm_core::Engine::new(&pvm_core::Config::default())?;
    let config = pvm_core::ModuleConfig {
        cost_table: table.clone(),
        ..Default::default()
    };
    let module = pvm_core::Module::new(&engine, &config, blob)?;
    let mut instance = module.instantiate()?;
    instance.prepare_call_export(call.export, &[u64::from(call.arg)])?;
    let start_gas = i64::MAX / 2;
    instance.set_gas(start_gas);
    instance.run()?;
    Ok(u64::try_from(start_gas - instance.gas())?)
}

/// Hill-climbs for the program with the most time per charged gas on one engine; adds
/// the best to the regression set as `search-worst-<engine>-seed-<seed>`, beside the
/// finds of earlier searches (a rerun with the same seed replaces its own entry only):
/// a worst case found on one machine must stay checked on every other.
fn search(options: &Options) -> Result<()> {
    use pvm_benchmarking::gas_model::search;
    let &[engine] = options.engines.as_slice() else {
        bail!("search takes one --engine");
    };
    let table = options.table.clone().unwrap_or_else(|| own_table(engine));
    let ps = ps_per_gas(&table, engine)?;
    let mut runners = Runners::new(&[engine])?;
    let started = std::time::Instant::now();
    let (genome, fit, evaluations) = search::search(
        &mut runners,
        engine,
        &table,
        ps,
        options.seconds,
        options.seed,
    )?;
    println!(
        "{}: searched {:.0} s, {evaluations} programs; worst {fit:.3} of charged time: {:?}, heap {}",
        engine.key(),
        started.elapsed().as_secs_f64(),
        genome.genes,
        genome.heap
    );
    let name = format!("search-worst-{}-seed-{}", engine.key(), options.seed);
    let mut entries: Vec<Value> = std::fs::read_to_string(REGRESSION)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    entries.retain(|e| e["name"] != name.as_str());
    let mut entry = genome.to_json(&name);
    entry["found"] = json!({
        "seconds": started.elapsed().as_secs(),
        "evaluations": evaluations,
        "seed": options.seed,
        "measured_over_charged": fit,
        "load": load_average(),
    });
    entries.push(entry);
    std::fs::write(REGRESSION, serde_json::to_string_pretty(&entries)? + "\n")?;
    Ok(())
}
