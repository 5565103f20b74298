//! pallet-pvm figures, natively on this machine:
//!
//! 1. **ref_time per gas**: nanoseconds per unit of engine gas on the compute workloads
//!    (the interpreter, naive cost table: one gas per instruction). The slowest workload
//!    sets the pallet's `MEASURED_REF_TIME_PER_GAS` with a safety factor.
//! 2. **A flipper `call` extrinsic end to end** on the mock runtime (dispatch, storage,
//!    syscalls, engine), and the part of it spent inside the engine.
//!
//! ```text
//! cargo run --release -p pvm-benchmarking --bin pallet-bench
//! ```

use pvm_contracts_examples::{COMPUTE_LATEST64, CONTRACTS, FLIPPER, HASHER};
use pvm_core::{Engine, Interrupt, Module, ModuleConfig};
use pvm_host_functions::{Engine as _, EngineSession};
use pvm_runtime_mock::*;
use std::time::{Duration, Instant};

/// Safety factor between the slowest measured ns/gas and the ref_time charged per gas.
const SAFETY_FACTOR: f64 = 2.5;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn ns_per_gas(export: &str, arg: u64) -> (u64, f64) {
    let engine = Engine::new(&Default::default()).unwrap();
    let module = Module::new(&engine, &ModuleConfig::default(), COMPUTE_LATEST64).unwrap();
    let mut samples = Vec::new();
    let mut gas_used = 0;
    for _ in 0..7 {
        let mut instance = module.instantiate().unwrap();
        instance.prepare_call_export(export, &[arg]).unwrap();
        let gas = i64::MAX / 2;
        instance.set_gas(gas);
        let start = Instant::now();
        let interrupt = instance.run().unwrap();
        let elapsed = start.elapsed();
        assert_eq!(interrupt, Interrupt::Finished, "{export}({arg})");
        gas_used = (gas - instance.gas()) as u64;
        samples.push(elapsed.as_nanos() as f64 / gas_used as f64);
    }
    // The minimum: the machine is shared, and contention only ever adds time.
    let best = samples.iter().copied().fold(f64::MAX, f64::min);
    (gas_used, best)
}

fn main() {
    println!("## ref_time per gas (interpreter, naive costs)\n");
    println!("| workload | gas | ns per gas (min of 7) |");
    println!("|---|---:|---:|");
    let mut slowest: f64 = 0.0;
    for (export, arg) in [
        ("sieve", 1_000_000),
        ("hash", 20_000),
        ("fib", 30),
        ("sort", 50_000),
    ] {
        let (gas, ns) = ns_per_gas(export, arg);
        slowest = slowest.max(ns);
        println!("| compute.latest64 {export}({arg}) | {gas} | {ns:.3} |");
    }
    println!(
        "\nslowest {slowest:.3} ns per gas; x{SAFETY_FACTOR} = {:.0} ps of ref_time per gas (pallet: {})\n",
        slowest * SAFETY_FACTOR * 1000.0,
        pallet_pvm::gas::MEASURED_REF_TIME_PER_GAS
    );

    println!("## code loading: compile + instantiate per code byte\n");
    println!("| contract | bytes | compile + instantiate (min of 51) | ns per byte |");
    println!("|---|---:|---:|---:|");
    let mut worst_per_byte: f64 = 0.0;
    for (name, code) in CONTRACTS {
        let mut best = f64::MAX;
        for _ in 0..51 {
            let limits = pallet_pvm::Pallet::<Runtime>::engine_limits();
            let mut session = EngineSession::default();
            let start = Instant::now();
            let module = session.compile(code, None, &limits).unwrap().module;
            session.instantiate(module, &limits).unwrap();
            best = best.min(start.elapsed().as_nanos() as f64);
        }
        let per_byte = best / code.len() as f64;
        worst_per_byte = worst_per_byte.max(per_byte);
        println!(
            "| {name} | {} | {:.1} us | {per_byte:.1} |",
            code.len(),
            best / 1000.0
        );
    }
    println!("\nworst {worst_per_byte:.1} ns per byte\n");

    println!("## one syscall round trip: hasher, BLAKE2b by syscall, per round\n");
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, HASHER).unwrap();
        let hasher = instantiate(&ALICE, code_hash, &[], &[]).unwrap();
        let time = |rounds: u32| {
            let data = [&[1u8][..], &rounds.to_le_bytes(), b"seed"].concat();
            let mut samples = Vec::new();
            for _ in 0..21 {
                let start = Instant::now();
                call(&ALICE, &hasher, &data).unwrap();
                samples.push(start.elapsed().as_nanos() as f64);
            }
            median(samples)
        };
        let (few, many) = (time(1), time(2001));
        println!(
            "(t(2001 rounds) - t(1 round)) / 2000 = {:.0} ns per round: the syscall's round trip, reading 32 bytes, BLAKE2b of 32 bytes, writing 32 bytes, and the guest's loop\n",
            (many - few) / 2000.0
        );
    });

    println!("## flipper `call` extrinsic on the mock runtime\n");
    new_test_ext().execute_with(|| {
        let code_hash = upload(&ALICE, FLIPPER).unwrap();
        let flipper = instantiate(&ALICE, code_hash, &[0], &[]).unwrap();
        let flip = || call_extrinsic(&BOB, &flipper, &[0]).unwrap();
        // What the extrinsic is charged: its weight after dispatch (the call's base weight
        // plus what the contract consumed), as the block pays it.
        let charged = flip()
            .actual_weight
            .expect("a call reports its weight")
            .ref_time() as f64
            / 1e6;
        for _ in 0..200 {
            flip();
        }
        const BATCH: u32 = 200;
        let mut totals = Vec::new();
        let mut engine_shares = Vec::new();
        for _ in 0..25 {
            let start = Instant::now();
            let ((), engine) = measure_engine_time(|| {
                for _ in 0..BATCH {
                    flip();
                }
            });
            let total = start.elapsed();
            totals.push(total.as_nanos() as f64 / BATCH as f64 / 1000.0);
            engine_shares.push(engine.as_secs_f64() / total.as_secs_f64());
        }
        let (total_without_profiling, _) = {
            let mut samples = Vec::new();
            for _ in 0..25 {
                let start = Instant::now();
                for _ in 0..BATCH {
                    flip();
                }
                samples.push(start.elapsed().as_nanos() as f64 / BATCH as f64 / 1000.0);
            }
            (median(samples), Duration::ZERO)
        };
        let total = median(totals);
        let share = median(engine_shares);
        println!("| measure | median of 25 batches of {BATCH} |");
        println!("|---|---:|");
        println!("| end to end per call (no profiling) | {total_without_profiling:.2} us |");
        println!("| end to end per call (profiling engine calls) | {total:.2} us |");
        println!(
            "| of which inside the engine | {:.2} us ({:.0}%) |",
            total * share,
            share * 100.0
        );
        println!(
            "| weight charged per call (`WeightInfo::call(1)` + consumed, ref_time) | {charged:.2} us ({:.1}x the time) |",
            charged / total_without_profiling
        );
        println!("\ngoal: under 50 us end to end");
    });
}
