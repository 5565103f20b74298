//! The host's OS calls for the Linux sandbox, each wrapped once: memory files, shared
//! mappings, futexes, process descriptors.

use crate::error::SandboxError;
use core::ffi::CStr;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU32;
use core::time::Duration;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::vec::Vec;

/// The calling thread's errno.
pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The error for a failed `call`, from errno.
pub(crate) fn os_error(call: &'static str) -> SandboxError {
    SandboxError::Os {
        call,
        errno: errno(),
    }
}

// The sandbox exists on x86-64 only, where `usize` and `u64` have the same width.
const _: () = assert!(core::mem::size_of::<usize>() == core::mem::size_of::<u64>());

/// `usize` from a `u64`: lossless where the sandbox exists (64-bit `usize`).
#[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
pub(crate) const fn to_usize(value: u64) -> usize {
    value as usize
}

/// `u64` from a `usize`: lossless everywhere (see `crate::cast::u64_from_usize`).
pub(crate) const fn to_u64(value: usize) -> u64 {
    crate::cast::u64_from_usize(value)
}

/// `MFD_EXEC` (Linux 6.3): the memory file may be executed, stated explicitly where the
/// kernel's `vm.memfd_noexec` policy wants it said.
const MFD_EXEC: libc::c_uint = 0x10;
/// `MFD_NOEXEC_SEAL` (Linux 6.3): the memory file may never be executed.
const MFD_NOEXEC_SEAL: libc::c_uint = 0x8;

/// Whether a memory file will hold an executable image.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum Executable {
    /// The worker image, executed with `execveat`.
    Yes,
    /// Data (guest memory, machine code mapped by the worker: mapping it executable is not
    /// executing the file).
    No,
}

/// A new memory file of `size` bytes (sparse: pages take memory when written), close-on-
/// exec, that may be sealed.
pub(crate) fn memory_file(
    name: &CStr,
    size: u64,
    executable: Executable,
) -> Result<OwnedFd, SandboxError> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    let flags = match executable {
        Executable::Yes => base | MFD_EXEC,
        Executable::No => base | MFD_NOEXEC_SEAL,
    };
    // SAFETY: creates a new file from a NUL-terminated name.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 && errno() == libc::EINVAL {
        // Kernels before 6.3 know neither flag, and execute memory files by default.
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), base) };
    }
    if fd < 0 {
        return Err(os_error("memfd_create"));
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let file = unsafe { OwnedFd::from_raw_fd(fd) };
    let length = libc::off_t::try_from(size).map_err(|_| SandboxError::Os {
        call: "ftruncate",
        errno: libc::EFBIG,
    })?;
    // SAFETY: sizes our own file.
    if unsafe { libc::ftruncate(file.as_raw_fd(), length) } != 0 {
        return Err(os_error("ftruncate"));
    }
    Ok(file)
}

/// Adds `seals` (`F_SEAL_*`) to a memory file.
pub(crate) fn seal(file: &OwnedFd, seals: libc::c_int) -> Result<(), SandboxError> {
    // SAFETY: fcntl on our own descriptor with an integer argument.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(os_error("fcntl(F_ADD_SEALS)"));
    }
    Ok(())
}

/// Frees the pages of `offset..offset + length` of a memory file: they read as zero
/// afterwards, in every mapping.
pub(crate) fn punch_hole(file: &OwnedFd, offset: u64, length: u64) -> Result<(), SandboxError> {
    let (Ok(offset), Ok(length)) = (libc::off_t::try_from(offset), libc::off_t::try_from(length))
    else {
        return Err(SandboxError::Os {
            call: "fallocate",
            errno: libc::EINVAL,
        });
    };
    // SAFETY: deallocates part of our own file; mappings of it see zeros there.
    let result = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset,
            length,
        )
    };
    if result != 0 {
        return Err(os_error("fallocate"));
    }
    Ok(())
}

/// The extents of `start..end` of a file that hold pages (`SEEK_DATA` / `SEEK_HOLE`), as
/// `(start, end)` pairs; a sparse memory file has few.
pub(crate) fn data_extents(
    file: &OwnedFd,
    start: u64,
    end: u64,
) -> Result<Vec<(u64, u64)>, SandboxError> {
    let mut extents = Vec::new();
    let mut at = start;
    while at < end {
        let position = libc::off_t::try_from(at).unwrap_or(libc::off_t::MAX);
        // SAFETY: seeks our own descriptor; the position is ours to change.
        let data = unsafe { libc::lseek(file.as_raw_fd(), position, libc::SEEK_DATA) };
        if data < 0 {
            if errno() == libc::ENXIO {
                break; // no data after `at`
            }
            return Err(os_error("lseek(SEEK_DATA)"));
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(file.as_raw_fd(), data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(os_error("lseek(SEEK_HOLE)"));
        }
        let (Ok(data), Ok(hole)) = (u64::try_from(data), u64::try_from(hole)) else {
            return Err(os_error("lseek"));
        };
        if data >= end {
            break;
        }
        extents.push((data, hole.min(end)));
        at = hole.max(data + 1);
    }
    Ok(extents)
}

/// A shared mapping of a file, unmapped on drop.
pub(crate) struct Mapping {
    start: NonNull<u8>,
    length: usize,
}

// SAFETY: a mapping is a range of addresses valid in every thread; the owner decides who
// reads and writes it.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out its address.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `length` bytes of `file` from `offset`, read-write and shared, anywhere.
    pub(crate) fn shared(
        file: &OwnedFd,
        offset: u64,
        length: u64,
    ) -> Result<Mapping, SandboxError> {
        let (Ok(file_offset), length) = (libc::off_t::try_from(offset), to_usize(length)) else {
            return Err(SandboxError::Os {
                call: "mmap",
                errno: libc::EINVAL,
            });
        };
        // SAFETY: a new mapping at an address of the kernel's choosing replaces nothing.
        let start = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                length,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(os_error("mmap"));
        }
        let start = NonNull::new(start.cast::<u8>()).ok_or(SandboxError::Os {
            call: "mmap",
            errno: libc::EFAULT,
        })?;
        Ok(Mapping { start, length })
    }

    /// The first byte.
    pub(crate) fn start(&self) -> NonNull<u8> {
        self.start
    }

    /// Bytes mapped.
    pub(crate) fn len(&self) -> usize {
        self.length
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `shared` mapped; the owner guarantees nothing uses
        // it any more.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.length) };
    }
}

/// Sleeps while `word` holds `expected`, at most `timeout`; returns early on a wake-up,
/// a signal, or when the word differs already. Shared (not private): the other side is
/// another process.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let timeout = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().min(999_999_999)),
    };
    // SAFETY: `word` is a live u32; the timeout is a valid relative timespec. The result
    // does not matter: the caller re-reads the word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            core::ptr::from_ref(&timeout),
        )
    };
}

/// Wakes one waiter on `word`.
pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live u32; waking has no other effect.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1) };
}

/// How a process ended.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Killed(i32),
}

impl Ended {
    /// The error for a worker that ended this way while in use.
    pub(crate) fn into_error(self) -> SandboxError {
        match self {
            Ended::Exited(status) => SandboxError::WorkerDied {
                signal: None,
                status: Some(status),
            },
            Ended::Killed(signal) => SandboxError::WorkerDied {
                signal: Some(signal),
                status: None,
            },
        }
    }
}

/// A child process, known by a process descriptor (immune to pid reuse); killed and reaped
/// on drop.
pub(crate) struct Process {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    ended: Option<Ended>,
}

impl Process {
    /// Takes ownership of a child started with `CLONE_PIDFD`.
    pub(crate) fn new(pid: libc::pid_t, pidfd: OwnedFd) -> Process {
        Process {
            pid,
            pidfd,
            ended: None,
        }
    }

    /// The pid (in the host's PID namespace).
    pub(crate) fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Whether the process has ended (without waiting). Reaps it if it has.
    pub(crate) fn ended(&mut self) -> Option<Ended> {
        if self.ended.is_none() {
            let mut poll = libc::pollfd {
                fd: self.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: polls one valid descriptor without waiting.
            let ready = unsafe { libc::poll(&mut poll, 1, 0) };
            if ready > 0 {
                self.ended = Some(self.reap());
            }
        }
        self.ended
    }

    /// Kills the process (if it still runs) and waits for it.
    pub(crate) fn kill(&mut self) -> Ended {
        if let Some(ended) = self.ended {
            return ended;
        }
        // SAFETY: sends SIGKILL through our own process descriptor, which names exactly our
        // child even if it has ended (then the call fails harmlessly).
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                libc::SIGKILL,
                core::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        let ended = self.reap();
        self.ended = Some(ended);
        ended
    }

    /// Waits for the process to end and collects its status.
    fn reap(&mut self) -> Ended {
        loop {
            // SAFETY: all zeroes is a valid `siginfo_t`.
            let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
            // SAFETY: waits for our own child through its process descriptor (`__WALL`:
            // it was started without an exit signal).
            let result = unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    id_t_of(self.pidfd.as_raw_fd()),
                    &mut info,
                    libc::WEXITED | libc::__WALL,
                )
            };
            if result != 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                // Already reaped or not our child: report it as killed.
                return Ended::Killed(libc::SIGKILL);
            }
            // SAFETY: waitid filled `info` for an exited child.
            let status = unsafe { info.si_status() };
            return if info.si_code == libc::CLD_EXITED {
                Ended::Exited(status)
            } else {
                Ended::Killed(status)
            };
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A descriptor as the `id_t` `waitid` takes.
fn id_t_of(fd: RawFd) -> libc::id_t {
    libc::id_t::try_from(fd).unwrap_or(libc::id_t::MAX)
}
