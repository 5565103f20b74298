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

// ---------------------------------------------------------------------------------------------
// sieve

const SIEVE_MAX: usize = 1 << 20;
static SIEVE: Static<[u64; SIEVE_MAX / 64]> = Static(UnsafeCell::new([0; SIEVE_MAX / 64]));

#[polkavm_derive::polkavm_export]
fn sieve(n: u32) -> u32 {
    let n = (n as usize).min(SIEVE_MAX);
    if n < 3 {
        return 0;
    }
    let bits = unsafe { SIEVE.get() };
    let words = n.div_ceil(64);
    for word in &mut bits[..words] {
        *word = 0;
    }
    let mut i = 2;
    while i * i < n {
        if bits[i / 64] & (1 << (i % 64)) == 0 {
            let mut j = i * i;
            while j < n {
                bits[j / 64] |= 1 << (j % 64);
                j += i;
            }
        }
        i += 1;
    }
    let mut count = 0;
    for k in 2..n {
        if bits[k / 64] & (1 << (k % 64)) == 0 {
            count += 1;
        }
    }
    count
}

// ---------------------------------------------------------------------------------------------
// hash

const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

const SIGMA: [[u8; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

#[inline(always)]
fn g(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

#[inline(never)]
fn compress(h: &mut [u64; 8], m: &[u64; 16], t: u128, last: bool) {
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t as u64;
    v[13] ^= (t >> 64) as u64;
    if last {
        v[14] = !v[14];
    }
    for s in &SIGMA {
        g(&mut v, 0, 4, 8, 12, m[s[0] as usize], m[s[1] as usize]);
        g(&mut v, 1, 5, 9, 13, m[s[2] as usize], m[s[3] as usize]);
        g(&mut v, 2, 6, 10, 14, m[s[4] as usize], m[s[5] as usize]);
        g(&mut v, 3, 7, 11, 15, m[s[6] as usize], m[s[7] as usize]);
        g(&mut v, 0, 5, 10, 15, m[s[8] as usize], m[s[9] as usize]);
        g(&mut v, 1, 6, 11, 12, m[s[10] as usize], m[s[11] as usize]);
        g(&mut v, 2, 7, 8, 13, m[s[12] as usize], m[s[13] as usize]);
        g(&mut v, 3, 4, 9, 14, m[s[14] as usize], m[s[15] as usize]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

const PRIME64_1: u64 = 0x9e37_79b1_85eb_ca87;
const PRIME64_2: u64 = 0xc2b2_ae3d_27d4_eb4f;

static MESSAGE: Static<[u64; 16]> = Static(UnsafeCell::new([0; 16]));

#[polkavm_derive::polkavm_export]
fn hash(rounds: u32) -> u64 {
    let m = unsafe { MESSAGE.get() };
    for (i, word) in m.iter_mut().enumerate() {
        *word = (i as u64 + 1).wrapping_mul(PRIME64_1);
    }
    let mut h = IV;
    // Parameter block: digest length 64, fanout 1, depth 1, no key.
    h[0] ^= 0x0101_0040;
    for r in 0..rounds {
        compress(&mut h, m, (u128::from(r) + 1) * 128, r + 1 == rounds);
        for i in 0..16 {
            let next = m[(i + 1) & 15];
            m[i] = (m[i] ^ h[i & 7])
                .wrapping_mul(PRIME64_2)
                .rotate_left(31)
                .wrapping_add(next >> 7);
        }
    }
    let mut out = 0u64;
    for (i, word) in h.iter().enumerate() {
        out = (out ^ word)
            .wrapping_mul(PRIME64_1)
            .rotate_left(i as u32 * 8 + 5);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// fib

#[inline(never)]
fn fib_rec(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib_rec(n - 1).wrapping_add(fib_rec(n - 2))
    }
}

#[polkavm_derive::polkavm_export]
fn fib(n: u32) -> u64 {
    fib_rec(n.min(40))
}

// ---------------------------------------------------------------------------------------------
// sort

const SORT_MAX: usize = 1 << 16;
static SORT_BUF: Static<[u64; SORT_MAX]> = Static(UnsafeCell::new([0; SORT_MAX]));

#[polkavm_derive::polkavm_export]
fn sort(n: u32) -> u64 {
    let n = (n as usize).min(SORT_MAX);
    let buf = unsafe { &mut SORT_BUF.get()[..n] };
    let mut x = 0x2545_f491_4f6c_dd1d ^ (n as u64);
    for v in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Leave some duplicates in: mask off the low bits of every fourth value.
        *v = if x & 3 == 0 { x & !0xffff } else { x };
    }
    buf.sort_unstable();
    let mut sum = 0u64;
    for (i, w) in buf.windows(2).enumerate() {
        if w[0] > w[1] {
            return u64::MAX;
        }
        sum = sum.rotate_left(7) ^ w[0].wrapping_mul(i as u64 + 1);
    }
    if let Some(last) = buf.last() {
        sum ^= *last;
    }
    sum
}
