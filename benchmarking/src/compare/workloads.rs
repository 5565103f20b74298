//! The benchmark workloads: a guest blob, one export and its arguments.
//!
//! Two sets: the real-code corpus ([`corpus_workloads`], third-party crates, from
//! `pvm_contracts_examples::corpus::CORPUS`), on which tuning is judged, and our own guests
//! ([`default_workloads`]).

use pvm_contracts_examples as blobs;
use pvm_contracts_examples::corpus::CORPUS;

/// Which set a workload belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Set {
    /// The real-code corpus: programs built from third-party crates.
    Corpus,
    /// Our own guests (`compute`, `alloc`, `hostcalls`).
    Guests,
}

/// One benchmark: call `export(args)` on a fresh instance of `blob`.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Short name shown in tables, e.g. `compute.latest64 sieve(1000000)`.
    pub name: String,
    /// The blob's file name stem, e.g. `compute.latest64`.
    pub blob_name: &'static str,
    /// The `.polkavm` container bytes.
    pub blob: &'static [u8],
    /// The exported symbol to call.
    pub export: &'static str,
    /// Call arguments (`a0`, `a1`, ...).
    pub args: Vec<u64>,
    /// The `a0` result documented in `pvm-contracts-examples`, when known for these
    /// arguments. Both VMs must produce it.
    pub expected: Option<u64>,
    /// Whether this workload counts towards the compute geometric mean of our own guests
    /// (the first interpreter goal was stated for compute-heavy guests).
    pub compute: bool,
    /// The set it belongs to.
    pub set: Set,
    /// The corpus program's name (`"sha2"`, ...), or the guest's (`"compute"`, ...).
    pub program: &'static str,
}

/// Arguments of the default workload set; the `compare-interpreters` flags override them.
#[derive(Clone, Debug)]
pub struct WorkloadParams {
    /// `sieve(n)`.
    pub sieve_n: u32,
    /// `hash(rounds)`.
    pub hash_rounds: u32,
    /// `fib(n)`.
    pub fib_n: u32,
    /// `sort(n)`.
    pub sort_n: u32,
    /// `alloc` guest `vec_work(n)`.
    pub vec_work_n: u32,
    /// `hostcalls` guest `run(n)`.
    pub hostcalls_n: u32,
}

impl Default for WorkloadParams {
    fn default() -> Self {
        WorkloadParams {
            sieve_n: 1_000_000,
            hash_rounds: 20_000,
            fib_n: 27,
            sort_n: 50_000,
            vec_work_n: 100_000,
            hostcalls_n: 100_000,
        }
    }
}

/// The naive doubly recursive Fibonacci the `compute` guest implements (`fib(0) = 0`,
/// `fib(1) = 1`), computed iteratively; `n` is clamped to 40 as in the guest.
pub fn fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n.min(40) {
        (a, b) = (b, a + b);
    }
    a
}

/// The default workload list: every `compute` ISA variant with `sieve`, `hash`, `fib` and
/// `sort`, then `alloc.latest64 vec_work` and `hostcalls.latest64 run`.
pub fn default_workloads(params: &WorkloadParams) -> Vec<Workload> {
    let computes: [(&'static str, &'static [u8]); 3] = [
        ("compute.latest64", blobs::COMPUTE_LATEST64),
        ("compute.revive_v1", blobs::COMPUTE_REVIVE_V1),
        ("compute.jam_v1", blobs::COMPUTE_JAM_V1),
    ];
    let mut out = Vec::new();
    for (blob_name, blob) in computes {
        let documented = |default: u32, given: u32, value: u64| (default == given).then_some(value);
        let cases: [(&'static str, u32, Option<u64>); 4] = [
            (
                "sieve",
                params.sieve_n,
                documented(1_000_000, params.sieve_n, 78_498),
            ),
            (
                "hash",
                params.hash_rounds,
                documented(20_000, params.hash_rounds, 0x0646_282c_f3f5_ee4e),
            ),
            ("fib", params.fib_n, Some(fibonacci(params.fib_n))),
            (
                "sort",
                params.sort_n,
                documented(50_000, params.sort_n, 0x0a0f_5685_7a2d_70ee),
            ),
        ];
        for (export, arg, expected) in cases {
            out.push(Workload {
                name: format!("{blob_name} {export}({arg})"),
                blob_name,
                blob,
                export,
                args: vec![u64::from(arg)],
                expected,
                compute: true,
                set: Set::Guests,
                program: "compute",
            });
        }
    }
    out.push(Workload {
        name: format!("alloc.latest64 vec_work({})", params.vec_work_n),
        blob_name: "alloc.latest64",
        blob: blobs::ALLOC_LATEST64,
        export: "vec_work",
        args: vec![u64::from(params.vec_work_n)],
        expected: (params.vec_work_n == 10_000).then_some(0xdc1e_2879_4b9f_b369),
        compute: false,
        set: Set::Guests,
        program: "alloc",
    });
    out.push(Workload {
        name: format!("hostcalls.latest64 run({})", params.hostcalls_n),
        blob_name: "hostcalls.latest64",
        blob: blobs::HOSTCALLS_LATEST64,
        export: "run",
        args: vec![u64::from(params.hostcalls_n)],
        expected: (params.hostcalls_n == 1000).then_some(0xa51e_6488_9a59_d63d),
        compute: false,
        set: Set::Guests,
        program: "hostcalls",
    });
    out
}

/// The real-code corpus's exec calls (Latest64 blobs), e.g. `corpus-sha2 sha256(262144)`,
/// each with its documented result.
pub fn corpus_workloads() -> Vec<Workload> {
    let mut out = Vec::new();
    for program in CORPUS {
        let blob = program.latest64;
        let short_name = blob.name.trim_end_matches(".latest64");
        for call in program.exec {
            out.push(Workload {
                name: format!("{short_name} {}({})", call.export, call.arg),
                blob_name: blob.name,
                blob: blob.bytes,
                export: call.export,
                args: vec![u64::from(call.arg)],
                expected: Some(call.expected),
                compute: false,
                set: Set::Corpus,
                program: program.name,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fibonacci_matches_documented_value() {
        assert_eq!(fibonacci(30), 832_040);
        assert_eq!(fibonacci(27), 196_418);
        assert_eq!(fibonacci(0), 0);
        assert_eq!(fibonacci(1), 1);
    }

    #[test]
    fn corpus_workloads_cover_every_program_with_known_results() {
        let corpus = corpus_workloads();
        for program in CORPUS {
            assert!(corpus.iter().any(|w| w.program == program.name));
        }
        assert!(corpus
            .iter()
            .all(|w| w.set == Set::Corpus && w.expected.is_some() && !w.compute));
    }

    #[test]
    fn default_set_has_fourteen_workloads() {
        let all = default_workloads(&WorkloadParams::default());
        assert_eq!(all.len(), 14);
        assert_eq!(all.iter().filter(|w| w.compute).count(), 12);
    }
}
