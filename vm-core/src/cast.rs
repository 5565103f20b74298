//! Audited integer conversions: outside the JIT and the sandboxes (x86-64 host code), the
//! only place in `pvm-core` where `as` is written.
//!
//! The interpreter, the memory model and the program parser run inside the runtime, where
//! `usize` is 32 bits (wasm32), as well as on 64-bit hosts. A bare `as` there hides which of
//! three different things it does: a lossless widening (fine on every target), a deliberate
//! truncation (guest semantics: "the low 32 bits of a register"), or an accidental one that
//! only happens on one pointer width, which is a consensus bug. `clippy::as_conversions` is
//! denied in the crate, so every conversion either uses `From`/`TryFrom` or one of the
//! functions here, whose names say which of the three it is and whose bodies were checked
//! once.

// The one module allowed to write `as`: each use below is lossless, or a truncation or
// reinterpretation its name announces.
#![allow(clippy::as_conversions, clippy::cast_possible_truncation)]

// `usize` is at least 32 and at most 64 bits on every target pvm-core builds for: these
// make the widenings below lossless, and fail the build anywhere they would not be.
const _: () = assert!(usize::BITS >= 32 && usize::BITS <= 64);

/// A `u32` as a `usize`: lossless (every supported target has `usize` of 32 bits or more).
#[inline(always)]
pub(crate) const fn usize_from_u32(value: u32) -> usize {
    value as usize
}

/// A `u8` as a `usize`, where `usize::from` cannot be called: in a `const fn` (the
/// instruction tables are built at compile time).
#[inline(always)]
pub(crate) const fn usize_from_u8(value: u8) -> usize {
    value as usize
}

/// A `u16` as a `usize`, in a `const fn` (see [`usize_from_u8`]).
#[inline(always)]
pub(crate) const fn usize_from_u16(value: u16) -> usize {
    value as usize
}

/// A `usize` as a `u64`: lossless (no supported target has `usize` wider than 64 bits).
#[inline(always)]
pub(crate) const fn u64_from_usize(value: usize) -> u64 {
    value as u64
}

/// The low 32 bits of a 64-bit value (guest semantics of 32-bit operations and addresses).
#[inline(always)]
pub(crate) const fn low_u32(value: u64) -> u32 {
    value as u32
}

/// The low 16 bits of a 64-bit value (a 16-bit store).
#[inline(always)]
pub(crate) const fn low_u16(value: u64) -> u16 {
    value as u16
}

/// The low 8 bits of a 64-bit value (a byte store).
#[inline(always)]
pub(crate) const fn low_u8(value: u64) -> u8 {
    value as u8
}

/// The low 32 bits of a `usize`: callers name it when the value is known to be below
/// `2^32` (an index into something whose length fits a `u32`) or want the wrap.
#[inline(always)]
pub(crate) const fn low_u32_of_usize(value: usize) -> u32 {
    value as u32
}

/// The upper 64 bits of a 128-bit product of two signed 64-bit values (or a signed and an
/// unsigned one), as the bits of a register.
#[inline(always)]
pub(crate) const fn high_u64(value: i128) -> u64 {
    (value >> 64) as u64
}

/// The upper 64 bits of a 128-bit unsigned product.
#[inline(always)]
pub(crate) const fn high_u64_unsigned(value: u128) -> u64 {
    (value >> 64) as u64
}

/// A 32-bit value sign-extended to 64 bits (how the ISA widens 32-bit results and
/// immediates).
#[inline(always)]
pub(crate) const fn sign_extend_32(value: u32) -> u64 {
    value as i32 as i64 as u64
}

/// A 16-bit value sign-extended to 64 bits.
#[inline(always)]
pub(crate) const fn sign_extend_16(value: u16) -> u64 {
    value as i16 as i64 as u64
}

/// An 8-bit value sign-extended to 64 bits.
#[inline(always)]
pub(crate) const fn sign_extend_8(value: u8) -> u64 {
    value as i8 as i64 as u64
}

/// Gives a fieldless `#[repr(u8)]` enum a `const fn` that returns its discriminant as an
/// integer type (to index a table with, or to encode it). Reading a discriminant is the
/// one conversion only `as` can write; the enum being one byte (asserted at compile time)
/// makes it lossless into any integer type. Doc comment, visibility, name and type are the
/// caller's: `discriminant!(/// The index. pub fn index(self) -> usize for Reg);`
macro_rules! discriminant {
    ($(#[$meta:meta])* $vis:vis fn $name:ident(self) -> $int:ident for $ty:ident) => {
        const _: () = assert!(core::mem::size_of::<$ty>() == 1);
        impl $ty {
            $(#[$meta])*
            #[inline(always)]
            #[allow(clippy::as_conversions)]
            $vis const fn $name(self) -> $int {
                self as $int
            }
        }
    };
}
pub(crate) use discriminant;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_do_what_their_names_say() {
        assert_eq!(usize_from_u32(u32::MAX), 0xffff_ffff);
        assert_eq!(usize_from_u8(u8::MAX), 0xff);
        assert_eq!(usize_from_u16(u16::MAX), 0xffff);
        assert_eq!(u64_from_usize(usize::MAX), usize::MAX as u64);
        assert_eq!(low_u32(0x1234_5678_9abc_def0), 0x9abc_def0);
        assert_eq!(low_u16(0x1234_5678_9abc_def0), 0xdef0);
        assert_eq!(low_u8(0x1234_5678_9abc_def0), 0xf0);
        assert_eq!(low_u32_of_usize(7), 7);
        assert_eq!(sign_extend_32(0x8000_0000), 0xffff_ffff_8000_0000);
        assert_eq!(sign_extend_32(0x7fff_ffff), 0x7fff_ffff);
        assert_eq!(sign_extend_16(0x8000), 0xffff_ffff_ffff_8000);
        assert_eq!(sign_extend_8(0x80), 0xffff_ffff_ffff_ff80);
        assert_eq!(sign_extend_8(0x7f), 0x7f);
        assert_eq!(high_u64(-1), u64::MAX);
        assert_eq!(
            high_u64(i128::from(i64::MIN) * i128::from(i64::MIN)),
            1 << 62
        );
        assert_eq!(high_u64_unsigned(u128::from(u64::MAX) * 2), 1);
    }

    #[test]
    fn discriminant_is_the_discriminant() {
        #[derive(Copy, Clone)]
        #[repr(u8)]
        enum Sample {
            First,
            Last = 255,
        }
        discriminant!(fn index(self) -> usize for Sample);
        discriminant!(fn byte(self) -> u8 for Sample);
        assert_eq!(Sample::First.index(), 0);
        assert_eq!(Sample::Last.index(), 255);
        assert_eq!(Sample::Last.byte(), 255);
    }
}
