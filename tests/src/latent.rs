//! `test-latent`: a stereo node that delays its input by a fixed number of frames and reports
//! that as its latency, like a hosted plugin with look-ahead. Tests of latency compensation
//! use it; it is not a user-facing node.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor,
};

/// Description of a latent node delaying by `frames`.
pub struct Latent {
    frames: u32,
    signature: NodeSignature,
}

impl Latent {
    /// A node with `frames` of latency.
    pub fn new(frames: u32) -> Self {
        let ports = NodePorts {
            inputs: vec![PortSpec::new("in", PortKind::STEREO)],
            outputs: vec![PortSpec::new("out", PortKind::STEREO)],
        };
        Self { frames, signature: NodeSignature { kind: "test-latent", ports, params: vec![] } }
    }
}

impl NodeDescription for Latent {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn latency_frames(&self) -> u32 {
        self.frames
    }
    fn build(&self, _: &ProcessConfig) -> Box<dyn Processor> {
        let len = self.frames.max(1) as usize;
        Box::new(LatentProcessor { rings: [vec![0.0; len], vec![0.0; len]], position: 0, delay: self.frames })
    }
}

struct LatentProcessor {
    rings: [Vec<f32>; 2],
    position: usize,
    delay: u32,
}

impl Processor for LatentProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let start = self.position;
        let inputs = ctx.inputs();
        let mut outputs = ctx.outputs();
        for c in 0..2 {
            let input = inputs.signal(0, c);
            let out = outputs.signal_mut(0, c);
            if self.delay == 0 {
                out.copy_from_slice(input);
                continue;
            }
            let ring = &mut self.rings[c];
            let mut pos = start;
            for (o, i) in out.iter_mut().zip(input) {
                *o = ring[pos];
                ring[pos] = *i;
                pos = (pos + 1) % ring.len();
            }
            self.position = pos;
        }
    }
}
