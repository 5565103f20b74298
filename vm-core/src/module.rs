//! A validated, compiled program, ready to instantiate.

use crate::engine::{BackendKind, Engine};
use crate::error::Error;
use crate::gas::CostTable;
use crate::instance::Instance;
use crate::interpreter::{compile, CompiledCode, GuestMemory, PageMapping};
use crate::isa::{decode_code, InstructionSet};
use crate::program::{
    Export, MemoryMap, MemoryMapSizes, ProgramBlob, ADDRESS_SPACE_BOTTOM, MIN_PAGE_SIZE,
};
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
        }
    }
}

pub(crate) struct ModuleInner {
    pub(crate) blob: ProgramBlob,
    pub(crate) config: ModuleConfig,
    pub(crate) memory_map: Option<MemoryMap>,
    /// The interpreter's code (empty when only the JIT runs this module).
    pub(crate) code: CompiledCode,
    pub(crate) memory_limit: u64,
    /// The backend instances run on.
    pub(crate) backend: BackendKind,
    #[cfg(jit_sandbox)]
    pub(crate) jit: Option<Arc<crate::sandbox::generic::JitModule>>,
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
        let memory_map = match &config.memory {
            MemoryLayout::Standard => Some(MemoryMap::new(MemoryMapSizes {
                page_size: config.page_size,
                ro_data_size: blob.ro_data_size,
                rw_data_size: blob.rw_data_size,
                stack_size: blob.stack_size,
                aux_data_size: config.aux_data_size,
            })?),
            MemoryLayout::Custom(pages) => {
                validate_page_map(pages)?;
                None
            }
        };
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
                let module = crate::jit::with_scratch(|scratch| {
                    let program = crate::jit::compile_in(scratch, &blob.code, &options)
                        .map_err(|e| Error::Jit(alloc::format!("compiling: {e}")))?;
                    crate::sandbox::generic::JitModule::new(program, scratch.code())
                        .map_err(|e| Error::Jit(alloc::format!("mapping the code: {e}")))
                })?;
                Some(Arc::new(module))
            }
            BackendKind::Interpreter => None,
        };
        let code = if backend == BackendKind::Jit {
            // The JIT decodes as it compiles; only the interpreter needs the whole stream.
            CompiledCode::default()
        } else {
            let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
            compile(
                &stream,
                &blob.code,
                &config.cost_table,
                config.step_tracing,
                blob.isa,
            )
        };
        Ok(Module(Arc::new(ModuleInner {
            blob,
            config: config.clone(),
            memory_map,
            code,
            memory_limit: engine.config().memory_limit,
            backend,
            #[cfg(jit_sandbox)]
            jit,
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

    /// A fresh JIT instance with the module's initial image.
    #[cfg(jit_sandbox)]
    pub(crate) fn fresh_jit_instance(&self) -> Result<crate::sandbox::generic::JitInstance, Error> {
        let jit = self.0.jit.clone().expect("JIT modules carry their code");
        Ok(crate::sandbox::generic::JitInstance::new(
            jit,
            self.fresh_address_space()?,
        ))
    }

    /// A fresh JIT address space with the module's initial image.
    #[cfg(jit_sandbox)]
    pub(crate) fn fresh_address_space(&self) -> Result<crate::sandbox::GuestAddressSpace, Error> {
        use crate::sandbox::{AddressSpaceError, GuestAddressSpace};
        let inner = &self.0;
        let space = match (&inner.config.memory, &inner.memory_map) {
            (MemoryLayout::Standard, Some(map)) => GuestAddressSpace::standard(
                map,
                &inner.blob.ro_data,
                &inner.blob.rw_data,
                inner.memory_limit,
            ),
            (MemoryLayout::Custom(pages), _) => {
                GuestAddressSpace::custom(pages, &[], inner.memory_limit)
            }
            (MemoryLayout::Standard, None) => unreachable!("standard layouts always have a map"),
        };
        space.map_err(|e| match e {
            AddressSpaceError::MemoryLimitExceeded { required, limit } => {
                Error::MemoryLimit { required, limit }
            }
            other => Error::Jit(alloc::format!("building the guest address space: {other}")),
        })
    }

    /// Instantiates with fresh memory.
    pub fn instantiate(&self) -> Result<Instance, Error> {
        Instance::new(self.clone())
    }

    pub(crate) fn fresh_memory(&self) -> Result<GuestMemory, Error> {
        let inner = &self.0;
        let memory = match (&inner.config.memory, &inner.memory_map) {
            (MemoryLayout::Standard, Some(map)) => GuestMemory::standard(
                map,
                &inner.blob.ro_data,
                &inner.blob.rw_data,
                inner.memory_limit,
            ),
            (MemoryLayout::Custom(pages), _) => GuestMemory::custom(pages, inner.memory_limit),
            (MemoryLayout::Standard, None) => unreachable!("standard layouts always have a map"),
        };
        memory.map_err(|e| Error::MemoryLimit {
            required: e.required,
            limit: e.limit,
        })
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
        self.0.code.block_op(pc).is_some()
    }
}

/// A custom layout maps whole 4 KiB pages at or above 0x10000, inside the 32-bit address
/// space, without overlaps: every page-fault and trap rule of the interpreter relies on it.
fn validate_page_map(pages: &[PageMapping]) -> Result<(), Error> {
    let mut sorted: Vec<&PageMapping> = pages.iter().collect();
    sorted.sort_by_key(|p| p.address);
    let mut previous_end = 0u64;
    for page in sorted {
        let bad = |reason| Error::InvalidPageMapping {
            address: page.address,
            length: page.length,
            reason,
        };
        let end = u64::from(page.address) + u64::from(page.length);
        if page.address % MIN_PAGE_SIZE != 0 || page.length % MIN_PAGE_SIZE != 0 {
            return Err(bad("not aligned to 4 KiB pages"));
        }
        if page.length == 0 {
            return Err(bad("empty"));
        }
        if page.address < ADDRESS_SPACE_BOTTOM {
            return Err(bad("below 0x10000, which is never mapped"));
        }
        if end > 1 << 32 {
            return Err(bad("runs past the end of the 32-bit address space"));
        }
        if u64::from(page.address) < previous_end {
            return Err(bad("overlaps another mapping"));
        }
        previous_end = end;
    }
    Ok(())
}
