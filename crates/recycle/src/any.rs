//! [`GcAny`]: a strong handle whose type is known only at run time, as the
//! objects `gc::get_objects` and `gc::get_referrers` return.

use core::any::TypeId;
use core::fmt;
use core::ptr::NonNull;

use crate::gc_box::GcBox;
use crate::handle::Gc;
use crate::header::GcHeader;
use crate::trace::{Trace, Tracer, Trust};

/// A type-erased strong handle: it keeps its object alive like a [`Gc`],
/// tells its type's name, and converts back with [`GcAny::downcast`].
///
/// ```
/// use recycle::{Gc, GcAny};
///
/// let any = GcAny::from(Gc::new(7u32));
/// assert_eq!(any.type_name(), "u32");
/// assert_eq!(*any.downcast::<u32>().unwrap(), 7);
/// assert!(any.downcast::<String>().is_none());
/// ```
pub struct GcAny {
    header: NonNull<GcHeader>,
}

impl GcAny {
    /// Takes a new strong count on the object with this header.
    ///
    /// # Safety
    ///
    /// - `header` belongs to a live allocation (a handle to it exists, or it
    ///   is listed), with provenance over the whole allocation. The value may
    ///   be destroyed: a `GcAny` never reads it.
    pub(crate) unsafe fn from_header(header: NonNull<GcHeader>) -> GcAny {
        // SAFETY: per the contract.
        unsafe { header.as_ref() }.inc_strong();
        GcAny { header }
    }

    pub(crate) fn header_ptr(&self) -> NonNull<GcHeader> {
        self.header
    }

    fn header(&self) -> &GcHeader {
        // SAFETY: a strong handle keeps the allocation alive.
        unsafe { self.header.as_ref() }
    }

    fn vtable(&self) -> &'static crate::gc_box::VTable {
        // SAFETY: a strong handle keeps the allocation alive; its pointer
        // has provenance over all of it.
        unsafe { crate::header::vtable(self.header) }
    }

    /// The name of the object's type, as `core::any::type_name`.
    pub fn type_name(&self) -> &'static str {
        (self.vtable().type_name)()
    }

    /// Is the object's type `T`?
    pub fn is<T: 'static>(&self) -> bool {
        (self.vtable().type_id)() == TypeId::of::<T>()
    }

    /// A `Gc<T>` to the object, if its type is `T`.
    pub fn downcast<T: 'static>(&self) -> Option<Gc<T>> {
        if !self.is::<T>() {
            return None;
        }
        self.header().inc_strong();
        // The header is the first field of the `GcBox<T>` the object was
        // allocated as (checked by the type id above).
        Some(Gc::from_inner(self.header.cast::<GcBox<T>>()))
    }

    /// Do both handles point to the same object?
    pub fn ptr_eq(&self, other: &GcAny) -> bool {
        self.header == other.header
    }

    /// The object's strong count (this handle included).
    pub fn strong_count(&self) -> usize {
        self.header().strong() as usize
    }
}

impl<T: ?Sized + 'static> From<Gc<T>> for GcAny {
    fn from(gc: Gc<T>) -> GcAny {
        let header = gc.header_ptr();
        core::mem::forget(gc);
        GcAny { header }
    }
}

impl<T: ?Sized + 'static> From<&Gc<T>> for GcAny {
    fn from(gc: &Gc<T>) -> GcAny {
        GcAny::from(gc.clone())
    }
}

impl Clone for GcAny {
    fn clone(&self) -> GcAny {
        self.header().inc_strong();
        GcAny {
            header: self.header,
        }
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        if self.header().release_strong() {
            // SAFETY: the handle being dropped: its pointer, to an object
            // whose count it just gave up.
            unsafe { crate::destroy::release_slow(self.header) }
        }
    }
}

impl PartialEq for GcAny {
    /// Identity, as Python's `is`: the object has no known value type.
    fn eq(&self, other: &GcAny) -> bool {
        self.ptr_eq(other)
    }
}

impl Eq for GcAny {}

impl core::hash::Hash for GcAny {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.header.hash(state)
    }
}

impl fmt::Debug for GcAny {
    /// `<type at address>`, like Python's default repr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} at {:p}>", self.type_name(), self.header)
    }
}

/// A `GcAny` is a strong handle: it reports its object, as a `Gc` does.
impl Trace for GcAny {
    // SAFETY: `trace` reports exactly this handle, once; it is owned by
    // whatever owns this `GcAny`.
    const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });
    /// A handle always points to the same object.
    const FIXED_EDGES: bool = true;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        tracer.visit(self.header_ptr())
    }
}
