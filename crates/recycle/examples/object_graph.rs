//! A tiny interpreter-style object model: objects with attribute tables,
//! a finalizer (Python's `__del__`), a weak cache, and the `gc` module's
//! introspection to find who keeps an object alive.
//!
//! `cargo run -p recycle --example object_graph`

use std::cell::RefCell;
use std::collections::BTreeMap;

use recycle::weakref::WeakValueMap;
use recycle::{Finalize, Gc, GcAny, Trace, gc};

/// An object: a class name and attributes.
#[derive(Trace)]
#[trace(finalize)]
struct Object {
    class: &'static str,
    attrs: RefCell<BTreeMap<String, Gc<Object>>>,
}

impl Object {
    fn new(class: &'static str) -> Gc<Object> {
        Gc::new(Object {
            class,
            attrs: RefCell::new(BTreeMap::new()),
        })
    }

    fn set(&self, name: &str, value: &Gc<Object>) {
        self.attrs
            .borrow_mut()
            .insert(name.to_string(), value.clone());
    }
}

impl Finalize for Object {
    /// Runs once before the object goes, with everything it sees intact.
    fn finalize(&self) {
        let names: Vec<_> = self.attrs.borrow().keys().cloned().collect();
        println!("  __del__ of a {} (attributes {names:?})", self.class);
    }
}

fn main() {
    let cache: WeakValueMap<&str, Object> = WeakValueMap::new();

    // A module whose function refers back to the module: a cycle.
    let module = Object::new("module");
    let function = Object::new("function");
    module.set("main", &function);
    function.set("__globals__", &module);
    cache.insert("module", &module);

    // Who refers to the function?
    let referrers = gc::get_referrers(&[GcAny::from(&function)]);
    let classes: Vec<_> = referrers
        .iter()
        .map(|r| r.downcast::<Object>().unwrap().class)
        .collect();
    println!("the function is referred to by: {classes:?}");
    assert_eq!(classes, ["module"]);
    // Handles from introspection keep their objects alive, like any handle.
    drop(referrers);

    drop(function);
    drop(module);
    println!(
        "handles dropped; the cache still sees the module: {}",
        cache.contains_key("module")
    );

    println!("gc::collect():");
    let freed = gc::collect();
    println!(
        "freed {freed} objects; the cache is now empty: {}",
        cache.is_empty()
    );
    assert_eq!(freed, 2);
    assert!(cache.is_empty());

    let stats = gc::get_stats();
    println!("full collections so far: {}", stats[2].collections);
}
