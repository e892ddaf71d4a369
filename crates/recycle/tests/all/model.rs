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
    /// Drop a root handle.
    DropRoot(usize),
    /// Clone a root handle.
    CloneRoot(usize),
    /// Run the collector and check everything.
    Collect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Alloc),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::AddEdge(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::RemoveEdge(a, b)),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => any::<usize>().prop_map(Op::CloneRoot),
        1 => Just(Op::Collect),
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

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
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
            Op::Collect => {
                gc::collect();
                let reachable = model.reachable();
                let drops = drops.borrow();
                for (id, &alive) in reachable.iter().enumerate() {
                    if alive {
                        prop_assert!(!model.dead.contains(&id), "node {id} came back");
                        prop_assert_eq!(drops[id], 0, "reachable node {} was dropped", id);
                    } else {
                        model.dead.insert(id);
                        prop_assert_eq!(drops[id], 1, "unreachable node {} drops", id);
                    }
                }
                // Every live node is intact, with the model's edges.
                let mut seen = HashSet::new();
                let mut stack: Vec<Gc<MNode>> = roots.clone();
                while let Some(node) = stack.pop() {
                    if seen.insert(node.id) {
                        prop_assert_eq!(node.check, node.id as u64 * 7 + 3);
                        let ids: Vec<usize> = node.edges.borrow().iter().map(|e| e.id).collect();
                        prop_assert_eq!(&ids, &model.edges[node.id]);
                        stack.extend(node.edges.borrow().iter().cloned());
                    }
                }
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

    #[test]
    fn collector_matches_reference_model(
        ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 60 } else { 1500 })
    ) {
        run(ops)?;
    }
}
