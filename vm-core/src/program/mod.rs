//! Program blobs: the `PVM\0` container PolkaVM's linker writes, and the raw code-section
//! format that JAM (Graypaper) code blobs and the conformance vectors use.
//!
//! Parsing is the edge where untrusted bytes become a typed [`ProgramBlob`]: every
//! malformed input gives a [`ProgramError`] that names the problem and its figures, and no
//! allocation exceeds the size of the input.

mod code;
mod memory_map;
mod varint;

pub use code::{CodeSection, MAX_CODE_SIZE, MAX_JUMP_TABLE_ENTRIES};
pub use memory_map::{
    MemoryMap, MemoryMapError, MemoryMapSizes, ADDRESS_SPACE_BOTTOM, MAX_PAGE_SIZE, MIN_PAGE_SIZE,
    RETURN_TO_HOST,
};
pub use varint::{read_varint, write_varint, MAX_VARINT_LENGTH};

use crate::isa::InstructionSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The four bytes every container starts with.
pub const BLOB_MAGIC: [u8; 4] = *b"PVM\0";
/// The most imports a program may declare.
pub const MAX_IMPORTS: u32 = 1024;

const SECTION_MEMORY_CONFIG: u8 = 1;
const SECTION_RO_DATA: u8 = 2;
const SECTION_RW_DATA: u8 = 3;
const SECTION_IMPORTS: u8 = 4;
const SECTION_EXPORTS: u8 = 5;
const SECTION_CODE: u8 = 6;
const SECTION_END_OF_FILE: u8 = 0;
/// Sections with the top bit set are optional (debug info, metadata) and may be skipped.
const SECTION_OPTIONAL_BIT: u8 = 0x80;

/// What is wrong with a program blob.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProgramError {
    /// The blob does not start with `PVM\0`.
    BadMagic,
    /// The version byte names no instruction set we support.
    UnsupportedVersion(u8),
    /// The header's length field disagrees with the blob's size.
    LengthMismatch {
        /// Length the header declares.
        declared: u64,
        /// Actual size.
        actual: u64,
    },
    /// The input ends inside a field.
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
        /// Offset at which it starts.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A varint is malformed, overlong or larger than 32 bits.
    BadVarint {
        /// What was being read.
        what: &'static str,
        /// Offset of the varint.
        offset: usize,
    },
    /// A required section is out of order or unknown.
    UnexpectedSection {
        /// Section id.
        section: u8,
        /// Offset of the section id.
        offset: usize,
    },
    /// A section's declared length disagrees with its contents.
    SectionLengthMismatch {
        /// Section name.
        section: &'static str,
        /// Declared bytes.
        declared: usize,
        /// Bytes its contents use.
        used: usize,
    },
    /// Data payload larger than the size the memory config declares.
    DataExceedsDeclaredSize {
        /// `"ro data"` or `"rw data"`.
        section: &'static str,
        /// Payload bytes.
        payload: usize,
        /// Declared size.
        declared: u32,
    },
    /// More imports than [`MAX_IMPORTS`].
    TooManyImports {
        /// Declared count.
        count: u32,
    },
    /// An import's symbol offsets are out of order or out of bounds.
    BadImportOffsets {
        /// Import index.
        index: u32,
    },
    /// An import or export symbol is not UTF-8.
    SymbolNotUtf8 {
        /// Offset of the symbol.
        offset: usize,
    },
    /// An export points at or past the end of the code.
    ExportOutOfRange {
        /// Export symbol.
        symbol: String,
        /// Its program counter.
        pc: u32,
        /// Code length.
        code_length: u32,
    },
    /// The code section is missing.
    NoCode,
    /// The code is longer than [`MAX_CODE_SIZE`].
    CodeTooLarge {
        /// Code bytes.
        size: u64,
        /// The limit.
        limit: u32,
    },
    /// The jump table has more than [`MAX_JUMP_TABLE_ENTRIES`] entries.
    JumpTableTooLarge {
        /// Declared entries.
        entries: u32,
        /// The limit.
        limit: u32,
    },
    /// The jump-table entry size is not 0..=4.
    BadJumpTableEntrySize(u8),
    /// The bitmask is not `ceil(code_length / 8)` bytes.
    BitmaskLengthMismatch {
        /// Bitmask bytes present.
        bitmask_length: usize,
        /// Bytes the code length requires.
        expected: usize,
    },
    /// The bitmask's padding bits past the end of the code are not zero.
    BitmaskPaddingNotZero,
    /// Bytes follow the end of a raw code blob.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The memory map cannot be built from the declared sizes.
    MemoryMap(MemoryMapError),
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProgramError::*;
        match self {
            BadMagic => write!(f, "not a program blob: it does not start with \"PVM\\0\""),
            UnsupportedVersion(v) => write!(f, "unsupported blob version {v} (supported: 0 ReviveV1, 2 Latest64, 3 JamV1)"),
            LengthMismatch { declared, actual } => {
                write!(f, "the header declares {declared} bytes but the blob is {actual} bytes")
            }
            UnexpectedEnd {
                what,
                offset,
                needed,
                available,
            } => write!(
                f,
                "the blob ends inside the {what} at offset {offset}: {needed} bytes needed, {available} left"
            ),
            BadVarint { what, offset } => write!(f, "malformed varint for the {what} at offset {offset}"),
            UnexpectedSection { section, offset } => {
                write!(f, "unexpected section {section} at offset {offset}")
            }
            SectionLengthMismatch { section, declared, used } => write!(
                f,
                "the {section} section declares {declared} bytes but its contents use {used}"
            ),
            DataExceedsDeclaredSize {
                section,
                payload,
                declared,
            } => write!(
                f,
                "the {section} payload is {payload} bytes, more than the declared size {declared}"
            ),
            TooManyImports { count } => write!(f, "{count} imports, the limit is {MAX_IMPORTS}"),
            BadImportOffsets { index } => write!(f, "the symbol offset of import {index} is out of order or out of bounds"),
            SymbolNotUtf8 { offset } => write!(f, "the symbol at offset {offset} is not UTF-8"),
            ExportOutOfRange { symbol, pc, code_length } => write!(
                f,
                "export {symbol:?} points at {pc}, past the code (length {code_length})"
            ),
            NoCode => write!(f, "the blob has no code section"),
            CodeTooLarge { size, limit } => write!(f, "the code is {size} bytes, the limit is {limit}"),
            JumpTableTooLarge { entries, limit } => {
                write!(f, "the jump table has {entries} entries, the limit is {limit}")
            }
            BadJumpTableEntrySize(size) => write!(f, "jump-table entry size {size} is not in 0..=4"),
            BitmaskLengthMismatch {
                bitmask_length,
                expected,
            } => write!(
                f,
                "the bitmask is {bitmask_length} bytes, the code length requires {expected}"
            ),
            BitmaskPaddingNotZero => write!(f, "the bitmask's padding bits are not zero"),
            TrailingBytes { count } => write!(f, "{count} bytes follow the end of the code blob"),
            MemoryMap(error) => write!(f, "invalid memory layout: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProgramError {}

/// A cursor over untrusted bytes whose every read is bounds-checked.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    pub(crate) fn read_slice(
        &mut self,
        count: usize,
        what: &'static str,
    ) -> Result<&'a [u8], ProgramError> {
        let available = self.remaining();
        if count > available {
            return Err(ProgramError::UnexpectedEnd {
                what,
                offset: self.position,
                needed: count,
                available,
            });
        }
        let slice = &self.bytes[self.position..self.position + count];
        self.position += count;
        Ok(slice)
    }

    pub(crate) fn read_byte(&mut self, what: &'static str) -> Result<u8, ProgramError> {
        Ok(self.read_slice(1, what)?[0])
    }

    pub(crate) fn read_varint(&mut self, what: &'static str) -> Result<u32, ProgramError> {
        let offset = self.position;
        let (value, length) = read_varint(&self.bytes[self.position..])
            .ok_or(ProgramError::BadVarint { what, offset })?;
        self.position += length;
        Ok(value)
    }
}

/// An exported entry point.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Export {
    /// The code offset the export starts at.
    pub pc: u32,
    /// The export's symbol.
    pub symbol: String,
}

/// A parsed, structurally valid program.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProgramBlob {
    /// The instruction set the code is written in.
    pub isa: InstructionSet,
    /// Declared read-only data size (at least `ro_data.len()`; the rest is zero).
    pub ro_data_size: u32,
    /// Declared read-write data size (at least `rw_data.len()`).
    pub rw_data_size: u32,
    /// Stack size.
    pub stack_size: u32,
    /// Initial read-only data.
    pub ro_data: Vec<u8>,
    /// Initial read-write data.
    pub rw_data: Vec<u8>,
    /// Import symbols; `ecalli n` calls import `n`.
    pub imports: Vec<String>,
    /// Exported entry points.
    pub exports: Vec<Export>,
    /// The code, its jump table and (for bitmask instruction sets) its bitmask.
    pub code: CodeSection,
}

impl ProgramBlob {
    /// Parses a `PVM\0` container.
    pub fn parse(bytes: &[u8]) -> Result<ProgramBlob, ProgramError> {
        if bytes.len() < BLOB_MAGIC.len() || bytes[..4] != BLOB_MAGIC {
            return Err(ProgramError::BadMagic);
        }
        let mut reader = Reader::new(bytes);
        reader.read_slice(4, "magic")?;
        let version = reader.read_byte("version")?;
        let isa = InstructionSet::from_blob_version(version)
            .ok_or(ProgramError::UnsupportedVersion(version))?;
        let length = reader.read_slice(8, "blob length")?;
        let declared = u64::from_le_bytes(length.try_into().expect("8 bytes"));
        if declared != bytes.len() as u64 {
            return Err(ProgramError::LengthMismatch {
                declared,
                actual: bytes.len() as u64,
            });
        }

        let mut blob = ProgramBlob {
            isa,
            ro_data_size: 0,
            rw_data_size: 0,
            stack_size: 0,
            ro_data: Vec::new(),
            rw_data: Vec::new(),
            imports: Vec::new(),
            exports: Vec::new(),
            code: CodeSection::default(),
        };

        let mut section_offset = reader.position();
        let mut section = reader.read_byte("section id")?;
        let next_section = |reader: &mut Reader, section: &mut u8, offset: &mut usize| {
            *offset = reader.position();
            *section = reader.read_byte("section id")?;
            Ok::<(), ProgramError>(())
        };

        if section == SECTION_MEMORY_CONFIG {
            let body = read_section_body(&mut reader, "memory config")?;
            let mut inner = Reader::new(body);
            blob.ro_data_size = inner.read_varint("ro data size")?;
            blob.rw_data_size = inner.read_varint("rw data size")?;
            blob.stack_size = inner.read_varint("stack size")?;
            if inner.remaining() != 0 {
                return Err(ProgramError::SectionLengthMismatch {
                    section: "memory config",
                    declared: body.len(),
                    used: inner.position(),
                });
            }
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_RO_DATA {
            blob.ro_data = read_section_body(&mut reader, "ro data")?.to_vec();
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_RW_DATA {
            blob.rw_data = read_section_body(&mut reader, "rw data")?.to_vec();
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_IMPORTS {
            let body = read_section_body(&mut reader, "imports")?;
            blob.imports = parse_imports(body, reader.position() - body.len())?;
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_EXPORTS {
            let body = read_section_body(&mut reader, "exports")?;
            blob.exports = parse_exports(body, reader.position() - body.len())?;
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_CODE {
            let body = read_section_body(&mut reader, "code")?;
            blob.code = CodeSection::parse_container_payload(isa, body)?;
            next_section(&mut reader, &mut section, &mut section_offset)?;
        } else {
            return Err(
                if section & SECTION_OPTIONAL_BIT != 0 || section == SECTION_END_OF_FILE {
                    ProgramError::NoCode
                } else {
                    ProgramError::UnexpectedSection {
                        section,
                        offset: section_offset,
                    }
                },
            );
        }
        while section & SECTION_OPTIONAL_BIT != 0 {
            read_section_body(&mut reader, "optional section")?;
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section != SECTION_END_OF_FILE {
            return Err(ProgramError::UnexpectedSection {
                section,
                offset: section_offset,
            });
        }
        if reader.remaining() != 0 {
            return Err(ProgramError::TrailingBytes {
                count: reader.remaining(),
            });
        }

        blob.validate()?;
        Ok(blob)
    }

    /// Wraps a raw code section (the Graypaper "deblob" layout: jump-table count, entry
    /// size, code length, table, code, bitmask) as a program with no data, imports or
    /// exports. Raw blobs always use a bitmask instruction set.
    pub fn from_raw_code(isa: InstructionSet, bytes: &[u8]) -> Result<ProgramBlob, ProgramError> {
        Ok(ProgramBlob {
            isa,
            ro_data_size: 0,
            rw_data_size: 0,
            stack_size: 0,
            ro_data: Vec::new(),
            rw_data: Vec::new(),
            imports: Vec::new(),
            exports: Vec::new(),
            code: CodeSection::parse_raw(isa, bytes)?,
        })
    }

    fn validate(&self) -> Result<(), ProgramError> {
        if self.ro_data.len() > self.ro_data_size as usize {
            return Err(ProgramError::DataExceedsDeclaredSize {
                section: "ro data",
                payload: self.ro_data.len(),
                declared: self.ro_data_size,
            });
        }
        if self.rw_data.len() > self.rw_data_size as usize {
            return Err(ProgramError::DataExceedsDeclaredSize {
                section: "rw data",
                payload: self.rw_data.len(),
                declared: self.rw_data_size,
            });
        }
        let code_length = self.code.code.len() as u32;
        if let Some(export) = self.exports.iter().find(|e| e.pc >= code_length) {
            return Err(ProgramError::ExportOutOfRange {
                symbol: export.symbol.clone(),
                pc: export.pc,
                code_length,
            });
        }
        Ok(())
    }

    /// The export with this symbol.
    pub fn export(&self, symbol: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.symbol == symbol)
    }

    /// Writes the blob back as a `PVM\0` container. Fails for the Graypaper numbering,
    /// which has no container version.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let version = self.isa.blob_version()?;
        let mut out = Vec::new();
        out.extend_from_slice(&BLOB_MAGIC);
        out.push(version);
        out.extend_from_slice(&[0; 8]);

        let mut body = Vec::new();
        write_varint(self.ro_data_size, &mut body);
        write_varint(self.rw_data_size, &mut body);
        write_varint(self.stack_size, &mut body);
        write_section(&mut out, SECTION_MEMORY_CONFIG, &body);
        if !self.ro_data.is_empty() {
            write_section(&mut out, SECTION_RO_DATA, &self.ro_data);
        }
        if !self.rw_data.is_empty() {
            write_section(&mut out, SECTION_RW_DATA, &self.rw_data);
        }
        if !self.imports.is_empty() {
            let mut body = Vec::new();
            write_varint(self.imports.len() as u32, &mut body);
            let mut offset = 0u32;
            for import in &self.imports {
                body.extend_from_slice(&offset.to_le_bytes());
                offset += import.len() as u32;
            }
            for import in &self.imports {
                body.extend_from_slice(import.as_bytes());
            }
            write_section(&mut out, SECTION_IMPORTS, &body);
        }
        if !self.exports.is_empty() {
            let mut body = Vec::new();
            write_varint(self.exports.len() as u32, &mut body);
            for export in &self.exports {
                write_varint(export.pc, &mut body);
                write_varint(export.symbol.len() as u32, &mut body);
                body.extend_from_slice(export.symbol.as_bytes());
            }
            write_section(&mut out, SECTION_EXPORTS, &body);
        }
        write_section(
            &mut out,
            SECTION_CODE,
            &self.code.container_payload(self.isa),
        );
        out.push(SECTION_END_OF_FILE);
        let length = out.len() as u64;
        out[5..13].copy_from_slice(&length.to_le_bytes());
        Some(out)
    }
}

fn write_section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    out.push(id);
    write_varint(body.len() as u32, out);
    out.extend_from_slice(body);
}

fn read_section_body<'a>(
    reader: &mut Reader<'a>,
    what: &'static str,
) -> Result<&'a [u8], ProgramError> {
    let length = reader.read_varint(what)? as usize;
    reader.read_slice(length, what)
}

fn parse_imports(body: &[u8], base: usize) -> Result<Vec<String>, ProgramError> {
    let mut reader = Reader::new(body);
    let count = reader.read_varint("import count")?;
    if count > MAX_IMPORTS {
        return Err(ProgramError::TooManyImports { count });
    }
    let offsets = reader.read_slice(count as usize * 4, "import offsets")?;
    let symbols = reader.read_slice(reader.remaining(), "import symbols")?;
    let offset_at = |index: usize| {
        u32::from_le_bytes(
            offsets[index * 4..index * 4 + 4]
                .try_into()
                .expect("4 bytes"),
        ) as usize
    };
    let mut imports = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let start = offset_at(index);
        let end = if index + 1 < count as usize {
            offset_at(index + 1)
        } else {
            symbols.len()
        };
        let symbol = symbols
            .get(start..end)
            .ok_or(ProgramError::BadImportOffsets {
                index: index as u32,
            })?;
        let symbol = core::str::from_utf8(symbol).map_err(|_| ProgramError::SymbolNotUtf8 {
            offset: base + reader.position() - symbols.len() + start,
        })?;
        imports.push(String::from(symbol));
    }
    Ok(imports)
}

fn parse_exports(body: &[u8], base: usize) -> Result<Vec<Export>, ProgramError> {
    let mut reader = Reader::new(body);
    let count = reader.read_varint("export count")?;
    // Each export takes at least two bytes, so this bounds the allocation by the input.
    let mut exports = Vec::with_capacity((count as usize).min(body.len() / 2));
    for _ in 0..count {
        let pc = reader.read_varint("export address")?;
        let offset = base + reader.position();
        let length = reader.read_varint("export symbol length")? as usize;
        let symbol = reader.read_slice(length, "export symbol")?;
        let symbol =
            core::str::from_utf8(symbol).map_err(|_| ProgramError::SymbolNotUtf8 { offset })?;
        exports.push(Export {
            pc,
            symbol: String::from(symbol),
        });
    }
    if reader.remaining() != 0 {
        return Err(ProgramError::SectionLengthMismatch {
            section: "exports",
            declared: body.len(),
            used: reader.position(),
        });
    }
    Ok(exports)
}
