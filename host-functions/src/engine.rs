//! The engine surface the runtime drives, declared once: [`Engine`], implemented natively
//! by [`EngineSession`](crate::EngineSession) and, across the runtime/host boundary, by
//! [`HostEngine`], which forwards to the [`pvm`](crate::pvm) runtime interface (whose
//! native side is again an `EngineSession`).

use crate::interface::pvm;
use crate::types::{Compiled, EngineLimits, HostError, InstanceId, ModuleId, RunOutcome};

/// Module -> instance -> execution, with the syscalls handed back to the caller.
///
/// A call runs as: [`compile`](Engine::compile) (cached by key),
/// [`instantiate`](Engine::instantiate), [`prepare_call`](Engine::prepare_call) of an
/// export, then [`run`](Engine::run) until it returns [`RunOutcome::Finished`], `Trap` or
/// `OutOfGas`; at each [`RunOutcome::Syscall`] the caller serves the syscall, reading and
/// writing guest memory, and resumes with `run(gas, result)`. [`destroy`](Engine::destroy)
/// frees the instance. Every refusal is a [`HostError`] and changes nothing.
pub trait Engine {
    /// Compiles a blob under the runtime's `limits` (code size, cost table). With a
    /// `cache_key` (the code hash), a module compiled earlier in this session under the
    /// same key and cost table is reused and `cached` is set.
    fn compile(
        &mut self,
        code: &[u8],
        cache_key: Option<[u8; 32]>,
        limits: &EngineLimits,
    ) -> Result<Compiled, HostError>;

    /// Creates an instance of a compiled module with fresh memory, under the runtime's
    /// `limits` (memory per instance, live instances).
    fn instantiate(
        &mut self,
        module: ModuleId,
        limits: &EngineLimits,
    ) -> Result<InstanceId, HostError>;

    /// Prepares a call of the export named `symbol`: registers cleared, stack pointer at
    /// the stack top, return address back to the host. Memory is kept, so an instance can
    /// serve several calls.
    fn prepare_call(&mut self, instance: InstanceId, symbol: &[u8]) -> Result<(), HostError>;

    /// Runs (or resumes) the prepared call with `gas` to spend, after writing `a0` into
    /// register `a0` (the first argument, or the result of the syscall it stopped at).
    fn run(&mut self, instance: InstanceId, gas: u64, a0: u64) -> Result<RunOutcome, HostError>;

    /// Reads guest memory at `address` into `out` (whole or nothing), while a call is
    /// prepared or suspended.
    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError>;

    /// Writes `data` into guest memory at `address` (whole or nothing), while a call is
    /// prepared or suspended.
    fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError>;

    /// Drops an instance and its memory.
    fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError>;
}

/// The node's native engine, reached through the [`pvm`] runtime interface: what a
/// runtime uses when its nodes provide [`HostFunctions`](crate::HostFunctions) and register
/// a [`PvmExtension`](crate::PvmExtension) for every execution.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostEngine;

impl Engine for HostEngine {
    fn compile(
        &mut self,
        code: &[u8],
        cache_key: Option<[u8; 32]>,
        limits: &EngineLimits,
    ) -> Result<Compiled, HostError> {
        pvm::compile(code, cache_key, *limits)
    }

    fn instantiate(
        &mut self,
        module: ModuleId,
        limits: &EngineLimits,
    ) -> Result<InstanceId, HostError> {
        pvm::instantiate(module, *limits)
    }

    fn prepare_call(&mut self, instance: InstanceId, symbol: &[u8]) -> Result<(), HostError> {
        pvm::prepare_call(instance, symbol)
    }

    fn run(&mut self, instance: InstanceId, gas: u64, a0: u64) -> Result<RunOutcome, HostError> {
        pvm::run(instance, gas, a0)
    }

    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError> {
        pvm::read_memory(instance, address, out)
    }

    fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        pvm::write_memory(instance, address, data)
    }

    fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError> {
        pvm::destroy(instance)
    }
}
