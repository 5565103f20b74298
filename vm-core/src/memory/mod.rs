//! The guest-memory model: which guest addresses are accessible and how, how the heap
//! grows, and what a failed access reports. One model for every backend: the interpreter
//! backs its regions with byte vectors (`interpreter::GuestMemory`), the JIT's sandboxes
//! with host mappings; both ask the same [`AccessMap`] what is mapped, where the heap ends
//! and which fault an access raises, so they cannot disagree.
//!
//! The guest address space is 32 bits. Region bounds are 4 KiB aligned, lie in
//! `0x10000..=2^32`, are sorted and disjoint; an end is a `u64` because a region may end
//! at `2^32`. Every computation here is in `u32`/`u64` with checked or wrapping arithmetic
//! (the module denies `clippy::arithmetic_side_effects`), because the same code runs on
//! 64-bit hosts and inside the runtime on wasm32, where `usize` is 32 bits and must give
//! the same answers.

// Every address and size here is explicit about overflow (checked, saturating where an
// invariant rules overflow out, or wrapping where the guest's arithmetic wraps).
#![deny(clippy::arithmetic_side_effects)]

mod access_map;

pub use access_map::{AccessMap, HeapGrowth, Region};

use crate::program::{ADDRESS_SPACE_BOTTOM, MIN_PAGE_SIZE};
use core::fmt;

/// How an access to unmapped memory (at or above 0x10000) stops the guest.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum FaultMode {
    /// A trap, as PolkaVM's standard memory layout does.
    Trap,
    /// A page fault naming the first inaccessible 4 KiB page, as JAM expects.
    PageFault,
}

/// A failed guest access, as every backend reports it.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Fault {
    /// The guest traps.
    Trap,
    /// The guest page-faults on the page starting at this address.
    PageFault(u32),
}

impl Fault {
    /// What an access that failed at guest byte `address` reports under `mode`: a trap
    /// in the standard layout and below 0x10000 (never mapped) in every layout; otherwise a
    /// page fault naming the byte's 4 KiB page.
    pub fn at(mode: FaultMode, address: u32) -> Fault {
        match mode {
            FaultMode::PageFault if address >= ADDRESS_SPACE_BOTTOM => {
                Fault::PageFault(address & !(MIN_PAGE_SIZE - 1))
            }
            _ => Fault::Trap,
        }
    }
}

impl From<Fault> for crate::Interrupt {
    fn from(fault: Fault) -> crate::Interrupt {
        match fault {
            Fault::Trap => crate::Interrupt::Trap,
            Fault::PageFault(page_address) => {
                crate::Interrupt::Segfault(crate::Segfault { page_address })
            }
        }
    }
}

/// A region to map in a custom layout.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct PageMapping {
    /// First address (a multiple of 4 KiB, at or above 0x10000).
    pub address: u32,
    /// Length in bytes (a non-zero multiple of 4 KiB; the mapping ends at or below 2^32).
    pub length: u32,
    /// Whether the guest may write it.
    pub writable: bool,
}

/// Why a memory layout cannot be built.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LayoutError {
    /// The layout makes more bytes accessible than the memory limit allows.
    MemoryLimitExceeded {
        /// Bytes the layout makes accessible.
        required: u64,
        /// The limit.
        limit: u64,
    },
    /// A custom mapping is unaligned, empty, out of range or overlaps another.
    InvalidPageMapping {
        /// Start of the mapping.
        address: u32,
        /// Its length.
        length: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A memory map's regions are not aligned, sorted and disjoint inside `0x10000..2^32`,
    /// or its heap could grow into the next region (only a hand-made `MemoryMap` can be;
    /// `MemoryMap::new` builds valid ones).
    InvalidLayout {
        /// What is wrong.
        reason: &'static str,
        /// The address concerned.
        address: u64,
    },
    /// Initial contents fall outside the accessible regions.
    ContentsOutsideMappings {
        /// Start of the contents.
        address: u32,
        /// Their length.
        length: u64,
        /// The first byte not accessible.
        first_unmapped: u32,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::MemoryLimitExceeded { required, limit } => write!(
                f,
                "the layout makes {required} bytes accessible, the memory limit is {limit}"
            ),
            LayoutError::InvalidPageMapping {
                address,
                length,
                reason,
            } => write!(f, "page mapping of {length:#x} bytes at {address:#x}: {reason}"),
            LayoutError::InvalidLayout { reason, address } => {
                write!(f, "invalid memory layout at {address:#x}: {reason}")
            }
            LayoutError::ContentsOutsideMappings {
                address,
                length,
                first_unmapped,
            } => write!(
                f,
                "{length} bytes of initial contents at {address:#x} reach unmapped memory at {first_unmapped:#x}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LayoutError {}
