//! Reclaiming 1,000,000 nodes of cyclic garbage: `gc::collect()` beside
//! `Rc` with the same graph's edges cleared by hand before its handles drop
//! (the best `Rc` can do). Shapes: self-loops, one ring, and a random graph
//! with 3 out-edges per node. Only the reclaim is timed; the graph is built
//! in the untimed setup of each iteration, so the heap is warm when it is
//! timed: criterion's warm-up iterations, and before each iteration the one
//! before it, allocate and free a graph of the same size (as recycle-bench
//! does with an untimed pass).
//!
//! `cargo bench -p recycle --bench collect`

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use recycle::{Gc, Trace, gc};

const NODES: usize = 1_000_000;

#[derive(Trace)]
struct GcNode {
    id: u64,
    edges: RefCell<Vec<Gc<GcNode>>>,
}

struct RcNode {
    id: u64,
    edges: RefCell<Vec<Rc<RcNode>>>,
}

#[derive(Clone, Copy)]
enum Shape {
    SelfLoops,
    Ring,
    Random3,
}

/// The edges of node `i`, the same for both implementations.
fn edges(shape: Shape, n: usize) -> Vec<[usize; 3]> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..n)
        .map(|i| match shape {
            Shape::SelfLoops => [i, usize::MAX, usize::MAX],
            Shape::Ring => [(i + 1) % n, usize::MAX, usize::MAX],
            Shape::Random3 => [next(), next(), next()],
        })
        .collect()
}

macro_rules! build {
    ($node:ident, $ptr:ident, $edges:expr) => {{
        let edges = $edges;
        let nodes: Vec<$ptr<$node>> = (0..edges.len())
            .map(|i| {
                $ptr::new($node {
                    id: i as u64,
                    edges: RefCell::new(Vec::new()),
                })
            })
            .collect();
        for (node, targets) in nodes.iter().zip(edges.iter()) {
            let mut out = node.edges.borrow_mut();
            for &t in targets.iter().filter(|&&t| t != usize::MAX) {
                out.push($ptr::clone(&nodes[t]));
            }
        }
        nodes
    }};
}

fn reclaim(c: &mut Criterion) {
    for (name, shape) in [
        ("self_loops", Shape::SelfLoops),
        ("ring", Shape::Ring),
        ("random_3_edges", Shape::Random3),
    ] {
        let graph = edges(shape, NODES);
        let mut group = c.benchmark_group(format!("reclaim_1M_{name}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(20));
        group.throughput(Throughput::Elements(NODES as u64));
        group.bench_function("Rc_edges_cleared_by_hand", |b| {
            b.iter_batched(
                || build!(RcNode, Rc, &graph),
                |nodes| {
                    for node in &nodes {
                        node.edges.borrow_mut().clear();
                    }
                    black_box(nodes.iter().map(|n| n.id).sum::<u64>());
                    drop(nodes);
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_function("Gc_collect", |b| {
            b.iter_batched(
                || build!(GcNode, Gc, &graph),
                |nodes| {
                    black_box(nodes.iter().map(|n| n.id).sum::<u64>());
                    drop(nodes);
                    black_box(gc::collect());
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, reclaim);
criterion_main!(benches);
