//! Arbitrary-precision integers (`num-bigint` crate, `BigUint` on 64-bit digits).

use crate::data;
use alloc::vec;
use num_bigint::BigUint;

/// A pseudo-random number of exactly `bits` bits (top bit set; `bits >= 1`).
fn number(rng: &mut data::Rng, bits: u32) -> BigUint {
    let mut bytes = vec![0u8; bits.div_ceil(8) as usize];
    rng.fill(&mut bytes);
    let mut value = BigUint::from_bytes_le(&bytes);
    let extra = bytes.len() as u64 * 8 - u64::from(bits);
    value >>= extra;
    value.set_bit(u64::from(bits) - 1, true);
    value
}

/// The product of two `bits`-bit numbers (clamped to 1..=65536 bits), printed in decimal:
/// returns FNV-1a of the digits xor the digit count shifted left by 48.
pub fn mul_decimal(bits: u32) -> u64 {
    let bits = bits.clamp(1, 65_536);
    let mut rng = data::Rng::new(9);
    let a = number(&mut rng, bits);
    let b = number(&mut rng, bits);
    let text = (a * b).to_str_radix(10);
    data::fnv1a(data::FNV_OFFSET, text.as_bytes()) ^ (text.len() as u64) << 48
}

/// `base ^ exponent mod modulus` for three `bits`-bit numbers (clamped to 2..=8192 bits; the
/// modulus made odd, as in RSA): returns FNV-1a of the result's little-endian bytes.
pub fn modpow(bits: u32) -> u64 {
    let bits = bits.clamp(2, 8192);
    let mut rng = data::Rng::new(10);
    let base = number(&mut rng, bits);
    let exponent = number(&mut rng, bits);
    let mut modulus = number(&mut rng, bits);
    modulus.set_bit(0, true);
    let result = base.modpow(&exponent, &modulus);
    data::fnv1a(data::FNV_OFFSET, &result.to_bytes_le())
}
