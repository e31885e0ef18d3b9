//! Compiles a graph into a [`RenderPlan`], off the audio thread, in small passes:
//! topological sort ([`sort`]) → step scheduling with buffer reuse by liveness ([`buffers`])
//! → verification of the result ([`verify`]).

mod buffers;
mod sort;
mod verify;

use std::sync::Arc;

use crate::delay_line::DelayLine;
use crate::note_tracker::NoteTracker;
use crate::plan::{ConnectionKey, Fade, PortBinding, ProcessStep, RenderPlan, Step, NO_EVENTS, SILENCE};
use crate::{BusSpec, NodeDescription, NodeId, NodeRole, SlotKey};
use buffers::Allocator;

pub(crate) use verify::verify;

/// A node as the compiler sees it.
pub(crate) struct CompileNode {
    pub(crate) slot: SlotKey,
    pub(crate) id: NodeId,
    /// Removed by the client, kept running while its outgoing connections fade out.
    pub(crate) retiring: bool,
    /// For a retiring node with a tail: frames its outgoing connections stay at full level
    /// (its inputs cut) before they fade.
    pub(crate) tail_frames: u32,
    pub(crate) description: Arc<dyn NodeDescription>,
}

/// A connection as the compiler sees it (node fields index [`CompileInput::nodes`]).
#[derive(Copy, Clone, Debug)]
pub(crate) struct CompileEdge {
    pub(crate) from: usize,
    pub(crate) from_port: u16,
    pub(crate) to: usize,
    pub(crate) to_port: u16,
    /// Set for a removed connection that is fading out.
    pub(crate) fade: Option<EdgeFade>,
}

/// How a removed connection fades out.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EdgeFade {
    /// Identifies the fade across plans (so a recompile continues it where it was).
    pub(crate) id: u64,
    /// Frames at full level before the fade begins (its source's tail).
    pub(crate) hold_frames: u32,
}

/// Everything the compiler reads.
pub(crate) struct CompileInput<'a> {
    pub(crate) nodes: Vec<CompileNode>,
    pub(crate) edges: Vec<CompileEdge>,
    pub(crate) buses: &'a [BusSpec],
    /// Host input buses (`audio-in` nodes read them).
    pub(crate) input_buses: &'a [BusSpec],
    pub(crate) fade_frames: u32,
    /// Floats between two audio buffers of the executor's pool.
    pub(crate) stride_floats: u32,
    /// The plan the executor will be running when this one arrives (state such as held notes
    /// is carried over from it by connection).
    pub(crate) previous: Option<&'a RenderPlan>,
}

/// Why a graph could not be compiled.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CompileError {
    /// The input has a cycle (only possible through fading connections; the model rejects
    /// cycles among live ones).
    Cycle,
    /// The result failed verification.
    Invalid(String),
    /// The graph needs more audio buffers than the pool can address.
    TooLarge,
}

/// The binding of a signal port whose channels start at buffer `first`.
fn signal_binding(first: u32, channels: u16, stride_floats: u32) -> Result<PortBinding, CompileError> {
    let offset_floats = first.checked_mul(stride_floats).ok_or(CompileError::TooLarge)?;
    // The last channel must be addressable too.
    (first + channels as u32).checked_mul(stride_floats).ok_or(CompileError::TooLarge)?;
    Ok(PortBinding::Signal { first, channels, offset_floats })
}

/// Buffers produced by one output port.
#[derive(Copy, Clone, Debug)]
enum Produced {
    /// The first buffer of the port's run (its channels follow).
    Signal(u32),
    /// Its event buffer.
    Events(u32),
}

/// Compiles `input` into a verified plan. Deterministic: the same graph gives the same plan,
/// whatever order its nodes and connections were created in.
pub(crate) fn compile(input: &CompileInput<'_>) -> Result<RenderPlan, CompileError> {
    let order = sort::topological_order(input).ok_or(CompileError::Cycle)?;
    let n = input.nodes.len();

    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut readers: Vec<Vec<u32>> =
        input.nodes.iter().map(|node| vec![0; node.description.ports().outputs.len()]).collect();
    for (ei, e) in input.edges.iter().enumerate() {
        incoming[e.to].push(ei);
        readers[e.from][e.from_port as usize] += 1;
    }
    for list in &mut incoming {
        list.sort_by_key(|&ei| {
            let e = &input.edges[ei];
            let src = &input.nodes[e.from];
            (e.to_port, e.fade.is_some(), src.id, src.retiring, e.from_port, e.fade)
        });
    }

    let mut produced: Vec<Vec<Option<Produced>>> =
        input.nodes.iter().map(|node| vec![None; node.description.ports().outputs.len()]).collect();
    // Unconnected signal inputs read silence: enough reserved silent buffers for the widest.
    let silent_buffers = input
        .nodes
        .iter()
        .flat_map(|node| node.description.ports().inputs.iter().map(|p| p.kind.signal_channels() as u32))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut audio = Allocator::new(silent_buffers);
    let mut events = Allocator::new(1);
    let mut plan = RenderPlan { silent_buffers, stride_floats: input.stride_floats, ..RenderPlan::default() };
    let mut fade_index = std::collections::HashMap::new();
    let mut release_after: Vec<(bool, u32)> = Vec::new();
    let previous_trackers: std::collections::HashMap<ConnectionKey, u32> = input
        .previous
        .map(|p| p.trackers.iter().enumerate().map(|(i, t)| (t.key, i as u32)).collect())
        .unwrap_or_default();
    let previous_delays: std::collections::HashMap<(ConnectionKey, u16), u32> = input
        .previous
        .map(|p| p.delays.iter().enumerate().map(|(i, d)| (d.key, i as u32)).collect())
        .unwrap_or_default();
    let latency = latencies(input, &order);
    plan.latency_frames = latency.total;

    for &ni in &order {
        let node = &input.nodes[ni];
        let ports = node.description.ports();
        let role = node.description.role();
        release_after.clear();

        // Inputs: bind each port to its source's buffers, or sum/merge several sources.
        let inputs_start = plan.bindings.len() as u32;
        for (pi, spec) in ports.inputs.iter().enumerate() {
            let edges: Vec<CompileEdge> =
                incoming[ni].iter().map(|&ei| input.edges[ei]).filter(|e| e.to_port as usize == pi).collect();
            let channels = spec.kind.signal_channels();
            if channels == 0 {
                // Live connections pass their events and record held notes; a removed one
                // (fading) instead releases, once, the notes it still held.
                let mut sources: Vec<u32> = Vec::with_capacity(edges.len());
                for e in &edges {
                    let Some(Produced::Events(src)) = produced[e.from][e.from_port as usize] else { continue };
                    let key = ConnectionKey {
                        from: input.nodes[e.from].slot,
                        from_port: e.from_port,
                        to: node.slot,
                        to_port: pi as u16,
                    };
                    let tracker = plan.trackers.len() as u32;
                    plan.trackers.push(NoteTracker::new(key, previous_trackers.get(&key).copied()));
                    if e.fade.is_none() {
                        plan.steps.push(Step::TrackNotes { src, tracker });
                        sources.push(src);
                    } else {
                        events.release(src);
                        let dst = events.allocate(1, 1);
                        plan.steps.push(Step::ReleaseNotes { tracker, dst });
                        sources.push(dst);
                    }
                }
                let binding = match sources.as_slice() {
                    [] => NO_EVENTS,
                    [only] => {
                        release_after.push((false, *only));
                        *only
                    }
                    many => {
                        let dst = events.allocate(1, 1);
                        let start = plan.event_srcs.len() as u32;
                        plan.event_srcs.extend_from_slice(many);
                        plan.steps.push(Step::MergeEvents { srcs: (start, plan.event_srcs.len() as u32), dst });
                        for &b in many {
                            events.release(b);
                        }
                        release_after.push((false, dst));
                        dst
                    }
                };
                plan.bindings.push(PortBinding::Events(binding));
                continue;
            }

            // Sources, each held back by the latency it lacks compared with this node's latest input.
            let mut sources: Vec<(u32, Option<EdgeFade>)> = Vec::with_capacity(edges.len());
            for e in &edges {
                let Some(Produced::Signal(src)) = produced[e.from][e.from_port as usize] else { continue };
                let lag = latency.input[ni].saturating_sub(latency.output[e.from]);
                if lag == 0 {
                    sources.push((src, e.fade));
                    continue;
                }
                let key = ConnectionKey {
                    from: input.nodes[e.from].slot,
                    from_port: e.from_port,
                    to: node.slot,
                    to_port: pi as u16,
                };
                let delayed = audio.allocate(1, channels);
                for c in 0..channels {
                    let line = plan.delays.len() as u32;
                    let previous = previous_delays.get(&(key, c)).copied();
                    plan.delays.push(DelayLine::new((key, c), lag, previous));
                    plan.steps.push(Step::Delay { line, src: src + c as u32, dst: delayed + c as u32 });
                }
                audio.release(src);
                sources.push((delayed, e.fade));
            }
            let first = match sources.as_slice() {
                [] => SILENCE,
                [(src, None)] => {
                    release_after.push((true, *src));
                    *src
                }
                many => {
                    let dst = audio.allocate(1, channels);
                    for c in 0..channels as u32 {
                        let mut wrote = false;
                        for &(src, fade) in many.iter() {
                            let (src, dst) = (src + c, dst + c);
                            match fade {
                                None if !wrote => plan.steps.push(Step::Copy { src, dst }),
                                None => plan.steps.push(Step::Add { src, dst }),
                                Some(id) => {
                                    if !wrote {
                                        plan.steps.push(Step::Clear { dst });
                                    }
                                    let fade = *fade_index.entry(id.id).or_insert_with(|| {
                                        plan.fades.push(Fade {
                                            id: id.id,
                                            total_frames: input.fade_frames,
                                            remaining_frames: input.fade_frames.saturating_add(id.hold_frames),
                                        });
                                        plan.fades.len() as u32 - 1
                                    });
                                    plan.steps.push(Step::FadeAdd { src, dst, fade });
                                }
                            }
                            wrote = true;
                        }
                    }
                    for &(src, _) in many {
                        audio.release(src);
                    }
                    release_after.push((true, dst));
                    dst
                }
            };
            plan.bindings.push(signal_binding(first, channels, input.stride_floats)?);
        }
        let inputs_end = plan.bindings.len() as u32;

        // Outputs: fresh buffers, never shared with this node's inputs (those are released
        // only after the step).
        for (pi, spec) in ports.outputs.iter().enumerate() {
            let count = readers[ni][pi];
            let channels = spec.kind.signal_channels();
            let out = if channels == 0 {
                let b = events.allocate(count, 1);
                plan.bindings.push(PortBinding::Events(b));
                if count == 0 {
                    release_after.push((false, b));
                }
                Produced::Events(b)
            } else {
                let first = audio.allocate(count, channels);
                plan.bindings.push(signal_binding(first, channels, input.stride_floats)?);
                if count == 0 {
                    release_after.push((true, first));
                }
                Produced::Signal(first)
            };
            produced[ni][pi] = Some(out);
        }
        let outputs_end = plan.bindings.len() as u32;

        match role {
            NodeRole::Processor => plan.steps.push(Step::Process(ProcessStep {
                slot: node.slot,
                ports: (inputs_start, outputs_end),
                inputs: inputs_end - inputs_start,
                event_outputs: ports.outputs.iter().any(|p| p.kind == crate::PortKind::Events),
            })),
            NodeRole::HostMidiInput => {
                if let Some(&PortBinding::Events(dst)) = plan.bindings.get(inputs_end as usize) {
                    plan.steps.push(Step::HostEvents { slot: node.slot, node: node.id, dst });
                }
            }
            NodeRole::HostAudioInput { bus } => {
                if let Some(&PortBinding::Signal { first, channels, .. }) = plan.bindings.get(inputs_end as usize) {
                    let bus = input.input_buses.iter().position(|b| b.name == bus);
                    for c in 0..channels {
                        let dst = first + c as u32;
                        match bus {
                            Some(bus) => plan.steps.push(Step::BusIn { bus: bus as u32, channel: c, dst }),
                            None => plan.steps.push(Step::Clear { dst }),
                        }
                    }
                }
            }
            NodeRole::HostOutput { bus } => {
                if let (Some(bus_index), Some(&PortBinding::Signal { first, channels, .. })) =
                    (input.buses.iter().position(|b| b.name == bus), plan.bindings.get(inputs_start as usize))
                {
                    let bus_channels = input.buses[bus_index].channels;
                    for c in 0..channels.min(bus_channels) {
                        plan.steps.push(Step::BusOut { src: first + c as u32, bus: bus_index as u32, channel: c });
                    }
                }
            }
        }
        for &(is_audio, b) in &release_after {
            if is_audio {
                audio.release(b);
            } else {
                events.release(b);
            }
        }
    }

    plan.audio_buffers = audio.count();
    plan.event_buffers = events.count();
    plan.slots = input.nodes.iter().map(|n| n.slot).collect();
    plan.slots.sort();
    (plan.runs, plan.tail) = crate::plan::schedule(&plan.steps);
    plan.linked = plan.runs.iter().map(|_| crate::plan::LinkedRun::unlinked()).collect();
    verify(&plan).map_err(CompileError::Invalid)?;
    Ok(plan)
}

/// Latency at every node's inputs and outputs, in frames.
struct Latencies {
    /// Latest arrival over a node's signal inputs (for output nodes: the whole graph's).
    input: Vec<u32>,
    /// `input` plus the node's own latency.
    output: Vec<u32>,
    /// The largest latency at any output node; every bus is aligned to it.
    total: u32,
}

/// Propagates latency in topological order over signal connections (events are not delayed:
/// note timing is the source's business), then aligns every output node to the largest.
fn latencies(input: &CompileInput<'_>, order: &[usize]) -> Latencies {
    let n = input.nodes.len();
    let mut lat = Latencies { input: vec![0; n], output: vec![0; n], total: 0 };
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &input.edges {
        let kind = input.nodes[e.to].description.ports().inputs.get(e.to_port as usize).map(|p| p.kind);
        if kind.is_some_and(|k| k.signal_channels() > 0) {
            incoming[e.to].push(e.from);
        }
    }
    for &ni in order {
        let arrival = incoming[ni].iter().map(|&src| lat.output[src]).max().unwrap_or(0);
        lat.input[ni] = arrival;
        lat.output[ni] = arrival.saturating_add(input.nodes[ni].description.latency_frames());
    }
    let is_output = |ni: usize| matches!(input.nodes[ni].description.role(), NodeRole::HostOutput { .. });
    lat.total = (0..n).filter(|&ni| is_output(ni)).map(|ni| lat.input[ni]).max().unwrap_or(0);
    for ni in (0..n).filter(|&ni| is_output(ni)) {
        lat.input[ni] = lat.total;
    }
    lat
}

#[cfg(test)]
mod tests;
