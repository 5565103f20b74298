//! The JIT against the interpreter: the same program (built from the input exactly as the
//! `interpret` target builds it: any instruction set, raw or structured code, standard or
//! custom layouts, random cost tables, chosen start blocks and registers) runs on both
//! backends under the checking driver, and the two traces (every interrupt with its pc,
//! registers, gas and memory) must be identical. A second run in crosscheck mode must
//! report no divergence.
//!
//! Needs an x86-64 Linux host (elsewhere both sides interpret). Run without ASan
//! (`-s none`): the JIT's fault handler and ASan's both want SIGSEGV.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pvm_core::{BackendKind, Module};
use pvm_core_fuzz::*;

fuzz_target!(|input: &[u8]| {
    let Some(case) = case(input) else {
        return;
    };
    let interpreter = Module::from_blob(&engine(), &case.config, case.blob.clone());
    let jit = Module::from_blob(
        &engine_for(BackendKind::Jit),
        &case.config,
        case.blob.clone(),
    );
    let (interpreter, jit) = match (interpreter, jit) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the backends reject the program differently");
            return;
        }
        (a, b) => panic!(
            "acceptance differs: interpreter {:?}, JIT {:?}",
            a.err(),
            b.err()
        ),
    };
    if BackendKind::jit_supported() {
        assert_eq!(jit.backend(), BackendKind::Jit);
    }
    let expected = execute(&interpreter, &case.stream, &case.setup, Schedule::Refill);
    let actual = execute(&jit, &case.stream, &case.setup, Schedule::Refill);
    assert_eq!(expected, actual, "the JIT diverges from the interpreter");

    if let Ok(crosscheck) = Module::from_blob(
        &engine_for(BackendKind::Crosscheck),
        &case.config,
        case.blob,
    ) {
        let checked = execute(&crosscheck, &case.stream, &case.setup, Schedule::Refill);
        assert_eq!(expected, checked, "crosscheck mode changed the outcome");
    }
});
