//! An owning pointer whose contents the executor may also reach through copies of its raw
//! pointer: the run list built when a plan is adopted points straight at each node's processor
//! and parameter state, so running a plan does not look nodes up in the slot table.
//!
//! A plain `Box` asserts unique access whenever it is used, which would invalidate such copies
//! (under Rust's aliasing rules, not just in theory); every access here goes through the one
//! raw pointer, so copies of it stay valid until the box is dropped.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// A heap allocation owned like a `Box`, whose address can be shared as a raw pointer.
///
/// Whoever dereferences a copy of [`AliasBox::as_non_null`] must make sure the box is still
/// alive and that no reference obtained through `Deref`/`DerefMut` is in use at the time.
pub(crate) struct AliasBox<T: ?Sized> {
    ptr: NonNull<T>,
}

impl<T: ?Sized> AliasBox<T> {
    /// Takes ownership of `boxed`.
    pub(crate) fn new(boxed: Box<T>) -> Self {
        // SAFETY: `Box::into_raw` never returns null.
        Self { ptr: unsafe { NonNull::new_unchecked(Box::into_raw(boxed)) } }
    }

    /// The address of the contents, for the run list (see the type's contract).
    pub(crate) fn as_non_null(&self) -> NonNull<T> {
        self.ptr
    }
}

impl<T: ?Sized> Deref for AliasBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the pointer came from a live `Box` that this value owns; shared access
        // through `&self` follows the usual borrow rules.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for AliasBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference made through the
        // box, and users of raw copies do not overlap with it (the type's contract).
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: ?Sized> Drop for AliasBox<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` and is dropped exactly once, here.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

// SAFETY: an `AliasBox<T>` owns its `T` exactly as `Box<T>` does; raw copies of its pointer
// are only used on the thread that owns the box (the audio thread).
unsafe impl<T: ?Sized + Send> Send for AliasBox<T> {}
// SAFETY: shared access only hands out `&T`, as `Box<T>` does.
unsafe impl<T: ?Sized + Sync> Sync for AliasBox<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_copies_see_writes_made_through_the_box_and_the_value_is_dropped_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted(u32);
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        let mut b = AliasBox::new(Box::new(Counted(1)));
        let raw = b.as_non_null();
        b.0 = 2;
        // SAFETY: the box is alive and no reference through it is in use.
        assert_eq!(unsafe { raw.as_ref() }.0, 2);
        // SAFETY: as above.
        unsafe { (*raw.as_ptr()).0 = 3 };
        assert_eq!(b.0, 3);
        drop(b);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    }
}
