//! The runtime interface and its extension: a contract run through the
//! `#[runtime_interface]` functions the way pallet-pvm drives them, and every misuse
//! answered with its error code.

use pvm_contracts_examples::FLIPPER;
use pvm_host_functions::{pvm, HostError, Limits, PvmExtension, RunOutcome};
use std::collections::BTreeMap;

fn externalities() -> sp_io::TestExternalities {
    let mut ext = sp_io::TestExternalities::default();
    pvm_host_functions::register_extension(&mut ext);
    ext
}

const GAS: u64 = 10_000_000;

fn read(instance: u32, ptr: u64, len: u64) -> Vec<u8> {
    let mut buffer = vec![0; len as usize];
    pvm::read_memory(instance, ptr as u32, &mut buffer).unwrap();
    buffer
}

/// Serves the flipper's syscalls from `storage` and `input` until the export ends, the way
/// the pallet does: run, serve the syscall with memory reads and writes, resume with the
/// result in `a0`. Returns the output of `return_data`, if any.
fn drive(
    instance: u32,
    export: &str,
    input: &[u8],
    storage: &mut BTreeMap<Vec<u8>, Vec<u8>>,
) -> Option<Vec<u8>> {
    pvm::prepare_call(instance, export.as_bytes()).unwrap();
    let mut a0 = 0;
    loop {
        match pvm::run(instance, GAS, a0).unwrap() {
            RunOutcome::Finished { .. } => return None,
            RunOutcome::Syscall { symbol, args, .. } => {
                a0 = match symbol.as_slice() {
                    b"call_data_size" => input.len() as u64,
                    b"call_data_copy" => {
                        let count = input.len().min(args[1] as usize);
                        pvm::write_memory(instance, args[0] as u32, &input[..count]).unwrap();
                        count as u64
                    }
                    b"get_storage" => {
                        let key = read(instance, args[0], args[1]);
                        match storage.get(&key) {
                            None => u32::MAX.into(),
                            Some(value) => {
                                let count = value.len().min(args[3] as usize);
                                pvm::write_memory(instance, args[2] as u32, &value[..count])
                                    .unwrap();
                                value.len() as u64
                            }
                        }
                    }
                    b"set_storage" => {
                        let key = read(instance, args[0], args[1]);
                        let value = read(instance, args[2], args[3]);
                        storage
                            .insert(key, value)
                            .map_or(u32::MAX.into(), |old| old.len() as u64)
                    }
                    b"return_data" => return Some(read(instance, args[1], args[2])),
                    other => panic!("unexpected syscall {}", String::from_utf8_lossy(other)),
                };
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
}

#[test]
fn a_contract_runs_through_the_runtime_interface() {
    externalities().execute_with(|| {
        let key = [7; 32];
        let compiled = pvm::compile(FLIPPER, Some(key)).unwrap();
        assert!(!compiled.cached);
        assert_eq!(
            pvm::compile(FLIPPER, Some(key)).unwrap(),
            pvm_host_functions::Compiled {
                module: compiled.module,
                cached: true
            }
        );

        let mut storage = BTreeMap::new();
        let instance = pvm::instantiate(compiled.module).unwrap();
        assert_eq!(drive(instance, "deploy", &[1], &mut storage), None);
        pvm::destroy(instance).unwrap();
        assert_eq!(storage.get(&b"flip"[..]), Some(&vec![1]));

        // A fresh instance of the cached module flips and reads back.
        let instance = pvm::instantiate(compiled.module).unwrap();
        drive(instance, "call", &[0], &mut storage);
        assert_eq!(drive(instance, "call", &[1], &mut storage), Some(vec![0]));
        pvm::destroy(instance).unwrap();
    });
}

#[test]
fn misuse_gets_its_error_code() {
    externalities().execute_with(|| {
        assert_eq!(pvm::instantiate(99), Err(HostError::UnknownModule));
        assert_eq!(pvm::run(99, GAS, 0), Err(HostError::UnknownInstance));
        assert_eq!(pvm::destroy(99), Err(HostError::UnknownInstance));
        assert_eq!(
            pvm::compile(b"not a blob", None),
            Err(HostError::InvalidCode)
        );

        let module = pvm::compile(FLIPPER, None).unwrap().module;
        let instance = pvm::instantiate(module).unwrap();
        // Idle: nothing to run, no memory access.
        assert_eq!(pvm::run(instance, GAS, 0), Err(HostError::WrongState));
        assert_eq!(
            pvm::read_memory(instance, 0x10000, &mut [0; 4]),
            Err(HostError::WrongState)
        );
        assert_eq!(
            pvm::prepare_call(instance, b"no_such_export"),
            Err(HostError::UnknownExport)
        );

        pvm::prepare_call(instance, b"deploy").unwrap();
        // Out of bounds: address 0 is never mapped, and a write must not half-happen.
        assert_eq!(
            pvm::read_memory(instance, 0, &mut [0; 4]),
            Err(HostError::OutOfBounds)
        );
        assert_eq!(
            pvm::write_memory(instance, 0xffff_fff0, &[1; 64]),
            Err(HostError::OutOfBounds)
        );
        // Stopped at a syscall: a new call cannot be prepared over it.
        assert!(matches!(
            pvm::run(instance, GAS, 0),
            Ok(RunOutcome::Syscall { .. })
        ));
        assert_eq!(
            pvm::prepare_call(instance, b"call"),
            Err(HostError::WrongState)
        );
        // Too little gas for the next block: out of gas, and the instance is idle again.
        assert_eq!(pvm::run(instance, 0, 0), Ok(RunOutcome::OutOfGas));
        assert_eq!(pvm::run(instance, GAS, 0), Err(HostError::WrongState));
        pvm::destroy(instance).unwrap();
        assert_eq!(pvm::destroy(instance), Err(HostError::UnknownInstance));
    });
}

#[test]
fn the_live_instance_cap_holds() {
    let mut ext = sp_io::TestExternalities::default();
    ext.register_extension(PvmExtension::new(Limits {
        max_instances: 3,
        ..Limits::default()
    }));
    ext.execute_with(|| {
        let module = pvm::compile(FLIPPER, None).unwrap().module;
        let instances: Vec<u32> = (0..3).map(|_| pvm::instantiate(module).unwrap()).collect();
        assert_eq!(instances, vec![0, 1, 2], "ids are deterministic counters");
        assert_eq!(pvm::instantiate(module), Err(HostError::TooManyInstances));
        pvm::destroy(instances[1]).unwrap();
        assert_eq!(pvm::instantiate(module), Ok(3));
        assert_eq!(pvm::instantiate(module), Err(HostError::TooManyInstances));
    });
}

#[test]
fn the_memory_limit_holds() {
    let mut ext = sp_io::TestExternalities::default();
    ext.register_extension(PvmExtension::new(Limits {
        memory_per_instance: 4096,
        ..Limits::default()
    }));
    ext.execute_with(|| {
        let module = pvm::compile(FLIPPER, None).unwrap().module;
        assert_eq!(pvm::instantiate(module), Err(HostError::MemoryLimit));
    });
}

#[test]
fn without_the_extension_every_call_says_so() {
    sp_io::TestExternalities::default().execute_with(|| {
        assert_eq!(
            pvm::compile(FLIPPER, None),
            Err(HostError::ExtensionMissing)
        );
        assert_eq!(pvm::run(0, GAS, 0), Err(HostError::ExtensionMissing));
    });
}
