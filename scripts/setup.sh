#!/usr/bin/env bash
# Installs what the project needs, idempotently and without prompts: the pinned host
# toolchain (rust-toolchain.toml) with rustfmt, clippy and rust-src (the runtime's wasm
# build) and its wasm and 32-bit x86 targets; the guests' pinned nightly with rust-src
# (contracts-examples/guests/rust-toolchain.toml); and Debian's gcc-multilib, the C
# toolchain and libc the i686 test build links with.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rustup >/dev/null 2>&1; then
    echo "rustup is required (this machine kind ships it)" >&2
    exit 1
fi

host_toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
guest_toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' contracts-examples/guests/rust-toolchain.toml)

rustup toolchain install "$host_toolchain" --profile minimal -c rustfmt -c clippy -c rust-src \
    -t wasm32-unknown-unknown -t wasm32v1-none -t i686-unknown-linux-gnu --no-self-update >/dev/null
rustup toolchain install "$guest_toolchain" --profile minimal -c rust-src --no-self-update >/dev/null

if ! dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -q "install ok installed"; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-multilib >/dev/null
fi
