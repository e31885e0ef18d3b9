//! Parameters: their description, and the smoothing that turns sample-accurate changes into
//! click-free per-sample values on the audio thread.

use std::borrow::Cow;

use crate::limits::{DEFAULT_PARAM_SMOOTHING_SECONDS, PARAM_INBOX_CAPACITY};
use crate::ParamId;

/// The unit a parameter's value is expressed in (shown to users, used by patch files).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// No unit (ratios, 0..1 amounts).
    None,
    /// Decibels.
    Decibels,
    /// Hertz.
    Hertz,
    /// Seconds.
    Seconds,
    /// Semitones.
    Semitones,
    /// Stereo position, -1 (left) ..= 1 (right).
    Pan,
    /// An on/off switch (0 or 1).
    Toggle,
    /// One of a list of named choices (value is the index).
    Choice,
}

impl Unit {
    /// Every unit.
    pub const ALL: [Unit; 8] = [
        Unit::None,
        Unit::Decibels,
        Unit::Hertz,
        Unit::Seconds,
        Unit::Semitones,
        Unit::Pan,
        Unit::Toggle,
        Unit::Choice,
    ];

    /// Its name in the control API (`"decibels"`, `"hertz"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Unit::None => "none",
            Unit::Decibels => "decibels",
            Unit::Hertz => "hertz",
            Unit::Seconds => "seconds",
            Unit::Semitones => "semitones",
            Unit::Pan => "pan",
            Unit::Toggle => "toggle",
            Unit::Choice => "choice",
        }
    }

    /// The unit named `name` in the control API.
    pub fn from_name(name: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.name() == name)
    }
}

/// Describes one parameter of a node: its range, default, unit and smoothing.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// Name used by patch files and the control API (`cutoff_hz`, `in2_gain_db`).
    pub name: Cow<'static, str>,
    /// Smallest accepted value.
    pub min: f32,
    /// Largest accepted value.
    pub max: f32,
    /// Value of a new node.
    pub default: f32,
    /// Unit of the value.
    pub unit: Unit,
    /// Ramp length in seconds applied to every change (0 = jump, for switches and choices).
    pub smoothing_seconds: f32,
    /// For [`Unit::Choice`]: the names of the choices, index = value.
    pub choices: &'static [&'static str],
}

impl ParamSpec {
    /// A continuous parameter with the default smoothing.
    pub fn continuous(name: &'static str, min: f32, max: f32, default: f32, unit: Unit) -> Self {
        Self {
            name: Cow::Borrowed(name),
            min,
            max,
            default,
            unit,
            smoothing_seconds: DEFAULT_PARAM_SMOOTHING_SECONDS,
            choices: &[],
        }
    }

    /// A stepped parameter choosing among named options (never smoothed).
    pub fn choice(name: &'static str, choices: &'static [&'static str], default: usize) -> Self {
        Self {
            name: Cow::Borrowed(name),
            min: 0.0,
            max: (choices.len().max(1) - 1) as f32,
            default: default as f32,
            unit: Unit::Choice,
            smoothing_seconds: 0.0,
            choices,
        }
    }

    /// An on/off switch (never smoothed).
    pub fn toggle(name: &'static str, default: bool) -> Self {
        Self {
            name: Cow::Borrowed(name),
            min: 0.0,
            max: 1.0,
            default: if default { 1.0 } else { 0.0 },
            unit: Unit::Toggle,
            smoothing_seconds: 0.0,
            choices: &[],
        }
    }

    /// The same spec with a run-time name (for generated parameters such as `in3_gain_db`).
    pub fn renamed(mut self, name: String) -> Self {
        self.name = Cow::Owned(name);
        self
    }

    /// The same spec with another smoothing time.
    pub fn with_smoothing_seconds(mut self, seconds: f32) -> Self {
        self.smoothing_seconds = seconds;
        self
    }

    /// Whether `value` is inside the accepted range (NaN never is).
    pub fn accepts(&self, value: f32) -> bool {
        value >= self.min && value <= self.max
    }
}

/// A linear ramp towards a target, advanced one sample at a time so that the values it produces
/// do not depend on how the timeline is cut into blocks.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Smoother {
    current: f32,
    target: f32,
    step: f32,
    remaining_frames: u32,
    ramp_frames: u32,
    /// Whether the value holds for the whole current chunk (then `current` is that value and
    /// the per-frame buffer is not read). Kept here, next to the value, so a processor reading
    /// a constant parameter touches one small array instead of a block-sized buffer.
    constant: bool,
}

impl Smoother {
    pub(crate) fn new(value: f32, ramp_frames: u32) -> Self {
        Self { current: value, target: value, step: 0.0, remaining_frames: 0, ramp_frames, constant: true }
    }

    fn set_target(&mut self, target: f32) {
        self.target = target;
        if self.ramp_frames == 0 {
            self.current = target;
            self.remaining_frames = 0;
        } else {
            self.remaining_frames = self.ramp_frames;
            self.step = (target - self.current) / self.ramp_frames as f32;
        }
    }

    fn is_settled(&self) -> bool {
        self.remaining_frames == 0
    }

    fn fill(&mut self, out: &mut [f32]) {
        for v in out {
            if self.remaining_frames > 0 {
                self.remaining_frames -= 1;
                self.current = if self.remaining_frames == 0 { self.target } else { self.current + self.step };
            }
            *v = self.current;
        }
    }
}

/// A parameter change for one chunk, at a frame offset into it.
#[derive(Copy, Clone, Debug)]
pub(crate) struct ParamChangeAt {
    pub(crate) param: ParamId,
    pub(crate) offset_frames: u32,
    pub(crate) value: f32,
}

/// Per-node parameter state owned by the audio thread: smoothers and this chunk's changes.
/// Built on the control thread. Ramping values are written to a scratch buffer the executor
/// shares between all nodes (only the node being processed needs its values), which keeps
/// per-node state small and close together in memory.
pub(crate) struct ParamState {
    smoothers: Box<[Smoother]>,
    inbox: Vec<ParamChangeAt>,
    /// Every parameter constant and nothing queued: `prepare` has nothing to do.
    settled: bool,
}

impl ParamState {
    pub(crate) fn new(specs: &[ParamSpec], initial: &[f32], sample_rate: f32) -> Self {
        let smoothers = specs
            .iter()
            .zip(initial)
            .map(|(spec, &value)| {
                let ramp = (spec.smoothing_seconds.max(0.0) * sample_rate).round() as u32;
                Smoother::new(value, ramp)
            })
            .collect::<Box<[_]>>();
        Self { smoothers, inbox: Vec::with_capacity(PARAM_INBOX_CAPACITY), settled: false }
    }

    /// Queues a change for the current chunk; keeps the inbox sorted by offset. Returns false
    /// if the inbox was full (the change then replaces the latest queued one).
    pub(crate) fn queue(&mut self, change: ParamChangeAt) -> bool {
        if change.param.0 as usize >= self.smoothers.len() {
            return true;
        }
        self.settled = false;
        if self.inbox.len() == self.inbox.capacity() {
            if let Some(last) = self.inbox.last_mut() {
                *last = ParamChangeAt { offset_frames: last.offset_frames.max(change.offset_frames), ..change };
            }
            return false;
        }
        let at = self.inbox.partition_point(|c| c.offset_frames <= change.offset_frames);
        self.inbox.insert(at, change);
        true
    }

    /// Number of parameters.
    pub(crate) fn len(&self) -> usize {
        self.smoothers.len()
    }

    /// Whether every parameter holds its value and nothing is queued, so that
    /// [`ParamState::prepare`] has nothing to do this chunk (and every parameter reads as
    /// constant).
    #[inline]
    pub(crate) fn is_settled(&self) -> bool {
        self.settled
    }

    /// Computes this chunk's values for every parameter and empties the inbox. Ramping
    /// parameters are written to `scratch` (at least `len() * frames` long), parameter `p` at
    /// `p * frames`.
    pub(crate) fn prepare(&mut self, frames: usize, scratch: &mut [f32]) {
        let stride = frames;
        let mut settled = true;
        for (p, smoother) in self.smoothers.iter_mut().enumerate() {
            let run = &mut scratch[p * stride..p * stride + frames];
            let mut pos = 0usize;
            let mut touched = false;
            for change in self.inbox.iter().filter(|c| c.param.0 as usize == p) {
                let at = (change.offset_frames as usize).min(frames);
                if at > pos {
                    smoother.fill(&mut run[pos..at]);
                    pos = at;
                }
                smoother.set_target(change.value);
                touched = true;
            }
            if !touched && pos == 0 && smoother.is_settled() {
                smoother.constant = true;
            } else {
                smoother.constant = false;
                smoother.fill(&mut run[pos..]);
                settled = false;
            }
        }
        self.inbox.clear();
        self.settled = settled;
    }

    /// The smoothers, for [`Params::new`].
    #[inline]
    pub(crate) fn smoothers(&self) -> &[Smoother] {
        &self.smoothers
    }

    /// The values of this chunk, after [`ParamState::prepare`] with the same `scratch`.
    #[cfg(test)]
    fn view<'a>(&'a self, frames: usize, scratch: &'a [f32]) -> Params<'a> {
        Params::new(&self.smoothers, frames, scratch)
    }
}

/// The parameter values of the current chunk, as handed to a processor.
#[derive(Copy, Clone)]
pub struct Params<'a> {
    values: &'a [f32],
    smoothers: &'a [Smoother],
    stride: usize,
    frames: usize,
}

impl<'a> Params<'a> {
    /// The values of a chunk of `frames` frames: constants from `smoothers`, ramps from
    /// `values` (parameter `p` at `p * frames`, written by [`ParamState::prepare`]).
    #[inline]
    pub(crate) fn new(smoothers: &'a [Smoother], frames: usize, values: &'a [f32]) -> Self {
        Params { values, smoothers, stride: frames, frames }
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.smoothers.len()
    }

    /// True when the node has no parameters.
    pub fn is_empty(&self) -> bool {
        self.smoothers.is_empty()
    }

    /// The values of parameter `id` over this chunk.
    #[inline]
    ///
    /// Never panics (this runs on the audio thread): an id the node does not have reads as a
    /// constant 0.
    pub fn get(&self, id: ParamId) -> ParamSignal<'a> {
        let p = id.0 as usize;
        let Some(smoother) = self.smoothers.get(p) else {
            return ParamSignal { constant: Some(0.0), values: &[] };
        };
        let start = p * self.stride;
        match self.values.get(start..start + self.frames) {
            Some(values) if !smoother.constant => ParamSignal { constant: None, values },
            _ => ParamSignal { constant: Some(smoother.current), values: &[] },
        }
    }
}

/// One parameter's values over a chunk: either one constant value, or one value per frame
/// while a change is being smoothed.
#[derive(Copy, Clone, Debug)]
pub struct ParamSignal<'a> {
    constant: Option<f32>,
    values: &'a [f32],
}

impl<'a> ParamSignal<'a> {
    /// The value for the whole chunk, if it does not change within it.
    #[inline]
    pub fn constant(&self) -> Option<f32> {
        self.constant
    }

    /// The value at frame `i` of the chunk. Never panics: a frame past the chunk reads the
    /// last value.
    #[inline]
    pub fn at(&self, i: usize) -> f32 {
        match self.constant {
            Some(v) => v,
            None => self.values.get(i).or(self.values.last()).copied().unwrap_or(0.0),
        }
    }

    /// The value at the end of the chunk (for state that is only read once per chunk).
    pub fn last(&self) -> f32 {
        match self.constant {
            Some(v) => v,
            None => self.values.last().copied().unwrap_or(0.0),
        }
    }

    /// Per-frame values while ramping (`None` when constant).
    pub fn ramp(&self) -> Option<&'a [f32]> {
        match self.constant {
            Some(_) => None,
            None => Some(self.values),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_distinct_and_read_back() {
        for unit in Unit::ALL {
            assert_eq!(Unit::from_name(unit.name()), Some(unit));
        }
        let mut names: Vec<&str> = Unit::ALL.iter().map(|u| u.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Unit::ALL.len());
        assert_eq!(Unit::from_name("furlongs"), None);
    }

    fn state(smoothing_seconds: f32) -> ParamState {
        let spec = ParamSpec::continuous("x", 0.0, 10.0, 0.0, Unit::None).with_smoothing_seconds(smoothing_seconds);
        ParamState::new(&[spec], &[0.0], 1000.0)
    }

    #[test]
    fn settled_parameter_is_reported_constant() {
        let mut s = state(0.004);
        let mut scratch = [0.0; 16];
        s.prepare(16, &mut scratch);
        assert_eq!(s.view(16, &scratch).get(ParamId(0)).constant(), Some(0.0));
    }

    #[test]
    fn change_lands_at_its_offset_and_ramps_linearly_to_target() {
        let mut s = state(0.004); // 4 frames at 1 kHz
        s.queue(ParamChangeAt { param: ParamId(0), offset_frames: 3, value: 4.0 });
        let mut scratch = [0.0; 10];
        s.prepare(10, &mut scratch);
        let sig = s.view(10, &scratch).get(ParamId(0));
        let got: Vec<f32> = (0..10).map(|i| sig.at(i)).collect();
        assert_eq!(got, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 4.0]);
    }

    #[test]
    fn ramp_values_do_not_depend_on_chunk_boundaries() {
        let render = |chunks: &[usize]| {
            let mut s = state(0.007);
            let mut out = Vec::new();
            for (n, &frames) in chunks.iter().enumerate() {
                if n == 0 {
                    s.queue(ParamChangeAt { param: ParamId(0), offset_frames: 1, value: 7.3 });
                }
                let mut scratch = [f32::NAN; 16];
                s.prepare(frames, &mut scratch);
                let sig = s.view(frames, &scratch).get(ParamId(0));
                out.extend((0..frames).map(|i| sig.at(i)));
            }
            out
        };
        let whole = render(&[12]);
        assert_eq!(whole, render(&[2, 3, 1, 6]));
        assert_eq!(whole, render(&[1; 12]));
    }

    #[test]
    fn an_unknown_parameter_reads_as_constant_zero_instead_of_panicking() {
        let mut s = state(0.004);
        let mut scratch = [0.0; 16];
        s.prepare(16, &mut scratch);
        assert_eq!(s.view(16, &scratch).get(ParamId(7)).constant(), Some(0.0));
    }

    #[test]
    fn unsmoothed_change_jumps() {
        let mut s = state(0.0);
        s.queue(ParamChangeAt { param: ParamId(0), offset_frames: 2, value: 5.0 });
        let mut scratch = [0.0; 4];
        s.prepare(4, &mut scratch);
        let sig = s.view(4, &scratch).get(ParamId(0));
        assert_eq!((0..4).map(|i| sig.at(i)).collect::<Vec<_>>(), vec![0.0, 0.0, 5.0, 5.0]);
    }
}
