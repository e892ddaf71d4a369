//! The cycles of a snapshot's graph: its strongly connected components
//! (Tarjan's algorithm, without recursion, so a long chain cannot overflow
//! the stack) that have more than one object or an edge to themselves.

/// Each cycle as the indices of its members, in ascending order; the cycles
/// ordered by their smallest member.
pub(super) fn find(nodes: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    // Adjacency in compressed form: the targets of `v` are
    // `targets[starts[v]..starts[v + 1]]`.
    let mut starts = vec![0usize; nodes + 1];
    for &(from, _) in edges {
        starts[from + 1] += 1;
    }
    for v in 0..nodes {
        starts[v + 1] += starts[v];
    }
    let mut targets = vec![0usize; edges.len()];
    let mut fill = starts.clone();
    for &(from, to) in edges {
        targets[fill[from]] = to;
        fill[from] += 1;
    }

    const UNVISITED: usize = usize::MAX;
    let mut order = vec![UNVISITED; nodes];
    let mut low = vec![0usize; nodes];
    let mut on_stack = vec![false; nodes];
    let mut stack: Vec<usize> = Vec::new();
    // The depth-first path: (node, next edge to look at).
    let mut path: Vec<(usize, usize)> = Vec::new();
    let mut counter = 0;
    let mut cycles = Vec::new();

    for root in 0..nodes {
        if order[root] != UNVISITED {
            continue;
        }
        path.push((root, starts[root]));
        order[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut next)) = path.last_mut() {
            if *next < starts[v + 1] {
                let w = targets[*next];
                *next += 1;
                if order[w] == UNVISITED {
                    order[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    path.push((w, starts[w]));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            // All of v's edges seen: v closes a component if it is its root.
            path.pop();
            if let Some(&(parent, _)) = path.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut members = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                let self_edge = targets[starts[v]..starts[v + 1]].contains(&v);
                if members.len() > 1 || self_edge {
                    members.sort_unstable();
                    cycles.push(members);
                }
            }
        }
    }
    cycles.sort_unstable_by_key(|c| c[0]);
    cycles
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_rings_self_loops_and_nothing_in_trees() {
        // 0 -> 1 -> 2 -> 0 (a ring), 3 -> 3 (a self-loop), 4 -> 5 (no cycle),
        // 5 -> 0 (into the ring, not part of it).
        let edges = [(0, 1), (1, 2), (2, 0), (3, 3), (4, 5), (5, 0)];
        assert_eq!(find(6, &edges), vec![vec![0, 1, 2], vec![3]]);
        assert!(find(3, &[(0, 1), (0, 2)]).is_empty());
    }

    #[test]
    fn two_cycles_joined_one_way_stay_apart() {
        let edges = [(0, 1), (1, 0), (1, 2), (2, 3), (3, 2)];
        assert_eq!(find(4, &edges), vec![vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn a_long_ring_needs_no_recursion() {
        let n = if cfg!(miri) { 1_000 } else { 1_000_000 };
        let edges: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        let cycles = find(n, &edges);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].len(), n);
    }
}
