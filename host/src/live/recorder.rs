//! Recording what a live engine plays to a WAV file (`noderack play --record`): the audio
//! thread copies each block into a lock-free ring; a writer thread drains it to disk. A writer
//! that falls behind loses frames (counted), never stalls the audio.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::health::Health;
use crate::{WavError, WavFormat, WavReport, WavStream};

/// Seconds of audio the ring between the audio thread and the writer holds.
const RING_SECONDS: usize = 4;

/// How often the writer wakes up to drain the ring.
const WRITER_PERIOD: Duration = Duration::from_millis(20);

/// The audio thread's end of a recording.
pub struct Tap {
    producer: rtrb::Producer<f32>,
    channels: usize,
}

impl Tap {
    /// Copies `frames` frames of `outputs` (one slice per channel) into the ring, interleaved;
    /// if they do not fit, they are dropped and counted in `health`.
    pub(crate) fn push(&mut self, outputs: &[&mut [f32]], frames: usize, health: &Health) {
        let channels = self.channels;
        let frames = outputs.iter().map(|c| c.len()).fold(frames, usize::min);
        match self.producer.write_chunk_uninit(frames * channels) {
            Ok(chunk) => {
                let samples =
                    (0..frames).flat_map(|i| (0..channels).map(move |c| (i, c))).map(|(i, c)| match outputs.get(c) {
                        Some(out) => out[i],
                        None => 0.0,
                    });
                chunk.fill_from_iter(samples);
            }
            Err(_) => health.recording_dropped(frames as u64),
        }
    }
}

/// The writer thread of a recording.
pub struct Recorder {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<WavReport, WavError>>,
}

/// Starts recording `channels` channels at `sample_rate` to a 32-bit float WAV at `path`.
pub fn record(path: &Path, channels: usize, sample_rate: u32) -> Result<(Recorder, Tap), WavError> {
    let mut wav = WavStream::create(path, channels, sample_rate, WavFormat::F32)?;
    let (producer, mut consumer) = rtrb::RingBuffer::new(sample_rate as usize * RING_SECONDS * channels.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("noderack-recorder".into())
        .spawn(move || {
            let mut planar: Vec<Vec<f32>> = vec![Vec::new(); channels];
            loop {
                let last = stopping.load(Ordering::Acquire);
                let available = consumer.slots() / channels.max(1) * channels;
                if available > 0 {
                    let chunk = consumer.read_chunk(available).expect("slots() said they are there");
                    for p in planar.iter_mut() {
                        p.clear();
                    }
                    let (a, b) = chunk.as_slices();
                    for (i, s) in a.iter().chain(b).enumerate() {
                        planar[i % channels].push(*s);
                    }
                    chunk.commit_all();
                    let views: Vec<&[f32]> = planar.iter().map(Vec::as_slice).collect();
                    wav.write(&views)?;
                } else if last {
                    return wav.finish();
                } else {
                    std::thread::sleep(WRITER_PERIOD);
                }
            }
        })
        .map_err(|e| WavError { path: path.to_path_buf(), source: hound::Error::IoError(e) })?;
    Ok((Recorder { stop, thread }, Tap { producer, channels }))
}

impl Recorder {
    /// Writes what is left and closes the file (call after the audio has stopped).
    pub fn finish(self, path: &Path) -> Result<WavReport, WavError> {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or_else(|_| {
            let source = hound::Error::IoError(std::io::Error::other("the recording thread panicked"));
            Err(WavError { path: path.to_path_buf(), source })
        })
    }
}
