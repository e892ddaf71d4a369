//! Full collection: what `gc::collect()` finds and frees.

use std::cell::RefCell;

use recycle::{Gc, Trace, gc};

use crate::common::{Node, Rng, Tally, on_8mib_stack, size};

#[test]
fn empty_heap_collects_nothing() {
    assert_eq!(gc::collect(), 0);
}

#[test]
fn self_loop_is_one_object() {
    // CPython: `l = []; l.append(l); del l; gc.collect() == 1`.
    let tally = Tally::new();
    let n = Node::new(0, &tally);
    n.link(&n);
    drop(n);
    assert_eq!(tally.dropped(), 0, "counting alone cannot free a self-loop");
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn two_object_cycle() {
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    let b = Node::new(1, &tally);
    a.link(&b);
    b.link(&a);
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn reachable_cycle_survives_intact() {
    let tally = Tally::new();
    let a = Node::new(10, &tally);
    let b = Node::new(20, &tally);
    a.link(&b);
    b.link(&a);
    drop(b);
    assert_eq!(gc::collect(), 0);
    assert_eq!(tally.dropped(), 0);
    let b = a.edges.borrow()[0].clone();
    assert_eq!(b.id, 20);
    assert_eq!(b.edges.borrow()[0].id, 10);
    drop(b);
    drop(a);
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn garbage_that_points_at_live_objects() {
    // The cycle references a live object; collecting the cycle releases that
    // reference but the object lives on.
    let tally = Tally::new();
    let live = Node::new(0, &tally);
    let a = Node::new(1, &tally);
    let b = Node::new(2, &tally);
    a.link(&b);
    b.link(&a);
    a.link(&live);
    assert_eq!(Gc::strong_count(&live), 2);
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(Gc::strong_count(&live), 1);
    assert_eq!(live.id, 0);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn acyclic_tail_of_a_cycle_is_freed_too() {
    // a <-> b, and b -> c -> d (acyclic): c and d die by counting when b's
    // value is dropped; they are garbage too, so they are counted as found.
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    let b = Node::new(1, &tally);
    let c = Node::new(2, &tally);
    let d = Node::new(3, &tally);
    a.link(&b);
    b.link(&a);
    b.link(&c);
    c.link(&d);
    drop((a, b, c, d));
    assert_eq!(gc::collect(), 4);
    assert_eq!(tally.dropped(), 4);
}

#[test]
fn untracked_values_inside_garbage_are_freed() {
    #[derive(Trace)]
    struct Holder {
        me: RefCell<Option<Gc<Holder>>>,
        text: Gc<String>,
    }
    let text = Gc::new(String::from("shared"));
    let h = Gc::new(Holder {
        me: RefCell::new(None),
        text: text.clone(),
    });
    *h.me.borrow_mut() = Some(h.clone());
    drop(h);
    assert_eq!(Gc::strong_count(&text), 2);
    assert_eq!(gc::collect(), 1, "untracked objects are not counted");
    assert_eq!(Gc::strong_count(&text), 1);
}

fn ring(n: usize, tally: &Tally) {
    let first = Node::new(0, tally);
    let mut prev = first.clone();
    for id in 1..n {
        let node = Node::new(id, tally);
        prev.link(&node);
        prev = node;
    }
    prev.link(&first);
}

#[test]
fn million_node_ring_on_an_8mib_stack() {
    let n = size(1_000_000, 300);
    let (found, dropped) = on_8mib_stack(move || {
        let tally = Tally::new();
        ring(n, &tally);
        assert_eq!(tally.dropped(), 0);
        (gc::collect(), tally.dropped())
    });
    assert_eq!(found, n);
    assert_eq!(dropped, n, "every node's Drop ran exactly once");
}

#[test]
fn million_node_random_graph_on_an_8mib_stack() {
    let n = size(1_000_000, 300);
    let (found, dropped, after) = on_8mib_stack(move || {
        let tally = Tally::new();
        let nodes: Vec<_> = (0..n).map(|i| Node::new(i, &tally)).collect();
        let mut rng = Rng::new(0x5eed);
        for node in &nodes {
            for _ in 0..3 {
                node.link(&nodes[rng.below(n)]);
            }
        }
        drop(nodes);
        let found = gc::collect();
        (found, tally.dropped(), gc::collect())
    });
    // Nodes nobody links to die by counting when the Vec drops; the rest is
    // found by the collector. Together: all of them, each dropped once.
    assert!(found > 0 && found <= n);
    assert_eq!(dropped, n);
    assert_eq!(after, 0);
}

#[test]
fn random_graph_with_live_roots_keeps_exactly_the_reachable_part() {
    let n = size(20_000, 120);
    let tally = Tally::new();
    let nodes: Vec<_> = (0..n).map(|i| Node::new(i, &tally)).collect();
    let mut rng = Rng::new(42);
    for node in &nodes {
        for _ in 0..2 {
            node.link(&nodes[rng.below(n)]);
        }
    }
    // Keep every 50th node as a root; compute what it reaches by hand.
    let roots: Vec<_> = nodes.iter().step_by(50).cloned().collect();
    let mut reachable = vec![false; n];
    let mut stack: Vec<usize> = roots.iter().map(|r| r.id).collect();
    while let Some(id) = stack.pop() {
        if !std::mem::replace(&mut reachable[id], true) {
            stack.extend(nodes[id].edges.borrow().iter().map(|e| e.id));
        }
    }
    let alive = reachable.iter().filter(|r| **r).count();
    drop(nodes);
    gc::collect();
    assert_eq!(tally.dropped(), n - alive);
    // Every reachable node is intact: walk it again through the handles.
    let mut seen = vec![false; n];
    let mut stack: Vec<Gc<Node>> = roots.clone();
    while let Some(node) = stack.pop() {
        if !std::mem::replace(&mut seen[node.id], true) {
            stack.extend(node.edges.borrow().iter().cloned());
        }
    }
    assert_eq!(seen, reachable);
    drop((roots, stack));
    gc::collect();
    assert_eq!(tally.dropped(), n);
}

#[test]
fn collections_on_other_threads_are_separate() {
    let tally = Tally::new();
    let n = Node::new(0, &tally);
    n.link(&n);
    drop(n);
    let other = std::thread::spawn(gc::collect).join().unwrap();
    assert_eq!(other, 0, "another thread's heap is empty");
    assert_eq!(gc::collect(), 1);
}

/// One of many distinct tracked types: `Kind<0>`, `Kind<1>`, ...
#[derive(Trace)]
struct Kind<const N: usize> {
    next: RefCell<Option<Gc<Kind<N>>>>,
    #[trace(skip)]
    filler: [u64; 2],
}

/// Makes a self-loop of `Kind<N>` and returns a handle to it.
fn self_loop<const N: usize>() -> recycle::GcAny {
    let object = Gc::new(Kind::<N> {
        next: RefCell::new(None),
        filler: [N as u64; 2],
    });
    *object.next.borrow_mut() = Some(object.clone());
    recycle::GcAny::from(object)
}

macro_rules! self_loops_of_kinds {
    ($($tens:literal)*) => {
        vec![$(
            self_loop::<{ $tens * 10 }>(), self_loop::<{ $tens * 10 + 1 }>(),
            self_loop::<{ $tens * 10 + 2 }>(), self_loop::<{ $tens * 10 + 3 }>(),
            self_loop::<{ $tens * 10 + 4 }>(), self_loop::<{ $tens * 10 + 5 }>(),
            self_loop::<{ $tens * 10 + 6 }>(), self_loop::<{ $tens * 10 + 7 }>(),
            self_loop::<{ $tens * 10 + 8 }>(), self_loop::<{ $tens * 10 + 9 }>(),
        )*]
    };
}

#[test]
fn more_tracked_types_than_the_pools_have_slots_for() {
    // The pool allocator gives 128 tracked types per thread pools of their
    // own (the pool then knows the type); the objects of the others carry
    // their vtable. Both kinds must trace, name their type, downcast and
    // be freed alike.
    let objects = self_loops_of_kinds!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    assert_eq!(objects.len(), 150);
    for (n, object) in objects.iter().enumerate() {
        assert!(object.type_name().contains(&format!("Kind<{n}>")));
        assert_eq!(gc::get_referents(object).len(), 1, "its self-loop");
    }
    let last = objects[149]
        .downcast::<Kind<149>>()
        .expect("the right type");
    assert_eq!(last.filler, [149, 149]);
    drop(last);
    drop(objects);
    assert_eq!(gc::collect(), 150);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn tracked_values_too_big_for_the_pools_are_collected() {
    #[derive(Trace)]
    struct Big {
        next: RefCell<Option<Gc<Big>>>,
        #[trace(skip)]
        payload: [u64; 100],
    }
    let tally = Tally::new();
    let a = Gc::new(Big {
        next: RefCell::new(None),
        payload: [1; 100],
    });
    let b = Gc::new(Big {
        next: RefCell::new(Some(a.clone())),
        payload: [2; 100],
    });
    *a.next.borrow_mut() = Some(b.clone());
    let node = Node::new(0, &tally);
    node.link(&node);
    assert_eq!(a.payload[99] + b.payload[0], 3);
    drop((a, b, node));
    assert_eq!(gc::collect(), 3);
    assert_eq!(tally.dropped(), 1);
}
