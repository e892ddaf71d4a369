//! Building a DOM top-down, as a user writes one: 1,111,110 nodes under a
//! root, fan-out 10, `children` in a `RefCell`, a strong parent link
//! (`Rc`: a `Weak` one). The heap only grows, so automatic collection can
//! find nothing: `Gc_automatic` against `Gc_disabled` is what it costs, and
//! `Rc_weak_parents` is the floor. Only the build is timed; freeing the
//! tree (a full collection for `Gc`) is not.
//!
//! `cargo bench -p recycle --bench dom`

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use recycle::{Gc, Trace, gc};

const FAN_OUT: usize = 10;
const DEPTH: u32 = 6;
const NODES: u64 = 1_111_110;

#[derive(Trace)]
struct GcNode {
    id: u64,
    parent: Option<Gc<GcNode>>,
    children: RefCell<Vec<Gc<GcNode>>>,
}

struct RcNode {
    id: u64,
    parent: Option<Weak<RcNode>>,
    children: RefCell<Vec<Rc<RcNode>>>,
}

fn gc_child(parent: &Gc<GcNode>, id: u64) -> Gc<GcNode> {
    let child = Gc::new(GcNode {
        id,
        parent: Some(parent.clone()),
        children: RefCell::new(Vec::new()),
    });
    parent.children.borrow_mut().push(child.clone());
    child
}

fn rc_child(parent: &Rc<RcNode>, id: u64) -> Rc<RcNode> {
    let child = Rc::new(RcNode {
        id,
        parent: Some(Rc::downgrade(parent)),
        children: RefCell::new(Vec::new()),
    });
    parent.children.borrow_mut().push(child.clone());
    child
}

/// Builds under `root` depth-first or breadth-first with `child`.
macro_rules! build {
    ($root:expr, $child:ident, $depth_first:expr) => {{
        let root = $root;
        let mut next = 0;
        if $depth_first {
            fn walk<H>(parent: &H, depth: u32, next: &mut u64, child: fn(&H, u64) -> H) {
                if depth == 0 {
                    return;
                }
                for _ in 0..FAN_OUT {
                    *next += 1;
                    let c = child(parent, *next);
                    walk(&c, depth - 1, next, child);
                }
            }
            walk(&root, DEPTH, &mut next, $child);
        } else {
            let mut level = vec![root.clone()];
            for _ in 0..DEPTH {
                let mut below = Vec::with_capacity(level.len() * FAN_OUT);
                for parent in &level {
                    for _ in 0..FAN_OUT {
                        next += 1;
                        below.push($child(parent, next));
                    }
                }
                level = below;
            }
        }
        assert_eq!(next, NODES);
        root
    }};
}

fn dom(c: &mut Criterion) {
    for (name, depth_first) in [("depth_first", true), ("breadth_first", false)] {
        let mut group = c.benchmark_group(format!("dom_1.1M_{name}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(15));
        group.throughput(Throughput::Elements(NODES));
        group.bench_function("Rc_weak_parents", |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let root = build!(
                        Rc::new(RcNode {
                            id: 0,
                            parent: None,
                            children: RefCell::new(Vec::new()),
                        }),
                        rc_child,
                        depth_first
                    );
                    timed += start.elapsed();
                    black_box((root.id, root.parent.is_some()));
                }
                timed
            })
        });
        for (setting, automatic) in [("Gc_automatic", true), ("Gc_disabled", false)] {
            group.bench_function(setting, |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        if automatic {
                            gc::enable();
                        } else {
                            gc::disable();
                        }
                        let start = Instant::now();
                        let root = build!(
                            Gc::new(GcNode {
                                id: 0,
                                parent: None,
                                children: RefCell::new(Vec::new()),
                            }),
                            gc_child,
                            depth_first
                        );
                        timed += start.elapsed();
                        black_box(root.id);
                        drop(root);
                        gc::enable();
                        gc::collect();
                    }
                    timed
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, dom);
criterion_main!(benches);
