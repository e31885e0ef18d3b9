//! What moves a region's sound while a note plays: modulation envelopes, LFOs, and routes from
//! them and from MIDI controllers to pitch, cutoff, volume, amplitude and pan.
//!
//! One model for every importer. SF2 generators (`modEnvToPitch`, `vibLfoToPitch`, …) and
//! modulators (default and `pmod`/`imod` records), SFZ v1 (`pitcheg_*`, `amplfo_*`, …) and v2
//! (`lfoN_*`, `egN_*`, `*_onccN`) all become [`ModRoute`]s: a source through a curve, times an
//! optional second source (SF2's "amount source", SFZ's `lfo1_pitch_oncc1`), times an amount,
//! added to a [`ModTarget`]. The sampler evaluates routes whose sources change per note
//! (velocity, key, controllers) when those change, and routes from envelopes and LFOs at its
//! control rate.

use std::sync::Arc;

use crate::instrument::{Envelope, EnvelopeControl};

/// Most LFOs one region may use.
pub const MAX_LFOS: usize = 4;
/// Most modulation envelopes one region may use.
pub const MAX_ENVELOPES: usize = 3;
/// Most routes from envelopes and LFOs (the per-sample-block routes) one region may use.
pub const MAX_FAST_ROUTES: usize = 16;

/// Shape of an LFO's cycle. Every shape runs from −1 to 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum LfoWaveform {
    /// Starts at 0 rising to 1 at a quarter cycle (SF2's LFOs, SFZ wave 0).
    #[default]
    Triangle,
    /// Sine starting at 0 rising (SFZ wave 1).
    Sine,
    /// +1 for the first `duty` of the cycle, −1 after it (SFZ waves 2–5: 0.75, 0.5, 0.25, 0.125).
    Pulse {
        /// Fraction of the cycle spent high, in thousandths (500 = square).
        duty_thousandths: u16,
    },
    /// Rising ramp from −1 to 1 (SFZ wave 6).
    SawUp,
    /// Falling ramp from 1 to −1 (SFZ wave 7).
    SawDown,
}

/// A low-frequency oscillator of a voice: silent for its delay, then fading in over its fade
/// time, from its start phase.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Lfo {
    /// Cycles per second.
    pub frequency_hz: f32,
    /// Time after note-on before it moves.
    pub delay_seconds: f32,
    /// Time over which its depth rises linearly from 0 to full after the delay.
    pub fade_seconds: f32,
    /// Where in its cycle it starts, 0..1.
    pub phase_cycles: f32,
    /// Cycle shape.
    pub waveform: LfoWaveform,
}

impl Default for Lfo {
    fn default() -> Self {
        Self {
            frequency_hz: 8.176,
            delay_seconds: 0.0,
            fade_seconds: 0.0,
            phase_cycles: 0.0,
            waveform: LfoWaveform::Triangle,
        }
    }
}

/// How a MIDI value (0..=127, or the pitch wheel) becomes a modulation value. SF2 2.04 section
/// 8.2.1's curve types; [`ModCurve::Table`] holds SFZ `<curve>` headers and `amp_velcurve_N`.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum ModCurve {
    /// Straight line.
    #[default]
    Linear,
    /// SF2 concave: `−20/96·log10((127−v)²/127²)`, slow then fast.
    Concave,
    /// SF2 convex: the mirror of concave, fast then slow.
    Convex,
    /// 0 below the middle, 1 from it.
    Switch,
    /// One value per MIDI value 0..=127 (normalised 0..1 input → table output, interpolated
    /// for the pitch wheel's finer steps).
    Table(Arc<[f32; 128]>),
}

/// Where a modulation value comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ModSource {
    /// Always 1 (a fixed amount: SF2's "no controller" source).
    One,
    /// The note-on velocity.
    Velocity,
    /// The note's key number.
    Key,
    /// MIDI continuous controller 0..=127 of the note's channel.
    Controller(u8),
    /// Channel pressure (aftertouch) of the note's channel.
    ChannelPressure,
    /// Polyphonic (per-key) pressure of the note's key.
    PolyPressure,
    /// The channel's pitch wheel (and, for MPE, the note's own bend).
    PitchWheel,
    /// The channel's pitch-bend range in semitones (SF2's RPN 0 source), as a value 0..=127.
    BendRange,
    /// Modulation envelope `n` of the region (0..[`MAX_ENVELOPES`]), 0..1.
    Envelope(u8),
    /// LFO `n` of the region (0..[`MAX_LFOS`]), −1..1.
    Lfo(u8),
}

impl ModSource {
    /// Whether the source changes continuously while a note plays (an envelope or an LFO),
    /// rather than only at events.
    pub fn is_per_voice_signal(self) -> bool {
        matches!(self, ModSource::Envelope(_) | ModSource::Lfo(_))
    }
}

/// A source read through a curve.
///
/// MIDI-valued sources are normalised to 0..1 (the pitch wheel from 0 at full down, 0.5 at
/// rest, to 1 at full up), inverted (`1 − x`) when `inverted`, mapped through the curve, then
/// made −1..1 (`2y − 1`) when `bipolar`, as SF2 modulator sources are. Envelopes (0..1) and
/// LFOs (−1..1) are used as they are: `curve`, `bipolar` and `inverted` apply to MIDI values
/// only.
#[derive(Clone, Debug, PartialEq)]
pub struct ModInput {
    /// What is read.
    pub source: ModSource,
    /// How the normalised value is shaped.
    pub curve: ModCurve,
    /// Map 0..1 to −1..1 after the curve.
    pub bipolar: bool,
    /// Read `1 − x` before the curve (SF2's "max to min" direction).
    pub inverted: bool,
}

impl ModInput {
    /// `source` read linearly, unipolar, not inverted.
    pub fn linear(source: ModSource) -> Self {
        Self { source, curve: ModCurve::Linear, bipolar: false, inverted: false }
    }

    /// The same input through `curve`.
    pub fn with_curve(mut self, curve: ModCurve) -> Self {
        self.curve = curve;
        self
    }

    /// The same input made bipolar.
    pub fn bipolar(mut self) -> Self {
        self.bipolar = true;
        self
    }

    /// The same input inverted.
    pub fn inverted(mut self) -> Self {
        self.inverted = true;
        self
    }
}

/// What a route changes. Every target adds the routes' contributions to the region's own value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ModTarget {
    /// Pitch, in cents.
    PitchCents,
    /// Filter cutoff, in cents (no effect on a region without a filter).
    CutoffCents,
    /// Level, in dB.
    VolumeDb,
    /// Linear amplitude, added to [`crate::instrument::Region::amplitude`] (1 = 100 %).
    Amplitude,
    /// Pan, −1..1 added to the region's pan (the sum is clamped).
    Pan,
    /// Stereo width of a stereo sample, added to [`crate::instrument::Region::width`] (1 =
    /// 100 %; the sum is clamped to −1..=1). No effect on a mono sample.
    Width,
}

/// One modulation: `input × scale × amount` added to `target`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModRoute {
    /// The source.
    pub input: ModInput,
    /// An optional second source the first is multiplied by (SF2's amount source; SFZ's
    /// `lfo1_pitch_oncc1` is LFO 1 scaled by CC 1). Must not be an envelope or an LFO.
    pub scale: Option<ModInput>,
    /// Full-scale amount, in the target's unit.
    pub amount: f32,
    /// What it changes.
    pub target: ModTarget,
}

impl ModRoute {
    /// `input × amount` added to `target`.
    pub fn new(input: ModInput, amount: f32, target: ModTarget) -> Self {
        Self { input, scale: None, amount, target }
    }

    /// The same route scaled by `scale`.
    pub fn scaled_by(mut self, scale: ModInput) -> Self {
        self.scale = Some(scale);
        self
    }
}

/// An event-rate input's part in a stage of one modulation envelope, read when a note starts
/// (SFZ `pitcheg_vel2attack`, `fileg_decay_onccN`, `egN_timeK_onccN`): the same rule as the
/// amplitude envelope's [`EnvelopeControl`]s.
#[derive(Clone, Debug, PartialEq)]
pub struct ModEnvelopeControl {
    /// Which of [`Modulation::envelopes`].
    pub envelope: u8,
    /// The stage, the input and its amount.
    pub control: EnvelopeControl,
}

/// What an [`LfoControl`] moves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LfoParam {
    /// Added to [`Lfo::frequency_hz`] (the sum is at least 0): the LFO runs faster or slower
    /// from where its cycle is, without a jump.
    FrequencyHz,
    /// Added to where in its cycle the LFO reads, in cycles: its output shifts at once.
    PhaseCycles,
    /// Added to [`Lfo::delay_seconds`] when a note starts (the sum is at least 0).
    DelaySeconds,
    /// Added to [`Lfo::fade_seconds`] when a note starts (the sum is at least 0).
    FadeSeconds,
}

/// An event-rate input moving an LFO's rate or phase while its notes play, or setting its
/// delay or fade-in when a note starts (SFZ `lfoN_freq_onccN`, `lfoN_phase_onccN`, v1
/// `pitchlfo_freqccN`, `amplfo_freqchanaft`, `lfoN_delay_onccN`, `lfoN_fade_onccN`).
#[derive(Clone, Debug, PartialEq)]
pub struct LfoControl {
    /// Which of [`Modulation::lfos`].
    pub lfo: u8,
    /// Rate or phase.
    pub param: LfoParam,
    /// What is read: a controller, pressure, the wheel, velocity or key, through its curve
    /// (never an envelope or an LFO).
    pub input: ModInput,
    /// Added at the input's full value: Hz, cycles, or seconds.
    pub amount: f32,
}

/// A region's envelopes, LFOs and routes. Envelopes run linearly from 0 to 1 in their attack,
/// then linearly to the sustain level and, after note-off, to 0 (the SF2 modulation envelope's
/// shape); the decay and release times are those of a full-scale change.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Modulation {
    /// Modulation envelopes (at most [`MAX_ENVELOPES`]).
    pub envelopes: Vec<Envelope>,
    /// Inputs that change the envelopes' stages, read when a note starts.
    pub envelope_controls: Vec<ModEnvelopeControl>,
    /// LFOs (at most [`MAX_LFOS`]).
    pub lfos: Vec<Lfo>,
    /// Inputs that move the LFOs' rates and phases while notes play, and set their delays
    /// and fades when notes start.
    pub lfo_controls: Vec<LfoControl>,
    /// Routes, in no particular order (their contributions add). At most
    /// [`MAX_FAST_ROUTES`] of them may read an envelope or an LFO.
    pub routes: Vec<ModRoute>,
}

impl Modulation {
    /// Whether nothing is modulated (the sampler's fastest path).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// A gain that rises or falls across a range of velocity, key or controller values (SFZ
/// `xfin_*` / `xfout_*`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Crossfade {
    /// What is read: [`ModSource::Velocity`], [`ModSource::Key`] or [`ModSource::Controller`].
    pub source: ModSource,
    /// Value at which the fade starts.
    pub low: u8,
    /// Value at which it ends.
    pub high: u8,
    /// Fading in (0 at `low`, 1 at `high`) rather than out (1 at `low`, 0 at `high`).
    pub fade_in: bool,
    /// Equal-power (`sqrt`) rather than linear-gain law (SFZ `xf_*curve=power`, the default).
    pub power: bool,
}

impl Crossfade {
    /// The gain at `value`.
    pub fn gain(&self, value: u8) -> f32 {
        let x = if self.high <= self.low {
            if value >= self.high {
                1.0
            } else {
                0.0
            }
        } else {
            ((value as f32 - self.low as f32) / (self.high as f32 - self.low as f32)).clamp(0.0, 1.0)
        };
        let x = if self.fade_in { x } else { 1.0 - x };
        if self.power {
            x.sqrt()
        } else {
            x
        }
    }
}

/// SF2 2.04's concave curve at `x` in 0..1 (0 at 0, 1 at 1; the value as the amount of a 96 dB
/// attenuation law).
pub fn concave(x: f32) -> f32 {
    if x >= 1.0 {
        return 1.0;
    }
    let x = x.max(0.0);
    // −20/96 · log10((1 − x)²), clamped to 0..1 as the curve's domain ends.
    (-(20.0 / 96.0) * ((1.0 - x) * (1.0 - x)).log10()).clamp(0.0, 1.0)
}

/// SF2 2.04's convex curve: `1 − concave(1 − x)`.
pub fn convex(x: f32) -> f32 {
    1.0 - concave(1.0 - x)
}

impl ModCurve {
    /// The curve applied to `x` in 0..1.
    pub fn apply(&self, x: f32) -> f32 {
        match self {
            ModCurve::Linear => x,
            ModCurve::Concave => concave(x),
            ModCurve::Convex => convex(x),
            ModCurve::Switch => {
                if x >= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            ModCurve::Table(table) => {
                let position = x.clamp(0.0, 1.0) * 127.0;
                let i = (position as usize).min(126);
                let t = position - i as f32;
                table[i] + (table[i + 1] - table[i]) * t
            }
        }
    }
}

impl ModInput {
    /// The value of this input for a MIDI-valued source at `normalised` (0..1).
    pub fn shape(&self, normalised: f32) -> f32 {
        let x = if self.inverted { 1.0 - normalised } else { normalised };
        let y = self.curve.apply(x);
        if self.bipolar {
            2.0 * y - 1.0
        } else {
            y
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sf2_curves_meet_their_ends_and_bend_the_right_way() {
        assert_eq!(concave(0.0), 0.0);
        assert_eq!(concave(1.0), 1.0);
        assert_eq!(convex(0.0), 0.0);
        assert_eq!(convex(1.0), 1.0);
        // Concave is slow then fast: below the line in the middle; convex above.
        assert!(concave(0.5) < 0.5 && concave(0.5) > 0.0);
        assert!(convex(0.5) > 0.5 && convex(0.5) < 1.0);
        // −20/96·log10(0.25) = 0.1254.
        assert!((concave(0.5) - 0.1254).abs() < 1e-3, "{}", concave(0.5));
    }

    #[test]
    fn inputs_invert_then_curve_then_go_bipolar() {
        let input = ModInput::linear(ModSource::Controller(1)).bipolar().inverted();
        assert_eq!(input.shape(0.0), 1.0);
        assert_eq!(input.shape(1.0), -1.0);
        assert_eq!(input.shape(0.5), 0.0);
        let switch = ModInput::linear(ModSource::Controller(64)).with_curve(ModCurve::Switch);
        assert_eq!(switch.shape(0.49), 0.0);
        assert_eq!(switch.shape(0.5), 1.0);
    }

    #[test]
    fn crossfades_follow_their_law_between_their_ends() {
        let xf = Crossfade { source: ModSource::Velocity, low: 20, high: 100, fade_in: true, power: false };
        assert_eq!(xf.gain(20), 0.0);
        assert_eq!(xf.gain(60), 0.5);
        assert_eq!(xf.gain(127), 1.0);
        let out = Crossfade { fade_in: false, power: true, ..xf };
        assert_eq!(out.gain(20), 1.0);
        assert!((out.gain(60) - 0.5f32.sqrt()).abs() < 1e-6);
        assert_eq!(out.gain(100), 0.0);
    }

    #[test]
    fn tables_interpolate_between_their_points() {
        let mut table = [0.0f32; 128];
        table[127] = 1.0;
        table[126] = 0.5;
        let curve = ModCurve::Table(Arc::new(table));
        assert_eq!(curve.apply(1.0), 1.0);
        assert_eq!(curve.apply(126.0 / 127.0), 0.5);
        assert_eq!(curve.apply(0.0), 0.0);
    }
}
