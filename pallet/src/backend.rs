//! Where contracts run: on the node's native engine through the host functions, or inside
//! the runtime with pvm-core's `no_std` interpreter. Both give the same results and gas.

use pvm_host_functions::{
    pvm, Compiled, EngineSession, HostError, InstanceId, Limits, ModuleId, RunOutcome,
};

/// The engine calls one extrinsic makes. A value lives as long as the extrinsic.
pub trait VmBackend {
    /// A fresh handle for one extrinsic.
    fn open() -> Self;
    /// Compiles a blob, reusing the module cached under `cache_key`.
    fn compile(&mut self, code: &[u8], cache_key: [u8; 32]) -> Result<Compiled, HostError>;
    /// Creates an instance.
    fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, HostError>;
    /// Prepares a call of an export.
    fn prepare_call(&mut self, instance: InstanceId, symbol: &str) -> Result<(), HostError>;
    /// Runs or resumes with `gas`, `a0` written to register `a0` first.
    fn run(&mut self, instance: InstanceId, gas: u64, a0: u64) -> Result<RunOutcome, HostError>;
    /// Reads guest memory.
    fn read_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError>;
    /// Writes guest memory.
    fn write_memory(
        &mut self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError>;
    /// Drops an instance.
    fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError>;
}

/// Runs contracts on the node's native engine, through `pvm-host-functions`. The node must
/// provide the host functions and register a `PvmExtension` for every execution.
pub struct NativeEngine;

/// Implements [`VmBackend`] by forwarding to functions with the host interface's
/// signatures (cache key as an `Option`, export symbol as bytes).
macro_rules! forward_backend {
    ($engine:ty, $open:expr, |$this:ident| $target:expr) => {
        impl VmBackend for $engine {
            fn open() -> Self {
                $open
            }
            fn compile(&mut self, code: &[u8], cache_key: [u8; 32]) -> Result<Compiled, HostError> {
                let $this = self;
                $target.compile(code, Some(cache_key))
            }
            fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, HostError> {
                let $this = self;
                $target.instantiate(module)
            }
            fn prepare_call(
                &mut self,
                instance: InstanceId,
                symbol: &str,
            ) -> Result<(), HostError> {
                let $this = self;
                $target.prepare_call(instance, symbol.as_bytes())
            }
            fn run(
                &mut self,
                instance: InstanceId,
                gas: u64,
                a0: u64,
            ) -> Result<RunOutcome, HostError> {
                let $this = self;
                $target.run(instance, gas, a0)
            }
            fn read_memory(
                &mut self,
                instance: InstanceId,
                address: u32,
                out: &mut [u8],
            ) -> Result<(), HostError> {
                let $this = self;
                $target.read_memory(instance, address, out)
            }
            fn write_memory(
                &mut self,
                instance: InstanceId,
                address: u32,
                data: &[u8],
            ) -> Result<(), HostError> {
                let $this = self;
                $target.write_memory(instance, address, data)
            }
            fn destroy(&mut self, instance: InstanceId) -> Result<(), HostError> {
                let $this = self;
                $target.destroy(instance)
            }
        }
    };
}

/// The runtime interface as a value, so both backends forward the same way.
struct HostInterface;

impl HostInterface {
    fn compile(&self, code: &[u8], key: Option<[u8; 32]>) -> Result<Compiled, HostError> {
        pvm::compile(code, key)
    }
    fn instantiate(&self, module: ModuleId) -> Result<InstanceId, HostError> {
        pvm::instantiate(module)
    }
    fn prepare_call(&self, instance: InstanceId, symbol: &[u8]) -> Result<(), HostError> {
        pvm::prepare_call(instance, symbol)
    }
    fn run(&self, instance: InstanceId, gas: u64, a0: u64) -> Result<RunOutcome, HostError> {
        pvm::run(instance, gas, a0)
    }
    fn read_memory(
        &self,
        instance: InstanceId,
        address: u32,
        out: &mut [u8],
    ) -> Result<(), HostError> {
        pvm::read_memory(instance, address, out)
    }
    fn write_memory(
        &self,
        instance: InstanceId,
        address: u32,
        data: &[u8],
    ) -> Result<(), HostError> {
        pvm::write_memory(instance, address, data)
    }
    fn destroy(&self, instance: InstanceId) -> Result<(), HostError> {
        pvm::destroy(instance)
    }
}

forward_backend!(NativeEngine, NativeEngine, |_this| HostInterface);

/// Runs contracts inside the runtime with pvm-core's interpreter: for runtimes on nodes
/// without the pvm host functions. Slower, same results and gas.
pub struct InRuntimeEngine(EngineSession);

forward_backend!(
    InRuntimeEngine,
    InRuntimeEngine(
        EngineSession::new(pvm_core::BackendKind::Interpreter, Limits::default())
            .expect("the interpreter is available in every build")
    ),
    |this| this.0
);
