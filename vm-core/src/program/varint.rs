//! The variable-length integer of PolkaVM blobs, which for 32-bit values is also the
//! Graypaper's natural-number codec: the count of leading one bits of the first byte is
//! the number of extra bytes; the rest of the first byte holds the high bits; the extra
//! bytes follow little-endian.

use crate::cast::usize_from_u32;

/// The longest encoding of a `u32`.
pub const MAX_VARINT_LENGTH: usize = 5;

/// `SHORTEST_FROM[n]` is the smallest value whose shortest encoding has `n` extra bytes
/// (`2^(7n)`): below it, fewer extra bytes would do.
const SHORTEST_FROM: [u64; 9] = [
    0,
    1 << 7,
    1 << 14,
    1 << 21,
    1 << 28,
    1 << 35,
    1 << 42,
    1 << 49,
    1 << 56,
];

/// Reads one varint from the front of `input`: the value and the bytes it took. `None`
/// when the input ends early, the value exceeds `u32`, or the encoding is not the
/// shortest one.
pub fn read_varint(input: &[u8]) -> Option<(u32, usize)> {
    let (&first, rest) = input.split_first()?;
    // 0..=8 extra bytes, little-endian, below the bits the first byte keeps: those below
    // its `extra + 1` prefix bits (none when all eight are prefix).
    let extra = usize_from_u32(first.leading_ones());
    let high = first & 0x7f_u8.checked_shr(first.leading_ones()).unwrap_or(0);
    let mut value = u64::from(high);
    for &byte in rest.get(..extra)?.iter().rev() {
        value = (value << 8) | u64::from(byte);
    }
    if value < *SHORTEST_FROM.get(extra)? {
        return None;
    }
    Some((u32::try_from(value).ok()?, extra.checked_add(1)?))
}

/// Appends the shortest encoding of `value`.
pub fn write_varint(value: u32, out: &mut alloc::vec::Vec<u8>) {
    let value = u64::from(value);
    // 0..=4 extra bytes: every u32 fits in four plus the first byte's three free bits.
    let extra = SHORTEST_FROM[1..=4]
        .iter()
        .take_while(|&&from| value >= from)
        .count();
    let bytes = value.to_le_bytes();
    let prefix: u8 = !(0xffu8 >> extra);
    // The value's bits above the extra bytes fit below the prefix (byte 4 of a u32 is 0).
    out.push(prefix | bytes[extra]);
    out.extend_from_slice(&bytes[..extra]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn round_trips_at_every_length_boundary() {
        for shift in 0..32 {
            for value in [
                (1u32 << shift) - 1,
                1u32 << shift,
                (1u32 << shift) + 1,
                u32::MAX,
            ] {
                let mut buffer = Vec::new();
                write_varint(value, &mut buffer);
                assert!(buffer.len() <= MAX_VARINT_LENGTH);
                assert_eq!(
                    read_varint(&buffer),
                    Some((value, buffer.len())),
                    "value {value}"
                );
            }
        }
    }

    #[test]
    fn accepts_exactly_the_shortest_encodings() {
        // Every first byte with a few tails: whatever decodes is what the writer writes.
        for first in 0..=u8::MAX {
            for tail in [0x00, 0x01, 0x5a, 0x80, 0xff] {
                let mut input = [tail; 9];
                input[0] = first;
                if let Some((value, length)) = read_varint(&input) {
                    let mut buffer = Vec::new();
                    write_varint(value, &mut buffer);
                    assert_eq!(buffer, input[..length], "{input:02x?}");
                }
            }
        }
    }

    #[test]
    fn rejects_truncated_and_overlong_encodings() {
        assert_eq!(read_varint(&[]), None);
        assert_eq!(read_varint(&[0x80]), None);
        // 5 encoded in two bytes is not the shortest form.
        assert_eq!(read_varint(&[0x80, 5]), None);
        // A value above u32::MAX.
        assert_eq!(read_varint(&[0xff, 0, 0, 0, 0, 1, 0, 0, 0]), None);
    }
}
