//! The floor of any round trip between two cores through shared memory: two threads,
//! pinned to different CPUs, bounce one cache line (the sender writes the next number,
//! the other side spins until it sees it and writes it back plus one). A sandbox's
//! `ecalli` round trip moves at least this much (one line each way), so this is what the
//! Linux sandbox's round trip (BENCHMARKS.md, "compare-sandbox") can at best approach on
//! this machine.
//!
//! Three ways to spin, interleaved sample by sample: a bare load loop, a load and `pause`
//! (`spin_loop`), and a load, `pause` and a time-stamp read (the sandbox's loops, which
//! bound their spinning by time).
//!
//! ```sh
//! cargo run --release -p pvm-benchmarking --example cache_line_ping_pong
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

#[repr(align(128))]
struct Line(AtomicU64);

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Spin {
    Bare,
    Pause,
    PauseAndTimestamp,
}

const SPINS: [Spin; 3] = [Spin::Bare, Spin::Pause, Spin::PauseAndTimestamp];

impl Spin {
    #[inline(always)]
    fn wait_for(self, line: &Line, value: u64) {
        loop {
            if line.0.load(Ordering::Acquire) == value {
                return;
            }
            match self {
                Spin::Bare => {}
                Spin::Pause => std::hint::spin_loop(),
                Spin::PauseAndTimestamp => {
                    std::hint::spin_loop();
                    // SAFETY: `rdtsc` reads the time-stamp counter; no side effects.
                    std::hint::black_box(unsafe { core::arch::x86_64::_rdtsc() });
                }
            }
        }
    }
}

fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bit set on the stack; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

const ROUND_TRIPS: u64 = 200_000;
const SAMPLES: usize = 15;

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("needs two CPUs");
        return;
    }
    let line = Arc::new(Line(AtomicU64::new(0)));
    let barrier = Arc::new(Barrier::new(2));
    let (other, other_barrier) = (Arc::clone(&line), Arc::clone(&barrier));
    let echo = std::thread::spawn(move || {
        pin_to(1);
        let mut expected = 1;
        for _ in 0..SAMPLES {
            for spin in SPINS {
                other_barrier.wait();
                for _ in 0..ROUND_TRIPS {
                    spin.wait_for(&other, expected);
                    other.0.store(expected + 1, Ordering::Release);
                    expected += 2;
                }
            }
        }
    });
    pin_to(0);
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    let mut value = 1;
    for _ in 0..SAMPLES {
        for (index, spin) in SPINS.into_iter().enumerate() {
            barrier.wait();
            let start = Instant::now();
            for _ in 0..ROUND_TRIPS {
                line.0.store(value, Ordering::Release);
                spin.wait_for(&line, value + 1);
                value += 2;
            }
            samples[index].push(start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64);
        }
    }
    echo.join().expect("the echo thread ends");
    for (spin, mut samples) in SPINS.into_iter().zip(samples) {
        samples.sort_by(f64::total_cmp);
        println!(
            "cache-line round trip between CPU 0 and CPU 1, spinning {spin:?}: min {:.0} ns, median {:.0} ns ({} samples of {ROUND_TRIPS})",
            samples[0],
            samples[samples.len() / 2],
            samples.len()
        );
    }
}
