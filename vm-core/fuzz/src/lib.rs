//! Shared helpers for the pvm-core fuzz targets: a byte reader that never fails, program
//! builders (raw code with a derived bitmask, or structured programs through the
//! assembler), and an execution driver that checks the engine's contracts on every
//! interrupt.

use pvm_core::asm::assemble;
use pvm_core::gas::CostTable;
use pvm_core::memory::PageMapping;
use pvm_core::isa::{decode_code, Args, Format, Instruction, InstructionStream};
use pvm_core::program::{CodeSection, MemoryMap, MemoryMapSizes, RETURN_TO_HOST};
use pvm_core::{
    BackendKind, Config, Engine, Error, Instance, InstructionSet, Interrupt, MemoryLayout, Module,
    ModuleConfig, Opcode, ProgramBlob, Reg,
};
use std::fmt::Write as _;

/// Guest memory one fuzz instance may hold. Much smaller than the engine default (1 GiB)
/// so that huge declared sizes fail fast with `Error::MemoryLimit` instead of allocating.
pub const FUZZ_MEMORY_LIMIT: u64 = 16 << 20;

/// The instruction sets a selector byte picks from.
pub const ISAS: [InstructionSet; 4] = [
    InstructionSet::ReviveV1,
    InstructionSet::JamV1,
    InstructionSet::Graypaper,
    InstructionSet::Latest64,
];

/// The bitmask instruction sets (the ones `from_raw_code` accepts).
pub const BITMASK_ISAS: [InstructionSet; 3] = [
    InstructionSet::ReviveV1,
    InstructionSet::Graypaper,
    InstructionSet::JamV1,
];

/// An engine with the fuzz memory limit.
pub fn engine() -> Engine {
    engine_for(BackendKind::Interpreter)
}

/// An engine for `backend` with the fuzz memory limit.
pub fn engine_for(backend: BackendKind) -> Engine {
    Engine::new(&Config {
        backend,
        memory_limit: FUZZ_MEMORY_LIMIT,
    })
    .expect("every backend can be created (the JIT falls back to the interpreter)")
}

/// Reads fuzz input front to back; past the end every read gives zeros.
pub struct Data<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Data<'a> {
    /// Wraps the input.
    pub fn new(bytes: &'a [u8]) -> Self {
        Data { bytes, position: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// One byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        let value = self.bytes.get(self.position).copied().unwrap_or(0);
        self.position = (self.position + 1).min(self.bytes.len());
        value
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// Up to `count` bytes.
    pub fn take(&mut self, count: usize) -> &'a [u8] {
        let end = (self.position + count).min(self.bytes.len());
        let slice = &self.bytes[self.position..end];
        self.position = end;
        slice
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.remaining())
    }
}

/// 64-bit FNV-1a, for comparing memory images cheaply.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &byte in bytes {
        *hash ^= u64::from(byte);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

// ---------------------------------------------------------------------------------------
// Blob checks shared by parse_blob and assemble.
// ---------------------------------------------------------------------------------------

/// Checks a container blob: `to_bytes` then `parse` gives the same blob, and the bytes are
/// canonical (a second round trip writes identical bytes).
pub fn check_container_round_trip(blob: &ProgramBlob) {
    let Some(bytes) = blob.to_bytes() else {
        assert_eq!(
            blob.isa,
            InstructionSet::Graypaper,
            "only Graypaper lacks a container"
        );
        return;
    };
    let again = match ProgramBlob::parse(&bytes) {
        Ok(again) => again,
        Err(error) => panic!("to_bytes wrote a blob parse rejects: {error}\nblob: {blob:?}"),
    };
    assert_eq!(&again, blob, "parse(to_bytes(blob)) != blob");
    assert_eq!(
        again.to_bytes().as_deref(),
        Some(&bytes[..]),
        "to_bytes is not canonical"
    );
}

/// Checks a raw code section: its payload parses back to the same section.
pub fn check_raw_round_trip(isa: InstructionSet, code: &CodeSection) {
    assert!(isa.has_bitmask());
    let payload = code.container_payload(isa);
    let again = match ProgramBlob::from_raw_code(isa, &payload) {
        Ok(again) => again,
        Err(error) => panic!(
            "container_payload wrote a code blob from_raw_code rejects: {error}\ncode: {code:?}"
        ),
    };
    assert_eq!(
        &again.code, code,
        "from_raw_code(container_payload(code)) != code"
    );
    assert_eq!(
        again.code.container_payload(isa),
        payload,
        "container_payload is not canonical"
    );
}

/// Disassembles, compiles and instantiates `blob`, then runs a few short calls (from
/// each export, or pc 0) with the checking driver. Errors are fine; panics are not.
pub fn smoke_blob(blob: &ProgramBlob, seed: u64) {
    let text = pvm_core::asm::disassemble(blob);
    assert!(text.starts_with(".isa "));
    let engine = engine();
    let config = ModuleConfig::default();
    let Ok(module) = Module::from_blob(&engine, &config, blob.clone()) else {
        return;
    };
    let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
    let mut pcs: Vec<u32> = blob.exports.iter().map(|e| e.pc).take(4).collect();
    if pcs.is_empty() {
        pcs.push(0);
    }
    for (n, pc) in pcs.into_iter().enumerate() {
        let setup = Setup {
            start_pc: pc,
            args: (0..4).map(|i| mix(seed ^ (n as u64) << 8 ^ i)).collect(),
            regs: Vec::new(),
            gas: 20_000,
            refill: 1_000,
            chunks: Vec::new(),
            max_interrupts: 64,
        };
        let _ = execute(&module, &stream, &setup, Schedule::Refill);
    }
}

// ---------------------------------------------------------------------------------------
// Execution with contract checks.
// ---------------------------------------------------------------------------------------

/// What to run and with which budget.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Where the call starts (`prepare_call`).
    pub start_pc: u32,
    /// Call arguments (at most 9).
    pub args: Vec<u64>,
    /// Registers overwritten after `prepare_call`.
    pub regs: Vec<(Reg, u64)>,
    /// Initial gas.
    pub gas: i64,
    /// Gas added once, at the first `NotEnoughGas` (the reference schedule).
    pub refill: i64,
    /// For the chunked schedule: relative chunk sizes (bytes), cycled.
    pub chunks: Vec<u8>,
    /// Stop at this many Ecalli interrupts (the schedule bounds NotEnoughGas ones).
    pub max_interrupts: u32,
}

/// How gas is handed out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// `gas` first, `refill` added at the first NotEnoughGas.
    Refill,
    /// The same total, `gas + refill`, handed out in chunks.
    Chunked,
}

/// One interrupt as the host saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The interrupt.
    pub interrupt: Interrupt,
    /// `program_counter()` after it.
    pub pc: Option<u32>,
    /// `next_program_counter()` after it.
    pub next_pc: Option<u32>,
    /// Gas left.
    pub gas: i64,
    /// Registers.
    pub regs: [u64; 13],
}

/// The result of one execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `instantiate()` failed.
    pub instantiate_error: Option<Error>,
    /// Every non-Step interrupt, in order (Steps only counted).
    pub events: Vec<Event>,
    /// Step interrupts seen.
    pub steps: u64,
    /// The interrupt execution stopped at.
    pub last: Option<Interrupt>,
    /// Its program counter.
    pub last_pc: Option<u32>,
    /// Final registers.
    pub regs: [u64; 13],
    /// Gas handed out minus gas left.
    pub consumed: i64,
    /// Hash of all memory regions (address, contents, writability).
    pub memory_hash: u64,
    /// Final heap size.
    pub heap_size: u32,
    /// `(n, pc)` of every ecalli.
    pub ecalls: Vec<(u32, Option<u32>)>,
    /// Stopped at the step cap (400_000 Steps), so not comparable.
    pub truncated: bool,
}

impl Outcome {
    /// The parts that do not depend on step tracing or on how gas was chunked.
    pub fn final_state(&self) -> impl PartialEq + std::fmt::Debug + '_ {
        (
            &self.instantiate_error,
            self.last,
            self.last_pc,
            self.regs,
            self.consumed,
            self.memory_hash,
            self.heap_size,
            &self.ecalls,
        )
    }
}

fn instruction_at(
    stream: &InstructionStream,
    pc: u32,
) -> Option<&pvm_core::isa::DecodedInstruction> {
    stream
        .instructions
        .binary_search_by_key(&pc, |i| i.pc)
        .ok()
        .map(|index| &stream.instructions[index])
}

/// The host side of `ecalli n`: deterministic in the guest state, exercising the host API.
/// Returns a pc the host redirected execution to, if any.
fn host_call(instance: &mut Instance, n: u32, count: u32) -> Option<u32> {
    let a0 = instance.reg(Reg::A0);
    let a1 = instance.reg(Reg::A1);
    let a2 = instance.reg(Reg::A2);
    instance.set_reg(Reg::A0, mix(u64::from(n) << 32 | u64::from(count)) ^ a0);
    match n % 8 {
        1 => {
            let _ = instance.write_memory(a1 as u32, &a0.to_le_bytes()[..(a2 % 9) as usize]);
        }
        2 => {
            if let Ok(bytes) = instance.read_memory(a1 as u32, (a2 % 64) as u32) {
                assert_eq!(bytes.len() as u64, a2 % 64);
                let mut hash = 0;
                fnv(&mut hash, &bytes);
                instance.set_reg(Reg::A1, hash);
            }
            let _ = instance.read_u32(a1 as u32);
            let _ = instance.read_u64(a2 as u32);
        }
        3 => {
            let before = instance.heap_size();
            let top = instance.sbrk((a1 as u32) % 0x20000);
            assert!(instance.heap_size() >= before, "sbrk shrank the heap");
            instance.set_reg(Reg::A0, u64::from(top.unwrap_or(0)));
        }
        4 => {
            let pc = a2 as u32 % 0x2000;
            instance.set_next_program_counter(pc);
            return Some(pc);
        }
        _ => {}
    }
    None
}

/// Runs one call to the end (or the interrupt limit), checking on every interrupt that:
/// `run()` succeeds while the instance is runnable, gas never increases within a run and
/// never goes below zero, the interrupt's pc makes sense for the decoded code, terminal
/// interrupts leave nothing runnable, and page faults only happen in custom layouts.
pub fn execute(
    module: &Module,
    stream: &InstructionStream,
    setup: &Setup,
    schedule: Schedule,
) -> Outcome {
    let mut outcome = Outcome {
        instantiate_error: None,
        events: Vec::new(),
        steps: 0,
        last: None,
        last_pc: None,
        regs: [0; 13],
        consumed: 0,
        memory_hash: 0,
        heap_size: 0,
        ecalls: Vec::new(),
        truncated: false,
    };
    let mut instance = match module.instantiate() {
        Ok(instance) => instance,
        Err(error) => {
            outcome.instantiate_error = Some(error);
            return outcome;
        }
    };
    let code_length = module.blob().code.code.len() as u32;
    let custom_layout = matches!(module.config().memory, MemoryLayout::Custom(_));
    let step_tracing = module.config().step_tracing;
    // With step tracing every instruction is visible, so gas can be checked against the
    // documented model: entering a block charges the sum of its instructions' costs.
    let gas_model = (step_tracing && module.config().gas_metering)
        .then(|| GasModel::new(stream, &module.config().cost_table));
    let mut previous_step: Option<u32> = None;
    let mut skip_gas_model = false;

    instance
        .prepare_call(
            setup.start_pc,
            &setup.args[..setup.args.len().min(Reg::ARG_REGS.len())],
        )
        .expect("at most 9 arguments");
    for &(reg, value) in &setup.regs {
        instance.set_reg(reg, value);
    }
    let total = setup.gas + setup.refill;
    let mut given = match schedule {
        Schedule::Refill => setup.gas,
        Schedule::Chunked => chunk(setup, total, 0).min(total),
    };
    instance.set_gas(given);
    let mut refills = 0usize;
    // A pc the host set that may start no block (the next run traps there).
    let mut host_pc = Some(setup.start_pc);
    let mut interrupts = 0u32;

    loop {
        let before = instance.gas();
        let interrupt = match instance.run() {
            Ok(interrupt) => interrupt,
            Err(error) => panic!("run() on a runnable instance failed: {error}"),
        };
        let after = instance.gas();
        assert!(
            after <= before,
            "gas increased during run: {before} -> {after} ({interrupt:?})"
        );
        assert!(after >= 0, "gas went below zero: {after} ({interrupt:?})");

        let pc = instance.program_counter();
        let next_pc = instance.next_program_counter();
        let pc_value = pc.expect("every interrupt has a program counter");
        if let Some(model) = &gas_model {
            let after_memset = previous_step
                .and_then(|q| instruction_at(stream, q))
                .and_then(|d| d.instruction)
                .is_some_and(|i| i.opcode == Opcode::Memset);
            if !skip_gas_model && !after_memset {
                let charged = before - after;
                let expected = match interrupt {
                    Interrupt::Step => model.block_cost(pc_value).unwrap_or(0),
                    _ => 0,
                };
                // A branch to a pc that starts no block steps onto a trap that reports the
                // branch's own pc and costs nothing.
                let repeated = previous_step == Some(pc_value) && charged == 0;
                assert!(
                    charged == expected || repeated,
                    "gas model: {interrupt:?} at pc {pc_value} (previous step {previous_step:?}) charged {charged}, \
                     the blocks entered cost {expected}"
                );
            }
            skip_gas_model = interrupt == Interrupt::NotEnoughGas
                && instruction_at(stream, pc_value)
                    .and_then(|d| d.instruction)
                    .is_some_and(|i| i.opcode == Opcode::Memset);
            previous_step = (interrupt == Interrupt::Step).then_some(pc_value);
        }
        let known_pc = instruction_at(stream, pc_value).is_some() || host_pc == Some(pc_value);
        assert!(
            known_pc,
            "{interrupt:?} at pc {pc_value}, which starts no instruction"
        );
        if host_pc.is_none_or(|host| host <= code_length) {
            assert!(
                pc_value <= code_length,
                "{interrupt:?} at pc {pc_value} past the code ({code_length})"
            );
        }

        match interrupt {
            Interrupt::Step => {
                assert!(step_tracing, "Step without step tracing");
                assert_eq!(next_pc, pc, "Step: next pc differs from pc");
                outcome.steps += 1;
                if outcome.steps > 400_000 {
                    outcome.truncated = true;
                    break;
                }
                continue;
            }
            Interrupt::Ecalli(n) => {
                let decoded = instruction_at(stream, pc_value).and_then(|d| d.instruction);
                assert_eq!(
                    decoded,
                    Some(Instruction {
                        opcode: Opcode::Ecalli,
                        args: Args::Imm(n)
                    }),
                    "Ecalli({n}) at pc {pc_value}, which is not that ecalli"
                );
                assert!(next_pc.is_some(), "nothing runnable after Ecalli");
            }
            Interrupt::NotEnoughGas => {
                assert_eq!(next_pc, pc, "NotEnoughGas must resume where it stopped");
            }
            Interrupt::Finished => {
                let decoded = instruction_at(stream, pc_value).and_then(|d| d.instruction);
                assert!(
                    matches!(
                        decoded.map(|i| i.opcode),
                        Some(Opcode::JumpIndirect | Opcode::LoadImmAndJumpIndirect)
                    ),
                    "Finished at pc {pc_value}, which is not an indirect jump: {decoded:?}"
                );
            }
            Interrupt::Trap => {}
            Interrupt::Segfault(fault) => {
                assert!(
                    custom_layout,
                    "page fault in the standard layout: {fault:?}"
                );
                assert_eq!(
                    fault.page_address % 0x1000,
                    0,
                    "unaligned fault page {fault:?}"
                );
            }
        }
        outcome.events.push(Event {
            interrupt,
            pc,
            next_pc,
            gas: after,
            regs: instance.regs(),
        });

        match interrupt {
            Interrupt::Step => unreachable!(),
            Interrupt::Finished | Interrupt::Trap | Interrupt::Segfault(_) => {
                assert_eq!(
                    instance.next_program_counter(),
                    None,
                    "runnable after {interrupt:?}"
                );
                assert_eq!(
                    instance.run(),
                    Err(Error::NotRunnable),
                    "run() after {interrupt:?}"
                );
                outcome.last = Some(interrupt);
                outcome.last_pc = pc;
                break;
            }
            Interrupt::Ecalli(n) => {
                interrupts += 1;
                outcome.ecalls.push((n, pc));
                if interrupts >= setup.max_interrupts {
                    outcome.last = Some(interrupt);
                    outcome.last_pc = pc;
                    break;
                }
                if let Some(pc) = host_call(&mut instance, n, interrupts) {
                    host_pc = Some(pc);
                }
            }
            Interrupt::NotEnoughGas => {
                let add = match schedule {
                    Schedule::Refill => {
                        if refills == 0 {
                            setup.refill
                        } else {
                            0
                        }
                    }
                    Schedule::Chunked => chunk(setup, total, refills + 1).min(total - given),
                };
                refills += 1;
                if add == 0 {
                    outcome.last = Some(interrupt);
                    outcome.last_pc = pc;
                    break;
                }
                given += add;
                instance.set_gas(after + add);
            }
        }
    }

    outcome.regs = instance.regs();
    outcome.consumed = given - instance.gas();
    outcome.heap_size = instance.heap_size();
    let mut hash = 0xcbf2_9ce4_8422_2325;
    // Backend-neutral: the interpreter lists regions in lookup order and only their parts
    // backed by host memory, the JIT every accessible region whole, in address order; the
    // contents are the same once sorted and stripped of trailing zeros.
    let mut regions: Vec<(u32, &[u8], bool)> = instance.memory_regions().collect();
    regions.sort_by_key(|r| r.0);
    for (address, bytes, writable) in regions {
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        fnv(&mut hash, &address.to_le_bytes());
        fnv(&mut hash, &[u8::from(writable)]);
        fnv(&mut hash, &bytes[..end]);
    }
    outcome.memory_hash = hash;
    outcome
}

/// Block costs computed from the decoded code and the cost table, independently of the
/// interpreter's compiler.
struct GasModel {
    /// `(pc of the block's first instruction, cost)`, sorted by pc.
    blocks: Vec<(u32, u32)>,
}

impl GasModel {
    fn new(stream: &InstructionStream, costs: &CostTable) -> GasModel {
        let mut blocks: Vec<(u32, u32)> = Vec::new();
        for (decoded, &start) in stream.instructions.iter().zip(&stream.block_starts) {
            let cost = decoded
                .instruction
                .map_or(costs.invalid, |i| costs.cost(i.opcode));
            if start {
                blocks.push((decoded.pc, cost));
            } else if let Some(last) = blocks.last_mut() {
                last.1 = last.1.saturating_add(cost);
            }
        }
        GasModel { blocks }
    }

    fn block_cost(&self, pc: u32) -> Option<i64> {
        let index = self.blocks.binary_search_by_key(&pc, |b| b.0).ok()?;
        Some(i64::from(self.blocks[index].1))
    }
}

/// The size of chunk `index` in the chunked schedule: between 1/256 and all of `total`.
fn chunk(setup: &Setup, total: i64, index: usize) -> i64 {
    let byte = if setup.chunks.is_empty() {
        255
    } else {
        setup.chunks[index % setup.chunks.len()]
    };
    (total * (i64::from(byte) + 1) / 256).max(1)
}

/// Whether the environment variable `PVM_FUZZ_ALLOW` (a comma-separated list) names this
/// known engine issue, so a long run can continue past it. Strict by default.
pub fn known_issue_allowed(name: &str) -> bool {
    static ALLOWED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ALLOWED
        .get_or_init(|| {
            std::env::var("PVM_FUZZ_ALLOW")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default()
        })
        .iter()
        .any(|allowed| allowed == name)
}

// ---------------------------------------------------------------------------------------
// Program construction for the interpret target.
// ---------------------------------------------------------------------------------------

/// A plausible instruction length for the opcode at `pc`, used to derive a bitmask that
/// makes random bytes decode mostly as valid instructions.
fn plausible_length(isa: InstructionSet, code: &[u8], pc: usize) -> usize {
    let Some(opcode) = isa.opcode_from_byte(code[pc]) else {
        return 1;
    };
    let at = |n: usize| code.get(pc + n).copied().unwrap_or(0);
    let lx = |byte: u8| usize::from(byte & 7).min(4);
    1 + match opcode.format() {
        Format::Argless => 0,
        Format::Imm | Format::Offset => usize::from(at(1) % 5),
        Format::ImmImm => 1 + lx(at(1)) + usize::from(at(1) >> 4) % 5,
        Format::RegImm | Format::RegRegImm => 1 + usize::from(at(1) >> 4) % 5,
        Format::RegImm64 => 9,
        Format::RegImmImm | Format::RegImmOffset => 1 + lx(at(1) >> 4) + 4,
        Format::RegRegOffset => 5,
        Format::RegRegReg => 2,
        Format::RegReg => 1,
        Format::RegRegImmImm => 2 + lx(at(2)) + usize::from(at(2) >> 4) % 5,
    }
}

/// Builds a code section from raw bytes: for bitmask instruction sets `mode` picks how the
/// bitmask is made (0: from the input, 1: every byte starts an instruction, 2: derived
/// from plausible instruction lengths), then `jump_table_selectors` pick entries (block
/// starts, or arbitrary offsets).
pub fn raw_code(
    isa: InstructionSet,
    bytes: &[u8],
    mode: u8,
    jump_table_selectors: &[u16],
) -> CodeSection {
    let (code, bitmask) = if !isa.has_bitmask() {
        (bytes.to_vec(), Vec::new())
    } else {
        match mode % 3 {
            0 => {
                let code_length = bytes.len() * 8 / 9;
                let code = bytes[..code_length].to_vec();
                let mut bitmask = bytes[code_length..].to_vec();
                bitmask.resize(code_length.div_ceil(8), 0x01);
                (code, bitmask)
            }
            1 => (bytes.to_vec(), vec![0xff; bytes.len().div_ceil(8)]),
            _ => {
                let mut bitmask = vec![0u8; bytes.len().div_ceil(8)];
                let mut pc = 0;
                while pc < bytes.len() {
                    bitmask[pc / 8] |= 1 << (pc % 8);
                    pc += plausible_length(isa, bytes, pc);
                }
                (bytes.to_vec(), bitmask)
            }
        }
    };
    let mut bitmask = bitmask;
    let padding = (bitmask.len() * 8).saturating_sub(code.len());
    if padding > 0 {
        let last = bitmask.len() - 1;
        bitmask[last] &= 0xff >> padding;
    }
    let stream = decode_code(isa, &code, &bitmask);
    let starts: Vec<u32> = stream
        .instructions
        .iter()
        .zip(&stream.block_starts)
        .filter(|(_, &start)| start)
        .map(|(i, _)| i.pc)
        .collect();
    let jump_table = jump_table_selectors
        .iter()
        .map(|&selector| {
            if selector & 0x8000 == 0 && !starts.is_empty() {
                starts[usize::from(selector) % starts.len()]
            } else {
                u32::from(selector & 0x7fff)
            }
        })
        .collect();
    CodeSection::new(jump_table, code, bitmask)
}

/// An operand of a generated instruction.
#[derive(Clone, Debug)]
enum GenOperand {
    Reg(Reg),
    Imm(i64),
    Imm64(u64),
    /// A label, by raw selector (resolved modulo the label count).
    Label(usize),
}

struct GenInstruction {
    opcode: Opcode,
    operands: Vec<GenOperand>,
}

fn is_target_position(format: Format, position: usize) -> bool {
    matches!(
        (format, position),
        (Format::Offset, 0) | (Format::RegImmOffset, 2) | (Format::RegRegOffset, 2)
    )
}

fn gen_imm(d: &mut Data, addresses: &[u32]) -> i64 {
    match d.u8() % 9 {
        0 => i64::from(d.u8() as i8),
        1 => 0,
        2 | 3 => {
            let base = addresses[usize::from(d.u8()) % addresses.len()];
            i64::from(base.wrapping_add(i32::from(d.u8() as i8) as u32 & !7))
        }
        4 => i64::from(d.u32()),
        5 => i64::from(d.u32() as i32),
        6 => i64::from(d.u8() % 70),
        7 => [
            -1,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::from(u32::MAX),
            0x80,
            0xffff,
            0x8000,
        ][usize::from(d.u8() % 7)],
        _ => i64::from(d.u16()),
    }
}

/// A structured program: assembler text whose every instruction is recorded, so that the
/// assembled and decoded code can be checked against what was asked for.
pub struct Generated {
    /// The assembler source.
    pub source: String,
    instructions: Vec<GenInstruction>,
}

/// Generates a program of up to `max_instructions` instructions (plus a final `trap`)
/// from the input, using operands that hit `addresses` and the program's own labels.
pub fn generate(
    isa: InstructionSet,
    d: &mut Data,
    max_instructions: usize,
    addresses: &[u32],
    header: &str,
) -> Generated {
    let opcodes: Vec<Opcode> = Opcode::ALL
        .iter()
        .copied()
        .filter(|&op| isa.supports(op))
        .collect();
    let mut instructions = Vec::new();
    while d.remaining() > 0 && instructions.len() < max_instructions {
        let opcode = opcodes[usize::from(d.u8()) % opcodes.len()];
        let format = opcode.format();
        let count = match format {
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
        let register_positions: &[usize] = match format {
            Format::RegImm | Format::RegImm64 | Format::RegImmOffset | Format::RegImmImm => &[0],
            Format::RegRegImm | Format::RegRegOffset | Format::RegRegImmImm | Format::RegReg => {
                &[0, 1]
            }
            Format::RegRegReg => &[0, 1, 2],
            _ => &[],
        };
        let takes_label = matches!(
            opcode,
            Opcode::LoadImm
                | Opcode::LoadImm64
                | Opcode::LoadImmAndJump
                | Opcode::LoadImmAndJumpIndirect
        );
        let mut operands = Vec::with_capacity(count);
        for position in 0..count {
            let operand = if register_positions.contains(&position) {
                GenOperand::Reg(Reg::ALL[usize::from(d.u8()) % 13])
            } else if is_target_position(format, position) {
                GenOperand::Label(usize::from(d.u8()))
            } else if takes_label && d.u8() % 3 == 0 {
                GenOperand::Label(usize::from(d.u8()))
            } else if format == Format::RegImm64 {
                GenOperand::Imm64(if d.u8() & 1 == 0 {
                    d.u64()
                } else {
                    gen_imm(d, addresses) as u64
                })
            } else if opcode == Opcode::JumpIndirect || opcode == Opcode::LoadImmAndJumpIndirect {
                GenOperand::Imm(i64::from(d.u8() as i8))
            } else {
                GenOperand::Imm(gen_imm(d, addresses))
            };
            operands.push(operand);
        }
        instructions.push(GenInstruction { opcode, operands });
    }
    let labels = instructions.len() + 1;
    let mut source = String::from(header);
    for (index, instruction) in instructions.iter().enumerate() {
        let export = if index == 0 { "pub " } else { "" };
        let _ = write!(source, "{export}@L{index}: {}", instruction.opcode.name());
        for (position, operand) in instruction.operands.iter().enumerate() {
            let separator = if position == 0 { " " } else { ", " };
            let _ = match operand {
                GenOperand::Reg(reg) => write!(source, "{separator}{reg}"),
                GenOperand::Imm(value) => write!(source, "{separator}{value}"),
                GenOperand::Imm64(value) => write!(source, "{separator}{value:#x}"),
                GenOperand::Label(raw) => write!(source, "{separator}@L{}", raw % labels),
            };
        }
        source.push('\n');
    }
    let export = if instructions.is_empty() { "pub " } else { "" };
    let _ = writeln!(source, "{export}@L{}: trap", instructions.len());
    Generated {
        source,
        instructions,
    }
}

impl Generated {
    /// Assembles the program and checks the decoded code is exactly the generated
    /// instructions (opcodes, registers, immediates, resolved branch targets and jump-table
    /// addresses), followed by the final `trap`. `None` when the assembler refuses it
    /// (a Latest64 instruction straddling a 1024-byte macro block).
    pub fn assemble_and_check(&self) -> Option<ProgramBlob> {
        let blob = match assemble(&self.source) {
            Ok(blob) => blob,
            Err(error) if error.message.contains("macro block") => return None,
            Err(error) => panic!(
                "generated program does not assemble: {error}\n{}",
                self.source
            ),
        };
        let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
        let labels = self.instructions.len() + 1;
        assert_eq!(
            stream.instructions.len(),
            labels,
            "decoded {} instructions, generated {} + trap\n{}",
            stream.instructions.len(),
            self.instructions.len(),
            self.source
        );
        // Jump-table slots in first-use order of labels used as immediates.
        let mut table: Vec<usize> = Vec::new();
        for instruction in &self.instructions {
            for (position, operand) in instruction.operands.iter().enumerate() {
                if let GenOperand::Label(raw) = operand {
                    let label = raw % labels;
                    if !is_target_position(instruction.opcode.format(), position)
                        && !table.contains(&label)
                    {
                        table.push(label);
                    }
                }
            }
        }
        let pc_of = |label: usize| stream.instructions[label].pc;
        assert_eq!(blob.code.jump_table_len as usize, table.len());
        for (slot, &label) in table.iter().enumerate() {
            assert_eq!(
                blob.code.jump_table_entry(slot as u32),
                Some(pc_of(label)),
                "jump table slot {slot}"
            );
        }
        for (index, instruction) in self.instructions.iter().enumerate() {
            let format = instruction.opcode.format();
            let imm = |position: usize| -> u32 {
                match &instruction.operands[position] {
                    GenOperand::Imm(value) => *value as u32,
                    GenOperand::Imm64(value) => *value as u32,
                    GenOperand::Label(raw) => {
                        let label = raw % labels;
                        if is_target_position(format, position) {
                            pc_of(label)
                        } else {
                            (table.iter().position(|&l| l == label).expect("collected") as u32 + 1)
                                * 2
                        }
                    }
                    GenOperand::Reg(_) => unreachable!(),
                }
            };
            let reg = |position: usize| match instruction.operands[position] {
                GenOperand::Reg(reg) => reg,
                _ => unreachable!(),
            };
            let expected = match format {
                Format::Argless => Args::None,
                Format::Imm => Args::Imm(imm(0)),
                Format::Offset => Args::Offset(imm(0)),
                Format::ImmImm => Args::ImmImm(imm(0), imm(1)),
                Format::RegImm => Args::RegImm(reg(0), imm(1)),
                Format::RegImm64 => Args::RegImm64(
                    reg(0),
                    match &instruction.operands[1] {
                        GenOperand::Imm64(value) => *value,
                        _ => u64::from(imm(1)),
                    },
                ),
                Format::RegImmOffset => Args::RegImmOffset(reg(0), imm(1), imm(2)),
                Format::RegImmImm => Args::RegImmImm(reg(0), imm(1), imm(2)),
                Format::RegRegImm => Args::RegRegImm(reg(0), reg(1), imm(2)),
                Format::RegRegOffset => Args::RegRegOffset(reg(0), reg(1), imm(2)),
                Format::RegRegReg => Args::RegRegReg(reg(0), reg(1), reg(2)),
                Format::RegReg => Args::RegReg(reg(0), reg(1)),
                Format::RegRegImmImm => Args::RegRegImmImm(reg(0), reg(1), imm(2), imm(3)),
            };
            let decoded = &stream.instructions[index];
            assert_eq!(
                decoded.instruction,
                Some(Instruction {
                    opcode: instruction.opcode,
                    args: expected
                }),
                "instruction {index} at pc {} decodes differently from what was assembled\n{}",
                decoded.pc,
                self.source
            );
        }
        let last = stream.instructions[labels - 1].instruction;
        assert_eq!(last.map(|i| i.opcode), Some(Opcode::Trap), "the final trap");
        Some(blob)
    }
}

/// Interesting addresses for a standard layout built from these sizes.
pub fn standard_addresses(map: Option<&MemoryMap>) -> Vec<u32> {
    let mut out = vec![0x10000, RETURN_TO_HOST, 0, 0xffff_fff8, 2, 4];
    if let Some(map) = map {
        out.extend([
            map.ro_data_address,
            map.rw_data_address,
            map.heap_base,
            map.stack_address_high.wrapping_sub(8),
            map.stack_address_low,
            map.stack_address_high.wrapping_sub(0x100),
            map.aux_data_address,
            map.rw_data_address + map.rw_data_size.saturating_sub(4),
        ]);
    }
    out
}

/// A memory map for these sizes, when one exists.
pub fn map_for(page_size: u32, ro: u32, rw: u32, stack: u32, aux: u32) -> Option<MemoryMap> {
    MemoryMap::new(MemoryMapSizes {
        page_size,
        ro_data_size: ro,
        rw_data_size: rw,
        stack_size: stack,
        aux_data_size: aux,
    })
    .ok()
}

/// A cost table: the naive one, or random costs of 1..=4 (memset 0..=1) from `seed`.
pub fn cost_table(random: bool, seed: u64) -> CostTable {
    let mut table = CostTable::naive();
    if random {
        let mut state = seed | 1;
        for cost in table.costs.iter_mut() {
            state = mix(state);
            *cost = 1 + (state % 4) as u32;
        }
        table.costs[Opcode::Memset as usize] = (seed & 1) as u32;
        table.invalid = 1 + (seed >> 8) as u32 % 3;
        table.version = 2;
    }
    table
}

/// Custom page mappings from the input: mostly sensible (page-aligned, above 64 KiB,
/// around the places code tends to point, overlaps removed), sometimes left as drawn,
/// which includes overlapping, low and wrapping mappings the engine must refuse.
pub fn custom_pages(d: &mut Data) -> Vec<PageMapping> {
    let header = d.u8();
    let count = 1 + header % 4;
    let mut pages: Vec<PageMapping> = (0..count)
        .map(|_| {
            let kind = d.u8();
            let index = u32::from(d.u8());
            let address = match kind % 5 {
                0 => 0x10000 + index * 0x1000,
                1 => 0xfffe_0000 - (1 + index % 16) * 0x1000,
                2 => 0x30000 + index * 0x1000,
                3 => 0x20000 + (index % 4) * 0x1000,
                _ => d.u32() & !0xfff,
            };
            PageMapping {
                address,
                length: (1 + u32::from(kind >> 4) % 4) * 0x1000,
                writable: kind & 8 != 0,
            }
        })
        .collect();
    if header & 0x80 == 0 {
        pages.sort_by_key(|p| p.address);
        let mut end = 0u64;
        pages.retain(|p| {
            let keep = u64::from(p.address) >= end;
            if keep {
                end = u64::from(p.address) + u64::from(p.length);
            }
            keep
        });
    }
    pages
}

/// A program, its module configuration and a run setup, built from fuzz input (the
/// layout the `interpret` target documents); `None` when the input builds nothing.
pub struct Case {
    /// The program.
    pub blob: ProgramBlob,
    /// The module configuration (step tracing off).
    pub config: ModuleConfig,
    /// The standard layout the harness expects, `None` for a custom one.
    pub map: Option<MemoryMap>,
    /// Whether the layout is custom.
    pub custom: bool,
    /// The decoded code.
    pub stream: InstructionStream,
    /// Where and how to run.
    pub setup: Setup,
    /// The input's flag byte.
    pub flags: u8,
}

/// Builds a [`Case`] from fuzz input.
pub fn case(input: &[u8]) -> Option<Case> {
    let mut d = Data::new(input);
    let selector = d.u8();
    let isa = ISAS[usize::from(selector & 3)];
    let mode = (selector >> 2) & 3;
    let flags = d.u8();
    let custom = flags & 1 != 0;
    let gas = i64::from(u32::from_le_bytes([d.u8(), d.u8(), d.u8(), 0]) % 100_001);
    let refill = i64::from(d.u16() % 20_001);
    let chunks = d.take(4).to_vec();
    let ro_size = u32::from(d.u16()) % 0x3001;
    let rw_size = u32::from(d.u16()) % 0x3001;
    let stack_size = u32::from(d.u16());
    let ro_data = d.take(8).to_vec();
    let rw_data = d.take(8).to_vec();
    let ro_size = ro_size.max(ro_data.len() as u32);
    let rw_size = rw_size.max(rw_data.len() as u32);
    let jump_table_selectors: Vec<u16> = (0..d.u8() % 9).map(|_| d.u16()).collect();
    let start_selector = d.u16();
    let cost_seed = d.u64();
    let page_size = [0x1000, 0x4000, 0x10000, 0x2000][usize::from(flags >> 5) & 3];
    let aux = if flags & 0x10 != 0 {
        u32::from(d.u8()) * 0x100
    } else {
        0
    };
    let register_selectors = d.take(13).to_vec();
    let pages = if custom {
        custom_pages(&mut d)
    } else {
        Vec::new()
    };

    let map = if custom {
        None
    } else {
        map_for(page_size, ro_size, rw_size, stack_size, aux)
    };
    let mut addresses = standard_addresses(map.as_ref());
    addresses.extend(pages.iter().map(|p| p.address));
    addresses.extend(
        pages
            .iter()
            .map(|p| p.address.wrapping_add(p.length).wrapping_sub(8)),
    );

    let blob = if mode == 3 {
        let mut header = format!(
            ".isa {}\n.stack_size {stack_size}\n.ro_data_size {ro_size}\n.rw_data_size {rw_size}\n",
            isa.name()
        );
        for (name, data) in [("ro_data", &ro_data), ("rw_data", &rw_data)] {
            if !data.is_empty() {
                header.push('.');
                header.push_str(name);
                for byte in data {
                    header.push_str(&format!(" {byte:02x}"));
                }
                header.push('\n');
            }
        }
        let generated = generate(isa, &mut d, 96, &addresses, &header);
        let Some(blob) = generated.assemble_and_check() else {
            return None;
        };
        if isa == InstructionSet::Graypaper {
            check_raw_round_trip(isa, &blob.code);
        } else {
            check_container_round_trip(&blob);
        }
        blob
    } else {
        let code = raw_code(isa, d.rest(), mode, &jump_table_selectors);
        ProgramBlob {
            isa,
            ro_data_size: ro_size,
            rw_data_size: rw_size,
            stack_size,
            ro_data: ro_data.clone(),
            rw_data: rw_data.clone(),
            imports: Vec::new(),
            exports: Vec::new(),
            code,
        }
    };
    if blob.code.code.len() > 8192 {
        return None;
    }

    let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
    let block_starts: Vec<u32> = stream
        .instructions
        .iter()
        .zip(&stream.block_starts)
        .filter(|(_, &start)| start)
        .map(|(i, _)| i.pc)
        .collect();
    let start_pc = if flags & 8 == 0 {
        0
    } else if start_selector & 0x8000 == 0 {
        block_starts[usize::from(start_selector) % block_starts.len()]
    } else {
        u32::from(start_selector & 0x7fff) % (blob.code.code.len() as u32 + 2)
    };

    let mut registers = Vec::new();
    let mut arguments = Vec::new();
    for (index, &selector) in register_selectors.iter().enumerate() {
        let value = match selector % 8 {
            0 | 1 => continue,
            2 => {
                let base = addresses[usize::from(selector >> 3) % addresses.len()];
                u64::from(base.wrapping_add(u32::from(d.u8()) & !7))
            }
            3 => d.u64(),
            4 => u64::from(selector >> 3),
            5 => u64::from(RETURN_TO_HOST),
            6 => u64::from(selector >> 3) * 2,
            _ => (i64::from(d.u8() as i8)) as u64,
        };
        if flags & 0x80 != 0 {
            registers.push((Reg::ALL[index], value));
        } else if arguments.len() < Reg::ARG_REGS.len() {
            arguments.push(value);
        }
    }

    let config = ModuleConfig {
        page_size,
        aux_data_size: aux,
        cost_table: cost_table(flags & 2 != 0, cost_seed),
        memory: if custom {
            MemoryLayout::Custom(pages)
        } else {
            MemoryLayout::Standard
        },
        ..ModuleConfig::default()
    };
    let setup = Setup {
        start_pc,
        args: arguments,
        regs: registers,
        gas,
        refill,
        chunks,
        max_interrupts: 128,
    };
    Some(Case {
        blob,
        config,
        map,
        custom,
        stream,
        setup,
        flags,
    })
}
