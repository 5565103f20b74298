//! An x86-64 machine-code encoder: the instructions the JIT emits, typed, encoded in their
//! shortest correct form, with labels resolved at [`Assembler::finalize`].
//!
//! ```
//! use pvm_core::jit::x64::{Assembler, Cond, Mem, Reg, Size};
//!
//! // rax = sum of the u32 array at rdi with rsi elements.
//! let mut asm = Assembler::new();
//! let (top, done) = (asm.label(), asm.label());
//! asm.xor_rr(Size::B32, Reg::Rax, Reg::Rax);
//! asm.bind(top);
//! asm.test_rr(Size::B64, Reg::Rsi, Reg::Rsi);
//! asm.jcc(Cond::E, done); // forward: rel32, patched by finalize
//! asm.sub_ri(Size::B64, Reg::Rsi, 1);
//! asm.movzx_rm(Size::B32, Reg::Rcx, Mem::indexed(Reg::Rdi, Reg::Rsi, pvm_core::jit::x64::Scale::S4, 0));
//! asm.add_rr(Size::B64, Reg::Rax, Reg::Rcx);
//! asm.jmp(top); // backward and near: rel8
//! asm.bind(done);
//! asm.ret();
//! let code = asm.finalize().unwrap();
//! assert_eq!(code[..2], [0x31, 0xC0]); // xor eax, eax
//! ```
//!
//! Files by concern: `operand.rs` holds the operand types; `encoder.rs` the [`Assembler`]
//! with its labels and fixups, and the shared prefix/REX/ModRM/SIB core; `alu.rs` the
//! arithmetic and logic; `mov.rs` moves, loads, stores and extensions; `control.rs` jumps,
//! calls and traps.
//!
//! The encoder is safe code; it only produces bytes. Every form is checked against the
//! `iced-x86` decoder in `vm-core/tests/x64_encoder.rs`.

mod alu;
mod control;
mod encoder;
mod mov;
mod operand;

pub use alu::{AluOp, ShiftOp};
pub use encoder::{Assembler, EncodeError, Label};
pub use operand::{Cond, Mem, Reg, Scale, Size};
