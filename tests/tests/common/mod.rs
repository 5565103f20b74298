//! The polkavm 0.37 side of the differential tests: a [`Vm`] adapter over polkavm's
//! `RawInstance`, configured to match pvm-core's defaults (interpreter backend, synchronous gas
//! metering, the naive cost model, 4 KiB pages), and helpers that build both VMs from one blob.
//!
//! It lives here rather than in `pvm_tests` because polkavm is only a dev-dependency.

#![allow(dead_code)]

use polkavm::{BackendKind, CostModel, CostModelKind, GasMeteringKind, InterruptKind, RawInstance};
use pvm_core::Reg;
use pvm_tests::differential::{Differential, Exit, MemoryLayout, PvmCoreVm, Vm};

/// polkavm's interpreter behind the [`Vm`] trait.
pub struct PolkaVm {
    pub instance: RawInstance,
}

/// The polkavm configuration every test uses.
pub fn polkavm_engine() -> polkavm::Engine {
    let mut config = polkavm::Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    polkavm::Engine::new(&config).expect("the polkavm interpreter is always available")
}

/// The module configuration matching `pvm_core::ModuleConfig::default()`.
pub fn polkavm_module_config() -> polkavm::ModuleConfig {
    let mut config = polkavm::ModuleConfig::new();
    config.set_page_size(0x1000);
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_cost_model(Some(CostModelKind::Simple(CostModel::naive_ref())));
    config
}

fn to_polkavm_reg(reg: Reg) -> polkavm::Reg {
    polkavm::Reg::ALL[reg.index()]
}

impl PolkaVm {
    /// Parses, compiles and instantiates `bytes` (an error is polkavm rejecting the program).
    pub fn new(
        engine: &polkavm::Engine,
        bytes: &[u8],
    ) -> Result<(PolkaVm, polkavm::Module), String> {
        let blob = polkavm::ProgramBlob::parse(bytes.to_vec().into())
            .map_err(|e| format!("parse: {e}"))?;
        let module = polkavm::Module::from_blob(engine, &polkavm_module_config(), blob)
            .map_err(|e| format!("compile: {e}"))?;
        let instance = module
            .instantiate()
            .map_err(|e| format!("instantiate: {e}"))?;
        Ok((PolkaVm { instance }, module))
    }
}

/// polkavm's memory map in the harness's form.
pub fn polkavm_layout(module: &polkavm::Module) -> MemoryLayout {
    let map = module.memory_map();
    MemoryLayout {
        page_size: map.page_size(),
        ro_data: map.ro_data_range(),
        rw_data: map.rw_data_range(),
        stack: map.stack_range(),
        aux_data: map.aux_data_range(),
        heap_base: map.heap_base(),
        max_heap_size: map.max_heap_size(),
    }
}

impl Vm for PolkaVm {
    fn name(&self) -> &'static str {
        "polkavm"
    }

    fn run(&mut self) -> Result<Exit, String> {
        Ok(match self.instance.run().map_err(|e| e.to_string())? {
            InterruptKind::Finished => Exit::Finished,
            InterruptKind::Trap => Exit::Trap,
            InterruptKind::Ecalli(n) => Exit::Ecalli(n),
            InterruptKind::Segfault(fault) => Exit::Segfault {
                page_address: fault.page_address,
            },
            InterruptKind::NotEnoughGas => Exit::NotEnoughGas,
            InterruptKind::Step => Exit::Step,
        })
    }

    fn reg(&self, reg: Reg) -> u64 {
        self.instance.reg(to_polkavm_reg(reg))
    }

    fn set_reg(&mut self, reg: Reg, value: u64) {
        self.instance.set_reg(to_polkavm_reg(reg), value)
    }

    fn gas(&self) -> i64 {
        self.instance.gas()
    }

    fn set_gas(&mut self, gas: i64) {
        self.instance.set_gas(gas)
    }

    fn program_counter(&self) -> Option<u32> {
        self.instance.program_counter().map(|pc| pc.0)
    }

    fn next_program_counter(&self) -> Option<u32> {
        self.instance.next_program_counter().map(|pc| pc.0)
    }

    fn set_next_program_counter(&mut self, pc: u32) {
        self.instance
            .set_next_program_counter(polkavm::ProgramCounter(pc))
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
        self.instance
            .sbrk(size)
            .expect("the interpreter's sbrk cannot fail")
    }
}

/// Both VMs instantiated from one blob, plus what the test needs to know about the program.
pub struct Pair {
    pub vms: Differential<PvmCoreVm, PolkaVm>,
    /// Export symbols and pcs, as polkavm reads them (checked equal to pvm-core's).
    pub exports: Vec<(String, u32)>,
    /// Import symbols, as polkavm reads them (checked equal to pvm-core's).
    pub imports: Vec<String>,
}

/// Why a blob could not be paired.
#[derive(Debug)]
pub enum PairError {
    /// Both VMs rejected it.
    BothRejected { pvm_core: String, polkavm: String },
    /// Only pvm-core rejected it.
    OnlyPvmCoreRejected(String),
    /// Only polkavm rejected it.
    OnlyPolkaVmRejected(String),
    /// The VMs read the program differently (memory map, exports, imports).
    Mismatch(String),
}

/// Instantiates `bytes` on both VMs and checks that they agree on the memory map, exports and
/// imports.
pub fn pair(engine: &polkavm::Engine, bytes: &[u8]) -> Result<Pair, PairError> {
    let ours = PvmCoreVm::new(bytes);
    let theirs = PolkaVm::new(engine, bytes);
    let (ours, (theirs, module)) = match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => (ours, theirs),
        (Err(pvm_core), Err(polkavm)) => return Err(PairError::BothRejected { pvm_core, polkavm }),
        (Err(error), Ok(_)) => return Err(PairError::OnlyPvmCoreRejected(error)),
        (Ok(_), Err(error)) => return Err(PairError::OnlyPolkaVmRejected(error)),
    };

    let layout = polkavm_layout(&module);
    if ours.layout() != layout {
        return Err(PairError::Mismatch(format!(
            "memory maps differ:\n  pvm-core: {:x?}\n  polkavm:  {layout:x?}",
            ours.layout()
        )));
    }
    let exports: Vec<(String, u32)> = module
        .exports()
        .map(|e| {
            (
                String::from_utf8_lossy(e.symbol().as_bytes()).into_owned(),
                e.program_counter().0,
            )
        })
        .collect();
    let our_exports: Vec<(String, u32)> = ours
        .instance
        .module()
        .exports()
        .iter()
        .map(|e| (e.symbol.clone(), e.pc))
        .collect();
    if exports != our_exports {
        return Err(PairError::Mismatch(format!(
            "exports differ:\n  pvm-core: {our_exports:?}\n  polkavm:  {exports:?}"
        )));
    }
    let imports_list = module.imports();
    let imports: Vec<String> = (0..imports_list.len())
        .map(|i| {
            imports_list
                .get(i)
                .map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned())
                .unwrap_or_default()
        })
        .collect();
    if imports != ours.instance.module().imports() {
        return Err(PairError::Mismatch(format!(
            "imports differ:\n  pvm-core: {:?}\n  polkavm:  {imports:?}",
            ours.instance.module().imports()
        )));
    }
    Ok(Pair {
        vms: Differential::new(ours, theirs, layout),
        exports,
        imports,
    })
}

/// Reads a `u64` environment variable (decimal, `0x` hex, `_` separators allowed).
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => {
            let text = text.replace('_', "");
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number"))
        }
        Err(_) => default,
    }
}
