//! Pre-built PolkaVM guest programs ("blobs"): guests for differential tests against polkavm
//! 0.37 and for benchmarks ([`ALL`]), and example contracts for `pallet-pvm` ([`CONTRACTS`]).
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
//! The exports of the VM test guests take and return integers in registers (`u32` arguments
//! arrive zero-extended in `a0`, results are returned in `a0`). Results below were checked
//! against the polkavm 0.37 interpreter; each guest's source documents the exact algorithm.
//!
//! The contracts ([`FLIPPER`], [`COUNTER`], [`TOKEN`], [`HASHER`], [`PROBE`]) are written
//! with the guest SDK `pvm-contract-api` (`guests/api/`) against the contract ABI of
//! `pallet/src/abi.md`: they export `deploy` and `call` without arguments, read call data and
//! end with `return_data` through syscalls, and exist only as `latest64`. Their interfaces are
//! documented on each constant; integers in call data and output are little-endian and
//! accounts 32 bytes. Unknown selectors and malformed call data revert with empty output.
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

/// `flipper` contract (Latest64): one boolean in storage.
///
/// Storage key `b"flip"` holds one byte, 0 (false) or 1 (true).
///
/// | export | call data | effect | output |
/// |---|---|---|---|
/// | `deploy` | empty, or `[init]` with `init` 0 or 1 | stores `b"flip"` = `[init]` (empty = 0) | empty |
/// | `call` | `[0]` | flip | empty |
/// | `call` | `[1]` | get | `[0]` or `[1]` |
///
/// Anything else (another selector, extra bytes, `init` > 1) reverts with empty output.
/// Syscalls used: `call_data_size`, `call_data_copy`, `get_storage`, `set_storage`,
/// `return_data`.
pub const FLIPPER: &[u8] = include_bytes!("../blobs/flipper.latest64.polkavm");

/// `counter` contract (Latest64): a checked `u64` counter.
///
/// Storage key `b"count"` holds the counter, `u64` as 8 little-endian bytes.
///
/// | export | call data | effect | output |
/// |---|---|---|---|
/// | `deploy` | empty, or `initial: u64` | stores `b"count"` = `initial` (empty = 0) | empty |
/// | `call` | `[0] ++ by: u64` | increment; past `u64::MAX` reverts | new value, `u64` |
/// | `call` | `[1] ++ by: u64` | decrement; below zero reverts | new value, `u64` |
/// | `call` | `[2]` | get | value, `u64` |
///
/// Reverts (overflow, underflow, unknown selector, wrong length) have empty output.
pub const COUNTER: &[u8] = include_bytes!("../blobs/counter.latest64.polkavm");

/// `token` contract (Latest64): a fungible token in the style of ERC-20.
///
/// Storage (a missing value counts as 0; values the contract writes stay stored, also when
/// they become 0):
///
/// | key | value |
/// |---|---|
/// | `b"total"` | total supply, `u128` |
/// | `b"bal:" ++ account` (36 bytes) | balance, `u128` |
/// | `b"alw:" ++ owner ++ spender` (68 bytes) | allowance, `u128` |
///
/// | export | call data | effect | output |
/// |---|---|---|---|
/// | `deploy` | `total_supply: u128` | all of it to the caller; emits Transfer(`[0; 32]`, caller, total_supply) | empty |
/// | `call` | `[0]` | total_supply | `u128` |
/// | `call` | `[1] ++ account` | balance_of | `u128` |
/// | `call` | `[2] ++ to ++ amount: u128` | transfer from the caller; emits Transfer(caller, to, amount) | empty |
/// | `call` | `[3] ++ spender ++ amount: u128` | approve (sets the allowance); emits Approval(caller, spender, amount) | empty |
/// | `call` | `[4] ++ owner ++ spender` | allowance | `u128` |
/// | `call` | `[5] ++ from ++ to ++ amount: u128` | transfer_from: spends the caller's allowance from `from` (decremented), moves `from` → `to`; emits Transfer(from, to, amount) | empty |
///
/// Too low a balance or allowance, an unknown selector or call data of the wrong length
/// revert with empty output. Events: topics `[token::TRANSFER_TOPIC, from, to]` or
/// `[token::APPROVAL_TOPIC, owner, spender]`, data the amount (`u128`, 16 bytes).
pub const TOKEN: &[u8] = include_bytes!("../blobs/token.latest64.polkavm");

/// `hasher` contract (Latest64): iterated hashing, compute-heavy.
///
/// | export | call data | output |
/// |---|---|---|
/// | `deploy` | ignored | empty; stores nothing |
/// | `call` | `[0] ++ rounds: u32 ++ seed` | `h_rounds` with Keccak-256 computed in the guest (no syscall) |
/// | `call` | `[1] ++ rounds: u32 ++ seed` | `h_rounds` with the `hash_blake2_256` syscall (BLAKE2b-256) |
///
/// `h_0 = seed` (at most 64 bytes), `h_i = H(h_(i-1))`: round 1 hashes the seed, later rounds
/// the previous 32-byte digest; the output is 32 bytes for `rounds >= 1` and the seed itself
/// for `rounds = 0`. A longer seed, another selector or fewer than 5 bytes revert with empty
/// output. Keccak-256 is the original-padding variant (as Ethereum and `hash_keccak_256`).
pub const HASHER: &[u8] = include_bytes!("../blobs/hasher.latest64.polkavm");

/// `probe` contract (Latest64): one selector per syscall the other contracts leave out, for
/// end-to-end tests of each syscall.
///
/// The `u32` outputs are the syscalls' raw results (`0xFFFF_FFFF` = `KEY_NOT_FOUND`).
///
/// | export | call data | effect | output |
/// |---|---|---|---|
/// | `deploy` | ignored | nothing; stores nothing | empty |
/// | `call` | `[0]` | reads `caller`, `address`, `value_transferred`, `balance`, `block_number`, `now`, `gas_left`, in that order | `caller (32) ++ address (32) ++ value_transferred: u128 ++ balance: u128 ++ block_number: u64 ++ now: u64 ++ gas_left: u64` (120 bytes) |
/// | `call` | `[1] ++ dest (32) ++ amount: u128` | `transfer(dest, amount)` | its result, `u32`: 0 done, 1 failed |
/// | `call` | `[2] ++ key` (1 to 128 bytes) | `contains_storage(key)` | its result, `u32`: length or `0xFFFF_FFFF` |
/// | `call` | `[3] ++ key_len: u8 ++ key ++ value` | `set_storage(key, value)` | its result, `u32`: previous length or `0xFFFF_FFFF` |
/// | `call` | `[4] ++ key` | `clear_storage(key)` | its result, `u32`: removed length or `0xFFFF_FFFF` |
/// | `call` | `[5] ++ key` | `get_storage(key)` into a 16 KiB buffer | the value; reverts with empty output if absent |
/// | `call` | `[6] ++ data` | `hash_keccak_256(data)` | the hash (32 bytes) |
/// | `call` | `[7] ++ data` | `hash_blake2_256(data)` | the hash (32 bytes) |
/// | `call` | `[8] ++ data` | `return_data` with the revert flag | reverts with `data` as output |
/// | `call` | `[9]` | `set_storage(b"x", [1])`, then traps (`unimp`) | none: the call fails, the write is rolled back |
///
/// Malformed call data reverts with empty output: empty, an unknown selector, trailing bytes
/// after `[0]` or `[9]`, a `[1]` other than 49 bytes, a `[2]` key that is empty or over 128
/// bytes, a `[3]` without `key_len` or with fewer than `key_len` bytes after it. The keys of
/// `[3]`, `[4]` and `[5]` are passed on unchecked (empty is a valid key), so one over the
/// ABI's 128-byte limit reaches the syscall, which traps the contract.
pub const PROBE: &[u8] = include_bytes!("../blobs/probe.latest64.polkavm");

/// Constants of the [`TOKEN`] contract's events.
pub mod token {
    /// First topic of a Transfer event: keccak256(`b"Transfer"`), the bare name.
    pub const TRANSFER_TOPIC: [u8; 32] = [
        0xf0, 0x99, 0xcd, 0x8b, 0xde, 0x55, 0x78, 0x14, 0x84, 0x2a, 0x31, 0x21, 0xe8, 0xdd, 0xfd,
        0x43, 0x3a, 0x53, 0x9b, 0x8c, 0x9f, 0x14, 0xbf, 0x31, 0xeb, 0xf1, 0x08, 0xd1, 0x2e, 0x61,
        0x96, 0xe9,
    ];

    /// First topic of an Approval event: keccak256(`b"Approval"`), the bare name.
    pub const APPROVAL_TOPIC: [u8; 32] = [
        0x71, 0x34, 0x69, 0x2b, 0x23, 0x0b, 0x9e, 0x1f, 0xfa, 0x39, 0x09, 0x89, 0x04, 0x72, 0x21,
        0x34, 0x15, 0x96, 0x52, 0xb0, 0x9c, 0x5b, 0xc4, 0x1d, 0x88, 0xd6, 0x69, 0x87, 0x79, 0xd2,
        0x28, 0xff,
    ];
}

/// The example contracts as `(name, bytes)`: `("flipper", FLIPPER)`, `("counter", COUNTER)`,
/// `("token", TOKEN)`, `("hasher", HASHER)`, `("probe", PROBE)`. Their files are `blobs/<name>.latest64.polkavm`.
pub const CONTRACTS: &[(&str, &[u8])] = &[
    ("flipper", FLIPPER),
    ("counter", COUNTER),
    ("token", TOKEN),
    ("hasher", HASHER),
    ("probe", PROBE),
];

/// Every VM test guest blob (not the [`CONTRACTS`], which need the contract ABI's host) as
/// `(file name, bytes)`, e.g. `("compute.jam_v1.polkavm", COMPUTE_JAM_V1)`.
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
    use super::{ALL, CONTRACTS};

    #[test]
    fn contracts_are_latest64() {
        for (name, bytes) in CONTRACTS {
            assert_eq!(&bytes[..4], b"PVM\0", "{name}");
            assert_eq!(bytes[4], 2, "{name}: blob version byte");
        }
    }

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
