//! Compiler specifications. Each test draws its graph; helpers build nodes with just the ports
//! a test needs.

use std::sync::Arc;

use super::*;
use crate::plan::{PortBinding, ProcessStep, Step};
use crate::{NodePorts, NodeSignature, NoopProcessor, PortKind, PortSpec, ProcessConfig, Processor};

struct TestNode {
    signature: NodeSignature,
    role: NodeRole,
}

impl NodeDescription for TestNode {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn role(&self) -> NodeRole {
        self.role.clone()
    }
    fn build(&self, _: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(NoopProcessor)
    }
}

fn node(id: u64, inputs: &[PortKind], outputs: &[PortKind]) -> CompileNode {
    node_with_role(id, inputs, outputs, NodeRole::Processor)
}

fn node_with_role(id: u64, inputs: &[PortKind], outputs: &[PortKind], role: NodeRole) -> CompileNode {
    let name = |i: usize| PortSpec::named(format!("p{i}"), PortKind::Events);
    let ports = NodePorts {
        inputs: inputs.iter().enumerate().map(|(i, k)| PortSpec { kind: *k, ..name(i) }).collect(),
        outputs: outputs.iter().enumerate().map(|(i, k)| PortSpec { kind: *k, ..name(i) }).collect(),
    };
    CompileNode {
        slot: SlotKey { index: id as u32, generation: 0 },
        id: NodeId(id),
        retiring: false,
        tail_frames: 0,
        description: Arc::new(TestNode { signature: NodeSignature { kind: "test", ports, params: vec![] }, role }),
    }
}

fn edge(from: usize, to: usize, to_port: u16) -> CompileEdge {
    CompileEdge { from, from_port: 0, to, to_port, fade: None }
}

const M: PortKind = PortKind::MONO;
const EV: PortKind = PortKind::Events;
/// Floats between two pool buffers in these tests.
const STRIDE: u32 = 80;

fn compile_nodes(nodes: Vec<CompileNode>, edges: Vec<CompileEdge>) -> RenderPlan {
    let buses = [BusSpec::stereo("main")];
    compile(&CompileInput {
        nodes,
        edges,
        buses: &buses,
        input_buses: &[],
        fade_frames: 240,
        stride_floats: STRIDE,
        previous: None,
    })
    .expect("compiles")
}

/// The audio buffers bound to port `port` of the process step for node `id`.
fn bound(plan: &RenderPlan, id: u64, outputs: bool, port: usize) -> Vec<u32> {
    for s in &plan.steps {
        if let Step::Process(p) = s {
            if p.slot.index == id as u32 {
                let range = if outputs { p.output_range() } else { p.input_range() };
                match plan.bindings[range.start + port] {
                    PortBinding::Signal { first, channels, .. } => return (first..first + channels as u32).collect(),
                    PortBinding::Events(b) => return vec![b],
                }
            }
        }
    }
    panic!("node {id} has no process step");
}

/// The plan's processor calls, read from its steps (not from its run list, which tests check
/// against them).
fn process_steps(plan: &RenderPlan) -> impl Iterator<Item = &ProcessStep> {
    plan.steps.iter().filter_map(|s| match s {
        Step::Process(p) => Some(p),
        _ => None,
    })
}

fn process_order(plan: &RenderPlan) -> Vec<u32> {
    process_steps(plan).map(|p| p.slot.index).collect()
}

/// ```text
/// 0 → 1 → 2 → 3 → 4
/// ```
/// A chain needs only two buffers besides the silent one: each output is freed as soon as the
/// next node has read it.
#[test]
fn chain_reuses_two_buffers() {
    let nodes = (0..5).map(|i| node(i, if i == 0 { &[] } else { &[M] }, &[M])).collect();
    let edges = (0..4).map(|i| edge(i, i + 1, 0)).collect();
    let plan = compile_nodes(nodes, edges);
    assert_eq!(process_order(&plan), vec![0, 1, 2, 3, 4]);
    assert_eq!(plan.audio_buffers, 3);
    for i in 1..5u64 {
        assert_eq!(bound(&plan, i, false, 0), bound(&plan, i - 1, true, 0), "node {i} reads its source");
        assert_ne!(bound(&plan, i, false, 0), bound(&plan, i, true, 0), "never in place");
    }
}

/// ```text
/// 0 ─┐
/// 1 ─┼→ 3
/// 2 ─┘
/// ```
/// Fan-in sums into a fresh buffer: one copy, then adds.
#[test]
fn fan_in_copies_then_adds_into_a_sum_buffer() {
    let nodes = vec![node(0, &[], &[M]), node(1, &[], &[M]), node(2, &[], &[M]), node(3, &[M], &[M])];
    let plan = compile_nodes(nodes, vec![edge(0, 3, 0), edge(1, 3, 0), edge(2, 3, 0)]);
    let sum = bound(&plan, 3, false, 0)[0];
    let writes: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Copy { dst, .. } | Step::Add { dst, .. } if *dst == sum))
        .collect();
    assert!(matches!(writes[0], Step::Copy { src, .. } if *src == bound(&plan, 0, true, 0)[0]));
    assert!(matches!(writes[1], Step::Add { src, .. } if *src == bound(&plan, 1, true, 0)[0]));
    assert!(matches!(writes[2], Step::Add { src, .. } if *src == bound(&plan, 2, true, 0)[0]));
    assert_eq!(writes.len(), 3);
}

/// ```text
///   ┌→ 1
/// 0 ┼→ 2
///   └→ 3
/// ```
/// Fan-out shares one buffer; it stays alive until the last reader ran.
#[test]
fn fan_out_shares_the_source_buffer() {
    let nodes = vec![node(0, &[], &[M]), node(1, &[M], &[M]), node(2, &[M], &[M]), node(3, &[M], &[M])];
    let plan = compile_nodes(nodes, vec![edge(0, 1, 0), edge(0, 2, 0), edge(0, 3, 0)]);
    let src = bound(&plan, 0, true, 0);
    for reader in 1..4 {
        assert_eq!(bound(&plan, reader, false, 0), src);
        assert_ne!(bound(&plan, reader, true, 0), src, "no reader's output may overwrite the shared source");
    }
    assert!(!plan.steps.iter().any(|s| matches!(s, Step::Copy { .. } | Step::Add { .. })));
}

/// ```text
/// 0 (events) ─┐
/// 1 (events) ─┴→ 2
/// ```
/// Event fan-in merges into one time-sorted buffer.
#[test]
fn event_fan_in_merges() {
    let nodes = vec![node(0, &[], &[EV]), node(1, &[], &[EV]), node(2, &[EV], &[M])];
    let plan = compile_nodes(nodes, vec![edge(0, 2, 0), edge(1, 2, 0)]);
    let merged = bound(&plan, 2, false, 0)[0];
    let merge = plan.steps.iter().find_map(|s| match s {
        Step::MergeEvents { srcs, dst } if *dst == merged => Some(*srcs),
        _ => None,
    });
    let (a, b) = merge.expect("a merge step");
    let mut srcs = plan.event_srcs[a as usize..b as usize].to_vec();
    srcs.sort();
    let mut expected = vec![bound(&plan, 0, true, 0)[0], bound(&plan, 1, true, 0)[0]];
    expected.sort();
    assert_eq!(srcs, expected);
}

/// Unconnected inputs read the reserved silent/empty buffers; unread outputs still get a
/// buffer of their own.
#[test]
fn unconnected_inputs_read_reserved_buffers() {
    let plan = compile_nodes(vec![node(0, &[M, EV], &[M, EV])], vec![]);
    assert_eq!(bound(&plan, 0, false, 0), vec![SILENCE]);
    assert_eq!(bound(&plan, 0, false, 1), vec![NO_EVENTS]);
    assert_ne!(bound(&plan, 0, true, 0), vec![SILENCE]);
    assert_ne!(bound(&plan, 0, true, 1), vec![NO_EVENTS]);
}

/// ```text
/// 0 (stereo) → 1 (stereo in, stereo out)   2 (stereo in, unconnected)
/// ```
/// A port's channels are adjacent buffers, so a processor finds channel `c` at `first + c`;
/// an unconnected stereo input reads two reserved silent buffers.
#[test]
fn signal_ports_get_runs_of_adjacent_buffers() {
    let s = PortKind::STEREO;
    let nodes = vec![node(0, &[], &[s]), node(1, &[s], &[s]), node(2, &[s], &[M])];
    let plan = compile_nodes(nodes, vec![edge(0, 1, 0)]);
    let out = bound(&plan, 0, true, 0);
    assert_eq!(out, vec![out[0], out[0] + 1]);
    assert_eq!(bound(&plan, 1, false, 0), out);
    assert_eq!(plan.silent_buffers, 2);
    assert_eq!(bound(&plan, 2, false, 0), vec![SILENCE, SILENCE + 1]);
    for id in 0..3 {
        assert!(bound(&plan, id, true, 0).iter().all(|&b| b >= 2), "outputs never use the silent run");
    }
}

/// ```text
/// 5 → 7 → out(bus main)
/// ```
/// Output nodes become bus steps, not processor calls.
#[test]
fn output_nodes_become_bus_steps() {
    let out = node_with_role(9, &[PortKind::STEREO], &[], NodeRole::HostOutput { bus: "main".into() });
    let nodes = vec![node(5, &[], &[PortKind::STEREO]), out];
    let plan = compile_nodes(nodes, vec![edge(0, 1, 0)]);
    let src = bound(&plan, 5, true, 0);
    let bus_steps: Vec<Step> = plan.steps.iter().filter(|s| matches!(s, Step::BusOut { .. })).copied().collect();
    assert_eq!(
        bus_steps,
        vec![Step::BusOut { src: src[0], bus: 0, channel: 0 }, Step::BusOut { src: src[1], bus: 0, channel: 1 }]
    );
    assert_eq!(process_order(&plan), vec![5]);
}

/// The same graph gives the same plan whatever order it was described in.
#[test]
fn compile_is_deterministic_across_insertion_orders() {
    let build = |reverse: bool| {
        let mut nodes: Vec<CompileNode> =
            vec![node(0, &[], &[M]), node(1, &[], &[M]), node(2, &[M], &[M]), node(3, &[M, M], &[M])];
        let mut edges = vec![(0, 2, 0), (1, 3, 1), (2, 3, 0), (0, 3, 0)];
        if reverse {
            nodes.reverse();
            edges.reverse();
            let pos = |id: usize| 3 - id;
            edges = edges.into_iter().map(|(a, b, p)| (pos(a), pos(b), p)).collect();
        }
        let edges = edges.into_iter().map(|(a, b, p)| edge(a, b, p)).collect();
        compile_nodes(nodes, edges)
    };
    assert_eq!(build(false), build(true));
}

#[test]
fn cycles_are_reported() {
    let buses = [BusSpec::stereo("main")];
    let nodes = vec![node(0, &[M], &[M]), node(1, &[M], &[M])];
    let input = CompileInput {
        nodes,
        edges: vec![edge(0, 1, 0), edge(1, 0, 0)],
        buses: &buses,
        input_buses: &[],
        fade_frames: 1,
        stride_floats: STRIDE,
        previous: None,
    };
    assert_eq!(compile(&input).err(), Some(CompileError::Cycle));
}

/// A fading connection sums into the input with a fade step, after the live sources.
#[test]
fn fading_connection_is_added_through_a_fade() {
    let nodes = vec![node(0, &[], &[M]), node(1, &[], &[M]), node(2, &[M], &[M])];
    let mut fading = edge(1, 2, 0);
    fading.fade = Some(EdgeFade { id: 42, hold_frames: 0 });
    let plan = compile_nodes(nodes, vec![edge(0, 2, 0), fading]);
    assert_eq!(plan.fades.len(), 1);
    assert_eq!(plan.fades[0].id, 42);
    assert!(plan.steps.iter().any(|s| matches!(s, Step::FadeAdd { src, .. } if *src == bound(&plan, 1, true, 0)[0])));
}

/// Two fan-in sources: the sum's copy and add steps are the glue before the node that reads
/// them, and the bus output is the tail.
#[test]
fn the_run_list_holds_each_processor_call_with_the_steps_before_it() {
    let nodes = vec![node(0, &[], &[M]), node(1, &[], &[M]), node(2, &[M], &[M])];
    let plan = compile_nodes(nodes, vec![edge(0, 2, 0), edge(1, 2, 0)]);
    let order: Vec<u32> = plan.runs.iter().map(|r| r.step.slot.index).collect();
    assert_eq!(order, process_order(&plan));
    let mut next = 0u32;
    for run in &plan.runs {
        assert_eq!(run.glue.0, next, "runs cover the steps in order");
        let glue = &plan.steps[run.glue.0 as usize..run.glue.1 as usize];
        assert!(glue.iter().all(|s| !matches!(s, Step::Process(_))), "glue holds no processor call");
        assert_eq!(plan.steps[run.glue.1 as usize], Step::Process(run.step));
        next = run.glue.1 + 1;
    }
    assert_eq!(plan.linked.len(), plan.runs.len(), "one link entry per run");
    assert!(plan.linked.iter().all(|l| !l.is_linked()), "links are the executor's to make");
    let last = plan.runs.last().expect("runs");
    assert!(matches!(plan.steps[last.glue.0 as usize..last.glue.1 as usize], [Step::Copy { .. }, Step::Add { .. }]));
    assert_eq!(plan.tail, (next, plan.steps.len() as u32));
}

mod verifier {
    use super::*;

    fn base() -> RenderPlan {
        compile_nodes(vec![node(0, &[], &[M]), node(1, &[M], &[M])], vec![edge(0, 1, 0)])
    }

    #[test]
    fn accepts_compiled_plans() {
        assert_eq!(verify(&base()), Ok(()));
    }

    #[test]
    fn rejects_a_run_list_that_skips_a_processor_call() {
        let mut plan = base();
        assert_eq!(plan.runs.len(), 2);
        plan.runs.pop();
        assert!(verify(&plan).unwrap_err().contains("run list"));
    }

    #[test]
    fn rejects_a_link_list_shorter_than_the_run_list() {
        let mut plan = base();
        plan.linked.pop();
        assert!(verify(&plan).unwrap_err().contains("linked runs"));
    }

    #[test]
    fn rejects_an_output_aliasing_an_input() {
        let mut plan = base();
        let input = bound(&plan, 1, false, 0)[0];
        let out = process_steps(&plan).last().expect("a process step").output_range().start;
        plan.bindings[out] = PortBinding::Signal { first: input, channels: 1, offset_floats: input * STRIDE };
        assert!(verify(&plan).unwrap_err().contains("aliases"));
    }

    #[test]
    fn rejects_a_port_offset_that_is_not_its_buffer_times_the_stride() {
        let mut plan = base();
        let at = process_steps(&plan).next().expect("a process step").output_range().start;
        let PortBinding::Signal { first, channels, offset_floats } = plan.bindings[at] else { panic!("signal port") };
        assert_eq!(offset_floats, first * STRIDE);
        // One buffer further: processors would write where the verifier did not look.
        plan.bindings[at] = PortBinding::Signal { first, channels, offset_floats: offset_floats + STRIDE };
        assert!(verify(&plan).unwrap_err().contains("offset"));
    }

    #[test]
    fn rejects_a_port_straddling_the_silent_run() {
        let s = PortKind::STEREO;
        let mut plan = compile_nodes(vec![node(0, &[s], &[M]), node(1, &[s], &[M])], vec![]);
        assert_eq!(verify(&plan), Ok(()));
        let input = process_steps(&plan).next().expect("a process step").input_range().start;
        plan.bindings[input] = PortBinding::Signal { first: 1, channels: 2, offset_floats: STRIDE };
        assert!(verify(&plan).unwrap_err().contains("silent"));
    }

    #[test]
    fn rejects_reading_before_writing() {
        let mut plan = base();
        plan.steps.swap(0, 1);
        assert!(verify(&plan).unwrap_err().contains("read before it is written"));
    }

    #[test]
    fn rejects_out_of_range_and_reserved_writes() {
        let mut plan = base();
        plan.steps.push(Step::Clear { dst: 99 });
        assert!(verify(&plan).unwrap_err().contains("out of range"));
        let mut plan = base();
        plan.steps.push(Step::Clear { dst: SILENCE });
        assert!(verify(&plan).unwrap_err().contains("reserved"));
    }
}
