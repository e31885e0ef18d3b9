//! The real-time proof on real audio threads: a backend's own thread owns the executor (the
//! null backend's, and JACK's process thread), while this test's thread edits as a control
//! server would: adds and removes nodes, grows the slot table, swaps sampler instruments,
//! lets the return queues fill up with plans the executor must refuse and parcels, and
//! overfills the pending list. Every callback runs inside `assert_no_alloc`, whose counting allocator is this
//! binary's global allocator: the audio thread allocates and frees nothing, and everything it
//! lets go of (plans, processors, parcels, the last reference to shared data) is freed on the
//! control thread — counted, never leaked.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use noderack_graph::limits::{PARCEL_QUEUE_CAPACITY, PENDING_MESSAGE_CAPACITY, RETURN_QUEUE_CAPACITY};
use noderack_graph::{
    new_engine, BusSpec, CcBinding, Edit, Engine, EngineConfig, EngineError, MidiMessage, NodeId, ParamId, Parcel,
};
use noderack_host::live::jack_backend::JackBackend;
use noderack_host::live::null::NullBackend;
use noderack_host::live::scope::Scope;
use noderack_host::live::{
    midi_queue, AudioDriver, Health, Layout, LiveMidi, LiveOptions, MidiNode, MidiSender, MidiTarget, MidiTime,
    OpenBackend,
};
use noderack_nodes::sampler::SamplerProgram;
use noderack_nodes::{Gain, MidiIn, Mixer, Output, Sampler, Synth};
use noderack_presets::instrument::Bank;
use noderack_tests::fixtures::{a440, instrument_of};
use noderack_tests::holder::{DropLog, Holder, Tracked};
use noderack_tests::jack::JackServer;
use noderack_tests::rig::{add, connect};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

/// Allocations seen inside callbacks (the audio thread's count, which only grows).
static AUDIO_ALLOCATIONS: AtomicU32 = AtomicU32::new(0);

/// The guard every callback runs in.
fn count_allocations(callback: &mut dyn FnMut()) {
    assert_no_alloc(callback);
    AUDIO_ALLOCATIONS.fetch_max(violation_count(), Ordering::Relaxed);
}

const SR: f32 = 48_000.0;
const KEYS: u64 = 1;
const MIX: u64 = 3;
const SAMPLER: u64 = 5;
const HOLDER: u64 = 7;

fn initial_graph() -> Vec<Edit> {
    let bank = Arc::new(Bank::single(instrument_of(vec![a440(48_000, 1.0)])));
    vec![
        add(KEYS, "keys", MidiIn::new()),
        add(2, "lead", Synth::new(16)),
        add(MIX, "mix", Mixer::new(4)),
        add(4, "out", Output::new("main", 2)),
        add(SAMPLER, "sampler", Sampler::new(Some(bank), 16)),
        add(6, "gain", Gain::new()),
        add(HOLDER, "holder", Holder::new()),
        connect(KEYS, 0, 2, 0),
        connect(KEYS, 0, SAMPLER, 0),
        connect(2, 0, MIX, 0),
        connect(SAMPLER, 0, 6, 0),
        connect(6, 0, MIX, 1),
        connect(MIX, 0, 4, 0),
    ]
}

/// The control thread's side of a running session.
struct Control {
    engine: Engine,
    health: Arc<Health>,
    keys: MidiSender,
    block_frames: u64,
}

impl Control {
    /// Waits until the audio thread has rendered `blocks` more blocks, maintaining if asked.
    fn wait_blocks(&mut self, blocks: u64, maintain: bool) {
        let target = self.health.executor().frames() + blocks * self.block_frames;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.health.executor().frames() < target {
            assert!(Instant::now() < deadline, "the audio thread stopped");
            if maintain {
                self.engine.maintain();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if maintain {
            self.engine.maintain();
        }
    }

    /// A control change from the device, as a knob turned.
    fn cc(&mut self, controller: u8, value: u8) {
        let message = MidiMessage::ControlChange { channel: 0, controller, value };
        assert!(self.keys.send(LiveMidi { time: MidiTime::Now, target: MidiTarget::All, message }));
    }

    fn note(&mut self, key: u8, on: bool) {
        let message = if on {
            MidiMessage::NoteOn { channel: 0, key, velocity: 100 }
        } else {
            MidiMessage::NoteOff { channel: 0, key, velocity: 0 }
        };
        assert!(self.keys.send(LiveMidi { time: MidiTime::Now, target: MidiTarget::All, message }));
    }
}

/// What a session saw.
struct Outcome {
    callbacks: u64,
    allocations: u32,
}

/// Runs the scripted session on `backend` and checks everything but the allocation count,
/// which the caller checks (the counters are per test binary).
fn run_session(backend: Box<dyn OpenBackend>) -> Outcome {
    let sample_rate = backend.sample_rate();
    let block_frames = backend.block_frames() as u64;
    let config = EngineConfig { sample_rate: sample_rate as f32, ..EngineConfig::stereo(SR) };
    let (mut engine, executor) = new_engine(config);
    engine.apply(initial_graph()).unwrap();
    let health = Arc::new(Health::new(&[BusSpec::stereo("main")], sample_rate, engine.status().clone()));
    let (keys, queue) = midi_queue(1024, health.clone());
    // The scope's ring is drained only at the end: the audio thread meets it with room, then full.
    let (mut scope, scope_tap) = Scope::new(2, 1024, 4096);
    let driver = AudioDriver::new(executor, sample_rate, health.clone(), vec![queue])
        .with_scope(scope_tap)
        .with_guard(count_allocations);
    let running = backend.start(driver).expect("backend starts");
    let mut c = Control { engine, health, keys, block_frames };
    let log: DropLog = Arc::new(Mutex::new(Vec::new()));
    c.wait_blocks(4, true);

    // 1. Notes, nodes added and removed under sound.
    for round in 0..12u64 {
        c.note(60 + (round % 12) as u8, true);
        let id = 100 + round;
        c.engine.apply(vec![add(id, "extra", Synth::new(8)), connect(KEYS, 0, id, 0), connect(id, 0, MIX, 2)]).unwrap();
        c.wait_blocks(2, true);
        c.note(60 + (round % 12) as u8, false);
        c.engine.apply(vec![Edit::RemoveNode { id: NodeId(id) }]).unwrap();
        c.engine.set_param(NodeId(MIX), ParamId(0), -3.0 - (round % 5) as f32, None).unwrap();
        // MIDI learn: a knob bound to the sampler's gain (a new map is a new plan), turned.
        let knob = CcBinding {
            channel: None,
            controller: 74,
            node: NodeId(6),
            param: ParamId(0),
            min: -12.0 - round as f32,
            max: 0.0,
            stepped: false,
        };
        c.engine.apply(vec![Edit::SetCcMap(vec![knob])]).unwrap();
        c.cc(74, (round * 10) as u8);
        c.wait_blocks(2, true);
    }
    assert_eq!(c.health.executor().last_cc().map(|s| s.value), Some(110), "the knob's turns arrived");
    assert!(c.health.report().bus_max[0].1 > 0.01, "the session makes sound");

    // 2. The slot table grows: 80 nodes at once.
    let many: Vec<Edit> = (0..80).map(|i| add(1000 + i, "g", Gain::new())).collect();
    c.engine.apply(many).unwrap();
    c.wait_blocks(3, true);
    c.engine.apply((0..80).map(|i| Edit::RemoveNode { id: NodeId(1000 + i) }).collect()).unwrap();
    c.wait_blocks(3, true);

    // 3. Sampler instruments swapped while it plays.
    let banks = [0.5, 1.0].map(|seconds| Arc::new(Bank::single(instrument_of(vec![a440(48_000, seconds)]))));
    for i in 0..20 {
        c.note(69, i % 2 == 0);
        let program = SamplerProgram::new(banks[i % 2].clone(), sample_rate as f32);
        c.engine.send_parcel(NodeId(SAMPLER), Parcel::new(program)).unwrap();
        c.wait_blocks(1, true);
    }
    c.note(69, false);

    // 4. Shared data: the last reference to an `Arc` held by a processor is dropped on the
    //    control thread (the processor retires it; nothing is freed where it lets go).
    for _ in 0..5 {
        let shared = Arc::new(Tracked::new(&log));
        c.engine.send_parcel(NodeId(HOLDER), Parcel::new(shared.clone())).unwrap();
        drop(shared); // the processor's copy is now the last one
        c.wait_blocks(1, true);
    }

    // 5. The control thread is away (no `maintain`) while plans keep coming: plans that do not
    //    fit, which the executor refuses and returns, until the return queue is full (the
    //    engine never has more plans in flight than that queue holds); and parcels, which the
    //    holder takes and retires until the parcel queue is full, the rest waiting in the
    //    command queue. The previous plan plays on throughout.
    c.note(64, true);
    let freed_before = log.lock().unwrap().len();
    let mut refused = 0;
    loop {
        match c.engine.inject_unfit_plan() {
            Ok(()) => refused += 1,
            Err(EngineError::TooManyPlansInFlight) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let parcels = PARCEL_QUEUE_CAPACITY + 300;
    for _ in 0..parcels {
        c.engine.send_parcel(NodeId(HOLDER), Parcel::new(Tracked::new(&log))).unwrap();
    }
    c.wait_blocks(8, false);
    assert_eq!(c.engine.status().rejected_plans(), refused);
    assert!(refused as usize >= RETURN_QUEUE_CAPACITY - 4, "the return queue filled up ({refused} plans)");
    assert_eq!(log.lock().unwrap().len(), freed_before, "nothing freed while the control thread is away");
    assert!(c.health.report().bus_peaks[0].1 > 0.01, "the previous plan plays on");
    c.wait_blocks(8, true);
    c.note(64, false);
    assert_eq!(
        log.lock().unwrap().len(),
        5 + parcels - 1,
        "every parcel but the one the holder keeps is back and freed"
    );

    // 6. The pending list overflows: timed changes for a far frame beyond its capacity are
    //    dropped and counted (they are plain values: nothing to free).
    let far = c.health.executor().frames() + 1_000_000_000;
    let mut queued = 0;
    while queued < PENDING_MESSAGE_CAPACITY + 1000 {
        match c.engine.set_param(NodeId(MIX), ParamId(0), -6.0, Some(far)) {
            Ok(()) => queued += 1,
            Err(EngineError::QueueFull(_)) => c.wait_blocks(1, true),
            Err(e) => panic!("{e}"),
        }
    }
    c.wait_blocks(4, true);
    assert_eq!(c.engine.status().dropped_messages(), 1000);

    let driver = running.stop().expect("the backend gives the driver back");
    assert_eq!(scope.snapshot().len(), 1024, "the scope saw the start of the session");
    let status = c.engine.status().clone();
    assert_eq!(status.leaked_plans(), 0);
    assert_eq!(status.leaked_parcels(), 0);
    drop(driver); // the executor, with what it still holds, is freed here
    c.engine.maintain();
    let me = std::thread::current().id();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5 + parcels, "every parcel freed, the kept one with the executor");
    assert!(log.iter().all(|t| *t == me), "every parcel and shared value freed on the control thread");
    Outcome { callbacks: c.health.report().callbacks, allocations: AUDIO_ALLOCATIONS.load(Ordering::Relaxed) }
}

fn layout() -> Layout {
    Layout {
        outputs: vec![BusSpec::stereo("main")],
        inputs: vec![],
        midi_nodes: vec![MidiNode { id: NodeId(KEYS), name: "keys".into() }],
    }
}

#[test]
fn the_null_backends_audio_thread_never_allocates_while_the_control_thread_edits() {
    let outcome = run_session(Box::new(NullBackend::new(48_000, 64, layout())));
    assert!(outcome.callbacks >= 100, "{} callbacks", outcome.callbacks);
    assert_eq!(outcome.allocations, 0, "the audio thread allocated or freed");
}

#[test]
fn jacks_process_thread_never_allocates_while_the_control_thread_edits() {
    let Some(_server) = JackServer::start(128) else { return };
    let options = LiveOptions { client_name: "rt-proof".into(), ..LiveOptions::default() };
    let backend = JackBackend::open(&options, &layout()).expect("JACK client");
    let outcome = run_session(Box::new(backend));
    assert!(outcome.callbacks >= 100, "{} callbacks", outcome.callbacks);
    assert_eq!(outcome.allocations, 0, "the audio thread allocated or freed");
}
