//! `pvm-core`: a PolkaVM-compatible RISC-V virtual machine for smart contracts.
//!
//! The crate reads the program blobs the ecosystem's toolchain writes (`.polkavm`
//! containers from `polkavm-linker` 0.37 in the ReviveV1, Latest64 and JamV1 instruction
//! sets, and raw JAM code blobs), validates them once, and runs them.
//!
//! ```text
//! bytes --ProgramBlob::parse--> ProgramBlob --Module::from_blob--> Module --instantiate--> Instance
//!                                                                     Instance::run() -> Interrupt
//! ```
//!
//! It is `no_std + alloc` by default so a Substrate runtime can embed it; the `std`
//! feature adds host-only parts.
//!
//! ```
//! use pvm_core::{asm, Engine, Config, Module, ModuleConfig, Interrupt, Reg};
//! let blob = asm::assemble("
//!     pub @add:
//!         add_64 a0, a0, a1
//!         jump_indirect ra, 0
//! ").unwrap();
//! let engine = Engine::new(&Config::default()).unwrap();
//! let module = Module::from_blob(&engine, &ModuleConfig::default(), blob).unwrap();
//! let mut instance = module.instantiate().unwrap();
//! instance.set_gas(1000);
//! instance.prepare_call_export("add", &[2, 40]).unwrap();
//! assert_eq!(instance.run().unwrap(), Interrupt::Finished);
//! assert_eq!(instance.reg(Reg::A0), 42);
//! ```

#![no_std]
#![deny(missing_docs)]
// Code that runs inside the runtime (wasm32, 32-bit `usize`) converts integers only through
// `From`/`TryFrom` or the audited helpers of `cast`, never with a bare `as` whose meaning
// depends on the target's pointer width.
#![deny(clippy::as_conversions, clippy::cast_possible_truncation)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod asm;
mod cast;
mod engine;
mod error;
pub mod gas;
mod instance;
pub mod interpreter;
pub mod isa;
// x86-64 host code, compiled only where `usize` is 64 bits and never in the runtime: its
// casts encode machine instructions and host addresses.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
pub mod jit;
pub mod memory;
mod module;
pub mod program;
// Likewise x86-64 Linux host code (see `jit`).
#[cfg(jit_sandbox)]
#[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
pub mod sandbox;

pub use engine::{BackendKind, Config, Engine, SandboxConfig, SandboxKind};
pub use error::{Error, SandboxError};
pub use instance::{Instance, Interrupt, Segfault};
pub use isa::{InstructionSet, Opcode, Reg};
pub use module::{MemoryLayout, Module, ModuleConfig};
pub use program::{ProgramBlob, ProgramError};
