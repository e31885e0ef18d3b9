//! Buffer reuse by liveness: a buffer returns to the free list when its last reader has run.

/// Hands out buffer indices, reusing released ones (most recently released first, which keeps
/// a chain's working set small and hot in cache).
pub(super) struct Allocator {
    free: Vec<u32>,
    count: u32,
    /// Readers still to come, per buffer.
    pending_readers: Vec<u32>,
}

impl Allocator {
    /// An allocator whose index `reserved` (0) is never handed out.
    pub(super) fn new(reserved: u32) -> Self {
        debug_assert_eq!(reserved, 0);
        Self { free: Vec::new(), count: 1, pending_readers: vec![0] }
    }

    /// A buffer that `readers` steps will read before it can be reused. A buffer with no
    /// readers must be released by the caller right after its writer.
    pub(super) fn allocate(&mut self, readers: u32) -> u32 {
        let b = self.free.pop().unwrap_or_else(|| {
            self.count += 1;
            self.pending_readers.push(0);
            self.count - 1
        });
        self.pending_readers[b as usize] = readers.max(1);
        b
    }

    /// One reader is done with `b`; frees it after the last one.
    pub(super) fn release(&mut self, b: u32) {
        if b == 0 {
            return;
        }
        let r = &mut self.pending_readers[b as usize];
        debug_assert!(*r > 0, "buffer {b} released more often than read");
        *r = r.saturating_sub(1);
        if *r == 0 {
            self.free.push(b);
        }
    }

    /// How many buffers (including the reserved one) the plan needs.
    pub(super) fn count(&self) -> u32 {
        self.count
    }
}
