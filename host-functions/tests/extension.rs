//! The runtime interface and its extension: a contract run through the
//! `#[runtime_interface]` functions the way pallet-pvm drives them, and every misuse
//! answered with its error code.

use pvm_contracts_examples::FLIPPER;
use pvm_host_functions::{pvm, EngineLimits, HostError, NodeLimits, PvmExtension, RunOutcome};
use std::collections::BTreeMap;

fn externalities() -> sp_io::TestExternalities {
    let mut ext = sp_io::TestExternalities::default();
    pvm_host_functions::register_extension(&mut ext);
    ext
}

const GAS: u64 = 10_000_000;

/// The runtime's limits, as pallet-pvm passes them with every compile and instantiate.
const LIMITS: EngineLimits = EngineLimits {
    memory_per_instance: 1 << 20,
    max_instances: 4,
    max_code_len: 256 * 1024,
    cost_table: 1,
};

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
        let compiled = pvm::compile(FLIPPER, Some(key), LIMITS).unwrap();
        assert!(!compiled.cached);
        assert_eq!(
            pvm::compile(FLIPPER, Some(key), LIMITS).unwrap(),
            pvm_host_functions::Compiled {
                module: compiled.module,
                cached: true
            }
        );

        let mut storage = BTreeMap::new();
        let instance = pvm::instantiate(compiled.module, LIMITS).unwrap();
        assert_eq!(drive(instance, "deploy", &[1], &mut storage), None);
        pvm::destroy(instance).unwrap();
        assert_eq!(storage.get(&b"flip"[..]), Some(&vec![1]));

        // A fresh instance of the cached module flips and reads back.
        let instance = pvm::instantiate(compiled.module, LIMITS).unwrap();
        drive(instance, "call", &[0], &mut storage);
        assert_eq!(drive(instance, "call", &[1], &mut storage), Some(vec![0]));
        pvm::destroy(instance).unwrap();
    });
}

#[test]
fn misuse_gets_its_error_code() {
    externalities().execute_with(|| {
        assert_eq!(pvm::instantiate(99, LIMITS), Err(HostError::UnknownModule));
        assert_eq!(pvm::run(99, GAS, 0), Err(HostError::UnknownInstance));
        assert_eq!(pvm::destroy(99), Err(HostError::UnknownInstance));
        assert_eq!(
            pvm::compile(b"not a blob", None, LIMITS),
            Err(HostError::InvalidCode)
        );

        let module = pvm::compile(FLIPPER, None, LIMITS).unwrap().module;
        let instance = pvm::instantiate(module, LIMITS).unwrap();
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
fn the_runtimes_instance_limit_holds() {
    externalities().execute_with(|| {
        let limits = EngineLimits {
            max_instances: 3,
            ..LIMITS
        };
        let module = pvm::compile(FLIPPER, None, limits).unwrap().module;
        let instances: Vec<u32> = (0..3)
            .map(|_| pvm::instantiate(module, limits).unwrap())
            .collect();
        assert_eq!(instances, vec![0, 1, 2], "ids are deterministic counters");
        assert_eq!(
            pvm::instantiate(module, limits),
            Err(HostError::TooManyInstances)
        );
        pvm::destroy(instances[1]).unwrap();
        assert_eq!(pvm::instantiate(module, limits), Ok(3));
        assert_eq!(
            pvm::instantiate(module, limits),
            Err(HostError::TooManyInstances)
        );
    });
}

#[test]
fn the_runtimes_memory_and_code_limits_hold() {
    externalities().execute_with(|| {
        let module = pvm::compile(FLIPPER, None, LIMITS).unwrap().module;
        let small = EngineLimits {
            memory_per_instance: 4096,
            ..LIMITS
        };
        assert_eq!(pvm::instantiate(module, small), Err(HostError::MemoryLimit));
        let tiny_code = EngineLimits {
            max_code_len: 16,
            ..LIMITS
        };
        assert_eq!(
            pvm::compile(FLIPPER, None, tiny_code),
            Err(HostError::CodeTooLarge)
        );
    });
}

/// Deploys the flipper and flips it twice; everything a caller can observe.
fn flipper_transcript() -> Vec<String> {
    let mut transcript = Vec::new();
    let module = pvm::compile(FLIPPER, Some([1; 32]), LIMITS).unwrap().module;
    let mut storage = BTreeMap::new();
    for (export, input) in [("deploy", 1u8), ("call", 0), ("call", 1)] {
        let instance = pvm::instantiate(module, LIMITS).unwrap();
        pvm::prepare_call(instance, export.as_bytes()).unwrap();
        transcript.push(format!("{:?}", pvm::run(instance, GAS, 0)));
        pvm::destroy(instance).unwrap();
        let instance = pvm::instantiate(module, LIMITS).unwrap();
        transcript.push(format!(
            "{:?}",
            drive(instance, export, &[input], &mut storage)
        ));
        pvm::destroy(instance).unwrap();
    }
    transcript.push(format!("{storage:?}"));
    transcript
}

#[test]
fn node_limits_change_no_result_only_whether_the_node_can_run_it() {
    let on_node = |node: NodeLimits| {
        let mut ext = sp_io::TestExternalities::default();
        ext.register_extension(PvmExtension::new(node));
        ext.execute_with(flipper_transcript)
    };
    let exact = NodeLimits {
        max_memory_per_instance: LIMITS.memory_per_instance,
        max_instances: LIMITS.max_instances,
        max_code_len: LIMITS.max_code_len,
        max_modules: 1,
    };
    let generous = NodeLimits {
        max_memory_per_instance: 1 << 30,
        max_instances: 1000,
        max_code_len: 1 << 24,
        max_modules: 1000,
    };
    let reference = on_node(NodeLimits::default());
    assert_eq!(on_node(exact), reference);
    assert_eq!(on_node(generous), reference);

    // A node that allows less than the runtime asks refuses, with a node-side error,
    // instead of giving a different result.
    for stingy in [
        NodeLimits {
            max_memory_per_instance: LIMITS.memory_per_instance - 1,
            ..generous
        },
        NodeLimits {
            max_instances: LIMITS.max_instances - 1,
            ..generous
        },
        NodeLimits {
            max_code_len: LIMITS.max_code_len - 1,
            ..generous
        },
    ] {
        let mut ext = sp_io::TestExternalities::default();
        ext.register_extension(PvmExtension::new(stingy));
        ext.execute_with(|| {
            let error = pvm::compile(FLIPPER, None, LIMITS).unwrap_err();
            assert_eq!(error, HostError::NodeLimit);
            assert!(error.is_node_side());
        });
    }
    // So does one that does not know the runtime's cost table.
    externalities().execute_with(|| {
        let unknown_table = EngineLimits {
            cost_table: 9999,
            ..LIMITS
        };
        assert_eq!(
            pvm::compile(FLIPPER, None, unknown_table),
            Err(HostError::NodeLimit)
        );
    });
}

#[test]
fn without_the_extension_every_call_says_so() {
    sp_io::TestExternalities::default().execute_with(|| {
        assert_eq!(
            pvm::compile(FLIPPER, None, LIMITS),
            Err(HostError::ExtensionMissing)
        );
        assert_eq!(pvm::run(0, GAS, 0), Err(HostError::ExtensionMissing));
    });
}
