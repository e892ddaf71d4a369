//! `Serialize` and `Deserialize` for [`Gc`] and [`Weak`], with the
//! `serde` feature: what serde's `rc` feature gives `Rc` and `rc::Weak`.
//!
//! - A `Gc` is written as its value. Handles that share one object are
//!   each written in full, and reading them back makes one object per
//!   handle: sharing is not kept (serde has no notion of identity).
//! - A `Gc` that is reached again while its own value is being written (a
//!   cycle) is an error, `"a cycle of Gc handles cannot be serialized"`,
//!   rather than the unbounded recursion that `Rc` runs into. Write one
//!   direction of each cycle as a `Weak` (or an id) to break it.
//! - A `Weak` is written as an `Option` of its value (`None` once it no
//!   longer upgrades). Reading one back gives an empty `Weak`, which never
//!   upgrades: nothing else owns the value it would point to.

use core::cell::RefCell;
use std::collections::HashSet;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Error, Serialize, Serializer};

use crate::trace::Trace;
use crate::{Gc, Weak};

thread_local! {
    /// The objects whose values this thread is writing, by address.
    static BEING_WRITTEN: RefCell<HashSet<usize>> = RefCell::new(HashSet::new());
}

/// Marks an object as being written until dropped.
struct Writing(usize);

impl Writing {
    /// `None` if the object is already being written: a cycle.
    fn start(address: usize) -> Option<Writing> {
        BEING_WRITTEN
            .with(|set| set.borrow_mut().insert(address))
            .then_some(Writing(address))
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        // During thread teardown the set may be gone: nothing to undo then.
        let _ = BEING_WRITTEN.try_with(|set| set.borrow_mut().remove(&self.0));
    }
}

impl<T: Serialize + ?Sized> Serialize for Gc<T> {
    /// Writes the value. Errors on a cycle, and on a value the cycle
    /// collector has destroyed (see [`Gc::try_deref`]).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(value) = Gc::try_deref(self) else {
            return Err(S::Error::custom(
                "a Gc whose value the cycle collector destroyed cannot be serialized",
            ));
        };
        let address = Gc::as_ptr(self).cast::<()>().addr();
        let Some(_writing) = Writing::start(address) else {
            return Err(S::Error::custom(
                "a cycle of Gc handles cannot be serialized: write one direction of the \
                 cycle as a Weak (or an id)",
            ));
        };
        value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Trace + 'static> Deserialize<'de> for Gc<T> {
    /// Reads a value into a new object.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Gc::new)
    }
}

impl<T: Serialize + ?Sized> Serialize for Weak<T> {
    /// Writes `Some(value)` if the handle upgrades, `None` otherwise.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.upgrade().serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Weak<T> {
    /// Reads (and drops) an `Option` of the value; gives an empty `Weak`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|_| Weak::new())
    }
}
