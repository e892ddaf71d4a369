//! Handle costs beside `std::rc::Rc`, in the same run: clone+drop of a
//! handle, new+drop of a small acyclic value (untracked and tracked), and
//! building then dropping a complete binary tree of 2^20 - 1 nodes (with
//! the allocator as it is, and giving every empty arena back at once).
//!
//! `cargo bench -p recycle --bench handles`

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use criterion::{Criterion, criterion_group, criterion_main};
use recycle::{Gc, Trace};

#[derive(Trace)]
struct GcNode {
    value: u64,
    next: RefCell<Option<Gc<GcNode>>>,
}

struct RcNode {
    value: u64,
    next: RefCell<Option<Rc<RcNode>>>,
}

/// A node whose link never changes: untracked at birth.
#[derive(Trace)]
struct GcLeaf {
    value: u64,
    next: Option<Gc<GcLeaf>>,
}

struct RcLeaf {
    value: u64,
    next: Option<Rc<RcLeaf>>,
}

fn clone_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("clone_drop");
    let rc = Rc::new(RcNode {
        value: 1,
        next: RefCell::new(None),
    });
    group.bench_function("Rc", |b| {
        b.iter(|| drop(black_box(Rc::clone(black_box(&rc)))))
    });
    let gc = Gc::new(GcNode {
        value: 1,
        next: RefCell::new(None),
    });
    group.bench_function("Gc", |b| {
        b.iter(|| drop(black_box(Gc::clone(black_box(&gc)))))
    });
    group.finish();
    black_box((
        rc.value,
        gc.value,
        rc.next.borrow().is_none(),
        gc.next.borrow().is_none(),
    ));
}

fn new_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_drop_u64");
    group.bench_function("Rc", |b| {
        b.iter(|| drop(black_box(Rc::new(black_box(7u64)))))
    });
    group.bench_function("Gc", |b| {
        b.iter(|| drop(black_box(Gc::new(black_box(7u64)))))
    });
    // What `tracemalloc` costs while on (off, it is one branch in the line above).
    group.bench_function("Gc_tracemalloc_on", |b| {
        recycle::tracemalloc::start();
        b.iter(|| drop(black_box(Gc::new(black_box(7u64)))));
        recycle::tracemalloc::stop();
    });
    group.finish();

    let mut group = c.benchmark_group("new_drop_node");
    group.bench_function("Rc", |b| {
        b.iter(|| {
            drop(black_box(Rc::new(RcNode {
                value: black_box(7),
                next: RefCell::new(None),
            })))
        })
    });
    group.bench_function("Gc", |b| {
        b.iter(|| {
            drop(black_box(Gc::new(GcNode {
                value: black_box(7),
                next: RefCell::new(None),
            })))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("new_drop_leaf");
    group.bench_function("Rc", |b| {
        b.iter(|| {
            drop(black_box(Rc::new(RcLeaf {
                value: black_box(7),
                next: None,
            })))
        })
    });
    group.bench_function("Gc", |b| {
        b.iter(|| {
            drop(black_box(Gc::new(GcLeaf {
                value: black_box(7),
                next: None,
            })))
        })
    });
    group.finish();
    // The leaves are built and dropped, never read; reading one here keeps
    // their fields alive for the compiler.
    let (rc, gc) = (
        Rc::new(RcLeaf {
            value: 1,
            next: None,
        }),
        Gc::new(GcLeaf {
            value: 1,
            next: None,
        }),
    );
    black_box((rc.value, gc.value, rc.next.is_none(), gc.next.is_none()));
}

#[derive(Trace)]
struct GcTree {
    left: Option<Gc<GcTree>>,
    right: Option<Gc<GcTree>>,
}

struct RcTree {
    left: Option<Rc<RcTree>>,
    right: Option<Rc<RcTree>>,
}

const TREE_DEPTH: u32 = 20;

fn gc_tree(depth: u32) -> Gc<GcTree> {
    if depth == 1 {
        return Gc::new(GcTree {
            left: None,
            right: None,
        });
    }
    Gc::new(GcTree {
        left: Some(gc_tree(depth - 1)),
        right: Some(gc_tree(depth - 1)),
    })
}

fn rc_tree(depth: u32) -> Rc<RcTree> {
    if depth == 1 {
        return Rc::new(RcTree {
            left: None,
            right: None,
        });
    }
    Rc::new(RcTree {
        left: Some(rc_tree(depth - 1)),
        right: Some(rc_tree(depth - 1)),
    })
}

fn tree(c: &mut Criterion) {
    let mut group = c.benchmark_group("tree_1M_build_drop");
    group.sample_size(20);
    group.bench_function("Rc", |b| {
        b.iter(|| {
            let t = rc_tree(TREE_DEPTH);
            black_box(t.left.is_some() && t.right.is_some());
        })
    });
    group.bench_function("Gc", |b| {
        b.iter(|| {
            let t = gc_tree(TREE_DEPTH);
            black_box(t.left.is_some() && t.right.is_some());
        })
    });
    // The same with each round's empty arenas given back to the system at
    // once (rather than kept, as the thread learns to after the first
    // rounds), and faulted in again by the next round.
    recycle::alloc::set_retain_limit(0);
    group.bench_function("Gc_retain_limit_0", |b| {
        b.iter(|| {
            let t = gc_tree(TREE_DEPTH);
            black_box(t.left.is_some() && t.right.is_some());
        })
    });
    group.finish();
}

criterion_group!(benches, clone_drop, new_drop, tree);
criterion_main!(benches);
