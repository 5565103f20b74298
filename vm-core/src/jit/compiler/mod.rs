//! The compiler: one pass over the decoded instruction stream, emitting x86-64.
//!
//! Each basic block starts with its gas stub ([`gas`]), then the instructions' code
//! ([`alu`], [`memory`], [`control`]); exits and out-of-line stubs collected on the way are
//! emitted after the last block, followed by the entry and exit trampolines
//! ([`runtime`]). Branches to blocks go through labels that the assembler resolves at the
//! end, so the pass never looks back; the only work proportional to anything but the code
//! size is the jump table.
//!
//! The semantics are the interpreter's (`interpreter::ops` and `interpreter::exec`), rule
//! for rule: where a comment names a rule, the interpreter has the same one.

mod alu;
mod control;
mod gas;
mod memory;
mod runtime;

use super::abi::host;
use super::x64::{Assembler, EncodeError, Label, Mem, Reg as HostReg};
use crate::gas::CostTable;
use crate::isa::{Args, Flow, InstructionSet, InstructionStream, Opcode, Reg};
use crate::program::CodeSection;
use alloc::vec::Vec;

/// Marks a jump-table entry whose target starts no basic block.
pub const INVALID_ENTRY: u32 = u32::MAX;

/// What the compiler needs besides the code.
#[derive(Clone, Debug)]
pub struct CompileOptions<'a> {
    /// Charge gas per basic block (synchronously).
    pub gas_metering: bool,
    /// The cost of each opcode.
    pub costs: &'a CostTable,
    /// The instruction set, which selects the branch-validity rules.
    pub isa: InstructionSet,
    /// Address guest memory as `gs:[reg32 + offset]` (one instruction, 32-bit wrapping
    /// address arithmetic), with the entry trampoline pointing the `gs` base at guest
    /// address 0 and the exit path restoring the host's. Only where the OS lets user
    /// space write the `gs` base (`crate::sandbox::generic::segment_base_usable`);
    /// otherwise every access first forms its 32-bit address in a scratch register.
    pub segment_memory: bool,
}

/// A compiled program: position-independent machine code and what a runner needs to
/// enter it, resume it and explain its faults.
#[derive(Clone, Debug, Default)]
pub struct CompiledProgram {
    /// The machine code (position-independent: it refers to nothing outside itself except
    /// through the context).
    pub code: Vec<u8>,
    /// Offset of the entry trampoline: `extern "sysv64" fn(context: *mut u8)`; it loads the
    /// guest registers from the context and jumps to the context's resume address.
    pub entry_offset: u32,
    /// Offset of the exit path: stores the guest registers to the context and returns from
    /// the entry trampoline. A fault handler sends a faulting guest access here after
    /// writing the exit kind, pc and argument.
    pub exit_offset: u32,
    /// `(pc, code offset)` of every basic block's gas stub, sorted by pc; a block's index
    /// here is its number in out-of-gas exits.
    pub blocks: Vec<(u32, u32)>,
    /// The gas cost of each block in [`blocks`](Self::blocks) (empty without metering).
    pub block_costs: Vec<u32>,
    /// Code offset of each jump-table entry's block, or [`INVALID_ENTRY`].
    pub jump_table: Vec<u32>,
    /// `(code offset, pc)` of every instruction that accesses guest memory, sorted by
    /// offset: the guest pc of a fault at that instruction.
    pub fault_sites: Vec<(u32, u32)>,
}

impl CompiledProgram {
    /// The code offset of the block starting at `pc`, if one does.
    pub fn block_offset(&self, pc: u32) -> Option<u32> {
        let index = self.blocks.binary_search_by_key(&pc, |b| b.0).ok()?;
        Some(self.blocks[index].1)
    }

    /// The guest pc of the memory access whose instruction starts at code `offset`.
    pub fn fault_pc(&self, offset: u32) -> Option<u32> {
        let index = self
            .fault_sites
            .binary_search_by_key(&offset, |s| s.0)
            .ok()?;
        Some(self.fault_sites[index].1)
    }
}

/// An out-of-line stub, emitted after the last block.
enum Stub {
    /// Gas ran out before block number `block`: exit with its number, and the host gives
    /// back its cost and resumes at its stub (ten bytes per block rather than a full
    /// exit sequence).
    OutOfGas { entry: Label, block: u32 },
    /// `memset` at `pc` ran out of gas; resume at `resume` (the memset again).
    MemsetOutOfGas {
        entry: Label,
        resume: Label,
        pc: u32,
    },
    /// Trap at `pc`.
    Trap { entry: Label, pc: u32 },
    /// A dynamic jump at `pc` returned to the host.
    Finished { entry: Label, pc: u32 },
    /// A dynamic jump's rotated address (in the scratch register) is past the jump
    /// table: the return-to-host address goes to `finished`, anything else to `trap`.
    JumpTableMiss {
        entry: Label,
        finished: Label,
        trap: Label,
    },
}

/// Labels of the shared exit paths.
struct Exits {
    trap: Label,
    finished: Label,
    out_of_gas: Label,
    block_out_of_gas: Label,
    save_and_exit: Label,
}

pub(super) struct Compiler<'a> {
    asm: Assembler,
    options: CompileOptions<'a>,
    /// `(pc, label)` of every block a branch may target, sorted by pc. (Searched rather
    /// than indexed by pc: a dense table would cost 4-8 bytes per code byte to allocate
    /// and clear, more than the searches for typical branch densities.)
    targets: Vec<(u32, Label)>,
    stubs: Vec<Stub>,
    exits: Exits,
    fault_sites: Vec<(u32, u32)>,
    jump_table_len: u32,
}

/// Compiles a decoded program.
pub fn compile(
    stream: &InstructionStream,
    code: &CodeSection,
    options: &CompileOptions<'_>,
) -> Result<CompiledProgram, EncodeError> {
    let instructions = &stream.instructions;
    let block_count = stream.block_starts.iter().filter(|&&start| start).count();
    // Rough size: most instructions take well under 16 bytes, plus a stub per block.
    let mut asm = Assembler::with_capacity(instructions.len() * 16 + block_count * 16 + 256);
    // A label per block and per stub (about one per block), a fixup per branch and stub.
    asm.reserve(2 * block_count + 8, 2 * block_count + 8);
    let exits = Exits {
        trap: asm.label(),
        finished: asm.label(),
        out_of_gas: asm.label(),
        block_out_of_gas: asm.label(),
        save_and_exit: asm.label(),
    };
    let mut compiler = Compiler {
        asm,
        options: options.clone(),
        targets: Vec::with_capacity(block_count),
        stubs: Vec::with_capacity(block_count + 8),
        exits,
        fault_sites: Vec::with_capacity(instructions.len() / 4),
        jump_table_len: code.jump_table.len() as u32,
    };

    // Labels for every block start, and each block's cost (a block's cost is known only at
    // its end, but its stub comes first).
    let mut block_labels_in_order = Vec::with_capacity(block_count);
    let mut block_costs: Vec<u32> = Vec::with_capacity(block_count);
    for (index, decoded) in instructions.iter().enumerate() {
        if stream.block_starts[index] {
            let label = compiler.asm.label();
            block_labels_in_order.push(label);
            block_costs.push(0);
            // The implicit trap at the end is a block but no valid target.
            if decoded.length != 0 {
                compiler.targets.push((decoded.pc, label));
            }
        }
        let cost = decoded
            .instruction
            .map_or(options.costs.invalid, |i| options.costs.cost(i.opcode));
        if let Some(last) = block_costs.last_mut() {
            *last = last.saturating_add(cost);
        }
    }

    let polkavm_branch_rules = options.isa != InstructionSet::Graypaper;
    let mut blocks = Vec::with_capacity(block_labels_in_order.len());
    let mut block_number = 0;
    for (index, decoded) in instructions.iter().enumerate() {
        if stream.block_starts[index] {
            let label = block_labels_in_order[block_number];
            let cost = block_costs[block_number];
            block_number += 1;
            compiler.asm.bind(label);
            blocks.push((decoded.pc, compiler.asm.offset() as u32));
            if options.gas_metering {
                compiler.gas_stub(block_number as u32 - 1, cost);
            }
        }
        let pc = decoded.pc;
        let Some(instruction) = decoded.instruction else {
            compiler.trap_here(pc);
            continue;
        };
        if polkavm_branch_rules && decoded.flow() == Flow::Branch {
            // As in PolkaVM (and the interpreter), a conditional branch or `fallthrough`
            // whose target starts no block, or whose fall-through is past the end of the
            // code, traps where it stands, taken or not.
            let falls_off_end = instructions
                .get(index + 1)
                .is_none_or(|next| next.length == 0);
            let bad_target = match instruction.args {
                Args::RegImmOffset(_, _, t) | Args::RegRegOffset(_, _, t) => {
                    compiler.target(t).is_none()
                }
                _ => false,
            };
            if falls_off_end || bad_target {
                compiler.trap_here(pc);
                continue;
            }
        }
        let next_pc = pc + decoded.length;
        compiler.instruction(instruction.opcode, instruction.args, pc, next_pc);
    }

    compiler.emit_stubs();
    let entry_offset = compiler.entry_trampoline();
    let exit_offset = compiler
        .asm
        .label_offset(compiler.exits.save_and_exit)
        .expect("bound by emit_stubs") as u32;

    let mut jump_table = Vec::with_capacity(code.jump_table.len());
    for &target in &code.jump_table {
        let offset = compiler
            .target(target)
            .and_then(|label| compiler.asm.label_offset(label))
            .map_or(INVALID_ENTRY, |o| o as u32);
        jump_table.push(offset);
    }
    let Compiler {
        asm,
        mut fault_sites,
        ..
    } = compiler;
    // Emitted in order already; sorting keeps the lookup valid if that ever changes.
    if !fault_sites.is_sorted_by_key(|s| s.0) {
        fault_sites.sort_unstable_by_key(|s| s.0);
    }
    Ok(CompiledProgram {
        code: asm.finalize()?,
        entry_offset,
        exit_offset,
        blocks,
        block_costs: if options.gas_metering {
            block_costs
        } else {
            Vec::new()
        },
        jump_table,
        fault_sites,
    })
}

impl Compiler<'_> {
    /// The label of the block a branch to `pc` enters, or `None` if no block starts there.
    fn target(&self, pc: u32) -> Option<Label> {
        let index = self.targets.binary_search_by_key(&pc, |t| t.0).ok()?;
        Some(self.targets[index].1)
    }

    /// A context field as a memory operand.
    fn ctx(field: i32) -> Mem {
        Mem::base_disp(super::abi::MEMORY_BASE, super::abi::ctx_disp(field))
    }

    fn r(reg: Reg) -> HostReg {
        host(reg)
    }

    /// Emits one (valid) instruction.
    fn instruction(&mut self, opcode: Opcode, args: Args, pc: u32, next_pc: u32) {
        use Args as A;
        use Opcode as O;
        match (opcode, args) {
            (O::Trap, _) => self.trap_here(pc),
            (O::Fallthrough, _) | (O::Unlikely, _) => {}
            (O::Memset, _) => self.memset(pc),
            (O::Ecalli, A::Imm(n)) => self.ecalli(n, pc, next_pc),
            (O::Sbrk, A::RegReg(d, s)) => self.sbrk(d, s, next_pc),
            (O::Jump, A::Offset(t)) => self.jump(t, pc),
            (O::JumpIndirect, A::RegImm(b, x)) => self.jump_indirect(None, b, x, pc),
            (O::LoadImmAndJump, A::RegImmOffset(d, x, t)) => {
                self.load_imm(d, x);
                self.jump(t, pc);
            }
            (O::LoadImmAndJumpIndirect, A::RegRegImmImm(d, b, x, y)) => {
                self.jump_indirect(Some((d, x)), b, y, pc)
            }
            (O::LoadImm, A::RegImm(d, x)) => self.load_imm(d, x),
            (O::LoadImm64, A::RegImm64(d, x)) => {
                self.asm.mov_ri(super::x64::Size::B64, Self::r(d), x as i64)
            }
            (_, A::RegImmOffset(a, x, t)) => self.branch_imm(opcode, a, x, t, pc),
            (_, A::RegRegOffset(a, b, t)) => self.branch_reg(opcode, a, b, t, pc),
            _ => {
                if !self.memory_instruction(opcode, args, pc) {
                    self.alu_instruction(opcode, args);
                }
            }
        }
    }
}
