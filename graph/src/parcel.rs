//! Parcels: data the control side hands to one node's processor while it runs (an instrument to
//! play, a wavetable), and the way back for it once the processor is done with it, so that the
//! audio thread never frees anything.
//!
//! A processor receives a [`Parcel`] in [`crate::Processor::receive`], keeps it as long as it
//! needs it (a sampler keeps an instrument until its last voice that plays it ends) and then
//! gives it to [`Retire`], which queues it for the control thread to drop in
//! [`crate::Engine::maintain`].

use std::any::Any;
use std::sync::atomic::Ordering;

use crate::{ExecutorStatus, NodeId};

/// A boxed value on its way to, or held by, a processor. Created on the control thread (which
/// allocates); moved to the audio thread and back without allocating or freeing.
pub struct Parcel {
    value: Box<dyn Any + Send>,
    /// The node it was sent to (set by [`crate::Engine::send_parcel`]).
    pub(crate) addressee: Option<NodeId>,
    /// Sent back unused by its processor ([`Retire::refuse`]).
    pub(crate) refused: bool,
}

impl Parcel {
    /// Wraps `value` (allocates: control thread only).
    pub fn new<T: Any + Send>(value: T) -> Self {
        Self { value: Box::new(value), addressee: None, refused: false }
    }

    /// The value, if it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }

    /// The value, mutably, if it is a `T`.
    pub fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.value.downcast_mut()
    }

    /// Whether the value is a `T`.
    pub fn is<T: Any>(&self) -> bool {
        self.value.is::<T>()
    }
}

impl std::fmt::Debug for Parcel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parcel(..)")
    }
}

/// The audio thread's way to let go of a [`Parcel`]: it travels back to the control thread to
/// be dropped there.
pub struct Retire<'a> {
    pub(crate) queue: &'a mut rtrb::Producer<Parcel>,
    pub(crate) status: &'a ExecutorStatus,
}

impl Retire<'_> {
    /// Sends `parcel` back to be freed. If the queue is full (the control thread has not run
    /// `maintain` for a long time) the parcel is returned: keep it and try again later.
    pub fn retire(&mut self, parcel: Parcel) -> Result<(), Parcel> {
        self.queue.push(parcel).map_err(|rtrb::PushError::Full(p)| p)
    }

    /// Sends back a parcel the processor will not use (not meant for it, or no room to keep
    /// it), so that the control side learns its node did not take it
    /// ([`crate::Engine::take_refused_parcels`]). Call it from [`crate::Processor::receive`]
    /// before retiring anything else: the executor hands over a parcel only when the queue has
    /// room for one.
    pub fn refuse(&mut self, mut parcel: Parcel) {
        parcel.refused = true;
        self.status.refused_parcels.fetch_add(1, Ordering::Relaxed);
        self.retire_or_leak(parcel);
    }

    /// Like [`Retire::retire`], for callers with nowhere to keep the parcel. The executor calls
    /// [`crate::Processor::receive`] only when the queue has room for one parcel, so the first
    /// parcel a `receive` gives up always fits; should the queue be full anyway, the parcel is
    /// leaked (never freed here) and counted in [`ExecutorStatus::leaked_parcels`].
    pub fn retire_or_leak(&mut self, parcel: Parcel) {
        if let Err(parcel) = self.retire(parcel) {
            std::mem::forget(parcel);
            self.status.leaked_parcels.fetch_add(1, Ordering::Relaxed);
        }
    }
}
