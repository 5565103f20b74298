//! Command-line arguments: Substrate's, plus how blocks are sealed, which runtime variant
//! runs, and which backend the native pvm engine uses.

/// How blocks are sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    /// A block as soon as a transaction enters the pool (and finalized at once).
    Instant,
    /// A block every so many milliseconds, empty or not (and finalized at once).
    Interval(u64),
    /// A block only when asked over RPC (`engine_createBlock`): a test or a benchmark
    /// fills the pool first, then seals one block with as much of it as fits.
    Manual,
}

impl std::str::FromStr for Sealing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "instant" => return Ok(Sealing::Instant),
            "manual" => return Ok(Sealing::Manual),
            _ => {}
        }
        match s.strip_prefix("interval-").map(str::parse::<u64>) {
            Some(Ok(ms)) if ms > 0 => Ok(Sealing::Interval(ms)),
            _ => Err(format!(
                "`{s}`: expected `instant`, `manual` or `interval-<milliseconds>` (e.g. interval-6000)"
            )),
        }
    }
}

/// Which wasm build of `pvm-runtime` the dev chain runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeVariant {
    /// Contracts on the node's native engine, through the pvm host functions.
    NativeEngine,
    /// Contracts on pvm-core's interpreter inside the runtime (no pvm host function used).
    InRuntimeEngine,
}

/// The native engine's backend (results and gas are the same on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PvmBackend {
    /// The interpreter.
    Interpreter,
    /// The x86-64 JIT in its sandbox (falls back to the interpreter where it cannot run).
    Jit,
}

impl From<PvmBackend> for pvm_core::BackendKind {
    fn from(backend: PvmBackend) -> Self {
        match backend {
            PvmBackend::Interpreter => pvm_core::BackendKind::Interpreter,
            PvmBackend::Jit => pvm_core::BackendKind::Jit,
        }
    }
}

/// `pvm-node`'s arguments.
#[derive(Debug, clap::Parser)]
pub struct Cli {
    /// A subcommand, or none to run the node.
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    /// How blocks are sealed: `instant` (a block per transaction),
    /// `interval-<milliseconds>` (a block every interval) or `manual` (a block when
    /// `engine_createBlock` is called; also callable with `interval-*`).
    #[arg(long, default_value = "instant")]
    pub sealing: Sealing,

    /// Which runtime the development chain runs (`--dev` or `--chain dev`).
    #[arg(long, value_enum, default_value = "native-engine", global = true)]
    pub runtime: RuntimeVariant,

    /// The native pvm engine's backend.
    #[arg(long, value_enum, default_value = "interpreter", global = true)]
    pub pvm_backend: PvmBackend,

    /// Substrate's node arguments.
    #[command(flatten)]
    pub run: sc_cli::RunCmd,
}

/// Subcommands: Substrate's chain maintenance, and the block benchmark.
#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Key management.
    #[command(subcommand)]
    Key(sc_cli::KeySubcommand),

    /// Export the chain spec (`--chain dev`, with the `--runtime` given).
    ExportChainSpec(sc_cli::ExportChainSpecCmd),

    /// Check blocks.
    CheckBlock(sc_cli::CheckBlockCmd),

    /// Export blocks.
    ExportBlocks(sc_cli::ExportBlocksCmd),

    /// Export the state of a block into a chain spec.
    ExportState(sc_cli::ExportStateCmd),

    /// Import blocks.
    ImportBlocks(sc_cli::ImportBlocksCmd),

    /// Remove the whole chain.
    PurgeChain(sc_cli::PurgeChainCmd),

    /// Revert the chain to a previous state.
    Revert(sc_cli::RevertCmd),

    /// Execute blocks of the database again, as import does, and compare their time with
    /// the weight the runtime charged for them.
    BenchmarkBlock(crate::benchmark_block::BenchmarkBlockCmd),
}
