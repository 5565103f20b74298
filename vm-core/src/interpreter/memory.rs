//! Guest memory for the interpreter: the regions of the shared [`AccessMap`], each backed by
//! a byte vector.
//!
//! What is accessible, how the heap grows and which fault an access raises is the access
//! map's to say (the one model every backend shares); this file only stores bytes. All
//! address arithmetic is `u32`/`u64`; a `usize` is formed only to index a vector after
//! the access map has placed the access inside a region.

#![deny(clippy::arithmetic_side_effects)]

use crate::cast::{u64_from_usize, usize_from_u32};
use crate::memory::{AccessMap, Fault, HeapGrowth, LayoutError, PageMapping};
use crate::program::MemoryMap;
use alloc::vec;
use alloc::vec::Vec;

/// Commit in steps of at least this much, so a guest filling its heap byte by byte takes
/// the slow path once per step.
const COMMIT_STEP: u64 = 64 * 1024;

/// Backing vectors past the access map's regions, empty: the fast path's slots point at
/// them when a layout has no region for them.
const PLACEHOLDERS: usize = 3;

/// The guest's memory.
///
/// Each region of the access map is backed by a vector holding a prefix of it: the rest
/// reads as zero and is committed when first written, so a heap grown by `sbrk` costs
/// nothing until the guest touches it. Every other region is backed whole from the start.
///
/// The two regions most accesses hit (the stack and the read-write data with the heap, or
/// in a custom layout the first two writable regions) and one read-only region (the
/// read-only data, or a custom layout's first read-only region) are handed to the
/// interpreter loop as plain slices (`FastView`); everything else goes through the
/// access map.
#[derive(Clone, Debug)]
pub struct GuestMemory {
    map: AccessMap,
    /// `backing[i]` backs `map.regions()[i]`; [`PLACEHOLDERS`] empty vectors follow.
    backing: Vec<Vec<u8>>,
    /// The backing indexes of the two writable regions of the fast view.
    hot: [usize; 2],
    /// The backing index of the read-only region of the fast view.
    constants: usize,
}

impl GuestMemory {
    /// PolkaVM's standard layout, with the data sections copied in.
    pub fn standard(
        map: &MemoryMap,
        ro_data: &[u8],
        rw_data: &[u8],
        limit: u64,
    ) -> Result<Self, LayoutError> {
        Self::new(
            AccessMap::standard(map, limit)?,
            &[
                (map.ro_data_address, ro_data),
                (map.rw_data_address, rw_data),
            ],
        )
    }

    /// An explicit page map (JAM style): unmapped accesses page-fault.
    pub fn custom(pages: &[PageMapping], limit: u64) -> Result<Self, LayoutError> {
        Self::new(AccessMap::custom(pages, limit)?, &[])
    }

    /// Memory for `map`'s regions, zeroed, then `contents` (`(address, bytes)`, which must
    /// lie in accessible regions) copied in.
    pub fn new(map: AccessMap, contents: &[(u32, &[u8])]) -> Result<Self, LayoutError> {
        map.check_contents(contents)?;
        let too_large = |required| LayoutError::MemoryLimitExceeded {
            required,
            limit: u64_from_usize(isize::MAX.unsigned_abs()),
        };
        let mut backing = Vec::with_capacity(map.regions().len().saturating_add(PLACEHOLDERS));
        for region in map.regions() {
            // The memory limit bounds this; a limit past what the host can address is
            // refused here rather than by a failed allocation.
            let length = usize::try_from(region.len()).map_err(|_| too_large(region.len()))?;
            if length > isize::MAX.unsigned_abs() {
                return Err(too_large(region.len()));
            }
            backing.push(vec![0u8; length]);
        }
        let regions = map.regions().len();
        backing.resize_with(regions.saturating_add(PLACEHOLDERS), Vec::new);
        // Placeholders stand in for slots a layout does not fill; each slot gets its own.
        let mut spare = regions..;
        let mut next_spare = || spare.next().unwrap_or(regions);
        let (hot, constants) = match map.heap_region() {
            // The standard layout: ro data, rw data with the heap, stack, aux data.
            Some(_) => ([2, 1], 0),
            None => {
                let mut writable = map
                    .regions()
                    .iter()
                    .enumerate()
                    .filter(|(_, region)| region.writable)
                    .map(|(index, _)| index);
                let first = writable.next().unwrap_or_else(&mut next_spare);
                let second = writable.next().unwrap_or_else(&mut next_spare);
                let read_only = map
                    .regions()
                    .iter()
                    .position(|region| !region.writable)
                    .unwrap_or_else(&mut next_spare);
                ([first, second], read_only)
            }
        };
        let mut memory = GuestMemory {
            map,
            backing,
            hot,
            constants,
        };
        for &(address, bytes) in contents {
            // Checked above to lie in accessible regions.
            let _ = memory.write(address, bytes);
        }
        Ok(memory)
    }

    /// The access map: what is accessible, the heap, the limit.
    pub fn access_map(&self) -> &AccessMap {
        &self.map
    }

    fn base(&self, index: usize) -> u32 {
        self.map
            .regions()
            .get(index)
            .map_or(0, |region| region.start)
    }

    /// Borrows the stack, the rw data with the heap, and the ro data (as far as they are
    /// backed by host memory) for the interpreter's fast path.
    #[inline(always)]
    pub(crate) fn fast_view(&mut self) -> FastView<'_> {
        let bases = [
            self.base(self.hot[0]),
            self.base(self.hot[1]),
            self.base(self.constants),
        ];
        match self
            .backing
            .get_disjoint_mut([self.hot[0], self.hot[1], self.constants])
        {
            Ok([stack, rw, constants]) => FastView {
                stack_base: bases[0],
                stack,
                rw_base: bases[1],
                rw,
                constants_base: bases[2],
                constants,
            },
            // The slots are distinct and in range by construction; were they not, an
            // empty view sends every access to the slow path, which is still right.
            Err(_) => FastView {
                stack_base: 0,
                stack: &mut [],
                rw_base: 0,
                rw: &mut [],
                constants_base: 0,
                constants: &[],
            },
        }
    }

    /// The byte at `offset` of region `index`, zero where not committed.
    fn byte(&self, index: usize, offset: u32) -> u8 {
        self.backing
            .get(index)
            .and_then(|bytes| bytes.get(usize_from_u32(offset)))
            .copied()
            .unwrap_or(0)
    }

    /// Writes `bytes` at `offset` of region `index`, committing as needed. The caller has
    /// placed `offset..offset + bytes.len()` inside the region.
    fn put(&mut self, index: usize, offset: u32, bytes: &[u8]) {
        if let Some(target) = self.committed_mut(index, offset, bytes.len()) {
            target.copy_from_slice(bytes);
        }
    }

    /// The `length` bytes at `offset` of region `index`, committed. The caller has placed
    /// them inside the region.
    fn committed_mut(&mut self, index: usize, offset: u32, length: usize) -> Option<&mut [u8]> {
        let start = usize_from_u32(offset);
        let end = start.saturating_add(length);
        self.commit(index, end);
        self.backing
            .get_mut(index)
            .and_then(|backing| backing.get_mut(start..end))
    }

    /// Backs region `index` with host memory up to at least `end` bytes (never past its
    /// accessible length, so never past the memory limit).
    fn commit(&mut self, index: usize, end: usize) {
        let length = self
            .map
            .regions()
            .get(index)
            .map_or(0, |region| usize::try_from(region.len()).unwrap_or(0));
        let Some(backing) = self.backing.get_mut(index) else {
            return;
        };
        let committed = backing.len();
        if end <= committed {
            return;
        }
        let step = usize::try_from(COMMIT_STEP).unwrap_or(usize::MAX);
        let new_len = end
            .max(committed.saturating_mul(2))
            .max(committed.saturating_add(step))
            .min(length);
        backing.resize(new_len, 0);
    }

    /// Reads `out.len()` bytes at `address` for the guest: one region's bytes, or, when
    /// the access spans regions that all allow it, byte by byte.
    fn guest_read(&self, address: u32, out: &mut [u8]) -> Result<(), Fault> {
        let length = u32::try_from(out.len()).map_err(|_| Fault::Trap)?;
        if let Some((index, offset)) = self.map.locate(address, length) {
            let start = usize_from_u32(offset);
            match self
                .backing
                .get(index)
                .and_then(|bytes| bytes.get(start..start.saturating_add(out.len())))
            {
                Some(bytes) => out.copy_from_slice(bytes),
                None => self.read_bytes(address, out),
            }
            return Ok(());
        }
        self.map.check_access(address, length, false)?;
        self.read_bytes(address, out);
        Ok(())
    }

    /// Reads mapped bytes one by one (uncommitted ones as zero); the caller checked them.
    fn read_bytes(&self, address: u32, out: &mut [u8]) {
        let mut at = address;
        for byte in out {
            *byte = self
                .map
                .locate(at, 1)
                .map_or(0, |(index, offset)| self.byte(index, offset));
            at = at.wrapping_add(1);
        }
    }

    /// Writes mapped bytes one by one; the caller checked them.
    fn write_bytes(&mut self, address: u32, data: &[u8]) {
        let mut at = address;
        for byte in data {
            if let Some((index, offset)) = self.map.locate(at, 1) {
                self.put(index, offset, core::slice::from_ref(byte));
            }
            at = at.wrapping_add(1);
        }
    }

    /// A guest load of `N` bytes.
    #[inline(never)]
    pub fn load<const N: usize>(&mut self, address: u32) -> Result<[u8; N], Fault> {
        let mut out = [0u8; N];
        let length = u32::try_from(N).map_err(|_| Fault::Trap)?;
        if let Some((index, offset)) = self.map.locate(address, length) {
            // A read of heap not backed yet backs it, as a write would (its pages were
            // paid for when `sbrk` made them accessible): the next access to it takes the
            // fast path rather than this one again.
            let start = usize_from_u32(offset);
            let end = start.saturating_add(N);
            self.commit(index, end);
            if let Some(bytes) = self
                .backing
                .get(index)
                .and_then(|bytes| bytes.get(start..end))
            {
                out.copy_from_slice(bytes);
                return Ok(out);
            }
        }
        self.guest_read(address, &mut out)?;
        Ok(out)
    }

    /// A guest store of `N` bytes.
    #[inline(never)]
    pub fn store<const N: usize>(&mut self, address: u32, bytes: [u8; N]) -> Result<(), Fault> {
        let length = u32::try_from(N).map_err(|_| Fault::Trap)?;
        if let Some((index, offset)) = self.locate_writable(address, length) {
            self.put(index, offset, &bytes);
            return Ok(());
        }
        self.map.check_access(address, length, true)?;
        self.write_bytes(address, &bytes);
        Ok(())
    }

    /// The region and offset of `length` bytes at `address` when they lie in one writable
    /// region: the guest writes' fast path, one region walk (the full check, a second
    /// walk, only on a miss).
    fn locate_writable(&self, address: u32, length: u32) -> Option<(usize, u32)> {
        let (index, offset) = self.map.locate(address, length)?;
        self.map
            .regions()
            .get(index)
            .is_some_and(|region| region.writable)
            .then_some((index, offset))
    }

    /// A guest `memset` of `length` bytes that lie within one page (of the smallest page
    /// size): all or nothing, since access is granted page by page, so a fault names the
    /// first byte, as a store of each byte in turn would.
    pub(crate) fn fill_within_page(
        &mut self,
        address: u32,
        value: u8,
        length: u32,
    ) -> Result<(), Fault> {
        if let Some((index, offset)) = self.locate_writable(address, length) {
            if let Some(target) = self.committed_mut(index, offset, usize_from_u32(length)) {
                target.fill(value);
            }
            return Ok(());
        }
        self.map.check_access(address, length, true)?;
        // Adjoining regions within one page (custom layouts): byte by byte.
        let mut at = address;
        for _ in 0..length {
            self.write_bytes(at, &[value]);
            at = at.wrapping_add(1);
        }
        Ok(())
    }

    /// Host read; ignores write protection. `Err(address)` names the first unmapped byte.
    pub fn read(&self, address: u32, out: &mut [u8]) -> Result<(), u32> {
        self.map.check_mapped(address, u64_from_usize(out.len()))?;
        self.read_bytes_fast(address, out);
        Ok(())
    }

    /// Reads checked bytes region by region.
    fn read_bytes_fast(&self, address: u32, out: &mut [u8]) {
        let mut at = address;
        let mut rest = out;
        while !rest.is_empty() {
            let Some(index) = self.map.region_index(u64::from(at)) else {
                return;
            };
            let Some(region) = self.map.regions().get(index) else {
                return;
            };
            let offset = at.wrapping_sub(region.start);
            let available = region.end.saturating_sub(u64::from(at));
            let take = usize::try_from(available).map_or(rest.len(), |n| n.min(rest.len()));
            let (piece, tail) = rest.split_at_mut(take);
            let backing = self.backing.get(index).map_or(&[][..], Vec::as_slice);
            let committed = backing.get(usize_from_u32(offset)..).unwrap_or(&[]);
            let copied = committed.len().min(piece.len());
            let (from_backing, zeros) = piece.split_at_mut(copied);
            from_backing.copy_from_slice(committed.get(..copied).unwrap_or(&[]));
            zeros.fill(0);
            at = at.wrapping_add(crate::cast::low_u32_of_usize(take));
            rest = tail;
        }
    }

    /// Host write; may write read-only memory (the host initialises it). `Err(address)`
    /// names the first unmapped byte; nothing is written then.
    pub fn write(&mut self, address: u32, data: &[u8]) -> Result<(), u32> {
        self.map.check_mapped(address, u64_from_usize(data.len()))?;
        let mut at = address;
        let mut rest = data;
        while !rest.is_empty() {
            let Some(index) = self.map.region_index(u64::from(at)) else {
                break;
            };
            let Some(region) = self.map.regions().get(index).copied() else {
                break;
            };
            let available = region.end.saturating_sub(u64::from(at));
            let take = usize::try_from(available).map_or(rest.len(), |n| n.min(rest.len()));
            let (piece, tail) = rest.split_at(take);
            self.put(index, at.wrapping_sub(region.start), piece);
            at = at.wrapping_add(crate::cast::low_u32_of_usize(take));
            rest = tail;
        }
        Ok(())
    }

    /// Grows the heap by `size` bytes and returns the new heap top, or `None` when the
    /// heap would pass its maximum or the accessible memory the memory limit (the guest
    /// sees 0). New pages are accessible at once but backed by host memory only when first
    /// written, so committed memory stays within the limit.
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        let growth = self.map.plan_sbrk(size)?;
        self.apply_sbrk(growth);
        Some(growth.top)
    }

    /// Applies a growth [`AccessMap::plan_sbrk`] worked out on this memory's map.
    pub(crate) fn apply_sbrk(&mut self, growth: HeapGrowth) {
        self.map.apply_sbrk(growth);
    }

    /// Bytes `sbrk` has handed out.
    pub fn heap_size(&self) -> u32 {
        self.map.heap_size()
    }

    /// Checks that every byte of `[address, address + length)` is mapped; `Err` names the
    /// first unmapped byte.
    pub fn check_mapped(&self, address: u32, length: u64) -> Result<(), u32> {
        self.map.check_mapped(address, length)
    }

    /// The mapped regions as `(address, bytes, writable)`, in address order. `bytes` is
    /// the part backed by host memory; a heap region may extend past it with zeros (see
    /// [`GuestMemory::read`]).
    pub fn regions(&self) -> impl Iterator<Item = (u32, &[u8], bool)> {
        self.map
            .regions()
            .iter()
            .zip(&self.backing)
            .filter(|(_, bytes)| !bytes.is_empty())
            .map(|(region, bytes)| (region.start, bytes.as_slice(), region.writable))
    }
}

/// The byte range of an `N`-byte access at `address` in a slice backing the guest range
/// from `base`. Where `usize` is 32 bits the end can wrap; it then lies below the start,
/// which every slice lookup refuses, so the access goes to the slow path as it must.
#[inline(always)]
fn span<const N: usize>(base: u32, address: u32) -> core::ops::Range<usize> {
    let offset = usize_from_u32(address.wrapping_sub(base));
    offset..offset.wrapping_add(N)
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
            if let Some(bytes) = data.get(span::<N>(base, address)) {
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
        if let Some(target) = self.stack.get_mut(span::<N>(self.stack_base, address)) {
            target.copy_from_slice(&bytes);
            return true;
        }
        if let Some(target) = self.rw.get_mut(span::<N>(self.rw_base, address)) {
            target.copy_from_slice(&bytes);
            return true;
        }
        false
    }
}
