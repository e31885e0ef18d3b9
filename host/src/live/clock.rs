//! Time on the live path. Backends that give frames (JACK MIDI, MIDI files) need no clock; MIDI
//! that arrives with a wall-clock time (midir, a JACK MIDI client feeding a sound-card backend)
//! is placed inside the block by mapping that time onto engine frames through a smoothed model
//! of when each audio callback started, so that a note played 3 ms after another sounds 3 ms
//! after it instead of both landing on the next block boundary.

use std::sync::OnceLock;
use std::time::Instant;

/// Microseconds on the host's monotonic clock since the first call in this process (the
/// clock every live component stamps MIDI with). Reads the vDSO clock: no system call.
pub fn host_micros() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Bandwidth of the callback clock's loop: low enough to average out scheduling jitter of a
/// few hundred microseconds, high enough to follow a sound card's drift within seconds.
const LOOP_BANDWIDTH_HZ: f64 = 1.0;

/// A jump larger than this between the predicted and the measured start of a callback (an
/// xrun, a stalled thread, a device restart) resets the model instead of bending it.
const RESET_PERIODS: f64 = 8.0;

/// A delay-locked loop (second order, the scheme JACK uses for its own clock) that turns the
/// jittery wall-clock times at which callbacks start into a smooth line: engine frame ↔ host
/// microseconds. Runs on the audio thread: plain arithmetic, no allocation.
#[derive(Clone, Debug)]
pub struct CallbackClock {
    sample_rate: f64,
    /// Frame the model is anchored at (the start of the latest callback).
    anchor_frame: u64,
    /// Smoothed host time of `anchor_frame`, in microseconds.
    anchor_micros: f64,
    /// Smoothed length of one frame, in microseconds.
    micros_per_frame: f64,
    started: bool,
}

impl CallbackClock {
    /// A clock for a stream at `sample_rate` frames per second.
    pub fn new(sample_rate: f64) -> Self {
        Self { sample_rate, anchor_frame: 0, anchor_micros: 0.0, micros_per_frame: 1e6 / sample_rate, started: false }
    }

    /// Feeds the start of a callback: engine frame `frame` began at host time `micros`; the
    /// previous callback was `frames` long.
    pub fn callback(&mut self, frame: u64, micros: u64, frames: usize) {
        let measured = micros as f64;
        let nominal = 1e6 / self.sample_rate;
        if !self.started {
            self.reset(frame, measured, nominal);
            return;
        }
        let predicted = self.anchor_micros + (frame as f64 - self.anchor_frame as f64) * self.micros_per_frame;
        let error = measured - predicted;
        let period_micros = frames.max(1) as f64 * nominal;
        if error.abs() > RESET_PERIODS * period_micros {
            self.reset(frame, measured, nominal);
            return;
        }
        let omega = 2.0 * std::f64::consts::PI * LOOP_BANDWIDTH_HZ * period_micros * 1e-6;
        let (b, c) = (std::f64::consts::SQRT_2 * omega, omega * omega);
        self.anchor_frame = frame;
        self.anchor_micros = predicted + b * error;
        // The rate term, per frame; kept within ±1 % of nominal (no real clock is further off).
        self.micros_per_frame =
            (self.micros_per_frame + c * error / frames.max(1) as f64).clamp(nominal * 0.99, nominal * 1.01);
    }

    fn reset(&mut self, frame: u64, micros: f64, nominal: f64) {
        self.anchor_frame = frame;
        self.anchor_micros = micros;
        self.micros_per_frame = nominal;
        self.started = true;
    }

    /// The engine frame (fractional) at host time `micros`, on the smoothed line.
    pub fn frame_at(&self, micros: u64) -> f64 {
        self.anchor_frame as f64 + (micros as f64 - self.anchor_micros) / self.micros_per_frame
    }

    /// The line as (anchor frame, its host time in µs, µs per frame), for publishing.
    pub fn line(&self) -> (u64, f64, f64) {
        (self.anchor_frame, self.anchor_micros, self.micros_per_frame)
    }

    /// Whether at least one callback has been seen.
    pub fn is_running(&self) -> bool {
        self.started
    }
}

/// Ppm by which the offset estimate may rise per elapsed microsecond, so that a source clock
/// running slower than ours is followed (100 ppm: far above any real drift).
const DRIFT_ALLOWANCE: f64 = 100e-6;

/// Maps a MIDI source's own timestamps (midir's microseconds, counted from when its connection
/// opened; JACK's microseconds) onto [`host_micros`]. The offset between the two clocks is the
/// smallest (host time of arrival − source stamp) seen: messages reach us after they were
/// stamped, never before, so the least-delayed one bounds the offset best. The estimate may
/// creep up slowly to follow drift.
#[derive(Clone, Debug, Default)]
pub struct StampMapper {
    offset_micros: Option<f64>,
    last_arrival: u64,
}

impl StampMapper {
    /// A mapper that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The host time of a message stamped `stamp_micros` by its source that reached us at
    /// host time `arrival_micros`.
    pub fn map(&mut self, stamp_micros: u64, arrival_micros: u64) -> u64 {
        let observed = arrival_micros as f64 - stamp_micros as f64;
        let elapsed = arrival_micros.saturating_sub(self.last_arrival) as f64;
        self.last_arrival = arrival_micros;
        let offset = match self.offset_micros {
            None => observed,
            Some(offset) => (offset + elapsed * DRIFT_ALLOWANCE).min(observed),
        };
        self.offset_micros = Some(offset);
        (stamp_micros as f64 + offset).max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random jitter in `0..amplitude` microseconds.
    fn jitter(i: u64, amplitude: f64) -> f64 {
        let x = (i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33) as f64;
        (x / (1u64 << 31) as f64) * amplitude
    }

    #[test]
    fn jittery_callbacks_give_a_line_within_a_few_microseconds() {
        let rate = 48_000.0;
        let mut clock = CallbackClock::new(rate);
        let frames = 256u64;
        let period = frames as f64 * 1e6 / rate;
        // Callbacks woken up to 500 µs late; the true line is frame·period.
        for k in 0..4000u64 {
            let true_start = 1_000_000.0 + k as f64 * period;
            clock.callback(k * frames, (true_start + jitter(k, 500.0)) as u64, frames as usize);
        }
        // After settling, a time maps to its frame within a few frames although each callback
        // was up to 500 µs (24 frames) off. The mean delay (250 µs) remains as a constant.
        let k = 4000u64;
        let t = 1_000_000.0 + k as f64 * period + 250.0;
        let error_frames = clock.frame_at(t as u64) - (k * frames) as f64;
        assert!(error_frames.abs() < 3.0, "maps {error_frames:.2} frames off the true line");
    }

    #[test]
    fn clock_follows_a_device_running_fast() {
        let rate = 48_000.0;
        let mut clock = CallbackClock::new(rate);
        let frames = 128u64;
        // The device runs 0.1 % fast: each period is 0.1 % shorter than nominal.
        let period = frames as f64 * 1e6 / rate / 1.001;
        for k in 0..20_000u64 {
            clock.callback(k * frames, (k as f64 * period) as u64, frames as usize);
        }
        let k = 20_000u64;
        let error_frames = clock.frame_at((k as f64 * period) as u64) - (k * frames) as f64;
        assert!(error_frames.abs() < 1.0, "drift not followed: {error_frames:.2} frames");
    }

    #[test]
    fn a_stall_resets_the_model() {
        let mut clock = CallbackClock::new(48_000.0);
        for k in 0..100u64 {
            clock.callback(k * 64, k * 1333, 64);
        }
        // The thread stalled for a second: the next callback starts the line anew.
        clock.callback(100 * 64, 100 * 1333 + 1_000_000, 64);
        let frame = clock.frame_at(100 * 1333 + 1_000_000);
        assert!((frame - 6400.0).abs() < 0.5, "{frame}");
    }

    #[test]
    fn stamps_map_through_the_least_delayed_message() {
        let mut mapper = StampMapper::new();
        // Source clock = host clock − 5 s; delivery delays vary from 200 µs to 2 ms.
        let delays = [2000u64, 900, 200, 1500, 700];
        let mut mapped = Vec::new();
        for (i, delay) in delays.iter().enumerate() {
            let host_time = 10_000_000 + i as u64 * 10_000;
            mapped.push(mapper.map(host_time - 5_000_000, host_time + delay) as i64 - host_time as i64);
        }
        // Once the 200 µs message is seen, later ones map within 200 µs (plus drift allowance)
        // of their true time, whatever their own delivery delay.
        assert!(mapped[3] >= 0 && mapped[3] <= 205, "{mapped:?}");
        assert!(mapped[4] >= 0 && mapped[4] <= 205, "{mapped:?}");
        assert_eq!(mapped[0], 2000, "the first message can only be taken at its arrival");
    }
}
