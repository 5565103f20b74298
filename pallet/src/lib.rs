//! FRAME pallet that stores PolkaVM contract blobs and runs them with pvm-core.
//!
//! Filled in by a later issue; see ../shared/ARCHITECTURE.md for what lives here.
