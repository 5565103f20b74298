#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, all tests (release, for speed), and that
# the committed guest blobs are exactly what their sources build to.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Property tests explore new inputs locally; in CI they replay one fixed seed so a red run
# always reproduces.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261122}"
# The runtime's wasm is built with this workspace's Cargo.lock, which substrate-wasm-builder
# finds from the target directory only when that is inside the tree.
export WASM_BUILD_WORKSPACE_HINT="$PWD"

cargo fmt --all -- --check
# The dev node is its own workspace and not built here (README "Dev node"), but kept formatted.
cargo fmt --manifest-path node/Cargo.toml -- --check
# The checks need no runtime wasm; the release test build below builds it (both variants)
# and the executor tests run it.
SKIP_WASM_BUILD=1 cargo clippy --workspace --all-targets -q -- -D warnings
# The benchmarks and the weights generator are behind features.
SKIP_WASM_BUILD=1 cargo clippy -q -p pallet-pvm -p pvm-benchmarking --all-targets \
    --features pallet-pvm/runtime-benchmarks,pvm-benchmarking/pallet-weights -- -D warnings
SKIP_WASM_BUILD=1 RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
cargo test --workspace --release
# The JIT's other form, which hosts without `fsgsbase` run (guest memory through a base
# register, the gas in memory instead of a register): the random programs and the guest
# exports against the interpreter again.
PVM_DIFF_NO_GS_BASE=1 PVM_DIFF_PROGRAMS=60000 cargo test -q --release -p pvm-tests \
    --test differential_jit -- random_programs_revive_v1 random_programs_jam_v1 \
    random_programs_latest64 every_guest_export_matches_the_interpreter
# pallet-pvm's benchmarks, each run once as a test (frame-benchmarking's test suite).
cargo test -q --release -p pallet-pvm --features runtime-benchmarks --lib
# The interpreter, the memory model and the parser run inside the runtime, where usize is
# 32 bits: pvm-core's own tests (debug: overflow checks on), the conformance vectors and
# the random differential against polkavm (10,000 programs, release with overflow checks
# and debug assertions in our code; not in polkavm's, whose interpreter overflows a usize
# on 32 bits) also run on a 32-bit target.
cargo test -q -p pvm-core --features std --target i686-unknown-linux-gnu
checked=(--config 'profile.release.package.pvm-core.overflow-checks=true'
    --config 'profile.release.package.pvm-core.debug-assertions=true'
    --config 'profile.release.package.pvm-tests.overflow-checks=true')
cargo test -q --release "${checked[@]}" -p pvm-tests --no-default-features \
    --target i686-unknown-linux-gnu --test conformance --test differential_random \
    --test differential_edge_cases
# pvm-core is no_std + alloc: prove it by building for a target without std. (pallet-pvm
# builds as runtime code with the runtime's wasm, in the test build above.)
cargo build -q -p pvm-core --release --target wasm32-unknown-unknown
cargo run --release -q -p pvm-contracts-examples --features build --bin build-guests -- --check
echo "all checks passed"
