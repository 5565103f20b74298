#!/usr/bin/env bash
# The dev node's end-to-end test: builds pvm-node and its test (node/tests/e2e.rs), which
# starts the node as a process on a temporary database for each runtime variant and drives
# it over RPC with subxt. Idempotent, no prompts; not part of `.ci/run` (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BUILD_ONLY=1 scripts/node.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# As scripts/node.sh built it: the system OpenSSL, not a vendored one.
export OPENSSL_NO_VENDOR=1
# The runtime's wasm is built with the root workspace's Cargo.lock (as CI builds it), which
# substrate-wasm-builder finds from the target directory only when that is inside the tree.
export WASM_BUILD_WORKSPACE_HINT="$PWD"
cargo test --release --locked --manifest-path node/Cargo.toml --test e2e -- --nocapture "$@"
