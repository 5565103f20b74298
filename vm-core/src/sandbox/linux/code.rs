//! A module's compiled code as workers run it: the machine code and a jump table of
//! worker addresses, copied into a worker's code file when it runs the module.

use super::protocol::{CODE_CAPACITY, PAGE_SIZE, WORKER_CODE_ADDRESS};
use super::sys;
use crate::error::SandboxError;
use crate::jit::{CompiledProgram, INVALID_ENTRY};
use core::sync::atomic::{AtomicU64, Ordering};
use std::boxed::Box;
use std::vec::Vec;

/// Numbers modules, so a worker knows whether it holds a module's code already.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Compiled code for the Linux sandbox. The code is position-independent; the jump
/// table holds absolute addresses, which are the same in every worker (the code is
/// always mapped at `WORKER_CODE_ADDRESS`), so it is built once per module.
pub struct WorkerCode {
    id: u64,
    program: CompiledProgram,
    code: Box<[u8]>,
    /// A 0 (generated code indexes by `address / 2`), then each jump-table entry's block
    /// address in the worker (0 for an invalid entry).
    jump_table: Box<[u64]>,
    /// Where the jump table starts in the code file (page-aligned, after the code).
    jump_table_offset: u64,
}

impl core::fmt::Debug for WorkerCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WorkerCode")
            .field("id", &self.id)
            .field("code_bytes", &self.code.len())
            .field("jump_table_entries", &self.jump_table.len())
            .finish_non_exhaustive()
    }
}

impl WorkerCode {
    /// Takes `program` and its machine code `code` (the program's `code` field, or the
    /// scratch it was compiled in); fails if they do not fit a worker's code area.
    pub fn new(mut program: CompiledProgram, code: &[u8]) -> Result<WorkerCode, SandboxError> {
        let code_len = sys::to_u64(code.len());
        let jump_table_offset = code_len.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let jump_table: Box<[u64]> = core::iter::once(0)
            .chain(program.jump_table.iter().map(|&offset| {
                if offset == INVALID_ENTRY {
                    0
                } else {
                    WORKER_CODE_ADDRESS + u64::from(offset)
                }
            }))
            .collect();
        let bytes = jump_table_offset + sys::to_u64(jump_table.len()) * 8;
        if bytes > CODE_CAPACITY {
            return Err(SandboxError::CodeTooLarge {
                bytes,
                capacity: CODE_CAPACITY,
            });
        }
        program.code = Vec::new();
        Ok(WorkerCode {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            program,
            code: code.into(),
            jump_table,
            jump_table_offset,
        })
    }

    /// This module's number (unique in the process).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The compiled program's metadata.
    pub fn program(&self) -> &CompiledProgram {
        &self.program
    }

    /// Bytes of machine code.
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    pub(crate) fn code(&self) -> &[u8] {
        &self.code
    }

    /// The jump table, with its leading 0.
    pub(crate) fn jump_table(&self) -> &[u64] {
        &self.jump_table
    }

    /// The jump table as the bytes the code file holds.
    pub(crate) fn jump_table_bytes(&self) -> Vec<u8> {
        self.jump_table
            .iter()
            .flat_map(|entry| entry.to_le_bytes())
            .collect()
    }

    pub(crate) fn jump_table_offset(&self) -> u64 {
        self.jump_table_offset
    }

    /// The jump table's address in a worker.
    pub(crate) fn jump_table_address(&self) -> u64 {
        WORKER_CODE_ADDRESS + self.jump_table_offset
    }

    /// The entry trampoline's address in a worker.
    pub(crate) fn entry_address(&self) -> u64 {
        WORKER_CODE_ADDRESS + u64::from(self.program.entry_offset)
    }

    /// The exit path's address in a worker.
    pub(crate) fn exit_address(&self) -> u64 {
        WORKER_CODE_ADDRESS + u64::from(self.program.exit_offset)
    }

    /// One past the code's last byte in a worker.
    pub(crate) fn code_end(&self) -> u64 {
        WORKER_CODE_ADDRESS + sys::to_u64(self.code.len())
    }
}
