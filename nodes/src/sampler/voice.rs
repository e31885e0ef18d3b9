//! One sampler voice: a play head moving through a region's sample with cubic interpolation,
//! looping forward or ping-pong, under an ADSR envelope and an optional filter.

use noderack_presets::instrument::LoopMode;

use super::program::Zone;
use crate::dsp::interpolate::hermite;
use crate::dsp::{Adsr, Stage, Svf, SvfCoefficients};

/// Which filter response a voice takes from its state-variable filter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum FilterTap {
    Off,
    LowPass,
    HighPass,
    BandPass,
}

#[derive(Clone, Debug)]
pub(crate) struct Voice {
    pub(crate) active: bool,
    /// Which held program set (index into the sampler's held parcels) this voice plays.
    pub(crate) held: usize,
    pub(crate) instrument: usize,
    pub(crate) zone: usize,
    pub(crate) channel: u8,
    pub(crate) key: u8,
    pub(crate) key_down: bool,
    pub(crate) held_by_pedal: bool,
    /// Order of note-ons (stealing takes the oldest).
    pub(crate) serial: u64,
    /// Play head in sample frames.
    pub(crate) position: f64,
    /// +1 or -1 (ping-pong loops).
    pub(crate) direction: f64,
    /// Sample frames per engine frame without pitch bend.
    pub(crate) base_step: f64,
    /// Still honouring the loop (a sustain loop stops at release).
    pub(crate) looping: bool,
    /// Ignores note-off (one-shot regions).
    pub(crate) one_shot: bool,
    pub(crate) delay_frames: u32,
    pub(crate) env: Adsr,
    /// Output gains: region gain, pan, velocity.
    pub(crate) gains: (f32, f32),
    pub(crate) tap: FilterTap,
    pub(crate) filters: (Svf, Svf),
    /// The choke group its region belongs to, and the group that silences it.
    pub(crate) choke_group: u32,
    pub(crate) off_by: Option<u32>,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            active: false,
            held: 0,
            instrument: 0,
            zone: 0,
            channel: 0,
            key: 0,
            key_down: false,
            held_by_pedal: false,
            serial: 0,
            position: 0.0,
            direction: 1.0,
            base_step: 1.0,
            looping: false,
            one_shot: false,
            delay_frames: 0,
            env: Adsr::default(),
            gains: (0.0, 0.0),
            tap: FilterTap::Off,
            filters: (Svf::new(SvfCoefficients::default()), Svf::new(SvfCoefficients::default())),
            choke_group: 0,
            off_by: None,
        }
    }
}

impl Voice {
    /// Starts playing `zone` (already chosen for this note).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        &mut self,
        zone: &Zone,
        place: (usize, usize, usize),
        channel: u8,
        key: u8,
        velocity_gain: f32,
        serial: u64,
        filter: Option<(FilterTap, SvfCoefficients)>,
    ) {
        let region = &zone.region;
        (self.held, self.instrument, self.zone) = place;
        self.active = true;
        self.channel = channel;
        self.key = key;
        self.key_down = true;
        self.held_by_pedal = false;
        self.serial = serial;
        self.position = region.offset_frames.clamp(0.0, region.end_frames.max(0.0));
        self.direction = 1.0;
        self.base_step = region.pitch_ratio(key) * zone.rate_ratio;
        self.looping = zone.loop_frames.is_some();
        self.one_shot = region.loop_mode == LoopMode::OneShot;
        self.delay_frames = zone.delay_frames;
        self.env.reset();
        self.env.set_shape(zone.shape);
        self.env.note_on();
        self.gains = (zone.gains.0 * velocity_gain, zone.gains.1 * velocity_gain);
        match filter {
            Some((tap, coefs)) => {
                self.tap = tap;
                self.filters = (Svf::new(coefs), Svf::new(coefs));
            }
            None => self.tap = FilterTap::Off,
        }
        self.choke_group = region.choke_group;
        self.off_by = region.off_by;
    }

    /// Note-off (or pedal-up): starts the release; a sustain loop (`sustain_loop`) is left
    /// so the sample plays on to its end.
    pub(crate) fn release(&mut self, sustain_loop: bool) {
        self.key_down = false;
        self.held_by_pedal = false;
        if self.one_shot {
            return;
        }
        if sustain_loop {
            self.looping = false;
        }
        self.env.note_off();
    }

    /// Renders frames `start..end` into the outputs (adding), at `bend` (pitch ratio).
    pub(crate) fn render(&mut self, zone: &Zone, out_l: &mut [f32], out_r: &mut [f32], bend: f64) {
        let sample = &*zone.region.sample;
        let Some(left) = sample.channels.first() else {
            self.active = false;
            return;
        };
        let right = sample.channels.get(1).unwrap_or(left);
        let end = (zone.region.end_frames.min(left.len() as f64)).max(0.0);
        let last = end as i64 - 1;
        let (loop_start, loop_end) = zone.loop_frames.unwrap_or((0, i64::MAX));
        let step = self.base_step * bend;
        let frames = out_l.len().min(out_r.len());
        for i in 0..frames {
            if self.delay_frames > 0 {
                self.delay_frames -= 1;
                continue;
            }
            let index = self.position.floor();
            let fraction = (self.position - index) as f32;
            let index = index as i64;
            let looping = self.looping;
            let ping_pong = zone.ping_pong;
            // The frame at `i`, seen through the loop while looping (so interpolation across the
            // loop seam reads the frames that will actually follow), silent outside the sample.
            let at = |data: &[f32], mut i: i64| -> f32 {
                if looping {
                    if ping_pong {
                        i = i.clamp(loop_start, loop_end - 1);
                    } else if i >= loop_end {
                        i -= loop_end - loop_start;
                    }
                }
                if i < 0 || i > last {
                    0.0
                } else {
                    data.get(i as usize).copied().unwrap_or(0.0)
                }
            };
            let l = hermite(at(left, index - 1), at(left, index), at(left, index + 1), at(left, index + 2), fraction);
            let r = if std::ptr::eq(left, right) {
                l
            } else {
                hermite(at(right, index - 1), at(right, index), at(right, index + 1), at(right, index + 2), fraction)
            };
            let (l, r) = match self.tap {
                FilterTap::Off => (l, r),
                FilterTap::LowPass => (self.filters.0.tick(l).low, self.filters.1.tick(r).low),
                FilterTap::HighPass => (self.filters.0.tick(l).high, self.filters.1.tick(r).high),
                FilterTap::BandPass => (self.filters.0.tick(l).band, self.filters.1.tick(r).band),
            };
            let level = self.env.tick();
            out_l[i] += l * level * self.gains.0;
            out_r[i] += r * level * self.gains.1;

            self.position += step * self.direction;
            if self.looping {
                let (s, e) = (loop_start as f64, loop_end as f64);
                if ping_pong {
                    if self.direction > 0.0 && self.position > e - 1.0 {
                        self.position = 2.0 * (e - 1.0) - self.position;
                        self.direction = -1.0;
                    } else if self.direction < 0.0 && self.position < s {
                        self.position = 2.0 * s - self.position;
                        self.direction = 1.0;
                    }
                    self.position = self.position.clamp(s, e - 1.0);
                } else {
                    while self.position >= e {
                        self.position -= e - s;
                    }
                }
            }
            if self.env.is_idle() || self.position >= end {
                self.stop();
                return;
            }
        }
        if self.tap != FilterTap::Off {
            self.filters.0.flush_denormals();
            self.filters.1.flush_denormals();
        }
    }

    /// Fades the voice out over `frames` (a steal or a choke).
    pub(crate) fn fade_out(&mut self, frames: u32) {
        self.key_down = false;
        self.held_by_pedal = false;
        self.one_shot = false;
        self.env.fade_out(frames);
    }

    pub(crate) fn stop(&mut self) {
        self.active = false;
        self.env.reset();
    }

    pub(crate) fn is_fading(&self) -> bool {
        self.env.stage() == Stage::Fade
    }

    pub(crate) fn is_releasing(&self) -> bool {
        matches!(self.env.stage(), Stage::Release | Stage::Fade)
    }
}
