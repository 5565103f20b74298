//! `hostcalls` guest: exercises the host-call (`ecalli`) path.
//!
//! # Imports (the host must provide these; both VMs in the differential tests implement them
//! identically, and they are all stateless)
//!
//! | import | semantics |
//! |---|---|
//! | `host_add(a: u64, b: u64) -> u64` | returns `a.wrapping_add(b)` |
//! | `host_read_input(ptr: *mut u8, len: u32) -> u32` | lets `n = min(len, 64)`; writes `n` bytes at guest address `ptr`, byte `i` (0-based) being `(len * 7 + i * 13) as u8` (u32 wrapping arithmetic, truncated to the low byte); returns `n` |
//! | `host_emit(ptr: *const u8, len: u32)` | reads `len` bytes at guest address `ptr` and appends them to a host-side log (nothing is returned; the harness compares the logs) |
//! | `host_mix6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64` | returns `a + 2b + 3c + 4d + 5e + 6f` with wrapping u64 arithmetic |
//!
//! # Exports
//!
//! * `run(n: u32) -> u64` — `n` iterations, each calling `host_add` and `host_read_input`,
//!   every 8th also `host_mix6`, every 16th also `host_emit` (8 bytes: the accumulator, little
//!   endian). Returns the accumulator.
//! * `fill_output(seed: u32) -> u32` — fills the 256-byte static `OUTPUT` buffer from `seed`,
//!   passes it to `host_emit(OUTPUT, 256)` and returns a checksum of it.
//! * `output_ptr() -> *const u8` — the guest address of `OUTPUT` (so the host can read it back).

#![no_std]
#![no_main]

use core::cell::UnsafeCell;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

#[polkavm_derive::polkavm_import]
extern "C" {
    fn host_add(a: u64, b: u64) -> u64;
    fn host_read_input(ptr: *mut u8, len: u32) -> u32;
    fn host_emit(ptr: *const u8, len: u32);
    fn host_mix6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64;
}

const OUTPUT_LEN: usize = 256;

#[repr(C, align(8))]
struct Output(UnsafeCell<[u8; OUTPUT_LEN]>);

// SAFETY: the guest is single-threaded.
unsafe impl Sync for Output {}

static OUTPUT: Output = Output(UnsafeCell::new([0; OUTPUT_LEN]));

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[polkavm_derive::polkavm_export]
fn run(n: u32) -> u64 {
    let mut acc: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = [0u8; 64];
    for i in 0..n {
        acc = unsafe { host_add(acc, u64::from(i).wrapping_mul(FNV_PRIME)) };
        let want = (i % 64) + 1;
        let got = unsafe { host_read_input(buf.as_mut_ptr(), want) };
        let got = (got as usize).min(buf.len());
        for &byte in &buf[..got] {
            acc = (acc ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
        if i % 8 == 7 {
            acc = unsafe {
                host_mix6(
                    acc,
                    u64::from(i),
                    got as u64,
                    acc >> 32,
                    acc.rotate_left(13),
                    u64::from(n),
                )
            };
        }
        if i % 16 == 15 {
            let bytes = acc.to_le_bytes();
            unsafe { host_emit(bytes.as_ptr(), bytes.len() as u32) };
        }
    }
    acc
}

#[polkavm_derive::polkavm_export]
fn fill_output(seed: u32) -> u32 {
    // SAFETY: single-threaded; no other reference to OUTPUT is live.
    let out = unsafe { &mut *OUTPUT.0.get() };
    let mut x = u64::from(seed) ^ 0x2545_f491_4f6c_dd1d;
    for chunk in out.chunks_exact_mut(8) {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    unsafe { host_emit(out.as_ptr(), OUTPUT_LEN as u32) };
    let mut sum: u32 = 0;
    for (i, &byte) in out.iter().enumerate() {
        sum = sum.rotate_left(3) ^ u32::from(byte).wrapping_mul(i as u32 + 1);
    }
    sum
}

#[polkavm_derive::polkavm_export]
fn output_ptr() -> *const u8 {
    OUTPUT.0.get().cast::<u8>().cast_const()
}
