//! Benchmarks of the control server (`docs/PERFORMANCE.md`, "Control server"):
//!
//! 1. **Edit-to-audible latency**: `noderack serve` on JACK (dummy backend, 64-frame periods)
//!    holds a note on a synth that is not connected; the benchmark notes JACK's frame clock,
//!    sends `POST /connections` (synth → output), and a JACK client reading the server's output
//!    port in the same cycle notes the frame of the first sounding sample. Reported beside the
//!    HTTP round trip of a no-op request (`GET /status`).
//! 2. **Sustained edit rate** while a heavy patch plays (`presets/bench-heavy.json`, 16
//!    samplers on FluidR3_GM.sf2 with notes held, four synth layers) on the `null` backend
//!    (256-frame blocks): parameter edits, then structural edits (add a node and connect it,
//!    remove it), each at rising target rates for a few seconds; the server's deadline overruns
//!    and its DSP load for each.
//! 3. **Idle server**: resident memory and CPU use of `noderack serve` with the demo patch and
//!    nothing happening.
//!
//! `cargo bench -p noderack --bench control` (needs jackd for 1 and FluidR3_GM.sf2 for 2, as
//! `scripts/setup-debian.sh` installs; a part whose prerequisite is missing says so and is
//! skipped). `NODERACK_BENCH_QUICK=1` runs shorter, as `cargo test --all-targets` does.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{call, client, post, Server};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Shorter runs: asked for, or when `cargo test --all-targets` runs this as a smoke test
/// (without `--bench`).
fn quick() -> bool {
    std::env::var_os("NODERACK_BENCH_QUICK").is_some() || !std::env::args().any(|a| a == "--bench")
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// `utime + stime` of process `pid` in seconds, and its resident memory in KiB.
fn process_usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based, man proc).
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks / per_second, rss)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("control server benchmarks ({})", if quick() { "quick" } else { "full" });
    idle();
    runtime.block_on(edit_rate());
    runtime.block_on(latency());
}

/// 3. Memory and CPU of an idle server.
fn idle() {
    let server = Server::with_file(&repo().join("presets/demo.json"), &[]);
    std::thread::sleep(Duration::from_secs(2));
    let (cpu0, _) = process_usage(server.pid());
    let seconds = if quick() { 2.0 } else { 20.0 };
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (cpu1, rss) = process_usage(server.pid());
    println!(
        "idle: `noderack serve presets/demo.json --backend null`: {:.1} MiB resident, {:.2} % of one core over {seconds} s",
        rss as f64 / 1024.0,
        (cpu1 - cpu0) / seconds * 100.0
    );
}

/// Holds notes on every channel of the heavy patch, so that its samplers sound.
async fn hold_notes(c: &reqwest::Client, server: &Server) {
    let mut events = Vec::new();
    for channel in 1..=16 {
        for key in [48, 55, 60, 64, 67, 72] {
            events.push(json!({ "type": "note_on", "channel": channel, "key": key, "velocity": 90 }));
        }
    }
    let (status, body) = post(c, server.url("/midi"), json!({ "node": "keys", "events": events })).await;
    assert_eq!(status, 200, "{body}");
}

/// 2. The edit rate a heavy patch takes without overruns.
async fn edit_rate() {
    let heavy = repo().join("presets/bench-heavy.json");
    if !Path::new("/usr/share/sounds/sf2/FluidR3_GM.sf2").is_file() {
        println!("edit rate: SKIPPED (FluidR3_GM.sf2 is not installed: apt-get install fluid-soundfont-gm)");
        return;
    }
    let server = Server::with_file(&heavy, &[]);
    let c = client();
    hold_notes(&c, &server).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, status) = call(c.get(server.url("/status"))).await;
    println!(
        "edit rate: presets/bench-heavy.json on the null backend ({} frames per block), {} voices sounding",
        status["block_frames"], status["voices"]
    );
    println!("| edits | target / s | achieved / s | refused (503) | overruns | DSP load avg / peak | median reply |");
    println!("|---|---|---|---|---|---|---|");
    let seconds = if quick() { 0.5 } else { 4.0 };
    let targets: &[f64] = if quick() { &[50.0, 1000.0] } else { &[10.0, 50.0, 200.0, 1000.0] };
    for structural in [false, true] {
        for &target in targets {
            let (_, before) = call(c.get(server.url("/status"))).await;
            let started = Instant::now();
            let (mut done, mut refused, mut replies) = (0u64, 0u64, Vec::new());
            let mut n = 0u64;
            while started.elapsed().as_secs_f64() < seconds {
                let due = started + Duration::from_secs_f64(n as f64 / target);
                tokio::time::sleep_until(due.into()).await;
                let sent = Instant::now();
                let edits = if structural {
                    if n.is_multiple_of(2) {
                        json!([{ "op": "add", "id": "extra", "kind": "synth", "params": { "waveform": "saw" } },
                               { "op": "connect", "from": "keys.events", "to": "extra.events" }])
                    } else {
                        json!([{ "op": "remove", "id": "extra" }])
                    }
                } else {
                    json!([{ "op": "set", "id": "s1", "param": "gain_db", "value": -12.0 - (n % 7) as f64 }])
                };
                let (code, body) = post(&c, server.url("/edits"), json!({ "edits": edits })).await;
                replies.push(sent.elapsed().as_secs_f64() * 1000.0);
                match code {
                    200 => done += 1,
                    503 => refused += 1,
                    _ => panic!("edit refused: {body}"),
                }
                n += 1;
            }
            if structural && n % 2 == 1 {
                post(&c, server.url("/edits"), json!({ "edits": [{ "op": "remove", "id": "extra" }] })).await;
            }
            let elapsed = started.elapsed().as_secs_f64();
            tokio::time::sleep(Duration::from_millis(1100)).await; // the load meter's second
            let (_, after) = call(c.get(server.url("/status"))).await;
            let overruns = after["xruns"]["overruns"].as_u64().unwrap() - before["xruns"]["overruns"].as_u64().unwrap();
            println!(
                "| {} | {target} | {:.0} | {refused} | {overruns} | {:.1} / {:.1} % | {:.2} ms |",
                if structural { "add+connect / remove a synth" } else { "set a sampler's gain" },
                done as f64 / elapsed,
                after["load"]["average"].as_f64().unwrap_or(0.0) * 100.0,
                after["load"]["peak"].as_f64().unwrap_or(0.0) * 100.0,
                percentile(&mut replies, 0.5)
            );
        }
    }
    // As fast as 8 clients at once can send parameter edits.
    let (_, before) = call(c.get(server.url("/status"))).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client_index in 0..8u64 {
        let (c, url) = (c.clone(), server.url("/edits"));
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while started.elapsed().as_secs_f64() < seconds {
                let value = -12.0 - ((done + client_index) % 7) as f64;
                let edits = json!({ "edits": [{ "op": "set", "id": format!("s{}", 1 + client_index), "param": "gain_db", "value": value }] });
                if post(&c, url.clone(), edits).await.0 == 200 {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, after) = call(c.get(server.url("/status"))).await;
    println!(
        "| set gains, 8 clients at once, unpaced | — | {:.0} | — | {} | {:.1} / {:.1} % | — |",
        done as f64 / elapsed,
        after["xruns"]["overruns"].as_u64().unwrap() - before["xruns"]["overruns"].as_u64().unwrap(),
        after["load"]["average"].as_f64().unwrap_or(0.0) * 100.0,
        after["load"]["peak"].as_f64().unwrap_or(0.0) * 100.0,
    );
    let (_, status) = call(c.get(server.url("/status"))).await;
    println!("voices at the end: {}", status["voices"]);
}

/// A JACK client reading the server's output port in the same cycle the server writes it. Once
/// armed, it notes the start frame of the first cycle it runs after that, and the frame of the
/// first sounding sample; frames come from the cycles themselves, so late cycles and xruns do
/// not skew them. The call was made during the cycle before the first one noted, so the
/// latency is counted from that cycle's start (an upper bound, by less than one period).
struct Detector {
    _active: jack::AsyncClient<(), DetectorProcess>,
    state: Arc<DetectorState>,
}

struct DetectorState {
    armed: AtomicU64,
    first_cycle: AtomicU64,
    heard: AtomicU64,
}

struct DetectorProcess {
    port: jack::Port<jack::AudioIn>,
    state: Arc<DetectorState>,
}

impl jack::ProcessHandler for DetectorProcess {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let s = &self.state;
        if s.armed.load(Ordering::Acquire) == 1 {
            let start = ps.last_frame_time() as u64;
            if s.first_cycle.load(Ordering::Acquire) == u64::MAX {
                s.first_cycle.store(start, Ordering::Release);
            }
            if let Some(i) = self.port.as_slice(ps).iter().position(|x| x.abs() > 1e-3) {
                s.heard.store(start + i as u64, Ordering::Release);
                s.armed.store(0, Ordering::Release);
            }
        }
        jack::Control::Continue
    }
}

impl Detector {
    fn start(source: &str) -> Detector {
        let (client, _) = jack::Client::new("detector", jack::ClientOptions::NO_START_SERVER).unwrap();
        let port = client.register_port("in", jack::AudioIn::default()).unwrap();
        let ours = port.name().unwrap();
        let state = Arc::new(DetectorState {
            armed: AtomicU64::new(0),
            first_cycle: AtomicU64::new(u64::MAX),
            heard: AtomicU64::new(u64::MAX),
        });
        let active = client.activate_async((), DetectorProcess { port, state: state.clone() }).unwrap();
        active.as_client().connect_ports_by_name(source, &ours).unwrap();
        Detector { _active: active, state }
    }

    fn arm(&self) {
        self.state.first_cycle.store(u64::MAX, Ordering::Release);
        self.state.heard.store(u64::MAX, Ordering::Release);
        self.state.armed.store(1, Ordering::Release);
    }

    /// Frames from the start of the cycle in which it was armed to the first sound, if heard.
    fn latency_frames(&self, period: u64) -> Option<u64> {
        let heard = self.state.heard.load(Ordering::Acquire);
        let first = self.state.first_cycle.load(Ordering::Acquire);
        (heard != u64::MAX && first != u64::MAX).then(|| heard + period - first)
    }
}

/// 1. Edit-to-audible latency at 64-frame blocks, on JACK.
async fn latency() {
    let Some(jack) = noderack_tests::jack::JackServer::start(64) else {
        println!("latency: SKIPPED (jackd is not installed: apt-get install jackd2)");
        return;
    };
    let patch = r#"{ "format": "noderack-patch", "version": 1, "name": "latency",
      "nodes": [ { "id": "keys", "kind": "midi-in" },
                 { "id": "lead", "kind": "synth", "params": { "waveform": "square", "attack_seconds": 0.001 } },
                 { "id": "out", "kind": "output" } ],
      "connections": [ { "from": "keys.events", "to": "lead.events" } ] }"#;
    let dir = noderack_tests::fixtures::scratch_dir("bench-latency");
    let path = dir.join("latency.json");
    std::fs::write(&path, patch).unwrap();
    let server = Server::launch(&path, &["--backend", "jack", "--client-name", "nrbench"]);
    jack.wait_for_port("nrbench:main_L");
    let trials = if quick() { 20 } else { 200 };
    let detector = Detector::start("nrbench:main_L");
    let c = client();
    let note = json!({ "node": "keys", "events": [{ "type": "note_on", "channel": 1, "key": 69, "velocity": 127 }] });
    assert_eq!(post(&c, server.url("/midi"), note).await.0, 200);
    let link = json!({ "from": "lead.out", "to": "out.in" });
    let (mut latencies, mut rtt, mut replies) = (Vec::new(), Vec::new(), Vec::new());
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..trials {
        let t = Instant::now();
        assert_eq!(call(c.get(server.url("/status"))).await.0, 200);
        rtt.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(10)).await;
        detector.arm();
        let t = Instant::now();
        let (status, body) = post(&c, server.url("/connections"), link.clone()).await;
        replies.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(15)).await;
        if let Some(frames) = detector.latency_frames(64) {
            latencies.push(frames as f64);
        }
        let url = server.url("/connections?from=lead.out&to=out.in");
        assert_eq!(call(c.delete(url)).await.0, 200);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let block_ms = 64.0 / 48.0;
    let ms = |frames: f64| frames / 48.0;
    let rtt_median = percentile(&mut rtt, 0.5);
    println!(
        "latency: JACK dummy 48 kHz, 64-frame periods ({block_ms:.2} ms); {} of {trials} edits heard",
        latencies.len()
    );
    println!("| measure | median | p90 | max |");
    println!("|---|---|---|---|");
    let (m, p90, max) =
        (percentile(&mut latencies, 0.5), percentile(&mut latencies, 0.9), percentile(&mut latencies, 1.0));
    println!(
        "| edit → first sounding frame | {:.2} ms ({m:.0} frames, {:.2} blocks) | {:.2} ms ({:.2} blocks) | {:.2} ms ({:.2} blocks) |",
        ms(m),
        m / 64.0,
        ms(p90),
        p90 / 64.0,
        ms(max),
        max / 64.0
    );
    println!(
        "| HTTP round trip of GET /status | {rtt_median:.2} ms | {:.2} ms | {:.2} ms |",
        percentile(&mut rtt, 0.9),
        percentile(&mut rtt, 1.0)
    );
    println!(
        "| reply to POST /connections | {:.2} ms | {:.2} ms | {:.2} ms |",
        percentile(&mut replies, 0.5),
        percentile(&mut replies, 0.9),
        percentile(&mut replies, 1.0)
    );
    let goal = 2.0 * block_ms + rtt_median;
    println!(
        "goal: median {:.2} ms ≤ 2 blocks + round trip = {goal:.2} ms: {}",
        ms(m),
        if ms(m) <= goal { "met" } else { "NOT met" }
    );
}
