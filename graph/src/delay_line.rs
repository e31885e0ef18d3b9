//! Delay lines that compensate latency: a connection whose source is earlier (less delayed)
//! than the destination's other inputs is held back by the difference, so parallel paths
//! through latent nodes (hosted plugins, look-ahead effects) stay aligned.

use crate::plan::ConnectionKey;

/// One channel of one delayed connection: a ring buffer of exactly `frames` samples. Allocated
/// on the control thread with its plan; its contents move to the next plan by key.
#[derive(Clone, Debug)]
pub(crate) struct DelayLine {
    pub(crate) key: (ConnectionKey, u16),
    /// Index of the same connection's line in the plan this one replaces.
    pub(crate) previous: Option<u32>,
    buffer: Vec<f32>,
    position: usize,
}

impl DelayLine {
    pub(crate) fn new(key: (ConnectionKey, u16), frames: u32, previous: Option<u32>) -> Self {
        Self { key, previous, buffer: vec![0.0; frames.max(1) as usize], position: 0 }
    }

    /// Takes over what the same connection's line in the previous plan holds, if the delay did
    /// not change (then the two buffers are swapped: nothing is copied or freed here). A line
    /// whose length changed starts from silence.
    pub(crate) fn continue_from(&mut self, previous: &mut DelayLine) {
        if previous.buffer.len() == self.buffer.len() {
            std::mem::swap(&mut self.buffer, &mut previous.buffer);
            self.position = previous.position;
        }
    }

    /// Writes `input` delayed by `frames()` into `output`.
    pub(crate) fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let len = self.buffer.len();
        for (o, i) in output.iter_mut().zip(input) {
            let slot = &mut self.buffer[self.position];
            *o = *slot;
            *slot = *i;
            self.position += 1;
            if self.position == len {
                self.position = 0;
            }
        }
    }
}

impl PartialEq for DelayLine {
    /// Plans compare by structure: same connection, same length, same predecessor.
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.previous == other.previous && self.buffer.len() == other.buffer.len()
    }
}

impl Eq for DelayLine {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SlotKey;

    fn key() -> (ConnectionKey, u16) {
        let s = SlotKey { index: 1, generation: 0 };
        (ConnectionKey { from: s, from_port: 0, to: s, to_port: 0 }, 0)
    }

    #[test]
    fn delays_by_exactly_its_length_whatever_the_chunking() {
        let input: Vec<f32> = (1..=20).map(|i| i as f32).collect();
        for chunk in [1, 3, 7, 20] {
            let mut line = DelayLine::new(key(), 5, None);
            let mut out = vec![0.0; 20];
            for (i, o) in input.chunks(chunk).zip(out.chunks_mut(chunk)) {
                line.process(i, o);
            }
            let expected: Vec<f32> = (0..20).map(|i| if i < 5 { 0.0 } else { (i - 4) as f32 }).collect();
            assert_eq!(out, expected, "chunk {chunk}");
        }
    }

    #[test]
    fn contents_carry_over_to_the_next_plan_only_at_the_same_length() {
        let mut old = DelayLine::new(key(), 3, None);
        let mut sink = [0.0; 2];
        old.process(&[1.0, 2.0], &mut sink);
        let mut same = DelayLine::new(key(), 3, Some(0));
        same.continue_from(&mut old);
        let mut out = [0.0; 3];
        same.process(&[9.0, 9.0, 9.0], &mut out);
        assert_eq!(out, [0.0, 1.0, 2.0]);
        let mut longer = DelayLine::new(key(), 4, Some(0));
        longer.continue_from(&mut same);
        let mut out = [0.0; 4];
        longer.process(&[5.0; 4], &mut out);
        assert_eq!(out, [0.0; 4], "a changed delay starts from silence");
    }
}
