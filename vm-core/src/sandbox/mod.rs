//! Sandboxes for JIT-compiled guest code.
//!
//! The in-process ("generic") sandbox runs JIT code on the host thread and isolates the
//! guest by address space alone: every guest access is `[base + zero-extended 32-bit
//! address]`, with no bounds check in the generated code, and the MMU stops every access
//! the guest may not make. [`GuestAddressSpace`] is its memory half; [`generic`] maps
//! compiled code executable, enters and leaves it, and installs the signal handler that
//! turns a fault inside JIT code into the interrupt the interpreter would give. The
//! [`linux`] process sandbox runs the same compiled code, with the same reservation
//! layout, in a separate, locked-down worker process: the reservation is a memory file
//! both processes map, the host's view built by the same [`GuestAddressSpace`]
//! bookkeeping. [`JitInstance`] is one guest in either: its exits are handled in one
//! place, whichever process ran the code.
//!
//! # The reservation
//!
//! One `mmap(PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)` per instance:
//!
//! ```text
//!  reservation start = context_ptr()
//!  |  CONTEXT_SIZE (read-write: gas, saved registers, exit state; owned by the JIT)
//!  v                 base()
//!  [ context ]       [ guest address 0 ............................ 2^32 ) [ trailing guard ]
//!                    | 0..0x10000 never mapped | regions of the layout |  TRAILING_GUARD_SIZE,
//!                    |  everything the layout does not map is PROT_NONE |  always PROT_NONE
//! ```
//!
//! Invariant the JIT relies on: for every guest address `a: u32` and every
//! `k < TRAILING_GUARD_SIZE` (64 KiB, so any access of up to 8 bytes, with room for a
//! folded displacement), `base + a + k` lies inside the reservation, and when
//! `a + k >= 2^32` it lies in the trailing guard, which is never accessible. The guest can
//! therefore name no host byte outside its own reservation, whatever it computes, as long as
//! the JIT (1) forms the 32-bit guest address with wrapping 32-bit arithmetic, (2)
//! zero-extends it, and (3) adds at most a non-negative displacement `d` with `d + size <=
//! TRAILING_GUARD_SIZE`. It must never address guest memory with a negative displacement
//! from `base`: the bytes just below `base` are the read-write context.
//!
//! Pages the layout maps are `PROT_READ` (read-only data, aux data, read-only pages of a
//! custom map) or `PROT_READ | PROT_WRITE` (read-write data, heap, stack, writable pages).
//! The host keeps its own record of what is mapped, reads and writes guest memory only
//! through it, and never touches a `PROT_NONE` page; it writes read-only pages by making
//! them writable for the duration of the copy.
//!
//! # Faults
//!
//! A faulting guest access reaches the signal handler (`generic`) as a host address;
//! [`GuestAddressSpace::fault_for_host_address`] and [`GuestAddressSpace::fault_kind`]
//! turn it into what the interpreter reports for the same access: a trap for the standard
//! layout and for addresses below 0x10000, a page fault naming the 4 KiB page otherwise.
//!
//! Available with the `std` feature on x86-64 Linux.

mod address_space;
pub mod generic;
mod jit_instance;
pub mod linux;

pub(crate) use jit_instance::Runner;
pub use jit_instance::{JitExit, JitInstance};

pub use address_space::{
    AddressSpaceError, GuestAddressSpace, CONTEXT_SIZE, GUEST_ADDRESS_SPACE_SIZE, HOST_PAGE_SIZE,
    RESERVATION_SIZE, TRAILING_GUARD_SIZE,
};
