//! The variable-length integer of PolkaVM blobs, which for 32-bit values is also the
//! Graypaper's natural-number codec: the count of leading one bits of the first byte is
//! the number of extra bytes; the rest of the first byte holds the high bits; the extra
//! bytes follow little-endian.

/// The longest encoding of a `u32`.
pub const MAX_VARINT_LENGTH: usize = 5;

/// Reads one varint from the front of `input`: the value and the bytes it took. `None`
/// when the input ends early, the value exceeds `u32`, or the encoding is not the
/// shortest one.
pub fn read_varint(input: &[u8]) -> Option<(u32, usize)> {
    let first = *input.first()?;
    let extra = first.leading_ones() as usize;
    let rest = input.get(1..1 + extra)?;
    let mut value: u64 = 0;
    for (n, byte) in rest.iter().enumerate() {
        value |= u64::from(*byte) << (8 * n);
    }
    if extra < 8 {
        let high = u64::from(first) & (0xff >> (extra + 1));
        value |= high << (8 * extra);
    }
    let canonical = extra == 0 || value >= 1u64 << (7 * extra);
    if !canonical || value > u64::from(u32::MAX) {
        return None;
    }
    Some((value as u32, 1 + extra))
}

/// Appends the shortest encoding of `value`.
pub fn write_varint(value: u32, out: &mut alloc::vec::Vec<u8>) {
    let value = u64::from(value);
    let mut extra = 0;
    while extra < 4 && value >= 1u64 << (7 * (extra + 1)) {
        extra += 1;
    }
    let prefix: u8 = !(0xffu8 >> extra);
    let high = if extra == 4 {
        0
    } else {
        (value >> (8 * extra)) as u8
    };
    out.push(prefix | high);
    for n in 0..extra {
        out.push((value >> (8 * n)) as u8);
    }
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
    fn rejects_truncated_and_overlong_encodings() {
        assert_eq!(read_varint(&[]), None);
        assert_eq!(read_varint(&[0x80]), None);
        // 5 encoded in two bytes is not the shortest form.
        assert_eq!(read_varint(&[0x80, 5]), None);
        // A value above u32::MAX.
        assert_eq!(read_varint(&[0xff, 0, 0, 0, 0, 1, 0, 0, 0]), None);
    }
}
