//! OSC over UDP: a small command set in the spirit of scsynth's, on its own thread. Each
//! message becomes a request to the control thread, so OSC, HTTP and WebSocket edits share one
//! order, one history and one revision count. Bundles carry a time tag: their note events and
//! parameter changes land on the engine frame that sounds at that time (the audio thread's
//! smoothed clock maps wall time to frames), sample-accurately.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use noderack_host::live::clock::host_micros;
use noderack_host::live::Health;
use noderack_presets::{ParamValue, PatchEdit};
use rosc::{OscMessage, OscPacket, OscTime, OscType};
use serde_json::Value;
use tokio::sync::oneshot;

use super::api::{ApiError, MidiEventBody};
use super::session::Request;

/// Largest datagram taken (UDP's own limit).
const MAX_PACKET: usize = 65_536;
/// How often the thread looks whether it must stop.
const POLL: Duration = Duration::from_millis(100);
/// Bundles nested deeper are refused (a hostile packet could nest without end).
const MAX_DEPTH: usize = 8;

/// The OSC thread's state.
pub struct Osc {
    socket: UdpSocket,
    requests: SyncSender<Request>,
    health: Arc<Health>,
    token: Option<Arc<str>>,
    /// Peers that sent the right `/auth TOKEN`.
    authorized: HashSet<SocketAddr>,
    /// The wall clock minus the host clock, in µs, read once: every time tag goes through the
    /// same relation, so bundles keep their exact distance from each other.
    wall_minus_host_micros: i128,
}

impl Osc {
    /// An OSC server on `socket` feeding `requests`.
    pub fn new(socket: UdpSocket, requests: SyncSender<Request>, health: Arc<Health>, token: Option<Arc<str>>) -> Self {
        let wall = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i128);
        let wall_minus_host_micros = wall - host_micros() as i128;
        Self { socket, requests, health, token, authorized: HashSet::new(), wall_minus_host_micros }
    }

    /// Serves until `stop` is set.
    pub fn run(mut self, stop: &AtomicBool) {
        let _ = self.socket.set_read_timeout(Some(POLL));
        let mut buf = vec![0u8; MAX_PACKET];
        while !stop.load(Ordering::Acquire) {
            let Ok((n, from)) = self.socket.recv_from(&mut buf) else { continue };
            match rosc::decoder::decode_udp(&buf[..n]) {
                Ok((_, packet)) => self.packet(packet, None, from, 0),
                Err(e) => self.fail(from, "", &format!("not an OSC packet: {e:?}")),
            }
        }
    }

    fn packet(&mut self, packet: OscPacket, frame: Option<u64>, from: SocketAddr, depth: usize) {
        match packet {
            OscPacket::Message(message) => self.message(message, frame, from),
            OscPacket::Bundle(bundle) if depth < MAX_DEPTH => {
                let frame = self.frame_of(bundle.timetag).or(frame);
                for packet in bundle.content {
                    self.packet(packet, frame, from, depth + 1);
                }
            }
            OscPacket::Bundle(_) => self.fail(from, "#bundle", "bundles nested too deep"),
        }
    }

    /// The engine frame a time tag falls on; `None` for "immediately" (the tag 1) and for
    /// times already past.
    fn frame_of(&self, tag: OscTime) -> Option<u64> {
        if (tag.seconds, tag.fractional) == (0, 1) {
            return None;
        }
        let wall = SystemTime::from(tag).duration_since(SystemTime::UNIX_EPOCH).ok()?.as_micros() as i128;
        let micros = u64::try_from(wall - self.wall_minus_host_micros).ok()?;
        let now = host_micros();
        if micros <= now {
            return None; // already past: as soon as possible
        }
        // Where the engine is now, on the audio thread's smoothed clock, then the nominal rate
        // over the (short) time ahead: two bundles keep their exact distance in frames, which a
        // rate estimate still settling would bend.
        let here = self.health.frame_at(now)?;
        let ahead = (micros - now) as f64 * self.health.sample_rate() as f64 / 1e6;
        Some((here + ahead).round().max(0.0) as u64)
    }

    fn message(&mut self, m: OscMessage, frame: Option<u64>, from: SocketAddr) {
        if m.addr == "/auth" {
            let ok = matches!((&self.token, m.args.first()), (Some(t), Some(OscType::String(g))) if g.as_str() == &**t);
            if ok {
                self.authorized.insert(from);
            }
            return self.send(from, "/auth.reply", vec![OscType::Int(i32::from(ok))]);
        }
        if self.token.is_some() && !self.authorized.contains(&from) {
            return self.fail(from, &m.addr, "a token is required: send /auth TOKEN first");
        }
        let addr = m.addr.clone();
        if let Err(message) = self.command(m, frame, from) {
            self.fail(from, &addr, &message);
        }
    }

    fn command(&mut self, m: OscMessage, frame: Option<u64>, from: SocketAddr) -> Result<(), String> {
        let args = &m.args;
        match m.addr.as_str() {
            "/n_new" => {
                let (id, kind) = (text(args, 0)?, text(args, 1)?);
                let params = pairs(&args[2..])?.into_iter().collect();
                self.ask(|r| {
                    Request::Edit(
                        vec![PatchEdit::Add { id, kind, config: Default::default(), params, position: None }],
                        r,
                    )
                })?;
            }
            "/n_free" => {
                let edits = (0..args.len())
                    .map(|i| Ok(PatchEdit::Remove { id: text(args, i)? }))
                    .collect::<Result<_, String>>()?;
                self.ask(|r| Request::Edit(edits, r))?;
            }
            "/n_set" => {
                let id = text(args, 0)?;
                let params = pairs(&args[1..])?;
                self.ask(|r| Request::SetAt(id, params, frame, r))?;
            }
            "/connect" | "/disconnect" => {
                let (from_port, to) = (text(args, 0)?, text(args, 1)?);
                let edit = if m.addr == "/connect" {
                    PatchEdit::Connect { from: from_port, to }
                } else {
                    PatchEdit::Disconnect { from: from_port, to }
                };
                self.ask(|r| Request::Edit(vec![edit], r))?;
            }
            "/note_on" | "/note_off" => {
                let node = text(args, 0)?;
                let (channel, key) = (small(args, 1)?, small(args, 2)?);
                let event = if m.addr == "/note_on" {
                    MidiEventBody::NoteOn { channel, key, velocity: small(args, 3)?, at_frame: frame }
                } else {
                    MidiEventBody::NoteOff { channel, key, at_frame: frame }
                };
                let event = event.to_event()?;
                self.ask(|r| Request::Midi(node, vec![event], r))?;
            }
            "/sync" => {
                // Requests are served in order: once this one is answered, every earlier one is.
                self.ask(Request::Status)?;
                self.send(from, "/synced", args.first().cloned().into_iter().collect());
            }
            "/status" => {
                let s = self.ask(Request::Status)?;
                let int = |v: &Value| OscType::Int(v.as_i64().unwrap_or(0) as i32);
                let float = |v: &Value| OscType::Float(v.as_f64().unwrap_or(0.0) as f32);
                let reply = vec![
                    int(&s["revision"]),
                    int(&s["nodes"]),
                    int(&s["voices"]),
                    float(&s["load"]["average"]),
                    float(&s["load"]["peak"]),
                    OscType::Long(s["frames"].as_i64().unwrap_or(0)),
                    int(&s["sample_rate"]),
                ];
                self.send(from, "/status.reply", reply);
            }
            other => return Err(format!("unknown command {other} (docs/API.md lists them)")),
        }
        Ok(())
    }

    /// Sends a request to the control thread and waits for its answer.
    fn ask(&self, make: impl FnOnce(super::session::Reply) -> Request) -> Result<Value, String> {
        let (reply, answer) = oneshot::channel();
        // OSC peers share one undo history, the session "osc".
        let request = Request::As("osc".to_string(), Box::new(make(reply)));
        self.requests.try_send(request).map_err(|_| "the server is busy or stopping".to_string())?;
        let answer: Result<Value, ApiError> =
            answer.blocking_recv().map_err(|_| "the server is stopping".to_string())?;
        answer.map_err(|e| e.message)
    }

    fn send(&self, to: SocketAddr, addr: &str, args: Vec<OscType>) {
        let packet = OscPacket::Message(OscMessage { addr: addr.to_string(), args });
        if let Ok(bytes) = rosc::encoder::encode(&packet) {
            let _ = self.socket.send_to(&bytes, to);
        }
    }

    /// scsynth's `/fail address message`.
    fn fail(&self, to: SocketAddr, addr: &str, message: &str) {
        self.send(to, "/fail", vec![OscType::String(addr.to_string()), OscType::String(message.to_string())]);
    }
}

/// Argument `i` as text.
fn text(args: &[OscType], i: usize) -> Result<String, String> {
    match args.get(i) {
        Some(OscType::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("argument {i} must be a string, not {other:?}")),
        None => Err(format!("argument {i} is missing")),
    }
}

/// Argument `i` as a number 0–255 (channels, keys, velocities).
fn small(args: &[OscType], i: usize) -> Result<u8, String> {
    match number(args.get(i)) {
        Some(v) if (0.0..=255.0).contains(&v) && v.fract() == 0.0 => Ok(v as u8),
        Some(v) => Err(format!("argument {i} ({v}) is out of range")),
        None => Err(format!("argument {i} must be a number")),
    }
}

fn number(arg: Option<&OscType>) -> Option<f64> {
    match arg? {
        OscType::Int(v) => Some(*v as f64),
        OscType::Long(v) => Some(*v as f64),
        OscType::Float(v) => Some(*v as f64),
        OscType::Double(v) => Some(*v),
        _ => None,
    }
}

/// `name value name value …` as parameter settings.
fn pairs(args: &[OscType]) -> Result<Vec<(String, ParamValue)>, String> {
    if !args.len().is_multiple_of(2) {
        return Err("parameters come in name-value pairs".into());
    }
    args.chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let name = text(pair, 0).map_err(|_| format!("parameter {i}: the name must be a string"))?;
            let value = match &pair[1] {
                OscType::String(s) => ParamValue::Name(s.clone()),
                OscType::Bool(b) => ParamValue::Switch(*b),
                other => ParamValue::Number(
                    number(Some(other)).ok_or_else(|| format!("parameter {name}: {other:?} is not a value"))? as f32,
                ),
            };
            Ok((name, value))
        })
        .collect()
}
