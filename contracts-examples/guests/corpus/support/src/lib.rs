//! Shared pieces of the real-code corpus guests: the panic handler, deterministic input data
//! ([`data`]) and, with the `alloc` feature, a global allocator on the `sbrk` instruction
//! ([`heap`]).
//!
//! Everything the corpus measures is third-party code (the crates each guest depends on);
//! this crate only generates inputs and folds outputs into a checksum.

#![no_std]

pub mod data;

#[cfg(feature = "alloc")]
pub mod heap;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: `unimp` traps; the VM stops the guest with a trap.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}
