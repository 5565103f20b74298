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
//! The contracts ([`FLIPPER`], [`COUNTER`], [`TOKEN`], [`HASHER`], [`PROBE`], [`PROXY`],
//! [`FACTORY`]) are written with the guest SDK `pvm-contract-api` (`guests/api/`) against
//! the contract ABI of `pallet/src/abi.md`: they export `deploy` and `call` without
//! arguments, read call data and end with `return_data` through syscalls, and exist only as
//! `latest64`. Their interfaces are documented on each constant; integers in call data and output are little-endian and
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
/// | `call` | `[10] ++ callee (32) ++ params (56) ++ input` | `call(callee, params, input)` with a 16 KiB - 8 output buffer | `status: u32 ++ output_len: u32 ++ output` (the part that fit) |
/// | `call` | `[11] ++ code_hash (32) ++ params (56) ++ salt (32) ++ input` | `instantiate(code_hash, params, input, salt)` | `status: u32 ++ address (32)` (zeros unless the status is 0) |
/// | `call` | `[12] ++ beneficiary (32)` | `terminate(beneficiary)` | none: the frame ends |
/// | `call` | `[13]` | reads `origin` | `origin (32)` |
/// | `call` | `[14] ++ key_len: u8 ++ key ++ value_len: u16 ++ value ++ command` | `set_storage(key, value)`, then runs `command` as call data of its own (any selector, `[14]` too) | the command's |
///
/// `params` is the ABI's call-parameter layout (`pallet_pvm::abi::CallParams::encode`),
/// passed on unchecked, as are `callee`, `code_hash` and `beneficiary`.
///
/// Malformed call data reverts with empty output: empty, an unknown selector, trailing bytes
/// after `[0]`, `[9]` or `[13]`, a `[1]` other than 49 bytes, a `[2]` key that is empty or
/// over 128 bytes, a `[3]` without `key_len` or with fewer than `key_len` bytes after it, a
/// `[10]` shorter than 89 bytes, an `[11]` shorter than 121, a `[12]` other than 33 bytes, a
/// `[14]` shorter than its lengths say. The keys of `[3]`, `[4]` and `[5]` are passed on
/// unchecked (empty is a valid key), so one over the ABI's 128-byte limit reaches the
/// syscall, which traps the contract.
pub const PROBE: &[u8] = include_bytes!("../blobs/probe.latest64.polkavm");

/// `compute-contract` (Latest64): the [`COMPUTE_LATEST64`] guest's workloads as a contract,
/// to time them per unit of gas through pallet-pvm on every engine, including the
/// interpreter inside the wasm runtime.
///
/// | export | call data | output |
/// |---|---|---|
/// | `deploy` | ignored | empty; stores nothing |
/// | `call` | `[0] ++ n: u32` | `sieve(n)`, `u64` |
/// | `call` | `[1] ++ rounds: u32` | `hash(rounds)`, `u64` |
/// | `call` | `[2] ++ n: u32` | `fib(n)`, `u64` |
/// | `call` | `[3] ++ n: u32` | `sort(n)`, `u64` |
///
/// The workloads are the compute guest's (same source, same clamps); anything else reverts.
pub const COMPUTE_CONTRACT: &[u8] = include_bytes!("../blobs/compute-contract.latest64.polkavm");

/// `proxy` contract (Latest64): a forwarding proxy. Calls from anyone but its owner (the
/// deployer) are forwarded to a target contract with the value they carried; the owner's
/// calls are commands, never forwarded.
///
/// Storage: `b"target"` (the target, 32 bytes), `b"owner"` (32 bytes).
///
/// | export | caller | call data | effect | output |
/// |---|---|---|---|---|
/// | `deploy` | anyone | `target` (32) | stores the target and the caller as the owner | empty |
/// | `call` | not the owner | anything | `call(target, input = call data)` sending the value received, with all the weight and deposit left, no re-entry | the target's output; a revert of the target reverts the proxy with the target's output; any other failure reverts it with the `u32` status |
/// | `call` | the owner | `[0] ++ new_target` | retargets | empty |
/// | `call` | the owner | `[1] ++ beneficiary` | `terminate(beneficiary)` | none |
///
/// Other call data from the owner, or deploy data other than 32 bytes, revert with empty
/// output.
pub const PROXY: &[u8] = include_bytes!("../blobs/proxy.latest64.polkavm");

/// `factory` contract (Latest64): creates contracts from one code hash, keeps a list of them,
/// and goes on when a creation fails.
///
/// Storage: `b"code"` (the code hash), `b"count"` (`u32`), `b"child" ++ index: u32` (the
/// `index`-th address), `b"failed"` (`u32`).
///
/// | export | call data | effect | output |
/// |---|---|---|---|
/// | `deploy` | `code_hash` (32) | stores it; `count` = `failed` = 0 | empty |
/// | `call` | `[0] ++ salt (32) ++ input` (input at most 1 KiB) | `instantiate(code, input, salt)` sending the value received, with all the weight and deposit left; on success appends the address, on failure counts it in `failed` | `status: u32 ++ address (32)` (zeros unless the status is 0) |
/// | `call` | `[1]` | count | `u32` |
/// | `call` | `[2] ++ index: u32` | the `index`-th contract | its address; reverts with empty output past the end |
/// | `call` | `[3]` | failed creations | `u32` |
///
/// The same salt twice fails with status 10 (`AlreadyExists`): addresses derive from the
/// factory, the code hash and the salt. Other call data reverts with empty output.
pub const FACTORY: &[u8] = include_bytes!("../blobs/factory.latest64.polkavm");

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
/// `("token", TOKEN)`, `("hasher", HASHER)`, `("probe", PROBE)`, `("proxy", PROXY)`,
/// `("factory", FACTORY)`. Their files are `blobs/<name>.latest64.polkavm`.
pub const CONTRACTS: &[(&str, &[u8])] = &[
    ("flipper", FLIPPER),
    ("counter", COUNTER),
    ("token", TOKEN),
    ("hasher", HASHER),
    ("probe", PROBE),
    ("proxy", PROXY),
    ("factory", FACTORY),
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

/// The real-code corpus: guest programs built from third-party crates (code we did not
/// write) with polkavm-derive and polkavm-linker 0.37, for benchmarks, tests and tools that
/// want to see how the VM does on real code rather than on our own guests.
///
/// [`CORPUS`](corpus::CORPUS) is the one list to iterate: per program its blobs (Latest64,
/// and ReviveV1 for the programs that do not allocate), the long calls the exec benchmarks
/// time ([`Program::exec`](corpus::Program::exec)), one short call for cold-start benchmarks
/// ([`Program::cold`](corpus::Program::cold)), and every call's expected result.
///
/// Every export takes one `u32` (a size or an iteration count) and returns a `u64`: a
/// digest prefix, a checksum of its output, or a count, documented per program. The expected
/// results were computed by the same code and crates compiled for the host
/// (`contracts-examples/corpus-native`, whose test checks every one of them), so a VM that
/// returns them ran the program correctly. The guests live in `guests/corpus/`; shared
/// input generation and checksums in `guests/corpus/support/src/data.rs`.
pub mod corpus {
    /// One call: `export(arg)` returns `expected` in `a0`.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub struct Call {
        /// The exported symbol.
        pub export: &'static str,
        /// Its one argument, in `a0`.
        pub arg: u32,
        /// The result in `a0`.
        pub expected: u64,
    }

    /// A blob of a corpus program.
    #[derive(Copy, Clone, Debug)]
    pub struct Blob {
        /// File name stem, e.g. `corpus-sha2.latest64` (the file is `blobs/<name>.polkavm`).
        pub name: &'static str,
        /// The `.polkavm` container.
        pub bytes: &'static [u8],
    }

    macro_rules! blob {
        ($program:literal, $isa:literal) => {
            Blob {
                name: concat!("corpus-", $program, ".", $isa),
                bytes: include_bytes!(concat!("../blobs/corpus-", $program, ".", $isa, ".polkavm")),
            }
        };
    }

    /// One corpus program.
    #[derive(Copy, Clone, Debug)]
    pub struct Program {
        /// Short name, e.g. `"sha2"`; the blobs are `blobs/corpus-<name>.<isa>.polkavm`.
        pub name: &'static str,
        /// What kind of code it is, e.g. `"hash"`, `"signature"`, `"compression"`.
        pub kind: &'static str,
        /// The third-party crates it exercises, with the versions pinned in
        /// `guests/Cargo.lock`.
        pub crates: &'static [(&'static str, &'static str)],
        /// The Latest64 blob.
        pub latest64: Blob,
        /// The ReviveV1 blob, for the programs that do not need `sbrk`.
        pub revive_v1: Option<Blob>,
        /// Long calls for exec benchmarks (millions of instructions; one per export that
        /// does real work).
        pub exec: &'static [Call],
        /// A short call for cold-start benchmarks (a fresh module, an instance and this
        /// call; a few thousand to a few hundred thousand instructions).
        pub cold: Call,
    }

    impl Program {
        /// Its blobs: Latest64, then ReviveV1 if there is one.
        pub fn blobs(&self) -> impl Iterator<Item = Blob> {
            core::iter::once(self.latest64).chain(self.revive_v1)
        }

        /// Every call with a known result: the exec calls, then the cold call.
        pub fn calls(&self) -> impl Iterator<Item = Call> {
            self.exec.iter().copied().chain(core::iter::once(self.cold))
        }
    }

    const fn call(export: &'static str, arg: u32, expected: u64) -> Call {
        Call {
            export,
            arg,
            expected,
        }
    }

    /// The program named `name`, if the corpus has one.
    pub fn program(name: &str) -> Option<&'static Program> {
        CORPUS.iter().find(|program| program.name == name)
    }

    /// The corpus, in the order benchmarks print it.
    ///
    /// | program | kind | exports (argument) | returns |
    /// |---|---|---|---|
    /// | `sha2` | hash | `sha256(len)`, `sha512(len)`: hash `len` generated bytes | the digest's first 8 bytes, little-endian |
    /// | `blake` | hash | `blake2b(len)` (BLAKE2b-512), `blake2s(len)` (BLAKE2s-256), `blake3(len)` | as `sha2` |
    /// | `sha3` | hash | `keccak256(len)`, `sha3_256(len)` | as `sha2` |
    /// | `ed25519` | signature | `verify(n)`: `n` verifications (public key parsed each time; odd ones over a tampered message, which must fail), `sign(n)`: `n` signatures, `parse_key(n)`: `n` public-key decompressions | `accepted << 32 \| rejected`; FNV-1a of the signatures; `n` |
    /// | `bigint` | big integers | `mul_decimal(bits)`: product of two `bits`-bit numbers printed in decimal; `modpow(bits)`: modular exponentiation of `bits`-bit numbers | FNV-1a of the digits xor their count `<< 48`; FNV-1a of the result's bytes |
    /// | `miniz` | compression | `deflate(len)`: zlib level 6 of `len` bytes of generated text; `roundtrip(len)`: the same, inflated again and compared | FNV-1a of the compressed bytes xor their count `<< 40` (0 if the round trip differs) |
    /// | `json` | parsing | `parse(n)`: `serde_json` into `n` typed records; `roundtrip(n)`: parse and print back, compared with the input | FNV-1a of the fields; of the printed text (0 on a difference) |
    /// | `sort` | sorting | `sort_unstable(n)` of `n` `u64`s; `sort_stable(n)`: `sort_by_key` of `n` records with many equal keys | FNV-1a of the sorted data (`u64::MAX` if out of order) |
    pub const CORPUS: &[Program] = &[
        Program {
            name: "sha2",
            kind: "hash",
            crates: &[("sha2", "0.10.9")],
            latest64: blob!("sha2", "latest64"),
            revive_v1: Some(blob!("sha2", "revive_v1")),
            exec: &[
                call("sha256", 262_144, 0xd721_fdac_5cfc_441a),
                call("sha512", 262_144, 0xb2da_3890_5553_32b6),
            ],
            cold: call("sha256", 256, 0xeecd_45bb_91d2_b796),
        },
        Program {
            name: "blake",
            kind: "hash",
            crates: &[("blake2", "0.10.6"), ("blake3", "1.8.7")],
            latest64: blob!("blake", "latest64"),
            revive_v1: Some(blob!("blake", "revive_v1")),
            exec: &[
                call("blake2b", 262_144, 0x9ee5_0a85_5ea7_96d1),
                call("blake2s", 262_144, 0xeb69_7f8c_9835_37f1),
                call("blake3", 262_144, 0x43b0_d65c_5898_0d96),
            ],
            cold: call("blake2b", 256, 0x9ec4_7ff5_1824_98ae),
        },
        Program {
            name: "sha3",
            kind: "hash",
            crates: &[("sha3", "0.10.9")],
            latest64: blob!("sha3", "latest64"),
            revive_v1: Some(blob!("sha3", "revive_v1")),
            exec: &[
                call("keccak256", 262_144, 0x63ef_5a37_ba4e_ddfe),
                call("sha3_256", 262_144, 0x6ee8_2344_9e28_e4c9),
            ],
            cold: call("keccak256", 256, 0xe42d_ce09_8f53_396f),
        },
        Program {
            name: "ed25519",
            kind: "signature",
            crates: &[("ed25519-dalek", "2.2.0"), ("curve25519-dalek", "4.1.3")],
            latest64: blob!("ed25519", "latest64"),
            revive_v1: Some(blob!("ed25519", "revive_v1")),
            exec: &[
                call("verify", 16, 0x0000_0008_0000_0008),
                call("sign", 16, 0x75ed_c838_38cc_4081),
            ],
            cold: call("parse_key", 2, 2),
        },
        Program {
            name: "bigint",
            kind: "big integers",
            crates: &[("num-bigint", "0.4.8")],
            latest64: blob!("bigint", "latest64"),
            revive_v1: None,
            exec: &[
                call("mul_decimal", 40_000, 0xb0d3_68c2_4278_34ac),
                call("modpow", 1024, 0xaaf6_21a2_ff75_4f1a),
            ],
            cold: call("mul_decimal", 256, 0x8b7b_992f_8b49_b2cb),
        },
        Program {
            name: "miniz",
            kind: "compression",
            crates: &[("miniz_oxide", "0.9.1")],
            latest64: blob!("miniz", "latest64"),
            revive_v1: None,
            exec: &[
                call("deflate", 65_536, 0xdd59_7348_abef_a4e0),
                call("roundtrip", 65_536, 0xf7b6_9a22_1280_e305),
            ],
            cold: call("deflate", 256, 0x9560_663b_c762_544b),
        },
        Program {
            name: "json",
            kind: "parsing",
            crates: &[("serde_json", "1.0.154"), ("serde", "1.0.229")],
            latest64: blob!("json", "latest64"),
            revive_v1: None,
            exec: &[
                call("parse", 2000, 0x950f_1727_1643_ad7a),
                call("roundtrip", 2000, 0xff1f_2617_36ee_88b3),
            ],
            cold: call("parse", 4, 0x6676_ad71_ac3d_ae0f),
        },
        Program {
            name: "sort",
            kind: "sorting",
            crates: &[("core/alloc (std library)", "nightly-2026-05-19")],
            latest64: blob!("sort", "latest64"),
            revive_v1: None,
            exec: &[
                call("sort_unstable", 100_000, 0xc9e8_96aa_4afb_52df),
                call("sort_stable", 100_000, 0xa96b_9de0_f0bb_6acf),
            ],
            cold: call("sort_unstable", 64, 0x7276_0554_8124_2f4b),
        },
    ];
}

#[cfg(test)]
mod tests {
    use super::corpus::CORPUS;
    use super::{ALL, CONTRACTS};

    #[test]
    fn corpus_blobs_are_named_and_have_their_isa() {
        assert!(CORPUS.len() >= 6);
        for program in CORPUS {
            let count = program.blobs().count();
            assert_eq!(count, 1 + usize::from(program.revive_v1.is_some()));
            for super::corpus::Blob { name, bytes } in program.blobs() {
                assert!(name.starts_with("corpus-"), "{}: {name}", program.name);
                assert_eq!(&bytes[..4], b"PVM\0", "{name}");
                let version = if name.ends_with(".latest64") { 2 } else { 0 };
                assert_eq!(bytes[4], version, "{name}: blob version byte");
            }
            assert!(!program.exec.is_empty(), "{}", program.name);
        }
    }

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
