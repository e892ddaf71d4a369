//! The heaps `recycle graph` draws. Each scenario builds its objects, takes
//! the snapshot while they live, and cleans up after itself.

use std::cell::RefCell;

use recycle::gc::{self, DebugFlags, HeapSnapshot};
use recycle::{Finalize, Gc, GcAny, Trace, Weak};

/// A doubly linked list cell: strong links both ways.
#[derive(Trace)]
pub(crate) struct Cell {
    name: String,
    next: RefCell<Option<Gc<Cell>>>,
    prev: RefCell<Option<Gc<Cell>>>,
}

/// A tree node with a weak link to its parent.
#[derive(Trace)]
pub(crate) struct TreeNode {
    name: String,
    parent: RefCell<Weak<TreeNode>>,
    children: RefCell<Vec<Gc<TreeNode>>>,
}

/// A ring member, to become garbage.
#[derive(Trace)]
pub(crate) struct RingNode {
    name: String,
    next: RefCell<Option<Gc<RingNode>>>,
}

/// An object whose finalizer stores it in `Archive`.
#[derive(Trace)]
#[trace(finalize)]
pub(crate) struct Phoenix {
    name: String,
    me: RefCell<Weak<Phoenix>>,
    archive: Gc<Archive>,
}

/// Where a `Phoenix` goes when it is finalized.
#[derive(Trace)]
pub(crate) struct Archive {
    kept: RefCell<Vec<Gc<Phoenix>>>,
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        if let Some(me) = self.me.borrow().upgrade() {
            self.archive.kept.borrow_mut().push(me);
        }
    }
}

/// A label for the objects of these scenarios (others keep their type name).
fn label(object: &GcAny) -> Option<String> {
    if let Some(c) = object.downcast::<Cell>() {
        return Some(format!("Cell {}", c.name));
    }
    if let Some(t) = object.downcast::<TreeNode>() {
        return Some(format!("TreeNode {}", t.name));
    }
    if let Some(r) = object.downcast::<RingNode>() {
        return Some(format!("RingNode {}", r.name));
    }
    if let Some(p) = object.downcast::<Phoenix>() {
        return Some(format!("Phoenix {}", p.name));
    }
    object.downcast::<Archive>().map(|_| "Archive".to_string())
}

/// What a scenario keeps alive until the snapshot is taken.
pub(crate) struct Kept {
    _objects: Vec<GcAny>,
}

pub(crate) fn doubly_linked_list() -> Kept {
    let cells: Vec<Gc<Cell>> = ["a", "b", "c", "d"]
        .iter()
        .map(|name| {
            Gc::new(Cell {
                name: name.to_string(),
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        })
        .collect();
    for pair in cells.windows(2) {
        *pair[0].next.borrow_mut() = Some(pair[1].clone());
        *pair[1].prev.borrow_mut() = Some(pair[0].clone());
    }
    // Keep the head only, as a list's owner would.
    Kept {
        _objects: vec![cells[0].clone().into()],
    }
}

pub(crate) fn tree_with_parent_links() -> Kept {
    let node = |name: &str, parent: &Weak<TreeNode>| {
        Gc::new(TreeNode {
            name: name.to_string(),
            parent: RefCell::new(parent.clone()),
            children: RefCell::new(Vec::new()),
        })
    };
    let root = node("root", &Weak::new());
    for child_name in ["left", "right"] {
        let child = node(child_name, &Gc::downgrade(&root));
        root.children.borrow_mut().push(child.clone());
        // The first two levels survive a collection: they are older.
        gc::collect_generation(0).expect("generation 0 exists");
        for leaf in 1..=2 {
            let leaf = node(&format!("{child_name}.{leaf}"), &Gc::downgrade(&child));
            child.children.borrow_mut().push(leaf);
        }
    }
    Kept {
        _objects: vec![root.into()],
    }
}

pub(crate) fn garbage_cycle() -> Kept {
    let ring: Vec<Gc<RingNode>> = ["x", "y", "z"]
        .iter()
        .map(|name| {
            Gc::new(RingNode {
                name: name.to_string(),
                next: RefCell::new(None),
            })
        })
        .collect();
    for i in 0..ring.len() {
        *ring[i].next.borrow_mut() = Some(ring[(i + 1) % ring.len()].clone());
    }
    drop(ring);
    // SAVEALL: the collection finds the ring and keeps it in gc::garbage()
    // instead of freeing it, so the snapshot can show it.
    let old = gc::get_debug();
    gc::set_debug(old | DebugFlags::SAVEALL);
    let found = gc::collect();
    gc::set_debug(old);
    debug_assert!(found >= 3);
    Kept {
        _objects: Vec::new(),
    }
}

pub(crate) fn resurrected_object() -> Kept {
    let archive = Gc::new(Archive {
        kept: RefCell::new(Vec::new()),
    });
    let phoenix = Gc::new(Phoenix {
        name: "fawkes".to_string(),
        me: RefCell::new(Weak::new()),
        archive: archive.clone(),
    });
    *phoenix.me.borrow_mut() = Gc::downgrade(&phoenix);
    // Its last handle goes: the finalizer runs and stores it in the archive.
    drop(phoenix);
    Kept {
        _objects: vec![archive.into()],
    }
}

/// Takes the snapshot, with the scenarios' labels, then lets `kept` go and
/// frees what the scenarios made (garbage kept by SAVEALL included).
pub(crate) fn snapshot_and_clean_up(kept: Vec<Kept>) -> HeapSnapshot {
    let snapshot = gc::snapshot_with(label);
    drop(kept);
    drop(gc::take_garbage());
    gc::collect();
    snapshot
}
