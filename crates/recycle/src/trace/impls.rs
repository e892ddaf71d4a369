//! `Trace` for std types.

use core::cell::{Cell, RefCell};
use core::marker::PhantomData;
use core::ptr;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};

use super::{Trace, Tracer, Trust, trusted_if};

/// Types that never hold a `Gc`: untracked, nothing to trace.
macro_rules! leaf_trace {
    ($($t:ty),* $(,)?) => {$(
        impl Trace for $t {
            const MAY_CONTAIN_GC: bool = false;
            // SAFETY: `trace` below reports nothing.
            const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
            #[inline(always)]
            fn trace(&self, _: &mut Tracer) {}
        }
    )*};
}

leaf_trace!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    core::cmp::Ordering,
    core::ops::RangeFull,
    core::any::TypeId,
    core::marker::PhantomPinned,
    core::alloc::Layout,
    core::num::NonZeroU8,
    core::num::NonZeroU16,
    core::num::NonZeroU32,
    core::num::NonZeroU64,
    core::num::NonZeroU128,
    core::num::NonZeroUsize,
    core::num::NonZeroI8,
    core::num::NonZeroI16,
    core::num::NonZeroI32,
    core::num::NonZeroI64,
    core::num::NonZeroI128,
    core::num::NonZeroIsize,
    core::sync::atomic::AtomicBool,
    core::sync::atomic::AtomicU8,
    core::sync::atomic::AtomicU16,
    core::sync::atomic::AtomicU32,
    core::sync::atomic::AtomicU64,
    core::sync::atomic::AtomicUsize,
    core::sync::atomic::AtomicI8,
    core::sync::atomic::AtomicI16,
    core::sync::atomic::AtomicI32,
    core::sync::atomic::AtomicI64,
    core::sync::atomic::AtomicIsize,
    std::ffi::CStr,
    std::ffi::CString,
    std::ffi::OsStr,
    std::ffi::OsString,
    std::path::Path,
    std::path::PathBuf,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
    std::net::SocketAddr,
    std::net::SocketAddrV4,
    std::net::SocketAddrV6,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::thread::ThreadId,
);

/// Function pointers: code, and no data that could hold a `Gc`. (A closure
/// that captures handles is another matter: see [`crate::TracedFn`].)
macro_rules! fn_pointer_trace {
    ($(($($arg:ident),*)),* $(,)?) => {$(
        fn_pointer_trace!(@one fn($($arg),*) -> R; $($arg),*);
        fn_pointer_trace!(@one unsafe fn($($arg),*) -> R; $($arg),*);
        fn_pointer_trace!(@one extern "C" fn($($arg),*) -> R; $($arg),*);
        fn_pointer_trace!(@one unsafe extern "C" fn($($arg),*) -> R; $($arg),*);
    )*};
    (@one $f:ty; $($arg:ident),*) => {
        impl<R $(, $arg)*> Trace for $f {
            const MAY_CONTAIN_GC: bool = false;
            // SAFETY: `trace` below reports nothing.
            const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
            #[inline(always)]
            fn trace(&self, _: &mut Tracer) {}
        }
    };
}

fn_pointer_trace!(
    (),
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F)
);

/// Wrappers that own one value and trace it: `Reverse`, `Wrapping`,
/// `Saturating`, and the ranges (which own their bounds).
macro_rules! wrapper_trace {
    ($($name:ident<$t:ident> => |$v:ident| $body:expr),* $(,)?) => {$(
        impl<$t: Trace> Trace for $name<$t> {
            const MAY_CONTAIN_GC: bool = $t::MAY_CONTAIN_GC;
            const FIXED_EDGES: bool = $t::FIXED_EDGES;
            // SAFETY: `trace` below calls the `trace` of each part it owns once, and
            // nothing else; trusted only if every part's type is.
            const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if($t::TRUSTED.is_some()) };
            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                let $v = self;
                $body(tracer)
            }
        }
    )*};
}

use core::cmp::Reverse;
use core::num::{Saturating, Wrapping};
use core::ops::{Range, RangeFrom, RangeInclusive, RangeTo, RangeToInclusive};

wrapper_trace!(
    Reverse<T> => |v| |t: &mut Tracer| v.0.trace(t),
    Wrapping<T> => |v| |t: &mut Tracer| v.0.trace(t),
    Saturating<T> => |v| |t: &mut Tracer| v.0.trace(t),
    Range<T> => |v| |t: &mut Tracer| { v.start.trace(t); v.end.trace(t) },
    RangeInclusive<T> => |v| |t: &mut Tracer| { v.start().trace(t); v.end().trace(t) },
    RangeFrom<T> => |v| |t: &mut Tracer| v.start.trace(t),
    RangeTo<T> => |v| |t: &mut Tracer| v.end.trace(t),
    RangeToInclusive<T> => |v| |t: &mut Tracer| v.end.trace(t),
);

impl<T: ?Sized> Trace for &'static T {
    /// A shared `'static` reference is owned by nobody: nothing to report.
    const MAY_CONTAIN_GC: bool = false;
    // SAFETY: `trace` below reports nothing.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
    fn trace(&self, _: &mut Tracer) {}
}

impl<T: ?Sized> Trace for PhantomData<T> {
    const MAY_CONTAIN_GC: bool = false;
    // SAFETY: `trace` below reports nothing.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
    fn trace(&self, _: &mut Tracer) {}
}

impl<T: Trace + ?Sized> Trace for Box<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        let value: &T = self;
        if tracer.prefetched_buffer(ptr::from_ref(value).cast(), size_of_val(value)) {
            return;
        }
        value.trace(tracer)
    }
}

impl<T: Trace> Trace for Option<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(v) = self {
            v.trace(tracer)
        }
    }
}

impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC || E::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES && E::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> =
        unsafe { trusted_if(T::TRUSTED.is_some() && E::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        match self {
            Ok(v) => v.trace(tracer),
            Err(e) => e.trace(tracer),
        }
    }
}

/// Sequences: trace every element.
macro_rules! seq_trace {
    ($($name:ident<$t:ident>),* $(,)?) => {$(
        impl<$t: Trace> Trace for $name<$t> {
            const MAY_CONTAIN_GC: bool = $t::MAY_CONTAIN_GC;
            const FIXED_EDGES: bool = $t::FIXED_EDGES;
            // SAFETY: `trace` below calls the `trace` of each part it owns once, and
            // nothing else; trusted only if every part's type is.
            const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if($t::TRUSTED.is_some()) };
            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                for v in self {
                    v.trace(tracer);
                }
            }
        }
    )*};
}

impl<T: Trace> Trace for Vec<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if tracer.prefetched_buffer(self.as_ptr().cast(), size_of_val(self.as_slice())) {
            return;
        }
        for v in self {
            v.trace(tracer);
        }
    }
}

impl<T: Trace> Trace for VecDeque<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        let (front, back) = self.as_slices();
        let prefetched = tracer.prefetched_buffer(front.as_ptr().cast(), size_of_val(front));
        if prefetched {
            tracer.prefetched_buffer(back.as_ptr().cast(), size_of_val(back));
            return;
        }
        for v in self {
            v.trace(tracer);
        }
    }
}

seq_trace!(LinkedList<T>, BinaryHeap<T>, BTreeSet<T>);

impl<T: Trace> Trace for [T] {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        for v in self {
            v.trace(tracer);
        }
    }
}

impl<T: Trace, const N: usize> Trace for [T; N] {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        self.as_slice().trace(tracer)
    }
}

impl<T: Trace, S> Trace for HashSet<T, S> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        for v in self {
            v.trace(tracer);
        }
    }
}

impl<K: Trace, V: Trace, S> Trace for HashMap<K, V, S> {
    const MAY_CONTAIN_GC: bool = K::MAY_CONTAIN_GC || V::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = K::FIXED_EDGES && V::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> =
        unsafe { trusted_if(K::TRUSTED.is_some() && V::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        for (k, v) in self {
            k.trace(tracer);
            v.trace(tracer);
        }
    }
}

impl<K: Trace, V: Trace> Trace for BTreeMap<K, V> {
    const MAY_CONTAIN_GC: bool = K::MAY_CONTAIN_GC || V::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = K::FIXED_EDGES && V::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> =
        unsafe { trusted_if(K::TRUSTED.is_some() && V::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        for (k, v) in self {
            k.trace(tracer);
            v.trace(tracer);
        }
    }
}

/// A `Cell` can only be read by copying, and a `Copy` type cannot own a `Gc`
/// (`Gc` is not `Copy`), so there is never anything to report.
impl<T: Copy + Trace> Trace for Cell<T> {
    const MAY_CONTAIN_GC: bool = false;
    // SAFETY: `trace` below reports nothing.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
    fn trace(&self, _: &mut Tracer) {}
}

/// A `RefCell` that is mutably borrowed while the collector runs cannot be
/// looked into; its owner is then treated as reachable for that collection.
/// Its handles can change (`FIXED_EDGES` keeps its default: `false` when it
/// may hold a `Gc`).
impl<T: Trace + ?Sized> Trace for RefCell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    // SAFETY: `trace` below calls the `trace` of each part it owns once, and
    // nothing else; trusted only if every part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        match self.try_borrow() {
            Ok(value) => value.trace(tracer),
            Err(_) => tracer.keep_alive(),
        }
    }
}

/// Tuples: trace every field.
macro_rules! tuple_trace {
    ($(($($n:tt $t:ident),+)),* $(,)?) => {$(
        impl<$($t: Trace),+> Trace for ($($t,)+) {
            const MAY_CONTAIN_GC: bool = false $(|| $t::MAY_CONTAIN_GC)+;
            const FIXED_EDGES: bool = true $(&& $t::FIXED_EDGES)+;
            const TRUSTED: Option<Trust<Self>> =
                // SAFETY: `trace` below calls the `trace` of each field
                // once, and nothing else; trusted only if every field's is.
                unsafe { trusted_if(true $(&& $t::TRUSTED.is_some())+) };
            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                $(self.$n.trace(tracer);)+
            }
        }
    )*};
}

tuple_trace!(
    (0 A),
    (0 A, 1 B),
    (0 A, 1 B, 2 C),
    (0 A, 1 B, 2 C, 3 D),
    (0 A, 1 B, 2 C, 3 D, 4 E),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L),
);

#[cfg(test)]
mod tests {
    use core::cell::Cell;
    use std::collections::VecDeque;

    use crate::trace::{Trace, TraceAction, Tracer};

    /// Counts how often its `trace` runs.
    struct Counted<'a>(&'a Cell<usize>);

    impl Trace for Counted<'_> {
        fn trace(&self, _: &mut Tracer) {
            self.0.set(self.0.get() + 1);
        }
    }

    /// The runner's shallow pass only loads a container's buffer: it runs
    /// no element's `trace`, which the deep pass after it does.
    #[test]
    fn a_shallow_prefetch_pass_leaves_buffers_unread() {
        let count = Cell::new(0);
        let vec: Vec<Counted> = (0..3).map(|_| Counted(&count)).collect();
        let boxed: Box<[Counted]> = (0..2).map(|_| Counted(&count)).collect();
        // Two slices: the front wrapped around to the end of the buffer.
        let mut deque: VecDeque<Counted> = VecDeque::with_capacity(4);
        for _ in 0..4 {
            deque.push_back(Counted(&count));
        }
        deque.pop_front();
        deque.pop_front();
        deque.push_back(Counted(&count));
        assert!(!deque.as_slices().1.is_empty());

        let mut shallow = Tracer::new(TraceAction::PrefetchBuffers);
        vec.trace(&mut shallow);
        boxed.trace(&mut shallow);
        deque.trace(&mut shallow);
        assert_eq!(count.get(), 0);

        let mut deep = Tracer::new(TraceAction::Prefetch { far: 0 });
        vec.trace(&mut deep);
        boxed.trace(&mut deep);
        deque.trace(&mut deep);
        assert_eq!(count.get(), 3 + 2 + 3);
    }
}
