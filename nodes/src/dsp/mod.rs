//! DSP shared by several nodes: small conversions here, building blocks (oscillator, envelope,
//! filter) in submodules.

pub mod channel_mix;
pub mod envelope;
pub mod filter;
pub mod interpolate;
pub(crate) mod modulation;
pub mod oscillator;
pub mod svf_block;

pub use envelope::{Adsr, AdsrShape, Stage};
pub use filter::{Svf, SvfCoefficients, SvfOutputs, SvfResponse, SvfStateSpace};
pub use oscillator::{Oscillator, Waveform};
pub use svf_block::{SvfBlock, SvfBlockCoefficients};

/// Decibels to linear gain; -96 dB and below is silence.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -96.0 {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// An output gain in dB applied to a stereo buffer, remembering the last conversion so the
/// `powf` only runs when the value changes. Follows a smoothed parameter sample by sample.
#[derive(Copy, Clone, Debug)]
pub struct OutputGain {
    db: f32,
    linear: f32,
}

impl Default for OutputGain {
    fn default() -> Self {
        Self { db: 0.0, linear: 1.0 }
    }
}

impl OutputGain {
    fn linear(&mut self, db: f32) -> f32 {
        if self.db != db {
            (self.db, self.linear) = (db, db_to_gain(db));
        }
        self.linear
    }

    /// Scales both channels by `gain_db` (a parameter's values over the chunk).
    pub fn apply(&mut self, gain_db: noderack_graph::ParamSignal<'_>, out_l: &mut [f32], out_r: &mut [f32]) {
        match gain_db.constant() {
            Some(db) => {
                let g = self.linear(db);
                if g != 1.0 {
                    out_l.iter_mut().chain(out_r.iter_mut()).for_each(|s| *s *= g);
                }
            }
            None => {
                for (i, (l, r)) in out_l.iter_mut().zip(out_r.iter_mut()).enumerate() {
                    let g = self.linear(gain_db.at(i));
                    *l *= g;
                    *r *= g;
                }
            }
        }
    }
}

/// One step of rendering a chunk split at its events: render frames `start..end`, or handle
/// `event` at frame `at`.
pub enum Span<'e> {
    /// Render these frames.
    Frames(usize, usize),
    /// Apply this event, due at this frame.
    Event(&'e noderack_graph::Event, usize),
}

/// What an instrument's call works with: the events on its MIDI input, its parameters, and
/// its stereo output cut to the chunk and cleared (voices add into it).
pub struct InstrumentIo<'c, 'a> {
    /// Events of this chunk, sorted by time.
    pub events: &'a [noderack_graph::Event],
    /// Parameter values of this chunk.
    pub params: noderack_graph::Params<'a>,
    /// Left output channel, zeroed.
    pub out_l: &'c mut [f32],
    /// Right output channel, zeroed.
    pub out_r: &'c mut [f32],
}

/// The [`InstrumentIo`] of a call: events from input `events_in`, stereo output `out`.
pub fn instrument_io<'c, 'a>(
    ctx: &'c mut noderack_graph::ProcessContext<'a>,
    events_in: usize,
    out: usize,
) -> InstrumentIo<'c, 'a> {
    let events = ctx.inputs().events(events_in);
    let params = ctx.params();
    let frames = ctx.frames();
    let (out_l, out_r) = ctx.outputs().into_stereo(out);
    let frames = frames.min(out_l.len()).min(out_r.len());
    let (out_l, out_r) = (&mut out_l[..frames], &mut out_r[..frames]);
    out_l.fill(0.0);
    out_r.fill(0.0);
    InstrumentIo { events, params, out_l, out_r }
}

/// Walks a chunk of `frames` frames with its sorted `events`, calling `step` for each run of
/// frames between events and for each event at its frame: what makes instruments
/// sample-accurate.
pub fn split_at_events<'e>(events: &'e [noderack_graph::Event], frames: usize, mut step: impl FnMut(Span<'e>)) {
    let mut pos = 0;
    for event in events {
        let t = (event.time_frames as usize).min(frames);
        if t > pos {
            step(Span::Frames(pos, t));
            pos = t;
        }
        step(Span::Event(event, t));
    }
    if pos < frames {
        step(Span::Frames(pos, frames));
    }
}

/// Channel gains for a stereo balance control: `0` leaves both channels at unity; moving
/// towards one side attenuates the other channel along a quarter sine (equal power at the
/// extremes relative to centre-unity). Returns (left, right).
#[inline]
pub fn pan_gains(pan: f32) -> (f32, f32) {
    let p = pan.clamp(-1.0, 1.0);
    if p >= 0.0 {
        ((p * std::f32::consts::FRAC_PI_2).cos(), 1.0)
    } else {
        (1.0, (-p * std::f32::consts::FRAC_PI_2).cos())
    }
}

/// Frequency in Hz of a (possibly fractional) MIDI key, A4 = key 69 = 440 Hz.
#[inline]
pub fn key_to_hz(key: f32) -> f32 {
    440.0 * 2f32.powf((key - 69.0) / 12.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_centre_is_unity_and_extremes_silence_the_other_side() {
        assert_eq!(pan_gains(0.0), (1.0, 1.0));
        let (l, r) = pan_gains(1.0);
        assert!(l.abs() < 1e-6 && r == 1.0);
        let (l, r) = pan_gains(-1.0);
        assert!(r.abs() < 1e-6 && l == 1.0);
    }

    #[test]
    fn key_to_hz_matches_equal_temperament() {
        assert_eq!(key_to_hz(69.0), 440.0);
        assert!((key_to_hz(60.0) - 261.6256).abs() < 1e-3);
        assert!((key_to_hz(81.0) - 880.0).abs() < 1e-3);
    }

    #[test]
    fn db_to_gain_known_points() {
        assert_eq!(db_to_gain(0.0), 1.0);
        assert!((db_to_gain(-6.0) - 0.501187).abs() < 1e-5);
        assert_eq!(db_to_gain(-120.0), 0.0);
    }
}
