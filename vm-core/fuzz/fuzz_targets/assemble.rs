//! Arbitrary UTF-8 as assembler source.
//!
//! Checks: `asm::assemble` never panics; when it succeeds the program round-trips
//! (`to_bytes` then `parse` for container instruction sets, `container_payload` then
//! `from_raw_code` for Graypaper), and `disassemble`, compiling, instantiating and a short
//! checked run never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pvm_core::InstructionSet;
use pvm_core_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(blob) = pvm_core::asm::assemble(source) else {
        return;
    };
    if blob.isa == InstructionSet::Graypaper {
        check_raw_round_trip(blob.isa, &blob.code);
    } else {
        check_container_round_trip(&blob);
    }
    smoke_blob(&blob, data.len() as u64);
});
