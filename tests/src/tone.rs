//! `test-tone`: a stereo sine whose phase is a function of the absolute engine frame, so its
//! output is identical however the timeline is cut into blocks and whenever it is (re)built.
//! Tests use it as a known source; it is not a user-facing node.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor,
};

/// Description of a test tone at a fixed frequency and amplitude.
pub struct TestTone {
    hz: f64,
    amplitude: f32,
    signature: NodeSignature,
}

impl TestTone {
    /// A tone of `hz` at `amplitude`.
    pub fn new(hz: f64, amplitude: f32) -> Self {
        Self {
            hz,
            amplitude,
            signature: NodeSignature {
                kind: "test-tone",
                ports: NodePorts { inputs: vec![], outputs: vec![PortSpec::new("out", PortKind::STEREO)] },
                params: vec![],
            },
        }
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
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(ToneProcessor { hz: self.hz, amplitude: self.amplitude })
    }
}

struct ToneProcessor {
    hz: f64,
    amplitude: f32,
}

impl Processor for ToneProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let start = ctx.transport().engine_frame;
        let sr = ctx.sample_rate();
        let mut outputs = ctx.outputs();
        let (l, r) = outputs.stereo_mut(0);
        for (i, (l, r)) in l.iter_mut().zip(r.iter_mut()).enumerate() {
            let s = TestTone::sample_at(self.hz, self.amplitude, start + i as u64, sr);
            *l = s;
            *r = s;
        }
    }
}
