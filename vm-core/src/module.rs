//! A validated, compiled program, ready to instantiate.

use crate::engine::{BackendKind, Engine};
use crate::error::Error;
use crate::gas::CostTable;
use crate::instance::Instance;
use crate::interpreter::{compile, BlockStarts, CompiledCode, GuestMemory, LazyCode};
use crate::isa::InstructionSet;
use crate::memory::{AccessMap, PageMapping};
use crate::program::{Export, MemoryMap, MemoryMapSizes, ProgramBlob};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// How a module's memory is laid out.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum MemoryLayout {
    /// PolkaVM's layout from the blob's sizes; unmapped accesses trap.
    #[default]
    Standard,
    /// Exactly these pages (JAM style); unmapped accesses page-fault.
    Custom(Vec<PageMapping>),
}

/// Per-module settings.
#[derive(Clone, Debug)]
pub struct ModuleConfig {
    /// Charge gas per basic block (synchronously: stop before a block that does not fit).
    pub gas_metering: bool,
    /// Stop with `Interrupt::Step` before every instruction.
    pub step_tracing: bool,
    /// Page size for the standard layout.
    pub page_size: u32,
    /// Aux data bytes for the standard layout.
    pub aux_data_size: u32,
    /// Costs per opcode.
    pub cost_table: CostTable,
    /// Memory layout.
    pub memory: MemoryLayout,
    /// The interpreter compiles a block when execution first reaches it (each instance
    /// for itself), instead of the whole code when the module is created: a call that
    /// runs a little of a large program compiles only that little. Results and gas are
    /// the same either way. (Step tracing always compiles up front; the JIT always does.)
    pub lazy_compilation: bool,
}

impl Default for ModuleConfig {
    fn default() -> Self {
        ModuleConfig {
            gas_metering: true,
            step_tracing: false,
            page_size: 0x1000,
            aux_data_size: 0,
            cost_table: CostTable::naive(),
            memory: MemoryLayout::Standard,
            lazy_compilation: true,
        }
    }
}

pub(crate) struct ModuleInner {
    pub(crate) blob: ProgramBlob,
    pub(crate) config: ModuleConfig,
    pub(crate) memory_map: Option<MemoryMap>,
    /// The layout's accessible regions and heap, without a memory limit: instances apply
    /// the engine's.
    pub(crate) access_map: AccessMap,
    /// The interpreter's code compiled up front (empty when only the JIT runs this module,
    /// or when the interpreter compiles lazily; its cost table is always set).
    pub(crate) code: CompiledCode,
    /// Where blocks start (as far as located up front), when the interpreter compiles
    /// lazily: each instance's code starts empty and compiles blocks as execution reaches
    /// them.
    pub(crate) lazy_starts: Option<BlockStarts>,
    pub(crate) memory_limit: u64,
    /// The backend instances run on.
    pub(crate) backend: BackendKind,
    #[cfg(jit_sandbox)]
    pub(crate) jit: Option<JitCode>,
    /// How instances use Linux sandbox workers.
    #[cfg(jit_sandbox)]
    pub(crate) sandbox: crate::SandboxConfig,
}

/// A module's compiled code, ready for the sandbox its engine chose.
#[cfg(jit_sandbox)]
pub(crate) enum JitCode {
    /// Mapped executable in this process.
    InProcess(Arc<crate::sandbox::generic::JitModule>),
    /// Kept for workers to copy into their code files.
    Worker(Arc<crate::sandbox::linux::WorkerCode>),
}

#[cfg(jit_sandbox)]
impl JitCode {
    fn program(&self) -> &crate::jit::CompiledProgram {
        match self {
            JitCode::InProcess(module) => module.program(),
            JitCode::Worker(code) => code.program(),
        }
    }

    fn code_len(&self) -> usize {
        match self {
            JitCode::InProcess(module) => module.code_len(),
            JitCode::Worker(code) => code.code_len(),
        }
    }
}

/// A compiled program; cheap to clone and share between instances.
#[derive(Clone)]
pub struct Module(pub(crate) Arc<ModuleInner>);

impl core::fmt::Debug for Module {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Module")
            .field("isa", &self.0.blob.isa)
            .field("code_length", &self.0.blob.code.code.len())
            .field("exports", &self.0.blob.exports)
            .finish()
    }
}

impl Module {
    /// Parses, validates and compiles a `PVM\0` container.
    pub fn new(engine: &Engine, config: &ModuleConfig, bytes: &[u8]) -> Result<Module, Error> {
        Self::from_blob(engine, config, ProgramBlob::parse(bytes)?)
    }

    /// Compiles an already parsed program.
    pub fn from_blob(
        engine: &Engine,
        config: &ModuleConfig,
        blob: ProgramBlob,
    ) -> Result<Module, Error> {
        // A blob built by hand skipped the parser's size check, which decoding relies on.
        blob.code.code_length()?;
        let (memory_map, access_map) = match &config.memory {
            MemoryLayout::Standard => {
                let map = MemoryMap::new(MemoryMapSizes {
                    page_size: config.page_size,
                    ro_data_size: blob.ro_data_size,
                    rw_data_size: blob.rw_data_size,
                    stack_size: blob.stack_size,
                    aux_data_size: config.aux_data_size,
                })?;
                (Some(map), AccessMap::standard(&map, u64::MAX)?)
            }
            MemoryLayout::Custom(pages) => (None, AccessMap::custom(pages, u64::MAX)?),
        };
        access_map.check_contents(&initial_contents(memory_map.as_ref(), &blob))?;
        let requested = engine.config().backend;
        // The JIT does not stop between instructions: step tracing always interprets.
        let backend = match requested {
            BackendKind::Jit | BackendKind::Crosscheck
                if config.step_tracing || !BackendKind::jit_supported() =>
            {
                BackendKind::Interpreter
            }
            other => other,
        };
        #[cfg(jit_sandbox)]
        let jit = match backend {
            BackendKind::Jit | BackendKind::Crosscheck => {
                let options = crate::jit::CompileOptions {
                    gas_metering: config.gas_metering,
                    costs: &config.cost_table,
                    isa: blob.isa,
                    segment_memory: crate::sandbox::generic::segment_base_usable(),
                };
                let in_worker = engine.sandbox() == crate::SandboxKind::Linux;
                let code = crate::jit::with_scratch(|scratch| {
                    let program = crate::jit::compile_in(scratch, &blob.code, &options)
                        .map_err(|e| Error::Jit(alloc::format!("compiling: {e}")))?;
                    if in_worker {
                        let (code, len) = scratch.take_code();
                        let code = crate::sandbox::linux::WorkerCode::new(program, code, len)?;
                        return Ok::<_, Error>(JitCode::Worker(Arc::new(code)));
                    }
                    let module =
                        crate::sandbox::generic::JitModule::new(program, scratch.code())
                            .map_err(|e| Error::Jit(alloc::format!("mapping the code: {e}")))?;
                    Ok(JitCode::InProcess(Arc::new(module)))
                })?;
                Some(code)
            }
            BackendKind::Interpreter => None,
        };
        let lazy = config.lazy_compilation && !config.step_tracing;
        let (code, lazy_starts) = if backend == BackendKind::Jit || lazy {
            // The JIT keeps no interpreter code; a lazy interpreter only the block starts.
            let starts = (backend != BackendKind::Jit)
                .then(|| BlockStarts::new(&blob.code, blob.isa, false));
            (CompiledCode::empty(&config.cost_table), starts)
        } else {
            let code = compile(
                &blob.code,
                &config.cost_table,
                config.step_tracing,
                blob.isa,
            );
            (code, None)
        };
        Ok(Module(Arc::new(ModuleInner {
            blob,
            config: config.clone(),
            memory_map,
            access_map,
            code,
            lazy_starts,
            memory_limit: engine.config().memory_limit,
            backend,
            #[cfg(jit_sandbox)]
            jit,
            #[cfg(jit_sandbox)]
            sandbox: engine.config().sandbox.clone(),
        })))
    }

    /// The backend this module's instances run on: the engine's, or the interpreter where
    /// the JIT cannot run (see [`BackendKind::Jit`]).
    pub fn backend(&self) -> BackendKind {
        self.0.backend
    }

    /// Bytes of machine code the JIT generated for this module (0 when it is interpreted).
    pub fn jit_code_size(&self) -> usize {
        #[cfg(jit_sandbox)]
        if let Some(jit) = &self.0.jit {
            return jit.code_len();
        }
        0
    }

    /// A fresh JIT instance with the module's initial image: in this process, or in a
    /// worker taken from the pool.
    #[cfg(jit_sandbox)]
    pub(crate) fn fresh_jit_instance(
        &self,
        memory_limit: u64,
    ) -> Result<crate::sandbox::JitInstance, Error> {
        use crate::sandbox::{JitInstance, Runner};
        match self.0.jit.as_ref().expect("JIT modules carry their code") {
            JitCode::InProcess(module) => Ok(JitInstance::new(
                self.fresh_address_space(memory_limit, None)?,
                Runner::InProcess(Arc::clone(module)),
                self.metered_table(),
            )),
            JitCode::Worker(code) => {
                let run =
                    crate::sandbox::linux::WorkerRun::take(Arc::clone(code), &self.0.sandbox)?;
                // The address space is built in the worker's memory file and dropped before
                // the worker (`JitInstance` drops its memory first).
                let view = run.reservation_view();
                let memory = self.fresh_address_space(memory_limit, Some(view))?;
                Ok(JitInstance::new(
                    memory,
                    Runner::Worker(run),
                    self.metered_table(),
                ))
            }
        }
    }

    /// The cost table a JIT instance's host side charges by (`None` without metering).
    #[cfg(jit_sandbox)]
    fn metered_table(&self) -> Option<CostTable> {
        let config = &self.0.config;
        config.gas_metering.then(|| config.cost_table.clone())
    }

    /// A fresh JIT address space with the module's initial image: a reservation of its
    /// own, or the host's view of a worker's memory file (which must outlive it).
    #[cfg(jit_sandbox)]
    fn fresh_address_space(
        &self,
        memory_limit: u64,
        view: Option<core::ptr::NonNull<u8>>,
    ) -> Result<crate::sandbox::GuestAddressSpace, Error> {
        use crate::sandbox::{AddressSpaceError, GuestAddressSpace};
        let inner = &self.0;
        let map = inner.access_map.clone().with_limit(memory_limit)?;
        let contents = initial_contents(inner.memory_map.as_ref(), &inner.blob);
        let space = match view {
            None => GuestAddressSpace::new(map, &contents),
            // SAFETY: the caller passes the view of a worker it holds until the address
            // space is dropped, used for nothing else meanwhile.
            Some(view) => unsafe { GuestAddressSpace::new_in_shared_view(view, map, &contents) },
        };
        space.map_err(|e| match e {
            AddressSpaceError::Layout(layout) => Error::from(layout),
            other => Error::Jit(alloc::format!("building the guest address space: {other}")),
        })
    }

    /// Instantiates with fresh memory, within the engine's memory limit.
    pub fn instantiate(&self) -> Result<Instance, Error> {
        Instance::new(self.clone(), self.0.memory_limit)
    }

    /// Instantiates with fresh memory, within `memory_limit` bytes instead of the
    /// engine's limit (see [`Config::memory_limit`](crate::Config::memory_limit)): for
    /// callers whose limit comes with each call, such as a runtime's.
    pub fn instantiate_with_memory_limit(&self, memory_limit: u64) -> Result<Instance, Error> {
        Instance::new(self.clone(), memory_limit)
    }

    pub(crate) fn fresh_memory(&self, memory_limit: u64) -> Result<GuestMemory, Error> {
        let inner = &self.0;
        let map = inner.access_map.clone().with_limit(memory_limit)?;
        let contents = initial_contents(inner.memory_map.as_ref(), &inner.blob);
        Ok(GuestMemory::new(map, &contents)?)
    }

    /// The parsed program.
    pub fn blob(&self) -> &ProgramBlob {
        &self.0.blob
    }

    /// The instruction set of the code.
    pub fn instruction_set(&self) -> InstructionSet {
        self.0.blob.isa
    }

    /// Exported entry points.
    pub fn exports(&self) -> &[Export] {
        &self.0.blob.exports
    }

    /// Import symbols; `ecalli n` calls import `n`.
    pub fn imports(&self) -> &[alloc::string::String] {
        &self.0.blob.imports
    }

    /// The memory layout (standard layout only).
    pub fn memory_map(&self) -> Option<&MemoryMap> {
        self.0.memory_map.as_ref()
    }

    /// The module's settings.
    pub fn config(&self) -> &ModuleConfig {
        &self.0.config
    }

    /// The program counter of an export.
    pub fn export_pc(&self, symbol: &str) -> Option<u32> {
        self.0.blob.export(symbol).map(|e| e.pc)
    }

    /// Whether a basic block starts at `pc` (a valid place to start execution).
    pub fn is_block_start(&self, pc: u32) -> bool {
        #[cfg(jit_sandbox)]
        if let Some(jit) = &self.0.jit {
            return jit.program().block_offset(pc).is_some();
        }
        match &self.0.lazy_starts {
            // (Locating one macro block, for Latest64: a host asks rarely.)
            Some(starts) => starts
                .clone()
                .is_block_start(&self.0.blob.code, self.0.blob.isa, pc),
            None => self.0.code.block_op(pc).is_some(),
        }
    }

    /// Empty interpreter code for a new instance to compile into as it runs, when this
    /// module's interpreter compiles lazily.
    pub(crate) fn lazy_code(&self) -> Option<LazyCode> {
        let starts = self.0.lazy_starts.as_ref()?;
        Some(LazyCode::new(
            &self.0.blob.code,
            &self.0.config.cost_table,
            starts,
        ))
    }
}

/// What an instance's memory starts with: the blob's data sections in the standard
/// layout, nothing in a custom one (its host writes what it needs).
fn initial_contents<'a>(map: Option<&MemoryMap>, blob: &'a ProgramBlob) -> Vec<(u32, &'a [u8])> {
    match map {
        Some(map) => alloc::vec![
            (map.ro_data_address, &blob.ro_data[..]),
            (map.rw_data_address, &blob.rw_data[..]),
        ],
        None => Vec::new(),
    }
}
