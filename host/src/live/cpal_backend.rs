//! The cpal backend: a sound card through cpal, on its ALSA host (or its JACK host). The
//! output device is chosen by name, the sample rate and buffer size negotiated within what the
//! device supports; when the patch has input buses, the device's input is opened too and fed
//! to `audio-in` nodes through a lock-free ring (a few blocks of latency, underruns counted).

use std::sync::Arc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, ErrorKind, HostId, SampleFormat, StreamConfig, SupportedBufferSize};

use super::channels::ChannelLists;
use super::driver::guarded;
use super::health::Health;
use super::{
    AudioDriver, Layout, LiveError, LiveOptions, OpenBackend, RunningBackend, DEFAULT_BLOCK_FRAMES, DEFAULT_SAMPLE_RATE,
};

/// Frames rendered per engine call when the device asks for more at once (scratch size).
const MAX_CALL_FRAMES: usize = 4096;

/// Blocks of live input the input ring holds before old input is skipped (bounds latency).
const INPUT_RING_BLOCKS: usize = 8;

/// A device's display name and id (`alsa:default`, `jack:output`).
pub fn device_label(device: &cpal::Device) -> (String, String) {
    let name = device.description().map(|d| d.name().to_string()).unwrap_or_else(|_| "?".into());
    let id = device.id().map(|id| id.to_string()).unwrap_or_default();
    (name, id)
}

/// Whether `device` answers to `pattern` (part of its name or id, case-insensitive).
fn answers_to(device: &cpal::Device, pattern: &str) -> bool {
    let (name, id) = device_label(device);
    let pattern = pattern.to_lowercase();
    name.to_lowercase().contains(&pattern) || id.to_lowercase().contains(&pattern)
}

/// The hosts to try for a device pattern: `jack:`/`alsa:` prefixes pick one, otherwise ALSA
/// (the sound card) then JACK.
fn hosts_for(pattern: Option<&str>) -> (Vec<HostId>, Option<String>) {
    let available = cpal::available_hosts();
    let find = |name: &str| available.iter().copied().find(|h| h.name().eq_ignore_ascii_case(name));
    if let Some(p) = pattern {
        for (prefix, host) in [("jack:", "JACK"), ("alsa:", "ALSA")] {
            if let Some(rest) = p.strip_prefix(prefix) {
                let rest = (!rest.is_empty()).then(|| rest.to_string());
                return (find(host).into_iter().collect(), rest);
            }
        }
    }
    (["ALSA", "JACK"].iter().filter_map(|h| find(h)).collect(), pattern.map(str::to_string))
}

/// The stream configuration closest to what is wanted that `supported` offers, in f32.
fn negotiate(
    supported: impl Iterator<Item = cpal::SupportedStreamConfigRange>,
    channels: u16,
    sample_rate: u32,
    block_frames: usize,
) -> Result<StreamConfig, String> {
    let ranges: Vec<_> = supported.filter(|r| r.sample_format() == SampleFormat::F32).collect();
    if ranges.is_empty() {
        return Err("the device offers no 32-bit float format".into());
    }
    let rated: Vec<_> = ranges.iter().filter(|r| r.contains_rate(sample_rate)).collect();
    let (range, rate) =
        match rated.iter().find(|r| r.channels() == channels).or_else(|| rated.iter().max_by_key(|r| r.channels())) {
            Some(r) => (*r, sample_rate),
            None => {
                let r = ranges.iter().max_by_key(|r| r.max_sample_rate()).expect("not empty");
                let rate = if r.contains_rate(DEFAULT_SAMPLE_RATE) { DEFAULT_SAMPLE_RATE } else { r.max_sample_rate() };
                (r, rate)
            }
        };
    let buffer_size = match *range.buffer_size() {
        SupportedBufferSize::Range { min, max } => BufferSize::Fixed((block_frames as u32).clamp(min, max)),
        SupportedBufferSize::Unknown => BufferSize::Fixed(block_frames as u32),
    };
    Ok(StreamConfig { channels: range.channels(), sample_rate: rate, buffer_size })
}

/// An output (and maybe input) device chosen and configured, not yet streaming.
pub struct CpalBackend {
    host: HostId,
    output: cpal::Device,
    config: StreamConfig,
    input: Option<(cpal::Device, StreamConfig)>,
    layout: Layout,
}

impl CpalBackend {
    /// Finds the device `options` names (or the host's default output) on cpal's hosts and
    /// negotiates a configuration. On failure, says per host what went wrong.
    pub fn open(options: &LiveOptions, layout: &Layout) -> Result<Self, Vec<(String, String)>> {
        let (hosts, pattern) = hosts_for(options.device.as_deref());
        let mut attempts = Vec::new();
        if hosts.is_empty() {
            attempts.push(("cpal".to_string(), "no audio host of that name is compiled in".to_string()));
        }
        for host_id in hosts {
            let what = format!("cpal/{}", host_id.name());
            match Self::open_on(host_id, pattern.as_deref(), options, layout) {
                Ok(backend) => return Ok(backend),
                Err(why) => attempts.push((what, why)),
            }
        }
        Err(attempts)
    }

    fn open_on(host_id: HostId, pattern: Option<&str>, options: &LiveOptions, layout: &Layout) -> Result<Self, String> {
        let host = cpal::host_from_id(host_id).map_err(|e| e.to_string())?;
        let output = match pattern {
            Some(p) => {
                let devices = host.output_devices().map_err(|e| e.to_string())?;
                let devices: Vec<cpal::Device> = devices.collect();
                let names: Vec<String> = devices.iter().map(|d| device_label(d).0).collect();
                devices.into_iter().find(|d| answers_to(d, p)).ok_or_else(|| {
                    format!(
                        "no output device matches \"{p}\" (devices: {})",
                        if names.is_empty() { "none".into() } else { names.join(", ") }
                    )
                })?
            }
            None => host.default_output_device().ok_or("no default output device")?,
        };
        let wanted_channels = layout.output_channels().max(1) as u16;
        let rate = options.sample_rate.unwrap_or(DEFAULT_SAMPLE_RATE);
        let block = options.block_frames.unwrap_or(DEFAULT_BLOCK_FRAMES);
        let supported = output.supported_output_configs().map_err(|e| format!("{}: {e}", device_label(&output).0))?;
        let config = negotiate(supported, wanted_channels, rate, block)?;
        let input = if layout.input_channels() > 0 {
            let device =
                host.default_input_device().ok_or("the patch has input buses, but there is no input device")?;
            let supported =
                device.supported_input_configs().map_err(|e| format!("{}: {e}", device_label(&device).0))?;
            let block = match config.buffer_size {
                BufferSize::Fixed(n) => n as usize,
                BufferSize::Default => block,
            };
            let input_config = negotiate(supported, layout.input_channels() as u16, config.sample_rate, block)?;
            if input_config.sample_rate != config.sample_rate {
                return Err(format!(
                    "the input device cannot run at the output's {} Hz (it offers {} Hz)",
                    config.sample_rate, input_config.sample_rate
                ));
            }
            Some((device, input_config))
        } else {
            None
        };
        Ok(Self { host: host_id, output, config, input, layout: layout.clone() })
    }
}

impl OpenBackend for CpalBackend {
    fn describe(&self) -> String {
        let (name, id) = device_label(&self.output);
        let block = match self.config.buffer_size {
            BufferSize::Fixed(n) => format!("{n}-frame blocks"),
            BufferSize::Default => "the device's block size".into(),
        };
        format!(
            "cpal/{} device \"{name}\" ({id}), {} channels at {} Hz, {block}{}",
            self.host.name(),
            self.config.channels,
            self.config.sample_rate,
            if self.input.is_some() { ", with input" } else { "" }
        )
    }
    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }
    fn block_frames(&self) -> usize {
        match self.config.buffer_size {
            BufferSize::Fixed(n) => n as usize,
            BufferSize::Default => DEFAULT_BLOCK_FRAMES,
        }
    }
    fn start(self: Box<Self>, driver: AudioDriver) -> Result<Box<dyn RunningBackend>, LiveError> {
        let description = self.describe();
        let health = driver.health().clone();
        let engine_outputs = self.layout.output_channels();
        let engine_inputs = self.layout.input_channels();
        let device_channels = self.config.channels as usize;
        let ring_samples = MAX_CALL_FRAMES * INPUT_RING_BLOCKS * engine_inputs.max(1);
        let (input_tx, input_rx) = rtrb::RingBuffer::<f32>::new(ring_samples);
        let input_stream = match &self.input {
            Some((device, config)) => {
                let device_in = config.channels as usize;
                let mut input_tx = input_tx;
                let stream =
                    device
                        .build_input_stream(
                            *config,
                            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                                // Keep the engine's input channels of each frame; a full ring drops.
                                let frames = data.len() / device_in.max(1);
                                if let Ok(chunk) = input_tx.write_chunk_uninit(frames * engine_inputs) {
                                    chunk.fill_from_iter(
                                        (0..frames)
                                            .flat_map(|i| (0..engine_inputs).map(move |c| (i, c)))
                                            .map(|(i, c)| if c < device_in { data[i * device_in + c] } else { 0.0 }),
                                    );
                                }
                            },
                            error_handler(health.clone()),
                            None,
                        )
                        .map_err(|e| LiveError::Backend(format!("cannot open the input stream: {e}")))?;
                Some(stream)
            }
            None => None,
        };
        let mut callback = Callback {
            driver,
            outputs: vec![vec![0.0; MAX_CALL_FRAMES]; engine_outputs],
            inputs: vec![vec![0.0; MAX_CALL_FRAMES]; engine_inputs],
            input: input_rx,
            lists: ChannelLists::new(engine_outputs, engine_inputs),
            device_channels,
        };
        let stream = self
            .output
            .build_output_stream(
                self.config,
                move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    guarded(callback.driver.guard(), || callback.run(data))
                },
                error_handler(health.clone()),
                None,
            )
            .map_err(|e| LiveError::Backend(format!("cannot open the output stream: {e}")))?;
        stream.play().map_err(|e| LiveError::Backend(format!("cannot start the output stream: {e}")))?;
        if let Some(input) = &input_stream {
            input.play().map_err(|e| LiveError::Backend(format!("cannot start the input stream: {e}")))?;
        }
        Ok(Box::new(RunningCpal { _output: stream, _input: input_stream, description }))
    }
}

/// Xruns are counted; anything else that ends a stream stops playback with its reason. Runs on
/// the device's thread: only static text, no formatting.
fn error_handler(health: Arc<Health>) -> impl FnMut(cpal::Error) + Send + 'static {
    move |error: cpal::Error| {
        let reason = match error.kind() {
            ErrorKind::Xrun => {
                health.backend_xrun();
                return;
            }
            ErrorKind::DeviceNotAvailable => "the audio device is no longer available",
            ErrorKind::DeviceChanged => "the audio device changed",
            ErrorKind::StreamInvalidated => "the audio stream was invalidated (sample rate or device change)",
            _ => "the audio stream failed",
        };
        health.stop(&[reason]);
    }
}

/// The output callback's state: planar scratch buffers for the engine, interleaving to the
/// device's channel count.
struct Callback {
    driver: AudioDriver,
    outputs: Vec<Vec<f32>>,
    inputs: Vec<Vec<f32>>,
    input: rtrb::Consumer<f32>,
    lists: ChannelLists,
    device_channels: usize,
}

impl Callback {
    fn run(&mut self, data: &mut [f32]) {
        let channels = self.device_channels.max(1);
        let total = data.len() / channels;
        let mut done = 0;
        while done < total {
            let n = (total - done).min(MAX_CALL_FRAMES);
            self.read_input(n);
            let Callback { driver, outputs, inputs, lists, .. } = self;
            let outs = outputs.iter_mut().map(|c| &mut c[..n]);
            lists.with(outs, inputs.iter().map(|c| &c[..n]), |o, i| driver.process(n, o, i, |_| {}));
            for (i, frame) in data[done * channels..(done + n) * channels].chunks_exact_mut(channels).enumerate() {
                for (c, sample) in frame.iter_mut().enumerate() {
                    *sample = self.outputs.get(c).map_or(0.0, |ch| ch[i]);
                }
            }
            done += n;
        }
    }

    /// Fills the input scratch with `n` frames of live input, or silence (an underrun) if the
    /// input has not delivered them yet. Input piling up beyond the ring's bound is skipped.
    fn read_input(&mut self, n: usize) {
        let channels = self.inputs.len();
        if channels == 0 {
            return;
        }
        let wanted = n * channels;
        let excess = self.input.slots().saturating_sub(wanted * 2);
        if excess >= channels {
            if let Ok(chunk) = self.input.read_chunk(excess / channels * channels) {
                chunk.commit_all();
            }
        }
        match self.input.read_chunk(wanted) {
            Ok(chunk) => {
                let (a, b) = chunk.as_slices();
                for (k, s) in a.iter().chain(b).enumerate() {
                    self.inputs[k % channels][k / channels] = *s;
                }
                chunk.commit_all();
            }
            Err(_) => {
                for ch in self.inputs.iter_mut() {
                    ch[..n].fill(0.0);
                }
                self.driver.health().input_underrun();
            }
        }
    }
}

/// cpal streams while they play (dropping them stops the device and the driver with it).
struct RunningCpal {
    _output: cpal::Stream,
    _input: Option<cpal::Stream>,
    description: String,
}

impl RunningBackend for RunningCpal {
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn stop(self: Box<Self>) -> Option<AudioDriver> {
        // The driver lives inside the stream's callback and goes with it.
        None
    }
}
