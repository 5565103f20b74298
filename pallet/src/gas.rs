//! Gas: the engine counts it, the pallet turns it into weight at every syscall.
//!
//! Every frame has its own meter. A contract calling another carves the callee's meter out
//! of its own ([`GasMeter::nested`]): the callee may use at most what the caller has left,
//! and when it returns the caller is charged what it consumed ([`GasMeter::absorb`]), all of
//! its limit if it ran out.

use frame_support::weights::Weight;

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
/// real code several times closer to its time with version 8
/// (`pvm_core::gas::CostTable::jit`, `pvm_core::gas::JIT_TABLE_PS_PER_GAS`); version 7,
/// measured on AMD machines only, undercharges `popcnt`, `lzcnt` and 16-bit immediate
/// stores on Intel's by up to 15%. Versions 4
/// and 5 are 6 and 7 before `memset` paid the memory-access surcharge (a one-byte
/// `memset` at random addresses of a large heap ran the interpreter 2x its charge) and
/// before their `in_runtime` recommendation covered mixes of instructions (which ran the
/// interpreter inside the runtime 1.5x its charge);
/// versions 2 and 3, before memory beyond the private cache was priced as DRAM,
/// undercharge a pointer chase up to fivefold when other work evicts the shared cache.
pub const DEFAULT_COST_TABLE_VERSION: u32 = 6;

/// The `ref_time` (ps) per gas the default table recommends for each engine
/// (`Config::RefTimePerGas`: a runtime takes the one for the engine its validators run).
pub const RECOMMENDED_REF_TIME_PER_GAS: pvm_core::gas::RefTimePerGas =
    pvm_core::gas::INTERPRETER_TABLE_PS_PER_GAS;

/// The weight one call may spend, and what it has spent.
#[derive(Clone, Copy, Debug)]
pub struct GasMeter {
    limit: Weight,
    consumed: Weight,
    /// The most `consumed` has been (per component): with refunds of worst-case charges,
    /// what a call needs as its limit is this, not what it consumed in the end.
    required: Weight,
    ref_time_per_gas: u64,
    engine_gas: u64,
}

/// The meter ran dry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OutOfGas;

impl GasMeter {
    /// A meter allowing `limit`, with `ref_time_per_gas` picoseconds of `ref_time` per
    /// unit of engine gas.
    pub fn new(limit: Weight, ref_time_per_gas: u64) -> GasMeter {
        GasMeter {
            limit,
            consumed: Weight::zero(),
            required: Weight::zero(),
            ref_time_per_gas: ref_time_per_gas.max(1),
            engine_gas: 0,
        }
    }

    /// Charges `weight`. On failure the dimension that ran out is consumed whole (an
    /// out-of-gas call pays all the time it was allowed); the other keeps what was
    /// consumed before, since the work the failed charge was for is never done (a callee
    /// that runs out of `ref_time` does not take its caller's proof size with it).
    pub fn charge(&mut self, weight: Weight) -> Result<(), OutOfGas> {
        let consumed = self.consumed.saturating_add(weight);
        self.required = self.required.max(consumed);
        if consumed.any_gt(self.limit) {
            if consumed.ref_time() > self.limit.ref_time() {
                self.consumed = self.consumed.set_ref_time(self.limit.ref_time());
            }
            if consumed.proof_size() > self.limit.proof_size() {
                self.consumed = self.consumed.set_proof_size(self.limit.proof_size());
            }
            return Err(OutOfGas);
        }
        self.consumed = consumed;
        Ok(())
    }

    /// Gives back `weight` of an earlier charge that covered a worst case, once the work
    /// is done and its real cost known (never more than was charged for it).
    pub fn refund(&mut self, weight: Weight) {
        self.consumed = self.consumed.saturating_sub(weight);
    }

    /// Marks all of the limit's `ref_time` consumed: the engine ran out of gas.
    pub fn exhaust(&mut self) {
        self.engine_gas = self.engine_gas.saturating_add(self.gas_left());
        self.consumed = self.consumed.set_ref_time(self.limit.ref_time());
        self.required = self.required.max(self.consumed);
    }

    /// Engine gas the remaining `ref_time` buys.
    pub fn gas_left(&self) -> u64 {
        self.limit
            .ref_time()
            .saturating_sub(self.consumed.ref_time())
            / self.ref_time_per_gas
    }

    /// Charges `gas` units of engine gas.
    pub fn charge_gas(&mut self, gas: u64) -> Result<(), OutOfGas> {
        self.engine_gas = self.engine_gas.saturating_add(gas);
        self.charge(Weight::from_parts(
            gas.saturating_mul(self.ref_time_per_gas),
            0,
        ))
    }

    /// Engine gas charged so far (the instructions run, without syscall weights).
    pub fn engine_gas(&self) -> u64 {
        self.engine_gas
    }

    /// Weight consumed so far.
    pub fn consumed(&self) -> Weight {
        self.consumed
    }

    /// The least limit that lets the call do what it did: the most it had consumed at any
    /// point, refunds of worst-case charges not counted (what a dry run reports).
    pub fn required(&self) -> Weight {
        self.required
    }

    /// The limit.
    pub fn limit(&self) -> Weight {
        self.limit
    }

    /// What may still be consumed.
    pub fn remaining(&self) -> Weight {
        self.limit.saturating_sub(self.consumed)
    }

    /// A meter for a callee allowed `limit`, capped (per component) at what this meter has
    /// left.
    pub fn nested(&self, limit: Weight) -> GasMeter {
        GasMeter::new(limit.min(self.remaining()), self.ref_time_per_gas)
    }

    /// Charges what a callee's meter (from [`GasMeter::nested`]) consumed. It cannot
    /// exceed what this meter had left when the callee's was carved out.
    pub fn absorb(&mut self, callee: &GasMeter) {
        self.required = self
            .required
            .max(self.consumed.saturating_add(callee.required));
        self.engine_gas = self.engine_gas.saturating_add(callee.engine_gas);
        self.consumed = self
            .consumed
            .saturating_add(callee.consumed)
            .min(self.limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(ref_time: u64, proof_size: u64) -> Weight {
        Weight::from_parts(ref_time, proof_size)
    }

    #[test]
    fn refunds_lower_consumed_but_not_required() {
        let mut meter = GasMeter::new(w(100, 100), 1);
        meter.charge(w(10, 50)).unwrap();
        meter.refund(w(4, 40));
        assert_eq!(meter.consumed(), w(6, 10));
        assert_eq!(meter.required(), w(10, 50));
        meter.charge(w(20, 5)).unwrap();
        assert_eq!(meter.required(), w(26, 50));
    }

    #[test]
    fn a_callees_peak_counts_from_where_the_caller_stood() {
        let mut caller = GasMeter::new(w(100, 100), 1);
        caller.charge(w(10, 10)).unwrap();
        let mut callee = caller.nested(w(50, 50));
        callee.charge(w(30, 40)).unwrap();
        callee.refund(w(25, 35));
        caller.absorb(&callee);
        assert_eq!(caller.consumed(), w(15, 15));
        assert_eq!(caller.required(), w(40, 50));
    }

    #[test]
    fn running_out_requires_at_least_the_failed_charge() {
        let mut meter = GasMeter::new(w(10, 10), 1);
        meter.charge(w(2, 3)).unwrap();
        assert_eq!(meter.charge(w(9, 1)), Err(OutOfGas));
        // Out of ref_time: all of it consumed, the proof size as it was.
        assert_eq!(meter.consumed(), w(10, 3));
        assert_eq!(meter.required(), w(11, 4));
        assert_eq!(meter.charge(w(0, 8)), Err(OutOfGas));
        assert_eq!(meter.consumed(), w(10, 10));
    }
}
