//! The real-code corpus (`pvm_contracts_examples::corpus::CORPUS`) on every engine: each
//! call of each blob returns its documented result (checked against the same code run
//! natively in `pvm-corpus-native`) with the same gas on pvm-core's interpreter, its JIT
//! and polkavm 0.37's interpreter; the cold calls also step for step against polkavm,
//! comparing registers and memory, with enough gas and with too little, and on the JIT
//! against the interpreter with too little gas and then the rest.

mod common;

use common::{pair, polkavm_engine, polkavm_module_config};
use pvm_contracts_examples::corpus::{Blob, Call, CORPUS};
use pvm_core::{BackendKind, Config, Engine, Interrupt, Module, ModuleConfig, Reg};
use pvm_tests::differential::{CallEnd, Exit, Vm};
use pvm_tests::guest_host::GuestHost;

const GAS: i64 = 1 << 40;

/// A fresh instance of `blob` on pvm-core with `backend`, `gas` set.
fn instance(backend: BackendKind, blob: &Blob, gas: i64) -> pvm_core::Instance {
    let engine = Engine::new(&Config {
        backend,
        ..Config::default()
    })
    .expect("engine");
    let module = Module::new(&engine, &ModuleConfig::default(), blob.bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", blob.name));
    let mut instance = module.instantiate().expect("instantiate");
    instance.set_gas(gas);
    instance
}

/// `call` on a fresh instance of pvm-core with `backend`: `(a0, gas used)`.
fn run_pvm(backend: BackendKind, blob: &Blob, call: &Call) -> (u64, i64) {
    let mut instance = instance(backend, blob, GAS);
    instance
        .prepare_call_export(call.export, &[u64::from(call.arg)])
        .unwrap_or_else(|e| panic!("{} {}: {e}", blob.name, call.export));
    match instance.run() {
        Ok(Interrupt::Finished) => {}
        other => panic!(
            "{} {}({}) on {backend:?}: {other:?} at pc {:?}",
            blob.name,
            call.export,
            call.arg,
            instance.program_counter()
        ),
    }
    (instance.reg(Reg::A0), GAS - instance.gas())
}

/// `call` on a fresh instance of polkavm's interpreter: `(a0, gas used)`.
fn run_polkavm(engine: &polkavm::Engine, blob: &Blob, call: &Call) -> (u64, i64) {
    let module = polkavm::Module::new(engine, &polkavm_module_config(), blob.bytes.into())
        .unwrap_or_else(|e| panic!("polkavm {}: {e}", blob.name));
    let pc = module
        .exports()
        .find(|e| e.symbol().as_bytes() == call.export.as_bytes())
        .map(|e| e.program_counter())
        .unwrap_or_else(|| panic!("polkavm {}: no export {}", blob.name, call.export));
    let mut instance = module.instantiate().expect("polkavm instantiate");
    instance.set_gas(GAS);
    instance.prepare_call_untyped(pc, &[u64::from(call.arg)]);
    match instance.run() {
        Ok(polkavm::InterruptKind::Finished) => {}
        other => panic!(
            "polkavm {} {}({}): {other:?}",
            blob.name, call.export, call.arg
        ),
    }
    (instance.reg(polkavm::Reg::A0), GAS - instance.gas())
}

#[test]
fn every_corpus_call_gives_its_result_on_every_engine() {
    let polkavm = polkavm_engine();
    for program in CORPUS {
        for blob in program.blobs() {
            for call in program.calls() {
                let what = format!("{} {}({})", blob.name, call.export, call.arg);
                let (result, gas) = run_pvm(BackendKind::Interpreter, &blob, &call);
                assert_eq!(result, call.expected, "{what}: interpreter result");
                let (jit_result, jit_gas) = run_pvm(BackendKind::Jit, &blob, &call);
                assert_eq!(
                    (jit_result, jit_gas),
                    (result, gas),
                    "{what}: JIT against the interpreter (result, gas)"
                );
                let (their_result, their_gas) = run_polkavm(&polkavm, &blob, &call);
                assert_eq!(
                    (their_result, their_gas),
                    (result, gas),
                    "{what}: polkavm against pvm-core (result, gas)"
                );
            }
        }
    }
}

#[test]
fn corpus_cold_calls_match_polkavm_state_for_state() {
    let engine = polkavm_engine();
    for program in CORPUS {
        for blob in program.blobs() {
            let call = program.cold;
            let args = [u64::from(call.arg)];
            // Enough gas, then half of what the call needs: both stop at the same block.
            let mut gas_used = None;
            for gas in [GAS, 0] {
                let mut pair = pair(&engine, blob.bytes)
                    .unwrap_or_else(|e| panic!("{}: cannot pair: {e:?}", blob.name));
                let pc = pair
                    .exports
                    .iter()
                    .find(|(symbol, _)| symbol == call.export)
                    .map(|(_, pc)| *pc)
                    .expect("export");
                let gas = if gas == 0 {
                    gas_used.expect("first run") / 2
                } else {
                    gas
                };
                let mut hosts = (
                    GuestHost::new(pair.imports.clone()),
                    GuestHost::new(pair.imports.clone()),
                );
                let vms = &mut pair.vms;
                let end = vms
                    .prepare_call(pc, &args, gas)
                    .and_then(|()| vms.run_call(&mut hosts.0, &mut hosts.1, 16))
                    .unwrap_or_else(|d| {
                        panic!(
                            "{} {}({}) with gas {gas}: {d}\n{}",
                            blob.name,
                            call.export,
                            call.arg,
                            vms.recent_log(8)
                        )
                    });
                if gas == GAS {
                    assert_eq!(end, CallEnd::Exit(Exit::Finished), "{}", blob.name);
                    assert_eq!(vms.a.reg(Reg::A0), call.expected, "{}", blob.name);
                    gas_used = Some(GAS - vms.a.gas());
                } else {
                    assert_eq!(end, CallEnd::Exit(Exit::NotEnoughGas), "{}", blob.name);
                }
            }
        }
    }
}

#[test]
fn corpus_cold_calls_run_out_of_gas_and_resume_alike_on_the_jit() {
    for program in CORPUS {
        for blob in program.blobs() {
            let call = program.cold;
            let (_, gas_used) = run_pvm(BackendKind::Interpreter, &blob, &call);
            let mut stops = Vec::new();
            for backend in [BackendKind::Interpreter, BackendKind::Jit] {
                let mut vm = instance(backend, &blob, gas_used / 3);
                vm.prepare_call_export(call.export, &[u64::from(call.arg)])
                    .expect("prepare");
                let first = vm.run().map_err(|e| e.to_string());
                let stop = (first, vm.program_counter(), vm.regs(), vm.gas());
                vm.set_gas(GAS);
                let second = vm.run().map_err(|e| e.to_string());
                assert!(
                    matches!(second, Ok(Interrupt::Finished)),
                    "{} {}: resumed on {backend:?}: {second:?}",
                    blob.name,
                    call.export
                );
                assert_eq!(vm.reg(Reg::A0), call.expected, "{}", blob.name);
                stops.push((stop, vm.gas()));
            }
            assert!(
                matches!(stops[0].0 .0, Ok(Interrupt::NotEnoughGas)),
                "{}: {:?}",
                blob.name,
                stops[0].0 .0
            );
            assert_eq!(stops[0], stops[1], "{}: interpreter against JIT", blob.name);
        }
    }
}
