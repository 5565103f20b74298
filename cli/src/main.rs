//! `pvm`: run, disassemble, assemble, benchmark and conformance-test PolkaVM programs on
//! `pvm-core`, and demonstrate contracts on a mock chain (`pvm demo`).
//!
//! Exit codes: 0 on success (a guest trap or running out of gas is a normal outcome of
//! `pvm run`), 1 when a command fails (bad input, an import the CLI host does not provide,
//! failing conformance vectors), 2 for command-line usage errors.

mod cmd;
mod host;
mod load;
mod output;
mod runner;
mod trace;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Command-line interface of the `pvm` tool.
#[derive(Parser, Debug)]
#[command(
    name = "pvm",
    version,
    about = "Run, inspect and test PolkaVM programs on pvm-core"
)]
struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Call an export (or a program counter) of a program and print the outcome.
    Run(cmd::run::RunArgs),
    /// Print a program as assembler text.
    Disasm(cmd::disasm::DisasmArgs),
    /// Assemble a text file into a program blob.
    Asm(cmd::asm::AsmArgs),
    /// Run a directory of JAM PVM conformance vectors (`*.json`).
    Conformance(cmd::conformance::ConformanceArgs),
    /// Time compiling and calling a program; prints one JSON line.
    Bench(cmd::bench::BenchArgs),
    /// Print the gas cost table the pallet charges by default.
    Costs(cmd::costs::CostsArgs),
    /// Deploy and call every example contract on the mock runtime, printing each call.
    Demo(cmd::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(&args),
        Command::Disasm(args) => cmd::disasm::run(&args),
        Command::Asm(args) => cmd::asm::run(&args),
        Command::Conformance(args) => cmd::conformance::run(&args),
        Command::Bench(args) => cmd::bench::run(&args),
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Costs(args) => cmd::costs::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
