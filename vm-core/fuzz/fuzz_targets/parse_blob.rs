//! Arbitrary bytes as a `PVM\0` container and as a raw code blob in each bitmask
//! instruction set.
//!
//! Checks: parsing never panics; a parsed container round-trips (`to_bytes` then `parse`
//! gives an equal blob, and the written bytes are canonical); a parsed raw code blob
//! round-trips through `container_payload`; `disassemble`, `Module::from_blob`,
//! `instantiate` and a short checked run from each export (or pc 0) never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pvm_core::ProgramBlob;
use pvm_core_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let seed = data
        .iter()
        .fold(0u64, |h, &b| h.rotate_left(5) ^ u64::from(b));
    if let Ok(blob) = ProgramBlob::parse(data) {
        check_container_round_trip(&blob);
        smoke_blob(&blob, seed);
    }
    for isa in BITMASK_ISAS {
        if let Ok(blob) = ProgramBlob::from_raw_code(isa, data) {
            check_raw_round_trip(isa, &blob.code);
            smoke_blob(&blob, seed);
        }
    }
});
