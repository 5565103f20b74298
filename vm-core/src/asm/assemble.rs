use crate::cast::{low_u32, sign_extend_32, u64_from_usize, usize_from_u32};
use crate::isa::{
    Args, Flow, Format, Instruction, InstructionSet, Opcode, Reg, MACRO_BLOCK_SIZE, MAX_SKIP,
};
use crate::program::{CodeSection, Export, ProgramBlob};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// An assembler error, with the 1-based line it is on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AsmError {
    /// Line number (1-based; 0 for whole-program errors).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AsmError {}

/// An operand before labels are resolved.
#[derive(Clone, Debug)]
enum Operand {
    Reg(Reg),
    Imm(i64),
    Label(String),
}

struct Line {
    number: usize,
    opcode: Opcode,
    operands: Vec<Operand>,
}

fn err(line: usize, message: impl Into<String>) -> AsmError {
    AsmError {
        line,
        message: message.into(),
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits = digits.replace('_', "");
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        // (Past `i64::MAX` a value reads as its two's complement, e.g. `0xffff...ff` as -1.)
        Some(hex) => u64::from_str_radix(hex, 16).ok()?.cast_signed(),
        None => digits.parse::<u64>().ok()?.cast_signed(),
    };
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn parse_operand(text: &str) -> Option<Operand> {
    if let Some(label) = text.strip_prefix('@') {
        return Some(Operand::Label(label.to_string()));
    }
    if let Some(reg) = Reg::from_name(text) {
        return Some(Operand::Reg(reg));
    }
    parse_int(text).map(Operand::Imm)
}

/// Assembles text (see the [module docs](super)) into a program.
pub fn assemble(source: &str) -> Result<ProgramBlob, AsmError> {
    let mut isa = InstructionSet::Latest64;
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
    let mut lines: Vec<Line> = Vec::new();
    // Labels bind to the index of the next instruction.
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    let mut exports: Vec<(String, usize, usize)> = Vec::new();

    for (index, raw_line) in source.lines().enumerate() {
        let number = index + 1;
        let mut text = raw_line;
        for marker in [";", "//"] {
            if let Some(at) = text.find(marker) {
                text = &text[..at];
            }
        }
        let mut text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(directive) = text.strip_prefix('.') {
            let (name, value) = directive
                .split_once(char::is_whitespace)
                .unwrap_or((directive, ""));
            let value = value.trim();
            let number_value = || {
                parse_int(value)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| err(number, format!("expected a 32-bit size, got {value:?}")))
            };
            let hex_bytes = || -> Result<Vec<u8>, AsmError> {
                value
                    .split_whitespace()
                    .map(|b| {
                        u8::from_str_radix(b, 16)
                            .map_err(|_| err(number, format!("bad hex byte {b:?}")))
                    })
                    .collect()
            };
            match name {
                "isa" => {
                    isa = InstructionSet::from_name(value)
                        .ok_or_else(|| err(number, format!("unknown instruction set {value:?}")))?
                }
                "stack_size" => blob.stack_size = number_value()?,
                "ro_data_size" => blob.ro_data_size = number_value()?,
                "rw_data_size" => blob.rw_data_size = number_value()?,
                "ro_data" => blob.ro_data = hex_bytes()?,
                "rw_data" => blob.rw_data = hex_bytes()?,
                "import" => {
                    let symbol = value.trim_matches('"');
                    blob.imports.push(symbol.to_string());
                }
                _ => return Err(err(number, format!("unknown directive .{name}"))),
            }
            continue;
        }
        // Labels, possibly several and possibly followed by an instruction.
        loop {
            let is_export = text.starts_with("pub ");
            let candidate = if is_export {
                text[4..].trim_start()
            } else {
                text
            };
            let Some(rest) = candidate.strip_prefix('@') else {
                break;
            };
            let Some(colon) = rest.find(':') else { break };
            let name = rest[..colon].trim().to_string();
            if name.is_empty() {
                return Err(err(number, "a label needs a name"));
            }
            if labels.insert(name.clone(), lines.len()).is_some() {
                return Err(err(number, format!("label @{name} defined twice")));
            }
            if is_export {
                exports.push((name, lines.len(), number));
            }
            text = rest[colon + 1..].trim();
        }
        if text.is_empty() {
            continue;
        }
        let (mnemonic, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let opcode = Opcode::from_name(mnemonic)
            .ok_or_else(|| err(number, format!("unknown instruction {mnemonic:?}")))?;
        let operands = if rest.trim().is_empty() {
            Vec::new()
        } else {
            rest.split(',')
                .map(|o| {
                    parse_operand(o.trim())
                        .ok_or_else(|| err(number, format!("bad operand {:?}", o.trim())))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        lines.push(Line {
            number,
            opcode,
            operands,
        });
    }
    blob.isa = isa;
    let data_size = |data: &[u8], what: &str| {
        u32::try_from(data.len()).map_err(|_| {
            err(
                0,
                format!("{} bytes of {what}: more than 4 GiB", data.len()),
            )
        })
    };
    blob.ro_data_size = blob.ro_data_size.max(data_size(&blob.ro_data, "ro data")?);
    blob.rw_data_size = blob.rw_data_size.max(data_size(&blob.rw_data, "rw data")?);
    for line in &lines {
        if !isa.supports(line.opcode) {
            return Err(err(
                line.number,
                format!("{} does not exist in {isa}", line.opcode),
            ));
        }
    }

    // Jump-table slots for labels used as immediates, in first-use order.
    let mut jump_table_labels: Vec<String> = Vec::new();
    for line in &lines {
        let format = line.opcode.format();
        for (position, operand) in line.operands.iter().enumerate() {
            if let Operand::Label(name) = operand {
                if !is_target_position(format, position) && !jump_table_labels.contains(name) {
                    jump_table_labels.push(name.clone());
                }
            }
        }
    }

    // Instruction lengths do not depend on label values (offsets are always 4 bytes and
    // jump-table addresses are known), so one layout pass fixes every pc.
    let resolve_imm = |line: &Line, operand: &Operand| -> Result<u32, AsmError> {
        match operand {
            Operand::Imm(value) => {
                if *value < i64::from(i32::MIN) || *value > i64::from(u32::MAX) {
                    return Err(err(
                        line.number,
                        format!("immediate {value} does not fit in 32 bits"),
                    ));
                }
                // The low 32 bits: negative values as their two's complement.
                Ok(low_u32(value.cast_unsigned()))
            }
            Operand::Label(name) => {
                let index = jump_table_labels
                    .iter()
                    .position(|l| l == name)
                    .expect("collected above");
                // Entry `index` is at address `2 * (index + 1)`.
                u32::try_from(index)
                    .ok()
                    .and_then(|index| index.checked_add(1)?.checked_mul(2))
                    .ok_or_else(|| err(line.number, "too many jump-table labels"))
            }
            Operand::Reg(_) => Err(err(line.number, "expected an immediate, found a register")),
        }
    };
    let mut instructions = Vec::with_capacity(lines.len());
    for line in &lines {
        instructions.push(build_instruction(line, &resolve_imm)?);
    }
    let mut pcs = Vec::with_capacity(lines.len() + 1);
    let mut pc = 0u32;
    for (line, instruction) in lines.iter().zip(&instructions) {
        pcs.push(pc);
        let length = encode(isa, instruction, pc, &|_| 0)
            .map_err(|message| err(line.number, message))?
            .len();
        pc = u32::try_from(length)
            .ok()
            .and_then(|length| pc.checked_add(length))
            .ok_or_else(|| err(line.number, "the code is longer than 4 GiB"))?;
    }
    pcs.push(pc);
    let label_pc = |name: &str, line: usize| -> Result<u32, AsmError> {
        labels
            .get(name)
            .map(|&index| pcs[index])
            .ok_or_else(|| err(line, format!("undefined label @{name}")))
    };

    let mut code = Vec::new();
    let mut bitmask_bits: Vec<bool> = Vec::new();
    for ((line, instruction), &pc) in lines.iter().zip(&instructions).zip(&pcs) {
        debug_assert_eq!(u64_from_usize(code.len()), u64::from(pc));
        for operand in &line.operands {
            if let Operand::Label(name) = operand {
                label_pc(name, line.number)?;
            }
        }
        let target_of = |position: usize| -> u32 {
            match &line.operands.get(position) {
                Some(Operand::Label(name)) => label_pc(name, line.number).unwrap_or(0),
                Some(Operand::Imm(value)) => low_u32(value.cast_unsigned()),
                _ => 0,
            }
        };
        let bytes = encode(isa, instruction, pc, &target_of)
            .map_err(|message| err(line.number, message))?;
        if isa == InstructionSet::Latest64 {
            // (In u64: the boundary after the last macro block is 2^32.)
            let end = u64::from(pc) + u64_from_usize(bytes.len());
            let block = u64::from(MACRO_BLOCK_SIZE);
            let boundary = (u64::from(pc) / block + 1) * block;
            if end > boundary || (end == boundary && !instruction.opcode.flow().ends_block()) {
                return Err(err(
                    line.number,
                    "instruction crosses or ends a 1024-byte macro block without ending a basic block",
                ));
            }
        }
        bitmask_bits.push(true);
        bitmask_bits.extend(core::iter::repeat_n(false, bytes.len() - 1));
        code.extend_from_slice(&bytes);
    }
    if isa == InstructionSet::Latest64
        && instructions
            .last()
            .is_some_and(|i| i.opcode.flow() != Flow::Jump)
    {
        // Latest64 code must end its last macro block with a block-ending instruction.
        if !instructions
            .last()
            .is_some_and(|i| i.opcode.flow().ends_block())
        {
            return Err(err(
                0,
                "Latest64 code must end with an instruction that ends a basic block",
            ));
        }
    }

    let mut jump_table = Vec::new();
    for name in &jump_table_labels {
        jump_table.push(label_pc(name, 0)?);
    }
    let bitmask = if isa.has_bitmask() {
        let mut bitmask = alloc::vec![0u8; code.len().div_ceil(8)];
        for (offset, bit) in bitmask_bits.iter().enumerate() {
            if *bit {
                bitmask[offset / 8] |= 1 << (offset % 8);
            }
        }
        bitmask
    } else {
        Vec::new()
    };
    blob.code = CodeSection::new(jump_table, code, bitmask);
    for (name, index, line) in exports {
        if index == lines.len() {
            return Err(err(
                line,
                format!("export @{name} has no instruction after it"),
            ));
        }
        blob.exports.push(Export {
            pc: pcs[index],
            symbol: name,
        });
    }
    Ok(blob)
}

fn is_target_position(format: Format, position: usize) -> bool {
    matches!(
        (format, position),
        (Format::Offset, 0) | (Format::RegImmOffset, 2) | (Format::RegRegOffset, 2)
    )
}

fn build_instruction(
    line: &Line,
    imm: &dyn Fn(&Line, &Operand) -> Result<u32, AsmError>,
) -> Result<Instruction, AsmError> {
    let format = line.opcode.format();
    let expected = match format {
        Format::Argless => 0,
        Format::Imm | Format::Offset => 1,
        Format::ImmImm | Format::RegImm | Format::RegImm64 | Format::RegReg => 2,
        Format::RegImmOffset
        | Format::RegImmImm
        | Format::RegRegImm
        | Format::RegRegOffset
        | Format::RegRegReg => 3,
        Format::RegRegImmImm => 4,
    };
    let ops = &line.operands;
    if ops.len() != expected {
        return Err(err(
            line.number,
            format!(
                "{} takes {expected} operands, found {}",
                line.opcode,
                ops.len()
            ),
        ));
    }
    let reg = |n: usize| match ops[n] {
        Operand::Reg(r) => Ok(r),
        _ => Err(err(
            line.number,
            format!("operand {} of {} must be a register", n + 1, line.opcode),
        )),
    };
    let imm = |n: usize| imm(line, &ops[n]);
    // Targets are filled in at encoding time; keep a placeholder here.
    let args = match format {
        Format::Argless => Args::None,
        Format::Imm => Args::Imm(imm(0)?),
        Format::Offset => Args::Offset(0),
        Format::ImmImm => Args::ImmImm(imm(0)?, imm(1)?),
        Format::RegImm => Args::RegImm(reg(0)?, imm(1)?),
        Format::RegImm64 => {
            let value = match ops[1] {
                Operand::Imm(v) => v.cast_unsigned(),
                _ => u64::from(imm(1)?),
            };
            Args::RegImm64(reg(0)?, value)
        }
        Format::RegImmOffset => Args::RegImmOffset(reg(0)?, imm(1)?, 0),
        Format::RegImmImm => Args::RegImmImm(reg(0)?, imm(1)?, imm(2)?),
        Format::RegRegImm => Args::RegRegImm(reg(0)?, reg(1)?, imm(2)?),
        Format::RegRegOffset => Args::RegRegOffset(reg(0)?, reg(1)?, 0),
        Format::RegRegReg => Args::RegRegReg(reg(0)?, reg(1)?, reg(2)?),
        Format::RegReg => Args::RegReg(reg(0)?, reg(1)?),
        Format::RegRegImmImm => Args::RegRegImmImm(reg(0)?, reg(1)?, imm(2)?, imm(3)?),
    };
    Ok(Instruction {
        opcode: line.opcode,
        args,
    })
}

/// The fewest bytes (0..=4) whose sign extension gives `value`.
fn imm_length(value: u32) -> u8 {
    (0..4)
        .find(|&n| {
            let extended = if n == 0 {
                0
            } else {
                let shift = 32 - 8 * u32::from(n);
                ((value << shift).cast_signed() >> shift).cast_unsigned()
            };
            extended == value
        })
        .unwrap_or(4)
}

/// Appends the low `length` (0..=4) bytes of `value`.
fn push_imm(out: &mut Vec<u8>, value: u32, length: u8) {
    out.extend_from_slice(&value.to_le_bytes()[..usize::from(length)]);
}

/// Encodes one instruction at `pc`; `target(position)` gives the absolute target for an
/// offset operand at that operand position.
pub(crate) fn encode(
    isa: InstructionSet,
    instruction: &Instruction,
    pc: u32,
    target: &dyn Fn(usize) -> u32,
) -> Result<Vec<u8>, String> {
    let lo_hi = |a: Reg, b: Reg| a.nibble() | (b.nibble() << 4);
    let mut args = Vec::new();
    // The length of the trailing immediate is implied by the instruction length; in
    // Latest64 the length is fixed by the opcode, so it may need sign-extension padding.
    let mut tail: Option<u32> = None;
    match instruction.args {
        Args::None => {}
        Args::Imm(x) => tail = Some(x),
        Args::Offset(_) => push_imm(&mut args, target(0).wrapping_sub(pc), 4),
        Args::ImmImm(x, y) => {
            let lx = imm_length(x);
            args.push(lx);
            push_imm(&mut args, x, lx);
            tail = Some(y);
        }
        Args::RegImm(r, x) => {
            args.push(r.nibble());
            tail = Some(x);
        }
        Args::RegImm64(r, x) => {
            args.push(r.nibble());
            args.extend_from_slice(&x.to_le_bytes());
        }
        Args::RegImmOffset(r, x, _) => {
            let lx = imm_length(x);
            args.push(r.nibble() | (lx << 4));
            push_imm(&mut args, x, lx);
            push_imm(&mut args, target(2).wrapping_sub(pc), 4);
        }
        Args::RegImmImm(r, x, y) => {
            let lx = imm_length(x);
            args.push(r.nibble() | (lx << 4));
            push_imm(&mut args, x, lx);
            tail = Some(y);
        }
        Args::RegRegImm(a, b, x) => {
            args.push(lo_hi(a, b));
            tail = Some(x);
        }
        Args::RegRegOffset(a, b, _) => {
            args.push(lo_hi(a, b));
            push_imm(&mut args, target(2).wrapping_sub(pc), 4);
        }
        Args::RegRegReg(d, a, b) => {
            args.push(lo_hi(a, b));
            args.push(d.nibble());
        }
        Args::RegReg(d, s) => args.push(lo_hi(d, s)),
        Args::RegRegImmImm(a, b, x, y) => {
            args.push(lo_hi(a, b));
            let lx = imm_length(x);
            args.push(lx);
            push_imm(&mut args, x, lx);
            tail = Some(y);
        }
    }
    let tail_length = tail.map_or(0, imm_length);

    let mut out = Vec::new();
    if isa.has_bitmask() {
        let opcode = isa
            .opcode_to_byte(instruction.opcode)
            .ok_or_else(|| format!("{} does not exist in {isa}", instruction.opcode))?;
        out.push(opcode);
        out.extend_from_slice(&args);
        if let Some(y) = tail {
            push_imm(&mut out, y, tail_length);
        }
        debug_assert!(out.len() - 1 <= usize_from_u32(MAX_SKIP));
        return Ok(out);
    }

    let needed = args.len() + usize::from(tail_length);
    let &(args_length, raw) = instruction
        .opcode
        .info()
        .latest64
        .iter()
        .find(|(length, _)| usize::from(*length) >= needed)
        .ok_or_else(|| {
            format!(
                "{} has no Latest64 encoding with {needed} argument bytes",
                instruction.opcode
            )
        })?;
    let fill = usize::from(args_length) - args.len();
    // Raw opcodes 0..=254 take one byte; 255..=510 are 255 and a second byte.
    let unencodable = || format!("raw opcode {raw} has no Latest64 encoding");
    match u8::try_from(raw) {
        Ok(byte) if byte < 255 => out.push(byte),
        _ => {
            let second = raw.checked_sub(255).and_then(|n| u8::try_from(n).ok());
            out.push(255);
            out.push(second.ok_or_else(unencodable)?);
        }
    }
    out.extend_from_slice(&args);
    match tail {
        Some(y) => {
            // Sign-extend the trailing immediate over the fixed length (at most 4 bytes
            // are read; anything beyond is padding).
            let extended = sign_extend_32(y).to_le_bytes();
            out.extend_from_slice(&extended[..fill.min(8)]);
            out.resize(out.len() + fill.saturating_sub(8), 0);
        }
        None => out.resize(out.len() + fill, 0),
    }
    Ok(out)
}
