//! Where a program's memory regions sit in the 32-bit guest address space.
//!
//! The layout is PolkaVM's: read-only data at 0x10000, a guard of the maximum page size,
//! read-write data, the heap growing from the unaligned end of the read-write data, and at
//! the top, below 0xFFFF0000 minus the aux data, the stack; 64 KiB guards separate them.

use core::fmt;

/// The smallest page size a memory map may use.
pub const MIN_PAGE_SIZE: u32 = 0x1000;
/// The largest page size; also the size of every guard gap.
pub const MAX_PAGE_SIZE: u32 = 0x10000;
/// Jumping here returns to the host: the calling convention puts it in `RA`.
pub const RETURN_TO_HOST: u32 = 0xffff_0000;
/// Addresses below this are never mapped.
pub const ADDRESS_SPACE_BOTTOM: u32 = MAX_PAGE_SIZE;
/// The end of the usable address space: 4 GiB less one guard of the maximum page size.
const ADDRESS_SPACE_TOP: u64 = 0x1_0000_0000 - 0x1_0000;
const _: () = assert!(MAX_PAGE_SIZE == 0x1_0000);

/// Why a memory map cannot be built.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MemoryMapError {
    /// The page size is not a power of two between 4 KiB and 64 KiB.
    InvalidPageSize(u32),
    /// The regions do not fit in the 32-bit address space.
    TooLarge {
        /// Bytes the layout needs.
        required: u64,
        /// Bytes available.
        available: u64,
    },
}

impl fmt::Display for MemoryMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryMapError::InvalidPageSize(size) => {
                write!(f, "page size {size:#x} is not a power of two between 0x1000 and 0x10000")
            }
            MemoryMapError::TooLarge { required, available } => write!(
                f,
                "memory regions need {required:#x} bytes of address space, only {available:#x} exist"
            ),
        }
    }
}

/// The sizes a memory map is built from.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct MemoryMapSizes {
    /// Page size (power of two, 4 KiB..=64 KiB).
    pub page_size: u32,
    /// Read-only data bytes.
    pub ro_data_size: u32,
    /// Read-write data bytes (the heap starts right after them).
    pub rw_data_size: u32,
    /// Stack bytes.
    pub stack_size: u32,
    /// Aux data bytes (read-only to the guest, written by the host).
    pub aux_data_size: u32,
}

/// A computed memory layout.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct MemoryMap {
    /// Page size.
    pub page_size: u32,
    /// Start of read-only data (always 0x10000).
    pub ro_data_address: u32,
    /// Read-only data size, rounded up to a page.
    pub ro_data_size: u32,
    /// Start of read-write data.
    pub rw_data_address: u32,
    /// Read-write data size, rounded up to a page.
    pub rw_data_size: u32,
    /// First heap byte: the unaligned end of the read-write data.
    pub heap_base: u32,
    /// How far `sbrk` may grow the heap.
    pub max_heap_size: u32,
    /// Lowest stack address.
    pub stack_address_low: u32,
    /// One past the highest stack address: the initial stack pointer.
    pub stack_address_high: u32,
    /// Start of the aux data.
    pub aux_data_address: u32,
    /// Aux data size, rounded up to a page.
    pub aux_data_size: u32,
}

/// `size` rounded up to a multiple of `alignment` (a power of two of at most 64 KiB): at
/// most `2^32`, exact in a `u64`.
fn align_up(size: u32, alignment: u64) -> u64 {
    let size = u64::from(size);
    size.checked_next_multiple_of(alignment).unwrap_or(size)
}

impl MemoryMap {
    /// Lays out the regions as PolkaVM does.
    // Every value below is in a `u64`: a sum of at most three regions of at most 2^32
    // bytes each (u32 sizes rounded up to 64 KiB) and a few guards, so below 2^35. The one
    // subtraction that can go below zero (from the top) is checked; the others take a
    // part of a larger sum from it.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "u64 sums below 2^35 (see above); the subtraction that can underflow is checked"
    )]
    pub fn new(sizes: MemoryMapSizes) -> Result<MemoryMap, MemoryMapError> {
        let page = sizes.page_size;
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page) || !page.is_power_of_two() {
            return Err(MemoryMapError::InvalidPageSize(page));
        }
        let page = u64::from(page);
        let guard = u64::from(MAX_PAGE_SIZE);
        let reserve = |size: u32| align_up(size, guard);

        let ro_data_address = u64::from(ADDRESS_SPACE_BOTTOM);
        let rw_data_address = ro_data_address + reserve(sizes.ro_data_size) + guard;
        let heap_base = rw_data_address + u64::from(sizes.rw_data_size);
        let rw_data_end = rw_data_address + reserve(sizes.rw_data_size);
        let address_low = rw_data_end + guard;
        // Below the top: the aux data, a guard, then the stack.
        let top_needed = reserve(sizes.aux_data_size) + guard + reserve(sizes.stack_size);
        let address_high = ADDRESS_SPACE_TOP
            .checked_sub(top_needed)
            .filter(|&high| address_low <= high)
            .ok_or(MemoryMapError::TooLarge {
                required: address_low + top_needed.min(ADDRESS_SPACE_TOP),
                available: ADDRESS_SPACE_TOP,
            })?;
        let aux_data_address = ADDRESS_SPACE_TOP - reserve(sizes.aux_data_size);
        let stack_address_high = aux_data_address - guard;
        // Up to the stack's reservation, plus the rest of the last read-write page.
        let max_heap_size = address_high - address_low + (rw_data_end - heap_base);
        let stack_address_low = stack_address_high - align_up(sizes.stack_size, page);

        // Once the layout fits, every address is below the top and every size fits in the
        // address space: these conversions cannot fail.
        let fits = |value: u64| {
            u32::try_from(value).map_err(|_| MemoryMapError::TooLarge {
                required: value,
                available: ADDRESS_SPACE_TOP,
            })
        };
        Ok(MemoryMap {
            page_size: sizes.page_size,
            ro_data_address: fits(ro_data_address)?,
            ro_data_size: fits(align_up(sizes.ro_data_size, page))?,
            rw_data_address: fits(rw_data_address)?,
            rw_data_size: fits(align_up(sizes.rw_data_size, page))?,
            heap_base: fits(heap_base)?,
            max_heap_size: fits(max_heap_size)?,
            stack_address_low: fits(stack_address_low)?,
            stack_address_high: fits(stack_address_high)?,
            aux_data_address: fits(aux_data_address)?,
            aux_data_size: fits(align_up(sizes.aux_data_size, page))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_polkavm_layout_for_a_small_program() {
        let map = MemoryMap::new(MemoryMapSizes {
            page_size: 0x4000,
            ro_data_size: 1,
            rw_data_size: 1,
            stack_size: 1,
            aux_data_size: 0,
        })
        .unwrap();
        assert_eq!(map.ro_data_address, 0x10000);
        assert_eq!(map.ro_data_size, 0x4000);
        assert_eq!(map.rw_data_address, 0x30000);
        assert_eq!(map.rw_data_size, 0x4000);
        assert_eq!(map.heap_base, 0x30001);
        assert_eq!(map.stack_address_high, 0xfffe0000);
        assert_eq!(map.stack_address_low, 0xfffdc000);
        assert_eq!(map.aux_data_address, 0xffff0000);
        assert_eq!(
            u64::from(map.max_heap_size),
            0xfffd0000u64 - 0x50000 + 0xffff
        );
    }

    #[test]
    fn rejects_bad_page_sizes_and_oversized_maps() {
        let mut sizes = MemoryMapSizes {
            page_size: 0x3000,
            ro_data_size: 0,
            rw_data_size: 0,
            stack_size: 0,
            aux_data_size: 0,
        };
        assert_eq!(
            MemoryMap::new(sizes),
            Err(MemoryMapError::InvalidPageSize(0x3000))
        );
        sizes.page_size = 0x1000;
        sizes.stack_size = u32::MAX;
        assert!(matches!(
            MemoryMap::new(sizes),
            Err(MemoryMapError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_largest_sizes_are_figured_in_64_bits() {
        // Each region rounds up to 4 GiB: the figures are past 32 bits, not truncated.
        let sizes = MemoryMapSizes {
            page_size: MAX_PAGE_SIZE,
            ro_data_size: u32::MAX,
            rw_data_size: u32::MAX,
            stack_size: u32::MAX,
            aux_data_size: u32::MAX,
        };
        assert_eq!(
            MemoryMap::new(sizes),
            Err(MemoryMapError::TooLarge {
                required: (2 << 32) + 0x3_0000 + ADDRESS_SPACE_TOP,
                available: ADDRESS_SPACE_TOP,
            })
        );
        // The largest layout that fits: everything but the guards in the read-write data,
        // the heap's last page past it.
        let sizes = MemoryMapSizes {
            page_size: MIN_PAGE_SIZE,
            ro_data_size: 0,
            rw_data_size: 0xfffb_0000 - 1,
            stack_size: 0,
            aux_data_size: 0,
        };
        let map = MemoryMap::new(sizes).unwrap();
        assert_eq!(map.rw_data_address, 0x2_0000);
        assert_eq!(map.rw_data_size, 0xfffb_0000);
        assert_eq!(map.heap_base, 0xfffd_0000 - 1);
        assert_eq!(map.max_heap_size, 1);
        assert_eq!(map.stack_address_low, 0xfffe_0000);
        assert_eq!(map.stack_address_high, 0xfffe_0000);
        assert_eq!(map.aux_data_address, 0xffff_0000);
        let sizes = MemoryMapSizes {
            rw_data_size: 0xfffb_0000 + 1,
            ..sizes
        };
        assert_eq!(
            MemoryMap::new(sizes),
            Err(MemoryMapError::TooLarge {
                required: 0x1_0000_0000,
                available: ADDRESS_SPACE_TOP,
            })
        );
    }
}
