//! `Trace` for the containers of other crates that interpreters use, each
//! behind the feature of the same name.

use super::{Trace, Tracer, Trust, trusted_if};

/// Maps: trace every key and value.
#[allow(unused_macros)]
macro_rules! map_trace {
    ($($map:ident)::+) => {
        impl<K: Trace, V: Trace, S> Trace for $($map)::+<K, V, S> {
            const MAY_CONTAIN_GC: bool = K::MAY_CONTAIN_GC || V::MAY_CONTAIN_GC;
            const FIXED_EDGES: bool = K::FIXED_EDGES && V::FIXED_EDGES;
            const TRUSTED: Option<Trust<Self>> =
                // SAFETY: `trace` below calls the `trace` of each key and
                // value it owns once, and nothing else; trusted only if both
                // types are.
                unsafe { trusted_if(K::TRUSTED.is_some() && V::TRUSTED.is_some()) };
            fn trace(&self, tracer: &mut Tracer) {
                for (key, value) in self {
                    key.trace(tracer);
                    value.trace(tracer);
                }
            }
        }
    };
}

/// Sets: trace every member.
#[allow(unused_macros)]
macro_rules! set_trace {
    ($($set:ident)::+) => {
        impl<T: Trace, S> Trace for $($set)::+<T, S> {
            const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
            const FIXED_EDGES: bool = T::FIXED_EDGES;
            // SAFETY: `trace` below calls the `trace` of each member it owns
            // once, and nothing else; trusted only if the members' type is.
            const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
            fn trace(&self, tracer: &mut Tracer) {
                for member in self {
                    member.trace(tracer);
                }
            }
        }
    };
}

#[cfg(feature = "indexmap")]
map_trace!(indexmap::IndexMap);
#[cfg(feature = "indexmap")]
set_trace!(indexmap::IndexSet);
#[cfg(feature = "hashbrown")]
map_trace!(hashbrown::HashMap);
#[cfg(feature = "hashbrown")]
set_trace!(hashbrown::HashSet);

#[cfg(feature = "smallvec")]
impl<A: smallvec::Array> Trace for smallvec::SmallVec<A>
where
    A::Item: Trace,
{
    const MAY_CONTAIN_GC: bool = <A::Item as Trace>::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = <A::Item as Trace>::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each item it owns once, and
    // nothing else; trusted only if the items' type is.
    const TRUSTED: Option<Trust<Self>> =
        unsafe { trusted_if(<A::Item as Trace>::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        for item in self {
            item.trace(tracer);
        }
    }
}
