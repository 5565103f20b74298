//! Ed25519 signatures (`ed25519-dalek` crate, on `curve25519-dalek`'s 64-bit field
//! arithmetic, without precomputed tables): verification, signing and public-key parsing.

use crate::data;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The secret key seed of every signature here.
pub const SEED: [u8; 32] = [0x5a; 32];

/// `SigningKey::from_bytes(&SEED).verifying_key()`, compressed.
pub const PUBLIC_KEY: [u8; 32] = [
    13, 117, 80, 117, 78, 8, 0, 165, 210, 55, 238, 245, 130, 96, 53, 118, 107, 155, 62, 90, 21,
    134, 138, 148, 10, 178, 137, 149, 135, 136, 227, 176,
];

/// The signature of [`message`] under [`SEED`].
pub const SIGNATURE: [u8; 64] = [
    176, 32, 50, 187, 109, 218, 74, 235, 220, 189, 26, 25, 199, 113, 126, 207, 219, 98, 51, 63, 57,
    236, 127, 95, 49, 137, 103, 190, 60, 177, 234, 99, 236, 179, 60, 46, 191, 38, 34, 242, 133,
    189, 168, 16, 93, 181, 59, 35, 221, 196, 127, 107, 78, 173, 6, 74, 249, 133, 177, 187, 143, 21,
    199, 14,
];

/// The signed message: byte `i` is `7 i + 3`.
pub fn message() -> [u8; 64] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(7).wrapping_add(3))
}

/// `n` verifications against [`PUBLIC_KEY`] (parsed each time, as a contract receives it):
/// even `i` verify [`SIGNATURE`] over [`message`], odd `i` the same signature over the
/// message with bit 0 of byte `i % 64` flipped, which must be rejected. Returns
/// `accepted << 32 | rejected`, i.e. `(n + 1) / 2 << 32 | n / 2` when all is well.
pub fn verify(n: u32) -> u64 {
    let signature = Signature::from_bytes(&SIGNATURE);
    let (mut accepted, mut rejected) = (0u64, 0u64);
    for i in 0..n {
        let Ok(key) = VerifyingKey::from_bytes(&PUBLIC_KEY) else {
            return u64::MAX;
        };
        let mut message = message();
        if i % 2 == 1 {
            message[(i % 64) as usize] ^= 1;
        }
        match (i % 2, key.verify(&message, &signature).is_ok()) {
            (0, true) => accepted += 1,
            (1, false) => rejected += 1,
            _ => return u64::MAX,
        }
    }
    accepted << 32 | rejected
}

/// `n` signatures under [`SEED`], of the 64-byte messages `data::stream(100 + i, 64)`;
/// returns the FNV-1a of all signature bytes.
pub fn sign(n: u32) -> u64 {
    let key = SigningKey::from_bytes(&SEED);
    let mut hash = data::FNV_OFFSET;
    for i in 0..n {
        let mut message = [0u8; 64];
        data::Rng::new(100 + u64::from(i)).fill(&mut message);
        hash = data::fnv1a(hash, &key.sign(&message).to_bytes());
    }
    hash
}

/// `n` parses (point decompressions) of [`PUBLIC_KEY`]; returns how many succeeded (`n`).
pub fn parse_key(n: u32) -> u64 {
    let mut ok = 0;
    for _ in 0..n {
        if VerifyingKey::from_bytes(core::hint::black_box(&PUBLIC_KEY)).is_ok() {
            ok += 1;
        }
    }
    ok
}
