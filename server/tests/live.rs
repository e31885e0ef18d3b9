//! `noderack play` as a user runs it: a JACK client whose every bus has its own ports, MIDI
//! that sounds at its exact frame, a server that changes its buffer size or goes away, the
//! wall-clock null backend, `--watch`, and the error when nothing can be opened. JACK tests
//! run against a dummy-backend server of their own and skip when `jackd` is not installed
//! (not under CI, which installs it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use noderack_tests::analysis::first_onset;
use noderack_tests::fixtures::{render_patch, scratch_dir, wav_channels, TWO_BUS_PATCH as TWO_BUSES};
use noderack_tests::jack::{JackMidiSender, JackRecorder, JackServer};
use noderack_tests::midi::smf_bytes;
use noderack_tests::{peak_frequency_hz, rms};

const SR: f32 = 48_000.0;

/// A running `noderack play`, its stderr read line by line.
struct Player {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Player {
    fn start(args: &[&str], jack_server: Option<&str>) -> Player {
        let mut command = Command::new(env!("CARGO_BIN_EXE_noderack"));
        command.arg("play").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(server) = jack_server {
            command.env("JACK_DEFAULT_SERVER", server);
        }
        let mut child = command.spawn().expect("noderack starts");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Player { child, lines, seen: Vec::new() }
    }

    /// Waits for a stderr line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!("no line with {text:?}; stderr so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits for the process to end; its exit code, stdout and all of stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("noderack did not exit; stderr:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
        }
        self.seen.extend(self.lines.try_iter());
        (status.code(), stdout, self.seen.join("\n"))
    }
}

/// One sine synth on `main`.
const ONE_SYNTH: &str = r#"{
  "format": "noderack-patch", "version": 1,
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "lead", "kind": "synth", "params": { "waveform": "saw", "attack_seconds": 0.001 } },
    { "id": "out", "kind": "output" }
  ],
  "connections": [ { "from": "keys.events", "to": "lead.events" }, { "from": "lead.out", "to": "out.in" } ]
}"#;

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// A MIDI file holding A4 on channel 1 and E5 on channel 2 from 0.1 s for `seconds`.
fn held_notes(dir: &Path, seconds: f64) -> PathBuf {
    let end = (seconds * 960.0) as u32;
    let events = [(96, [0x90, 69, 100]), (96, [0x91, 76, 100]), (end, [0x80, 69, 0]), (end, [0x81, 76, 0])];
    write(dir, "held.mid", &smf_bytes(&events))
}

/// The patch at `patch` rendered offline with `midi` for `frames` frames, as the reference.
fn offline(patch: &Path, midi: &Path, frames: u64) -> Vec<Vec<f32>> {
    render_patch(patch, midi, SR, frames)
}

fn db(x: f32) -> f32 {
    20.0 * x.log10()
}

#[test]
fn a_jack_client_plays_every_bus_on_its_own_ports_at_the_right_pitch_and_level() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-two-buses");
    let patch = write(&dir, "two.json", TWO_BUSES.as_bytes());
    let midi = held_notes(&dir, 6.0);
    let args = ["--backend", "jack", "--client-name", "nr", "--midi-file", midi.to_str().unwrap(), "--duration", "4"];
    let mut player = Player::start(&[&[patch.to_str().unwrap()][..], &args].concat(), Some(server.name()));
    player.wait_for("playing");
    let ports = server.client("lister").ports(Some("nr:.*"), None, jack::PortFlags::empty());
    assert_eq!(
        ports,
        ["nr:main_L", "nr:main_R", "nr:aux_L", "nr:aux_R", "nr:keys"],
        "one port per bus channel, one per midi-in node"
    );
    let recorder = JackRecorder::start(&["nr:main_L", "nr:main_R", "nr:aux_L", "nr:aux_R"], 6.0);
    recorder.wait_frames(48_000);
    let recording = recorder.finish();
    let (code, _, stderr) = player.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let reference = offline(&patch, &midi, 48_000);
    let steady = |x: &[f32]| x[x.len() - 24_000..].to_vec();
    for (port, expected_hz, channel) in
        [("main_L", 440.0, 0), ("main_R", 440.0, 1), ("aux_L", 659.26, 2), ("aux_R", 659.26, 3)]
    {
        let live = steady(&recording.channels[channel]);
        let hz = peak_frequency_hz(&live, SR);
        assert!((hz - expected_hz).abs() < 3.0, "{port}: {hz} Hz, {expected_hz} Hz expected");
        let (live_db, reference_db) = (db(rms(&live)), db(rms(&steady(&reference[channel]))));
        assert!((live_db - reference_db).abs() < 0.2, "{port}: {live_db:.2} dB live, {reference_db:.2} dB offline");
    }
}

#[test]
fn a_jack_midi_note_sounds_at_its_frame_plus_the_reported_latency() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-midi-frame");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let report = dir.join("report.json");
    // The synth's own onset: how many frames after its note-on the first non-zero sample is.
    let midi = write(&dir, "note.mid", &smf_bytes(&[(0, [0x90, 57, 110])]));
    let own = first_onset(&offline(&patch, &midi, 4800)[0], 0.0).expect("the synth sounds") as u64;
    // An xrun (this VM's vCPUs are descheduled now and then) voids JACK's frame times for the
    // cycles around it: a run that had one and missed is played again, up to three times. A
    // miss without an xrun fails at once.
    for attempt in 1..=3 {
        let args =
            ["--backend", "jack", "--client-name", "nr", "--duration", "3", "--report", report.to_str().unwrap()];
        let mut player = Player::start(&[&[patch.to_str().unwrap()][..], &args].concat(), Some(server.name()));
        player.wait_for("playing");
        let sender = JackMidiSender::start("nr:keys", [0x90, 57, 110]);
        let recorder = JackRecorder::start(&["nr:main_L"], 4.0);
        // A note at a frame in the middle of a block, half a second from now.
        let at = sender.frame_time() + 24_000 + 101;
        sender.send_at(at);
        recorder.wait_frames(48_000);
        let recording = recorder.finish();
        let (code, _, stderr) = player.finish();
        assert_eq!(code, Some(0), "{stderr}");
        let latency = json_number(&report, "latency_frames") as u64;
        let xruns = json_number(&report, "backend_xruns") as u64;
        let onset = first_onset(&recording.channels[0], 0.0).expect("the note sounds") as u64 + recording.first_frame;
        let expected = at + latency + own;
        if onset == expected {
            return;
        }
        assert!(
            xruns > 0 && attempt < 3,
            "attempt {attempt}: onset at frame {onset}, expected {expected} (sent at frame {at}, latency {latency}, synth onset {own}); {xruns} xruns"
        );
        eprintln!("attempt {attempt}: {xruns} xruns and a miss ({onset} for {expected}): played again");
    }
}

#[test]
fn a_buffer_size_change_while_playing_keeps_playing() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-bufsize");
    let patch = write(&dir, "two.json", TWO_BUSES.as_bytes());
    let midi = held_notes(&dir, 8.0);
    let report = dir.join("report.json");
    let args = [
        "--backend",
        "jack",
        "--client-name",
        "nr",
        "--midi-file",
        midi.to_str().unwrap(),
        "--duration",
        "3",
        "--report",
        report.to_str().unwrap(),
    ];
    let mut player = Player::start(&[&[patch.to_str().unwrap()][..], &args].concat(), Some(server.name()));
    player.wait_for("playing");
    let control = server.client("bufsize");
    let recorder = JackRecorder::start(&["nr:main_L"], 6.0);
    recorder.wait_frames(24_000);
    control.set_buffer_size(64).expect("the dummy server changes its buffer size");
    let before = recorder.frames();
    recorder.wait_frames(before + 48_000);
    let recording = recorder.finish();
    let (code, _, stderr) = player.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json_number(&report, "block_frames"), 64.0, "noderack follows the new buffer size");
    let after = &recording.channels[0][before + 4800..];
    assert!((peak_frequency_hz(after, SR) - 440.0).abs() < 3.0, "the lead plays on after the change");
    // No gap: every 10 ms window after the change carries the steady tone — unless the
    // machine itself missed a deadline then (a non-real-time JACK on a busy 2-core CI box
    // can), which noderack must then have reported as an xrun.
    let steady = rms(after);
    let xruns = json_number(&report, "backend_xruns") + json_number(&report, "overruns");
    for (i, window) in after.chunks(480).enumerate().take(after.len() / 480) {
        if rms(window) <= 0.8 * steady {
            assert!(
                xruns > 0.0,
                "window {i} after the change is quiet ({} vs {steady}) with no xrun reported",
                rms(window)
            );
            eprintln!("window {i} is quiet, during one of the {xruns} xruns noderack reported (a busy machine)");
        }
    }
}

#[test]
fn killing_the_jack_server_ends_noderack_cleanly_with_the_reason() {
    let Some(mut server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-kill");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let mut player =
        Player::start(&[patch.to_str().unwrap(), "--backend", "jack", "--client-name", "nr"], Some(server.name()));
    player.wait_for("playing");
    server.wait_for_port("nr:main_L");
    server.terminate();
    let (code, stdout, stderr) = player.finish();
    assert_eq!(code, Some(1), "stdout {stdout}\nstderr {stderr}");
    assert!(stderr.contains("JACK server shut down"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("played"), "the summary is printed: {stdout}");
}

fn json_number(path: &Path, key: &str) -> f64 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value[key].as_f64().unwrap_or_else(|| panic!("{key} in {text}"))
}

#[test]
fn the_null_backend_keeps_pace_with_the_wall_clock() {
    let dir = scratch_dir("live-null");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let report = dir.join("report.json");
    let started = Instant::now();
    let player = Player::start(
        &[
            patch.to_str().unwrap(),
            "--backend",
            "null",
            "--buffer-size",
            "128",
            "--duration",
            "2",
            "--report",
            report.to_str().unwrap(),
        ],
        None,
    );
    let (code, _, stderr) = player.finish();
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(code, Some(0), "{stderr}");
    let frames = json_number(&report, "frames");
    // It stops at the first look past 2 s (the control thread looks every 20 ms).
    assert!((96_000.0..96_000.0 + 2400.0).contains(&frames), "{frames} frames for 2 s");
    // Two seconds of audio take two seconds (plus start-up), not less: the thread is paced.
    let paced = json_number(&report, "wall_seconds");
    assert!((1.95..2.5).contains(&paced), "2 s of audio in {paced:.3} s of playing");
    assert!(wall >= 2.0, "the whole run took {wall:.3} s");
    // Late blocks: none on a quiet machine; when the other tests of this binary load both
    // cores, the VM deschedules the audio thread now and then (seen: 4 of 750). A pacer that
    // does not keep up misses hundreds, so 1 % still catches it.
    let late = json_number(&report, "backend_xruns") + json_number(&report, "overruns");
    assert!(late <= 7.0, "{late} late blocks of 750: {stderr}");
}

/// `--watch`: the patch file gains a pad on the aux bus while playing; the lead on `main`,
/// untouched, is bit-identical to an offline render of the original patch (no click, no
/// restart), and the pad sounds on `aux` after the reload.
#[test]
fn watch_applies_an_edit_without_a_discontinuity_in_an_untouched_node() {
    let dir = scratch_dir("live-watch");
    // The original has no bass on aux: aux is silent until the reload connects it.
    let bass_link = r#", { "from": "bass.out", "to": "out_aux.in" }"#;
    assert!(TWO_BUSES.contains(bass_link));
    let original = TWO_BUSES.replace(bass_link, "");
    let patch = write(&dir, "watched.json", original.as_bytes());
    // Notes on channels 1 and 2 every 0.25 s for 4 s.
    let mut events = Vec::new();
    for i in 0..16u32 {
        let tick = 96 + i * 240;
        events.extend([(tick, [0x90, 60 + (i % 5) as u8, 100]), (tick + 200, [0x80, 60 + (i % 5) as u8, 0])]);
        events.extend([(tick, [0x91, 48, 100]), (tick + 200, [0x81, 48, 0])]);
    }
    let midi = write(&dir, "notes.mid", &smf_bytes(&events));
    let wav = dir.join("played.wav");
    let mut player = Player::start(
        &[
            patch.to_str().unwrap(),
            "--backend",
            "null",
            "--watch",
            "--midi-file",
            midi.to_str().unwrap(),
            "--record",
            wav.to_str().unwrap(),
            "--duration",
            "4",
        ],
        None,
    );
    player.wait_for("playing");
    std::fs::write(&patch, TWO_BUSES).unwrap();
    player.wait_for("reloaded");
    let (code, _, stderr) = player.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("reloaded") && stderr.contains("connection(s) made"), "{stderr}");
    let played = wav_channels(&wav);
    let (live_main, live_aux) = (&played[0], &played[2]);
    let reference = offline(&write(&dir, "original.json", original.as_bytes()), &midi, 4 * 48_000);
    // Align the live recording with the offline render by the first note's onset.
    let live_start = first_onset(live_main, 0.0).expect("the lead plays");
    let reference_start = first_onset(&reference[0], 0.0).unwrap();
    let n = (live_main.len() - live_start).min(reference[0].len() - reference_start);
    let live = &live_main[live_start..live_start + n];
    let expected = &reference[0][reference_start..reference_start + n];
    assert!(n > 2 * 48_000, "{n} frames compared");
    assert_eq!(live.iter().zip(expected).position(|(a, b)| a != b), None, "the untouched lead is bit-identical");
    let aux_start = first_onset(live_aux, 0.0).expect("the bass joins on aux after the reload");
    assert!(aux_start > live_start, "aux silent before the reload");
    assert!(rms(&live_aux[aux_start..]) > 0.01);
}

#[test]
fn when_nothing_opens_one_error_lists_every_attempt() {
    let dir = scratch_dir("live-nothing");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let player =
        Player::start(&[patch.to_str().unwrap(), "--device", "no-such-device-anywhere"], Some("no-such-jack-server"));
    let (code, _, stderr) = player.finish();
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no audio backend could be opened"), "{stderr}");
    assert!(stderr.contains("jack: no JACK server is running"), "{stderr}");
    assert!(stderr.contains("cpal/ALSA: no output device matches \"no-such-device-anywhere\""), "{stderr}");
}

#[test]
fn devices_lists_the_jack_server_its_ports_and_midi_sources() {
    let Some(server) = JackServer::start(256) else { return };
    let _keyboard = JackMidiSender::start_unconnected();
    let output = Command::new(env!("CARGO_BIN_EXE_noderack"))
        .arg("devices")
        .env("JACK_DEFAULT_SERVER", server.name())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("server at 48000 Hz, 256-frame blocks"), "{stdout}");
    assert!(stdout.contains("playback ports: system:playback_1, system:playback_2"), "{stdout}");
    assert!(stdout.contains("midi-sender:out"), "{stdout}");
    assert!(stdout.contains("cpal/ALSA outputs"), "{stdout}");
}

/// `--midi-in NAME` connects a JACK MIDI source to the midi-in nodes, frame-accurately, and
/// connects it again when it disappears and comes back (a keyboard replugged).
#[test]
fn a_jack_midi_source_is_connected_and_reconnected_when_it_comes_back() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-midi-in");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let keyboard = JackMidiSender::start_unconnected();
    let mut player = Player::start(
        &[
            patch.to_str().unwrap(),
            "--backend",
            "jack",
            "--client-name",
            "nr",
            "--midi-in",
            "midi-sender",
            "--duration",
            "20",
        ],
        Some(server.name()),
    );
    player.wait_for("MIDI in: JACK port matching");
    let watch = server.client("watch");
    let connected = |client: &jack::Client| {
        client.port_by_name("nr:keys").is_some_and(|p| p.is_connected_to("midi-sender:out").unwrap_or(false))
    };
    assert!(connected(&watch), "connected at start");
    drop(keyboard);
    let deadline = Instant::now() + Duration::from_secs(10);
    while watch.port_by_name("midi-sender:out").is_some() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let keyboard = JackMidiSender::start_unconnected();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !connected(&watch) {
        assert!(Instant::now() < deadline, "not reconnected");
        std::thread::sleep(Duration::from_millis(20));
    }
    // And it plays: a note from the replugged keyboard sounds.
    let recorder = JackRecorder::start(&["nr:main_L"], 3.0);
    let at = keyboard.frame_time() + 4800;
    keyboard.send_at(at);
    recorder.wait_frames(24_000);
    let recording = recorder.finish();
    let onset = first_onset(&recording.channels[0], 0.0).expect("the note sounds") as u64 + recording.first_frame;
    // Right after the keyboard reappears, JACK may still be re-sorting its clients' order, so
    // the recorder's frame count can be one period off for a cycle (seen once on a loaded CI
    // machine: 256 frames early). This test is about reconnecting; exact note frames are
    // tested with a settled graph by `a_jack_midi_note_sounds_at_its_frame_plus_the_reported_latency`.
    let period = 256;
    assert!(
        onset + period >= at && onset < at + period + 64,
        "sounds at its frame, give or take a period ({onset} vs {at})"
    );
    let _ = player.child.kill();
}

/// `--connect` joins the first bus to the system's playback ports.
#[test]
fn connect_joins_the_main_bus_to_the_system_playback_ports() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-connect");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let mut player = Player::start(
        &[patch.to_str().unwrap(), "--backend", "jack", "--client-name", "nr", "--connect", "--duration", "1"],
        Some(server.name()),
    );
    player.wait_for("playing");
    let client = server.client("watch");
    let connected = |ours: &str, theirs: &str| {
        client.port_by_name(ours).is_some_and(|p| p.is_connected_to(theirs).unwrap_or(false))
    };
    assert!(connected("nr:main_L", "system:playback_1"));
    assert!(connected("nr:main_R", "system:playback_2"));
    let (code, _, stderr) = player.finish();
    assert_eq!(code, Some(0), "{stderr}");
}

/// The cpal backend, through ALSA's `null` device (every ALSA installation has it; it takes
/// audio as fast as it is given, so this checks the callback path, not pacing): what it plays
/// is, frame for frame, what an offline render gives.
#[test]
fn cpal_through_alsas_null_device_plays_what_an_offline_render_gives() {
    let dir = scratch_dir("live-cpal");
    let patch = write(&dir, "two.json", TWO_BUSES.as_bytes());
    // Notes held past the end: the device takes audio faster than real time, so MIDI cannot
    // be on time; the one note-on is, at worst, late, and the comparison aligns on its onset.
    let midi = held_notes(&dir, 4.0);
    let wav = dir.join("played.wav");
    let args = [
        patch.to_str().unwrap(),
        "--backend",
        "cpal",
        "--device",
        "alsa:null",
        "--buffer-size",
        "200",
        "--midi-file",
        midi.to_str().unwrap(),
        "--record",
        wav.to_str().unwrap(),
        "--duration",
        "2",
    ];
    let (code, _, stderr) = Player::start(&args, None).finish();
    if code != Some(0) && stderr.contains("no output device matches") && !noderack_tests::under_ci() {
        eprintln!("SKIPPED: ALSA's null device is not available here: {stderr}");
        return;
    }
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("cpal/ALSA"), "{stderr}");
    let live = &wav_channels(&wav)[0];
    let reference = offline(&patch, &midi, 96_000);
    let (a, b) = (first_onset(live, 0.0).expect("it plays"), first_onset(&reference[0], 0.0).unwrap());
    let n = (live.len() - a).min(reference[0].len() - b).min(48_000);
    assert!(n > 40_000, "{n} frames compared");
    let first_difference = live[a..a + n].iter().zip(&reference[0][b..b + n]).position(|(x, y)| x != y);
    assert_eq!(first_difference, None, "cpal's callback plays the engine's output unchanged");
}

/// cpal's own JACK host works too (a JACK server is running, ALSA has no such device).
#[test]
fn cpal_through_its_jack_host() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-cpal-jack");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let report = dir.join("report.json");
    let args = [
        patch.to_str().unwrap(),
        "--backend",
        "cpal",
        "--device",
        "jack:",
        "--duration",
        "1",
        "--report",
        report.to_str().unwrap(),
    ];
    let (code, _, stderr) = Player::start(&args, Some(server.name())).finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("cpal/JACK"), "{stderr}");
    assert_eq!(json_number(&report, "block_frames"), 256.0, "the server's block size");
}

/// A MIDI device by name on a backend without MIDI of its own: with no ALSA sequencer here, a
/// JACK MIDI client of ours listens to the JACK port of that name; its notes sound.
#[test]
fn a_midi_device_is_read_through_jack_midi_when_there_is_no_alsa_sequencer() {
    let Some(server) = JackServer::start(256) else { return };
    let dir = scratch_dir("live-device-midi");
    let patch = write(&dir, "one.json", ONE_SYNTH.as_bytes());
    let wav = dir.join("played.wav");
    let keyboard = JackMidiSender::start_unconnected();
    let mut player = Player::start(
        &[
            patch.to_str().unwrap(),
            "--backend",
            "null",
            "--midi-in",
            "midi-sender",
            "--record",
            wav.to_str().unwrap(),
            "--duration",
            "3",
        ],
        Some(server.name()),
    );
    player.wait_for("playing");
    let watch = server.client("watch");
    let deadline = Instant::now() + Duration::from_secs(10);
    while watch.port_by_name("midi-sender:out").is_none_or(|p| p.connected_count().unwrap_or(0) == 0) {
        assert!(Instant::now() < deadline, "the device was not connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    keyboard.send_at(keyboard.frame_time() + 2400);
    let (code, _, stderr) = player.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let left = &wav_channels(&wav)[0];
    let onset = first_onset(left, 0.0).expect("the note from the device sounds");
    assert!(rms(&left[onset..]) > 0.01);
}
