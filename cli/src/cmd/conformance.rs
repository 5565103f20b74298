//! `pvm conformance`: run a directory of JAM PVM conformance vectors and report failures.

use crate::load;
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pvm_core::{BackendKind, SandboxKind};
use pvm_tests::conformance::{run_dir, vector_files};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `pvm conformance`.
#[derive(Args, Debug)]
pub struct ConformanceArgs {
    /// Directory of `*.json` vectors (e.g. `jam-pvm-v0.4/programs`).
    pub dir: PathBuf,
    /// The backend executing the vectors: `interpreter`, `jit` or `crosscheck`.
    #[arg(long, value_name = "NAME", default_value = "interpreter", value_parser = load::parse_backend)]
    pub backend: BackendKind,
    /// Where the JIT's code runs (with `--backend jit` or `crosscheck`): `linux`, a
    /// locked-down worker process (the default), or `generic`, in this process.
    #[arg(long, value_name = "NAME", default_value = "linux", value_parser = load::parse_sandbox)]
    pub sandbox: SandboxKind,
    /// Print every vector's result as it runs (to stderr).
    #[arg(long, short)]
    pub verbose: bool,
}

/// Runs the vectors; prints each failure with its diff, then `N passed, M failed` as the
/// last line of stdout. Exit code 1 if any vector failed.
pub fn run(args: &ConformanceArgs) -> Result<ExitCode> {
    let total = vector_files(&args.dir)
        .with_context(|| format!("cannot list {}", args.dir.display()))?
        .len();
    if total == 0 {
        bail!("{} contains no *.json vectors", args.dir.display());
    }
    let bar = progress_bar(total as u64);
    let config = load::engine_config(args.backend, args.sandbox);
    // Fail once, clearly, if the engine cannot be created (not once per vector).
    load::engine(args.backend, args.sandbox)?;
    let report = run_dir(&args.dir, &config, |path, result| {
        if args.verbose {
            let verdict = if result.is_ok() { "pass" } else { "FAIL" };
            bar.suspend(|| eprintln!("{verdict} {}", file_name(path)));
        }
        bar.inc(1);
    })
    .with_context(|| format!("cannot run the vectors in {}", args.dir.display()))?;
    bar.finish_and_clear();

    for (path, explanation) in &report.failures {
        println!("FAIL {}", file_name(path));
        print!("{explanation}");
        if !explanation.ends_with('\n') {
            println!();
        }
    }
    println!("{} passed, {} failed", report.passed, report.failures.len());
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A progress bar on stderr (indicatif hides it when stderr is not a terminal).
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} vectors ({elapsed})")
        .expect("the template is valid");
    bar.set_style(style);
    bar
}

/// The file name of a vector, for messages.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}
