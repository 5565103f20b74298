//! The JIT's code regions where memory files are not available: one anonymous mapping per
//! module, made read-execute with `mprotect` and unmapped on drop, against the
//! interpreter. Its own test binary: switching the form off is process-wide.
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

use pvm_core::asm::assemble;
use pvm_core::{BackendKind, Config, Engine, Instance, Interrupt, Module, ModuleConfig};

fn run(backend: BackendKind, source: &str, args: &[u64]) -> (Interrupt, Instance) {
    pvm_core::sandbox::generic::disable_dual_mapping();
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

/// Runs `main(args)` on both backends and checks the interrupt, pc, gas and registers
/// agree.
fn both(body: &str, args: &[u64]) -> Interrupt {
    let source = format!(".isa latest64\n.rw_data_size 4096\n.stack_size 4096\n{body}");
    let (interrupt, interpreter) = run(BackendKind::Interpreter, &source, args);
    let (jit_interrupt, jit) = run(BackendKind::Jit, &source, args);
    assert_eq!(jit_interrupt, interrupt, "{body}");
    assert_eq!(jit.program_counter(), interpreter.program_counter());
    assert_eq!(jit.gas(), interpreter.gas(), "{body}");
    assert_eq!(jit.regs(), interpreter.regs(), "{body}");
    interrupt
}

#[test]
fn code_in_single_mappings_runs_faults_and_is_unmapped_as_the_interpreter_expects() {
    // Many modules in turn: each region is mapped, flipped and unmapped on drop.
    for n in 0..50u64 {
        let body = "pub @main:\n\
                    add_imm_64 a0, a0, 7\n\
                    mul_64 a1, a0, a0\n\
                    jump_indirect ra, 0\n";
        assert_eq!(both(body, &[n]), Interrupt::Finished);
    }
    // A fault in code from such a mapping is still recognised as the guest's.
    let fault = "pub @main:\n\
                 load_imm a1, 0x10\n\
                 load_indirect_u32 a0, a1, 0\n\
                 jump_indirect ra, 0\n";
    assert_eq!(both(fault, &[]), Interrupt::Trap);
    let trap = "pub @main:\n\
                add_imm_64 a0, a0, 1\n\
                trap\n";
    assert_eq!(both(trap, &[]), Interrupt::Trap);
    // And none of it was a memory file.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains("pvm-jit-code"), "{maps}");
}
