//! The code section: jump table, code bytes and (for bitmask instruction sets) the bitmask
//! of instruction starts.

use super::{write_varint, ProgramError, Reader};
use crate::isa::InstructionSet;
use alloc::vec::Vec;

/// The longest code a program may have (PolkaVM's limit).
pub const MAX_CODE_SIZE: u32 = 32 * 1024 * 1024;
/// The most jump-table entries a program may have (PolkaVM's limit).
pub const MAX_JUMP_TABLE_ENTRIES: u32 = 16 * 1024 * 1024;

/// A program's code.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CodeSection {
    /// Jump-table entries (code offsets). With an entry size of 0 no entries are stored
    /// and, as in PolkaVM, no entry is usable: every dynamic jump traps.
    pub jump_table: Vec<u32>,
    /// The number of jump-table entries.
    pub jump_table_len: u32,
    /// Bytes per jump-table entry, 0..=4, as written.
    pub jump_table_entry_size: u8,
    /// The code bytes.
    pub code: Vec<u8>,
    /// One bit per code byte, set where an instruction starts; empty for Latest64.
    pub bitmask: Vec<u8>,
}

impl CodeSection {
    /// The code offset jump-table entry `index` (0-based) points at; `None` past the end
    /// of the table or when the entry size is 0.
    #[inline]
    pub fn jump_table_entry(&self, index: u32) -> Option<u32> {
        self.jump_table.get(index as usize).copied()
    }

    /// Builds a section from parts, choosing the smallest entry size that fits (at least
    /// one byte when there are entries, since size 0 makes the table unusable).
    pub fn new(jump_table: Vec<u32>, code: Vec<u8>, bitmask: Vec<u8>) -> CodeSection {
        let max = jump_table.iter().copied().max().unwrap_or(0);
        let needed = (4 - max.leading_zeros() / 8) as u8;
        let entry_size = if jump_table.is_empty() {
            needed
        } else {
            needed.max(1)
        };
        CodeSection {
            jump_table_len: jump_table.len() as u32,
            jump_table: if entry_size == 0 {
                Vec::new()
            } else {
                jump_table
            },
            jump_table_entry_size: entry_size,
            code,
            bitmask,
        }
    }

    /// Parses the payload of a container's code section.
    pub fn parse_container_payload(
        isa: InstructionSet,
        bytes: &[u8],
    ) -> Result<CodeSection, ProgramError> {
        let mut reader = Reader::new(bytes);
        let section = Self::parse_from(isa, &mut reader)?;
        debug_assert_eq!(reader.remaining(), 0);
        Ok(section)
    }

    /// Parses a raw code blob (the Graypaper "deblob" layout). Raw blobs always carry a
    /// bitmask, so `isa` must be a bitmask instruction set.
    pub fn parse_raw(isa: InstructionSet, bytes: &[u8]) -> Result<CodeSection, ProgramError> {
        debug_assert!(isa.has_bitmask());
        Self::parse_container_payload(isa, bytes)
    }

    fn parse_from(isa: InstructionSet, reader: &mut Reader) -> Result<CodeSection, ProgramError> {
        let entries = reader.read_varint("jump table entry count")?;
        if entries > MAX_JUMP_TABLE_ENTRIES {
            return Err(ProgramError::JumpTableTooLarge {
                entries,
                limit: MAX_JUMP_TABLE_ENTRIES,
            });
        }
        let entry_size = reader.read_byte("jump table entry size")?;
        if entry_size > 4 {
            return Err(ProgramError::BadJumpTableEntrySize(entry_size));
        }
        let code_length = if isa.has_bitmask() {
            Some(reader.read_varint("code length")?)
        } else {
            None
        };
        let table_bytes =
            reader.read_slice(entries as usize * entry_size as usize, "jump table")?;
        let jump_table = table_bytes
            .chunks_exact(entry_size.max(1) as usize)
            .take(if entry_size == 0 { 0 } else { entries as usize })
            .map(|chunk| {
                let mut value = [0u8; 4];
                value[..chunk.len()].copy_from_slice(chunk);
                u32::from_le_bytes(value)
            })
            .collect();

        let code_length = code_length.map_or(reader.remaining(), |length| length as usize);
        if code_length > MAX_CODE_SIZE as usize {
            return Err(ProgramError::CodeTooLarge {
                size: code_length as u64,
                limit: MAX_CODE_SIZE,
            });
        }
        let code = reader.read_slice(code_length, "code")?.to_vec();

        let mut bitmask = Vec::new();
        if isa.has_bitmask() {
            let expected = code.len().div_ceil(8);
            let present = reader.remaining();
            if present != expected {
                return Err(ProgramError::BitmaskLengthMismatch {
                    bitmask_length: present,
                    expected,
                });
            }
            bitmask = reader.read_slice(present, "bitmask")?.to_vec();
            let padding_bits = expected * 8 - code.len();
            if padding_bits > 0 {
                let last = bitmask[expected - 1];
                if last >> (8 - padding_bits) != 0 {
                    return Err(ProgramError::BitmaskPaddingNotZero);
                }
            }
        }

        Ok(CodeSection {
            jump_table,
            jump_table_len: entries,
            jump_table_entry_size: entry_size,
            code,
            bitmask,
        })
    }

    /// Serializes the section as a container's code-section payload (for bitmask
    /// instruction sets this is also the raw code-blob format).
    pub fn container_payload(&self, isa: InstructionSet) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.code.len() + self.bitmask.len() + 16);
        write_varint(self.jump_table_len, &mut out);
        out.push(self.jump_table_entry_size);
        if isa.has_bitmask() {
            write_varint(self.code.len() as u32, &mut out);
        }
        if self.jump_table_entry_size > 0 {
            for entry in &self.jump_table {
                out.extend_from_slice(&entry.to_le_bytes()[..self.jump_table_entry_size as usize]);
            }
        }
        out.extend_from_slice(&self.code);
        if isa.has_bitmask() {
            out.extend_from_slice(&self.bitmask);
        }
        out
    }
}
