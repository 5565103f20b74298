//! A module's compiled code as workers run it: the machine code (the very buffer it was
//! compiled in: a module keeps it rather than a copy), and a jump table of worker
//! addresses, both copied into a worker's code file when it runs the module (the code,
//! `int3` up to the next page, then the table).
//!
//! Code buffers of dropped modules go back to the compiler's pool
//! ([`crate::jit::recycle_code_buffer`]), so that the next compilation emits into memory
//! that is already faulted in.

use super::protocol::{CODE_CAPACITY, PAGE_SIZE, WORKER_CODE_ADDRESS};
use super::sys;
use crate::error::SandboxError;
use crate::jit::{CompiledProgram, INVALID_ENTRY};
use core::sync::atomic::{AtomicU64, Ordering};
use std::vec::Vec;

/// Numbers modules, so a worker knows whether it holds a module's code already.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// `int3`: what a worker's code file holds wherever no code is.
pub(crate) const INT3: u8 = 0xCC;

/// The bytes of `words`, in memory order (little-endian words).
fn as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: the bytes are those of `words`, borrowed for as long; a `u64` has no
    // padding; `u8` needs no alignment.
    unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}

/// Compiled code for the Linux sandbox. The code is position-independent; the jump
/// table holds absolute addresses, which are the same in every worker (the code is
/// always mapped at `WORKER_CODE_ADDRESS`), so it is built once per module.
pub struct WorkerCode {
    id: u64,
    program: CompiledProgram,
    /// The machine code is `code[..code_len]` (the rest is the compiler's room, given
    /// back with it on drop).
    code: Vec<u8>,
    code_len: usize,
    /// A 0 (generated code indexes by `address / 2`) and each jump-table entry's block
    /// address in the worker (0 for an invalid entry).
    jump_table: Vec<u64>,
    /// Where the jump table starts in the code file (page-aligned, after the code).
    jump_table_offset: u64,
}

impl core::fmt::Debug for WorkerCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WorkerCode")
            .field("id", &self.id)
            .field("code_bytes", &self.code_len)
            .field("jump_table_entries", &self.jump_table().len())
            .finish_non_exhaustive()
    }
}

impl Drop for WorkerCode {
    fn drop(&mut self) {
        crate::jit::recycle_code_buffer(core::mem::take(&mut self.code));
    }
}

impl WorkerCode {
    /// Takes `program` and the buffer `code` holding its machine code (its first
    /// `code_len` bytes: as [`crate::jit::Scratch::take_code`] gives them); fails if they
    /// do not fit a worker's code area.
    pub fn new(
        mut program: CompiledProgram,
        code: Vec<u8>,
        code_len: usize,
    ) -> Result<WorkerCode, SandboxError> {
        let code_len = code_len.min(code.len());
        let jump_table_offset = sys::to_u64(code_len).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let entries = program.jump_table.len() + 1;
        let bytes = jump_table_offset + sys::to_u64(entries) * 8;
        if bytes > CODE_CAPACITY {
            crate::jit::recycle_code_buffer(code);
            return Err(SandboxError::CodeTooLarge {
                bytes,
                capacity: CODE_CAPACITY,
            });
        }
        let mut jump_table = Vec::with_capacity(entries);
        jump_table.push(0);
        jump_table.extend(program.jump_table.iter().map(|&offset| {
            if offset == INVALID_ENTRY {
                0
            } else {
                WORKER_CODE_ADDRESS + u64::from(offset)
            }
        }));
        program.code = Vec::new();
        Ok(WorkerCode {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            program,
            code,
            code_len,
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
        self.code_len
    }

    /// The machine code.
    pub(crate) fn code(&self) -> &[u8] {
        self.code.get(..self.code_len).unwrap_or(&[])
    }

    /// Where the jump table starts in a worker's code file (after the code and `int3`
    /// padding up to a page boundary).
    pub(crate) fn jump_table_offset(&self) -> usize {
        sys::to_usize(self.jump_table_offset)
    }

    /// The jump table, with its leading 0.
    pub(crate) fn jump_table(&self) -> &[u64] {
        &self.jump_table
    }

    /// The jump table's bytes, as the code file holds them.
    pub(crate) fn jump_table_bytes(&self) -> &[u8] {
        as_bytes(&self.jump_table)
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
        WORKER_CODE_ADDRESS + sys::to_u64(self.code_len)
    }
}
