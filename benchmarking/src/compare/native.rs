//! The `compute` guest's workloads as native Rust: the guest's own algorithm source
//! (`contracts-examples/guests/compute/src/algorithms.rs`, compiled here for the host),
//! timed like a VM's execution, for the "how far from native" column of `compare-jit`.

use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "../../../contracts-examples/guests/compute/src/algorithms.rs"]
mod algorithms;

/// Runs `export(arg)` of the `compute` guest natively once, with fresh buffers, and returns
/// its result and how long the call took; `None` for exports of other guests.
pub fn run_once(export: &str, arg: u32) -> Option<(u64, Duration)> {
    // The buffers are the guest's statics; allocating them is not part of the call.
    let mut sieve_bits = vec![0u64; algorithms::SIEVE_MAX / 64];
    let mut message = [0u64; 16];
    let mut sort_buf = vec![0u64; algorithms::SORT_MAX];
    let arg = black_box(arg);
    let start = Instant::now();
    let result = match export {
        "sieve" => u64::from(algorithms::sieve(arg, &mut sieve_bits)),
        "hash" => algorithms::hash(arg, &mut message),
        "fib" => algorithms::fib(arg),
        "sort" => algorithms::sort(arg, &mut sort_buf),
        _ => return None,
    };
    let elapsed = start.elapsed();
    Some((black_box(result), elapsed))
}

/// The minimum of `runs` native calls of `export(arg)`, if the export has a native build,
/// after checking every call returned `expected` (the result both VMs agreed on).
pub fn min_time(export: &str, arg: u32, runs: usize, expected: u64) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for _ in 0..runs.max(1) {
        let (result, elapsed) = run_once(export, arg)?;
        assert_eq!(
            result, expected,
            "native {export}({arg}) disagrees with the VMs"
        );
        best = Some(best.map_or(elapsed, |b| b.min(elapsed)));
    }
    best
}
