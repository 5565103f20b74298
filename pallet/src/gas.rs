//! Gas: the engine counts it, the pallet turns it into weight at every syscall.
//!
//! Every frame has its own meter. A contract calling another carves the callee's meter out
//! of its own ([`GasMeter::nested`]): the callee may use at most what the caller has left,
//! and when it returns the caller is charged what it consumed ([`GasMeter::absorb`]), all of
//! its limit if it ran out.

use frame_support::weights::Weight;

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

    /// Charges `weight`; on failure everything is consumed (an out-of-gas call pays all
    /// it was allowed).
    pub fn charge(&mut self, weight: Weight) -> Result<(), OutOfGas> {
        let consumed = self.consumed.saturating_add(weight);
        self.required = self.required.max(consumed);
        if consumed.any_gt(self.limit) {
            self.consumed = self.limit;
            self.required = self.required.max(self.limit);
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

    /// Marks all of the limit consumed.
    pub fn exhaust(&mut self) {
        self.engine_gas = self.engine_gas.saturating_add(self.gas_left());
        self.consumed = self.limit;
        self.required = self.required.max(self.limit);
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
        assert_eq!(meter.charge(w(11, 1)), Err(OutOfGas));
        assert_eq!(meter.consumed(), w(10, 10));
        assert_eq!(meter.required(), w(11, 10));
    }
}
