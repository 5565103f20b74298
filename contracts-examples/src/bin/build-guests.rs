//! Rebuilds the guest program blobs in `contracts-examples/blobs/` from the sources in
//! `contracts-examples/guests/`, reproducibly.
//!
//! ```text
//! cargo run -p pvm-contracts-examples --features build --bin build-guests            # rebuild + write
//! cargo run -p pvm-contracts-examples --features build --bin build-guests -- --check # verify only
//! ```
//!
//! Steps:
//! 1. `rustup toolchain install <channel> --profile minimal --component rust-src`, where the
//!    channel is read from `guests/rust-toolchain.toml` (idempotent, non-interactive).
//! 2. `cargo build --release --locked -Zjson-target-spec -Zbuild-std=core,alloc --target
//!    <polkavm target json>` inside `guests/`, with `--remap-path-prefix` for the guests
//!    directory, `$CARGO_HOME` and the toolchain sysroot so the output does not depend on where
//!    the repository (or the toolchain) lives.
//! 3. Links every ELF with `polkavm_linker::program_from_elf` (default config, `strip = true`)
//!    for each instruction set listed in [`BLOBS`] and writes `blobs/<guest>.<isa>.polkavm`.
//!
//! With `--check` nothing is written; the exit status is non-zero if any committed blob is
//! missing or differs from the rebuilt bytes, and each such blob is named.
//!
//! This binary is part of the `pvm-contracts-examples` package, whose library `include_bytes!`s
//! every blob, so a *deleted* blob makes the package fail to compile (naming the file). To
//! regenerate it, restore it from git or create an empty placeholder (`touch
//! contracts-examples/blobs/<name>.polkavm`) and run this tool. When adding a new guest, add it
//! to [`GUESTS`] first, run the tool, then add the `include_bytes!` constant to `lib.rs`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use polkavm_linker::{ProgramBlob, RustcVersion, TargetInstructionSet, TargetJsonArgs};

/// Guest crate directory name, lib name of the produced ELF, instruction sets to link for.
const GUESTS: &[(&str, &str, &[Isa])] = &[
    (
        "hostcalls",
        "guest_hostcalls",
        &[Isa::Latest64, Isa::ReviveV1, Isa::JamV1],
    ),
    (
        "compute",
        "guest_compute",
        &[Isa::Latest64, Isa::ReviveV1, Isa::JamV1],
    ),
    // ReviveV1 and JamV1 have no `sbrk`/`memset`, which the allocator guest needs.
    ("alloc", "guest_alloc", &[Isa::Latest64]),
    // Contracts for pallet-pvm, whose ABI accepts Latest64 (blob version 2) only.
    ("flipper", "contract_flipper", &[Isa::Latest64]),
    ("counter", "contract_counter", &[Isa::Latest64]),
    ("token", "contract_token", &[Isa::Latest64]),
    ("hasher", "contract_hasher", &[Isa::Latest64]),
    ("probe", "contract_probe", &[Isa::Latest64]),
    ("compute-contract", "contract_compute", &[Isa::Latest64]),
    ("proxy", "contract_proxy", &[Isa::Latest64]),
    ("factory", "contract_factory", &[Isa::Latest64]),
    // The real-code corpus (`guests/corpus/`): third-party crates. Those that allocate use
    // the `sbrk` heap, so they are Latest64 only.
    (
        "corpus-sha2",
        "corpus_sha2",
        &[Isa::Latest64, Isa::ReviveV1],
    ),
    (
        "corpus-blake",
        "corpus_blake",
        &[Isa::Latest64, Isa::ReviveV1],
    ),
    (
        "corpus-sha3",
        "corpus_sha3",
        &[Isa::Latest64, Isa::ReviveV1],
    ),
    (
        "corpus-ed25519",
        "corpus_ed25519",
        &[Isa::Latest64, Isa::ReviveV1],
    ),
    ("corpus-bigint", "corpus_bigint", &[Isa::Latest64]),
    ("corpus-miniz", "corpus_miniz", &[Isa::Latest64]),
    ("corpus-json", "corpus_json", &[Isa::Latest64]),
    ("corpus-sort", "corpus_sort", &[Isa::Latest64]),
];

#[derive(Copy, Clone, Debug)]
enum Isa {
    Latest64,
    ReviveV1,
    JamV1,
}

impl Isa {
    fn file_tag(self) -> &'static str {
        match self {
            Isa::Latest64 => "latest64",
            Isa::ReviveV1 => "revive_v1",
            Isa::JamV1 => "jam_v1",
        }
    }

    fn target(self) -> TargetInstructionSet {
        match self {
            Isa::Latest64 => TargetInstructionSet::Latest,
            Isa::ReviveV1 => TargetInstructionSet::ReviveV1,
            Isa::JamV1 => TargetInstructionSet::JamV1,
        }
    }
}

const TARGET_NAME: &str = "riscv64emac-unknown-none-polkavm";

fn main() {
    if let Err(error) = run() {
        eprintln!("build-guests: error: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut check = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: build-guests [--check]");
                println!(
                    "  rebuilds contracts-examples/blobs/*.polkavm from contracts-examples/guests"
                );
                println!(
                    "  --check  write nothing; fail if any committed blob is missing or differs"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }

    let crate_dir = crate_dir()?;
    let guests_dir = crate_dir.join("guests");
    let blobs_dir = crate_dir.join("blobs");
    let channel = toolchain_channel(&guests_dir)?;

    install_toolchain(&channel)?;
    let sysroot = sysroot(&channel, &guests_dir)?;
    let target_json = target_json()?;
    build_guests(&channel, &guests_dir, &sysroot, &target_json)?;

    let elf_dir = guests_dir.join("target").join(TARGET_NAME).join("release");
    let mut blobs = BTreeMap::new();
    for &(guest, lib_name, isas) in GUESTS {
        let elf_path = elf_dir.join(format!("{lib_name}.elf"));
        let elf = std::fs::read(&elf_path)
            .with_context(|| format!("failed to read {}", elf_path.display()))?;
        for &isa in isas {
            let mut config = polkavm_linker::Config::default();
            config.set_strip(true);
            let blob = polkavm_linker::program_from_elf(config, isa.target(), &elf)
                .map_err(|error| anyhow::anyhow!("failed to link {guest} for {isa:?}: {error}"))?;
            let parsed = ProgramBlob::parse(blob.clone().into()).map_err(|error| {
                anyhow::anyhow!("linked blob for {guest}/{isa:?} does not parse: {error}")
            })?;
            let exports: Vec<String> = parsed
                .exports()
                .map(|export| String::from_utf8_lossy(export.symbol().as_bytes()).into_owned())
                .collect();
            blobs.insert(
                format!("{guest}.{}.polkavm", isa.file_tag()),
                (blob, parsed.isa().name(), exports),
            );
        }
    }

    let mut failures = Vec::new();
    for (name, (blob, isa_name, exports)) in &blobs {
        let path = blobs_dir.join(name);
        let existing = std::fs::read(&path).ok();
        let status = match &existing {
            None => "missing",
            Some(bytes) if bytes == blob => "up to date",
            Some(_) => "differs",
        };
        if check {
            if status != "up to date" {
                failures.push(format!("{name} ({status})"));
            }
        } else if status != "up to date" {
            std::fs::create_dir_all(&blobs_dir)
                .with_context(|| format!("failed to create {}", blobs_dir.display()))?;
            std::fs::write(&path, blob)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
        let action = match (check, status) {
            (_, "up to date") => "up to date",
            (true, s) => s,
            (false, "missing") => "written (new)",
            (false, _) => "written (changed)",
        };
        println!(
            "{name:<28} {:>8} bytes  isa={isa_name:<9} exports=[{}]  {action}",
            blob.len(),
            exports.join(", ")
        );
    }

    // Blobs in the directory that this tool would not produce are stale.
    if let Ok(entries) = std::fs::read_dir(&blobs_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".polkavm") && !blobs.contains_key(&name) {
                println!("{name:<28} not produced by build-guests (stale?)");
                if check {
                    failures.push(format!("{name} (not produced by build-guests)"));
                }
            }
        }
    }

    if !failures.is_empty() {
        bail!(
            "{} blob(s) out of date: {}\nrun `cargo run -p pvm-contracts-examples --features build --bin build-guests` to regenerate",
            failures.len(),
            failures.join(", ")
        );
    }
    if check {
        println!("all {} blobs match", blobs.len());
    }
    Ok(())
}

/// `contracts-examples/`: taken from `CARGO_MANIFEST_DIR` at run time when `cargo run` sets it
/// (so a copied checkout with a stale binary still points at itself), else at compile time.
fn crate_dir() -> Result<PathBuf> {
    let runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let dir = runtime
        .filter(|dir| dir.join("guests").join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    dir.canonicalize()
        .with_context(|| format!("cannot find {}", dir.display()))
}

/// Reads `channel = "..."` from `guests/rust-toolchain.toml`.
fn toolchain_channel(guests_dir: &Path) -> Result<String> {
    let path = guests_dir.join("rust-toolchain.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("channel") {
            if let Some(value) = rest.trim_start().strip_prefix('=') {
                let value = value.trim().trim_matches('"');
                if !value.is_empty() {
                    return Ok(value.to_owned());
                }
            }
        }
    }
    bail!("no `channel = \"...\"` in {}", path.display())
}

/// Environment for child processes, without anything the outer `cargo run` (or the user's
/// shell) may have set that would change which toolchain or flags the guest build uses.
fn clean_command(program: &str) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        let drop = (key_str.starts_with("CARGO_") && key_str != "CARGO_HOME")
            || key_str == "CARGO"
            || key_str.starts_with("RUSTC")
            || key_str.starts_with("RUSTDOC")
            || key_str == "RUSTFLAGS"
            || key_str == "RUSTUP_TOOLCHAIN"
            || key_str == "RUST_TARGET_PATH";
        if drop {
            command.env_remove(&key);
        }
    }
    command.stdin(Stdio::null());
    command
}

fn run_checked(mut command: Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("failed to run {what}"))?;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}

fn install_toolchain(channel: &str) -> Result<()> {
    eprintln!("build-guests: ensuring toolchain {channel} with rust-src is installed");
    let mut command = clean_command("rustup");
    command.args([
        "toolchain",
        "install",
        channel,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
        "--no-self-update",
    ]);
    run_checked(command, &format!("`rustup toolchain install {channel}`"))
}

fn sysroot(channel: &str, guests_dir: &Path) -> Result<PathBuf> {
    let mut command = clean_command("rustup");
    command
        .args(["run", channel, "rustc", "--print", "sysroot"])
        .current_dir(guests_dir);
    let output = command
        .output()
        .context("failed to run `rustc --print sysroot`")?;
    if !output.status.success() {
        bail!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let sysroot = PathBuf::from(
        String::from_utf8(output.stdout)
            .context("non-UTF-8 sysroot")?
            .trim(),
    );
    Ok(sysroot.canonicalize().unwrap_or(sysroot))
}

fn target_json() -> Result<PathBuf> {
    let mut args = TargetJsonArgs::default();
    // The pinned nightly is newer than 1.91, so use the new-style target JSON explicitly
    // instead of auto-detecting from whatever `rustc` is first in PATH.
    args.rustc_version = RustcVersion::Rustc_1_91;
    args.is_64_bit = true;
    polkavm_linker::target_json_path(args).map_err(|error| anyhow::anyhow!(error))
}

fn cargo_home() -> Result<PathBuf> {
    let path = match std::env::var_os("CARGO_HOME") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?)
            .join(".cargo"),
    };
    Ok(path.canonicalize().unwrap_or(path))
}

fn build_guests(
    channel: &str,
    guests_dir: &Path,
    sysroot: &Path,
    target_json: &Path,
) -> Result<()> {
    let mut remaps: Vec<(PathBuf, &str)> = vec![
        (sysroot.to_owned(), "/rust-sysroot"),
        (cargo_home()?, "/cargo-home"),
    ];
    if let Some(cache_dir) = target_json.parent() {
        remaps.push((cache_dir.to_owned(), "/polkavm-target"));
    }
    // Last: rustc applies the last matching remapping, and this one is the most specific for
    // the guest sources.
    remaps.push((guests_dir.to_owned(), "/guests"));

    let mut flags: Vec<OsString> = Vec::new();
    for (from, to) in &remaps {
        let mut flag = OsString::from("--remap-path-prefix=");
        flag.push(from.as_os_str());
        flag.push("=");
        flag.push(to);
        flags.push(flag);
    }
    let mut encoded = OsString::new();
    for (i, flag) in flags.iter().enumerate() {
        if i > 0 {
            encoded.push("\u{1f}");
        }
        encoded.push(flag);
    }

    eprintln!("build-guests: building guests in {}", guests_dir.display());
    let mut command = clean_command("rustup");
    command
        .args([
            "run",
            channel,
            "cargo",
            "build",
            "--release",
            "--locked",
            "-Zjson-target-spec",
            "-Zbuild-std=core,alloc",
            "--target",
        ])
        .arg(target_json)
        .current_dir(guests_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", encoded)
        .env("CARGO_INCREMENTAL", "0")
        .env("SOURCE_DATE_EPOCH", "0");
    run_checked(command, "guest `cargo build`")
}
