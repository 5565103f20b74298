//! Differential fuzzing of pvm-core against polkavm 0.37 with random programs.
//!
//! Each program comes from `pvm_tests::program_gen` (random instructions of every opcode of
//! the instruction set, plus idioms for memory edges, division corner cases, shifts, `sbrk`,
//! `memset`, `ecalli`, loops and dynamic jumps), is assembled by pvm-core's assembler, and the
//! same bytes run on both VMs with a bounded gas budget (so infinite loops end with
//! `NotEnoughGas`, sometimes followed by a gas top-up and resumption). Host calls are answered
//! deterministically (`MixingHost`). After every interrupt the harness compares the interrupt,
//! all registers, the pc, the gas, the heap size and the ro-data, rw-data+heap and stack memory.
//! A second test flips random bytes of the assembled code to reach odd encodings.
//!
//! Environment:
//!
//! * `PVM_DIFF_PROGRAMS` — programs per run, split over the three instruction sets (default
//!   10 000). Locally, run a million with
//!   `PVM_DIFF_PROGRAMS=1000000 cargo test --release -p pvm-tests --test differential_random`.
//! * `PVM_DIFF_SEED` — the seed (default fixed, so failures reproduce).
//! * `PVM_DIFF_FIRST` — index of the first program (with `PVM_DIFF_PROGRAMS=1` this re-runs
//!   exactly the program a failure names).
//! * `PVM_DIFF_MID_BLOCK_TARGETS=0` — branch and jump only to basic-block starts (by default
//!   some labels sit inside basic blocks).
//! * `PVM_DIFF_EXCLUDE=memset,unlikely` — opcodes not to generate, to isolate a divergence.
//!
//! One difference is by design and counted, not reported: polkavm refuses JamV1 code with an
//! invalid instruction when it loads it, pvm-core accepts it and traps when the instruction
//! runs, as the Graypaper specifies.
//!
//! On a divergence the program is shrunk (idioms removed while the same kind of divergence
//! remains) and printed as assembler text with the first difference.

mod common;

use common::{env_u64, pair, polkavm_engine, PairError};
use pvm_core::isa::{InstructionSet, Opcode};
use pvm_tests::differential::{CallEnd, Divergence, Exit, MixingHost};
use pvm_tests::program_gen::{generate, mutate, GenConfig, Program};
use pvm_tests::rng::Rng;
use std::collections::BTreeMap;

const DEFAULT_SEED: u64 = 0x5eed_f00d;
const DEFAULT_PROGRAMS: u64 = 10_000;
/// Interrupts one program may take (ecallis and gas stops).
const MAX_INTERRUPTS: u64 = 64;

/// How one program went.
enum Outcome {
    /// Both VMs agreed all the way; the name of the final interrupt.
    Agreed(&'static str),
    /// Both VMs rejected the program.
    BothRejected,
    /// The VMs disagree: the first difference and the recent steps.
    Diverged(Divergence, String),
}

fn run_bytes(engine: &polkavm::Engine, bytes: &[u8], program: &Program) -> Outcome {
    let mut pair = match pair(engine, bytes) {
        Ok(pair) => pair,
        Err(PairError::BothRejected { .. }) => return Outcome::BothRejected,
        Err(error) => {
            let (what, left, right) = match error {
                PairError::OnlyPvmCoreRejected(e) => {
                    ("acceptance", format!("rejects: {e}"), "accepts".into())
                }
                PairError::OnlyPolkaVmRejected(e) => {
                    ("acceptance", "accepts".into(), format!("rejects: {e}"))
                }
                PairError::Mismatch(e) => ("program reading", e, String::new()),
                PairError::BothRejected { .. } => unreachable!(),
            };
            let divergence = Divergence {
                what: what.into(),
                left,
                right,
            };
            return Outcome::Diverged(divergence, String::new());
        }
    };
    let main = pair.exports.first().map_or(0, |(_, pc)| *pc);
    let vms = &mut pair.vms;
    let mut hosts = (
        MixingHost {
            host_sbrk: true,
            ..MixingHost::default()
        },
        MixingHost {
            host_sbrk: true,
            ..MixingHost::default()
        },
    );
    if let Err(divergence) = vms.prepare_call(main, &program.args, program.gas) {
        return Outcome::Diverged(divergence, vms.recent_log(12));
    }
    let mut refills = program.refills.iter();
    loop {
        let remaining = MAX_INTERRUPTS.saturating_sub(vms.interrupts);
        let end = match vms.run_call(&mut hosts.0, &mut hosts.1, remaining) {
            Ok(end) => end,
            Err(divergence) => return Outcome::Diverged(divergence, vms.recent_log(12)),
        };
        match end {
            CallEnd::Exit(Exit::NotEnoughGas) => match refills.next() {
                Some(refill) => {
                    let gas = vms.a.instance.gas();
                    vms.set_gas(gas + refill);
                }
                None => return Outcome::Agreed("NotEnoughGas"),
            },
            CallEnd::Exit(Exit::Finished) => return Outcome::Agreed("Finished"),
            CallEnd::Exit(Exit::Trap) => return Outcome::Agreed("Trap"),
            CallEnd::Exit(_) => return Outcome::Agreed("other"),
            CallEnd::HostError(_) => return Outcome::Agreed("host error"),
            CallEnd::TooManyInterrupts => return Outcome::Agreed("interrupt budget"),
        }
    }
}

fn assemble(program: &mut Program) -> Vec<u8> {
    program.assemble().unwrap_or_else(|error| {
        panic!("the generator wrote a program the assembler rejects: {error}")
    })
}

fn run_program(engine: &polkavm::Engine, program: &mut Program) -> Outcome {
    let bytes = assemble(program);
    run_bytes(engine, &bytes, program)
}

/// Counts an outcome; returns the divergence and the recent steps if it is a real one.
fn tally(
    outcomes: &mut BTreeMap<&'static str, u64>,
    outcome: Outcome,
    isa: InstructionSet,
) -> Option<(Divergence, String)> {
    let name = match outcome {
        Outcome::Agreed(end) => end,
        Outcome::BothRejected => "rejected by both",
        Outcome::Diverged(divergence, log) => match known(isa, &divergence) {
            Some(name) => name,
            None => return Some((divergence, log)),
        },
    };
    *outcomes.entry(name).or_default() += 1;
    None
}

/// Names the by-design difference a diverging program shows, if it is that one.
fn known(isa: InstructionSet, divergence: &Divergence) -> Option<&'static str> {
    is_jam_v1_validation(isa, divergence).then_some("jam_v1 validation (by design)")
}

/// The kind of a divergence, ignoring values and addresses: shrinking keeps it fixed.
fn kind(divergence: &Divergence) -> String {
    divergence
        .what
        .split(" at ")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Removes idioms while the same kind of divergence remains.
fn shrink(
    engine: &polkavm::Engine,
    program: &Program,
    divergence: &Divergence,
) -> (Program, Divergence, String) {
    let wanted = kind(divergence);
    let mut best = program.clone();
    let mut best_divergence = (divergence.clone(), String::new());
    loop {
        let mut progress = false;
        for group in best.groups() {
            let mut candidate = best.without_group(group);
            if let Outcome::Diverged(d, log) = run_program(engine, &mut candidate) {
                if kind(&d) == wanted {
                    best = candidate;
                    best_divergence = (d, log);
                    progress = true;
                }
            }
        }
        if !progress {
            break;
        }
    }
    if let Outcome::Diverged(d, log) = run_program(engine, &mut best) {
        best_divergence = (d, log);
    }
    (best, best_divergence.0, best_divergence.1)
}

fn report(seed: u64, index: u64, program: &Program, divergence: &Divergence, log: &str) -> String {
    format!(
        "program {index} (PVM_DIFF_SEED={seed:#x} PVM_DIFF_FIRST={index} PVM_DIFF_PROGRAMS=1), {}:\n  {divergence}\n\
         args {:x?}, gas {}, refills {:?}\nsteps:\n{log}source (shrunk):\n{}",
        program.isa,
        program.args,
        program.gas,
        program.refills,
        program.source()
    )
}

/// The generator configuration, with the environment's overrides.
fn generator_config(isa: InstructionSet) -> GenConfig {
    let mut config = GenConfig::new(isa);
    config.mid_block_targets = env_u64("PVM_DIFF_MID_BLOCK_TARGETS", 1) != 0;
    if let Ok(names) = std::env::var("PVM_DIFF_EXCLUDE") {
        config.excluded = names
            .split(',')
            .filter(|name| !name.is_empty())
            .map(|name| {
                Opcode::from_name(name.trim())
                    .unwrap_or_else(|| panic!("PVM_DIFF_EXCLUDE: unknown opcode {name:?}"))
            })
            .collect();
    }
    config
}

/// Runs this test's share of the programs for one instruction set. Programs are numbered
/// across the whole run; program `i` uses instruction set `i % 3`.
fn fuzz(isa_index: u64, isa: InstructionSet) {
    let seed = env_u64("PVM_DIFF_SEED", DEFAULT_SEED);
    let total = env_u64("PVM_DIFF_PROGRAMS", DEFAULT_PROGRAMS);
    let first = env_u64("PVM_DIFF_FIRST", 0);
    let engine = polkavm_engine();
    let config = generator_config(isa);

    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for index in (first..first + total).filter(|i| i % 3 == isa_index) {
        let mut program = generate(&mut Rng::for_item(seed, index), &config);
        let bytes = assemble(&mut program);
        let outcome = run_bytes(&engine, &bytes, &program);
        if let Some((divergence, _)) = tally(&mut outcomes, outcome, isa) {
            let (small, divergence, log) = shrink(&engine, &program, &divergence);
            failures.push(report(seed, index, &small, &divergence, &log));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!("{isa}: {outcomes:?}");
    assert!(
        failures.is_empty(),
        "{} divergence(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if total >= 300 {
        // The generator must keep producing programs that get somewhere.
        let finished = outcomes.get("Finished").copied().unwrap_or(0);
        let ran = outcomes.values().sum::<u64>();
        assert!(
            finished * 10 >= ran,
            "{isa}: only {finished} of {ran} programs finished normally"
        );
    }
}

/// Whether polkavm rejecting a program is its interpreter's documented JamV1 validation (it
/// refuses JamV1 code containing an invalid instruction; pvm-core accepts it and traps when
/// the instruction runs, as the Graypaper specifies).
fn is_jam_v1_validation(isa: InstructionSet, divergence: &Divergence) -> bool {
    isa == InstructionSet::JamV1
        && divergence.what == "acceptance"
        && divergence.right.contains("validation failed")
}

fn fuzz_mutated(isa: InstructionSet) {
    let seed = env_u64("PVM_DIFF_SEED", DEFAULT_SEED) ^ 0x6d75_7461_7465;
    let total = env_u64("PVM_DIFF_PROGRAMS", DEFAULT_PROGRAMS) / 10;
    let first = env_u64("PVM_DIFF_FIRST", 0);
    let engine = polkavm_engine();
    let config = generator_config(isa);
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for index in first..first + total.div_ceil(3) {
        let mut rng = Rng::for_item(seed, index);
        let mut program = generate(&mut rng, &config);
        let bytes = mutate(&mut rng, &program.assemble().expect("assembles"));
        let outcome = run_bytes(&engine, &bytes, &program);
        if let Some((divergence, log)) = tally(&mut outcomes, outcome, isa) {
            let blob = pvm_core::ProgramBlob::parse(&bytes).expect("pvm-core parsed it before");
            failures.push(format!(
                "mutated program {index} ({isa}, seed {seed:#x}):\n  {divergence}\nargs {:x?}, gas {}, refills {:?}\n\
                 steps:\n{log}code {}\nbitmask {}\ndisassembly:\n{}",
                program.args,
                program.gas,
                program.refills,
                pvm_tests::differential::hex(&blob.code.code),
                pvm_tests::differential::hex(&blob.code.bitmask),
                pvm_core::asm::disassemble(&blob)
            ));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!("{isa} (mutated): {outcomes:?}");
    assert!(
        failures.is_empty(),
        "{} divergence(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn mutated_programs_revive_v1() {
    fuzz_mutated(InstructionSet::ReviveV1);
}

#[test]
fn mutated_programs_jam_v1() {
    fuzz_mutated(InstructionSet::JamV1);
}

#[test]
fn mutated_programs_latest64() {
    fuzz_mutated(InstructionSet::Latest64);
}

#[test]
fn random_programs_revive_v1() {
    fuzz(0, InstructionSet::ReviveV1);
}

#[test]
fn random_programs_jam_v1() {
    fuzz(1, InstructionSet::JamV1);
}

#[test]
fn random_programs_latest64() {
    fuzz(2, InstructionSet::Latest64);
}
