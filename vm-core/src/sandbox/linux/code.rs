//! A module's compiled code as workers run it: the image of a worker's code file (the
//! machine code, `int3` up to the next page, then a jump table of worker addresses),
//! copied into a worker's code file when it runs the module.
//!
//! Images of dropped modules go back to a process-wide pool, up to
//! [`MAX_POOLED_BYTES`], as the in-process sandbox's code regions do: a fresh allocation
//! of a few hundred KiB faults in every page (about 1.4 µs per 4 KiB page on a virtual
//! machine), which came to a tenth of a cold call on a 62 KiB blob.

use super::protocol::{CODE_CAPACITY, PAGE_SIZE, WORKER_CODE_ADDRESS};
use super::sys;
use crate::error::SandboxError;
use crate::jit::{CompiledProgram, INVALID_ENTRY};
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::vec::Vec;

/// Numbers modules, so a worker knows whether it holds a module's code already.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// `int3`: what a worker's code file holds wherever no code is.
pub(crate) const INT3: u8 = 0xCC;

/// Pooled images are kept up to this many bytes in all.
const MAX_POOLED_BYTES: usize = 64 << 20;

/// Images of dropped modules, for the next modules to reuse.
static POOL: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());

/// An empty image with room for `words` words: the smallest pooled one that has it, else
/// a new one (growing a smaller one would copy its old bytes for nothing).
fn take_image(words: usize) -> Vec<u64> {
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fitting = pool
        .iter()
        .enumerate()
        .filter(|(_, image)| image.capacity() >= words)
        .min_by_key(|(_, image)| image.capacity())
        .map(|(index, _)| index);
    match fitting {
        Some(index) => {
            let mut image = pool.swap_remove(index);
            image.clear();
            image
        }
        None => Vec::with_capacity(words),
    }
}

/// Keeps `image` for reuse if the pool has room.
fn give_back(image: Vec<u64>) {
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pooled: usize = pool.iter().map(|image| image.capacity() * 8).sum();
    if pooled + image.capacity() * 8 <= MAX_POOLED_BYTES {
        pool.push(image);
    }
}

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
    /// The code file's image: the code, `int3` padding up to `jump_table_offset`, then
    /// a 0 (generated code indexes by `address / 2`) and each jump-table entry's block
    /// address in the worker (0 for an invalid entry). Always `Some` but while dropped.
    image: Option<Vec<u64>>,
    code_len: usize,
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
        if let Some(image) = self.image.take() {
            give_back(image);
        }
    }
}

impl WorkerCode {
    /// Takes `program` and its machine code `code` (the program's `code` field, or the
    /// scratch it was compiled in); fails if they do not fit a worker's code area.
    pub fn new(mut program: CompiledProgram, code: &[u8]) -> Result<WorkerCode, SandboxError> {
        let code_len = sys::to_u64(code.len());
        let jump_table_offset = code_len.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let entries = program.jump_table.len() + 1;
        let bytes = jump_table_offset + sys::to_u64(entries) * 8;
        if bytes > CODE_CAPACITY {
            return Err(SandboxError::CodeTooLarge {
                bytes,
                capacity: CODE_CAPACITY,
            });
        }
        let table_word = sys::to_usize(jump_table_offset / 8);
        let mut image = take_image(table_word + entries);
        // Each byte written once: the code, then `int3` up to the table.
        let mut code_words = code.chunks_exact(8);
        image.extend(
            code_words
                .by_ref()
                .map(|chunk| <[u8; 8]>::try_from(chunk).map_or(0, u64::from_ne_bytes)),
        );
        let tail = code_words.remainder();
        if !tail.is_empty() {
            let mut word = [INT3; 8];
            word[..tail.len()].copy_from_slice(tail);
            image.push(u64::from_ne_bytes(word));
        }
        image.resize(table_word, u64::from_ne_bytes([INT3; 8]));
        image.push(0);
        image.extend(program.jump_table.iter().map(|&offset| {
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
            image: Some(image),
            code_len: code.len(),
            jump_table_offset,
        })
    }

    fn image(&self) -> &[u64] {
        self.image.as_deref().unwrap_or(&[])
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

    /// The code file's image: what a worker's code file holds for this module, from its
    /// start.
    pub(crate) fn image_bytes(&self) -> &[u8] {
        as_bytes(self.image())
    }

    /// The jump table, with its leading 0.
    pub(crate) fn jump_table(&self) -> &[u64] {
        self.image()
            .get(sys::to_usize(self.jump_table_offset / 8)..)
            .unwrap_or(&[])
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
