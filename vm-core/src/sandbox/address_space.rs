//! A guest's 4 GiB address space as one host reservation (see the [module docs](super)).
//!
//! The semantics are the interpreter's `GuestMemory`, with one deliberate difference: the
//! memory limit counts the bytes made *accessible* (mapped into the guest), and `sbrk`
//! refuses to grow the heap past it, where the interpreter maps the heap and traps when a
//! touch would commit past the limit.

pub use crate::interpreter::Fault;
use crate::interpreter::{FaultMode, PageMapping};
use crate::program::{MemoryMap, ADDRESS_SPACE_BOTTOM, MIN_PAGE_SIZE};
use core::fmt;
use core::ptr::NonNull;
use std::io;
use std::vec::Vec;

/// Bytes of the read-write VM context the JIT keeps just below guest address 0
/// (`context_ptr() == base() - CONTEXT_SIZE`).
pub const CONTEXT_SIZE: usize = 0x4000;
/// Bytes of guest address space: every `u32` address.
pub const GUEST_ADDRESS_SPACE_SIZE: usize = 1 << 32;
/// Bytes of never-accessible reservation after guest address `2^32 - 1`. Every
/// `base + a + k` with `a: u32` and `k < TRAILING_GUARD_SIZE` lies in the reservation.
pub const TRAILING_GUARD_SIZE: usize = 0x10000;
/// Bytes of the whole reservation.
pub const RESERVATION_SIZE: usize = CONTEXT_SIZE + GUEST_ADDRESS_SPACE_SIZE + TRAILING_GUARD_SIZE;
/// The host page size the address space is built for (x86-64 Linux).
pub const HOST_PAGE_SIZE: usize = 0x1000;

// The JIT's widest access is 8 bytes; the guard leaves room for a folded displacement on top.
const _: () =
    assert!(TRAILING_GUARD_SIZE >= 16 && TRAILING_GUARD_SIZE.is_multiple_of(HOST_PAGE_SIZE));
const _: () = assert!(CONTEXT_SIZE.is_multiple_of(HOST_PAGE_SIZE));
const _: () = assert!((MIN_PAGE_SIZE as usize).is_multiple_of(HOST_PAGE_SIZE));

/// Why an address space cannot be built or reset.
#[derive(Debug)]
pub enum AddressSpaceError {
    /// The layout makes more bytes accessible than the memory limit allows.
    MemoryLimitExceeded {
        /// Bytes the layout makes accessible.
        required: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Initial data is longer than the region it goes into.
    DataTooLarge {
        /// Which region (`"ro data"`, `"rw data"`).
        region: &'static str,
        /// Bytes of data.
        length: usize,
        /// Bytes of the region.
        size: u32,
    },
    /// A custom mapping's address or length is not a multiple of 4 KiB.
    UnalignedMapping {
        /// Start of the mapping.
        address: u32,
        /// Its length.
        length: u32,
    },
    /// A custom mapping starts below 0x10000 or runs past the end of the address space.
    MappingOutOfRange {
        /// Start of the mapping.
        address: u32,
        /// Its length.
        length: u32,
    },
    /// Two custom mappings share a page.
    OverlappingMappings {
        /// Start of the mapping that overlaps the one before it.
        address: u32,
        /// End of the mapping before it.
        previous_end: u64,
    },
    /// Initial contents of a custom layout fall outside its mappings.
    ContentsOutsideMappings {
        /// Start of the contents.
        address: u32,
        /// Their length.
        length: usize,
        /// The first byte not mapped.
        first_unmapped: u32,
    },
    /// A memory map's regions are not page-aligned, sorted and disjoint inside
    /// `0x10000..2^32`, or its heap does not fit between the rw data and the next region
    /// (only possible for a hand-made `MemoryMap`; `MemoryMap::new` builds valid ones).
    InvalidLayout {
        /// What is wrong.
        reason: &'static str,
        /// The address concerned.
        address: u64,
    },
    /// The host's page size is not the 4 KiB the layout is built for.
    UnsupportedHostPageSize(usize),
    /// An OS call failed.
    Os {
        /// The call (`"mmap"`, `"mprotect"`, `"madvise"`).
        call: &'static str,
        /// Bytes it covered.
        length: usize,
        /// What the OS said.
        error: io::Error,
    },
}

impl fmt::Display for AddressSpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressSpaceError::MemoryLimitExceeded { required, limit } => write!(
                f,
                "the layout makes {required} bytes of guest memory accessible, the limit is {limit}"
            ),
            AddressSpaceError::DataTooLarge { region, length, size } => write!(
                f,
                "{length} bytes of {region} do not fit its region of {size} bytes"
            ),
            AddressSpaceError::UnalignedMapping { address, length } => write!(
                f,
                "mapping of {length:#x} bytes at {address:#x} is not aligned to 4 KiB"
            ),
            AddressSpaceError::MappingOutOfRange { address, length } => write!(
                f,
                "mapping of {length:#x} bytes at {address:#x} is outside 0x10000..0x100000000"
            ),
            AddressSpaceError::OverlappingMappings {
                address,
                previous_end,
            } => write!(
                f,
                "mapping at {address:#x} overlaps the previous one, which ends at {previous_end:#x}"
            ),
            AddressSpaceError::ContentsOutsideMappings {
                address,
                length,
                first_unmapped,
            } => write!(
                f,
                "{length} bytes of contents at {address:#x} reach unmapped memory at {first_unmapped:#x}"
            ),
            AddressSpaceError::InvalidLayout { reason, address } => {
                write!(f, "invalid memory layout at {address:#x}: {reason}")
            }
            AddressSpaceError::UnsupportedHostPageSize(size) => {
                write!(f, "host page size is {size:#x} bytes, only 0x1000 is supported")
            }
            AddressSpaceError::Os {
                call,
                length,
                error,
            } => write!(f, "{call} of {length:#x} bytes failed: {error}"),
        }
    }
}

impl std::error::Error for AddressSpaceError {}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Protection {
    None,
    Read,
    ReadWrite,
}

impl Protection {
    fn flags(self) -> libc::c_int {
        match self {
            Protection::None => libc::PROT_NONE,
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        }
    }
}

/// The owned `mmap` reservation; unmapped on drop. Offsets are from its start.
struct Reservation {
    start: NonNull<u8>,
}

impl Reservation {
    fn new() -> Result<Reservation, AddressSpaceError> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing
        // (`addr` null, no `MAP_FIXED`) replaces nothing; it is PROT_NONE and reserves
        // address space only (`MAP_NORESERVE`: no commit charge). No fd is involved.
        let start = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                RESERVATION_SIZE,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(os_error("mmap", RESERVATION_SIZE));
        }
        let start = NonNull::new(start.cast::<u8>()).ok_or_else(|| AddressSpaceError::Os {
            call: "mmap",
            length: RESERVATION_SIZE,
            error: io::Error::other("mmap returned a null pointer"),
        })?;
        Ok(Reservation { start })
    }

    fn checked_range(offset: usize, length: usize) {
        assert!(
            offset.is_multiple_of(HOST_PAGE_SIZE)
                && length.is_multiple_of(HOST_PAGE_SIZE)
                && offset <= RESERVATION_SIZE
                && length <= RESERVATION_SIZE - offset,
            "range {offset:#x}+{length:#x} is not page-aligned inside the reservation"
        );
    }

    /// Sets the protection of `offset..offset + length` (page-aligned, inside).
    fn protect(
        &self,
        offset: usize,
        length: usize,
        protection: Protection,
    ) -> Result<(), AddressSpaceError> {
        Self::checked_range(offset, length);
        if length == 0 {
            return Ok(());
        }
        // SAFETY: the range is page-aligned and inside our own reservation (checked above),
        // so no memory of anyone else changes protection. Nothing in Rust holds a reference
        // into the reservation (guest memory is only reached through raw pointers, and only
        // after the bookkeeping says the pages are accessible), so no reference is
        // invalidated by making pages inaccessible.
        let result = unsafe {
            libc::mprotect(
                self.start.as_ptr().add(offset).cast(),
                length,
                protection.flags(),
            )
        };
        if result != 0 {
            return Err(os_error("mprotect", length));
        }
        Ok(())
    }

    /// Drops the contents of `offset..offset + length` (page-aligned, inside): the pages
    /// read as zero afterwards and give their memory back to the OS.
    fn discard(&self, offset: usize, length: usize) -> Result<(), AddressSpaceError> {
        Self::checked_range(offset, length);
        if length == 0 {
            return Ok(());
        }
        // SAFETY: the range is page-aligned and inside our own private anonymous mapping
        // (checked above); `MADV_DONTNEED` there only replaces the pages with zero-fill on
        // demand. No Rust reference points into guest memory, so no value changes under one.
        let result = unsafe {
            libc::madvise(
                self.start.as_ptr().add(offset).cast(),
                length,
                libc::MADV_DONTNEED,
            )
        };
        if result != 0 {
            return Err(os_error("madvise", length));
        }
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: `start` and `RESERVATION_SIZE` are exactly what `mmap` returned and was
        // asked for; the reservation is owned by `self` alone, and nothing can reach it after
        // the drop (the address space that owns it is being dropped).
        let result = unsafe { libc::munmap(self.start.as_ptr().cast(), RESERVATION_SIZE) };
        debug_assert_eq!(result, 0, "munmap failed: {}", io::Error::last_os_error());
    }
}

fn os_error(call: &'static str, length: usize) -> AddressSpaceError {
    AddressSpaceError::Os {
        call,
        length,
        error: io::Error::last_os_error(),
    }
}

/// An accessible guest range, `start..end`, both multiples of 4 KiB.
#[derive(Copy, Clone, Debug)]
struct Region {
    start: u32,
    end: u64,
    writable: bool,
    /// A read-only region the host has written since the last reset.
    host_dirty: bool,
}

#[derive(Copy, Clone, Debug)]
struct Heap {
    /// Index of the region the heap grows (the rw data).
    region: usize,
    base: u32,
    size: u32,
    max_size: u32,
    page_size: u32,
    /// End of that region before any `sbrk`.
    initial_end: u64,
}

/// A guest's memory: a 4 GiB host reservation with the layout's pages accessible and
/// everything else `PROT_NONE`, plus a read-write context area just below guest address 0.
///
/// JIT code reaches guest address `a` at `base() + a`; the host goes through
/// [`read`](Self::read) and [`write`](Self::write), which consult the layout and never
/// touch inaccessible pages.
///
/// The memory limit counts bytes made accessible to the guest: the layout's regions at
/// construction, plus the pages `sbrk` adds. Growing past it fails (`sbrk` returns `None`).
/// Host memory is committed only when a page is first touched.
///
/// Each live address space takes [`RESERVATION_SIZE`] (4 GiB and a bit) of virtual address
/// space, so a process with the usual 47-bit user space holds at most about 30,000 at once,
/// and about ten kernel mappings (VMAs) against the per-process limit (`vm.max_map_count`,
/// 65,530 by default). The reservation is returned on drop.
pub struct GuestAddressSpace {
    reservation: Reservation,
    /// Accessible regions, sorted by address, disjoint. The heap's may be empty.
    regions: Vec<Region>,
    heap: Option<Heap>,
    fault_mode: FaultMode,
    memory_limit: u64,
    /// Sum of the regions' sizes.
    accessible: u64,
    /// Data copied in at construction and by `reset`: `(guest address, bytes)`.
    initial: Vec<(u32, Vec<u8>)>,
}

// SAFETY: the reservation is owned by this value alone and is a plain process-wide mapping,
// valid from any thread; nothing in the address space is tied to the thread that built it.
// Raw pointers handed out by `base()` and friends are the caller's to use soundly.
unsafe impl Send for GuestAddressSpace {}
// SAFETY: every method that changes the mapping's contents or protections takes `&mut
// self`; through `&self` the memory is only read, which any number of threads may do at
// once. (Instances of the JIT backend stay `Sync`, as interpreter instances are.)
unsafe impl Sync for GuestAddressSpace {}

impl fmt::Debug for GuestAddressSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestAddressSpace")
            .field("base", &self.base())
            .field("regions", &self.regions)
            .field("heap", &self.heap)
            .field("fault_mode", &self.fault_mode)
            .field("memory_limit", &self.memory_limit)
            .field("accessible", &self.accessible)
            .finish_non_exhaustive()
    }
}

/// Checks what the bookkeeping relies on: regions page-aligned, sorted and disjoint inside
/// `0x10000..2^32` (empty ones included, so lookups can binary-search), and the heap's
/// largest extent, rounded up to its page size, ending before the next region.
fn validate(regions: &[Region], heap: Option<&Heap>) -> Result<(), AddressSpaceError> {
    let invalid = |reason, address| Err(AddressSpaceError::InvalidLayout { reason, address });
    let page = MIN_PAGE_SIZE as u64;
    let mut previous_end = u64::from(ADDRESS_SPACE_BOTTOM);
    for region in regions {
        let start = u64::from(region.start);
        if !start.is_multiple_of(page) || !region.end.is_multiple_of(page) {
            return invalid("region not aligned to 4 KiB", start);
        }
        if start < previous_end || region.end < start {
            return invalid("region below 0x10000 or overlapping the one before", start);
        }
        if region.end > GUEST_ADDRESS_SPACE_SIZE as u64 {
            return invalid("region past the end of the address space", start);
        }
        previous_end = region.end;
    }
    if let Some(heap) = heap {
        let Some(region) = regions.get(heap.region) else {
            return invalid("heap without a region", u64::from(heap.base));
        };
        let base = u64::from(heap.base);
        let page_size = u64::from(heap.page_size);
        if !(u64::from(MIN_PAGE_SIZE)..=0x10000).contains(&page_size)
            || !page_size.is_power_of_two()
        {
            return invalid("heap page size not a power of two in 4..=64 KiB", page_size);
        }
        if base < u64::from(region.start) || base > region.end || region.end != heap.initial_end {
            return invalid("heap base outside the rw data", base);
        }
        let top = base + u64::from(heap.max_size);
        let limit = regions
            .get(heap.region + 1)
            .map_or(GUEST_ADDRESS_SPACE_SIZE as u64, |next| {
                u64::from(next.start)
            });
        if top > u64::from(u32::MAX) || top.div_ceil(page_size) * page_size > limit {
            return invalid("heap may grow into the next region", top);
        }
    }
    Ok(())
}

/// What a fault at guest `address` means under `mode` (see
/// [`GuestAddressSpace::fault_kind`]); also used by the fault handler, which has no
/// address space at hand.
pub(crate) fn fault_kind(mode: FaultMode, address: u32) -> Fault {
    match mode {
        FaultMode::Trap => Fault::Trap,
        FaultMode::PageFault if address < ADDRESS_SPACE_BOTTOM => Fault::Trap,
        FaultMode::PageFault => Fault::PageFault(address & !(MIN_PAGE_SIZE - 1)),
    }
}

fn guest_offset(address: u64) -> usize {
    CONTEXT_SIZE + address as usize
}

impl GuestAddressSpace {
    /// PolkaVM's standard layout: read-only data (`PROT_READ`), read-write data and the
    /// heap after it, the stack (`PROT_READ | PROT_WRITE`), aux data (`PROT_READ`), with
    /// `ro_data` and `rw_data` copied to the start of their regions. Accessing anything
    /// else traps. The limit check is the interpreter's: the four regions' sizes.
    pub fn standard(
        map: &MemoryMap,
        ro_data: &[u8],
        rw_data: &[u8],
        memory_limit: u64,
    ) -> Result<Self, AddressSpaceError> {
        for (region, length, size) in [
            ("ro data", ro_data.len(), map.ro_data_size),
            ("rw data", rw_data.len(), map.rw_data_size),
        ] {
            if length > size as usize {
                return Err(AddressSpaceError::DataTooLarge {
                    region,
                    length,
                    size,
                });
            }
        }
        let region = |start: u32, end: u64, writable: bool| Region {
            start,
            end,
            writable,
            host_dirty: false,
        };
        let end = |start: u32, size: u32| u64::from(start) + u64::from(size);
        let regions = [
            region(
                map.ro_data_address,
                end(map.ro_data_address, map.ro_data_size),
                false,
            ),
            region(
                map.rw_data_address,
                end(map.rw_data_address, map.rw_data_size),
                true,
            ),
            // A hand-made map with the stack's ends swapped is refused by `validate`.
            region(
                map.stack_address_low,
                u64::from(map.stack_address_high),
                true,
            ),
            region(
                map.aux_data_address,
                end(map.aux_data_address, map.aux_data_size),
                false,
            ),
        ];
        let heap = Heap {
            region: 1,
            base: map.heap_base,
            size: 0,
            max_size: map.max_heap_size,
            page_size: map.page_size,
            initial_end: regions[1].end,
        };
        let initial = [
            (map.ro_data_address, ro_data),
            (map.rw_data_address, rw_data),
        ];
        Self::build(
            regions.to_vec(),
            Some(heap),
            FaultMode::Trap,
            &initial,
            memory_limit,
        )
    }

    /// An explicit page map (JAM style): each mapping's pages readable, and writable if it
    /// says so; `contents` copied in. Accessing anything else page-faults (below 0x10000:
    /// traps). Mappings must be 4 KiB aligned, lie in `0x10000..2^32` and not overlap;
    /// adjacent ones with the same protection merge. There is no heap: `sbrk` returns
    /// `None`.
    pub fn custom(
        pages: &[PageMapping],
        contents: &[(u32, &[u8])],
        memory_limit: u64,
    ) -> Result<Self, AddressSpaceError> {
        let mut sorted: Vec<PageMapping> = pages.iter().copied().filter(|p| p.length > 0).collect();
        sorted.sort_by_key(|p| p.address);
        let mut regions: Vec<Region> = Vec::with_capacity(sorted.len());
        for page in sorted {
            let (address, length) = (page.address, page.length);
            if !address.is_multiple_of(MIN_PAGE_SIZE) || !length.is_multiple_of(MIN_PAGE_SIZE) {
                return Err(AddressSpaceError::UnalignedMapping { address, length });
            }
            let end = u64::from(address) + u64::from(length);
            if address < ADDRESS_SPACE_BOTTOM || end > GUEST_ADDRESS_SPACE_SIZE as u64 {
                return Err(AddressSpaceError::MappingOutOfRange { address, length });
            }
            if let Some(last) = regions.last_mut() {
                if last.end > u64::from(address) {
                    return Err(AddressSpaceError::OverlappingMappings {
                        address,
                        previous_end: last.end,
                    });
                }
                if last.end == u64::from(address) && last.writable == page.writable {
                    last.end = end;
                    continue;
                }
            }
            regions.push(Region {
                start: address,
                end,
                writable: page.writable,
                host_dirty: false,
            });
        }
        Self::build(regions, None, FaultMode::PageFault, contents, memory_limit)
    }

    fn build(
        regions: Vec<Region>,
        heap: Option<Heap>,
        fault_mode: FaultMode,
        initial: &[(u32, &[u8])],
        memory_limit: u64,
    ) -> Result<Self, AddressSpaceError> {
        // SAFETY: `sysconf` only reads a system constant.
        let host_page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if host_page != HOST_PAGE_SIZE as libc::c_long {
            return Err(AddressSpaceError::UnsupportedHostPageSize(
                host_page.max(0) as usize
            ));
        }
        validate(&regions, heap.as_ref())?;
        let accessible: u64 = regions.iter().map(|r| r.end - u64::from(r.start)).sum();
        if accessible > memory_limit {
            return Err(AddressSpaceError::MemoryLimitExceeded {
                required: accessible,
                limit: memory_limit,
            });
        }
        let mut space = GuestAddressSpace {
            reservation: Reservation::new()?,
            regions,
            heap,
            fault_mode,
            memory_limit,
            accessible,
            initial: Vec::new(),
        };
        for &(address, bytes) in initial {
            if bytes.is_empty() {
                continue;
            }
            if let Err(first_unmapped) = space.check_mapped(address, bytes.len() as u64) {
                return Err(AddressSpaceError::ContentsOutsideMappings {
                    address,
                    length: bytes.len(),
                    first_unmapped,
                });
            }
            space.initial.push((address, bytes.to_vec()));
        }
        // Everything writable while the initial data goes in, then the final protections.
        // On an error the reservation is unmapped by its drop.
        space
            .reservation
            .protect(0, CONTEXT_SIZE, Protection::ReadWrite)?;
        for region in &space.regions {
            space.protect_region(region, Protection::ReadWrite)?;
        }
        space.copy_initial(|_| true);
        for region in &space.regions {
            if !region.writable {
                space.protect_region(region, Protection::Read)?;
            }
        }
        Ok(space)
    }

    fn protect_region(
        &self,
        region: &Region,
        protection: Protection,
    ) -> Result<(), AddressSpaceError> {
        self.protect_guest(u64::from(region.start), region.end, protection)
    }

    fn protect_guest(
        &self,
        start: u64,
        end: u64,
        protection: Protection,
    ) -> Result<(), AddressSpaceError> {
        self.reservation
            .protect(guest_offset(start), (end - start) as usize, protection)
    }

    /// Copies the initial data that lies in regions `select` picks (by index). Those
    /// regions must be writable to the host: writable regions, or read-only ones the caller
    /// has made writable.
    fn copy_initial(&self, select: impl Fn(usize) -> bool) {
        for (address, bytes) in &self.initial {
            let mut at = u64::from(*address);
            let end = at + bytes.len() as u64;
            while at < end {
                let index = self
                    .region_index(at)
                    .expect("initial data lies in mapped regions");
                let piece_end = end.min(self.regions[index].end);
                if select(index) {
                    let from = (at - u64::from(*address)) as usize;
                    let to = (piece_end - u64::from(*address)) as usize;
                    // SAFETY: `at..piece_end` lies in region `index`, which the caller made
                    // host-writable; the source is a separate host allocation.
                    unsafe { self.copy_in(at, &bytes[from..to]) };
                }
                at = piece_end;
            }
        }
    }

    /// Copies `bytes` to guest address `at`.
    ///
    /// # Safety
    ///
    /// `at..at + bytes.len()` must lie in regions whose pages are currently
    /// `PROT_READ | PROT_WRITE`.
    unsafe fn copy_in(&self, at: u64, bytes: &[u8]) {
        // SAFETY: by the caller's contract the destination is mapped read-write inside our
        // reservation (guest range below 2^32, so the offset is in bounds), and it cannot
        // overlap `bytes`, which is a Rust allocation outside the reservation.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.reservation.start.as_ptr().add(guest_offset(at)),
                bytes.len(),
            );
        }
    }

    /// The region containing guest byte `address`, if any.
    fn region_index(&self, address: u64) -> Option<usize> {
        let after = self
            .regions
            .partition_point(|r| u64::from(r.start) <= address);
        let index = after.checked_sub(1)?;
        let region = &self.regions[index];
        (u64::from(region.start) <= address && address < region.end).then_some(index)
    }

    /// Host pointer to guest address 0. JIT code reaches guest address `a` at `base + a`.
    pub fn base(&self) -> *mut u8 {
        self.reservation.start.as_ptr().wrapping_add(CONTEXT_SIZE)
    }

    /// Host pointer to the read-write VM context: [`CONTEXT_SIZE`] bytes ending at
    /// [`base`](Self::base). Its contents belong to the JIT; `reset` leaves them alone.
    pub fn context_ptr(&self) -> *mut u8 {
        self.reservation.start.as_ptr()
    }

    /// Host pointer to guest address `address` (whether accessible or not).
    pub fn guest_ptr(&self, address: u32) -> *mut u8 {
        self.base().wrapping_add(address as usize)
    }

    /// Whether faults page-fault (custom layout) or trap (standard layout).
    pub fn fault_mode(&self) -> FaultMode {
        self.fault_mode
    }

    /// The memory limit: bytes that may be made accessible.
    pub fn memory_limit(&self) -> u64 {
        self.memory_limit
    }

    /// Bytes currently accessible to the guest.
    pub fn accessible_bytes(&self) -> u64 {
        self.accessible
    }

    /// Bytes `sbrk` has handed out since construction or the last reset.
    pub fn heap_size(&self) -> u32 {
        self.heap.map_or(0, |heap| heap.size)
    }

    /// The accessible ranges as `(address, length, writable)` in address order; `length`
    /// is a `u64` because a custom range may end at `2^32`.
    pub fn regions(&self) -> impl Iterator<Item = (u32, u64, bool)> + '_ {
        self.regions
            .iter()
            .filter(|r| r.end > u64::from(r.start))
            .map(|r| (r.start, r.end - u64::from(r.start), r.writable))
    }

    /// The accessible ranges with their current contents, as `(address, bytes,
    /// writable)` in address order. The slices borrow the address space, so nothing can
    /// change the memory or its protections while they live.
    pub fn region_slices(&self) -> impl Iterator<Item = (u32, &[u8], bool)> + '_ {
        self.regions().map(|(address, length, writable)| {
            // SAFETY: an accessible region is at least readable, lies below 2^32 inside
            // our reservation, and `&self` keeps every writer (host writes, `sbrk`,
            // `reset`, guest code, which runs through `&mut self`) away while it lives.
            let bytes = unsafe {
                core::slice::from_raw_parts(self.guest_ptr(address).cast_const(), length as usize)
            };
            (address, bytes, writable)
        })
    }

    /// Checks that every byte of `address..address + length` is accessible (readable);
    /// `Err` names the first byte that is not, or `u32::MAX` when the range runs past the
    /// end of the address space (as the interpreter does).
    pub fn check_mapped(&self, address: u32, length: u64) -> Result<(), u32> {
        let end = u64::from(address) + length;
        let mut at = u64::from(address);
        while at < end {
            let here = u32::try_from(at).map_err(|_| u32::MAX)?;
            let index = self.region_index(at).ok_or(here)?;
            at = self.regions[index].end;
        }
        Ok(())
    }

    /// Host read: ignores write protection. `Err(address)` names the first inaccessible byte.
    pub fn read(&self, address: u32, out: &mut [u8]) -> Result<(), u32> {
        self.check_mapped(address, out.len() as u64)?;
        if out.is_empty() {
            return Ok(());
        }
        // SAFETY: every source byte is in an accessible region (checked above), so readable,
        // and below 2^32, so inside the reservation; `out` is a Rust allocation outside it.
        unsafe {
            core::ptr::copy_nonoverlapping(self.guest_ptr(address), out.as_mut_ptr(), out.len());
        }
        Ok(())
    }

    /// Host write: may write read-only pages (made writable for the copy and restored).
    /// `Err(address)` names the first inaccessible byte; nothing is written then.
    ///
    /// # Panics
    ///
    /// If the OS refuses to change a read-only page's protection (out of memory or of
    /// mappings): the page could otherwise be left writable to the guest.
    pub fn write(&mut self, address: u32, data: &[u8]) -> Result<(), u32> {
        self.check_mapped(address, data.len() as u64)?;
        let end = u64::from(address) + data.len() as u64;
        let mut at = u64::from(address);
        while at < end {
            let index = self.region_index(at).expect("checked above");
            let region = self.regions[index];
            let piece_end = end.min(region.end);
            let piece = &data
                [(at - u64::from(address)) as usize..(piece_end - u64::from(address)) as usize];
            if region.writable {
                // SAFETY: the piece lies in a writable region, mapped read-write.
                unsafe { self.copy_in(at, piece) };
            } else {
                // Region bounds are page-aligned, so the page span stays inside the region.
                let page = HOST_PAGE_SIZE as u64;
                let span_start = at / page * page;
                let span_end = piece_end.div_ceil(page) * page;
                self.protect_guest(span_start, span_end, Protection::ReadWrite)
                    .expect("making a read-only guest page writable for a host write");
                // SAFETY: the piece's pages are read-write until the protection is restored
                // below; nothing else runs on this address space meanwhile (`&mut self`).
                unsafe { self.copy_in(at, piece) };
                self.protect_guest(span_start, span_end, Protection::Read)
                    .expect("restoring a read-only guest page after a host write");
                self.regions[index].host_dirty = true;
            }
            at = piece_end;
        }
        Ok(())
    }

    /// Grows the heap by `size` bytes and returns the new heap top, or `None` when the heap
    /// would pass its maximum, the memory limit would be passed, or there is no heap
    /// (custom layout). New pages become read-write at the memory map's page granularity.
    /// The interpreter's semantics, except for the memory limit (see the type's docs).
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        let mut heap = self.heap?;
        let new_size = heap.size.checked_add(size)?;
        if new_size > heap.max_size {
            return None;
        }
        let top = heap.base + new_size;
        let page = u64::from(heap.page_size);
        let mapped_end = u64::from(top).div_ceil(page) * page;
        let region = self.regions[heap.region];
        if mapped_end > region.end {
            // `validate` saw the heap's largest extent end before the next region.
            let growth = mapped_end - region.end;
            if self.accessible + growth > self.memory_limit {
                return None;
            }
            self.protect_guest(region.end, mapped_end, Protection::ReadWrite)
                .ok()?;
            self.regions[heap.region].end = mapped_end;
            self.accessible += growth;
        }
        heap.size = new_size;
        self.heap = Some(heap);
        Some(top)
    }

    /// Restores the initial image: the heap shrinks back (pages past the rw data become
    /// `PROT_NONE` again), every writable region and every read-only region the host wrote
    /// is emptied with `madvise(MADV_DONTNEED)`, and the initial data is copied in again.
    /// The context area is left alone.
    ///
    /// Cost: a few syscalls per region; the kernel's work is proportional to the pages the
    /// guest (or host) actually touched, which it frees; plus copying the initial data
    /// again (rw data always, ro data only if the host wrote a read-only region). Afterwards
    /// the first touch of each page costs one minor fault, as on a fresh instance, but
    /// nothing is mapped or unmapped.
    ///
    /// An `Err` (the OS refused an `mprotect` or `madvise`) leaves the contents and
    /// protections unspecified, though still inside the reservation: drop the address space.
    pub fn reset(&mut self) -> Result<(), AddressSpaceError> {
        if let Some(heap) = &mut self.heap {
            let region = &mut self.regions[heap.region];
            if region.end > heap.initial_end {
                let (start, end) = (heap.initial_end, region.end);
                self.reservation.protect(
                    guest_offset(start),
                    (end - start) as usize,
                    Protection::None,
                )?;
                self.reservation
                    .discard(guest_offset(start), (end - start) as usize)?;
                region.end = start;
                self.accessible -= end - start;
            }
            heap.size = 0;
        }
        let mut reset = Vec::with_capacity(self.regions.len());
        for region in &self.regions {
            let emptied = region.writable || region.host_dirty;
            if emptied {
                let start = u64::from(region.start);
                self.reservation
                    .discard(guest_offset(start), (region.end - start) as usize)?;
            }
            reset.push(emptied);
        }
        for (index, region) in self.regions.iter().enumerate() {
            if reset[index] && !region.writable {
                self.protect_region(region, Protection::ReadWrite)?;
            }
        }
        self.copy_initial(|index| reset[index]);
        for (index, region) in self.regions.iter_mut().enumerate() {
            if reset[index] && !region.writable {
                region.host_dirty = false;
            }
        }
        for (index, region) in self.regions.iter().enumerate() {
            if reset[index] && !region.writable {
                self.protect_region(region, Protection::Read)?;
            }
        }
        Ok(())
    }

    /// What a fault at guest `address` means, as the interpreter reports it: a trap for the
    /// standard layout and for addresses below 0x10000; otherwise a page fault naming the
    /// 4 KiB page.
    pub fn fault_kind(&self, address: u32) -> Fault {
        fault_kind(self.fault_mode, address)
    }

    /// The guest fault a faulting host address (a signal's `si_addr`) stands for, or `None`
    /// when it is not in the guest range (the context area, or outside the reservation):
    /// then the fault is not the guest's doing. An address in the trailing guard comes from
    /// an access that wrapped past `2^32 - 1`; it is reported as a fault at `u32::MAX`, as
    /// the interpreter reports such accesses.
    pub fn fault_for_host_address(&self, host_address: usize) -> Option<Fault> {
        let offset = host_address.checked_sub(self.base() as usize)?;
        if offset < GUEST_ADDRESS_SPACE_SIZE {
            Some(self.fault_kind(offset as u32))
        } else if offset < GUEST_ADDRESS_SPACE_SIZE + TRAILING_GUARD_SIZE {
            Some(self.fault_kind(u32::MAX))
        } else {
            None
        }
    }
}
