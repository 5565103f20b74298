//! The code section: jump table, code bytes and (for bitmask instruction sets) the bitmask
//! of instruction starts.

use super::{write_varint, ProgramError, Reader};
use crate::cast::{u64_from_usize, usize_from_u32};
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
        self.jump_table.get(usize_from_u32(index)).copied()
    }

    /// Builds a section from parts, choosing the smallest entry size that fits (at least
    /// one byte when there are entries, since size 0 makes the table unusable).
    ///
    /// # Panics
    ///
    /// If the jump table has more than `u32::MAX` entries.
    pub fn new(jump_table: Vec<u32>, code: Vec<u8>, bitmask: Vec<u8>) -> CodeSection {
        let max = jump_table.iter().copied().max().unwrap_or(0);
        let needed: u8 = match max {
            0 => 0,
            0x1..=0xff => 1,
            0x100..=0xffff => 2,
            0x1_0000..=0xff_ffff => 3,
            _ => 4,
        };
        let entry_size = if jump_table.is_empty() {
            needed
        } else {
            needed.max(1)
        };
        CodeSection {
            jump_table_len: u32::try_from(jump_table.len())
                .expect("a jump table has at most u32::MAX entries"),
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

    /// The code's length, refused past [`MAX_CODE_SIZE`] as the parser does (a section
    /// built by hand was not parsed).
    pub(crate) fn code_length(&self) -> Result<u32, ProgramError> {
        u32::try_from(self.code.len())
            .ok()
            .filter(|&length| length <= MAX_CODE_SIZE)
            .ok_or(ProgramError::CodeTooLarge {
                size: u64_from_usize(self.code.len()),
                limit: MAX_CODE_SIZE,
            })
    }

    /// Parses the payload of a container's code section.
    pub fn parse_container_payload(
        isa: InstructionSet,
        bytes: &[u8],
    ) -> Result<CodeSection, ProgramError> {
        Self::parse_section(isa, Reader::new(bytes))
    }

    /// Parses a raw code blob (the Graypaper "deblob" layout). Raw blobs always carry a
    /// bitmask, so `isa` must be a bitmask instruction set.
    pub fn parse_raw(isa: InstructionSet, bytes: &[u8]) -> Result<CodeSection, ProgramError> {
        debug_assert!(isa.has_bitmask());
        Self::parse_container_payload(isa, bytes)
    }

    /// Parses a code section: all of `reader`'s bytes.
    pub(crate) fn parse_section(
        isa: InstructionSet,
        mut reader: Reader,
    ) -> Result<CodeSection, ProgramError> {
        let section = Self::parse_from(isa, &mut reader)?;
        debug_assert_eq!(reader.remaining(), 0);
        Ok(section)
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
        // (At most 16 Mi entries of 4 bytes: the product cannot overflow.)
        let table_length =
            entries
                .checked_mul(u32::from(entry_size))
                .ok_or(ProgramError::JumpTableTooLarge {
                    entries,
                    limit: MAX_JUMP_TABLE_ENTRIES,
                })?;
        let table_bytes = reader.read_slice(usize_from_u32(table_length), "jump table")?;
        let jump_table = table_bytes
            .chunks_exact(usize::from(entry_size.max(1)))
            .take(if entry_size == 0 {
                0
            } else {
                usize_from_u32(entries)
            })
            .map(|chunk| {
                let mut value = [0u8; 4];
                value[..chunk.len()].copy_from_slice(chunk);
                u32::from_le_bytes(value)
            })
            .collect();

        let code_length = code_length.map_or(reader.remaining(), usize_from_u32);
        if code_length > usize_from_u32(MAX_CODE_SIZE) {
            return Err(ProgramError::CodeTooLarge {
                size: u64_from_usize(code_length),
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
            // The bits of the last byte past the end of the code must be zero.
            let used_bits = code.len() & 7;
            if used_bits != 0 && bitmask.last().is_some_and(|last| last >> used_bits != 0) {
                return Err(ProgramError::BitmaskPaddingNotZero);
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
    ///
    /// # Panics
    ///
    /// If the code is longer than `u32::MAX` bytes or the entry size is above 4 (a parsed
    /// section has neither).
    pub fn container_payload(&self, isa: InstructionSet) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_container_payload(isa, &mut out)
            .expect("a code section the container format can hold");
        out
    }

    /// Appends [`container_payload`](CodeSection::container_payload); `None` if the code
    /// is too long for the format's 32-bit length or the entry size is above 4.
    pub(crate) fn write_container_payload(
        &self,
        isa: InstructionSet,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let code_length = u32::try_from(self.code.len()).ok()?;
        // (A capacity hint: both lengths are of existing allocations.)
        out.reserve(self.code.len().saturating_add(self.bitmask.len()));
        write_varint(self.jump_table_len, out);
        out.push(self.jump_table_entry_size);
        if isa.has_bitmask() {
            write_varint(code_length, out);
        }
        if self.jump_table_entry_size > 0 {
            for entry in &self.jump_table {
                let bytes = entry.to_le_bytes();
                out.extend_from_slice(bytes.get(..usize::from(self.jump_table_entry_size))?);
            }
        }
        out.extend_from_slice(&self.code);
        if isa.has_bitmask() {
            out.extend_from_slice(&self.bitmask);
        }
        Some(())
    }
}
