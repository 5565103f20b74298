//! The `#[runtime_interface]`: what the runtime calls, and (off the runtime) its native
//! implementation on the [`PvmExtension`](crate::PvmExtension).

use crate::types::{Compiled, HostError, InstanceId, ModuleId, RunOutcome};
use sp_runtime_interface::{
    pass_by::{
        AllocateAndReturnByCodec, PassFatPointerAndDecode, PassFatPointerAndRead,
        PassFatPointerAndReadWrite,
    },
    runtime_interface,
};

#[cfg(not(substrate_runtime))]
use crate::session::EngineSession;

/// Runs `f` on the session of the extension registered for this execution.
#[cfg(not(substrate_runtime))]
fn with_session<R>(
    mut externalities: &mut dyn sp_externalities::Externalities,
    f: impl FnOnce(&mut EngineSession) -> Result<R, HostError>,
) -> Result<R, HostError> {
    use sp_externalities::ExternalitiesExt;
    match externalities.extension::<crate::PvmExtension>() {
        Some(extension) => f(&mut extension.0),
        None => Err(HostError::ExtensionMissing),
    }
}

/// The native pvm engine, as the runtime sees it: module -> instance -> execution.
///
/// A call runs as: [`compile`](pvm::compile) (cached by code hash),
/// [`instantiate`](pvm::instantiate), [`prepare_call`](pvm::prepare_call) of an export,
/// then [`run`](pvm::run) until it returns [`RunOutcome::Finished`], `Trap` or `OutOfGas`;
/// at each [`RunOutcome::Syscall`] the runtime serves the syscall, reading and writing
/// guest memory with [`read_memory`](pvm::read_memory) / [`write_memory`](pvm::write_memory),
/// and resumes with `run(gas, result)`. [`destroy`](pvm::destroy) frees the instance.
#[runtime_interface]
pub trait Pvm {
    /// Compiles a blob. With a `cache_key` (the code hash), a module compiled earlier in
    /// this session under the same key is reused and `cached` is set.
    fn compile(
        &mut self,
        code: PassFatPointerAndRead<&[u8]>,
        cache_key: PassFatPointerAndDecode<Option<[u8; 32]>>,
    ) -> AllocateAndReturnByCodec<Result<Compiled, HostError>> {
        with_session(*self, |session| session.compile(code, cache_key))
    }

    /// Creates an instance of a compiled module, with fresh memory.
    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> AllocateAndReturnByCodec<Result<InstanceId, HostError>> {
        with_session(*self, |session| session.instantiate(module))
    }

    /// Prepares a call of the export named `symbol`.
    fn prepare_call(
        &mut self,
        instance: InstanceId,
        symbol: PassFatPointerAndRead<&[u8]>,
    ) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| session.prepare_call(instance, symbol))
    }

    /// Runs (or resumes) the prepared call with `gas` to spend, after writing `a0` into
    /// register `a0` (the first argument, or the result of the syscall it stopped at).
    fn run(
        &mut self,
        instance: InstanceId,
        gas: u64,
        a0: u64,
    ) -> AllocateAndReturnByCodec<Result<RunOutcome, HostError>> {
        with_session(*self, |session| session.run(instance, gas, a0))
    }

    /// Reads guest memory at `address` into `out` (whole or nothing).
    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: PassFatPointerAndReadWrite<&mut [u8]>,
    ) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| session.read_memory(instance, address, out))
    }

    /// Writes `data` into guest memory at `address` (whole or nothing).
    fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: PassFatPointerAndRead<&[u8]>,
    ) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| {
            session.write_memory(instance, address, data)
        })
    }

    /// Drops an instance.
    fn destroy(&mut self, instance: InstanceId) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| session.destroy(instance))
    }
}
