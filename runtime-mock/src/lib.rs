//! A construct_runtime! test runtime with pallet-pvm, and helpers.
//!
//! Filled in by a later issue; see ../shared/ARCHITECTURE.md for what lives here.
