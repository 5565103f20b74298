//! A guest's 4 GiB address space as one host reservation (see the [module docs](super)).
//!
//! What is accessible, the heap and the faults are the shared model's ([`AccessMap`]), as
//! for the interpreter's memory; this file keeps the host mapping in step with it.

use crate::memory::{AccessMap, Fault, FaultMode, LayoutError, PageMapping, Region};
use crate::program::{MemoryMap, MIN_PAGE_SIZE};
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
    /// The layout, its contents or its size are refused by the memory model.
    Layout(LayoutError),
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

impl From<LayoutError> for AddressSpaceError {
    fn from(error: LayoutError) -> Self {
        AddressSpaceError::Layout(error)
    }
}

impl fmt::Display for AddressSpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressSpaceError::Layout(error) => error.fmt(f),
            AddressSpaceError::UnsupportedHostPageSize(size) => {
                write!(
                    f,
                    "host page size is {size:#x} bytes, only 0x1000 is supported"
                )
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

/// The reservation: an owned `mmap`, unmapped on drop, or a borrowed shared view of a
/// sandbox worker's memory file. Offsets are from its start.
struct Reservation {
    start: NonNull<u8>,
    kind: ReservationKind,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum ReservationKind {
    /// Our own private anonymous mapping: protections are the guest's (generated code runs
    /// on it in this process).
    Private,
    /// The host's read-write view of a memory file that a worker process maps with the
    /// guest's protections (`sandbox::linux`): generated code never runs on this view, so
    /// it stays read-write and protection changes here are no-ops; discarding frees the
    /// file's pages, in both views. Borrowed: its owner unmaps it.
    SharedView,
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
        Ok(Reservation {
            start,
            kind: ReservationKind::Private,
        })
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
        if length == 0 || self.kind == ReservationKind::SharedView {
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
        // On a private mapping `MADV_DONTNEED` drops our copies; on a shared view of a
        // memory file it would only unmap them, and `MADV_REMOVE` frees the file's pages.
        let advice = match self.kind {
            ReservationKind::Private => libc::MADV_DONTNEED,
            ReservationKind::SharedView => libc::MADV_REMOVE,
        };
        // SAFETY: the range is page-aligned and inside our reservation (checked above):
        // our own private anonymous mapping, where `MADV_DONTNEED` only replaces the pages
        // with zero-fill on demand, or a shared view of a memory file, where `MADV_REMOVE`
        // punches a hole (the pages read as zero in every view). No Rust reference points
        // into guest memory, so no value changes under one.
        let result =
            unsafe { libc::madvise(self.start.as_ptr().add(offset).cast(), length, advice) };
        if result != 0 {
            return Err(os_error("madvise", length));
        }
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.kind == ReservationKind::SharedView {
            return;
        }
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

/// A guest's memory: a 4 GiB host reservation with the layout's pages accessible and
/// everything else `PROT_NONE`, plus a read-write context area just below guest address 0.
///
/// JIT code reaches guest address `a` at `base() + a`; the host goes through
/// [`read`](Self::read) and [`write`](Self::write), which consult the access map and never
/// touch inaccessible pages. The access map ([`AccessMap`], the model the interpreter
/// follows too) says what is accessible, how the heap grows and what the memory limit
/// allows; the host mapping follows it. Host memory is committed only when a page is
/// first touched.
///
/// Each live address space takes [`RESERVATION_SIZE`] (4 GiB and a bit) of virtual address
/// space, so a process with the usual 47-bit user space holds at most about 30,000 at once,
/// and about ten kernel mappings (VMAs) against the per-process limit (`vm.max_map_count`,
/// 65,530 by default). The reservation is returned on drop.
pub struct GuestAddressSpace {
    reservation: Reservation,
    map: AccessMap,
    /// Per region of the map: a read-only region the host has written since the last
    /// reset.
    host_dirty: Vec<bool>,
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
            .field("map", &self.map)
            .finish_non_exhaustive()
    }
}

fn guest_offset(address: u64) -> usize {
    CONTEXT_SIZE + address as usize
}

impl GuestAddressSpace {
    /// PolkaVM's standard layout (see [`AccessMap::standard`]) with `ro_data` and `rw_data`
    /// copied to the start of their regions.
    pub fn standard(
        map: &MemoryMap,
        ro_data: &[u8],
        rw_data: &[u8],
        memory_limit: u64,
    ) -> Result<Self, AddressSpaceError> {
        Self::new(
            AccessMap::standard(map, memory_limit)?,
            &[
                (map.ro_data_address, ro_data),
                (map.rw_data_address, rw_data),
            ],
        )
    }

    /// An explicit page map (see [`AccessMap::custom`]), `contents` copied in.
    pub fn custom(
        pages: &[PageMapping],
        contents: &[(u32, &[u8])],
        memory_limit: u64,
    ) -> Result<Self, AddressSpaceError> {
        Self::new(AccessMap::custom(pages, memory_limit)?, contents)
    }

    /// [`new`](Self::new) in a shared view of a sandbox worker's memory file instead of a
    /// reservation of its own: the bookkeeping is the same, but protections are not
    /// applied to the view (the worker applies them to its own mapping, following
    /// [`regions`](Self::regions)), discarding frees the file's pages, and the view is
    /// not unmapped on drop.
    ///
    /// # Safety
    ///
    /// `view` must be the start of a read-write `MAP_SHARED` mapping of at least
    /// [`RESERVATION_SIZE`] bytes of a memory file (shmem, so `MADV_REMOVE` works), not
    /// used for anything else while the address space lives, and mapped for longer.
    pub unsafe fn new_in_shared_view(
        view: NonNull<u8>,
        map: AccessMap,
        contents: &[(u32, &[u8])],
    ) -> Result<Self, AddressSpaceError> {
        Self::build(
            Reservation {
                start: view,
                kind: ReservationKind::SharedView,
            },
            map,
            contents,
        )
    }

    /// The regions of `map` made accessible (read-only or read-write as it says),
    /// everything else inaccessible, and `contents` (`(address, bytes)`, inside
    /// accessible regions) copied in.
    pub fn new(map: AccessMap, contents: &[(u32, &[u8])]) -> Result<Self, AddressSpaceError> {
        Self::build(Reservation::new()?, map, contents)
    }

    fn build(
        reservation: Reservation,
        map: AccessMap,
        contents: &[(u32, &[u8])],
    ) -> Result<Self, AddressSpaceError> {
        // SAFETY: `sysconf` only reads a system constant.
        let host_page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if host_page != HOST_PAGE_SIZE as libc::c_long {
            return Err(AddressSpaceError::UnsupportedHostPageSize(
                host_page.max(0) as usize
            ));
        }
        map.check_contents(contents)?;
        let space = GuestAddressSpace {
            reservation,
            host_dirty: std::vec![false; map.regions().len()],
            map,
            initial: contents
                .iter()
                .filter(|(_, bytes)| !bytes.is_empty())
                .map(|&(address, bytes)| (address, bytes.to_vec()))
                .collect(),
        };
        // Everything writable while the initial data goes in, then the final protections.
        // On an error the reservation is unmapped by its drop.
        space
            .reservation
            .protect(0, CONTEXT_SIZE, Protection::ReadWrite)?;
        for region in space.map.regions() {
            space.protect_region(region, Protection::ReadWrite)?;
        }
        space.copy_initial(|_| true);
        for region in space.map.regions() {
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
                let Some(index) = self.map.region_index(at) else {
                    // `new` checked the contents lie in accessible regions.
                    break;
                };
                let piece_end = end.min(self.map.regions()[index].end);
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

    /// The access map the mapping follows.
    pub fn access_map(&self) -> &AccessMap {
        &self.map
    }

    /// Whether faults page-fault (custom layout) or trap (standard layout).
    pub fn fault_mode(&self) -> FaultMode {
        self.map.fault_mode()
    }

    /// The memory limit: bytes that may be made accessible.
    pub fn memory_limit(&self) -> u64 {
        self.map.memory_limit()
    }

    /// Bytes currently accessible to the guest.
    pub fn accessible_bytes(&self) -> u64 {
        self.map.accessible_bytes()
    }

    /// Bytes `sbrk` has handed out since construction or the last reset.
    pub fn heap_size(&self) -> u32 {
        self.map.heap_size()
    }

    /// The accessible ranges as `(address, length, writable)` in address order; `length`
    /// is a `u64` because a custom range may end at `2^32`.
    pub fn regions(&self) -> impl Iterator<Item = (u32, u64, bool)> + '_ {
        self.map
            .regions()
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| (r.start, r.len(), r.writable))
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
        self.map.check_mapped(address, length)
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
            let index = self.map.region_index(at).expect("checked above");
            let region = self.map.regions()[index];
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
                self.host_dirty[index] = true;
            }
            at = piece_end;
        }
        Ok(())
    }

    /// Grows the heap by `size` bytes and returns the new heap top, or `None` when the
    /// access map refuses (no heap, past its maximum, past the memory limit). New pages
    /// become read-write.
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        let growth = self.map.plan_sbrk(size)?;
        if let Some((start, end)) = growth.mapped {
            self.protect_guest(start, end, Protection::ReadWrite).ok()?;
        }
        self.map.apply_sbrk(growth);
        Some(growth.top)
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
        if let Some((start, end)) = self.map.reset_heap() {
            let (offset, length) = (guest_offset(start), (end - start) as usize);
            self.reservation.protect(offset, length, Protection::None)?;
            self.reservation.discard(offset, length)?;
        }
        let emptied: Vec<bool> = self
            .map
            .regions()
            .iter()
            .zip(&self.host_dirty)
            .map(|(region, dirty)| region.writable || *dirty)
            .collect();
        for (region, emptied) in self.map.regions().iter().zip(&emptied) {
            if *emptied {
                let start = u64::from(region.start);
                self.reservation
                    .discard(guest_offset(start), (region.end - start) as usize)?;
            }
        }
        let read_only_reset = |(region, emptied): (&Region, &bool)| *emptied && !region.writable;
        for (region, _) in self
            .map
            .regions()
            .iter()
            .zip(&emptied)
            .filter(|r| read_only_reset(*r))
        {
            self.protect_region(region, Protection::ReadWrite)?;
        }
        self.copy_initial(|index| emptied[index]);
        for (region, _) in self
            .map
            .regions()
            .iter()
            .zip(&emptied)
            .filter(|r| read_only_reset(*r))
        {
            self.protect_region(region, Protection::Read)?;
        }
        self.host_dirty.fill(false);
        Ok(())
    }

    /// What a fault at guest `address` means, as the interpreter reports it (see
    /// [`Fault::at`]).
    pub fn fault_kind(&self, address: u32) -> Fault {
        self.map.fault_at(address)
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
