//! `test-impulse`: single samples of a given value at given absolute engine frames, silence
//! everywhere else, on every channel of its one output. The known source for measuring an
//! effect's impulse response, echo positions and decay, independent of how the timeline is cut
//! into blocks. Not a user-facing node.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor,
};

/// Description of an impulse source.
pub struct Impulse {
    /// (engine frame, value), sorted by frame.
    clicks: Vec<(u64, f32)>,
    signature: NodeSignature,
}

impl Impulse {
    /// Stereo impulses of `value` at each engine frame of `frames`.
    pub fn at(frames: &[u64], value: f32) -> Self {
        let mut clicks: Vec<(u64, f32)> = frames.iter().map(|&f| (f, value)).collect();
        clicks.sort_by_key(|c| c.0);
        Self {
            clicks,
            signature: NodeSignature {
                kind: "test-impulse",
                ports: NodePorts { inputs: vec![], outputs: vec![PortSpec::new("out", PortKind::STEREO)] },
                params: vec![],
            },
        }
    }
}

impl NodeDescription for Impulse {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(ImpulseProcessor { clicks: self.clicks.clone() })
    }
}

struct ImpulseProcessor {
    clicks: Vec<(u64, f32)>,
}

impl Processor for ImpulseProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let start = ctx.transport().engine_frame;
        let frames = ctx.frames() as u64;
        let mut outputs = ctx.outputs();
        let (left, right) = outputs.stereo_mut(0);
        left.fill(0.0);
        right.fill(0.0);
        let first = self.clicks.partition_point(|c| c.0 < start);
        for &(frame, value) in self.clicks[first..].iter().take_while(|c| c.0 < start + frames) {
            let i = (frame - start) as usize;
            left[i] = value;
            right[i] = value;
        }
    }
}
