//! Deterministic input data and result checksums for the real-code corpus.
//!
//! This file is plain `core` Rust: the corpus guests use it through `corpus-support`, and the
//! host-side check (`contracts-examples/corpus-native`) compiles the very same file, so both
//! sides generate identical inputs and fold results into identical checksums.

/// xorshift64* generator: a fixed, portable stream of pseudo-random numbers.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed` (any value; zero is remapped, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value below `bound` (`bound > 0`; slightly biased, which does not matter here).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// Fills `out` with pseudo-random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Feeds `len` pseudo-random bytes (seeded from `seed`) to `sink` in chunks of at most
/// 256 bytes, without holding them all in memory.
pub fn stream(seed: u64, len: u32, mut sink: impl FnMut(&[u8])) {
    let mut rng = Rng::new(seed);
    let mut buffer = [0u8; 256];
    let mut left = len as usize;
    while left > 0 {
        let n = left.min(buffer.len());
        rng.fill(&mut buffer[..n]);
        sink(&buffer[..n]);
        left -= n;
    }
}

/// 64-bit FNV-1a of `bytes`, continuing from `hash` (start with [`FNV_OFFSET`]).
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// FNV-1a's initial value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The first 8 bytes of a digest as a little-endian `u64`: what the hash exports return.
pub fn digest_prefix(digest: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// Words that compressible and textual inputs are built from.
pub const WORDS: [&str; 32] = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "polkavm",
    "contract",
    "storage",
    "balance",
    "transfer",
    "event",
    "block",
    "hash",
    "signature",
    "account",
    "value",
    "gas",
    "weight",
    "runtime",
    "pallet",
    "call",
    "deploy",
    "memory",
    "register",
    "program",
    "export",
    "import",
    "linker",
    "blob",
];

/// Fills `out` with text: words of [`WORDS`] separated by spaces and sometimes newlines
/// (compressible, like real payloads), then cut to `out.len()` bytes.
pub fn text(seed: u64, out: &mut [u8]) {
    let mut rng = Rng::new(seed);
    let mut at = 0;
    while at < out.len() {
        let r = rng.next_u64();
        let word = WORDS[(r % WORDS.len() as u64) as usize].as_bytes();
        let separator = if (r >> 32).is_multiple_of(11) {
            b'\n'
        } else {
            b' '
        };
        for &b in word.iter().chain(core::iter::once(&separator)) {
            if at == out.len() {
                break;
            }
            out[at] = b;
            at += 1;
        }
    }
}
