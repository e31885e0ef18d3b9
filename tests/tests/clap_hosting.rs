//! CLAP plugins as graph nodes, through the real executor: our test instrument plays MIDI notes
//! at their pitch; a parameter change lands on its exact frame as a CLAP event; a plugin's
//! reported latency is compensated so a latent branch and a dry branch line up to the sample;
//! a plugin that outputs NaN is muted (and counted) while the rest of the mix plays on; state
//! restores parameters; removing a hosted node mid-note releases its notes, lets its reported
//! tail ring and hands its processor back to be deactivated; changes the plugin makes itself
//! reach the control side and are not sent back to it; its note output is an event output; ZamComp (mono, with a side-chain input) and ZamCompX2 turn a loud signal down,
//! ZamDelay gives a delayed copy at its time, ZamVerb leaves a tail; and our code around the
//! plugin allocates nothing on the audio thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::{
    new_engine, BusSpec, Edit, EngineConfig, Event, HostBlock, MidiMessage, NodeDescription, NodeId, ParamId,
};
use noderack_host::clap::ClapNode;
use noderack_nodes::{MidiIn, Output};
use noderack_test_instrument::{ECHO_SEMITONES, GAIN_CC, RELEASE_FRAMES};
use noderack_tests::analysis::peak;
use noderack_tests::clap_plugins::{system_plugin, test_instrument_library, TEST_INSTRUMENT_ID};
use noderack_tests::event_probe::EventProbe;
use noderack_tests::midi::{cc, note_off, note_on};
use noderack_tests::rig::{add, add_shared, connect, Rig};
use noderack_tests::tone::TestTone;
use noderack_tests::{first_onset, peak_frequency_hz, rms};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const KEYS: u64 = 1;
const PLUGIN: u64 = 2;
const OUT: u64 = 3;
const SR: f32 = 48_000.0;

/// The test instrument's state with these parameter values (its documented layout).
fn state(gain: f32, latency: u32, fault: u32) -> Vec<u8> {
    let mut bytes = b"NRTI".to_vec();
    bytes.extend(gain.to_le_bytes());
    bytes.extend(latency.to_le_bytes());
    bytes.extend(fault.to_le_bytes());
    bytes
}

fn instrument(state: Option<Vec<u8>>) -> ClapNode {
    ClapNode::new(&test_instrument_library(), TEST_INSTRUMENT_ID, state).unwrap_or_else(|e| panic!("{e}"))
}

/// keys → the instrument's notes → out.
fn playing(node: ClapNode, block: usize) -> (Rig, Arc<dyn NodeDescription>) {
    let node: Arc<dyn NodeDescription> = Arc::new(node);
    let notes = node.ports().inputs.iter().position(|p| p.name == "notes").expect("a notes input") as u16;
    let mut rig = Rig::stereo(block);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        add_shared(PLUGIN, node.clone(), vec![]),
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, PLUGIN, notes),
        connect(PLUGIN, 0, OUT, 0),
    ]);
    (rig, node)
}

#[test]
fn the_instrument_plays_midi_notes_at_their_pitch() {
    let node = instrument(None);
    assert_eq!(node.latency_frames(), 0);
    let names: Vec<&str> = node.params().iter().map(|p| p.name.as_ref()).collect();
    assert_eq!(names, ["gain", "latency", "fault"]);
    let (mut rig, _) = playing(node, 256);
    let out = rig.render(48_000, &[note_on(0, 0, 69, 127), note_off(20_000, 0, 69), note_on(24_000, 0, 81, 127)]);
    let a4 = peak_frequency_hz(&out[0][1_000..19_000], SR);
    let a5 = peak_frequency_hz(&out[0][26_000..46_000], SR);
    assert!((a4 - 440.0).abs() < 0.5, "{a4} Hz");
    assert!((a5 - 880.0).abs() < 1.0, "{a5} Hz");
    // Full velocity at the default gain (0.5): a sine of amplitude 0.5.
    let level = rms(&out[0][1_000..19_000]);
    assert!((level - 0.5 / 2f32.sqrt()).abs() < 0.005, "rms {level}");
    assert_eq!(out[0], out[1], "the same on both channels");
}

#[test]
fn a_parameter_change_lands_on_its_exact_frame() {
    for block in [64, 256, 1000] {
        let (mut rig, _) = playing(instrument(None), block);
        let start = rig.render(10_000, &[note_on(0, 0, 69, 127)]);
        assert!(rms(&start[0][2_000..]) > 0.3);
        // Gain to 0 at engine frame 12 345: silent from that frame on, not before.
        rig.engine().set_param(NodeId(PLUGIN), ParamId(0), 0.0, Some(12_345)).unwrap();
        let out = rig.render(10_000, &[]);
        let cut = 12_345 - 10_000;
        assert!(out[0][cut - 40..cut].iter().any(|s| s.abs() > 0.1), "block {block}: sounding before the change");
        assert!(out[0][cut..].iter().all(|s| *s == 0.0), "block {block}: silent from the change's frame");
    }
}

/// keys → `latent` → bus `latent` (channels 0–1), and keys → our instrument without latency →
/// bus `dry` (channels 2–3): two branches whose alignment shows latency compensation.
fn latent_and_dry(latent: Arc<dyn NodeDescription>) -> Rig {
    let config = EngineConfig {
        sample_rate: SR,
        max_block_frames: 256,
        buses: vec![BusSpec::stereo("latent"), BusSpec::stereo("dry")],
        inputs: vec![],
    };
    let mut rig = Rig::new(config, 256);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        add_shared(PLUGIN, latent, vec![]),
        add_shared(4, Arc::new(instrument(None)), vec![]),
        add(OUT, "latent", Output::new("latent", 2)),
        add(5, "dry", Output::new("dry", 2)),
        connect(KEYS, 0, PLUGIN, 0),
        connect(KEYS, 0, 4, 0),
        connect(PLUGIN, 0, OUT, 0),
        connect(4, 0, 5, 0),
    ]);
    rig
}

#[test]
fn reported_latency_is_compensated_against_a_dry_branch() {
    let latent = instrument(Some(state(0.5, 480, 0)));
    assert_eq!(latent.latency_frames(), 480, "the state set the latency it reports");
    let mut rig = latent_and_dry(Arc::new(latent));
    let out = rig.render(24_000, &[note_on(1_000, 0, 69, 127)]);
    let (latent, dry) = (first_onset(&out[0], 1e-6).unwrap(), first_onset(&out[2], 1e-6).unwrap());
    assert_eq!(latent, dry, "the branches line up");
    // A note's first sample is sin(0) = 0: the sound starts one frame after the note.
    assert_eq!(latent, 1_000 + 1 + 480, "both come out the plugin's latency late");
    assert!(out[0].iter().zip(&out[2]).all(|(a, b)| a == b), "sample for sample");
}

#[test]
fn a_plugin_that_changes_its_latency_is_restarted_and_compensated_again() {
    let node = instrument(None);
    let health = node.health();
    let latent: Arc<dyn NodeDescription> = Arc::new(node);
    let mut rig = latent_and_dry(latent.clone());
    let out = rig.render(4_800, &[note_on(1_000, 0, 69, 127), note_off(2_000, 0, 69)]);
    assert_eq!(first_onset(&out[0], 1e-6), Some(1_001));
    assert_eq!(first_onset(&out[2], 1e-6), Some(1_001));

    // Its Latency parameter changes while it plays: it asks to be restarted, the audio thread
    // hands it to its main thread, which activates it again; its new latency is then the
    // node's, and the engine compiles again for it at its next maintenance.
    rig.engine().set_param(NodeId(PLUGIN), ParamId(1), 480.0, None).unwrap();
    // The restart runs on the plugin's own thread: render (each block calls maintenance) until
    // the engine has compiled for the new latency.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rig.engine().plan().latency_frames() != 480 {
        assert!(std::time::Instant::now() < deadline, "restarted and compensated within 30 s");
        rig.render(256, &[]);
        std::thread::yield_now();
    }
    assert_eq!(latent.latency_frames(), 480);
    assert_eq!(health.failed_calls.load(Ordering::Relaxed), 0, "silent while restarting, not failing");
    let at = rig.renderer().position_frames() + 1_000;
    let out = rig.render(24_000, &[note_on(at, 0, 69, 127)]);
    let start = at - 1_000;
    let (latent, dry) = (first_onset(&out[0], 1e-6).unwrap(), first_onset(&out[2], 1e-6).unwrap());
    assert_eq!(latent, dry, "the branches line up again");
    assert_eq!(start + latent as u64, at + 1 + 480, "both come out the new latency late");
    assert!(out[0].iter().zip(&out[2]).all(|(a, b)| a == b), "sample for sample");
}

#[test]
fn state_restores_parameters_and_saves_them_back() {
    let node = instrument(Some(state(0.25, 0, 0)));
    let saved = node.save_state().unwrap();
    assert_eq!(saved, state(0.25, 0, 0));
    let (mut rig, _) = playing(node, 256);
    let out = rig.render(24_000, &[note_on(0, 0, 69, 127)]);
    let level = rms(&out[0][1_000..20_000]);
    assert!((level - 0.25 / 2f32.sqrt()).abs() < 0.005, "gain 0.25 restored: rms {level}");
    let refused = ClapNode::new(&test_instrument_library(), TEST_INSTRUMENT_ID, Some(b"garbage!garbage!".to_vec()));
    let error = refused.err().expect("a bad state is refused").to_string();
    assert!(error.contains("state loading"), "{error}");
}

#[test]
fn a_plugin_emitting_nan_is_muted_and_the_rest_of_the_mix_plays_on() {
    let node = instrument(Some(state(0.5, 0, 1)));
    let health = node.health();
    let mut rig = Rig::stereo(256);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        add_shared(PLUGIN, Arc::new(node), vec![]),
        add(4, "tone", TestTone::new(1_000.0, 0.25)),
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, PLUGIN, 0),
        connect(PLUGIN, 0, OUT, 0),
        connect(4, 0, OUT, 0),
    ]);
    let out = rig.render(24_000, &[note_on(0, 0, 69, 127)]);
    assert!(out.iter().flatten().all(|s| s.is_finite()), "no NaN reaches the output");
    let hz = peak_frequency_hz(&out[0][2_000..22_000], SR);
    assert!((hz - 1_000.0).abs() < 1.0 && (rms(&out[0]) - 0.25 / 2f32.sqrt()).abs() < 0.01, "the tone alone: {hz} Hz");
    assert!(health.nonfinite_blocks.load(Ordering::Relaxed) > 0, "the muted blocks are counted");
}

#[test]
fn removing_a_hosted_node_mid_note_releases_it_and_lets_its_tail_ring() {
    let node = instrument(None);
    assert_eq!(node.tail_frames(), RELEASE_FRAMES, "its tail: its release (no latency)");
    // What the plugin plays when its note is released at frame 12 000.
    let (mut reference, _) = playing(instrument(None), 256);
    let released = reference.render(24_000, &[note_on(0, 0, 69, 127), note_off(12_000, 0, 69)]);

    let (mut rig, node) = playing(node, 256);
    let out = rig.render(12_000, &[note_on(0, 0, 69, 127)]);
    assert!(rms(&out[0][2_000..]) > 0.3);
    rig.apply(vec![Edit::RemoveNode { id: NodeId(PLUGIN) }]);
    let after = rig.render(12_000, &[]);
    let tail = RELEASE_FRAMES as usize;
    assert!(rms(&after[0][..tail / 2]) > 0.1, "still sounding as its tail rings");
    assert_eq!(after[0][..tail], released[0][12_000..12_000 + tail], "its note released, its release heard whole");
    assert!(after[0][tail..].iter().all(|s| *s == 0.0), "then gone");
    rig.engine().maintain();
    assert!(rig.engine().is_settled(), "removed once its tail and fade are over");
    // The processor came back and was deactivated on the plugin's thread: a new one activates.
    let (mut again, _) = playing(instrument(None), 256);
    assert!(rms(&again.render(12_000, &[note_on(0, 0, 69, 127)])[0][2_000..]) > 0.3);
    drop(node);
}

#[test]
fn changes_the_plugin_makes_itself_reach_the_control_side_and_are_not_sent_back() {
    let (mut rig, node) = playing(instrument(None), 256);
    let (gain, fault) = (ParamId(0), ParamId(2));
    let level = |out: &[Vec<f32>]| peak(&out[0]);
    // CC 7 is the plugin's own gain control: at frame 6 000 it turns itself up to 1.
    let out = rig.render(12_000, &[note_on(0, 0, 69, 127), cc(6_000, 0, GAIN_CC, 127)]);
    assert!((peak(&out[0][2_000..6_000]) - 0.5).abs() < 0.01, "gain 0.5 before");
    assert!((peak(&out[0][6_000..6_110]) - 1.0).abs() < 0.01, "gain 1 from the frame of its change");
    let changes = node.take_own_param_changes();
    assert_eq!(changes, vec![(gain, 1.0)], "reported to the control side");
    assert!(node.take_own_param_changes().is_empty(), "once");
    // The control side records it (as `serve` does): the graph says 1, nothing is sent back.
    rig.engine().record_param(NodeId(PLUGIN), gain, 1.0).unwrap();
    assert_eq!(rig.engine().graph().node(NodeId(PLUGIN)).unwrap().params()[0], 1.0);

    // It turns itself to 64/127; a change of another parameter meanwhile (the engine still
    // holds an older gain) leaves its gain alone.
    let half = 64.0 / 127.0;
    rig.render(4_000, &[cc(14_000, 0, GAIN_CC, 64)]);
    assert_eq!(node.take_own_param_changes(), vec![(gain, half)]);
    rig.engine().set_param(NodeId(PLUGIN), fault, 0.0, None).unwrap();
    let out = rig.render(4_000, &[]);
    assert!((level(&out) - half).abs() < 0.01, "its own gain stays: peak {}", level(&out));
    // Undoing its first change sets the gain the engine had before: the plugin follows, even
    // though the engine's value did not move (it only recorded the plugin's change).
    rig.engine().set_param(NodeId(PLUGIN), gain, 0.5, None).unwrap();
    let out = rig.render(4_000, &[]);
    assert!((level(&out) - 0.5).abs() < 0.01, "back to 0.5: peak {}", level(&out));
    // A change from the control side reaches it at its frame, as always.
    let at = rig.renderer().position_frames() + 1_000;
    rig.engine().set_param(NodeId(PLUGIN), gain, 0.25, Some(at)).unwrap();
    let out = rig.render(4_000, &[]);
    assert!((peak(&out[0][..1_000]) - 0.5).abs() < 0.01 && (peak(&out[0][1_000..]) - 0.25).abs() < 0.01);
    assert!(node.take_own_param_changes().is_empty(), "our own changes are not reported as the plugin's");
}

#[test]
fn the_plugins_note_output_is_an_event_output() {
    let node: Arc<dyn NodeDescription> = Arc::new(instrument(None));
    let notes_out = node.ports().outputs.iter().position(|p| p.name == "notes").expect("a notes output") as u16;
    let mut rig = Rig::stereo(256);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        add_shared(PLUGIN, node, vec![]),
        add(4, "probe", EventProbe::new()),
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, PLUGIN, 0),
        connect(PLUGIN, notes_out, 4, 0),
        connect(4, 0, OUT, 0),
    ]);
    let out = rig.render(4_800, &[note_on(1_000, 2, 60, 100), note_off(3_000, 2, 60)]);
    // The instrument echoes each note an octave up, at its frame.
    let code = EventProbe::code(2, 60 + ECHO_SEMITONES as u8);
    assert!(out[1][..1_000].iter().all(|s| *s == 0.0));
    assert!(out[1][1_000..3_000].iter().all(|s| *s == code), "C5 on channel 3 held from frame 1 000");
    assert!(out[1][3_000..].iter().all(|s| *s == 0.0), "released at frame 3 000");
}

/// Note expressions reach a hosted plugin as CLAP note expressions, and the ones it sends come
/// back out as ours: the instrument echoes a tuning expression with its echoed note (an octave
/// up), and a sampler behind it bends that note alone.
#[test]
fn note_expressions_go_to_the_plugin_and_come_back_from_it_as_clap_note_expressions() {
    use noderack_graph::{EventData, ExpressionKind, NodeId, NoteExpression};
    use noderack_nodes::sampler::Sampler;
    use noderack_presets::instrument::Bank;
    let node: Arc<dyn NodeDescription> = Arc::new(instrument(None));
    let notes_out = node.ports().outputs.iter().position(|p| p.name == "notes").expect("a notes output") as u16;
    let bank = Bank::single(noderack_tests::fixtures::instrument_of(vec![noderack_tests::fixtures::a440(48_000, 2.0)]));
    let mut rig = Rig::stereo(256);
    rig.apply(vec![
        add(KEYS, "keys", MidiIn::new()),
        add_shared(PLUGIN, node, vec![]),
        add(4, "sampler", Sampler::new(Some(Arc::new(bank)), 8)),
        add(OUT, "out", Output::new("main", 2)),
        connect(KEYS, 0, PLUGIN, 0),
        connect(PLUGIN, notes_out, 4, 0),
        connect(4, 0, OUT, 0),
    ]);
    // A3 and E4 go in; the plugin echoes A4 and E5 to the sampler. A3 is retuned +2 semitones.
    let tuning = EventData::Expression(NoteExpression {
        channel: 0,
        key: 57,
        kind: ExpressionKind::TuningSemitones,
        value: 2.0,
    });
    rig.engine().send_event(NodeId(KEYS), tuning, Some(9_600)).unwrap();
    let out = rig.render(38_400, &[note_on(0, 0, 57, 127), note_on(0, 0, 64, 127)]).swap_remove(0);
    let band = |x: &[f32], hz: f32| noderack_tests::analysis::band_energy(x, 48_000.0, hz * 0.98, hz * 1.02);
    let (before, after) = (&out[1_000..9_600], &out[14_400..38_400]);
    let (a4, b4, e5) = (440.0, 440.0 * (2.0f32 / 12.0).exp2(), 440.0 * (7.0f32 / 12.0).exp2());
    assert!(band(before, a4) > 10.0 * band(before, b4), "A4 at its pitch before the expression");
    assert!(band(after, b4) > 100.0 * band(after, a4), "the echoed A4 is retuned to B4 after it");
    assert!(band(after, e5) > 0.2 * band(after, b4), "E5 plays on untouched");
}

#[test]
fn zam_comp_x2_turns_a_loud_signal_down() {
    let Some(path) = system_plugin("ZamCompX2.clap") else { return };
    let node = ClapNode::new(&path, "com.zamaudio.ZamCompX2", None).unwrap_or_else(|e| panic!("{e}"));
    let param = |name: &str| {
        ParamId(node.params().iter().position(|p| p.name == name).unwrap_or_else(|| panic!("{name}")) as u32)
    };
    let (threshold, ratio) = (param("threshold"), param("ratio"));
    let render = |compress: bool| {
        let mut rig = Rig::stereo(256);
        let node = ClapNode::new(&path, "com.zamaudio.ZamCompX2", None).unwrap();
        let params = if compress { vec![(threshold, -30.0), (ratio, 20.0)] } else { vec![] };
        rig.apply(vec![
            add(4, "tone", TestTone::new(500.0, 0.9)),
            Edit::AddNode { id: NodeId(PLUGIN), label: "comp".into(), description: Arc::new(node), params },
            add(OUT, "out", Output::new("main", 2)),
            connect(4, 0, PLUGIN, 0),
            connect(PLUGIN, 0, OUT, 0),
        ]);
        let out = rig.render(96_000, &[]);
        rms(&out[0][48_000..])
    };
    let (open, compressed) = (render(false), render(true));
    let reduction_db = 20.0 * (open / compressed).log10();
    assert!(open > 0.5, "at threshold 0 dB the tone passes: rms {open}");
    assert!(reduction_db > 12.0, "threshold −30 dB, ratio 20: {reduction_db:.1} dB less");
    drop(node);
}

#[test]
fn our_code_around_the_plugin_allocates_nothing_on_the_audio_thread() {
    let node: Arc<dyn NodeDescription> = Arc::new(instrument(None));
    let (mut engine, mut executor) = new_engine(EngineConfig::stereo(SR));
    engine
        .apply(vec![
            add(KEYS, "keys", MidiIn::new()),
            add_shared(PLUGIN, node.clone(), vec![]),
            add(4, "probe", EventProbe::new()),
            add(OUT, "out", Output::new("main", 2)),
            connect(KEYS, 0, PLUGIN, 0),
            connect(PLUGIN, 0, OUT, 0),
            connect(PLUGIN, 1, 4, 0),
            connect(4, 0, OUT, 0),
        ])
        .unwrap();
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    // The first block starts processing (the plugin may allocate then, once).
    executor.process(HostBlock::new(256, &mut [&mut left[..], &mut right[..]]));
    let before = violation_count();
    let mut loudest = 0.0f32;
    for block in 0..200u32 {
        let key = 48 + (block % 24) as u8;
        let midi = [
            Event::midi(block % 200, MidiMessage::NoteOn { channel: 0, key, velocity: 100 }),
            Event::midi(210, MidiMessage::ControlChange { channel: 0, controller: 1, value: 64 }),
            // The plugin's own gain control: reported back, through a queue.
            Event::midi(
                220,
                MidiMessage::ControlChange { channel: 0, controller: GAIN_CC, value: 40 + block as u8 % 80 },
            ),
            Event::midi(250, MidiMessage::NoteOff { channel: 0, key: key.wrapping_sub(3), velocity: 0 }),
        ];
        if block % 10 == 5 && block < 150 {
            engine
                .set_param(NodeId(PLUGIN), ParamId(0), 0.2 + (block % 7) as f32 * 0.1, Some(block as u64 * 256 + 300))
                .unwrap();
        }
        let mut outs: [&mut [f32]; 2] = [&mut left, &mut right];
        assert_no_alloc(|| executor.process(HostBlock::new(256, &mut outs).with_midi(&midi)));
        loudest = loudest.max(rms(&left));
        engine.maintain();
        for (param, value) in node.take_own_param_changes() {
            if block < 150 {
                engine.set_param(NodeId(PLUGIN), param, value, None).unwrap();
            }
        }
        if block == 150 {
            // Removed: its inputs cut, its tail rung, then handed back.
            engine.apply(vec![Edit::RemoveNode { id: NodeId(PLUGIN) }]).unwrap();
        }
    }
    assert_eq!(violation_count(), before, "the audio thread allocated");
    assert!(loudest > 0.05, "the plugin played");
    assert!(engine.is_settled(), "the removal completed");
}

/// `source` → plugin `id` (of `file`, with parameters `params` by name) → out, for `frames`.
fn through(file: &str, id: &str, source: TestTone, params: &[(&str, f32)], frames: u64) -> Option<Vec<Vec<f32>>> {
    let path = system_plugin(file)?;
    let node = ClapNode::new(&path, id, None).unwrap_or_else(|e| panic!("{e}"));
    let channels = node.ports().outputs[0].kind;
    let params = params
        .iter()
        .map(|(name, value)| {
            let index = node.params().iter().position(|p| p.name == *name).unwrap_or_else(|| panic!("no {name}"));
            (ParamId(index as u32), *value)
        })
        .collect();
    let bus = match channels {
        noderack_graph::PortKind::Audio { channels } => channels,
        _ => unreachable!("an audio output"),
    };
    let config = EngineConfig {
        sample_rate: SR,
        max_block_frames: 256,
        buses: vec![BusSpec { name: "main".into(), channels: bus }],
        inputs: vec![],
    };
    let mut rig = Rig::new(config, 256);
    rig.apply(vec![
        add(4, "source", source),
        Edit::AddNode { id: NodeId(PLUGIN), label: "fx".into(), description: Arc::new(node), params },
        add(OUT, "out", Output::new("main", bus)),
        connect(4, 0, PLUGIN, 0),
        connect(PLUGIN, 0, OUT, 0),
    ]);
    Some(rig.render(frames, &[]))
}

#[test]
fn zam_comp_turns_a_loud_mono_signal_down() {
    let loud = || TestTone::new(500.0, 0.9).mono();
    let Some(open) = through("ZamComp.clap", "com.zamaudio.ZamComp", loud(), &[], 96_000) else { return };
    let compressed =
        through("ZamComp.clap", "com.zamaudio.ZamComp", loud(), &[("threshold", -30.0), ("ratio", 20.0)], 96_000)
            .unwrap();
    let (open, compressed) = (rms(&open[0][48_000..]), rms(&compressed[0][48_000..]));
    let reduction_db = 20.0 * (open / compressed).log10();
    assert!(open > 0.5, "at threshold 0 dB the tone passes: rms {open}");
    assert!(reduction_db > 12.0, "threshold −30 dB, ratio 20: {reduction_db:.1} dB less");
    // Mono ports, the side-chain as a second input.
    let node = ClapNode::new(&system_plugin("ZamComp.clap").unwrap(), "com.zamaudio.ZamComp", None).unwrap();
    let ports =
        |specs: &[noderack_graph::PortSpec]| specs.iter().map(|p| (p.name.to_string(), p.kind)).collect::<Vec<_>>();
    let mono = noderack_graph::PortKind::Audio { channels: 1 };
    assert_eq!(ports(&node.ports().inputs), [("in".to_string(), mono), ("sidechain_input".to_string(), mono)]);
    assert_eq!(ports(&node.ports().outputs), [("out".to_string(), mono)]);
}

#[test]
fn zam_delay_gives_a_delayed_copy_at_its_time() {
    // A 10 ms burst at frame 1 000; fully wet, no feedback, the filter open, 100 ms of delay.
    let burst = TestTone::new(1_000.0, 0.5).mono().burst(1_000, 480);
    let params = [("time", 100.0), ("dry_wet", 1.0), ("feedback", 0.0), ("lpf", 20_000.0)];
    let Some(out) = through("ZamDelay.clap", "com.zamaudio.ZamDelay", burst, &params, 24_000) else { return };
    let onset = first_onset(&out[0], 0.01).expect("the copy is heard");
    assert!((onset as i64 - (1_000 + 4_800)).abs() <= 48, "the copy starts at frame {onset}, not 5 800 ± 1 ms");
    assert!(rms(&out[0][onset..onset + 480]) > 0.2, "the copy is at about the burst's level");
}

#[test]
fn zam_verb_leaves_a_tail() {
    let burst = || TestTone::new(800.0, 0.5).burst(0, 4_800);
    let Some(wet) =
        through("ZamVerb.clap", "com.zamaudio.ZamVerb", burst(), &[("wet_dry", 100.0), ("room", 3.0)], 48_000)
    else {
        return;
    };
    let dry = through("ZamVerb.clap", "com.zamaudio.ZamVerb", burst(), &[("wet_dry", 0.0)], 48_000).unwrap();
    // 50–250 ms after the burst ended, the input is silent: only a reverb sounds.
    let tail = |out: &[Vec<f32>]| rms(&out[0][7_200..16_800]);
    assert!(tail(&wet) > 1e-3, "the reverb rings on: rms {}", tail(&wet));
    assert!(tail(&dry) < tail(&wet) / 10.0, "dry, it stops with the input: rms {}", tail(&dry));
}
