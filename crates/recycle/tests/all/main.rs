//! Integration tests of the public API, in one binary (one link step).

// Many test values hold a `Token` only for its `Drop`.
#![allow(dead_code)]

mod adversary;
mod alloc;
mod api;
mod collect;
mod common;
mod counters_audit;
mod cpython_finalization;
mod cpython_gc;
mod debug;
mod deep;
mod derive;
mod finalize;
mod generations;
mod incremental;
mod introspect;
mod misuse;
mod model;
mod pacing;
mod pinned;
mod rc_parity;
mod safe_points;
mod slices;
mod snapshot;
mod soundness;
mod soundness_audit;
mod soundness_second_audit;
mod std_impls;
mod traced_fn;
mod tracemalloc;
mod untracked;
mod weak;
mod weak_collections;
mod weakref;
