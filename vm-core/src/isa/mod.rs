//! The instruction set: one declarative table from which decoding, the interpreter's
//! compiler, the assembler, the disassembler and the cost model all read.
//!
//! Every row of the `define_opcodes!` table (in `table.rs`) names one instruction, its operand [`Format`], how it
//! ends a basic block ([`Flow`]), and its raw opcode number in each instruction set we read:
//! ReviveV1, the Graypaper 0.5.4-0.7.2 numbering used by the JAM PVM v0.4 vectors, JamV1
//! (all three use one byte per opcode and a bitmask that marks instruction starts), and
//! Latest64, where the opcode also fixes the instruction length (`[args_length:raw, ..]`)
//! and no bitmask exists.

mod decode;
// The JIT decodes operands itself, per opcode.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) use decode::{decode_args, instruction_starts};
mod table;

pub use decode::{
    decode_code, Args, DecodedInstruction, Decoder, Instruction, InstructionStream, RawInstruction,
    MACRO_BLOCK_SIZE, MAX_DECODED_CODE, MAX_SKIP,
};
pub use table::{Flow, Format, InstructionSet, Opcode, OpcodeInfo, Reg};
