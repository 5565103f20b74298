//! Where the Linux sandbox cannot run, an engine that asks for it fails with an error that
//! says why, unless its configuration allows the fall-back to the generic sandbox, which
//! then runs the code. Its own test binary: it makes the whole process a host without the
//! sandbox.
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

use pvm_core::asm::assemble;
use pvm_core::{
    BackendKind, Config, Engine, Error, Interrupt, Module, ModuleConfig, Reg, SandboxConfig,
    SandboxError, SandboxKind,
};

fn config(fall_back_to_generic: bool) -> Config {
    Config {
        backend: BackendKind::Jit,
        sandbox: SandboxConfig {
            kind: SandboxKind::Linux,
            fall_back_to_generic,
            ..SandboxConfig::default()
        },
        ..Config::default()
    }
}

#[test]
fn an_unavailable_sandbox_is_an_error_or_the_chosen_fall_back() {
    assert!(pvm_core::sandbox::linux::pretend_unavailable(
        "user namespaces are disabled (a test)"
    ));
    let error = Engine::new(&config(false)).unwrap_err();
    assert!(
        matches!(&error, Error::Sandbox(SandboxError::Unavailable(why)) if why.contains("user namespaces")),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("not available"),
        "the message says what: {error}"
    );

    let engine = Engine::new(&config(true)).unwrap();
    assert_eq!(engine.sandbox(), SandboxKind::Generic);
    let blob = assemble("pub @main:\n add_64 a0, a0, a1\n jump_indirect ra, 0\n").unwrap();
    let module = Module::from_blob(&engine, &ModuleConfig::default(), blob).unwrap();
    assert_eq!(module.backend(), BackendKind::Jit);
    let mut instance = module.instantiate().unwrap();
    assert_eq!(instance.sandbox_worker_pid(), None);
    instance.set_gas(100);
    instance.prepare_call_export("main", &[40, 2]).unwrap();
    assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), 42);

    // The interpreter needs no sandbox.
    let interpreter = Config {
        backend: BackendKind::Interpreter,
        ..config(false)
    };
    assert!(Engine::new(&interpreter).is_ok());
}
