//! All 307 JAM PVM v0.4 vectors pass on every backend, and the JIT's in both sandboxes.

use pvm_core::{BackendKind, Config, SandboxConfig, SandboxKind};
use pvm_tests::conformance::{default_vectors_dir, run_dir};

fn all_vectors_pass(backend: BackendKind, sandbox: SandboxKind) {
    let dir = default_vectors_dir();
    let config = Config {
        backend,
        sandbox: SandboxConfig {
            kind: sandbox,
            ..SandboxConfig::default()
        },
        ..Config::default()
    };
    let report = run_dir(&dir, &config, |_, _| {}).expect("the vectors directory is readable");
    let mut message = String::new();
    for (path, explanation) in &report.failures {
        message.push_str(&format!("{}:\n{explanation}", path.display()));
    }
    assert_eq!(
        report.failures.len(),
        0,
        "{} ({} sandbox): {} passed, {} failed\n{message}",
        backend.name(),
        sandbox.name(),
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
    all_vectors_pass(BackendKind::Interpreter, SandboxKind::default());
}

/// The JIT in worker processes (where it runs; elsewhere this checks the fallback)
/// passes the same vectors.
#[test]
fn jam_vectors_pass_on_the_jit_in_the_linux_sandbox() {
    all_vectors_pass(BackendKind::Jit, SandboxKind::Linux);
}

/// The JIT in the host process passes them too.
#[test]
fn jam_vectors_pass_on_the_jit_in_the_generic_sandbox() {
    all_vectors_pass(BackendKind::Jit, SandboxKind::Generic);
}

/// Crosscheck mode (the JIT in a worker) finds no divergence on any vector.
#[test]
fn jam_vectors_pass_in_crosscheck_mode() {
    all_vectors_pass(BackendKind::Crosscheck, SandboxKind::Linux);
}
