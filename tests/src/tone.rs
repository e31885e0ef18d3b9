//! `test-tone`: a sine (stereo, or mono) whose phase is a function of the absolute engine frame,
//! so its output is identical however the timeline is cut into blocks and whenever it is
//! (re)built; optionally only within a window of frames (a burst). Tests use it as a known
//! source; it is not a user-facing node.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor,
};

/// Description of a test tone at a fixed frequency and amplitude.
pub struct TestTone {
    hz: f64,
    amplitude: f32,
    /// Sounding only in `[start, end)` engine frames, if set.
    window: Option<(u64, u64)>,
    /// The tail it reports (frames).
    tail_frames: u32,
    signature: NodeSignature,
}

impl TestTone {
    /// A tone of `hz` at `amplitude`.
    pub fn new(hz: f64, amplitude: f32) -> Self {
        Self {
            hz,
            amplitude,
            window: None,
            tail_frames: 0,
            signature: NodeSignature {
                kind: "test-tone",
                ports: NodePorts { inputs: vec![], outputs: vec![PortSpec::new("out", PortKind::STEREO)] },
                params: vec![],
            },
        }
    }

    /// The same tone on one channel.
    pub fn mono(mut self) -> Self {
        self.signature.ports.outputs = vec![PortSpec::new("out", PortKind::Audio { channels: 1 })];
        self
    }

    /// The same tone, sounding only for `frames` frames from engine frame `start`.
    pub fn burst(mut self, start: u64, frames: u64) -> Self {
        self.window = Some((start, start + frames));
        self
    }

    /// The same tone, reporting a tail of `frames` (a stand-in for a reverb's decay: the tone
    /// itself goes on regardless, so what is heard after a removal shows how long the engine
    /// lets a tail ring).
    pub fn with_tail(mut self, frames: u32) -> Self {
        self.tail_frames = frames;
        self
    }

    /// The expected sample at absolute frame `frame`.
    pub fn sample_at(hz: f64, amplitude: f32, frame: u64, sample_rate: f32) -> f32 {
        let phase = (frame as f64 * hz / sample_rate as f64).fract();
        (phase * std::f64::consts::TAU).sin() as f32 * amplitude
    }
}

impl NodeDescription for TestTone {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn tail_frames(&self) -> u32 {
        self.tail_frames
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(ToneProcessor { hz: self.hz, amplitude: self.amplitude, window: self.window })
    }
}

struct ToneProcessor {
    hz: f64,
    amplitude: f32,
    window: Option<(u64, u64)>,
}

impl Processor for ToneProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let start = ctx.transport().engine_frame;
        let sr = ctx.sample_rate();
        let mut outputs = ctx.outputs();
        let channels = if outputs.stereo_mut(0).0.is_empty() { 1 } else { 2 };
        for channel in 0..channels {
            for (i, out) in outputs.signal_mut(0, channel).iter_mut().enumerate() {
                let frame = start + i as u64;
                let sounding = self.window.is_none_or(|(from, to)| (from..to).contains(&frame));
                *out = if sounding { TestTone::sample_at(self.hz, self.amplitude, frame, sr) } else { 0.0 };
            }
        }
    }
}
