//! Which of a sampler's voices may be sounding, one bit per voice.

/// A superset of the sounding voices: a voice's bit is set when it starts and cleared once it
/// is found stopped. Renders and event handlers visit the voices through it, so that a
/// sampler with 256 voices and a few sounding reads a few voices' state, not 256: in a live
/// callback, after the thread slept, each voice read is a trip to memory.
#[derive(Clone, Debug, Default)]
pub(crate) struct VoiceSet {
    words: Vec<u64>,
    voices: usize,
}

impl VoiceSet {
    /// An empty set for `voices` voices (allocates: control thread).
    pub(crate) fn new(voices: usize) -> Self {
        Self { words: vec![0; voices.div_ceil(64)], voices }
    }

    /// Marks voice `i` as sounding (ignored beyond the set's size).
    pub(crate) fn insert(&mut self, i: usize) {
        if let Some(word) = self.words.get_mut(i / 64).filter(|_| i < self.voices) {
            *word |= 1 << (i % 64);
        }
    }

    /// Keeps only the voices for which `sounding` holds.
    pub(crate) fn retain(&mut self, mut sounding: impl FnMut(usize) -> bool) {
        for (w, word) in self.words.iter_mut().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if !sounding(w * 64 + bit) {
                    *word &= !(1 << bit);
                }
            }
        }
    }

    /// The lowest voice not in the set: a voice that is certainly not sounding, found
    /// without reading any voice.
    pub(crate) fn first_absent(&self) -> Option<usize> {
        let (w, word) = self.words.iter().enumerate().find(|(_, &word)| word != u64::MAX)?;
        Some(w * 64 + (!word).trailing_zeros() as usize).filter(|&i| i < self.voices)
    }

    /// The voices in the set, in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            std::iter::successors((word != 0).then_some(word), |&bits| Some(bits & (bits - 1)).filter(|&b| b != 0))
                .map(move |bits| w * 64 + bits.trailing_zeros() as usize)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_inserted_until_it_is_retained_out() {
        let mut set = VoiceSet::new(200);
        for i in [0, 5, 63, 64, 130, 199, 200, 5000] {
            set.insert(i);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 5, 63, 64, 130, 199]);
        set.retain(|i| i % 2 == 1);
        assert_eq!(set.iter().collect::<Vec<_>>(), [5, 63, 199]);
        assert_eq!(set.first_absent(), Some(0));
        set.retain(|_| false);
        assert_eq!(set.iter().count(), 0);
        for i in 0..130 {
            set.insert(i);
        }
        assert_eq!(set.first_absent(), Some(130));
        let mut full = VoiceSet::new(130);
        (0..130).for_each(|i| full.insert(i));
        assert_eq!(full.first_absent(), None);
    }
}
