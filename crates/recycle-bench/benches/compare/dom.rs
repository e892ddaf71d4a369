//! A DOM built top-down, as a user writes one: `children` in a `RefCell`,
//! a link to the parent (strong in recycle; `Weak` in `Rc`, which cannot
//! collect the cycles strong links would make), 1,111,110 nodes under the
//! root, fan-out 10. Built depth-first or breadth-first, the heap only
//! grows: automatic collection can find nothing, and costs what it
//! examines. recycle is measured with automatic collection on and with
//! `gc::disable()`, in alternate rounds of one process.

// The drop tokens are there for their drops; ids for their size.
#![allow(dead_code)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

use recycle_bench::Report;

use crate::imps::Token;

const FAN_OUT: usize = 10;
const DEPTH: u32 = 6;
/// Rounds of each setting; the median is reported.
const ROUNDS: usize = 5;

/// The order the tree is built in.
#[derive(Clone, Copy)]
pub(crate) enum Order {
    DepthFirst,
    BreadthFirst,
}

/// How one implementation makes a node and links a child to its parent.
trait Dom {
    type Handle: Clone;
    fn root() -> Self::Handle;
    /// A new child of `parent`, already in its children.
    fn child(parent: &Self::Handle, id: u64) -> Self::Handle;
    /// After the build: frees the tree (a full collection for recycle).
    fn free(root: Self::Handle);
}

fn depth_first<D: Dom>(parent: &D::Handle, depth: u32, next: &mut u64) {
    if depth == 0 {
        return;
    }
    for _ in 0..FAN_OUT {
        *next += 1;
        let child = D::child(parent, *next);
        depth_first::<D>(&child, depth - 1, next);
    }
}

fn breadth_first<D: Dom>(root: &D::Handle, next: &mut u64) {
    let mut level = vec![root.clone()];
    for _ in 0..DEPTH {
        let mut below = Vec::with_capacity(level.len() * FAN_OUT);
        for parent in &level {
            for _ in 0..FAN_OUT {
                *next += 1;
                below.push(D::child(parent, *next));
            }
        }
        level = below;
    }
}

/// One build: ns per node.
fn build<D: Dom>(order: Order) -> f64 {
    let start = Instant::now();
    let root = D::root();
    let mut made = 0;
    match order {
        Order::DepthFirst => depth_first::<D>(&root, DEPTH, &mut made),
        Order::BreadthFirst => breadth_first::<D>(&root, &mut made),
    }
    let ns = start.elapsed().as_nanos() as f64 / made as f64;
    D::free(black_box(root));
    ns
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// ------------------------------------------------------------------ Rc

struct RcNode {
    id: u64,
    parent: Option<std::rc::Weak<RcNode>>,
    children: RefCell<Vec<std::rc::Rc<RcNode>>>,
    token: Token,
}

struct RcDom;

impl Dom for RcDom {
    type Handle = std::rc::Rc<RcNode>;
    fn root() -> Self::Handle {
        std::rc::Rc::new(RcNode {
            id: 0,
            parent: None,
            children: RefCell::new(Vec::new()),
            token: Token,
        })
    }
    fn child(parent: &Self::Handle, id: u64) -> Self::Handle {
        let child = std::rc::Rc::new(RcNode {
            id,
            parent: Some(std::rc::Rc::downgrade(parent)),
            children: RefCell::new(Vec::new()),
            token: Token,
        });
        parent.children.borrow_mut().push(child.clone());
        child
    }
    fn free(root: Self::Handle) {
        black_box((root.id, root.parent.is_some()));
        drop(root);
    }
}

// ------------------------------------------------------------- recycle

#[derive(recycle::Trace)]
struct GcNode {
    id: u64,
    parent: Option<recycle::Gc<GcNode>>,
    children: RefCell<Vec<recycle::Gc<GcNode>>>,
    #[trace(skip)]
    token: Token,
}

struct RecycleDom;

impl Dom for RecycleDom {
    type Handle = recycle::Gc<GcNode>;
    fn root() -> Self::Handle {
        recycle::Gc::new(GcNode {
            id: 0,
            parent: None,
            children: RefCell::new(Vec::new()),
            token: Token,
        })
    }
    fn child(parent: &Self::Handle, id: u64) -> Self::Handle {
        let child = recycle::Gc::new(GcNode {
            id,
            parent: Some(parent.clone()),
            children: RefCell::new(Vec::new()),
            token: Token,
        });
        parent.children.borrow_mut().push(child.clone());
        child
    }
    fn free(root: Self::Handle) {
        black_box(root.id);
        drop(root);
        recycle::gc::collect();
    }
}

/// `Rc` (with `Weak` parents): the build, median of the rounds.
pub(crate) fn rc(report: &mut Report, order: Order) {
    report.phase("build");
    let rounds = (0..ROUNDS).map(|_| build::<RcDom>(order)).collect();
    report.figure("build_ns_per_node", median(rounds));
}

/// recycle: rounds with automatic collection on and off, alternately.
pub(crate) fn recycle(report: &mut Report, order: Order) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    report.phase("build");
    for _ in 0..ROUNDS {
        recycle::gc::enable();
        on.push(build::<RecycleDom>(order));
        recycle::gc::disable();
        off.push(build::<RecycleDom>(order));
    }
    recycle::gc::enable();
    let (on, off) = (median(on), median(off));
    report.figure("build_ns_per_node", on);
    report.figure("build_disabled_ns_per_node", off);
    report.figure("automatic_overhead_pct", (on / off - 1.0) * 100.0);
}
