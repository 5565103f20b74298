//! Builds a program from the input and runs it under the checking driver.
//!
//! Input layout (every read past the end gives zeros):
//!
//! ```text
//! byte 0      ISA (bits 0-1: ReviveV1, JamV1, Graypaper, Latest64), program mode (bits
//!             2-3: 0 raw code + bitmask from the input, 1 raw code with every byte an
//!             instruction start, 2 raw code with a bitmask derived from plausible
//!             instruction lengths, 3 structured program through the assembler)
//! byte 1      flags: bit 0 custom page map, bit 1 random cost table, bit 2 step-tracing
//!             differential run, bit 3 start at a chosen block (else the first), bit 4
//!             aux data, bits 5-6 page size, bit 7 override registers
//! 3 bytes     gas (mod 100_001)      2 bytes refill      4 bytes chunk sizes
//! 6 bytes     ro, rw and stack sizes (u16 each, ro/rw capped at 0x3000)
//! 8 + 8       ro data, rw data
//! 1 byte      jump-table entry count (raw modes)   then 2 bytes per entry
//! 2 bytes     start selector          8 bytes cost-table seed
//! [1 byte]    aux data size / 256 (when flagged)
//! 13 bytes    register selectors (+ payload bytes as selected, read later)
//! [pages]     custom page map (when flagged)
//! rest        code (raw modes) or instruction stream (structured mode)
//! ```
//!
//! Checks (beyond "never panics"): see `pvm_core_fuzz::execute`; plus the same run twice
//! gives an identical trace (determinism), and a run with the same total gas handed out
//! in chunks — with step tracing when the budget is small — ends in the same state.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pvm_core::Module;
use pvm_core_fuzz::*;

fuzz_target!(|input: &[u8]| {
    let Some(Case {
        blob,
        mut config,
        map,
        custom,
        stream,
        setup,
        flags,
    }) = case(input)
    else {
        return;
    };
    let gas = setup.gas;
    let refill = setup.refill;
    let engine = engine();
    let Ok(module) = Module::from_blob(&engine, &config, blob.clone()) else {
        return;
    };
    // Standard-layout modules must also accept the layout the harness computed.
    if !custom {
        assert_eq!(
            module.memory_map().copied(),
            map,
            "memory map differs from MemoryMap::new"
        );
    }

    let first = execute(&module, &stream, &setup, Schedule::Refill);
    let second = execute(&module, &stream, &setup, Schedule::Refill);
    assert_eq!(first, second, "two identical runs differ");

    // The same budget in chunks (with step tracing when the budget is small) must end
    // in the same state.
    let step = flags & 4 != 0 && gas + refill <= 20_000;
    config.step_tracing = step;
    let other = if step {
        Module::from_blob(&engine, &config, blob).expect("only step tracing changed")
    } else {
        module
    };
    let chunked = execute(&other, &stream, &setup, Schedule::Chunked);
    if !first.truncated && !chunked.truncated {
        assert_eq!(
            first.final_state(),
            chunked.final_state(),
            "chunked gas{} ended differently",
            if step { " with step tracing" } else { "" }
        );
    }
});
