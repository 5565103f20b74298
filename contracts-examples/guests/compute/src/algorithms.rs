//! The `compute` guest's algorithms as plain safe Rust over caller-provided buffers: the
//! guest (`lib.rs`) calls them on its static buffers, and the benchmarks compile this file
//! natively (with `#[path]`) to time the same work as native code.

/// Largest `n` for [`sieve`]; its buffer holds `SIEVE_MAX / 64` words.
pub const SIEVE_MAX: usize = 1 << 20;
/// Largest `n` for [`sort`]; its buffer holds `SORT_MAX` values.
pub const SORT_MAX: usize = 1 << 16;

/// Number of primes below `n` (clamped to [`SIEVE_MAX`]), sieving in `bits`.
pub fn sieve(n: u32, bits: &mut [u64]) -> u32 {
    let n = (n as usize).min(SIEVE_MAX);
    if n < 3 {
        return 0;
    }
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

/// `rounds` BLAKE2b compressions over the 128-byte message `m`, re-mixed after each.
pub fn hash(rounds: u32, m: &mut [u64; 16]) -> u64 {
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

#[inline(never)]
fn fib_rec(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib_rec(n - 1).wrapping_add(fib_rec(n - 2))
    }
}

/// Naive doubly recursive Fibonacci (`n` clamped to 40).
pub fn fib(n: u32) -> u64 {
    fib_rec(n.min(40))
}

/// Fills `buf[..n]` (`n` clamped to [`SORT_MAX`]) with xorshift64 output, sorts it and
/// returns a checksum, or `u64::MAX` if it is not sorted.
pub fn sort(n: u32, buf: &mut [u64]) -> u64 {
    let n = (n as usize).min(SORT_MAX);
    let buf = &mut buf[..n];
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
