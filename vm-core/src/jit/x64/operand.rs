//! Operand types: the sixteen registers, operand sizes, condition codes, index scales and
//! memory operands.

use super::encoder::{P66, REX_W};

/// One of the sixteen 64-bit general-purpose registers.
///
/// The operand [`Size`] of an instruction selects which part of the register it names:
/// `Rax` is `rax`, `eax`, `ax` or `al`; `Rsi` with [`Size::B8`] is `sil` (the encoder emits
/// the REX prefix that `spl`, `bpl`, `sil` and `dil` need, so `ah`..`bh` are never named).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Reg {
    /// `rax` (encoding 0).
    Rax = 0,
    /// `rcx` (encoding 1).
    Rcx = 1,
    /// `rdx` (encoding 2).
    Rdx = 2,
    /// `rbx` (encoding 3).
    Rbx = 3,
    /// `rsp` (encoding 4): as a memory base it needs a SIB byte; it cannot be an index.
    Rsp = 4,
    /// `rbp` (encoding 5): as a memory base it always carries a displacement.
    Rbp = 5,
    /// `rsi` (encoding 6).
    Rsi = 6,
    /// `rdi` (encoding 7).
    Rdi = 7,
    /// `r8` (encoding 8).
    R8 = 8,
    /// `r9` (encoding 9).
    R9 = 9,
    /// `r10` (encoding 10).
    R10 = 10,
    /// `r11` (encoding 11).
    R11 = 11,
    /// `r12` (encoding 12): as a memory base it needs a SIB byte, like `rsp`.
    R12 = 12,
    /// `r13` (encoding 13): as a memory base it always carries a displacement, like `rbp`.
    R13 = 13,
    /// `r14` (encoding 14).
    R14 = 14,
    /// `r15` (encoding 15).
    R15 = 15,
}

impl Reg {
    /// All sixteen registers in encoding order.
    pub const ALL: [Reg; 16] = [
        Reg::Rax,
        Reg::Rcx,
        Reg::Rdx,
        Reg::Rbx,
        Reg::Rsp,
        Reg::Rbp,
        Reg::Rsi,
        Reg::Rdi,
        Reg::R8,
        Reg::R9,
        Reg::R10,
        Reg::R11,
        Reg::R12,
        Reg::R13,
        Reg::R14,
        Reg::R15,
    ];

    /// The 4-bit hardware encoding (0 for `rax` .. 15 for `r15`).
    #[inline]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The low three bits of the encoding, the part that goes into ModRM, SIB or the opcode.
    #[inline]
    pub(super) const fn low3(self) -> u8 {
        self as u8 & 7
    }

    /// The fourth encoding bit, the part that goes into REX.R, REX.X or REX.B.
    #[inline]
    pub(super) const fn high(self) -> u8 {
        self as u8 >> 3
    }

    /// Whether the byte form of this register (`spl`, `bpl`, `sil`, `dil`) needs a REX
    /// prefix; without one the same encoding names `ah`, `ch`, `dh` or `bh`.
    #[inline]
    pub(super) const fn byte_needs_rex(self) -> bool {
        matches!(self, Reg::Rsp | Reg::Rbp | Reg::Rsi | Reg::Rdi)
    }
}

/// An operand size.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Size {
    /// 8 bits (`al`, `byte ptr`).
    B8,
    /// 16 bits (`ax`, `word ptr`): adds the `0x66` operand-size prefix.
    B16,
    /// 32 bits (`eax`, `dword ptr`). Writing a 32-bit register zeroes bits 32..63.
    B32,
    /// 64 bits (`rax`, `qword ptr`): adds REX.W where the instruction needs it.
    B64,
}

impl Size {
    /// All four sizes, smallest first.
    pub const ALL: [Size; 4] = [Size::B8, Size::B16, Size::B32, Size::B64];

    /// The size in bytes.
    #[inline]
    pub const fn bytes(self) -> u32 {
        match self {
            Size::B8 => 1,
            Size::B16 => 2,
            Size::B32 => 4,
            Size::B64 => 8,
        }
    }

    /// The size in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.bytes() * 8
    }

    /// The prefix flags for a full-size (non-byte) operand of this size.
    #[inline]
    pub(super) const fn flags(self) -> u8 {
        match self {
            Size::B8 => 0,
            Size::B16 => P66,
            Size::B32 => 0,
            Size::B64 => REX_W,
        }
    }
}

/// A condition code, in hardware encoding order (`jcc`, `setcc` and `cmovcc` add it to
/// their base opcode).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Cond {
    /// Overflow (`OF = 1`).
    O = 0,
    /// No overflow (`OF = 0`).
    No = 1,
    /// Below, unsigned `<` (`CF = 1`; also "carry").
    B = 2,
    /// Above or equal, unsigned `>=` (`CF = 0`; also "no carry").
    Ae = 3,
    /// Equal (`ZF = 1`; also "zero").
    E = 4,
    /// Not equal (`ZF = 0`; also "not zero").
    Ne = 5,
    /// Below or equal, unsigned `<=` (`CF = 1 or ZF = 1`).
    Be = 6,
    /// Above, unsigned `>` (`CF = 0 and ZF = 0`).
    A = 7,
    /// Sign (`SF = 1`).
    S = 8,
    /// No sign (`SF = 0`).
    Ns = 9,
    /// Parity even (`PF = 1`).
    P = 10,
    /// Parity odd (`PF = 0`).
    Np = 11,
    /// Less, signed `<` (`SF != OF`).
    L = 12,
    /// Greater or equal, signed `>=` (`SF = OF`).
    Ge = 13,
    /// Less or equal, signed `<=` (`ZF = 1 or SF != OF`).
    Le = 14,
    /// Greater, signed `>` (`ZF = 0 and SF = OF`).
    G = 15,
}

impl Cond {
    /// All sixteen conditions in encoding order.
    pub const ALL: [Cond; 16] = [
        Cond::O,
        Cond::No,
        Cond::B,
        Cond::Ae,
        Cond::E,
        Cond::Ne,
        Cond::Be,
        Cond::A,
        Cond::S,
        Cond::Ns,
        Cond::P,
        Cond::Np,
        Cond::L,
        Cond::Ge,
        Cond::Le,
        Cond::G,
    ];

    /// The 4-bit hardware encoding.
    #[inline]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The opposite condition (`E` <-> `Ne`, `L` <-> `Ge`, ...).
    #[inline]
    pub const fn invert(self) -> Cond {
        Cond::ALL[(self as u8 ^ 1) as usize]
    }
}

/// The scale applied to a memory operand's index register.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Scale {
    /// `index * 1`.
    S1 = 0,
    /// `index * 2`.
    S2 = 1,
    /// `index * 4`.
    S4 = 2,
    /// `index * 8`.
    S8 = 3,
}

impl Scale {
    /// All four scales.
    pub const ALL: [Scale; 4] = [Scale::S1, Scale::S2, Scale::S4, Scale::S8];

    /// The factor: 1, 2, 4 or 8.
    #[inline]
    pub const fn factor(self) -> u8 {
        1 << self as u8
    }
}

/// A memory operand: `[base + index * scale + disp]`.
///
/// The encoder picks the shortest form: no displacement when it is zero (except for base
/// `rbp`/`r13`, which then take a zero disp8), a disp8 when it fits in `i8`, otherwise a
/// disp32; a SIB byte when there is an index or the base is `rsp`/`r12`.
///
/// [`Mem::gs32`] and [`Mem::gs32_abs`] are the guest-memory forms: a `gs` segment override
/// and the `0x67` address-size prefix, so the address is computed in 32 bits (wrapping at
/// 2^32) and added to the `gs` base. [`Mem::gs`] and [`Mem::gs_indexed`] reach the VM
/// context below guest address 0: `gs`-relative with 64-bit address arithmetic, so a
/// negative displacement stays negative.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Mem {
    base: Reg,
    index: Option<(Reg, Scale)>,
    disp: i32,
    form: MemForm,
}

/// How a [`Mem`] forms its address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum MemForm {
    /// 64-bit `[base + index * scale + disp]`.
    Flat,
    /// `gs:[base32 + disp]` with 32-bit address arithmetic.
    Gs32,
    /// `gs:[disp32]`: a 32-bit absolute address (SIB with neither base nor index).
    Gs32Abs,
    /// `gs:[index * scale + disp32]` with 64-bit address arithmetic (the displacement is
    /// sign-extended): SIB with no base, and no index unless one is given.
    Gs,
}

impl Mem {
    /// `[base]`.
    #[inline]
    pub const fn base(base: Reg) -> Mem {
        Mem {
            base,
            index: None,
            disp: 0,
            form: MemForm::Flat,
        }
    }

    /// `[base + disp]`.
    #[inline]
    pub const fn base_disp(base: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
            form: MemForm::Flat,
        }
    }

    /// `[base + index * scale + disp]`.
    ///
    /// # Panics
    ///
    /// If `index` is `rsp`: x86-64 has no encoding for it (that SIB slot means "no index").
    #[inline]
    pub const fn indexed(base: Reg, index: Reg, scale: Scale, disp: i32) -> Mem {
        assert!(
            !matches!(index, Reg::Rsp),
            "rsp cannot be a memory index register"
        );
        Mem {
            base,
            index: Some((index, scale)),
            disp,
            form: MemForm::Flat,
        }
    }

    /// `gs:[base32 + disp]`: the address is `(base as u32).wrapping_add(disp as u32)`,
    /// relative to the `gs` segment base (prefixes `0x65 0x67`).
    #[inline]
    pub const fn gs32(base: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
            form: MemForm::Gs32,
        }
    }

    /// `gs:[address]` for a 32-bit absolute `address`, relative to the `gs` segment base.
    #[inline]
    pub const fn gs32_abs(address: u32) -> Mem {
        Mem {
            // Encoded as SIB base 101 with mod 00: no base register (REX.B stays 0).
            base: Reg::Rbp,
            index: None,
            disp: address as i32,
            form: MemForm::Gs32Abs,
        }
    }

    /// `gs:[disp]` with 64-bit address arithmetic: `disp` (sign-extended) from the `gs`
    /// base, so a negative one reaches below it.
    #[inline]
    pub const fn gs(disp: i32) -> Mem {
        Mem {
            // Encoded as SIB base 101 with mod 00: no base register (REX.B stays 0).
            base: Reg::Rbp,
            index: None,
            disp,
            form: MemForm::Gs,
        }
    }

    /// `gs:[index * scale + disp]` with 64-bit address arithmetic.
    ///
    /// # Panics
    ///
    /// If `index` is `rsp` (see [`Mem::indexed`]).
    #[inline]
    pub const fn gs_indexed(index: Reg, scale: Scale, disp: i32) -> Mem {
        assert!(
            !matches!(index, Reg::Rsp),
            "rsp cannot be a memory index register"
        );
        Mem {
            base: Reg::Rbp,
            index: Some((index, scale)),
            disp,
            form: MemForm::Gs,
        }
    }

    /// The same operand with `delta` added to its displacement (wrapping).
    #[inline]
    pub const fn offset_by(self, delta: i32) -> Mem {
        Mem {
            disp: self.disp.wrapping_add(delta),
            ..self
        }
    }

    /// The base register.
    #[inline]
    pub const fn base_reg(&self) -> Reg {
        self.base
    }

    /// The index register and its scale, if any.
    #[inline]
    pub const fn index(&self) -> Option<(Reg, Scale)> {
        self.index
    }

    /// The displacement.
    #[inline]
    pub const fn disp(&self) -> i32 {
        self.disp
    }

    /// Whether this is a `gs`-relative 32-bit address ([`Mem::gs32`], [`Mem::gs32_abs`]).
    #[inline]
    pub const fn is_gs32(&self) -> bool {
        matches!(self.form, MemForm::Gs32 | MemForm::Gs32Abs)
    }

    /// Whether the address is relative to the `gs` base (any `gs` form).
    #[inline]
    pub const fn is_gs(&self) -> bool {
        !matches!(self.form, MemForm::Flat)
    }

    /// The addressing form.
    #[inline]
    pub(super) const fn form(&self) -> MemForm {
        self.form
    }
}
