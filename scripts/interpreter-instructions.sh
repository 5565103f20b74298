#!/usr/bin/env bash
# Host instructions per guest instruction of the interpreter, counted by callgrind: unlike
# wall-clock time this is repeatable on a shared, noisy machine, so it is how interpreter
# changes are compared (BENCHMARKS.md). Needs valgrind (apt-get install -y valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p pvm-cli
blob=contracts-examples/blobs/compute.latest64.polkavm
# The count includes the CLI's start-up (about 1.3 M instructions), small next to these runs.
for workload in "sieve 200000" "hash 2000" "fib 22" "sort 10000"; do
    # shellcheck disable=SC2086
    instructions=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        target/release/pvm run "$blob" --export $workload 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    # shellcheck disable=SC2086
    gas=$(target/release/pvm run "$blob" --export $workload | sed -n 's/^gas used: \([0-9]*\).*/\1/p')
    awk -v w="$workload" -v i="$instructions" -v g="$gas" \
        'BEGIN { printf "%-14s %12d host instructions / %10d guest = %.2f\n", w, i, g, i / g }'
done
