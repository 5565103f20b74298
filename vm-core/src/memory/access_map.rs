//! [`AccessMap`]: the accessible regions of one guest, its heap, and the memory limit.

use super::{Fault, FaultMode, LayoutError, PageMapping};
use crate::program::{MemoryMap, ADDRESS_SPACE_BOTTOM, MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use alloc::vec::Vec;

/// One past the highest guest address.
const ADDRESS_SPACE_END: u64 = 1 << 32;

/// An accessible guest range `start..end`; both bounds are multiples of 4 KiB.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Region {
    /// First address.
    pub start: u32,
    /// One past the last address (at most `2^32`, never below `start`).
    pub end: u64,
    /// Whether the guest may write it.
    pub writable: bool,
}

impl Region {
    /// Bytes in the region.
    pub fn len(&self) -> u64 {
        // `end >= start` is an invariant of every region an `AccessMap` holds.
        self.end.saturating_sub(u64::from(self.start))
    }

    /// Whether the region holds no byte (an absent section of the standard layout).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
struct Heap {
    /// Index of the region the heap grows (the rw data).
    region: usize,
    /// First heap byte.
    base: u32,
    /// Bytes `sbrk` has handed out.
    size: u32,
    /// How far the heap may grow.
    max_size: u32,
    /// Granularity at which heap pages become accessible.
    page_size: u32,
    /// The heap region's end before any `sbrk`.
    initial_end: u64,
}

/// What one `sbrk` would do: worked out by [`AccessMap::plan_sbrk`] without changing
/// anything, so a backend can make the pages accessible first and record the growth with
/// [`AccessMap::apply_sbrk`] only once that worked.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct HeapGrowth {
    /// The new heap top, which `sbrk` returns to the guest.
    pub top: u32,
    /// Guest range that becomes accessible (read-write), if the heap crosses into new
    /// pages.
    pub mapped: Option<(u64, u64)>,
    new_size: u32,
}

impl HeapGrowth {
    /// Bytes the growth makes accessible (whole pages of the layout; 0 when the heap
    /// stays within pages it already has).
    pub fn added_bytes(&self) -> u64 {
        self.mapped
            .map_or(0, |(start, end)| end.saturating_sub(start))
    }
}

/// Which guest addresses are accessible and how, the heap, and the memory limit: the
/// rules every backend follows (see the [module docs](super)).
///
/// The memory limit counts bytes made accessible: the layout's regions, plus the pages
/// `sbrk` adds. `sbrk` past the limit or past the heap's maximum fails (the guest sees 0).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AccessMap {
    /// Sorted by address, disjoint; some may be empty.
    regions: Vec<Region>,
    heap: Option<Heap>,
    fault_mode: FaultMode,
    limit: u64,
    /// Sum of the regions' lengths.
    accessible: u64,
}

fn invalid_layout<T>(reason: &'static str, address: u64) -> Result<T, LayoutError> {
    Err(LayoutError::InvalidLayout { reason, address })
}

impl AccessMap {
    /// PolkaVM's standard layout: read-only data, read-write data with the heap growing
    /// from its end, the stack, and aux data (read-only to the guest); unmapped accesses
    /// trap. Fails when the regions' sizes add up to more than `limit`.
    pub fn standard(map: &MemoryMap, limit: u64) -> Result<AccessMap, LayoutError> {
        let region = |start: u32, size: u32, writable: bool| Region {
            start,
            end: u64::from(start).saturating_add(u64::from(size)),
            writable,
        };
        let regions = alloc::vec![
            region(map.ro_data_address, map.ro_data_size, false),
            region(map.rw_data_address, map.rw_data_size, true),
            Region {
                start: map.stack_address_low,
                end: u64::from(map.stack_address_high),
                writable: true,
            },
            region(map.aux_data_address, map.aux_data_size, false),
        ];
        let heap = Heap {
            region: 1,
            base: map.heap_base,
            size: 0,
            max_size: map.max_heap_size,
            page_size: map.page_size,
            initial_end: regions[1].end,
        };
        Self::build(regions, Some(heap), FaultMode::Trap, limit)
    }

    /// An explicit page map (JAM style): each mapping readable, and writable if it says
    /// so; unmapped accesses page-fault (below 0x10000: trap). Mappings must be whole
    /// 4 KiB pages at or above 0x10000 inside the 32-bit address space, non-empty and
    /// disjoint; adjacent ones with the same protection merge. There is no heap.
    pub fn custom(pages: &[PageMapping], limit: u64) -> Result<AccessMap, LayoutError> {
        let mut sorted: Vec<PageMapping> = pages.to_vec();
        sorted.sort_by_key(|page| page.address);
        let mut regions: Vec<Region> = Vec::with_capacity(sorted.len());
        for page in sorted {
            let bad = |reason| {
                Err(LayoutError::InvalidPageMapping {
                    address: page.address,
                    length: page.length,
                    reason,
                })
            };
            let end = u64::from(page.address).saturating_add(u64::from(page.length));
            if !page.address.is_multiple_of(MIN_PAGE_SIZE)
                || !page.length.is_multiple_of(MIN_PAGE_SIZE)
            {
                return bad("not aligned to 4 KiB pages");
            }
            if page.length == 0 {
                return bad("empty");
            }
            if page.address < ADDRESS_SPACE_BOTTOM {
                return bad("below 0x10000, which is never mapped");
            }
            if end > ADDRESS_SPACE_END {
                return bad("runs past the end of the 32-bit address space");
            }
            if let Some(last) = regions.last_mut() {
                if last.end > u64::from(page.address) {
                    return bad("overlaps another mapping");
                }
                if last.end == u64::from(page.address) && last.writable == page.writable {
                    last.end = end;
                    continue;
                }
            }
            regions.push(Region {
                start: page.address,
                end,
                writable: page.writable,
            });
        }
        Self::build(regions, None, FaultMode::PageFault, limit)
    }

    fn build(
        regions: Vec<Region>,
        heap: Option<Heap>,
        fault_mode: FaultMode,
        limit: u64,
    ) -> Result<AccessMap, LayoutError> {
        validate(&regions, heap.as_ref())?;
        // At most 2^32 bytes in all, since the regions are disjoint inside the space.
        let accessible = regions
            .iter()
            .fold(0u64, |sum, region| sum.saturating_add(region.len()));
        let map = AccessMap {
            regions,
            heap,
            fault_mode,
            limit: u64::MAX,
            accessible,
        };
        map.with_limit(limit)
    }

    /// Checks that initial `contents` (`(address, bytes)`) lie in accessible regions.
    pub fn check_contents(&self, contents: &[(u32, &[u8])]) -> Result<(), LayoutError> {
        for &(address, bytes) in contents {
            let length = crate::cast::u64_from_usize(bytes.len());
            if let Err(first_unmapped) = self.check_mapped(address, length) {
                return Err(LayoutError::ContentsOutsideMappings {
                    address,
                    length,
                    first_unmapped,
                });
            }
        }
        Ok(())
    }

    /// The same map under another memory limit; fails when the regions already exceed it.
    pub fn with_limit(mut self, limit: u64) -> Result<AccessMap, LayoutError> {
        if self.accessible > limit {
            return Err(LayoutError::MemoryLimitExceeded {
                required: self.accessible,
                limit,
            });
        }
        self.limit = limit;
        Ok(self)
    }

    /// The regions, sorted by address (some may be empty).
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Whether failed accesses trap or page-fault.
    pub fn fault_mode(&self) -> FaultMode {
        self.fault_mode
    }

    /// Bytes that may be accessible at most.
    pub fn memory_limit(&self) -> u64 {
        self.limit
    }

    /// Bytes accessible now.
    pub fn accessible_bytes(&self) -> u64 {
        self.accessible
    }

    /// Bytes `sbrk` has handed out.
    pub fn heap_size(&self) -> u32 {
        self.heap.map_or(0, |heap| heap.size)
    }

    /// Index of the region the heap grows, if the layout has a heap.
    pub fn heap_region(&self) -> Option<usize> {
        self.heap.map(|heap| heap.region)
    }

    /// What an access failing at `address` reports.
    pub fn fault_at(&self, address: u32) -> Fault {
        Fault::at(self.fault_mode, address)
    }

    /// Index of the region holding guest byte `address`.
    pub fn region_index(&self, address: u64) -> Option<usize> {
        let after = self
            .regions
            .partition_point(|region| u64::from(region.start) <= address);
        let index = after.checked_sub(1)?;
        let region = self.regions.get(index)?;
        (address < region.end).then_some(index)
    }

    /// The region holding every byte of `address..address + length` and the access's
    /// offset into it, when one region holds them all.
    pub fn locate(&self, address: u32, length: u32) -> Option<(usize, u32)> {
        let index = self.region_index(u64::from(address))?;
        let region = self.regions.get(index)?;
        let end = u64::from(address).checked_add(u64::from(length))?;
        // `region_index` found `start <= address`.
        (end <= region.end).then(|| (index, address.wrapping_sub(region.start)))
    }

    /// Whether the guest may make an access of `length` bytes at `address` (write access
    /// if `write`); otherwise the fault it raises: at the first byte it may not access, a
    /// trap below 0x10000, and at `u32::MAX` when the access runs past the top of the
    /// address space.
    pub fn check_access(&self, address: u32, length: u32, write: bool) -> Result<(), Fault> {
        if address < ADDRESS_SPACE_BOTTOM {
            return Err(Fault::Trap);
        }
        let end = u64::from(address).saturating_add(u64::from(length));
        let mut at = u64::from(address);
        while at < end {
            let Ok(here) = u32::try_from(at) else {
                return Err(self.fault_at(u32::MAX));
            };
            let Some(region) = self.region_index(at).and_then(|i| self.regions.get(i)) else {
                return Err(self.fault_at(here));
            };
            if write && !region.writable {
                return Err(self.fault_at(here));
            }
            at = region.end;
        }
        Ok(())
    }

    /// Checks that every byte of `address..address + length` is accessible (for the host,
    /// which may also write read-only regions); `Err` names the first byte that is not, or
    /// `u32::MAX` when the range runs past the top of the address space.
    pub fn check_mapped(&self, address: u32, length: u64) -> Result<(), u32> {
        let end = u64::from(address).saturating_add(length);
        let mut at = u64::from(address);
        while at < end {
            let here = u32::try_from(at).map_err(|_| u32::MAX)?;
            let index = self.region_index(at).ok_or(here)?;
            at = self.regions.get(index).map_or(end, |region| region.end);
        }
        Ok(())
    }

    /// What growing the heap by `size` bytes would do, or `None` when it may not: no heap,
    /// past the heap's maximum, or more accessible bytes than the memory limit. Heap pages
    /// become accessible at the layout's page size. Changes nothing.
    pub fn plan_sbrk(&self, size: u32) -> Option<HeapGrowth> {
        let heap = self.heap?;
        let new_size = heap.size.checked_add(size)?;
        if new_size > heap.max_size {
            return None;
        }
        let top = heap.base.checked_add(new_size)?;
        let page = u64::from(heap.page_size);
        let mapped_end = u64::from(top).div_ceil(page).checked_mul(page)?;
        let region = self.regions.get(heap.region)?;
        let mapped = if mapped_end > region.end {
            let growth = mapped_end.checked_sub(region.end)?;
            if self.accessible.checked_add(growth)? > self.limit {
                return None;
            }
            Some((region.end, mapped_end))
        } else {
            None
        };
        Some(HeapGrowth {
            top,
            mapped,
            new_size,
        })
    }

    /// Records a growth [`plan_sbrk`](Self::plan_sbrk) worked out (on this map, with
    /// nothing changed in between).
    pub fn apply_sbrk(&mut self, growth: HeapGrowth) {
        let Some(heap) = &mut self.heap else {
            return;
        };
        heap.size = growth.new_size;
        if let (Some((start, end)), Some(region)) =
            (growth.mapped, self.regions.get_mut(heap.region))
        {
            region.end = end;
            self.accessible = self.accessible.saturating_add(end.saturating_sub(start));
        }
    }

    /// Shrinks the heap back to empty; returns the guest range that stops being
    /// accessible, if `sbrk` had grown it.
    pub fn reset_heap(&mut self) -> Option<(u64, u64)> {
        let heap = self.heap.as_mut()?;
        heap.size = 0;
        let region = self.regions.get_mut(heap.region)?;
        if region.end <= heap.initial_end {
            return None;
        }
        let shrunk = (heap.initial_end, region.end);
        region.end = heap.initial_end;
        self.accessible = self
            .accessible
            .saturating_sub(shrunk.1.saturating_sub(shrunk.0));
        Some(shrunk)
    }
}

/// Checks what the lookups rely on: regions 4 KiB aligned, sorted and disjoint inside
/// `0x10000..=2^32` (empty ones included, so lookups can binary-search), and the heap's
/// largest extent, rounded up to its page size, ending before the next region.
fn validate(regions: &[Region], heap: Option<&Heap>) -> Result<(), LayoutError> {
    let page = u64::from(MIN_PAGE_SIZE);
    let mut previous_end = u64::from(ADDRESS_SPACE_BOTTOM);
    for region in regions {
        let start = u64::from(region.start);
        if !start.is_multiple_of(page) || !region.end.is_multiple_of(page) {
            return invalid_layout("region not aligned to 4 KiB", start);
        }
        if start < previous_end || region.end < start {
            return invalid_layout("region below 0x10000 or overlapping the one before", start);
        }
        if region.end > ADDRESS_SPACE_END {
            return invalid_layout("region past the end of the address space", start);
        }
        previous_end = region.end;
    }
    let Some(heap) = heap else {
        return Ok(());
    };
    let Some(region) = regions.get(heap.region) else {
        return invalid_layout("heap without a region", u64::from(heap.base));
    };
    let base = u64::from(heap.base);
    let page_size = u64::from(heap.page_size);
    if !(u64::from(MIN_PAGE_SIZE)..=u64::from(MAX_PAGE_SIZE)).contains(&page_size)
        || !page_size.is_power_of_two()
    {
        return invalid_layout("heap page size not a power of two in 4..=64 KiB", page_size);
    }
    if !region.writable
        || base < u64::from(region.start)
        || base > region.end
        || region.end != heap.initial_end
        || heap.size != 0
    {
        return invalid_layout("heap base outside the rw data", base);
    }
    let next_start = regions
        .get(heap.region.saturating_add(1))
        .map_or(ADDRESS_SPACE_END, |next| u64::from(next.start));
    let top = base.saturating_add(u64::from(heap.max_size));
    let top_page_end = top.div_ceil(page_size).saturating_mul(page_size);
    if top > u64::from(u32::MAX) || top_page_end > next_start {
        return invalid_layout("heap may grow into the next region", top);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::MemoryMapSizes;

    fn small_standard(limit: u64) -> Result<AccessMap, LayoutError> {
        let map = MemoryMap::new(MemoryMapSizes {
            page_size: 0x1000,
            ro_data_size: 0x1000,
            rw_data_size: 0x10,
            stack_size: 0x2000,
            aux_data_size: 0,
        })
        .unwrap();
        AccessMap::standard(&map, limit)
    }

    #[test]
    fn lookups_respect_region_edges_and_the_top_of_the_address_space() {
        let map = AccessMap::custom(
            &[
                PageMapping {
                    address: 0x10000,
                    length: 0x1000,
                    writable: false,
                },
                PageMapping {
                    address: 0xffff_f000,
                    length: 0x1000,
                    writable: true,
                },
            ],
            u64::MAX,
        )
        .unwrap();
        assert_eq!(map.locate(0x10000, 0x1000), Some((0, 0)));
        assert_eq!(map.locate(0x10001, 0x1000), None);
        assert_eq!(map.locate(0xffff_ffff, 1), Some((1, 0xfff)));
        assert_eq!(map.locate(0xffff_ffff, 2), None);
        assert_eq!(map.locate(0xffff, 1), None);
        assert_eq!(map.check_access(0xffff, 1, false), Err(Fault::Trap));
        assert_eq!(
            map.check_access(0x10fff, 2, false),
            Err(Fault::PageFault(0x11000))
        );
        assert_eq!(
            map.check_access(0x10000, 1, true),
            Err(Fault::PageFault(0x10000))
        );
        assert_eq!(
            map.check_access(0xffff_fffe, 4, true),
            Err(Fault::PageFault(0xffff_f000))
        );
        assert_eq!(map.check_access(0xffff_fffc, 4, true), Ok(()));
        assert_eq!(map.check_mapped(0xffff_fffe, 4), Err(u32::MAX));
        assert_eq!(map.check_mapped(0x10800, 0x1000), Err(0x11000));
    }

    #[test]
    fn sbrk_grows_by_pages_within_the_heap_maximum_and_the_limit() {
        let mut map = small_standard(u64::MAX).unwrap();
        let rw = map.regions()[1];
        let growth = map.plan_sbrk(0x2000).unwrap();
        assert_eq!(growth.top, rw.start + 0x2010);
        assert_eq!(growth.mapped, Some((rw.end, rw.end + 0x2000)));
        map.apply_sbrk(growth);
        assert_eq!(map.heap_size(), 0x2000);
        assert!(map.plan_sbrk(u32::MAX).is_none());
        assert_eq!(map.reset_heap(), Some((rw.end, rw.end + 0x2000)));
        assert_eq!(map.heap_size(), 0);

        let tight = small_standard(0x1000 + 0x1000 + 0x2000 + 0x1000).unwrap();
        assert!(tight.plan_sbrk(0xff0).is_some());
        assert!(tight.plan_sbrk(0xff0 + 0x1001).is_none());
        assert_eq!(
            small_standard(0x1000),
            Err(LayoutError::MemoryLimitExceeded {
                required: 0x4000,
                limit: 0x1000
            })
        );
    }

    #[test]
    fn custom_maps_refuse_what_the_lookups_could_not_handle() {
        let page = |address, length| PageMapping {
            address,
            length,
            writable: false,
        };
        for (pages, reason) in [
            (
                alloc::vec![page(0x10800, 0x1000)],
                "not aligned to 4 KiB pages",
            ),
            (alloc::vec![page(0x10000, 0)], "empty"),
            (
                alloc::vec![page(0xf000, 0x1000)],
                "below 0x10000, which is never mapped",
            ),
            (
                alloc::vec![page(0xffff_f000, 0x2000)],
                "runs past the end of the 32-bit address space",
            ),
            (
                alloc::vec![page(0x20000, 0x2000), page(0x21000, 0x1000)],
                "overlaps another mapping",
            ),
        ] {
            match AccessMap::custom(&pages, u64::MAX) {
                Err(LayoutError::InvalidPageMapping { reason: got, .. }) => assert_eq!(got, reason),
                other => panic!("{pages:?}: {other:?}"),
            }
        }
    }
}
