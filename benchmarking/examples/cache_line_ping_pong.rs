//! The floor of any round trip between two cores through shared memory: two threads,
//! pinned to different CPUs, bounce one cache line (the sender writes the next number,
//! the other side spins until it sees it and writes it back plus one). A sandbox's
//! `ecalli` round trip moves at least this much (one line each way), so this is what the
//! Linux sandbox's round trip (BENCHMARKS.md, "compare-sandbox") can at best approach on
//! this machine.
//!
//! ```sh
//! cargo run --release -p pvm-benchmarking --example cache_line_ping_pong
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[repr(align(128))]
struct Line(AtomicU64);

fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bit set on the stack; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("needs two CPUs");
        return;
    }
    const ROUND_TRIPS: u64 = 200_000;
    let line = Arc::new(Line(AtomicU64::new(0)));
    let other = Arc::clone(&line);
    let echo = std::thread::spawn(move || {
        pin_to(1);
        let mut expected = 1;
        while expected < 2 * ROUND_TRIPS * 10 {
            while other.0.load(Ordering::Acquire) != expected {
                std::hint::spin_loop();
            }
            other.0.store(expected + 1, Ordering::Release);
            expected += 2;
        }
    });
    pin_to(0);
    let mut samples = Vec::new();
    let mut value = 1;
    for _ in 0..10 {
        let start = Instant::now();
        for _ in 0..ROUND_TRIPS {
            line.0.store(value, Ordering::Release);
            while line.0.load(Ordering::Acquire) != value + 1 {
                std::hint::spin_loop();
            }
            value += 2;
        }
        samples.push(start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64);
    }
    echo.join().expect("the echo thread ends");
    samples.sort_by(f64::total_cmp);
    println!(
        "cache-line round trip between CPU 0 and CPU 1: min {:.0} ns, median {:.0} ns ({} samples of {ROUND_TRIPS})",
        samples[0],
        samples[samples.len() / 2],
        samples.len()
    );
}
