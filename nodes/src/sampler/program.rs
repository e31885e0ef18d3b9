//! What a sampler plays: a [`Bank`] prepared for one engine sample rate, sent to the running
//! processor as a [`noderack_graph::Parcel`].
//!
//! Preparing happens on the control thread: region settings become per-sample rates and gains
//! (envelope coefficients, pan gains, the ratio between the sample's rate and the engine's),
//! so starting a voice on the audio thread only copies numbers.

use std::sync::Arc;

use noderack_presets::instrument::{Bank, Envelope, LoopDirection, LoopMode, Region, RoundRobin, Trigger};

use crate::dsp::modulation::{controlled_envelope, ModInputs, Sound, Targets, ZoneModulation};
use crate::dsp::{db_to_gain, pan_gains, AdsrShape};

/// A region with everything a voice needs, precomputed.
pub(crate) struct Zone {
    pub(crate) region: Region,
    /// Left and right gain: region gain, amplitude and pan.
    pub(crate) gains: (f32, f32),
    /// Envelopes, LFOs and routes at the engine's rate.
    pub(crate) modulation: ZoneModulation,
    /// Amplitude envelope rates at the engine's rate.
    pub(crate) shape: AdsrShape,
    /// Envelope delay in engine frames.
    pub(crate) delay_frames: u32,
    /// Sample frames per engine frame at the root key: sample rate / engine rate.
    pub(crate) rate_ratio: f64,
    /// Loop in whole sample frames (start, exclusive end), when the region loops.
    pub(crate) loop_frames: Option<(i64, i64)>,
    pub(crate) ping_pong: bool,
    /// How many times a note has reached this region (round robin by sequence).
    pub(crate) sequence_count: u32,
}

/// The rates of envelope `e` at `sample_rate`. Attack and decay times of 0 mean "as
/// recorded": the envelope's minimum (0.1 ms).
fn envelope_shape(e: &Envelope, sample_rate: f32) -> AdsrShape {
    AdsrShape::new(e.attack_seconds, e.decay_seconds, e.sustain_level, e.release_seconds, sample_rate)
        .with_hold_seconds(e.hold_seconds, sample_rate)
}

/// Envelope `e`'s delay in frames at `sample_rate`.
fn delay_frames(e: &Envelope, sample_rate: f32) -> u32 {
    (e.delay_seconds.max(0.0) * sample_rate).round() as u32
}

/// One program of the bank, its regions flattened.
pub(crate) struct PreparedInstrument {
    pub(crate) zones: Vec<Zone>,
    pub(crate) key_switch_range: Option<(u8, u8)>,
    pub(crate) default_key_switch: Option<u8>,
    /// Whether any region has a release trigger (saves a scan on every note-off otherwise).
    pub(crate) has_release_triggers: bool,
}

/// A bank ready to play at one sample rate. Send it to a sampler with
/// [`noderack_graph::Engine::send_parcel`] wrapped in a [`noderack_graph::Parcel`]; the
/// sampler keeps it until no voice plays it any more, then retires it.
pub struct SamplerProgram {
    pub(crate) bank: Arc<Bank>,
    pub(crate) instruments: Vec<PreparedInstrument>,
    pub(crate) sample_rate: f32,
}

impl SamplerProgram {
    /// Prepares `bank` for an engine running at `sample_rate` Hz (allocates: control thread).
    pub fn new(bank: Arc<Bank>, sample_rate: f32) -> Self {
        let sample_rate = sample_rate.max(1.0);
        let instruments = bank
            .programs
            .values()
            .map(|instrument| {
                let zones: Vec<Zone> = instrument.regions().map(|r| Zone::new(r, sample_rate)).collect();
                PreparedInstrument {
                    has_release_triggers: zones.iter().any(|z| z.region.trigger == Trigger::Release),
                    zones,
                    key_switch_range: instrument.key_switch_range.map(|r| (r.low, r.high)),
                    default_key_switch: instrument.default_key_switch,
                }
            })
            .collect();
        Self { bank, instruments, sample_rate }
    }

    /// The bank this was prepared from.
    pub fn bank(&self) -> &Arc<Bank> {
        &self.bank
    }

    /// The engine rate it was prepared for.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }
}

impl Zone {
    pub(crate) fn new(region: &Region, sample_rate: f32) -> Self {
        let e = &region.amp_envelope;
        let (l, r) = pan_gains(region.pan.clamp(-1.0, 1.0));
        let g = db_to_gain(region.gain_db) * region.amplitude.max(0.0);
        let frames = region.sample.frames() as i64;
        let loop_frames = match (region.loop_mode, region.sample_loop) {
            (LoopMode::Continuous | LoopMode::Sustain, Some(l)) => {
                let start = (l.start_frames.round() as i64).clamp(0, frames);
                let end = (l.end_frames.round() as i64).clamp(0, frames);
                (end - start >= 2).then_some((start, end))
            }
            _ => None,
        };
        Self {
            region: region.clone(),
            gains: (g * l, g * r),
            modulation: ZoneModulation::new(&region.modulation, &region.crossfades, sample_rate),
            shape: envelope_shape(e, sample_rate),
            delay_frames: delay_frames(e, sample_rate),
            rate_ratio: region.sample.sample_rate_hz as f64 / sample_rate as f64,
            loop_frames,
            ping_pong: region.sample_loop.is_some_and(|l| l.direction == LoopDirection::PingPong),
            sequence_count: 0,
        }
    }

    /// The amplitude envelope's rates and delay for a note that starts with `inputs`: the
    /// prepared ones unless the region has controls on its stages (SFZ
    /// `ampeg_release_onccN`, `ampeg_vel2attack` …), which are then read now. No allocation:
    /// callable on the audio thread.
    pub(crate) fn envelope_for(&self, inputs: &ModInputs<'_>, sample_rate: f32) -> (AdsrShape, u32) {
        let r = &self.region;
        if r.amp_envelope_controls.is_empty() {
            return (self.shape, self.delay_frames);
        }
        let e = controlled_envelope(r.amp_envelope, &r.amp_envelope_controls, inputs);
        (envelope_shape(&e, sample_rate), delay_frames(&e, sample_rate))
    }

    /// What its voices' modulation starts from: the region's volume, amplitude, pan and width,
    /// and its crossfades.
    pub(crate) fn sound(&self) -> Sound<'_> {
        let r = &self.region;
        let base = Targets {
            pitch_cents: 0.0,
            cutoff_cents: 0.0,
            volume_db: r.gain_db,
            amplitude: r.amplitude,
            pan: r.pan,
            width: r.width,
        };
        Sound { base, crossfades: &r.crossfades, routes: &r.modulation.routes }
    }

    /// Whether this zone plays for a note that reached it, by its round-robin rule;
    /// `random` is the note's uniform random number. Advances the sequence counter.
    pub(crate) fn takes_turn(&mut self, random: f32) -> bool {
        match self.region.round_robin {
            RoundRobin::Off => true,
            RoundRobin::Sequence { length, position } => {
                let turn = self.sequence_count % length.max(1) + 1;
                self.sequence_count = self.sequence_count.wrapping_add(1);
                turn == position
            }
            RoundRobin::Random { low, high } => random >= low && random < high,
        }
    }
}
