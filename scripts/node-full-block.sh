#!/usr/bin/env bash
# A block full of contract calls (token transfers) made by the dev node, then executed again
# as import does with each backend: calls per block, the weight charged, the import time
# (node/benches/full_block.rs). Arguments go to the benchmark, e.g. `--repeat 20` or
# `--runtime native-engine`. Idempotent, no prompts; not part of `.ci/run` (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BUILD_ONLY=1 scripts/node.sh
source scripts/node-env.sh
cargo bench --locked --manifest-path node/Cargo.toml --bench full_block -- "$@"
