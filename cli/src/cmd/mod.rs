//! One module per subcommand; each exposes its clap arguments and a `run` function
//! returning the process exit code.

pub mod asm;
pub mod bench;
pub mod call;
pub mod conformance;
pub mod costs;
pub mod demo;
pub mod disasm;
pub mod run;
