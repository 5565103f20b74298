//! What `run` and `bench` share: which program and entry point to call, with which
//! arguments, gas and backend; and turning that into a module and a prepared instance.

use crate::load::{self, LoadedProgram};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use pvm_core::{
    BackendKind, Engine, Instance, InstructionSet, Module, ModuleConfig, ProgramBlob, SandboxKind,
};
use std::path::PathBuf;

/// Default gas for a call: plenty for the example programs.
pub const DEFAULT_GAS: i64 = 10_000_000_000;

/// A call of one entry point of a program.
#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("entry").required(true).args(["export", "pc"]))]
pub struct CallArgs {
    /// The program: a `.polkavm` container, or a raw Graypaper code blob (needs `--pc`).
    pub blob: PathBuf,
    /// The export to call.
    #[arg(long, value_name = "NAME")]
    pub export: Option<String>,
    /// The program counter to call instead of an export (decimal or 0x hex).
    #[arg(long, value_name = "PC", value_parser = load::parse_u32)]
    pub pc: Option<u32>,
    /// Arguments, put into a0, a1, .. a5, t0, t1, t2 (u64, decimal or 0x hex).
    #[arg(value_name = "ARGS", value_parser = load::parse_u64)]
    pub args: Vec<u64>,
    /// Gas available to the call (metering is always on).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GAS, value_parser = load::parse_gas)]
    pub gas: i64,
    /// The backend executing the code: `interpreter`, `jit` (x86-64 Linux; elsewhere it
    /// interprets) or `crosscheck` (both in lockstep, stopping at the first divergence).
    #[arg(long, value_name = "NAME", default_value = "interpreter", value_parser = load::parse_backend)]
    pub backend: BackendKind,
    /// Where the JIT's code runs (with `--backend jit` or `crosscheck`): `linux`, a
    /// locked-down worker process (the default), or `generic`, in this process.
    #[arg(long, value_name = "NAME", default_value = "linux", value_parser = load::parse_sandbox)]
    pub sandbox: SandboxKind,
    /// Stack size given to raw code blobs, which declare none (containers declare their own).
    #[arg(long, value_name = "BYTES", default_value_t = 0x10000, value_parser = load::parse_u32)]
    pub raw_stack_size: u32,
}

/// A program loaded and checked against the requested entry point.
pub struct Prepared {
    /// The engine modules are compiled with.
    pub engine: Engine,
    /// The module settings.
    pub config: ModuleConfig,
    /// The program file's bytes.
    pub bytes: Vec<u8>,
    /// Whether the file is a raw Graypaper code blob.
    pub raw: bool,
    /// The stack size raw code blobs get.
    pub raw_stack_size: u32,
    /// The program counter to call.
    pub entry_pc: u32,
}

impl CallArgs {
    /// Loads the program and resolves the entry point; `step_tracing` selects tracing.
    pub fn prepare(&self, step_tracing: bool) -> Result<Prepared> {
        let LoadedProgram { blob, raw, bytes } = load::load_program(&self.blob)?;
        let entry_pc = match (&self.export, self.pc) {
            (Some(name), _) if raw => bail!(
                "{} is a raw code blob, which has no exports (so no {name:?}); call a program counter with --pc N",
                self.blob.display()
            ),
            (Some(name), _) => match blob.export(name) {
                Some(export) => export.pc,
                None => {
                    let names: Vec<&str> = blob.exports.iter().map(|e| e.symbol.as_str()).collect();
                    bail!(
                        "{} has no export named {name:?} (its exports: {})",
                        self.blob.display(),
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    )
                }
            },
            (None, Some(pc)) => pc,
            (None, None) => bail!("give --export NAME or --pc N"),
        };
        let config = ModuleConfig {
            gas_metering: true,
            step_tracing,
            ..ModuleConfig::default()
        };
        Ok(Prepared {
            engine: load::engine(self.backend, self.sandbox)?,
            config,
            bytes,
            raw,
            raw_stack_size: self.raw_stack_size,
            entry_pc,
        })
    }
}

impl Prepared {
    /// Parses and compiles the program from its bytes: `Module::new` for a container, the
    /// raw-blob parser and `Module::from_blob` for a raw code blob.
    pub fn compile(&self) -> Result<Module> {
        let module = if self.raw {
            let mut blob = ProgramBlob::from_raw_code(InstructionSet::Graypaper, &self.bytes)
                .map_err(|e| anyhow!("cannot parse the raw code blob: {e}"))?;
            blob.stack_size = self.raw_stack_size;
            Module::from_blob(&self.engine, &self.config, blob)
        } else {
            Module::new(&self.engine, &self.config, &self.bytes)
        };
        module.map_err(|e| anyhow!("cannot compile: {e}"))
    }

    /// A fresh instance of `module` with the call prepared and `gas` set.
    pub fn instance(&self, module: &Module, args: &[u64], gas: i64) -> Result<Instance> {
        let mut instance = module
            .instantiate()
            .map_err(|e| anyhow!("cannot instantiate: {e}"))?;
        self.prepare(&mut instance, args, gas)?;
        Ok(instance)
    }

    /// Prepares the call of the entry point with `args` on `instance` and sets `gas`.
    pub fn prepare(&self, instance: &mut Instance, args: &[u64], gas: i64) -> Result<()> {
        instance
            .prepare_call(self.entry_pc, args)
            .map_err(|e| anyhow!("cannot prepare the call: {e}"))?;
        instance.set_gas(gas);
        Ok(())
    }
}
