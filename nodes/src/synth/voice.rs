//! One synth voice: oscillator → filter → amplifier envelope, its modulation, and the note it
//! plays. Renders into its MIDI channel's bus.

use noderack_graph::Params;

use super::controls::{ControlCache, Controls};
use super::modulation::{ModShapes, VoiceModulation};
use super::{Channel, CONTROL_INTERVAL_FRAMES, GAIN_GLIDE_PER_BLOCK};
use crate::dsp::{db_to_gain, key_to_hz, Adsr, Oscillator, Svf, SvfCoefficients, Waveform};

/// One voice: oscillator, filter, envelopes, LFOs and the note it plays.
#[derive(Copy, Clone, Debug)]
pub(super) struct Voice {
    pub(super) channel: u8,
    pub(super) key: u8,
    /// Between the note-on and its note-off.
    pub(super) key_down: bool,
    /// Note-off arrived while the pedal was down; released when the pedal goes up.
    pub(super) held_by_pedal: bool,
    /// Note-on order (higher is newer).
    pub(super) serial: u64,
    /// Samples since the note-on (wrapping; only its remainder by the control interval matters).
    age_frames: u32,
    /// Gains jump to their targets at the next control update (a voice starting from silence).
    fresh: bool,
    waveform: Waveform,
    osc: Oscillator,
    filter: Svf,
    pub(super) env: Adsr,
    modulation: VoiceModulation,
    /// Per-note tuning expression, semitones.
    tuning_semitones: f32,
    /// Per-note pressure expression (0..1), replacing the channel's pressure once received.
    pressure: Option<f32>,
    /// Pitch offset from modulation at the last control update, semitones.
    mod_semitones: f32,
    /// Pitch the oscillator is set to, in (fractional) MIDI keys; NaN forces a recompute.
    pitch_key: f32,
    /// Cutoff and damping the filter coefficients were computed for; NaN forces a recompute.
    filter_for: (f32, f32),
    /// `VOICE_LEVEL` × velocity gain.
    pub(super) note_gain: f32,
    /// Per-note volume expression (linear).
    volume: f32,
    /// Per-note pan gains (left, right).
    pan_gains: (f32, f32),
    /// Current per-sample output gains and their per-sample steps within this control block.
    gain: (f32, f32),
    gain_step: (f32, f32),
    /// Volume modulation in dB last converted, and its gain.
    mod_db: f32,
    mod_db_gain: f32,
    /// Volume modulation gain: where the current ramp ends, the current per-sample value and
    /// its step (a linear ramp over each control interval to the last update's value).
    mod_gain_to: f32,
    mod_gain: f32,
    mod_gain_step: f32,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            channel: 0,
            key: 0,
            key_down: false,
            held_by_pedal: false,
            serial: 0,
            age_frames: 0,
            fresh: true,
            waveform: Waveform::Saw,
            osc: Oscillator::new(),
            filter: Svf::default(),
            env: Adsr::default(),
            modulation: VoiceModulation::default(),
            tuning_semitones: 0.0,
            pressure: None,
            mod_semitones: 0.0,
            pitch_key: f32::NAN,
            filter_for: (f32::NAN, f32::NAN),
            note_gain: 0.0,
            volume: 1.0,
            pan_gains: (1.0, 1.0),
            gain: (0.0, 0.0),
            gain_step: (0.0, 0.0),
            mod_db: 0.0,
            mod_db_gain: 1.0,
            mod_gain_to: 1.0,
            mod_gain: 1.0,
            mod_gain_step: 0.0,
        }
    }
}

impl Voice {
    /// Plays a new note: `free` when the voice was silent (it starts from scratch), else a
    /// reused voice that carries on without a click (phase, filter state, envelope levels and
    /// gains continue from where they are).
    pub(super) fn start(&mut self, channel: u8, key: u8, serial: u64, note_gain: f32, free: bool, shapes: &ModShapes) {
        if free {
            self.osc.reset(0.0);
            self.filter.reset();
            self.env.reset();
            self.fresh = true;
            self.mod_gain_to = 1.0;
            self.mod_gain = 1.0;
        } else {
            // The volume modulation ramps on from where it is, even mid-interval.
            self.mod_gain_to = self.mod_gain;
        }
        self.modulation.start(shapes, !free);
        self.channel = channel;
        self.key = key;
        self.key_down = true;
        self.held_by_pedal = false;
        self.serial = serial;
        // Age 0: the next render starts with a control update at this very frame.
        self.age_frames = 0;
        self.tuning_semitones = 0.0;
        self.pressure = None;
        self.mod_semitones = 0.0;
        self.pitch_key = f32::NAN;
        self.note_gain = note_gain;
        self.volume = 1.0;
        self.pan_gains = (1.0, 1.0);
        self.env.note_on();
    }

    /// Releases the note now, or marks it held when the pedal of its channel is down.
    pub(super) fn release(&mut self, pedal_down: bool, shapes: &ModShapes) {
        self.key_down = false;
        if pedal_down {
            self.held_by_pedal = true;
        } else {
            self.held_by_pedal = false;
            self.env.note_off();
            self.modulation.release(shapes);
        }
    }

    #[inline]
    pub(super) fn is_active(&self) -> bool {
        !self.env.is_idle()
    }

    /// Current output amplitude (for choosing the quietest voice to steal).
    pub(super) fn loudness(&self) -> f32 {
        self.env.level() * self.note_gain * self.volume * self.mod_gain
    }

    pub(super) fn plays(&self, channel: u8, key: u8) -> bool {
        self.is_active() && self.channel == channel && self.key == key
    }

    pub(super) fn set_tuning(&mut self, semitones: f32) {
        self.tuning_semitones = semitones;
    }

    pub(super) fn set_volume(&mut self, volume: f32) {
        self.volume = volume;
    }

    pub(super) fn set_pan_gains(&mut self, gains: (f32, f32)) {
        self.pan_gains = gains;
    }

    pub(super) fn set_pressure(&mut self, pressure: f32) {
        self.pressure = Some(pressure);
    }

    /// Sets the oscillator frequency from key, per-note tuning, channel bend, fine tuning and
    /// the modulation's offset.
    pub(super) fn update_pitch(&mut self, c: &Controls, bend: f32, sample_rate: f32) {
        let pitch = self.key as f32
            + self.tuning_semitones
            + bend * c.bend_range_semitones
            + c.tune_semitones
            + self.mod_semitones;
        if pitch != self.pitch_key {
            self.pitch_key = pitch;
            self.osc.set_frequency(key_to_hz(pitch), sample_rate);
        }
    }

    /// The work done every `CONTROL_INTERVAL_FRAMES` of the voice's age.
    fn control_update(&mut self, c: &Controls, channel: &Channel, sample_rate: f32) {
        self.waveform = c.waveform;
        self.env.set_shape(c.shape);

        let note_pressure = self.pressure;
        let pressure = || note_pressure.unwrap_or(channel.pressure as f32 / 127.0);
        let m = self.modulation.offsets(&c.modulation, channel.wheel, pressure);
        self.mod_semitones = m.pitch_cents / 100.0;
        self.update_pitch(c, channel.bend, sample_rate);

        let octaves = c.env_octaves * self.env.level() + m.cutoff_octaves;
        let cutoff_hz = if octaves == 0.0 { c.cutoff_hz } else { c.cutoff_hz * octaves.exp2() };
        if (cutoff_hz, c.damping) != self.filter_for {
            self.filter_for = (cutoff_hz, c.damping);
            self.filter.set_coefficients(SvfCoefficients::new(cutoff_hz, c.damping, sample_rate));
        }
        self.filter.flush_denormals();

        // Volume modulation ramps linearly from the last update's gain to this one's.
        if m.volume_db != self.mod_db {
            self.mod_db = m.volume_db;
            self.mod_db_gain = db_to_gain(m.volume_db);
        }
        let to = self.mod_db_gain;
        let from = if self.fresh { to } else { self.mod_gain_to };
        self.mod_gain = from;
        self.mod_gain_step = if to == from { 0.0 } else { (to - from) / CONTROL_INTERVAL_FRAMES as f32 };
        self.mod_gain_to = to;

        let g = self.note_gain * self.volume;
        let target = (g * self.pan_gains.0, g * self.pan_gains.1);
        if self.fresh {
            self.fresh = false;
            self.gain = target;
            self.gain_step = (0.0, 0.0);
        } else {
            let step = |now: f32, to: f32| {
                if (to - now).abs() < 1e-6 {
                    0.0
                } else {
                    (to - now) * GAIN_GLIDE_PER_BLOCK / CONTROL_INTERVAL_FRAMES as f32
                }
            };
            self.gain_step = (step(self.gain.0, target.0), step(self.gain.1, target.1));
        }
    }

    /// Adds this voice to `out_l`/`out_r` (its channel's bus for a span that starts at frame
    /// `chunk_frame` of the chunk, where parameters are read), on the channel's state `channel`.
    pub(super) fn render(
        &mut self,
        out_l: &mut [f32],
        out_r: &mut [f32],
        chunk_frame: usize,
        cache: &mut ControlCache,
        params: &Params<'_>,
        channel: &Channel,
    ) {
        let end = out_l.len().min(out_r.len());
        let mut f = 0;
        while f < end {
            let phase = self.age_frames % CONTROL_INTERVAL_FRAMES;
            if phase == 0 {
                let sample_rate = cache.sample_rate();
                self.control_update(cache.at(params, chunk_frame + f), channel, sample_rate);
            }
            let n = ((CONTROL_INTERVAL_FRAMES - phase) as usize).min(end - f);
            let (l, r) = (&mut out_l[f..f + n], &mut out_r[f..f + n]);
            match self.waveform {
                Waveform::Saw => self.run(l, r, Oscillator::next_saw),
                Waveform::Square => self.run(l, r, Oscillator::next_square),
                Waveform::Triangle => self.run(l, r, Oscillator::next_triangle),
                Waveform::Sine => self.run(l, r, Oscillator::next_sine),
            }
            self.age_frames = self.age_frames.wrapping_add(n as u32);
            self.modulation.count(n as u32);
            f += n;
            if self.env.is_idle() {
                break;
            }
        }
    }

    /// The per-sample loop, monomorphised per waveform; state lives in locals so it stays in
    /// registers.
    #[inline(always)]
    fn run(&mut self, out_l: &mut [f32], out_r: &mut [f32], mut next: impl FnMut(&mut Oscillator) -> f32) {
        let mut osc = self.osc;
        let mut filter = self.filter;
        let mut env = self.env;
        let (mut gl, mut gr) = self.gain;
        let (sl, sr) = self.gain_step;
        let (mut m, ms) = (self.mod_gain, self.mod_gain_step);
        for (l, r) in out_l.iter_mut().zip(out_r.iter_mut()) {
            let x = next(&mut osc);
            let y = filter.tick_lowpass(x);
            let e = env.tick();
            gl += sl;
            gr += sr;
            m += ms;
            // × m is exact while there is no volume modulation (m = 1).
            let s = y * e * m;
            *l += s * gl;
            *r += s * gr;
        }
        self.osc = osc;
        self.filter = filter;
        self.env = env;
        self.gain = (gl, gr);
        self.mod_gain = m;
    }
}
