//! The `#[runtime_interface]`: what the runtime calls, and (off the runtime) its native
//! implementation on the [`PvmExtension`](crate::PvmExtension).

use crate::types::{Compiled, EngineLimits, HostError, InstanceId, ModuleId, RunOutcome};
use sp_runtime_interface::{
    pass_by::{
        AllocateAndReturnByCodec, PassFatPointerAndDecode, PassFatPointerAndRead,
        PassFatPointerAndReadWrite,
    },
    runtime_interface,
};

#[cfg(not(substrate_runtime))]
use crate::{engine::Engine, session::EngineSession};

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

/// The native pvm engine, as the runtime sees it: the functions of
/// [`Engine`](crate::Engine), which [`HostEngine`](crate::HostEngine) forwards to. Each
/// runs on the [`PvmExtension`](crate::PvmExtension) registered for this execution, or
/// fails with [`HostError::ExtensionMissing`].
#[runtime_interface]
pub trait Pvm {
    /// [`Engine::compile`](crate::Engine::compile).
    fn compile(
        &mut self,
        code: PassFatPointerAndRead<&[u8]>,
        cache_key: PassFatPointerAndDecode<Option<[u8; 32]>>,
        limits: PassFatPointerAndDecode<EngineLimits>,
    ) -> AllocateAndReturnByCodec<Result<Compiled, HostError>> {
        with_session(*self, |session| session.compile(code, cache_key, &limits))
    }

    /// [`Engine::instantiate`](crate::Engine::instantiate).
    fn instantiate(
        &mut self,
        module: ModuleId,
        limits: PassFatPointerAndDecode<EngineLimits>,
    ) -> AllocateAndReturnByCodec<Result<InstanceId, HostError>> {
        with_session(*self, |session| session.instantiate(module, &limits))
    }

    /// [`Engine::prepare_call`](crate::Engine::prepare_call).
    fn prepare_call(
        &mut self,
        instance: InstanceId,
        symbol: PassFatPointerAndRead<&[u8]>,
    ) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| session.prepare_call(instance, symbol))
    }

    /// [`Engine::run`](crate::Engine::run).
    fn run(
        &mut self,
        instance: InstanceId,
        gas: u64,
        a0: u64,
    ) -> AllocateAndReturnByCodec<Result<RunOutcome, HostError>> {
        with_session(*self, |session| session.run(instance, gas, a0))
    }

    /// [`Engine::read_memory`](crate::Engine::read_memory).
    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: PassFatPointerAndReadWrite<&mut [u8]>,
    ) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| session.read_memory(instance, address, out))
    }

    /// [`Engine::write_memory`](crate::Engine::write_memory).
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

    /// [`Engine::destroy`](crate::Engine::destroy).
    fn destroy(&mut self, instance: InstanceId) -> AllocateAndReturnByCodec<Result<(), HostError>> {
        with_session(*self, |session| session.destroy(instance))
    }
}
