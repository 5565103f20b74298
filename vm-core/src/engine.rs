//! The engine: configuration shared by every module compiled with it.

use crate::error::Error;

/// Which backend executes guest code.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum BackendKind {
    /// The reference interpreter (available everywhere, including `no_std`).
    #[default]
    Interpreter,
    /// The x86-64 JIT, its code running in the sandbox [`Config::sandbox`] chooses (by
    /// default a separate, locked-down worker process).
    ///
    /// Falls back to the interpreter, silently and with identical results, where the JIT
    /// cannot run: builds without `std`, hosts other than x86-64 Linux, CPUs without
    /// `lzcnt`, `bmi1`, `bmi2` and `popcnt`, and modules with `step_tracing` (the JIT does
    /// not stop between instructions). [`Module::backend`](crate::Module::backend) says which
    /// backend a module got.
    Jit,
    /// The JIT and the interpreter in lockstep, for tests and debugging: every `run()`
    /// runs both and compares the interrupt, pc, next pc, gas, registers, heap size and all
    /// accessible memory, failing with [`Error::Divergence`] on the first difference. The
    /// interpreter's state is the one reported. Falls back as [`BackendKind::Jit`] does,
    /// to the interpreter alone.
    Crosscheck,
}

impl BackendKind {
    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Interpreter => "interpreter",
            BackendKind::Jit => "jit",
            BackendKind::Crosscheck => "crosscheck",
        }
    }

    /// Every backend, in the order the CLI lists them.
    pub const ALL: [BackendKind; 3] = [
        BackendKind::Interpreter,
        BackendKind::Jit,
        BackendKind::Crosscheck,
    ];

    /// What [`jit_supported`](Self::jit_supported) checks, in words (for messages).
    pub const JIT_REQUIREMENTS: &'static str =
        "std on x86-64 Linux, and a CPU with lzcnt, bmi1, bmi2 and popcnt";

    /// Whether the JIT can run here: `std` on x86-64 Linux with `lzcnt`, `bmi1` (for
    /// `tzcnt` and `andn`), `bmi2` (for `mulx`) and `popcnt` (every x86-64 CPU since
    /// Haswell and Excavator has them). Where it cannot, [`BackendKind::Jit`] and
    /// [`BackendKind::Crosscheck`] run the interpreter.
    pub fn jit_supported() -> bool {
        #[cfg(jit_sandbox)]
        {
            std::is_x86_feature_detected!("lzcnt")
                && std::is_x86_feature_detected!("bmi1")
                && std::is_x86_feature_detected!("bmi2")
                && std::is_x86_feature_detected!("popcnt")
        }
        #[cfg(not(jit_sandbox))]
        {
            false
        }
    }

    /// Parses [`BackendKind::name`].
    pub fn from_name(name: &str) -> Option<BackendKind> {
        match name {
            "interpreter" => Some(BackendKind::Interpreter),
            "jit" => Some(BackendKind::Jit),
            "crosscheck" => Some(BackendKind::Crosscheck),
            _ => None,
        }
    }
}

/// Where JIT-compiled guest code runs.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum SandboxKind {
    /// In a separate worker process per running instance (x86-64 Linux): new user, PID,
    /// mount, network, IPC, UTS and cgroup namespaces, an empty root, no capabilities,
    /// resource limits, and a seccomp filter that kills the worker on any system call
    /// but the four its loop needs. Guest memory and code are shared with the host
    /// through memory files. A guest that took over the generated code would hold a
    /// process that can do almost nothing.
    #[default]
    Linux,
    /// In the host process, on the calling thread: guest memory isolated by a 4 GiB
    /// reservation with guard pages, faults caught by a signal handler. Faster to enter
    /// (no round trip to another process), but a code-generation bug is one step from the
    /// host's memory.
    Generic,
}

impl SandboxKind {
    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            SandboxKind::Linux => "linux",
            SandboxKind::Generic => "generic",
        }
    }

    /// Parses [`SandboxKind::name`].
    pub fn from_name(name: &str) -> Option<SandboxKind> {
        match name {
            "linux" => Some(SandboxKind::Linux),
            "generic" => Some(SandboxKind::Generic),
            _ => None,
        }
    }

    /// Every sandbox, in the order the CLI lists them.
    pub const ALL: [SandboxKind; 2] = [SandboxKind::Linux, SandboxKind::Generic];
}

/// How and where JIT code runs. Only the JIT and crosscheck backends use it; none of it
/// can change a result, only whether and how fast a run completes.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The sandbox. [`SandboxKind::Linux`] by default: where the kernel does not allow its
    /// workers (no unprivileged user namespaces, a container's seccomp profile, ...),
    /// [`Engine::new`] fails with [`Error::Sandbox`] saying why, unless
    /// [`fall_back_to_generic`](Self::fall_back_to_generic) is set.
    pub kind: SandboxKind,
    /// Where the Linux sandbox is unavailable, use [`SandboxKind::Generic`] instead (and
    /// log a warning) rather than fail. Off by default: the operator chooses the weaker
    /// isolation knowingly.
    pub fall_back_to_generic: bool,
    /// Idle Linux sandbox workers kept started, so that instantiating does not wait for
    /// a process to start. The pool is shared by every engine of the process and keeps
    /// the largest size any of them asked for; busy workers are not counted.
    pub pool_size: u32,
    /// A run (one `Instance::run`) in a Linux sandbox worker that takes longer than this
    /// fails with a timeout, and the worker is killed. `None`: no limit (gas bounds the
    /// run, if metering is on).
    pub run_timeout: Option<core::time::Duration>,
    /// Keep each Linux sandbox worker on another processor than the thread running its
    /// instance (changing the worker's CPU affinity, never the host thread's), so that
    /// the two can spin-wait on each other: an `ecalli` round trip then takes no system
    /// call. On by default; off leaves placement to the scheduler, which under load tends
    /// to put both on one processor, where a round trip costs a context switch.
    pub pin_workers: bool,
    /// Bytes of guest memory pages a Linux sandbox worker keeps, zeroed, when its instance
    /// is dropped, for the next instance to use without faulting them in (a fresh page
    /// costs the worker about 2 µs, zeroing one the host about 0.1 µs). An instance that
    /// touched more has all its pages freed. 4 MiB by default; 0 frees everything, for the
    /// least memory per idle worker.
    pub idle_worker_memory: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            kind: SandboxKind::Linux,
            fall_back_to_generic: false,
            pool_size: 2,
            run_timeout: None,
            pin_workers: true,
            idle_worker_memory: 4 << 20,
        }
    }
}

/// Engine-wide settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The backend modules compile for.
    pub backend: BackendKind,
    /// The most guest memory one instance may map, in bytes. Part of the consensus
    /// configuration: instantiation fails when the initial image does not fit, and `sbrk`
    /// fails (the guest sees 0) when growing would pass it. Mapped pages are backed by host
    /// memory only when written, so this also bounds the host memory an instance uses. The
    /// default, the whole 32-bit address space, never refuses what PolkaVM grants; lower it
    /// to bound what an untrusted guest can make the host allocate.
    pub memory_limit: u64,
    /// Where the JIT's code runs.
    pub sandbox: SandboxConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: BackendKind::Interpreter,
            memory_limit: 1 << 32,
            sandbox: SandboxConfig::default(),
        }
    }
}

/// Compiles modules; cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    config: Config,
    /// The sandbox JIT code runs in (after any fall-back), when the JIT runs at all.
    sandbox: SandboxKind,
}

impl Engine {
    /// Creates an engine, checking the backend is available: for the JIT in the Linux
    /// sandbox, that this host can start workers (checked once per process), and
    /// pre-starting the configured number of them.
    pub fn new(config: &Config) -> Result<Engine, Error> {
        let sandbox = Self::choose_sandbox(config)?;
        Ok(Engine {
            config: config.clone(),
            sandbox,
        })
    }

    /// The interpreter with the default configuration: infallible, for callers that give
    /// each instance its own memory limit
    /// ([`Module::instantiate_with_memory_limit`](crate::Module::instantiate_with_memory_limit)).
    pub fn interpreter() -> Engine {
        Engine {
            config: Config::default(),
            sandbox: SandboxKind::default(),
        }
    }

    #[cfg(jit_sandbox)]
    fn choose_sandbox(config: &Config) -> Result<SandboxKind, Error> {
        let jit = matches!(config.backend, BackendKind::Jit | BackendKind::Crosscheck);
        if !jit || !BackendKind::jit_supported() || config.sandbox.kind != SandboxKind::Linux {
            return Ok(config.sandbox.kind);
        }
        match crate::sandbox::linux::prepare(config.sandbox.pool_size) {
            Ok(()) => Ok(SandboxKind::Linux),
            Err(error) if config.sandbox.fall_back_to_generic => {
                log::warn!(
                    "{error}; running JIT code in the generic (in-process) sandbox, as configured"
                );
                Ok(SandboxKind::Generic)
            }
            Err(error) => Err(error.into()),
        }
    }

    #[cfg(not(jit_sandbox))]
    fn choose_sandbox(config: &Config) -> Result<SandboxKind, Error> {
        Ok(config.sandbox.kind)
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The sandbox the JIT's code runs in: the configured one, or
    /// [`SandboxKind::Generic`] after a fall-back the configuration allowed.
    pub fn sandbox(&self) -> SandboxKind {
        self.sandbox
    }
}
