//! `compute-contract`: the `compute` guest's workloads as a contract, so they can run
//! through pallet-pvm on every engine (the native interpreter and JIT through the host
//! functions, and the interpreter inside the wasm runtime) and be timed per unit of gas.
//!
//! | export | call data | output |
//! |---|---|---|
//! | `deploy` | ignored | empty; stores nothing |
//! | `call` | `[0] ++ n: u32` | `sieve(n)`: primes below `n` (clamped to `1 << 20`), `u64` |
//! | `call` | `[1] ++ rounds: u32` | `hash(rounds)`: BLAKE2b compressions, `u64` |
//! | `call` | `[2] ++ n: u32` | `fib(n)`: naive recursive Fibonacci (clamped to 40), `u64` |
//! | `call` | `[3] ++ n: u32` | `sort(n)`: sort `n` xorshift64 values, checksum, `u64` |
//!
//! Anything else reverts with empty output. The algorithms are the `compute` guest's own
//! source (`../compute/src/algorithms.rs`).

#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use pvm_contract_api as api;

api::contract!(deploy = on_deploy, call = on_call);

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

#[path = "../../compute/src/algorithms.rs"]
mod algorithms;

use algorithms::{SIEVE_MAX, SORT_MAX};

static SIEVE: Static<[u64; SIEVE_MAX / 64]> = Static(UnsafeCell::new([0; SIEVE_MAX / 64]));
static MESSAGE: Static<[u64; 16]> = Static(UnsafeCell::new([0; 16]));
static SORT_BUF: Static<[u64; SORT_MAX]> = Static(UnsafeCell::new([0; SORT_MAX]));

fn on_deploy() {}

fn on_call() {
    let mut buffer = [0u8; 5];
    let Some(&[selector, a, b, c, d]) = api::call_data(&mut buffer) else {
        api::revert(&[]);
    };
    let n = u32::from_le_bytes([a, b, c, d]);
    // SAFETY: each static is borrowed once, for the length of one call.
    let result = match selector {
        0 => u64::from(algorithms::sieve(n, unsafe { SIEVE.get() })),
        1 => algorithms::hash(n, unsafe { MESSAGE.get() }),
        2 => algorithms::fib(n),
        3 => algorithms::sort(n, unsafe { SORT_BUF.get() }),
        _ => api::revert(&[]),
    };
    api::return_value(&result.to_le_bytes());
}
