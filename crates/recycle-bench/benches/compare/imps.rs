//! The implementations under comparison, behind one trait.
//!
//! Each provides three node types, with a drop counter in each so that a
//! leak shows: a graph node (`u64` + a mutable vector of edges), a list
//! node (`u64` + one immutable `Option` of a handle: the memory-per-node
//! workload's shape) and a binary tree node. The trait impls are written by
//! hand for every crate: gcmodule's derive recurses forever on
//! self-referential types, and bacon-rajan-cc has none.

// Node fields are there for their size, their edges and their `Drop`; many
// are never read.
#![allow(dead_code)]

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Values dropped so far in this process.
static DROPS: AtomicU64 = AtomicU64::new(0);

/// Drops counted so far.
pub(crate) fn drops() -> u64 {
    DROPS.load(Ordering::Relaxed)
}

/// A zero-sized field that counts its owner's drop.
#[derive(Default)]
pub(crate) struct Token;

impl Drop for Token {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

/// One implementation of reference counting (plus, for all but `Rc`, cycle
/// collection).
pub(crate) trait Imp {
    /// A handle to a graph node.
    type Node;
    /// A handle to a list node.
    type List;
    /// A handle to a tree node.
    type Tree;
    /// Cyclic garbage is freed by `collect` (all but `Rc`).
    const COLLECTS_CYCLES: bool = true;
    /// Collects only when `collect` is called: the churn workload calls it
    /// every 100,000 steps.
    const MANUAL_ONLY: bool = false;

    fn node(id: u64) -> Self::Node;
    fn clone_node(node: &Self::Node) -> Self::Node;
    fn id(node: &Self::Node) -> u64;
    /// Adds an edge `from -> to`.
    fn push_edge(from: &Self::Node, to: &Self::Node);
    /// Replaces edge `k` of `from` (which has more than `k` edges).
    fn set_edge(from: &Self::Node, k: usize, to: &Self::Node);
    fn edge_count(node: &Self::Node) -> usize;
    /// Removes every edge of `node` (how `Rc` frees a cycle).
    fn clear_edges(node: &Self::Node);
    fn list(value: u64, next: Option<Self::List>) -> Self::List;
    fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>) -> Self::Tree;
    /// A full collection (a no-op for `Rc`).
    fn collect();
    /// From now on, gives memory freed in bulk back to the system at once,
    /// if the implementation can be told to (only recycle, which otherwise
    /// learns to keep it: `recycle::alloc::set_retain_limit(0)`).
    fn give_freed_memory_back() {}
    /// The top-down DOM workloads (`dom`), for the implementations that
    /// have them (`Rc` and recycle); the others report nothing.
    fn dom(report: &mut recycle_bench::Report, order: crate::dom::Order) {
        let _ = (report, order);
    }
}

/// Implementations by name, in table order. `CPython` is not an `Imp`: the
/// harness runs `python/workloads.py` with the machine's `python3` for it
/// (and leaves it out when there is none).
pub(crate) const NAMES: [&str; 9] = [
    "Rc",
    "recycle",
    "CPython",
    "rust-cc",
    "dumpster",
    "dumpster-sync",
    "gcmodule",
    "bacon-rajan-cc",
    "gc",
];

/// Calls `$body` with `$I` bound to the implementation named `$name`;
/// `None` for an unknown name.
macro_rules! with_imp {
    ($name:expr, $I:ident => $body:expr) => {
        match $name {
            "Rc" => {
                type $I = $crate::imps::RcImp;
                Some($body)
            }
            "recycle" => {
                type $I = $crate::imps::RecycleImp;
                Some($body)
            }
            "rust-cc" => {
                type $I = $crate::imps::RustCcImp;
                Some($body)
            }
            "dumpster" => {
                type $I = $crate::imps::DumpsterImp;
                Some($body)
            }
            "dumpster-sync" => {
                type $I = $crate::imps::DumpsterSyncImp;
                Some($body)
            }
            "gcmodule" => {
                type $I = $crate::imps::GcmoduleImp;
                Some($body)
            }
            "bacon-rajan-cc" => {
                type $I = $crate::imps::BaconRajanImp;
                Some($body)
            }
            "gc" => {
                type $I = $crate::imps::GcImp;
                Some($body)
            }
            _ => None,
        }
    };
}
pub(crate) use with_imp;

/// The three node types over handle type `$ptr`, with edges in `$cell`.
macro_rules! node_structs {
    ($ptr:ident, $cell:ident) => {
        pub(crate) struct Node {
            pub(crate) id: u64,
            pub(crate) edges: $cell<Vec<$ptr<Node>>>,
            pub(crate) token: Token,
        }
        pub(crate) struct List {
            pub(crate) value: u64,
            pub(crate) next: Option<$ptr<List>>,
            pub(crate) token: Token,
        }
        pub(crate) struct Tree {
            pub(crate) left: Option<$ptr<Tree>>,
            pub(crate) right: Option<$ptr<Tree>>,
            pub(crate) token: Token,
        }
    };
}

/// The body of an `Imp` whose graph node keeps its edges in a `RefCell`.
macro_rules! refcell_node_imp {
    ($nodes:ident, $new:path) => {
        fn node(id: u64) -> Self::Node {
            $new($nodes::Node {
                id,
                edges: RefCell::new(Vec::new()),
                token: Token,
            })
        }
        fn clone_node(node: &Self::Node) -> Self::Node {
            node.clone()
        }
        fn id(node: &Self::Node) -> u64 {
            node.id
        }
        fn push_edge(from: &Self::Node, to: &Self::Node) {
            from.edges.borrow_mut().push(to.clone());
        }
        fn set_edge(from: &Self::Node, k: usize, to: &Self::Node) {
            from.edges.borrow_mut()[k] = to.clone();
        }
        fn edge_count(node: &Self::Node) -> usize {
            node.edges.borrow().len()
        }
        fn clear_edges(node: &Self::Node) {
            node.edges.borrow_mut().clear();
        }
        fn list(value: u64, next: Option<Self::List>) -> Self::List {
            $new($nodes::List {
                value,
                next,
                token: Token,
            })
        }
        fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>) -> Self::Tree {
            $new($nodes::Tree {
                left,
                right,
                token: Token,
            })
        }
    };
}

// ---------------------------------------------------------------- std::rc

pub(crate) mod rc_nodes {
    use super::*;
    use std::rc::Rc;

    node_structs!(Rc, RefCell);
}

/// `std::rc::Rc`: leaks cycles; the cyclic workloads clear edges by hand.
pub(crate) struct RcImp;

impl Imp for RcImp {
    type Node = std::rc::Rc<rc_nodes::Node>;
    type List = std::rc::Rc<rc_nodes::List>;
    type Tree = std::rc::Rc<rc_nodes::Tree>;
    const COLLECTS_CYCLES: bool = false;
    refcell_node_imp!(rc_nodes, std::rc::Rc::new);
    fn collect() {}
    fn dom(report: &mut recycle_bench::Report, order: crate::dom::Order) {
        crate::dom::rc(report, order)
    }
}

// ---------------------------------------------------------------- recycle

pub(crate) mod recycle_nodes {
    use super::*;
    use recycle::{Gc, Trace};

    #[derive(Trace)]
    pub(crate) struct Node {
        pub(crate) id: u64,
        pub(crate) edges: RefCell<Vec<Gc<Node>>>,
        #[trace(skip)]
        pub(crate) token: Token,
    }
    #[derive(Trace)]
    pub(crate) struct List {
        pub(crate) value: u64,
        pub(crate) next: Option<Gc<List>>,
        #[trace(skip)]
        pub(crate) token: Token,
    }
    #[derive(Trace)]
    pub(crate) struct Tree {
        pub(crate) left: Option<Gc<Tree>>,
        pub(crate) right: Option<Gc<Tree>>,
        #[trace(skip)]
        pub(crate) token: Token,
    }
}

/// recycle, with its defaults (automatic generational collection on).
pub(crate) struct RecycleImp;

impl Imp for RecycleImp {
    type Node = recycle::Gc<recycle_nodes::Node>;
    type List = recycle::Gc<recycle_nodes::List>;
    type Tree = recycle::Gc<recycle_nodes::Tree>;
    refcell_node_imp!(recycle_nodes, recycle::Gc::new);
    fn collect() {
        recycle::gc::collect();
    }
    fn give_freed_memory_back() {
        recycle::alloc::set_retain_limit(0);
    }
    fn dom(report: &mut recycle_bench::Report, order: crate::dom::Order) {
        crate::dom::recycle(report, order)
    }
}

// ---------------------------------------------------------------- rust-cc

pub(crate) mod rust_cc_nodes {
    use super::*;
    use rust_cc::{Cc, Context, Finalize, Trace};

    node_structs!(Cc, RefCell);
    // SAFETY: each impl visits exactly the `Cc`s its value owns.
    unsafe impl Trace for Node {
        fn trace(&self, ctx: &mut Context<'_>) {
            self.edges.trace(ctx);
        }
    }
    impl Finalize for Node {}
    // SAFETY: as above.
    unsafe impl Trace for List {
        fn trace(&self, ctx: &mut Context<'_>) {
            self.next.trace(ctx);
        }
    }
    impl Finalize for List {}
    // SAFETY: as above.
    unsafe impl Trace for Tree {
        fn trace(&self, ctx: &mut Context<'_>) {
            self.left.trace(ctx);
            self.right.trace(ctx);
        }
    }
    impl Finalize for Tree {}
}

/// rust-cc, with its defaults (automatic collection on).
pub(crate) struct RustCcImp;

impl Imp for RustCcImp {
    type Node = rust_cc::Cc<rust_cc_nodes::Node>;
    type List = rust_cc::Cc<rust_cc_nodes::List>;
    type Tree = rust_cc::Cc<rust_cc_nodes::Tree>;
    refcell_node_imp!(rust_cc_nodes, rust_cc::Cc::new);
    fn collect() {
        rust_cc::collect_cycles();
    }
}

// ---------------------------------------------------------------- dumpster

/// The `TraceWith` impls of dumpster, for both flavours.
macro_rules! dumpster_traces {
    () => {
        // SAFETY: each impl visits exactly the `Gc`s its value owns.
        unsafe impl<V: Visitor> TraceWith<V> for Node {
            fn accept(&self, visitor: &mut V) -> Result<(), ()> {
                self.edges.accept(visitor)
            }
        }
        // SAFETY: as above.
        unsafe impl<V: Visitor> TraceWith<V> for List {
            fn accept(&self, visitor: &mut V) -> Result<(), ()> {
                self.next.accept(visitor)
            }
        }
        // SAFETY: as above.
        unsafe impl<V: Visitor> TraceWith<V> for Tree {
            fn accept(&self, visitor: &mut V) -> Result<(), ()> {
                self.left.accept(visitor)?;
                self.right.accept(visitor)
            }
        }
    };
}

pub(crate) mod dumpster_nodes {
    use super::*;
    use dumpster::unsync::Gc;
    use dumpster::{TraceWith, Visitor};

    node_structs!(Gc, RefCell);
    dumpster_traces!();
}

/// dumpster's thread-local `unsync::Gc`, with its defaults.
pub(crate) struct DumpsterImp;

impl Imp for DumpsterImp {
    type Node = dumpster::unsync::Gc<dumpster_nodes::Node>;
    type List = dumpster::unsync::Gc<dumpster_nodes::List>;
    type Tree = dumpster::unsync::Gc<dumpster_nodes::Tree>;
    refcell_node_imp!(dumpster_nodes, dumpster::unsync::Gc::new);
    fn collect() {
        dumpster::unsync::collect();
    }
}

pub(crate) mod dumpster_sync_nodes {
    use super::*;
    use dumpster::sync::Gc;
    use dumpster::{TraceWith, Visitor};
    use std::sync::Mutex;

    node_structs!(Gc, Mutex);
    dumpster_traces!();
}

/// dumpster's thread-safe `sync::Gc` (edges in a `Mutex`), with its defaults.
pub(crate) struct DumpsterSyncImp;

impl Imp for DumpsterSyncImp {
    type Node = dumpster::sync::Gc<dumpster_sync_nodes::Node>;
    type List = dumpster::sync::Gc<dumpster_sync_nodes::List>;
    type Tree = dumpster::sync::Gc<dumpster_sync_nodes::Tree>;
    fn node(id: u64) -> Self::Node {
        dumpster::sync::Gc::new(dumpster_sync_nodes::Node {
            id,
            edges: std::sync::Mutex::new(Vec::new()),
            token: Token,
        })
    }
    fn clone_node(node: &Self::Node) -> Self::Node {
        node.clone()
    }
    fn id(node: &Self::Node) -> u64 {
        node.id
    }
    fn push_edge(from: &Self::Node, to: &Self::Node) {
        from.edges.lock().unwrap().push(to.clone());
    }
    fn set_edge(from: &Self::Node, k: usize, to: &Self::Node) {
        from.edges.lock().unwrap()[k] = to.clone();
    }
    fn edge_count(node: &Self::Node) -> usize {
        node.edges.lock().unwrap().len()
    }
    fn clear_edges(node: &Self::Node) {
        node.edges.lock().unwrap().clear();
    }
    fn list(value: u64, next: Option<Self::List>) -> Self::List {
        dumpster::sync::Gc::new(dumpster_sync_nodes::List {
            value,
            next,
            token: Token,
        })
    }
    fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>) -> Self::Tree {
        dumpster::sync::Gc::new(dumpster_sync_nodes::Tree {
            left,
            right,
            token: Token,
        })
    }
    fn collect() {
        dumpster::sync::collect();
    }
}

// ---------------------------------------------------------------- gcmodule

pub(crate) mod gcmodule_nodes {
    use super::*;
    use gcmodule::{Cc, Trace, Tracer};

    node_structs!(Cc, RefCell);
    // `is_type_tracked` is spelled out: the default for a self-referential
    // type recurses forever.
    impl Trace for Node {
        fn trace(&self, tracer: &mut Tracer) {
            self.edges.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }
    impl Trace for List {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }
    impl Trace for Tree {
        fn trace(&self, tracer: &mut Tracer) {
            self.left.trace(tracer);
            self.right.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }
}

/// gcmodule: collects only when asked.
pub(crate) struct GcmoduleImp;

impl Imp for GcmoduleImp {
    type Node = gcmodule::Cc<gcmodule_nodes::Node>;
    type List = gcmodule::Cc<gcmodule_nodes::List>;
    type Tree = gcmodule::Cc<gcmodule_nodes::Tree>;
    const MANUAL_ONLY: bool = true;
    refcell_node_imp!(gcmodule_nodes, gcmodule::Cc::new);
    fn collect() {
        gcmodule::collect_thread_cycles();
    }
}

// ---------------------------------------------------------------- bacon-rajan-cc

pub(crate) mod bacon_rajan_nodes {
    use super::*;
    use bacon_rajan_cc::{Cc, Trace, Tracer};

    node_structs!(Cc, RefCell);
    impl Trace for Node {
        fn trace(&self, tracer: &mut Tracer) {
            self.edges.trace(tracer);
        }
    }
    impl Trace for List {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
        }
    }
    impl Trace for Tree {
        fn trace(&self, tracer: &mut Tracer) {
            self.left.trace(tracer);
            self.right.trace(tracer);
        }
    }
}

/// bacon-rajan-cc: collects only when asked.
pub(crate) struct BaconRajanImp;

impl Imp for BaconRajanImp {
    type Node = bacon_rajan_cc::Cc<bacon_rajan_nodes::Node>;
    type List = bacon_rajan_cc::Cc<bacon_rajan_nodes::List>;
    type Tree = bacon_rajan_cc::Cc<bacon_rajan_nodes::Tree>;
    const MANUAL_ONLY: bool = true;
    refcell_node_imp!(bacon_rajan_nodes, bacon_rajan_cc::Cc::new);
    fn collect() {
        bacon_rajan_cc::collect_cycles();
    }
}

// ---------------------------------------------------------------- gc

// gc_derive 0.5 expands to impls inside a `const _`.
#[allow(non_local_definitions)]
pub(crate) mod gc_nodes {
    use super::*;
    use gc::{Finalize, Gc, GcCell, Trace};

    #[derive(Trace, Finalize)]
    pub(crate) struct Node {
        pub(crate) id: u64,
        pub(crate) edges: GcCell<Vec<Gc<Node>>>,
        #[unsafe_ignore_trace]
        pub(crate) token: Token,
    }
    #[derive(Trace, Finalize)]
    pub(crate) struct List {
        pub(crate) value: u64,
        pub(crate) next: Option<Gc<List>>,
        #[unsafe_ignore_trace]
        pub(crate) token: Token,
    }
    #[derive(Trace, Finalize)]
    pub(crate) struct Tree {
        pub(crate) left: Option<Gc<Tree>>,
        pub(crate) right: Option<Gc<Tree>>,
        #[unsafe_ignore_trace]
        pub(crate) token: Token,
    }
}

/// gc (rust-gc): a tracing collector with root counts (edges in a `GcCell`).
pub(crate) struct GcImp;

impl Imp for GcImp {
    type Node = gc::Gc<gc_nodes::Node>;
    type List = gc::Gc<gc_nodes::List>;
    type Tree = gc::Gc<gc_nodes::Tree>;
    fn node(id: u64) -> Self::Node {
        gc::Gc::new(gc_nodes::Node {
            id,
            edges: gc::GcCell::new(Vec::new()),
            token: Token,
        })
    }
    fn clone_node(node: &Self::Node) -> Self::Node {
        node.clone()
    }
    fn id(node: &Self::Node) -> u64 {
        node.id
    }
    fn push_edge(from: &Self::Node, to: &Self::Node) {
        from.edges.borrow_mut().push(to.clone());
    }
    fn set_edge(from: &Self::Node, k: usize, to: &Self::Node) {
        from.edges.borrow_mut()[k] = to.clone();
    }
    fn edge_count(node: &Self::Node) -> usize {
        node.edges.borrow().len()
    }
    fn clear_edges(node: &Self::Node) {
        node.edges.borrow_mut().clear();
    }
    fn list(value: u64, next: Option<Self::List>) -> Self::List {
        gc::Gc::new(gc_nodes::List {
            value,
            next,
            token: Token,
        })
    }
    fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>) -> Self::Tree {
        gc::Gc::new(gc_nodes::Tree {
            left,
            right,
            token: Token,
        })
    }
    fn collect() {
        gc::force_collect();
    }
}
