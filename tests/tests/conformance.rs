//! All 307 JAM PVM v0.4 vectors pass on every backend.

use pvm_core::BackendKind;
use pvm_tests::conformance::{default_vectors_dir, run_dir};

fn all_vectors_pass(backend: BackendKind) {
    let dir = default_vectors_dir();
    let report = run_dir(&dir, backend, |_, _| {}).expect("the vectors directory is readable");
    let mut message = String::new();
    for (path, explanation) in &report.failures {
        message.push_str(&format!("{}:\n{explanation}", path.display()));
    }
    assert_eq!(
        report.failures.len(),
        0,
        "{}: {} passed, {} failed\n{message}",
        backend.name(),
        report.passed,
        report.failures.len()
    );
    assert_eq!(
        report.passed,
        307,
        "expected all 307 vectors in {}",
        dir.display()
    );
}

#[test]
fn jam_vectors_pass_on_the_interpreter() {
    all_vectors_pass(BackendKind::Interpreter);
}

/// The JIT (where it runs; elsewhere this checks the fallback) passes the same vectors.
#[test]
fn jam_vectors_pass_on_the_jit() {
    all_vectors_pass(BackendKind::Jit);
}

/// Crosscheck mode finds no divergence on any vector.
#[test]
fn jam_vectors_pass_in_crosscheck_mode() {
    all_vectors_pass(BackendKind::Crosscheck);
}
