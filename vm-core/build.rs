//! Sets `cfg(jit_sandbox)` where the JIT and its in-process sandbox exist: the `std`
//! feature on x86-64 Linux. One name for one condition, instead of repeating it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(jit_sandbox)");
    let std = std::env::var_os("CARGO_FEATURE_STD").is_some();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if std && os == "linux" && arch == "x86_64" {
        println!("cargo::rustc-cfg=jit_sandbox");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
