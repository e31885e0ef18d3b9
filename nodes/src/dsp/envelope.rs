//! An ADSR envelope generator advanced one sample at a time.
//!
//! Segment shapes:
//! - **attack**: a linear ramp to 1 at a rate of one full scale per `attack_seconds` (so from
//!   silence it takes exactly `attack_seconds`; a retrigger from a higher level takes less).
//! - **decay**: an exponential fall towards a target slightly *below* the sustain level, clamped
//!   at the sustain level, so it arrives there exactly `decay_seconds` after leaving full scale
//!   (an exponential aimed at the level itself would only approach it). Until then it is
//!   linear in dB like an analogue envelope's; when the sustain level is raised during sustain,
//!   the level climbs to it at the attack rate instead of jumping. With a sustain level of 0
//!   the envelope finishes (goes idle) when the decay reaches silence, so percussive notes
//!   free their voice without waiting for a note-off.
//! - **release**: the same overshoot trick towards a target just below zero, scaled by the
//!   level the release started from, so every release reaches exact silence `release_seconds`
//!   after it began, whatever the starting level. Exact zero means a voice can end without a
//!   residual step and the level never goes denormal.
//! - **fade** (for "all sound off" and similar): a short linear ramp to zero.
//!
//! The overshoot is 1/1000 of the segment's span: the exponential covers 60 dB of its span in
//! the segment time.

/// How far (as a fraction of the segment's span) the exponential segments aim past their end
/// level. `ln((1 + OVERSHOOT) / OVERSHOOT)` time constants fit in one segment time.
const OVERSHOOT: f32 = 1e-3;

/// Samples per segment of [`Adsr::render`]: the envelope is computed exactly at every 16th
/// sample of a note (a third of a millisecond at 48 kHz) and ramps linearly in between.
pub const CONTROL_FRAMES: u32 = 16;

/// 1, 2, … [`CONTROL_FRAMES`]: sample `k` of a segment is `from + step·RAMP[k − 1]` (a table
/// rather than a converted counter, so the fill vectorises).
const RAMP: [f32; CONTROL_FRAMES as usize] =
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0];

/// Which segment an [`Adsr`] is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Stage {
    /// Silent and finished: the voice using it is free.
    #[default]
    Idle,
    /// Rising linearly to full level.
    Attack,
    /// Held at full level for the shape's hold time (SFZ `ampeg_hold`, SF2 `holdVolEnv`).
    Hold,
    /// Falling to, then holding at, the sustain level.
    DecaySustain,
    /// Falling to silence after the note was released.
    Release,
    /// A quick linear fade to silence (voice killed).
    Fade,
}

/// Per-sample rates derived from the four ADSR settings; computing them costs a few `exp`
/// calls, so callers build one when a setting changes and share it between voices.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AdsrShape {
    /// Level added per sample during the attack.
    pub attack_step: f32,
    /// One-pole coefficient of the decay (fraction of the remaining distance per sample).
    pub decay_coef: f32,
    /// Sustain level, 0..=1.
    pub sustain_level: f32,
    /// One-pole coefficient of the release.
    pub release_coef: f32,
    /// What remains of the decay's distance after [`CONTROL_FRAMES`] samples:
    /// `(1 − decay_coef)^CONTROL_FRAMES` (for [`Adsr::render`]).
    pub decay_factor: f32,
    /// The same for the release.
    pub release_factor: f32,
    /// Samples held at full level between the attack and the decay (0: none).
    pub hold_frames: u32,
}

impl AdsrShape {
    /// Shortest segment time accepted, in seconds (shorter values are raised to it: a
    /// zero-length attack would click).
    pub const MIN_SECONDS: f32 = 1e-4;

    /// Rates for the given times in seconds and sustain level 0..=1 at `sample_rate`.
    pub fn new(
        attack_seconds: f32,
        decay_seconds: f32,
        sustain_level: f32,
        release_seconds: f32,
        sample_rate: f32,
    ) -> Self {
        let frames = |seconds: f32| (seconds.max(Self::MIN_SECONDS) * sample_rate).max(1.0);
        let decay_coef = exp_segment_coef(frames(decay_seconds));
        let release_coef = exp_segment_coef(frames(release_seconds));
        let per_control = |coef: f32| (1.0 - coef as f64).powi(CONTROL_FRAMES as i32) as f32;
        Self {
            attack_step: (1.0 / frames(attack_seconds)).min(1.0),
            decay_coef,
            sustain_level: if sustain_level.is_nan() { 0.0 } else { sustain_level.clamp(0.0, 1.0) },
            release_coef,
            decay_factor: per_control(decay_coef),
            release_factor: per_control(release_coef),
            hold_frames: 0,
        }
    }

    /// The same rates with a hold of `hold_seconds` at full level after the attack.
    pub fn with_hold_seconds(mut self, hold_seconds: f32, sample_rate: f32) -> Self {
        self.hold_frames = (hold_seconds.max(0.0) * sample_rate).round() as u32;
        self
    }
}

/// One-pole coefficient that takes `frames` samples to cover the span to an [`OVERSHOOT`]
/// target: `1 - exp(-ln((1 + o) / o) / frames)`.
fn exp_segment_coef(frames: f32) -> f32 {
    let time_constants = ((1.0 + OVERSHOOT as f64) / OVERSHOOT as f64).ln();
    (1.0 - (-time_constants / frames as f64).exp()) as f32
}

/// An ADSR envelope: a level 0..=1 advanced one sample per [`Adsr::tick`].
#[derive(Copy, Clone, Debug, Default)]
pub struct Adsr {
    stage: Stage,
    level: f32,
    shape: AdsrShape,
    /// Where the release exponential aims (just below zero, scaled by its starting level).
    release_target: f32,
    /// Level removed per sample while fading.
    fade_step: f32,
    /// Samples of the hold still to come.
    hold_left: u32,
    /// The linear segment [`Adsr::render`] is in: level at its start, change per sample,
    /// level at its end, samples left, and whether the envelope finishes at its end.
    segment_from: f32,
    segment_step: f32,
    segment_to: f32,
    segment_left: u32,
    segment_frames: u32,
    segment_ends: bool,
}

impl Default for AdsrShape {
    fn default() -> Self {
        Self::new(0.005, 0.3, 0.7, 0.25, 48_000.0)
    }
}

impl Adsr {
    /// An idle envelope at level 0 with `shape`.
    pub fn new(shape: AdsrShape) -> Self {
        Self { shape, ..Self::default() }
    }

    /// Replaces the rates; takes effect from the next sample (the level does not jump).
    #[inline]
    pub fn set_shape(&mut self, shape: AdsrShape) {
        self.shape = shape;
    }

    /// The rates in use.
    pub fn shape(&self) -> &AdsrShape {
        &self.shape
    }

    /// Current level 0..=1.
    #[inline]
    pub fn level(&self) -> f32 {
        self.level
    }

    /// Current segment.
    #[inline]
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// True once the envelope has finished (level 0, nothing more to play).
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.stage == Stage::Idle
    }

    /// Back to idle at level 0 (for a voice that is being reset, not one that is sounding).
    pub fn reset(&mut self) {
        self.stage = Stage::Idle;
        self.level = 0.0;
        self.segment_left = 0;
    }

    /// Starts (or restarts) the attack from the current level, so a retriggered envelope never
    /// jumps.
    pub fn note_on(&mut self) {
        self.stage = Stage::Attack;
        self.hold_left = self.shape.hold_frames;
        self.segment_left = 0;
    }

    /// Starts the release from the current level (no effect when idle or fading).
    pub fn note_off(&mut self) {
        if matches!(self.stage, Stage::Attack | Stage::Hold | Stage::DecaySustain) {
            self.stage = Stage::Release;
            self.release_target = -OVERSHOOT * self.level;
            self.segment_left = 0;
        }
    }

    /// Fades linearly from the current level to silence over `frames` samples (at least 1).
    pub fn fade_out(&mut self, frames: u32) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Fade;
            self.fade_step = self.level / frames.max(1) as f32;
            self.segment_left = 0;
        }
    }

    /// Advances one sample and returns the new level.
    #[inline(always)]
    pub fn tick(&mut self) -> f32 {
        let s = &self.shape;
        let mut level = self.level;
        match self.stage {
            Stage::Idle => {}
            Stage::Attack => {
                level += s.attack_step;
                if level >= 1.0 {
                    level = 1.0;
                    self.stage = if self.hold_left > 0 { Stage::Hold } else { Stage::DecaySustain };
                }
            }
            Stage::Hold => {
                self.hold_left = self.hold_left.saturating_sub(1);
                if self.hold_left == 0 {
                    self.stage = Stage::DecaySustain;
                }
            }
            Stage::DecaySustain => {
                let sustain = s.sustain_level;
                if level > sustain {
                    let target = sustain - OVERSHOOT * (1.0 - sustain);
                    level = (level + (target - level) * s.decay_coef).max(sustain);
                    if level <= 0.0 {
                        // Sustain level 0 (percussive): nothing more to play, free the voice.
                        self.stage = Stage::Idle;
                    }
                } else {
                    level = (level + s.attack_step).min(sustain);
                }
            }
            Stage::Release => {
                level += (self.release_target - level) * s.release_coef;
                if level <= 0.0 {
                    level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
            Stage::Fade => {
                level -= self.fade_step;
                if level <= 0.0 {
                    level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
        }
        self.level = level;
        level
    }

    /// Writes the levels of the next samples into `out` at control rate: every
    /// [`CONTROL_FRAMES`] samples of the note the level is computed exactly as that many
    /// [`Adsr::tick`] calls would (the segment's curve in one step), with a linear ramp in
    /// between: a vectorisable fill instead of a serial per-sample recurrence. A stage change
    /// (note-on, note-off, fade) starts a new segment at its own sample, so the levels do not
    /// depend on how the samples are split into calls. Segments end on the segment grid, so
    /// each stage ends up to `CONTROL_FRAMES − 1` samples later than with `tick`.
    ///
    /// Stops after the sample on which the envelope finishes and returns how many samples it
    /// wrote (`out.len()` unless it finished). Use either `render` or `tick` on one envelope.
    pub fn render(&mut self, out: &mut [f32]) -> usize {
        let mut i = 0;
        while i < out.len() {
            if self.segment_left == 0 {
                if self.stage == Stage::Idle {
                    // As `tick` does: an idle envelope holds its level (0) and stays idle.
                    out[i] = self.level;
                    return i + 1;
                }
                if self.stage == Stage::DecaySustain && self.level == self.shape.sustain_level {
                    // Holding the sustain level: constant until the next note-off or shape.
                    out[i..].fill(self.level);
                    return out.len();
                }
                self.plan_segment();
            }
            let n = (self.segment_left as usize).min(out.len() - i);
            let done = self.segment_frames - self.segment_left;
            let (from, step) = (self.segment_from, self.segment_step);
            let ramp = &RAMP[done as usize..done as usize + n];
            for (o, &k) in out[i..i + n].iter_mut().zip(ramp) {
                *o = from + step * k;
            }
            i += n;
            self.segment_left -= n as u32;
            if self.segment_left == 0 {
                out[i - 1] = self.segment_to;
                if self.segment_ends {
                    self.stage = Stage::Idle;
                    self.level = 0.0;
                    return i;
                }
            }
            self.level = out[i - 1];
        }
        i
    }

    /// Starts a segment of [`CONTROL_FRAMES`] samples from the current level, to where `tick`
    /// would be after that many samples. A linear stage (attack, fade) that would end sooner
    /// gets a shorter segment ending exactly at its end level; an exponential one ends at the
    /// end of the segment in which it arrives.
    fn plan_segment(&mut self) {
        let s = self.shape;
        let mut frames = CONTROL_FRAMES as f32;
        let level = self.level;
        let mut ends = false;
        // A linear stage keeps its own slope (its last sample lands on its end level).
        let mut slope = None;
        // Samples a linear stage takes from `level` to `end` at `step` per sample, if fewer than
        // a segment.
        let arrival = |end: f32, step: f32| {
            let n = ((end - level) / step).abs().ceil();
            (n < CONTROL_FRAMES as f32).then_some(n.max(1.0))
        };
        let to = match self.stage {
            Stage::Idle => level,
            Stage::Attack => match arrival(1.0, s.attack_step) {
                Some(n) => {
                    frames = n;
                    slope = Some(s.attack_step);
                    self.stage = if self.hold_left > 0 { Stage::Hold } else { Stage::DecaySustain };
                    1.0
                }
                None => level + frames * s.attack_step,
            },
            Stage::Hold => {
                // Exactly the hold's samples, in segments of at most CONTROL_FRAMES.
                let n = self.hold_left.clamp(1, CONTROL_FRAMES);
                frames = n as f32;
                self.hold_left -= n.min(self.hold_left);
                if self.hold_left == 0 {
                    self.stage = Stage::DecaySustain;
                }
                slope = Some(0.0);
                level
            }
            Stage::DecaySustain => {
                let sustain = s.sustain_level;
                if level > sustain {
                    let target = sustain - OVERSHOOT * (1.0 - sustain);
                    let to = (target + (level - target) * s.decay_factor).max(sustain);
                    ends = to <= 0.0;
                    to
                } else {
                    (level + frames * s.attack_step).min(sustain)
                }
            }
            Stage::Release => {
                let to = self.release_target + (level - self.release_target) * s.release_factor;
                ends = to <= 0.0;
                to.max(0.0)
            }
            Stage::Fade => match arrival(0.0, self.fade_step) {
                Some(n) => {
                    frames = n;
                    slope = Some(-self.fade_step);
                    ends = true;
                    0.0
                }
                None => level - frames * self.fade_step,
            },
        };
        self.segment_from = level;
        self.segment_to = to;
        self.segment_step = slope.unwrap_or((to - level) / frames);
        self.segment_frames = frames as u32;
        self.segment_left = frames as u32;
        self.segment_ends = ends;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f32 = 48_000.0;

    fn run_until(env: &mut Adsr, stop: impl Fn(&Adsr) -> bool, limit: usize) -> usize {
        for n in 1..=limit {
            env.tick();
            if stop(env) {
                return n;
            }
        }
        panic!("condition not reached in {limit} samples (stage {:?}, level {})", env.stage(), env.level());
    }

    #[test]
    fn attack_reaches_full_level_in_attack_time() {
        let mut env = Adsr::new(AdsrShape::new(0.01, 0.1, 0.5, 0.1, SR));
        env.note_on();
        let n = run_until(&mut env, |e| e.level() >= 1.0, 10_000);
        assert!((n as i64 - 480).abs() <= 1, "{n} samples");
        assert_eq!(env.stage(), Stage::DecaySustain);
    }

    #[test]
    fn decay_arrives_exactly_at_sustain_in_decay_time_and_holds() {
        let mut env = Adsr::new(AdsrShape::new(0.001, 0.2, 0.25, 0.1, SR));
        env.note_on();
        let attack = run_until(&mut env, |e| e.stage() == Stage::DecaySustain, 1000);
        let decay = run_until(&mut env, |e| e.level() == 0.25, 100_000);
        assert!((decay as f32 - 0.2 * SR).abs() < 0.01 * 0.2 * SR, "decay took {decay} samples after {attack}");
        for _ in 0..1000 {
            assert_eq!(env.tick(), 0.25);
        }
    }

    /// After the attack the level stays at 1 for exactly the hold, then decays; `render`
    /// follows the same timeline.
    #[test]
    fn hold_keeps_full_level_for_its_time_then_decays() {
        let shape = AdsrShape::new(0.001, 0.05, 0.0, 0.1, SR).with_hold_seconds(0.02, SR);
        assert_eq!(shape.hold_frames, 960);
        let mut env = Adsr::new(shape);
        env.note_on();
        let attack = run_until(&mut env, |e| e.stage() == Stage::Hold, 1000);
        let held = run_until(&mut env, |e| e.stage() == Stage::DecaySustain, 10_000);
        assert_eq!(held, 960, "after {attack} samples of attack");
        assert_eq!(env.level(), 1.0);
        assert!(env.tick() < 1.0, "decays once the hold is over");

        let mut rendered = Adsr::new(shape);
        rendered.note_on();
        let mut out = vec![0.0; 4800];
        rendered.render(&mut out);
        let full = out.iter().filter(|&&l| l == 1.0).count();
        assert!((full as i64 - 961).abs() <= CONTROL_FRAMES as i64, "{full} samples at full level");
        assert!(out[attack + 1..attack + 960].iter().all(|&l| l == 1.0), "flat through the hold");
        assert!(out[4000] < 0.01, "decayed after the hold");
    }

    #[test]
    fn zero_sustain_finishes_at_the_end_of_the_decay() {
        let mut env = Adsr::new(AdsrShape::new(0.001, 0.1, 0.0, 1.0, SR));
        env.note_on();
        let n = run_until(&mut env, |e| e.is_idle(), 100_000);
        assert!((n as f32 - 0.101 * SR).abs() < 0.01 * 0.1 * SR, "{n} samples");
        assert_eq!(env.level(), 0.0);
    }

    #[test]
    fn decay_halfway_point_is_exponential_not_linear() {
        let mut env = Adsr::new(AdsrShape::new(0.0001, 1.0, 0.0, 0.1, SR));
        env.note_on();
        run_until(&mut env, |e| e.stage() == Stage::DecaySustain, 100);
        for _ in 0..24_000 {
            env.tick();
        }
        // Half way through, an exponential covering 60 dB is about 30 dB down (a linear ramp
        // would be at 0.5).
        assert!(env.level() < 0.05 && env.level() > 0.02, "level {}", env.level());
    }

    #[test]
    fn release_reaches_exact_silence_in_release_time_from_any_level() {
        for start in [1.0f32, 0.3] {
            let mut env = Adsr::new(AdsrShape::new(0.001, 0.01, start, 0.5, SR));
            env.note_on();
            run_until(&mut env, |e| e.level() == start, 100_000);
            env.note_off();
            let n = run_until(&mut env, |e| e.is_idle(), 100_000);
            assert!((n as f32 - 0.5 * SR).abs() < 0.01 * 0.5 * SR, "from {start}: {n} samples");
            assert_eq!(env.level(), 0.0);
        }
    }

    #[test]
    fn retrigger_continues_from_current_level() {
        let mut env = Adsr::new(AdsrShape::new(0.01, 0.1, 0.5, 1.0, SR));
        env.note_on();
        run_until(&mut env, |e| e.level() == 0.5, 100_000);
        env.note_off();
        for _ in 0..1000 {
            env.tick();
        }
        let before = env.level();
        env.note_on();
        let after = env.tick();
        assert!(after > before && after - before <= env.shape().attack_step * 1.0001);
    }

    #[test]
    fn raising_sustain_climbs_at_attack_rate() {
        let mut env = Adsr::new(AdsrShape::new(0.01, 0.01, 0.2, 0.1, SR));
        env.note_on();
        run_until(&mut env, |e| e.level() == 0.2, 100_000);
        env.set_shape(AdsrShape::new(0.01, 0.01, 0.8, 0.1, SR));
        let step = env.shape().attack_step;
        let next = env.tick();
        assert!((next - (0.2 + step)).abs() < 1e-6);
        run_until(&mut env, |e| e.level() == 0.8, 1000);
    }

    /// Runs `script` ((sample, action): 1 note-on, 2 note-off, 3 fade, 4 raise sustain) over
    /// 6000 samples with `shape`, by `tick` (`chunk` 0) or by `render` in chunks of `chunk`;
    /// returns the levels.
    fn levels(shape: AdsrShape, script: &[(usize, i32)], chunk: usize) -> Vec<f32> {
        let act = |env: &mut Adsr, n: usize| {
            for &(_, a) in script.iter().filter(|(f, _)| *f == n) {
                match a {
                    1 => env.note_on(),
                    2 => env.note_off(),
                    3 => env.fade_out(500),
                    _ => env.set_shape(AdsrShape { sustain_level: 0.8, ..shape }),
                }
            }
        };
        let mut env = Adsr::new(shape);
        let mut out = vec![0.0; 6000];
        let mut n = 0;
        while n < out.len() {
            act(&mut env, n);
            if chunk == 0 {
                out[n] = env.tick();
                n += 1;
                continue;
            }
            let next = script.iter().map(|(f, _)| *f).find(|&f| f > n).unwrap_or(out.len());
            let len = chunk.min(next - n);
            let written = env.render(&mut out[n..n + len]);
            assert!(written == len || env.is_idle(), "stopped early while not idle");
            n += written;
            if written < len {
                n = next; // finished: silent until the next action
            }
        }
        out
    }

    const SCRIPT: [(usize, i32); 7] = [(0, 1), (1200, 4), (2000, 2), (2600, 1), (3400, 3), (4000, 1), (4800, 2)];

    /// Rendering by segments follows the per-sample envelope closely through every stage
    /// (attack, decay, sustain, a raised sustain, release, retrigger, fade, a zero-sustain decay
    /// that finishes on its own) and gives the same levels however the samples are split.
    #[test]
    fn render_follows_tick_closely_and_ignores_chunking() {
        let shapes = [
            AdsrShape::new(0.01, 0.02, 0.5, 0.02, SR),
            AdsrShape::new(0.0, 0.01, 0.0, 0.01, SR),
            AdsrShape::new(0.005, 0.003, 1.0, 0.004, SR),
        ];
        for (s, shape) in shapes.into_iter().enumerate() {
            let reference = levels(shape, &SCRIPT, 0);
            let rendered = levels(shape, &SCRIPT, 1);
            for chunk in [3, 16, 64, 500] {
                assert!(levels(shape, &SCRIPT, chunk) == rendered, "shape {s}: chunk {chunk} differs");
            }
            // Within 1% of full scale of the per-sample envelope, for segment times of 10 ms;
            // within 4% for 3 ms segments (a linear ramp across a faster exponential).
            let tolerance = if s == 2 { 0.04 } else { 0.01 };
            let worst = reference.iter().zip(&rendered).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            let at = reference.iter().zip(&rendered).position(|(a, b)| (a - b).abs() == worst).unwrap_or(0);
            assert!(
                worst <= tolerance,
                "shape {s}: {worst} from the per-sample envelope at sample {at}: {:?} vs {:?}",
                &reference[at.saturating_sub(3)..at + 3],
                &rendered[at.saturating_sub(3)..at + 3]
            );
        }
    }

    #[test]
    fn fade_out_is_linear_and_ends_idle() {
        let mut env = Adsr::new(AdsrShape::new(0.001, 0.01, 1.0, 1.0, SR));
        env.note_on();
        run_until(&mut env, |e| e.level() == 1.0, 1000);
        env.fade_out(100);
        let n = run_until(&mut env, |e| e.is_idle(), 1000);
        assert!((99..=101).contains(&n), "{n}");
        // An idle envelope stays silent and ignores note-off.
        env.note_off();
        assert_eq!(env.tick(), 0.0);
        assert!(env.is_idle());
    }
}
