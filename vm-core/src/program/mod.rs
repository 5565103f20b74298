//! Program blobs: the `PVM\0` container PolkaVM's linker writes, and the raw code-section
//! format that JAM (Graypaper) code blobs and the conformance vectors use.
//!
//! Parsing is the edge where untrusted bytes become a typed [`ProgramBlob`]: every
//! malformed input gives a [`ProgramError`] that names the problem and its figures, and no
//! allocation exceeds the size of the input.

// The parser runs inside the runtime, where `usize` is 32 bits: sizes and offsets are
// computed with checked arithmetic (a read past the end is an error on every width),
// conversions go through `crate::cast` or `TryFrom`, and these lints keep it so. The few
// sums that are safe by construction say why, in an `#[expect]`.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::cast_possible_truncation
)]

mod code;
mod memory_map;
mod varint;

pub use code::{CodeSection, MAX_CODE_SIZE, MAX_JUMP_TABLE_ENTRIES};
pub use memory_map::{
    MemoryMap, MemoryMapError, MemoryMapSizes, ADDRESS_SPACE_BOTTOM, MAX_PAGE_SIZE, MIN_PAGE_SIZE,
    RETURN_TO_HOST,
};
pub use varint::{read_varint, write_varint, MAX_VARINT_LENGTH};

use crate::cast::{u64_from_usize, usize_from_u32};
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
///
/// Offsets are the input's own (a section's reader reports offsets in the whole blob), and
/// no arithmetic on them can overflow: the only sum, `position + count`, is checked.
pub(crate) struct Reader<'a> {
    /// The input, up to where this reader must stop (the end of its section).
    bytes: &'a [u8],
    /// Where this reader started: its section's first byte.
    start: usize,
    /// The next byte to read; `start <= position <= bytes.len()`.
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            start: 0,
            position: 0,
        }
    }

    /// The offset of the next byte in the input.
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    /// Bytes left before this reader's end.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.get(self.position..).map_or(0, <[u8]>::len)
    }

    /// Bytes read since this reader's start.
    pub(crate) fn consumed(&self) -> usize {
        self.bytes
            .get(self.start..self.position)
            .map_or(0, <[u8]>::len)
    }

    /// This reader's whole length, from its start to its end.
    pub(crate) fn length(&self) -> usize {
        self.bytes.get(self.start..).map_or(0, <[u8]>::len)
    }

    pub(crate) fn read_slice(
        &mut self,
        count: usize,
        what: &'static str,
    ) -> Result<&'a [u8], ProgramError> {
        let read = self
            .position
            .checked_add(count)
            .and_then(|end| Some((end, self.bytes.get(self.position..end)?)));
        let Some((end, slice)) = read else {
            return Err(ProgramError::UnexpectedEnd {
                what,
                offset: self.position,
                needed: count,
                available: self.remaining(),
            });
        };
        self.position = end;
        Ok(slice)
    }

    pub(crate) fn read_byte(&mut self, what: &'static str) -> Result<u8, ProgramError> {
        Ok(self.read_slice(1, what)?[0])
    }

    pub(crate) fn read_varint(&mut self, what: &'static str) -> Result<u32, ProgramError> {
        let offset = self.position;
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let (value, length) = read_varint(rest).ok_or(ProgramError::BadVarint { what, offset })?;
        self.read_slice(length, what)?;
        Ok(value)
    }

    /// Reads a section's varint length and returns a reader over its body, which reports
    /// offsets in this reader's input and stops at the body's end.
    pub(crate) fn read_section(&mut self, what: &'static str) -> Result<Reader<'a>, ProgramError> {
        let length = usize_from_u32(self.read_varint(what)?);
        let start = self.position;
        self.read_slice(length, what)?;
        Ok(Reader {
            bytes: self.bytes.get(..self.position).unwrap_or_default(),
            start,
            position: start,
        })
    }

    /// Everything left, as one slice.
    pub(crate) fn read_rest(&mut self, what: &'static str) -> Result<&'a [u8], ProgramError> {
        self.read_slice(self.remaining(), what)
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
        if !bytes.starts_with(&BLOB_MAGIC) {
            return Err(ProgramError::BadMagic);
        }
        let mut reader = Reader::new(bytes);
        reader.read_slice(BLOB_MAGIC.len(), "magic")?;
        let version = reader.read_byte("version")?;
        let isa = InstructionSet::from_blob_version(version)
            .ok_or(ProgramError::UnsupportedVersion(version))?;
        let length = reader.read_slice(8, "blob length")?;
        let declared = u64::from_le_bytes(length.try_into().expect("8 bytes"));
        let actual = u64_from_usize(bytes.len());
        if declared != actual {
            return Err(ProgramError::LengthMismatch { declared, actual });
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
            let mut inner = reader.read_section("memory config")?;
            blob.ro_data_size = inner.read_varint("ro data size")?;
            blob.rw_data_size = inner.read_varint("rw data size")?;
            blob.stack_size = inner.read_varint("stack size")?;
            if inner.remaining() != 0 {
                return Err(ProgramError::SectionLengthMismatch {
                    section: "memory config",
                    declared: inner.length(),
                    used: inner.consumed(),
                });
            }
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_RO_DATA {
            blob.ro_data = reader
                .read_section("ro data")?
                .read_rest("ro data")?
                .to_vec();
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_RW_DATA {
            blob.rw_data = reader
                .read_section("rw data")?
                .read_rest("rw data")?
                .to_vec();
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_IMPORTS {
            blob.imports = parse_imports(reader.read_section("imports")?)?;
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_EXPORTS {
            blob.exports = parse_exports(reader.read_section("exports")?)?;
            next_section(&mut reader, &mut section, &mut section_offset)?;
        }
        if section == SECTION_CODE {
            blob.code = CodeSection::parse_section(isa, reader.read_section("code")?)?;
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
            reader.read_section("optional section")?;
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
        if self.ro_data.len() > usize_from_u32(self.ro_data_size) {
            return Err(ProgramError::DataExceedsDeclaredSize {
                section: "ro data",
                payload: self.ro_data.len(),
                declared: self.ro_data_size,
            });
        }
        if self.rw_data.len() > usize_from_u32(self.rw_data_size) {
            return Err(ProgramError::DataExceedsDeclaredSize {
                section: "rw data",
                payload: self.rw_data.len(),
                declared: self.rw_data_size,
            });
        }
        let code_length = self.code.code_length()?;
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
    /// which has no container version, and when a count or length does not fit the
    /// format's 32-bit fields (only a blob built by hand can have one).
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
        write_section(&mut out, SECTION_MEMORY_CONFIG, &body)?;
        if !self.ro_data.is_empty() {
            write_section(&mut out, SECTION_RO_DATA, &self.ro_data)?;
        }
        if !self.rw_data.is_empty() {
            write_section(&mut out, SECTION_RW_DATA, &self.rw_data)?;
        }
        if !self.imports.is_empty() {
            let mut body = Vec::new();
            write_varint(u32::try_from(self.imports.len()).ok()?, &mut body);
            let mut offset = 0u32;
            for import in &self.imports {
                body.extend_from_slice(&offset.to_le_bytes());
                offset = offset.checked_add(u32::try_from(import.len()).ok()?)?;
            }
            for import in &self.imports {
                body.extend_from_slice(import.as_bytes());
            }
            write_section(&mut out, SECTION_IMPORTS, &body)?;
        }
        if !self.exports.is_empty() {
            let mut body = Vec::new();
            write_varint(u32::try_from(self.exports.len()).ok()?, &mut body);
            for export in &self.exports {
                write_varint(export.pc, &mut body);
                write_varint(u32::try_from(export.symbol.len()).ok()?, &mut body);
                body.extend_from_slice(export.symbol.as_bytes());
            }
            write_section(&mut out, SECTION_EXPORTS, &body)?;
        }
        let mut body = Vec::new();
        self.code.write_container_payload(self.isa, &mut body)?;
        write_section(&mut out, SECTION_CODE, &body)?;
        out.push(SECTION_END_OF_FILE);
        let length = u64_from_usize(out.len());
        out[5..13].copy_from_slice(&length.to_le_bytes());
        Some(out)
    }
}

/// Appends a section; `None` if the body is too long for its 32-bit length.
fn write_section(out: &mut Vec<u8>, id: u8, body: &[u8]) -> Option<()> {
    let length = u32::try_from(body.len()).ok()?;
    out.push(id);
    write_varint(length, out);
    out.extend_from_slice(body);
    Some(())
}

fn parse_imports(mut reader: Reader) -> Result<Vec<String>, ProgramError> {
    let count = reader.read_varint("import count")?;
    // (At most 1024 imports of 4 bytes: the product cannot overflow.)
    let offsets_length = count
        .checked_mul(4)
        .filter(|_| count <= MAX_IMPORTS)
        .ok_or(ProgramError::TooManyImports { count })?;
    let offsets = reader.read_slice(usize_from_u32(offsets_length), "import offsets")?;
    let symbols_offset = reader.position();
    let symbols = reader.read_rest("import symbols")?;
    let (offsets, _) = offsets.as_chunks::<4>();
    let starts = offsets
        .iter()
        .map(|offset| usize_from_u32(u32::from_le_bytes(*offset)));
    // Each symbol ends where the next starts; the last at the end of the section.
    let ends = starts
        .clone()
        .skip(1)
        .chain(core::iter::once(symbols.len()));
    let mut imports = Vec::with_capacity(offsets.len());
    for (index, (start, end)) in (0..count).zip(starts.zip(ends)) {
        let symbol = symbols
            .get(start..end)
            .ok_or(ProgramError::BadImportOffsets { index })?;
        let symbol = core::str::from_utf8(symbol).map_err(|_| {
            #[expect(
                clippy::arithmetic_side_effects,
                reason = "`start` is inside `symbols`, which is inside the input: the sum is an offset in the input"
            )]
            let offset = symbols_offset + start;
            ProgramError::SymbolNotUtf8 { offset }
        })?;
        imports.push(String::from(symbol));
    }
    Ok(imports)
}

fn parse_exports(mut reader: Reader) -> Result<Vec<Export>, ProgramError> {
    let count = reader.read_varint("export count")?;
    // Each export takes at least two bytes, so this bounds the allocation by the input.
    let mut exports = Vec::with_capacity(usize_from_u32(count).min(reader.length() / 2));
    for _ in 0..count {
        let pc = reader.read_varint("export address")?;
        let offset = reader.position();
        let length = usize_from_u32(reader.read_varint("export symbol length")?);
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
            declared: reader.length(),
            used: reader.consumed(),
        });
    }
    Ok(exports)
}
