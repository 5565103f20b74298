//! The JIT's memory accesses without the `gs` segment base (what a host without
//! `fsgsbase` runs: `lea` of the 32-bit address, then `[base + address]`), against the
//! interpreter. Its own test binary: switching the form off is process-wide.
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

mod common;

use pvm_core::Interrupt;

/// Runs `main(args)` on both backends, without the `gs` base, and checks the interrupt,
/// pc, gas, registers and rw-data agree.
fn both(body: &str, args: &[u64]) -> Interrupt {
    pvm_core::sandbox::generic::disable_segment_base();
    let (interrupt, interpreter, jit) = common::both(body, args);
    let (mut a, mut b) = (vec![0u8; 64], vec![0u8; 64]);
    interpreter.read_memory_into(0x30000, &mut a).unwrap();
    jit.read_memory_into(0x30000, &mut b).unwrap();
    assert_eq!(a, b, "{body}");
    interrupt
}

#[test]
fn loads_and_stores_of_every_width_match_the_interpreter() {
    let body = "pub @main:\n\
        load_imm a2, 0x30000\n\
        store_indirect_u64 a0, a2, 0\n\
        store_indirect_u32 a0, a2, 8\n\
        store_indirect_u16 a0, a2, 12\n\
        store_indirect_u8 a0, a2, 14\n\
        store_imm_indirect_u32 a2, 16, 0x89abcdef\n\
        store_imm_u64 0x30018, -2\n\
        store_u16 a0, 0x30020\n\
        load_indirect_i8 a3, a2, 7\n\
        load_indirect_i16 a4, a2, 6\n\
        load_indirect_i32 a5, a2, 4\n\
        load_indirect_u16 t0, a2, 6\n\
        load_u64 t1, 0x30018\n\
        load_i32 t2, 0x30010\n\
        load_u8 s0, 0x10000\n\
        jump_indirect ra, 0\n";
    assert_eq!(both(body, &[0x8182_8384_8586_8788, 0]), Interrupt::Finished);
}

#[test]
fn faults_match_the_interpreter() {
    let cases = [
        "pub @main:\n load_u64 a0, 0x100\n jump_indirect ra, 0\n",
        "pub @main:\n load_u32 a0, 0xfffffff0\n jump_indirect ra, 0\n",
        "pub @main:\n load_imm a1, 0x7ff00000\n load_indirect_u32 a0, a1, 0\n jump_indirect ra, 0\n",
        "pub @main:\n load_imm a1, -4\n store_indirect_u64 a0, a1, 0\n jump_indirect ra, 0\n",
        "pub @main:\n load_imm a1, 0x10000\n store_indirect_u8 a0, a1, 0\n jump_indirect ra, 0\n",
    ];
    for body in cases {
        assert_eq!(both(body, &[0x55]), Interrupt::Trap, "{body}");
    }
}
