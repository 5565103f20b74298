//! The two VMs behind one trait, each with a selectable backend (the interpreters for
//! `compare-interpreters`, pvm-core's JIT and polkavm's recompiler for `compare-jit`).
//!
//! [`Vm::compile`] is module creation from the blob's bytes (what the compile-time columns
//! measure). [`Vm::execute`] instantiates a fresh instance and resolves exports and imports
//! untimed, then times `prepare_call` + `set_gas` + the `run()` loop including host calls.
//!
//! Note on what the phases contain: pvm-core validates and translates the whole program in
//! `Module::new`, while polkavm's interpreter only parses there and compiles basic blocks
//! lazily, per instance, the first time they run, so that work lands in polkavm's
//! execution time.

use super::host::{GuestIo, HostFn, HostState};
use anyhow::{anyhow, bail, Context, Result};
use std::time::{Duration, Instant};

/// Gas given to every metered call: far more than any workload uses.
pub const GAS_LIMIT: i64 = 1 << 60;

/// What a call produced; must be identical on both VMs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outcome {
    /// `a0` after the call finished.
    pub result: u64,
    /// Gas consumed, when metering is on.
    pub gas_used: Option<i64>,
    /// Host calls made.
    pub host_calls: u64,
    /// Bytes the guest passed to `host_emit`.
    pub emitted: Vec<u8>,
}

/// One timed call.
#[derive(Clone, Debug)]
pub struct Execution {
    /// Wall time of `prepare_call` + the run loop.
    pub elapsed: Duration,
    /// What the call produced.
    pub outcome: Outcome,
}

/// A cold call: a fresh module from the blob's bytes, an instance, one call; each phase
/// timed on its own.
#[derive(Clone, Debug)]
pub struct ColdCall {
    /// Module creation from the bytes.
    pub compile: Duration,
    /// Instantiation.
    pub instantiate: Duration,
    /// `prepare_call` + `set_gas` + the `run()` loop including host calls.
    pub call: Duration,
    /// What the call produced.
    pub outcome: Outcome,
}

impl ColdCall {
    /// All three phases.
    pub fn total(&self) -> Duration {
        self.compile + self.instantiate + self.call
    }
}

/// An interpreter under test.
pub trait Vm {
    /// A compiled module.
    type Module;
    /// The name shown in tables.
    fn name(&self) -> &'static str;
    /// Creates module from blob bytes (the timed compile step).
    fn compile(&self, blob: &[u8]) -> Result<Self::Module>;
    /// Calls `export(args)` on a fresh instance of `module`; see the module docs for what is
    /// timed.
    fn execute(&self, module: &Self::Module, export: &str, args: &[u64]) -> Result<Execution>;
    /// Compiles `blob`, instantiates it and calls `export(args)`, timing each phase; exports
    /// and imports are looked up between the timed phases. Dropping the instance and the
    /// module is not timed.
    fn cold_call(&self, blob: &[u8], export: &str, args: &[u64]) -> Result<ColdCall>;
}

/// pvm-core's interpreter.
pub struct Ours {
    engine: pvm_core::Engine,
    config: pvm_core::ModuleConfig,
}

impl Ours {
    /// An engine with the interpreter backend and the naive cost table; `gas_metering`
    /// selects synchronous per-block metering or none.
    pub fn new(gas_metering: bool) -> Result<Ours> {
        Self::with_backend(gas_metering, pvm_core::BackendKind::Interpreter)
    }

    /// As [`Ours::new`], with `backend` (the JIT's code in the default sandbox).
    pub fn with_backend(gas_metering: bool, backend: pvm_core::BackendKind) -> Result<Ours> {
        Self::with_config(
            gas_metering,
            &pvm_core::Config {
                backend,
                ..pvm_core::Config::default()
            },
        )
    }

    /// As [`Ours::new`], with an engine of `engine`'s configuration (backend, sandbox).
    pub fn with_config(gas_metering: bool, engine: &pvm_core::Config) -> Result<Ours> {
        let engine = pvm_core::Engine::new(engine)?;
        let config = pvm_core::ModuleConfig {
            gas_metering,
            cost_table: pvm_core::gas::CostTable::naive(),
            ..pvm_core::ModuleConfig::default()
        };
        Ok(Ours { engine, config })
    }

    /// The same, with the interpreter compiling each module whole when it is created
    /// (instead of block by block as calls reach the code).
    pub fn compiling_up_front(mut self) -> Ours {
        self.config.lazy_compilation = false;
        self
    }

    /// The engine.
    pub fn engine(&self) -> &pvm_core::Engine {
        &self.engine
    }
}

struct OursIo<'a>(&'a mut pvm_core::Instance);

const OUR_ARG_REGS: [pvm_core::Reg; 6] = [
    pvm_core::Reg::A0,
    pvm_core::Reg::A1,
    pvm_core::Reg::A2,
    pvm_core::Reg::A3,
    pvm_core::Reg::A4,
    pvm_core::Reg::A5,
];

impl GuestIo for OursIo<'_> {
    #[inline]
    fn arg(&self, index: usize) -> u64 {
        self.0.reg(OUR_ARG_REGS[index])
    }
    #[inline]
    fn set_result(&mut self, value: u64) {
        self.0.set_reg(pvm_core::Reg::A0, value);
    }
    fn read(&mut self, address: u32, out: &mut [u8]) -> Result<()> {
        Ok(self.0.read_memory_into(address, out)?)
    }
    fn write(&mut self, address: u32, data: &[u8]) -> Result<()> {
        Ok(self.0.write_memory(address, data)?)
    }
}

impl Ours {
    /// `prepare_call` + `set_gas` + the run loop on `instance`, timed.
    fn call(
        &self,
        instance: &mut pvm_core::Instance,
        imports: &[Option<HostFn>],
        pc: u32,
        export: &str,
        args: &[u64],
    ) -> Result<Execution> {
        use pvm_core::Interrupt;
        let mut host = HostState::default();
        let start = Instant::now();
        instance.prepare_call(pc, args)?;
        if self.config.gas_metering {
            instance.set_gas(GAS_LIMIT);
        }
        loop {
            match instance.run()? {
                Interrupt::Finished => break,
                Interrupt::Ecalli(n) => {
                    let function = imports
                        .get(n as usize)
                        .copied()
                        .flatten()
                        .ok_or_else(|| anyhow!("pvm-core: ecalli {n} names no known import"))?;
                    host.call(function, &mut OursIo(instance))?;
                }
                other => bail!(
                    "pvm-core: {export}{args:?} stopped with {other:?} at pc {:?}",
                    instance.program_counter()
                ),
            }
        }
        let elapsed = start.elapsed();

        Ok(Execution {
            elapsed,
            outcome: Outcome {
                result: instance.reg(pvm_core::Reg::A0),
                gas_used: self.config.gas_metering.then(|| GAS_LIMIT - instance.gas()),
                host_calls: host.calls,
                emitted: host.emitted,
            },
        })
    }

    fn lookup(module: &pvm_core::Module, export: &str) -> Result<(Vec<Option<HostFn>>, u32)> {
        let imports = module
            .imports()
            .iter()
            .map(|symbol| HostFn::from_symbol(symbol.as_bytes()))
            .collect();
        let pc = module
            .export_pc(export)
            .ok_or_else(|| anyhow!("pvm-core: no export {export:?}"))?;
        Ok((imports, pc))
    }
}

impl Vm for Ours {
    type Module = pvm_core::Module;

    fn name(&self) -> &'static str {
        "pvm-core"
    }

    fn compile(&self, blob: &[u8]) -> Result<pvm_core::Module> {
        Ok(pvm_core::Module::new(&self.engine, &self.config, blob)?)
    }

    fn execute(&self, module: &pvm_core::Module, export: &str, args: &[u64]) -> Result<Execution> {
        let (imports, pc) = Self::lookup(module, export)?;
        let mut instance = module.instantiate()?;
        self.call(&mut instance, &imports, pc, export, args)
    }

    fn cold_call(&self, blob: &[u8], export: &str, args: &[u64]) -> Result<ColdCall> {
        let start = Instant::now();
        let module = self.compile(blob)?;
        let compile = start.elapsed();
        let start = Instant::now();
        let mut instance = module.instantiate()?;
        let instantiate = start.elapsed();
        let (imports, pc) = Self::lookup(&module, export)?;
        let call = self.call(&mut instance, &imports, pc, export, args)?;
        Ok(ColdCall {
            compile,
            instantiate,
            call: call.elapsed,
            outcome: call.outcome,
        })
    }
}

/// polkavm 0.37's interpreter (`BackendKind::Interpreter`, default naive cost model).
pub struct Polkavm {
    engine: polkavm::Engine,
    config: polkavm::ModuleConfig,
    gas_metering: bool,
}

impl Polkavm {
    /// An interpreter engine; `gas_metering` selects `GasMeteringKind::Sync` or none.
    pub fn new(gas_metering: bool) -> Result<Polkavm> {
        Self::with_backend(gas_metering, polkavm::BackendKind::Interpreter)
    }

    /// As [`Polkavm::new`], with `backend` (`Compiler` is its x86-64 recompiler, in its
    /// default sandbox).
    pub fn with_backend(gas_metering: bool, backend: polkavm::BackendKind) -> Result<Polkavm> {
        let mut config = polkavm::Config::new();
        config.set_backend(Some(backend));
        Self::with_config(gas_metering, &config)
    }

    /// As [`Polkavm::new`], with an engine of `config`'s configuration.
    pub fn with_config(gas_metering: bool, config: &polkavm::Config) -> Result<Polkavm> {
        let engine = polkavm::Engine::new(config).map_err(|e| anyhow!("polkavm engine: {e}"))?;
        let mut module_config = polkavm::ModuleConfig::new();
        module_config.set_gas_metering(gas_metering.then_some(polkavm::GasMeteringKind::Sync));
        Ok(Polkavm {
            engine,
            config: module_config,
            gas_metering,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &polkavm::Engine {
        &self.engine
    }
}

struct PolkavmIo<'a>(&'a mut polkavm::RawInstance);

const POLKAVM_ARG_REGS: [polkavm::Reg; 6] = [
    polkavm::Reg::A0,
    polkavm::Reg::A1,
    polkavm::Reg::A2,
    polkavm::Reg::A3,
    polkavm::Reg::A4,
    polkavm::Reg::A5,
];

impl GuestIo for PolkavmIo<'_> {
    #[inline]
    fn arg(&self, index: usize) -> u64 {
        self.0.reg(POLKAVM_ARG_REGS[index])
    }
    #[inline]
    fn set_result(&mut self, value: u64) {
        self.0.set_reg(polkavm::Reg::A0, value);
    }
    fn read(&mut self, address: u32, out: &mut [u8]) -> Result<()> {
        self.0
            .read_memory_into(address, out)
            .map_err(|e| anyhow!("polkavm: {e}"))?;
        Ok(())
    }
    fn write(&mut self, address: u32, data: &[u8]) -> Result<()> {
        self.0
            .write_memory(address, data)
            .map_err(|e| anyhow!("polkavm: {e}"))
    }
}

impl Polkavm {
    /// `prepare_call` + `set_gas` + the run loop on `instance`, timed.
    fn call(
        &self,
        instance: &mut polkavm::RawInstance,
        imports: &[Option<HostFn>],
        pc: polkavm::ProgramCounter,
        export: &str,
        args: &[u64],
    ) -> Result<Execution> {
        use polkavm::InterruptKind;
        let mut host = HostState::default();
        let start = Instant::now();
        instance.prepare_call_untyped(pc, args);
        if self.gas_metering {
            instance.set_gas(GAS_LIMIT);
        }
        loop {
            match instance.run().map_err(|e| anyhow!("polkavm run: {e}"))? {
                InterruptKind::Finished => break,
                InterruptKind::Ecalli(n) => {
                    let function = imports
                        .get(n as usize)
                        .copied()
                        .flatten()
                        .ok_or_else(|| anyhow!("polkavm: ecalli {n} names no known import"))?;
                    host.call(function, &mut PolkavmIo(instance))?;
                }
                other => bail!(
                    "polkavm: {export}{args:?} stopped with {other:?} at pc {:?}",
                    instance.program_counter()
                ),
            }
        }
        let elapsed = start.elapsed();

        Ok(Execution {
            elapsed,
            outcome: Outcome {
                result: instance.reg(polkavm::Reg::A0),
                gas_used: self.gas_metering.then(|| GAS_LIMIT - instance.gas()),
                host_calls: host.calls,
                emitted: host.emitted,
            },
        })
    }

    fn lookup(
        module: &polkavm::Module,
        export: &str,
    ) -> Result<(Vec<Option<HostFn>>, polkavm::ProgramCounter)> {
        let imports = module
            .imports()
            .into_iter()
            .map(|symbol| symbol.and_then(|s| HostFn::from_symbol(s.as_bytes())))
            .collect();
        let pc = module
            .exports()
            .find(|e| e.symbol().as_bytes() == export.as_bytes())
            .map(|e| e.program_counter())
            .with_context(|| format!("polkavm: no export {export:?}"))?;
        Ok((imports, pc))
    }
}

impl Vm for Polkavm {
    type Module = polkavm::Module;

    fn name(&self) -> &'static str {
        "polkavm"
    }

    fn compile(&self, blob: &[u8]) -> Result<polkavm::Module> {
        polkavm::Module::new(&self.engine, &self.config, blob.into())
            .map_err(|e| anyhow!("polkavm compile: {e}"))
    }

    fn execute(&self, module: &polkavm::Module, export: &str, args: &[u64]) -> Result<Execution> {
        let (imports, pc) = Self::lookup(module, export)?;
        let mut instance = module
            .instantiate()
            .map_err(|e| anyhow!("polkavm instantiate: {e}"))?;
        self.call(&mut instance, &imports, pc, export, args)
    }

    fn cold_call(&self, blob: &[u8], export: &str, args: &[u64]) -> Result<ColdCall> {
        let start = Instant::now();
        let module = self.compile(blob)?;
        let compile = start.elapsed();
        let start = Instant::now();
        let mut instance = module
            .instantiate()
            .map_err(|e| anyhow!("polkavm instantiate: {e}"))?;
        let instantiate = start.elapsed();
        let (imports, pc) = Self::lookup(&module, export)?;
        let call = self.call(&mut instance, &imports, pc, export, args)?;
        Ok(ColdCall {
            compile,
            instantiate,
            call: call.elapsed,
            outcome: call.outcome,
        })
    }
}
