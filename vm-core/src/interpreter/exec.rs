//! The interpreter loop: one `match` over pre-decoded ops, registers in a local array.

use super::memory::GuestMemory;
use super::ops::{op_number, CompiledCode, LazyCode, Op, Slot};
use crate::cast::{
    high_u64, high_u64_unsigned, low_u16, low_u32, low_u8, sign_extend_16, sign_extend_32,
    sign_extend_8, usize_from_u32,
};
use crate::memory::Fault;
use crate::program::{MIN_PAGE_SIZE, RETURN_TO_HOST};
use alloc::boxed::Box;

/// Why the loop stopped.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum Exit {
    Finished,
    Trap,
    Ecalli(u32),
    PageFault(u32),
    NotEnoughGas,
    Step,
}

/// Everything the loop mutates.
#[derive(Clone, Debug)]
pub(crate) struct ExecState {
    /// 13 registers plus three slots that always hold zero (index 13 is the base of
    /// absolute loads and stores).
    pub regs: [u64; 16],
    pub gas: i64,
    /// The op to run next.
    pub next_op: u32,
    /// The pc execution resumes at after an `ecalli`.
    pub resume_pc: u32,
    /// The address of the last dynamic jump that trapped.
    pub jump_address: u32,
    /// `next_op` starts a block that has not been charged yet (a fresh call, a jump the
    /// host requested, or a resume after the block did not fit).
    pub entry_pending: bool,
    /// The op that caused the last exit (its pc is the interrupt's pc).
    pub exit_op: u32,
    /// In step mode: the op at `next_op` was already reported with `Exit::Step`.
    pub stepped: bool,
    /// The memory-access surcharge per load or store for the accessible memory now
    /// (see [`CostTable::access_cost`](crate::gas::CostTable::access_cost)).
    pub access_cost: u32,
    pub memory: GuestMemory,
    /// This instance's own code when the module's interpreter compiles lazily (`None`:
    /// the module's, compiled up front). Taken out while the loop runs over it.
    pub code: Option<Box<LazyCode>>,
}

#[inline(always)]
fn sext(value: u32) -> u64 {
    sign_extend_32(value)
}

/// The low 32 bits of a register: the operand of a 32-bit operation, or an address.
#[inline(always)]
fn lo(value: u64) -> u32 {
    low_u32(value)
}

/// A register as a signed 64-bit number.
#[inline(always)]
fn signed(value: u64) -> i64 {
    value.cast_signed()
}

/// The low 32 bits of a register as a signed number.
#[inline(always)]
fn signed32(value: u64) -> i32 {
    low_u32(value).cast_signed()
}

#[inline(always)]
fn r(slot: Slot) -> usize {
    slot.index()
}

/// Every load and store op, with its width and how its bytes map to or from a register:
/// the one list that both the fast path and the slow path expand, each with its own
/// `load!` and `store!`, around the rest of their arms.
macro_rules! match_with_memory_ops {
    ($op:expr, $regs:ident; $($arms:tt)*) => {
        match $op {
            Op::LoadU8(d, b, x) => load!(d, b, x, 1, |v: [u8; 1]| u64::from(v[0])),
            Op::LoadI8(d, b, x) => load!(d, b, x, 1, |v: [u8; 1]| sign_extend_8(v[0])),
            Op::LoadU16(d, b, x) => load!(d, b, x, 2, |v| u64::from(u16::from_le_bytes(v))),
            Op::LoadI16(d, b, x) => load!(d, b, x, 2, |v| sign_extend_16(u16::from_le_bytes(v))),
            Op::LoadU32(d, b, x) => load!(d, b, x, 4, |v| u64::from(u32::from_le_bytes(v))),
            Op::LoadI32(d, b, x) => load!(d, b, x, 4, |v| sext(u32::from_le_bytes(v))),
            Op::LoadU64(d, b, x) => load!(d, b, x, 8, u64::from_le_bytes),
            Op::StoreU8(s, b, x) => store!(low_u8($regs[r(s)]), b, x, u8::to_le_bytes),
            Op::StoreU16(s, b, x) => store!(low_u16($regs[r(s)]), b, x, u16::to_le_bytes),
            Op::StoreU32(s, b, x) => store!(lo($regs[r(s)]), b, x, u32::to_le_bytes),
            Op::StoreU64(s, b, x) => store!($regs[r(s)], b, x, u64::to_le_bytes),
            Op::StoreImmU8(b, x, y) => store!(low_u8(y.into()), b, x, u8::to_le_bytes),
            Op::StoreImmU16(b, x, y) => store!(low_u16(y.into()), b, x, u16::to_le_bytes),
            Op::StoreImmU32(b, x, y) => store!(y, b, x, u32::to_le_bytes),
            Op::StoreImmU64(b, x, y) => store!(sext(y), b, x, u64::to_le_bytes),
            $($arms)*
        }
    };
}

impl ExecState {
    /// Sets [`access_cost`](Self::access_cost) for the memory accessible now: after
    /// instantiation and whenever the heap grows.
    pub(crate) fn refresh_access_cost(&mut self, code: &CompiledCode) {
        self.access_cost = code
            .table
            .access_cost(self.memory.access_map().accessible_bytes());
    }

    /// Runs until an exit. `GAS`: charge gas; `STEP`: stop before every instruction;
    /// `MEM`: blocks also pay the memory-access surcharge per load and store (only with
    /// `GAS`, and only for cost tables that have one).
    // Never inlined: inlined into its caller, the loop's registers went to the caller's
    // values, and a dispatch took an instruction more (10% on the corpus).
    #[inline(never)]
    pub(crate) fn run<const GAS: bool, const STEP: bool, const MEM: bool>(
        &mut self,
        code: &CompiledCode,
    ) -> Exit {
        let ops = &code.ops[..];
        // Sliced to the ops' length so one bounds check covers both at a jump target.
        let costs = &code.block_costs[..ops.len()];
        let accesses = if MEM {
            &code.block_accesses[..ops.len()]
        } else {
            &[][..]
        };
        // Below 2^16 (a cost table's surcharges are), times at most one access per op
        // (fewer than 2^26 ops): the product stays far below `i64::MAX`.
        let mut access_cost = i64::from(self.access_cost);
        let mut regs = self.regs;
        let mut gas = self.gas;
        let start = usize_from_u32(self.next_op);
        // Walking a slice iterator rather than an index keeps the dispatch to a pointer
        // bump: no index-to-address arithmetic and no bounds check per op (the compiled
        // code never runs off the end: its last op always leaves the block).
        let mut it = ops[start..].iter();
        // The fast memory view, re-borrowed around every trip through the slow path.
        let mut fast;

        // The index of the op being executed.
        macro_rules! here {
            () => {
                ops.len() - it.len() - 1
            };
        }
        // Every exit breaks out of the inner loop to one epilogue, keeping the hot loop
        // small: `Some((why, the op it happened at, the op to resume at, whether that op's
        // block still has to be charged))`, or `None` to run the current op on the slow
        // path, with the whole memory.
        macro_rules! exit {
            ($exit:expr, $at:expr, $next:expr) => {
                break Some((($exit), ($at), ($next), false))
            };
        }
        macro_rules! exit_here {
            ($exit:expr) => {{
                let at = here!();
                break Some((($exit), at, at, false));
            }};
        }
        macro_rules! slow_path {
            () => {
                break None
            };
        }
        // Charges `cost` (the block's static cost) to enter the block starting at op
        // `target`, plus its accesses' surcharge, or stops before it.
        macro_rules! charge {
            ($cost:expr, $target:expr) => {
                if GAS {
                    let mut cost = i64::from($cost);
                    if MEM {
                        let count = accesses.get($target).copied().unwrap_or(0);
                        cost += i64::from(count) * access_cost;
                    }
                    if gas < cost {
                        let target = $target;
                        break Some((Exit::NotEnoughGas, target, target, true));
                    }
                    gas -= cost;
                }
            };
        }
        // Enters the block whose first op is `target`.
        macro_rules! enter {
            ($target:expr) => {{
                let target = usize_from_u32($target);
                charge!(costs[target], target);
                it = ops[target..].iter();
            }};
        }
        // Enters the block right after the current op, whose cost the op carries.
        macro_rules! fall_into_next {
            ($cost:expr) => {
                charge!($cost, here!() + 1)
            };
        }
        macro_rules! dynamic_jump {
            ($address:expr) => {{
                let address = $address;
                if address == RETURN_TO_HOST {
                    exit_here!(Exit::Finished);
                }
                match code.dynamic_target(address) {
                    Some(target) => enter!(target),
                    None => {
                        // (For lazily compiled code: the target may only be unresolved.)
                        self.jump_address = address;
                        exit_here!(Exit::Trap)
                    }
                }
            }};
        }
        // Loads and stores try the fast view (stack, rw data and heap, ro data, as backed
        // by host memory); anything else takes the slow path, which redoes the op.
        macro_rules! load {
            ($d:expr, $base:expr, $offset:expr, $n:literal, $convert:expr) => {{
                let address = lo(regs[r($base)].wrapping_add(sext($offset)));
                match fast.load::<$n>(address) {
                    Some(bytes) => regs[r($d)] = $convert(bytes),
                    None => slow_path!(),
                }
            }};
        }
        macro_rules! store {
            ($value:expr, $base:expr, $offset:expr, $bytes:expr) => {{
                let address = lo(regs[r($base)].wrapping_add(sext($offset)));
                if !fast.store(address, $bytes($value)) {
                    slow_path!();
                }
            }};
        }
        macro_rules! branch {
            ($cond:expr, $target:expr, $fall_cost:expr) => {{
                // Two real branches (not a select): the CPU predicts the direction instead
                // of waiting for the comparison before fetching the next op.
                if $cond {
                    enter!($target)
                } else {
                    fall_into_next!($fall_cost)
                }
            }};
        }
        macro_rules! alu {
            ($d:expr, $value:expr) => {
                regs[r($d)] = $value
            };
        }

        if self.entry_pending {
            if GAS {
                let mut cost = i64::from(costs[start]);
                if MEM {
                    let count = accesses.get(start).copied().unwrap_or(0);
                    cost += i64::from(count) * access_cost;
                }
                if gas < cost {
                    self.exit_op = op_number(start);
                    return Exit::NotEnoughGas;
                }
                gas -= cost;
            }
            self.entry_pending = false;
        }

        let (exit, at, next, entry_pending) = loop {
            // The fast view borrows the memory for the inner loop; the slow path gets all of
            // it back, then a fresh view (regions may have grown) continues.
            fast = self.memory.fast_view();
            let inner = loop {
                let Some(op) = it.next() else {
                    unreachable!("compiled code always leaves a block before its end")
                };
                if STEP {
                    if !self.stepped {
                        self.stepped = true;
                        exit_here!(Exit::Step);
                    }
                    self.stepped = false;
                }
                // Matching the place (not a copy) lets each arm load only the fields it uses.
                match_with_memory_ops! { *op, regs;
                    Op::Trap => exit_here!(Exit::Trap),
                    Op::Nop => {}
                    Op::Fallthrough(cost) => fall_into_next!(cost),
                    Op::Memset | Op::Sbrk(..) => slow_path!(),
                    Op::Ecalli(n, next_pc) => {
                        self.resume_pc = next_pc;
                        let at = here!();
                        exit!(Exit::Ecalli(n), at, at + 1)
                    }
                    Op::Jump(target) => enter!(target),
                    Op::JumpIndirect(b, x) => {
                        dynamic_jump!(lo(regs[r(b)].wrapping_add(sext(x))))
                    }
                    Op::LoadImmAndJump(d, x, target) => {
                        regs[r(d)] = sext(x);
                        enter!(target);
                    }
                    Op::LoadImmAndJumpIndirect(d, b, x, y) => {
                        let address = lo(regs[r(b)].wrapping_add(sext(y)));
                        regs[r(d)] = sext(x);
                        dynamic_jump!(address);
                    }

                    Op::BranchEq(a, b, t, c) => branch!(regs[r(a)] == regs[r(b)], t, c),
                    Op::BranchNotEq(a, b, t, c) => branch!(regs[r(a)] != regs[r(b)], t, c),
                    Op::BranchLessUnsigned(a, b, t, c) => branch!(regs[r(a)] < regs[r(b)], t, c),
                    Op::BranchLessSigned(a, b, t, c) => {
                        branch!(signed(regs[r(a)]) < signed(regs[r(b)]), t, c)
                    }
                    Op::BranchGreaterOrEqualUnsigned(a, b, t, c) => {
                        branch!(regs[r(a)] >= regs[r(b)], t, c)
                    }
                    Op::BranchGreaterOrEqualSigned(a, b, t, c) => {
                        branch!(signed(regs[r(a)]) >= signed(regs[r(b)]), t, c)
                    }
                    Op::BranchEqImm(a, x, t, c) => branch!(regs[r(a)] == sext(x), t, c),
                    Op::BranchNotEqImm(a, x, t, c) => branch!(regs[r(a)] != sext(x), t, c),
                    Op::BranchLessUnsignedImm(a, x, t, c) => branch!(regs[r(a)] < sext(x), t, c),
                    Op::BranchLessSignedImm(a, x, t, c) => {
                        branch!(signed(regs[r(a)]) < signed(sext(x)), t, c)
                    }
                    Op::BranchGreaterOrEqualUnsignedImm(a, x, t, c) => {
                        branch!(regs[r(a)] >= sext(x), t, c)
                    }
                    Op::BranchGreaterOrEqualSignedImm(a, x, t, c) => {
                        branch!(signed(regs[r(a)]) >= signed(sext(x)), t, c)
                    }
                    Op::BranchLessOrEqualSignedImm(a, x, t, c) => {
                        branch!(signed(regs[r(a)]) <= signed(sext(x)), t, c)
                    }
                    Op::BranchLessOrEqualUnsignedImm(a, x, t, c) => {
                        branch!(regs[r(a)] <= sext(x), t, c)
                    }
                    Op::BranchGreaterSignedImm(a, x, t, c) => {
                        branch!(signed(regs[r(a)]) > signed(sext(x)), t, c)
                    }
                    Op::BranchGreaterUnsignedImm(a, x, t, c) => branch!(regs[r(a)] > sext(x), t, c),

                    Op::LoadImm(d, x) => alu!(d, sext(x)),
                    Op::LoadImm64(d, x) => alu!(d, x),
                    Op::MoveReg(d, s) => alu!(d, regs[r(s)]),


                    Op::AddImm32(d, s, x) => alu!(d, sext((lo(regs[r(s)])).wrapping_add(x))),
                    Op::AddImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_add(sext(x))),
                    Op::AndImm(d, s, x) => alu!(d, regs[r(s)] & sext(x)),
                    Op::XorImm(d, s, x) => alu!(d, regs[r(s)] ^ sext(x)),
                    Op::OrImm(d, s, x) => alu!(d, regs[r(s)] | sext(x)),
                    Op::MulImm32(d, s, x) => alu!(d, sext((lo(regs[r(s)])).wrapping_mul(x))),
                    Op::MulImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_mul(sext(x))),
                    Op::SetLessThanUnsignedImm(d, s, x) => alu!(d, u64::from(regs[r(s)] < sext(x))),
                    Op::SetLessThanSignedImm(d, s, x) => {
                        alu!(d, u64::from(signed(regs[r(s)]) < signed(sext(x))))
                    }
                    Op::ShiftLogicalLeftImm32(d, s, x) => {
                        alu!(d, sext((lo(regs[r(s)])).wrapping_shl(x)))
                    }
                    Op::ShiftLogicalLeftImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_shl(x)),
                    Op::ShiftLogicalRightImm32(d, s, x) => {
                        alu!(d, sext((lo(regs[r(s)])).wrapping_shr(x)))
                    }
                    Op::ShiftLogicalRightImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_shr(x)),
                    Op::ShiftArithmeticRightImm32(d, s, x) => {
                        alu!(d, sext(signed32(regs[r(s)]).wrapping_shr(x).cast_unsigned()))
                    }
                    Op::ShiftArithmeticRightImm64(d, s, x) => {
                        alu!(d, signed(regs[r(s)]).wrapping_shr(x).cast_unsigned())
                    }
                    Op::NegateAndAddImm32(d, s, x) => {
                        alu!(d, sext(x.wrapping_sub(lo(regs[r(s)]))))
                    }
                    Op::NegateAndAddImm64(d, s, x) => alu!(d, sext(x).wrapping_sub(regs[r(s)])),
                    Op::SetGreaterThanUnsignedImm(d, s, x) => {
                        alu!(d, u64::from(regs[r(s)] > sext(x)))
                    }
                    Op::SetGreaterThanSignedImm(d, s, x) => {
                        alu!(d, u64::from(signed(regs[r(s)]) > signed(sext(x))))
                    }
                    Op::ShiftLogicalRightImmAlt32(d, s, x) => {
                        alu!(d, sext(x.wrapping_shr(lo(regs[r(s)]))))
                    }
                    Op::ShiftLogicalRightImmAlt64(d, s, x) => {
                        alu!(d, sext(x).wrapping_shr(lo(regs[r(s)])))
                    }
                    Op::ShiftArithmeticRightImmAlt32(d, s, x) => {
                        alu!(d, sext(x.cast_signed().wrapping_shr(lo(regs[r(s)])).cast_unsigned()))
                    }
                    Op::ShiftArithmeticRightImmAlt64(d, s, x) => {
                        alu!(d, signed(sext(x)).wrapping_shr(lo(regs[r(s)])).cast_unsigned())
                    }
                    Op::ShiftLogicalLeftImmAlt32(d, s, x) => {
                        alu!(d, sext(x.wrapping_shl(lo(regs[r(s)]))))
                    }
                    Op::ShiftLogicalLeftImmAlt64(d, s, x) => {
                        alu!(d, sext(x).wrapping_shl(lo(regs[r(s)])))
                    }
                    Op::CmovIfZeroImm(d, c, x) => {
                        if regs[r(c)] == 0 {
                            regs[r(d)] = sext(x);
                        }
                    }
                    Op::CmovIfNotZeroImm(d, c, x) => {
                        if regs[r(c)] != 0 {
                            regs[r(d)] = sext(x);
                        }
                    }
                    Op::RotateRightImm32(d, s, x) => {
                        alu!(d, sext((lo(regs[r(s)])).rotate_right(x)))
                    }
                    Op::RotateRightImmAlt32(d, s, x) => {
                        alu!(d, sext(x.rotate_right(lo(regs[r(s)]))))
                    }
                    Op::RotateRightImm64(d, s, x) => alu!(d, regs[r(s)].rotate_right(x)),
                    Op::RotateRightImmAlt64(d, s, x) => {
                        alu!(d, sext(x).rotate_right(lo(regs[r(s)])))
                    }

                    Op::Add32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).wrapping_add(lo(regs[r(b)]))))
                    }
                    Op::Add64(d, a, b) => alu!(d, regs[r(a)].wrapping_add(regs[r(b)])),
                    Op::Sub32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).wrapping_sub(lo(regs[r(b)]))))
                    }
                    Op::Sub64(d, a, b) => alu!(d, regs[r(a)].wrapping_sub(regs[r(b)])),
                    Op::And(d, a, b) => alu!(d, regs[r(a)] & regs[r(b)]),
                    Op::Xor(d, a, b) => alu!(d, regs[r(a)] ^ regs[r(b)]),
                    Op::Or(d, a, b) => alu!(d, regs[r(a)] | regs[r(b)]),
                    Op::Mul32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).wrapping_mul(lo(regs[r(b)]))))
                    }
                    Op::Mul64(d, a, b) => alu!(d, regs[r(a)].wrapping_mul(regs[r(b)])),
                    Op::MulUpperSignedSigned(d, a, b) => {
                        alu!(
                            d,
                            high_u64(
                                i128::from(signed(regs[r(a)])) * i128::from(signed(regs[r(b)]))
                            )
                        )
                    }
                    Op::MulUpperUnsignedUnsigned(d, a, b) => {
                        alu!(
                            d,
                            high_u64_unsigned(u128::from(regs[r(a)]) * u128::from(regs[r(b)]))
                        )
                    }
                    Op::MulUpperSignedUnsigned(d, a, b) => {
                        alu!(
                            d,
                            high_u64(i128::from(signed(regs[r(a)])) * i128::from(regs[r(b)]))
                        )
                    }
                    Op::SetLessThanUnsigned(d, a, b) => alu!(d, u64::from(regs[r(a)] < regs[r(b)])),
                    Op::SetLessThanSigned(d, a, b) => {
                        alu!(d, u64::from(signed(regs[r(a)]) < signed(regs[r(b)])))
                    }
                    Op::ShiftLogicalLeft32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).wrapping_shl(lo(regs[r(b)]))))
                    }
                    Op::ShiftLogicalLeft64(d, a, b) => {
                        alu!(d, regs[r(a)].wrapping_shl(lo(regs[r(b)])))
                    }
                    Op::ShiftLogicalRight32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).wrapping_shr(lo(regs[r(b)]))))
                    }
                    Op::ShiftLogicalRight64(d, a, b) => {
                        alu!(d, regs[r(a)].wrapping_shr(lo(regs[r(b)])))
                    }
                    Op::ShiftArithmeticRight32(d, a, b) => {
                        alu!(
                            d,
                            sext(signed32(regs[r(a)]).wrapping_shr(lo(regs[r(b)])).cast_unsigned())
                        )
                    }
                    Op::ShiftArithmeticRight64(d, a, b) => alu!(
                        d,
                        signed(regs[r(a)]).wrapping_shr(lo(regs[r(b)])).cast_unsigned()
                    ),
                    Op::DivUnsigned32(d, a, b) => {
                        let (x, y) = (lo(regs[r(a)]), lo(regs[r(b)]));
                        alu!(d, x.checked_div(y).map_or(u64::MAX, sext))
                    }
                    Op::DivUnsigned64(d, a, b) => {
                        let (x, y) = (regs[r(a)], regs[r(b)]);
                        alu!(d, x.checked_div(y).unwrap_or(u64::MAX))
                    }
                    Op::DivSigned32(d, a, b) => {
                        let (x, y) = (signed32(regs[r(a)]), signed32(regs[r(b)]));
                        alu!(
                            d,
                            if y == 0 {
                                u64::MAX
                            } else {
                                sext(x.wrapping_div(y).cast_unsigned())
                            }
                        )
                    }
                    Op::DivSigned64(d, a, b) => {
                        let (x, y) = (signed(regs[r(a)]), signed(regs[r(b)]));
                        alu!(
                            d,
                            if y == 0 {
                                u64::MAX
                            } else {
                                x.wrapping_div(y).cast_unsigned()
                            }
                        )
                    }
                    Op::RemUnsigned32(d, a, b) => {
                        let (x, y) = (lo(regs[r(a)]), lo(regs[r(b)]));
                        alu!(d, sext(if y == 0 { x } else { x % y }))
                    }
                    Op::RemUnsigned64(d, a, b) => {
                        let (x, y) = (regs[r(a)], regs[r(b)]);
                        alu!(d, if y == 0 { x } else { x % y })
                    }
                    Op::RemSigned32(d, a, b) => {
                        let (x, y) = (signed32(regs[r(a)]), signed32(regs[r(b)]));
                        alu!(
                            d,
                            sext((if y == 0 { x } else { x.wrapping_rem(y) }).cast_unsigned())
                        )
                    }
                    Op::RemSigned64(d, a, b) => {
                        let (x, y) = (signed(regs[r(a)]), signed(regs[r(b)]));
                        alu!(d, (if y == 0 { x } else { x.wrapping_rem(y) }).cast_unsigned())
                    }
                    Op::CmovIfZero(d, a, c) => {
                        if regs[r(c)] == 0 {
                            regs[r(d)] = regs[r(a)];
                        }
                    }
                    Op::CmovIfNotZero(d, a, c) => {
                        if regs[r(c)] != 0 {
                            regs[r(d)] = regs[r(a)];
                        }
                    }
                    Op::AndInverted(d, a, b) => alu!(d, regs[r(a)] & !regs[r(b)]),
                    Op::OrInverted(d, a, b) => alu!(d, regs[r(a)] | !regs[r(b)]),
                    Op::Xnor(d, a, b) => alu!(d, !(regs[r(a)] ^ regs[r(b)])),
                    Op::Maximum(d, a, b) => {
                        alu!(d, signed(regs[r(a)]).max(signed(regs[r(b)])).cast_unsigned())
                    }
                    Op::MaximumUnsigned(d, a, b) => alu!(d, regs[r(a)].max(regs[r(b)])),
                    Op::Minimum(d, a, b) => {
                        alu!(d, signed(regs[r(a)]).min(signed(regs[r(b)])).cast_unsigned())
                    }
                    Op::MinimumUnsigned(d, a, b) => alu!(d, regs[r(a)].min(regs[r(b)])),
                    Op::RotateLeft32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).rotate_left(lo(regs[r(b)]))))
                    }
                    Op::RotateLeft64(d, a, b) => alu!(d, regs[r(a)].rotate_left(lo(regs[r(b)]))),
                    Op::RotateRight32(d, a, b) => {
                        alu!(d, sext((lo(regs[r(a)])).rotate_right(lo(regs[r(b)]))))
                    }
                    Op::RotateRight64(d, a, b) => {
                        alu!(d, regs[r(a)].rotate_right(lo(regs[r(b)])))
                    }

                    Op::CountLeadingZeroBits32(d, s) => {
                        alu!(d, u64::from((lo(regs[r(s)])).leading_zeros()))
                    }
                    Op::CountLeadingZeroBits64(d, s) => {
                        alu!(d, u64::from(regs[r(s)].leading_zeros()))
                    }
                    Op::CountTrailingZeroBits32(d, s) => {
                        alu!(d, u64::from((lo(regs[r(s)])).trailing_zeros()))
                    }
                    Op::CountTrailingZeroBits64(d, s) => {
                        alu!(d, u64::from(regs[r(s)].trailing_zeros()))
                    }
                    Op::CountSetBits32(d, s) => {
                        alu!(d, u64::from((lo(regs[r(s)])).count_ones()))
                    }
                    Op::CountSetBits64(d, s) => alu!(d, u64::from(regs[r(s)].count_ones())),
                    Op::SignExtend8(d, s) => alu!(d, sign_extend_8(low_u8(regs[r(s)]))),
                    Op::SignExtend16(d, s) => alu!(d, sign_extend_16(low_u16(regs[r(s)]))),
                    Op::ZeroExtend16(d, s) => alu!(d, u64::from(low_u16(regs[r(s)]))),
                    Op::ReverseByte(d, s) => alu!(d, regs[r(s)].swap_bytes()),

                    // A fused op whose second half misses the fast path runs that half's
                    // copy, which goes on after the pair.
                    Op::Continue(target) => it = ops[usize_from_u32(target)..].iter(),
                    Op::Add64LoadU64(d, a, b, e, base, x, copy) => {
                        alu!(d, regs[r(a)].wrapping_add(regs[r(b)]));
                        let address = lo(regs[r(base)].wrapping_add(sext(x)));
                        match fast.load::<8>(address) {
                            Some(bytes) => regs[r(e)] = u64::from_le_bytes(bytes),
                            None => {
                                it = ops[usize_from_u32(copy)..].iter();
                            }
                        }
                    }
                    Op::Add64StoreU64(d, a, b, v, base, x, copy) => {
                        alu!(d, regs[r(a)].wrapping_add(regs[r(b)]));
                        let address = lo(regs[r(base)].wrapping_add(sext(x)));
                        if !fast.store(address, regs[r(v)].to_le_bytes()) {
                            it = ops[usize_from_u32(copy)..].iter();
                        }
                    }
                    Op::LoadU64Add64(d, base, x, e, a, b) => {
                        load!(d, base, x, 8, u64::from_le_bytes);
                        alu!(e, regs[r(a)].wrapping_add(regs[r(b)]));
                    }
                    Op::AndImmAdd64(d, v, x, e, a, b) => {
                        alu!(d, regs[r(v)] & sext(x));
                        alu!(e, regs[r(a)].wrapping_add(regs[r(b)]));
                    }
                    Op::LoadU64SetLessThanUnsigned(d, base, x, e, a, b) => {
                        load!(d, base, x, 8, u64::from_le_bytes);
                        alu!(e, u64::from(regs[r(a)] < regs[r(b)]));
                    }
                    Op::LoadU64Xor(d, base, x, e, a, b) => {
                        load!(d, base, x, 8, u64::from_le_bytes);
                        alu!(e, regs[r(a)] ^ regs[r(b)]);
                    }
                    Op::ShiftLogicalRightImm64AndImm(d, v, x, e, t, y) => {
                        alu!(d, regs[r(v)].wrapping_shr(x));
                        alu!(e, regs[r(t)] & sext(y));
                    }
                    Op::XorRotateRightImm64(d, a, b, e, v, x) => {
                        alu!(d, regs[r(a)] ^ regs[r(b)]);
                        alu!(e, regs[r(v)].rotate_right(x));
                    }
                    Op::StoreU64AddImm64(v, base, x, d, t, y) => {
                        store!(regs[r(v)], base, x, u64::to_le_bytes);
                        alu!(d, regs[r(t)].wrapping_add(sext(y)));
                    }
                    Op::LoadU64AddImm64(d, base, x, e, t, y) => {
                        load!(d, base, x, 8, u64::from_le_bytes);
                        alu!(e, regs[r(t)].wrapping_add(sext(y)));
                    }
                    Op::LoadU8AddImm64(d, base, x, e, t, y) => {
                        load!(d, base, x, 1, |v: [u8; 1]| u64::from(v[0]));
                        alu!(e, regs[r(t)].wrapping_add(sext(y)));
                    }
                    Op::StoreU8AddImm64(v, base, x, d, t, y) => {
                        store!(low_u8(regs[r(v)]), base, x, u8::to_le_bytes);
                        alu!(d, regs[r(t)].wrapping_add(sext(y)));
                    }
                    Op::AddImm64AddImm64(d, v, x, e, t, y) => {
                        alu!(d, regs[r(v)].wrapping_add(sext(x)));
                        alu!(e, regs[r(t)].wrapping_add(sext(y)));
                    }
                    Op::Add64SetLessThanUnsigned(d, a, b, e, f, g) => {
                        alu!(d, regs[r(a)].wrapping_add(regs[r(b)]));
                        alu!(e, u64::from(regs[r(f)] < regs[r(g)]));
                    }
                    Op::Add64Add64(d, a, b, e, f, g) => {
                        alu!(d, regs[r(a)].wrapping_add(regs[r(b)]));
                        alu!(e, regs[r(f)].wrapping_add(regs[r(g)]));
                    }
                    Op::XorXor(d, a, b, e, f, g) => {
                        alu!(d, regs[r(a)] ^ regs[r(b)]);
                        alu!(e, regs[r(f)] ^ regs[r(g)]);
                    }
                    Op::XorLoadU64(d, a, b, e, base, x, copy) => {
                        alu!(d, regs[r(a)] ^ regs[r(b)]);
                        let address = lo(regs[r(base)].wrapping_add(sext(x)));
                        match fast.load::<8>(address) {
                            Some(bytes) => regs[r(e)] = u64::from_le_bytes(bytes),
                            None => {
                                it = ops[usize_from_u32(copy)..].iter();
                            }
                        }
                    }
                    Op::XorStoreU64(d, a, b, v, base, x, copy) => {
                        alu!(d, regs[r(a)] ^ regs[r(b)]);
                        let address = lo(regs[r(base)].wrapping_add(sext(x)));
                        if !fast.store(address, regs[r(v)].to_le_bytes()) {
                            it = ops[usize_from_u32(copy)..].iter();
                        }
                    }
                    Op::ShiftLogicalLeft64Or(d, a, b, e, f, g) => {
                        alu!(d, regs[r(a)].wrapping_shl(lo(regs[r(b)])));
                        alu!(e, regs[r(f)] | regs[r(g)]);
                    }
                    Op::AddImm64Add64(d, v, x, e, a, b) => {
                        alu!(d, regs[r(v)].wrapping_add(sext(x)));
                        alu!(e, regs[r(a)].wrapping_add(regs[r(b)]));
                    }
                    Op::AddImm32Add64(d, v, x, e, a, b) => {
                        alu!(d, sext((lo(regs[r(v)])).wrapping_add(x)));
                        alu!(e, regs[r(a)].wrapping_add(regs[r(b)]));
                    }
                    Op::StoreU64ShiftLogicalLeftImm64(v, base, x, d, t, y) => {
                        store!(regs[r(v)], base, x, u64::to_le_bytes);
                        alu!(d, regs[r(t)].wrapping_shl(y));
                    }
                    Op::LoadU64ShiftLogicalLeftImm64(d, base, x, e, t, y) => {
                        load!(d, base, x, 8, u64::from_le_bytes);
                        alu!(e, regs[r(t)].wrapping_shl(y));
                    }
                    Op::AddImm64XorImm(d, v, x, e, t, y) => {
                        alu!(d, regs[r(v)].wrapping_add(sext(x)));
                        alu!(e, regs[r(t)] ^ sext(y));
                    }
                    Op::LoadImmMoveReg(d, x, e, v) => {
                        alu!(d, sext(x));
                        alu!(e, regs[r(v)]);
                    }
                    Op::Add64BranchLessUnsigned(d, a, b, x, y, t, c) => {
                        alu!(d, regs[r(a)].wrapping_add(regs[r(b)]));
                        branch!(regs[r(x)] < regs[r(y)], t, c)
                    }
                    Op::LoadImmBranchLessUnsigned(d, v, x, y, t, c) => {
                        alu!(d, sext(v));
                        branch!(regs[r(x)] < regs[r(y)], t, c)
                    }
                    Op::MoveRegBranchNotEq(d, v, x, y, t, c) => {
                        alu!(d, regs[r(v)]);
                        branch!(regs[r(x)] != regs[r(y)], t, c)
                    }
                    Op::AddImm32LoadImmAndJump(d, v, x, e, y, target) => {
                        alu!(d, sext((lo(regs[r(v)])).wrapping_add(x)));
                        regs[r(e)] = sext(y);
                        enter!(target);
                    }
                    Op::StoreU64LoadImm(v, base, x, d, y) => {
                        store!(regs[r(v)], base, x, u64::to_le_bytes);
                        alu!(d, sext(y));
                    }
                    Op::RotateRightImm64StoreU64(d, s, x, v, base, y, copy) => {
                        alu!(d, regs[r(s)].rotate_right(u32::from(x)));
                        let address = lo(regs[r(base)].wrapping_add(sext(y)));
                        if !fast.store(address, regs[r(v)].to_le_bytes()) {
                            it = ops[usize_from_u32(copy)..].iter();
                        }
                    }
                    Op::ShiftLogicalLeftImm64StoreU64(d, s, x, v, base, y, copy) => {
                        alu!(d, regs[r(s)] << x);
                        let address = lo(regs[r(base)].wrapping_add(sext(y)));
                        if !fast.store(address, regs[r(v)].to_le_bytes()) {
                            it = ops[usize_from_u32(copy)..].iter();
                        }
                    }
                }
            };
            match inner {
                Some(done) => break done,
                None => {
                    let at = here!();
                    if let Err(exit) = self.slow_op::<GAS>(code, ops[at], &mut regs, &mut gas) {
                        break (exit, at, at, false);
                    }
                    // `sbrk` may have changed the accessible memory.
                    access_cost = i64::from(self.access_cost);
                }
            }
        };
        self.regs = regs;
        self.gas = gas;
        self.exit_op = op_number(at);
        self.next_op = op_number(next);
        self.entry_pending = entry_pending;
        exit
    }

    /// Runs an op that needs the whole memory: a load or store the fast view missed (a
    /// fault, uncommitted heap, aux data, a custom layout's other regions), `sbrk` and
    /// `memset`.
    #[cold]
    #[inline(never)]
    fn slow_op<const GAS: bool>(
        &mut self,
        code: &CompiledCode,
        op: Op,
        regs: &mut [u64; 16],
        gas: &mut i64,
    ) -> Result<(), Exit> {
        let to_exit = |fault| match fault {
            Fault::Trap => Exit::Trap,
            Fault::PageFault(page) => Exit::PageFault(page),
        };
        let memory = &mut self.memory;
        let address = |regs: &[u64; 16], base: Slot, offset: u32| {
            lo(regs[r(base)].wrapping_add(sext(offset)))
        };
        macro_rules! load {
            ($d:expr, $base:expr, $offset:expr, $n:literal, $convert:expr) => {{
                let bytes = memory
                    .load::<$n>(address(regs, $base, $offset))
                    .map_err(to_exit)?;
                regs[r($d)] = $convert(bytes);
            }};
        }
        macro_rules! store {
            ($value:expr, $base:expr, $offset:expr, $bytes:expr) => {{
                let value = $bytes($value);
                memory
                    .store(address(regs, $base, $offset), value)
                    .map_err(to_exit)?;
            }};
        }
        match_with_memory_ops! { op, regs;
            Op::Sbrk(d, s) => {
                let size = u32::try_from(signed(regs[r(s)])).unwrap_or(0);
                let top = match memory.access_map().plan_sbrk(size) {
                    Some(growth) => {
                        // The pages it makes accessible are paid before it grows (out of
                        // gas: stop here, and grow when resumed with more).
                        if GAS {
                            let cost = code.table.pages_cost(growth.added_bytes());
                            let cost = i64::try_from(cost).unwrap_or(i64::MAX);
                            if *gas < cost {
                                return Err(Exit::NotEnoughGas);
                            }
                            *gas -= cost;
                        }
                        memory.apply_sbrk(growth);
                        growth.top
                    }
                    None => 0,
                };
                regs[r(d)] = sext(top);
                self.refresh_access_cost(code);
            }
            Op::Memset => {
                // Byte by byte in effect (each byte paid before it is written, a fault at
                // the first byte it may not write), a page's run at a time: access is
                // granted per page, so a run within one page is written whole or faults
                // at its first byte.
                let value = low_u8(regs[Slot::A1.index()]);
                let mut dst = lo(regs[Slot::A0.index()]);
                let mut count = u64::from(lo(regs[Slot::A2.index()]));
                let per_byte = i64::from(code.table.memset_byte);
                // Paid by each run's first byte: the execution's first and every one at
                // the start of a page (`CostTable::memset_pays_access`). A run cut short
                // by the gas leaves less than a byte's cost, so the run after it (which
                // would not pay this) stops before its first byte either way.
                let run_cost = if code.table.memset_pays_access {
                    i64::from(self.access_cost)
                } else {
                    0
                };
                let mut result = Ok(());
                while count > 0 {
                    let to_page_end = MIN_PAGE_SIZE - dst % MIN_PAGE_SIZE;
                    let mut run = count.min(u64::from(to_page_end));
                    if GAS {
                        if *gas < run_cost + per_byte {
                            result = Err(Exit::NotEnoughGas);
                            break;
                        }
                        if per_byte > 0 {
                            let bytes_paid = (*gas - run_cost) / per_byte;
                            run = run.min(u64::try_from(bytes_paid).unwrap_or(0));
                        }
                    }
                    // `run` is at most a page.
                    let run32 = u32::try_from(run).unwrap_or(MIN_PAGE_SIZE);
                    if let Err(fault) = memory.fill_within_page(dst, value, run32) {
                        result = Err(to_exit(fault));
                        break;
                    }
                    if GAS {
                        *gas -= run_cost + per_byte * i64::from(run32);
                    }
                    dst = dst.wrapping_add(run32);
                    count -= u64::from(run32);
                }
                regs[Slot::A0.index()] = u64::from(dst);
                regs[Slot::A2.index()] = count;
                return result;
            }
            // The load half of a fused op missed the fast path: both halves run here.
            Op::LoadU64Add64(d, base, x, e, a, b) => {
                load!(d, base, x, 8, u64::from_le_bytes);
                regs[r(e)] = regs[r(a)].wrapping_add(regs[r(b)]);
            }
            Op::LoadU64SetLessThanUnsigned(d, base, x, e, a, b) => {
                load!(d, base, x, 8, u64::from_le_bytes);
                regs[r(e)] = u64::from(regs[r(a)] < regs[r(b)]);
            }
            Op::LoadU64Xor(d, base, x, e, a, b) => {
                load!(d, base, x, 8, u64::from_le_bytes);
                regs[r(e)] = regs[r(a)] ^ regs[r(b)];
            }
            Op::StoreU64AddImm64(v, base, x, d, t, y) => {
                store!(regs[r(v)], base, x, u64::to_le_bytes);
                regs[r(d)] = regs[r(t)].wrapping_add(sext(y));
            }
            Op::LoadU64AddImm64(d, base, x, e, t, y) => {
                load!(d, base, x, 8, u64::from_le_bytes);
                regs[r(e)] = regs[r(t)].wrapping_add(sext(y));
            }
            Op::LoadU8AddImm64(d, base, x, e, t, y) => {
                load!(d, base, x, 1, |v: [u8; 1]| u64::from(v[0]));
                regs[r(e)] = regs[r(t)].wrapping_add(sext(y));
            }
            Op::StoreU8AddImm64(v, base, x, d, t, y) => {
                store!(low_u8(regs[r(v)]), base, x, u8::to_le_bytes);
                regs[r(d)] = regs[r(t)].wrapping_add(sext(y));
            }
            Op::StoreU64LoadImm(v, base, x, d, y) => {
                store!(regs[r(v)], base, x, u64::to_le_bytes);
                regs[r(d)] = sext(y);
            }
            Op::StoreU64ShiftLogicalLeftImm64(v, base, x, d, t, y) => {
                store!(regs[r(v)], base, x, u64::to_le_bytes);
                regs[r(d)] = regs[r(t)].wrapping_shl(y);
            }
            Op::LoadU64ShiftLogicalLeftImm64(d, base, x, e, t, y) => {
                load!(d, base, x, 8, u64::from_le_bytes);
                regs[r(e)] = regs[r(t)].wrapping_shl(y);
            }
            other => unreachable!("{other:?} never takes the slow path"),
        }
        Ok(())
    }
}
