//! What the test binaries that switch a process-wide JIT setting share: running one
//! program on a backend, and on both with the results compared.

use pvm_core::asm::assemble;
use pvm_core::{BackendKind, Config, Engine, Instance, Interrupt, Module, ModuleConfig};

/// Assembles `source` and runs `main(args)` on `backend` with 10,000 gas.
pub fn run(backend: BackendKind, source: &str, args: &[u64]) -> (Interrupt, Instance) {
    let blob = assemble(source).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let engine = Engine::new(&Config {
        backend,
        ..Config::default()
    })
    .unwrap();
    let module = Module::from_blob(&engine, &ModuleConfig::default(), blob).unwrap();
    assert_eq!(module.backend(), backend);
    let mut instance = module.instantiate().unwrap();
    instance.set_gas(10_000);
    instance.prepare_call_export("main", args).unwrap();
    (instance.run().unwrap(), instance)
}

/// Runs `main(args)` of a latest64 program with `body` as its code on the interpreter and
/// the JIT, checks the interrupt, pc, gas and registers agree, and returns the interrupt
/// and both instances (interpreter first).
pub fn both(body: &str, args: &[u64]) -> (Interrupt, Instance, Instance) {
    let source =
        format!(".isa latest64\n.rw_data_size 4096\n.ro_data 1 2 3 4\n.stack_size 4096\n{body}");
    let (interrupt, interpreter) = run(BackendKind::Interpreter, &source, args);
    let (jit_interrupt, jit) = run(BackendKind::Jit, &source, args);
    assert_eq!(jit_interrupt, interrupt, "{body}");
    assert_eq!(
        jit.program_counter(),
        interpreter.program_counter(),
        "{body}"
    );
    assert_eq!(jit.gas(), interpreter.gas(), "{body}");
    assert_eq!(jit.regs(), interpreter.regs(), "{body}");
    (interrupt, interpreter, jit)
}
