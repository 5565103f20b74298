//! The real-code corpus (`pvm_contracts_examples::corpus`) run natively: each guest's
//! `work.rs` (the code behind its exports, which calls the third-party crates) compiled for
//! the host with the same crates and versions, and the same input generator
//! (`corpus/support/src/data.rs`).
//!
//! It gives every corpus call its reference result ([`run`]), which the tests compare with
//! the results documented in [`pvm_contracts_examples::corpus::CORPUS`] (so a VM benchmark
//! never times a wrong answer), and a native time for the benchmarks' "how far from
//! native" column ([`min_time`]).

extern crate alloc;

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The guests' input generator and checksums.
#[path = "../../guests/corpus/support/src/data.rs"]
pub mod data;

#[path = "../../guests/corpus/sha2/src/work.rs"]
mod corpus_sha2;

#[path = "../../guests/corpus/blake/src/work.rs"]
mod corpus_blake;

#[path = "../../guests/corpus/sha3/src/work.rs"]
mod corpus_sha3;

/// The `ed25519` guest's work, public for its key and signature constants.
#[path = "../../guests/corpus/ed25519/src/work.rs"]
pub mod corpus_ed25519;

#[path = "../../guests/corpus/bigint/src/work.rs"]
mod corpus_bigint;

#[path = "../../guests/corpus/miniz/src/work.rs"]
mod corpus_miniz;

/// The `json` guest's work, public for its document generator.
#[path = "../../guests/corpus/json/src/work.rs"]
pub mod corpus_json;

#[path = "../../guests/corpus/sort/src/work.rs"]
mod corpus_sort;

/// The native function behind export `export` of corpus program `program` (the name in
/// `CORPUS`, e.g. `"sha2"`), if there is one.
pub fn function(program: &str, export: &str) -> Option<fn(u32) -> u64> {
    let f: fn(u32) -> u64 = match (program, export) {
        ("sha2", "sha256") => corpus_sha2::sha256,
        ("sha2", "sha512") => corpus_sha2::sha512,
        ("blake", "blake2b") => corpus_blake::blake2b,
        ("blake", "blake2s") => corpus_blake::blake2s,
        ("blake", "blake3") => corpus_blake::blake3,
        ("sha3", "keccak256") => corpus_sha3::keccak256,
        ("sha3", "sha3_256") => corpus_sha3::sha3_256,
        ("ed25519", "verify") => corpus_ed25519::verify,
        ("ed25519", "sign") => corpus_ed25519::sign,
        ("ed25519", "parse_key") => corpus_ed25519::parse_key,
        ("bigint", "mul_decimal") => corpus_bigint::mul_decimal,
        ("bigint", "modpow") => corpus_bigint::modpow,
        ("miniz", "deflate") => corpus_miniz::deflate,
        ("miniz", "roundtrip") => corpus_miniz::roundtrip,
        ("json", "parse") => corpus_json::parse,
        ("json", "roundtrip") => corpus_json::roundtrip,
        ("sort", "sort_unstable") => corpus_sort::sort_unstable,
        ("sort", "sort_stable") => corpus_sort::sort_stable,
        _ => return None,
    };
    Some(f)
}

/// The result of `program`'s `export(arg)` computed natively, if the export exists.
pub fn run(program: &str, export: &str, arg: u32) -> Option<u64> {
    function(program, export).map(|f| f(arg))
}

/// The fastest of `runs` native calls of `program`'s `export(arg)`, after checking each
/// returned `expected`; `None` if the export does not exist.
///
/// # Panics
///
/// If a call returns something other than `expected`.
pub fn min_time(
    program: &str,
    export: &str,
    arg: u32,
    runs: usize,
    expected: u64,
) -> Option<Duration> {
    let f = function(program, export)?;
    let mut best: Option<Duration> = None;
    for _ in 0..runs.max(1) {
        let arg = black_box(arg);
        let start = Instant::now();
        let result = black_box(f(arg));
        let elapsed = start.elapsed();
        assert_eq!(
            result, expected,
            "native {program} {export}({arg}) disagrees"
        );
        best = Some(best.map_or(elapsed, |b| b.min(elapsed)));
    }
    best
}
