//! The corpus's documented results are what its code computes natively with the same crates,
//! so a VM that returns them ran the program correctly.

use ed25519_dalek::{Signer, SigningKey};
use pvm_contracts_examples::corpus::CORPUS;
use pvm_corpus_native::{corpus_ed25519, run};

#[test]
fn corpus_results_match_native() {
    for program in CORPUS {
        for call in program.calls() {
            let native = run(program.name, call.export, call.arg)
                .unwrap_or_else(|| panic!("{}: no native {}", program.name, call.export));
            assert_eq!(
                native, call.expected,
                "{} {}({}): native {native:#x}, documented {:#x}",
                program.name, call.export, call.arg, call.expected
            );
        }
    }
}

#[test]
fn ed25519_constants_are_the_seed_key_and_its_signature() {
    let key = SigningKey::from_bytes(&corpus_ed25519::SEED);
    assert_eq!(key.verifying_key().to_bytes(), corpus_ed25519::PUBLIC_KEY);
    assert_eq!(
        key.sign(&corpus_ed25519::message()).to_bytes(),
        corpus_ed25519::SIGNATURE
    );
}

#[test]
fn self_checking_exports_report_success() {
    // A failed verification, round trip or sort check would show as these values.
    assert_eq!(run("ed25519", "verify", 5), Some(3 << 32 | 2));
    for (program, export) in [("miniz", "roundtrip"), ("json", "roundtrip")] {
        for arg in [0, 1, 100, 1000] {
            assert_ne!(
                run(program, export, arg),
                Some(0),
                "{program} {export}({arg})"
            );
        }
    }
    for export in ["sort_unstable", "sort_stable"] {
        for arg in [0, 1, 2, 1000] {
            assert_ne!(
                run("sort", export, arg),
                Some(u64::MAX),
                "sort {export}({arg})"
            );
        }
    }
}
