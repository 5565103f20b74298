//! Exploratory (issue 14): the most frequent adjacent instruction pairs inside basic blocks
//! on the real-code corpus, weighted by how often they execute, to choose the interpreter's
//! superinstructions on code we did not write. Each call's pairs are normalised to its
//! executed instructions, so every call weighs the same.
//!
//! `cargo run --release -p pvm-benchmarking --example corpus_pairs [-- TOP]`
use pvm_contracts_examples::corpus::CORPUS;
use pvm_core::isa::decode_code;
use pvm_core::*;
use std::collections::HashMap;

fn main() {
    let top: usize = std::env::args().nth(1).map_or(40, |s| s.parse().unwrap());
    let engine = Engine::new(&Config::default()).unwrap();
    let mut shares: HashMap<(Opcode, Opcode), f64> = HashMap::new();
    let mut calls = 0.0;
    for program in CORPUS {
        let blob = ProgramBlob::parse(program.latest64.bytes).unwrap();
        let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
        let by_pc: HashMap<u32, (Option<Opcode>, bool)> = stream
            .instructions
            .iter()
            .zip(&stream.block_starts)
            .map(|(d, &starts)| (d.pc, (d.instruction.map(|i| i.opcode), starts)))
            .collect();
        for call in program.exec {
            let config = ModuleConfig {
                step_tracing: true,
                ..ModuleConfig::default()
            };
            let module = Module::new(&engine, &config, program.latest64.bytes).unwrap();
            let mut instance = module.instantiate().unwrap();
            instance
                .prepare_call_export(call.export, &[u64::from(call.arg)])
                .unwrap();
            instance.set_gas(1 << 60);
            let mut pairs: HashMap<(Opcode, Opcode), u64> = HashMap::new();
            let mut previous: Option<Opcode> = None;
            let mut executed = 0u64;
            loop {
                match instance.run().unwrap() {
                    Interrupt::Step => {
                        let pc = instance.program_counter().unwrap();
                        let (opcode, starts_block) = by_pc[&pc];
                        executed += 1;
                        if let (Some(a), Some(b), false) = (previous, opcode, starts_block) {
                            *pairs.entry((a, b)).or_default() += 1;
                        }
                        previous = opcode;
                    }
                    Interrupt::Finished => break,
                    other => panic!("{} {}: {other:?}", program.name, call.export),
                }
            }
            for (pair, n) in pairs {
                *shares.entry(pair).or_default() += n as f64 / executed as f64;
            }
            calls += 1.0;
        }
    }
    let mut sorted: Vec<_> = shares.into_iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("pair (first, second): share of executed instructions, mean over {calls} calls");
    for ((a, b), share) in sorted.into_iter().take(top) {
        println!(
            "{:>6.2}%  {} + {}",
            share / calls * 100.0,
            a.name(),
            b.name()
        );
    }
}
