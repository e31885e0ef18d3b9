//! The `null` backend: no device, paced by the wall clock. For headless servers (the control
//! server with nobody listening, a render farm feeding `--record`) and for tests: it runs the
//! very callback a sound card would, on its own thread, at the speed of real time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::channels::ChannelLists;
use super::driver::guarded;
use super::{AudioDriver, Layout, LiveError, OpenBackend, RunningBackend};

/// A wall-clock-paced backend, before it starts.
pub struct NullBackend {
    sample_rate: u32,
    block_frames: usize,
    layout: Layout,
}

impl NullBackend {
    /// A backend rendering blocks of `block_frames` at `sample_rate` for `layout`.
    pub fn new(sample_rate: u32, block_frames: usize, layout: Layout) -> Self {
        Self { sample_rate, block_frames: block_frames.max(1), layout }
    }
}

impl OpenBackend for NullBackend {
    fn describe(&self) -> String {
        format!(
            "null (no device, {} Hz, {}-frame blocks, paced by the wall clock)",
            self.sample_rate, self.block_frames
        )
    }
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    fn block_frames(&self) -> usize {
        self.block_frames
    }
    fn start(self: Box<Self>, driver: AudioDriver) -> Result<Box<dyn RunningBackend>, LiveError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let description = self.describe();
        let (sample_rate, block_frames) = (self.sample_rate, self.block_frames);
        let (outputs, inputs) = (self.layout.output_channels(), self.layout.input_channels());
        let thread = std::thread::Builder::new()
            .name("noderack-audio".into())
            .spawn(move || run(driver, sample_rate, block_frames, outputs, inputs, &stopping))
            .map_err(|e| LiveError::Backend(format!("null: cannot start the audio thread: {e}")))?;
        Ok(Box::new(RunningNull { stop, thread, description }))
    }
}

/// The audio thread: render a block, then sleep until the wall clock reaches its end. A thread
/// that wakes more than a block late counts an xrun and starts a new schedule from now (as a
/// sound card that underran would).
fn run(
    mut driver: AudioDriver,
    sample_rate: u32,
    block_frames: usize,
    outputs: usize,
    inputs: usize,
    stop: &AtomicBool,
) -> AudioDriver {
    let mut out_buffers = vec![vec![0.0f32; block_frames]; outputs];
    let in_buffers = vec![vec![0.0f32; block_frames]; inputs];
    let mut lists = ChannelLists::new(outputs, inputs);
    let block = Duration::from_secs_f64(block_frames as f64 / sample_rate as f64);
    driver.health().set_block_frames(block_frames);
    let mut next = Instant::now();
    while !stop.load(Ordering::Acquire) {
        guarded(driver.guard(), || {
            let outs = out_buffers.iter_mut().map(Vec::as_mut_slice);
            lists.with(outs, in_buffers.iter().map(Vec::as_slice), |outs, ins| {
                driver.process(block_frames, outs, ins, |_| {});
            });
        });
        next += block;
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        } else if now - next > block {
            driver.health().backend_xrun();
            next = now;
        }
    }
    driver
}

/// The null backend while it runs.
struct RunningNull {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<AudioDriver>,
    description: String,
}

impl RunningBackend for RunningNull {
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn stop(self: Box<Self>) -> Option<AudioDriver> {
        self.stop.store(true, Ordering::Release);
        self.thread.join().ok()
    }
}
