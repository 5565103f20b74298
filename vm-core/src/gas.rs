//! The gas cost model: one `u32` per opcode, charged per basic block on entry.
//!
//! A block's cost is the sum of its instructions' costs, including its terminator, or the
//! invalid instruction / implicit trap that ends it. `memset` also has a dynamic cost: on
//! top of its static cost it charges one unit per byte it writes (as PolkaVM does),
//! stopping with `NotEnoughGas` when gas runs out mid-way.

use crate::isa::Opcode;

/// Versioned per-opcode costs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CostTable {
    /// Bumped whenever any cost changes, so stored results can name the table they used.
    pub version: u32,
    /// Cost of each opcode, indexed by [`Opcode::index`].
    pub costs: [u32; Opcode::ALL.len()],
    /// Cost of an invalid instruction or the implicit trap after the code.
    pub invalid: u32,
}

impl CostTable {
    /// Every instruction costs 1 (PolkaVM's naive model; the JAM vectors use it too).
    pub fn naive() -> CostTable {
        CostTable {
            version: 1,
            costs: [1; Opcode::ALL.len()],
            invalid: 1,
        }
    }

    /// The table with this version, if this build knows it. Versions are consensus: a
    /// runtime names the table its contracts are charged by, and every node must find the
    /// same one.
    pub fn by_version(version: u32) -> Option<CostTable> {
        [CostTable::naive()]
            .into_iter()
            .find(|table| table.version == version)
    }

    /// The cost of one opcode.
    #[inline]
    pub fn cost(&self, opcode: Opcode) -> u32 {
        self.costs[opcode.index()]
    }
}

impl Default for CostTable {
    fn default() -> Self {
        CostTable::naive()
    }
}
