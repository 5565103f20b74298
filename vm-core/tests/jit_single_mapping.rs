//! The JIT's code regions where memory files are not available: one anonymous mapping per
//! module, made read-execute with `mprotect` and unmapped on drop, against the
//! interpreter. Its own test binary: switching the form off is process-wide.
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

mod common;

use pvm_core::Interrupt;

/// Runs `main(args)` on both backends, with single-mapped code, and checks they agree.
fn both(body: &str, args: &[u64]) -> Interrupt {
    pvm_core::sandbox::generic::disable_dual_mapping();
    common::both(body, args).0
}

#[test]
fn code_in_single_mappings_runs_faults_and_is_unmapped_as_the_interpreter_expects() {
    // Many modules in turn: each region is mapped, flipped and unmapped on drop.
    for n in 0..50u64 {
        let body = "pub @main:\n\
                    add_imm_64 a0, a0, 7\n\
                    mul_64 a1, a0, a0\n\
                    jump_indirect ra, 0\n";
        assert_eq!(both(body, &[n]), Interrupt::Finished);
    }
    // A fault in code from such a mapping is still recognised as the guest's.
    let fault = "pub @main:\n\
                 load_imm a1, 0x10\n\
                 load_indirect_u32 a0, a1, 0\n\
                 jump_indirect ra, 0\n";
    assert_eq!(both(fault, &[]), Interrupt::Trap);
    let trap = "pub @main:\n\
                add_imm_64 a0, a0, 1\n\
                trap\n";
    assert_eq!(both(trap, &[]), Interrupt::Trap);
    // And none of it was a memory file.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains("pvm-jit-code"), "{maps}");
}
