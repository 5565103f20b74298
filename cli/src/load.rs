//! Reading program files and parsing the command-line values shared by subcommands.

use anyhow::{anyhow, Context, Result};
use pvm_core::program::BLOB_MAGIC;
use pvm_core::{
    BackendKind, Config, Engine, InstructionSet, ProgramBlob, SandboxConfig, SandboxKind,
};
use std::path::Path;

/// A program read from disk.
#[derive(Debug)]
pub struct LoadedProgram {
    /// The parsed program.
    pub blob: ProgramBlob,
    /// Whether the file was a raw Graypaper code blob rather than a `PVM\0` container.
    pub raw: bool,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Reads a program: a `PVM\0` container, or else a raw Graypaper code blob (the JAM
/// "deblob" code layout, no data, imports or exports).
pub fn load_program(path: &Path) -> Result<LoadedProgram> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_program(bytes).with_context(|| format!("cannot load {}", path.display()))
}

/// [`load_program`] on bytes already read.
pub fn parse_program(bytes: Vec<u8>) -> Result<LoadedProgram> {
    if bytes.starts_with(&BLOB_MAGIC) {
        let blob = ProgramBlob::parse(&bytes).map_err(|e| anyhow!("invalid PVM container: {e}"))?;
        return Ok(LoadedProgram {
            blob,
            raw: false,
            bytes,
        });
    }
    let blob = ProgramBlob::from_raw_code(InstructionSet::Graypaper, &bytes).map_err(|e| {
        anyhow!("not a PVM container (no \"PVM\\0\" magic), and not a valid raw Graypaper code blob either: {e}")
    })?;
    Ok(LoadedProgram {
        blob,
        raw: true,
        bytes,
    })
}

/// Parses an unsigned integer written in decimal or as `0x` hex (underscores allowed).
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let digits = text.replace('_', "");
    let parsed = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    };
    parsed.map_err(|e| format!("{text:?} is not a u64 in decimal or 0x hex: {e}"))
}

/// [`parse_u64`] limited to 32 bits (program counters, sizes).
pub fn parse_u32(text: &str) -> Result<u32, String> {
    let value = parse_u64(text)?;
    u32::try_from(value).map_err(|_| format!("{text:?} does not fit in 32 bits"))
}

/// [`parse_u64`] limited to what the gas counter (an `i64`) holds.
pub fn parse_gas(text: &str) -> Result<i64, String> {
    let value = parse_u64(text)?;
    i64::try_from(value).map_err(|_| format!("gas {text:?} is larger than {}", i64::MAX))
}

/// Parses a backend name with [`BackendKind::from_name`].
pub fn parse_backend(name: &str) -> Result<BackendKind, String> {
    BackendKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = BackendKind::ALL.iter().map(|b| b.name()).collect();
        format!(
            "unknown backend {name:?}: one of {} (\"jit\" and \"crosscheck\" interpret where the JIT cannot run)",
            names.join(", ")
        )
    })
}

/// Parses a sandbox name with [`SandboxKind::from_name`].
pub fn parse_sandbox(name: &str) -> Result<SandboxKind, String> {
    SandboxKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = SandboxKind::ALL.iter().map(|s| s.name()).collect();
        format!("unknown sandbox {name:?}: one of {}", names.join(", "))
    })
}

/// An engine for `backend`, the JIT's code in `sandbox`, with the default settings
/// otherwise.
pub fn engine(backend: BackendKind, sandbox: SandboxKind) -> Result<Engine> {
    Engine::new(&engine_config(backend, sandbox))
        .map_err(|e| anyhow!("cannot create the {} engine: {e}", backend.name()))
}

/// The configuration [`engine`] uses.
pub fn engine_config(backend: BackendKind, sandbox: SandboxKind) -> Config {
    Config {
        backend,
        sandbox: SandboxConfig {
            kind: sandbox,
            ..SandboxConfig::default()
        },
        ..Config::default()
    }
}
