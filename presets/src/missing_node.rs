//! A node that could not be made (its sample file is gone, its plugin is not installed) but
//! whose patch must keep working: it stands in with the same ports, as far as the patch's
//! connections show them, and is silent. Its kind, settings and parameters are kept so that
//! saving writes the node back as it was, and a reload once the file is back plays it again.

use noderack_graph::{NodeDescription, NodePorts, NodeSignature, PortKind, ProcessConfig, ProcessContext, Processor};

/// The stand-in for a node that could not be made.
pub struct MissingNode {
    kind: String,
    reason: String,
    signature: NodeSignature,
}

impl MissingNode {
    /// Kind name of every stand-in's signature (its [`NodeDescription::kind`] is the original).
    pub const KIND: &'static str = "missing";

    /// A stand-in for a node of `kind` that failed for `reason`, with `ports`.
    pub fn new(kind: &str, reason: &str, ports: NodePorts) -> Self {
        Self {
            kind: kind.to_string(),
            reason: reason.to_string(),
            signature: NodeSignature { kind: Self::KIND, ports, params: Vec::new() },
        }
    }

    /// Why the node could not be made.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl NodeDescription for MissingNode {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }

    fn kind(&self) -> &str {
        &self.kind
    }

    fn report(&self) -> Vec<String> {
        vec![format!("silent: {}", self.reason)]
    }

    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        let audio_outputs = self
            .signature
            .ports
            .outputs
            .iter()
            .enumerate()
            .filter_map(|(port, spec)| match spec.kind {
                PortKind::Audio { channels } => Some((port, channels as usize)),
                PortKind::Control => Some((port, 1)),
                PortKind::Events => None,
            })
            .collect();
        Box::new(Silence { audio_outputs })
    }
}

/// Writes silence to every audio output.
struct Silence {
    audio_outputs: Vec<(usize, usize)>,
}

impl Processor for Silence {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let mut outputs = ctx.outputs();
        for &(port, channels) in &self.audio_outputs {
            for channel in 0..channels {
                outputs.signal_mut(port, channel).fill(0.0);
            }
        }
    }
}
