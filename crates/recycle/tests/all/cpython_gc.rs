//! Ports of CPython's Lib/test/test_gc.py scenarios onto a tiny Python-like
//! object model, each test named after the one it follows. Where CPython's
//! count includes objects recycle does not have (an instance's `__dict__`),
//! the comment says so.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use recycle::{Finalize, Gc, GcAny, Trace, Tracer, gc};

/// A Python object, as far as these tests need one.
#[derive(Trace)]
enum Obj {
    Int(i64),
    List(RefCell<Vec<Gc<Obj>>>),
    Tuple(Vec<Gc<Obj>>),
    Dict(RefCell<HashMap<i64, Gc<Obj>>>),
    /// An instance: its attributes.
    Instance(RefCell<HashMap<&'static str, Gc<Obj>>>),
    /// A function and its globals dict.
    Function(RefCell<Option<Gc<Obj>>>),
    /// A bound method: function and instance.
    Method(Gc<Obj>),
}

fn int(i: i64) -> Gc<Obj> {
    Gc::new(Obj::Int(i))
}

fn list() -> Gc<Obj> {
    Gc::new(Obj::List(RefCell::new(vec![])))
}

fn append(list: &Gc<Obj>, item: &Gc<Obj>) {
    let Obj::List(items) = &**list else {
        panic!("not a list")
    };
    items.borrow_mut().push(item.clone());
}

fn instance() -> Gc<Obj> {
    Gc::new(Obj::Instance(RefCell::new(HashMap::new())))
}

fn set_attr(object: &Gc<Obj>, name: &'static str, value: &Gc<Obj>) {
    let Obj::Instance(attrs) = &**object else {
        panic!("not an instance")
    };
    attrs.borrow_mut().insert(name, value.clone());
}

#[test]
fn gc_tests_test_list() {
    // test_gc.GCTests.test_list: l = []; l.append(l)
    let l = list();
    append(&l, &l);
    gc::collect();
    drop(l);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn gc_tests_test_dict() {
    // test_gc.GCTests.test_dict: d = {}; d[1] = d
    let d = Gc::new(Obj::Dict(RefCell::new(HashMap::new())));
    if let Obj::Dict(map) = &*d {
        map.borrow_mut().insert(1, d.clone());
    }
    gc::collect();
    drop(d);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn gc_tests_test_tuple() {
    // test_gc.GCTests.test_tuple: l = []; t = (l,); l.append(t)
    let l = list();
    let t = Gc::new(Obj::Tuple(vec![l.clone()]));
    append(&l, &t);
    gc::collect();
    drop(t);
    drop(l);
    assert_eq!(gc::collect(), 2);
}

#[test]
fn gc_tests_test_instance() {
    // test_gc.GCTests.test_instance: a = A(); a.a = a
    // (CPython 3.11+ counts 1: the instance; no __dict__ is made.)
    let a = instance();
    set_attr(&a, "a", &a);
    gc::collect();
    drop(a);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn gc_tests_test_method() {
    // test_gc.GCTests.test_method: self.init = self.__init__ (a bound method
    // referencing its instance), a cycle through the method object.
    let a = instance();
    let function = Gc::new(Obj::Function(RefCell::new(None)));
    let bound = Gc::new(Obj::Method(a.clone()));
    set_attr(&a, "init", &bound);
    drop((bound, function));
    gc::collect();
    drop(a);
    assert_eq!(gc::collect(), 2, "the instance and the bound method");
}

#[test]
fn gc_tests_test_function() {
    // test_gc.GCTests.test_function: f -> globals dict -> f
    let globals = Gc::new(Obj::Dict(RefCell::new(HashMap::new())));
    let f = Gc::new(Obj::Function(RefCell::new(Some(globals.clone()))));
    if let Obj::Dict(map) = &*globals {
        map.borrow_mut().insert(0, f.clone());
    }
    drop(f);
    gc::collect();
    drop(globals);
    assert_eq!(gc::collect(), 2);
}

#[test]
fn gc_tests_test_is_tracked() {
    // test_gc.GCTests.test_is_tracked: atoms are not tracked, containers are.
    assert!(!gc::is_tracked(&Gc::new(0i64)));
    assert!(!gc::is_tracked(&Gc::new(String::from("a"))));
    assert!(!gc::is_tracked(&Gc::new(1.5f64)));
    assert!(!gc::is_tracked(&Gc::new(())));
    assert!(gc::is_tracked(&int(1)), "an Obj may hold objects: tracked");
    assert!(gc::is_tracked(&list()));
    assert!(gc::is_tracked(&instance()));
}

#[test]
fn gc_tests_test_get_referents_of_containers() {
    // test_gc.GCTests.test_get_referents: a list's and a dict's referents
    let items = [int(1), int(3), int(5)];
    let l = list();
    for i in &items {
        append(&l, i);
    }
    let mut got: Vec<i64> = gc::get_referents(&GcAny::from(&l))
        .iter()
        .map(|o| match &*o.downcast::<Obj>().unwrap() {
            Obj::Int(i) => *i,
            _ => unreachable!(),
        })
        .collect();
    got.sort();
    assert_eq!(got, [1, 3, 5]);
    let d = Gc::new(Obj::Dict(RefCell::new(HashMap::from([
        (1, int(3)),
        (5, int(7)),
    ]))));
    assert_eq!(
        gc::get_referents(&GcAny::from(&d)).len(),
        2,
        "the values (keys are plain ints)"
    );
    assert!(
        gc::get_referents(&GcAny::from(&int(1))).is_empty(),
        "atoms refer to nothing"
    );
}

/// Counts its finalizer calls; every 17th call collects (test_trashcan's
/// `Ouch`).
#[derive(Trace)]
#[trace(finalize)]
struct Ouch {
    #[trace(skip)]
    calls: Rc<Cell<usize>>,
}

impl Finalize for Ouch {
    fn finalize(&self) {
        self.calls.set(self.calls.get() + 1);
        if self.calls.get().is_multiple_of(17) {
            gc::collect();
        }
    }
}

#[derive(Trace)]
struct Nest {
    inner: Option<Gc<Nest>>,
    ouch: Gc<Ouch>,
}

#[test]
fn gc_tests_test_trashcan() {
    // test_gc.GCTests.test_trashcan: deeply nested containers whose items'
    // finalizers run collections, torn down while automatic collection is on.
    let calls = Rc::new(Cell::new(0));
    let n = 150;
    for _ in 0..2 {
        let mut t: Option<Gc<Nest>> = None;
        for _ in 0..n {
            t = Some(Gc::new(Nest {
                inner: t,
                ouch: Gc::new(Ouch {
                    calls: calls.clone(),
                }),
            }));
        }
        drop(t);
    }
    gc::collect();
    assert_eq!(calls.get(), 2 * n);
}

#[test]
fn gc_tests_test_del() {
    // test_gc.GCTests.test_del: a finalizer that allocates, with threshold 1,
    // so that it triggers collections.
    #[derive(Trace)]
    #[trace(finalize)]
    struct A {
        me: RefCell<Option<Gc<A>>>,
    }
    impl Finalize for A {
        fn finalize(&self) {
            for _ in 0..5 {
                drop(list()); // allocates tracked objects: collections run
            }
        }
    }
    let thresholds = gc::get_threshold();
    gc::set_threshold(1, 10, 10);
    let a = Gc::new(A {
        me: RefCell::new(None),
    });
    drop(a);
    let b = Gc::new(A {
        me: RefCell::new(None),
    });
    *b.me.borrow_mut() = Some(b.clone());
    drop(b);
    gc::collect();
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    assert_eq!(gc::collect(), 0);
}

/// `Boom`: asking it anything during a collection deletes its attribute
/// (`__getattr__` in CPython); here, its `trace` does, on the first or on
/// the second call.
struct Boom {
    attr: RefCell<Option<Gc<Boom>>>,
    calls: Cell<usize>,
    /// Delete on this call (1 = `Boom`, 2 = `Boom2`).
    delete_on: usize,
    drops: Rc<Cell<usize>>,
}

impl Drop for Boom {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

impl Trace for Boom {
    fn trace(&self, tracer: &mut Tracer) {
        self.calls.set(self.calls.get() + 1);
        if self.calls.get() >= self.delete_on {
            drop(self.attr.borrow_mut().take());
        }
        self.attr.trace(tracer);
    }
}

fn boom_pair(delete_on: usize) -> (usize, usize, usize) {
    let drops = Rc::new(Cell::new(0));
    let mk = || {
        Gc::new(Boom {
            attr: RefCell::new(None),
            calls: Cell::new(0),
            delete_on,
            drops: drops.clone(),
        })
    };
    let (a, b) = (mk(), mk());
    *a.attr.borrow_mut() = Some(b.clone());
    *b.attr.borrow_mut() = Some(a.clone());
    gc::collect();
    let weak = Gc::downgrade(&a);
    drop((a, b));
    let found = gc::collect();
    let garbage = gc::garbage().len();
    assert_eq!(garbage, 0);
    let a = weak.upgrade().expect("an untrusted cycle is kept");
    let calls = a.calls.get() + a.attr.borrow().as_ref().map_or(0, |b| b.calls.get());
    // Broken by hand, the pair goes by counting.
    let b = a.attr.borrow_mut().take().unwrap();
    drop(b.attr.borrow_mut().take());
    drop((a, b));
    (found, drops.get(), calls)
}

#[test]
fn gc_tests_test_boom() {
    // test_gc.GCTests.test_boom: in CPython the trash graph is mutated (and
    // freed by counting) while the collector traverses it. In recycle a
    // `trace` that does that is not trusted (it takes `unsafe` to be), and
    // the collector never calls an untrusted `trace`: the graph cannot
    // change under it. The pair, whose edges are never subtracted, is kept;
    // nothing crashes, and each object is freed exactly once.
    let (found, drops, calls) = boom_pair(1);
    assert_eq!(found, 0);
    assert_eq!(calls, 0, "the collector never ran the untrusted trace");
    assert_eq!(drops, 2);
}

#[test]
fn gc_tests_test_boom2() {
    // test_gc.GCTests.test_boom2: the mutation on the second traversal;
    // the same holds.
    let (found, drops, calls) = boom_pair(2);
    assert_eq!(found, 0);
    assert_eq!(calls, 0, "the collector never ran the untrusted trace");
    assert_eq!(drops, 2);
}

#[test]
fn gc_tests_test_bug21435() {
    // test_gc.GCTests.test_bug21435: a finalizer that runs a collection
    // while a cycle is being collected.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Collector {
        other: RefCell<Option<Gc<Collector>>>,
        #[trace(skip)]
        saw: Rc<Cell<Option<usize>>>,
    }
    impl Finalize for Collector {
        fn finalize(&self) {
            self.saw.set(Some(gc::collect()));
        }
    }
    let saw = Rc::new(Cell::new(None));
    let a = Gc::new(Collector {
        other: RefCell::new(None),
        saw: saw.clone(),
    });
    let b = Gc::new(Collector {
        other: RefCell::new(Some(a.clone())),
        saw: saw.clone(),
    });
    *a.other.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(gc::collect(), 2);
    assert_eq!(saw.get(), Some(0));
}
