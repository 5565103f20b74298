//! Guest memory for the interpreter: a handful of regions, each a byte vector at a base
//! address, checked on every access.

use crate::program::{MemoryMap, ADDRESS_SPACE_BOTTOM, MIN_PAGE_SIZE};
use alloc::vec;
use alloc::vec::Vec;

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

/// A mapped range. Only `data` is backed by host memory; the bytes from `data.len()` up to
/// `size` read as zero and are committed on first access, so a heap grown by `sbrk` costs
/// nothing until the guest touches it.
#[derive(Clone, Debug)]
struct Region {
    base: u32,
    size: usize,
    data: Vec<u8>,
    writable: bool,
}

/// Commit in steps of at least this much, so a guest filling its heap byte by byte takes
/// the slow path once per step.
const COMMIT_STEP: usize = 64 * 1024;

#[derive(Clone, Debug)]
struct Heap {
    region: usize,
    base: u32,
    size: u32,
    max_size: u32,
    page_size: u32,
}

/// The guest's memory.
///
/// The two regions most accesses hit (the stack and the read-write data with the heap, or
/// in a custom layout the first two writable regions) sit in `hot` and are checked without
/// a loop; loads also check `constants` inline (read-only data: constant tables, or the
/// first read-only region of a custom layout); the rest are in `cold`. Regions are
/// addressed by one index: `0..2` are `hot`, 2 is `constants`,
/// the rest `cold`.
#[derive(Clone, Debug)]
pub struct GuestMemory {
    hot: [Region; 2],
    constants: Region,
    cold: Vec<Region>,
    heap: Option<Heap>,
    fault_mode: FaultMode,
    /// Bytes that may be mapped at most (heap growth past it fails).
    limit: u64,
    /// Bytes mapped now; committed memory never exceeds it.
    mapped: u64,
}

/// A region to map in a custom layout.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct PageMapping {
    /// First address (a multiple of 4 KiB).
    pub address: u32,
    /// Length in bytes (a multiple of 4 KiB).
    pub length: u32,
    /// Whether the guest may write it.
    pub writable: bool,
}

/// The memory limit would be exceeded.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct MemoryLimitExceeded {
    /// Bytes the layout needs.
    pub required: u64,
    /// The configured limit.
    pub limit: u64,
}

impl GuestMemory {
    /// PolkaVM's standard layout, with the data sections copied in.
    pub fn standard(
        map: &MemoryMap,
        ro_data: &[u8],
        rw_data: &[u8],
        limit: u64,
    ) -> Result<Self, MemoryLimitExceeded> {
        let required = u64::from(map.ro_data_size)
            + u64::from(map.rw_data_size)
            + u64::from(map.stack_address_high - map.stack_address_low)
            + u64::from(map.aux_data_size);
        if required > limit {
            return Err(MemoryLimitExceeded { required, limit });
        }
        let region = |base: u32, size: u32, init: &[u8], writable: bool| {
            let mut data = vec![0u8; size as usize];
            data[..init.len()].copy_from_slice(init);
            Region {
                base,
                size: size as usize,
                data,
                writable,
            }
        };
        // Most accesses hit the stack, then globals and the heap: check those first.
        let stack_size = map.stack_address_high - map.stack_address_low;
        let hot = [
            region(map.stack_address_low, stack_size, &[], true),
            region(map.rw_data_address, map.rw_data_size, rw_data, true),
        ];
        let constants = region(map.ro_data_address, map.ro_data_size, ro_data, false);
        let cold = vec![region(map.aux_data_address, map.aux_data_size, &[], false)];
        Ok(GuestMemory {
            hot,
            constants,
            cold,
            heap: Some(Heap {
                region: 1,
                base: map.heap_base,
                size: 0,
                max_size: map.max_heap_size,
                page_size: map.page_size,
            }),
            fault_mode: FaultMode::Trap,
            limit,
            mapped: required,
        })
    }

    /// An explicit page map (JAM style): unmapped accesses page-fault.
    pub fn custom(pages: &[PageMapping], limit: u64) -> Result<Self, MemoryLimitExceeded> {
        let mut sorted: Vec<PageMapping> = pages.to_vec();
        sorted.sort_by_key(|p| p.address);
        let mut regions: Vec<Region> = Vec::new();
        let mut required = 0u64;
        for page in sorted {
            required += u64::from(page.length);
            if required > limit {
                return Err(MemoryLimitExceeded { required, limit });
            }
            // Merge with the previous region when contiguous and alike.
            if let Some(last) = regions.last_mut() {
                if last.writable == page.writable
                    && u64::from(last.base) + last.data.len() as u64 == u64::from(page.address)
                {
                    last.data.resize(last.data.len() + page.length as usize, 0);
                    last.size = last.data.len();
                    continue;
                }
            }
            regions.push(Region {
                base: page.address,
                size: page.length as usize,
                data: vec![0; page.length as usize],
                writable: page.writable,
            });
        }
        // The first two writable regions are hot; empty writable placeholders match nothing.
        let empty = || Region {
            base: 0,
            size: 0,
            data: Vec::new(),
            writable: true,
        };
        let mut hot = [empty(), empty()];
        let mut constants = None;
        let mut cold = Vec::new();
        let mut hot_count = 0;
        for region in regions {
            if region.writable && hot_count < 2 {
                hot[hot_count] = region;
                hot_count += 1;
            } else if !region.writable && constants.is_none() {
                constants = Some(region);
            } else {
                cold.push(region);
            }
        }
        let constants = constants.unwrap_or_else(|| Region {
            writable: false,
            ..empty()
        });
        Ok(GuestMemory {
            hot,
            constants,
            cold,
            heap: None,
            fault_mode: FaultMode::PageFault,
            limit,
            mapped: required,
        })
    }

    #[inline(always)]
    fn region(&self, index: usize) -> &Region {
        match index {
            0 | 1 => &self.hot[index],
            2 => &self.constants,
            _ => &self.cold[index - 3],
        }
    }

    #[inline(always)]
    fn region_mut(&mut self, index: usize) -> &mut Region {
        match index {
            0 | 1 => &mut self.hot[index],
            2 => &mut self.constants,
            _ => &mut self.cold[index - 3],
        }
    }

    /// Borrows the stack, the rw data with the heap, and the ro data (as far as they are
    /// backed by host memory) for the interpreter's fast path.
    #[inline(always)]
    pub(crate) fn fast_view(&mut self) -> FastView<'_> {
        let [stack, rw] = &mut self.hot;
        FastView {
            stack_base: stack.base,
            stack: &mut stack.data,
            rw_base: rw.base,
            rw: &mut rw.data,
            constants_base: self.constants.base,
            constants: &self.constants.data,
        }
    }

    /// Every region, in index order.
    fn all_regions(&self) -> impl Iterator<Item = &Region> {
        self.hot
            .iter()
            .chain(core::iter::once(&self.constants))
            .chain(&self.cold)
    }

    fn locate(&self, address: u32, length: usize) -> Option<(usize, usize)> {
        for (index, region) in self.all_regions().enumerate() {
            let offset = address.wrapping_sub(region.base) as usize;
            if offset + length <= region.size {
                return Some((index, offset));
            }
        }
        None
    }

    /// Whether the byte at `address` is mapped (and writable, if `write`).
    fn byte_accessible(&self, address: u32, write: bool) -> bool {
        self.locate(address, 1)
            .is_some_and(|(index, _)| !write || self.region(index).writable)
    }

    /// Works out why an access failed, or performs it byte by byte when it spans regions
    /// that are all accessible.
    #[cold]
    fn slow_access(
        &mut self,
        address: u32,
        length: usize,
        write: Option<&[u8]>,
        read: &mut [u8],
    ) -> Result<(), Fault> {
        if address < ADDRESS_SPACE_BOTTOM {
            return Err(Fault::Trap);
        }
        for n in 0..length {
            let Some(byte_address) = address.checked_add(n as u32) else {
                return Err(self.fault_at(u32::MAX));
            };
            if !self.byte_accessible(byte_address, write.is_some()) {
                return Err(self.fault_at(byte_address));
            }
        }
        match write {
            Some(bytes) => {
                for (n, byte) in bytes.iter().enumerate() {
                    let (index, offset) =
                        self.locate(address + n as u32, 1).expect("checked above");
                    self.commit(index, offset + 1);
                    self.region_mut(index).data[offset] = *byte;
                }
            }
            None => {
                // Reading mapped but uncommitted memory gives zeros and commits nothing.
                for (n, out) in read.iter_mut().enumerate() {
                    let (index, offset) =
                        self.locate(address + n as u32, 1).expect("checked above");
                    *out = self.region(index).data.get(offset).copied().unwrap_or(0);
                }
            }
        }
        Ok(())
    }

    /// Backs region `index` with host memory up to at least `end` bytes (never past its
    /// mapped size, so never past the memory limit).
    fn commit(&mut self, index: usize, end: usize) {
        let region = self.region_mut(index);
        let committed = region.data.len();
        if end <= committed {
            return;
        }
        let new_len = end
            .max(committed * 2)
            .max(committed + COMMIT_STEP)
            .min(region.size);
        region.data.resize(new_len, 0);
    }

    fn fault_at(&self, address: u32) -> Fault {
        match self.fault_mode {
            FaultMode::Trap => Fault::Trap,
            FaultMode::PageFault => Fault::PageFault(address & !(MIN_PAGE_SIZE - 1)),
        }
    }

    /// A guest load of `N` bytes.
    #[inline(always)]
    pub fn load<const N: usize>(&mut self, address: u32) -> Result<[u8; N], Fault> {
        // The slice lookup is both the region check and the bounds check.
        for region in [&self.hot[0], &self.hot[1], &self.constants] {
            let offset = address.wrapping_sub(region.base) as usize;
            if let Some(bytes) = region.data.get(offset..offset + N) {
                let mut out = [0u8; N];
                out.copy_from_slice(bytes);
                return Ok(out);
            }
        }
        self.load_slow(address)
    }

    #[inline(never)]
    fn load_slow<const N: usize>(&mut self, address: u32) -> Result<[u8; N], Fault> {
        let mut out = [0u8; N];
        for region in &self.cold {
            let offset = address.wrapping_sub(region.base) as usize;
            if let Some(bytes) = region.data.get(offset..offset + N) {
                out.copy_from_slice(bytes);
                return Ok(out);
            }
        }
        self.slow_access(address, N, None, &mut out)?;
        Ok(out)
    }

    /// A guest store of `N` bytes.
    #[inline(always)]
    pub fn store<const N: usize>(&mut self, address: u32, bytes: [u8; N]) -> Result<(), Fault> {
        // Hot regions are always writable.
        for region in &mut self.hot {
            let offset = address.wrapping_sub(region.base) as usize;
            if let Some(target) = region.data.get_mut(offset..offset + N) {
                target.copy_from_slice(&bytes);
                return Ok(());
            }
        }
        self.store_slow(address, bytes)
    }

    #[cold]
    #[inline(never)]
    fn store_slow<const N: usize>(&mut self, address: u32, bytes: [u8; N]) -> Result<(), Fault> {
        self.slow_access(address, N, Some(&bytes), &mut [])
    }

    /// Host read; ignores write protection. `Err(address)` names the first unmapped byte.
    pub fn read(&self, address: u32, out: &mut [u8]) -> Result<(), u32> {
        if let Some((index, offset)) = self.locate(address, out.len()) {
            if let Some(bytes) = self.region(index).data.get(offset..offset + out.len()) {
                out.copy_from_slice(bytes);
                return Ok(());
            }
        }
        for (n, byte) in out.iter_mut().enumerate() {
            let at = address.checked_add(n as u32).ok_or(u32::MAX)?;
            let (index, offset) = self.locate(at, 1).ok_or(at)?;
            // Uncommitted bytes read as zero.
            *byte = self.region(index).data.get(offset).copied().unwrap_or(0);
        }
        Ok(())
    }

    /// Host write; may write read-only memory (the host initialises it). `Err(address)`
    /// names the first unmapped byte.
    pub fn write(&mut self, address: u32, data: &[u8]) -> Result<(), u32> {
        for n in 0..data.len() {
            let at = address.checked_add(n as u32).ok_or(u32::MAX)?;
            self.locate(at, 1).ok_or(at)?;
        }
        for (n, byte) in data.iter().enumerate() {
            let (index, offset) = self.locate(address + n as u32, 1).expect("checked above");
            self.commit(index, offset + 1);
            self.region_mut(index).data[offset] = *byte;
        }
        Ok(())
    }

    /// Grows the heap by `size` bytes and returns the new heap top, or `None` when the
    /// heap would pass its maximum or the mapped memory the memory limit (the guest sees
    /// 0). New pages are mapped at once but backed by host memory only when first written,
    /// so committed memory stays within the limit and no access traps on it.
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        let heap = self.heap.as_mut()?;
        let new_size = heap.size.checked_add(size)?;
        if new_size > heap.max_size {
            return None;
        }
        let top = heap.base + new_size;
        let page = u64::from(heap.page_size);
        let region = match heap.region {
            0 | 1 => &mut self.hot[heap.region],
            _ => unreachable!("the heap is always a hot region"),
        };
        let mapped_end = (u64::from(top).div_ceil(page) * page - u64::from(region.base)) as usize;
        let growth = mapped_end.saturating_sub(region.size) as u64;
        if self.mapped + growth > self.limit {
            return None;
        }
        self.mapped += growth;
        region.size = region.size.max(mapped_end);
        heap.size = new_size;
        Some(top)
    }

    /// Bytes `sbrk` has handed out.
    pub fn heap_size(&self) -> u32 {
        self.heap.as_ref().map_or(0, |heap| heap.size)
    }

    /// Checks that every byte of `[address, address + length)` is mapped, region by
    /// region; `Err` names the first unmapped byte.
    pub fn check_mapped(&self, address: u32, length: u64) -> Result<(), u32> {
        let end = u64::from(address) + length;
        let mut at = u64::from(address);
        while at < end {
            let here = u32::try_from(at).map_err(|_| u32::MAX)?;
            let (index, offset) = self.locate(here, 1).ok_or(here)?;
            at += (self.region(index).size - offset) as u64;
        }
        Ok(())
    }

    /// The mapped regions as `(address, bytes, writable)`, in lookup order. `bytes` is the
    /// part backed by host memory; a heap region may extend past it with zeros (see
    /// [`GuestMemory::read`]).
    pub fn regions(&self) -> impl Iterator<Item = (u32, &[u8], bool)> {
        self.all_regions()
            .filter(|r| !r.data.is_empty())
            .map(|r| (r.base, r.data.as_slice(), r.writable))
    }
}

/// The regions most accesses hit, as plain slices: inside the interpreter loop the compiler
/// may keep their bases and lengths in registers, which it cannot do through the memory
/// struct (a guest store through a byte pointer could, as far as it knows, change them).
pub(crate) struct FastView<'a> {
    stack_base: u32,
    stack: &'a mut [u8],
    rw_base: u32,
    rw: &'a mut [u8],
    constants_base: u32,
    constants: &'a [u8],
}

impl FastView<'_> {
    /// A load the fast path can serve, or `None` for the slow path.
    #[inline(always)]
    pub(crate) fn load<const N: usize>(&self, address: u32) -> Option<[u8; N]> {
        for (base, data) in [
            (self.stack_base, &*self.stack),
            (self.rw_base, &*self.rw),
            (self.constants_base, self.constants),
        ] {
            let offset = address.wrapping_sub(base) as usize;
            if let Some(bytes) = data.get(offset..offset + N) {
                let mut out = [0u8; N];
                out.copy_from_slice(bytes);
                return Some(out);
            }
        }
        None
    }

    /// Performs a store the fast path can serve (stack, rw data and heap: all writable);
    /// `false` sends it to the slow path.
    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, address: u32, bytes: [u8; N]) -> bool {
        let offset = address.wrapping_sub(self.stack_base) as usize;
        if let Some(target) = self.stack.get_mut(offset..offset + N) {
            target.copy_from_slice(&bytes);
            return true;
        }
        let offset = address.wrapping_sub(self.rw_base) as usize;
        if let Some(target) = self.rw.get_mut(offset..offset + N) {
            target.copy_from_slice(&bytes);
            return true;
        }
        false
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
