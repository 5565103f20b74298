//! The engine: configuration shared by every module compiled with it.

use crate::error::Error;

/// Which backend executes guest code.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum BackendKind {
    /// The reference interpreter (available everywhere, including `no_std`).
    #[default]
    Interpreter,
}

impl BackendKind {
    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Interpreter => "interpreter",
        }
    }

    /// Parses [`BackendKind::name`].
    pub fn from_name(name: &str) -> Option<BackendKind> {
        match name {
            "interpreter" => Some(BackendKind::Interpreter),
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

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
