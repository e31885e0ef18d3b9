//! One sampler voice: a play head moving through a region's sample with cubic interpolation,
//! looping forward or ping-pong, under an ADSR envelope and an optional filter.

use std::sync::Arc;

use noderack_presets::instrument::LoopMode;
use noderack_presets::sample::{SampleData, I16_SCALE};

use super::program::Zone;
use crate::dsp::interpolate::{weighted, weights};
use crate::dsp::modulation::{crossfade_gain, GainRamp, ModInputs, NoteState, VoiceModulation};
use crate::dsp::{Adsr, Stage, Svf, SvfBlock, SvfBlockCoefficients, SvfCoefficients, SvfResponse};

/// Frames per rendering pass: sizes the stack buffers a voice renders through.
pub(crate) const PASS_FRAMES: usize = 64;
/// 1, 2, … [`PASS_FRAMES`]: the frame counts a gain ramp is evaluated at within a pass.
const RAMP: [f32; PASS_FRAMES] = {
    let mut table = [0.0; PASS_FRAMES];
    let mut i = 0;
    while i < PASS_FRAMES {
        table[i] = (i + 1) as f32;
        i += 1;
    }
    table
};
/// Fraction bits of the fixed-point play head: 2^-32 of a frame, so a step's rounding error
/// drifts by under a thousandth of a frame over an hour at 48 kHz.
pub(crate) const FRACTION_BITS: u32 = 32;
/// One frame in fixed point.
const ONE: i64 = 1 << FRACTION_BITS;
/// Longest sample played, in frames (2^30: over six hours at 48 kHz): keeps every fixed-point
/// position and its doubling (at a ping-pong turn) inside an `i64`.
pub(crate) const MAX_SAMPLE_FRAMES: usize = 1 << 30;
/// Largest step, in sample frames per output frame (eight octaves above a sample at twice the
/// engine's rate is 512): bounds the fixed-point arithmetic.
const MAX_STEP_FRAMES: f64 = 65_536.0;

/// A low-pass cutoff at or above which a voice's filter is left out, when its cutoff cannot
/// move during the note (SF2's "filter off" value, 13 500 absolute cents).
pub(crate) const INAUDIBLE_CUTOFF_HZ: f32 = 19_900.0;

/// The environment variable that turns the fused voice loop off ([`has_fma`]): renders are then
/// the same bits on every x86-64 processor, at about 1.4× the time (`expression.mid` through
/// TimGM6mb, docs/PERFORMANCE.md).
pub const NO_FMA_VARIABLE: &str = "NODERACK_NO_FMA";

/// Whether voices render with the loop compiled for AVX and FMA ([`Voice::render`]): this CPU
/// has both (x86-64 processors since about 2013) and `NODERACK_NO_FMA` is not set. Asked when
/// a sampler is built, on the control side; the answer holds for the process.
pub fn has_fma() -> bool {
    if std::env::var_os(NO_FMA_VARIABLE).is_some_and(|v| !v.is_empty() && v != "0") {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

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
    /// Play head in sample frames, fixed point with [`FRACTION_BITS`] fraction bits.
    pub(crate) position: i64,
    /// Moving towards the end (false: backwards, in a ping-pong loop).
    pub(crate) forward: bool,
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
    /// The filter's coefficients (both channels), and each channel's state.
    pub(crate) filter: SvfBlockCoefficients,
    pub(crate) filters: [SvfBlock; 2],
    /// The filter's cutoff before modulation, and its damping (`1/Q`).
    pub(crate) filter_base: (f32, f32),
    /// Cutoff modulation (cents) the filter's coefficients were last set for.
    pub(crate) cutoff_cents: f32,
    /// Whether the region modulates anything (the voice then ticks its modulation).
    pub(crate) modulated: bool,
    pub(crate) modulation: VoiceModulation,
    /// Pitch ratio from modulation at the last tick.
    pub(crate) mod_ratio: f64,
    /// Note-on velocity and the gain it gave (modulation updates need both).
    pub(crate) velocity: u8,
    pub(crate) velocity_gain: f32,
    /// Per-note expression received for this note.
    pub(crate) note: NoteState,
    /// The choke group its region belongs to, and the group that silences it.
    pub(crate) choke_group: u32,
    pub(crate) off_by: Option<u32>,
    /// Where the memory a render reads lies, found at note-on: see [`Voice::prefetch`].
    pub(crate) whereabouts: Whereabouts,
}

/// Addresses of what rendering a voice reads besides the voice itself, kept for prefetching
/// only (a hint to the processor, never read through): the zone, the sample's header, its
/// channel list and each channel's buffer header, and each channel's points.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Whereabouts {
    /// Zone, sample header, channel list, and up to two channel buffer headers (0: none).
    headers: [usize; 5],
    /// Address of each channel's first point (0: no such channel).
    points: [usize; 2],
    /// Points in each channel and bytes per point.
    frames: usize,
    point_bytes: usize,
}

impl Whereabouts {
    fn of(zone: &Zone) -> Self {
        let sample = &zone.region.sample;
        let mut headers = [zone as *const Zone as usize, Arc::as_ptr(sample) as usize, 0, 0, 0];
        let mut points = [0; 2];
        let (frames, point_bytes) = match &sample.data {
            SampleData::F32(c) => {
                headers[2] = c.as_ptr() as usize;
                for (p, c) in points.iter_mut().zip(c) {
                    *p = c.as_ptr() as usize;
                }
                (c.first().map_or(0, Vec::len), 4)
            }
            SampleData::I16(c) => {
                headers[2] = c.as_ptr() as usize;
                for ((p, h), c) in points.iter_mut().zip(&mut headers[3..]).zip(c) {
                    *p = c.as_ptr() as usize;
                    *h = c.buffer_header_address();
                }
                (c.first().map_or(0, |c| c.len()), 2)
            }
        };
        Self { headers, points, frames, point_bytes }
    }
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
            position: 0,
            forward: true,
            base_step: 1.0,
            looping: false,
            one_shot: false,
            delay_frames: 0,
            env: Adsr::default(),
            gains: (0.0, 0.0),
            tap: FilterTap::Off,
            filter: Default::default(),
            filters: Default::default(),
            filter_base: (0.0, 2.0),
            cutoff_cents: 0.0,
            modulated: false,
            modulation: VoiceModulation::default(),
            mod_ratio: 1.0,
            velocity: 0,
            velocity_gain: 1.0,
            note: NoteState::default(),
            choke_group: 0,
            off_by: None,
            whereabouts: Whereabouts::default(),
        }
    }
}

impl Voice {
    /// Starts playing `zone` (already chosen for this note), with the channel and note state
    /// its modulation reads in `inputs`; `filter` gives the tap, the cutoff (before
    /// modulation) and the damping. The note-on is at frame `timeline_frame` of the engine's
    /// timeline: the modulation's ticks and the filter's blocks keep to grids on it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        &mut self,
        zone: &Zone,
        place: (usize, usize, usize),
        channel: u8,
        inputs: &ModInputs<'_>,
        velocity_gain: f32,
        serial: u64,
        filter: Option<(FilterTap, f32, f32)>,
        sample_rate: f32,
        timeline_frame: u64,
    ) {
        let key = inputs.key;
        let region = &zone.region;
        (self.held, self.instrument, self.zone) = place;
        self.active = true;
        self.channel = channel;
        self.key = key;
        self.key_down = true;
        self.held_by_pedal = false;
        self.serial = serial;
        self.position = to_fixed(region.offset_frames.clamp(0.0, region.end_frames.max(0.0)));
        self.forward = true;
        self.base_step = region.pitch_ratio(key) * zone.rate_ratio;
        self.looping = zone.loop_frames.is_some();
        self.one_shot = region.loop_mode == LoopMode::OneShot;
        let (shape, delay_frames) = zone.envelope_for(inputs, sample_rate);
        self.delay_frames = delay_frames;
        self.env.reset();
        self.env.set_shape(shape);
        self.env.note_on();
        self.gains = (zone.gains.0 * velocity_gain, zone.gains.1 * velocity_gain);
        self.velocity = inputs.velocity;
        self.note = inputs.note;
        self.velocity_gain = velocity_gain;
        self.modulated = zone.modulation.active;
        self.mod_ratio = 1.0;
        self.cutoff_cents = 0.0;
        // The first frame that sounds, on the engine's timeline.
        let first_frame = timeline_frame + delay_frames as u64;
        if self.modulated {
            self.modulation.start(&zone.modulation, &zone.sound(), inputs, velocity_gain, first_frame);
        } else {
            // Crossfades by velocity and key (a controller's would make the voice modulated).
            let fade = crossfade_gain(&region.crossfades, inputs);
            self.gains = (self.gains.0 * fade, self.gains.1 * fade);
        }
        // A low-pass that stays out of hearing for the whole note is left out (SF2 zones get
        // one at 19.9 kHz so that modulators can move it).
        let base_cents = if self.modulated { self.modulation.base().cutoff_cents } else { 0.0 };
        let inaudible = |tap: FilterTap, cutoff_hz: f32| {
            tap == FilterTap::LowPass
                && (!self.modulated || zone.modulation.cutoff_fixed_per_note)
                && cutoff_hz * (base_cents / 1200.0).exp2() >= INAUDIBLE_CUTOFF_HZ.min(0.45 * sample_rate)
        };
        match filter {
            Some((tap, cutoff_hz, _)) if inaudible(tap, cutoff_hz) => self.tap = FilterTap::Off,
            Some((tap, cutoff_hz, damping)) => {
                self.tap = tap;
                self.filter_base = (cutoff_hz, damping);
                let coefs = SvfCoefficients::moving(cutoff_hz, damping, sample_rate);
                self.filter = SvfBlockCoefficients::new(coefs, self.response());
                self.filters = [SvfBlock::starting_at(first_frame); 2];
            }
            None => self.tap = FilterTap::Off,
        }
        self.choke_group = region.choke_group;
        self.off_by = region.off_by;
        self.whereabouts = Whereabouts::of(zone);
    }

    fn response(&self) -> SvfResponse {
        match self.tap {
            FilterTap::HighPass => SvfResponse::HighPass,
            FilterTap::BandPass => SvfResponse::BandPass,
            FilterTap::LowPass | FilterTap::Off => SvfResponse::LowPass,
        }
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
        self.modulation.release();
    }

    /// Evaluates the modulation for the next [`crate::dsp::modulation::MOD_FRAMES`] frames: pitch
    /// ratio and, when the cutoff moved, the filter's coefficients.
    fn tick(&mut self, zone: &Zone, sample_rate: f32) {
        self.modulation.tick(&zone.modulation);
        let now = self.modulation.now;
        // f32 is ample here: its rounding is a few millionths of a cent.
        self.mod_ratio = if now.pitch_cents == 0.0 { 1.0 } else { (now.pitch_cents / 1200.0).exp2() as f64 };
        if self.tap != FilterTap::Off && now.cutoff_cents != self.cutoff_cents {
            self.cutoff_cents = now.cutoff_cents;
            let (cutoff_hz, damping) = self.filter_base;
            let cutoff = (cutoff_hz * (now.cutoff_cents / 1200.0).exp2()).min(0.45 * sample_rate);
            let coefs = SvfCoefficients::moving(cutoff, damping, sample_rate);
            // A block under way ends with the coefficients its frames were filtered with.
            for filter in &mut self.filters {
                filter.settle(&self.filter);
            }
            self.filter = SvfBlockCoefficients::new(coefs, self.response());
        }
    }

    /// Renders into the outputs (adding), at `bend` (pitch ratio).
    ///
    /// Work is done in passes of up to [`PASS_FRAMES`] frames: the envelope's levels into a
    /// stack buffer (a linear ramp per segment), then the interpolated frames, the filter over
    /// them in blocks of eight frames counted from its first frame ([`SvfBlock`]), and the mix.
    /// Every step is a per-frame recurrence, a recurrence over the filter's own blocks, or
    /// depends only on where the note is, so the result does not depend on how the frames are
    /// split into calls.
    ///
    /// A modulated voice renders in runs that end at its modulation ticks: each run has the
    /// pitch and cutoff of the tick before it and a gain ramp towards the tick's gain; a quiet voice
    /// (nothing moving until its next event) renders in one run.
    ///
    /// With `fused` ([`has_fma`]), the loop is compiled for AVX and FMA and the filter runs on
    /// fused multiply-adds, eight lanes wide: about 0.7× the portable loop's time on a whole
    /// render, a slightly different rounding (so a render is bit-identical across block sizes on one machine either way, and
    /// across machines only without `fused`).
    pub(crate) fn render(
        &mut self,
        zone: &Zone,
        out_l: &mut [f32],
        out_r: &mut [f32],
        bend: f64,
        sample_rate: f32,
        fused: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        if fused {
            // SAFETY: `fused` is only ever `has_fma()`'s answer: this CPU runs AVX and FMA.
            unsafe { self.render_fused(zone, out_l, out_r, bend, sample_rate) };
            return;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = fused;
        self.render_with::<false>(zone, out_l, out_r, bend, sample_rate)
    }

    /// [`Voice::render`] compiled for AVX and FMA, with fused multiply-adds in the filter.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,fma")]
    fn render_fused(&mut self, zone: &Zone, out_l: &mut [f32], out_r: &mut [f32], bend: f64, sample_rate: f32) {
        self.render_with::<true>(zone, out_l, out_r, bend, sample_rate)
    }

    /// [`Voice::render`]'s body; everything down to the filter is inlined into it, so that
    /// [`Voice::render_fused`]'s instructions reach the loop.
    #[inline(always)]
    fn render_with<const FUSED: bool>(
        &mut self,
        zone: &Zone,
        out_l: &mut [f32],
        out_r: &mut [f32],
        bend: f64,
        sample_rate: f32,
    ) {
        let frames = out_l.len().min(out_r.len());
        let skip = (self.delay_frames as usize).min(frames);
        self.delay_frames -= skip as u32;
        let (out_l, out_r) = (&mut out_l[skip..frames], &mut out_r[skip..frames]);
        match &zone.region.sample.data {
            SampleData::F32(c) => {
                let channels = (c.first().map(Vec::as_slice), c.get(1).map(Vec::as_slice));
                self.render_points::<f32, FUSED>(zone, channels, out_l, out_r, bend, sample_rate)
            }
            SampleData::I16(c) => {
                let channels = (c.first().map(|c| &**c), c.get(1).map(|c| &**c));
                self.render_points::<i16, FUSED>(zone, channels, out_l, out_r, bend, sample_rate)
            }
        }
    }

    /// [`Voice::render`] for a sample stored as points of type `T`.
    #[inline(always)]
    fn render_points<T: Point, const FUSED: bool>(
        &mut self,
        zone: &Zone,
        (left, right): (Option<&[T]>, Option<&[T]>),
        out_l: &mut [f32],
        out_r: &mut [f32],
        bend: f64,
        sample_rate: f32,
    ) {
        let Some(left) = left else {
            self.stop();
            return;
        };
        let right = right.filter(|r| r.len() == left.len());
        if !self.modulated {
            let geometry = Geometry::new(zone, left.len(), self.base_step * bend);
            let (gains, width) = (GainRamp::constant(self.gains), zone.region.width);
            self.render_run::<T, FUSED>(&geometry, left, right, out_l, out_r, gains, width);
        } else {
            let mut at = 0;
            while at < out_l.len() && self.active {
                if self.modulation.until_tick == 0 && !self.modulation.quiet {
                    self.tick(zone, sample_rate);
                }
                let left_in_call = out_l.len() - at;
                let n = if self.modulation.quiet {
                    left_in_call
                } else {
                    (self.modulation.until_tick as usize).min(left_in_call)
                };
                let geometry = Geometry::new(zone, left.len(), self.base_step * bend * self.mod_ratio);
                let (ramp, width) = (self.modulation.gain_ramp(), self.modulation.now.width);
                self.render_run::<T, FUSED>(
                    &geometry,
                    left,
                    right,
                    &mut out_l[at..at + n],
                    &mut out_r[at..at + n],
                    ramp,
                    width,
                );
                self.modulation.advance(n);
                at += n;
            }
        }
    }

    /// Renders a run at one geometry and stereo `width` (1: as recorded; a stereo sample's
    /// only): picks the loop for the sample's channels and the filter.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn render_run<T: Point, const FUSED: bool>(
        &mut self,
        geometry: &Geometry,
        left: &[T],
        right: Option<&[T]>,
        out_l: &mut [f32],
        out_r: &mut [f32],
        ramp: GainRamp,
        width: f32,
    ) {
        // Points are read unscaled (`Point::raw`) and the scale joins the gains: a power of two,
        // so this is exactly scaling each frame, at no cost per frame.
        let ramp = ramp.scaled(T::SCALE);
        match (right, self.tap != FilterTap::Off) {
            (Some(right), false) => {
                self.render_channels::<T, 2, false, FUSED>(geometry, [left, right], out_l, out_r, ramp, width)
            }
            (Some(right), true) => {
                self.render_channels::<T, 2, true, FUSED>(geometry, [left, right], out_l, out_r, ramp, width)
            }
            (None, false) => self.render_channels::<T, 1, false, FUSED>(geometry, [left], out_l, out_r, ramp, 1.0),
            (None, true) => self.render_channels::<T, 1, true, FUSED>(geometry, [left], out_l, out_r, ramp, 1.0),
        }
    }

    /// [`Voice::render`] for a sample of `C` channels (1: mono, played to both sides; 2:
    /// stereo), through the filter when `FILTERED`.
    #[inline(always)]
    fn render_channels<T: Point, const C: usize, const FILTERED: bool, const FUSED: bool>(
        &mut self,
        geometry: &Geometry,
        data: [&[T]; C],
        out_l: &mut [f32],
        out_r: &mut [f32],
        mut ramp: GainRamp,
        width: f32,
    ) {
        let width = width.clamp(-1.0, 1.0);
        for (out_l, out_r) in out_l.chunks_mut(PASS_FRAMES).zip(out_r.chunks_mut(PASS_FRAMES)) {
            let n = out_l.len().min(out_r.len());
            let mut levels = [0.0f32; PASS_FRAMES];
            let lived = self.env.render(&mut levels[..n]);
            let ended = self.play::<T, C, FILTERED, FUSED>(geometry, data, &levels[..lived], out_l, out_r, ramp, width);
            if ended || self.env.is_idle() {
                self.stop();
                return;
            }
            ramp.offset += n as u32;
        }
    }

    /// Plays `levels.len()` frames of `data` into the outputs (adding), at those envelope
    /// levels, moving the play head; returns whether the sample ended (the voice stops after
    /// the frames played so far).
    ///
    /// Where all four frames the interpolator needs lie inside the sample (and inside the loop
    /// while looping), frames are interpolated in a run without any per-frame checks; only
    /// frames whose taps straddle a loop seam or an end of the sample go through [`tap`]. The
    /// interpolated frames collect in a stack buffer, the filter runs over it in blocks
    /// ([`SvfBlock`]), and one vectorised loop applies the envelope and gains and adds them
    /// to the outputs. A stereo sample is narrowed or widened to `width` (−1..=1) first.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn play<T: Point, const C: usize, const FILTERED: bool, const FUSED: bool>(
        &mut self,
        g: &Geometry,
        data: [&[T]; C],
        levels: &[f32],
        out_l: &mut [f32],
        out_r: &mut [f32],
        ramp: GainRamp,
        width: f32,
    ) -> bool {
        let n = levels.len().min(PASS_FRAMES);
        let mut y = [[0.0f32; PASS_FRAMES]; C];
        let mut k = 0;
        let mut ended = false;
        while k < n {
            let step = if self.forward { g.step } else { -g.step };
            let run = g.run(self.position, self.forward, self.looping).min(n - k);
            if let Some(checked) = CheckedRun::new(data, self.position, step, run) {
                checked.interpolate_into(y.each_mut().map(|y| &mut y[k..k + run]));
                self.position += step * run as i64;
                k += run;
            } else {
                let index = self.position >> FRACTION_BITS;
                let w = weights(self.position as u32);
                let looping = self.looping;
                for (y, data) in y.iter_mut().zip(data) {
                    let at = |i: i64| tap(g, looping, data, i);
                    y[k] = weighted([at(index - 1), at(index), at(index + 1), at(index + 2)], w);
                }
                self.position += step;
                k += 1;
            }
            if self.settle(g) {
                ended = true;
                break;
            }
        }
        if FILTERED {
            // The filter runs over the pass in blocks of frames (its serial chain is then two
            // operations per eight frames), on unscaled points: the same states as scaled
            // ones, times 1 / SCALE (a power of two), so the same ones are flushed.
            let floor = Svf::FLUSH_BELOW / T::SCALE;
            for (y, filter) in y.iter_mut().zip(&mut self.filters) {
                filter.process::<FUSED>(&self.filter, &mut y[..k], floor);
            }
        }
        if let [l, r] = &mut y[..] {
            if width != 1.0 {
                // Mid plus `width` × side: 1 as recorded, 0 mono, −1 the sides swapped.
                let (same, cross) = ((1.0 + width) * 0.5, (1.0 - width) * 0.5);
                for (l, r) in l[..k].iter_mut().zip(&mut r[..k]) {
                    (*l, *r) = (*l * same + *r * cross, *r * same + *l * cross);
                }
            }
        }
        let (l, r) = (&y[0][..k], &y[C - 1][..k]);
        let frames = out_l.iter_mut().zip(out_r.iter_mut()).zip(l.iter().zip(r)).zip(&levels[..k]);
        if ramp.step == (0.0, 0.0) {
            let (gain_l, gain_r) = ramp.from;
            for (((o_l, o_r), (&l, &r)), &level) in frames {
                *o_l += l * level * gain_l;
                *o_r += r * level * gain_r;
            }
        } else {
            let ((from_l, from_r), (step_l, step_r)) = (ramp.from, ramp.step);
            // Frame k of the ramp is `from + step·(offset + k + 1)`: whole numbers, exact in
            // f32, from a table rather than a per-frame conversion.
            let offset = ramp.offset as f32;
            for ((((o_l, o_r), (&l, &r)), &level), &k) in frames.zip(&RAMP) {
                let at = offset + k;
                *o_l += l * level * (from_l + step_l * at);
                *o_r += r * level * (from_r + step_r * at);
            }
        }
        ended
    }

    /// After a step: wraps or turns the play head at the loop's ends while looping; true once
    /// it has left the sample.
    fn settle(&mut self, g: &Geometry) -> bool {
        if self.looping {
            let (start, end) = (g.loop_start << FRACTION_BITS, g.loop_end << FRACTION_BITS);
            if g.ping_pong {
                let top = end - ONE;
                if self.forward && self.position > top {
                    self.position = 2 * top - self.position;
                    self.forward = false;
                } else if !self.forward && self.position < start {
                    self.position = 2 * start - self.position;
                    self.forward = true;
                }
                self.position = self.position.clamp(start, top);
            } else if self.position >= end {
                self.position = start + (self.position - start) % (end - start);
            }
        }
        self.position >= g.end || self.position < 0
    }

    /// Fades the voice out over `frames` (a steal or a choke).
    pub(crate) fn fade_out(&mut self, frames: u32) {
        self.key_down = false;
        self.held_by_pedal = false;
        self.one_shot = false;
        self.env.fade_out(frames);
    }

    /// Asks for the memory this voice's next `frames` output frames read (its zone, the
    /// sample's headers and the points from its play head on) while the voice before it
    /// renders. In a live callback, after the thread slept, these are mostly out of the
    /// caches, and each is a read that the render would otherwise wait on in turn.
    #[inline]
    pub(crate) fn prefetch(&self, frames: usize) {
        const MAX_LINES: usize = 16;
        let w = &self.whereabouts;
        for &header in &w.headers[..2] {
            prefetch_lines(header, 128, 2);
        }
        for &header in &w.headers[2..] {
            prefetch_lines(header, 32, 1);
        }
        let index = (self.position >> FRACTION_BITS).max(0) as usize;
        let span = (frames as f64 * self.base_step * self.mod_ratio).min(MAX_SAMPLE_FRAMES as f64) as usize + 4;
        let (from, to) = if self.forward {
            (index.saturating_sub(1), index.saturating_add(span))
        } else {
            (index.saturating_sub(span), index.saturating_add(3))
        };
        let to = to.min(w.frames);
        if from < to {
            for &start in w.points.iter().filter(|&&p| p != 0) {
                prefetch_lines(start + from * w.point_bytes, (to - from) * w.point_bytes, MAX_LINES);
            }
        }
    }

    /// Asks for the voice's own memory (for the voice after next).
    #[inline]
    pub(crate) fn prefetch_self(&self) {
        prefetch_lines(self as *const Self as usize, std::mem::size_of::<Self>(), 16);
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

/// A stored sample point as the voice reads it: `raw() · SCALE` is its value (full scale ±1).
///
/// The scale is a power of two, so applying it to a voice's gains instead of to each point
/// gives exactly the same samples (interpolation, filter and gains only add and multiply, whose
/// rounding a power of two does not change): a 16-bit store plays bit-identically to an `f32`
/// store of the same source, without a multiply per frame for it.
pub(crate) trait Point: Copy {
    /// Multiplies [`Point::raw`] into full scale.
    const SCALE: f32;
    /// The point as a float, before scaling.
    fn raw(self) -> f32;
    /// `taps` (`xm1, x0, x1, x2`, before scaling) weighted by a weights row: exactly
    /// [`weighted`] (the same products summed in the same order), in four lanes where the
    /// processor has them.
    #[inline(always)]
    fn interpolate(taps: &[Self; 4], w: &[f32; 4]) -> f32 {
        weighted(taps.map(Self::raw), w)
    }
    /// Four frames' [`Point::interpolate`] at once: exactly the same four values.
    #[inline(always)]
    fn interpolate4(taps: [&[Self; 4]; 4], w: [&[f32; 4]; 4]) -> [f32; 4] {
        [
            Self::interpolate(taps[0], w[0]),
            Self::interpolate(taps[1], w[1]),
            Self::interpolate(taps[2], w[2]),
            Self::interpolate(taps[3], w[3]),
        ]
    }
}

impl Point for f32 {
    const SCALE: f32 = 1.0;
    #[inline(always)]
    fn raw(self) -> f32 {
        self
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn interpolate(taps: &[f32; 4], w: &[f32; 4]) -> f32 {
        lanes::dot(lanes::load(taps), lanes::load(w))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn interpolate4(taps: [&[f32; 4]; 4], w: [&[f32; 4]; 4]) -> [f32; 4] {
        let t = [lanes::load(taps[0]), lanes::load(taps[1]), lanes::load(taps[2]), lanes::load(taps[3])];
        lanes::dot4(t, [lanes::load(w[0]), lanes::load(w[1]), lanes::load(w[2]), lanes::load(w[3])])
    }
}

impl Point for i16 {
    const SCALE: f32 = I16_SCALE;
    #[inline(always)]
    fn raw(self) -> f32 {
        self as f32
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn interpolate(taps: &[i16; 4], w: &[f32; 4]) -> f32 {
        lanes::dot(lanes::widen(taps), lanes::load(w))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn interpolate4(taps: [&[i16; 4]; 4], w: [&[f32; 4]; 4]) -> [f32; 4] {
        let t = [lanes::widen(taps[0]), lanes::widen(taps[1]), lanes::widen(taps[2]), lanes::widen(taps[3])];
        lanes::dot4(t, [lanes::load(w[0]), lanes::load(w[1]), lanes::load(w[2]), lanes::load(w[3])])
    }
}

/// The four-lane arithmetic the interpolators share: SSE2, part of every x86-64 processor
/// (the intrinsics are `unsafe` only because they carry a target feature the build has).
#[cfg(target_arch = "x86_64")]
mod lanes {
    use std::arch::x86_64::*;

    /// Four consecutive floats in four lanes.
    #[inline(always)]
    pub(super) fn load(x: &[f32; 4]) -> __m128 {
        // SAFETY: `x` points at four consecutive f32, the 16 bytes read (unaligned load); SSE2
        // is in the x86-64 baseline.
        unsafe { _mm_loadu_ps(x.as_ptr()) }
    }

    /// Four 16-bit points as floats in four lanes, exactly (`x as f32`).
    #[inline(always)]
    pub(super) fn widen(x: &[i16; 4]) -> __m128 {
        // Each point into the top half of a 32-bit lane, then an arithmetic shift down: the
        // sign extension, which the compiler makes one sign-extending load where the code is
        // compiled for SSE4.1 or AVX (`Voice::render_fused`).
        // SAFETY: `x` is four consecutive i16, the 8 bytes read (unaligned 64-bit load);
        // SSE2 is in the x86-64 baseline.
        unsafe {
            let points = _mm_loadl_epi64(x.as_ptr().cast());
            _mm_cvtepi32_ps(_mm_srai_epi32::<16>(_mm_unpacklo_epi16(points, points)))
        }
    }

    /// `(t0·w0 + t1·w1) + (t2·w2 + t3·w3)`: the association of [`super::weighted`], so the
    /// result is bit-identical to it.
    #[inline(always)]
    pub(super) fn dot(t: __m128, w: __m128) -> f32 {
        // SAFETY: register-only SSE operations, in the x86-64 baseline.
        unsafe {
            let p = _mm_mul_ps(t, w); // p0 p1 p2 p3
            let pairs = _mm_add_ps(p, _mm_shuffle_ps::<0b10_11_00_01>(p, p)); // p0+p1 · p2+p3 ·
            _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehl_ps(pairs, pairs)))
        }
    }

    /// [`dot`] of four frames at once, in lanes 0..4: the same products, summed with the
    /// same association (so bit-identical to it), with six shuffles and three adds instead
    /// of four per frame.
    #[inline(always)]
    pub(super) fn dot4(t: [__m128; 4], w: [__m128; 4]) -> [f32; 4] {
        // SAFETY: register-only SSE operations, in the x86-64 baseline; the store writes the
        // four floats of a local array (unaligned store).
        unsafe {
            let p = [_mm_mul_ps(t[0], w[0]), _mm_mul_ps(t[1], w[1]), _mm_mul_ps(t[2], w[2]), _mm_mul_ps(t[3], w[3])];
            // Frames a, b: [a0+a1, a2+a3, b0+b1, b2+b3].
            let pairs = |a: __m128, b: __m128| {
                let even = _mm_shuffle_ps::<0b10_00_10_00>(a, b); // a0 a2 b0 b2
                let odd = _mm_shuffle_ps::<0b11_01_11_01>(a, b); // a1 a3 b1 b3
                _mm_add_ps(even, odd)
            };
            let (ab, cd) = (pairs(p[0], p[1]), pairs(p[2], p[3]));
            let first = _mm_shuffle_ps::<0b10_00_10_00>(ab, cd); // a0+a1, b0+b1, c0+c1, d0+d1
            let second = _mm_shuffle_ps::<0b11_01_11_01>(ab, cd); // a2+a3, b2+b3, …
            let mut out = [0.0f32; 4];
            _mm_storeu_ps(out.as_mut_ptr(), _mm_add_ps(first, second));
            out
        }
    }
}

/// Bytes in a cache line of the processors noderack is built for.
const CACHE_LINE_BYTES: usize = 64;

/// Hints the processor to bring the cache lines of the `bytes` bytes from address `start` (at
/// most `max_lines` of them) into its caches: no memory is read or written.
#[inline]
fn prefetch_lines(start: usize, bytes: usize, max_lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let first_line = start - start % CACHE_LINE_BYTES;
        let lines = (start % CACHE_LINE_BYTES + bytes).div_ceil(CACHE_LINE_BYTES).min(max_lines);
        for line in 0..lines {
            let address = first_line.wrapping_add(line * CACHE_LINE_BYTES);
            // SAFETY: a prefetch is a hint: it never faults, whatever the address, and changes
            // no memory the program can see. SSE is in the x86-64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::without_provenance(address)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, bytes, max_lines);
}

/// Frames (possibly fractional, non-negative) to the fixed-point play head.
fn to_fixed(frames: f64) -> i64 {
    (frames.clamp(0.0, MAX_SAMPLE_FRAMES as f64) * ONE as f64) as i64
}

/// Where a voice may read in its sample for one render call, in fixed point or whole frames.
pub(crate) struct Geometry {
    /// Frames per output frame, fixed point (non-negative).
    step: i64,
    /// The voice ends once its play head reaches this (fixed point).
    end: i64,
    /// Last frame that sounds (frames past it read as silence).
    last: i64,
    /// Loop start and exclusive end in frames (only read while the voice loops).
    loop_start: i64,
    loop_end: i64,
    ping_pong: bool,
    /// Frames inside which a looping voice reads without wrapping or clamping: `lo..=hi`.
    loop_lo: i64,
    loop_hi: i64,
}

impl Geometry {
    fn new(zone: &Zone, frames: usize, step: f64) -> Self {
        let frames = frames.min(MAX_SAMPLE_FRAMES);
        let end = zone.region.end_frames.min(frames as f64).max(0.0);
        let last = end as i64 - 1;
        let (loop_start, loop_end) = zone.loop_frames.unwrap_or((0, i64::MAX / 2));
        let (loop_start, loop_end) = (loop_start.clamp(0, frames as i64), loop_end.clamp(0, frames as i64 + 1));
        Self {
            step: (step.clamp(0.0, MAX_STEP_FRAMES) * ONE as f64).round() as i64,
            end: (end * ONE as f64).ceil() as i64,
            last,
            loop_start,
            loop_end,
            ping_pong: zone.ping_pong,
            loop_lo: if zone.ping_pong { loop_start } else { 0 },
            loop_hi: (loop_end - 1).min(last),
        }
    }

    /// How many frames from `position` on can be read with every tap (`index − 1 ..= index + 2`)
    /// inside the readable frames, moving `forward` or back; 0 when the first cannot.
    #[inline]
    fn run(&self, position: i64, forward: bool, looping: bool) -> usize {
        let (lo, hi) = if looping { (self.loop_lo, self.loop_hi) } else { (0, self.last) };
        let index = position >> FRACTION_BITS;
        if index - 1 < lo || index + 2 > hi {
            return 0;
        }
        if self.step == 0 {
            return usize::MAX;
        }
        let frames = if forward {
            // Every later index stays ≤ hi − 2 while the position is below (hi − 1) frames.
            ((hi - 1) * ONE - position + self.step - 1) / self.step
        } else {
            // Every later index stays ≥ lo + 1 while the position is at or above (lo + 1) frames.
            (position - (lo + 1) * ONE) / self.step + 1
        };
        frames.max(0) as usize
    }
}

/// A run of frames whose taps all lie inside every channel, checked once for the run instead
/// of once per frame: the play head moves one way through a run, so the taps of its first and
/// last frames bound every other frame's.
struct CheckedRun<'a, T, const C: usize> {
    data: [&'a [T]; C],
    position: i64,
    step: i64,
    frames: usize,
}

impl<'a, T: Point, const C: usize> CheckedRun<'a, T, C> {
    /// The `frames` frames from `position` on at `step` (fixed point), if every frame's four
    /// taps (`index − 1 ..= index + 2`) lie inside every channel of `data`; `None` otherwise,
    /// and for an empty run.
    #[inline(always)]
    fn new(data: [&'a [T]; C], position: i64, step: i64, frames: usize) -> Option<Self> {
        let beyond_first = i64::try_from(frames.checked_sub(1)?).ok()?;
        let last = position.checked_add(step.checked_mul(beyond_first)?)?;
        let (a, b) = (first_tap(position), first_tap(last));
        let points = data.iter().map(|d| d.len()).min()?;
        let inside = a.min(b) >= 0 && u64::try_from(a.max(b)).ok()?.checked_add(4)? <= points as u64;
        inside.then_some(Self { data, position, step, frames })
    }

    /// The four taps of the frame at `position` in `channel`.
    ///
    /// # Safety
    /// `position` must be one of the run's positions (`self.position + k·self.step` for `k`
    /// below `self.frames`): `new` checked that those read inside every channel.
    #[inline(always)]
    unsafe fn taps(&self, channel: usize, position: i64) -> &'a [T; 4] {
        let first = first_tap(position) as usize;
        // SAFETY: `first .. first + 4` lies inside every channel: `new` checked it for the
        // run's first and last positions, the play head moves one way (by `step`) between
        // them, and the caller gives one of those positions.
        unsafe { &*self.data[channel].as_ptr().add(first).cast::<[T; 4]>() }
    }

    /// Interpolates the run's frames into each channel's `ys` (frame `k` into `ys[c][k]`),
    /// four frames at a time ([`Point::interpolate4`]) and the rest one by one; frames past
    /// the end of a `ys` are not written.
    #[inline(always)]
    fn interpolate_into(self, mut ys: [&mut [f32]; C]) {
        let step = self.step;
        let mut position = self.position;
        let mut frame = 0;
        while frame + 4 <= self.frames {
            let at = [position, position + step, position + 2 * step, position + 3 * step];
            let w = [weights(at[0] as u32), weights(at[1] as u32), weights(at[2] as u32), weights(at[3] as u32)];
            for (channel, ys) in ys.iter_mut().enumerate() {
                // SAFETY: frames `frame .. frame + 4` are below `self.frames` (the loop's
                // condition), and `at` holds their positions.
                let taps = unsafe {
                    [
                        self.taps(channel, at[0]),
                        self.taps(channel, at[1]),
                        self.taps(channel, at[2]),
                        self.taps(channel, at[3]),
                    ]
                };
                if let Some(y) = ys.get_mut(frame..frame + 4) {
                    y.copy_from_slice(&T::interpolate4(taps, w));
                }
            }
            position += 4 * step;
            frame += 4;
        }
        while frame < self.frames {
            let w = weights(position as u32);
            for (channel, ys) in ys.iter_mut().enumerate() {
                if let Some(y) = ys.get_mut(frame) {
                    // SAFETY: `frame` is below `self.frames` and `position` is its position.
                    *y = T::interpolate(unsafe { self.taps(channel, position) }, w);
                }
            }
            position += step;
            frame += 1;
        }
    }
}

/// The frame of the first of the four taps interpolated at `position` (fixed point).
#[inline(always)]
fn first_tap(position: i64) -> i64 {
    (position >> FRACTION_BITS) - 1
}

/// Frame `i` of `data` before scaling ([`Point::raw`]), seen through the loop while `looping`
/// (so interpolation across the loop seam reads the frames that will actually follow), silent
/// outside the sample.
#[inline]
fn tap<T: Point>(g: &Geometry, looping: bool, data: &[T], mut i: i64) -> f32 {
    if looping {
        if g.ping_pong {
            i = i.clamp(g.loop_start, g.loop_end - 1);
        } else if i >= g.loop_end {
            i -= g.loop_end - g.loop_start;
        }
    }
    if i < 0 || i > g.last {
        0.0
    } else {
        data.get(i as usize).map_or(0.0, |&x| x.raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::interpolate::{HERMITE_WEIGHTS, WEIGHT_ROWS};
    use noderack_presets::instrument::Region;
    use noderack_presets::sample::{Pcm16, Sample};

    /// A prefetch is a hint only: addresses nothing owns (null, the top of the address space,
    /// a freed buffer) neither fault nor change anything.
    #[test]
    fn prefetching_reads_nothing() {
        let buffer = vec![1u8; 4096];
        let freed = buffer.as_ptr() as usize;
        drop(buffer);
        for (start, bytes) in [(0, 64), (usize::MAX - 100, 4096), (freed, 4096), (12345, 0)] {
            prefetch_lines(start, bytes, 16);
        }
    }

    /// What a voice asks for ahead is where its render reads: its zone, its sample's header
    /// and each channel's points, for both sample stores.
    #[test]
    fn whereabouts_are_the_memory_a_render_reads() {
        let stereo16 = Sample::from_i16(48_000, vec![Pcm16::owned(vec![1; 100]), Pcm16::owned(vec![2; 100])], [0; 32]);
        let mono32 = Sample::from_f32(48_000, vec![vec![0.5; 300]], [0; 32]);
        for sample in [stereo16, mono32] {
            let zone = Zone::new(&Region::new(Arc::new(sample), 60), 48_000.0);
            let w = Whereabouts::of(&zone);
            assert_eq!(w.headers[0], &zone as *const Zone as usize);
            assert_eq!(w.headers[1], Arc::as_ptr(&zone.region.sample) as usize);
            match &zone.region.sample.data {
                SampleData::I16(c) => {
                    assert_eq!((w.frames, w.point_bytes), (100, 2));
                    assert_eq!(w.points, [c[0].as_ptr() as usize, c[1].as_ptr() as usize]);
                    assert_eq!(w.headers[3..], [c[0].buffer_header_address(), c[1].buffer_header_address()]);
                }
                SampleData::F32(c) => {
                    assert_eq!((w.frames, w.point_bytes), (300, 4));
                    assert_eq!(w.points, [c[0].as_ptr() as usize, 0]);
                }
            }
        }
    }

    /// A run is checked by its first and last frames' taps: accepted exactly when every frame
    /// reads inside the sample, forwards and backwards, and never when empty; its frames,
    /// four at a time and one by one, interpolate where the play head is.
    #[test]
    fn a_checked_run_reads_only_inside_the_sample() {
        // A ramp: the value interpolated at a position is the position.
        let data: Vec<i16> = (0..10).collect();
        let third = 1.0 / 3.0;
        let at = |frame: i64| frame * ONE + ONE / 3;
        let played = |position: i64, step: i64, frames: usize| {
            CheckedRun::new([&data[..]], position, step, frames).map(|run| {
                let mut y = vec![f32::NAN; frames];
                run.interpolate_into([&mut y[..]]);
                y
            })
        };
        let near = |y: Option<Vec<f32>>, expected: &[f32]| {
            let y = y.expect("an accepted run");
            assert_eq!(y.len(), expected.len());
            for (frame, (y, e)) in y.iter().zip(expected).enumerate() {
                // Within the rounding of the fraction to a weights row (1/1024 of a frame).
                assert!((y - e).abs() <= 1.0 / 1024.0, "frame {frame}: {y}, expected {e}");
            }
        };
        let ramp = |from: f32, by: f32, n: usize| (0..n).map(|f| from + by * f as f32).collect::<Vec<_>>();
        // Frames 1..=7 read points 0..=9: the whole sample, nothing past it.
        near(played(at(1), ONE, 7), &ramp(1.0 + third, 1.0, 7));
        assert_eq!(played(at(1), ONE, 8), None, "frame 8 reads point 10");
        assert_eq!(played(at(0), ONE, 3), None, "frame 0 reads point -1");
        near(played(at(6), -ONE, 6), &ramp(6.0 + third, -1.0, 6));
        assert_eq!(played(at(6), -ONE, 7), None, "backwards to frame 0 reads point -1");
        assert_eq!(played(at(3), ONE / 2, 0), None, "an empty run is no run");
        near(played(at(3), 0, 1_000), &ramp(3.0 + third, 0.0, 1_000));
        near(
            played(at(1), ONE / 2, 11),
            &(0..11).map(|f| (at(1) + f * ONE / 2) as f32 / ONE as f32).collect::<Vec<_>>(),
        );
        let both = |frames| CheckedRun::new([&data[..], &data[..8]], at(1), ONE, frames).map(|_| ());
        assert_eq!((both(5), both(6)), (Some(()), None), "the shorter channel bounds the run");
    }

    /// The four-lane interpolation gives exactly what the scalar sum gives, for both sample
    /// stores, at every weights row and over taps of every magnitude (a tiny xorshift keeps
    /// the test's values the same on every run).
    #[test]
    fn lane_interpolation_is_bit_identical_to_the_scalar_sum() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for row in &HERMITE_WEIGHTS {
            for _ in 0..64 {
                let bits = next();
                let points = [bits as i16, (bits >> 16) as i16, (bits >> 32) as i16, (bits >> 48) as i16];
                let scalar = weighted(points.map(|p| p as f32), row);
                assert_eq!(i16::interpolate(&points, row).to_bits(), scalar.to_bits(), "{points:?} {row:?}");
                let exponent = (next() % 40) as i32 - 30;
                let floats = points.map(|p| p as f32 / 32768.0 * 2f32.powi(exponent));
                let scalar = weighted(floats, row);
                assert_eq!(f32::interpolate(&floats, row).to_bits(), scalar.to_bits(), "{floats:?} {row:?}");
            }
        }
        // Four frames at once: each lane its own frame, the same bits.
        for _ in 0..20_000 {
            let points: [[i16; 4]; 4] = std::array::from_fn(|_| {
                let bits = next();
                [bits as i16, (bits >> 16) as i16, (bits >> 32) as i16, (bits >> 48) as i16]
            });
            let rows: [&[f32; 4]; 4] = std::array::from_fn(|_| &HERMITE_WEIGHTS[next() as usize % WEIGHT_ROWS]);
            let four = i16::interpolate4(points.each_ref(), rows);
            let floats = points.map(|p| p.map(|p| p as f32 / 32768.0));
            let four_floats = f32::interpolate4(floats.each_ref(), rows);
            for lane in 0..4 {
                let one = i16::interpolate(&points[lane], rows[lane]);
                assert_eq!(four[lane].to_bits(), one.to_bits(), "lane {lane}: {points:?}");
                let one = f32::interpolate(&floats[lane], rows[lane]);
                assert_eq!(four_floats[lane].to_bits(), one.to_bits(), "lane {lane}: {floats:?}");
            }
        }
    }
}
