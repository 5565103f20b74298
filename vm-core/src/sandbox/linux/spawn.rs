//! Starting a worker process: new namespaces, an empty root, limits, then the worker image.
//!
//! All spawning happens on one long-lived thread of the host (`pvm-sandbox-spawner`):
//! `PR_SET_PDEATHSIG` fires when the *thread* that created a process ends, so creating
//! workers from short-lived threads would kill them early. Each worker is created with
//! `clone3` (`clone` where a container's seccomp profile refuses `clone3`) in new user,
//! PID, mount, network, IPC, UTS and cgroup namespaces, with a process descriptor and no
//! exit signal. Before it executes the worker image the child, still running the host's
//! code in a copy of its address space and making raw system calls only (no allocation,
//! no locks: other host threads may have held them when it was copied):
//!
//! 1. closes its copy of the lifetime pipe's write end, asks for `SIGKILL` when its parent
//!    dies (`PR_SET_PDEATHSIG`) and checks the parent is not already gone (the pipe's
//!    read end would report a hang-up);
//! 2. makes every mount private, mounts an empty read-only tmpfs and `pivot_root`s into it,
//!    detaching the old root: the worker sees no file system at all;
//! 3. sets resource limits (no core dumps, no files, no locked memory, no processes, a
//!    bounded address space);
//! 4. sets `PR_SET_NO_NEW_PRIVS`;
//! 5. moves the memory and code files to descriptors 3 and 4, marks every other
//!    descriptor close-on-exec and closes 0..=2;
//! 6. executes the worker image from its sealed memory file (`execveat`), which replaces
//!    the address space: nothing of the host's memory remains.
//!
//! It writes no user or group ID map: the worker's IDs stay unmapped in its user
//! namespace (it appears as the overflow user), so executing the image leaves it with no
//! capabilities at all, in any namespace. A failed step is written to the control block
//! (the child still shares the host's mapping of it) and the child exits; the host
//! reports the step and errno.

use super::protocol::{Control, SetupStep, EXIT_SETUP_FAILED, FD_CODE, FD_MEMORY};
use super::sys::{self, Executable, Process};
use crate::error::SandboxError;
use core::ffi::CStr;
use core::sync::atomic::Ordering;
use std::boxed::Box;
use std::format;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::string::String;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// The worker image, built by `build.rs`.
static WORKER_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pvm-sandbox-worker"));

/// What the spawner thread needs to start one worker.
struct Request {
    memory_file: RawFd,
    code_file: RawFd,
    /// The host's mapping of the worker's control block (also mapped in the child, which
    /// reports a failed step there).
    control: *const Control,
    reply: mpsc::SyncSender<Result<Process, SandboxError>>,
}

// SAFETY: the control block pointer is a shared mapping valid in every thread, kept alive
// by the requester until the reply arrives.
unsafe impl Send for Request {}

/// Process-wide state for spawning: the worker image, the lifetime pipe, the spawner.
struct Spawner {
    image: OwnedFd,
    /// Read end of the lifetime pipe: every worker's pre-exec child checks it.
    lifetime_read: OwnedFd,
    /// Write end: held by the host for as long as it lives, so the read end reports a
    /// hang-up exactly when the host is gone.
    lifetime_write: OwnedFd,
    requests: Mutex<mpsc::Sender<Request>>,
}

static SPAWNER: OnceLock<Result<&'static Spawner, SandboxError>> = OnceLock::new();

fn spawner() -> Result<&'static Spawner, SandboxError> {
    SPAWNER
        .get_or_init(|| {
            let image = worker_image_file()?;
            let mut pipe = [0; 2];
            // SAFETY: creates a pipe into our own array.
            if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(sys::os_error("pipe2"));
            }
            // SAFETY: both descriptors are new and ours.
            let (lifetime_read, lifetime_write) =
                unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
            let (sender, receiver) = mpsc::channel::<Request>();
            let spawner: &'static Spawner = Box::leak(Box::new(Spawner {
                image,
                lifetime_read,
                lifetime_write,
                requests: Mutex::new(sender),
            }));
            std::thread::Builder::new()
                .name("pvm-sandbox-spawner".into())
                .spawn(move || {
                    // Lives as long as the process: the sender is in a static.
                    for request in receiver {
                        let result = start(spawner, &request);
                        let _ = request.reply.send(result);
                    }
                })
                .map_err(|error| SandboxError::Os {
                    call: "starting the spawner thread",
                    errno: error.raw_os_error().unwrap_or(0),
                })?;
            Ok(spawner)
        })
        .clone()
}

/// The worker image in a sealed memory file, for `execveat`.
fn worker_image_file() -> Result<OwnedFd, SandboxError> {
    let file = sys::memory_file(c"pvm-sandbox-worker", 0, Executable::Yes)?;
    let mut written = 0;
    while written < WORKER_IMAGE.len() {
        let rest = &WORKER_IMAGE[written..];
        // SAFETY: writes from a live slice to our own file.
        let result = unsafe { libc::write(file.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if result < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return Err(sys::os_error("write"));
        }
        written += usize::try_from(result).unwrap_or(0);
    }
    sys::seal(
        &file,
        libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE,
    )?;
    Ok(file)
}

/// Starts a worker on the spawner thread; returns once the process exists (not yet
/// ready: the caller waits for its first completion on the control block).
pub(crate) fn spawn(
    memory_file: &OwnedFd,
    code_file: &OwnedFd,
    control: &Control,
) -> Result<Process, SandboxError> {
    let spawner = spawner()?;
    let (reply, response) = mpsc::sync_channel(1);
    let request = Request {
        memory_file: memory_file.as_raw_fd(),
        code_file: code_file.as_raw_fd(),
        control,
        reply,
    };
    let gone = || SandboxError::Os {
        call: "reaching the spawner thread",
        errno: 0,
    };
    spawner
        .requests
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(request)
        .map_err(|_| gone())?;
    response.recv().map_err(|_| gone())?
}

/// `struct clone_args` of `clone3`.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// `CLONE_CLEAR_SIGHAND` (Linux 5.5, `clone3` only): the child starts with default signal
/// handlers, not the host's.
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;

/// The namespaces every worker gets.
const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP;

/// Everything the child needs, prepared before it exists (it may not allocate).
struct ChildPlan<'a> {
    image: RawFd,
    memory_file: RawFd,
    code_file: RawFd,
    lifetime_read: RawFd,
    lifetime_write: RawFd,
    control: &'a Control,
}

/// `setrlimit`'s resource type, which the C libraries spell differently.
#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

/// The worker's resource limits (soft and hard), set before it executes its image.
const LIMITS: [(Resource, u64); 8] = [
    // No core dumps (they would hold guest memory), no files, no locks or locked memory,
    // no message queues, no new processes.
    (libc::RLIMIT_CORE, 0),
    (libc::RLIMIT_FSIZE, 0),
    (libc::RLIMIT_LOCKS, 0),
    (libc::RLIMIT_MEMLOCK, 0),
    (libc::RLIMIT_MSGQUEUE, 0),
    (libc::RLIMIT_NPROC, 0),
    // Private writable memory: the worker's own data and stack need a few hundred KiB.
    (libc::RLIMIT_DATA, 16 << 20),
    // Address space: the memory file's reservation and control block, the code area,
    // and room for the image and its stack.
    (
        libc::RLIMIT_AS,
        super::protocol::MEMORY_FILE_SIZE + super::protocol::CODE_CAPACITY + (64 << 20),
    ),
];

/// Runs on the spawner thread: creates the child, which sets itself up and executes the
/// worker image.
fn start(spawner: &Spawner, request: &Request) -> Result<Process, SandboxError> {
    // SAFETY: the requester keeps the control block mapped until we reply.
    let control = unsafe { &*request.control };
    let plan = ChildPlan {
        image: spawner.image.as_raw_fd(),
        memory_file: request.memory_file,
        code_file: request.code_file,
        lifetime_read: spawner.lifetime_read.as_raw_fd(),
        lifetime_write: spawner.lifetime_write.as_raw_fd(),
        control,
    };
    let mut pidfd: libc::c_int = -1;
    let args = CloneArgs {
        flags: u64::from(NAMESPACES.unsigned_abs())
            | u64::from(libc::CLONE_PIDFD.unsigned_abs())
            | CLONE_CLEAR_SIGHAND,
        pidfd: sys::to_u64(core::ptr::addr_of_mut!(pidfd).addr()),
        // No exit signal: the host may have its own SIGCHLD handling; we wait through
        // the process descriptor.
        exit_signal: 0,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 with a valid argument structure and no new stack: the child continues
    // here in a copy of our address space, like fork, and runs only `child`.
    let mut pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            core::ptr::from_ref(&args),
            core::mem::size_of::<CloneArgs>(),
        )
    };
    if pid < 0 && sys::errno() == libc::ENOSYS {
        // Container seccomp profiles often refuse clone3 (with ENOSYS so that libcs fall
        // back); clone takes the same flags but CLONE_CLEAR_SIGHAND, and stores the
        // process descriptor through its parent-tid argument.
        // SAFETY: clone without a new stack behaves as fork; the child runs only `child`.
        pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                libc::c_ulong::from((NAMESPACES | libc::CLONE_PIDFD).unsigned_abs()),
                0usize,
                core::ptr::addr_of_mut!(pidfd),
                0usize,
                0usize,
            )
        };
    }
    if pid < 0 {
        let errno = sys::errno();
        return Err(SandboxError::Unavailable(describe_clone_failure(errno)));
    }
    if pid == 0 {
        child(&plan);
    }
    let pid = libc::pid_t::try_from(pid).unwrap_or(libc::pid_t::MAX);
    if pidfd < 0 {
        return Err(SandboxError::Os {
            call: "clone (no process descriptor)",
            errno: 0,
        });
    }
    // SAFETY: the kernel gave us this new descriptor for the child.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Process::new(pid, pidfd))
}

/// What to tell the operator when the kernel refuses to create the worker.
fn describe_clone_failure(errno: i32) -> String {
    let hint = if errno == libc::EPERM || errno == libc::EACCES {
        let apparmor = std::fs::read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            .is_ok_and(|value| value.starts_with(b"1"));
        if apparmor {
            "AppArmor restricts unprivileged user namespaces; allow them with \
             `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or configure the \
             generic sandbox"
        } else {
            "the kernel or a seccomp profile forbids creating namespaces (a container's \
             default profile does); allow unprivileged user namespaces \
             (`kernel.unprivileged_userns_clone=1`, `user.max_user_namespaces` > 0), or \
             configure the generic sandbox"
        }
    } else if errno == libc::ENOSPC || errno == libc::EUSERS {
        "the limit on user namespaces is reached (`user.max_user_namespaces`)"
    } else {
        "see clone(2)"
    };
    format!("creating a worker process in new namespaces failed with errno {errno}: {hint}")
}

/// The child: sets itself up and executes the worker image; never returns.
fn child(plan: &ChildPlan<'_>) -> ! {
    let fail = |step: SetupStep| -> ! {
        plan.control
            .setup_errno
            .store(sys::errno().unsigned_abs(), Ordering::Relaxed);
        plan.control
            .setup_step
            .store(step.number(), Ordering::Release);
        let status = EXIT_SETUP_FAILED.saturating_add_unsigned(step.number());
        // SAFETY: ends this process at once (no atexit handlers: they belong to the host).
        unsafe { libc::_exit(status) }
    };
    // SAFETY (for every call below): raw system calls on descriptors and NUL-terminated
    // strings this process owns; nothing allocates or takes a lock.
    unsafe {
        // 1. Die with the host.
        libc::close(plan.lifetime_write);
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            fail(SetupStep::DeathSignal);
        }
        let mut poll = libc::pollfd {
            fd: plan.lifetime_read,
            events: libc::POLLIN,
            revents: 0,
        };
        if libc::poll(&mut poll, 1, 0) != 0 {
            // Readable or hung up: every write end is closed, the host is gone.
            fail(SetupStep::ParentGone);
        }
        // 2. An empty root.
        if libc::mount(
            core::ptr::null(),
            c"/".as_ptr(),
            core::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            core::ptr::null(),
        ) != 0
        {
            fail(SetupStep::PrivateMounts);
        }
        let mut mounted = false;
        for directory in [c"/tmp", c"/proc", c"/dev", c"/mnt", c"/var"] {
            if mount_empty(directory) && libc::chdir(directory.as_ptr()) == 0 {
                mounted = true;
                break;
            }
        }
        if !mounted {
            fail(SetupStep::MountEmptyRoot);
        }
        if libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0
            || libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0
            || libc::chdir(c"/".as_ptr()) != 0
        {
            fail(SetupStep::PivotRoot);
        }
        // 3. Limits.
        for (resource, value) in LIMITS {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(resource, &limit) != 0 {
                fail(SetupStep::ResourceLimits);
            }
        }
        // 4. No privileges from executing anything.
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(SetupStep::NoNewPrivileges);
        }
        // 5. Descriptors: first out of the way of 3 and 4, then into place.
        let high = |fd: RawFd| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 16);
        let (image, memory, code) = (
            high(plan.image),
            high(plan.memory_file),
            high(plan.code_file),
        );
        if image < 0
            || memory < 0
            || code < 0
            || libc::dup3(memory, FD_MEMORY, 0) < 0
            || libc::dup3(code, FD_CODE, 0) < 0
            || libc::syscall(
                libc::SYS_close_range,
                FD_CODE + 1,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) != 0
            || libc::syscall(libc::SYS_close_range, 0, 2, 0) != 0
        {
            fail(SetupStep::Descriptors);
        }
        // 6. The worker image.
        let argv = [c"pvm-sandbox-worker".as_ptr(), core::ptr::null()];
        let envp = [core::ptr::null::<libc::c_char>()];
        libc::syscall(
            libc::SYS_execveat,
            image,
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        fail(SetupStep::Execute)
    }
}

/// Mounts an empty, read-only tmpfs over `directory`.
///
/// # Safety
///
/// Only for the pre-exec child (it changes the mount namespace).
unsafe fn mount_empty(directory: &CStr) -> bool {
    // SAFETY: mounts with NUL-terminated strings; the caller is the child.
    unsafe {
        libc::mount(
            c"none".as_ptr(),
            directory.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_NOSUID | libc::MS_RDONLY,
            c"size=0".as_ptr().cast(),
        ) == 0
    }
}
