//! Sets `cfg(jit_sandbox)` where the JIT and its sandboxes exist: the `std` feature on
//! x86-64 Linux. One name for one condition, instead of repeating it.
//!
//! There it also builds the Linux sandbox's worker (`src/sandbox/linux/worker/main.rs`):
//! a freestanding static executable of a few KiB that the library embeds and runs in each
//! worker process. It is compiled with the same `rustc` as the crate, for the same target,
//! without std or libc, so it needs nothing beyond the toolchain that builds the crate.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(jit_sandbox)");
    println!("cargo::rerun-if-changed=build.rs");
    let std = std::env::var_os("CARGO_FEATURE_STD").is_some();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if std && os == "linux" && arch == "x86_64" {
        println!("cargo::rustc-cfg=jit_sandbox");
        build_worker();
    }
}

/// Compiles the worker into `$OUT_DIR/pvm-sandbox-worker`, where `sandbox/linux/spawn.rs`
/// includes it.
fn build_worker() {
    let sources = "src/sandbox/linux";
    for file in ["worker/main.rs", "protocol.rs", "seccomp.rs"] {
        println!("cargo::rerun-if-changed={sources}/{file}");
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let output = out_dir.join("pvm-sandbox-worker");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let status = Command::new(rustc)
        .args(["--edition", "2021", "--crate-type", "bin", "--crate-name"])
        .arg("pvm_sandbox_worker")
        .args(["--target", &target])
        .args([
            "-C",
            "panic=abort",
            "-C",
            "opt-level=2",
            "-C",
            "debuginfo=0",
        ])
        .args(["-C", "codegen-units=1", "-C", "strip=symbols"])
        // A fixed-address image: no dynamic loader, no relocations to apply at start.
        .args([
            "-C",
            "relocation-model=static",
            "-C",
            "target-feature=+crt-static",
        ])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args([
            "-C",
            "link-arg=-static",
            "-C",
            "link-arg=-Wl,--build-id=none",
        ])
        .args(["-C", "link-arg=-Wl,-z,noexecstack"])
        .arg("-o")
        .arg(&output)
        .arg(format!("{sources}/worker/main.rs"))
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("running rustc for the sandbox worker");
    assert!(status.success(), "building the sandbox worker failed");
}
