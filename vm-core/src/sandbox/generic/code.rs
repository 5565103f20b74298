//! Executable memory for compiled code: mapped read-write, filled, then made read-execute
//! (never writable and executable at once), unmapped on drop.

use std::io;

/// A page-aligned read-execute copy of some machine code.
pub(crate) struct ExecutableCode {
    start: *mut u8,
    mapped: usize,
    len: usize,
}

// SAFETY: the mapping is immutable after construction (read-execute) and owned by this
// value; sharing its address between threads is sound.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above: no method mutates the mapping.
unsafe impl Sync for ExecutableCode {}

impl ExecutableCode {
    /// Maps `code` as executable.
    pub(crate) fn new(code: &[u8]) -> io::Result<ExecutableCode> {
        let mapped =
            code.len().max(1).div_ceil(super::super::HOST_PAGE_SIZE) * super::super::HOST_PAGE_SIZE;
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
        let start = start.cast::<u8>();
        // SAFETY: the mapping is `mapped >= code.len()` bytes, read-write, and cannot
        // overlap `code`, a Rust allocation.
        unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), start, code.len()) };
        // SAFETY: changes the protection of our own mapping only.
        let result =
            unsafe { libc::mprotect(start.cast(), mapped, libc::PROT_READ | libc::PROT_EXEC) };
        let this = ExecutableCode {
            start,
            mapped,
            len: code.len(),
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(this)
    }

    /// Address of the first byte.
    pub(crate) fn start(&self) -> usize {
        self.start as usize
    }

    /// Bytes of code.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping this value owns; no code in it runs any more
        // (every run borrows the module, which owns this).
        unsafe { libc::munmap(self.start.cast(), self.mapped) };
    }
}
