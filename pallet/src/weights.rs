//! Weights of the pallet's extrinsics and syscalls.
//!
//! The extrinsics and code loading come from the frame-benchmarking benchmarks
//! (`pallet-weights`, README "Generating weights"); the syscalls are still first
//! estimates, generous against what `pallet-bench` measures natively on the reference
//! machine (`BENCHMARKS.md`, "pallet-pvm"). Their benchmarks exist (`syscall_*` in
//! `benchmarking.rs`); once this trait has one function per syscall named after them, this
//! file is generated whole. Database accesses are charged with the runtime's
//! `DbWeight`; proof sizes cover the storage items a step reads.

use core::marker::PhantomData;
use frame_support::traits::Get;
use frame_support::weights::{constants::RocksDbWeight, Weight};

/// `ref_time` (picoseconds) per unit of gas of the naive table (cost table version 1, one
/// gas per instruction), for runtimes that still charge by it: the slowest compute
/// workload ran at 0.82 ns per gas unit on our native interpreter on the reference machine;
/// this allows 4.3x. It does not bound adversarial programs (divisions, cache misses):
/// the measured tables ([`DEFAULT_COST_TABLE_VERSION`] with
/// [`RECOMMENDED_REF_TIME_PER_GAS`]) do. `BENCHMARKS.md` ("pallet-pvm", "Gas").
pub const MEASURED_REF_TIME_PER_GAS: u64 = 3_500;

/// The cost table a runtime should charge contracts by (`Config::CostTableVersion`): the
/// table measured in the interpreters' shape (`pvm_core::gas::CostTable::interpreter`,
/// README "Gas"), safe on every engine. A runtime whose validators all run the JIT charges
/// real code several times closer to its time with version 3
/// (`pvm_core::gas::CostTable::jit`, `pvm_core::gas::JIT_TABLE_PS_PER_GAS`).
pub const DEFAULT_COST_TABLE_VERSION: u32 = 2;

/// The `ref_time` (ps) per gas the default table recommends for each engine
/// (`Config::RefTimePerGas`: a runtime takes the one for the engine its validators run).
pub const RECOMMENDED_REF_TIME_PER_GAS: pvm_core::gas::RefTimePerGas =
    pvm_core::gas::INTERPRETER_TABLE_PS_PER_GAS;

/// Weight functions the pallet needs; implemented by generated weights.
pub trait WeightInfo {
    /// `upload_code` of `len` bytes, including validation.
    fn upload_code(len: u32) -> Weight;
    /// `remove_code`.
    fn remove_code() -> Weight;
    /// `instantiate`, without loading code and running it.
    fn instantiate() -> Weight;
    /// `call`, without loading code and running it.
    fn call() -> Weight;
    /// Reading `len` bytes of code from storage and compiling it.
    fn load_code(len: u32) -> Weight;
    /// One syscall's round trip between engine and runtime.
    fn syscall() -> Weight;
    /// Copying `len` bytes between guest memory and the runtime.
    fn copy(len: u32) -> Weight;
    /// Reading a storage value of `len` bytes.
    fn storage_read(len: u32) -> Weight;
    /// Writing (or clearing) a storage value of `len` bytes.
    fn storage_write(len: u32) -> Weight;
    /// A balance transfer.
    fn transfer() -> Weight;
    /// Depositing an event with `topics` topics and `len` bytes of data.
    fn deposit_event(topics: u32, len: u32) -> Weight;
    /// BLAKE2b-256 of `len` bytes.
    fn hash_blake2_256(len: u32) -> Weight;
    /// Keccak-256 of `len` bytes.
    fn hash_keccak_256(len: u32) -> Weight;
    /// `terminate` of a contract with `items` storage entries of `bytes` bytes in total:
    /// releasing its deposit, removing its storage and info, paying out its balance.
    fn terminate(items: u32, bytes: u32) -> Weight;
}

/// Weights for a runtime, with its own database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);

macro_rules! weights {
    ($db:expr) => {
        // The extrinsics and code loading: the larger of the interpreter's and the JIT's
        // figures from `pallet-weights` (benchmarking/weights/*.json; README "Generating
        // weights"), measured while the machine was busy, so generous; database accesses
        // and proof sizes the larger of the measured ones and the earlier estimates
        // (whose proofs also cover the signer's account, which the benchmarks whitelist).
        fn upload_code(len: u32) -> Weight {
            Weight::from_parts(331_000_000 + 61_300 * len as u64, 3_600 + len as u64)
                .saturating_add($db.reads_writes(2, 3))
        }
        fn remove_code() -> Weight {
            Weight::from_parts(91_500_000, 3_600).saturating_add($db.reads_writes(2, 3))
        }
        fn instantiate() -> Weight {
            Weight::from_parts(291_000_000, 7_000).saturating_add($db.reads_writes(5, 5))
        }
        fn call() -> Weight {
            Weight::from_parts(169_000_000, 4_000).saturating_add($db.reads_writes(4, 1))
        }
        fn load_code(len: u32) -> Weight {
            // Compiled without the engine's cache, instantiated and destroyed: 27.7 ns per
            // byte on the interpreter (12.4 on the JIT), 72 us fixed on the JIT (59 on the
            // interpreter).
            Weight::from_parts(72_000_000 + 27_700 * len as u64, 3_600 + len as u64)
                .saturating_add($db.reads(2))
        }
        fn syscall() -> Weight {
            Weight::from_parts(250_000, 0)
        }
        fn copy(len: u32) -> Weight {
            Weight::from_parts(1_000 * len as u64, 0)
        }
        fn storage_read(len: u32) -> Weight {
            Weight::from_parts(1_000_000 + 1_000 * len as u64, 200 + len as u64)
                .saturating_add($db.reads(1))
        }
        fn storage_write(len: u32) -> Weight {
            Weight::from_parts(2_000_000 + 1_000 * len as u64, 200 + len as u64)
                .saturating_add($db.reads_writes(1, 1))
        }
        fn transfer() -> Weight {
            Weight::from_parts(30_000_000, 2 * 3_600).saturating_add($db.reads_writes(2, 2))
        }
        fn deposit_event(topics: u32, len: u32) -> Weight {
            Weight::from_parts(4_000_000 + 500_000 * topics as u64 + 1_000 * len as u64, 0)
        }
        fn hash_blake2_256(len: u32) -> Weight {
            Weight::from_parts(500_000 + 4_000 * len as u64, 0)
        }
        fn hash_keccak_256(len: u32) -> Weight {
            Weight::from_parts(500_000 + 8_000 * len as u64, 0)
        }
        fn terminate(items: u32, bytes: u32) -> Weight {
            // A hold released and a transfer (two accounts each), the contract's and its
            // code's info, and every storage entry deleted.
            Weight::from_parts(
                60_000_000 + 2_000_000 * items as u64 + 1_000 * bytes as u64,
                4 * 3_600 + 200 * items as u64 + bytes as u64,
            )
            .saturating_add($db.reads_writes(4, 4))
            .saturating_add($db.writes(items as u64))
        }
    };
}

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    weights!(T::DbWeight::get());
}

/// For tests: RocksDB weights.
impl WeightInfo for () {
    weights!(RocksDbWeight::get());
}
