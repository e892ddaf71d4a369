//! The workloads, generic over [`Imp`]. Each one reports named figures
//! through [`Report`]; before each phase it names the phase, so that a crash
//! is reported with where it happened.

use std::hint::black_box;
use std::time::Instant;

use recycle_bench::{Report, rss_kib};

use crate::imps::{Imp, drops};

/// Workloads by name, in table order.
pub(crate) const NAMES: [&str; 13] = [
    "clone_drop",
    "clone_drop_instructions",
    "tree",
    "tree_again",
    "dom_dfs",
    "dom_bfs",
    "cyc_self",
    "cyc_ring",
    "cyc_random",
    "churn",
    "chain_1m",
    "chain_10m",
    "memory",
];

/// Sizes: as issue 5 and peer-figures.md give them.
const CLONES: u64 = 10_000_000;
/// Clones in `clone_drop_instructions` (counted, not timed: fewer suffice).
pub(crate) const COUNTED_CLONES: u64 = 1_000_000;
const TREE_DEPTH: u32 = 20;
/// Rounds of building and dropping the tree in `tree_again`, per setting.
const TREE_ROUNDS: usize = 10;
const GRAPH_NODES: usize = 1_000_000;
const CHURN_ROOTS: usize = 100_000;
const CHURN_STEPS: usize = 2_000_000;
const CHURN_MAX_EDGES: usize = 4;
/// Manual-only collectors collect this often during churn.
const CHURN_COLLECT_EVERY: usize = 100_000;
const MEMORY_CHAINS: u64 = 1_000;
const MEMORY_CHAIN_LENGTH: u64 = 1_000;

/// Runs workload `name` with implementation `I`.
pub(crate) fn run<I: Imp>(name: &str, report: &mut Report) {
    match name {
        "clone_drop" => clone_drop::<I>(report),
        "clone_drop_instructions" => clone_drop_counted::<I>(report),
        "tree" => tree::<I>(report),
        "tree_again" => tree_again::<I>(report),
        "dom_dfs" => I::dom(report, crate::dom::Order::DepthFirst),
        "dom_bfs" => I::dom(report, crate::dom::Order::BreadthFirst),
        "cyc_self" => cyclic::<I>(report, Shape::SelfLoops),
        "cyc_ring" => cyclic::<I>(report, Shape::Ring),
        "cyc_random" => cyclic::<I>(report, Shape::Random),
        "churn" => churn::<I>(report),
        "chain_1m" => chain::<I>(report, 1_000_000),
        "chain_10m" => chain::<I>(report, 10_000_000),
        "memory" => memory::<I>(report),
        other => panic!("unknown workload {other:?}"),
    }
}

/// xorshift64: the same sequence for every implementation.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn ns_per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn clone_drop<I: Imp>(report: &mut Report) {
    let node = I::node(1);
    report.phase("clone_drop");
    let start = Instant::now();
    clone_drop_loop::<I>(&node, CLONES);
    report.figure("ns_per_op", ns_per(start, CLONES));
    black_box(I::id(&node));
}

/// `clone_drop`'s loop, run `COUNTED_CLONES` times under callgrind,
/// which counts the instructions executed inside this function only (the
/// parent names it with `--toggle-collect`; see `main.rs`): an exact,
/// repeatable figure where timings move from run to run.
fn clone_drop_counted<I: Imp>(report: &mut Report) {
    let node = I::node(1);
    report.phase("clone_drop_instructions");
    clone_drop_loop::<I>(&node, COUNTED_CLONES);
    black_box(I::id(&node));
}

#[inline(never)]
fn clone_drop_loop<I: Imp>(node: &I::Node, n: u64) {
    for _ in 0..n {
        drop(black_box(I::clone_node(black_box(node))));
    }
}

fn build_tree<I: Imp>(depth: u32) -> Option<I::Tree> {
    if depth == 0 {
        return None;
    }
    Some(I::tree(
        build_tree::<I>(depth - 1),
        build_tree::<I>(depth - 1),
    ))
}

fn tree<I: Imp>(report: &mut Report) {
    let nodes = (1u64 << TREE_DEPTH) - 1;
    let before = drops();
    report.phase("build");
    let start = Instant::now();
    let root = build_tree::<I>(TREE_DEPTH);
    let built = Instant::now();
    report.phase("drop");
    drop(root);
    I::collect();
    let end = Instant::now();
    report.figure(
        "build_ns_per_node",
        (built - start).as_nanos() as f64 / nodes as f64,
    );
    report.figure(
        "free_ns_per_node",
        (end - built).as_nanos() as f64 / nodes as f64,
    );
    report.figure(
        "total_ns_per_node",
        (end - start).as_nanos() as f64 / nodes as f64,
    );
    report.figure("missing_drops", (nodes - (drops() - before)) as f64);
}

/// The tree built and dropped `TREE_ROUNDS` times in one process, first as
/// the implementation is, then told to give freed memory back to the system
/// at once ([`Imp::give_freed_memory_back`]). The median round of each, per
/// node.
///
/// The child runs this workload on its main thread: there glibc keeps the
/// memory that `Rc`'s nodes free for the next round (on other threads it
/// gives more of it back, and `Rc`'s rounds take about 40% longer).
fn tree_again<I: Imp>(report: &mut Report) {
    let nodes = (1u64 << TREE_DEPTH) - 1;
    let before = drops();
    report.phase("rounds");
    report.figure("round_ns_per_node", median_tree_round::<I>(nodes));
    report.phase("rounds, giving freed memory back");
    I::give_freed_memory_back();
    report.figure(
        "given_back_round_ns_per_node",
        median_tree_round::<I>(nodes),
    );
    let expected = 2 * TREE_ROUNDS as u64 * nodes;
    report.figure("missing_drops", (expected - (drops() - before)) as f64);
}

/// `TREE_ROUNDS` builds and drops of the tree: the median, per node.
fn median_tree_round<I: Imp>(nodes: u64) -> f64 {
    let mut times: Vec<f64> = (0..TREE_ROUNDS)
        .map(|_| {
            let start = Instant::now();
            drop(black_box(build_tree::<I>(TREE_DEPTH)));
            I::collect();
            ns_per(start, nodes)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[TREE_ROUNDS / 2]
}

#[derive(Clone, Copy)]
enum Shape {
    SelfLoops,
    Ring,
    Random,
}

fn cyclic<I: Imp>(report: &mut Report, shape: Shape) {
    let n = GRAPH_NODES;
    // An untimed pass of the same size, so that the heap is warm.
    report.phase("warm-up");
    drop((0..n as u64).map(I::node).collect::<Vec<_>>());
    I::collect();

    let before = drops();
    report.phase("build");
    let start = Instant::now();
    let nodes: Vec<I::Node> = (0..n as u64).map(I::node).collect();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for (i, node) in nodes.iter().enumerate() {
        match shape {
            Shape::SelfLoops => I::push_edge(node, node),
            Shape::Ring => I::push_edge(node, &nodes[(i + 1) % n]),
            Shape::Random => {
                for _ in 0..3 {
                    I::push_edge(node, &nodes[random.below(n)]);
                }
            }
        }
    }
    report.figure("build_ns_per_obj", ns_per(start, n as u64));

    report.phase("reclaim");
    let start = Instant::now();
    if !I::COLLECTS_CYCLES {
        // What `Rc` must do instead: break every cycle by hand.
        for node in &nodes {
            I::clear_edges(node);
        }
    }
    drop(nodes);
    I::collect();
    report.figure("reclaim_ns_per_obj", ns_per(start, n as u64));
    report.figure("missing_drops", (n as u64 - (drops() - before)) as f64);
}

fn churn<I: Imp>(report: &mut Report) {
    let before = drops();
    report.phase("churn");
    let start = Instant::now();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut roots: Vec<I::Node> = (0..CHURN_ROOTS as u64).map(I::node).collect();
    let mut created = CHURN_ROOTS as u64;
    for step in 0..CHURN_STEPS {
        if random.below(2) == 0 {
            let i = random.below(CHURN_ROOTS);
            roots[i] = I::node((CHURN_ROOTS + step) as u64);
            created += 1;
        } else {
            let (a, b) = (random.below(CHURN_ROOTS), random.below(CHURN_ROOTS));
            if I::edge_count(&roots[a]) < CHURN_MAX_EDGES {
                I::push_edge(&roots[a], &roots[b]);
            } else {
                let k = random.below(CHURN_MAX_EDGES);
                I::set_edge(&roots[a], k, &roots[b]);
            }
        }
        if I::MANUAL_ONLY && (step + 1) % CHURN_COLLECT_EVERY == 0 {
            I::collect();
        }
    }
    report.phase("final drop and collect");
    drop(roots);
    I::collect();
    report.figure("total_ms", start.elapsed().as_secs_f64() * 1e3);
    report.figure("leaked", (created - (drops() - before)) as f64);
}

fn chain<I: Imp>(report: &mut Report, n: u64) {
    let before = drops();
    report.phase("build");
    let mut head: Option<I::List> = None;
    for value in 0..n {
        head = Some(I::list(value, head));
    }
    report.phase("drop");
    let start = Instant::now();
    drop(head);
    I::collect();
    report.figure("drop_ns_per_node", ns_per(start, n));
    report.figure("missing_drops", (n - (drops() - before)) as f64);
}

fn memory<I: Imp>(report: &mut Report) {
    report.phase("allocate");
    let start = rss_kib();
    let chains: Vec<I::List> = (0..MEMORY_CHAINS)
        .map(|c| {
            let mut head = I::list(c, None);
            for value in 1..MEMORY_CHAIN_LENGTH {
                head = I::list(value, Some(head));
            }
            head
        })
        .collect();
    let end = rss_kib();
    let nodes = MEMORY_CHAINS * MEMORY_CHAIN_LENGTH;
    report.figure(
        "bytes_per_node",
        (end - start) as f64 * 1024.0 / nodes as f64,
    );
    drop(black_box(chains));
}
