//! The floor of any round trip between two cores through shared memory: two threads,
//! pinned to different CPUs, bounce a cache line (the sender writes the next number,
//! the other side spins until it sees it and writes it back plus one). A sandbox's
//! `ecalli` round trip moves at least this much (one line each way), so this is what the
//! Linux sandbox's round trip (BENCHMARKS.md, "compare-sandbox") can at best approach on
//! this machine.
//!
//! Variants, interleaved sample by sample:
//! - three ways to spin, each side answering at once: a bare load loop, a load and
//!   `pause` (`spin_loop`), and a load, `pause` and a time-stamp read (the sandbox's
//!   loops, which bound their spinning by time);
//! - each side answering as a sandbox does: after some work (about 20 ns of dependent
//!   multiplies, where the sandbox runs the guest or the host function), writing seven
//!   data words (registers, the exit) and then the signal with a swap; with everything
//!   on one line (the sandbox's layout), and with a line per direction.
//!
//! ```sh
//! cargo run --release -p pvm-benchmarking --example cache_line_ping_pong
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// A signal word and seven data words, alone on their cache lines (the adjacent-line
/// prefetcher pairs lines).
#[repr(C, align(128))]
#[derive(Default)]
struct Line {
    signal: AtomicU64,
    data: [AtomicU64; 7],
}

#[derive(Default)]
struct Lines {
    /// Written by the sender (and by the echo, for the one-line variants).
    to_echo: Line,
    /// Written by the echo, for the line-per-direction variant.
    to_sender: Line,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Variant {
    Bare,
    Pause,
    PauseAndTimestamp,
    WorkThenReplyOneLine,
    WorkThenReplyLinePerDirection,
}

const VARIANTS: [Variant; 5] = [
    Variant::Bare,
    Variant::Pause,
    Variant::PauseAndTimestamp,
    Variant::WorkThenReplyOneLine,
    Variant::WorkThenReplyLinePerDirection,
];

impl Variant {
    /// The line `sender` (or else the echo) writes to.
    fn outbox(self, lines: &Lines, sender: bool) -> &Line {
        match self {
            Variant::WorkThenReplyLinePerDirection if !sender => &lines.to_sender,
            _ => &lines.to_echo,
        }
    }

    #[inline(always)]
    fn wait_for(self, line: &Line, value: u64) {
        loop {
            if line.signal.load(Ordering::Acquire) == value {
                break;
            }
            match self {
                Variant::Bare => {}
                Variant::PauseAndTimestamp => {
                    std::hint::spin_loop();
                    // SAFETY: `rdtsc` reads the time-stamp counter; no side effects.
                    std::hint::black_box(unsafe { core::arch::x86_64::_rdtsc() });
                }
                _ => std::hint::spin_loop(),
            }
        }
        // What a host reads after the signal: the exit and a register.
        std::hint::black_box(line.data[3].load(Ordering::Relaxed));
    }

    #[inline(always)]
    fn send(self, line: &Line, value: u64) {
        match self {
            Variant::Bare | Variant::Pause | Variant::PauseAndTimestamp => {
                line.signal.store(value, Ordering::Release)
            }
            Variant::WorkThenReplyOneLine | Variant::WorkThenReplyLinePerDirection => {
                work();
                for word in &line.data {
                    word.store(value, Ordering::Relaxed);
                }
                line.signal.swap(value, Ordering::AcqRel);
            }
        }
    }
}

/// About 20 ns of dependent multiplies.
#[inline(never)]
fn work() {
    let mut x = 1u64;
    for i in 0..20 {
        x = std::hint::black_box(x.wrapping_mul(i + 3));
    }
    std::hint::black_box(x);
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
    let lines = Arc::new(Lines::default());
    let barrier = Arc::new(Barrier::new(2));
    let (other, other_barrier) = (Arc::clone(&lines), Arc::clone(&barrier));
    let echo = std::thread::spawn(move || {
        pin_to(1);
        let mut expected = 1;
        for _ in 0..SAMPLES {
            for variant in VARIANTS {
                other_barrier.wait();
                for _ in 0..ROUND_TRIPS {
                    variant.wait_for(variant.outbox(&other, true), expected);
                    variant.send(variant.outbox(&other, false), expected + 1);
                    expected += 2;
                }
            }
        }
    });
    pin_to(0);
    let mut samples = VARIANTS.map(|_| Vec::new());
    let mut value = 1;
    for _ in 0..SAMPLES {
        for (index, variant) in VARIANTS.into_iter().enumerate() {
            barrier.wait();
            let start = Instant::now();
            for _ in 0..ROUND_TRIPS {
                variant.send(variant.outbox(&lines, true), value);
                variant.wait_for(variant.outbox(&lines, false), value + 1);
                value += 2;
            }
            samples[index].push(start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64);
        }
    }
    echo.join().expect("the echo thread ends");
    for (variant, mut samples) in VARIANTS.into_iter().zip(samples) {
        samples.sort_by(f64::total_cmp);
        println!(
            "round trip between CPU 0 and CPU 1, {variant:?}: min {:.0} ns, median {:.0} ns ({} samples of {ROUND_TRIPS})",
            samples[0],
            samples[samples.len() / 2],
            samples.len()
        );
    }
}
