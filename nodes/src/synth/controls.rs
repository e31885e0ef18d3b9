//! What the voices derive from the synth's parameters at their control updates, cached so the
//! `exp` calls behind the envelope rates only run when a value changes.

use noderack_graph::{ParamId, Params};

use super::modulation::ModShapes;
use super::params::*;
use crate::dsp::filter::resonance_to_damping;
use crate::dsp::{AdsrShape, Waveform};

/// Everything voices derive from the control parameters.
#[derive(Copy, Clone, Debug)]
pub(super) struct Controls {
    pub(super) waveform: Waveform,
    pub(super) shape: AdsrShape,
    pub(super) cutoff_hz: f32,
    pub(super) damping: f32,
    pub(super) env_octaves: f32,
    pub(super) bend_range_semitones: f32,
    pub(super) tune_semitones: f32,
    pub(super) modulation: ModShapes,
}

/// The last control parameter values seen and what was derived from them.
pub(super) struct ControlCache {
    raw: [f32; PARAM_COUNT],
    controls: Controls,
    sample_rate: f32,
    /// No control parameter moves in the current chunk: `controls` holds for all of it.
    chunk_constant: bool,
}

/// The parameters of each derived group (a group is rebuilt when one of its values changes).
const ADSR: [ParamId; 4] = [ATTACK_SECONDS, DECAY_SECONDS, SUSTAIN_LEVEL, RELEASE_SECONDS];

impl ControlCache {
    pub(super) fn new(sample_rate: f32) -> Self {
        Self {
            raw: [f32::NAN; PARAM_COUNT],
            controls: Controls {
                waveform: Waveform::Saw,
                shape: AdsrShape::default(),
                cutoff_hz: 1000.0,
                damping: 2.0,
                env_octaves: 0.0,
                bend_range_semitones: 2.0,
                tune_semitones: 0.0,
                modulation: ModShapes::default(),
            },
            sample_rate,
            chunk_constant: false,
        }
    }

    /// The engine's sample rate.
    pub(super) fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// At the start of a chunk: when no control parameter moves in it, reads them once for all
    /// of it.
    pub(super) fn begin_chunk(&mut self, params: &Params<'_>) {
        self.chunk_constant = false;
        let constant = (0..PARAM_COUNT)
            .filter(|&p| is_control_param(p))
            .all(|p| params.get(ParamId(p as u32)).constant().is_some());
        if constant {
            self.at(params, 0);
            self.chunk_constant = true;
        }
    }

    /// Controls at frame `i` of the chunk.
    #[inline]
    pub(super) fn at(&mut self, params: &Params<'_>, i: usize) -> &Controls {
        if !self.chunk_constant {
            self.read(params, i);
        }
        &self.controls
    }

    /// Reads the control parameters at frame `i` (some move in this chunk).
    #[inline(never)]
    fn read(&mut self, params: &Params<'_>, i: usize) {
        let mut raw = [0.0; PARAM_COUNT];
        for (p, r) in raw.iter_mut().enumerate().filter(|(p, _)| is_control_param(*p)) {
            *r = params.get(ParamId(p as u32)).at(i);
        }
        self.update(raw);
    }

    /// Takes `raw` (every parameter by id; non-control ones are ignored) as the current values.
    pub(super) fn update(&mut self, mut raw: [f32; PARAM_COUNT]) -> &Controls {
        for (p, r) in raw.iter_mut().enumerate() {
            if !is_control_param(p) {
                *r = 0.0;
            }
        }
        if raw == self.raw {
            return &self.controls;
        }
        let old = self.raw;
        let idx = |id: ParamId| id.0 as usize;
        let c = &mut self.controls;
        if ADSR.iter().any(|&p| raw[idx(p)] != old[idx(p)]) {
            c.shape = AdsrShape::new(
                raw[idx(ATTACK_SECONDS)],
                raw[idx(DECAY_SECONDS)],
                raw[idx(SUSTAIN_LEVEL)],
                raw[idx(RELEASE_SECONDS)],
                self.sample_rate,
            );
        }
        // The modulation parameters are the last ones, from `mod_env_delay_seconds` on.
        if raw[idx(MOD_ENV_DELAY_SECONDS)..] != old[idx(MOD_ENV_DELAY_SECONDS)..] {
            c.modulation = ModShapes::new(&raw, self.sample_rate);
        }
        c.waveform = Waveform::from_index(raw[idx(WAVEFORM)]);
        c.cutoff_hz = raw[idx(CUTOFF_HZ)];
        c.damping = resonance_to_damping(raw[idx(RESONANCE)]);
        c.env_octaves = raw[idx(FILTER_ENV_OCTAVES)];
        c.bend_range_semitones = raw[idx(BEND_RANGE_SEMITONES)];
        c.tune_semitones = raw[idx(TUNE_CENTS)] / 100.0;
        self.raw = raw;
        &self.controls
    }
}
