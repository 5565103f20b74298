//! The compiler: one pass over the code bytes, decoding and emitting x86-64 as it goes.
//!
//! Each basic block starts with its gas stub ([`gas`]), then the instructions' code
//! ([`alu`], [`memory`], [`control`]); exits and out-of-line stubs collected on the way are
//! emitted after the last block, followed by the entry and exit trampolines
//! ([`runtime`]). Branches to blocks go through labels that the assembler resolves at the
//! end, so the pass never looks back; the only work proportional to anything but the code
//! size is the jump table.
//!
//! Nothing is known ahead of the pass, so three things are settled late: a block's cost
//! is patched into its stub's 32-bit immediate when the block ends; a branch to an offset
//! not reached yet is emitted to that offset's label and checked at the end, and if no
//! block started there it is rewritten to trap (PolkaVM's rules: the whole branch traps;
//! Graypaper's: only the taken edge); and the instructions are located by the
//! [`Decoder`] and dispatched through [`EMITTERS`], one function per opcode, so that each
//! costs a single indirect call.
//!
//! Two rules look one instruction back (never ahead), both at the last add
//! ([`Compiler::last_add`]): an access right after an `add_imm` into its base addresses
//! the add's operand ([`Sum`]), and a `set_less_than_unsigned` right after an `add_64` of
//! the compared register takes the add's carry ([`Carry`]). The add counts only where its
//! code ends where the current instruction's begins, so nothing ran between them.
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
use crate::gas::{BlockCharge, CostTable};
use crate::isa::{
    decode_args, Args, Decoder, Flow, InstructionSet, Opcode, RawInstruction, Reg, MACRO_BLOCK_SIZE,
};
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
    /// through the context). Empty from [`compile_in`], which leaves the code in its
    /// [`Scratch`].
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
    /// The gas cost of each block in [`blocks`](Self::blocks) (empty without metering),
    /// without the memory-access surcharge.
    pub block_costs: Vec<u32>,
    /// The loads and stores of each block in [`blocks`](Self::blocks), which each pay
    /// the instance's memory-access surcharge on entry (empty without metering or when
    /// the cost table has no surcharge).
    pub block_accesses: Vec<u32>,
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
#[derive(Clone, Copy)]
enum Stub {
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

/// Set in a [`Buffers::labels_by_pc`] entry once a basic block starts at that offset.
const BLOCK_STARTS_HERE: u32 = 1 << 31;

/// How a branch to a target that turns out to start no block is rewritten once the
/// whole code has been seen.
#[derive(Clone, Copy)]
enum Repair {
    /// Point the rel32 field at `at` (of a `jmp` or a `jcc`) at a trap stub: the jump
    /// traps when taken.
    Retarget { at: u32 },
    /// Overwrite the instruction at `at` (at least five bytes) with a `jmp` to a trap
    /// stub: the branch traps whether taken or not.
    Replace { at: u32 },
}

/// A branch emitted before its target was reached: whether the target starts a block is
/// known only at the end.
#[derive(Clone, Copy)]
struct ForwardBranch {
    /// The target's label: bound by the end exactly if a block starts at the target.
    label: Label,
    pc: u32,
    repair: Repair,
}

pub(super) struct Compiler<'a> {
    asm: Assembler,
    options: CompileOptions<'a>,
    /// Working buffers besides the assembler, kept between compilations.
    buffers: Buffers,
    exits: Exits,
    fault_sites: Vec<(u32, u32)>,
    jump_table_len: u32,
    code_len: u32,
    /// Whether the branch rules are PolkaVM's (every set but the Graypaper's).
    polkavm_branch_rules: bool,
    /// `(pc, code offset)` of every block so far.
    blocks: Vec<(u32, u32)>,
    /// The cost of every closed block.
    block_costs: Vec<u32>,
    /// The loads and stores of every closed block (with a memory-access surcharge).
    block_accesses: Vec<u32>,
    /// Every block's cost and loads and stores, summed before the pass, where a cost
    /// might not fit a stub's immediate (see `compile_all`).
    precomputed_costs: Option<Vec<BlockCharge>>,
    /// The open block's charge so far.
    charge: BlockCharge,
    /// Where the open block's stub takes its cost, to patch when it ends.
    cost_at: Option<gas::CostSlot>,
    /// Whether the last instruction ended its block, so the next one starts one. Set by
    /// each instruction's emitter from its opcode (a constant there), so the pass needs
    /// no table lookup to find block boundaries.
    ends_block: bool,
    /// Whether the last instruction may fall through (for the implicit trap at the end).
    falls_through: bool,
    /// The last add the look-behind rules may use, and the code offset where it ends
    /// (see [`Compiler::add_just_before`]).
    last_add: Option<(u32, LastAdd)>,
}

/// An add that the next instruction may build on, if nothing runs between them.
#[derive(Copy, Clone)]
pub(super) enum LastAdd {
    /// An `add_imm` into a register other than its operand.
    Sum(Sum),
    /// An `add_64`, whose carry is in the flags.
    Carry(Carry),
}

/// `sum = a + b` (64-bit), just emitted by an `add_64`, so the flags hold its carry. A `set_less_than_unsigned d, sum, x` right after it, with
/// `x` one of the operands and not `sum` (so it still holds its value), is that carry:
/// `sum < x` exactly when the addition wrapped. Multi-word additions (big integers, field
/// arithmetic) compute every carry so; taking it from the flags takes the `cmp` off
/// the carry chain.
#[derive(Copy, Clone)]
pub(super) struct Carry {
    pub(super) sum: HostReg,
    pub(super) operands: [HostReg; 2],
}

/// `dest = base + disp`, just emitted by an `add_imm` whose destination is not its
/// operand. A load or store right after it whose base is `dest`
/// addresses `base` with the displacements summed instead: `base` still holds the
/// operand, the 32-bit address is the same, and the access need not wait for the sum
/// (blake2 and blake3 address their message words so, 3% faster). The sum is still
/// written, so a fault at the access sees the registers the interpreter would. An
/// `add` of two registers is not folded: `[a + b]` measured no faster on the corpus.
#[derive(Copy, Clone)]
pub(super) struct Sum {
    pub(super) dest: HostReg,
    pub(super) base: HostReg,
    pub(super) disp: i32,
}

/// Where a branch or jump goes, as far as the pass knows at the branch.
enum Target {
    /// A block that started already (a backward branch, or a loop to its own block).
    Block(Label),
    /// A place not reached yet: emit the branch to this label and record it with
    /// [`Compiler::forward_branch`].
    Ahead(Label),
    /// Starts no block: past the code, or an earlier offset where no block started.
    Invalid,
}

/// The compiler's working buffers besides the assembler.
#[derive(Default)]
struct Buffers {
    /// Indexed by code offset (one entry past the end too): 0, or one more than the
    /// label of that offset, with [`BLOCK_STARTS_HERE`] once a block starts there.
    /// (Dense rather than searched: the pass never needs to look ahead to find out
    /// where blocks start, and a branch costs one load.)
    labels_by_pc: Vec<u32>,
    forward_branches: Vec<ForwardBranch>,
    stubs: Vec<Stub>,
    /// The code offset of each block's out-of-gas `jl` rel32 field, in block order: gas
    /// ran out before block number `n`, so exit with `n`, and the host gives back its
    /// cost and resumes at its gas check (ten bytes of exit code per block rather than
    /// a full exit sequence).
    gas_exits: Vec<u32>,
}

impl Buffers {
    /// Empties every buffer (keeping its allocation) for code of `code_len` bytes.
    fn reset(&mut self, code_len: usize) {
        self.labels_by_pc.clear();
        self.labels_by_pc.resize(code_len + 1, 0);
        self.forward_branches.clear();
        self.stubs.clear();
        self.gas_exits.clear();
    }

    /// Bytes of memory the buffers hold on to.
    fn retained_bytes(&self) -> usize {
        self.labels_by_pc.capacity() * 4
            + self.forward_branches.capacity() * core::mem::size_of::<ForwardBranch>()
            + self.stubs.capacity() * core::mem::size_of::<Stub>()
            + self.gas_exits.capacity() * 4
    }
}

/// The buffers a compilation works in, kept from one compilation to the next so that
/// compiling a large program does not fault in megabytes of fresh memory every time (the
/// machine code, the label table, the forward branches and the stubs).
#[derive(Default)]
pub struct Scratch {
    asm: Assembler,
    buffers: Buffers,
}

impl Scratch {
    /// Empty buffers.
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// The machine code of the last successful [`compile_in`] with this scratch.
    pub fn code(&self) -> &[u8] {
        self.asm.code()
    }

    /// Takes the buffer holding the machine code of the last successful [`compile_in`]
    /// (its first `len` bytes, returned with it), so that a module keeps it rather than a
    /// copy; give it to [`recycle_code_buffer`] when done. The next compilation in this
    /// scratch takes a recycled buffer.
    pub fn take_code(&mut self) -> (Vec<u8>, usize) {
        let len = self.asm.offset();
        (self.asm.take_code_buffer(), len)
    }

    /// Bytes of memory the buffers hold on to.
    fn retained_bytes(&self) -> usize {
        self.asm.capacity_bytes() + self.buffers.retained_bytes()
    }
}

/// Scratch buffers kept for the next compilation in this process.
static SCRATCH_POOL: std::sync::Mutex<Vec<Scratch>> = std::sync::Mutex::new(Vec::new());
/// At most this many scratches are kept (one per concurrently compiling thread, roughly).
const MAX_POOLED_SCRATCHES: usize = 4;
/// A scratch holding more than this (after compiling a huge program) is freed, not kept.
const MAX_RETAINED_SCRATCH_BYTES: usize = 64 << 20;

/// Code buffers of dropped modules ([`Scratch::take_code`]), for the next compilations
/// to emit into: a fresh buffer faults in each of its pages (about 1.4 us per 4 KiB page
/// on a virtual machine), a tenth of a cold call on a 62 KiB blob.
static CODE_BUFFER_POOL: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
/// Pooled code buffers are kept up to this many bytes in all.
const MAX_POOLED_CODE_BYTES: usize = 64 << 20;

/// Keeps a module's code buffer (from [`Scratch::take_code`]) for a later compilation to
/// emit into, if the pool has room.
pub fn recycle_code_buffer(buffer: Vec<u8>) {
    let mut pool = CODE_BUFFER_POOL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let pooled: usize = pool.iter().map(Vec::len).sum();
    if pooled + buffer.len() <= MAX_POOLED_CODE_BYTES {
        pool.push(buffer);
    }
}

/// Gives `asm` the shortest pooled buffer with room for `bytes` of code where its own
/// buffer has less (a shorter one would only be copied as it grows).
fn take_pooled_code_buffer(asm: &mut Assembler, bytes: usize) {
    if asm.code_buffer_len() >= bytes {
        return;
    }
    let mut pool = CODE_BUFFER_POOL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let fitting = pool
        .iter()
        .enumerate()
        .filter(|(_, buffer)| buffer.len() >= bytes)
        .min_by_key(|(_, buffer)| buffer.len())
        .map(|(index, _)| index);
    if let Some(index) = fitting {
        let buffer = pool.swap_remove(index);
        drop(pool);
        asm.put_code_buffer(buffer);
    }
}

/// Runs `f` with scratch buffers from a process-wide pool, and returns them to it.
pub fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let pooled = SCRATCH_POOL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    let mut scratch = pooled.unwrap_or_default();
    let result = f(&mut scratch);
    if scratch.retained_bytes() <= MAX_RETAINED_SCRATCH_BYTES {
        let mut pool = SCRATCH_POOL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pool.len() < MAX_POOLED_SCRATCHES {
            pool.push(scratch);
        }
    }
    result
}

/// Compiles the code section of a program.
pub fn compile(
    code: &CodeSection,
    options: &CompileOptions<'_>,
) -> Result<CompiledProgram, EncodeError> {
    let mut scratch = Scratch::new();
    let mut program = compile_in(&mut scratch, code, options)?;
    program.code = core::mem::take(&mut scratch.asm).finalize()?;
    Ok(program)
}

/// Compiles the code section of a program in `scratch`: the machine code is left in
/// [`Scratch::code`], and the returned program's `code` is empty.
pub fn compile_in(
    scratch: &mut Scratch,
    code: &CodeSection,
    options: &CompileOptions<'_>,
) -> Result<CompiledProgram, EncodeError> {
    let code_len = code.code.len();
    // Sized from the instruction count (about ten bytes of machine code per instruction,
    // plus stubs), so the buffers rarely grow.
    let estimate = compiler_estimate(code, options.isa);
    let Scratch {
        mut asm,
        mut buffers,
    } = core::mem::take(scratch);
    asm.clear();
    take_pooled_code_buffer(&mut asm, estimate * 12 + 512);
    asm.reserve_code(estimate * 12 + 512);
    asm.reserve(estimate / 2 + 16, estimate / 2 + 16);
    buffers.reset(code_len);
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
        buffers,
        exits,
        fault_sites: Vec::with_capacity(estimate / 3 + 8),
        jump_table_len: code.jump_table.len() as u32,
        code_len: code_len as u32,
        polkavm_branch_rules: options.isa != InstructionSet::Graypaper,
        blocks: Vec::with_capacity(estimate / 4 + 8),
        block_costs: Vec::with_capacity(estimate / 4 + 8),
        block_accesses: Vec::new(),
        precomputed_costs: None,
        charge: BlockCharge::default(),
        cost_at: None,
        ends_block: true,
        falls_through: true,
        last_add: None,
    };
    let result = compiler.compile_all(code);
    *scratch = Scratch {
        asm: compiler.asm,
        buffers: compiler.buffers,
    };
    let (mut program, repairs) = result?;
    program.fault_sites = compiler.fault_sites;
    // Emitted in order already; sorting keeps the lookup valid if that ever changes.
    if !program.fault_sites.is_sorted_by_key(|s| s.0) {
        program.fault_sites.sort_unstable_by_key(|s| s.0);
    }
    scratch.asm.resolve()?;
    for (repair, stub) in repairs {
        match repair {
            Repair::Retarget { at } => {
                scratch
                    .asm
                    .patch_u32(at as usize, stub.wrapping_sub(at + 4));
            }
            Repair::Replace { at } => {
                scratch.asm.patch_u8(at as usize, 0xE9);
                scratch
                    .asm
                    .patch_u32(at as usize + 1, stub.wrapping_sub(at + 5));
            }
        }
    }
    Ok(program)
}

impl Compiler<'_> {
    /// The pass over the code and everything after it but resolving the labels: the
    /// program (without its code and fault sites) and the repairs, with the code offset
    /// of each one's trap stub.
    fn compile_all(
        &mut self,
        code: &CodeSection,
    ) -> Result<(CompiledProgram, Vec<(Repair, u32)>), EncodeError> {
        let options = self.options.clone();
        let options = &options;
        let code_len = code.code.len();
        let compiler = self;
        // A block's cost is known only at its end, but its gas stub comes first: the
        // stub's immediate is patched when the block ends. Where a block's cost might not
        // fit the immediate (only with enormous per-opcode costs), the costs are summed in
        // a pass of their own first.
        let max_cost = options.costs.max_instruction_cost();
        compiler.precomputed_costs = (options.gas_metering
            && u64::from(max_cost) * (code_len as u64 + 1) > i32::MAX as u64)
            .then(|| block_costs(code, options));

        let mut decoder = Decoder::new(options.isa, &code.code, &code.bitmask);
        if options.isa.has_bitmask() {
            compiler.pass::<true>(&mut decoder, &code.code);
        } else {
            compiler.pass::<false>(&mut decoder, &code.code);
        }
        // The decoder yields at least the implicit trap, so a block is open.
        compiler.close_block();

        let repairs = compiler.resolve_forward_branches();
        compiler.emit_stubs();
        let entry_offset = compiler.entry_trampoline();
        let exit_offset = compiler
            .asm
            .label_offset(compiler.exits.save_and_exit)
            .expect("bound by emit_stubs") as u32;

        let mut jump_table = Vec::with_capacity(code.jump_table.len());
        for &target in &code.jump_table {
            let offset = match compiler.block_label(target) {
                Some(label) => compiler
                    .asm
                    .label_offset(label)
                    .map_or(INVALID_ENTRY, |o| o as u32),
                None => INVALID_ENTRY,
            };
            jump_table.push(offset);
        }
        let repairs = repairs
            .into_iter()
            .map(|(repair, stub)| {
                let offset = compiler.asm.label_offset(stub).expect("stubs are bound") as u32;
                (repair, offset)
            })
            .collect();
        let program = CompiledProgram {
            code: Vec::new(),
            entry_offset,
            exit_offset,
            blocks: core::mem::take(&mut compiler.blocks),
            block_costs: if options.gas_metering {
                core::mem::take(&mut compiler.block_costs)
            } else {
                Vec::new()
            },
            block_accesses: if options.gas_metering && options.costs.has_access_costs() {
                core::mem::take(&mut compiler.block_accesses)
            } else {
                Vec::new()
            },
            jump_table,
            fault_sites: Vec::new(),
        };
        Ok((program, repairs))
    }
}

/// Decodes the operands of one instruction of opcode number `OP` and emits it.
///
/// One function per opcode, reached through [`EMITTERS`]: with the opcode a constant,
/// decoding its operands and choosing its code generator fold into straight-line code, so
/// each instruction costs one indirect call rather than a chain of data-dependent
/// dispatches (operand format, then opcode, per family).
fn emit<const OP: usize>(compiler: &mut Compiler<'_>, code: &[u8], raw: RawInstruction) {
    let opcode = Opcode::ALL[OP];
    let flow = opcode.flow();
    compiler.charge.add(compiler.options.costs, Some(opcode));
    compiler.ends_block = flow.ends_block();
    compiler.falls_through = flow.can_fall_through();
    let next_pc = raw.pc + raw.length;
    if flow == Flow::Branch && compiler.polkavm_branch_rules && next_pc >= compiler.code_len {
        // As in PolkaVM (and the interpreter), a conditional branch or `fallthrough` whose
        // fall-through is past the end of the code traps where it stands, taken or not.
        // (So does one whose target starts no block: see `Compiler::branch`.)
        compiler.trap_here(raw.pc);
        return;
    }
    let args = decode_args(code, raw.pc, opcode, raw.args_at as usize, raw.args_length);
    compiler.instruction(opcode, args, raw.pc, next_pc);
}

/// Emits an invalid instruction (an opcode index of no opcode): a trap that ends its block.
fn emit_invalid(compiler: &mut Compiler<'_>, _code: &[u8], raw: RawInstruction) {
    compiler.charge.add(compiler.options.costs, None);
    compiler.ends_block = true;
    compiler.falls_through = false;
    compiler.trap_here(raw.pc);
}

/// An instruction emitter, as [`emit`].
type Emitter = for<'a, 'b, 'c> fn(&'a mut Compiler<'b>, &'c [u8], RawInstruction);

/// `emit::<OP>` for every opcode number `OP`, then `emit_invalid` up to index 255.
macro_rules! emitters {
    ($($op:literal)*) => {{
        let mut table = [emit_invalid as Emitter; 256];
        let emitters = [$(emit::<$op> as Emitter,)*];
        // Every opcode has its emitter (a missing or extra one fails to compile here).
        let _: [Emitter; Opcode::ALL.len()] = emitters;
        let mut index = 0;
        while index < emitters.len() {
            table[index] = emitters[index];
            index += 1;
        }
        table
    }};
}

/// The emitter of each opcode index (as [`RawInstruction::opcode_index`]); indices of no
/// opcode emit an invalid instruction.
static EMITTERS: [Emitter; 256] = emitters!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128 129 130 131 132 133 134 135 136 137 138 139 140);

/// The number of instructions, roughly, to size buffers by.
fn compiler_estimate(code: &CodeSection, isa: InstructionSet) -> usize {
    if isa.has_bitmask() {
        crate::isa::instruction_starts(&code.bitmask)
    } else {
        code.code.len() / 3
    }
}

/// Every block's cost and loads and stores, in order (saturating), for the rare cost
/// tables whose block costs may not fit a stub's 32-bit immediate.
fn block_costs(code: &CodeSection, options: &CompileOptions<'_>) -> Vec<BlockCharge> {
    let mut charges: Vec<BlockCharge> = Vec::new();
    let mut decoder = Decoder::new(options.isa, &code.code, &code.bitmask);
    // Charges need only the opcodes: no operand is decoded.
    while let Some(raw) = decoder.next_raw() {
        if decoder.starts_block() {
            charges.push(BlockCharge::default());
        }
        if let Some(charge) = charges.last_mut() {
            charge.add(options.costs, raw.opcode());
        }
    }
    charges
}

impl Compiler<'_> {
    /// Records the add just emitted for the instruction after it ([`LastAdd`]).
    #[inline(always)]
    pub(super) fn note_add(&mut self, add: LastAdd) {
        self.last_add = Some((self.asm.offset() as u32, add));
    }

    /// The add whose code ends where the instruction being emitted begins, if any: only
    /// then did nothing run between them (same block, operands untouched).
    #[inline(always)]
    pub(super) fn add_just_before(&self) -> Option<LastAdd> {
        match self.last_add {
            Some((end, add)) if end == self.asm.offset() as u32 => Some(add),
            _ => None,
        }
    }

    /// The label of code offset `pc` (at most the code length), made on first use.
    #[inline]
    fn label_at(&mut self, pc: u32) -> Label {
        let entry = &mut self.buffers.labels_by_pc[pc as usize];
        if *entry & !BLOCK_STARTS_HERE != 0 {
            return Label::from_index((*entry & !BLOCK_STARTS_HERE) - 1);
        }
        let label = self.asm.label();
        *entry |= label.index() + 1;
        label
    }

    /// The label of the block starting at `pc`, once the pass is past `pc`; `None` if no
    /// block starts there (the implicit trap after the code is no target either).
    fn block_label(&self, pc: u32) -> Option<Label> {
        if pc >= self.code_len {
            return None;
        }
        let entry = self.buffers.labels_by_pc[pc as usize];
        (entry & BLOCK_STARTS_HERE != 0)
            .then(|| Label::from_index((entry & !BLOCK_STARTS_HERE) - 1))
    }

    /// Where a branch at `pc` to `target` goes, as far as the pass knows now.
    #[inline]
    fn target(&mut self, target: u32, pc: u32) -> Target {
        if target > pc {
            if target >= self.code_len {
                return Target::Invalid;
            }
            return Target::Ahead(self.label_at(target));
        }
        match self.block_label(target) {
            Some(label) => Target::Block(label),
            None => Target::Invalid,
        }
    }

    /// Records a branch at `pc` to a `target` ahead, to be checked (and repaired if the
    /// target starts no block) at the end.
    #[inline]
    fn forward_branch(&mut self, label: Label, pc: u32, repair: Repair) {
        self.buffers
            .forward_branches
            .push(ForwardBranch { label, pc, repair });
    }

    /// Checks every forward branch now that every block is known: each one whose target
    /// starts no block gets a trap stub (returned with how to repair the branch), and
    /// its target's label is bound somewhere harmless, since nothing will jump to it.
    fn resolve_forward_branches(&mut self) -> Vec<(Repair, Label)> {
        let mut repairs = Vec::new();
        let branches = core::mem::take(&mut self.buffers.forward_branches);
        // The labels of offsets ahead are bound only where blocks start (looking them up
        // in the label list, not the much larger table by offset, stays in cache).
        for branch in &branches {
            if self.asm.label_offset(branch.label).is_none() {
                let stub = self.trap_stub(branch.pc);
                repairs.push((branch.repair, stub));
            }
        }
        for branch in &branches {
            if self.asm.label_offset(branch.label).is_none() {
                self.asm.bind(branch.label);
            }
        }
        self.buffers.forward_branches = branches;
        repairs
    }

    /// The pass over the instructions, specialised on whether the code has a bitmask
    /// (otherwise blocks also start at every macro-block boundary).
    #[inline(always)]
    fn pass<const BITMASK: bool>(&mut self, decoder: &mut Decoder<'_>, code: &[u8]) {
        while let Some(raw) = decoder.locate_next_in::<BITMASK>(self.falls_through) {
            if self.ends_block || (!BITMASK && raw.pc % MACRO_BLOCK_SIZE == 0) {
                self.start_block(raw.pc);
            }
            EMITTERS[raw.opcode_index as usize](self, code, raw);
        }
    }

    /// Ends the open block (if any) and starts one at `pc`, with its gas stub.
    #[inline]
    fn start_block(&mut self, pc: u32) {
        if !self.blocks.is_empty() {
            self.close_block();
        }
        let label = self.label_at(pc);
        self.buffers.labels_by_pc[pc as usize] |= BLOCK_STARTS_HERE;
        self.asm.bind(label);
        let block = self.blocks.len();
        self.blocks.push((pc, self.asm.offset() as u32));
        self.charge = BlockCharge::default();
        self.cost_at = None;
        self.ends_block = false;
        if self.options.gas_metering {
            match &self.precomputed_costs {
                Some(charges) => {
                    let charge = charges[block];
                    self.gas_stub(charge.cost, charge.accesses);
                }
                None => self.cost_at = Some(self.patchable_gas_stub()),
            }
        }
    }

    /// Ends the open block: its cost goes into its stub (unless precomputed) and the
    /// block costs.
    #[inline]
    fn close_block(&mut self) {
        if let Some(slot) = self.cost_at {
            debug_assert!(
                self.charge.cost <= i32::MAX as u32,
                "checked before the pass"
            );
            self.patch_cost(slot, self.charge.cost, self.charge.accesses);
        }
        self.block_costs.push(self.charge.cost);
        self.block_accesses.push(self.charge.accesses);
    }

    /// A context field as a memory operand: below the `gs` base with `segment_memory`,
    /// else below the memory base register.
    #[inline(always)]
    fn ctx(&self, field: i32) -> Mem {
        let disp = super::abi::ctx_disp(field);
        if self.options.segment_memory {
            Mem::gs(disp)
        } else {
            Mem::base_disp(super::abi::MEMORY_BASE, disp)
        }
    }

    /// Whether the remaining gas lives in [`GAS_REG`](super::abi::GAS_REG) while the code
    /// runs (with `segment_memory`, which frees that register), rather than in the
    /// context.
    #[inline(always)]
    fn gas_in_register(&self) -> bool {
        self.options.segment_memory
    }

    fn r(reg: Reg) -> HostReg {
        host(reg)
    }

    /// Emits one (valid) instruction. Always inlined into [`emit`], where the opcode is a
    /// constant and this folds to one arm.
    #[inline(always)]
    fn instruction(&mut self, opcode: Opcode, args: Args, pc: u32, next_pc: u32) {
        use Args as A;
        use Opcode as O;
        match (opcode, args) {
            (O::Trap, _) => self.trap_here(pc),
            (O::Fallthrough, _) | (O::Unlikely, _) => {}
            (O::Memset, _) => self.memset(pc),
            (O::Ecalli, A::Imm(n)) => self.ecalli(n, pc, next_pc),
            (O::Sbrk, A::RegReg(d, s)) => self.sbrk(d, s, pc, next_pc),
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
