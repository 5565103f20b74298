//! Substrate runtime-interface host functions that reach the native pvm-core engine.
//!
//! Filled in by a later issue; see ../shared/ARCHITECTURE.md for what lives here.
