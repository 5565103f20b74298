//! DEFLATE compression and decompression (`miniz_oxide` crate, zlib format).

use crate::data;
use alloc::vec;

/// Compresses `len` bytes of `data::text(11, ..)` (clamped to 4 MiB) at level 6: returns
/// FNV-1a of the compressed bytes xor their count shifted left by 40.
pub fn deflate(len: u32) -> u64 {
    let mut input = vec![0u8; len.min(4 << 20) as usize];
    data::text(11, &mut input);
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&input, 6);
    data::fnv1a(data::FNV_OFFSET, &compressed) ^ (compressed.len() as u64) << 40
}

/// As [`deflate`] (with `data::text(12, ..)`), then inflates the result again and compares
/// it with the input: returns what [`deflate`] would, or 0 if the round trip failed.
pub fn roundtrip(len: u32) -> u64 {
    let mut input = vec![0u8; len.min(4 << 20) as usize];
    data::text(12, &mut input);
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&input, 6);
    match miniz_oxide::inflate::decompress_to_vec_zlib(&compressed) {
        Ok(output) if output == input => {
            data::fnv1a(data::FNV_OFFSET, &compressed) ^ (compressed.len() as u64) << 40
        }
        _ => 0,
    }
}
