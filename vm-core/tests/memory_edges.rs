//! Guest accesses at and around the edges of every region, at the top of the address
//! space, through wrapping address arithmetic, and `sbrk` at its limits, on every backend,
//! checked against an oracle that knows nothing but the layout's byte ranges.
//!
//! CI runs this file on x86-64 and on i686 (a 32-bit `usize`, as in the runtime's wasm32):
//! the oracle is width-independent, so passing on both means identical outcomes on both.
//! The bug that motivated it: on 32 bits a one-byte load just below the stack finished
//! with 0 instead of trapping, and a store there panicked.

use pvm_core::asm::assemble;
use pvm_core::memory::PageMapping;
use pvm_core::{
    BackendKind, Config, Engine, Instance, Interrupt, MemoryLayout, Module, ModuleConfig, Reg,
    Segfault,
};

/// Every load and store width, as exports taking the address in `a0` (and the value to
/// store in `a1`); `sbrk` takes its size in `a0`.
const PROGRAM: &str = "
.isa latest64
.rw_data_size 0x1010
.ro_data 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
.stack_size 0x3000
pub @load_1:
    load_indirect_u8 a0, a0, 0
    jump_indirect ra, 0
pub @load_2:
    load_indirect_u16 a0, a0, 0
    jump_indirect ra, 0
pub @load_4:
    load_indirect_u32 a0, a0, 0
    jump_indirect ra, 0
pub @load_8:
    load_indirect_u64 a0, a0, 0
    jump_indirect ra, 0
pub @store_1:
    store_indirect_u8 a1, a0, 0
    jump_indirect ra, 0
pub @store_2:
    store_indirect_u16 a1, a0, 0
    jump_indirect ra, 0
pub @store_4:
    store_indirect_u32 a1, a0, 0
    jump_indirect ra, 0
pub @store_8:
    store_indirect_u64 a1, a0, 0
    jump_indirect ra, 0
pub @sbrk:
    sbrk a0, a0
    jump_indirect ra, 0
";

const WIDTHS: [u32; 4] = [1, 2, 4, 8];

/// An accessible byte range `start..end` (`end` up to `2^32`).
#[derive(Copy, Clone, Debug)]
struct Range {
    start: u64,
    end: u64,
    writable: bool,
}

/// What the oracle expects of an access.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Expected {
    Ok,
    Trap,
    PageFault(u32),
}

/// The outcome of an access of `width` bytes at `address` over `ranges`, from first
/// principles: every byte must lie in some range (writable, for a store) and below `2^32`;
/// otherwise the first byte that is not is where it fails (a trap in the standard layout
/// and below 0x10000; a page fault on that byte's 4 KiB page otherwise, at `u32::MAX` for
/// a byte past the top).
fn oracle(ranges: &[Range], page_faults: bool, address: u32, width: u32, write: bool) -> Expected {
    if address < 0x10000 {
        return Expected::Trap;
    }
    for byte in u64::from(address)..u64::from(address) + u64::from(width) {
        let ok = byte < 1 << 32
            && ranges
                .iter()
                .any(|r| r.start <= byte && byte < r.end && (r.writable || !write));
        if !ok {
            let at = u32::try_from(byte).unwrap_or(u32::MAX);
            return if page_faults {
                Expected::PageFault(at & !0xfff)
            } else {
                Expected::Trap
            };
        }
    }
    Expected::Ok
}

/// Addresses around every edge of `ranges` and of the address space.
fn probe_addresses(ranges: &[Range]) -> Vec<u32> {
    let mut edges: Vec<u64> = vec![0, 0x1_0000, 0xffff_0000, 1 << 32];
    for range in ranges {
        edges.push(range.start);
        edges.push(range.end);
    }
    let mut addresses: Vec<u32> = edges
        .into_iter()
        .flat_map(|edge| (edge.saturating_sub(9)..=edge + 9).filter_map(|a| u32::try_from(a).ok()))
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

fn engine(backend: BackendKind, memory_limit: u64) -> Engine {
    Engine::new(&Config {
        backend,
        memory_limit,
        ..Config::default()
    })
    .unwrap()
}

fn call(instance: &mut Instance, export: &str, args: &[u64]) -> Interrupt {
    instance.set_gas(1_000);
    instance.prepare_call_export(export, args).unwrap();
    instance.run().unwrap()
}

/// A recognisable byte for each guest address.
fn pattern(address: u64) -> u8 {
    (address.wrapping_mul(31) >> 3) as u8 ^ 0x5a
}

/// Fills every range with the pattern (the host may write read-only memory).
fn fill(instance: &mut Instance, ranges: &[Range]) {
    for range in ranges {
        let bytes: Vec<u8> = (range.start..range.end).map(pattern).collect();
        instance
            .write_memory(u32::try_from(range.start).unwrap(), &bytes)
            .unwrap();
    }
}

/// Checks every load and store width at every probe address against the oracle, with the
/// address given plain and with junk in the register's upper half (addresses are the low
/// 32 bits of `base + offset`).
fn check_accesses(module: &Module, ranges: &[Range], page_faults: bool) {
    let mut instance = module.instantiate().unwrap();
    fill(&mut instance, ranges);
    let expect = |expected: Expected| match expected {
        Expected::Ok => Interrupt::Finished,
        Expected::Trap => Interrupt::Trap,
        Expected::PageFault(page_address) => Interrupt::Segfault(Segfault { page_address }),
    };
    for address in probe_addresses(ranges) {
        for width in WIDTHS {
            for register in [
                u64::from(address),
                u64::from(address) | 0xdead_beef_0000_0000,
            ] {
                let load = oracle(ranges, page_faults, address, width, false);
                let got = call(&mut instance, &format!("load_{width}"), &[register]);
                assert_eq!(
                    got,
                    expect(load),
                    "load_{width} at {address:#x} ({module:?})"
                );
                if load == Expected::Ok {
                    let value = (0..u64::from(width)).fold(0u64, |value, i| {
                        value | u64::from(pattern(u64::from(address) + i)) << (8 * i)
                    });
                    assert_eq!(instance.reg(Reg::A0), value, "load_{width} at {address:#x}");
                }

                let store = oracle(ranges, page_faults, address, width, true);
                let value = 0x0102_0304_0506_0708u64;
                let got = call(&mut instance, &format!("store_{width}"), &[register, value]);
                assert_eq!(
                    got,
                    expect(store),
                    "store_{width} at {address:#x} ({module:?})"
                );
                if store == Expected::Ok {
                    let stored = instance.read_memory(address, width).unwrap();
                    assert_eq!(stored, value.to_le_bytes()[..width as usize].to_vec());
                    // Put the pattern back for the loads that follow.
                    let restore: Vec<u8> = (u64::from(address)
                        ..u64::from(address) + u64::from(width))
                        .map(pattern)
                        .collect();
                    instance.write_memory(address, &restore).unwrap();
                }
            }
        }
    }
}

fn standard_module(backend: BackendKind, memory_limit: u64) -> Module {
    let config = ModuleConfig {
        aux_data_size: 0x2000,
        ..ModuleConfig::default()
    };
    Module::from_blob(
        &engine(backend, memory_limit),
        &config,
        assemble(PROGRAM).unwrap(),
    )
    .unwrap()
}

fn standard_ranges(module: &Module, heap_end: u64) -> Vec<Range> {
    let map = module.memory_map().unwrap();
    let range = |start: u32, size: u32, writable| Range {
        start: u64::from(start),
        end: u64::from(start) + u64::from(size),
        writable,
    };
    vec![
        range(map.ro_data_address, map.ro_data_size, false),
        Range {
            end: heap_end.max(u64::from(map.rw_data_address) + u64::from(map.rw_data_size)),
            ..range(map.rw_data_address, map.rw_data_size, true)
        },
        Range {
            start: u64::from(map.stack_address_low),
            end: u64::from(map.stack_address_high),
            writable: true,
        },
        range(map.aux_data_address, map.aux_data_size, false),
    ]
}

#[test]
fn standard_layout_edges_trap_exactly_outside_each_region() {
    for backend in BackendKind::ALL {
        let module = standard_module(backend, u64::MAX);
        check_accesses(&module, &standard_ranges(&module, 0), false);
    }
}

#[test]
fn heap_edges_move_with_sbrk() {
    for backend in BackendKind::ALL {
        let module = standard_module(backend, u64::MAX);
        let map = *module.memory_map().unwrap();
        let mut instance = module.instantiate().unwrap();
        // The rw data holds 0x1010 bytes in two pages; the heap starts right after them.
        assert_eq!(call(&mut instance, "sbrk", &[0x2ff0]), Interrupt::Finished);
        assert_eq!(
            instance.reg(Reg::A0),
            u64::from(map.heap_base) + 0x2ff0,
            "{backend:?}"
        );
        let heap_end = (u64::from(map.heap_base) + 0x2ff0).div_ceil(0x1000) * 0x1000;
        let ranges = standard_ranges(&module, heap_end);
        // The instance's own heap, probed through its exports.
        let mut probe = instance;
        fill(&mut probe, &ranges);
        for address in probe_addresses(&ranges) {
            for width in WIDTHS {
                let expected = match oracle(&ranges, false, address, width, true) {
                    Expected::Ok => Interrupt::Finished,
                    _ => Interrupt::Trap,
                };
                let got = call(
                    &mut probe,
                    &format!("store_{width}"),
                    &[u64::from(address), 7],
                );
                assert_eq!(got, expected, "{backend:?} store_{width} at {address:#x}");
            }
        }
    }
}

#[test]
fn sbrk_stops_at_the_memory_limit_and_the_heap_maximum() {
    for backend in BackendKind::ALL {
        let unlimited = standard_module(backend, u64::MAX);
        let initial: u64 = standard_ranges(&unlimited, 0)
            .iter()
            .map(|r| r.end - r.start)
            .sum();
        // Room for exactly three more pages.
        let module = standard_module(backend, initial + 0x3000);
        let map = *module.memory_map().unwrap();
        let mut instance = module.instantiate().unwrap();
        let top = |instance: &mut Instance, size: u64| {
            assert_eq!(call(instance, "sbrk", &[size]), Interrupt::Finished);
            instance.reg(Reg::A0)
        };
        // The rw data's last page has 0xff0 bytes of slack: no new page yet.
        assert_eq!(top(&mut instance, 0xff0), u64::from(map.heap_base) + 0xff0);
        assert_eq!(
            top(&mut instance, 0x3000),
            u64::from(map.heap_base) + 0x3ff0
        );
        assert_eq!(
            top(&mut instance, 1),
            0,
            "{backend:?}: a fourth page passes the limit"
        );
        assert_eq!(top(&mut instance, 0), u64::from(map.heap_base) + 0x3ff0);
        assert_eq!(instance.heap_size(), 0x3ff0);
        // A size past the heap's maximum fails without changing anything; one that does not
        // fit 32 bits grows nothing and returns the current top.
        assert_eq!(top(&mut instance, u64::from(u32::MAX)), 0);
        assert_eq!(
            top(&mut instance, 1 << 32),
            u64::from(map.heap_base) + 0x3ff0
        );
        assert_eq!(instance.heap_size(), 0x3ff0);

        let mut unlimited = unlimited.instantiate().unwrap();
        assert_eq!(top(&mut unlimited, u64::from(map.max_heap_size) + 1), 0);
        // The result is a 32-bit address, sign-extended into the register.
        let whole_heap = (map.heap_base + map.max_heap_size) as i32 as u64;
        assert_eq!(
            top(&mut unlimited, u64::from(map.max_heap_size)),
            whole_heap,
            "{backend:?}: the whole heap fits under an unlimited memory limit"
        );
        assert_eq!(top(&mut unlimited, 1), 0);
    }
}

#[test]
fn custom_layout_edges_and_the_top_of_the_address_space() {
    let pages = vec![
        PageMapping {
            address: 0x10000,
            length: 0x2000,
            writable: false,
        },
        // Adjacent and writable: an access may span both.
        PageMapping {
            address: 0x12000,
            length: 0x1000,
            writable: true,
        },
        PageMapping {
            address: 0x8000_0000,
            length: 0x1000,
            writable: true,
        },
        PageMapping {
            address: 0xffff_e000,
            length: 0x2000,
            writable: true,
        },
    ];
    let ranges: Vec<Range> = pages
        .iter()
        .map(|p| Range {
            start: u64::from(p.address),
            end: u64::from(p.address) + u64::from(p.length),
            writable: p.writable,
        })
        .collect();
    let config = ModuleConfig {
        memory: MemoryLayout::Custom(pages),
        ..ModuleConfig::default()
    };
    for backend in BackendKind::ALL {
        let module = Module::from_blob(
            &engine(backend, u64::MAX),
            &config,
            assemble(PROGRAM).unwrap(),
        )
        .unwrap();
        check_accesses(&module, &ranges, true);
    }
}

#[test]
fn host_accesses_name_the_first_unmapped_byte_on_every_width() {
    let module = standard_module(BackendKind::Interpreter, u64::MAX);
    let map = *module.memory_map().unwrap();
    let mut instance = module.instantiate().unwrap();
    let stack_low = map.stack_address_low;
    assert!(instance.read_memory(stack_low - 1, 1).is_err());
    assert!(instance.write_memory(stack_low - 1, &[1]).is_err());
    assert!(instance.read_memory(stack_low, 1).is_ok());
    let end_of_rw = map.rw_data_address + map.rw_data_size;
    match instance.write_memory(end_of_rw - 2, &[1, 2, 3, 4]) {
        Err(pvm_core::Error::MemoryAccess { first_unmapped, .. }) => {
            assert_eq!(first_unmapped, end_of_rw)
        }
        other => panic!("{other:?}"),
    }
    // A range running past the top of the address space.
    assert!(instance.read_memory(u32::MAX, 2).is_err());
    assert!(instance.write_memory(u32::MAX, &[0, 0]).is_err());
}
