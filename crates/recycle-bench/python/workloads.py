"""recycle-bench's workloads as Python programs, for the CPython column.

Run by the harness as `python3 workloads.py <workload>`; prints the same
protocol as the Rust children (PHASE <name>, FIGURE <key> <value>, DONE),
with the same sizes, shapes and random sequence. Nodes use __slots__, as
a Python program that makes a million of them would.
"""

import gc
import sys
import time

CLONES = 10_000_000
TREE_DEPTH = 20
GRAPH_NODES = 1_000_000
CHURN_ROOTS = 100_000
CHURN_STEPS = 2_000_000
CHURN_MAX_EDGES = 4
MEMORY_CHAINS = 1_000
MEMORY_CHAIN_LENGTH = 1_000
DOM_FAN_OUT = 10
DOM_DEPTH = 6
DOM_ROUNDS = 3


def phase(name):
    print("PHASE", name, flush=True)


def figure(key, value):
    print("FIGURE", key, float(value), flush=True)


class Random:
    """xorshift64, the sequence the Rust workloads use."""

    MASK = (1 << 64) - 1

    def __init__(self):
        self.x = 0x9E3779B97F4A7C15

    def below(self, n):
        x = self.x
        x ^= (x << 13) & self.MASK
        x ^= x >> 7
        x ^= (x << 17) & self.MASK
        self.x = x
        return x % n


class Node:
    __slots__ = ("id", "edges")

    def __init__(self, id):
        self.id = id
        self.edges = []


class Tree:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


class List:
    __slots__ = ("value", "next")

    def __init__(self, value, next):
        self.value = value
        self.next = next


class DomNode:
    __slots__ = ("id", "parent", "children")

    def __init__(self, id, parent):
        self.id = id
        self.parent = parent
        self.children = []


def ns_per(start, n):
    return (time.perf_counter_ns() - start) / n


def clone_drop():
    node = Node(1)
    phase("clone_drop")
    start = time.perf_counter_ns()
    for _ in range(CLONES):
        other = node  # an incref; the next assignment decrefs
        del other
    figure("ns_per_op", ns_per(start, CLONES))


def build_tree(depth):
    if depth == 0:
        return None
    return Tree(build_tree(depth - 1), build_tree(depth - 1))


def tree():
    nodes = (1 << TREE_DEPTH) - 1
    phase("build")
    start = time.perf_counter_ns()
    root = build_tree(TREE_DEPTH)
    built = time.perf_counter_ns()
    phase("drop")
    del root
    gc.collect()
    end = time.perf_counter_ns()
    figure("build_ns_per_node", (built - start) / nodes)
    figure("free_ns_per_node", (end - built) / nodes)
    figure("total_ns_per_node", (end - start) / nodes)


def cyclic(shape):
    n = GRAPH_NODES
    phase("warm-up")
    warm = [Node(i) for i in range(n)]
    del warm
    gc.collect()
    phase("build")
    start = time.perf_counter_ns()
    nodes = [Node(i) for i in range(n)]
    random = Random()
    for i, node in enumerate(nodes):
        if shape == "self":
            node.edges.append(node)
        elif shape == "ring":
            node.edges.append(nodes[(i + 1) % n])
        else:
            for _ in range(3):
                node.edges.append(nodes[random.below(n)])
    figure("build_ns_per_obj", ns_per(start, n))
    phase("reclaim")
    start = time.perf_counter_ns()
    del nodes, node
    gc.collect()
    figure("reclaim_ns_per_obj", ns_per(start, n))


def churn():
    phase("churn")
    start = time.perf_counter_ns()
    random = Random()
    roots = [Node(i) for i in range(CHURN_ROOTS)]
    for step in range(CHURN_STEPS):
        if random.below(2) == 0:
            roots[random.below(CHURN_ROOTS)] = Node(CHURN_ROOTS + step)
        else:
            a, b = random.below(CHURN_ROOTS), random.below(CHURN_ROOTS)
            edges = roots[a].edges
            if len(edges) < CHURN_MAX_EDGES:
                edges.append(roots[b])
            else:
                edges[random.below(CHURN_MAX_EDGES)] = roots[b]
    phase("final drop and collect")
    del roots
    gc.collect()
    figure("total_ms", (time.perf_counter_ns() - start) / 1e6)


def chain(n):
    phase("build")
    head = None
    for value in range(n):
        head = List(value, head)
    phase("drop")
    start = time.perf_counter_ns()
    del head
    gc.collect()
    figure("drop_ns_per_node", ns_per(start, n))


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def memory():
    phase("allocate")
    start = rss_kib()
    chains = []
    for c in range(MEMORY_CHAINS):
        head = List(c, None)
        for value in range(1, MEMORY_CHAIN_LENGTH):
            head = List(value, head)
        chains.append(head)
    end = rss_kib()
    figure("bytes_per_node", (end - start) * 1024 / (MEMORY_CHAINS * MEMORY_CHAIN_LENGTH))


def dom_build(order):
    """One build of the DOM: ns per node (then it is freed, untimed)."""
    start = time.perf_counter_ns()
    root = DomNode(0, None)
    made = 0
    if order == "dfs":

        def depth_first(parent, depth):
            nonlocal made
            if depth == 0:
                return
            for _ in range(DOM_FAN_OUT):
                made += 1
                child = DomNode(made, parent)
                parent.children.append(child)
                depth_first(child, depth - 1)

        depth_first(root, DOM_DEPTH)
    else:
        level = [root]
        for _ in range(DOM_DEPTH):
            below = []
            for parent in level:
                for _ in range(DOM_FAN_OUT):
                    made += 1
                    child = DomNode(made, parent)
                    parent.children.append(child)
                    below.append(child)
            level = below
        del level, below
    ns = ns_per(start, made)
    del root
    gc.collect()
    return ns


def dom(order):
    on, off = [], []
    phase("build")
    for _ in range(DOM_ROUNDS):
        gc.enable()
        on.append(dom_build(order))
        gc.disable()
        off.append(dom_build(order))
    gc.enable()
    on.sort()
    off.sort()
    on, off = on[len(on) // 2], off[len(off) // 2]
    figure("build_ns_per_node", on)
    figure("build_disabled_ns_per_node", off)
    figure("automatic_overhead_pct", (on / off - 1) * 100)


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


WORKLOADS = {
    "clone_drop": clone_drop,
    "tree": tree,
    "cyc_self": lambda: cyclic("self"),
    "cyc_ring": lambda: cyclic("ring"),
    "cyc_random": lambda: cyclic("random"),
    "churn": churn,
    "chain_1m": lambda: chain(1_000_000),
    "memory": memory,
    "dom_dfs": lambda: dom("dfs"),
    "dom_bfs": lambda: dom("bfs"),
}


def main():
    workload = sys.argv[1]
    run = WORKLOADS.get(workload)
    if run is not None:
        run()
        figure("peak_rss_kib", peak_rss_kib())
    # A workload without a Python version reports nothing: an empty cell.
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
