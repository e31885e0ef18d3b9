//! Buffer reuse by liveness: a run of buffers returns to the free list when its last reader
//! has run.
//!
//! Signal ports are allocated as *runs*: a port's channels are adjacent buffers of the pool, so
//! a processor finds channel `c` of a port at `first + c` without a per-channel table (one
//! lookup per port on the audio thread instead of one per channel).

use std::collections::HashMap;

/// Hands out runs of consecutive buffer indices, reusing released runs of the same length
/// (most recently released first, which keeps a chain's working set small and hot in cache).
pub(super) struct Allocator {
    /// Released runs by length.
    free: HashMap<u16, Vec<u32>>,
    count: u32,
    /// Readers still to come, per run (indexed by the run's first buffer).
    pending_readers: Vec<u32>,
    /// Length of the run starting at each buffer (0 inside a run or for reserved buffers).
    run_len: Vec<u16>,
    reserved: u32,
}

impl Allocator {
    /// An allocator whose first `reserved` indices (the silent or empty buffers) are never
    /// handed out.
    pub(super) fn new(reserved: u32) -> Self {
        let reserved = reserved.max(1);
        Self {
            free: HashMap::new(),
            count: reserved,
            pending_readers: vec![0; reserved as usize],
            run_len: vec![0; reserved as usize],
            reserved,
        }
    }

    /// A run of `len` buffers that `readers` steps will read before it can be reused; returns
    /// its first index. A run with no readers must be released by the caller right after its
    /// writer.
    pub(super) fn allocate(&mut self, readers: u32, len: u16) -> u32 {
        let len = len.max(1);
        let first = self.free.get_mut(&len).and_then(Vec::pop).unwrap_or_else(|| {
            let first = self.count;
            self.count += len as u32;
            self.pending_readers.resize(self.count as usize, 0);
            self.run_len.resize(self.count as usize, 0);
            self.run_len[first as usize] = len;
            first
        });
        self.pending_readers[first as usize] = readers.max(1);
        first
    }

    /// One reader is done with the run starting at `first`; frees it after the last one.
    /// Reserved buffers are never freed.
    pub(super) fn release(&mut self, first: u32) {
        if first < self.reserved {
            return;
        }
        let r = &mut self.pending_readers[first as usize];
        debug_assert!(*r > 0, "buffer run {first} released more often than read");
        *r = r.saturating_sub(1);
        if *r == 0 {
            let len = self.run_len[first as usize];
            self.free.entry(len).or_default().push(first);
        }
    }

    /// How many buffers (including the reserved ones) the plan needs.
    pub(super) fn count(&self) -> u32 {
        self.count
    }
}
