//! Random PVM programs for differential fuzzing, written as pvm-core assembler text
//! (`pvm_core::asm`), so a failing program prints as a readable reproducer.
//!
//! A program is one export `main` with a random memory configuration (read-only data,
//! read-write data, stack), a few imports, and a body of random instructions covering every
//! opcode the instruction set has, mixed with short *idioms* that make execution meaningful:
//! loads and stores at addresses near the edges of every region (and some invalid ones),
//! division by zero and `MIN / -1`, shifts by 32/64 and more, `sbrk` and `memset` with bounded
//! sizes, `ecalli`, counted loops, and dynamic jumps through the jump table (valid and invalid
//! addresses). Basic blocks end with random terminators; branches go forwards and backwards to
//! labels, and with [`GenConfig::mid_block_targets`] also to labels inside basic blocks. The
//! body ends with `jump_indirect ra, 0` (or `trap`).
//!
//! Every program is deterministic in its [`Rng`], and keeps each idiom in one *group* of lines
//! so [`Program::without_group`] can shrink a failing program without breaking an idiom apart.

use crate::rng::Rng;
use pvm_core::isa::{Format, InstructionSet, Opcode};
use pvm_core::program::{MemoryMap, MemoryMapSizes, RETURN_TO_HOST};
use std::fmt::Write;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// The instruction set (`ReviveV1`, `JamV1` or `Latest64`).
    pub isa: InstructionSet,
    /// Let branches and jump-table entries target labels in the middle of basic blocks (and
    /// at the end of the code), not only basic-block starts.
    pub mid_block_targets: bool,
    /// Opcodes never to generate (to isolate a known divergence while looking for others).
    pub excluded: Vec<Opcode>,
    /// Upper bound on the number of body items (instructions or idioms).
    pub max_items: usize,
}

impl GenConfig {
    /// The default configuration for an instruction set.
    pub fn new(isa: InstructionSet) -> GenConfig {
        GenConfig {
            isa,
            mid_block_targets: true,
            excluded: Vec::new(),
            max_items: 48,
        }
    }
}

/// One line of a program body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Line {
    /// `@name:`, a label for the next instruction.
    Label(String),
    /// An instruction; lines with the same `group` form one idiom and are removed together.
    Instruction {
        /// Assembler text.
        text: String,
        /// Idiom id (0 for lines that must never be removed).
        group: u32,
    },
}

/// A generated program and the way to run it.
#[derive(Clone, Debug)]
pub struct Program {
    /// The instruction set.
    pub isa: InstructionSet,
    /// Directives: `.isa`, memory sizes and data, imports.
    pub header: Vec<String>,
    /// `pub @main:` followed by the body.
    pub body: Vec<Line>,
    /// Arguments of the call (`A0..A5, T0..T2`).
    pub args: Vec<u64>,
    /// Gas at the start.
    pub gas: i64,
    /// Gas added after each `NotEnoughGas`, in order; after the last one the run ends.
    pub refills: Vec<i64>,
}

impl Program {
    /// The complete assembler source.
    pub fn source(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(line);
            out.push('\n');
        }
        for line in &self.body {
            match line {
                Line::Label(name) => {
                    let _ = writeln!(out, "{name}:");
                }
                Line::Instruction { text, .. } => {
                    let _ = writeln!(out, "    {text}");
                }
            }
        }
        out
    }

    /// Assembles the program into a `PVM\0` container. For Latest64, an instruction that
    /// would straddle or badly end a 1024-byte macro block gets `fallthrough` padding before
    /// it (recorded in the body, so [`Program::source`] shows the assembled text).
    pub fn assemble(&mut self) -> Result<Vec<u8>, String> {
        for _ in 0..512 {
            match pvm_core::asm::assemble(&self.source()) {
                Ok(blob) => {
                    return blob
                        .to_bytes()
                        .ok_or_else(|| "no container version".to_string())
                }
                Err(error)
                    if error.message.contains("macro block") && error.line > self.header.len() =>
                {
                    let index =
                        body_index_of_source_line(&self.body, error.line - self.header.len());
                    self.body.insert(
                        index,
                        Line::Instruction {
                            text: "fallthrough".into(),
                            group: 0,
                        },
                    );
                }
                Err(error) => return Err(format!("{error}\n{}", self.source())),
            }
        }
        Err("could not pad the program to macro-block boundaries".into())
    }

    /// The idiom groups that can be removed when shrinking, in body order.
    pub fn groups(&self) -> Vec<u32> {
        let mut groups: Vec<u32> = Vec::new();
        for line in &self.body {
            if let Line::Instruction { group, .. } = line {
                if *group != 0 && !groups.contains(group) {
                    groups.push(*group);
                }
            }
        }
        groups
    }

    /// A copy without the lines of `group`.
    pub fn without_group(&self, group: u32) -> Program {
        let mut program = self.clone();
        program
            .body
            .retain(|line| !matches!(line, Line::Instruction { group: g, .. } if *g == group));
        program
    }
}

/// Maps a 1-based line of the body text (labels and instructions each take one line) to its
/// index in `body`.
fn body_index_of_source_line(body: &[Line], line: usize) -> usize {
    (line - 1).min(body.len())
}

/// Registers by assembler name, in encoding order.
const REGS: [&str; 13] = [
    "ra", "sp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
];

/// 32-bit immediates worth hitting often.
const EDGE_IMMS: [i64; 28] = [
    0,
    1,
    -1,
    2,
    3,
    7,
    8,
    15,
    16,
    31,
    32,
    33,
    63,
    64,
    65,
    127,
    128,
    -128,
    -129,
    255,
    256,
    0x7fff,
    -0x8000,
    0xffff,
    0x1_0000,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
];

/// 64-bit values worth hitting often.
const EDGE_U64S: [u64; 14] = [
    0,
    1,
    2,
    u64::MAX,
    u64::MAX - 1,
    i64::MIN as u64,
    i64::MAX as u64,
    0x8000_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    0xffff_ffff_8000_0000,
    63,
    64,
];

/// The bytes an access instruction touches, from its mnemonic's suffix.
fn access_width(name: &str) -> u32 {
    if name.ends_with("64") {
        8
    } else if name.ends_with("32") {
        4
    } else if name.ends_with("16") {
        2
    } else {
        1
    }
}

/// Heap growth sizes for `sbrk`: mostly small, sometimes 64 KiB, sometimes sizes that fail on
/// both VMs (past the heap maximum, or not a `u32`). Bounded because pvm-core backs the heap
/// eagerly (and refuses growth past its 1 GiB memory limit where polkavm would grant it), and
/// because every snapshot reads the whole heap.
fn sbrk_size(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => rng.pick(&[0x1_0000, 0x1_0001]),
        1 => rng.pick(&[
            u32::MAX as u64,
            0xffff_0000,
            u64::MAX,
            0x1_0000_0000,
            i64::MIN as u64,
        ]),
        _ => rng.pick(&[0, 1, 7, 8, 4095, 4096, 4097]),
    }
}

struct Generator<'a> {
    rng: &'a mut Rng,
    config: &'a GenConfig,
    map: MemoryMap,
    opcodes: Vec<Opcode>,
    body: Vec<Line>,
    next_group: u32,
    next_label: u32,
    /// Labels already placed, and whether each starts a basic block.
    placed: Vec<(String, bool)>,
    /// Labels referenced but not yet placed.
    pending: Vec<String>,
    /// Whether the last instruction emitted ends a basic block.
    at_block_start: bool,
    imports: u32,
}

/// Generates one program.
pub fn generate(rng: &mut Rng, config: &GenConfig) -> Program {
    let isa = config.isa;
    let ro_size = rng.pick(&[0, 1, 100, 4096, 5000]);
    let rw_size = rng.pick(&[0, 3, 100, 4095, 4096, 4097, 9000]);
    let stack_size = rng.pick(&[0, 16, 4096, 5000, 8192]);
    let map = MemoryMap::new(MemoryMapSizes {
        page_size: 0x1000,
        ro_data_size: ro_size,
        rw_data_size: rw_size,
        stack_size,
        aux_data_size: 0,
    })
    .expect("small layouts always fit");

    let mut header = vec![
        format!(".isa {}", isa.name()),
        format!(".ro_data_size {ro_size}"),
        format!(".rw_data_size {rw_size}"),
        format!(".stack_size {stack_size}"),
    ];
    for (directive, size) in [(".ro_data", ro_size), (".rw_data", rw_size)] {
        let length = (rng.below(u64::from(size.min(64)) + 1)) as usize;
        if length > 0 {
            let bytes = rng.bytes(length);
            header.push(format!("{directive} {}", crate::differential::hex(&bytes)));
        }
    }
    let imports = rng.below(4) as u32;
    for n in 0..imports {
        header.push(format!(".import \"host_{n}\""));
    }

    let opcodes: Vec<Opcode> = Opcode::ALL
        .iter()
        .copied()
        .filter(|op| isa.supports(*op) && !config.excluded.contains(op))
        .collect();
    let mut generator = Generator {
        rng,
        config,
        map,
        opcodes,
        body: vec![Line::Label("pub @main".into())],
        next_group: 1,
        next_label: 0,
        placed: Vec::new(),
        pending: Vec::new(),
        // The program starts a basic block.
        at_block_start: true,
        imports,
    };
    generator.body();

    let rng = generator.rng;
    let args = (0..rng.below(10)).map(|_| random_u64(rng)).collect();
    let gas = match rng.below(8) {
        0 => rng.below(40) as i64,
        1 | 2 => 100 + rng.below(900) as i64,
        _ => 3_000 + rng.below(2_000) as i64,
    };
    let refills = (0..rng.below(4))
        .map(|_| 1 + rng.below(3_000) as i64)
        .collect();
    Program {
        isa,
        header,
        body: generator.body,
        args,
        gas,
        refills,
    }
}

/// A random 64-bit register value: mostly edge values and small numbers.
fn random_u64(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => rng.pick(&EDGE_U64S),
        1 => rng.pick(&EDGE_IMMS) as u64,
        2 => rng.below(512),
        _ => rng.next_u64(),
    }
}

impl Generator<'_> {
    fn group(&mut self) -> u32 {
        self.next_group += 1;
        self.next_group
    }

    fn emit(&mut self, group: u32, text: String) {
        let opcode = text.split_whitespace().next().and_then(Opcode::from_name);
        self.at_block_start = opcode.is_some_and(|op| op.flow().ends_block());
        self.body.push(Line::Instruction { text, group });
    }

    fn reg(&mut self) -> &'static str {
        self.rng.pick(&REGS)
    }

    /// A destination register: rarely `ra` or `sp`, so programs tend to return normally.
    fn dst(&mut self) -> &'static str {
        if self.rng.chance(1, 16) {
            self.reg()
        } else {
            REGS[2 + self.rng.below(11) as usize]
        }
    }

    /// A 32-bit immediate, in the assembler's range `i32::MIN..=u32::MAX`.
    fn imm(&mut self) -> i64 {
        match self.rng.below(6) {
            0..=2 => self.rng.pick(&EDGE_IMMS),
            3 => self.rng.range(-300..=300),
            4 => i64::from(self.edge_address()),
            _ => i64::from(self.rng.next_u32()),
        }
    }

    /// A shift or rotate amount, often at or past the operand width.
    fn shift_amount(&mut self) -> i64 {
        self.rng.pick(&[
            0,
            1,
            31,
            32,
            33,
            63,
            64,
            65,
            127,
            128,
            -1,
            i32::MIN as i64,
            0x1_0000,
        ])
    }

    /// An address for an access of `width` bytes: usually valid (inside a region the access
    /// may touch, often at its very edge), otherwise near an edge or wild.
    fn address(&mut self, width: u32, write: bool) -> u32 {
        if self.rng.chance(7, 8) {
            if let Some(address) = self.valid_address(width, write) {
                return address;
            }
        }
        self.edge_address()
    }

    /// An address where `width` bytes are accessible (writable if `write`), at a region's
    /// first or last bytes or anywhere inside, if any region is large enough.
    fn valid_address(&mut self, width: u32, write: bool) -> Option<u32> {
        let map = self.map;
        let mut regions = vec![
            (map.rw_data_address, map.rw_data_size),
            (
                map.stack_address_low,
                map.stack_address_high - map.stack_address_low,
            ),
        ];
        if !write {
            regions.push((map.ro_data_address, map.ro_data_size));
        }
        regions.retain(|&(_, size)| size >= width);
        if regions.is_empty() {
            return None;
        }
        let (start, size) = self.rng.pick(&regions);
        let last = start + size - width;
        Some(match self.rng.below(3) {
            0 => start,
            1 => last,
            _ => start + self.rng.below(u64::from(size - width) + 1) as u32,
        })
    }

    /// An address near the edge of a region, inside or just outside it, or a wild one.
    fn edge_address(&mut self) -> u32 {
        let map = self.map;
        let ro_end = map.ro_data_address + map.ro_data_size;
        let rw_end = map.rw_data_address + map.rw_data_size;
        let near = |base: u32, delta: i64| (i64::from(base) + delta) as u32;
        let delta = self.rng.pick(&[-9, -8, -4, -2, -1, 0, 1, 3, 8, 100]);
        match self.rng.below(12) {
            0 => near(map.ro_data_address, delta),
            1 => near(ro_end, delta),
            2 => near(map.rw_data_address, delta),
            3 => near(rw_end, delta),
            4 => near(map.heap_base, delta),
            5 => near(map.heap_base, 4096 + delta),
            6 => near(map.stack_address_low, delta),
            7 | 8 => near(map.stack_address_high, delta),
            9 => self.rng.pick(&[
                0,
                1,
                0xfff8,
                0xffff,
                0x1_0000 - 4,
                RETURN_TO_HOST,
                u32::MAX - 3,
                u32::MAX,
            ]),
            10 => map.rw_data_address + self.rng.below(u64::from(map.rw_data_size.max(1))) as u32,
            _ => self.rng.next_u32(),
        }
    }

    /// A label to branch to: an earlier one (a backward branch) or a new or pending one that
    /// will be placed later (forward).
    fn target(&mut self) -> String {
        let backward: Vec<String> = self
            .placed
            .iter()
            .filter(|(_, block_start)| *block_start || self.config.mid_block_targets)
            .map(|(name, _)| name.clone())
            .collect();
        if !backward.is_empty() && self.rng.chance(2, 5) {
            return self.rng.pick_cloned(&backward);
        }
        if !self.pending.is_empty() && self.rng.chance(1, 2) {
            return self.rng.pick_cloned(&self.pending);
        }
        self.next_label += 1;
        let name = format!("@L{}", self.next_label);
        self.pending.push(name.clone());
        name
    }

    /// Places some pending labels here (all of them if `all`).
    fn place_labels(&mut self, all: bool) {
        if !self.at_block_start && !self.config.mid_block_targets {
            return;
        }
        let mut index = 0;
        while index < self.pending.len() {
            if all || self.rng.chance(1, 2) {
                let name = self.pending.remove(index);
                self.placed.push((name.clone(), self.at_block_start));
                self.body.push(Line::Label(name));
            } else {
                index += 1;
            }
        }
        if self.rng.chance(1, 4) {
            // A label nothing branches to yet; later code may branch back to it.
            self.next_label += 1;
            let name = format!("@L{}", self.next_label);
            self.placed.push((name.clone(), self.at_block_start));
            self.body.push(Line::Label(name));
        }
    }

    fn body(&mut self) {
        let items = 4 + self.rng.below(self.config.max_items as u64) as usize;
        for _ in 0..items {
            if self.at_block_start || (self.config.mid_block_targets && self.rng.chance(1, 8)) {
                self.place_labels(false);
            }
            match self.rng.below(20) {
                0..=9 => self.random_instruction(),
                10..=12 => self.memory_idiom(),
                13 => self.arithmetic_idiom(),
                14 => self.dynamic_jump_idiom(),
                15 => self.loop_idiom(),
                16 => self.heap_idiom(),
                17 => self.ecalli_idiom(),
                _ => self.terminator(),
            }
        }
        // Place every label still referenced, at a block start.
        let group = self.group();
        if !self.at_block_start {
            self.emit(group, "fallthrough".into());
        }
        self.place_labels(true);
        let end = match self.rng.below(10) {
            0 => "trap",
            _ => "jump_indirect ra, 0",
        };
        self.emit(0, end.into());
    }

    /// One random instruction of any opcode of the instruction set, with random operands.
    fn random_instruction(&mut self) {
        let opcode = self.rng.pick(&self.opcodes);
        let group = self.group();
        match opcode {
            // These need bounded operands (see `heap_idiom`).
            Opcode::Sbrk | Opcode::Memset => return self.heap_idiom(),
            // Labels are needed for branch targets; `terminator` covers these.
            _ if opcode.flow() != pvm_core::isa::Flow::Plain
                && opcode.format() != Format::Argless =>
            {
                return self.terminator()
            }
            Opcode::Ecalli => return self.ecalli_idiom(),
            _ => {}
        }
        let name = opcode.name();
        let is_shift = name.contains("shift") || name.contains("rotate");
        let text = match opcode.format() {
            Format::Argless => name.to_string(),
            Format::RegImm => {
                let imm = if name.starts_with("load_") && name != "load_imm"
                    || name.starts_with("store_")
                {
                    i64::from(self.address(access_width(name), name.starts_with("store_")))
                } else {
                    self.imm()
                };
                format!("{name} {}, {imm}", self.dst())
            }
            Format::RegImmImm => {
                let (base, offset) = if self.rng.chance(3, 4) {
                    (
                        "sp",
                        -(1 + self.rng.below(64) as i64) * i64::from(access_width(name)),
                    )
                } else {
                    (self.reg(), self.small_offset())
                };
                format!("{name} {base}, {offset}, {}", self.imm())
            }
            Format::RegRegImm => {
                let imm = if is_shift {
                    self.shift_amount()
                } else {
                    self.imm()
                };
                if name.starts_with("store_indirect") || name.starts_with("load_indirect") {
                    let (value, base, offset) = if self.rng.chance(3, 4) {
                        // Relative to the stack pointer, as compiled code does.
                        (
                            self.dst(),
                            "sp",
                            -(1 + self.rng.below(64) as i64) * i64::from(access_width(name)),
                        )
                    } else {
                        (self.dst(), self.reg(), self.small_offset())
                    };
                    format!("{name} {value}, {base}, {offset}")
                } else {
                    format!("{name} {}, {}, {imm}", self.dst(), self.reg())
                }
            }
            Format::RegRegReg => format!("{name} {}, {}, {}", self.dst(), self.reg(), self.reg()),
            Format::ImmImm => format!(
                "{name} {}, {}",
                self.address(access_width(name), true),
                self.imm()
            ),
            Format::RegReg => format!("{name} {}, {}", self.dst(), self.reg()),
            Format::RegImm64 => {
                let value = random_u64(self.rng);
                format!("{name} {}, {value:#x}", self.dst())
            }
            Format::Imm
            | Format::Offset
            | Format::RegImmOffset
            | Format::RegRegOffset
            | Format::RegRegImmImm => {
                unreachable!("{name} is handled above")
            }
        };
        // Shifts by a register: sometimes load an interesting amount first.
        if is_shift && opcode.format() == Format::RegRegReg && self.rng.chance(1, 2) {
            let parts: Vec<&str> = text.split([' ', ',']).filter(|s| !s.is_empty()).collect();
            let amount_reg = parts[3];
            let amount = self.shift_amount();
            self.emit(group, format!("load_imm {amount_reg}, {amount}"));
        }
        self.emit(group, text);
    }

    /// An offset for base-plus-offset addressing.
    fn small_offset(&mut self) -> i64 {
        match self.rng.below(4) {
            0 => self.rng.range(-16..=16),
            1 => self
                .rng
                .pick(&[-4096, -8, -1, 4095, 4096, i32::MIN as i64, i32::MAX as i64]),
            _ => self.rng.range(-64..=64),
        }
    }

    /// A load or store through a base register set to an address near a region edge.
    fn memory_idiom(&mut self) {
        let group = self.group();
        let base = REGS[2 + self.rng.below(11) as usize];
        let width = self.rng.pick(&["u8", "u16", "u32", "u64"]);
        // 0, 1, 4, 5 store; 2, 3 load.
        let kind = self.rng.below(6);
        let address = self.address(access_width(width), !(2..=3).contains(&kind));
        let offset = self.rng.pick(&[0, 0, 0, -8, -1, 1, 8]);
        let base_value = (i64::from(address) - offset) as u32;
        if self.rng.chance(1, 3) {
            // The base as the sum of another register and an immediate, right before the
            // access: the JIT addresses the other register with the immediate folded into
            // the offset, which must wrap at 2^32 as the sum does. The other register's
            // high half is noise the 32-bit address drops.
            let source = loop {
                let candidate = REGS[2 + self.rng.below(11) as usize];
                if candidate != base {
                    break candidate;
                }
            };
            let delta = self
                .rng
                .pick(&[0, 8, -8, 4096, -65536, i32::MIN as i64, i32::MAX as i64]);
            let low = u64::from(base_value.wrapping_sub(delta as u32));
            let high = self.rng.pick(&[0, 0xffff_ffff, 0x1234_5678]) << 32;
            let add = self.rng.pick(&["add_imm_64", "add_imm_32"]);
            self.emit(group, format!("load_imm64 {source}, {:#x}", high | low));
            self.emit(group, format!("{add} {base}, {source}, {delta}"));
        } else if self.rng.chance(1, 2) {
            self.emit(group, format!("load_imm64 {base}, {base_value:#x}"));
        } else {
            // `load_imm` sign-extends: high addresses become 0xffff_ffff_xxxx_xxxx, which the
            // 32-bit address computation must truncate.
            self.emit(group, format!("load_imm {base}, {base_value}"));
        }
        let value_reg = self.dst();
        let text = match kind {
            0 => format!("store_indirect_{width} {value_reg}, {base}, {offset}"),
            1 => format!(
                "store_imm_indirect_{width} {base}, {offset}, {}",
                self.imm()
            ),
            2 => {
                let variant = match width {
                    "u64" => "u64",
                    _ if self.rng.chance(1, 2) => width,
                    _ => &width.replace('u', "i"),
                };
                format!("load_indirect_{variant} {value_reg}, {base}, {offset}")
            }
            3 => format!("load_{width} {value_reg}, {address}"),
            4 => format!("store_{width} {value_reg}, {address}"),
            _ => format!("store_imm_{width} {address}, {}", self.imm()),
        };
        self.emit(group, text);
    }

    /// Division by zero, `MIN / -1`, and friends; or a carry.
    fn arithmetic_idiom(&mut self) {
        if self.rng.chance(1, 3) {
            return self.carry_idiom();
        }
        let group = self.group();
        let (a, b, d) = (self.dst(), self.dst(), self.dst());
        let (numerator, divisor): (u64, i64) = match self.rng.below(4) {
            0 => (random_u64(self.rng), 0),
            1 => (i64::MIN as u64, -1),
            2 => (i32::MIN as i64 as u64, -1),
            _ => (random_u64(self.rng), self.rng.pick(&EDGE_IMMS)),
        };
        self.emit(group, format!("load_imm64 {a}, {numerator:#x}"));
        self.emit(group, format!("load_imm {b}, {divisor}"));
        let op = self.rng.pick(&[
            "div_unsigned_32",
            "div_unsigned_64",
            "div_signed_32",
            "div_signed_64",
            "rem_unsigned_32",
            "rem_unsigned_64",
            "rem_signed_32",
            "rem_signed_64",
        ]);
        self.emit(group, format!("{op} {d}, {a}, {b}"));
    }

    /// A multi-word addition's carry: `add_64`, then `set_less_than_unsigned` of the sum
    /// against an operand (which the JIT takes from the flags) or another register, with
    /// the registers aliased every way.
    fn carry_idiom(&mut self) {
        let group = self.group();
        let (a, b) = (self.dst(), self.dst());
        for reg in [a, b] {
            let value = match self.rng.below(3) {
                0 => random_u64(self.rng),
                _ => self
                    .rng
                    .pick(&[0, 1, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1]),
            };
            self.emit(group, format!("load_imm64 {reg}, {value:#x}"));
        }
        let other = self.dst();
        let sum = self.rng.pick(&[a, b, other]);
        self.emit(group, format!("add_64 {sum}, {a}, {b}"));
        let compared = self.rng.pick(&[a, a, b, b, other]);
        let other = self.dst();
        let result = self.rng.pick(&[sum, a, b, other]);
        self.emit(
            group,
            format!("set_less_than_unsigned {result}, {sum}, {compared}"),
        );
    }

    /// `sbrk` with a bounded size (Latest64) and `memset` over an interesting range.
    fn heap_idiom(&mut self) {
        if self.config.isa != InstructionSet::Latest64 {
            return self.random_instruction_not_heap();
        }
        let group = self.group();
        let sbrk = !self.config.excluded.contains(&Opcode::Sbrk);
        let memset = !self.config.excluded.contains(&Opcode::Memset);
        if !sbrk && !memset {
            return self.random_instruction_not_heap();
        }
        if sbrk && (!memset || self.rng.chance(1, 2)) {
            let (d, s) = (self.dst(), self.dst());
            let size = sbrk_size(self.rng);
            self.emit(group, format!("load_imm64 {s}, {size:#x}"));
            self.emit(group, format!("sbrk {d}, {s}"));
        } else {
            let address = self.address(1, true);
            let count = self.rng.pick(&[0u32, 1, 2, 7, 100, 4096, 5000]);
            let value = self.rng.next_u64();
            self.emit(group, format!("load_imm64 a0, {address:#x}"));
            self.emit(group, format!("load_imm64 a1, {value:#x}"));
            self.emit(group, format!("load_imm a2, {count}"));
            self.emit(group, "memset".into());
        }
    }

    fn random_instruction_not_heap(&mut self) {
        let group = self.group();
        let (d, s) = (self.dst(), self.reg());
        self.emit(group, format!("move_reg {d}, {s}"));
    }

    fn ecalli_idiom(&mut self) {
        let group = self.group();
        let number = match self.rng.below(6) {
            0 => self.rng.pick(&[u32::MAX as i64, 0x7fff_ffff, 1000]),
            _ => self.rng.below(u64::from(self.imports) + 2) as i64,
        };
        if self.rng.chance(1, 3) {
            let a1 = self.rng.pick(&[0, 1, 4096, 0x3fff]);
            self.emit(group, format!("load_imm a1, {a1}"));
        }
        self.emit(group, format!("ecalli {number}"));
    }

    /// A jump through the jump table: to a label (valid), or to a bad address.
    fn dynamic_jump_idiom(&mut self) {
        let group = self.group();
        let base = self.dst();
        let valid = self.rng.chance(5, 6);
        let offset = self.rng.pick(&[0i64, 0, 2, -2, 4]);
        if valid {
            let label = self.target();
            // `load_imm base, @label` loads the label's jump-table address; undo the offset.
            self.emit(group, format!("load_imm {base}, {label}"));
            if offset != 0 {
                self.emit(group, format!("add_imm_64 {base}, {base}, {}", -offset));
            }
        } else {
            let address = self.rng.pick(&[
                0i64,
                1,
                3,
                2000,
                RETURN_TO_HOST as i64 + 2,
                -1,
                -2,
                RETURN_TO_HOST as i64,
            ]);
            self.emit(group, format!("load_imm {base}, {}", address - offset));
        }
        if self.rng.chance(1, 2) {
            self.emit(group, format!("jump_indirect {base}, {offset}"));
        } else {
            let link = self.dst();
            let value = self.imm();
            self.emit(
                group,
                format!("load_imm_and_jump_indirect {link}, {base}, {value}, {offset}"),
            );
        }
    }

    /// A counted loop: `counter` from n down to 0 around a few random instructions.
    fn loop_idiom(&mut self) {
        let group = self.group();
        let counter = self.rng.pick(&["s0", "s1", "t2"]);
        let count = self.rng.pick(&[1, 2, 3, 10, 50]);
        self.emit(group, format!("load_imm {counter}, {count}"));
        self.emit(group, "fallthrough".into());
        self.next_label += 1;
        let head = format!("@L{}", self.next_label);
        self.placed.push((head.clone(), true));
        self.body.push(Line::Label(head.clone()));
        for _ in 0..self.rng.below(3) {
            let (d, a, b) = (self.dst(), self.reg(), self.reg());
            let op = self
                .rng
                .pick(&["add_64", "xor", "mul_32", "sub_64", "rotate_left_64"]);
            if d != counter {
                self.emit(group, format!("{op} {d}, {a}, {b}"));
            }
        }
        self.emit(group, format!("add_imm_64 {counter}, {counter}, -1"));
        self.emit(group, format!("branch_not_eq_imm {counter}, 0, {head}"));
    }

    /// An instruction that ends the basic block.
    fn terminator(&mut self) {
        let group = self.group();
        let text = match self.rng.below(12) {
            0 => "fallthrough".to_string(),
            1 => format!("jump {}", self.target()),
            2 => format!(
                "load_imm_and_jump {}, {}, {}",
                self.dst(),
                self.imm(),
                self.target()
            ),
            3..=6 => {
                let op = self.rng.pick(&[
                    "branch_eq",
                    "branch_not_eq",
                    "branch_less_unsigned",
                    "branch_less_signed",
                    "branch_greater_or_equal_unsigned",
                    "branch_greater_or_equal_signed",
                ]);
                format!("{op} {}, {}, {}", self.reg(), self.reg(), self.target())
            }
            7..=9 => {
                let op = self.rng.pick(&[
                    "branch_eq_imm",
                    "branch_not_eq_imm",
                    "branch_less_unsigned_imm",
                    "branch_less_signed_imm",
                    "branch_greater_or_equal_unsigned_imm",
                    "branch_greater_or_equal_signed_imm",
                    "branch_less_or_equal_signed_imm",
                    "branch_less_or_equal_unsigned_imm",
                    "branch_greater_signed_imm",
                    "branch_greater_unsigned_imm",
                ]);
                format!("{op} {}, {}, {}", self.reg(), self.imm(), self.target())
            }
            10 => {
                if self.rng.chance(1, 4) {
                    "trap".to_string()
                } else {
                    "jump_indirect ra, 0".to_string()
                }
            }
            _ => return self.dynamic_jump_idiom(),
        };
        self.emit(group, text);
        if self.rng.chance(1, 6) {
            let name = self.rng.pick(&["unlikely", "fallthrough"]);
            let opcode = Opcode::from_name(name).expect("known");
            if self.config.isa.supports(opcode) && !self.config.excluded.contains(&opcode) {
                self.emit(group, name.into());
            }
        }
    }
}

/// Flips random bits of an assembled program's code (and, for bitmask instruction sets, of
/// its bitmask, keeping bit 0 and the padding as polkavm-linker writes them), to reach
/// encodings the assembler never writes: odd immediate lengths, register nibbles above 12,
/// invalid opcodes, long bitmask skips, and branches into the middle of instructions.
pub fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut blob = pvm_core::ProgramBlob::parse(bytes).expect("we just assembled it");
    let code = &mut blob.code;
    for _ in 0..1 + rng.below(4) {
        if code.code.is_empty() {
            break;
        }
        let at = rng.below(code.code.len() as u64) as usize;
        code.code[at] ^= 1 << rng.below(8);
        if rng.chance(1, 4) {
            code.code[at] = rng.next_u64() as u8;
        }
        if !code.bitmask.is_empty() && rng.chance(1, 3) {
            let bit = rng.below(code.code.len() as u64) as usize;
            if bit != 0 {
                code.bitmask[bit / 8] ^= 1 << (bit % 8);
            }
        }
    }
    blob.to_bytes().expect("a container instruction set")
}
