//! `pvm asm`: assemble a text file into a `.polkavm` container, or into a raw code blob
//! for an instruction set without a container version (`.isa graypaper`).

use anyhow::{anyhow, Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `pvm asm`.
#[derive(Args, Debug)]
pub struct AsmArgs {
    /// The assembler source (syntax: see `pvm_core::asm`).
    pub file: PathBuf,
    /// Where to write the program.
    #[arg(short, long, value_name = "BLOB")]
    pub output: PathBuf,
}

/// Assembles `file`, writes the program and prints its size.
pub fn run(args: &AsmArgs) -> Result<ExitCode> {
    let source = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let blob = pvm_core::asm::assemble(&source).map_err(|e| {
        if e.line == 0 {
            anyhow!("{}: {}", args.file.display(), e.message)
        } else {
            anyhow!("{}:{}: {}", args.file.display(), e.line, e.message)
        }
    })?;
    let (bytes, kind) = match blob.to_bytes() {
        Some(bytes) => (bytes, "PVM container"),
        None => (blob.code.container_payload(blob.isa), "raw code blob"),
    };
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "wrote {} bytes to {} ({kind}, isa {}, {} code bytes, {} exports)",
        bytes.len(),
        args.output.display(),
        blob.isa,
        blob.code.code.len(),
        blob.exports.len()
    );
    Ok(ExitCode::SUCCESS)
}
