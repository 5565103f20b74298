//! JSON (`serde_json` crate with `serde` derive, `alloc` only): parsing into typed records
//! and printing them back.

use crate::data;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use serde::{Deserialize, Serialize};

/// One record of the generated document.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub struct Account {
    id: u64,
    name: String,
    balance: u64,
    nonce: u32,
    active: bool,
    tags: Vec<String>,
}

/// A JSON array of `n` records (clamped to 100 000), written out by hand in the compact form
/// `serde_json::to_string` prints: names and tags from `data::WORDS`, every seventh tag with
/// an escaped quote.
pub fn document(n: u32) -> String {
    let mut rng = data::Rng::new(13);
    let mut out = String::from("[");
    for i in 0..n.min(100_000) {
        if i > 0 {
            out.push(',');
        }
        let word = |r: u64| data::WORDS[(r % data::WORDS.len() as u64) as usize];
        let _ = write!(
            out,
            "{{\"id\":{},\"name\":\"{}-{}\",\"balance\":{},\"nonce\":{},\"active\":{},\"tags\":[",
            u64::from(i) * 1_000_003,
            word(rng.next_u64()),
            word(rng.next_u64()),
            rng.next_u64() >> (rng.below(64) as u32),
            rng.below(1 << 20),
            rng.below(2) == 1,
        );
        for t in 0..rng.below(4) {
            if t > 0 {
                out.push(',');
            }
            let r = rng.next_u64();
            if r.is_multiple_of(7) {
                let _ = write!(out, "\"say \\\"{}\\\"\"", word(r >> 8));
            } else {
                let _ = write!(out, "\"{}\"", word(r >> 8));
            }
        }
        out.push_str("]}");
    }
    out.push(']');
    out
}

fn checksum(accounts: &[Account]) -> u64 {
    let mut hash = data::FNV_OFFSET;
    for a in accounts {
        hash = data::fnv1a(hash, &a.id.to_le_bytes());
        hash = data::fnv1a(hash, a.name.as_bytes());
        hash = data::fnv1a(hash, &a.balance.to_le_bytes());
        hash = data::fnv1a(hash, &a.nonce.to_le_bytes());
        hash = data::fnv1a(hash, &[u8::from(a.active)]);
        for tag in &a.tags {
            hash = data::fnv1a(hash, tag.as_bytes());
        }
    }
    hash
}

/// Parses [`document`]`(n)` into `Vec<Account>`: returns FNV-1a over every field, or 0 if
/// the text does not parse.
pub fn parse(n: u32) -> u64 {
    let text = document(n);
    match serde_json::from_str::<Vec<Account>>(&text) {
        Ok(accounts) => checksum(&accounts),
        Err(_) => 0,
    }
}

/// Parses [`document`]`(n)`, prints it again with `serde_json::to_string` and compares the
/// text with the input: returns FNV-1a of the printed text, or 0 on any difference.
pub fn roundtrip(n: u32) -> u64 {
    let text = document(n);
    let Ok(accounts) = serde_json::from_str::<Vec<Account>>(&text) else {
        return 0;
    };
    match serde_json::to_string(&accounts) {
        Ok(printed) if printed == text => data::fnv1a(data::FNV_OFFSET, printed.as_bytes()),
        _ => 0,
    }
}
