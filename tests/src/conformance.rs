//! Runs JAM PVM conformance vectors (the `jam-pvm-v0.4` JSON format) on pvm-core.
//!
//! Each vector gives a raw Graypaper code blob, a page map, initial memory, registers, pc
//! and gas, and the expected status, registers, pc, gas and memory after running.
//! `expected-memory` lists the non-zero runs of all accessible memory; every other
//! accessible byte must be zero.

use pvm_core::memory::PageMapping;
use pvm_core::{
    Config, Engine, InstructionSet, Interrupt, MemoryLayout, Module, ModuleConfig, ProgramBlob, Reg,
};
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What a vector expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `halt`, `panic` or `page-fault`.
    pub status: String,
    /// The 13 registers.
    pub regs: [u64; 13],
    /// The program counter.
    pub pc: u32,
    /// Remaining gas.
    pub gas: i64,
    /// `(address, bytes)` runs of non-zero memory, merged and sorted.
    pub memory: Vec<(u32, Vec<u8>)>,
    /// The page-fault address, for `page-fault`.
    pub page_fault_address: Option<u32>,
}

/// One parsed vector.
#[derive(Clone, Debug)]
pub struct Vector {
    /// Its name.
    pub name: String,
    program: Vec<u8>,
    regs: [u64; 13],
    pc: u32,
    gas: i64,
    pages: Vec<PageMapping>,
    memory: Vec<(u32, Vec<u8>)>,
    /// The expected outcome.
    pub expected: Outcome,
}

fn field<'a>(value: &'a Value, key: &str) -> Result<&'a Value, String> {
    value
        .get(key)
        .ok_or_else(|| format!("missing field {key:?}"))
}

fn as_u64(value: &Value, what: &str) -> Result<u64, String> {
    value
        .as_u64()
        .ok_or_else(|| format!("{what} is not an unsigned integer: {value}"))
}

fn as_u32(value: &Value, what: &str) -> Result<u32, String> {
    u32::try_from(as_u64(value, what)?).map_err(|_| format!("{what} does not fit in 32 bits"))
}

fn bytes(value: &Value, what: &str) -> Result<Vec<u8>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{what} is not an array"))?
        .iter()
        .map(|b| {
            as_u64(b, what)
                .and_then(|b| u8::try_from(b).map_err(|_| format!("{what} has a byte > 255")))
        })
        .collect()
}

fn regs(value: &Value, what: &str) -> Result<[u64; 13], String> {
    let list = value
        .as_array()
        .ok_or_else(|| format!("{what} is not an array"))?;
    if list.len() != 13 {
        return Err(format!("{what} has {} registers, expected 13", list.len()));
    }
    let mut out = [0; 13];
    for (slot, value) in out.iter_mut().zip(list) {
        *slot = as_u64(value, what)?;
    }
    Ok(out)
}

fn memory_chunks(value: &Value, what: &str) -> Result<Vec<(u32, Vec<u8>)>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{what} is not an array"))?
        .iter()
        .map(|chunk| {
            Ok((
                as_u32(field(chunk, "address")?, what)?,
                bytes(field(chunk, "contents")?, what)?,
            ))
        })
        .collect()
}

/// Merges chunks into sorted runs of non-zero bytes, so two descriptions of the same
/// memory compare equal however they were split.
pub fn normalize_memory(chunks: &[(u32, Vec<u8>)]) -> Vec<(u32, Vec<u8>)> {
    let mut bytes: std::collections::BTreeMap<u32, u8> = Default::default();
    for (address, contents) in chunks {
        for (n, byte) in contents.iter().enumerate() {
            bytes.insert(address + n as u32, *byte);
        }
    }
    let mut runs: Vec<(u32, Vec<u8>)> = Vec::new();
    for (address, byte) in bytes.into_iter().filter(|(_, b)| *b != 0) {
        match runs.last_mut() {
            Some((start, run)) if *start as u64 + run.len() as u64 == address as u64 => {
                run.push(byte)
            }
            _ => runs.push((address, vec![byte])),
        }
    }
    runs
}

impl Vector {
    /// Parses one vector's JSON.
    pub fn parse(json: &str) -> Result<Vector, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
        let pages = field(&value, "initial-page-map")?
            .as_array()
            .ok_or("initial-page-map is not an array")?
            .iter()
            .map(|page| {
                Ok(PageMapping {
                    address: as_u32(field(page, "address")?, "page address")?,
                    length: as_u32(field(page, "length")?, "page length")?,
                    writable: field(page, "is-writable")?
                        .as_bool()
                        .ok_or("is-writable is not a bool")?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let expected_gas = as_u64(field(&value, "expected-gas")?, "expected-gas")?;
        Ok(Vector {
            name: field(&value, "name")?.as_str().unwrap_or("?").to_string(),
            program: bytes(field(&value, "program")?, "program")?,
            regs: regs(field(&value, "initial-regs")?, "initial-regs")?,
            pc: as_u32(field(&value, "initial-pc")?, "initial-pc")?,
            gas: as_u64(field(&value, "initial-gas")?, "initial-gas")? as i64,
            pages,
            memory: memory_chunks(field(&value, "initial-memory")?, "initial-memory")?,
            expected: Outcome {
                status: field(&value, "expected-status")?
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
                regs: regs(field(&value, "expected-regs")?, "expected-regs")?,
                pc: as_u32(field(&value, "expected-pc")?, "expected-pc")?,
                gas: expected_gas as i64,
                memory: normalize_memory(&memory_chunks(
                    field(&value, "expected-memory")?,
                    "expected-memory",
                )?),
                page_fault_address: value
                    .get("expected-page-fault-address")
                    .map(|v| as_u32(v, "expected-page-fault-address"))
                    .transpose()?,
            },
        })
    }

    /// Runs the vector on an engine with `config` (its backend and sandbox) and reports
    /// what happened.
    pub fn run(&self, config: &Config) -> Result<Outcome, String> {
        let engine = Engine::new(config).map_err(|e| e.to_string())?;
        let blob = ProgramBlob::from_raw_code(InstructionSet::Graypaper, &self.program)
            .map_err(|e| e.to_string())?;
        let config = ModuleConfig {
            memory: MemoryLayout::Custom(self.pages.clone()),
            ..ModuleConfig::default()
        };
        let module = Module::from_blob(&engine, &config, blob).map_err(|e| e.to_string())?;
        let mut instance = module.instantiate().map_err(|e| e.to_string())?;
        for (address, contents) in &self.memory {
            instance
                .write_memory(*address, contents)
                .map_err(|e| e.to_string())?;
        }
        for (reg, value) in Reg::ALL.iter().zip(self.regs) {
            instance.set_reg(*reg, value);
        }
        instance.set_gas(self.gas);
        instance.set_next_program_counter(self.pc);
        let (status, page_fault_address) = loop {
            match instance.run().map_err(|e| e.to_string())? {
                Interrupt::Finished => break ("halt", None),
                Interrupt::Trap => break ("panic", None),
                Interrupt::Segfault(fault) => break ("page-fault", Some(fault.page_address)),
                Interrupt::NotEnoughGas => break ("out-of-gas", None),
                Interrupt::Ecalli(n) => break ("host-call", Some(n)),
                Interrupt::Step => continue,
            }
        };
        let mut memory = Vec::new();
        for (address, data, _) in instance.memory_regions() {
            memory.push((address, data.to_vec()));
        }
        Ok(Outcome {
            status: status.to_string(),
            regs: instance.regs(),
            pc: instance.program_counter().unwrap_or(0),
            gas: instance.gas(),
            memory: normalize_memory(&memory),
            page_fault_address,
        })
    }
}

/// A readable description of how `actual` differs from `expected`, or `None` if equal.
pub fn diff(expected: &Outcome, actual: &Outcome) -> Option<String> {
    let mut out = String::new();
    if expected.status != actual.status {
        let _ = writeln!(
            out,
            "  status: expected {}, got {}",
            expected.status, actual.status
        );
    }
    if expected.pc != actual.pc {
        let _ = writeln!(out, "  pc: expected {}, got {}", expected.pc, actual.pc);
    }
    if expected.gas != actual.gas {
        let _ = writeln!(out, "  gas: expected {}, got {}", expected.gas, actual.gas);
    }
    for (n, (e, a)) in expected.regs.iter().zip(&actual.regs).enumerate() {
        if e != a {
            let _ = writeln!(out, "  {}: expected {e:#x}, got {a:#x}", Reg::ALL[n]);
        }
    }
    if expected.status == "page-fault" && expected.page_fault_address != actual.page_fault_address {
        let _ = writeln!(
            out,
            "  page-fault address: expected {:x?}, got {:x?}",
            expected.page_fault_address, actual.page_fault_address
        );
    }
    if expected.memory != actual.memory {
        let _ = writeln!(out, "  memory (non-zero runs):");
        let _ = writeln!(out, "    expected {:x?}", expected.memory);
        let _ = writeln!(out, "    got      {:x?}", actual.memory);
    }
    (!out.is_empty()).then_some(out)
}

/// The result of running a directory of vectors.
#[derive(Debug, Default)]
pub struct Report {
    /// Vectors that matched.
    pub passed: usize,
    /// `(file, explanation)` for every vector that did not.
    pub failures: Vec<(PathBuf, String)>,
}

/// Every `*.json` in `dir`, sorted.
pub fn vector_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Runs one vector file: `Ok(())` on a match, `Err(explanation)` otherwise.
pub fn run_file(path: &Path, config: &Config) -> Result<(), String> {
    let json = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let vector = Vector::parse(&json)?;
    let actual = vector.run(config)?;
    match diff(&vector.expected, &actual) {
        None => Ok(()),
        Some(explanation) => Err(explanation),
    }
}

/// Runs every vector in `dir` on engines with `config`, calling `progress` after each.
pub fn run_dir(
    dir: &Path,
    config: &Config,
    mut progress: impl FnMut(&Path, &Result<(), String>),
) -> std::io::Result<Report> {
    let mut report = Report::default();
    for path in vector_files(dir)? {
        let result = run_file(&path, config);
        progress(&path, &result);
        match result {
            Ok(()) => report.passed += 1,
            Err(explanation) => report.failures.push((path, explanation)),
        }
    }
    Ok(report)
}

/// Where the shared vectors live relative to this workspace (`../shared/...`).
pub fn default_vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/jam-pvm-v0.4/programs")
}
