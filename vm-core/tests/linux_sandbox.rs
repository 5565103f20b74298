//! The Linux process sandbox: workers are locked down, guest faults become the
//! interpreter's interrupts, and a worker that crashes, is killed or hangs fails only its
//! own instance. (Escape attempts: `linux_sandbox_escape.rs`; pooled workers carrying
//! nothing over: `linux_sandbox_reuse.rs`.)
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

use pvm_core::asm::assemble;
use pvm_core::{
    BackendKind, Config, Engine, Error, Instance, Interrupt, Module, ModuleConfig, Reg,
    SandboxConfig, SandboxError, SandboxKind,
};
use std::time::Duration;

fn engine_with(sandbox: SandboxConfig) -> Engine {
    Engine::new(&Config {
        backend: BackendKind::Jit,
        sandbox,
        ..Config::default()
    })
    .unwrap()
}

fn linux() -> Engine {
    engine_with(SandboxConfig::default())
}

const ADDER: &str = ".isa latest64\n.rw_data_size 4096\n.stack_size 4096\n\
    pub @main:\n add_64 a0, a0, a1\n ecalli 3\n jump_indirect ra, 0\n\
    pub @spin:\n@again:\n jump @again\n";

fn adder(engine: &Engine, config: &ModuleConfig) -> Module {
    Module::from_blob(engine, config, assemble(ADDER).unwrap()).unwrap()
}

/// `main(20, 22)`: stops at the host call with 42 in a0, then finishes.
fn call_main(instance: &mut Instance) {
    instance.set_gas(1000);
    instance.prepare_call_export("main", &[20, 22]).unwrap();
    assert_eq!(instance.run().unwrap(), Interrupt::Ecalli(3));
    assert_eq!(instance.reg(Reg::A0), 42);
    instance.set_reg(Reg::A0, 7);
    assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), 7);
}

#[test]
fn the_default_sandbox_is_a_worker_process() {
    let engine = linux();
    assert_eq!(engine.sandbox(), SandboxKind::Linux);
    let module = adder(&engine, &ModuleConfig::default());
    let mut instance = module.instantiate().unwrap();
    let pid = instance.sandbox_worker_pid().expect("runs in a worker");
    assert_ne!(pid, std::process::id());
    call_main(&mut instance);
    // The generic sandbox runs in this process.
    let generic = engine_with(SandboxConfig {
        kind: SandboxKind::Generic,
        ..SandboxConfig::default()
    });
    let mut instance = adder(&generic, &ModuleConfig::default())
        .instantiate()
        .unwrap();
    assert_eq!(instance.sandbox_worker_pid(), None);
    call_main(&mut instance);
}

/// What `/proc` says about a running worker: no capabilities, no new privileges, a
/// seccomp filter, its own namespaces, no descriptors, no file system, low limits.
#[test]
fn workers_are_locked_down() {
    let engine = linux();
    let instance = adder(&engine, &ModuleConfig::default())
        .instantiate()
        .unwrap();
    let pid = instance.sandbox_worker_pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            .to_string()
    };
    for capabilities in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(field(capabilities), "0000000000000000", "{capabilities}");
    }
    assert_eq!(field("NoNewPrivs"), "1");
    assert_eq!(field("Seccomp"), "2", "a seccomp filter");
    // It is pid 1 of its own PID namespace.
    assert_eq!(field("NSpid").split_whitespace().last(), Some("1"));
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    for limit in [
        "Max core file size",
        "Max file size",
        "Max processes",
        "Max open files",
        "Max locked memory",
    ] {
        let line = limits.lines().find(|l| l.starts_with(limit)).unwrap();
        let values: Vec<&str> = line[limit.len()..].split_whitespace().take(2).collect();
        assert_eq!(values, ["0", "0"], "{line}");
    }
    // Reading another process's namespaces, descriptors and root needs privileges over
    // it (the worker is not dumpable): check them where we have them.
    let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        eprintln!("not privileged enough to inspect the worker's namespaces; skipped");
        return;
    };
    assert_eq!(descriptors.count(), 0, "the worker holds no descriptor");
    for namespace in ["user", "pid", "mnt", "net", "ipc", "uts", "cgroup"] {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{namespace}")).unwrap();
        let ours = std::fs::read_link(format!("/proc/self/ns/{namespace}")).unwrap();
        assert_ne!(theirs, ours, "the worker has its own {namespace} namespace");
    }
    let root = std::fs::read_dir(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root.count(), 0, "the worker's root is empty");
}

/// Runs `main` of `source` with `config` on the interpreter and on the JIT in a worker;
/// checks the interrupt, pcs, gas and registers agree and returns the interrupt.
fn on_both(source: &str, config: &ModuleConfig) -> Interrupt {
    let mut results = Vec::new();
    for backend in [BackendKind::Interpreter, BackendKind::Jit] {
        let engine = Engine::new(&Config {
            backend,
            ..Config::default()
        })
        .unwrap();
        let module = Module::from_blob(&engine, config, assemble(source).unwrap()).unwrap();
        let mut instance = module.instantiate().unwrap();
        assert_eq!(
            instance.sandbox_worker_pid().is_some(),
            backend == BackendKind::Jit
        );
        instance.set_gas(100);
        instance.prepare_call_export("main", &[]).unwrap();
        let interrupt = instance.run().unwrap();
        results.push((
            interrupt,
            instance.program_counter(),
            instance.gas(),
            instance.regs(),
        ));
    }
    assert_eq!(results[0], results[1], "{source}");
    results[0].0
}

#[test]
fn guest_faults_trap_and_page_fault_as_on_the_interpreter() {
    let source = ".isa latest64\n.rw_data_size 4096\n.stack_size 4096\n\
        pub @main:\n load_imm a1, 0x12345\n load_u32 a0, 0x0\n jump_indirect ra, 0\n";
    assert_eq!(on_both(source, &ModuleConfig::default()), Interrupt::Trap);
    // A custom layout page-faults, naming the page.
    let config = ModuleConfig {
        memory: pvm_core::MemoryLayout::Custom(vec![pvm_core::memory::PageMapping {
            address: 0x20000,
            length: 0x1000,
            writable: false,
        }]),
        ..ModuleConfig::default()
    };
    let source = ".isa latest64\npub @main:\n load_imm a1, 0x20000\n load_u8 a2, 0x20010\n store_u8 a1, 0x20010\n jump_indirect ra, 0\n";
    assert_eq!(
        on_both(source, &config),
        Interrupt::Segfault(pvm_core::Segfault {
            page_address: 0x20000
        })
    );
    // An access wrapping past the top of the address space.
    let source = ".isa latest64\npub @main:\n load_imm a1, 0xfffffffe\n load_indirect_u32 a0, a1, 0\n jump_indirect ra, 0\n";
    assert!(matches!(on_both(source, &config), Interrupt::Segfault(_)));
}

#[test]
fn a_killed_worker_fails_its_instance_only() {
    let engine = linux();
    let module = adder(&engine, &ModuleConfig::default());
    let mut victim = module.instantiate().unwrap();
    let mut bystander = module.instantiate().unwrap();
    victim.set_gas(1000);
    victim.prepare_call_export("main", &[1, 2]).unwrap();
    assert_eq!(victim.run().unwrap(), Interrupt::Ecalli(3));
    let pid = victim.sandbox_worker_pid().unwrap();
    assert_ne!(Some(pid), bystander.sandbox_worker_pid());
    // SAFETY: sends SIGKILL to our own worker process.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let error = victim.run().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Sandbox(SandboxError::WorkerDied {
                signal: Some(9),
                ..
            })
        ),
        "{error}"
    );
    // The instance cannot run any more, but its memory is still there to read.
    assert!(victim.run().is_err());
    let rw_data = module.memory_map().unwrap().rw_data_address;
    assert_eq!(victim.read_memory(rw_data, 4).unwrap(), [0; 4]);
    call_main(&mut bystander);
    call_main(&mut module.instantiate().unwrap());
}

#[test]
fn a_run_past_the_timeout_fails_and_the_worker_is_killed() {
    let engine = engine_with(SandboxConfig {
        run_timeout: Some(Duration::from_millis(300)),
        ..SandboxConfig::default()
    });
    // Without gas metering the loop never ends by itself.
    let config = ModuleConfig {
        gas_metering: false,
        ..ModuleConfig::default()
    };
    let module = adder(&engine, &config);
    let mut hanging = module.instantiate().unwrap();
    let pid = hanging.sandbox_worker_pid().unwrap();
    hanging.prepare_call_export("spin", &[]).unwrap();
    let error = hanging.run().unwrap_err();
    assert_eq!(
        error,
        Error::Sandbox(SandboxError::Timeout { millis: 300 }),
        "{error}"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the worker is gone"
    );
    call_main(&mut module.instantiate().unwrap());
}

#[test]
fn more_instances_than_the_pool_holds_run_at_once_on_many_threads() {
    let engine = engine_with(SandboxConfig {
        pool_size: 2,
        ..SandboxConfig::default()
    });
    let module = adder(&engine, &ModuleConfig::default());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let module = module.clone();
            scope.spawn(move || {
                let mut instances: Vec<Instance> =
                    (0..3).map(|_| module.instantiate().unwrap()).collect();
                for _ in 0..50 {
                    for instance in &mut instances {
                        call_main(instance);
                    }
                }
            });
        }
    });
}

#[test]
fn sbrk_grows_the_heap_in_the_worker() {
    let source = ".isa latest64\n.rw_data_size 4096\n.stack_size 4096\n\
        pub @main:\n sbrk a2, a0\n add_imm_64 a2, a2, -8\n store_indirect_u64 a1, a2, 0\n load_indirect_u64 a0, a2, 0\n jump_indirect ra, 0\n";
    let module = Module::from_blob(
        &linux(),
        &ModuleConfig::default(),
        assemble(source).unwrap(),
    )
    .unwrap();
    let mut instance = module.instantiate().unwrap();
    for round in 1..=3u64 {
        instance.set_gas(1000);
        // Each call grows the heap by two pages and writes into the last word below the
        // new top.
        instance
            .prepare_call_export("main", &[0x2000, 0xabc0 + round])
            .unwrap();
        assert_eq!(instance.run().unwrap(), Interrupt::Finished);
        assert_eq!(instance.reg(Reg::A0), 0xabc0 + round);
        assert_eq!(instance.heap_size(), 0x2000 * round as u32);
    }
    // The host grows it too, and the guest can use what the host grew.
    let top = instance.sbrk(0x1000).unwrap();
    instance.write_memory(top - 8, &[1; 8]).unwrap();
    assert_eq!(instance.heap_size(), 0x7000);
}

/// An instance wakes ("nudges") its worker when it takes it, before any run, and a
/// module compiles into the code buffer of a dropped module (of another size, with its
/// old bytes past the new code). Neither changes what runs:
/// instances that never run, runs long after the nudge (the worker asleep again), and
/// modules of other sizes one after another on one worker all give their own results.
#[test]
fn nudged_workers_and_reused_code_images_run_correctly() {
    let engine = engine_with(SandboxConfig {
        pool_size: 1,
        ..SandboxConfig::default()
    });
    let config = ModuleConfig::default();
    // `main(a0)`: a0 + `adds`, through `adds` instructions (a few KiB to a few hundred of
    // machine code), then the host call and a return.
    let counter = |adds: usize| {
        let body = " add_imm_64 a0, a0, 1\n".repeat(adds);
        let source = format!(
            ".isa jam_v1\n.stack_size 4096\npub @main:\n{body} ecalli 3\n jump_indirect ra, 0\n"
        );
        Module::from_blob(&engine, &config, assemble(&source).unwrap()).unwrap()
    };
    let run = |module: &Module, pause: Duration| {
        let mut instance = module.instantiate().unwrap();
        // Long enough for a nudged worker to stop spinning and sleep again.
        std::thread::sleep(pause);
        instance.set_gas(1 << 20);
        instance.prepare_call_export("main", &[5]).unwrap();
        assert_eq!(instance.run().unwrap(), Interrupt::Ecalli(3));
        let result = instance.reg(Reg::A0);
        assert_eq!(instance.run().unwrap(), Interrupt::Finished);
        result
    };
    for (round, adds) in [20_000, 10, 5_000, 1, 20_000, 300].into_iter().enumerate() {
        let module = counter(adds);
        // Taken and given back without a run: the worker is nudged, never posted to.
        for _ in 0..3 {
            drop(module.instantiate().unwrap());
        }
        let pause = Duration::from_millis(if round % 2 == 0 { 0 } else { 5 });
        assert_eq!(run(&module, pause), 5 + adds as u64, "{adds} adds");
        assert_eq!(
            run(&module, Duration::ZERO),
            5 + adds as u64,
            "{adds} adds, again"
        );
    }
    // The small modules' images came from larger ones: an adder still adds.
    call_main(&mut adder(&engine, &config).instantiate().unwrap());
}
