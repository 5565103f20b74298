//! Pooled Linux sandbox workers carry nothing from one instance to the next: memory,
//! heap, page protections, registers and gas all start from the module's initial image
//! again, on the very same worker process, whether its pages were zeroed in place or
//! freed. One test in its own binary, so no other test
//! takes the worker in between.
#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

use pvm_core::asm::assemble;
use pvm_core::{BackendKind, Config, Engine, Interrupt, Module, ModuleConfig, Reg, SandboxConfig};

const SOURCE: &str = ".isa latest64\n.rw_data_size 8192\n.rw_data 11 22 33 44\n\
    .ro_data 01 02 03 04\n.stack_size 4096\n\
    pub @scribble:\n store_indirect_u64 a0, a1, 0\n store_indirect_u64 a0, a2, 0\n\
     sbrk a5, a3\n store_indirect_u64 a0, a4, 0\n jump_indirect ra, 0\n\
    pub @peek:\n load_indirect_u64 a0, a0, 0\n jump_indirect ra, 0\n";

const SECRET: u64 = 0x5ec2_e7c0_ffee_d00d;

/// Runs `peek(address)`: the u64 there, or `None` if the access traps.
fn peek(instance: &mut pvm_core::Instance, address: u32) -> Option<u64> {
    instance.set_gas(100);
    instance
        .prepare_call_export("peek", &[u64::from(address)])
        .unwrap();
    match instance.run().unwrap() {
        Interrupt::Finished => Some(instance.reg(Reg::A0)),
        Interrupt::Trap => None,
        other => panic!("peek({address:#x}): {other:?}"),
    }
}

/// Both ways a worker is wiped: its pages zeroed in place (kept for the next instance),
/// or freed.
#[test]
fn a_reused_worker_starts_from_the_initial_image() {
    for idle_worker_memory in [SandboxConfig::default().idle_worker_memory, 0] {
        reuse(idle_worker_memory);
    }
}

fn reuse(idle_worker_memory: u64) {
    let engine = Engine::new(&Config {
        backend: BackendKind::Jit,
        sandbox: SandboxConfig {
            idle_worker_memory,
            ..SandboxConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let module =
        Module::from_blob(&engine, &ModuleConfig::default(), assemble(SOURCE).unwrap()).unwrap();
    let map = *module.memory_map().unwrap();
    let stack_word = map.stack_address_high - 8;
    // The rw data fills its pages: the heap starts on a page of its own.
    let heap_page = map.rw_data_address + 0x2000;
    assert_eq!(map.heap_base, heap_page);

    // The first instance leaves secrets everywhere it can.
    let mut first = module.instantiate().unwrap();
    let pid = first.sandbox_worker_pid().unwrap();
    assert_eq!(
        peek(&mut first, heap_page),
        None,
        "the heap page is not mapped yet"
    );
    first.set_gas(1000);
    first
        .prepare_call_export(
            "scribble",
            &[
                SECRET,
                u64::from(map.rw_data_address),
                u64::from(stack_word),
                0x1000,
                u64::from(map.heap_base),
            ],
        )
        .unwrap();
    assert_eq!(first.run().unwrap(), Interrupt::Finished);
    // The heap grew past the rw data's pages: the next page is accessible now.
    let top = first.sbrk(0x2000).unwrap();
    assert!(top > heap_page);
    first
        .write_memory(heap_page, &SECRET.to_le_bytes())
        .unwrap();
    assert_eq!(peek(&mut first, heap_page), Some(SECRET));
    // The host writes the read-only data too.
    first
        .write_memory(map.ro_data_address, &SECRET.to_le_bytes())
        .unwrap();
    first.set_reg(Reg::S1, SECRET);
    first.set_gas(12345);
    drop(first);

    // The next instance runs on the same worker and sees none of it.
    let mut second = module.instantiate().unwrap();
    assert_eq!(
        second.sandbox_worker_pid(),
        Some(pid),
        "the worker was reused"
    );
    assert_eq!(second.heap_size(), 0);
    assert_eq!(second.gas(), 0);
    assert_eq!(second.regs(), [0; 13]);
    assert_eq!(
        second.read_memory(map.rw_data_address, 8).unwrap(),
        [0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0]
    );
    assert_eq!(
        second.read_memory(map.ro_data_address, 8).unwrap(),
        [1, 2, 3, 4, 0, 0, 0, 0]
    );
    for (address, bytes, _) in second.memory_regions() {
        assert!(
            !bytes.windows(8).any(|w| w == SECRET.to_le_bytes()),
            "the secret survived at {address:#x}"
        );
    }
    // The guest sees the same: the old heap page is inaccessible again.
    assert_eq!(peek(&mut second, stack_word), Some(0));
    assert_eq!(peek(&mut second, map.rw_data_address), Some(0x4433_2211));
    assert_eq!(peek(&mut second, heap_page), None);
    drop(second);

    // Another module on the same worker: its own image, its own code.
    let other = Module::from_blob(
        &engine,
        &ModuleConfig::default(),
        assemble(".isa latest64\n.stack_size 4096\npub @peek:\n load_indirect_u64 a0, a0, 0\n jump_indirect ra, 0\n").unwrap(),
    )
    .unwrap();
    let mut third = other.instantiate().unwrap();
    assert_eq!(
        third.sandbox_worker_pid(),
        Some(pid),
        "the worker was reused"
    );
    let other_map = *other.memory_map().unwrap();
    assert_eq!(peek(&mut third, other_map.stack_address_high - 8), Some(0));
    // The first module's rw data is not mapped in this layout.
    if other_map.rw_data_address == map.rw_data_address {
        assert_eq!(peek(&mut third, map.rw_data_address), None);
    }
}
