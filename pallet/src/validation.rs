//! Code validation, done once at upload: after it, calls trust the stored code.

use crate::abi::{Syscall, CALL_EXPORT, DEPLOY_EXPORT};
use alloc::string::String;
use core::fmt;
use pvm_core::isa::decode_code;
use pvm_core::{InstructionSet, ProgramBlob, ProgramError};
use pvm_host_functions::{Engine, EngineLimits, EngineSession, HostError};

/// The instruction sets a contract may be written in: the two 64-bit sets PolkaVM's
/// linker writes for contracts (`ReviveV1`, blob version 0, and `Latest64`, version 2).
pub const ALLOWED_INSTRUCTION_SETS: [InstructionSet; 2] =
    [InstructionSet::ReviveV1, InstructionSet::Latest64];

/// What validation learned about accepted code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ValidatedCode {
    /// The blob's instruction set, as its container version byte.
    pub blob_version: u8,
    /// Length of the blob in bytes.
    pub code_len: u32,
}

/// Why code was refused, with the figures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ValidationError {
    /// The blob is longer than the limit.
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        limit: u32,
    },
    /// The blob is not a well-formed `PVM\0` container.
    Malformed(ProgramError),
    /// The blob's instruction set is not one contracts may use.
    UnsupportedInstructionSet(InstructionSet),
    /// The blob imports a symbol that is no syscall.
    UnknownImport(String),
    /// A required export is missing.
    MissingExport(&'static str),
    /// The code holds an instruction that does not decode.
    InvalidInstruction {
        /// Its program counter.
        pc: u32,
    },
    /// A basic block has more instructions than allowed.
    BasicBlockTooLarge {
        /// Where the block starts.
        pc: u32,
        /// Instructions counted before the limit was passed.
        len: u32,
        /// The limit.
        limit: u32,
    },
    /// The engine refused to compile or instantiate it (for example, its memory image does
    /// not fit in an instance's memory limit).
    Engine(HostError),
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::TooLarge { len, limit } => {
                write!(f, "code is {len} bytes, the limit is {limit}")
            }
            ValidationError::Malformed(error) => write!(f, "malformed blob: {error}"),
            ValidationError::UnsupportedInstructionSet(isa) => write!(
                f,
                "instruction set {isa:?} is not allowed (allowed: {ALLOWED_INSTRUCTION_SETS:?})"
            ),
            ValidationError::UnknownImport(symbol) => {
                write!(f, "import {symbol:?} is not a syscall of the contract ABI")
            }
            ValidationError::MissingExport(symbol) => write!(f, "no export named {symbol:?}"),
            ValidationError::InvalidInstruction { pc } => {
                write!(f, "invalid instruction at pc {pc}")
            }
            ValidationError::BasicBlockTooLarge { pc, len, limit } => write!(
                f,
                "basic block at pc {pc} has at least {len} instructions, the limit is {limit}"
            ),
            ValidationError::Engine(error) => write!(f, "the engine refuses the code: {error}"),
        }
    }
}

/// The container version byte of an instruction set.
pub fn blob_version(isa: InstructionSet) -> u8 {
    match isa {
        InstructionSet::ReviveV1 => 0,
        InstructionSet::Latest64 => 2,
        InstructionSet::JamV1 => 3,
        // Raw Graypaper code has no container; it never gets this far.
        InstructionSet::Graypaper => u8::MAX,
    }
}

/// Checks everything about `code` that a call relies on: size, container, instruction set,
/// imports, exports, instructions, basic-block sizes, and that the engine compiles and
/// instantiates it.
pub fn validate(
    code: &[u8],
    limits: &EngineLimits,
    max_basic_block_len: u32,
) -> Result<ValidatedCode, ValidationError> {
    let code_len = u32::try_from(code.len()).unwrap_or(u32::MAX);
    if code_len > limits.max_code_len {
        return Err(ValidationError::TooLarge {
            len: code.len(),
            limit: limits.max_code_len,
        });
    }
    let blob = ProgramBlob::parse(code).map_err(ValidationError::Malformed)?;
    if !ALLOWED_INSTRUCTION_SETS.contains(&blob.isa) {
        return Err(ValidationError::UnsupportedInstructionSet(blob.isa));
    }
    if let Some(symbol) = blob
        .imports
        .iter()
        .find(|symbol| Syscall::from_symbol(symbol.as_bytes()).is_none())
    {
        return Err(ValidationError::UnknownImport(symbol.clone()));
    }
    for export in [DEPLOY_EXPORT, CALL_EXPORT] {
        if blob.export(export).is_none() {
            return Err(ValidationError::MissingExport(export));
        }
    }
    let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
    let mut block_start = 0;
    let mut block_len = 0u32;
    for (instruction, &starts_block) in stream.instructions.iter().zip(&stream.block_starts) {
        // The implicit trap after the end of the code has length 0 and is not the blob's.
        if instruction.length == 0 {
            continue;
        }
        if instruction.instruction.is_none() {
            return Err(ValidationError::InvalidInstruction { pc: instruction.pc });
        }
        if starts_block {
            block_start = instruction.pc;
            block_len = 0;
        }
        block_len += 1;
        if block_len > max_basic_block_len {
            return Err(ValidationError::BasicBlockTooLarge {
                pc: block_start,
                len: block_len,
                limit: max_basic_block_len,
            });
        }
    }
    // The runtime's own interpreter, under the runtime's limits: what is accepted here is
    // what every engine runs.
    let mut session = EngineSession::default();
    let module = session
        .compile(code, None, limits)
        .map_err(ValidationError::Engine)?;
    session
        .instantiate(module.module, limits)
        .map_err(ValidationError::Engine)?;
    Ok(ValidatedCode {
        blob_version: blob_version(blob.isa),
        code_len,
    })
}
