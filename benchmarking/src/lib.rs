//! Weight generation, per-instruction cost derivation and comparisons against peers.
//!
//! Filled in by a later issue; see ../shared/ARCHITECTURE.md for what lives here.
