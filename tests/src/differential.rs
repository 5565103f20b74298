//! The differential-testing harness: drive two VMs (pvm-core and polkavm 0.37) through the same
//! calls, the same host-call answers and the same gas top-ups, and compare their complete
//! observable state after every interrupt.
//!
//! Both VMs are driven through the [`Vm`] trait. This crate implements it for pvm-core
//! ([`PvmCoreVm`]); the polkavm adapter lives next to the tests (`tests/tests/common`) because
//! polkavm is only a dev-dependency (the CLI links this library and should not pull polkavm in).
//!
//! A [`Snapshot`] records the interrupt, all 13 registers, the gas left, the program counter and
//! the next program counter, the heap size, and the bytes of the read-only data, the read-write
//! data plus heap, and the stack regions. [`Snapshot::compare`] names the first field that differs
//! ([`Divergence`]). [`Differential`] runs both VMs in lockstep and answers host calls through a
//! [`Host`] per VM.

use crate::rng::Rng;
use pvm_core::{Config, Engine, Instance, Interrupt, Module, ModuleConfig, Reg};
use std::fmt;
use std::ops::Range;

/// Why a VM returned control to the host, in a VM-neutral form.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Exit {
    /// The guest returned to the host.
    Finished,
    /// The guest trapped.
    Trap,
    /// The guest called host function `n`.
    Ecalli(u32),
    /// A page fault (never happens with the standard memory layout).
    Segfault {
        /// The faulting page.
        page_address: u32,
    },
    /// Gas ran out before the next basic block (or inside a `memset`).
    NotEnoughGas,
    /// Step tracing.
    Step,
}

/// PolkaVM's standard memory layout, as both VMs report it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MemoryLayout {
    /// Page size.
    pub page_size: u32,
    /// Read-only data (page-aligned size).
    pub ro_data: Range<u32>,
    /// Read-write data before any `sbrk` (page-aligned size).
    pub rw_data: Range<u32>,
    /// The stack.
    pub stack: Range<u32>,
    /// The aux data region.
    pub aux_data: Range<u32>,
    /// First heap byte (the unaligned end of the read-write data).
    pub heap_base: u32,
    /// How far `sbrk` may grow the heap.
    pub max_heap_size: u32,
}

impl MemoryLayout {
    /// pvm-core's view of a layout.
    pub fn from_pvm_core(map: &pvm_core::program::MemoryMap) -> MemoryLayout {
        MemoryLayout {
            page_size: map.page_size,
            ro_data: map.ro_data_address..map.ro_data_address + map.ro_data_size,
            rw_data: map.rw_data_address..map.rw_data_address + map.rw_data_size,
            stack: map.stack_address_low..map.stack_address_high,
            aux_data: map.aux_data_address..map.aux_data_address + map.aux_data_size,
            heap_base: map.heap_base,
            max_heap_size: map.max_heap_size,
        }
    }

    /// The read-write data plus heap once the heap holds `heap_size` bytes: the heap grows the
    /// read-write region in whole pages.
    pub fn rw_data_and_heap(&self, heap_size: u32) -> Range<u32> {
        let heap_top = u64::from(self.heap_base) + u64::from(heap_size);
        let page = u64::from(self.page_size);
        let end = (heap_top.div_ceil(page) * page).max(u64::from(self.rw_data.end));
        self.rw_data.start..end.min(u64::from(u32::MAX)) as u32
    }
}

/// A VM under test. Every method mirrors the polkavm `RawInstance` method of the same name;
/// registers are named with pvm-core's [`Reg`] (same encoding order as polkavm's).
pub trait Vm {
    /// A short name for messages (`pvm-core`, `polkavm`).
    fn name(&self) -> &'static str;
    /// Runs until the next interrupt.
    fn run(&mut self) -> Result<Exit, String>;
    /// A register's value.
    fn reg(&self, reg: Reg) -> u64;
    /// Sets a register.
    fn set_reg(&mut self, reg: Reg, value: u64);
    /// Gas left.
    fn gas(&self) -> i64;
    /// Sets the gas left.
    fn set_gas(&mut self, gas: i64);
    /// The pc of the instruction the last interrupt happened at.
    fn program_counter(&self) -> Option<u32>;
    /// Where the next `run` continues.
    fn next_program_counter(&self) -> Option<u32>;
    /// Continues at `pc` on the next `run`.
    fn set_next_program_counter(&mut self, pc: u32);
    /// Host read of guest memory.
    fn read_memory(&mut self, address: u32, length: u32) -> Result<Vec<u8>, String>;
    /// Host write of guest memory.
    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<(), String>;
    /// Bytes `sbrk` has handed out.
    fn heap_size(&self) -> u32;
    /// Host-side `sbrk`.
    fn sbrk(&mut self, size: u32) -> Option<u32>;

    /// PolkaVM's calling convention, exactly as polkavm's `prepare_call_untyped` does it: every
    /// register cleared, `SP` at the top of the stack, `RA` the return-to-host address, the
    /// arguments in `A0..A5, T0..T2`, and the next pc set.
    fn prepare_call(&mut self, pc: u32, stack_top: u32, args: &[u64]) {
        assert!(args.len() <= Reg::ARG_REGS.len(), "too many arguments");
        for reg in Reg::ALL {
            self.set_reg(reg, 0);
        }
        self.set_reg(Reg::SP, u64::from(stack_top));
        self.set_reg(Reg::RA, u64::from(pvm_core::program::RETURN_TO_HOST));
        self.set_next_program_counter(pc);
        for (reg, value) in Reg::ARG_REGS.iter().zip(args) {
            self.set_reg(*reg, *value);
        }
    }

    /// All 13 registers.
    fn regs(&self) -> [u64; 13] {
        Reg::ALL.map(|reg| self.reg(reg))
    }
}

/// pvm-core's interpreter with the default module configuration (naive gas cost model,
/// synchronous per-block metering, 4 KiB pages, standard memory layout).
pub struct PvmCoreVm {
    /// The instance under test.
    pub instance: Instance,
}

impl PvmCoreVm {
    /// Parses, compiles and instantiates `bytes` with the default configuration.
    pub fn new(bytes: &[u8]) -> Result<PvmCoreVm, String> {
        Self::with_config(bytes, &ModuleConfig::default())
    }

    /// Parses, compiles and instantiates `bytes` with `config`.
    pub fn with_config(bytes: &[u8], config: &ModuleConfig) -> Result<PvmCoreVm, String> {
        Self::with_backend(bytes, pvm_core::BackendKind::Interpreter, config)
    }

    /// Parses, compiles and instantiates `bytes` for `backend` with `config`.
    pub fn with_backend(
        bytes: &[u8],
        backend: pvm_core::BackendKind,
        config: &ModuleConfig,
    ) -> Result<PvmCoreVm, String> {
        let engine = Config {
            backend,
            ..Config::default()
        };
        Self::with_engine(bytes, &engine, config)
    }

    /// Parses, compiles and instantiates `bytes` on an engine with `engine` (backend and
    /// sandbox) and `config`.
    pub fn with_engine(
        bytes: &[u8],
        engine: &Config,
        config: &ModuleConfig,
    ) -> Result<PvmCoreVm, String> {
        let engine = Engine::new(engine).map_err(|e| e.to_string())?;
        let module = Module::new(&engine, config, bytes).map_err(|e| e.to_string())?;
        let instance = module.instantiate().map_err(|e| e.to_string())?;
        Ok(PvmCoreVm { instance })
    }

    /// The module's memory layout.
    pub fn layout(&self) -> MemoryLayout {
        let map = self
            .instance
            .module()
            .memory_map()
            .expect("standard layout");
        MemoryLayout::from_pvm_core(map)
    }
}

impl Vm for PvmCoreVm {
    fn name(&self) -> &'static str {
        "pvm-core"
    }

    fn run(&mut self) -> Result<Exit, String> {
        Ok(match self.instance.run().map_err(|e| e.to_string())? {
            Interrupt::Finished => Exit::Finished,
            Interrupt::Trap => Exit::Trap,
            Interrupt::Ecalli(n) => Exit::Ecalli(n),
            Interrupt::Segfault(fault) => Exit::Segfault {
                page_address: fault.page_address,
            },
            Interrupt::NotEnoughGas => Exit::NotEnoughGas,
            Interrupt::Step => Exit::Step,
        })
    }

    fn reg(&self, reg: Reg) -> u64 {
        self.instance.reg(reg)
    }

    fn set_reg(&mut self, reg: Reg, value: u64) {
        self.instance.set_reg(reg, value)
    }

    fn gas(&self) -> i64 {
        self.instance.gas()
    }

    fn set_gas(&mut self, gas: i64) {
        self.instance.set_gas(gas)
    }

    fn program_counter(&self) -> Option<u32> {
        self.instance.program_counter()
    }

    fn next_program_counter(&self) -> Option<u32> {
        self.instance.next_program_counter()
    }

    fn set_next_program_counter(&mut self, pc: u32) {
        self.instance.set_next_program_counter(pc)
    }

    fn read_memory(&mut self, address: u32, length: u32) -> Result<Vec<u8>, String> {
        self.instance
            .read_memory(address, length)
            .map_err(|e| e.to_string())
    }

    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<(), String> {
        self.instance
            .write_memory(address, data)
            .map_err(|e| e.to_string())
    }

    fn heap_size(&self) -> u32 {
        self.instance.heap_size()
    }

    fn sbrk(&mut self, size: u32) -> Option<u32> {
        self.instance.sbrk(size)
    }
}

/// Regions larger than this are not read into snapshots (a heap grown that far by a random
/// `sbrk` would cost gigabytes per snapshot); such regions compare equal.
pub const MAX_SNAPSHOT_REGION: u32 = 64 << 20;

/// The bytes of one memory region at one moment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RegionSnapshot {
    /// `ro_data`, `rw_data+heap` or `stack`.
    pub name: &'static str,
    /// Start address.
    pub address: u32,
    /// Its contents, or why the host read failed.
    pub bytes: Result<Vec<u8>, String>,
}

/// Everything observable about a VM after an interrupt.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Snapshot {
    /// The interrupt (`None` for a snapshot taken before running).
    pub exit: Option<Exit>,
    /// All 13 registers.
    pub regs: [u64; 13],
    /// Gas left.
    pub gas: i64,
    /// `program_counter()`.
    pub program_counter: Option<u32>,
    /// `next_program_counter()`.
    pub next_program_counter: Option<u32>,
    /// `heap_size()`.
    pub heap_size: u32,
    /// The memory regions.
    pub memory: Vec<RegionSnapshot>,
}

impl Snapshot {
    /// Reads everything from `vm`; the regions come from `layout` (the heap part from the VM's
    /// own heap size).
    pub fn take(vm: &mut dyn Vm, layout: &MemoryLayout, exit: Option<Exit>) -> Snapshot {
        let heap_size = vm.heap_size();
        let mut memory = Vec::with_capacity(3);
        for (name, range) in [
            ("ro_data", layout.ro_data.clone()),
            ("rw_data+heap", layout.rw_data_and_heap(heap_size)),
            ("stack", layout.stack.clone()),
        ] {
            let length = range.end - range.start;
            let bytes = if range.is_empty() {
                Ok(Vec::new())
            } else if length > MAX_SNAPSHOT_REGION {
                Err(format!(
                    "not read: {length} bytes is more than a snapshot reads"
                ))
            } else {
                vm.read_memory(range.start, length)
            };
            memory.push(RegionSnapshot {
                name,
                address: range.start,
                bytes,
            });
        }
        Snapshot {
            exit,
            regs: vm.regs(),
            gas: vm.gas(),
            program_counter: vm.program_counter(),
            next_program_counter: vm.next_program_counter(),
            heap_size,
            memory,
        }
    }

    /// The first difference between two snapshots, checked in the order interrupt, program
    /// counters, gas, registers, heap size, memory.
    ///
    /// The program counter is compared only after interrupts other than `Finished`: after
    /// `Finished` polkavm reports `None` and pvm-core the pc of the jump that returned, and
    /// after `set_next_program_counter` polkavm reports `None` and pvm-core the previous
    /// interrupt's pc (API differences, not execution ones).
    pub fn compare(&self, other: &Snapshot) -> Option<Divergence> {
        let diff = |what: &str, left: String, right: String| {
            Some(Divergence {
                what: what.to_string(),
                left,
                right,
            })
        };
        if self.exit != other.exit {
            return diff(
                "interrupt",
                format!("{:?}", self.exit),
                format!("{:?}", other.exit),
            );
        }
        let pc_defined = !matches!(self.exit, None | Some(Exit::Finished));
        if pc_defined && self.program_counter != other.program_counter {
            return diff(
                "program_counter",
                format!("{:?}", self.program_counter),
                format!("{:?}", other.program_counter),
            );
        }
        if self.next_program_counter != other.next_program_counter {
            return diff(
                "next_program_counter",
                format!("{:?}", self.next_program_counter),
                format!("{:?}", other.next_program_counter),
            );
        }
        if self.gas != other.gas {
            return diff("gas", self.gas.to_string(), other.gas.to_string());
        }
        for (index, reg) in Reg::ALL.iter().enumerate() {
            if self.regs[index] != other.regs[index] {
                return diff(
                    &format!("register {reg}"),
                    format!("{:#x}", self.regs[index]),
                    format!("{:#x}", other.regs[index]),
                );
            }
        }
        if self.heap_size != other.heap_size {
            return diff(
                "heap_size",
                self.heap_size.to_string(),
                other.heap_size.to_string(),
            );
        }
        for (left, right) in self.memory.iter().zip(&other.memory) {
            if let Some(divergence) = compare_region(left, right) {
                return Some(divergence);
            }
        }
        None
    }
}

fn compare_region(left: &RegionSnapshot, right: &RegionSnapshot) -> Option<Divergence> {
    match (&left.bytes, &right.bytes) {
        (Ok(a), Ok(b)) if a == b => None,
        (Ok(a), Ok(b)) => {
            if a.len() != b.len() {
                return Some(Divergence {
                    what: format!("{} length", left.name),
                    left: a.len().to_string(),
                    right: b.len().to_string(),
                });
            }
            let first = a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .expect("they differ");
            let count = a.iter().zip(b).filter(|(x, y)| x != y).count();
            let window = first..(first + 16).min(a.len());
            Some(Divergence {
                what: format!(
                    "{} memory at {:#x} ({count} bytes differ; showing 16 from the first)",
                    left.name,
                    left.address as usize + first
                ),
                left: hex(&a[window.clone()]),
                right: hex(&b[window]),
            })
        }
        (a, b) => {
            let describe = |r: &Result<Vec<u8>, String>| match r {
                Ok(bytes) => format!("{} bytes read", bytes.len()),
                Err(error) => format!("read failed: {error}"),
            };
            if a.is_err() && b.is_err() {
                return None;
            }
            Some(Divergence {
                what: format!("{} host read at {:#x}", left.name, left.address),
                left: describe(a),
                right: describe(b),
            })
        }
    }
}

/// Lowercase hex with a space between bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first observable difference between the two VMs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Divergence {
    /// What differs (`interrupt`, `register a0`, `stack memory at 0x...`, ...).
    pub what: String,
    /// The first VM's value (pvm-core in these tests).
    pub left: String,
    /// The second VM's value (polkavm).
    pub right: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: pvm-core = {}, polkavm = {}",
            self.what, self.left, self.right
        )
    }
}

/// Answers host calls for one VM. Each VM gets its own host; after the run the two hosts are
/// compared with `PartialEq` (e.g. everything a guest emitted must match).
pub trait Host {
    /// Handles `ecalli number`, reading arguments from and writing results to `vm`.
    /// An `Err` is a host-level failure (e.g. an out-of-bounds guest pointer); it must happen
    /// identically on both VMs and ends the call.
    fn ecalli(&mut self, vm: &mut dyn Vm, number: u32) -> Result<(), String>;
}

/// What a completed call ended with.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CallEnd {
    /// The run stopped with this (non-`Ecalli`) interrupt.
    Exit(Exit),
    /// A host function failed on both VMs with this error.
    HostError(String),
    /// The interrupt budget ran out (both VMs kept calling the host).
    TooManyInterrupts,
}

/// Two VMs driven in lockstep, with a log of every step for failure messages.
pub struct Differential<A: Vm, B: Vm> {
    /// pvm-core.
    pub a: A,
    /// polkavm.
    pub b: B,
    /// The shared memory layout (checked equal on creation by the caller).
    pub layout: MemoryLayout,
    /// What happened so far (calls, interrupts, host answers), most recent last.
    pub log: Vec<String>,
    /// Interrupts seen so far.
    pub interrupts: u64,
}

impl<A: Vm, B: Vm> Differential<A, B> {
    /// Pairs two freshly instantiated VMs running the same program.
    pub fn new(a: A, b: B, layout: MemoryLayout) -> Self {
        Differential {
            a,
            b,
            layout,
            log: Vec::new(),
            interrupts: 0,
        }
    }

    /// Compares the VMs now; `exit` is the interrupt both just returned.
    pub fn compare(&mut self, exit: Option<Exit>) -> Result<(), Divergence> {
        let left = Snapshot::take(&mut self.a, &self.layout, exit);
        let right = Snapshot::take(&mut self.b, &self.layout, exit);
        match left.compare(&right) {
            None => Ok(()),
            Some(divergence) => Err(divergence),
        }
    }

    /// Prepares the same call on both VMs and compares the state before running.
    pub fn prepare_call(&mut self, pc: u32, args: &[u64], gas: i64) -> Result<(), Divergence> {
        self.log.push(format!(
            "prepare_call(pc = {pc}, args = {args:x?}), gas = {gas}"
        ));
        let stack_top = self.layout.stack.end;
        self.a.prepare_call(pc, stack_top, args);
        self.b.prepare_call(pc, stack_top, args);
        self.a.set_gas(gas);
        self.b.set_gas(gas);
        self.compare(None)
    }

    /// Sets the gas on both.
    pub fn set_gas(&mut self, gas: i64) {
        self.log.push(format!("set_gas({gas})"));
        self.a.set_gas(gas);
        self.b.set_gas(gas);
    }

    /// Runs both once and compares everything.
    pub fn run_once(&mut self) -> Result<Exit, Divergence> {
        let left = self.a.run();
        let right = self.b.run();
        self.interrupts += 1;
        let exit = match (left, right) {
            (Ok(a), Ok(b)) if a == b => a,
            (Ok(a), Ok(b)) => {
                return Err(Divergence {
                    what: "interrupt".into(),
                    left: format!("{a:?} at pc {:?}", self.a.program_counter()),
                    right: format!("{b:?} at pc {:?}", self.b.program_counter()),
                })
            }
            (left, right) => {
                return Err(Divergence {
                    what: "run() result".into(),
                    left: format!("{left:?}"),
                    right: format!("{right:?}"),
                })
            }
        };
        self.log.push(format!(
            "run -> {exit:?} at pc {:?}, gas left {}",
            self.a.program_counter(),
            self.a.gas()
        ));
        self.compare(Some(exit))?;
        Ok(exit)
    }

    /// Runs until an interrupt other than `Ecalli`, answering host calls with `host_a` and
    /// `host_b` and comparing after every interrupt and every host call. At most
    /// `max_interrupts` interrupts are taken.
    pub fn run_call<H: Host>(
        &mut self,
        host_a: &mut H,
        host_b: &mut H,
        max_interrupts: u64,
    ) -> Result<CallEnd, Divergence> {
        for _ in 0..max_interrupts {
            let exit = self.run_once()?;
            let Exit::Ecalli(number) = exit else {
                return Ok(CallEnd::Exit(exit));
            };
            let left = host_a.ecalli(&mut self.a, number);
            let right = host_b.ecalli(&mut self.b, number);
            // Error texts differ between the VMs' memory APIs; only success must agree.
            if left.is_ok() != right.is_ok() {
                return Err(Divergence {
                    what: format!("host call {number}"),
                    left: format!("{left:?}"),
                    right: format!("{right:?}"),
                });
            }
            self.compare(Some(exit))?;
            if let Err(error) = left {
                self.log
                    .push(format!("host call {number} failed on both: {error}"));
                return Ok(CallEnd::HostError(error));
            }
        }
        Ok(CallEnd::TooManyInterrupts)
    }

    /// The last `count` log lines, for failure messages.
    pub fn recent_log(&self, count: usize) -> String {
        let start = self.log.len().saturating_sub(count);
        let mut out = String::new();
        if start > 0 {
            out.push_str(&format!("  ... ({start} earlier steps)\n"));
        }
        for line in &self.log[start..] {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The host the random programs use: `ecalli n` sets `A0` to a value mixed from `n`, the
/// current `A0` and the number of calls so far. With `host_sbrk`, `ecalli 1` instead grows the
/// heap from the host side by `A1 & 0x3fff` bytes while it is below 64 KiB (so snapshots stay
/// small) and answers with the new heap top, or 0.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MixingHost {
    /// Host calls so far.
    pub calls: u64,
    /// Whether `ecalli 1` may call `sbrk`.
    pub host_sbrk: bool,
}

impl Host for MixingHost {
    fn ecalli(&mut self, vm: &mut dyn Vm, number: u32) -> Result<(), String> {
        self.calls += 1;
        if number == 1 && self.host_sbrk {
            let size = (vm.reg(Reg::A1) & 0x3fff) as u32;
            let top = if vm.heap_size() < 0x1_0000 {
                vm.sbrk(size).unwrap_or(0)
            } else {
                0
            };
            vm.set_reg(Reg::A0, u64::from(top));
            return Ok(());
        }
        let mut mixer =
            Rng::new(u64::from(number) ^ vm.reg(Reg::A0).rotate_left(17) ^ (self.calls << 40));
        vm.set_reg(Reg::A0, mixer.next_u64());
        Ok(())
    }
}
