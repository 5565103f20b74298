//! The interpreter's pre-decoded form: one flat array of [`Op`]s, compiled once per module.
//!
//! Gas is charged when control enters a basic block: every control transfer (a taken or
//! not-taken branch, a jump, `fallthrough`) charges the target block's cost, read from
//! [`CompiledCode::block_costs`], so no op is spent on charging. Branch targets are indices
//! into the array; a branch to a place that is not a block start points at an [`Op::Trap`]
//! appended for it (cost 0), which reports the branch's own program counter.
//! Immediates stay 32-bit and are sign-extended when executed, which keeps an `Op` at
//! 16 bytes.

use crate::cast::{low_u32_of_usize, low_u8, usize_from_u32};
use crate::gas::{BlockCharge, CostTable};
use crate::isa::{
    Args, DecodedInstruction, Decoder, Flow, InstructionSet, Opcode, Reg, MACRO_BLOCK_SIZE,
};
use crate::program::CodeSection;
use alloc::vec::Vec;

/// A register-file slot: the 13 registers, and slot 13, which always reads zero (the base
/// of absolute loads and stores). Being an enum of 14 values, indexing a 16-entry array
/// with it needs neither a bounds check nor a mask.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub(crate) enum Slot {
    Ra,
    Sp,
    T0,
    T1,
    T2,
    S0,
    S1,
    A0,
    A1,
    A2,
    A3,
    A4,
    A5,
    Zero,
}

impl Slot {
    /// Index into the register file.
    #[inline(always)]
    // A field-less `repr(u8)` enum's discriminant: 0..16 on every target.
    #[allow(clippy::as_conversions)]
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// An op's index as the `u32` ops refer to each other by. Code is at most
/// `MAX_CODE_SIZE` (32 MiB) bytes and compiles to at most two ops per instruction plus one
/// per block, far below `2^32`, so the value always fits.
#[inline(always)]
pub(crate) fn op_number(index: usize) -> u32 {
    low_u32_of_usize(index)
}

impl From<Reg> for Slot {
    fn from(reg: Reg) -> Slot {
        match reg {
            Reg::RA => Slot::Ra,
            Reg::SP => Slot::Sp,
            Reg::T0 => Slot::T0,
            Reg::T1 => Slot::T1,
            Reg::T2 => Slot::T2,
            Reg::S0 => Slot::S0,
            Reg::S1 => Slot::S1,
            Reg::A0 => Slot::A0,
            Reg::A1 => Slot::A1,
            Reg::A2 => Slot::A2,
            Reg::A3 => Slot::A3,
            Reg::A4 => Slot::A4,
            Reg::A5 => Slot::A5,
        }
    }
}

/// Operand shorthand in the op definitions.
pub(crate) type R = Slot;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Op {
    /// Trap at this op's program counter.
    Trap,
    /// Does nothing (`unlikely` while step tracing; otherwise it is dropped).
    Nop,
    /// Ends a block and enters the next one, whose cost it carries (`fallthrough`).
    Fallthrough(u32),
    Memset,
    /// `(host call number, pc of the next instruction)`: the pc to report for resuming,
    /// which may belong to a dropped `unlikely`.
    Ecalli(u32, u32),
    Sbrk(R, R),
    Jump(u32),
    JumpIndirect(R, u32),
    LoadImmAndJump(R, u32, u32),
    LoadImmAndJumpIndirect(R, R, u32, u32),

    /// Conditional branches: `(operands.., target op, cost of the block after the branch)`;
    /// the not-taken path charges the carried cost without a table lookup.
    BranchEq(R, R, u32, u32),
    BranchNotEq(R, R, u32, u32),
    BranchLessUnsigned(R, R, u32, u32),
    BranchLessSigned(R, R, u32, u32),
    BranchGreaterOrEqualUnsigned(R, R, u32, u32),
    BranchGreaterOrEqualSigned(R, R, u32, u32),
    BranchEqImm(R, u32, u32, u32),
    BranchNotEqImm(R, u32, u32, u32),
    BranchLessUnsignedImm(R, u32, u32, u32),
    BranchLessSignedImm(R, u32, u32, u32),
    BranchGreaterOrEqualUnsignedImm(R, u32, u32, u32),
    BranchGreaterOrEqualSignedImm(R, u32, u32, u32),
    BranchLessOrEqualSignedImm(R, u32, u32, u32),
    BranchLessOrEqualUnsignedImm(R, u32, u32, u32),
    BranchGreaterSignedImm(R, u32, u32, u32),
    BranchGreaterUnsignedImm(R, u32, u32, u32),

    LoadImm(R, u32),
    LoadImm64(R, u64),
    MoveReg(R, R),

    /// Loads from `base + offset` (base 0 for the absolute forms: register index 13 reads 0).
    LoadU8(R, R, u32),
    LoadI8(R, R, u32),
    LoadU16(R, R, u32),
    LoadI16(R, R, u32),
    LoadU32(R, R, u32),
    LoadI32(R, R, u32),
    LoadU64(R, R, u32),
    /// Stores register `src` to `base + offset`.
    StoreU8(R, R, u32),
    StoreU16(R, R, u32),
    StoreU32(R, R, u32),
    StoreU64(R, R, u32),
    /// Stores an immediate value to `base + offset`.
    StoreImmU8(R, u32, u32),
    StoreImmU16(R, u32, u32),
    StoreImmU32(R, u32, u32),
    StoreImmU64(R, u32, u32),

    AddImm32(R, R, u32),
    AddImm64(R, R, u32),
    AndImm(R, R, u32),
    XorImm(R, R, u32),
    OrImm(R, R, u32),
    MulImm32(R, R, u32),
    MulImm64(R, R, u32),
    SetLessThanUnsignedImm(R, R, u32),
    SetLessThanSignedImm(R, R, u32),
    ShiftLogicalLeftImm32(R, R, u32),
    ShiftLogicalLeftImm64(R, R, u32),
    ShiftLogicalRightImm32(R, R, u32),
    ShiftLogicalRightImm64(R, R, u32),
    ShiftArithmeticRightImm32(R, R, u32),
    ShiftArithmeticRightImm64(R, R, u32),
    NegateAndAddImm32(R, R, u32),
    NegateAndAddImm64(R, R, u32),
    SetGreaterThanUnsignedImm(R, R, u32),
    SetGreaterThanSignedImm(R, R, u32),
    ShiftLogicalRightImmAlt32(R, R, u32),
    ShiftLogicalRightImmAlt64(R, R, u32),
    ShiftArithmeticRightImmAlt32(R, R, u32),
    ShiftArithmeticRightImmAlt64(R, R, u32),
    ShiftLogicalLeftImmAlt32(R, R, u32),
    ShiftLogicalLeftImmAlt64(R, R, u32),
    CmovIfZeroImm(R, R, u32),
    CmovIfNotZeroImm(R, R, u32),
    RotateRightImm32(R, R, u32),
    RotateRightImmAlt32(R, R, u32),
    RotateRightImm64(R, R, u32),
    RotateRightImmAlt64(R, R, u32),

    Add32(R, R, R),
    Add64(R, R, R),
    Sub32(R, R, R),
    Sub64(R, R, R),
    And(R, R, R),
    Xor(R, R, R),
    Or(R, R, R),
    Mul32(R, R, R),
    Mul64(R, R, R),
    MulUpperSignedSigned(R, R, R),
    MulUpperUnsignedUnsigned(R, R, R),
    MulUpperSignedUnsigned(R, R, R),
    SetLessThanUnsigned(R, R, R),
    SetLessThanSigned(R, R, R),
    ShiftLogicalLeft32(R, R, R),
    ShiftLogicalLeft64(R, R, R),
    ShiftLogicalRight32(R, R, R),
    ShiftLogicalRight64(R, R, R),
    ShiftArithmeticRight32(R, R, R),
    ShiftArithmeticRight64(R, R, R),
    DivUnsigned32(R, R, R),
    DivUnsigned64(R, R, R),
    DivSigned32(R, R, R),
    DivSigned64(R, R, R),
    RemUnsigned32(R, R, R),
    RemUnsigned64(R, R, R),
    RemSigned32(R, R, R),
    RemSigned64(R, R, R),
    CmovIfZero(R, R, R),
    CmovIfNotZero(R, R, R),
    AndInverted(R, R, R),
    OrInverted(R, R, R),
    Xnor(R, R, R),
    Maximum(R, R, R),
    MaximumUnsigned(R, R, R),
    Minimum(R, R, R),
    MinimumUnsigned(R, R, R),
    RotateLeft32(R, R, R),
    RotateLeft64(R, R, R),
    RotateRight32(R, R, R),
    RotateRight64(R, R, R),

    CountLeadingZeroBits32(R, R),
    CountLeadingZeroBits64(R, R),
    CountTrailingZeroBits32(R, R),
    CountTrailingZeroBits64(R, R),
    CountSetBits32(R, R),
    CountSetBits64(R, R),
    SignExtend8(R, R),
    SignExtend16(R, R),
    ZeroExtend16(R, R),
    ReverseByte(R, R),

    /// Goes on at an op without charging gas: ends the copy of a fused op's second half,
    /// or a lazily compiled run of blocks that falls into a block compiled before.
    Continue(u32),
    /// Superinstructions: two adjacent ops of one block in one dispatch (see [`fuse`]).
    /// `add_64 d, a, b` then `load_u64 e, [base + offset]`; the last field is the op
    /// index of the load's copy, run when the load misses the fast path.
    Add64LoadU64(R, R, R, R, R, u32, u32),
    /// `add_64 d, a, b` then `store_u64 s, [base + offset]`, with the store's copy.
    Add64StoreU64(R, R, R, R, R, u32, u32),
    /// `load_u64 d, [base + offset]` then `add_64 e, a, b`.
    LoadU64Add64(R, R, u32, R, R, R),
    /// `and_imm d, s, imm` then `add_64 e, a, b`.
    AndImmAdd64(R, R, u32, R, R, R),
    /// `load_u64 d, [base + offset]` then `set_less_than_unsigned e, a, b`.
    LoadU64SetLessThanUnsigned(R, R, u32, R, R, R),
    /// `load_u64 d, [base + offset]` then `xor e, a, b`.
    LoadU64Xor(R, R, u32, R, R, R),
    /// `shift_logical_right_imm_64 d, s, amount` then `and_imm e, t, imm`.
    ShiftLogicalRightImm64AndImm(R, R, u32, R, R, u32),
    /// `xor d, a, b` then `rotate_right_imm_64 e, s, amount`.
    XorRotateRightImm64(R, R, R, R, R, u32),
    /// `store_u64 s, [base + offset]` then `add_imm_64 d, t, imm`.
    StoreU64AddImm64(R, R, u32, R, R, u32),
    /// `load_u64 d, [base + offset]` then `add_imm_64 e, t, imm`.
    LoadU64AddImm64(R, R, u32, R, R, u32),
    /// `shift_logical_left_64 d, a, b` then `or e, f, g`.
    ShiftLogicalLeft64Or(R, R, R, R, R, R),
    /// `add_imm_64 d, s, imm` then `add_64 e, a, b`.
    AddImm64Add64(R, R, u32, R, R, R),
    /// `add_imm_32 d, s, imm` then `add_64 e, a, b`.
    AddImm32Add64(R, R, u32, R, R, R),
    /// `rotate_right_imm_64 d, s, amount` (modulo 64) then `store_u64 v, [base + offset]`,
    /// with the store's copy.
    RotateRightImm64StoreU64(R, R, u8, R, R, u32, u32),
    /// `shift_logical_left_imm_64 d, s, amount` (modulo 64) then
    /// `store_u64 v, [base + offset]`, with the store's copy.
    ShiftLogicalLeftImm64StoreU64(R, R, u8, R, R, u32, u32),
    /// `store_u64 s, [base + offset]` then `shift_logical_left_imm_64 d, t, amount`.
    StoreU64ShiftLogicalLeftImm64(R, R, u32, R, R, u32),
    /// `load_u64 d, [base + offset]` then `shift_logical_left_imm_64 e, t, amount`.
    LoadU64ShiftLogicalLeftImm64(R, R, u32, R, R, u32),
    /// `add_imm_64 d, s, imm` then `xor_imm e, t, imm`.
    AddImm64XorImm(R, R, u32, R, R, u32),
    /// `load_imm d, imm` then `move_reg e, s`.
    LoadImmMoveReg(R, u32, R, R),
    /// `add_64 d, a, b` then `branch_less_unsigned x, y` (target, fall-through cost).
    Add64BranchLessUnsigned(R, R, R, R, R, u32, u32),
    /// `load_imm d, imm` then `branch_less_unsigned x, y` (target, fall-through cost).
    LoadImmBranchLessUnsigned(R, u32, R, R, u32, u32),
    /// `move_reg d, s` then `branch_not_eq x, y` (target, fall-through cost).
    MoveRegBranchNotEq(R, R, R, R, u32, u32),
    /// `add_imm_32 d, s, imm` then `load_imm_and_jump e, value, target` (a call).
    AddImm32LoadImmAndJump(R, R, u32, R, u32, u32),
    /// `store_u64 s, [base + offset]` then `load_imm d, imm`.
    StoreU64LoadImm(R, R, u32, R, u32),
    /// `add_imm_64 d, s, imm` then `add_imm_64 e, t, imm`.
    AddImm64AddImm64(R, R, u32, R, R, u32),
    /// `add_64 d, a, b` then `set_less_than_unsigned e, f, g`.
    Add64SetLessThanUnsigned(R, R, R, R, R, R),
    /// `add_64 d, a, b` then `add_64 e, f, g`.
    Add64Add64(R, R, R, R, R, R),
    /// `xor d, a, b` then `xor e, f, g`.
    XorXor(R, R, R, R, R, R),
    /// `load_u8 d, [base + offset]` then `add_imm_64 e, t, imm`.
    LoadU8AddImm64(R, R, u32, R, R, u32),
    /// `store_u8 s, [base + offset]` then `add_imm_64 d, t, imm`.
    StoreU8AddImm64(R, R, u32, R, R, u32),
    /// `xor d, a, b` then `load_u64 e, [base + offset]`, with the load's copy.
    XorLoadU64(R, R, R, R, R, u32, u32),
    /// `xor d, a, b` then `store_u64 s, [base + offset]`, with the store's copy.
    XorStoreU64(R, R, R, R, R, u32, u32),
}

const _: () = assert!(core::mem::size_of::<Op>() <= 16);

/// The register slot that always reads zero, used as the base of absolute loads/stores.
pub(crate) const ZERO_REG: R = Slot::Zero;

/// Marks a jump-table entry or branch whose target is not a basic-block start.
pub(crate) const INVALID_TARGET: u32 = u32::MAX;

/// Marks a jump-table entry that lazily compiled code has not resolved yet: a jump through
/// it traps as through a bad one, and the trap is taken back once the target's block is
/// compiled (see [`LazyCode::resolve_trap`]).
pub(crate) const UNCOMPILED_TARGET: u32 = u32::MAX - 1;

/// Where basic blocks start, from passes that locate instructions without decoding their
/// operands: what deciding whether a branch or jump target is valid needs, before the code
/// around the target is compiled. Code with a bitmask is located whole, up front; Latest64
/// code one macro block at a time, when a question first falls in it (each macro block
/// decodes on its own), so a call that runs a little of a large program locates little.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockStarts {
    /// One bit per code offset: a block starts there (the implicit trap's aside).
    bits: Vec<u64>,
    /// Latest64: per macro block, how far it is located (`None`: all is). A macro block
    /// is located only as far as a question has needed.
    located: Option<Vec<Progress>>,
    /// The implicit trap after the code starts a block of its own (the last instruction
    /// ends a block and may fall through): a host may start there, no branch may. Known
    /// once the end of the code is located.
    implicit_trap_block: bool,
    /// Instructions located (for sizing code compiled up front).
    instruction_count: usize,
}

/// How far a macro block is located: where the next instruction to locate starts, and the
/// flow of the one before it.
#[derive(Copy, Clone, Debug)]
struct Progress {
    next: u32,
    previous_ends_block: bool,
    falls_through: bool,
}

impl BlockStarts {
    /// Becomes a copy of `other`, in this value's memory.
    #[cfg(feature = "std")]
    fn reuse_for(&mut self, other: &BlockStarts) {
        // Every field named, so that a new one cannot be forgotten here.
        let BlockStarts {
            bits,
            located,
            implicit_trap_block,
            instruction_count,
        } = self;
        bits.clone_from(&other.bits);
        located.clone_from(&other.located);
        *implicit_trap_block = other.implicit_trap_block;
        *instruction_count = other.instruction_count;
    }

    /// The block starts of `code`: all located when `up_front` or the code has a bitmask,
    /// otherwise none yet.
    pub(crate) fn new(code: &CodeSection, isa: InstructionSet, up_front: bool) -> BlockStarts {
        let code_len = code.code.len();
        let macro_blocks = low_u32_of_usize(code_len) / MACRO_BLOCK_SIZE + 1;
        let mut starts = BlockStarts {
            bits: alloc::vec![0u64; code_len / 64 + 1],
            located: (!up_front && !isa.has_bitmask()).then(|| {
                (0..macro_blocks)
                    .map(|block| Progress {
                        next: block * MACRO_BLOCK_SIZE,
                        previous_ends_block: true,
                        falls_through: true,
                    })
                    .collect()
            }),
            implicit_trap_block: false,
            instruction_count: 0,
        };
        if starts.located.is_none() {
            let start = Progress {
                next: 0,
                previous_ends_block: true,
                falls_through: true,
            };
            let decoder = Decoder::new(isa, &code.code, &code.bitmask);
            starts.locate(decoder, isa, start, u32::MAX, u32::MAX);
        }
        starts
    }

    /// Marks the block starts `decoder` yields from `from` (where it stands) on, up to
    /// (not including) `end`, and stops after `until`; returns how far it got (`next` is
    /// `u32::MAX` once all is located).
    fn locate(
        &mut self,
        mut decoder: Decoder<'_>,
        isa: InstructionSet,
        from: Progress,
        end: u32,
        until: u32,
    ) -> Progress {
        if isa.has_bitmask() {
            self.locate_in::<true>(&mut decoder, from, end, until)
        } else {
            self.locate_in::<false>(&mut decoder, from, end, until)
        }
    }

    /// [`locate`](Self::locate) for code known to have a bitmask (`BITMASK`) or not: the
    /// decoder's bare instruction locator, tracking flow here (as `Decoder::next_raw`
    /// does, without asking the instruction set at every instruction).
    #[inline(always)]
    fn locate_in<const BITMASK: bool>(
        &mut self,
        decoder: &mut Decoder<'_>,
        from: Progress,
        end: u32,
        until: u32,
    ) -> Progress {
        let mut at = from;
        while let Some(raw) = decoder.locate_next_in::<BITMASK>(at.falls_through) {
            if raw.pc >= end {
                break;
            }
            if raw.pc > until {
                at.next = raw.pc;
                return at;
            }
            self.instruction_count += 1;
            if at.previous_ends_block || (!BITMASK && raw.pc % MACRO_BLOCK_SIZE == 0) {
                if raw.length == 0 {
                    self.implicit_trap_block = true;
                } else {
                    let pc = usize_from_u32(raw.pc);
                    self.bits[pc / 64] |= 1 << (pc % 64);
                }
            }
            let flow = Opcode::flow_of_index(raw.opcode_index);
            at.previous_ends_block = flow.ends_block();
            at.falls_through = flow.can_fall_through();
        }
        at.next = u32::MAX;
        at
    }

    /// Locates the macro block holding `pc` (the last one for the end of the code) up to
    /// `pc`, if that is still to do.
    #[inline]
    fn ensure_located(&mut self, code: &CodeSection, isa: InstructionSet, pc: u32) {
        let Some(located) = &self.located else {
            return;
        };
        let code_len = low_u32_of_usize(code.code.len());
        let macro_block = usize_from_u32(pc.min(code_len.saturating_sub(1)) / MACRO_BLOCK_SIZE);
        let Some(&from) = located.get(macro_block) else {
            return;
        };
        if from.next > pc {
            return;
        }
        // The last macro block's locating goes on to the implicit trap after the code,
        // also where that is the next macro block's first offset.
        let end = low_u32_of_usize(macro_block + 1).saturating_mul(MACRO_BLOCK_SIZE);
        let end = if end >= code_len { u32::MAX } else { end };
        let decoder = Decoder::at(isa, &code.code, &code.bitmask, from.next);
        let reached = self.locate(decoder, isa, from, end, pc);
        if let Some(progress) = self.located.as_mut().and_then(|l| l.get_mut(macro_block)) {
            *progress = reached;
        }
    }

    /// Whether a branch or jump may target `pc`: a block starts there.
    #[inline]
    pub(crate) fn is_target(&mut self, code: &CodeSection, isa: InstructionSet, pc: u32) -> bool {
        self.ensure_located(code, isa, pc);
        let pc = usize_from_u32(pc);
        self.bits
            .get(pc / 64)
            .is_some_and(|word| word & (1 << (pc % 64)) != 0)
    }

    /// Whether a host may start execution at `pc`: a block starts there, the implicit
    /// trap's included.
    pub(crate) fn is_block_start(
        &mut self,
        code: &CodeSection,
        isa: InstructionSet,
        pc: u32,
    ) -> bool {
        // (`is_target` locates the end of the code, the implicit trap's, too.)
        self.is_target(code, isa, pc)
            || (usize_from_u32(pc) == code.code.len() && self.implicit_trap_block)
    }
}

/// Code one instance compiles as it runs: blocks are compiled when execution first
/// reaches them, each run of blocks from there up to one that cannot fall through (see
/// [`compile_block`](Self::compile_block)). Charges and results are exactly those of code
/// compiled up front.
#[derive(Clone, Debug)]
pub(crate) struct LazyCode {
    /// The ops compiled so far.
    pub code: CompiledCode,
    starts: BlockStarts,
    /// Kept from one compiled run to the next (growing them anew each time was a tenth
    /// of a cold call).
    scratch: Scratch,
}

/// The lists one lowering pass builds and consumes.
#[derive(Clone, Debug, Default)]
struct Scratch {
    /// `(op, target pc, the branch's pc)` for each op with a static target.
    pending_branches: Vec<(usize, u32, u32)>,
    /// The ops that end a block by a branch or jump (the only ones with control slots).
    control_ops: Vec<usize>,
    /// `(fused op, its second half, that half's pc)`.
    copies: Vec<(usize, Op, u32)>,
    /// Stubs of blocks the pass compiles: `(index in LazyBlocks::stubs, block's op)`.
    compiled_stubs: Vec<(u32, u32)>,
}

impl LazyCode {
    /// Nothing compiled yet; `starts` as the module located them. With `std`, the lists
    /// come from a dropped instance's code where one is pooled (see [`lazy_pool`]).
    pub(crate) fn new(code: &CodeSection, costs: &CostTable, starts: &BlockStarts) -> Self {
        #[cfg(feature = "std")]
        if let Some((compiled, pooled_starts, scratch)) = lazy_pool::take() {
            let mut lazy = LazyCode {
                code: compiled,
                starts: pooled_starts,
                scratch,
            };
            lazy.reset(code, costs, starts);
            return lazy;
        }
        Self::fresh(code, costs, starts)
    }

    /// As [`new`](Self::new), in new memory.
    fn fresh(code: &CodeSection, costs: &CostTable, starts: &BlockStarts) -> Self {
        // Room for what a call into a few kilobytes of a large program compiles, to spare
        // most of the regrowing (an op per 16 bytes of code: a fifth of all its ops).
        let room = code.code.len() / 16 + 64;
        LazyCode {
            code: CompiledCode {
                ops: Vec::with_capacity(room),
                op_pcs: Vec::with_capacity(room),
                block_costs: Vec::with_capacity(room),
                table: costs.clone(),
                // Checked when first jumped through.
                jump_table: alloc::vec![UNCOMPILED_TARGET; code.jump_table.len()],
                blocks: Vec::with_capacity(room / 2),
                lazy: Some(LazyBlocks {
                    pc_ops: PcMap::new(code.code.len() + 1),
                    stubs: Vec::with_capacity(room / 8),
                    links: Vec::with_capacity(room / 8),
                }),
                ..CompiledCode::default()
            },
            starts: starts.clone(),
            scratch: Scratch::default(),
        }
    }

    /// Makes a pooled value what [`new`](Self::new) builds, keeping its lists' memory.
    #[cfg(feature = "std")]
    fn reset(&mut self, code: &CodeSection, costs: &CostTable, starts: &BlockStarts) {
        // Every field named, so that a new one cannot be forgotten here.
        let CompiledCode {
            ops,
            op_pcs,
            block_costs,
            block_accesses,
            table,
            blocks,
            jump_table,
            lazy,
        } = &mut self.code;
        ops.clear();
        op_pcs.clear();
        block_costs.clear();
        block_accesses.clear();
        blocks.clear();
        table.clone_from(costs);
        jump_table.clear();
        jump_table.resize(code.jump_table.len(), UNCOMPILED_TARGET);
        // (Pooled code was always lazy code: the default is never built.)
        let LazyBlocks {
            pc_ops,
            stubs,
            links,
        } = lazy.get_or_insert_with(|| LazyBlocks {
            pc_ops: PcMap::new(0),
            stubs: Vec::new(),
            links: Vec::new(),
        });
        pc_ops.reset(code.code.len() + 1);
        stubs.clear();
        links.clear();
        self.starts.reuse_for(starts);
        let Scratch {
            pending_branches,
            control_ops,
            copies,
            compiled_stubs,
        } = &mut self.scratch;
        pending_branches.clear();
        control_ops.clear();
        copies.clear();
        compiled_stubs.clear();
    }

    /// The op the block at `pc` starts with, compiling it (and the blocks it falls into)
    /// first if needed; `None` where no block starts. `jump`: for a jump (the implicit trap
    /// after the code is no target), else for a host starting there.
    pub(crate) fn compile_block(
        &mut self,
        code: &CodeSection,
        isa: InstructionSet,
        pc: u32,
        jump: bool,
    ) -> Option<u32> {
        let valid = if jump {
            self.starts.is_target(code, isa, pc)
        } else {
            self.starts.is_block_start(code, isa, pc)
        };
        if !valid {
            return None;
        }
        if let Some(op) = self.code.block_op(pc) {
            return Some(op);
        }
        lower(
            &mut self.code,
            code,
            &mut self.starts,
            &mut self.scratch,
            false,
            isa,
            pc,
        );
        self.code.block_op(pc)
    }

    /// Where to go on after the loop trapped at op `at`, if the trap only stood for code
    /// not compiled yet: a stub (a branch into a block to compile), or a dynamic jump (to
    /// `jump_address`) through an unresolved jump-table entry. Compiles the block and
    /// returns its first op, to enter (charging it); `None` for a real trap. Keeping
    /// these cases out of the loop keeps its code as it was (an arm more cost 10%).
    pub(crate) fn resolve_trap(
        &mut self,
        code: &CodeSection,
        isa: InstructionSet,
        at: u32,
        jump_address: u32,
    ) -> Option<u32> {
        let lazy = self.code.lazy.as_ref()?;
        let at_index = usize_from_u32(at);
        match *self.code.ops.get(at_index)? {
            Op::Trap => {
                // A stub: a trap whose pc's block has it as its stub.
                let pc = self.code.op_pcs[at_index];
                let entry = lazy.pc_ops.get(pc);
                let stub = lazy.stubs.get(usize_from_u32(entry & !STUB))?;
                if entry & STUB == 0 || stub.0 != at {
                    return None;
                }
                self.compile_block(code, isa, pc, true)
            }
            Op::JumpIndirect(..) | Op::LoadImmAndJumpIndirect(..) => {
                let index = usize_from_u32((jump_address / 2).wrapping_sub(1));
                if !jump_address.is_multiple_of(2)
                    || self.code.jump_table.get(index) != Some(&UNCOMPILED_TARGET)
                {
                    return None;
                }
                let pc = code.jump_table_entry(low_u32_of_usize(index))?;
                let target = self.compile_block(code, isa, pc, true);
                self.code.jump_table[index] = target.unwrap_or(INVALID_TARGET);
                target
            }
            _ => None,
        }
    }
}

/// Code of dropped instances, for new instances to compile into: growing its lists
/// anew for every instance (reallocating and faulting in fresh pages as they grow) was
/// about a tenth of a cold call. Host builds only; the runtime's engine compiles up front.
#[cfg(feature = "std")]
mod lazy_pool {
    use super::{BlockStarts, CompiledCode, Scratch};
    use std::sync::Mutex;
    use std::vec::Vec;

    /// A dropped instance's lists: a `LazyCode`'s fields, without its `Drop`.
    pub(super) type Buffers = (CompiledCode, BlockStarts, Scratch);

    /// At most this many are kept: a node runs a few instances at a time.
    const MAX_POOLED: usize = 4;

    static POOL: Mutex<Vec<Buffers>> = Mutex::new(Vec::new());

    pub(super) fn take() -> Option<Buffers> {
        POOL.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    pub(super) fn give_back(buffers: Buffers) {
        let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if pool.len() < MAX_POOLED {
            pool.push(buffers);
        }
    }
}

#[cfg(feature = "std")]
impl Drop for LazyCode {
    fn drop(&mut self) {
        lazy_pool::give_back((
            core::mem::take(&mut self.code),
            core::mem::take(&mut self.starts),
            core::mem::take(&mut self.scratch),
        ));
    }
}

/// What code compiled lazily keeps besides its ops.
#[derive(Clone, Debug)]
struct LazyBlocks {
    /// Per code offset: 0, 1 + the op the block starting there begins with, or [`STUB`]
    /// and the index in [`stubs`](Self::stubs) of its stub while it is not compiled (the
    /// offset after the code is the implicit trap's).
    pc_ops: PcMap,
    /// Stubs: `(op, head of its list in links)`. A stub is an [`Op::Trap`] at its block's
    /// pc that charges nothing; branches into the block go there until it is compiled,
    /// and the trap is taken back then (see [`LazyCode::resolve_trap`]).
    stubs: Vec<(u32, u32)>,
    /// The branches waiting at each stub, as lists threaded through this vector:
    /// `(branch op, index of the next link or NO_LINK)`.
    links: Vec<(u32, u32)>,
}

/// A `u32` per code offset, all 0 until written, stored by chunks of [`PcMap::CHUNK`]
/// offsets made when first written: a cold call compiles a few kilobytes of code, and
/// zeroing a word for every byte of a large blob cost a fifth of the call.
#[derive(Clone, Debug)]
struct PcMap {
    /// Per chunk of offsets: 0, or 1 + where its words start in `words` / `CHUNK`.
    chunks: Vec<u32>,
    words: Vec<u32>,
}

impl PcMap {
    const CHUNK: usize = 256;

    /// Room for offsets `0..len`.
    fn new(len: usize) -> PcMap {
        PcMap {
            chunks: alloc::vec![0; len.div_ceil(Self::CHUNK)],
            // (Chunks for 4 KiB of code: what a short call typically compiles.)
            words: Vec::with_capacity(16 * Self::CHUNK),
        }
    }

    /// All 0 again, with room for offsets `0..len`, keeping the memory.
    #[cfg(feature = "std")]
    fn reset(&mut self, len: usize) {
        self.chunks.clear();
        self.chunks.resize(len.div_ceil(Self::CHUNK), 0);
        self.words.clear();
    }

    /// The word at `offset` (0 past the end).
    #[inline]
    fn get(&self, offset: u32) -> u32 {
        let offset = usize_from_u32(offset);
        match self.chunks.get(offset / Self::CHUNK) {
            Some(&chunk) if chunk != 0 => {
                self.words[usize_from_u32(chunk - 1) * Self::CHUNK + offset % Self::CHUNK]
            }
            _ => 0,
        }
    }

    /// The word at `offset`, to write (its chunk made if needed). `offset` must be below
    /// the length given to [`new`](Self::new).
    #[inline]
    fn entry(&mut self, offset: u32) -> &mut u32 {
        let offset = usize_from_u32(offset);
        let chunk = &mut self.chunks[offset / Self::CHUNK];
        if *chunk == 0 {
            *chunk = low_u32_of_usize(self.words.len() / Self::CHUNK + 1);
            self.words.resize(self.words.len() + Self::CHUNK, 0);
        }
        &mut self.words[usize_from_u32(*chunk - 1) * Self::CHUNK + offset % Self::CHUNK]
    }
}

/// In [`LazyBlocks::pc_ops`]: the op is a stub.
const STUB: u32 = 1 << 31;
/// Ends a list of [`LazyBlocks::links`].
const NO_LINK: u32 = u32::MAX;

/// A module's code in interpreter form: compiled whole and up front (step tracing), or
/// block by block as execution reaches it (one instance's copy; see
/// [`LazyCode`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct CompiledCode {
    pub ops: Vec<Op>,
    /// The program counter of each op (for a stub, its block's).
    pub op_pcs: Vec<u32>,
    /// The gas cost of the block an op starts, or 0 for ops that start no block.
    pub block_costs: Vec<u32>,
    /// The loads and stores of the block an op starts (0 for ops that start no block),
    /// each paying the instance's memory-access surcharge on entry; empty when the cost
    /// table has no surcharge.
    pub block_accesses: Vec<u32>,
    /// The cost table the code was compiled with (for what is charged while running:
    /// `memset` bytes, pages made accessible, the memory-access surcharge).
    pub table: CostTable,
    /// `(pc, op index of its first op)` for every basic block compiled, in op order (and
    /// in pc order too when compiled up front).
    pub blocks: Vec<(u32, u32)>,
    /// Op index of each jump-table entry's block, [`INVALID_TARGET`], or (compiled lazily)
    /// [`UNCOMPILED_TARGET`].
    pub jump_table: Vec<u32>,
    /// Compiled lazily: where the blocks compiled so far and the stubs are.
    lazy: Option<LazyBlocks>,
}

impl CompiledCode {
    /// No code, compiled with `costs` (what the JIT's modules and lazily compiling ones
    /// keep: the table).
    pub(crate) fn empty(costs: &CostTable) -> Self {
        CompiledCode {
            table: costs.clone(),
            ..CompiledCode::default()
        }
    }

    /// The op index of the block starting at `pc`, if it is compiled.
    pub fn block_op(&self, pc: u32) -> Option<u32> {
        if let Some(lazy) = &self.lazy {
            let entry = lazy.pc_ops.get(pc);
            return (entry != 0 && entry & STUB == 0).then(|| entry - 1);
        }
        let index = self.blocks.binary_search_by_key(&pc, |b| b.0).ok()?;
        Some(self.blocks[index].1)
    }

    /// The op index a dynamic jump to `address` lands on, or `None` for a bad target (or,
    /// compiled lazily, a target not resolved yet).
    #[inline]
    pub fn dynamic_target(&self, address: u32) -> Option<u32> {
        if address == 0 || !address.is_multiple_of(2) {
            return None;
        }
        let target = *self.jump_table.get(usize_from_u32(address / 2 - 1))?;
        (target < UNCOMPILED_TARGET).then_some(target)
    }

    /// The pc of the basic block whose first op is `op`.
    pub fn block_pc(&self, op: u32) -> Option<u32> {
        let index = self.blocks.binary_search_by_key(&op, |b| b.1).ok()?;
        Some(self.blocks[index].0)
    }
}

fn r(reg: Reg) -> R {
    Slot::from(reg)
}

/// Compiles a whole code section up front. `keep_nops` keeps `unlikely` as an op (step
/// tracing stops at every instruction); otherwise it is dropped, costing gas but no time.
/// `isa` selects the branch-validity rules: PolkaVM's for its instruction sets, the
/// Graypaper's for raw JAM code.
pub(crate) fn compile(
    code: &CodeSection,
    costs: &CostTable,
    keep_nops: bool,
    isa: InstructionSet,
) -> CompiledCode {
    let mut starts = BlockStarts::new(code, isa, true);
    let mut out = CompiledCode {
        table: costs.clone(),
        ..CompiledCode::default()
    };
    let reserve = starts.instruction_count + starts.instruction_count / 8;
    out.ops.reserve(reserve);
    out.op_pcs.reserve(reserve);
    out.block_costs.reserve(reserve);
    lower(
        &mut out,
        code,
        &mut starts,
        &mut Scratch::default(),
        keep_nops,
        isa,
        0,
    );
    let mut resolve = |pc: u32| {
        out.block_op(pc)
            .filter(|_| starts.is_target(code, isa, pc))
            .unwrap_or(INVALID_TARGET)
    };
    let table: Vec<u32> = code.jump_table.iter().map(|&pc| resolve(pc)).collect();
    out.jump_table = table;
    out
}

/// Lowers instructions from the block at `start` into ops appended to `out`: up front,
/// the whole code (`start` is 0); lazily, the run of blocks from `start` up to one that
/// cannot fall through, or up to a block compiled before (which the run then continues
/// into). Branch targets outside what is compiled get stubs, patched when their block is.
fn lower(
    out: &mut CompiledCode,
    code: &CodeSection,
    starts: &mut BlockStarts,
    scratch: &mut Scratch,
    keep_nops: bool,
    isa: InstructionSet,
    start: u32,
) {
    let lazy = out.lazy.is_some();
    let costs = out.table.clone();
    let polkavm_branch_rules = isa != InstructionSet::Graypaper;
    let code_len = code.code.len();
    let count_accesses = costs.has_access_costs();

    // Lay out ops and sum each block's cost into its first op's slot. Every block ends
    // with an instruction that is never dropped, so every block has a first op.
    let mut block_start_slot = out.ops.len();
    let Scratch {
        pending_branches,
        control_ops,
        copies,
        compiled_stubs,
    } = scratch;
    pending_branches.clear();
    control_ops.clear();
    copies.clear();
    compiled_stubs.clear();
    // Whether the last op may absorb the next one into a superinstruction (see [`fuse`]).
    let mut fusable = false;
    // The open block's charge, stored in its first op's slot when the next block starts.
    let mut charge = BlockCharge::default();
    let mut decoder = Decoder::at(isa, &code.code, &code.bitmask, start);
    let mut first = true;
    while let Some(decoded) = decoder.next() {
        if decoder.starts_block() {
            if !first {
                store_charge(out, block_start_slot, charge, count_accesses);
            }
            let block_op = op_number(out.ops.len());
            if let Some(lazy_blocks) = &mut out.lazy {
                let slot = lazy_blocks.pc_ops.entry(decoded.pc);
                if *slot != 0 && *slot & STUB == 0 {
                    // Compiled by an earlier run: continue there, charging its cost
                    // when falling in (the op carries it for the ops before).
                    let existing = *slot - 1;
                    push(out, Op::Continue(existing), decoded.pc);
                    let at = usize_from_u32(block_op);
                    out.block_costs[at] = out.block_costs[usize_from_u32(existing)];
                    if count_accesses {
                        let accesses = out.block_accesses[usize_from_u32(existing)];
                        out.block_accesses.resize(at + 1, 0);
                        out.block_accesses[at] = accesses;
                    }
                    first = true;
                    break;
                }
                if *slot & STUB != 0 {
                    compiled_stubs.push((*slot & !STUB, block_op));
                }
                *slot = block_op + 1;
            }
            first = false;
            charge = BlockCharge::default();
            fusable = false;
            block_start_slot = out.ops.len();
            out.blocks.push((decoded.pc, block_op));
        }
        charge.add(&costs, decoded.instruction.map(|i| i.opcode));
        let mut op = lower_instruction(&decoded);
        if polkavm_branch_rules && decoded.flow() == Flow::Branch {
            // As in PolkaVM, a conditional branch (or `fallthrough`) whose target starts no
            // basic block, or whose fall-through is past the end of the code, traps where
            // it stands, taken or not. (The Graypaper, and the JAM vectors, trap only when
            // a bad branch is taken, and fall off the end into the implicit trap.)
            let falls_off_end =
                usize_from_u32(decoded.pc) + usize_from_u32(decoded.length) >= code_len;
            let mut probe = op;
            let bad_target = match control_slots(&mut probe).0 {
                Some(&mut target_pc) => !starts.is_target(code, isa, target_pc),
                None => false,
            };
            if falls_off_end || bad_target {
                op = Op::Trap;
            }
        }
        let ends_run = lazy && !decoded.flow().can_fall_through();
        if op == Op::Nop && !keep_nops {
            // Charged with its block, whose first op is a later instruction's.
            continue;
        }
        let last = out.ops.len().wrapping_sub(1);
        // Only a block's last instruction transfers control, and a superinstruction ends
        // with its second half: other ops have no target and no fall-through cost.
        let transfers_control = decoded.flow() != Flow::Plain;
        match fusable.then(|| fuse(out.ops[last], op)).flatten() {
            Some((fused, needs_copy)) => {
                out.ops[last] = fused;
                if needs_copy {
                    copies.push((last, op, decoded.pc));
                }
                if transfers_control {
                    control_ops.push(last);
                    let mut probe = fused;
                    if let (Some(&mut target_pc), _) = control_slots(&mut probe) {
                        pending_branches.push((last, target_pc, decoded.pc));
                    }
                }
                fusable = false;
            }
            None => {
                if transfers_control {
                    control_ops.push(out.ops.len());
                    let mut probe = op;
                    if let (Some(&mut target_pc), _) = control_slots(&mut probe) {
                        pending_branches.push((out.ops.len(), target_pc, decoded.pc));
                    }
                }
                push(out, op, decoded.pc);
                fusable = !keep_nops;
            }
        }
        if ends_run {
            break;
        }
    }
    if !first {
        store_charge(out, block_start_slot, charge, count_accesses);
    }

    // The copies of fused second halves that may need the slow path, each followed by a
    // continue to the op after its pair.
    for (fused, second, pc) in copies.drain(..) {
        let copy = op_number(out.ops.len());
        push(out, second, pc);
        push(out, Op::Continue(op_number(fused + 1)), pc);
        if let Op::Add64LoadU64(.., slot)
        | Op::Add64StoreU64(.., slot)
        | Op::XorLoadU64(.., slot)
        | Op::XorStoreU64(.., slot)
        | Op::RotateRightImm64StoreU64(.., slot)
        | Op::ShiftLogicalLeftImm64StoreU64(.., slot) = &mut out.ops[fused]
        {
            *slot = copy;
        }
    }

    // Resolve jump targets. A jump to a bad target goes to a trap reporting the jump's pc
    // (after `load_imm_and_jump` has written its register, as in PolkaVM).
    if !lazy {
        // Targets in pc order meet the blocks (laid out in pc order) in one walk.
        pending_branches.sort_unstable_by_key(|&(_, target_pc, _)| target_pc);
    }
    let mut next_block = 0;
    for &(op_index, target_pc, branch_pc) in pending_branches.iter() {
        let target = if !starts.is_target(code, isa, target_pc) {
            None
        } else if lazy {
            Some(stub_or_block(out, op_number(op_index), target_pc))
        } else {
            while out
                .blocks
                .get(next_block)
                .is_some_and(|&(pc, _)| pc < target_pc)
            {
                next_block += 1;
            }
            out.blocks
                .get(next_block)
                .filter(|&&(pc, _)| pc == target_pc)
                .map(|&(_, op)| op)
        };
        let target = target.unwrap_or_else(|| {
            let trap = op_number(out.ops.len());
            push(out, Op::Trap, branch_pc);
            trap
        });
        if let (Some(slot), _) = control_slots(&mut out.ops[op_index]) {
            *slot = target;
        }
    }

    // Ops that can fall into the next block carry that block's cost.
    for &index in control_ops.iter() {
        let next_cost = out.block_costs.get(index + 1).copied().unwrap_or(0);
        if let (_, Some(fall_cost)) = control_slots(&mut out.ops[index]) {
            *fall_cost = next_cost;
        }
    }

    // Branches that waited at a stub for a block this run compiled go there directly; the
    // stub itself (which charged nothing) becomes a jump there, which charges the block.
    if let Some(lazy_blocks) = &mut out.lazy {
        for &(stub_index, block_op) in compiled_stubs.iter() {
            let Some(&(stub, head)) = lazy_blocks.stubs.get(usize_from_u32(stub_index)) else {
                continue;
            };
            let mut link = head;
            while let Some(&(branch, next)) = lazy_blocks.links.get(usize_from_u32(link)) {
                if let (Some(slot), _) = control_slots(&mut out.ops[usize_from_u32(branch)]) {
                    *slot = block_op;
                }
                link = next;
            }
            out.ops[usize_from_u32(stub)] = Op::Jump(block_op);
        }
    }
    if count_accesses {
        // Indexed by op like `block_costs`, so one bounds check covers both.
        out.block_accesses.resize(out.ops.len(), 0);
    }
}

/// The op a branch at op `branch` to the valid block at `target_pc` goes to: the block's,
/// if compiled, else its stub (made if needed), with the branch added to those waiting.
fn stub_or_block(out: &mut CompiledCode, branch: u32, target_pc: u32) -> u32 {
    let Some(lazy_blocks) = &mut out.lazy else {
        return INVALID_TARGET;
    };
    let entry = lazy_blocks.pc_ops.get(target_pc);
    if entry != 0 && entry & STUB == 0 {
        return entry - 1;
    }
    let stub_index = if entry == 0 {
        let stub_index = op_number(lazy_blocks.stubs.len());
        let stub = op_number(out.ops.len());
        *lazy_blocks.pc_ops.entry(target_pc) = stub_index | STUB;
        lazy_blocks.stubs.push((stub, NO_LINK));
        // Charges nothing: the block is charged when entered after compiling.
        out.ops.push(Op::Trap);
        out.op_pcs.push(target_pc);
        out.block_costs.push(0);
        stub_index
    } else {
        entry & !STUB
    };
    let stub = &mut lazy_blocks.stubs[usize_from_u32(stub_index)];
    lazy_blocks.links.push((branch, stub.1));
    stub.1 = op_number(lazy_blocks.links.len() - 1);
    stub.0
}

/// The superinstruction for an adjacent pair of ops inside a block, if the pair is one of
/// the most frequent on the compute guests (counted op pair by op pair), and whether its
/// second half is a load or store that needs a copy: when the access misses the fast path,
/// the fused op runs the copy at the end of the array, then [`Op::Continue`] to the op
/// after the pair, so the slow path, a fault and a resume all see the second instruction
/// as itself, with its own pc. A fused op takes one slot: a dispatch saved.
fn fuse(first: Op, second: Op) -> Option<(Op, bool)> {
    match (first, second) {
        (Op::Add64(d, a, b), Op::LoadU64(e, base, x)) => {
            Some((Op::Add64LoadU64(d, a, b, e, base, x, 0), true))
        }
        (Op::Add64(d, a, b), Op::StoreU64(v, base, x)) => {
            Some((Op::Add64StoreU64(d, a, b, v, base, x, 0), true))
        }
        (Op::LoadU64(d, base, x), Op::Add64(e, a, b)) => {
            Some((Op::LoadU64Add64(d, base, x, e, a, b), false))
        }
        (Op::AndImm(d, v, x), Op::Add64(e, a, b)) => {
            Some((Op::AndImmAdd64(d, v, x, e, a, b), false))
        }
        (Op::LoadU64(d, base, x), Op::SetLessThanUnsigned(e, a, b)) => {
            Some((Op::LoadU64SetLessThanUnsigned(d, base, x, e, a, b), false))
        }
        (Op::LoadU64(d, base, x), Op::Xor(e, a, b)) => {
            Some((Op::LoadU64Xor(d, base, x, e, a, b), false))
        }
        (Op::ShiftLogicalRightImm64(d, v, x), Op::AndImm(e, t, y)) => {
            Some((Op::ShiftLogicalRightImm64AndImm(d, v, x, e, t, y), false))
        }
        (Op::Xor(d, a, b), Op::RotateRightImm64(e, v, x)) => {
            Some((Op::XorRotateRightImm64(d, a, b, e, v, x), false))
        }
        (Op::StoreU64(v, base, x), Op::AddImm64(d, t, y)) => {
            Some((Op::StoreU64AddImm64(v, base, x, d, t, y), false))
        }
        (Op::LoadU64(d, base, x), Op::AddImm64(e, t, y)) => {
            Some((Op::LoadU64AddImm64(d, base, x, e, t, y), false))
        }
        (Op::ShiftLogicalLeft64(d, a, b), Op::Or(e, f, g)) => {
            Some((Op::ShiftLogicalLeft64Or(d, a, b, e, f, g), false))
        }
        (Op::AddImm64(d, v, x), Op::Add64(e, a, b)) => {
            Some((Op::AddImm64Add64(d, v, x, e, a, b), false))
        }
        (Op::AddImm32(d, v, x), Op::Add64(e, a, b)) => {
            Some((Op::AddImm32Add64(d, v, x, e, a, b), false))
        }
        (Op::StoreU64(v, base, x), Op::ShiftLogicalLeftImm64(d, t, y)) => Some((
            Op::StoreU64ShiftLogicalLeftImm64(v, base, x, d, t, y),
            false,
        )),
        (Op::LoadU64(d, base, x), Op::ShiftLogicalLeftImm64(e, t, y)) => {
            Some((Op::LoadU64ShiftLogicalLeftImm64(d, base, x, e, t, y), false))
        }
        (Op::AddImm64(d, v, x), Op::AddImm64(e, t, y)) => {
            Some((Op::AddImm64AddImm64(d, v, x, e, t, y), false))
        }
        (Op::Add64(d, a, b), Op::SetLessThanUnsigned(e, f, g)) => {
            Some((Op::Add64SetLessThanUnsigned(d, a, b, e, f, g), false))
        }
        (Op::Add64(d, a, b), Op::Add64(e, f, g)) => Some((Op::Add64Add64(d, a, b, e, f, g), false)),
        (Op::Xor(d, a, b), Op::Xor(e, f, g)) => Some((Op::XorXor(d, a, b, e, f, g), false)),
        (Op::LoadU8(d, base, x), Op::AddImm64(e, t, y)) => {
            Some((Op::LoadU8AddImm64(d, base, x, e, t, y), false))
        }
        (Op::StoreU8(v, base, x), Op::AddImm64(d, t, y)) => {
            Some((Op::StoreU8AddImm64(v, base, x, d, t, y), false))
        }
        (Op::Xor(d, a, b), Op::LoadU64(e, base, x)) => {
            Some((Op::XorLoadU64(d, a, b, e, base, x, 0), true))
        }
        (Op::Xor(d, a, b), Op::StoreU64(v, base, x)) => {
            Some((Op::XorStoreU64(d, a, b, v, base, x, 0), true))
        }
        (Op::AddImm64(d, v, x), Op::XorImm(e, t, y)) => {
            Some((Op::AddImm64XorImm(d, v, x, e, t, y), false))
        }
        (Op::LoadImm(d, x), Op::MoveReg(e, v)) => Some((Op::LoadImmMoveReg(d, x, e, v), false)),
        (Op::Add64(d, a, b), Op::BranchLessUnsigned(x, y, t, c)) => {
            Some((Op::Add64BranchLessUnsigned(d, a, b, x, y, t, c), false))
        }
        (Op::LoadImm(d, v), Op::BranchLessUnsigned(x, y, t, c)) => {
            Some((Op::LoadImmBranchLessUnsigned(d, v, x, y, t, c), false))
        }
        (Op::AddImm32(d, v, x), Op::LoadImmAndJump(e, y, t)) => {
            Some((Op::AddImm32LoadImmAndJump(d, v, x, e, y, t), false))
        }
        (Op::StoreU64(v, base, x), Op::LoadImm(d, y)) => {
            Some((Op::StoreU64LoadImm(v, base, x, d, y), false))
        }
        (Op::MoveReg(d, v), Op::BranchNotEq(x, y, t, c)) => {
            Some((Op::MoveRegBranchNotEq(d, v, x, y, t, c), false))
        }
        (Op::RotateRightImm64(d, v, x), Op::StoreU64(t, base, y)) => Some((
            Op::RotateRightImm64StoreU64(d, v, low_u8((x % 64).into()), t, base, y, 0),
            true,
        )),
        (Op::ShiftLogicalLeftImm64(d, v, x), Op::StoreU64(t, base, y)) => Some((
            Op::ShiftLogicalLeftImm64StoreU64(d, v, low_u8((x % 64).into()), t, base, y, 0),
            true,
        )),
        _ => None,
    }
}

fn push(out: &mut CompiledCode, op: Op, pc: u32) {
    out.ops.push(op);
    out.op_pcs.push(pc);
    // Filled by `store_charge` when the op's block closes (accesses are sized then, and
    // to the ops' length at the end).
    out.block_costs.push(0);
}

/// Stores a block's charge in the slot of its first op (made if the op is not pushed yet).
fn store_charge(out: &mut CompiledCode, slot: usize, charge: BlockCharge, count_accesses: bool) {
    if out.block_costs.len() <= slot {
        out.block_costs.resize(slot + 1, 0);
    }
    out.block_costs[slot] = charge.cost;
    if count_accesses {
        if out.block_accesses.len() <= slot {
            out.block_accesses.resize(slot + 1, 0);
        }
        out.block_accesses[slot] = charge.accesses;
    }
}

/// The slots of a control-transfer op: its static target (a pc until resolved, then an
/// op index) and the cost of the block it may fall into.
fn control_slots(op: &mut Op) -> (Option<&mut u32>, Option<&mut u32>) {
    use Op::*;
    match op {
        Jump(t) | LoadImmAndJump(_, _, t) | AddImm32LoadImmAndJump(_, _, _, _, _, t) => {
            (Some(t), None)
        }
        Fallthrough(c) => (None, Some(c)),
        BranchEq(_, _, t, c)
        | BranchNotEq(_, _, t, c)
        | BranchLessUnsigned(_, _, t, c)
        | BranchLessSigned(_, _, t, c)
        | BranchGreaterOrEqualUnsigned(_, _, t, c)
        | BranchGreaterOrEqualSigned(_, _, t, c)
        | BranchEqImm(_, _, t, c)
        | BranchNotEqImm(_, _, t, c)
        | BranchLessUnsignedImm(_, _, t, c)
        | BranchLessSignedImm(_, _, t, c)
        | BranchGreaterOrEqualUnsignedImm(_, _, t, c)
        | BranchGreaterOrEqualSignedImm(_, _, t, c)
        | BranchLessOrEqualSignedImm(_, _, t, c)
        | BranchLessOrEqualUnsignedImm(_, _, t, c)
        | BranchGreaterSignedImm(_, _, t, c)
        | BranchGreaterUnsignedImm(_, _, t, c)
        | Add64BranchLessUnsigned(_, _, _, _, _, t, c)
        | LoadImmBranchLessUnsigned(_, _, _, _, t, c)
        | MoveRegBranchNotEq(_, _, _, _, t, c) => (Some(t), Some(c)),
        _ => (None, None),
    }
}

/// Maps one decoded instruction to its op; branch targets are still program counters.
fn lower_instruction(decoded: &DecodedInstruction) -> Op {
    let Some(instruction) = decoded.instruction else {
        return Op::Trap;
    };
    use Args as A;
    use Opcode as O;
    match (instruction.opcode, instruction.args) {
        (O::Trap, _) => Op::Trap,
        (O::Fallthrough, _) => Op::Fallthrough(0),
        (O::Unlikely, _) => Op::Nop,
        (O::Memset, _) => Op::Memset,
        (O::Ecalli, A::Imm(n)) => Op::Ecalli(n, decoded.pc + decoded.length),
        (O::Jump, A::Offset(t)) => Op::Jump(t),
        (O::JumpIndirect, A::RegImm(b, x)) => Op::JumpIndirect(r(b), x),
        (O::LoadImm, A::RegImm(d, x)) => Op::LoadImm(r(d), x),
        (O::LoadU8, A::RegImm(d, x)) => Op::LoadU8(r(d), ZERO_REG, x),
        (O::LoadI8, A::RegImm(d, x)) => Op::LoadI8(r(d), ZERO_REG, x),
        (O::LoadU16, A::RegImm(d, x)) => Op::LoadU16(r(d), ZERO_REG, x),
        (O::LoadI16, A::RegImm(d, x)) => Op::LoadI16(r(d), ZERO_REG, x),
        (O::LoadU32, A::RegImm(d, x)) => Op::LoadU32(r(d), ZERO_REG, x),
        (O::LoadI32, A::RegImm(d, x)) => Op::LoadI32(r(d), ZERO_REG, x),
        (O::LoadU64, A::RegImm(d, x)) => Op::LoadU64(r(d), ZERO_REG, x),
        (O::StoreU8, A::RegImm(s, x)) => Op::StoreU8(r(s), ZERO_REG, x),
        (O::StoreU16, A::RegImm(s, x)) => Op::StoreU16(r(s), ZERO_REG, x),
        (O::StoreU32, A::RegImm(s, x)) => Op::StoreU32(r(s), ZERO_REG, x),
        (O::StoreU64, A::RegImm(s, x)) => Op::StoreU64(r(s), ZERO_REG, x),

        (O::LoadImmAndJump, A::RegImmOffset(d, x, t)) => Op::LoadImmAndJump(r(d), x, t),
        (O::BranchEqImm, A::RegImmOffset(a, x, t)) => Op::BranchEqImm(r(a), x, t, 0),
        (O::BranchNotEqImm, A::RegImmOffset(a, x, t)) => Op::BranchNotEqImm(r(a), x, t, 0),
        (O::BranchLessUnsignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchLessUnsignedImm(r(a), x, t, 0)
        }
        (O::BranchLessSignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchLessSignedImm(r(a), x, t, 0)
        }
        (O::BranchGreaterOrEqualUnsignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchGreaterOrEqualUnsignedImm(r(a), x, t, 0)
        }
        (O::BranchGreaterOrEqualSignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchGreaterOrEqualSignedImm(r(a), x, t, 0)
        }
        (O::BranchLessOrEqualSignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchLessOrEqualSignedImm(r(a), x, t, 0)
        }
        (O::BranchLessOrEqualUnsignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchLessOrEqualUnsignedImm(r(a), x, t, 0)
        }
        (O::BranchGreaterSignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchGreaterSignedImm(r(a), x, t, 0)
        }
        (O::BranchGreaterUnsignedImm, A::RegImmOffset(a, x, t)) => {
            Op::BranchGreaterUnsignedImm(r(a), x, t, 0)
        }

        (O::StoreImmIndirectU8, A::RegImmImm(b, x, y)) => Op::StoreImmU8(r(b), x, y),
        (O::StoreImmIndirectU16, A::RegImmImm(b, x, y)) => Op::StoreImmU16(r(b), x, y),
        (O::StoreImmIndirectU32, A::RegImmImm(b, x, y)) => Op::StoreImmU32(r(b), x, y),
        (O::StoreImmIndirectU64, A::RegImmImm(b, x, y)) => Op::StoreImmU64(r(b), x, y),
        (O::StoreImmU8, A::ImmImm(x, y)) => Op::StoreImmU8(ZERO_REG, x, y),
        (O::StoreImmU16, A::ImmImm(x, y)) => Op::StoreImmU16(ZERO_REG, x, y),
        (O::StoreImmU32, A::ImmImm(x, y)) => Op::StoreImmU32(ZERO_REG, x, y),
        (O::StoreImmU64, A::ImmImm(x, y)) => Op::StoreImmU64(ZERO_REG, x, y),

        (O::StoreIndirectU8, A::RegRegImm(s, b, x)) => Op::StoreU8(r(s), r(b), x),
        (O::StoreIndirectU16, A::RegRegImm(s, b, x)) => Op::StoreU16(r(s), r(b), x),
        (O::StoreIndirectU32, A::RegRegImm(s, b, x)) => Op::StoreU32(r(s), r(b), x),
        (O::StoreIndirectU64, A::RegRegImm(s, b, x)) => Op::StoreU64(r(s), r(b), x),
        (O::LoadIndirectU8, A::RegRegImm(d, b, x)) => Op::LoadU8(r(d), r(b), x),
        (O::LoadIndirectI8, A::RegRegImm(d, b, x)) => Op::LoadI8(r(d), r(b), x),
        (O::LoadIndirectU16, A::RegRegImm(d, b, x)) => Op::LoadU16(r(d), r(b), x),
        (O::LoadIndirectI16, A::RegRegImm(d, b, x)) => Op::LoadI16(r(d), r(b), x),
        (O::LoadIndirectI32, A::RegRegImm(d, b, x)) => Op::LoadI32(r(d), r(b), x),
        (O::LoadIndirectU32, A::RegRegImm(d, b, x)) => Op::LoadU32(r(d), r(b), x),
        (O::LoadIndirectU64, A::RegRegImm(d, b, x)) => Op::LoadU64(r(d), r(b), x),
        (op, A::RegRegImm(d, s, x)) => reg_reg_imm(op, r(d), r(s), x),

        (O::BranchEq, A::RegRegOffset(a, b, t)) => Op::BranchEq(r(a), r(b), t, 0),
        (O::BranchNotEq, A::RegRegOffset(a, b, t)) => Op::BranchNotEq(r(a), r(b), t, 0),
        (O::BranchLessUnsigned, A::RegRegOffset(a, b, t)) => {
            Op::BranchLessUnsigned(r(a), r(b), t, 0)
        }
        (O::BranchLessSigned, A::RegRegOffset(a, b, t)) => Op::BranchLessSigned(r(a), r(b), t, 0),
        (O::BranchGreaterOrEqualUnsigned, A::RegRegOffset(a, b, t)) => {
            Op::BranchGreaterOrEqualUnsigned(r(a), r(b), t, 0)
        }
        (O::BranchGreaterOrEqualSigned, A::RegRegOffset(a, b, t)) => {
            Op::BranchGreaterOrEqualSigned(r(a), r(b), t, 0)
        }

        (op, A::RegRegReg(d, a, b)) => reg_reg_reg(op, r(d), r(a), r(b)),
        (op, A::RegReg(d, s)) => reg_reg(op, r(d), r(s)),
        (O::LoadImmAndJumpIndirect, A::RegRegImmImm(d, b, x, y)) => {
            Op::LoadImmAndJumpIndirect(r(d), r(b), x, y)
        }
        (O::LoadImm64, A::RegImm64(d, x)) => Op::LoadImm64(r(d), x),
        (opcode, args) => unreachable!("{opcode:?} decoded with mismatched operands {args:?}"),
    }
}

fn reg_reg_imm(opcode: Opcode, d: R, s: R, x: u32) -> Op {
    use Opcode as O;
    match opcode {
        O::AddImm32 => Op::AddImm32(d, s, x),
        O::AddImm64 => Op::AddImm64(d, s, x),
        O::AndImm => Op::AndImm(d, s, x),
        O::XorImm => Op::XorImm(d, s, x),
        O::OrImm => Op::OrImm(d, s, x),
        O::MulImm32 => Op::MulImm32(d, s, x),
        O::MulImm64 => Op::MulImm64(d, s, x),
        O::SetLessThanUnsignedImm => Op::SetLessThanUnsignedImm(d, s, x),
        O::SetLessThanSignedImm => Op::SetLessThanSignedImm(d, s, x),
        O::ShiftLogicalLeftImm32 => Op::ShiftLogicalLeftImm32(d, s, x),
        O::ShiftLogicalLeftImm64 => Op::ShiftLogicalLeftImm64(d, s, x),
        O::ShiftLogicalRightImm32 => Op::ShiftLogicalRightImm32(d, s, x),
        O::ShiftLogicalRightImm64 => Op::ShiftLogicalRightImm64(d, s, x),
        O::ShiftArithmeticRightImm32 => Op::ShiftArithmeticRightImm32(d, s, x),
        O::ShiftArithmeticRightImm64 => Op::ShiftArithmeticRightImm64(d, s, x),
        O::NegateAndAddImm32 => Op::NegateAndAddImm32(d, s, x),
        O::NegateAndAddImm64 => Op::NegateAndAddImm64(d, s, x),
        O::SetGreaterThanUnsignedImm => Op::SetGreaterThanUnsignedImm(d, s, x),
        O::SetGreaterThanSignedImm => Op::SetGreaterThanSignedImm(d, s, x),
        O::ShiftLogicalRightImmAlt32 => Op::ShiftLogicalRightImmAlt32(d, s, x),
        O::ShiftLogicalRightImmAlt64 => Op::ShiftLogicalRightImmAlt64(d, s, x),
        O::ShiftArithmeticRightImmAlt32 => Op::ShiftArithmeticRightImmAlt32(d, s, x),
        O::ShiftArithmeticRightImmAlt64 => Op::ShiftArithmeticRightImmAlt64(d, s, x),
        O::ShiftLogicalLeftImmAlt32 => Op::ShiftLogicalLeftImmAlt32(d, s, x),
        O::ShiftLogicalLeftImmAlt64 => Op::ShiftLogicalLeftImmAlt64(d, s, x),
        O::CmovIfZeroImm => Op::CmovIfZeroImm(d, s, x),
        O::CmovIfNotZeroImm => Op::CmovIfNotZeroImm(d, s, x),
        O::RotateRightImm32 => Op::RotateRightImm32(d, s, x),
        O::RotateRightImmAlt32 => Op::RotateRightImmAlt32(d, s, x),
        O::RotateRightImm64 => Op::RotateRightImm64(d, s, x),
        O::RotateRightImmAlt64 => Op::RotateRightImmAlt64(d, s, x),
        _ => unreachable!("{opcode:?} is not a reg-reg-imm ALU op"),
    }
}

fn reg_reg_reg(opcode: Opcode, d: R, a: R, b: R) -> Op {
    use Opcode as O;
    match opcode {
        O::Add32 => Op::Add32(d, a, b),
        O::Add64 => Op::Add64(d, a, b),
        O::Sub32 => Op::Sub32(d, a, b),
        O::Sub64 => Op::Sub64(d, a, b),
        O::And => Op::And(d, a, b),
        O::Xor => Op::Xor(d, a, b),
        O::Or => Op::Or(d, a, b),
        O::Mul32 => Op::Mul32(d, a, b),
        O::Mul64 => Op::Mul64(d, a, b),
        O::MulUpperSignedSigned => Op::MulUpperSignedSigned(d, a, b),
        O::MulUpperUnsignedUnsigned => Op::MulUpperUnsignedUnsigned(d, a, b),
        O::MulUpperSignedUnsigned => Op::MulUpperSignedUnsigned(d, a, b),
        O::SetLessThanUnsigned => Op::SetLessThanUnsigned(d, a, b),
        O::SetLessThanSigned => Op::SetLessThanSigned(d, a, b),
        O::ShiftLogicalLeft32 => Op::ShiftLogicalLeft32(d, a, b),
        O::ShiftLogicalLeft64 => Op::ShiftLogicalLeft64(d, a, b),
        O::ShiftLogicalRight32 => Op::ShiftLogicalRight32(d, a, b),
        O::ShiftLogicalRight64 => Op::ShiftLogicalRight64(d, a, b),
        O::ShiftArithmeticRight32 => Op::ShiftArithmeticRight32(d, a, b),
        O::ShiftArithmeticRight64 => Op::ShiftArithmeticRight64(d, a, b),
        O::DivUnsigned32 => Op::DivUnsigned32(d, a, b),
        O::DivUnsigned64 => Op::DivUnsigned64(d, a, b),
        O::DivSigned32 => Op::DivSigned32(d, a, b),
        O::DivSigned64 => Op::DivSigned64(d, a, b),
        O::RemUnsigned32 => Op::RemUnsigned32(d, a, b),
        O::RemUnsigned64 => Op::RemUnsigned64(d, a, b),
        O::RemSigned32 => Op::RemSigned32(d, a, b),
        O::RemSigned64 => Op::RemSigned64(d, a, b),
        O::CmovIfZero => Op::CmovIfZero(d, a, b),
        O::CmovIfNotZero => Op::CmovIfNotZero(d, a, b),
        O::AndInverted => Op::AndInverted(d, a, b),
        O::OrInverted => Op::OrInverted(d, a, b),
        O::Xnor => Op::Xnor(d, a, b),
        O::Maximum => Op::Maximum(d, a, b),
        O::MaximumUnsigned => Op::MaximumUnsigned(d, a, b),
        O::Minimum => Op::Minimum(d, a, b),
        O::MinimumUnsigned => Op::MinimumUnsigned(d, a, b),
        O::RotateLeft32 => Op::RotateLeft32(d, a, b),
        O::RotateLeft64 => Op::RotateLeft64(d, a, b),
        O::RotateRight32 => Op::RotateRight32(d, a, b),
        O::RotateRight64 => Op::RotateRight64(d, a, b),
        _ => unreachable!("{opcode:?} is not a reg-reg-reg op"),
    }
}

fn reg_reg(opcode: Opcode, d: R, s: R) -> Op {
    use Opcode as O;
    match opcode {
        O::MoveReg => Op::MoveReg(d, s),
        O::Sbrk => Op::Sbrk(d, s),
        O::CountLeadingZeroBits32 => Op::CountLeadingZeroBits32(d, s),
        O::CountLeadingZeroBits64 => Op::CountLeadingZeroBits64(d, s),
        O::CountTrailingZeroBits32 => Op::CountTrailingZeroBits32(d, s),
        O::CountTrailingZeroBits64 => Op::CountTrailingZeroBits64(d, s),
        O::CountSetBits32 => Op::CountSetBits32(d, s),
        O::CountSetBits64 => Op::CountSetBits64(d, s),
        O::SignExtend8 => Op::SignExtend8(d, s),
        O::SignExtend16 => Op::SignExtend16(d, s),
        O::ZeroExtend16 => Op::ZeroExtend16(d, s),
        O::ReverseByte => Op::ReverseByte(d, s),
        _ => unreachable!("{opcode:?} is not a reg-reg op"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::{assemble, chained_blocks_source};

    /// Block starts located a macro block at a time, in any order, are those located up
    /// front, at every offset (the implicit trap's too): on generated ReviveV1 code and on
    /// a real Latest64 blob (the corpus's big-integer one, 62 macro blocks).
    #[test]
    fn block_starts_located_lazily_match_up_front() {
        let revive = assemble(&chained_blocks_source(300, &["main"]))
            .expect("the generated source assembles");
        let latest = crate::ProgramBlob::parse(include_bytes!(
            "../../../contracts-examples/blobs/corpus-bigint.latest64.polkavm"
        ))
        .expect("the corpus blob parses");
        for blob in [revive, latest] {
            let (code, isa) = (&blob.code, blob.isa);
            let mut up_front = BlockStarts::new(code, isa, true);
            let last = low_u32_of_usize(code.code.len());
            // Backwards (each macro block located whole at once), forwards (located a
            // little further at every question) and striding over macro blocks.
            let orders: [Vec<u32>; 3] = [
                (0..=last).rev().collect(),
                (0..=last).collect(),
                (0..=last).map(|i| (i * 613) % (last + 1)).collect(),
            ];
            for order in orders {
                let mut lazy = BlockStarts::new(code, isa, false);
                let mut targets = 0;
                for &pc in &order {
                    let target = up_front.is_target(code, isa, pc);
                    targets += usize::from(target);
                    assert_eq!(lazy.is_target(code, isa, pc), target, "{isa}: pc {pc}");
                    assert_eq!(
                        lazy.is_block_start(code, isa, pc),
                        up_front.is_block_start(code, isa, pc),
                        "{isa}: pc {pc}"
                    );
                }
                assert!(targets > 300, "{isa}: {targets} block starts");
            }
        }
    }

    /// Code reused from a dropped instance's (compiled all over a larger blob) compiles
    /// exactly what new code does.
    #[cfg(feature = "std")]
    #[test]
    fn lazy_code_reused_from_a_dropped_instance_compiles_as_fresh_code() {
        let costs = CostTable::naive();
        let latest = crate::ProgramBlob::parse(include_bytes!(
            "../../../contracts-examples/blobs/corpus-bigint.latest64.polkavm"
        ))
        .expect("the corpus blob parses");
        let revive = assemble(&chained_blocks_source(300, &["main"]))
            .expect("the generated source assembles");
        let starts = BlockStarts::new(&latest.code, latest.isa, false);
        let mut dirty = LazyCode::new(&latest.code, &costs, &starts);
        for pc in 0..=low_u32_of_usize(latest.code.code.len()) {
            dirty.compile_block(&latest.code, latest.isa, pc, false);
        }
        assert!(dirty.code.ops.len() > 10_000);
        drop(dirty);
        let starts = BlockStarts::new(&revive.code, revive.isa, false);
        // (Another test may take the pooled code first: then this one is fresh too.)
        let mut reused = LazyCode::new(&revive.code, &costs, &starts);
        let mut fresh = LazyCode::fresh(&revive.code, &costs, &starts);
        for pc in (0..=low_u32_of_usize(revive.code.code.len())).rev() {
            assert_eq!(
                reused.compile_block(&revive.code, revive.isa, pc, true),
                fresh.compile_block(&revive.code, revive.isa, pc, true),
                "pc {pc}"
            );
        }
        assert_eq!(
            alloc::format!("{:?}", reused.code),
            alloc::format!("{:?}", fresh.code)
        );
    }

    #[test]
    fn pc_map_reads_zero_until_written() {
        let mut map = PcMap::new(1000);
        assert_eq!(map.get(999), 0);
        assert_eq!(map.get(5000), 0);
        *map.entry(999) = 7;
        *map.entry(3) = 9;
        assert_eq!(
            (map.get(999), map.get(3), map.get(998), map.get(4)),
            (7, 9, 0, 0)
        );
        assert_eq!(map.words.len(), 2 * PcMap::CHUNK);
    }
}
