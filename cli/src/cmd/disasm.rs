//! `pvm disasm`: print a program as assembler text.

use crate::{load, output};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `pvm disasm`.
#[derive(Args, Debug)]
pub struct DisasmArgs {
    /// The program: a `.polkavm` container or a raw Graypaper code blob.
    pub blob: PathBuf,
}

/// Prints `pvm_core::asm::disassemble` of the program.
pub fn run(args: &DisasmArgs) -> Result<ExitCode> {
    let program = load::load_program(&args.blob)?;
    let mut text = String::new();
    if program.raw {
        text.push_str("; raw Graypaper code blob (no \"PVM\\0\" container)\n");
    }
    text.push_str(&pvm_core::asm::disassemble(&program.blob));
    output::print(&text).context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}
