//! `hasher`: a compute-heavy contract, iterating a hash function.
//!
//! Integers are little-endian.
//!
//! | export | call data | output |
//! |---|---|---|
//! | `deploy` | anything (ignored) | empty; stores nothing |
//! | `call` | `[0] ++ rounds: u32 ++ seed` (seed at most 64 bytes) | `h_rounds`, computed in the guest with Keccak-256 |
//! | `call` | `[1] ++ rounds: u32 ++ seed` (seed at most 64 bytes) | `h_rounds`, computed with the `hash_blake2_256` syscall (BLAKE2b-256) |
//!
//! where `h_0 = seed` and `h_i = H(h_(i-1))`: round 1 hashes the seed, every later round the
//! previous 32-byte digest. For `rounds >= 1` the output is 32 bytes; `rounds = 0` returns
//! the seed unchanged. A seed longer than 64 bytes, an unknown selector or call data shorter
//! than 5 bytes revert with empty output.
//!
//! The in-guest hash of mode 0 is **Keccak-256** (Keccak-f\[1600\], rate 136 bytes, the
//! original `0x01` padding as in Ethereum; not SHA3-256), written out here with no syscall,
//! so every round is pure guest computation: 24 rounds of Keccak-f per hash. Mode 1 spends
//! the same number of rounds in the host instead, which makes the pair a measure of guest
//! compute against syscall cost.

#![no_std]
#![no_main]

use pvm_contract_api as api;

api::contract!(deploy = on_deploy, call = on_call);

/// The longest seed.
const MAX_SEED: usize = 64;

fn on_deploy() {}

fn on_call() {
    let mut buffer = [0u8; 5 + MAX_SEED];
    let Some(input) = api::call_data(&mut buffer) else {
        api::revert(&[])
    };
    let Some((&[selector, r0, r1, r2, r3], seed)) = input.split_first_chunk::<5>() else {
        api::revert(&[])
    };
    let rounds = u32::from_le_bytes([r0, r1, r2, r3]);
    let hash: fn(&[u8]) -> [u8; 32] = match selector {
        0 => keccak_256,
        1 => api::hash_blake2_256,
        _ => api::revert(&[]),
    };
    if rounds == 0 {
        api::return_value(seed);
    }
    let mut digest = hash(seed);
    for _ in 1..rounds {
        digest = hash(&digest);
    }
    api::return_value(&digest);
}

/// Keccak-256 of `input`: Keccak\[c = 512\] with the original `0x01` domain padding.
fn keccak_256(input: &[u8]) -> [u8; 32] {
    const RATE: usize = 136;
    let mut state = [0u64; 25];
    let mut chunks = input.chunks_exact(RATE);
    for block in &mut chunks {
        absorb(&mut state, block);
        keccak_f(&mut state);
    }
    let rest = chunks.remainder();
    let mut last = [0u8; RATE];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    absorb(&mut state, &last);
    keccak_f(&mut state);
    let mut out = [0u8; 32];
    for (bytes, lane) in out.chunks_exact_mut(8).zip(&state) {
        bytes.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// XORs a block (a multiple of 8 bytes, at most the rate) into the first lanes.
fn absorb(state: &mut [u64; 25], block: &[u8]) {
    for (lane, bytes) in state.iter_mut().zip(block.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        *lane ^= u64::from_le_bytes(word);
    }
}

/// Keccak-f\[1600\] round constants (iota).
const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// Rotation offsets (rho) in the order the pi step visits the lanes.
const RHO: [u32; 24] = [
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
];

/// The lane (`x + 5y`) the pi step moves each visited lane to.
const PI: [usize; 24] = [
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
];

/// The Keccak-f\[1600\] permutation, lanes indexed `x + 5y`.
fn keccak_f(a: &mut [u64; 25]) {
    for &round_constant in &ROUND_CONSTANTS {
        // theta
        let mut c = [0u64; 5];
        for x in 0..5 {
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        // rho and pi
        let mut carried = a[1];
        for (&to, &rotation) in PI.iter().zip(&RHO) {
            let next = a[to];
            a[to] = carried.rotate_left(rotation);
            carried = next;
        }
        // chi
        for y in 0..5 {
            let row = [
                a[5 * y],
                a[5 * y + 1],
                a[5 * y + 2],
                a[5 * y + 3],
                a[5 * y + 4],
            ];
            for x in 0..5 {
                a[5 * y + x] = row[x] ^ (!row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        // iota
        a[0] ^= round_constant;
    }
}
