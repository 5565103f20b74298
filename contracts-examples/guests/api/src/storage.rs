//! The contract's own key-value storage.
//!
//! Keys are at most [`MAX_KEY_LEN`](crate::MAX_KEY_LEN) bytes and values at most
//! [`MAX_VALUE_LEN`](crate::MAX_VALUE_LEN); longer ones trap the contract. Every function
//! returns `None` when the key has no value (the ABI's `KEY_NOT_FOUND`). Writes made by a
//! frame that later reverts or traps are rolled back.

use crate::sys::{self, KEY_NOT_FOUND};

#[inline]
fn found(result: u32) -> Option<usize> {
    (result != KEY_NOT_FOUND).then_some(result as usize)
}

/// Reads the value at `key` into `out`: `Some(len)` with the value's full length, of which
/// the first `min(len, out.len())` bytes were copied; `None` when absent.
#[inline]
pub fn get(key: &[u8], out: &mut [u8]) -> Option<usize> {
    // SAFETY: `key` is readable and `out` writable for their lengths.
    found(unsafe {
        sys::get_storage(
            key.as_ptr(),
            key.len() as u32,
            out.as_mut_ptr(),
            out.len() as u32,
        )
    })
}

/// Reads the value at `key` as exactly `N` bytes: `None` when absent. A value of another
/// length is truncated or zero-padded to `N` bytes; use [`get`] when the length matters.
#[inline]
pub fn get_array<const N: usize>(key: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    get(key, &mut out).map(|_| out)
}

/// Stores `value` at `key`: `Some(len)` with the previous value's length, `None` if there was
/// none.
#[inline]
pub fn set(key: &[u8], value: &[u8]) -> Option<usize> {
    // SAFETY: `key` and `value` are readable for their lengths.
    found(unsafe {
        sys::set_storage(
            key.as_ptr(),
            key.len() as u32,
            value.as_ptr(),
            value.len() as u32,
        )
    })
}

/// Removes the value at `key`: `Some(len)` with its length, `None` if there was none.
#[inline]
pub fn clear(key: &[u8]) -> Option<usize> {
    // SAFETY: `key` is readable for its length.
    found(unsafe { sys::clear_storage(key.as_ptr(), key.len() as u32) })
}

/// Whether `key` has a value: `Some(len)` with its length, `None` if not.
#[inline]
pub fn contains(key: &[u8]) -> Option<usize> {
    // SAFETY: `key` is readable for its length.
    found(unsafe { sys::contains_storage(key.as_ptr(), key.len() as u32) })
}
