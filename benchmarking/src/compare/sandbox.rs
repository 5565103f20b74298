//! What the Linux process sandbox costs, against polkavm 0.37's Linux sandbox
//! (`compare-sandbox`): the `ecalli` round trip, instantiating on a warm worker pool, and
//! the memory an idle worker holds. (Execution time on the compute guests reuses
//! [`run::measure`](super::run::measure).)
//!
//! Every measurement alternates between the VMs sample by sample, so drift (frequency
//! scaling, other work on the machine) hits both alike, and reports the minimum and the
//! median.

use super::stats;
use anyhow::{anyhow, bail, Context, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A guest that makes `a0` host calls (`ecalli 0`, import `noop`) in a loop, then returns.
pub fn ecalli_loop_blob() -> Result<Vec<u8>> {
    let source = ".isa latest64\n.stack_size 4096\n.import \"noop\"\n\
        pub @main:\n\
        @loop:\n ecalli 0\n add_imm_64 a0, a0, -1\n branch_not_eq_imm a0, 0, @loop\n\
         jump_indirect ra, 0\n";
    let blob = pvm_core::asm::assemble(source).map_err(|e| anyhow!("ecalli loop: {e}"))?;
    blob.to_bytes()
        .ok_or_else(|| anyhow!("latest64 blobs have a container form"))
}

/// Something that can make `calls` host calls in one guest call; returns the time per
/// round trip.
pub trait RoundTrips {
    /// Runs `main(calls)` answering every `ecalli`; the time per host call.
    fn round_trips(&mut self, calls: u64) -> Result<Duration>;
}

/// A pvm-core instance of [`ecalli_loop_blob`].
pub struct OurLoop(pub pvm_core::Instance);

impl RoundTrips for OurLoop {
    fn round_trips(&mut self, calls: u64) -> Result<Duration> {
        use pvm_core::{Interrupt, Reg};
        let instance = &mut self.0;
        instance.set_gas(1 << 40);
        instance.prepare_call_export("main", &[calls])?;
        let mut seen = 0;
        let start = Instant::now();
        loop {
            match instance.run()? {
                Interrupt::Ecalli(0) => {
                    // What a host function does at least: read an argument, set a result.
                    let argument = instance.reg(Reg::A1);
                    instance.set_reg(Reg::A1, argument.wrapping_add(1));
                    seen += 1;
                }
                Interrupt::Finished => break,
                other => bail!("pvm-core: the ecalli loop stopped with {other:?}"),
            }
        }
        let elapsed = start.elapsed();
        if seen != calls {
            bail!("pvm-core: {seen} host calls, expected {calls}");
        }
        Ok(elapsed / u32::try_from(calls.max(1)).unwrap_or(u32::MAX))
    }
}

/// A counter alone on its cache lines (the adjacent-line prefetcher pairs lines).
#[repr(align(128))]
struct Line(AtomicU64);

/// Two threads of this process bouncing one cache line, a round trip per "call": the
/// sender writes the next number and spins until the echo thread, spinning on the line
/// on another CPU, writes it back plus one. Any sandbox whose host answers an `ecalli`
/// moves at least one line each way between the two cores, so this is the floor under
/// every Linux-sandbox row of the same run (a reference row). The echo thread sleeps on a
/// channel between samples, so it takes no CPU from the other contenders.
pub struct CacheLineFloor {
    line: Arc<Line>,
    samples: Option<mpsc::Sender<(u64, u64)>>,
    echo: Option<JoinHandle<()>>,
}

/// Spins (a bare load loop: the fastest way to see the line change) until `line` holds
/// `value`; yields now and then in case the other thread shares this CPU.
#[inline(always)]
fn wait_for(line: &Line, value: u64) {
    let mut turns = 0u32;
    while line.0.load(Ordering::Acquire) != value {
        turns = turns.wrapping_add(1);
        if turns.is_multiple_of(1 << 20) {
            std::thread::yield_now();
        }
    }
}

impl CacheLineFloor {
    /// Starts the echo thread.
    pub fn new() -> CacheLineFloor {
        let line = Arc::new(Line(AtomicU64::new(0)));
        let (samples, requests) = mpsc::channel::<(u64, u64)>();
        let other = Arc::clone(&line);
        let echo = std::thread::spawn(move || {
            while let Ok((base, calls)) = requests.recv() {
                // Here: the sender starts its clock when it sees this.
                other.0.store(base + 1, Ordering::Release);
                let mut expected = base + 2;
                for _ in 0..calls {
                    wait_for(&other, expected);
                    other.0.store(expected + 1, Ordering::Release);
                    expected += 2;
                }
            }
        });
        CacheLineFloor {
            line,
            samples: Some(samples),
            echo: Some(echo),
        }
    }
}

impl Default for CacheLineFloor {
    fn default() -> Self {
        CacheLineFloor::new()
    }
}

impl RoundTrips for CacheLineFloor {
    fn round_trips(&mut self, calls: u64) -> Result<Duration> {
        let base = self.line.0.load(Ordering::Acquire);
        self.samples
            .as_ref()
            .context("the echo thread is stopped")?
            .send((base, calls))
            .map_err(|_| anyhow!("the echo thread ended"))?;
        wait_for(&self.line, base + 1);
        let start = Instant::now();
        let mut value = base + 2;
        for _ in 0..calls {
            self.line.0.store(value, Ordering::Release);
            wait_for(&self.line, value + 1);
            value += 2;
        }
        Ok(start.elapsed() / u32::try_from(calls.max(1)).unwrap_or(u32::MAX))
    }
}

impl Drop for CacheLineFloor {
    fn drop(&mut self) {
        // Closing the channel ends the echo thread.
        self.samples = None;
        if let Some(echo) = self.echo.take() {
            let _ = echo.join();
        }
    }
}

/// A polkavm instance of [`ecalli_loop_blob`].
pub struct PolkavmLoop {
    /// The instance.
    pub instance: polkavm::RawInstance,
    /// `main`'s program counter.
    pub main: polkavm::ProgramCounter,
}

impl RoundTrips for PolkavmLoop {
    fn round_trips(&mut self, calls: u64) -> Result<Duration> {
        use polkavm::{InterruptKind, Reg};
        let instance = &mut self.instance;
        instance.set_gas(1 << 40);
        instance.prepare_call_untyped(self.main, &[calls]);
        let mut seen = 0;
        let start = Instant::now();
        loop {
            match instance.run().map_err(|e| anyhow!("polkavm: {e}"))? {
                InterruptKind::Ecalli(0) => {
                    let argument = instance.reg(Reg::A1);
                    instance.set_reg(Reg::A1, argument.wrapping_add(1));
                    seen += 1;
                }
                InterruptKind::Finished => break,
                other => bail!("polkavm: the ecalli loop stopped with {other:?}"),
            }
        }
        let elapsed = start.elapsed();
        if seen != calls {
            bail!("polkavm: {seen} host calls, expected {calls}");
        }
        Ok(elapsed / u32::try_from(calls.max(1)).unwrap_or(u32::MAX))
    }
}

/// A pvm-core instance of the ecalli loop on an engine with `config`.
pub fn our_loop(config: &pvm_core::Config) -> Result<OurLoop> {
    let engine = pvm_core::Engine::new(config)?;
    let module = pvm_core::Module::new(
        &engine,
        &pvm_core::ModuleConfig::default(),
        &ecalli_loop_blob()?,
    )?;
    Ok(OurLoop(module.instantiate()?))
}

/// A polkavm instance of the ecalli loop on an engine with `config`.
pub fn polkavm_loop(config: &polkavm::Config) -> Result<PolkavmLoop> {
    let engine = polkavm::Engine::new(config).map_err(|e| anyhow!("polkavm engine: {e}"))?;
    let mut module_config = polkavm::ModuleConfig::new();
    module_config.set_gas_metering(Some(polkavm::GasMeteringKind::Sync));
    let module = polkavm::Module::new(&engine, &module_config, ecalli_loop_blob()?.into())
        .map_err(|e| anyhow!("polkavm compile: {e}"))?;
    let main = module
        .exports()
        .find(|e| e.symbol().as_bytes() == b"main")
        .map(|e| e.program_counter())
        .context("polkavm: no main")?;
    let instance = module
        .instantiate()
        .map_err(|e| anyhow!("polkavm instantiate: {e}"))?;
    Ok(PolkavmLoop { instance, main })
}

/// Samples of several contenders, taken in turns.
pub struct Interleaved {
    /// Per contender, its samples.
    pub samples: Vec<Vec<Duration>>,
}

impl Interleaved {
    /// Takes `rounds` samples of each of `contenders`, one of each per round, rotating who
    /// goes first.
    pub fn measure<T>(
        contenders: &mut [T],
        rounds: usize,
        mut sample: impl FnMut(&mut T) -> Result<Duration>,
    ) -> Result<Interleaved> {
        let count = contenders.len();
        let mut samples = vec![Vec::with_capacity(rounds); count];
        for round in 0..rounds {
            for offset in 0..count {
                let index = (round + offset) % count;
                samples[index].push(sample(&mut contenders[index])?);
            }
        }
        Ok(Interleaved { samples })
    }

    /// The minimum of contender `index`.
    pub fn min(&self, index: usize) -> Duration {
        stats::min(&self.samples[index])
    }

    /// The median of contender `index`.
    pub fn median(&self, index: usize) -> Duration {
        stats::median(&self.samples[index])
    }
}

/// One way of instantiating, for [`Interleaved`]: `instantiate` alone, or with the drop
/// (which gives the worker back) included.
pub trait Instantiate {
    /// Instantiates (timed), then drops the instance, timed only when `with_drop`.
    fn instantiate(&mut self, with_drop: bool) -> Result<Duration>;
}

/// A pvm-core module to instantiate.
pub struct OurModule(pub pvm_core::Module);

impl Instantiate for OurModule {
    fn instantiate(&mut self, with_drop: bool) -> Result<Duration> {
        let start = Instant::now();
        let instance = self.0.instantiate()?;
        let created = start.elapsed();
        drop(instance);
        Ok(if with_drop { start.elapsed() } else { created })
    }
}

/// A polkavm module to instantiate.
pub struct PolkavmModule(pub polkavm::Module);

impl Instantiate for PolkavmModule {
    fn instantiate(&mut self, with_drop: bool) -> Result<Duration> {
        let start = Instant::now();
        let instance = self
            .0
            .instantiate()
            .map_err(|e| anyhow!("polkavm instantiate: {e}"))?;
        let created = start.elapsed();
        drop(instance);
        Ok(if with_drop { start.elapsed() } else { created })
    }
}

/// What `/proc/<pid>/smaps_rollup` says a process holds, in KiB.
#[derive(Copy, Clone, Debug, Default)]
pub struct ProcessMemory {
    /// Resident set.
    pub rss_kib: u64,
    /// Proportional set (shared pages divided among their sharers).
    pub pss_kib: u64,
    /// Private (not shared with any other process) pages, clean and dirty.
    pub private_kib: u64,
}

/// Reads [`ProcessMemory`] of `pid`.
pub fn process_memory(pid: u32) -> Result<ProcessMemory> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcessMemory {
        rss_kib: field("Rss:"),
        pss_kib: field("Pss:"),
        private_kib: field("Private_Clean:") + field("Private_Dirty:"),
    })
}

/// The mean [`ProcessMemory`] over `pids`.
pub fn mean_memory(pids: &[u32]) -> Result<ProcessMemory> {
    if pids.is_empty() {
        bail!("no idle workers to measure");
    }
    let mut total = ProcessMemory::default();
    for &pid in pids {
        let memory = process_memory(pid)?;
        total.rss_kib += memory.rss_kib;
        total.pss_kib += memory.pss_kib;
        total.private_kib += memory.private_kib;
    }
    let count = pids.len() as u64;
    Ok(ProcessMemory {
        rss_kib: total.rss_kib / count,
        pss_kib: total.pss_kib / count,
        private_kib: total.private_kib / count,
    })
}
