//! `compute` guest: compute-heavy exports without imports, used by differential tests and
//! benchmarks.
//!
//! # Exports
//!
//! * `sieve(n: u32) -> u32` — number of primes below `n` (sieve of Eratosthenes over a static
//!   bit array; `n` is clamped to `1 << 20`). Default benchmark argument: `1_000_000`.
//! * `hash(rounds: u32) -> u64` — `rounds` BLAKE2b compressions (hand-written, 12 rounds of
//!   `G` each) over a 128-byte message in a static buffer, with the message re-mixed after
//!   every compression xxhash-style (multiply/rotate). Default argument: `20_000`.
//! * `fib(n: u32) -> u64` — naive doubly-recursive Fibonacci (wrapping adds; `n` clamped to
//!   40). Default argument: `30`.
//! * `sort(n: u32) -> u64` — fills a static array of `n` u64s (clamped to `1 << 16`) with
//!   xorshift64 output, sorts it with `sort_unstable` and returns a checksum (or `u64::MAX` if
//!   the result is not sorted). Default argument: `50_000`.

#![no_std]
#![no_main]

use core::cell::UnsafeCell;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[repr(C, align(8))]
struct Static<T>(UnsafeCell<T>);

// SAFETY: the guest is single-threaded.
unsafe impl<T> Sync for Static<T> {}

impl<T> Static<T> {
    /// SAFETY: the caller must not create overlapping references.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> &mut T {
        unsafe { &mut *self.0.get() }
    }
}

mod algorithms;

use algorithms::{SIEVE_MAX, SORT_MAX};

static SIEVE: Static<[u64; SIEVE_MAX / 64]> = Static(UnsafeCell::new([0; SIEVE_MAX / 64]));
static MESSAGE: Static<[u64; 16]> = Static(UnsafeCell::new([0; 16]));
static SORT_BUF: Static<[u64; SORT_MAX]> = Static(UnsafeCell::new([0; SORT_MAX]));

#[polkavm_derive::polkavm_export]
fn sieve(n: u32) -> u32 {
    algorithms::sieve(n, unsafe { SIEVE.get() })
}

#[polkavm_derive::polkavm_export]
fn hash(rounds: u32) -> u64 {
    algorithms::hash(rounds, unsafe { MESSAGE.get() })
}

#[polkavm_derive::polkavm_export]
fn fib(n: u32) -> u64 {
    algorithms::fib(n)
}

#[polkavm_derive::polkavm_export]
fn sort(n: u32) -> u64 {
    algorithms::sort(n, unsafe { SORT_BUF.get() })
}
