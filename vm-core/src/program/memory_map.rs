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
const ADDRESS_SPACE_TOP: u64 = 0x1_0000_0000 - MAX_PAGE_SIZE as u64;

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

fn align_up(value: u64, alignment: u64) -> u64 {
    value.div_ceil(alignment) * alignment
}

impl MemoryMap {
    /// Lays out the regions as PolkaVM does.
    pub fn new(sizes: MemoryMapSizes) -> Result<MemoryMap, MemoryMapError> {
        let page = sizes.page_size;
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page) || !page.is_power_of_two() {
            return Err(MemoryMapError::InvalidPageSize(page));
        }
        let page = u64::from(page);
        let guard = u64::from(MAX_PAGE_SIZE);
        let reserve = |size: u32| align_up(u64::from(size), guard);

        let ro_data_address = u64::from(ADDRESS_SPACE_BOTTOM);
        let rw_data_address = ro_data_address + reserve(sizes.ro_data_size) + guard;
        let heap_base = rw_data_address + u64::from(sizes.rw_data_size);
        let heap_slack = rw_data_address + reserve(sizes.rw_data_size) - heap_base;
        let address_low = rw_data_address + reserve(sizes.rw_data_size) + guard;

        let aux_data_address = ADDRESS_SPACE_TOP as i64 - reserve(sizes.aux_data_size) as i64;
        let stack_address_high = aux_data_address - guard as i64;
        let address_high = stack_address_high - reserve(sizes.stack_size) as i64;
        if (address_low as i64) > address_high {
            return Err(MemoryMapError::TooLarge {
                required: address_low + (ADDRESS_SPACE_TOP - address_high.max(0) as u64),
                available: ADDRESS_SPACE_TOP,
            });
        }
        let max_heap_size = address_high as u64 - address_low + heap_slack;
        let stack_size = align_up(u64::from(sizes.stack_size), page);

        Ok(MemoryMap {
            page_size: sizes.page_size,
            ro_data_address: ro_data_address as u32,
            ro_data_size: align_up(u64::from(sizes.ro_data_size), page) as u32,
            rw_data_address: rw_data_address as u32,
            rw_data_size: align_up(u64::from(sizes.rw_data_size), page) as u32,
            heap_base: heap_base as u32,
            max_heap_size: max_heap_size as u32,
            stack_address_low: (stack_address_high as u64 - stack_size) as u32,
            stack_address_high: stack_address_high as u32,
            aux_data_address: aux_data_address as u32,
            aux_data_size: align_up(u64::from(sizes.aux_data_size), page) as u32,
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
}
