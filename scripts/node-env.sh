# Sourced by the dev node's scripts (node.sh, node-e2e.sh, node-full-block.sh): installs
# what the node's build needs, idempotently and without prompts, and sets the build's
# environment, so that every script builds the node the same way (and reuses its build).

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
