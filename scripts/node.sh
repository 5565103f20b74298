#!/usr/bin/env bash
# Builds the dev node (node/, its own workspace: `.ci/run` does not build it) and starts it:
# `--dev` (Alice, Bob, ... funded; a fresh temporary database unless --base-path is given),
# a block per transaction, RPC on 127.0.0.1:9944. Arguments go to the node, e.g.
#   scripts/node.sh --sealing interval-6000          # a block every 6 s
#   scripts/node.sh --runtime in-runtime-engine      # contracts inside the runtime
#   scripts/node.sh --base-path /tmp/pvm-chain       # a database that survives restarts
# NODE_BUILD_ONLY=1 builds without starting. Idempotent, no prompts.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
cargo build --release --locked --manifest-path node/Cargo.toml --bin pvm-node

if [ "${NODE_BUILD_ONLY:-0}" = 1 ]; then
    echo "built $CARGO_TARGET_DIR/release/pvm-node"
    exit 0
fi
exec "$CARGO_TARGET_DIR/release/pvm-node" --dev "$@"
