//! Executable memory for compiled code.
//!
//! Each region is one memory file mapped twice, at two unrelated addresses: a read-write
//! view the compiler's output is copied into, and a read-execute view the code runs from.
//! No page is ever mapped writable and executable at one address, and publishing new
//! code takes no system call: changing the protection of a mapping instead (`mprotect`
//! to read-execute after writing, back to read-write for reuse) cost 3.5 us per module
//! here, a tenth of compiling a 6 KiB contract, most of it flushing TLB entries.
//!
//! Where memory files are not available (`memfd_create` failing, as under some seccomp
//! profiles, or switched off with [`disable_dual_mapping`]), a region is one anonymous
//! mapping, read-write while the code is copied in and then `mprotect`ed read-execute; such
//! regions are unmapped on drop rather than pooled.
//!
//! A dropped module's region goes back to a process-wide pool, up to
//! [`MAX_POOLED_BYTES`], rather than to the kernel: faulting in fresh pages costs more
//! than compiling into them (about 1.4 us per 4 KiB page on a virtual machine), and a
//! node compiles contract after contract. A reused region's stale bytes past the new code
//! are overwritten with `int3`, so nothing of an earlier module stays executable.

use super::super::HOST_PAGE_SIZE;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};
use std::io;
use std::sync::Mutex;

/// Pooled regions are kept up to this many bytes in all.
const MAX_POOLED_BYTES: usize = 64 << 20;

/// Fresh regions are rounded up to this, so that programs of similar sizes can reuse
/// each other's regions.
const REGION_GRANULE: usize = 64 << 10;

/// Whether regions are memory files mapped twice: 0 not tried yet, 1 yes, 2 no (not
/// available, or switched off).
static DUAL_MAPPING: AtomicU8 = AtomicU8::new(0);

/// Makes code regions from now on in this process single anonymous mappings flipped with
/// `mprotect`, as where memory files are not available: for tests of that path. The code
/// and what it does are the same either way.
#[doc(hidden)]
pub fn disable_dual_mapping() {
    DUAL_MAPPING.store(2, Ordering::Relaxed);
}

/// A memory file mapped read-write at `writable` and read-execute at `executable`; or,
/// without `dual`, one anonymous mapping at both, read-write until
/// [`ExecutableCode::new`] makes it read-execute.
struct Region {
    writable: *mut u8,
    executable: *const u8,
    mapped: usize,
    /// Bytes from the start that may hold an earlier module's code.
    dirty: usize,
    dual: bool,
}

// SAFETY: a `Region` is owned by exactly one `ExecutableCode` or by the pool, behind its
// mutex; its addresses are only used by the owner.
unsafe impl Send for Region {}

impl Region {
    /// A fresh region of at least `bytes`: a dual-mapped memory file where that works,
    /// else a single anonymous mapping.
    fn new(bytes: usize) -> io::Result<Region> {
        let mapped = bytes.max(1).div_ceil(REGION_GRANULE) * REGION_GRANULE;
        if DUAL_MAPPING.load(Ordering::Relaxed) != 2 {
            match Self::new_dual(mapped) {
                Ok(region) => {
                    DUAL_MAPPING.store(1, Ordering::Relaxed);
                    return Ok(region);
                }
                // Only a machine that never managed one falls back for good; a failure
                // after that (out of memory, say) is the caller's error.
                Err(error) if DUAL_MAPPING.load(Ordering::Relaxed) == 1 => return Err(error),
                Err(_) => DUAL_MAPPING.store(2, Ordering::Relaxed),
            }
        }
        Self::new_single(mapped)
    }

    /// A memory file of `mapped` bytes, mapped twice.
    fn new_dual(mapped: usize) -> io::Result<Region> {
        // SAFETY: creates a new anonymous memory file; the name is a NUL-terminated
        // string.
        let fd = unsafe { libc::memfd_create(c"pvm-jit-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let result = Self::map(fd, mapped);
        // SAFETY: closes the descriptor created above; the mappings keep the file alive.
        unsafe { libc::close(fd) };
        result
    }

    /// One read-write anonymous mapping of `mapped` bytes.
    fn new_single(mapped: usize) -> io::Result<Region> {
        // SAFETY: a fresh anonymous private mapping at an address the kernel chooses; it
        // replaces nothing.
        let start = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Region {
            writable: start.cast(),
            executable: start.cast(),
            mapped,
            dirty: 0,
            dual: false,
        })
    }

    /// Sizes the memory file `fd` to `mapped` bytes and maps it twice.
    fn map(fd: libc::c_int, mapped: usize) -> io::Result<Region> {
        // SAFETY: resizes our own memory file.
        if unsafe { libc::ftruncate(fd, mapped as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let view = |protection| {
            // SAFETY: a new shared mapping of our own memory file at an address the
            // kernel chooses; it replaces nothing.
            let address = unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    mapped,
                    protection,
                    libc::MAP_SHARED,
                    fd,
                    0,
                )
            };
            if address == libc::MAP_FAILED {
                Err(io::Error::last_os_error())
            } else {
                Ok(address.cast::<u8>())
            }
        };
        let writable = view(libc::PROT_READ | libc::PROT_WRITE)?;
        let executable = match view(libc::PROT_READ | libc::PROT_EXEC) {
            Ok(executable) => executable,
            Err(error) => {
                // SAFETY: unmaps the view mapped just above, which nothing refers to.
                unsafe { libc::munmap(writable.cast(), mapped) };
                return Err(error);
            }
        };
        Ok(Region {
            writable,
            executable,
            mapped,
            dirty: 0,
            dual: true,
        })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the view(s) this value owns; no code in them runs and
        // nothing refers to them any more.
        unsafe {
            libc::munmap(self.writable.cast(), self.mapped);
            if self.dual {
                libc::munmap(self.executable.cast_mut().cast(), self.mapped);
            }
        }
    }
}

/// Regions of dropped modules, for the next modules to reuse.
static POOL: Mutex<Vec<Region>> = Mutex::new(Vec::new());

/// The smallest pooled region of at least `bytes`, if any.
fn take_pooled(bytes: usize) -> Option<Region> {
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let index = pool
        .iter()
        .enumerate()
        .filter(|(_, region)| region.mapped >= bytes)
        .min_by_key(|(_, region)| region.mapped)
        .map(|(index, _)| index)?;
    Some(pool.swap_remove(index))
}

/// Keeps `region` for reuse if the pool has room; unmaps it otherwise.
fn give_back(region: Region) {
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pooled: usize = pool.iter().map(|region| region.mapped).sum();
    if pooled + region.mapped <= MAX_POOLED_BYTES {
        pool.push(region);
    }
}

/// A read-execute copy of some machine code, page-aligned.
pub(crate) struct ExecutableCode {
    /// `None` only while being dropped.
    region: Option<Region>,
    len: usize,
}

// SAFETY: the code is not written after construction (the writable view is not used
// until the region is pooled again, after this value is gone); sharing its address
// between threads is sound.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above: no method writes to the region.
unsafe impl Sync for ExecutableCode {}

impl ExecutableCode {
    /// Maps `code` executable.
    pub(crate) fn new(code: &[u8]) -> io::Result<ExecutableCode> {
        let mut region = match take_pooled(code.len().max(HOST_PAGE_SIZE)) {
            Some(region) => region,
            None => Region::new(code.len())?,
        };
        // SAFETY: the writable view is at least `code.len()` bytes (`take_pooled` and
        // `Region::new` guarantee it) and `dirty <= mapped`; it cannot overlap `code`, a
        // Rust allocation; and no code in the region runs (it is fresh, or pooled after
        // its module was dropped).
        unsafe {
            core::ptr::copy_nonoverlapping(code.as_ptr(), region.writable, code.len());
            if region.dirty > code.len() {
                core::ptr::write_bytes(
                    region.writable.add(code.len()),
                    0xCC,
                    region.dirty - code.len(),
                );
            }
        }
        region.dirty = code.len();
        if !region.dual {
            let executable = code.len().max(1).div_ceil(HOST_PAGE_SIZE) * HOST_PAGE_SIZE;
            // SAFETY: changes the protection of this region's own mapping only; from here
            // on nothing writes to it.
            let result = unsafe {
                libc::mprotect(
                    region.writable.cast(),
                    executable,
                    libc::PROT_READ | libc::PROT_EXEC,
                )
            };
            if result != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(ExecutableCode {
            region: Some(region),
            len: code.len(),
        })
    }

    /// Address of the first byte.
    pub(crate) fn start(&self) -> usize {
        self.region.as_ref().map_or(0, |r| r.executable as usize)
    }

    /// Bytes of code.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        // No code in the region runs any more (every run borrows the module, which owns
        // this): it can be rewritten for another module. A single mapping is read-execute
        // now and is unmapped instead.
        if let Some(region) = self.region.take() {
            if region.dual {
                give_back(region);
            }
        }
    }
}
