//! All 307 JAM PVM v0.4 vectors pass on the interpreter.

use pvm_core::BackendKind;
use pvm_tests::conformance::{default_vectors_dir, run_dir};

#[test]
fn jam_vectors_pass_on_the_interpreter() {
    let dir = default_vectors_dir();
    let report = run_dir(&dir, BackendKind::Interpreter, |_, _| {})
        .expect("the vectors directory is readable");
    let mut message = String::new();
    for (path, explanation) in &report.failures {
        message.push_str(&format!("{}:\n{explanation}", path.display()));
    }
    assert_eq!(
        report.failures.len(),
        0,
        "{} passed, {} failed\n{message}",
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
