//! Control flow: traps, jumps, conditional branches, dynamic jumps through the jump
//! table, and the exits to the host (`ecalli`, `sbrk`).

use super::{Compiler, Repair, Stub, Target};
use crate::isa::InstructionSet;
use crate::isa::{Opcode, Reg};
use crate::jit::abi::{
    ctx_disp, ExitKind, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_INLINE_JUMP_TABLE, CTX_JUMP_TABLE,
    CTX_NEXT_PC, CTX_PC, CTX_RESUME, INLINE_JUMP_TABLE_ENTRIES, MEMORY_BASE, SCRATCH,
};
use crate::jit::x64::{Cond, Mem, Scale, ShiftOp, Size};
use crate::program::RETURN_TO_HOST;

/// The return-to-host address rotated right by one, as a dynamic jump compares it.
pub(super) const ROTATED_RETURN_TO_HOST: u32 = RETURN_TO_HOST.rotate_right(1);

impl Compiler<'_> {
    /// Traps at `pc`.
    pub(super) fn trap_here(&mut self, pc: u32) {
        self.asm.mov_mi(Size::B32, self.ctx(CTX_PC), pc as i32);
        self.asm.jmp(self.exits.trap);
    }

    /// A label that traps at `pc` when jumped to (out of line).
    pub(super) fn trap_stub(&mut self, pc: u32) -> crate::jit::x64::Label {
        let entry = self.asm.label();
        self.buffers.stubs.push(Stub::Trap { entry, pc });
        entry
    }

    /// An unconditional jump to the block at `target`; a target that starts no block
    /// traps at the jump (after its block was charged, as in the interpreter).
    pub(super) fn jump(&mut self, target: u32, pc: u32) {
        match self.target(target, pc) {
            Target::Block(label) => self.asm.jmp(label),
            Target::Ahead(label) => {
                // An unbound label always takes the rel32 form, which a repair can
                // point at a trap stub.
                self.asm.jmp(label);
                let at = self.asm.offset() as u32 - 4;
                self.forward_branch(label, pc, Repair::Retarget { at });
            }
            Target::Invalid => self.trap_here(pc),
        }
    }

    /// `jump_indirect base, offset`, or with `load`, `load_imm_and_jump_indirect`, which
    /// writes its register after computing the address.
    pub(super) fn jump_indirect(
        &mut self,
        load: Option<(Reg, u32)>,
        base: Reg,
        offset: u32,
        pc: u32,
    ) {
        // The address is 32-bit wrapping arithmetic.
        self.asm.lea(
            Size::B32,
            SCRATCH,
            Mem::base_disp(Self::r(base), offset as i32),
        );
        if let Some((d, x)) = load {
            self.load_imm(d, x);
        }
        let finished = self.asm.label();
        self.buffers.stubs.push(Stub::Finished {
            entry: finished,
            pc,
        });
        let trap = self.trap_stub(pc);
        let len = self.jump_table_len;
        if len == 0 || len >= ROTATED_RETURN_TO_HOST {
            // No table (or one so large the return address could index it, which no
            // valid blob has): check for the return address first.
            self.asm.cmp_ri(Size::B32, SCRATCH, RETURN_TO_HOST as i32);
            self.asm.jcc(Cond::E, finished);
            if len == 0 {
                self.asm.jmp(trap);
                return;
            }
            self.asm.shift_ri(ShiftOp::Ror, Size::B32, SCRATCH, 1);
            self.asm.cmp_ri(Size::B32, SCRATCH, len as i32 + 1);
            self.asm.jcc(Cond::Ae, trap);
        } else {
            // `address ror 1` is `address / 2` for even addresses, 2^31 and up for odd
            // ones; entry `address / 2 - 1` is at index `address / 2` of a table with a
            // zero (invalid) entry first, so address 0 needs no check of its own. Whatever
            // is past the table, the return-to-host address included, goes out of line.
            self.asm.shift_ri(ShiftOp::Ror, Size::B32, SCRATCH, 1);
            self.asm.cmp_ri(Size::B32, SCRATCH, len as i32 + 1);
            let miss = self.asm.label();
            self.buffers.stubs.push(Stub::JumpTableMiss {
                entry: miss,
                finished,
                trap,
            });
            self.asm.jcc(Cond::Ae, miss);
        }
        if len <= INLINE_JUMP_TABLE_ENTRIES {
            // The table is in the context, at a fixed offset from the memory base, with
            // the (always zero) word before it as its first entry.
            let disp = ctx_disp(CTX_INLINE_JUMP_TABLE - 8);
            let entry = if self.options.segment_memory {
                Mem::gs_indexed(SCRATCH, Scale::S8, disp)
            } else {
                Mem::indexed(MEMORY_BASE, SCRATCH, Scale::S8, disp)
            };
            self.asm.mov_rm(Size::B64, SCRATCH, entry);
        } else {
            // The module's table, whose first entry is the zero one.
            self.asm.shift_ri(ShiftOp::Shl, Size::B64, SCRATCH, 3);
            self.asm
                .add_rm(Size::B64, SCRATCH, self.ctx(CTX_JUMP_TABLE));
            self.asm.mov_rm(Size::B64, SCRATCH, Mem::base(SCRATCH));
        }
        // Entries of targets that start no block are 0.
        self.asm.test_rr(Size::B64, SCRATCH, SCRATCH);
        self.asm.jcc(Cond::E, trap);
        self.asm.jmp_reg(SCRATCH);
    }

    /// Emits the compare (`emit_compare`) and conditional jump of a branch at `pc` to
    /// `target`. A target that starts no block makes the whole branch trap where it
    /// stands, taken or not (PolkaVM's rules, also the interpreter's), or only when
    /// taken (Graypaper rules); for a target ahead that is known only at the end, where
    /// the branch is repaired.
    fn branch(&mut self, cond: Cond, target: u32, pc: u32, emit_compare: impl FnOnce(&mut Self)) {
        let polkavm_rules = self.options.isa != InstructionSet::Graypaper;
        let label = match self.target(target, pc) {
            Target::Block(label) => label,
            Target::Invalid if polkavm_rules => return self.trap_here(pc),
            Target::Invalid => self.trap_stub(pc),
            Target::Ahead(label) => {
                let start = self.asm.offset() as u32;
                emit_compare(self);
                // Unbound, so rel32: at least five bytes from the compare on.
                self.asm.jcc(cond, label);
                let repair = if polkavm_rules {
                    Repair::Replace { at: start }
                } else {
                    Repair::Retarget {
                        at: self.asm.offset() as u32 - 4,
                    }
                };
                self.forward_branch(label, pc, repair);
                return;
            }
        };
        emit_compare(self);
        self.asm.jcc(cond, label);
    }

    pub(super) fn branch_imm(&mut self, opcode: Opcode, a: Reg, x: u32, target: u32, pc: u32) {
        use Opcode as O;
        let cond = match opcode {
            O::BranchEqImm => Cond::E,
            O::BranchNotEqImm => Cond::Ne,
            O::BranchLessUnsignedImm => Cond::B,
            O::BranchLessSignedImm => Cond::L,
            O::BranchGreaterOrEqualUnsignedImm => Cond::Ae,
            O::BranchGreaterOrEqualSignedImm => Cond::Ge,
            O::BranchLessOrEqualSignedImm => Cond::Le,
            O::BranchLessOrEqualUnsignedImm => Cond::Be,
            O::BranchGreaterSignedImm => Cond::G,
            O::BranchGreaterUnsignedImm => Cond::A,
            _ => unreachable!("{opcode:?} is not a branch with an immediate"),
        };
        // The immediate is sign-extended to 64 bits, as `cmp r64, imm32` does.
        self.branch(cond, target, pc, |this| {
            this.asm.cmp_ri(Size::B64, Self::r(a), x as i32)
        });
    }

    pub(super) fn branch_reg(&mut self, opcode: Opcode, a: Reg, b: Reg, target: u32, pc: u32) {
        use Opcode as O;
        let cond = match opcode {
            O::BranchEq => Cond::E,
            O::BranchNotEq => Cond::Ne,
            O::BranchLessUnsigned => Cond::B,
            O::BranchLessSigned => Cond::L,
            O::BranchGreaterOrEqualUnsigned => Cond::Ae,
            O::BranchGreaterOrEqualSigned => Cond::Ge,
            _ => unreachable!("{opcode:?} is not a register branch"),
        };
        self.branch(cond, target, pc, |this| {
            this.asm.cmp_rr(Size::B64, Self::r(a), Self::r(b))
        });
    }

    /// Leaves with `kind` and `arg`, recording `pc`, `next_pc` and the code right after
    /// this sequence as the place to resume.
    fn exit_and_resume(&mut self, kind: ExitKind, arg: u32, pc: u32, next_pc: u32) {
        let resume = self.asm.label();
        self.asm.lea_label(SCRATCH, resume);
        self.asm.mov_mr(Size::B64, self.ctx(CTX_RESUME), SCRATCH);
        self.asm
            .mov_mi(Size::B32, self.ctx(CTX_EXIT_KIND), kind as i32);
        self.asm
            .mov_mi(Size::B32, self.ctx(CTX_EXIT_ARG), arg as i32);
        self.asm.mov_mi(Size::B32, self.ctx(CTX_PC), pc as i32);
        self.asm
            .mov_mi(Size::B32, self.ctx(CTX_NEXT_PC), next_pc as i32);
        self.asm.jmp(self.exits.save_and_exit);
        self.asm.bind(resume);
    }

    /// `ecalli n`: exits to the host, which resumes after it.
    pub(super) fn ecalli(&mut self, n: u32, pc: u32, next_pc: u32) {
        self.exit_and_resume(ExitKind::Ecalli, n, pc, next_pc);
    }

    /// `sbrk d, s` at `pc`: the host charges the pages it adds, grows the heap (it owns
    /// the address space) and writes `d`; or, out of gas, stops at the `sbrk`.
    pub(super) fn sbrk(&mut self, d: Reg, s: Reg, pc: u32, next_pc: u32) {
        let arg = (d.index() as u32) << 8 | s.index() as u32;
        self.exit_and_resume(ExitKind::Sbrk, arg, pc, next_pc);
    }
}
