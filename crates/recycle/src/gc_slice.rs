//! `Gc<[T]>` and `Gc<str>`: their conversions, as `Rc<[T]>` and `Rc<str>`
//! have them. The allocation is `gc_box::slice`'s.

use core::panic::Location;
use core::ptr::{self, NonNull};

use crate::gc_box::{GcBox, allocate_slice, allocate_str};
use crate::handle::Gc;
use crate::heap::with_heap;
use crate::trace::Trace;

impl<T: Trace + 'static> Gc<[T]> {
    /// Moves the elements of `vec` into a new slice object.
    #[track_caller]
    fn from_vec(mut vec: Vec<T>) -> Gc<[T]> {
        let site = Location::caller();
        let len = vec.len();
        let boxed = with_heap(|heap| allocate_slice::<T, [T]>(heap, len, site));
        // SAFETY: the object has room for `len` elements, uninitialized;
        // they are moved bitwise, and `set_len(0)` makes `vec` give up
        // its claim to them (dropping it then frees only its buffer).
        unsafe {
            let elements = (&raw mut (*boxed.as_ptr()).value).cast::<T>();
            ptr::copy_nonoverlapping(vec.as_ptr(), elements, len);
            vec.set_len(0);
        }
        drop(vec);
        // SAFETY: the value is initialized; the first strong count.
        unsafe { (*boxed.as_ptr()).header.set_strong(1) };
        let gc = Gc::from_inner(boxed);
        if T::MAY_CONTAIN_GC {
            // SAFETY: `allocate_slice` gives an element type that may hold a
            // `Gc` its links; the elements are written; in no list yet.
            unsafe { gc.track() };
        }
        gc
    }
}

impl Gc<str> {
    /// Copies `text` into a new object.
    #[track_caller]
    fn from_text(text: &str) -> Gc<str> {
        let site = Location::caller();
        let boxed = with_heap(|heap| allocate_str(heap, text.len(), site));
        // SAFETY: room for `text.len()` bytes, uninitialized; then the
        // first strong count. A `[u8]` holds no `Gc`: never tracked.
        unsafe {
            let bytes = (&raw mut (*boxed.as_ptr()).value).cast::<u8>();
            ptr::copy_nonoverlapping(text.as_ptr(), bytes, text.len());
            (*boxed.as_ptr()).header.set_strong(1);
        }
        // `GcBox<[u8]>` and `GcBox<str>` have the same layout and metadata,
        // and the bytes are valid UTF-8 (copied from a `str`).
        let boxed = boxed.as_ptr() as *mut GcBox<str>;
        // SAFETY: derived from a non-null pointer.
        Gc::from_inner(unsafe { NonNull::new_unchecked(boxed) })
    }
}

/// Moves the elements into one new object (`Vec`'s buffer is freed).
///
/// ```
/// use recycle::Gc;
///
/// let numbers: Gc<[u32]> = Gc::from(vec![1, 2, 3]);
/// assert_eq!(&numbers[..], [1, 2, 3]);
/// ```
impl<T: Trace + 'static> From<Vec<T>> for Gc<[T]> {
    #[track_caller]
    fn from(vec: Vec<T>) -> Self {
        Gc::from_vec(vec)
    }
}

/// Clones the elements into a new object.
impl<T: Trace + Clone + 'static> From<&[T]> for Gc<[T]> {
    #[track_caller]
    fn from(slice: &[T]) -> Self {
        Gc::from_vec(slice.to_vec())
    }
}

/// Clones the elements into a new object.
impl<T: Trace + Clone + 'static> From<&mut [T]> for Gc<[T]> {
    #[track_caller]
    fn from(slice: &mut [T]) -> Self {
        Gc::from_vec(slice.to_vec())
    }
}

/// Moves the elements into a new object.
impl<T: Trace + 'static, const N: usize> From<[T; N]> for Gc<[T]> {
    #[track_caller]
    fn from(array: [T; N]) -> Self {
        Gc::from_vec(Vec::from(array))
    }
}

/// Moves the elements out of the box into a new object.
impl<T: Trace + 'static> From<Box<[T]>> for Gc<[T]> {
    #[track_caller]
    fn from(boxed: Box<[T]>) -> Self {
        Gc::from_vec(boxed.into_vec())
    }
}

/// Moves the value out of the box into a new object.
impl<T: Trace + 'static> From<Box<T>> for Gc<T> {
    #[track_caller]
    fn from(boxed: Box<T>) -> Self {
        Gc::new(*boxed)
    }
}

/// Collects the elements into one new object.
///
/// ```
/// use recycle::Gc;
///
/// let squares: Gc<[u64]> = (1..=4).map(|n| n * n).collect();
/// assert_eq!(&squares[..], [1, 4, 9, 16]);
/// ```
impl<T: Trace + 'static> FromIterator<T> for Gc<[T]> {
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Gc::from_vec(iter.into_iter().collect())
    }
}

/// An empty slice.
impl<T: Trace + 'static> Default for Gc<[T]> {
    #[track_caller]
    fn default() -> Self {
        Gc::from_vec(Vec::new())
    }
}

/// Copies the text into a new object.
///
/// ```
/// use recycle::Gc;
///
/// let name: Gc<str> = Gc::from("recycle");
/// assert_eq!(&*name, "recycle");
/// ```
impl From<&str> for Gc<str> {
    #[track_caller]
    fn from(text: &str) -> Self {
        Gc::from_text(text)
    }
}

/// Copies the text into a new object.
impl From<&mut str> for Gc<str> {
    #[track_caller]
    fn from(text: &mut str) -> Self {
        Gc::from_text(text)
    }
}

/// Copies the text into a new object (the `String`'s buffer is freed).
impl From<String> for Gc<str> {
    #[track_caller]
    fn from(text: String) -> Self {
        Gc::from_text(&text)
    }
}

/// Copies the text into a new object.
impl From<Box<str>> for Gc<str> {
    #[track_caller]
    fn from(text: Box<str>) -> Self {
        Gc::from_text(&text)
    }
}

/// An empty string.
impl Default for Gc<str> {
    #[track_caller]
    fn default() -> Self {
        Gc::from_text("")
    }
}
