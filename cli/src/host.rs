//! The host functions the CLI provides to guests, by import symbol: the stateless set the
//! `hostcalls` example guest imports (see `pvm-contracts-examples`).
//!
//! | import | semantics |
//! |---|---|
//! | `host_add(a, b) -> u64` | `a.wrapping_add(b)` |
//! | `host_read_input(ptr, len) -> u32` | `n = min(len, 64)`; writes `n` bytes at `ptr`, byte `i` being `(len * 7 + i * 13) as u8`; returns `n` |
//! | `host_emit(ptr, len)` | appends the `len` bytes at `ptr` to the emitted log |
//! | `host_mix6(a, b, c, d, e, f) -> u64` | `a + 2b + 3c + 4d + 5e + 6f` (wrapping) |
//!
//! Arguments arrive in `a0..a5` and results go to `a0`; pointers and `u32` lengths use the
//! low 32 bits of their registers.

use pvm_contracts_examples::host;
use pvm_core::{Instance, Reg};
use std::fmt;
use std::ops::Range;

/// A host function the CLI implements.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Function {
    /// `host_add(a: u64, b: u64) -> u64`.
    Add,
    /// `host_read_input(ptr: *mut u8, len: u32) -> u32`.
    ReadInput,
    /// `host_emit(ptr: *const u8, len: u32)`.
    Emit,
    /// `host_mix6(a, b, c, d, e, f: u64) -> u64`.
    Mix6,
}

impl Function {
    /// Every function, in documentation order.
    pub const ALL: [Function; 4] = [
        Function::Add,
        Function::ReadInput,
        Function::Emit,
        Function::Mix6,
    ];

    /// The import symbol.
    pub fn name(self) -> &'static str {
        match self {
            Function::Add => "host_add",
            Function::ReadInput => "host_read_input",
            Function::Emit => "host_emit",
            Function::Mix6 => "host_mix6",
        }
    }

    /// How many argument registers (from `a0`) the function reads.
    pub fn arity(self) -> usize {
        match self {
            Function::Add | Function::ReadInput | Function::Emit => 2,
            Function::Mix6 => 6,
        }
    }

    /// Looks up an import symbol.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The argument registers, in order.
const ARG_REGS: [Reg; 6] = [Reg::A0, Reg::A1, Reg::A2, Reg::A3, Reg::A4, Reg::A5];

/// One completed host call, for tracing.
#[derive(Clone, Debug)]
pub struct HostCall {
    /// The function called.
    pub function: Function,
    /// `a0..a5` at the call (only the first `function.arity()` matter).
    pub args: [u64; 6],
    /// The value written to `a0`, if the function returns one.
    pub result: Option<u64>,
    /// For `host_emit`, the range of [`Host::emitted`] this call appended.
    pub emitted: Option<Range<usize>>,
}

/// Why a host call could not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// `ecalli n` with no import `n` in the program.
    NoSuchImport {
        /// The `ecalli` immediate.
        index: u32,
        /// How many imports the program declares.
        count: usize,
    },
    /// The program imports a function the CLI does not implement.
    NotProvided {
        /// The import symbol.
        symbol: String,
        /// The `ecalli` immediate.
        index: u32,
    },
    /// The function touched guest memory that is not mapped: the guest's fault.
    GuestMemory {
        /// The function.
        function: Function,
        /// The engine's description of the access.
        message: String,
    },
}

impl HostError {
    /// Whether the error is the guest's doing (a bad pointer), which ends the call like a
    /// trap, rather than a limitation of the CLI host.
    pub fn is_guest_fault(&self) -> bool {
        matches!(self, HostError::GuestMemory { .. })
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoSuchImport { index, count } => {
                write!(
                    f,
                    "ecalli {index} names no import (the program declares {count})"
                )
            }
            HostError::NotProvided { symbol, index } => {
                let provided: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
                write!(
                    f,
                    "import {symbol} (ecalli {index}) is not provided by the CLI host (it provides {})",
                    provided.join(", ")
                )
            }
            HostError::GuestMemory { function, message } => {
                write!(f, "{}: {message}", function.name())
            }
        }
    }
}

impl std::error::Error for HostError {}

/// The CLI's host: resolves imports and keeps the `host_emit` log.
#[derive(Debug)]
pub struct Host {
    /// `imports[n]`: the symbol `ecalli n` calls and the function implementing it, if any.
    imports: Vec<(String, Option<Function>)>,
    /// Every byte `host_emit` received, in order.
    pub emitted: Vec<u8>,
    /// How many times `host_emit` was called.
    pub emit_calls: usize,
    /// How many host calls completed.
    pub calls: u64,
}

impl Host {
    /// A host for a program with these import symbols. Unknown imports only fail when called.
    pub fn new(imports: &[String]) -> Host {
        Host {
            imports: imports
                .iter()
                .map(|s| (s.clone(), Function::from_name(s)))
                .collect(),
            emitted: Vec::new(),
            emit_calls: 0,
            calls: 0,
        }
    }

    /// Performs `ecalli index` on `instance`: reads arguments, touches memory, sets `a0`.
    pub fn call(&mut self, instance: &mut Instance, index: u32) -> Result<HostCall, HostError> {
        let (symbol, function) =
            self.imports
                .get(index as usize)
                .ok_or(HostError::NoSuchImport {
                    index,
                    count: self.imports.len(),
                })?;
        let function = function.ok_or_else(|| HostError::NotProvided {
            symbol: symbol.clone(),
            index,
        })?;
        let args = ARG_REGS.map(|reg| instance.reg(reg));
        let memory_error = |error: pvm_core::Error| HostError::GuestMemory {
            function,
            message: error.to_string(),
        };
        let mut emitted = None;
        let result = match function {
            Function::Add => Some(host::add(args[0], args[1])),
            Function::ReadInput => {
                let (ptr, len) = (args[0] as u32, args[1] as u32);
                let mut input = [0u8; host::MAX_INPUT as usize];
                let n = host::input(len, &mut input);
                instance
                    .write_memory(ptr, &input[..n])
                    .map_err(memory_error)?;
                Some(n as u64)
            }
            Function::Emit => {
                let (ptr, len) = (args[0] as u32, args[1] as u32);
                let bytes = instance.read_memory(ptr, len).map_err(memory_error)?;
                let start = self.emitted.len();
                self.emitted.extend_from_slice(&bytes);
                self.emit_calls += 1;
                emitted = Some(start..self.emitted.len());
                None
            }
            Function::Mix6 => Some(host::mix6(args)),
        };
        if let Some(value) = result {
            instance.set_reg(Reg::A0, value);
        }
        self.calls += 1;
        Ok(HostCall {
            function,
            args,
            result,
            emitted,
        })
    }
}

/// Lowercase hex of `bytes`, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for function in Function::ALL {
            assert_eq!(Function::from_name(function.name()), Some(function));
        }
        assert_eq!(Function::from_name("host_nope"), None);
    }

    #[test]
    fn not_provided_message_names_the_import() {
        let error = HostError::NotProvided {
            symbol: "host_nope".into(),
            index: 3,
        };
        assert!(error
            .to_string()
            .starts_with("import host_nope (ecalli 3) is not provided by the CLI host"));
        assert!(!error.is_guest_fault());
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x0a, 0xff, 0x00]), "0aff00");
    }
}
