//! Crosscheck mode: after each run of both backends, name the first difference between
//! the interpreter (the reference) and the JIT.

use super::{interp, Interrupt};
use crate::cast::u64_from_usize;
use crate::interpreter::ExecState;
use crate::module::Module;
use crate::sandbox::JitInstance;
use alloc::format;
use alloc::string::String;
use alloc::vec;

/// Regions larger than this are compared only where the interpreter has backing memory
/// (a 4 GiB custom mapping would otherwise be read whole after every interrupt).
const MAX_COMPARED_REGION: u64 = 64 << 20;

/// The first difference after both backends ran once, or `None`.
pub(super) fn compare(
    module: &Module,
    state: &ExecState,
    (left, left_pc): (Interrupt, u32),
    after_ecalli: bool,
    jit: &JitInstance,
    (right, right_pc): (Interrupt, u32),
) -> Option<String> {
    if left != right {
        return Some(format!(
            "interrupt: interpreter {left:?} at pc {left_pc}, JIT {right:?} at pc {right_pc}"
        ));
    }
    if left_pc != right_pc {
        return Some(format!(
            "pc of {left:?}: interpreter {left_pc}, JIT {right_pc}"
        ));
    }
    let resumable = matches!(left, Interrupt::Ecalli(_) | Interrupt::NotEnoughGas);
    if resumable {
        let left_next = interp::next_pc(module, state, after_ecalli);
        let right_next = jit.next_program_counter();
        if Some(left_next) != right_next {
            return Some(format!(
                "next pc after {left:?}: interpreter {left_next}, JIT {right_next:?}"
            ));
        }
    }
    if state.gas != jit.gas() {
        return Some(format!(
            "gas after {left:?} at pc {left_pc}: interpreter {}, JIT {}",
            state.gas,
            jit.gas()
        ));
    }
    for (index, reg) in crate::isa::Reg::ALL.iter().enumerate() {
        if state.regs[index] != jit.regs()[index] {
            return Some(format!(
                "register {reg} after {left:?} at pc {left_pc}: interpreter {:#x}, JIT {:#x}",
                state.regs[index],
                jit.regs()[index]
            ));
        }
    }
    if state.memory.heap_size() != jit.memory().heap_size() {
        return Some(format!(
            "heap size: interpreter {}, JIT {}",
            state.memory.heap_size(),
            jit.memory().heap_size()
        ));
    }
    for (address, length, _) in jit.memory().regions() {
        let length = length.min(MAX_COMPARED_REGION);
        let size = usize::try_from(length).expect("at most 64 MiB");
        let mut ours = vec![0u8; size];
        let mut theirs = vec![0u8; size];
        if state.memory.read(address, &mut ours).is_err() {
            return Some(format!(
                "memory: {length:#x} bytes at {address:#x} are mapped for the JIT only"
            ));
        }
        if jit.memory().read(address, &mut theirs).is_err() {
            return Some(format!(
                "memory: the JIT cannot read its region at {address:#x}"
            ));
        }
        if let Some(at) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
            return Some(format!(
                "memory at {:#x} after {left:?} at pc {left_pc}: interpreter {:#04x}, JIT {:#04x}",
                u64::from(address) + u64_from_usize(at),
                ours[at],
                theirs[at]
            ));
        }
    }
    None
}
