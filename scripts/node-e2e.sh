#!/usr/bin/env bash
# The dev node's end-to-end test: builds pvm-node and its test (node/tests/e2e.rs), which
# starts the node as a process on a temporary database for each runtime variant and drives
# it over RPC with subxt. Idempotent, no prompts; not part of `.ci/run` (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BUILD_ONLY=1 scripts/node.sh
source scripts/node-env.sh
cargo test --release --locked --manifest-path node/Cargo.toml --test e2e -- --nocapture "$@"
