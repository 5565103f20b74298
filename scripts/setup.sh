#!/usr/bin/env bash
# Installs what the project needs, idempotently and without prompts: the pinned host
# toolchain (rust-toolchain.toml) with rustfmt and clippy, and the guests' pinned nightly
# with rust-src (contracts-examples/guests/rust-toolchain.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rustup >/dev/null 2>&1; then
    echo "rustup is required (this machine kind ships it)" >&2
    exit 1
fi

host_toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
guest_toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' contracts-examples/guests/rust-toolchain.toml)

rustup toolchain install "$host_toolchain" --profile minimal -c rustfmt -c clippy -t wasm32-unknown-unknown --no-self-update >/dev/null
rustup toolchain install "$guest_toolchain" --profile minimal -c rust-src --no-self-update >/dev/null
