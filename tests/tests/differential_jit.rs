//! Differential tests of pvm-core's JIT against its interpreter (the reference): every
//! export of every example guest blob, and random (and randomly mutated) programs from
//! `pvm_tests::program_gen`, with the same host answers and gas top-ups. After every
//! interrupt and host call the harness compares the interrupt, all registers, the gas, the
//! program counters, the heap size and the ro-data, rw-data+heap and stack memory; in the
//! messages "pvm-core" is the interpreter and "polkavm" stands for the JIT.
//!
//! The same programs also compare the interpreter as it runs by default, compiling blocks
//! when execution reaches them, with the interpreter compiling the whole code up front
//! (`*_up_front` tests; "polkavm" stands for the up-front one there).
//!
//! Environment (as `differential_random`):
//!
//! * `PVM_DIFF_PROGRAMS` — random programs per run, split over the three instruction sets
//!   (default 10 000; mutated programs are a tenth of that). Locally, a million:
//!   `PVM_DIFF_PROGRAMS=1000000 cargo test --release -p pvm-tests --test differential_jit`.
//! * `PVM_DIFF_SEED`, `PVM_DIFF_FIRST` — seed and first program index, to reproduce.
//! * `PVM_DIFF_NO_GS_BASE` — compile the JIT's code without the `gs` base (the form a
//!   host without `fsgsbase` gets: guest memory through a base register, the gas in
//!   memory), for the random programs and the guest exports.
//! * `PVM_DIFF_SANDBOX` — `linux` (the default: the JIT's code in worker processes) or
//!   `generic` (in this process). The guest exports run in both regardless.
//!
//! Where the JIT cannot run (not x86-64 Linux) both sides interpret and the test is moot.

mod common;

use common::env_u64;
use pvm_core::gas::CostTable;
use pvm_core::isa::{InstructionSet, Opcode};
use pvm_core::{BackendKind, Config, ModuleConfig, Reg, SandboxConfig, SandboxKind};
use pvm_tests::differential::{
    CallEnd, Differential, Divergence, Exit, Host, MixingHost, PvmCoreVm, Vm,
};
use pvm_tests::guest_host::GuestHost;
use pvm_tests::program_gen::{generate, mutate, GenConfig, Program};
use pvm_tests::rng::Rng;
use std::collections::BTreeMap;

const DEFAULT_SEED: u64 = 0x5eed_f00d;
const DEFAULT_PROGRAMS: u64 = 10_000;
const MAX_INTERRUPTS: u64 = 64;

type Pair = Differential<PvmCoreVm, PvmCoreVm>;

/// What the lazily compiling interpreter (the reference) is compared with.
#[derive(Copy, Clone, Debug)]
enum Against {
    /// The JIT, its code in this sandbox.
    Jit(SandboxKind),
    /// The interpreter compiling the whole code when the module is created.
    UpFront,
}

/// The sandbox `PVM_DIFF_SANDBOX` names (the Linux one by default).
fn sandbox_from_env() -> SandboxKind {
    match std::env::var("PVM_DIFF_SANDBOX") {
        Ok(name) => SandboxKind::from_name(&name)
            .unwrap_or_else(|| panic!("PVM_DIFF_SANDBOX={name:?}: linux or generic")),
        Err(_) => SandboxKind::Linux,
    }
}

/// The interpreter and what it is `against` on the same bytes; `None` if pvm-core rejects
/// them (on both alike: parsing and validation are shared).
fn pair_in(bytes: &[u8], against: Against, table: &CostTable) -> Result<Option<Pair>, String> {
    let config = ModuleConfig {
        cost_table: table.clone(),
        ..ModuleConfig::default()
    };
    let interpreter = PvmCoreVm::with_backend(bytes, BackendKind::Interpreter, &config);
    let other = match against {
        Against::Jit(sandbox) => {
            let engine = Config {
                backend: BackendKind::Jit,
                sandbox: SandboxConfig {
                    kind: sandbox,
                    ..SandboxConfig::default()
                },
                ..Config::default()
            };
            PvmCoreVm::with_engine(bytes, &engine, &config)
        }
        Against::UpFront => {
            let config = ModuleConfig {
                lazy_compilation: false,
                ..config.clone()
            };
            PvmCoreVm::with_backend(bytes, BackendKind::Interpreter, &config)
        }
    };
    match (interpreter, other) {
        (Ok(a), Ok(b)) => {
            if BackendKind::jit_supported() && matches!(against, Against::Jit(_)) {
                assert_eq!(b.instance.module().backend(), BackendKind::Jit);
            }
            let layout = a.layout();
            Ok(Some(Differential::new(a, b, layout)))
        }
        (Err(_), Err(_)) => Ok(None),
        (a, b) => Err(format!(
            "acceptance differs: interpreter {:?}, JIT {:?}",
            a.err(),
            b.err()
        )),
    }
}

/// The JIT in the sandbox `PVM_DIFF_SANDBOX` names.
fn jit_from_env() -> Against {
    Against::Jit(sandbox_from_env())
}

/// The cost table program `index` runs with: every table in turn, so both backends are
/// compared charging by each (the measured ones add memory-access surcharges, page and
/// `memset` byte costs). `index % 3` picks the instruction set, so the table turns with
/// `index / 3`: with `index % 3` as well, each instruction set only ever ran with one.
fn table_for(index: u64) -> CostTable {
    let tables = CostTable::all();
    let at = usize::try_from(index / 3 % tables.len() as u64).expect("small");
    tables[at].clone()
}

/// How many times the generator's gas (sized for the naive table, one unit an
/// instruction) a program gets under `table`: the mean cost of an opcode, rounded up.
/// Without it, a measured table's programs nearly all ran out of gas early (a page alone
/// costs thousands), so the code after their first blocks was never compared.
fn gas_scale(table: &CostTable) -> i64 {
    let total: u64 = Opcode::ALL
        .iter()
        .map(|&op| u64::from(table.cost(op)))
        .sum();
    let count = Opcode::ALL.len() as u64;
    i64::try_from(total.div_ceil(count)).expect("small").max(1)
}

/// Runs `main` of a generated program to its end on both; `Err` on a divergence.
fn run_program<H: Host + Default + Clone>(
    bytes: &[u8],
    program: &Program,
    host: H,
    table: &CostTable,
    against: Against,
) -> Result<&'static str, String> {
    let Some(mut vms) = pair_in(bytes, against, table)? else {
        return Ok("rejected");
    };
    let main = vms
        .a
        .instance
        .module()
        .exports()
        .first()
        .map_or(0, |e| e.pc);
    let mut hosts = (host.clone(), host);
    let failed = |d: Divergence, vms: &Pair| format!("{d}\nsteps:\n{}", vms.recent_log(12));
    let scale = gas_scale(table);
    vms.prepare_call(main, &program.args, program.gas * scale)
        .map_err(|d| failed(d, &vms))?;
    let mut refills = program.refills.iter().map(|refill| refill * scale);
    loop {
        let remaining = MAX_INTERRUPTS.saturating_sub(vms.interrupts);
        let end = vms
            .run_call(&mut hosts.0, &mut hosts.1, remaining)
            .map_err(|d| failed(d, &vms))?;
        match end {
            CallEnd::Exit(Exit::NotEnoughGas) => match refills.next() {
                Some(refill) => {
                    let gas = vms.a.instance.gas();
                    vms.set_gas(gas + refill);
                }
                None => return Ok("NotEnoughGas"),
            },
            CallEnd::Exit(Exit::Finished) => return Ok("Finished"),
            CallEnd::Exit(Exit::Trap) => return Ok("Trap"),
            CallEnd::Exit(_) => return Ok("other"),
            CallEnd::HostError(_) => return Ok("host error"),
            CallEnd::TooManyInterrupts => return Ok("interrupt budget"),
        }
    }
}

fn mixing_host() -> MixingHost {
    MixingHost {
        host_sbrk: true,
        ..MixingHost::default()
    }
}

/// With `PVM_DIFF_NO_GS_BASE`, compiles this process's modules in the JIT's other form,
/// the one a host without `fsgsbase` runs: guest memory and the context through a base
/// register, the gas in the context rather than in a register. The generated code
/// differs; the results and the gas may not.
fn memory_form_from_env() {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if std::env::var_os("PVM_DIFF_NO_GS_BASE").is_some() {
        pvm_core::sandbox::generic::disable_segment_base();
    }
}

fn fuzz(isa_index: u64, isa: InstructionSet, mutated: bool, against: Against) {
    memory_form_from_env();
    let seed = env_u64("PVM_DIFF_SEED", DEFAULT_SEED) ^ if mutated { 0x6a69_7400 } else { 0 };
    let mut total = env_u64("PVM_DIFF_PROGRAMS", DEFAULT_PROGRAMS);
    if mutated {
        total /= 10;
    }
    let first = env_u64("PVM_DIFF_FIRST", 0);
    let config = GenConfig::new(isa);
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for index in (first..first + total).filter(|i| i % 3 == isa_index) {
        let mut rng = Rng::for_item(seed, index);
        let mut program = generate(&mut rng, &config);
        let mut bytes = program
            .assemble()
            .unwrap_or_else(|e| panic!("the generator wrote a program the assembler rejects: {e}"));
        if mutated {
            bytes = mutate(&mut rng, &bytes);
        }
        match run_program(&bytes, &program, mixing_host(), &table_for(index), against) {
            Ok(end) => *outcomes.entry(end).or_default() += 1,
            Err(divergence) => {
                failures.push(format!(
                    "{}program {index} ({isa}, PVM_DIFF_SEED={:#x} PVM_DIFF_FIRST={index} PVM_DIFF_PROGRAMS=1): {divergence}\n\
                     args {:x?}, gas {}, refills {:?}\nsource:\n{}",
                    if mutated { "mutated " } else { "" },
                    seed,
                    program.args,
                    program.gas,
                    program.refills,
                    program.source()
                ));
                if failures.len() >= 3 {
                    break;
                }
            }
        }
    }
    println!(
        "{isa}{}: {outcomes:?}",
        if mutated { " (mutated)" } else { "" }
    );
    assert!(
        failures.is_empty(),
        "{} divergence(s) between the interpreter (\"pvm-core\") and {against:?} (\"polkavm\"):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn random_programs_revive_v1() {
    fuzz(0, InstructionSet::ReviveV1, false, jit_from_env());
}

#[test]
fn random_programs_jam_v1() {
    fuzz(1, InstructionSet::JamV1, false, jit_from_env());
}

#[test]
fn random_programs_latest64() {
    fuzz(2, InstructionSet::Latest64, false, jit_from_env());
}

const ISAS: [InstructionSet; 3] = [
    InstructionSet::ReviveV1,
    InstructionSet::JamV1,
    InstructionSet::Latest64,
];

#[test]
fn mutated_programs() {
    for (index, isa) in ISAS.into_iter().enumerate() {
        fuzz(index as u64, isa, true, jit_from_env());
    }
}

#[test]
fn random_programs_up_front() {
    for (index, isa) in ISAS.into_iter().enumerate() {
        fuzz(index as u64, isa, false, Against::UpFront);
    }
}

#[test]
fn mutated_programs_up_front() {
    for (index, isa) in ISAS.into_iter().enumerate() {
        fuzz(index as u64, isa, true, Against::UpFront);
    }
}

fn guest_arguments(export: &str) -> &'static [u64] {
    match export {
        "sieve" => &[0, 1, 2, 100, 20_000],
        "hash" => &[0, 1, 7, 200],
        "fib" => &[0, 1, 2, 10, 20],
        "sort" => &[0, 1, 2, 100, 5_000],
        "run" => &[0, 1, 17, 1_000],
        "fill_output" => &[0, 1, 12_345],
        "vec_work" => &[0, 1, 100, 2_000],
        "grow" => &[0, 1, 64, 300],
        "output_ptr" | "heap_top" | "heap_base" => &[0],
        _ => &[0, 1, 100],
    }
}

/// Every export of every guest blob, with plenty of gas and then with little gas and
/// repeated top-ups (resuming after `NotEnoughGas` in the middle of everything), with the
/// JIT's code in worker processes and in this process.
#[test]
fn every_guest_export_matches_the_interpreter() {
    memory_form_from_env();
    for sandbox in SandboxKind::ALL {
        every_guest_export_matches_the_interpreter_in(Against::Jit(sandbox));
    }
}

/// The same calls on the interpreter compiling up front (with gas running out in the
/// middle of blocks compiled late, and resumed).
#[test]
fn every_guest_export_matches_up_front_compilation() {
    every_guest_export_matches_the_interpreter_in(Against::UpFront);
}

fn every_guest_export_matches_the_interpreter_in(against: Against) {
    let pair = |bytes: &[u8], table: &CostTable| pair_in(bytes, against, table);
    let mut calls = 0;
    for (name, bytes) in pvm_contracts_examples::ALL {
        let exports: Vec<(String, u32)> = pair(bytes, &CostTable::naive())
            .unwrap()
            .expect("guest blobs load")
            .a
            .instance
            .module()
            .exports()
            .iter()
            .map(|e| (e.symbol.clone(), e.pc))
            .collect();
        for (export, pc) in &exports {
            for &argument in guest_arguments(export) {
                for (gas_step, table) in [
                    (1i64 << 40, CostTable::naive()),
                    (977, CostTable::naive()),
                    (977, CostTable::interpreter()),
                    (977, CostTable::jit()),
                ] {
                    calls += 1;
                    let mut vms = pair(bytes, &table).unwrap().unwrap();
                    let imports = vms.a.instance.module().imports().to_vec();
                    let mut hosts = (GuestHost::new(imports.clone()), GuestHost::new(imports));
                    let context = |d: Divergence, vms: &Pair| {
                        format!(
                            "{name} {export}({argument}), gas step {gas_step}, table {}: {d}\nsteps:\n{}",
                            table.name,
                            vms.recent_log(8)
                        )
                    };
                    vms.prepare_call(*pc, &[argument], gas_step)
                        .map_err(|d| context(d, &vms))
                        .unwrap_or_else(|m| panic!("{m}"));
                    let mut interrupts = 0u64;
                    loop {
                        let end = vms
                            .run_call(&mut hosts.0, &mut hosts.1, 1_000_000)
                            .map_err(|d| context(d, &vms))
                            .unwrap_or_else(|m| panic!("{m}"));
                        interrupts += 1;
                        match end {
                            CallEnd::Exit(Exit::NotEnoughGas) if interrupts < 1_000_000 => {
                                let gas = vms.a.gas();
                                vms.set_gas(gas + gas_step);
                            }
                            CallEnd::Exit(Exit::Finished) => break,
                            other => panic!("{name} {export}({argument}): ended with {other:?}"),
                        }
                    }
                    assert_eq!(hosts.0, hosts.1, "{name} {export}({argument}): host state");
                    assert_eq!(vms.a.reg(Reg::A0), vms.b.reg(Reg::A0));
                }
            }
        }
    }
    assert!(calls > 50, "only {calls} calls");
}
