//! A bump `#[global_allocator]` on the PolkaVM `sbrk` instruction (Latest64 only: ReviveV1
//! and JamV1 have no `sbrk`).
//!
//! `sbrk(0)` gives the heap top on first use; the heap grows in 64 KiB steps. Only the most
//! recent allocation is freed or resized in place. [`reset`] forgets every allocation: the
//! corpus exports call it on entry, since nothing they allocate outlives a call.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

/// `sbrk(size)`: grows the heap by `size` bytes, returns the new heap top or 0.
#[inline(always)]
fn sbrk(size: usize) -> usize {
    let top: usize;
    // SAFETY: the `sbrk` instruction only changes the heap top and the destination register.
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

const GROW_STEP: usize = 64 * 1024;

struct Bump {
    /// Where the heap started (0 until the first allocation).
    base: Cell<usize>,
    /// First free byte.
    next: Cell<usize>,
    /// Current heap top.
    top: Cell<usize>,
}

// SAFETY: the guest is single-threaded.
unsafe impl Sync for Bump {}

impl Bump {
    fn ensure(&self, end: usize) -> bool {
        let top = self.top.get();
        if end <= top {
            return true;
        }
        let Some(needed) = (end - top).checked_next_multiple_of(GROW_STEP) else {
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

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut next = self.next.get();
        if self.base.get() == 0 {
            next = sbrk(0);
            if next == 0 {
                return core::ptr::null_mut();
            }
            self.base.set(next);
            self.top.set(next);
        }
        let Some(start) = next.checked_next_multiple_of(layout.align()) else {
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
        // SAFETY: `layout.align()` is a valid alignment and `new_size` was checked by the caller.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a fresh allocation, then a copy of the old bytes into it.
        unsafe {
            let new_ptr = self.alloc(new_layout);
            if !new_ptr.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size());
            }
            new_ptr
        }
    }
}

#[global_allocator]
static HEAP: Bump = Bump {
    base: Cell::new(0),
    next: Cell::new(0),
    top: Cell::new(0),
};

/// Forgets every allocation (the heap memory stays mapped and is reused). Call only when no
/// allocation is alive: at the start of an export.
pub fn reset() {
    if HEAP.base.get() != 0 {
        HEAP.next.set(HEAP.base.get());
    }
}
