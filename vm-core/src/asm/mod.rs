//! A text assembler and a disassembler, for tests, tools and debugging.
//!
//! # Syntax
//!
//! One instruction per line: the mnemonic (the snake-case opcode name, e.g. `add_64`,
//! `branch_less_unsigned_imm`, `load_imm64`), then its operands separated by commas, in
//! the order of [`crate::isa::Args`]: registers (`ra sp t0 t1 t2 s0 s1 a0..a5`, or `r0`..`r12`),
//! immediates (decimal or `0x` hex, optionally negative) and targets.
//!
//! ```text
//! ; comments start with ';' or '//'
//! .isa latest64            ; revive_v1 | jam_v1 | latest64 (default) | graypaper
//! .stack_size 4096         ; also .ro_data_size N, .rw_data_size N
//! .ro_data 01 02 0a ff     ; hex bytes; also .rw_data
//! .import "host_fn"        ; `ecalli 0` calls the first import
//! pub @main:               ; an export and a label; plain `@name:` is a label only
//!     load_imm a0, 5
//! @loop:
//!     add_imm_64 a0, a0, -1
//!     branch_not_eq_imm a0, 0, @loop   ; a target operand: the label's code offset
//!     load_imm t0, @done               ; an immediate operand: the label's jump-table address
//!     jump_indirect t0, 0
//! @done:
//!     jump_indirect ra, 0
//! ```
//!
//! Offsets are always encoded in 4 bytes and immediates in the fewest bytes that hold them.
//! Latest64 output rejects an instruction that would straddle a 1024-byte macro block or
//! end one without ending a basic block (the encoding forbids both).

mod assemble;
mod disassemble;

pub use assemble::{assemble, AsmError};
pub use disassemble::disassemble;

use alloc::string::String;

/// The source of a ReviveV1 program of `blocks` chained basic blocks (ALU work, a stack
/// load and store, a conditional branch each), then a return, exporting each of `exports`
/// at its start: code whose size grows linearly with `blocks`, for measuring what depends
/// on code size (compilation, code loading) at any size.
pub fn chained_blocks_source(blocks: usize, exports: &[&str]) -> String {
    use core::fmt::Write;
    let mut source = String::with_capacity(blocks * 200 + 128);
    source += ".isa revive_v1\n.stack_size 4096\n.rw_data_size 4096\n";
    for export in exports {
        let _ = writeln!(source, "pub @{export}:");
    }
    for i in 0..blocks {
        let _ = write!(
            source,
            "@b{i}:\n add_imm_64 a0, a0, {}\n xor a1, a1, a0\n load_indirect_u32 a2, sp, -8\n \
             store_indirect_u32 a2, sp, -16\n shift_logical_left_imm_64 a3, a0, 3\n \
             mul_64 a4, a3, a1\n branch_less_unsigned_imm a0, {}, @b{}\n",
            i % 97 + 1,
            i % 1000,
            i + 1
        );
    }
    let _ = writeln!(source, "@b{blocks}:\n jump_indirect ra, 0");
    source
}
