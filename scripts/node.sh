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
scripts/setup.sh

# sc-network's build scripts compile protobuf definitions with protoc; litep2p's WebRTC
# (str0m) asks for a vendored OpenSSL, whose C build is minutes on two cores: Debian's
# libssl-dev and OPENSSL_NO_VENDOR let openssl-sys link the system's instead.
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
for package in libssl-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
export OPENSSL_NO_VENDOR=1
# The runtime's wasm is built with the root workspace's Cargo.lock (as CI builds it), which
# substrate-wasm-builder finds from the target directory only when that is inside the tree.
export WASM_BUILD_WORKSPACE_HINT="$PWD"

# One target directory with the root workspace: the runtime and pvm crates are shared.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked --manifest-path node/Cargo.toml --bin pvm-node

if [ "${NODE_BUILD_ONLY:-0}" = 1 ]; then
    echo "built $CARGO_TARGET_DIR/release/pvm-node"
    exit 0
fi
exec "$CARGO_TARGET_DIR/release/pvm-node" --dev "$@"
