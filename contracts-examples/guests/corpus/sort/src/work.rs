//! Sorting with the standard library: `core`'s `sort_unstable` (ipnsort) and `alloc`'s
//! stable `sort_by_key` (driftsort), on generated data.

use crate::data;
use alloc::vec::Vec;

/// `sort_unstable` of `n` (clamped to 1 << 20) pseudo-random `u64`s: returns a checksum of
/// the sorted values, or `u64::MAX` if they are not in order.
pub fn sort_unstable(n: u32) -> u64 {
    let mut rng = data::Rng::new(14);
    let mut values: Vec<u64> = (0..n.min(1 << 20)).map(|_| rng.next_u64()).collect();
    values.sort_unstable();
    if values.windows(2).any(|w| w[0] > w[1]) {
        return u64::MAX;
    }
    values.iter().fold(data::FNV_OFFSET, |hash, v| {
        data::fnv1a(hash, &v.to_le_bytes())
    })
}

/// Stable `sort_by_key` of `n` (clamped to 1 << 20) records `(key, index)` with keys below
/// 1000 (many equal keys): returns a checksum of the sorted records, or `u64::MAX` if they
/// are out of order or equal keys lost their original order.
pub fn sort_stable(n: u32) -> u64 {
    let mut rng = data::Rng::new(15);
    let mut records: Vec<(u32, u32)> = (0..n.min(1 << 20))
        .map(|i| (rng.below(1000) as u32, i))
        .collect();
    records.sort_by_key(|record| record.0);
    if records.windows(2).any(|w| w[0] > w[1]) {
        return u64::MAX;
    }
    records.iter().fold(data::FNV_OFFSET, |hash, (key, index)| {
        data::fnv1a(
            hash,
            &(u64::from(*key) << 32 | u64::from(*index)).to_le_bytes(),
        )
    })
}
