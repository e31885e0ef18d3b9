//! Per-voice modulation: envelopes, LFOs and routes
//! ([`noderack_presets::instrument::Modulation`]) turned into pitch, cutoff and gain while a
//! note plays. The sampler prepares one per region, the synth one from its parameters.
//!
//! # Two rates
//!
//! Routes read either values that change only at events (velocity, key, controllers,
//! pressure) or signals that move while the note plays (envelopes, LFOs). The first kind is
//! summed into a voice's *base* values when the note starts and again whenever the channel's
//! controllers change; the second kind is evaluated every [`MOD_FRAMES`] frames of the note
//! (a *tick*), as `signal × gain`, the gain being the route's amount times its (event-rate)
//! scale. At a tick the voice takes its new pitch and cutoff for the next [`MOD_FRAMES`]
//! frames, and its gain ramps linearly, sample by sample, from the previous tick's value to
//! the new one over those frames.
//!
//! A voice ticks at its first sounding frame, then on a grid of every [`MOD_FRAMES`]th frame
//! of the engine's timeline (so its first interval is shorter, unless the note starts on the
//! grid). Ticks read only state that changes at event frames, so a voice renders the same
//! samples however the block is split; and since the grid is the timeline's, a live callback
//! of [`MOD_FRAMES`] frames renders each voice in one run, not cut in two by a tick.

use noderack_presets::instrument::{
    Crossfade, Envelope, EnvelopeControl, EnvelopeStage, Lfo, LfoControl, LfoParam, LfoWaveform, ModEnvelopeControl,
    ModRoute, ModSource, ModTarget, Modulation, MAX_ENVELOPES, MAX_FAST_ROUTES, MAX_LFOS,
};

use crate::dsp::pan_gains;

/// Frames between two evaluations of a voice's envelopes and LFOs (1.33 ms at 48 kHz, as
/// FluidSynth's 64-sample modulation block).
pub const MOD_FRAMES: u32 = 64;

/// What the event-rate routes read: the state of the note's channel and the note itself.
#[derive(Copy, Clone, Debug)]
pub(crate) struct ModInputs<'a> {
    pub(crate) controllers: &'a [u8; 128],
    pub(crate) channel_pressure: u8,
    pub(crate) poly_pressure: u8,
    /// Pitch wheel −1..1.
    pub(crate) bend: f32,
    pub(crate) bend_range_semitones: f32,
    pub(crate) velocity: u8,
    pub(crate) key: u8,
    /// The note's own expression (MPE, CLAP note expressions).
    pub(crate) note: NoteState,
}

/// Per-note expression a voice has received ([`noderack_graph::NoteExpression`]): what it
/// overrides or adds to the channel's values for this note alone.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct NoteState {
    /// Added to the pitch.
    pub(crate) tuning_semitones: f32,
    /// Multiplies the gain.
    pub(crate) volume: f32,
    /// Added to the pan.
    pub(crate) pan: f32,
    /// Replaces channel and poly pressure (0..1) for this note, once received.
    pub(crate) pressure: Option<f32>,
    /// Replaces CC74 (timbre, 0..1) for this note, once received.
    pub(crate) brightness: Option<f32>,
}

impl Default for NoteState {
    fn default() -> Self {
        Self { tuning_semitones: 0.0, volume: 1.0, pan: 0.0, pressure: None, brightness: None }
    }
}

impl NoteState {
    /// Applies one expression (non-finite values read as 0).
    pub(crate) fn apply(&mut self, kind: noderack_graph::ExpressionKind, value: f32) {
        use noderack_graph::ExpressionKind::*;
        let value = if value.is_finite() { value } else { 0.0 };
        match kind {
            TuningSemitones => self.tuning_semitones = value.clamp(-128.0, 128.0),
            Volume => self.volume = value.clamp(0.0, 4.0),
            Pan => self.pan = value.clamp(-1.0, 1.0),
            Pressure => self.pressure = Some(value.clamp(0.0, 1.0)),
            Brightness => self.brightness = Some(value.clamp(0.0, 1.0)),
        }
    }
}

impl ModInputs<'_> {
    /// The normalised (0..1) value of an event-rate source; `None` for envelopes and LFOs.
    fn normalised(&self, source: ModSource) -> Option<f32> {
        Some(match source {
            ModSource::One => 1.0,
            ModSource::Velocity => self.velocity as f32 / 127.0,
            ModSource::Key => self.key as f32 / 127.0,
            ModSource::Controller(74) if self.note.brightness.is_some() => self.note.brightness.unwrap_or(0.0),
            ModSource::Controller(n) => self.controllers[n as usize & 127] as f32 / 127.0,
            ModSource::ChannelPressure => self.note.pressure.unwrap_or(self.channel_pressure as f32 / 127.0),
            ModSource::PolyPressure => self.note.pressure.unwrap_or(self.poly_pressure as f32 / 127.0),
            ModSource::PitchWheel => (self.bend.clamp(-1.0, 1.0) + 1.0) * 0.5,
            ModSource::BendRange => (self.bend_range_semitones / 127.0).clamp(0.0, 1.0),
            ModSource::Envelope(_) | ModSource::Lfo(_) => return None,
        })
    }

    /// The value of `input` (its curve, direction and polarity applied); `One` is 1 as it is.
    pub(crate) fn value(&self, input: &noderack_presets::instrument::ModInput) -> Option<f32> {
        let x = self.normalised(input.source)?;
        Some(if input.source == ModSource::One { 1.0 } else { input.shape(x) })
    }
}

/// `envelope` with `controls` read at `inputs` (SFZ `ampeg_release_onccN`,
/// `pitcheg_vel2attack` …): each adds its amount times its input to its stage, and the sum is
/// limited. No allocation: called on the audio thread when a note starts.
pub(crate) fn controlled_envelope<'c>(
    envelope: Envelope,
    controls: impl IntoIterator<Item = &'c EnvelopeControl>,
    inputs: &ModInputs<'_>,
) -> Envelope {
    let mut e = envelope;
    for c in controls {
        e.add(c.stage, c.amount * inputs.value(&c.input).unwrap_or(0.0));
    }
    e.limited()
}

/// `db` (at most +48) as a linear gain, silent at −96 dB and below, as
/// [`crate::dsp::db_to_gain`] but through `exp2` (cheaper than `powf` at every tick).
fn level_of(db: f32) -> f32 {
    if db <= -96.0 {
        0.0
    } else {
        (db.min(48.0) * (std::f32::consts::LOG2_10 / 20.0)).exp2()
    }
}

/// The product of `crossfades`' gains for a note (by its velocity, its key or its channel's
/// controllers, as each says).
pub(crate) fn crossfade_gain(crossfades: &[Crossfade], inputs: &ModInputs<'_>) -> f32 {
    crossfades
        .iter()
        .map(|crossfade| match crossfade.source {
            ModSource::Velocity => crossfade.gain(inputs.velocity),
            ModSource::Key => crossfade.gain(inputs.key),
            ModSource::Controller(n) => crossfade.gain(inputs.controllers[n as usize & 127]),
            _ => 1.0,
        })
        .product()
}

/// What a voice's routes start from: its own values before modulation, its crossfades, and
/// the routes themselves (the [`ZoneModulation`] it was prepared with indexes them).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Sound<'a> {
    pub(crate) base: Targets,
    pub(crate) crossfades: &'a [Crossfade],
    pub(crate) routes: &'a [ModRoute],
}

/// The values routes add to, in their units.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub(crate) struct Targets {
    pub(crate) pitch_cents: f32,
    pub(crate) cutoff_cents: f32,
    pub(crate) volume_db: f32,
    pub(crate) amplitude: f32,
    pub(crate) pan: f32,
    pub(crate) width: f32,
}

impl Targets {
    fn add(&mut self, target: ModTarget, value: f32) {
        match target {
            ModTarget::PitchCents => self.pitch_cents += value,
            ModTarget::CutoffCents => self.cutoff_cents += value,
            ModTarget::VolumeDb => self.volume_db += value,
            ModTarget::Amplitude => self.amplitude += value,
            ModTarget::Pan => self.pan += value,
            ModTarget::Width => self.width += value,
        }
    }
}

/// An envelope's rates in frames at the engine's rate: linear segments 0 → 1 → sustain → 0.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct EnvelopeShape {
    delay_frames: u32,
    attack_step: f32,
    hold_frames: u32,
    decay_step: f32,
    sustain: f32,
    release_step: f32,
}

impl EnvelopeShape {
    /// An envelope's segments as rates at `sample_rate` (no allocation: the synth rebuilds it
    /// on the audio thread when its parameters move).
    pub(crate) fn new(e: &Envelope, sample_rate: f32) -> Self {
        // A zero time is one frame: the segment completes at once.
        let step = |seconds: f32| 1.0 / (seconds * sample_rate).max(1.0);
        Self {
            delay_frames: (e.delay_seconds.max(0.0) * sample_rate).round() as u32,
            attack_step: step(e.attack_seconds),
            hold_frames: (e.hold_seconds.max(0.0) * sample_rate).round() as u32,
            decay_step: step(e.decay_seconds),
            sustain: e.sustain_level.clamp(0.0, 1.0),
            release_step: step(e.release_seconds),
        }
    }
}

/// A running modulation envelope.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct EnvelopeState {
    stage: EnvelopeStage,
    level: f32,
    /// Frames left in a timed stage (delay, hold).
    left: u32,
}

impl EnvelopeState {
    /// At its note's start: the delay, at level 0.
    pub(crate) fn start(shape: &EnvelopeShape) -> Self {
        Self { stage: EnvelopeStage::Delay, level: 0.0, left: shape.delay_frames }
    }

    /// Starts again from the level it is at (a retriggered voice, whose envelope should not
    /// jump): the delay holds that level, the attack rises from it.
    pub(crate) fn restart(&mut self, shape: &EnvelopeShape) {
        *self = Self { stage: EnvelopeStage::Delay, level: self.level, left: shape.delay_frames };
    }

    /// Note-off: the release from wherever it is.
    pub(crate) fn release(&mut self) {
        self.stage = EnvelopeStage::Release;
    }

    /// Moves `frames` frames on; returns the level there.
    #[inline]
    pub(crate) fn advance(&mut self, shape: &EnvelopeShape, mut frames: u32) -> f32 {
        while frames > 0 {
            match self.stage {
                EnvelopeStage::Delay | EnvelopeStage::Hold => {
                    let n = self.left.min(frames);
                    self.left -= n;
                    frames -= n;
                    if self.left == 0 {
                        self.stage = if self.stage == EnvelopeStage::Delay {
                            EnvelopeStage::Attack
                        } else {
                            EnvelopeStage::Decay
                        };
                    }
                }
                EnvelopeStage::Attack => {
                    let to_top = ((1.0 - self.level) / shape.attack_step).ceil().max(0.0) as u32;
                    if to_top <= frames {
                        frames -= to_top;
                        self.level = 1.0;
                        self.stage = EnvelopeStage::Hold;
                        self.left = shape.hold_frames;
                    } else {
                        self.level += shape.attack_step * frames as f32;
                        frames = 0;
                    }
                }
                EnvelopeStage::Decay => {
                    let to_sustain = ((self.level - shape.sustain) / shape.decay_step).ceil().max(0.0) as u32;
                    if to_sustain <= frames {
                        frames -= to_sustain;
                        self.level = shape.sustain;
                        self.stage = EnvelopeStage::Sustain;
                    } else {
                        self.level -= shape.decay_step * frames as f32;
                        frames = 0;
                    }
                }
                EnvelopeStage::Sustain => {
                    self.level = shape.sustain;
                    frames = 0;
                }
                EnvelopeStage::Release => {
                    self.level = (self.level - shape.release_step * frames as f32).max(0.0);
                    frames = 0;
                }
            }
        }
        self.level
    }
}

/// An LFO's rates in frames at the engine's rate.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct LfoShape {
    /// Cycles per frame.
    increment: f64,
    delay_frames: u32,
    /// Depth added per frame during the fade-in (1: at once).
    fade_step: f32,
    phase: f64,
    waveform: LfoWaveform,
}

impl LfoShape {
    /// An LFO's rates at `sample_rate` (no allocation, as [`EnvelopeShape::new`]).
    pub(crate) fn new(lfo: &Lfo, sample_rate: f32) -> Self {
        Self {
            increment: (lfo.frequency_hz.max(0.0) as f64) / sample_rate as f64,
            delay_frames: (lfo.delay_seconds.max(0.0) * sample_rate).round() as u32,
            fade_step: 1.0 / (lfo.fade_seconds * sample_rate).max(1.0),
            phase: (lfo.phase_cycles as f64).rem_euclid(1.0),
            waveform: lfo.waveform,
        }
    }
}

/// A running LFO.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct LfoState {
    /// Position in the cycle, 0..1.
    phase: f64,
    delay_left: u32,
    depth: f32,
}

impl LfoState {
    /// At its note's start: its delay, its start phase, depth 0.
    pub(crate) fn start(shape: &LfoShape) -> Self {
        Self::start_after(shape, shape.delay_frames)
    }

    /// At its note's start, with a delay of the voice's own.
    pub(crate) fn start_after(shape: &LfoShape, delay_frames: u32) -> Self {
        Self { phase: shape.phase, delay_left: delay_frames, depth: 0.0 }
    }

    /// Moves `frames` frames on; returns the value there (−1..1 times the faded-in depth).
    #[inline(always)]
    pub(crate) fn advance(&mut self, shape: &LfoShape, frames: u32) -> f32 {
        self.advance_at(shape, LfoRate::of(shape), shape.fade_step, frames)
    }

    /// [`LfoState::advance`] at a rate, phase offset and fade-in of the voice's own (an LFO
    /// that controllers move). Inlined into the tick, so that a voice's LFOs overlap.
    #[inline(always)]
    pub(crate) fn advance_at(&mut self, shape: &LfoShape, rate: LfoRate, fade_step: f32, frames: u32) -> f32 {
        let waiting = self.delay_left.min(frames);
        self.delay_left -= waiting;
        let moving = frames - waiting;
        if moving > 0 {
            // Wrapped without `fract` (a library call on baseline x86-64): one subtraction
            // covers any step under a cycle, which is every LFO below the tick rate.
            let phase = self.phase + rate.increment * moving as f64;
            self.phase = if phase < 1.0 {
                phase
            } else if phase < 2.0 {
                phase - 1.0
            } else {
                phase.fract()
            };
            self.depth = (self.depth + fade_step * moving as f32).min(1.0);
        }
        // The offset is wrapped to 0..1 where it is set, so one subtraction wraps the sum.
        let phase = self.phase as f32 + rate.phase_offset;
        let phase = if phase < 1.0 { phase } else { phase - 1.0 };
        self.depth * waveform_at(shape.waveform, phase)
    }
}

/// How fast one voice's LFO runs and where in its cycle it reads: its shape's rate and no
/// offset, unless controllers move them ([`LfoControl`]).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub(crate) struct LfoRate {
    /// Cycles per frame.
    increment: f64,
    /// Added to the phase where the waveform is read, 0..1.
    phase_offset: f32,
}

impl LfoRate {
    /// The shape's own rate, without an offset.
    pub(crate) fn of(shape: &LfoShape) -> Self {
        Self { increment: shape.increment, phase_offset: 0.0 }
    }
}

/// The value of `waveform` at `phase` (0..1 of a cycle), −1..1.
#[inline(always)]
fn waveform_at(waveform: LfoWaveform, phase: f32) -> f32 {
    match waveform {
        LfoWaveform::Triangle => {
            // 0 → 1 at ¼, → −1 at ¾, → 0 at 1.
            let p = phase + 0.25;
            let p = if p >= 1.0 { p - 1.0 } else { p };
            1.0 - 4.0 * (p - 0.5).abs()
        }
        LfoWaveform::Sine => (std::f32::consts::TAU * phase).sin(),
        LfoWaveform::Pulse { duty_thousandths } => {
            if phase < duty_thousandths as f32 / 1000.0 {
                1.0
            } else {
                -1.0
            }
        }
        LfoWaveform::SawUp => 2.0 * phase - 1.0,
        LfoWaveform::SawDown => 1.0 - 2.0 * phase,
    }
}

/// A route from an envelope or an LFO, prepared: which signal, which route of the region, on
/// which side of it the signal is, its target.
#[derive(Copy, Clone, Debug)]
struct FastRoute {
    /// The signal: envelopes first (0..MAX_ENVELOPES), then LFOs.
    signal: u8,
    /// Index into the region's routes.
    route: u16,
    /// The signal is the route's `scale` (its `input` then scales it: a product commutes).
    signal_in_scale: bool,
    target: ModTarget,
}

/// Signal index of LFO `n`.
const fn lfo_signal(n: usize) -> u8 {
    (MAX_ENVELOPES + n) as u8
}

/// A region's modulation prepared for one engine rate (control thread).
#[derive(Clone, Debug, Default)]
pub(crate) struct ZoneModulation {
    envelopes: [EnvelopeShape; MAX_ENVELOPES],
    envelope_count: usize,
    lfos: [LfoShape; MAX_LFOS],
    lfo_count: usize,
    /// The envelopes as the region gives them (read only when `envelope_controls` change
    /// them per note).
    envelope_models: Vec<Envelope>,
    /// Controls of the envelopes' stages, each naming an envelope below `envelope_count`.
    envelope_controls: Vec<ModEnvelopeControl>,
    /// Controls of the LFOs' rates, phases, delays and fades, each naming an LFO below
    /// `lfo_count`.
    lfo_controls: Vec<LfoControl>,
    /// The LFOs as the region gives them (read only when controls set their delays or fades).
    lfo_models: Vec<Lfo>,
    sample_rate: f32,
    fast: [Option<FastRoute>; MAX_FAST_ROUTES],
    fast_count: usize,
    /// Indices into the region's routes of those that read only event-rate sources.
    slow: Vec<u16>,
    /// Which controllers the event-rate parts read (bit n: CC n).
    controllers: u128,
    /// Whether channel pressure, poly pressure or the pitch wheel are read.
    reads_pressure: bool,
    reads_wheel: bool,
    /// Whether a voice of this region needs ticks at all.
    pub(crate) active: bool,
    /// Whether the cutoff is fixed once a note starts (routes to it read only velocity and
    /// key), so a voice may leave out a filter whose cutoff is out of hearing.
    pub(crate) cutoff_fixed_per_note: bool,
}

impl ZoneModulation {
    pub(crate) fn new(modulation: &Modulation, crossfades: &[Crossfade], sample_rate: f32) -> Self {
        let Modulation { envelopes, envelope_controls, lfos, lfo_controls, routes } = modulation;
        let mut m = Self { sample_rate, ..Self::default() };
        for (shape, e) in m.envelopes.iter_mut().zip(envelopes) {
            *shape = EnvelopeShape::new(e, sample_rate);
        }
        m.envelope_count = envelopes.len().min(MAX_ENVELOPES);
        for (shape, l) in m.lfos.iter_mut().zip(lfos) {
            *shape = LfoShape::new(l, sample_rate);
        }
        m.lfo_count = lfos.len().min(MAX_LFOS);
        m.envelope_models = envelopes.iter().take(MAX_ENVELOPES).copied().collect();
        m.envelope_controls =
            envelope_controls.iter().filter(|c| (c.envelope as usize) < m.envelope_count).cloned().collect();
        m.lfo_controls = lfo_controls.iter().filter(|c| (c.lfo as usize) < m.lfo_count).cloned().collect();
        m.lfo_models = lfos.iter().take(MAX_LFOS).copied().collect();
        let signal_of = |source: ModSource| match source {
            ModSource::Envelope(n) if (n as usize) < m.envelope_count => Some(n),
            ModSource::Lfo(n) if (n as usize) < m.lfo_count => Some(lfo_signal(n as usize)),
            _ => None,
        };
        let mut fast: Vec<FastRoute> = Vec::new();
        let mut kept: Vec<&ModRoute> = Vec::new();
        for (index, route) in routes.iter().enumerate().take(u16::MAX as usize) {
            let in_scale = route.scale.as_ref().is_some_and(|s| s.source.is_per_voice_signal());
            if in_scale && route.input.source.is_per_voice_signal() {
                continue; // a signal scaled by a signal is not supported (docs/SAMPLER.md)
            }
            let signal = if in_scale { route.scale.as_ref().map(|s| s.source) } else { Some(route.input.source) };
            match signal.filter(|s| s.is_per_voice_signal()) {
                Some(source) => match signal_of(source) {
                    Some(signal) if fast.len() < MAX_FAST_ROUTES => fast.push(FastRoute {
                        signal,
                        route: index as u16,
                        signal_in_scale: in_scale,
                        target: route.target,
                    }),
                    _ => continue, // a missing envelope or LFO, or past the limit: nothing to read
                },
                None => m.slow.push(index as u16),
            }
            kept.push(route);
        }
        // LFO controls act while notes play: their inputs are read as the routes' are.
        let lfo_inputs = m.lfo_controls.iter().map(|c| &c.input);
        for input in kept.iter().flat_map(|r| std::iter::once(&r.input).chain(&r.scale)).chain(lfo_inputs) {
            match input.source {
                ModSource::Controller(n) => m.controllers |= 1 << (n & 127),
                ModSource::ChannelPressure | ModSource::PolyPressure => m.reads_pressure = true,
                ModSource::PitchWheel | ModSource::BendRange => m.reads_wheel = true,
                _ => {}
            }
        }
        for crossfade in crossfades {
            if let ModSource::Controller(n) = crossfade.source {
                m.controllers |= 1 << (n & 127);
            }
        }
        let per_note = |i: &noderack_presets::instrument::ModInput| {
            matches!(i.source, ModSource::One | ModSource::Velocity | ModSource::Key)
        };
        m.cutoff_fixed_per_note = kept.iter().all(|r| {
            r.target != ModTarget::CutoffCents || (per_note(&r.input) && r.scale.as_ref().is_none_or(per_note))
        });
        m.fast_count = fast.len();
        for (slot, route) in m.fast.iter_mut().zip(fast) {
            *slot = Some(route);
        }
        m.active = !kept.is_empty() || m.controllers != 0;
        m
    }

    /// Whether a change of controller `cc` concerns voices of this region.
    pub(crate) fn reads_controller(&self, cc: u8) -> bool {
        self.controllers & (1 << (cc & 127)) != 0
    }

    /// The envelopes' rates for a note that starts with `inputs`: the prepared ones, but for
    /// envelopes with controls on their stages, which are read now (no allocation).
    fn envelope_shapes_for(&self, inputs: &ModInputs<'_>) -> [EnvelopeShape; MAX_ENVELOPES] {
        let mut shapes = self.envelopes;
        if self.envelope_controls.is_empty() {
            return shapes;
        }
        for (n, (shape, model)) in shapes.iter_mut().zip(&self.envelope_models).enumerate() {
            let mut controls =
                self.envelope_controls.iter().filter(|c| c.envelope as usize == n).map(|c| &c.control).peekable();
            if controls.peek().is_some() {
                *shape = EnvelopeShape::new(&controlled_envelope(*model, controls, inputs), self.sample_rate);
            }
        }
        shapes
    }

    /// The LFOs' delays (frames) and fade-in steps for a note that starts with `inputs`.
    fn lfo_starts_for(&self, inputs: &ModInputs<'_>) -> [(u32, f32); MAX_LFOS] {
        let mut starts = [(0, 1.0); MAX_LFOS];
        for (start, shape) in starts.iter_mut().zip(&self.lfos) {
            *start = (shape.delay_frames, shape.fade_step);
        }
        let timed = |c: &&LfoControl| matches!(c.param, LfoParam::DelaySeconds | LfoParam::FadeSeconds);
        if !self.lfo_controls.iter().any(|c| timed(&c)) {
            return starts;
        }
        for (n, (start, model)) in starts.iter_mut().zip(&self.lfo_models).enumerate() {
            let (mut delay, mut fade) = (model.delay_seconds, model.fade_seconds);
            for c in self.lfo_controls.iter().filter(timed).filter(|c| c.lfo as usize == n) {
                let x = c.amount * inputs.value(&c.input).unwrap_or(0.0);
                match c.param {
                    LfoParam::DelaySeconds => delay += x,
                    _ => fade += x,
                }
            }
            let lfo = Lfo { delay_seconds: delay, fade_seconds: fade, ..*model };
            let shape = LfoShape::new(&lfo, self.sample_rate);
            *start = (shape.delay_frames, shape.fade_step);
        }
        starts
    }

    /// The LFOs' rates and phase offsets at `inputs`.
    fn lfo_rates_for(&self, inputs: &ModInputs<'_>) -> [LfoRate; MAX_LFOS] {
        let mut rates = [LfoRate::default(); MAX_LFOS];
        for (rate, shape) in rates.iter_mut().zip(&self.lfos) {
            *rate = LfoRate::of(shape);
        }
        if self.lfo_controls.is_empty() {
            return rates;
        }
        for c in &self.lfo_controls {
            let Some(rate) = rates.get_mut(c.lfo as usize) else { continue };
            let x = c.amount * inputs.value(&c.input).unwrap_or(0.0);
            match c.param {
                LfoParam::FrequencyHz => rate.increment += x as f64 / self.sample_rate as f64,
                LfoParam::PhaseCycles => rate.phase_offset += x,
                LfoParam::DelaySeconds | LfoParam::FadeSeconds => {} // at the note's start
            }
        }
        for rate in &mut rates {
            rate.increment = rate.increment.max(0.0);
            rate.phase_offset = rate.phase_offset.rem_euclid(1.0);
        }
        rates
    }

    /// Whether a pressure change concerns them.
    pub(crate) fn reads_pressure(&self) -> bool {
        self.reads_pressure
    }

    /// Whether a pitch-wheel change concerns them.
    pub(crate) fn reads_wheel(&self) -> bool {
        self.reads_wheel
    }
}

/// One voice's modulation state.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct VoiceModulation {
    envelopes: [EnvelopeState; MAX_ENVELOPES],
    /// The envelopes' rates for this note (controls on their stages read at its start).
    envelope_shapes: [EnvelopeShape; MAX_ENVELOPES],
    lfos: [LfoState; MAX_LFOS],
    /// The LFOs' rates and phase offsets (controls on them read at every event).
    lfo_rates: [LfoRate; MAX_LFOS],
    /// The LFOs' fade-in steps for this note (controls on them read at its start).
    lfo_fade_steps: [f32; MAX_LFOS],
    /// Amount × scale of each fast route.
    gains: [f32; MAX_FAST_ROUTES],
    /// The region's values plus the event-rate routes.
    base: Targets,
    /// Gain from velocity and crossfades (event rate).
    static_gain: f32,
    /// Values at the last tick.
    pub(crate) now: Targets,
    /// Frames until the next tick.
    pub(crate) until_tick: u32,
    /// Left and right gain at the previous and at the last tick (the ramp runs between them).
    gain_from: (f32, f32),
    gain_to: (f32, f32),
    started: bool,
    /// The event-rate gain changed since the last tick.
    gain_changed: bool,
    /// Linear level and pan gains at the last tick (each recomputed only when it moves).
    level: f32,
    pan_gains: (f32, f32),
    /// Frames of the note rendered so far plus the phase of its first frame on the tick grid,
    /// and that count when the signals were last evaluated.
    frame: u64,
    evaluated_at: u64,
    /// Nothing moves until the next event: every signal route has a zero gain and the gain
    /// ramp has arrived. A quiet voice renders without ticks; its values are those a tick
    /// would give (the base), and its signals catch up by the frames that passed at its next
    /// tick. Whether a voice is quiet depends only on its events, so renders stay identical
    /// across block sizes.
    pub(crate) quiet: bool,
}

impl VoiceModulation {
    /// Starts the voice's envelopes and LFOs and reads the event-rate routes; the voice's next
    /// frame is frame `timeline_frame` of the engine's timeline (which places it on the tick
    /// grid).
    pub(crate) fn start(
        &mut self,
        zone: &ZoneModulation,
        sound: &Sound<'_>,
        inputs: &ModInputs<'_>,
        velocity_gain: f32,
        timeline_frame: u64,
    ) {
        self.envelope_shapes = zone.envelope_shapes_for(inputs);
        for (state, shape) in self.envelopes.iter_mut().zip(&self.envelope_shapes).take(zone.envelope_count) {
            *state = EnvelopeState::start(shape);
        }
        let starts = zone.lfo_starts_for(inputs);
        let lfos = self.lfos.iter_mut().zip(&mut self.lfo_fade_steps).zip(zone.lfos.iter().zip(starts));
        for ((state, fade), (shape, (delay_frames, fade_step))) in lfos.take(zone.lfo_count) {
            *state = LfoState::start_after(shape, delay_frames);
            *fade = fade_step;
        }
        self.started = false;
        self.until_tick = 0;
        self.frame = timeline_frame % MOD_FRAMES as u64;
        self.evaluated_at = self.frame;
        self.update(zone, sound, inputs, velocity_gain);
    }

    /// Re-reads the event-rate routes (a controller, pressure or the wheel changed); takes
    /// effect at the next tick.
    pub(crate) fn update(
        &mut self,
        zone: &ZoneModulation,
        sound: &Sound<'_>,
        inputs: &ModInputs<'_>,
        velocity_gain: f32,
    ) {
        self.base = sound.base;
        self.base.pitch_cents += inputs.note.tuning_semitones * 100.0;
        self.base.pan += inputs.note.pan;
        let fast = zone.fast.iter().take(zone.fast_count).flatten();
        for (gain, fast) in self.gains.iter_mut().zip(fast) {
            let Some(route) = sound.routes.get(fast.route as usize) else { continue };
            // The route's other side, which is event-rate: its value scales the signal.
            let other = if fast.signal_in_scale { Some(&route.input) } else { route.scale.as_ref() };
            let scale = other.map_or(Some(1.0), |s| inputs.value(s)).unwrap_or(0.0);
            *gain = route.amount * scale;
        }
        for route in zone.slow.iter().filter_map(|&i| sound.routes.get(i as usize)) {
            let scale = route.scale.as_ref().map_or(Some(1.0), |s| inputs.value(s)).unwrap_or(0.0);
            let value = inputs.value(&route.input).unwrap_or(0.0);
            self.base.add(route.target, value * scale * route.amount);
        }
        self.lfo_rates = zone.lfo_rates_for(inputs);
        let gain = velocity_gain * inputs.note.volume * crossfade_gain(sound.crossfades, inputs);
        self.gain_changed |= gain != self.static_gain;
        self.static_gain = gain;
        self.quiet = false;
    }

    /// Takes over a voice that played without modulation until now at `gains` (its first
    /// per-note expression): the gain ramps from there, the next tick is now. Call after
    /// [`VoiceModulation::start`].
    pub(crate) fn continue_from(&mut self, gains: (f32, f32)) {
        self.started = true;
        self.gain_to = gains;
        self.gain_changed = true;
        self.until_tick = 0;
        self.quiet = false;
    }

    /// The region's values plus the event-rate routes.
    pub(crate) fn base(&self) -> &Targets {
        &self.base
    }

    /// Note-off: envelopes enter their release.
    pub(crate) fn release(&mut self) {
        for e in &mut self.envelopes {
            e.release();
        }
        self.quiet = false;
    }

    /// Counts `frames` rendered: the next tick is at the next multiple of [`MOD_FRAMES`]
    /// frames of the note.
    pub(crate) fn advance(&mut self, frames: usize) {
        self.frame += frames as u64;
        self.until_tick = (MOD_FRAMES - (self.frame % MOD_FRAMES as u64) as u32) % MOD_FRAMES;
    }

    /// Evaluates the signals where the note is now (at its start: where they begin) and the
    /// routes; sets [`VoiceModulation::now`], the gain ramp and whether the voice is quiet.
    pub(crate) fn tick(&mut self, zone: &ZoneModulation) {
        let frames = (self.frame - self.evaluated_at).min(u32::MAX as u64) as u32;
        self.evaluated_at = self.frame;
        let mut signals = [0.0f32; MAX_ENVELOPES + MAX_LFOS];
        let (envelope_signals, lfo_signals) = signals.split_at_mut(MAX_ENVELOPES);
        let envelopes = self.envelopes.iter_mut().zip(&self.envelope_shapes).take(zone.envelope_count);
        for (signal, (state, shape)) in envelope_signals.iter_mut().zip(envelopes) {
            *signal = state.advance(shape, frames);
        }
        let lfos = self.lfos.iter_mut().zip(&zone.lfos).zip(self.lfo_rates.iter().zip(&self.lfo_fade_steps));
        for (signal, ((state, shape), (rate, fade_step))) in lfo_signals.iter_mut().zip(lfos.take(zone.lfo_count)) {
            *signal = state.advance_at(shape, *rate, *fade_step, frames);
        }
        let mut t = self.base;
        for (route, gain) in zone.fast.iter().take(zone.fast_count).zip(&self.gains) {
            if let Some(route) = route {
                t.add(route.target, signals[route.signal as usize] * gain);
            }
        }
        let level_moved = !self.started
            || t.volume_db != self.now.volume_db
            || t.amplitude != self.now.amplitude
            || self.gain_changed;
        // An event-rate change (or taking over a voice) refreshes both.
        let pan_moved = !self.started || t.pan != self.now.pan || self.gain_changed;
        self.now = t;
        self.gain_from = self.gain_to;
        if level_moved || pan_moved {
            // Only what moved: most ticks of most voices change pitch or nothing, and a
            // tremolo moves the level but not the pan.
            if level_moved {
                self.level = level_of(t.volume_db) * t.amplitude.max(0.0) * self.static_gain;
            }
            if pan_moved {
                self.pan_gains = pan_gains(t.pan);
            }
            let (level, (l, r)) = (self.level, self.pan_gains);
            self.gain_to = (level * l, level * r);
            if !self.started {
                self.gain_from = self.gain_to;
            }
        }
        self.gain_changed = false;
        self.started = true;
        self.until_tick = self.interval();
        self.quiet = self.gain_from == self.gain_to && self.gains[..zone.fast_count].iter().all(|&g| g == 0.0);
    }

    /// Frames from the last tick to the next (the gain ramp's length): [`MOD_FRAMES`] but for
    /// a first interval that starts off the grid.
    fn interval(&self) -> u32 {
        MOD_FRAMES - (self.evaluated_at % MOD_FRAMES as u64) as u32
    }

    /// The gain ramp for the frames from here to the next tick.
    pub(crate) fn gain_ramp(&self) -> GainRamp {
        let interval = self.interval();
        let step = |from: f32, to: f32| (to - from) / interval as f32;
        GainRamp {
            from: self.gain_from,
            step: (step(self.gain_from.0, self.gain_to.0), step(self.gain_from.1, self.gain_to.1)),
            offset: interval - self.until_tick.min(interval),
        }
    }
}

/// A voice's left and right gains over a run of frames: frame `k` (from 0) plays at
/// `from + step·(offset + k + 1)`. The offset is a whole number of frames, so a ramp split
/// anywhere gives the same gains bit for bit.
#[derive(Copy, Clone, Debug)]
pub(crate) struct GainRamp {
    pub(crate) from: (f32, f32),
    pub(crate) step: (f32, f32),
    pub(crate) offset: u32,
}

impl GainRamp {
    /// A constant gain.
    pub(crate) fn constant(gains: (f32, f32)) -> Self {
        Self { from: gains, step: (0.0, 0.0), offset: 0 }
    }

    /// The same ramp, every gain times `factor`.
    pub(crate) fn scaled(self, factor: f32) -> Self {
        let (from, step) = (self.from, self.step);
        Self { from: (from.0 * factor, from.1 * factor), step: (step.0 * factor, step.1 * factor), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noderack_presets::instrument::ModInput;

    #[test]
    fn envelopes_run_their_segments_in_their_times() {
        let e = Envelope {
            delay_seconds: 0.001,
            attack_seconds: 0.002,
            hold_seconds: 0.001,
            decay_seconds: 0.004,
            sustain_level: 0.5,
            release_seconds: 0.002,
        };
        let shape = EnvelopeShape::new(&e, 1000.0);
        let mut s = EnvelopeState::start(&shape);
        assert_eq!(s.advance(&shape, 1), 0.0); // delay done
        assert_eq!(s.advance(&shape, 1), 0.5); // half the attack
        assert_eq!(s.advance(&shape, 1), 1.0);
        assert_eq!(s.advance(&shape, 1), 1.0); // hold
        assert_eq!(s.advance(&shape, 1), 0.75); // decay: full scale in 4 frames
        assert_eq!(s.advance(&shape, 5), 0.5); // sustain
        s.release();
        assert_eq!(s.advance(&shape, 1), 0.0); // full scale per 2 frames from 0.5
    }

    #[test]
    fn lfos_wait_fade_in_and_cycle() {
        let lfo = Lfo {
            frequency_hz: 1.0,
            delay_seconds: 0.25,
            fade_seconds: 0.5,
            phase_cycles: 0.0,
            waveform: LfoWaveform::Triangle,
        };
        let shape = LfoShape::new(&lfo, 100.0);
        let mut s = LfoState::start(&shape);
        assert_eq!(s.advance(&shape, 25), 0.0);
        // A quarter cycle after the delay: the peak, at half depth.
        assert!((s.advance(&shape, 25) - 0.5).abs() < 1e-5);
        // Another half cycle: the trough, at full depth.
        assert!((s.advance(&shape, 50) + 1.0).abs() < 1e-5);
    }

    /// A voice ticks at its first frame, then on the timeline's grid; its gain ramp covers
    /// the (shorter) first interval and arrives at the tick's gain exactly at the next tick.
    #[test]
    fn ticks_keep_to_the_timelines_grid() {
        let lfo = Lfo {
            frequency_hz: 5.0,
            delay_seconds: 0.0,
            fade_seconds: 0.0,
            phase_cycles: 0.25,
            waveform: LfoWaveform::Sine,
        };
        let tremolo = ModRoute::new(ModInput::linear(ModSource::Lfo(0)), -6.0, ModTarget::VolumeDb);
        let modulation = Modulation { lfos: vec![lfo], routes: vec![tremolo], ..Modulation::default() };
        let zone = ZoneModulation::new(&modulation, &[], 48_000.0);
        let sound = Sound {
            base: Targets { amplitude: 1.0, ..Targets::default() },
            crossfades: &[],
            routes: &modulation.routes,
        };
        let controllers = [0u8; 128];
        let inputs = ModInputs {
            controllers: &controllers,
            channel_pressure: 0,
            poly_pressure: 0,
            bend: 0.0,
            bend_range_semitones: 2.0,
            velocity: 100,
            key: 60,
            note: NoteState::default(),
        };
        for (first_frame, first_interval) in [(100u64, 28u32), (128, 64), (64 * 1000 + 63, 1)] {
            let mut v = VoiceModulation::default();
            v.start(&zone, &sound, &inputs, 1.0, first_frame);
            assert_eq!(v.until_tick, 0, "a tick at the first frame");
            v.tick(&zone);
            assert_eq!(v.until_tick, first_interval, "from frame {first_frame}");
            v.advance(first_interval as usize);
            assert_eq!(v.until_tick, 0);
            for interval in 0..3 {
                v.tick(&zone);
                assert!(!v.quiet, "a tremolo moves");
                assert_eq!(v.until_tick, MOD_FRAMES, "interval {interval} after frame {first_frame}");
                // The ramp's last frame is the tick's gain (within rounding).
                let ramp = v.gain_ramp();
                let last = ramp.from.0 + ramp.step.0 * (ramp.offset + MOD_FRAMES) as f32;
                assert!((last - v.gain_to.0).abs() <= 1e-6 * v.gain_to.0.abs(), "{last} vs {}", v.gain_to.0);
                v.advance(MOD_FRAMES as usize);
            }
        }
    }

    #[test]
    fn waveforms_have_their_shapes() {
        for (w, at) in [
            (LfoWaveform::Triangle, [0.0, 1.0, 0.0, -1.0]),
            (LfoWaveform::Sine, [0.0, 1.0, 0.0, -1.0]),
            (LfoWaveform::Pulse { duty_thousandths: 500 }, [1.0, 1.0, -1.0, -1.0]),
            (LfoWaveform::SawUp, [-1.0, -0.5, 0.0, 0.5]),
            (LfoWaveform::SawDown, [1.0, 0.5, 0.0, -0.5]),
        ] {
            for (i, expected) in at.iter().enumerate() {
                let v = waveform_at(w, i as f32 / 4.0);
                assert!((v - expected).abs() < 1e-6, "{w:?} at {i}/4: {v}");
            }
        }
    }
}
