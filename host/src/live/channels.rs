//! Per-callback lists of channel slices without allocating. A callback receives its buffers
//! anew each time (JACK ports, a cpal data slice split into channels), and the engine wants
//! them as `&mut [&mut [f32]]`; a `Vec` of such slices cannot outlive the callback, so the
//! list keeps only the allocation between callbacks.

use std::mem::ManuallyDrop;

/// The allocation of a `Vec<&mut [f32]>` and a `Vec<&[f32]>`, kept between callbacks.
pub(crate) struct ChannelLists {
    outputs: Vec<&'static mut [f32]>,
    inputs: Vec<&'static [f32]>,
}

/// An empty vector with the allocation of `v`, for references of another lifetime.
fn empty_like<'a, 'b>(v: Vec<&'a mut [f32]>) -> Vec<&'b mut [f32]> {
    let mut v = ManuallyDrop::new(v);
    v.clear();
    // SAFETY: the vector is empty, so no reference of lifetime 'a is left in it; `&'a mut
    // [f32]` and `&'b mut [f32]` have the same size and alignment, so the allocation is valid
    // for the new element type, and ownership of it moves to the new vector (the old one is
    // never dropped).
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<&'b mut [f32]>(), 0, v.capacity()) }
}

fn empty_like_shared<'a, 'b>(v: Vec<&'a [f32]>) -> Vec<&'b [f32]> {
    let mut v = ManuallyDrop::new(v);
    v.clear();
    // SAFETY: as in `empty_like`: empty, same layout, ownership of the allocation moves.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<&'b [f32]>(), 0, v.capacity()) }
}

impl ChannelLists {
    /// Lists for up to `outputs` output and `inputs` input channels (allocates: call it off
    /// the audio thread).
    pub(crate) fn new(outputs: usize, inputs: usize) -> Self {
        Self { outputs: Vec::with_capacity(outputs), inputs: Vec::with_capacity(inputs) }
    }

    /// Runs `f` with the slices of `outputs` and `inputs` gathered into lists. Channels beyond
    /// the capacities given to [`ChannelLists::new`] are left out (so nothing allocates).
    pub(crate) fn with<'a, R>(
        &mut self,
        outputs: impl Iterator<Item = &'a mut [f32]>,
        inputs: impl Iterator<Item = &'a [f32]>,
        f: impl FnOnce(&mut [&'a mut [f32]], &[&'a [f32]]) -> R,
    ) -> R {
        let mut outs: Vec<&'a mut [f32]> = empty_like(std::mem::take(&mut self.outputs));
        let mut ins: Vec<&'a [f32]> = empty_like_shared(std::mem::take(&mut self.inputs));
        let (out_room, in_room) = (outs.capacity(), ins.capacity());
        outs.extend(outputs.take(out_room));
        ins.extend(inputs.take(in_room));
        let result = f(&mut outs, &ins);
        self.outputs = empty_like(outs);
        self.inputs = empty_like_shared(ins);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_reuse_their_allocation_and_cap_the_channel_count() {
        let mut lists = ChannelLists::new(2, 1);
        let mut a = vec![vec![0.0f32; 4]; 3];
        let b = vec![vec![1.0f32; 4]; 2];
        for round in 0..3 {
            let seen = lists.with(a.iter_mut().map(Vec::as_mut_slice), b.iter().map(Vec::as_slice), |o, i| {
                o[1][0] = round as f32;
                (o.len(), i.len(), i[0][0])
            });
            assert_eq!(seen, (2, 1, 1.0));
            assert_eq!(a[1][0], round as f32);
        }
        assert_eq!(lists.outputs.capacity(), 2);
    }
}
