//! Pre-built PolkaVM guest programs ("blobs") for differential tests against polkavm 0.37 and
//! for benchmarks.
//!
//! Each blob is linked by `polkavm-linker` 0.37 (`Config::default()` + `set_strip(true)`) from a
//! guest crate in `contracts-examples/guests/` (its own cargo workspace, pinned nightly, built
//! with `-Zbuild-std=core,alloc` for `riscv64emac-unknown-none-polkavm`). The blob files are
//! committed; rebuild or verify them with
//!
//! ```text
//! cargo run -p pvm-contracts-examples --features build --bin build-guests
//! cargo run -p pvm-contracts-examples --features build --bin build-guests -- --check
//! ```
//!
//! File names are `<guest>.<isa>.polkavm` where `<isa>` is `latest64` (blob ISA version 2),
//! `revive_v1` (version 0) or `jam_v1` (version 3). The `alloc` guest exists only as
//! `latest64`: `revive_v1` and `jam_v1` have no `sbrk` instruction, so polkavm-linker refuses
//! to link it for them.
//!
//! All exports take and return integers in registers (`u32` arguments arrive zero-extended in
//! `a0`, results are returned in `a0`). Results below were checked against the polkavm 0.37
//! interpreter; each guest's source documents the exact algorithm.
//!
//! This crate has no dependencies and is `no_std`: it only contains the bytes.

#![no_std]

/// `hostcalls` guest, Latest64 ISA. The interface below is the same for every ISA.
///
/// # hostcalls guest
///
/// Exercises host calls (`ecalli`). All imports are stateless; the harness must implement them
/// identically on both VMs:
///
/// | import | semantics |
/// |---|---|
/// | `host_add(a: u64, b: u64) -> u64` | returns `a.wrapping_add(b)` |
/// | `host_read_input(ptr: *mut u8, len: u32) -> u32` | `n = min(len, 64)`; writes `n` bytes at guest address `ptr`, byte `i` being `(len * 7 + i * 13) as u8` (wrapping u32 arithmetic, low byte); returns `n` |
/// | `host_emit(ptr: *const u8, len: u32)` | reads `len` bytes at guest address `ptr` and appends them to a host-side log; returns nothing |
/// | `host_mix6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64` | returns `a + 2b + 3c + 4d + 5e + 6f` (wrapping u64) |
///
/// Pointers are 64-bit registers on the host side (the guest is RV64); use the low 32 bits as
/// the guest address.
///
/// Exports:
///
/// * `run(n: u32) -> u64` — `n` iterations; each calls `host_add` and `host_read_input` (with
///   `len = i % 64 + 1`), every 8th also `host_mix6`, every 16th also `host_emit` with 8 bytes
///   (the accumulator, little endian). Returns the accumulator. `run(1000)` =
///   `0xa51e64889a59d63d` (62 emits, 496 bytes).
/// * `fill_output(seed: u32) -> u32` — fills a 256-byte static buffer from `seed` (xorshift64),
///   calls `host_emit(buffer, 256)`, returns a checksum. `fill_output(12345)` = `0xfd28b1a6`.
/// * `output_ptr() -> *const u8` — guest address of that buffer (`0x20000`), so the host can
///   read it back with a memory read.
pub const HOSTCALLS_LATEST64: &[u8] = include_bytes!("../blobs/hostcalls.latest64.polkavm");

/// `hostcalls` guest, ReviveV1 ISA. Same imports/exports and results as
/// [`HOSTCALLS_LATEST64`].
pub const HOSTCALLS_REVIVE_V1: &[u8] = include_bytes!("../blobs/hostcalls.revive_v1.polkavm");

/// `hostcalls` guest, JamV1 ISA. Same imports/exports and results as [`HOSTCALLS_LATEST64`].
pub const HOSTCALLS_JAM_V1: &[u8] = include_bytes!("../blobs/hostcalls.jam_v1.polkavm");

/// `compute` guest, Latest64 ISA. No imports. Exports (default benchmark arguments in
/// brackets):
///
/// * `sieve(n: u32) -> u32` — number of primes below `n` (clamped to `1 << 20`), sieve of
///   Eratosthenes over a static bit array. [`1_000_000` → `78498`]
/// * `hash(rounds: u32) -> u64` — `rounds` hand-written BLAKE2b compressions over a static
///   128-byte message that is re-mixed xxhash-style (mul/rotate) after each one.
///   [`20_000` → `0x0646282cf3f5ee4e`]
/// * `fib(n: u32) -> u64` — naive doubly recursive Fibonacci, `n` clamped to 40.
///   [`30` → `832040`]
/// * `sort(n: u32) -> u64` — `sort_unstable` of `n` (clamped to `1 << 16`) xorshift64 values
///   in a static array, returns a checksum (`u64::MAX` if not sorted).
///   [`50_000` → `0x0a0f56857a2d70ee`]
pub const COMPUTE_LATEST64: &[u8] = include_bytes!("../blobs/compute.latest64.polkavm");

/// `compute` guest, ReviveV1 ISA. Same exports and results as [`COMPUTE_LATEST64`].
pub const COMPUTE_REVIVE_V1: &[u8] = include_bytes!("../blobs/compute.revive_v1.polkavm");

/// `compute` guest, JamV1 ISA. Same exports and results as [`COMPUTE_LATEST64`].
pub const COMPUTE_JAM_V1: &[u8] = include_bytes!("../blobs/compute.jam_v1.polkavm");

/// `alloc` guest, Latest64 ISA only (uses `sbrk` and `memset`). No imports.
///
/// A bump `#[global_allocator]` built on the `sbrk` instruction (`sbrk(0)` for the current heap
/// top, then growth in 4 KiB multiples; `sbrk` returns the new heap top or 0). Exports:
///
/// * `vec_work(n: u32) -> u64` — `Vec<u64>` of `n` (clamped to 100_000) xorshift values,
///   sorted, bucketed into a `BTreeMap<u32, u32>`, partly formatted into a `String`; returns a
///   checksum. `vec_work(10000)` = `0xdc1e28794b9fb369`.
/// * `grow(n_kib: u32) -> u64` — allocates `n_kib` KiB (clamped to 65_536) in chunks of up to
///   64 KiB, fills each with the `memset` instruction, touches every 4 KiB page, returns a
///   checksum. Leaks the memory, so the heap grows across calls on one instance.
/// * `heap_top() -> u64` — `sbrk(0)`; `0x30010` on a fresh instance.
/// * `heap_base() -> u64` — `polkavm_derive::heap_base()`; `0x30010`.
pub const ALLOC_LATEST64: &[u8] = include_bytes!("../blobs/alloc.latest64.polkavm");

/// Every blob as `(file name, bytes)`, e.g. `("compute.jam_v1.polkavm", COMPUTE_JAM_V1)`.
pub const ALL: &[(&str, &[u8])] = &[
    ("alloc.latest64.polkavm", ALLOC_LATEST64),
    ("compute.jam_v1.polkavm", COMPUTE_JAM_V1),
    ("compute.latest64.polkavm", COMPUTE_LATEST64),
    ("compute.revive_v1.polkavm", COMPUTE_REVIVE_V1),
    ("hostcalls.jam_v1.polkavm", HOSTCALLS_JAM_V1),
    ("hostcalls.latest64.polkavm", HOSTCALLS_LATEST64),
    ("hostcalls.revive_v1.polkavm", HOSTCALLS_REVIVE_V1),
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn blobs_have_polkavm_magic_and_expected_isa_version() {
        for (name, bytes) in ALL {
            assert_eq!(&bytes[..4], b"PVM\0", "{name}");
            let expected = if name.contains(".latest64.") {
                2
            } else if name.contains(".revive_v1.") {
                0
            } else {
                3
            };
            assert_eq!(bytes[4], expected, "{name}: blob version byte");
        }
    }
}

/// What the `hostcalls` guest's host functions compute, written once for every host that
/// runs the guest (the CLI, the differential tests, the benchmarks); each host only moves
/// the values between these functions and its VM's registers and memory.
pub mod host {
    /// The most bytes `host_read_input` writes.
    pub const MAX_INPUT: u32 = 64;

    /// `host_add(a, b)`: the wrapping sum.
    pub fn add(a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    /// `host_read_input(ptr, len)`: fills the first `min(len, 64)` bytes of `out` (byte `i`
    /// is `len * 7 + i * 13`, truncated) and returns how many; the host writes them at
    /// `ptr` and returns the count in A0.
    pub fn input(len: u32, out: &mut [u8; MAX_INPUT as usize]) -> usize {
        let n = len.min(MAX_INPUT);
        for (i, byte) in (0u32..).zip(&mut out[..n as usize]) {
            *byte = len.wrapping_mul(7).wrapping_add(i.wrapping_mul(13)) as u8;
        }
        n as usize
    }

    /// `host_mix6(a, b, c, d, e, f)`: `a + 2b + 3c + 4d + 5e + 6f`, wrapping.
    pub fn mix6(args: [u64; 6]) -> u64 {
        args.iter().zip(1u64..).fold(0, |sum, (value, weight)| {
            sum.wrapping_add(value.wrapping_mul(weight))
        })
    }
}
