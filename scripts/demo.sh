#!/usr/bin/env bash
# The main job: deploys and calls the example contracts on the mock chain (`pvm demo`),
# then runs the JAM conformance vectors and the example guests on pvm-core.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cargo build --release -q -p pvm-cli
pvm=target/release/pvm
vectors=../shared/conformance/jam-pvm-v0.4/programs

echo "== Contracts on chain: pallet-pvm on the mock runtime =="
"$pvm" demo

echo
echo "== JAM PVM v0.4 conformance vectors =="
"$pvm" conformance "$vectors"

echo
echo "== Guest programs (Rust, polkavm-derive 0.37, linked by polkavm-linker 0.37) =="
"$pvm" run contracts-examples/blobs/compute.latest64.polkavm --export sieve 1000000
"$pvm" run contracts-examples/blobs/hostcalls.latest64.polkavm --export run 1000
"$pvm" run contracts-examples/blobs/alloc.latest64.polkavm --export vec_work 10000

echo
echo "== Timing (median of 5 runs) =="
"$pvm" bench contracts-examples/blobs/compute.latest64.polkavm --export sieve 1000000 --runs 5
