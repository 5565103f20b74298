//! Differential tests on the example guests (`pvm_contracts_examples::ALL`): every export with
//! several arguments, sequences of calls on one instance, and gas exhaustion with resumption,
//! each run on pvm-core and on polkavm 0.37's interpreter with identical host functions. After
//! every interrupt and host call the harness compares the interrupt, all registers, the gas,
//! the program counters, the heap size and the ro-data, rw-data+heap and stack memory.

mod common;

use common::{pair, polkavm_engine, Pair};
use pvm_core::Reg;
use pvm_tests::differential::{CallEnd, Differential, Exit, Vm};
use pvm_tests::guest_host::GuestHost;

/// Plenty of gas for any call below.
const GAS: i64 = 1 << 40;
/// Host calls one export call may make.
const MAX_INTERRUPTS: u64 = 100_000;

/// Small and medium arguments per export; sized so the whole file runs in seconds in debug.
fn arguments(export: &str) -> &'static [u64] {
    match export {
        "sieve" => &[0, 1, 2, 3, 100, 5_000],
        "hash" => &[0, 1, 7, 40],
        "fib" => &[0, 1, 2, 10, 17],
        "sort" => &[0, 1, 2, 100, 2_000],
        "run" => &[0, 1, 17, 100],
        "fill_output" => &[0, 1, 12_345],
        "vec_work" => &[0, 1, 100, 1_000],
        "grow" => &[0, 1, 64, 300],
        "output_ptr" | "heap_top" | "heap_base" => &[0],
        _ => &[0, 1, 100],
    }
}

/// Results documented in `contracts-examples/src/lib.rs` (checked on both VMs).
fn documented_result(blob: &str, export: &str, argument: u64) -> Option<u64> {
    match (export, argument) {
        ("fill_output", 12_345) => Some(0xfd28_b1a6),
        ("fib", 10) => Some(55),
        ("fib", 17) => Some(1597),
        ("sieve", 100) => Some(25),
        ("heap_top", _) | ("heap_base", _) if blob.starts_with("alloc.") => Some(0x30010),
        _ => None,
    }
}

fn new_pair(engine: &polkavm::Engine, name: &str, bytes: &[u8]) -> Pair {
    pair(engine, bytes)
        .unwrap_or_else(|error| panic!("{name}: cannot instantiate on both VMs: {error:?}"))
}

fn export_pc(pair: &Pair, export: &str) -> u32 {
    pair.exports
        .iter()
        .find(|(symbol, _)| symbol == export)
        .unwrap_or_else(|| panic!("no export {export}"))
        .1
}

/// Calls `export(argument)` on both VMs of `pair` and checks they agree all the way; returns
/// the result register.
fn call(
    pair: &mut Pair,
    hosts: &mut (GuestHost, GuestHost),
    export: &str,
    argument: u64,
) -> Result<u64, String> {
    let pc = export_pc(pair, export);
    let vms = &mut pair.vms;
    let outcome = vms
        .prepare_call(pc, &[argument], GAS)
        .and_then(|()| vms.run_call(&mut hosts.0, &mut hosts.1, MAX_INTERRUPTS));
    let end =
        outcome.map_err(|divergence| format!("{divergence}\nsteps:\n{}", vms.recent_log(8)))?;
    if end != CallEnd::Exit(Exit::Finished) {
        return Err(format!(
            "ended with {end:?} on both VMs instead of finishing"
        ));
    }
    if hosts.0 != hosts.1 {
        return Err(format!(
            "host state differs: pvm-core emitted {} bytes in {} calls, polkavm {} bytes in {} calls",
            hosts.0.emitted.len(),
            hosts.0.emit_calls,
            hosts.1.emitted.len(),
            hosts.1.emit_calls
        ));
    }
    Ok(pair.vms.a.instance.reg(Reg::A0))
}

fn hosts_for(pair: &Pair) -> (GuestHost, GuestHost) {
    (
        GuestHost::new(pair.imports.clone()),
        GuestHost::new(pair.imports.clone()),
    )
}

#[test]
fn every_export_matches_polkavm_on_fresh_instances() {
    let engine = polkavm_engine();
    let mut failures = Vec::new();
    let mut calls = 0;
    for (name, bytes) in pvm_contracts_examples::ALL {
        let exports = new_pair(&engine, name, bytes).exports;
        assert!(!exports.is_empty(), "{name} has no exports");
        for (export, _) in &exports {
            for &argument in arguments(export) {
                calls += 1;
                let mut pair = new_pair(&engine, name, bytes);
                let mut hosts = hosts_for(&pair);
                match call(&mut pair, &mut hosts, export, argument) {
                    Ok(result) => {
                        if let Some(expected) = documented_result(name, export, argument) {
                            if result != expected {
                                failures.push(format!(
                                    "{name} {export}({argument}) = {result:#x} on both VMs, documented {expected:#x}"
                                ));
                            }
                        }
                    }
                    Err(error) => failures.push(format!("{name} {export}({argument}):\n  {error}")),
                }
            }
        }
    }
    assert!(calls > 50, "only {calls} calls made");
    assert!(
        failures.is_empty(),
        "{} of {calls} calls diverged:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn hostcalls_run_1000_matches_the_documented_result_on_both_vms() {
    let engine = polkavm_engine();
    for (name, bytes) in pvm_contracts_examples::ALL
        .iter()
        .filter(|(name, _)| name.starts_with("hostcalls."))
    {
        let mut pair = new_pair(&engine, name, bytes);
        let mut hosts = hosts_for(&pair);
        let result = call(&mut pair, &mut hosts, "run", 1000)
            .unwrap_or_else(|e| panic!("{name} run(1000): {e}"));
        assert_eq!(result, 0xa51e_6488_9a59_d63d, "{name}");
        assert_eq!(
            (hosts.0.emit_calls, hosts.0.emitted.len()),
            (62, 496),
            "{name}"
        );
    }
}

/// Calls on one instance share memory, the heap and (for polkavm) compiled code: the state
/// left by one call must be identical for the next.
#[test]
fn sequential_calls_on_one_instance_match_polkavm() {
    let engine = polkavm_engine();
    let sequences: &[(&str, &[(&str, u64)])] = &[
        (
            "alloc.",
            &[
                ("heap_top", 0),
                ("grow", 64),
                ("heap_top", 0),
                ("vec_work", 1_000),
                ("grow", 300),
                ("heap_top", 0),
                ("vec_work", 100),
                ("grow", 1),
                ("heap_base", 0),
                ("heap_top", 0),
            ],
        ),
        (
            "hostcalls.",
            &[
                ("run", 50),
                ("fill_output", 7),
                ("output_ptr", 0),
                ("run", 3),
                ("fill_output", 12_345),
            ],
        ),
        (
            "compute.",
            &[
                ("sort", 500),
                ("sieve", 1_000),
                ("sort", 20),
                ("hash", 3),
                ("fib", 12),
                ("sieve", 10),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (name, bytes) in pvm_contracts_examples::ALL {
        let Some((_, sequence)) = sequences
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
        else {
            continue;
        };
        let mut pair = new_pair(&engine, name, bytes);
        let mut hosts = hosts_for(&pair);
        for (step, &(export, argument)) in sequence.iter().enumerate() {
            if let Err(error) = call(&mut pair, &mut hosts, export, argument) {
                failures.push(format!(
                    "{name} step {step} {export}({argument}) of {sequence:?}:\n  {error}"
                ));
                break;
            }
        }
        if name.starts_with("hostcalls.") {
            // The last fill_output emitted its static buffer; read it back from both VMs.
            let pointer = call(&mut pair, &mut hosts, "output_ptr", 0).expect("output_ptr") as u32;
            let ours = pair.vms.a.read_memory(pointer, 256);
            let theirs = pair.vms.b.read_memory(pointer, 256);
            assert_eq!(ours, theirs, "{name}: output buffer");
            assert_eq!(
                ours.as_deref().ok(),
                hosts.0.emitted.get(hosts.0.emitted.len() - 256..),
                "{name}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs `export(argument)` with `budget` gas, expects both VMs to run out at the same place,
/// then feeds `refill` more gas at a time until the call finishes, comparing after every stop.
fn exhaust_and_resume(
    pair: &mut Pair,
    export: &str,
    argument: u64,
    budget: i64,
    refill: i64,
) -> Result<u64, String> {
    let pc = export_pc(pair, export);
    let mut hosts = hosts_for(pair);
    let vms = &mut pair.vms;
    let context =
        |vms: &Differential<_, _>, error: String| format!("{error}\nsteps:\n{}", vms.recent_log(8));
    vms.prepare_call(pc, &[argument], budget)
        .map_err(|d| context(vms, d.to_string()))?;
    let mut stops = 0;
    loop {
        let end = vms
            .run_call(&mut hosts.0, &mut hosts.1, MAX_INTERRUPTS)
            .map_err(|d| context(vms, d.to_string()))?;
        match end {
            CallEnd::Exit(Exit::NotEnoughGas) => {
                stops += 1;
                if stops > 1_000_000 {
                    return Err("never finishes".into());
                }
                let gas = vms.a.instance.gas();
                vms.set_gas(gas + refill);
            }
            CallEnd::Exit(Exit::Finished) if stops > 0 => return Ok(stops),
            CallEnd::Exit(Exit::Finished) => {
                return Err(format!("finished within the initial {budget} gas"))
            }
            other => return Err(format!("ended with {other:?} on both VMs")),
        }
    }
}

#[test]
fn gas_exhaustion_stops_and_resumes_like_polkavm() {
    let engine = polkavm_engine();
    let mut failures = Vec::new();
    let mut stops = 0;
    for (name, bytes) in pvm_contracts_examples::ALL {
        let calls: &[(&str, u64)] = match name.split('.').next() {
            Some("compute") => &[("sort", 300), ("hash", 6), ("fib", 16)],
            Some("hostcalls") => &[("run", 100)],
            Some("alloc") => &[("grow", 40), ("vec_work", 200)],
            _ => &[],
        };
        for &(export, argument) in calls {
            // Run out early, then finish in one go.
            for budget in [0, 1, 10, 1_000, 12_345] {
                let mut pair = new_pair(&engine, name, bytes);
                match exhaust_and_resume(&mut pair, export, argument, budget, GAS) {
                    Ok(n) => stops += n,
                    Err(e) => {
                        failures.push(format!("{name} {export}({argument}) budget {budget}: {e}"))
                    }
                }
            }
            // Drip-feed: stop many times (inside host-call sequences and `memset`s too).
            for refill in [97, 1_000] {
                let mut pair = new_pair(&engine, name, bytes);
                match exhaust_and_resume(&mut pair, export, argument, refill, refill) {
                    Ok(n) => stops += n,
                    Err(e) => failures.push(format!(
                        "{name} {export}({argument}) refills of {refill}: {e}"
                    )),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(stops > 100, "only {stops} out-of-gas stops exercised");
}
