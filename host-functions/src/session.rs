//! The engine behind the interface: modules, instances and their states. `no_std`, so the
//! runtime can run the same code in itself when the node has no native engine.

use crate::types::{Compiled, HostError, InstanceId, Limits, ModuleId, RunOutcome};
use alloc::collections::BTreeMap;
use pvm_core::{
    BackendKind, Config, Engine, Error, Instance, Interrupt, MemoryLayout, Module, ModuleConfig,
    Reg,
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

/// One engine session: the modules compiled and the instances alive during one runtime
/// execution (a block, or one dry run). Ids are counters, so every node that makes the
/// same calls gets the same ids.
pub struct EngineSession {
    engine: Engine,
    module_config: ModuleConfig,
    limits: Limits,
    modules: BTreeMap<ModuleId, Module>,
    cache: BTreeMap<[u8; 32], ModuleId>,
    cache_key_of: BTreeMap<ModuleId, [u8; 32]>,
    instances: BTreeMap<InstanceId, Slot>,
    next_module: ModuleId,
    next_instance: InstanceId,
}

impl EngineSession {
    /// A session running modules on `backend` within `limits`. Gas metering is on, with
    /// the default cost table (one unit per instruction).
    pub fn new(backend: BackendKind, limits: Limits) -> Result<EngineSession, Error> {
        let engine = Engine::new(&Config {
            backend,
            memory_limit: limits.memory_per_instance,
        })?;
        let module_config = ModuleConfig {
            gas_metering: true,
            memory: MemoryLayout::Standard,
            ..ModuleConfig::default()
        };
        Ok(EngineSession {
            engine,
            module_config,
            limits,
            modules: BTreeMap::new(),
            cache: BTreeMap::new(),
            cache_key_of: BTreeMap::new(),
            instances: BTreeMap::new(),
            next_module: 0,
            next_instance: 0,
        })
    }

    /// The limits this session enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Live instances.
    pub fn live_instances(&self) -> usize {
        self.instances.len()
    }

    /// Compiles `code`, or finds it in the cache when `cache_key` names a module compiled
    /// earlier in this session.
    pub fn compile(
        &mut self,
        code: &[u8],
        cache_key: Option<[u8; 32]>,
    ) -> Result<Compiled, HostError> {
        if let Some(module) = cache_key.and_then(|key| self.cache.get(&key)) {
            return Ok(Compiled {
                module: *module,
                cached: true,
            });
        }
        if code.len() > self.limits.max_code_len as usize {
            return Err(HostError::CodeTooLarge);
        }
        let module =
            Module::new(&self.engine, &self.module_config, code).map_err(|error| match error {
                Error::MemoryLimit { .. } => HostError::MemoryLimit,
                _ => HostError::InvalidCode,
            })?;
        if self.modules.len() >= self.limits.max_modules as usize {
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

    fn evict_oldest_module(&mut self) {
        if let Some((id, _)) = self.modules.pop_first() {
            if let Some(key) = self.cache_key_of.remove(&id) {
                self.cache.remove(&key);
            }
        }
    }

    /// Creates an instance of `module` with fresh memory.
    pub fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, HostError> {
        let module = self.modules.get(&module).ok_or(HostError::UnknownModule)?;
        if self.instances.len() >= self.limits.max_instances as usize {
            return Err(HostError::TooManyInstances);
        }
        let instance = module.instantiate().map_err(|error| match error {
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

    fn slot(&mut self, instance: InstanceId) -> Result<&mut Slot, HostError> {
        self.instances
            .get_mut(&instance)
            .ok_or(HostError::UnknownInstance)
    }

    /// Prepares a call of the export `symbol`: registers cleared, stack pointer at the
    /// stack top, return address back to the host. Memory is kept, so an instance can
    /// serve several calls.
    pub fn prepare_call(&mut self, instance: InstanceId, symbol: &[u8]) -> Result<(), HostError> {
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

    /// Runs the prepared call, or resumes after a syscall, with `gas` to spend; `a0` goes
    /// into register `a0` first (the first argument, or the syscall's result).
    pub fn run(
        &mut self,
        instance: InstanceId,
        gas: u64,
        a0: u64,
    ) -> Result<RunOutcome, HostError> {
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
            Interrupt::Ecalli(index) => match instance.module().imports().get(index as usize) {
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
            },
            Interrupt::Trap | Interrupt::Segfault(_) => {
                (RunOutcome::Trap { gas_left }, State::Idle)
            }
            Interrupt::NotEnoughGas => (RunOutcome::OutOfGas, State::Idle),
            Interrupt::Step => unreachable!("step interrupts are consumed above"),
        };
        slot.state = state;
        Ok(outcome)
    }

    fn accessible(&mut self, instance: InstanceId, len: usize) -> Result<&mut Slot, HostError> {
        let max_access_len = self.limits.max_access_len as usize;
        let slot = self.slot(instance)?;
        if slot.state == State::Idle {
            return Err(HostError::WrongState);
        }
        if len > max_access_len {
            return Err(HostError::AccessTooLarge);
        }
        Ok(slot)
    }

    /// Reads guest memory at `address` into `out`, while a call is prepared or suspended.
    pub fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError> {
        let slot = self.accessible(instance, out.len())?;
        slot.instance
            .read_memory_into(address, out)
            .map_err(|_| HostError::OutOfBounds)
    }

    /// Writes `data` into guest memory at `address`, while a call is prepared or suspended.
    /// Nothing is written when any byte is out of bounds.
    pub fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        let slot = self.accessible(instance, data.len())?;
        slot.instance
            .write_memory(address, data)
            .map_err(|_| HostError::OutOfBounds)
    }

    /// Drops an instance and its memory.
    pub fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError> {
        self.instances
            .remove(&instance)
            .map(drop)
            .ok_or(HostError::UnknownInstance)
    }
}
