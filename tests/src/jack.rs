//! JACK for tests: a server of the test's own on the dummy backend (no sound card, paced like
//! one), a recording client that captures ports with their frame times, and a MIDI client that
//! sends a note at a chosen frame. Tests that need JACK skip when `jackd` is not installed
//! (`SKIPPED` on stderr), except under CI, which installs it.
//!
//! libjack picks its server from `JACK_DEFAULT_SERVER`, which is process-wide; so one test of a
//! binary at a time holds a server (the others wait for it).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::wait_until;
use jack::{AudioIn, Client, ClientOptions, Control, MidiOut, ProcessScope, RawMidi};

static ONE_SERVER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long a server or a client may take to appear.
const STARTUP: Duration = Duration::from_secs(15);

/// A `jackd -d dummy` server of this test's own, stopped when dropped.
pub struct JackServer {
    name: String,
    child: Option<Child>,
    _turn: MutexGuard<'static, ()>,
}

impl JackServer {
    /// Starts a dummy server at 48 kHz with `period_frames` blocks and waits until it answers;
    /// `None` (the test is skipped) where `jackd` is not installed, except under CI.
    pub fn start(period_frames: u32) -> Option<JackServer> {
        crate::system_tool("jackd", "jackd2")?;
        let turn = ONE_SERVER_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let name = format!("noderack-test-{}", std::process::id());
        let child = Command::new("jackd")
            .args(["-n", &name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", &period_frames.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("jackd starts");
        // SAFETY (of the environment change): every test that touches JACK holds the lock taken
        // above, and nothing else in a test process reads this variable.
        std::env::set_var("JACK_DEFAULT_SERVER", &name);
        let server = JackServer { name, child: Some(child), _turn: turn };
        wait_until(STARTUP, "jackd coming up", || Client::new("probe", ClientOptions::NO_START_SERVER).ok());
        Some(server)
    }

    /// The server's name (for `JACK_DEFAULT_SERVER` of child processes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the server with SIGTERM, as a user or a session manager would, and waits for it.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: sends a signal to our own child process, which has not been waited for.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// A client to look at the server with (ports, connections, buffer size).
    pub fn client(&self, name: &str) -> Client {
        Client::new(name, ClientOptions::NO_START_SERVER).expect("the test server answers").0
    }

    /// Waits until a port named `port` exists.
    pub fn wait_for_port(&self, port: &str) {
        let client = self.client("port-watch");
        wait_until(STARTUP, format!("port {port} appearing"), || client.port_by_name(port));
    }
}

impl Drop for JackServer {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// What a [`JackRecorder`] captured: each port's samples from frame `first_frame` of the
/// server's frame clock on.
pub struct Recording {
    /// JACK frame time of the first sample.
    pub first_frame: u64,
    /// One vector per port, in the order the ports were given.
    pub channels: Vec<Vec<f32>>,
}

struct Capture {
    ports: Vec<jack::Port<AudioIn>>,
    rings: Vec<rtrb::Producer<f32>>,
    first_frame: Arc<AtomicU64>,
}

impl jack::ProcessHandler for Capture {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        if self.first_frame.load(Ordering::Acquire) == u64::MAX {
            self.first_frame.store(ps.last_frame_time() as u64, Ordering::Release);
        }
        for (port, ring) in self.ports.iter().zip(self.rings.iter_mut()) {
            for &s in port.as_slice(ps) {
                let _ = ring.push(s);
            }
        }
        Control::Continue
    }
}

/// A client recording JACK output ports.
pub struct JackRecorder {
    active: jack::AsyncClient<(), Capture>,
    rings: Vec<rtrb::Consumer<f32>>,
    first_frame: Arc<AtomicU64>,
}

impl JackRecorder {
    /// Records `sources` (full port names) for up to `seconds`.
    pub fn start(sources: &[&str], seconds: f64) -> JackRecorder {
        let (client, _) = Client::new("recorder", ClientOptions::NO_START_SERVER).expect("recorder client");
        let capacity = (48_000.0 * seconds) as usize;
        let mut ports = Vec::new();
        let (mut producers, mut consumers) = (Vec::new(), Vec::new());
        for i in 0..sources.len() {
            ports.push(client.register_port(&format!("in_{i}"), AudioIn::default()).expect("port"));
            let (p, c) = rtrb::RingBuffer::new(capacity);
            producers.push(p);
            consumers.push(c);
        }
        let ours: Vec<String> = ports.iter().map(|p| p.name().unwrap()).collect();
        let first_frame = Arc::new(AtomicU64::new(u64::MAX));
        let capture = Capture { ports, rings: producers, first_frame: first_frame.clone() };
        let active = client.activate_async((), capture).expect("recorder runs");
        for (source, ours) in sources.iter().zip(&ours) {
            active.as_client().connect_ports_by_name(source, ours).unwrap_or_else(|e| panic!("{source}: {e}"));
        }
        JackRecorder { active, rings: consumers, first_frame }
    }

    /// Waits until `frames` frames have been recorded (panics after a timeout).
    pub fn wait_frames(&self, frames: usize) {
        let limit = Duration::from_secs_f64(frames as f64 / 48_000.0 * 3.0 + 10.0);
        wait_until(limit, format!("{frames} frames recorded"), || {
            self.rings.iter().all(|r| r.slots() >= frames).then_some(())
        });
    }

    /// Frames recorded so far (of the first port).
    pub fn frames(&self) -> usize {
        self.rings[0].slots()
    }

    /// Stops and returns what was recorded.
    pub fn finish(mut self) -> Recording {
        let _ = self.active.deactivate();
        let channels = self
            .rings
            .iter_mut()
            .map(|ring| {
                let n = ring.slots();
                let chunk = ring.read_chunk(n).expect("slots");
                let (a, b) = chunk.as_slices();
                let v = [a, b].concat();
                chunk.commit_all();
                v
            })
            .collect();
        Recording { first_frame: self.first_frame.load(Ordering::Acquire), channels }
    }
}

struct Sender {
    port: jack::Port<MidiOut>,
    /// Frame time of the note-on to send (u64::MAX: none), then of the one sent.
    at: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    message: [u8; 3],
}

impl jack::ProcessHandler for Sender {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let mut writer = self.port.writer(ps);
        let at = self.at.load(Ordering::Acquire);
        let start = ps.last_frame_time() as u64;
        if at != u64::MAX && at >= start && at < start + ps.n_frames() as u64 {
            let time = (at - start) as u32;
            if writer.write(&RawMidi { time, bytes: &self.message }).is_ok() {
                self.sent.store(at, Ordering::Release);
                self.at.store(u64::MAX, Ordering::Release);
            }
        }
        Control::Continue
    }
}

/// A client that sends one MIDI message at a chosen JACK frame.
pub struct JackMidiSender {
    active: jack::AsyncClient<(), Sender>,
    at: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
}

impl JackMidiSender {
    /// A client with one MIDI output connected to `destination`, sending `message` when asked.
    pub fn start(destination: &str, message: [u8; 3]) -> JackMidiSender {
        let sender = Self::open(message);
        let ours = sender.active.as_client().name().to_string() + ":out";
        sender
            .active
            .as_client()
            .connect_ports_by_name(&ours, destination)
            .unwrap_or_else(|e| panic!("{destination}: {e}"));
        sender
    }

    /// A client named `midi-sender` with an unconnected MIDI output `out` (a keyboard that
    /// others connect to), sending a note-on (A4) when asked.
    pub fn start_unconnected() -> JackMidiSender {
        Self::open([0x90, 69, 100])
    }

    fn open(message: [u8; 3]) -> JackMidiSender {
        let (client, _) = Client::new("midi-sender", ClientOptions::USE_EXACT_NAME | ClientOptions::NO_START_SERVER)
            .expect("sender client");
        let port = client.register_port("out", MidiOut::default()).expect("port");
        let at = Arc::new(AtomicU64::new(u64::MAX));
        let sent = Arc::new(AtomicU64::new(u64::MAX));
        let active = client
            .activate_async((), Sender { port, at: at.clone(), sent: sent.clone(), message })
            .expect("sender runs");
        JackMidiSender { active, at, sent }
    }

    /// Sends the message at JACK frame `frame` (in the future) and waits until it went out.
    pub fn send_at(&self, frame: u64) {
        self.at.store(frame, Ordering::Release);
        wait_until(STARTUP, "the MIDI message sent", || (self.sent.load(Ordering::Acquire) == frame).then_some(()));
    }

    /// The server's current frame time.
    pub fn frame_time(&self) -> u64 {
        self.active.as_client().frame_time() as u64
    }
}
