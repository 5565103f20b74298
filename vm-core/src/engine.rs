//! The engine: configuration shared by every module compiled with it.

use crate::error::Error;

/// Which backend executes guest code.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum BackendKind {
    /// The reference interpreter (available everywhere, including `no_std`).
    #[default]
    Interpreter,
    /// The x86-64 JIT in the in-process sandbox (guest memory isolated by the address
    /// space, faults caught by a signal handler).
    ///
    /// Falls back to the interpreter, silently and with identical results, where the JIT
    /// cannot run: builds without `std`, hosts other than x86-64 Linux, CPUs without
    /// `lzcnt`, `bmi1` and `popcnt`, and modules with `step_tracing` (the JIT does not stop
    /// between instructions). [`Module::backend`](crate::Module::backend) says which
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

    /// Whether the JIT can run here: `std` on x86-64 Linux with `lzcnt`, `bmi1` (for
    /// `tzcnt`) and `popcnt`. Where it cannot, [`BackendKind::Jit`] and
    /// [`BackendKind::Crosscheck`] run the interpreter.
    pub fn jit_supported() -> bool {
        #[cfg(jit_sandbox)]
        {
            std::is_x86_feature_detected!("lzcnt")
                && std::is_x86_feature_detected!("bmi1")
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: BackendKind::Interpreter,
            memory_limit: 1 << 32,
        }
    }
}

/// Compiles modules; cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    config: Config,
}

impl Engine {
    /// Creates an engine, checking the backend is available.
    pub fn new(config: &Config) -> Result<Engine, Error> {
        Ok(Engine {
            config: config.clone(),
        })
    }

    /// The interpreter with the default configuration: infallible, for callers that give
    /// each instance its own memory limit
    /// ([`Module::instantiate_with_memory_limit`](crate::Module::instantiate_with_memory_limit)).
    pub fn interpreter() -> Engine {
        Engine {
            config: Config::default(),
        }
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
