//! What a running backend tells the control side about itself: DSP load, xruns, voices, bus
//! levels, late MIDI. The audio thread writes atomics; anyone may read them at any time,
//! without locks and without disturbing it.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use noderack_graph::{BusSpec, ExecutorStatus};

/// How fast the published bus peaks fall back, in dB per second (a peak meter's return).
const PEAK_FALL_DB_PER_SECOND: f32 = 20.0;

/// The RMS meters' integration time in seconds: the mean square is an exponential average with
/// this time constant (a VU meter's 300 ms), so a steady tone reads steady.
const RMS_TIME_CONSTANT_SECONDS: f64 = 0.3;

/// Seconds of audio over which the load average and peak are gathered before being published.
const LOAD_WINDOW_SECONDS: f64 = 1.0;

/// An `f32` kept in an [`AtomicU32`] (non-negative values only, whose bit patterns order like
/// the numbers, so `fetch_max` works on them).
#[derive(Debug, Default)]
struct AtomicLevel(AtomicU32);

impl AtomicLevel {
    fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn set(&self, value: f32) {
        self.0.store(value.max(0.0).to_bits(), Ordering::Relaxed);
    }
    fn raise_to(&self, value: f32) {
        self.0.fetch_max(value.max(0.0).to_bits(), Ordering::Relaxed);
    }
}

/// The health of a live engine, shared between its audio thread (writer) and the control side
/// (readers).
#[derive(Debug)]
pub struct Health {
    buses: Vec<BusSpec>,
    executor: Arc<ExecutorStatus>,
    sample_rate: AtomicU32,
    block_frames: AtomicU32,
    latency_frames: AtomicU32,
    load_average: AtomicLevel,
    load_peak: AtomicLevel,
    load_peak_run: AtomicLevel,
    busy_nanos: AtomicU64,
    audio_nanos: AtomicU64,
    callbacks: AtomicU64,
    backend_xruns: AtomicU64,
    overruns: AtomicU64,
    late_midi: AtomicU64,
    dropped_midi: AtomicU64,
    dropped_recording_frames: AtomicU64,
    input_underruns: AtomicU64,
    peak_voices: AtomicU32,
    channel_peaks: Box<[AtomicLevel]>,
    channel_max: Box<[AtomicLevel]>,
    channel_rms: Box<[AtomicLevel]>,
    stopped: AtomicBool,
    stop_reason: Mutex<String>,
    sample_rate_change: AtomicU32,
    clock: SharedClock,
}

/// The audio thread's callback clock, published for the control side (to turn a wall-clock
/// time, an OSC bundle's time tag, into an engine frame): a sequence lock over three words, so
/// that the writer never waits and a reader never sees a torn line.
#[derive(Debug, Default)]
struct SharedClock {
    /// Odd while the audio thread writes.
    version: AtomicU64,
    frame: AtomicU64,
    micros: AtomicU64,
    micros_per_frame: AtomicU64,
}

impl Health {
    /// Health for an engine with output `buses` at `sample_rate`, whose executor publishes
    /// `executor`.
    pub fn new(buses: &[BusSpec], sample_rate: u32, executor: Arc<ExecutorStatus>) -> Self {
        let channels: usize = buses.iter().map(|b| b.channels as usize).sum();
        Self {
            buses: buses.to_vec(),
            executor,
            sample_rate: AtomicU32::new(sample_rate),
            block_frames: AtomicU32::new(0),
            latency_frames: AtomicU32::new(0),
            load_average: AtomicLevel::default(),
            load_peak: AtomicLevel::default(),
            load_peak_run: AtomicLevel::default(),
            busy_nanos: AtomicU64::new(0),
            audio_nanos: AtomicU64::new(0),
            callbacks: AtomicU64::new(0),
            backend_xruns: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            late_midi: AtomicU64::new(0),
            dropped_midi: AtomicU64::new(0),
            dropped_recording_frames: AtomicU64::new(0),
            input_underruns: AtomicU64::new(0),
            peak_voices: AtomicU32::new(0),
            channel_peaks: (0..channels).map(|_| AtomicLevel::default()).collect(),
            channel_max: (0..channels).map(|_| AtomicLevel::default()).collect(),
            channel_rms: (0..channels).map(|_| AtomicLevel::default()).collect(),
            stopped: AtomicBool::new(false),
            // Room for a reason, so that a backend's shutdown callback can write one without
            // allocating.
            stop_reason: Mutex::new(String::with_capacity(512)),
            sample_rate_change: AtomicU32::new(0),
            clock: SharedClock::default(),
        }
    }

    /// The engine frame that sounds at host time `micros` ([`super::clock::host_micros`]), on the
    /// audio thread's smoothed clock; `None` before the first callback.
    pub fn frame_at(&self, micros: u64) -> Option<f64> {
        let c = &self.clock;
        loop {
            let before = c.version.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            let frame = c.frame.load(Ordering::Acquire) as f64;
            let anchor = f64::from_bits(c.micros.load(Ordering::Acquire));
            let per_frame = f64::from_bits(c.micros_per_frame.load(Ordering::Acquire));
            std::sync::atomic::fence(Ordering::Acquire);
            if before.is_multiple_of(2) && c.version.load(Ordering::Acquire) == before {
                return Some(frame + (micros as f64 - anchor) / per_frame);
            }
            std::hint::spin_loop();
        }
    }

    /// The executor's counters (frames, voices, dropped events).
    pub fn executor(&self) -> &ExecutorStatus {
        &self.executor
    }

    /// Frames per second the engine runs at.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate.load(Ordering::Relaxed)
    }

    /// Records an xrun the backend reported (JACK's xrun callback, a sound card's underrun).
    pub fn backend_xrun(&self) {
        self.backend_xruns.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the buffer size the backend now uses.
    pub fn set_block_frames(&self, frames: usize) {
        self.block_frames.store(frames as u32, Ordering::Relaxed);
    }

    /// Records the latency the engine adds (its plan's compensation latency), for display.
    pub fn set_latency_frames(&self, frames: u32) {
        self.latency_frames.store(frames, Ordering::Relaxed);
    }

    /// Records that the backend stopped for good (JACK server gone, device unplugged), with the
    /// reason given in `reason`'s parts (joined). Safe to call from a backend's notification
    /// thread: it never allocates (the reason is cut at 512 bytes) and never blocks (a reason
    /// that cannot be written at once is dropped; the flag is set all the same).
    pub fn stop(&self, reason: &[&str]) {
        if let Ok(mut text) = self.stop_reason.try_lock() {
            if text.is_empty() {
                for part in reason {
                    let mut end = part.len().min(text.capacity() - text.len());
                    while !part.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.push_str(&part[..end]);
                }
            }
        }
        self.stopped.store(true, Ordering::Release);
    }

    /// Why the backend stopped, if it did.
    pub fn stopped(&self) -> Option<String> {
        if !self.stopped.load(Ordering::Acquire) {
            return None;
        }
        let reason = self.stop_reason.lock().map(|r| r.clone()).unwrap_or_default();
        Some(if reason.is_empty() { "the audio backend stopped".to_string() } else { reason })
    }

    /// Records that the backend now runs at `sample_rate` (JACK's sample-rate callback): the
    /// engine must be rebuilt at that rate.
    pub fn request_sample_rate(&self, sample_rate: u32) {
        self.sample_rate_change.store(sample_rate, Ordering::Release);
    }

    /// The sample rate the backend switched to, if it differs from the engine's (taken: the
    /// next call returns `None` until the next change).
    pub fn take_sample_rate_change(&self) -> Option<u32> {
        let rate = self.sample_rate_change.swap(0, Ordering::AcqRel);
        (rate != 0 && rate != self.sample_rate.load(Ordering::Relaxed)).then_some(rate)
    }

    /// A snapshot for display.
    pub fn report(&self) -> HealthReport {
        let busy = self.busy_nanos.load(Ordering::Relaxed);
        let audio = self.audio_nanos.load(Ordering::Relaxed);
        let bus_levels = |levels: &[AtomicLevel]| {
            let mut first = 0;
            self.buses
                .iter()
                .map(|bus| {
                    let channels = &levels[first..first + bus.channels as usize];
                    first += bus.channels as usize;
                    (bus.name.clone(), channels.iter().map(AtomicLevel::get).fold(0.0, f32::max))
                })
                .collect()
        };
        HealthReport {
            sample_rate: self.sample_rate.load(Ordering::Relaxed),
            block_frames: self.block_frames.load(Ordering::Relaxed),
            latency_frames: self.latency_frames.load(Ordering::Relaxed),
            frames: self.executor.frames(),
            callbacks: self.callbacks.load(Ordering::Relaxed),
            load_average: self.load_average.get(),
            load_peak: self.load_peak.get(),
            load_run_average: if audio > 0 { busy as f32 / audio as f32 } else { 0.0 },
            load_run_peak: self.load_peak_run.get(),
            backend_xruns: self.backend_xruns.load(Ordering::Relaxed),
            overruns: self.overruns.load(Ordering::Relaxed),
            voices: self.executor.active_voices(),
            peak_voices: self.peak_voices.load(Ordering::Relaxed),
            late_midi: self.late_midi.load(Ordering::Relaxed),
            dropped_midi: self.dropped_midi.load(Ordering::Relaxed),
            dropped_events: self.executor.dropped_events(),
            dropped_recording_frames: self.dropped_recording_frames.load(Ordering::Relaxed),
            input_underruns: self.input_underruns.load(Ordering::Relaxed),
            bus_peaks: bus_levels(&self.channel_peaks),
            bus_max: bus_levels(&self.channel_max),
            bus_rms: bus_levels(&self.channel_rms),
        }
    }

    pub(crate) fn midi_late(&self) {
        self.late_midi.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn midi_dropped(&self, count: u64) {
        self.dropped_midi.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn recording_dropped(&self, frames: u64) {
        self.dropped_recording_frames.fetch_add(frames, Ordering::Relaxed);
    }

    pub(crate) fn input_underrun(&self) {
        self.input_underruns.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of [`Health`].
#[derive(Clone, Debug, PartialEq)]
pub struct HealthReport {
    /// Frames per second.
    pub sample_rate: u32,
    /// Frames of the latest callback.
    pub block_frames: u32,
    /// Latency the engine adds (latency compensation), in frames.
    pub latency_frames: u32,
    /// Frames rendered since the engine started.
    pub frames: u64,
    /// Callbacks run.
    pub callbacks: u64,
    /// DSP load over the last second: time spent rendering / time the audio lasted (1.0 =
    /// the whole deadline).
    pub load_average: f32,
    /// Highest single-callback load over the last second.
    pub load_peak: f32,
    /// DSP load over the whole run.
    pub load_run_average: f32,
    /// Highest single-callback load of the whole run.
    pub load_run_peak: f32,
    /// Xruns the backend reported.
    pub backend_xruns: u64,
    /// Callbacks that took longer than their deadline (our own overruns).
    pub overruns: u64,
    /// Voices sounding.
    pub voices: u32,
    /// Most voices sounding at once.
    pub peak_voices: u32,
    /// MIDI events that arrived too late for their frame and were played at the block start.
    pub late_midi: u64,
    /// MIDI events lost because a queue was full.
    pub dropped_midi: u64,
    /// Events the engine dropped (event buffers full).
    pub dropped_events: u64,
    /// Frames a recording lost because its writer fell behind.
    pub dropped_recording_frames: u64,
    /// Blocks whose live input was not there in time (played as silence).
    pub input_underruns: u64,
    /// Each bus's peak level (linear, falling back at 20 dB/s), in bus order.
    pub bus_peaks: Vec<(String, f32)>,
    /// Each bus's highest level of the run.
    pub bus_max: Vec<(String, f32)>,
    /// Each bus's RMS level (linear, averaged over about 300 ms; its loudest channel's), in bus
    /// order: how loud it sounds, where the peak says how close it comes to clipping.
    pub bus_rms: Vec<(String, f32)>,
}

impl HealthReport {
    /// Xruns of any kind.
    pub fn xruns(&self) -> u64 {
        self.backend_xruns + self.overruns
    }

    /// The one-line live status: load, xruns, voices, peak per bus.
    pub fn status_line(&self) -> String {
        let mut line = format!(
            "load {:4.1}% (peak {:4.1}%) · xruns {} · voices {:3}",
            self.load_average * 100.0,
            self.load_peak * 100.0,
            self.xruns(),
            self.voices
        );
        for (bus, peak) in &self.bus_peaks {
            line.push_str(&format!(" · {bus} {}", level_db(*peak)));
        }
        line
    }
}

/// A linear level in dBFS, as shown to people (`-inf` for silence).
pub fn level_db(level: f32) -> String {
    if level <= 1e-6 {
        "  -inf dB".to_string()
    } else {
        format!("{:5.1} dB", 20.0 * level.log10())
    }
}

/// The audio thread's side of [`Health`]: accumulates per-callback figures and publishes them.
/// Live backends own one in their driver; the CLAP plugin owns one in its processor. Nothing in
/// it allocates, frees or locks after [`HealthWriter::new`].
pub struct HealthWriter {
    health: Arc<Health>,
    window_busy_seconds: f64,
    window_audio_seconds: f64,
    window_peak: f32,
    /// Each channel's running mean square (the RMS meters' state).
    mean_squares: Box<[f64]>,
}

impl HealthWriter {
    /// The writer of `health` (one per audio thread).
    pub fn new(health: Arc<Health>) -> Self {
        let mean_squares = vec![0.0; health.channel_rms.len()].into_boxed_slice();
        Self { health, window_busy_seconds: 0.0, window_audio_seconds: 0.0, window_peak: 0.0, mean_squares }
    }

    pub(crate) fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Records one callback that rendered `frames` frames at `sample_rate` in `busy`.
    pub fn callback(&mut self, busy: Duration, frames: usize, sample_rate: f64) {
        let h = &*self.health;
        let audio_seconds = frames as f64 / sample_rate;
        let busy_seconds = busy.as_secs_f64();
        let load = if audio_seconds > 0.0 { (busy_seconds / audio_seconds) as f32 } else { 0.0 };
        if load > 1.0 {
            h.overruns.fetch_add(1, Ordering::Relaxed);
        }
        h.callbacks.fetch_add(1, Ordering::Relaxed);
        h.busy_nanos.fetch_add(busy.as_nanos() as u64, Ordering::Relaxed);
        h.audio_nanos.fetch_add((audio_seconds * 1e9) as u64, Ordering::Relaxed);
        h.load_peak_run.raise_to(load);
        h.peak_voices.fetch_max(h.executor.active_voices(), Ordering::Relaxed);
        h.block_frames.store(frames as u32, Ordering::Relaxed);
        self.window_busy_seconds += busy_seconds;
        self.window_audio_seconds += audio_seconds;
        self.window_peak = self.window_peak.max(load);
        if self.window_audio_seconds >= LOAD_WINDOW_SECONDS {
            h.load_average.set((self.window_busy_seconds / self.window_audio_seconds) as f32);
            h.load_peak.set(self.window_peak);
            self.window_busy_seconds = 0.0;
            self.window_audio_seconds = 0.0;
            self.window_peak = 0.0;
        }
    }

    /// Publishes the callback clock's line.
    pub(crate) fn clock(&mut self, clock: &super::clock::CallbackClock) {
        let (frame, micros, per_frame) = clock.line();
        let c = &self.health.clock;
        let version = c.version.load(Ordering::Relaxed);
        c.version.store(version + 1, Ordering::Release);
        c.frame.store(frame, Ordering::Release);
        c.micros.store(micros.to_bits(), Ordering::Release);
        c.micros_per_frame.store(per_frame.to_bits(), Ordering::Release);
        c.version.store(version + 2, Ordering::Release);
    }

    /// Records the block just rendered into `outputs` (one slice per channel) in the meters.
    pub fn levels(&mut self, outputs: &[&mut [f32]], frames: usize, sample_rate: f64) {
        let h = &*self.health;
        let block_seconds = frames as f64 / sample_rate;
        let fall = 10f32.powf(-PEAK_FALL_DB_PER_SECOND / 20.0 * block_seconds as f32);
        // The exponential average's weight for the older mean square after this block, exact for
        // any block length (so the meter reads the same at any buffer size).
        let keep = (-block_seconds / RMS_TIME_CONSTANT_SECONDS).exp();
        let meters = h.channel_peaks.iter().zip(h.channel_max.iter()).zip(h.channel_rms.iter());
        for ((out, ((meter, max), rms)), mean_square) in outputs.iter().zip(meters).zip(self.mean_squares.iter_mut()) {
            let block = &out[..frames.min(out.len())];
            let (peak, squares) =
                block.iter().fold((0.0f32, 0.0f64), |(m, sum), &s| (m.max(s.abs()), sum + f64::from(s) * f64::from(s)));
            let peak = if peak.is_finite() { peak } else { f32::MAX };
            meter.set(peak.max(meter.get() * fall));
            max.raise_to(peak);
            if !block.is_empty() {
                let block_mean = if squares.is_finite() { squares / block.len() as f64 } else { f64::from(f32::MAX) };
                *mean_square = keep * *mean_square + (1.0 - keep) * block_mean;
                rms.set(mean_square.sqrt() as f32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Arc<Health> {
        let buses = [BusSpec::stereo("main"), BusSpec { name: "drums".into(), channels: 1 }];
        Arc::new(Health::new(&buses, 48_000, Arc::new(ExecutorStatus::default())))
    }

    #[test]
    fn load_is_published_per_second_with_its_peak_and_overruns_are_counted() {
        let h = health();
        let mut w = HealthWriter::new(h.clone());
        // 256 frames at 48 kHz = 5.33 ms. 186 callbacks at 25 % load, one at 150 %.
        for i in 0..188 {
            let busy = if i == 100 { 8_000_000 } else { 1_333_333 };
            w.callback(Duration::from_nanos(busy), 256, 48_000.0);
        }
        let r = h.report();
        assert!((r.load_peak - 1.5).abs() < 0.01, "{r:?}");
        assert!(r.load_average > 0.25 && r.load_average < 0.27, "{r:?}");
        assert_eq!(r.overruns, 1);
        assert_eq!(r.callbacks, 188);
    }

    #[test]
    fn bus_peaks_hold_then_fall_at_twenty_db_per_second() {
        let h = health();
        let mut w = HealthWriter::new(h.clone());
        let (mut l, mut r, mut d) = (vec![0.0f32; 480], vec![0.0f32; 480], vec![0.0f32; 480]);
        l[10] = -0.5;
        d[3] = 0.25;
        w.levels(&[&mut l[..], &mut r[..], &mut d[..]], 480, 48_000.0);
        let first = h.report();
        assert_eq!(first.bus_peaks, vec![("main".into(), 0.5), ("drums".into(), 0.25)]);
        // One second of silence later: 20 dB lower, the run maximum unchanged.
        l[10] = 0.0;
        d[3] = 0.0;
        for _ in 0..100 {
            w.levels(&[&mut l[..], &mut r[..], &mut d[..]], 480, 48_000.0);
        }
        let later = h.report();
        assert!((later.bus_peaks[0].1 - 0.05).abs() < 1e-3, "{later:?}");
        assert_eq!(later.bus_max[0].1, 0.5);
    }

    #[test]
    fn rms_meters_read_a_sines_rms_at_any_block_size_and_fall_over_300_ms() {
        // A 0.5-amplitude 1 kHz sine on the left channel has an RMS of 0.5 / sqrt 2 = 0.354;
        // the drums bus gets half of it. Two seconds settle the 300 ms average.
        for frames in [64usize, 256, 1000] {
            let h = health();
            let mut w = HealthWriter::new(h.clone());
            let (mut l, mut r, mut d) = (vec![0.0f32; frames], vec![0.0f32; frames], vec![0.0f32; frames]);
            let mut t = 0usize;
            while t < 96_000 {
                for i in 0..frames {
                    let x = 0.5 * (std::f64::consts::TAU * 1_000.0 * (t + i) as f64 / 48_000.0).sin() as f32;
                    (l[i], d[i]) = (x, x * 0.5);
                }
                w.levels(&[&mut l[..], &mut r[..], &mut d[..]], frames, 48_000.0);
                t += frames;
            }
            let settled = h.report();
            let expected = 0.5 / std::f32::consts::SQRT_2;
            assert!((settled.bus_rms[0].1 - expected).abs() < 0.002, "{frames} frames: {settled:?}");
            assert!((settled.bus_rms[1].1 - expected / 2.0).abs() < 0.001, "{frames} frames: {settled:?}");
            assert!((settled.bus_peaks[0].1 - 0.5).abs() < 1e-3, "{settled:?}");
            // 300 ms of silence: the mean square falls by e, the RMS by sqrt e.
            l.fill(0.0);
            d.fill(0.0);
            for _ in 0..14_400 / frames {
                w.levels(&[&mut l[..], &mut r[..], &mut d[..]], frames, 48_000.0);
            }
            let done = (14_400 / frames * frames) as f64 / 48_000.0;
            let expected_after = expected as f64 * (-done / 0.3 / 2.0).exp();
            let after = h.report().bus_rms[0].1 as f64;
            assert!((after - expected_after).abs() < 0.002, "{frames} frames: {after} against {expected_after}");
        }
    }

    #[test]
    fn the_published_clock_maps_host_time_to_frames() {
        let h = health();
        let mut w = HealthWriter::new(h.clone());
        assert_eq!(h.frame_at(1_000), None, "no callback yet");
        let mut clock = crate::live::clock::CallbackClock::new(48_000.0);
        clock.callback(96_000, 2_000_000, 256);
        w.clock(&clock);
        // 10 ms after the anchor: 480 frames later.
        let frame = h.frame_at(2_010_000).unwrap();
        assert!((frame - 96_480.0).abs() < 1e-6, "{frame}");
    }

    #[test]
    fn a_stop_reason_is_kept() {
        let h = health();
        assert_eq!(h.stopped(), None);
        h.stop(&["JACK server shut down: ", "killed"]);
        h.stop(&["a second reason does not replace the first"]);
        assert_eq!(h.stopped().as_deref(), Some("JACK server shut down: killed"));
    }
}
