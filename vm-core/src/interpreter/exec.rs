//! The interpreter loop: one `match` over pre-decoded ops, registers in a local array.

use super::memory::{Fault, GuestMemory};
use super::ops::{CompiledCode, Op};
use crate::program::RETURN_TO_HOST;

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
    /// `next_op` starts a block that has not been charged yet (a fresh call, a jump the
    /// host requested, or a resume after the block did not fit).
    pub entry_pending: bool,
    /// The op that caused the last exit (its pc is the interrupt's pc).
    pub exit_op: u32,
    /// In step mode: the op at `next_op` was already reported with `Exit::Step`.
    pub stepped: bool,
    pub memory: GuestMemory,
}

#[inline(always)]
fn sext(value: u32) -> u64 {
    value as i32 as i64 as u64
}

#[inline(always)]
fn r(index: u8) -> usize {
    (index & 15) as usize
}

impl ExecState {
    /// Runs until an exit. `GAS`: charge gas; `STEP`: stop before every instruction.
    pub(crate) fn run<const GAS: bool, const STEP: bool>(&mut self, code: &CompiledCode) -> Exit {
        let ops = &code.ops[..];
        let costs = &code.block_costs[..];
        let mut regs = self.regs;
        let mut gas = self.gas;
        let mut i = self.next_op as usize;

        // Every exit breaks out of the loop to one epilogue, keeping the hot loop small:
        // `(why, the op it happened at, the op to resume at, whether that op's block still
        // has to be charged)`.
        macro_rules! exit {
            ($exit:expr, $at:expr, $next:expr) => {
                break (($exit), ($at), ($next), false)
            };
        }
        // Enters the block whose first op is `target`: charges its cost, or stops before it.
        macro_rules! enter {
            ($target:expr) => {{
                let target = $target as usize;
                if GAS {
                    let cost = i64::from(costs[target]);
                    if gas < cost {
                        break (Exit::NotEnoughGas, target, target, true);
                    }
                    gas -= cost;
                }
                i = target;
            }};
        }
        macro_rules! fault {
            ($fault:expr, $at:expr) => {
                match $fault {
                    Fault::Trap => exit!(Exit::Trap, $at, $at),
                    Fault::PageFault(page) => exit!(Exit::PageFault(page), $at, $at),
                }
            };
        }
        macro_rules! dynamic_jump {
            ($address:expr, $at:expr) => {{
                let address = $address;
                if address == RETURN_TO_HOST {
                    exit!(Exit::Finished, $at, $at);
                }
                match code.dynamic_target(address) {
                    Some(target) => enter!(target),
                    None => exit!(Exit::Trap, $at, $at),
                }
            }};
        }
        macro_rules! load {
            ($d:expr, $base:expr, $offset:expr, $n:literal, $convert:expr, $at:expr) => {{
                let address = regs[r($base)].wrapping_add(sext($offset)) as u32;
                match self.memory.load::<$n>(address) {
                    Ok(bytes) => regs[r($d)] = $convert(bytes),
                    Err(fault) => fault!(fault, $at),
                }
            }};
        }
        macro_rules! store {
            ($value:expr, $base:expr, $offset:expr, $bytes:expr, $at:expr) => {{
                let address = regs[r($base)].wrapping_add(sext($offset)) as u32;
                if let Err(fault) = self.memory.store(address, $bytes($value)) {
                    fault!(fault, $at);
                }
            }};
        }
        macro_rules! branch {
            ($cond:expr, $target:expr) => {{
                // Two real branches (not a select): the CPU predicts the direction instead
                // of waiting for the comparison before fetching the next op.
                if $cond {
                    enter!($target)
                } else {
                    enter!(i)
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
                let cost = i64::from(costs[i]);
                if gas < cost {
                    self.exit_op = i as u32;
                    return Exit::NotEnoughGas;
                }
                gas -= cost;
            }
            self.entry_pending = false;
        }

        let (exit, at, next, entry_pending) = loop {
            let at = i;
            if STEP {
                if !self.stepped {
                    self.stepped = true;
                    exit!(Exit::Step, at, at);
                }
                self.stepped = false;
            }
            i += 1;
            // Matching the place (not a copy) lets each arm load only the fields it uses.
            match ops[at] {
                Op::Trap => exit!(Exit::Trap, at, at),
                Op::Nop => {}
                Op::Fallthrough => enter!(i),
                Op::Memset => {
                    let value = regs[8] as u8;
                    let mut dst = regs[7] as u32;
                    let mut count = u64::from(regs[9] as u32);
                    let mut result = None;
                    while count > 0 {
                        if GAS && gas == 0 {
                            result = Some(Exit::NotEnoughGas);
                            break;
                        }
                        if let Err(fault) = self.memory.store(dst, [value]) {
                            result = Some(match fault {
                                Fault::Trap => Exit::Trap,
                                Fault::PageFault(page) => Exit::PageFault(page),
                            });
                            break;
                        }
                        if GAS {
                            gas -= 1;
                        }
                        dst = dst.wrapping_add(1);
                        count -= 1;
                    }
                    regs[7] = u64::from(dst);
                    regs[9] = count;
                    if let Some(exit) = result {
                        exit!(exit, at, at);
                    }
                }
                Op::Ecalli(n) => exit!(Exit::Ecalli(n), at, i),
                Op::Sbrk(d, s) => {
                    let size = u32::try_from(regs[r(s)] as i64).unwrap_or(0);
                    regs[r(d)] = sext(self.memory.sbrk(size).unwrap_or(0));
                }
                Op::Jump(target) => enter!(target),
                Op::JumpIndirect(b, x) => {
                    dynamic_jump!(regs[r(b)].wrapping_add(sext(x)) as u32, at)
                }
                Op::LoadImmAndJump(d, x, target) => {
                    regs[r(d)] = sext(x);
                    enter!(target);
                }
                Op::LoadImmAndJumpIndirect(d, b, x, y) => {
                    let address = regs[r(b)].wrapping_add(sext(y)) as u32;
                    regs[r(d)] = sext(x);
                    dynamic_jump!(address, at);
                }

                Op::BranchEq(a, b, t) => branch!(regs[r(a)] == regs[r(b)], t),
                Op::BranchNotEq(a, b, t) => branch!(regs[r(a)] != regs[r(b)], t),
                Op::BranchLessUnsigned(a, b, t) => branch!(regs[r(a)] < regs[r(b)], t),
                Op::BranchLessSigned(a, b, t) => {
                    branch!((regs[r(a)] as i64) < (regs[r(b)] as i64), t)
                }
                Op::BranchGreaterOrEqualUnsigned(a, b, t) => branch!(regs[r(a)] >= regs[r(b)], t),
                Op::BranchGreaterOrEqualSigned(a, b, t) => {
                    branch!((regs[r(a)] as i64) >= (regs[r(b)] as i64), t)
                }
                Op::BranchEqImm(a, x, t) => branch!(regs[r(a)] == sext(x), t),
                Op::BranchNotEqImm(a, x, t) => branch!(regs[r(a)] != sext(x), t),
                Op::BranchLessUnsignedImm(a, x, t) => branch!(regs[r(a)] < sext(x), t),
                Op::BranchLessSignedImm(a, x, t) => {
                    branch!((regs[r(a)] as i64) < (sext(x) as i64), t)
                }
                Op::BranchGreaterOrEqualUnsignedImm(a, x, t) => branch!(regs[r(a)] >= sext(x), t),
                Op::BranchGreaterOrEqualSignedImm(a, x, t) => {
                    branch!((regs[r(a)] as i64) >= (sext(x) as i64), t)
                }
                Op::BranchLessOrEqualSignedImm(a, x, t) => {
                    branch!((regs[r(a)] as i64) <= (sext(x) as i64), t)
                }
                Op::BranchLessOrEqualUnsignedImm(a, x, t) => branch!(regs[r(a)] <= sext(x), t),
                Op::BranchGreaterSignedImm(a, x, t) => {
                    branch!((regs[r(a)] as i64) > (sext(x) as i64), t)
                }
                Op::BranchGreaterUnsignedImm(a, x, t) => branch!(regs[r(a)] > sext(x), t),

                Op::LoadImm(d, x) => alu!(d, sext(x)),
                Op::LoadImm64(d, x) => alu!(d, x),
                Op::MoveReg(d, s) => alu!(d, regs[r(s)]),

                Op::LoadU8(d, b, x) => load!(d, b, x, 1, |v: [u8; 1]| u64::from(v[0]), at),
                Op::LoadI8(d, b, x) => load!(d, b, x, 1, |v: [u8; 1]| v[0] as i8 as i64 as u64, at),
                Op::LoadU16(d, b, x) => load!(d, b, x, 2, |v| u64::from(u16::from_le_bytes(v)), at),
                Op::LoadI16(d, b, x) => {
                    load!(d, b, x, 2, |v| i16::from_le_bytes(v) as i64 as u64, at)
                }
                Op::LoadU32(d, b, x) => load!(d, b, x, 4, |v| u64::from(u32::from_le_bytes(v)), at),
                Op::LoadI32(d, b, x) => {
                    load!(d, b, x, 4, |v| i32::from_le_bytes(v) as i64 as u64, at)
                }
                Op::LoadU64(d, b, x) => load!(d, b, x, 8, u64::from_le_bytes, at),
                Op::StoreU8(s, b, x) => store!(regs[r(s)] as u8, b, x, u8::to_le_bytes, at),
                Op::StoreU16(s, b, x) => store!(regs[r(s)] as u16, b, x, u16::to_le_bytes, at),
                Op::StoreU32(s, b, x) => store!(regs[r(s)] as u32, b, x, u32::to_le_bytes, at),
                Op::StoreU64(s, b, x) => store!(regs[r(s)], b, x, u64::to_le_bytes, at),
                Op::StoreImmU8(b, x, y) => store!(y as u8, b, x, u8::to_le_bytes, at),
                Op::StoreImmU16(b, x, y) => store!(y as u16, b, x, u16::to_le_bytes, at),
                Op::StoreImmU32(b, x, y) => store!(y, b, x, u32::to_le_bytes, at),
                Op::StoreImmU64(b, x, y) => store!(sext(y), b, x, u64::to_le_bytes, at),

                Op::AddImm32(d, s, x) => alu!(d, sext((regs[r(s)] as u32).wrapping_add(x))),
                Op::AddImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_add(sext(x))),
                Op::AndImm(d, s, x) => alu!(d, regs[r(s)] & sext(x)),
                Op::XorImm(d, s, x) => alu!(d, regs[r(s)] ^ sext(x)),
                Op::OrImm(d, s, x) => alu!(d, regs[r(s)] | sext(x)),
                Op::MulImm32(d, s, x) => alu!(d, sext((regs[r(s)] as u32).wrapping_mul(x))),
                Op::MulImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_mul(sext(x))),
                Op::SetLessThanUnsignedImm(d, s, x) => alu!(d, u64::from(regs[r(s)] < sext(x))),
                Op::SetLessThanSignedImm(d, s, x) => {
                    alu!(d, u64::from((regs[r(s)] as i64) < (sext(x) as i64)))
                }
                Op::ShiftLogicalLeftImm32(d, s, x) => {
                    alu!(d, sext((regs[r(s)] as u32).wrapping_shl(x)))
                }
                Op::ShiftLogicalLeftImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_shl(x)),
                Op::ShiftLogicalRightImm32(d, s, x) => {
                    alu!(d, sext((regs[r(s)] as u32).wrapping_shr(x)))
                }
                Op::ShiftLogicalRightImm64(d, s, x) => alu!(d, regs[r(s)].wrapping_shr(x)),
                Op::ShiftArithmeticRightImm32(d, s, x) => {
                    alu!(d, sext((regs[r(s)] as i32).wrapping_shr(x) as u32))
                }
                Op::ShiftArithmeticRightImm64(d, s, x) => {
                    alu!(d, (regs[r(s)] as i64).wrapping_shr(x) as u64)
                }
                Op::NegateAndAddImm32(d, s, x) => alu!(d, sext(x.wrapping_sub(regs[r(s)] as u32))),
                Op::NegateAndAddImm64(d, s, x) => alu!(d, sext(x).wrapping_sub(regs[r(s)])),
                Op::SetGreaterThanUnsignedImm(d, s, x) => alu!(d, u64::from(regs[r(s)] > sext(x))),
                Op::SetGreaterThanSignedImm(d, s, x) => {
                    alu!(d, u64::from((regs[r(s)] as i64) > (sext(x) as i64)))
                }
                Op::ShiftLogicalRightImmAlt32(d, s, x) => {
                    alu!(d, sext(x.wrapping_shr(regs[r(s)] as u32)))
                }
                Op::ShiftLogicalRightImmAlt64(d, s, x) => {
                    alu!(d, sext(x).wrapping_shr(regs[r(s)] as u32))
                }
                Op::ShiftArithmeticRightImmAlt32(d, s, x) => {
                    alu!(d, sext((x as i32).wrapping_shr(regs[r(s)] as u32) as u32))
                }
                Op::ShiftArithmeticRightImmAlt64(d, s, x) => {
                    alu!(d, (sext(x) as i64).wrapping_shr(regs[r(s)] as u32) as u64)
                }
                Op::ShiftLogicalLeftImmAlt32(d, s, x) => {
                    alu!(d, sext(x.wrapping_shl(regs[r(s)] as u32)))
                }
                Op::ShiftLogicalLeftImmAlt64(d, s, x) => {
                    alu!(d, sext(x).wrapping_shl(regs[r(s)] as u32))
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
                Op::RotateRightImm32(d, s, x) => alu!(d, sext((regs[r(s)] as u32).rotate_right(x))),
                Op::RotateRightImmAlt32(d, s, x) => {
                    alu!(d, sext(x.rotate_right(regs[r(s)] as u32)))
                }
                Op::RotateRightImm64(d, s, x) => alu!(d, regs[r(s)].rotate_right(x)),
                Op::RotateRightImmAlt64(d, s, x) => {
                    alu!(d, sext(x).rotate_right(regs[r(s)] as u32))
                }

                Op::Add32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).wrapping_add(regs[r(b)] as u32)))
                }
                Op::Add64(d, a, b) => alu!(d, regs[r(a)].wrapping_add(regs[r(b)])),
                Op::Sub32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).wrapping_sub(regs[r(b)] as u32)))
                }
                Op::Sub64(d, a, b) => alu!(d, regs[r(a)].wrapping_sub(regs[r(b)])),
                Op::And(d, a, b) => alu!(d, regs[r(a)] & regs[r(b)]),
                Op::Xor(d, a, b) => alu!(d, regs[r(a)] ^ regs[r(b)]),
                Op::Or(d, a, b) => alu!(d, regs[r(a)] | regs[r(b)]),
                Op::Mul32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).wrapping_mul(regs[r(b)] as u32)))
                }
                Op::Mul64(d, a, b) => alu!(d, regs[r(a)].wrapping_mul(regs[r(b)])),
                Op::MulUpperSignedSigned(d, a, b) => {
                    alu!(
                        d,
                        ((i128::from(regs[r(a)] as i64) * i128::from(regs[r(b)] as i64)) >> 64)
                            as u64
                    )
                }
                Op::MulUpperUnsignedUnsigned(d, a, b) => {
                    alu!(
                        d,
                        ((u128::from(regs[r(a)]) * u128::from(regs[r(b)])) >> 64) as u64
                    )
                }
                Op::MulUpperSignedUnsigned(d, a, b) => {
                    alu!(
                        d,
                        ((i128::from(regs[r(a)] as i64) * i128::from(regs[r(b)])) >> 64) as u64
                    )
                }
                Op::SetLessThanUnsigned(d, a, b) => alu!(d, u64::from(regs[r(a)] < regs[r(b)])),
                Op::SetLessThanSigned(d, a, b) => {
                    alu!(d, u64::from((regs[r(a)] as i64) < (regs[r(b)] as i64)))
                }
                Op::ShiftLogicalLeft32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).wrapping_shl(regs[r(b)] as u32)))
                }
                Op::ShiftLogicalLeft64(d, a, b) => {
                    alu!(d, regs[r(a)].wrapping_shl(regs[r(b)] as u32))
                }
                Op::ShiftLogicalRight32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).wrapping_shr(regs[r(b)] as u32)))
                }
                Op::ShiftLogicalRight64(d, a, b) => {
                    alu!(d, regs[r(a)].wrapping_shr(regs[r(b)] as u32))
                }
                Op::ShiftArithmeticRight32(d, a, b) => {
                    alu!(
                        d,
                        sext((regs[r(a)] as i32).wrapping_shr(regs[r(b)] as u32) as u32)
                    )
                }
                Op::ShiftArithmeticRight64(d, a, b) => alu!(
                    d,
                    (regs[r(a)] as i64).wrapping_shr(regs[r(b)] as u32) as u64
                ),
                Op::DivUnsigned32(d, a, b) => {
                    let (x, y) = (regs[r(a)] as u32, regs[r(b)] as u32);
                    alu!(d, x.checked_div(y).map_or(u64::MAX, sext))
                }
                Op::DivUnsigned64(d, a, b) => {
                    let (x, y) = (regs[r(a)], regs[r(b)]);
                    alu!(d, x.checked_div(y).unwrap_or(u64::MAX))
                }
                Op::DivSigned32(d, a, b) => {
                    let (x, y) = (regs[r(a)] as i32, regs[r(b)] as i32);
                    alu!(
                        d,
                        if y == 0 {
                            u64::MAX
                        } else {
                            x.wrapping_div(y) as i64 as u64
                        }
                    )
                }
                Op::DivSigned64(d, a, b) => {
                    let (x, y) = (regs[r(a)] as i64, regs[r(b)] as i64);
                    alu!(
                        d,
                        if y == 0 {
                            u64::MAX
                        } else {
                            x.wrapping_div(y) as u64
                        }
                    )
                }
                Op::RemUnsigned32(d, a, b) => {
                    let (x, y) = (regs[r(a)] as u32, regs[r(b)] as u32);
                    alu!(d, sext(if y == 0 { x } else { x % y }))
                }
                Op::RemUnsigned64(d, a, b) => {
                    let (x, y) = (regs[r(a)], regs[r(b)]);
                    alu!(d, if y == 0 { x } else { x % y })
                }
                Op::RemSigned32(d, a, b) => {
                    let (x, y) = (regs[r(a)] as i32, regs[r(b)] as i32);
                    alu!(
                        d,
                        (if y == 0 { x } else { x.wrapping_rem(y) }) as i64 as u64
                    )
                }
                Op::RemSigned64(d, a, b) => {
                    let (x, y) = (regs[r(a)] as i64, regs[r(b)] as i64);
                    alu!(d, (if y == 0 { x } else { x.wrapping_rem(y) }) as u64)
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
                Op::Maximum(d, a, b) => alu!(d, (regs[r(a)] as i64).max(regs[r(b)] as i64) as u64),
                Op::MaximumUnsigned(d, a, b) => alu!(d, regs[r(a)].max(regs[r(b)])),
                Op::Minimum(d, a, b) => alu!(d, (regs[r(a)] as i64).min(regs[r(b)] as i64) as u64),
                Op::MinimumUnsigned(d, a, b) => alu!(d, regs[r(a)].min(regs[r(b)])),
                Op::RotateLeft32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).rotate_left(regs[r(b)] as u32)))
                }
                Op::RotateLeft64(d, a, b) => alu!(d, regs[r(a)].rotate_left(regs[r(b)] as u32)),
                Op::RotateRight32(d, a, b) => {
                    alu!(d, sext((regs[r(a)] as u32).rotate_right(regs[r(b)] as u32)))
                }
                Op::RotateRight64(d, a, b) => alu!(d, regs[r(a)].rotate_right(regs[r(b)] as u32)),

                Op::CountLeadingZeroBits32(d, s) => {
                    alu!(d, u64::from((regs[r(s)] as u32).leading_zeros()))
                }
                Op::CountLeadingZeroBits64(d, s) => alu!(d, u64::from(regs[r(s)].leading_zeros())),
                Op::CountTrailingZeroBits32(d, s) => {
                    alu!(d, u64::from((regs[r(s)] as u32).trailing_zeros()))
                }
                Op::CountTrailingZeroBits64(d, s) => {
                    alu!(d, u64::from(regs[r(s)].trailing_zeros()))
                }
                Op::CountSetBits32(d, s) => alu!(d, u64::from((regs[r(s)] as u32).count_ones())),
                Op::CountSetBits64(d, s) => alu!(d, u64::from(regs[r(s)].count_ones())),
                Op::SignExtend8(d, s) => alu!(d, regs[r(s)] as i8 as i64 as u64),
                Op::SignExtend16(d, s) => alu!(d, regs[r(s)] as i16 as i64 as u64),
                Op::ZeroExtend16(d, s) => alu!(d, u64::from(regs[r(s)] as u16)),
                Op::ReverseByte(d, s) => alu!(d, regs[r(s)].swap_bytes()),
            }
        };
        self.regs = regs;
        self.gas = gas;
        self.exit_op = at as u32;
        self.next_op = next as u32;
        self.entry_pending = entry_pending;
        exit
    }
}
