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

/// Which segment an [`Adsr`] is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Stage {
    /// Silent and finished: the voice using it is free.
    #[default]
    Idle,
    /// Rising linearly to full level.
    Attack,
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
        Self {
            attack_step: (1.0 / frames(attack_seconds)).min(1.0),
            decay_coef: exp_segment_coef(frames(decay_seconds)),
            sustain_level: if sustain_level.is_nan() { 0.0 } else { sustain_level.clamp(0.0, 1.0) },
            release_coef: exp_segment_coef(frames(release_seconds)),
        }
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
    }

    /// Starts (or restarts) the attack from the current level, so a retriggered envelope never
    /// jumps.
    pub fn note_on(&mut self) {
        self.stage = Stage::Attack;
    }

    /// Starts the release from the current level (no effect when idle or fading).
    pub fn note_off(&mut self) {
        if matches!(self.stage, Stage::Attack | Stage::DecaySustain) {
            self.stage = Stage::Release;
            self.release_target = -OVERSHOOT * self.level;
        }
    }

    /// Fades linearly from the current level to silence over `frames` samples (at least 1).
    pub fn fade_out(&mut self, frames: u32) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Fade;
            self.fade_step = self.level / frames.max(1) as f32;
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

    /// Writes the levels of the next samples into `out`, exactly the values as many
    /// [`Adsr::tick`] calls would return, but one tight loop per segment instead of a branch on
    /// the stage per sample; a held sustain level is a plain fill. Stops after the sample on
    /// which the envelope finishes and returns how many samples it wrote (`out.len()` unless it
    /// finished).
    pub fn render(&mut self, out: &mut [f32]) -> usize {
        let s = self.shape;
        let mut level = self.level;
        let mut i = 0;
        while i < out.len() {
            let rest = &mut out[i..];
            match self.stage {
                Stage::Idle => {
                    // As `tick` does: an idle envelope holds its level (0) and stays idle.
                    rest[0] = level;
                    i += 1;
                    break;
                }
                Stage::Attack => {
                    for o in rest.iter_mut() {
                        level += s.attack_step;
                        i += 1;
                        if level >= 1.0 {
                            level = 1.0;
                            self.stage = Stage::DecaySustain;
                            *o = level;
                            break;
                        }
                        *o = level;
                    }
                }
                Stage::DecaySustain => {
                    let sustain = s.sustain_level;
                    if level > sustain {
                        let target = sustain - OVERSHOOT * (1.0 - sustain);
                        for o in rest.iter_mut() {
                            level = (level + (target - level) * s.decay_coef).max(sustain);
                            *o = level;
                            i += 1;
                            if level <= 0.0 {
                                self.stage = Stage::Idle;
                                self.level = level;
                                return i;
                            }
                            if level <= sustain {
                                break;
                            }
                        }
                    } else if level < sustain {
                        for o in rest.iter_mut() {
                            level = (level + s.attack_step).min(sustain);
                            *o = level;
                            i += 1;
                            if level >= sustain {
                                break;
                            }
                        }
                    } else {
                        rest.fill(level);
                        i = out.len();
                    }
                }
                Stage::Release | Stage::Fade => {
                    let release = self.stage == Stage::Release;
                    for o in rest.iter_mut() {
                        if release {
                            level += (self.release_target - level) * s.release_coef;
                        } else {
                            level -= self.fade_step;
                        }
                        i += 1;
                        if level <= 0.0 {
                            level = 0.0;
                            self.stage = Stage::Idle;
                            *o = level;
                            self.level = level;
                            return i;
                        }
                        *o = level;
                    }
                }
            }
        }
        self.level = level;
        i
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

    /// `render` in chunks of every size gives the very values of `tick`, through every stage:
    /// attack, decay, sustain, a raised sustain, release, retrigger, fade, and a zero-sustain
    /// decay that finishes on its own.
    #[test]
    fn render_equals_tick_bit_for_bit_in_any_chunking() {
        let shapes = [
            AdsrShape::new(0.002, 0.01, 0.5, 0.02, SR),
            AdsrShape::new(0.0, 0.005, 0.0, 0.01, SR),
            AdsrShape::new(0.001, 0.003, 1.0, 0.004, SR),
        ];
        // (frame, action): 1 note-on, 2 note-off, 3 fade, 4 raise sustain.
        let script = [(0, 1), (700, 4), (1500, 2), (1900, 1), (2600, 3), (3000, 1), (4000, 2)];
        for shape in shapes {
            let act = |env: &mut Adsr, action: i32| match action {
                1 => env.note_on(),
                2 => env.note_off(),
                3 => env.fade_out(97),
                _ => env.set_shape(AdsrShape { sustain_level: 0.8, ..shape }),
            };
            let mut reference = Adsr::new(shape);
            let mut expected = Vec::new();
            for n in 0..6000 {
                for &(_, a) in script.iter().filter(|(f, _)| *f == n) {
                    act(&mut reference, a);
                }
                expected.push((reference.tick(), reference.stage()));
            }
            for chunk in [1usize, 3, 64, 500] {
                let mut env = Adsr::new(shape);
                let mut got = Vec::new();
                let mut n = 0;
                let mut buffer = vec![0.0; chunk];
                while n < 6000 {
                    for &(_, a) in script.iter().filter(|(f, _)| *f == n) {
                        act(&mut env, a);
                    }
                    let next = script.iter().map(|(f, _)| *f).find(|&f| f > n).unwrap_or(6000);
                    let len = chunk.min(next - n);
                    let written = env.render(&mut buffer[..len]);
                    assert!(written == len || env.is_idle(), "stopped early while not idle");
                    // Past the end of a finished envelope, `tick` would go on returning 0.
                    for (k, &level) in buffer[..written].iter().enumerate() {
                        let stage = if k + 1 == written { env.stage() } else { expected[n + k].1 };
                        got.push((level, stage));
                    }
                    for _ in written..len {
                        got.push((env.tick(), env.stage()));
                    }
                    n += len;
                }
                for (n, (g, e)) in got.iter().zip(&expected).enumerate() {
                    assert!(g.0.to_bits() == e.0.to_bits() && g.1 == e.1, "chunk {chunk} frame {n}: {g:?} != {e:?}");
                }
            }
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
