//! The generic sandbox's guest address space: layouts land where the memory map says with
//! the protections the bookkeeping claims (checked against `/proc/self/maps`), host
//! accesses, `sbrk`, `reset` and faults agree with the interpreter's `GuestMemory`, and
//! instances give their reservation back when dropped.
//!
//! No test touches an inaccessible page: there is no signal handler yet.

#![cfg(all(feature = "std", target_os = "linux", target_arch = "x86_64"))]

use pvm_core::interpreter::GuestMemory;
use pvm_core::memory::{Fault, FaultMode, LayoutError, PageMapping};
use pvm_core::program::{MemoryMap, MemoryMapSizes};
use pvm_core::sandbox::{
    AddressSpaceError, GuestAddressSpace, CONTEXT_SIZE, GUEST_ADDRESS_SPACE_SIZE, RESERVATION_SIZE,
    TRAILING_GUARD_SIZE,
};
use pvm_core::{Interrupt, Segfault};
use std::sync::{Mutex, MutexGuard};

/// Tests read process-wide state (`/proc/self/maps`, `VmSize`): one at a time.
static PROCESS_STATE: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    PROCESS_STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const NO_LIMIT: u64 = 1 << 40;

fn map(page_size: u32, ro: u32, rw: u32, stack: u32, aux: u32) -> MemoryMap {
    MemoryMap::new(MemoryMapSizes {
        page_size,
        ro_data_size: ro,
        rw_data_size: rw,
        stack_size: stack,
        aux_data_size: aux,
    })
    .unwrap()
}

fn pattern(length: usize, seed: u8) -> Vec<u8> {
    (0..length)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// The protections of the reservation as `/proc/self/maps` shows them, clipped to it, with
/// neighbouring ranges of equal protection merged: `(start, end, "rw-")`.
fn kernel_view(space: &GuestAddressSpace) -> Vec<(usize, usize, String)> {
    let lo = space.context_ptr() as usize;
    let hi = lo + RESERVATION_SIZE;
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut out = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next().unwrap();
        let perms = fields.next().unwrap();
        let (start, end) = range.split_once('-').unwrap();
        let start = usize::from_str_radix(start, 16).unwrap().max(lo);
        let end = usize::from_str_radix(end, 16).unwrap().min(hi);
        if start < end {
            out.push((start, end, perms[..3].to_string()));
        }
    }
    merge(out)
}

fn merge(ranges: Vec<(usize, usize, String)>) -> Vec<(usize, usize, String)> {
    let mut out: Vec<(usize, usize, String)> = Vec::new();
    for (start, end, perms) in ranges {
        if let Some(last) = out.last_mut() {
            if last.1 == start && last.2 == perms {
                last.1 = end;
                continue;
            }
        }
        out.push((start, end, perms));
    }
    out
}

/// What the bookkeeping says the kernel should show.
fn expected_view(space: &GuestAddressSpace) -> Vec<(usize, usize, String)> {
    let lo = space.context_ptr() as usize;
    let base = space.base() as usize;
    let mut out = vec![(lo, base, "rw-".to_string())];
    let mut at = base;
    for (address, length, writable) in space.regions() {
        let start = base + address as usize;
        if at < start {
            out.push((at, start, "---".to_string()));
        }
        let perms = if writable { "rw-" } else { "r--" };
        out.push((start, start + length as usize, perms.to_string()));
        at = start + length as usize;
    }
    out.push((at, lo + RESERVATION_SIZE, "---".to_string()));
    merge(out)
}

fn assert_kernel_agrees(space: &GuestAddressSpace) {
    assert_eq!(kernel_view(space), expected_view(space));
}

fn vm_size_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn reservation_geometry() {
    let _serial = serial();
    let space = GuestAddressSpace::standard(&map(0x1000, 0, 0, 0, 0), &[], &[], NO_LIMIT).unwrap();
    let context = space.context_ptr() as usize;
    let base = space.base() as usize;
    assert_eq!(base - context, CONTEXT_SIZE);
    assert_eq!(context % 0x1000, 0);
    const { assert!(TRAILING_GUARD_SIZE >= 0x10000) };
    // Every base + a + k (a: u32, k < 16) is inside the reservation, past 2^32 in the guard.
    let last = base + u32::MAX as usize + 15;
    assert!(last < context + RESERVATION_SIZE);
    assert_eq!(
        context + RESERVATION_SIZE - (base + GUEST_ADDRESS_SPACE_SIZE),
        TRAILING_GUARD_SIZE
    );
    assert_eq!(space.guest_ptr(0x1234) as usize, base + 0x1234);
    assert_kernel_agrees(&space);
    // The context is read-write.
    // SAFETY: the context area is CONTEXT_SIZE bytes of read-write memory (checked against
    // the kernel's view just above), owned by `space`, which outlives these accesses.
    unsafe {
        space.context_ptr().write(7);
        space
            .base()
            .sub(8)
            .cast::<u64>()
            .write_unaligned(0x1122_3344_5566_7788);
        assert_eq!(space.context_ptr().read(), 7);
        assert_eq!(
            space.base().sub(8).cast::<u64>().read_unaligned(),
            0x1122_3344_5566_7788
        );
    }
}

#[test]
fn standard_layout_matches_the_memory_map() {
    let _serial = serial();
    for page_size in [0x1000, 0x4000, 0x10000] {
        let m = map(page_size, 5000, 100, 0x9000, 0x1800);
        let ro = pattern(5000, 1);
        let rw = pattern(100, 2);
        let space = GuestAddressSpace::standard(&m, &ro, &rw, NO_LIMIT).unwrap();
        let regions: Vec<_> = space.regions().collect();
        assert_eq!(
            regions,
            vec![
                (m.ro_data_address, u64::from(m.ro_data_size), false),
                (m.rw_data_address, u64::from(m.rw_data_size), true),
                (
                    m.stack_address_low,
                    u64::from(m.stack_address_high - m.stack_address_low),
                    true
                ),
                (m.aux_data_address, u64::from(m.aux_data_size), false),
            ],
            "page size {page_size:#x}"
        );
        assert_eq!(space.fault_mode(), FaultMode::Trap);
        assert_eq!(
            space.accessible_bytes(),
            regions.iter().map(|r| r.1).sum::<u64>()
        );
        assert_kernel_agrees(&space);

        let mut out = vec![0; m.ro_data_size as usize];
        space.read(m.ro_data_address, &mut out).unwrap();
        assert_eq!(&out[..5000], &ro[..]);
        assert!(out[5000..].iter().all(|&b| b == 0));
        let mut out = vec![0; m.rw_data_size as usize];
        space.read(m.rw_data_address, &mut out).unwrap();
        assert_eq!(&out[..100], &rw[..]);
        assert!(out[100..].iter().all(|&b| b == 0));

        // Same answers as the interpreter at and around every boundary.
        let interp = GuestMemory::standard(&m, &ro, &rw, NO_LIMIT).unwrap();
        let mut probes = vec![0, 0xffff, 0x10000, u32::MAX, 0xffff_0000, 0xffff_fff8];
        for (address, length, _) in space.regions() {
            let end = address as u64 + length;
            for p in [address as u64, end - 1, end, end + 1, address as u64 - 1] {
                probes.push(p as u32);
            }
        }
        for p in probes {
            for length in [1u64, 2, 8, 0x1000, 0x20000] {
                assert_eq!(
                    space.check_mapped(p, length),
                    interp.check_mapped(p, length),
                    "check_mapped({p:#x}, {length:#x})"
                );
                let mut a = vec![0; length as usize];
                let mut b = vec![0; length as usize];
                let result = space.read(p, &mut a);
                assert_eq!(result, interp.read(p, &mut b), "read({p:#x})");
                // (On failure the interpreter leaves a partial copy; the sandbox writes nothing.)
                assert!(result.is_err() || a == b, "read({p:#x}) bytes differ");
            }
        }
    }
}

#[test]
fn host_reads_and_writes() {
    let _serial = serial();
    let m = map(0x1000, 0x2000, 0x2000, 0x4000, 0x1000);
    let mut space = GuestAddressSpace::standard(&m, &[9; 16], &[8; 16], NO_LIMIT).unwrap();
    let mut interp = GuestMemory::standard(&m, &[9; 16], &[8; 16], NO_LIMIT).unwrap();
    let data = pattern(0x1800, 5);
    let writes = [
        (m.rw_data_address + 0x100, 0x1800),
        (m.stack_address_high - 0x800, 0x800),
        // Read-only pages: the host may write them.
        (m.ro_data_address + 0xffc, 0x10),
        (m.aux_data_address, 0x1000),
        // Runs off the end of a region: refused, nothing written.
        (m.rw_data_address + 0x1ff0, 0x20),
        (m.stack_address_high - 0x10, 0x20),
        (m.aux_data_address + 0xff0, 0x20),
        (m.ro_data_address - 4, 8),
        (0, 4),
        (u32::MAX, 1),
        (u32::MAX - 3, 8),
    ];
    for (address, length) in writes {
        let bytes = &data[..length];
        assert_eq!(
            space.write(address, bytes),
            interp.write(address, bytes),
            "write({address:#x}, {length:#x})"
        );
    }
    // Compare every accessible byte.
    for (address, length, _) in space.regions().collect::<Vec<_>>() {
        let mut a = vec![0; length as usize];
        let mut b = vec![0; length as usize];
        space.read(address, &mut a).unwrap();
        interp.read(address, &mut b).unwrap();
        assert!(a == b, "region at {address:#x} differs");
    }
    // Empty accesses succeed anywhere, as in the interpreter.
    assert_eq!(space.read(0, &mut []), Ok(()));
    assert_eq!(space.write(0x20, &[]), Ok(()));
    // Host writes to read-only pages leave them read-only.
    assert_kernel_agrees(&space);
}

#[test]
fn inaccessible_memory_is_refused() {
    let _serial = serial();
    let m = map(0x4000, 1, 1, 1, 1);
    let mut space = GuestAddressSpace::standard(&m, &[1], &[2], NO_LIMIT).unwrap();
    let guards = [
        0,
        0xfff0,
        m.ro_data_address + m.ro_data_size,
        m.rw_data_address - 1,
        m.rw_data_address + m.rw_data_size,
        m.stack_address_low - 1,
        m.stack_address_high,
        m.aux_data_address + m.aux_data_size,
        0xffff_0000,
        u32::MAX,
    ];
    for address in guards {
        let mut byte = [0];
        assert_eq!(space.read(address, &mut byte), Err(address));
        assert_eq!(space.write(address, &[1]), Err(address));
        assert_eq!(space.check_mapped(address, 1), Err(address));
    }
    // A range that starts accessible names its first inaccessible byte.
    let end = m.rw_data_address + m.rw_data_size;
    assert_eq!(space.read(end - 2, &mut [0; 4]), Err(end));
    // Wrapping past 2^32 is refused with u32::MAX, as in the interpreter.
    assert_eq!(space.check_mapped(u32::MAX, 2), Err(u32::MAX));
    assert_kernel_agrees(&space);
}

#[test]
fn raw_pointer_access_to_mapped_pages() {
    let _serial = serial();
    let m = map(0x1000, 0x100, 0x100, 0x2000, 0x1000);
    let ro = pattern(0x100, 3);
    let mut space = GuestAddressSpace::standard(&m, &ro, &[], NO_LIMIT).unwrap();
    space.write(m.aux_data_address, &[0xaa; 8]).unwrap();
    let heap_top = space.sbrk(0x3000).unwrap();
    // SAFETY: every address touched lies in a region the bookkeeping and the kernel (checked
    // below) map accessible: reads in ro data, aux data, and writes only in rw data, heap
    // and stack, which are read-write. `space` outlives the accesses.
    unsafe {
        assert_eq!(space.guest_ptr(m.ro_data_address).read(), ro[0]);
        assert_eq!(space.guest_ptr(m.ro_data_address + 0xff).read(), ro[0xff]);
        assert_eq!(
            space
                .guest_ptr(m.aux_data_address)
                .cast::<u64>()
                .read_unaligned(),
            u64::from_le_bytes([0xaa; 8])
        );
        space
            .guest_ptr(m.rw_data_address)
            .cast::<u64>()
            .write_unaligned(0x0102_0304_0506_0708);
        space.guest_ptr(heap_top - 1).write(0x55);
        space
            .guest_ptr(m.stack_address_high - 8)
            .cast::<u64>()
            .write_unaligned(u64::MAX);
        space.guest_ptr(m.stack_address_low).write(0x66);
    }
    let mut out = [0; 8];
    space.read(m.rw_data_address, &mut out).unwrap();
    assert_eq!(u64::from_le_bytes(out), 0x0102_0304_0506_0708);
    space.read(heap_top - 1, &mut out[..1]).unwrap();
    assert_eq!(out[0], 0x55);
    space.read(m.stack_address_high - 8, &mut out).unwrap();
    assert_eq!(out, [0xff; 8]);
    space.read(m.stack_address_low, &mut out[..1]).unwrap();
    assert_eq!(out[0], 0x66);
    assert_kernel_agrees(&space);
}

#[test]
fn sbrk_matches_the_interpreter() {
    let _serial = serial();
    for page_size in [0x1000, 0x2000, 0x4000, 0x10000] {
        for rw in [0, 1, 0x1000, 0x1234] {
            let m = map(page_size, 0, rw, 0x1000, 0);
            let mut space = GuestAddressSpace::standard(&m, &[], &[], NO_LIMIT).unwrap();
            let mut interp = GuestMemory::standard(&m, &[], &[], NO_LIMIT).unwrap();
            let steps = [
                0,
                1,
                0xfff,
                1,
                0x10000,
                3,
                page_size - 1,
                0x123456,
                u32::MAX,
                m.max_heap_size,
                0,
            ];
            for size in steps {
                let expected = interp.sbrk(size);
                assert_eq!(
                    space.sbrk(size),
                    expected,
                    "sbrk({size:#x}), pages {page_size:#x}"
                );
                assert_eq!(space.heap_size(), interp.heap_size());
                // The heap top is accessible, the page past the mapped end is not.
                if let Some(top) = expected {
                    let mapped_end =
                        u64::from(top).div_ceil(u64::from(page_size)) * u64::from(page_size);
                    let mapped_end = mapped_end.max(u64::from(m.rw_data_address + m.rw_data_size));
                    assert_eq!(
                        space.check_mapped(
                            m.rw_data_address,
                            mapped_end - u64::from(m.rw_data_address)
                        ),
                        Ok(())
                    );
                    assert_eq!(
                        space.check_mapped(mapped_end as u32, 1),
                        interp.check_mapped(mapped_end as u32, 1)
                    );
                    assert_eq!(
                        space.check_mapped(mapped_end as u32, 1),
                        Err(mapped_end as u32)
                    );
                }
            }
            // Grow to the maximum exactly.
            let rest = m.max_heap_size - space.heap_size();
            assert_eq!(space.sbrk(rest), interp.sbrk(rest));
            assert_eq!(space.sbrk(0), Some(m.heap_base + m.max_heap_size));
            assert_eq!(space.sbrk(1), None);
            assert_eq!(interp.sbrk(1), None);
            // The heap never reaches into the stack's guard.
            assert_eq!(
                space.check_mapped(m.stack_address_low - 1, 1),
                Err(m.stack_address_low - 1)
            );
            assert_kernel_agrees(&space);
        }
    }
}

#[test]
fn sbrk_stops_at_the_memory_limit() {
    let _serial = serial();
    let m = map(0x1000, 0x1000, 0x800, 0x1000, 0);
    let initial = 3 * 0x1000;
    let limit = initial + 2 * 0x1000;
    let mut space = GuestAddressSpace::standard(&m, &[], &[], limit).unwrap();
    assert_eq!(space.memory_limit(), limit);
    assert_eq!(space.accessible_bytes(), initial);
    // The rw data's page is already counted: growing within it is free.
    assert_eq!(space.sbrk(0x800), Some(m.heap_base + 0x800));
    assert_eq!(space.accessible_bytes(), initial);
    assert_eq!(space.sbrk(0x1000), Some(m.heap_base + 0x1800));
    assert_eq!(space.accessible_bytes(), initial + 0x1000);
    // One page left: 0x1800 more would need two.
    assert_eq!(space.sbrk(0x1800), None);
    assert_eq!(space.heap_size(), 0x1800);
    assert_eq!(space.accessible_bytes(), initial + 0x1000);
    assert_eq!(space.sbrk(0x800), Some(m.heap_base + 0x2000));
    assert_eq!(space.sbrk(0x800), Some(m.heap_base + 0x2800));
    assert_eq!(space.accessible_bytes(), limit);
    assert_eq!(space.sbrk(0x800), None);
    assert_eq!(space.sbrk(0), Some(m.heap_base + 0x2800));
    assert_kernel_agrees(&space);

    // The layout itself is checked as the interpreter checks it.
    let error = GuestAddressSpace::standard(&m, &[], &[], initial - 1).unwrap_err();
    let interp = GuestMemory::standard(&m, &[], &[], initial - 1).unwrap_err();
    match error {
        AddressSpaceError::Layout(error) => assert_eq!(error, interp),
        other => panic!("unexpected {other}"),
    }
    assert!(matches!(
        GuestAddressSpace::standard(&m, &[0; 0x1001], &[], NO_LIMIT),
        Err(AddressSpaceError::Layout(LayoutError::ContentsOutsideMappings {
            length: 0x1001,
            first_unmapped,
            ..
        })) if first_unmapped == m.ro_data_address + 0x1000
    ));
    assert!(matches!(
        GuestAddressSpace::standard(&m, &[], &[0; 0x1001], NO_LIMIT),
        Err(AddressSpaceError::Layout(
            LayoutError::ContentsOutsideMappings { .. }
        ))
    ));
}

#[test]
fn reset_restores_the_initial_image() {
    let _serial = serial();
    let m = map(0x4000, 0x5000, 0x100, 0x8000, 0x2000);
    let ro = pattern(0x4321, 7);
    let rw = pattern(0x100, 9);
    let mut space = GuestAddressSpace::standard(&m, &ro, &rw, NO_LIMIT).unwrap();
    let fresh_view = kernel_view(&space);
    let snapshot = |space: &GuestAddressSpace| {
        space
            .regions()
            .map(|(address, length, _)| {
                let mut bytes = vec![0; length as usize];
                space.read(address, &mut bytes).unwrap();
                (address, bytes)
            })
            .collect::<Vec<_>>()
    };
    let fresh = snapshot(&space);

    for round in 0..3 {
        let top = space.sbrk(0x20000).unwrap();
        space.write(top - 0x10, &[0xee; 0x10]).unwrap();
        space.write(m.rw_data_address, &[0xdd; 0x200]).unwrap();
        space
            .write(m.stack_address_low + 5, &[0xcc; 0x100])
            .unwrap();
        if round != 1 {
            // Read-only regions too, on some rounds.
            space
                .write(m.ro_data_address + 0x10, &[0xbb; 0x20])
                .unwrap();
            space.write(m.aux_data_address, &[0xaa; 0x2000]).unwrap();
        }
        // SAFETY: the stack's last 8 bytes are read-write (a mapped region of the layout).
        unsafe {
            space
                .guest_ptr(m.stack_address_high - 8)
                .cast::<u64>()
                .write_unaligned(u64::MAX)
        };
        space.reset().unwrap();
        assert_eq!(space.heap_size(), 0);
        assert!(snapshot(&space) == fresh, "round {round}: contents differ");
        assert_eq!(space.check_mapped(top - 1, 1), Err(top - 1));
        assert_eq!(kernel_view(&space), fresh_view);
        // After a reset, sbrk behaves as on a fresh instance.
        let mut interp = GuestMemory::standard(&m, &ro, &rw, NO_LIMIT).unwrap();
        assert_eq!(space.sbrk(0x10), interp.sbrk(0x10));
        space.reset().unwrap();
    }
    // The context is the JIT's: reset leaves it alone.
    // SAFETY: the context area is read-write memory owned by `space`.
    unsafe {
        space.context_ptr().write(0x42);
        space.reset().unwrap();
        assert_eq!(space.context_ptr().read(), 0x42);
    }
}

#[test]
fn custom_page_maps() {
    let _serial = serial();
    let pages = [
        PageMapping {
            address: 0x30000,
            length: 0x2000,
            writable: false,
        },
        PageMapping {
            address: 0x10000,
            length: 0x1000,
            writable: true,
        },
        // Adjacent to the previous writable one: merged.
        PageMapping {
            address: 0x11000,
            length: 0x1000,
            writable: true,
        },
        // Adjacent but read-only: a region of its own.
        PageMapping {
            address: 0x12000,
            length: 0x1000,
            writable: false,
        },
        PageMapping {
            address: 0xffff_f000,
            length: 0x1000,
            writable: true,
        },
    ];
    let contents: [(u32, &[u8]); 2] = [(0x30ffe, &[1, 2, 3, 4]), (0x11ffe, &[5, 6, 7, 8])];
    let mut space = GuestAddressSpace::custom(&pages, &contents, NO_LIMIT).unwrap();
    let mut interp = GuestMemory::custom(&pages, NO_LIMIT).unwrap();
    for (address, bytes) in contents {
        interp.write(address, bytes).unwrap();
    }
    assert_eq!(space.fault_mode(), FaultMode::PageFault);
    assert_eq!(
        space.regions().collect::<Vec<_>>(),
        vec![
            (0x10000, 0x2000, true),
            (0x12000, 0x1000, false),
            (0x30000, 0x2000, false),
            (0xffff_f000, 0x1000, true),
        ]
    );
    assert_eq!(space.accessible_bytes(), 0x6000);
    assert_eq!(space.sbrk(0), None);
    assert_kernel_agrees(&space);

    // Host accesses across region boundaries and at the top of the address space.
    let ops: [(u32, usize); 9] = [
        (0x11ff0, 0x20),
        (0x12ff0, 0x20),
        (0x30ffc, 8),
        (0x31ff8, 0x10),
        (0x13000, 1),
        (0xffff_fff8, 8),
        (0xffff_fffc, 8),
        (0x0, 1),
        (0x2ffff, 2),
    ];
    for (address, length) in ops {
        let data = pattern(length, address as u8);
        assert_eq!(
            space.write(address, &data),
            interp.write(address, &data),
            "write {address:#x}"
        );
        let mut a = vec![0; length];
        let mut b = vec![0; length];
        let result = space.read(address, &mut a);
        assert_eq!(result, interp.read(address, &mut b), "read {address:#x}");
        assert!(result.is_err() || a == b, "read {address:#x} bytes differ");
        assert_eq!(
            space.check_mapped(address, length as u64),
            interp.check_mapped(address, length as u64)
        );
    }
    for (address, length, _) in space.regions().collect::<Vec<_>>() {
        let mut a = vec![0; length as usize];
        let mut b = vec![0; length as usize];
        space.read(address, &mut a).unwrap();
        interp.read(address, &mut b).unwrap();
        assert!(a == b, "region at {address:#x} differs");
    }
    // SAFETY: 0x10000..0x12000 and the last page are read-write pages of this map.
    unsafe {
        space.guest_ptr(0x10000).write(0x77);
        space.guest_ptr(u32::MAX).write(0x78);
    }
    let mut byte = [0];
    space.read(u32::MAX, &mut byte).unwrap();
    assert_eq!(byte, [0x78]);
    assert_kernel_agrees(&space);

    // Reset: zeros, plus the contents given at construction.
    space.reset().unwrap();
    let mut out = [0; 4];
    space.read(0x30ffe, &mut out).unwrap();
    assert_eq!(out, [1, 2, 3, 4]);
    space.read(0x11ffe, &mut out).unwrap();
    assert_eq!(out, [5, 6, 7, 8]);
    space.read(0x10000, &mut out).unwrap();
    assert_eq!(out, [0; 4]);
    space.read(0x12ff0, &mut out).unwrap();
    assert_eq!(out, [0; 4]);
    assert_kernel_agrees(&space);
}

#[test]
fn custom_page_maps_are_validated() {
    let _serial = serial();
    let page = |address, length, writable| PageMapping {
        address,
        length,
        writable,
    };
    let cases: Vec<(Vec<PageMapping>, &str)> = vec![
        (vec![page(0x10800, 0x1000, true)], "unaligned"),
        (vec![page(0x10000, 0x1800, true)], "unaligned"),
        (vec![page(0xf000, 0x1000, true)], "range"),
        (vec![page(0xffff_f000, 0x2000, true)], "range"),
        (
            vec![page(0x10000, 0x2000, true), page(0x11000, 0x1000, false)],
            "overlap",
        ),
    ];
    for (pages, kind) in cases {
        let error = GuestAddressSpace::custom(&pages, &[], NO_LIMIT).unwrap_err();
        let reason = match &error {
            AddressSpaceError::Layout(LayoutError::InvalidPageMapping { reason, .. }) => *reason,
            _ => "",
        };
        let ok = match kind {
            "unaligned" => reason == "not aligned to 4 KiB pages",
            "range" => reason.starts_with("below") || reason.starts_with("runs past"),
            _ => matches!(
                error,
                AddressSpaceError::Layout(LayoutError::InvalidPageMapping {
                    address: 0x11000,
                    reason: "overlaps another mapping",
                    ..
                })
            ),
        };
        assert!(ok, "{pages:?}: {error}");
    }
    let pages = [page(0x10000, 0x2000, true), page(0x20000, 0x1000, false)];
    assert!(matches!(
        GuestAddressSpace::custom(&pages, &[], 0x2fff),
        Err(AddressSpaceError::Layout(
            LayoutError::MemoryLimitExceeded {
                required: 0x3000,
                limit: 0x2fff
            }
        ))
    ));
    assert!(GuestAddressSpace::custom(&pages, &[], 0x3000).is_ok());
    assert!(matches!(
        GuestAddressSpace::custom(&pages, &[(0x11ffe, &[0; 4])], NO_LIMIT),
        Err(AddressSpaceError::Layout(
            LayoutError::ContentsOutsideMappings {
                first_unmapped: 0x12000,
                ..
            }
        ))
    ));
}

#[test]
fn faults_are_reported_as_the_interpreter_reports_them() {
    let _serial = serial();
    let standard =
        GuestAddressSpace::standard(&map(0x1000, 1, 1, 1, 1), &[], &[], NO_LIMIT).unwrap();
    let custom = GuestAddressSpace::custom(
        &[PageMapping {
            address: 0x20000,
            length: 0x1000,
            writable: false,
        }],
        &[],
        NO_LIMIT,
    )
    .unwrap();
    for address in [0, 0xffff, 0x10000, 0x20000, 0x20fff, 0xdead_beef, u32::MAX] {
        assert_eq!(standard.fault_kind(address), Fault::Trap);
        let expected = if address < 0x10000 {
            Fault::Trap
        } else {
            Fault::PageFault(address & !0xfff)
        };
        assert_eq!(custom.fault_kind(address), expected);
    }
    assert_eq!(Interrupt::from(Fault::Trap), Interrupt::Trap);
    assert_eq!(
        Interrupt::from(Fault::PageFault(0x20000)),
        Interrupt::Segfault(Segfault {
            page_address: 0x20000
        })
    );

    // From host addresses, as a signal handler sees them.
    let base = custom.base() as usize;
    let context = custom.context_ptr() as usize;
    assert_eq!(custom.fault_for_host_address(context), None);
    assert_eq!(custom.fault_for_host_address(base - 1), None);
    assert_eq!(custom.fault_for_host_address(base), Some(Fault::Trap));
    assert_eq!(
        custom.fault_for_host_address(base + 0x20010),
        Some(Fault::PageFault(0x20000))
    );
    assert_eq!(
        custom.fault_for_host_address(base + 0x1_0000_0003),
        Some(Fault::PageFault(0xffff_f000))
    );
    assert_eq!(
        custom.fault_for_host_address(base + GUEST_ADDRESS_SPACE_SIZE + TRAILING_GUARD_SIZE),
        None
    );
    assert_eq!(
        standard.fault_for_host_address(standard.base() as usize + 0x1_0000_0000),
        Some(Fault::Trap)
    );
}

#[test]
fn random_operations_agree_with_the_interpreter() {
    let _serial = serial();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for trial in 0..8 {
        let page_size = 0x1000 << (trial % 5);
        let m = map(page_size, 0x1800, 0x2345, 0x3000, 0x1000);
        let ro = pattern(0x1800, trial as u8);
        let rw = pattern(0x2345, !trial as u8);
        let mut space = GuestAddressSpace::standard(&m, &ro, &rw, NO_LIMIT).unwrap();
        let mut interp = GuestMemory::standard(&m, &ro, &rw, NO_LIMIT).unwrap();
        let interesting = [
            m.ro_data_address,
            m.rw_data_address,
            m.heap_base,
            m.stack_address_low,
            m.stack_address_high,
            m.aux_data_address,
            m.rw_data_address + m.rw_data_size,
        ];
        for _ in 0..400 {
            let r = next();
            let near = interesting[(r % interesting.len() as u64) as usize];
            let address = near
                .wrapping_add(((r >> 8) % 0x8000) as u32)
                .wrapping_sub(0x4000);
            let length = ((r >> 24) % 0x40) as usize;
            match (r >> 40) % 4 {
                0 => {
                    let size = ((r >> 44) % 0x3000) as u32;
                    assert_eq!(space.sbrk(size), interp.sbrk(size));
                }
                1 => {
                    let data = pattern(length, r as u8);
                    assert_eq!(space.write(address, &data), interp.write(address, &data));
                }
                2 => {
                    let mut a = vec![0; length];
                    let mut b = vec![0; length];
                    let result = space.read(address, &mut a);
                    assert_eq!(result, interp.read(address, &mut b));
                    assert!(
                        result.is_err() || a == b,
                        "read {address:#x}+{length} differs"
                    );
                }
                _ => assert_eq!(
                    space.check_mapped(address, length as u64),
                    interp.check_mapped(address, length as u64)
                ),
            }
        }
        assert_kernel_agrees(&space);
    }
}

#[test]
fn dropped_instances_release_their_reservation() {
    let _serial = serial();
    let m = map(0x1000, 0x1000, 0x1000, 0x1000, 0x1000);
    // Warm up anything lazily mapped (allocator arenas, the maps reader).
    drop(GuestAddressSpace::standard(&m, &[1], &[2], NO_LIMIT).unwrap());
    let _ = kernel_view(&GuestAddressSpace::standard(&m, &[1], &[2], NO_LIMIT).unwrap());
    let before = vm_size_kib();
    let reservation_kib = (RESERVATION_SIZE / 1024) as u64;
    for round in 0..4 {
        let mut live = Vec::new();
        for i in 0..32 {
            let mut space = GuestAddressSpace::standard(&m, &[1], &[2], NO_LIMIT).unwrap();
            space.sbrk(0x5000).unwrap();
            space.write(m.rw_data_address, &[i as u8; 16]).unwrap();
            live.push(space);
        }
        let during = vm_size_kib();
        assert!(
            during >= before + 32 * reservation_kib,
            "round {round}: {during} KiB with 32 live instances, {before} KiB before"
        );
        // Failed constructions unmap too.
        for _ in 0..8 {
            assert!(GuestAddressSpace::custom(
                &[PageMapping {
                    address: 0x10000,
                    length: 0x1000,
                    writable: true
                }],
                &[(0x10ff0, &[0; 0x20])],
                NO_LIMIT
            )
            .is_err());
        }
        drop(live);
    }
    let after = vm_size_kib();
    assert!(
        after < before + reservation_kib / 4,
        "VmSize {before} KiB before, {after} KiB after dropping every instance"
    );
}

#[test]
fn address_spaces_move_between_threads() {
    let _serial = serial();
    let m = map(0x1000, 0, 0x1000, 0x1000, 0);
    let mut space = GuestAddressSpace::standard(&m, &[], &[3; 4], NO_LIMIT).unwrap();
    space.write(m.rw_data_address + 4, &[4; 4]).unwrap();
    let space = std::thread::spawn(move || {
        let mut out = [0; 8];
        space.read(m.rw_data_address, &mut out).unwrap();
        assert_eq!(out, [3, 3, 3, 3, 4, 4, 4, 4]);
        space
    })
    .join()
    .unwrap();
    assert_eq!(space.heap_size(), 0);
}

#[test]
fn hand_made_memory_maps_are_validated() {
    let _serial = serial();
    let good = map(0x1000, 0x1000, 0x800, 0x1000, 0x1000);
    assert!(GuestAddressSpace::standard(&good, &[], &[], NO_LIMIT).is_ok());
    let broken = [
        // rw data overlapping the ro data
        MemoryMap {
            rw_data_address: good.ro_data_address,
            ..good
        },
        // unaligned stack
        MemoryMap {
            stack_address_low: good.stack_address_low + 1,
            ..good
        },
        // a heap that could grow into the stack
        MemoryMap {
            max_heap_size: good.stack_address_low - good.heap_base + 1,
            ..good
        },
        // a heap outside the rw data
        MemoryMap {
            heap_base: good.rw_data_address - 1,
            ..good
        },
        // the stack's ends swapped
        MemoryMap {
            stack_address_low: good.stack_address_high,
            stack_address_high: good.stack_address_low,
            ..good
        },
        // a bad page size
        MemoryMap {
            page_size: 0x3000,
            ..good
        },
    ];
    for m in broken {
        assert!(
            matches!(
                GuestAddressSpace::standard(&m, &[], &[], NO_LIMIT),
                Err(AddressSpaceError::Layout(LayoutError::InvalidLayout { .. }))
            ),
            "{m:?}"
        );
    }
}
