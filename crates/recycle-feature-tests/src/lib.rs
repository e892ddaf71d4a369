//! Nothing but tests: `tests/` checks recycle's optional features. Being a
//! workspace member that enables them, this crate makes
//! `cargo test --workspace` build recycle with them on.
