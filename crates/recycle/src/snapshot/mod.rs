//! Heap snapshots: every object of the calling thread's heap, with its type,
//! counts and generation, and the edges between objects, as a graph that
//! exports to DOT and JSON and draws itself as SVG or an HTML page
//! ([`gc::snapshot`](crate::gc::snapshot)).
//!
//! The edges are what each value's `trace` reports, so untracked objects
//! (`Gc<String>` and the like) appear as soon as a tracked one refers to
//! them. Cycles are the graph's strongly connected components with more than
//! one object, or an object with an edge to itself.

use core::ptr::NonNull;
use std::collections::HashMap;

use crate::any::GcAny;
use crate::collector::list::object_header;
use crate::header::GcHeader;
use crate::heap::{NUM_GENERATIONS, with_heap};
use crate::trace::{TraceAction, Tracer};

mod cycles;
mod draw;
mod export;
mod page;

/// One object of a [`HeapSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's address: stable while it lives, and unique among the
    /// snapshot's objects.
    pub address: usize,
    /// `core::any::type_name` of the value.
    pub type_name: &'static str,
    /// A caption from [`gc::snapshot_with`](crate::gc::snapshot_with)'s
    /// labeller, if it gave one.
    pub label: Option<String>,
    /// Strong handles, not counting the snapshot's own.
    pub strong: usize,
    /// `Weak` handles (and `WeakRef`s) to it.
    pub weak: usize,
    /// Its generation: 0–2, or `None` for an untracked object.
    pub generation: Option<usize>,
    /// Frozen by [`gc::freeze`](crate::gc::freeze) (the permanent generation).
    pub frozen: bool,
    /// Its finalizer has run ([`gc::is_finalized`](crate::gc::is_finalized)).
    pub finalized: bool,
    /// Kept by a SAVEALL collection in [`gc::garbage`](crate::gc::garbage):
    /// unreachable garbage, captured before it is freed.
    pub garbage: bool,
    /// The cycle (index into [`HeapSnapshot::cycles`]) it is part of.
    pub cycle: Option<usize>,
    /// Strong handles from outside the heap, as the collector counts them:
    /// `strong` less the handles that trusted values in the heap report
    /// (the edges). Local variables, statics, an `Rc`, an untrusted value:
    /// each holds an external handle. An object with one is where the
    /// collector's reachability starts; an object in a cycle with none
    /// anywhere in its cycle is garbage.
    pub external: usize,
}

/// The object graph of the calling thread's heap at one moment.
#[derive(Clone, Debug, Default)]
pub struct HeapSnapshot {
    /// Every tracked object, then every untracked object a tracked one
    /// refers to.
    pub objects: Vec<ObjectInfo>,
    /// `(from, to)` as indices into `objects`: `from`'s value holds a
    /// handle to `to` (once per handle).
    pub edges: Vec<(usize, usize)>,
    /// The reference cycles: each a list of indices into `objects`.
    pub cycles: Vec<Vec<usize>>,
    /// `(from, to)` as indices into `objects`: `from`'s value holds a
    /// [`Weak`](crate::Weak) (or a [`WeakRef`](crate::WeakRef)) to `to`.
    /// Weak edges keep nothing alive and make no cycle.
    pub weak_edges: Vec<(usize, usize)>,
}

impl HeapSnapshot {
    /// The index of `object` in [`objects`](Self::objects), if it is there.
    pub fn index_of(&self, object: &GcAny) -> Option<usize> {
        let address = object.header_ptr().addr().get();
        self.objects.iter().position(|o| o.address == address)
    }

    /// The indices of the objects `index` refers to.
    pub fn referents_of(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |&&(from, _)| from == index)
            .map(|&(_, to)| to)
    }
}

/// Captures the heap, labelling each object with `label`'s answer.
pub(crate) fn take(mut label: impl FnMut(&GcAny) -> Option<String>) -> HeapSnapshot {
    // One handle per object keeps each alive (and its address unique) until
    // the counts are read.
    let mut handles: Vec<GcAny> = Vec::new();
    let mut generation: Vec<Option<usize>> = Vec::new();
    let mut frozen: Vec<bool> = Vec::new();
    let mut index: HashMap<NonNull<GcHeader>, usize> = HashMap::new();
    let mut edges = Vec::new();
    let mut weak_targets: Vec<(usize, Vec<usize>)> = Vec::new();
    with_heap(|heap| {
        let lists = (0..NUM_GENERATIONS).flat_map(|g| heap.lists_of(g).map(move |l| (l, g, false)));
        let permanent = core::iter::once((&heap.permanent, NUM_GENERATIONS - 1, true));
        for (list, g, is_frozen) in lists.chain(permanent) {
            list.for_each(|links| {
                // SAFETY: lists hold live tracked objects, each with a
                // strong count above zero.
                let header = unsafe { object_header(links) };
                index.insert(header, handles.len());
                // SAFETY: as above.
                handles.push(unsafe { GcAny::from_header(header) });
                generation.push(Some(g));
                frozen.push(is_frozen);
            });
        }
    });
    // The `trace` calls (user code) run once the walk is over, on objects
    // the handles keep alive.
    let tracked = handles.len();
    for from in 0..tracked {
        let header = handles[from].header_ptr();
        // SAFETY: the handle keeps the object alive.
        let vtable = unsafe { crate::header::vtable(header) };
        // SAFETY: as above.
        if unsafe { header.as_ref() }.is_dead() {
            continue;
        }
        let mut tracer = Tracer::new(TraceAction::Referents(Vec::new()));
        // SAFETY: a live object with an initialized value (not dead).
        unsafe { (vtable.trace)(header, &mut tracer) };
        let TraceAction::Referents(found) = tracer.into_action() else {
            unreachable!("the tracer's action does not change")
        };
        for target in found {
            let to = *index.entry(target.header_ptr()).or_insert_with(|| {
                handles.push(target.clone());
                generation.push(None);
                frozen.push(false);
                handles.len() - 1
            });
            edges.push((from, to));
        }
        // Once more for the weak handles (which a snapshot alone looks at).
        let mut tracer = Tracer::new(TraceAction::WeakReferents(Vec::new()));
        // SAFETY: our handle keeps the object alive (the first `trace` may
        // have dropped others).
        let dead = unsafe { header.as_ref() }.is_dead();
        if !dead {
            // SAFETY: a live object with an initialized value (not dead).
            unsafe { (vtable.trace)(header, &mut tracer) };
        }
        let TraceAction::WeakReferents(weak) = tracer.into_action() else {
            unreachable!("the tracer's action does not change")
        };
        if !weak.is_empty() {
            weak_targets.push((from, weak));
        }
    }
    // Weak edges to objects the snapshot holds (a weak handle to an object
    // no tracked one refers to, or to a freed one, has nothing to point to).
    let by_address: HashMap<usize, usize> = index
        .iter()
        .map(|(header, &i)| (header.addr().get(), i))
        .collect();
    let weak_edges: Vec<(usize, usize)> = weak_targets
        .into_iter()
        .flat_map(|(from, targets)| {
            let by_address = &by_address;
            targets
                .into_iter()
                .filter_map(move |address| by_address.get(&address).map(|&to| (from, to)))
        })
        .collect();
    // What trusted values report is inside the heap; the rest of each
    // strong count comes from outside.
    let mut internal = vec![0usize; handles.len()];
    for &(from, to) in &edges {
        // SAFETY: the handle keeps the object, and its vtable, alive.
        if unsafe { crate::header::vtable(handles[from].header_ptr()) }.trusted {
            internal[to] += 1;
        }
    }
    let saved: Vec<NonNull<GcHeader>> =
        crate::gc::garbage().iter().map(GcAny::header_ptr).collect();
    let mut objects: Vec<ObjectInfo> = handles
        .iter()
        .enumerate()
        .map(|(i, handle)| {
            // SAFETY: the handle keeps the object alive.
            let header = unsafe { handle.header_ptr().as_ref() };
            ObjectInfo {
                address: handle.header_ptr().addr().get(),
                type_name: handle.type_name(),
                label: None,
                // Less the snapshot's own handle, and the one `garbage()` holds.
                strong: handle.strong_count()
                    - 1
                    - usize::from(saved.contains(&handle.header_ptr())),
                weak: header.weak() as usize - 1,
                generation: generation[i].filter(|_| header.is_tracked_type()),
                frozen: frozen[i],
                finalized: header.is_finalized(),
                garbage: saved.contains(&handle.header_ptr()),
                cycle: None,
                external: 0,
            }
        })
        .collect();
    // Labels last: the labeller is user code and may clone or drop handles.
    for (object, handle) in objects.iter_mut().zip(&handles) {
        object.label = label(handle);
    }
    let cycles = cycles::find(objects.len(), &edges);
    for (c, members) in cycles.iter().enumerate() {
        for &m in members {
            objects[m].cycle = Some(c);
        }
    }
    for (object, inside) in objects.iter_mut().zip(internal) {
        object.external = object.strong.saturating_sub(inside);
    }
    HeapSnapshot {
        objects,
        edges,
        cycles,
        weak_edges,
    }
}
