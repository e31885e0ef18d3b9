//! Test nodes and values for what travels between the threads: [`Holder`], a node that keeps
//! the last parcel it was sent (as a sampler keeps its instrument) and retires the one before,
//! and [`Tracked`], a value that records on which thread it was dropped.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, Parcel, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor,
    Retire,
};

/// Where [`Tracked`] values record the threads they were dropped on.
pub type DropLog = Arc<Mutex<Vec<ThreadId>>>;

/// A value that records, when dropped, the thread that dropped it (to prove that the audio
/// thread never frees).
pub struct Tracked {
    log: DropLog,
    /// Some payload, so that dropping it frees something.
    pub payload: Vec<u8>,
}

impl Tracked {
    /// A value logging its drop to `log`.
    pub fn new(log: &DropLog) -> Self {
        Self { log: log.clone(), payload: vec![7; 64] }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.log.lock().expect("drop log").push(std::thread::current().id());
    }
}

/// A node that holds the last parcel sent to it and retires the previous one; one audio output
/// (silent).
pub struct Holder {
    signature: NodeSignature,
}

impl Holder {
    /// A holder node.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: "holder",
                ports: NodePorts {
                    inputs: vec![],
                    outputs: vec![PortSpec::new("out", PortKind::Audio { channels: 1 })],
                },
                params: vec![],
            },
        }
    }
}

impl Default for Holder {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Holder {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(HolderProcessor { held: None })
    }
}

struct HolderProcessor {
    held: Option<Parcel>,
}

impl Processor for HolderProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let mut outputs = ctx.outputs();
        outputs.signal_mut(0, 0).fill(0.0);
    }

    fn receive(&mut self, parcel: Parcel, retire: &mut Retire<'_>) {
        if let Some(previous) = self.held.replace(parcel) {
            // The executor hands over a parcel only with room on the queue for one.
            retire.retire_or_leak(previous);
        }
    }
}
