//! The engine behind the interface: modules, instances and their states. `no_std`, so the
//! runtime can run the same code in itself when the node has no native engine.

use crate::engine::Engine as EngineSurface;
use crate::types::{
    Compiled, EngineLimits, HostError, InstanceId, ModuleId, NodeLimits, RunOutcome,
};
use alloc::collections::BTreeMap;
use pvm_core::gas::CostTable;
use pvm_core::{
    BackendKind, Config, Engine, Error, Instance, Interrupt, MemoryLayout, Module, ModuleConfig,
    Reg, SandboxConfig,
};

/// What an instance may do next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Nothing prepared: only `prepare_call` and `destroy`.
    Idle,
    /// An export is prepared: `run`, memory access.
    Prepared,
    /// Stopped at a syscall: memory access, then `run` with its result.
    Suspended,
}

struct Slot {
    instance: Instance,
    state: State,
}

/// Modules are cached by key and cost table: a module is compiled for one table.
type CacheKey = ([u8; 32], u32);

/// One engine session: the modules compiled and the instances alive during one runtime
/// execution (a block, or one dry run). Ids are counters, so every node that makes the
/// same calls gets the same ids. The runtime's [`EngineLimits`] come with every compile and
/// instantiate; the session's own [`NodeLimits`] only bound what it lets them ask.
pub struct EngineSession {
    engine: Engine,
    node_limits: NodeLimits,
    modules: BTreeMap<ModuleId, Module>,
    cache: BTreeMap<CacheKey, ModuleId>,
    cache_key_of: BTreeMap<ModuleId, CacheKey>,
    instances: BTreeMap<InstanceId, Slot>,
    next_module: ModuleId,
    next_instance: InstanceId,
}

impl Default for EngineSession {
    /// The interpreter, with no limits of its own: the engine a runtime runs inside itself.
    fn default() -> Self {
        EngineSession::with_engine(Engine::interpreter(), NodeLimits::UNLIMITED)
    }
}

impl EngineSession {
    /// A session running modules on `backend`, within what the node allows.
    pub fn new(backend: BackendKind, node_limits: NodeLimits) -> Result<EngineSession, Error> {
        Self::with_sandbox(backend, SandboxConfig::default(), node_limits)
    }

    /// [`EngineSession::new`] with the JIT's code running in the sandbox `sandbox`
    /// describes (by default a Linux worker process; see [`SandboxConfig`]).
    pub fn with_sandbox(
        backend: BackendKind,
        sandbox: SandboxConfig,
        node_limits: NodeLimits,
    ) -> Result<EngineSession, Error> {
        let engine = Engine::new(&Config {
            backend,
            memory_limit: node_limits.max_memory_per_instance,
            sandbox,
        })?;
        Ok(Self::with_engine(engine, node_limits))
    }

    /// A session on the interpreter (always available), allowing what `node_limits` allow.
    pub fn with_node_limits(node_limits: NodeLimits) -> EngineSession {
        EngineSession::with_engine(Engine::interpreter(), node_limits)
    }

    fn with_engine(engine: Engine, node_limits: NodeLimits) -> EngineSession {
        EngineSession {
            engine,
            node_limits,
            modules: BTreeMap::new(),
            cache: BTreeMap::new(),
            cache_key_of: BTreeMap::new(),
            instances: BTreeMap::new(),
            next_module: 0,
            next_instance: 0,
        }
    }

    /// What the node allows this session.
    pub fn node_limits(&self) -> &NodeLimits {
        &self.node_limits
    }

    /// Live instances.
    pub fn live_instances(&self) -> usize {
        self.instances.len()
    }

    /// The runtime's limits, if the node allows them.
    fn allowed(&self, limits: &EngineLimits) -> Result<CostTable, HostError> {
        if !self.node_limits.allow(limits) {
            return Err(HostError::NodeLimit);
        }
        CostTable::by_version(limits.cost_table).ok_or(HostError::NodeLimit)
    }

    fn evict_oldest_module(&mut self) {
        if let Some((id, _)) = self.modules.pop_first() {
            if let Some(key) = self.cache_key_of.remove(&id) {
                self.cache.remove(&key);
            }
        }
    }

    fn slot(&mut self, instance: InstanceId) -> Result<&mut Slot, HostError> {
        self.instances
            .get_mut(&instance)
            .ok_or(HostError::UnknownInstance)
    }

    /// The slot of an instance whose memory may be accessed (a call prepared or
    /// suspended).
    fn accessible(&mut self, instance: InstanceId) -> Result<&mut Slot, HostError> {
        let slot = self.slot(instance)?;
        if slot.state == State::Idle {
            return Err(HostError::WrongState);
        }
        Ok(slot)
    }
}

impl EngineSurface for EngineSession {
    fn compile(
        &mut self,
        code: &[u8],
        cache_key: Option<[u8; 32]>,
        limits: &EngineLimits,
    ) -> Result<Compiled, HostError> {
        let cost_table = self.allowed(limits)?;
        let cache_key = cache_key.map(|key| (key, limits.cost_table));
        if let Some(module) = cache_key.and_then(|key| self.cache.get(&key)) {
            return Ok(Compiled {
                module: *module,
                cached: true,
            });
        }
        if u64::try_from(code.len()).unwrap_or(u64::MAX) > u64::from(limits.max_code_len) {
            return Err(HostError::CodeTooLarge);
        }
        let config = ModuleConfig {
            gas_metering: true,
            memory: MemoryLayout::Standard,
            cost_table,
            // Up front: the pallet's `load_code` weight is benchmarked by compiling a
            // module here, and must cover the most compiling a call can cause. Compiled
            // lazily, a call would compile during execution, where no weight measures it.
            lazy_compilation: false,
            ..ModuleConfig::default()
        };
        let module = Module::new(&self.engine, &config, code).map_err(|error| match error {
            Error::MemoryLimit { .. } => HostError::MemoryLimit,
            _ => HostError::InvalidCode,
        })?;
        if self.modules.len() >= usize::try_from(self.node_limits.max_modules.max(1)).unwrap_or(1) {
            self.evict_oldest_module();
        }
        let id = self.next_module;
        self.next_module = self.next_module.wrapping_add(1);
        self.modules.insert(id, module);
        if let Some(key) = cache_key {
            self.cache.insert(key, id);
            self.cache_key_of.insert(id, key);
        }
        Ok(Compiled {
            module: id,
            cached: false,
        })
    }

    fn instantiate(
        &mut self,
        module: ModuleId,
        limits: &EngineLimits,
    ) -> Result<InstanceId, HostError> {
        self.allowed(limits)?;
        let module = self.modules.get(&module).ok_or(HostError::UnknownModule)?;
        if u32::try_from(self.instances.len()).unwrap_or(u32::MAX) >= limits.max_instances {
            return Err(HostError::TooManyInstances);
        }
        let instance = module
            .instantiate_with_memory_limit(limits.memory_per_instance)
            .map_err(|error| match error {
                Error::MemoryLimit { .. } => HostError::MemoryLimit,
                _ => HostError::InvalidCode,
            })?;
        let id = self.next_instance;
        self.next_instance = self.next_instance.wrapping_add(1);
        self.instances.insert(
            id,
            Slot {
                instance,
                state: State::Idle,
            },
        );
        Ok(id)
    }

    fn prepare_call(&mut self, instance: InstanceId, symbol: &[u8]) -> Result<(), HostError> {
        let slot = self.slot(instance)?;
        if slot.state == State::Suspended {
            return Err(HostError::WrongState);
        }
        let symbol = core::str::from_utf8(symbol).map_err(|_| HostError::UnknownExport)?;
        slot.instance
            .prepare_call_export(symbol, &[])
            .map_err(|_| HostError::UnknownExport)?;
        slot.state = State::Prepared;
        Ok(())
    }

    fn run(&mut self, instance: InstanceId, gas: u64, a0: u64) -> Result<RunOutcome, HostError> {
        let slot = self.slot(instance)?;
        if slot.state == State::Idle {
            return Err(HostError::WrongState);
        }
        let instance = &mut slot.instance;
        instance.set_reg(Reg::A0, a0);
        instance.set_gas(i64::try_from(gas).unwrap_or(i64::MAX));
        let interrupt = loop {
            match instance.run() {
                Ok(Interrupt::Step) => continue,
                Ok(interrupt) => break interrupt,
                Err(_) => {
                    slot.state = State::Idle;
                    return Err(HostError::WrongState);
                }
            }
        };
        let gas_left = u64::try_from(instance.gas()).unwrap_or(0);
        let (outcome, state) = match interrupt {
            Interrupt::Finished => (
                RunOutcome::Finished {
                    gas_left,
                    result: [instance.reg(Reg::A0), instance.reg(Reg::A1)],
                },
                State::Idle,
            ),
            Interrupt::Ecalli(index) => {
                let symbol = usize::try_from(index)
                    .ok()
                    .and_then(|index| instance.module().imports().get(index));
                match symbol {
                    Some(symbol) => (
                        RunOutcome::Syscall {
                            import_index: index,
                            symbol: symbol.as_bytes().to_vec(),
                            args: [Reg::A0, Reg::A1, Reg::A2, Reg::A3, Reg::A4, Reg::A5]
                                .map(|reg| instance.reg(reg)),
                            gas_left,
                        },
                        State::Suspended,
                    ),
                    // An `ecalli` naming no import cannot be served: the guest is at fault.
                    None => (RunOutcome::Trap { gas_left }, State::Idle),
                }
            }
            Interrupt::Trap | Interrupt::Segfault(_) | Interrupt::Step => {
                (RunOutcome::Trap { gas_left }, State::Idle)
            }
            Interrupt::NotEnoughGas => (RunOutcome::OutOfGas, State::Idle),
        };
        slot.state = state;
        Ok(outcome)
    }

    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError> {
        self.accessible(instance)?
            .instance
            .read_memory_into(address, out)
            .map_err(|_| HostError::OutOfBounds)
    }

    fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        self.accessible(instance)?
            .instance
            .write_memory(address, data)
            .map_err(|_| HostError::OutOfBounds)
    }

    fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError> {
        self.instances
            .remove(&instance)
            .map(drop)
            .ok_or(HostError::UnknownInstance)
    }
}
