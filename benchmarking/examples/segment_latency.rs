//! Exploratory: the load-to-use latency of each way the JIT can address guest memory,
//! measured as a pointer chase (every load's address is the previous load's value) over
//! 32 KiB (L1), so nothing but address generation and the load differ:
//!
//! - `gs:[eax]` with a non-zero `gs` base: the JIT's form wherever `fsgsbase` is usable
//!   (guest memory wherever the reservation happens to be);
//! - `lea ecx, [rax + offset]; [rdx + rcx]`: its form without `fsgsbase` (memory base
//!   register), with a zero offset (the `lea` is then a move the renamer eliminates) and
//!   with an offset;
//! - `[eax]` with absolute addresses and no segment: polkavm's form in its sandbox, where
//!   guest memory starts at address 0 of the worker;
//! - `gs:[eax]` with a zero `gs` base, and `[rdx + rax]` for reference.
//!
//! ```sh
//! cargo run --release -p pvm-benchmarking --example segment_latency -- [loads per round] [rounds]
//! ```
//!
//! On the AMD EPYC (Zen 4) of 2026-12-07 a non-zero segment base costs a cycle more per
//! load than the flat forms (see BENCHMARKS.md, "The segment base's cycle").

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn main() {
    use std::arch::asm;
    use std::time::Instant;

    const SLOTS: usize = 4096;
    let mut args = std::env::args().skip(1);
    let loads: u64 = args
        .next()
        .map_or(50_000_000, |a| a.parse().expect("loads"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("rounds"));
    if !pvm_core::sandbox::generic::segment_base_usable() {
        eprintln!("fsgsbase is not usable here: nothing to compare");
        return;
    }
    // Below 2 GiB (`MAP_32BIT`), so its absolute addresses are 32-bit guest-like ones.
    // SAFETY: a fresh anonymous mapping; checked below.
    let buffer = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SLOTS * 8,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
            -1,
            0,
        )
    };
    assert_ne!(buffer, libc::MAP_FAILED, "mmap");
    let base = buffer as u64;
    assert!(base < 1 << 31);
    // SAFETY: the mapping is SLOTS u64s, read-write, and only this function uses it.
    let slots = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u64>(), SLOTS) };

    // A random cycle through every slot (xorshift, fixed seed).
    let mut order: Vec<usize> = (0..SLOTS).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..SLOTS).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    // Each slot holds the next slot's offset plus `bias` (0: relative, `base`: absolute).
    let mut link = |bias: u64| {
        for i in 0..SLOTS {
            slots[order[i]] = (order[(i + 1) % SLOTS] * 8) as u64 + bias;
        }
    };

    let time = |f: &mut dyn FnMut(u64) -> u64, start: u64| {
        let begin = Instant::now();
        let end = f(start);
        std::hint::black_box(end);
        begin.elapsed().as_secs_f64() * 1e9 / loads as f64
    };
    let mut rows: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut record = |name: &'static str, value: f64| match rows.iter_mut().find(|r| r.0 == name) {
        Some(row) => row.1.push(value),
        None => rows.push((name, vec![value])),
    };
    // A chase of `loads` loads from `start`: each `$line` sequence computes the next value
    // of `rax` from the last (extra operands after `;`), so only the addressing differs.
    macro_rules! chase {
        ($start:expr, $($line:literal),+ $(; $($operands:tt)*)?) => {
            time(
                &mut |mut p| {
                    for _ in 0..loads {
                        // SAFETY: every form reads inside the buffer only: before each
                        // chase the slots are linked so that every value, as that form
                        // uses it, addresses a slot (an offset from the `gs` base or from
                        // `rdx`, the buffer, or an absolute address below 2 GiB).
                        unsafe { asm!($($line),+, inout("rax") p $(, $($operands)*)?) };
                    }
                    p
                },
                $start,
            )
        };
    }
    let saved_gs: u64;
    // SAFETY: reads this thread's `gs` base (fsgsbase checked above).
    unsafe { asm!("rdgsbase {}", out(reg) saved_gs) };

    for _ in 0..rounds {
        link(0);
        // SAFETY: `gs` points at the buffer while the relative chase runs. Nothing else in
        // this thread uses `gs` (x86-64 glibc keeps its thread pointer in `fs`); restored
        // below.
        unsafe { asm!("wrgsbase {}", in(reg) base) };
        record(
            "gs:[eax], gs base = the buffer (the JIT's form)",
            chase!(0, "mov rax, gs:[eax]"),
        );
        record(
            "lea ecx, [rax]; [rdx + rcx] (the JIT without fsgsbase)",
            chase!(0, "lea ecx, [rax]", "mov rax, [rdx + rcx]"; in("rdx") base, out("rcx") _),
        );
        // Each value plus 8, wrapped to 32 bits, is an offset inside the buffer.
        link(8u64.wrapping_neg());
        record(
            "lea ecx, [rax + 8]; [rdx + rcx] (the same with an offset)",
            chase!(8u64.wrapping_neg(), "lea ecx, [rax + 8]", "mov rax, [rdx + rcx]"; in("rdx") base, out("rcx") _),
        );
        link(0);
        record(
            "[rdx + rax] (64-bit base + index)",
            chase!(0, "mov rax, [rdx + rax]"; in("rdx") base),
        );
        link(base);
        // SAFETY: a zero `gs` base while the absolute chase runs; restored below.
        unsafe { asm!("wrgsbase {}", in(reg) 0u64) };
        record("gs:[eax], gs base = 0", chase!(base, "mov rax, gs:[eax]"));
        // SAFETY: the host's `gs` base again.
        unsafe { asm!("wrgsbase {}", in(reg) saved_gs) };
        record(
            "[eax], memory at address 0 (polkavm's form)",
            chase!(base, "mov rax, [eax]"),
        );
    }
    // SAFETY: unmapping the buffer made above; nothing refers to it any more.
    unsafe { libc::munmap(buffer, SLOTS * 8) };
    println!("ns per dependent load over 32 KiB, {loads} loads a round, {rounds} rounds:");
    for (name, mut times) in rows {
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:58} min {:.3}  median {:.3}",
            times[0],
            times[times.len() / 2]
        );
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn main() {
    eprintln!("x86-64 Linux only");
}
