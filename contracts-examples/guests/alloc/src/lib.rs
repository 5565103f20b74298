//! `alloc` guest: a `#[global_allocator]` backed by the PolkaVM `sbrk` instruction, plus
//! `alloc`-crate workloads. Only linkable for the Latest64 instruction set (ReviveV1 and JamV1
//! have neither `sbrk` nor `memset`).
//!
//! The allocator is a bump allocator: it asks `sbrk(0)` for the current heap top on first use,
//! grows the heap with `sbrk(k)` in 4 KiB multiples when needed, frees (and grows in place)
//! only the most recent allocation. `sbrk(size)` returns the *new* heap top, or 0 on failure.
//!
//! # Exports
//!
//! * `vec_work(n: u32) -> u64` — builds a `Vec<u64>` of `n` (clamped to 100_000) xorshift
//!   values, sorts it, counts buckets in a `BTreeMap<u32, u32>`, formats some numbers into a
//!   `String`, returns a checksum over all of it. Everything is dropped before returning.
//! * `grow(n_kib: u32) -> u64` — allocates `n_kib` KiB (clamped to 65_536) in chunks of at
//!   most 64 KiB, fills each chunk with the `memset` instruction (chunk `i` gets byte
//!   `(i * 37 + 0x5a) as u8`), adds the page index to the first byte of every 4 KiB page, and
//!   returns a checksum of what it reads back. The chunks are leaked, so the heap keeps growing
//!   across calls.
//! * `heap_top() -> u64` — `sbrk(0)`, i.e. the current heap top address.
//! * `heap_base() -> u64` — `polkavm_derive::heap_base()` (the heap base address).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::fmt::Write;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

/// The PolkaVM `sbrk` instruction: grows the heap by `size` bytes and returns the new heap
/// top, or 0 if the heap cannot grow. `sbrk(0)` returns the current heap top.
#[inline(always)]
fn sbrk(size: usize) -> usize {
    let top: usize;
    unsafe {
        core::arch::asm!(
            ".insn r 0xb, 1, 0, {dst}, {size}, zero",
            dst = lateout(reg) top,
            size = in(reg) size,
            options(nostack, preserves_flags),
        );
    }
    top
}

const GROW_GRANULE: usize = 4096;

struct SbrkAllocator {
    /// First free byte (0 until the first allocation).
    next: Cell<usize>,
    /// Current heap top as reported by `sbrk`.
    top: Cell<usize>,
}

// SAFETY: the guest is single-threaded.
unsafe impl Sync for SbrkAllocator {}

impl SbrkAllocator {
    /// Makes sure `[.., end)` is inside the heap.
    fn ensure(&self, end: usize) -> bool {
        let top = self.top.get();
        if end <= top {
            return true;
        }
        let Some(needed) = (end - top).checked_next_multiple_of(GROW_GRANULE) else {
            return false;
        };
        if needed > u32::MAX as usize {
            return false;
        }
        let new_top = sbrk(needed);
        if new_top == 0 {
            return false;
        }
        self.top.set(new_top);
        true
    }
}

unsafe impl GlobalAlloc for SbrkAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut next = self.next.get();
        if next == 0 {
            next = sbrk(0);
            if next == 0 {
                return core::ptr::null_mut();
            }
            self.top.set(next);
        }
        let align = layout.align();
        let Some(start) = next.checked_next_multiple_of(align) else {
            return core::ptr::null_mut();
        };
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.ensure(end) {
            return core::ptr::null_mut();
        }
        self.next.set(end);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        if start + layout.size() == self.next.get() {
            // Last allocation: grow or shrink in place.
            let Some(end) = start.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !self.ensure(end) {
                return core::ptr::null_mut();
            }
            self.next.set(end);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new_ptr = unsafe { self.alloc(new_layout) };
        if !new_ptr.is_null() {
            unsafe { core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size()) };
        }
        new_ptr
    }
}

#[global_allocator]
static ALLOCATOR: SbrkAllocator = SbrkAllocator {
    next: Cell::new(0),
    top: Cell::new(0),
};

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[polkavm_derive::polkavm_export]
fn vec_work(n: u32) -> u64 {
    let n = n.min(100_000) as usize;
    let mut seed = 0x9e37_79b9_7f4a_7c15 ^ n as u64;

    let mut values = Vec::new();
    for _ in 0..n {
        values.push(xorshift(&mut seed));
    }
    values.sort_unstable();

    let mut buckets: BTreeMap<u32, u32> = BTreeMap::new();
    for v in &values {
        *buckets.entry((v >> 54) as u32).or_insert(0) += 1;
    }

    let mut text = String::new();
    for (i, v) in values.iter().enumerate().step_by(97) {
        let _ = write!(text, "{i}:{:x},", v >> 40);
    }

    let mut sum = 0u64;
    for (i, v) in values.iter().enumerate() {
        sum = sum.rotate_left(9) ^ v.wrapping_mul(i as u64 | 1);
    }
    for (k, c) in &buckets {
        sum = sum
            .wrapping_mul(31)
            .wrapping_add(u64::from(*k) << 32 | u64::from(*c));
    }
    for b in text.bytes() {
        sum = (sum ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    sum ^ ((buckets.len() as u64) << 48) ^ ((text.len() as u64) << 32)
}

#[polkavm_derive::polkavm_export]
fn grow(n_kib: u32) -> u64 {
    const CHUNK: usize = 64 * 1024;
    const PAGE: usize = 4096;
    let mut remaining = n_kib.min(65_536) as usize * 1024;
    let mut sum = 0u64;
    let mut index = 0u64;
    while remaining > 0 {
        let len = remaining.min(CHUNK);
        remaining -= len;
        let layout = Layout::from_size_align(len, 16).unwrap();
        // SAFETY: `layout` has a non-zero size; the chunk is initialised by `memset` before it
        // is turned into a slice, and is leaked (never freed).
        let chunk: &'static mut [u8] = unsafe {
            let ptr = alloc::alloc::alloc(layout);
            if ptr.is_null() {
                alloc::alloc::handle_alloc_error(layout);
            }
            polkavm_derive::memset(
                ptr,
                (index as usize).wrapping_mul(37).wrapping_add(0x5a) & 0xff,
                len,
            );
            core::slice::from_raw_parts_mut(ptr, len)
        };
        let mut offset = 0;
        while offset < len {
            chunk[offset] = chunk[offset].wrapping_add((offset / PAGE) as u8);
            offset += PAGE;
        }
        let mut offset = 0;
        while offset < len {
            sum = (sum ^ u64::from(chunk[offset]) ^ (u64::from(chunk[len - 1]) << 8))
                .wrapping_mul(0x0000_0100_0000_01b3);
            offset += PAGE;
        }
        index += 1;
    }
    sum ^ (index << 56) ^ (u64::from(n_kib) << 32)
}

#[polkavm_derive::polkavm_export]
fn heap_top() -> u64 {
    sbrk(0) as u64
}

#[polkavm_derive::polkavm_export]
fn heap_base() -> u64 {
    polkavm_derive::heap_base() as u64
}
