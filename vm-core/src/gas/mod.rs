//! The gas cost model: versioned tables, charged per basic block on entry.
//!
//! A table says what every opcode costs ([`CostTable::costs`], indexed like
//! [`Opcode::ALL`]) and prices the engine work that is not an instruction. Every backend
//! charges the same gas for the same program, input and gas (principle 5); versions are
//! consensus: a runtime names the table its contracts are charged by
//! ([`CostTable::by_version`]), and a new table is a new version.
//!
//! What a table charges, and when:
//!
//! - **On entering a basic block**: the sum of its instructions' costs (its terminator
//!   included, or the invalid instruction or implicit trap that ends it), plus, for every
//!   load and store in it ([`Opcode::accesses_memory`]), the memory-access surcharge of the
//!   instance's accessible memory ([`CostTable::memory_tiers`]). A block that does not fit
//!   stops the guest before it, gas unchanged, resumable.
//! - **While `memset` writes**: [`CostTable::memset_byte`] per byte, before the byte, and
//!   where [`CostTable::memset_pays_access`] says so the memory-access surcharge on the
//!   first byte of each execution and on every byte that starts a page; out of gas mid-way
//!   stops it resumably, as a block would.
//! - **Memory made accessible**: [`CostTable::page`] per 4 KiB, for the memory an
//!   instantiation makes accessible (charged before the instance's first instruction runs)
//!   and for what `sbrk` adds (charged before it grows the heap; out of gas stops the guest
//!   at the `sbrk`, resumably).
//!
//! The memory surcharge prices cache misses by the working set a guest can have: an
//! instance can only touch what is accessible, so the latency of its slowest access is
//! bounded by the latency of a random walk over that much memory. The surcharge of an
//! instance changes only when its accessible memory does (instantiation, `sbrk`), and
//! applies to the blocks entered from then on.
//!
//! [`CostTable::naive`] (version 1) charges 1 per instruction and per `memset` byte and
//! nothing else: PolkaVM's naive model, which the JAM test vectors and the differential
//! tests against `polkavm` use. The measured tables are derived from measurement
//! (`benchmarking/`, `gas-model`; README "Gas"), each in the shape of the engines it is
//! tuned for: [`CostTable::interpreter`] (version 6) prices opcodes as the interpreters
//! (native and inside the wasm runtime) spend time on them, [`CostTable::jit`] (version 8)
//! as the JIT does. Engines differ in shape, not only in speed (a JIT runs an addition in
//! a tenth of a mispredicted branch's time, an interpreter in a sixth), so one table cannot
//! be close to all of them. Every table recommends a `ref_time` per gas for every engine
//! ([`RefTimePerGas`]) that bounds every measured program on it: any table is safe on any
//! engine, and accurate on the ones it is tuned for.
//!
//! Versions 2 and 3 are the same two shapes with the memory surcharge of each tier taken
//! from a walk over that much memory on a quiet machine. Beyond the core's private cache
//! that assumes the shared L3 is the guest's: when other tenants evict it, a pointer chase
//! over 4 MiB takes a DRAM access per load, up to five times what those tiers charge.
//! Versions 4 and 5 price every access of an instance with more accessible memory than the
//! private cache as the slowest DRAM access measured with memory traffic beside it. The
//! old versions stay (a runtime that names them keeps its results) but no runtime should
//! choose them.
//!
//! Versions 6 and 7 have the costs of 4 and 5 and one more rule: `memset` pays the
//! memory-access surcharge, once for the first byte an execution of it writes and once for
//! every byte that starts a page. Before them a one-byte `memset` at a random address of a
//! 64 MiB heap was charged as a cached store, and took the interpreter a DRAM access (130
//! ns against 57 ns charged under version 4; README "Gas"). Their recommended `ref_time`
//! per gas also covers programs that mix opcodes, which the interpreter inside the
//! runtime runs at twice each opcode's own time per instruction.
//!
//! Version 8 is the JIT's shape measured on two machine kinds, the AMD reference and an
//! Intel Xeon, each figure the slower of the two: on Intel's cores `popcnt` and `lzcnt`
//! take three cycles where Zen 4 takes one, and a 16-bit immediate store stalls the
//! decoder, so version 7 charged the JIT 0.86 of their time there.

use crate::isa::Opcode;

mod v2;
mod v3;
mod v4;
mod v5;
mod v6;
mod v7;
mod v8;

/// The measured tables by version, oldest first, with whether `memset` pays the
/// memory-access surcharge ([`CostTable::memset_pays_access`]). Versions 6 and 7 have the
/// costs of 4 and 5 (the same measurement), that rule, and a `ref_time` per gas that also
/// covers programs mixing opcodes; version 8 is 7 measured on an Intel machine as well.
const MEASURED: [(u32, &Generated, bool); 7] = [
    (2, &v2::TABLE, false),
    (3, &v3::TABLE, false),
    (4, &v4::TABLE, false),
    (5, &v5::TABLE, false),
    (6, &v6::TABLE, true),
    (7, &v7::TABLE, true),
    (8, &v8::TABLE, true),
];

/// The memory-access surcharge for instances with at most [`up_to`](Self::up_to) bytes
/// of accessible memory.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct MemoryTier {
    /// Accessible bytes this tier covers (inclusive); the tiers of a table ascend, and the
    /// last one covers every size (`u64::MAX`).
    pub up_to: u64,
    /// Gas per load or store on top of the opcode's cost.
    pub access: u32,
}

/// Recommended `ref_time` (picoseconds) per unit of gas of a table, on the reference
/// machine, for each engine a chain may run: the figure that makes no measured program run
/// longer than it pays on that engine. A runtime picks the one for the engine its
/// validators run (see `pallet_pvm::weights`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct RefTimePerGas {
    /// pvm-core's interpreter, natively (`NativeEngine` on an interpreter node).
    pub interpreter: u64,
    /// pvm-core's JIT, in either sandbox (`NativeEngine` on a JIT node).
    pub jit: u64,
    /// pvm-core's interpreter compiled into the wasm runtime (`InRuntimeEngine`).
    pub in_runtime: u64,
}

/// The newest entry of [`MEASURED`] with this name; fails to compile (in a `const`) if
/// there is none.
const fn newest_measured(name: &str) -> (u32, &'static Generated, bool) {
    let mut i = MEASURED.len();
    while i > 0 {
        i -= 1;
        if str_eq(MEASURED[i].1.name, name) {
            return MEASURED[i];
        }
    }
    panic!("no measured table has this name")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const NEWEST_INTERPRETER: (u32, &Generated, bool) = newest_measured("interpreter");
const NEWEST_JIT: (u32, &Generated, bool) = newest_measured("jit");

/// What [`CostTable::interpreter`] recommends per engine: usable in `const` contexts (a
/// runtime's `RefTimePerGas`).
pub const INTERPRETER_TABLE_PS_PER_GAS: RefTimePerGas = NEWEST_INTERPRETER.1.ref_time_ps_per_gas;

/// What [`CostTable::jit`] recommends per engine.
pub const JIT_TABLE_PS_PER_GAS: RefTimePerGas = NEWEST_JIT.1.ref_time_ps_per_gas;

/// A table as `gas-model generate` writes it (`v2.rs` ... `v8.rs`), before
/// [`CostTable::from_measured`] indexes its costs by opcode.
struct Generated {
    name: &'static str,
    invalid: u32,
    memset_byte: u32,
    page: u32,
    memory_tiers: &'static [MemoryTier],
    ref_time_ps_per_gas: RefTimePerGas,
    costs: &'static [(Opcode, u32)],
}

/// Bytes per page of memory made accessible, as [`CostTable::page`] counts them.
pub const PAGE_BYTES: u64 = 4096;

/// A versioned cost table.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CostTable {
    /// Bumped whenever any cost changes, so stored results can name the table they used.
    pub version: u32,
    /// A short name for its shape (`pvm costs`, `pvm bench --cost-table NAME`), shared
    /// by the versions of one shape: [`CostTable::by_name`] finds the newest.
    pub name: &'static str,
    /// Cost of each opcode, indexed by [`Opcode::index`].
    pub costs: [u32; Opcode::ALL.len()],
    /// Cost of an invalid instruction or the implicit trap after the code.
    pub invalid: u32,
    /// Gas per byte `memset` writes.
    pub memset_byte: u32,
    /// Gas per [`PAGE_BYTES`] of memory made accessible (by instantiation or `sbrk`).
    pub page: u32,
    /// The memory-access surcharge by accessible memory, ascending; empty for none.
    pub memory_tiers: &'static [MemoryTier],
    /// Whether `memset` pays the memory-access surcharge ([`access_cost`](Self::access_cost))
    /// on the first byte an execution of it writes (a `memset` resumed after running out
    /// of gas is a new execution) and on every byte at the start of a [`PAGE_BYTES`] page,
    /// each before that byte, with the byte's own [`memset_byte`](Self::memset_byte).
    /// A short `memset` at a random address is a store that misses the caches and the TLB,
    /// as costly as any other.
    pub memset_pays_access: bool,
    /// What the measurement this table comes from recommends per engine (`None` for
    /// tables not derived from measurement).
    pub ref_time_ps_per_gas: Option<RefTimePerGas>,
}

impl CostTable {
    /// Every instruction and every `memset` byte costs 1; nothing else is charged
    /// (PolkaVM's naive model; the JAM vectors use it too). Version 1.
    pub fn naive() -> CostTable {
        CostTable {
            version: 1,
            name: "naive",
            costs: [1; Opcode::ALL.len()],
            invalid: 1,
            memset_byte: 1,
            page: 0,
            memory_tiers: &[],
            memset_pays_access: false,
            ref_time_ps_per_gas: None,
        }
    }

    /// The newest table measured in the interpreters' shape (`benchmarking`'s
    /// `gas-model`): each opcode's worst case on the native interpreter and on the
    /// interpreter inside the wasm runtime, memory priced by the working set accessible
    /// memory allows up to the private cache and as a contended DRAM access beyond it.
    /// `memset` pays the surcharge too. Version 6: the pallet's default
    /// (`pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION`).
    pub fn interpreter() -> CostTable {
        CostTable::from_measured(NEWEST_INTERPRETER)
    }

    /// The newest table measured in the JIT's shape: each opcode's worst case on the JIT,
    /// for chains whose validators run it, memory priced as in
    /// [`interpreter`](Self::interpreter), every figure the slower of the reference AMD
    /// machine's and an Intel Xeon's. Version 8.
    pub fn jit() -> CostTable {
        CostTable::from_measured(NEWEST_JIT)
    }

    fn from_measured((version, table, memset_pays_access): (u32, &Generated, bool)) -> CostTable {
        CostTable {
            version,
            name: table.name,
            costs: costs_by_opcode(table.costs),
            invalid: table.invalid,
            memset_byte: table.memset_byte,
            page: table.page,
            memory_tiers: table.memory_tiers,
            memset_pays_access,
            ref_time_ps_per_gas: Some(table.ref_time_ps_per_gas),
        }
    }

    /// Every table this build knows, oldest first.
    pub fn all() -> [CostTable; 1 + MEASURED.len()] {
        let mut tables = [(); 1 + MEASURED.len()].map(|()| CostTable::naive());
        for (slot, measured) in tables[1..].iter_mut().zip(MEASURED) {
            *slot = CostTable::from_measured(measured);
        }
        tables
    }

    /// The table with this version, if this build knows it. Versions are consensus: a
    /// runtime names the table its contracts are charged by, and every node must find the
    /// same one.
    pub fn by_version(version: u32) -> Option<CostTable> {
        if version == 1 {
            return Some(CostTable::naive());
        }
        // Only the match is built: a runtime looks its table up per instantiation.
        MEASURED
            .iter()
            .find(|(v, ..)| *v == version)
            .map(|&measured| CostTable::from_measured(measured))
    }

    /// The newest table with this [`name`](Self::name), if this build knows one.
    pub fn by_name(name: &str) -> Option<CostTable> {
        if name == CostTable::naive().name {
            return Some(CostTable::naive());
        }
        MEASURED
            .iter()
            .rev()
            .find(|(_, table, _)| table.name == name)
            .map(|&measured| CostTable::from_measured(measured))
    }

    /// The table a user names on a command line: a version number, or a name (the newest
    /// table of that name).
    pub fn by_name_or_version(name_or_version: &str) -> Option<CostTable> {
        match name_or_version.parse::<u32>() {
            Ok(version) => CostTable::by_version(version),
            Err(_) => CostTable::by_name(name_or_version),
        }
    }

    /// The cost of one opcode.
    #[inline]
    pub fn cost(&self, opcode: Opcode) -> u32 {
        self.costs[opcode.index()]
    }

    /// The most one instruction (or an invalid one) costs: a block of `n` instructions
    /// costs at most `n` times this.
    pub fn max_instruction_cost(&self) -> u32 {
        self.costs
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .max(self.invalid)
    }

    /// The surcharge per load or store of an instance with `accessible` bytes of
    /// accessible memory.
    pub fn access_cost(&self, accessible: u64) -> u32 {
        self.memory_tiers
            .iter()
            .find(|tier| accessible <= tier.up_to)
            .or(self.memory_tiers.last())
            .map_or(0, |tier| tier.access)
    }

    /// Whether blocks pay a memory-access surcharge under this table.
    #[inline]
    pub fn has_access_costs(&self) -> bool {
        self.memory_tiers.iter().any(|tier| tier.access != 0)
    }

    /// The gas for making `bytes` of memory accessible (whole pages, rounded up).
    pub fn pages_cost(&self, bytes: u64) -> u64 {
        bytes
            .div_ceil(PAGE_BYTES)
            .saturating_mul(u64::from(self.page))
    }
}

/// What entering one basic block charges, summed instruction by instruction
/// ([`BlockCharge::add`]): the one place that says what an instruction adds to its block,
/// for every backend.
#[derive(Copy, Clone, Default, PartialEq, Eq, Debug)]
pub struct BlockCharge {
    /// The block's instruction costs (saturating: a block that costs `u32::MAX` never
    /// runs, whatever its true sum).
    pub cost: u32,
    /// The block's loads and stores, each paying the instance's memory-access surcharge
    /// ([`CostTable::access_cost`]) on entry.
    pub accesses: u32,
}

impl BlockCharge {
    /// Adds one instruction under `table`: `None` for an invalid instruction or the
    /// implicit trap after the code.
    #[inline(always)]
    pub fn add(&mut self, table: &CostTable, opcode: Option<Opcode>) {
        match opcode {
            Some(opcode) => {
                self.cost = self.cost.saturating_add(table.cost(opcode));
                if opcode.accesses_memory() {
                    self.accesses += 1;
                }
            }
            None => self.cost = self.cost.saturating_add(table.invalid),
        }
    }
}

impl Default for CostTable {
    fn default() -> Self {
        CostTable::naive()
    }
}

/// The per-opcode array of a table listed as `(opcode, cost)` pairs; fails to compile
/// (in a `const`) or panics if an opcode is missing or listed twice.
const fn costs_by_opcode(list: &[(Opcode, u32)]) -> [u32; Opcode::ALL.len()] {
    let mut costs = [u32::MAX; Opcode::ALL.len()];
    let mut seen = [false; Opcode::ALL.len()];
    let mut i = 0;
    while i < list.len() {
        let (opcode, cost) = list[i];
        assert!(!seen[opcode.index()], "an opcode is listed twice");
        seen[opcode.index()] = true;
        costs[opcode.index()] = cost;
        i += 1;
    }
    let mut j = 0;
    while j < seen.len() {
        assert!(seen[j], "an opcode has no cost");
        j += 1;
    }
    costs
}

// Every opcode has exactly one cost in every generated table (checked at compile time).
const _: () = {
    let mut i = 0;
    while i < MEASURED.len() {
        costs_by_opcode(MEASURED[i].1.costs);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_names_find_the_newest() {
        let tables = CostTable::all();
        for (i, a) in tables.iter().enumerate() {
            for b in &tables[i + 1..] {
                assert!(a.version < b.version, "oldest first");
            }
            assert_eq!(CostTable::by_version(a.version).as_ref(), Some(a));
            assert_eq!(
                CostTable::by_name_or_version(&alloc::format!("{}", a.version)).as_ref(),
                Some(a)
            );
            let newest = tables.iter().rev().find(|t| t.name == a.name);
            assert_eq!(CostTable::by_name(a.name).as_ref(), newest);
            assert_eq!(CostTable::by_name_or_version(a.name).as_ref(), newest);
        }
        assert!(CostTable::by_version(0).is_none());
        assert!(CostTable::by_name_or_version("0").is_none());
        assert_eq!(
            CostTable::by_name("interpreter"),
            Some(CostTable::interpreter())
        );
        assert_eq!(CostTable::by_name("jit"), Some(CostTable::jit()));
    }

    #[test]
    fn naive_is_one_per_instruction_and_nothing_else() {
        let naive = CostTable::naive();
        assert_eq!(naive.version, 1);
        assert!(naive.costs.iter().all(|&cost| cost == 1));
        assert_eq!((naive.invalid, naive.memset_byte, naive.page), (1, 1, 0));
        assert_eq!(naive.access_cost(u64::MAX), 0);
        assert!(!naive.has_access_costs());
        assert_eq!(naive.pages_cost(1 << 30), 0);
    }

    #[test]
    fn memory_tiers_ascend_and_cover_everything() {
        for table in CostTable::all() {
            let tiers = table.memory_tiers;
            for pair in tiers.windows(2) {
                assert!(pair[0].up_to < pair[1].up_to, "{}", table.name);
                assert!(pair[0].access <= pair[1].access, "{}", table.name);
            }
            if let Some(last) = tiers.last() {
                assert_eq!(last.up_to, u64::MAX, "{}", table.name);
                assert_eq!(table.access_cost(0), tiers[0].access);
                assert_eq!(table.access_cost(u64::MAX), last.access);
            }
        }
    }

    #[test]
    fn a_block_charge_sums_costs_and_counts_accesses() {
        let table = CostTable::jit();
        let mut charge = BlockCharge::default();
        charge.add(&table, Some(Opcode::LoadIndirectU64));
        charge.add(&table, Some(Opcode::Add64));
        charge.add(&table, Some(Opcode::StoreU8));
        charge.add(&table, None);
        let expected = table.cost(Opcode::LoadIndirectU64)
            + table.cost(Opcode::Add64)
            + table.cost(Opcode::StoreU8)
            + table.invalid;
        assert_eq!(
            charge,
            BlockCharge {
                cost: expected,
                accesses: 2
            }
        );
        assert!(table.max_instruction_cost() >= table.invalid);
        let mut dear = table.clone();
        dear.costs[Opcode::Add64.index()] = u32::MAX;
        charge.add(&dear, Some(Opcode::Add64));
        assert_eq!(charge.cost, u32::MAX, "saturates");
        assert_eq!(dear.max_instruction_cost(), u32::MAX);
    }

    #[test]
    fn pages_round_up() {
        let table = CostTable::interpreter();
        assert_eq!(table.pages_cost(0), 0);
        assert_eq!(table.pages_cost(1), u64::from(table.page));
        assert_eq!(table.pages_cost(PAGE_BYTES), u64::from(table.page));
        assert_eq!(table.pages_cost(PAGE_BYTES + 1), 2 * u64::from(table.page));
    }
}
