//! Model-based property test: random programs over a small heap, checked
//! against a plain reference model after every collection.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use proptest::prelude::*;
use recycle::{Gc, Trace, gc};

/// A heap node; `drops` counts how many times each id was dropped.
#[derive(Trace)]
struct MNode {
    id: usize,
    /// Stays equal to `id * 7 + 3` while the node is alive and intact.
    check: u64,
    edges: RefCell<Vec<Gc<MNode>>>,
    #[trace(skip)]
    drops: Rc<RefCell<Vec<u32>>>,
}

impl Drop for MNode {
    fn drop(&mut self) {
        self.drops.borrow_mut()[self.id] += 1;
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Allocate a node, held by a new root handle.
    Alloc,
    /// Add an edge between the nodes behind two root handles.
    AddEdge(usize, usize),
    /// Remove one edge of the node behind a root handle.
    RemoveEdge(usize, usize),
    /// Move one edge of the node behind a root handle out into a new root
    /// handle (the program keeps what it found in the heap).
    TakeEdge(usize, usize),
    /// Drop a root handle.
    DropRoot(usize),
    /// Clone a root handle.
    CloneRoot(usize),
    /// Run a full collection and check everything.
    Collect,
    /// Collect generations `0..=g` (g < 2): only safety can be checked,
    /// since older garbage may stay.
    CollectYoung(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Alloc),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::AddEdge(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::RemoveEdge(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::TakeEdge(a, b)),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => any::<usize>().prop_map(Op::CloneRoot),
        1 => Just(Op::Collect),
        1 => (0..2usize).prop_map(Op::CollectYoung),
    ]
}

/// The reference model: nodes with edge lists, and the roots.
#[derive(Default)]
struct Model {
    edges: Vec<Vec<usize>>,
    roots: Vec<usize>,
    /// Nodes the model has declared dead (unreachable at some point).
    dead: HashSet<usize>,
}

impl Model {
    fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.edges.len()];
        let mut stack = self.roots.clone();
        while let Some(n) = stack.pop() {
            if !std::mem::replace(&mut seen[n], true) {
                stack.extend(&self.edges[n]);
            }
        }
        seen
    }
}

/// Checks that every node the model can reach is alive, intact and has the
/// model's edges, and that no node was dropped twice.
fn check_live(
    roots: &[Gc<MNode>],
    model: &Model,
    drops: &[u32],
) -> Result<Vec<bool>, TestCaseError> {
    let reachable = model.reachable();
    for (id, &alive) in reachable.iter().enumerate() {
        prop_assert!(drops[id] <= 1, "node {} dropped twice", id);
        if alive {
            prop_assert_eq!(drops[id], 0, "reachable node {} was dropped", id);
        }
    }
    let mut seen = HashSet::new();
    let mut stack: Vec<Gc<MNode>> = roots.to_vec();
    while let Some(node) = stack.pop() {
        if seen.insert(node.id) {
            prop_assert_eq!(node.check, node.id as u64 * 7 + 3);
            let ids: Vec<usize> = node.edges.borrow().iter().map(|e| e.id).collect();
            prop_assert_eq!(&ids, &model.edges[node.id]);
            stack.extend(node.edges.borrow().iter().cloned());
        }
    }
    Ok(reachable)
}

/// Runs `ops` with automatic collection at `thresholds`. Without
/// `explicit_full`, `Op::Collect` only checks what is reachable (it does
/// not collect), so that automatic collections of generation 2, which run
/// in increments with the program's operations in between, get their turn.
fn run(
    ops: Vec<Op>,
    thresholds: (usize, usize, usize),
    explicit_full: bool,
) -> Result<(), TestCaseError> {
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    let drops = Rc::new(RefCell::new(Vec::new()));
    let mut model = Model::default();
    let mut roots: Vec<Gc<MNode>> = Vec::new();
    let mut ops = ops;
    ops.push(Op::Collect);
    for op in ops {
        match op {
            Op::Alloc => {
                let id = model.edges.len();
                drops.borrow_mut().push(0);
                roots.push(Gc::new(MNode {
                    id,
                    check: id as u64 * 7 + 3,
                    edges: RefCell::new(vec![]),
                    drops: drops.clone(),
                }));
                model.edges.push(vec![]);
                model.roots.push(id);
            }
            Op::AddEdge(a, b) if !roots.is_empty() => {
                let (a, b) = (a % roots.len(), b % roots.len());
                roots[a].edges.borrow_mut().push(roots[b].clone());
                model.edges[model.roots[a]].push(model.roots[b]);
            }
            Op::RemoveEdge(a, i) if !roots.is_empty() => {
                let a = a % roots.len();
                let mut edges = roots[a].edges.borrow_mut();
                if !edges.is_empty() {
                    let i = i % edges.len();
                    drop(edges.remove(i));
                    model.edges[model.roots[a]].remove(i);
                }
            }
            Op::TakeEdge(a, i) if !roots.is_empty() => {
                let a = a % roots.len();
                let mut edges = roots[a].edges.borrow_mut();
                if !edges.is_empty() {
                    let i = i % edges.len();
                    let taken = edges.remove(i);
                    drop(edges);
                    roots.push(taken);
                    let target = model.edges[model.roots[a]].remove(i);
                    model.roots.push(target);
                }
            }
            Op::DropRoot(a) if !roots.is_empty() => {
                let a = a % roots.len();
                drop(roots.swap_remove(a));
                model.roots.swap_remove(a);
            }
            Op::CloneRoot(a) if !roots.is_empty() => {
                let a = a % roots.len();
                roots.push(roots[a].clone());
                model.roots.push(model.roots[a]);
            }
            Op::Collect if !explicit_full => {
                check_live(&roots, &model, &drops.borrow())?;
            }
            Op::Collect => {
                gc::collect();
                let reachable = check_live(&roots, &model, &drops.borrow())?;
                let drops = drops.borrow();
                for (id, &alive) in reachable.iter().enumerate() {
                    if alive {
                        prop_assert!(!model.dead.contains(&id), "node {id} came back");
                    } else {
                        model.dead.insert(id);
                        prop_assert_eq!(drops[id], 1, "unreachable node {} drops", id);
                    }
                }
            }
            Op::CollectYoung(g) => {
                gc::collect_generation(g).unwrap();
                check_live(&roots, &model, &drops.borrow())?;
            }
            _ => {}
        }
    }
    drop(roots);
    gc::collect();
    prop_assert!(
        drops.borrow().iter().all(|&d| d == 1),
        "every node dropped once at the end"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Automatic collection is left on with a tiny threshold, so collections
    /// of every generation run in between the program's own operations.
    #[test]
    fn collector_matches_reference_model(
        ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 60 } else { 1500 }),
        threshold0 in prop_oneof![Just(0usize), 1..20usize],
    ) {
        run(ops, (threshold0, 3, 3), true)?;
    }

    /// Tiny thresholds for every generation and no explicit full
    /// collection until the end: generation 2 is collected in increments,
    /// and the program's operations (taking handles out of the heap among
    /// them) run between the steps.
    #[test]
    fn incremental_cycles_match_reference_model(
        ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 60 } else { 1500 }),
        threshold0 in 1..8usize,
    ) {
        run(ops, (threshold0, 1, 1), false)?;
    }
}
