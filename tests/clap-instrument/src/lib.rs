//! `noderack-test-instrument`: the CLAP instrument noderack's plugin-hosting tests play. Notes
//! (CLAP note events or MIDI) start sines at their equal-tempered pitch (A4 = 440 Hz), at the
//! note's velocity times the `Gain` parameter, with 64-frame linear attacks and 256-frame
//! releases, the same on both channels of its one stereo output. Its output is delayed by the
//! `Latency` parameter's frames, which it reports through the latency extension (read when it is
//! activated), so a host that compensates latency lines it up with a dry signal. The `Fault`
//! parameter makes it output NaN, for testing how a host protects the mix. Its state holds the
//! three parameters. MIDI CC 7 sets the gain the way a plugin's own control would, and tells the
//! host with a parameter event; its note output echoes every note (and every note expression)
//! an octave up; its tail is its release plus its latency. Everything it does is exact and
//! deterministic, so tests can predict it.

use std::ffi::CStr;
use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::sync::atomic::{AtomicU32, Ordering};

use clack_extensions::audio_ports::{
    AudioPortFlags, AudioPortInfo, AudioPortInfoWriter, AudioPortType, PluginAudioPorts, PluginAudioPortsImpl,
};
use clack_extensions::latency::{PluginLatency, PluginLatencyImpl};
use clack_extensions::note_ports::{
    NoteDialect, NoteDialects, NotePortInfo, NotePortInfoWriter, PluginNotePorts, PluginNotePortsImpl,
};
use clack_extensions::params::{
    ParamDisplayWriter, ParamInfo, ParamInfoFlags, ParamInfoWriter, PluginAudioProcessorParams, PluginMainThreadParams,
    PluginParams,
};
use clack_extensions::state::{PluginState, PluginStateImpl};
use clack_extensions::tail::{PluginTail, PluginTailImpl, TailLength};
use clack_plugin::events::event_types::{MidiEvent, NoteExpressionEvent, ParamValueEvent};
use clack_plugin::events::spaces::CoreEventSpace;
use clack_plugin::events::{Match, Pckn};
use clack_plugin::prelude::*;
use clack_plugin::stream::{InputStream, OutputStream};

/// The plugin's id.
pub const PLUGIN_ID: &str = "org.noderack.test-instrument";
/// Output level, linear 0–1 (default 0.5).
pub const GAIN: ClapId = ClapId::new(1);
/// Reported latency in frames, 0–4800 (default 0). Changed while active, the plugin asks the
/// host to restart it, and the new latency takes effect at that activation.
pub const LATENCY: ClapId = ClapId::new(2);
/// 1 makes the output NaN (default 0).
pub const FAULT: ClapId = ClapId::new(3);
/// Most frames of latency.
pub const MAX_LATENCY_FRAMES: u32 = 4800;
/// Frames of a note's linear attack.
pub const ATTACK_FRAMES: u32 = 64;
/// Frames of a note's linear release.
pub const RELEASE_FRAMES: u32 = 256;
/// Notes sounding at once (the oldest is replaced beyond).
pub const VOICES: usize = 16;
/// MIDI controller that sets the gain (as a plugin's own control would), reported to the host
/// as a parameter change.
pub const GAIN_CC: u8 = 7;
/// The note output repeats each note played this many semitones up (as MIDI).
pub const ECHO_SEMITONES: u16 = 12;
const STATE_MAGIC: &[u8; 4] = b"NRTI";

/// The instrument.
pub struct TestInstrument;

impl Plugin for TestInstrument {
    type AudioProcessor<'a> = Processor<'a>;
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread<'a>;

    fn declare_extensions(builder: &mut PluginExtensions<Self>, _shared: Option<&Shared>) {
        builder
            .register::<PluginAudioPorts>()
            .register::<PluginNotePorts>()
            .register::<PluginParams>()
            .register::<PluginState>()
            .register::<PluginLatency>()
            .register::<PluginTail>();
    }
}

impl DefaultPluginFactory for TestInstrument {
    fn get_descriptor() -> PluginDescriptor {
        use clack_plugin::plugin::features::{INSTRUMENT, STEREO, SYNTHESIZER};
        PluginDescriptor::new(PLUGIN_ID, "noderack test instrument")
            .with_vendor("noderack")
            .with_version(env!("CARGO_PKG_VERSION"))
            .with_description("Sines per note, a gain, a reported latency, state: for hosting tests")
            .with_features([INSTRUMENT, SYNTHESIZER, STEREO])
    }

    fn new_shared(_host: HostSharedHandle<'_>) -> Result<Shared, PluginError> {
        Ok(Shared::default())
    }

    fn new_main_thread<'a>(_host: HostMainThreadHandle<'a>, shared: &'a Shared) -> Result<MainThread<'a>, PluginError> {
        Ok(MainThread { shared })
    }
}

/// Parameter values, shared by every thread.
pub struct Shared {
    gain_bits: AtomicU32,
    latency: AtomicU32,
    fault: AtomicU32,
}

impl Default for Shared {
    fn default() -> Self {
        Self { gain_bits: AtomicU32::new(0.5f32.to_bits()), latency: AtomicU32::new(0), fault: AtomicU32::new(0) }
    }
}

impl Shared {
    fn gain(&self) -> f32 {
        f32::from_bits(self.gain_bits.load(Ordering::Relaxed))
    }

    fn value(&self, id: ClapId) -> Option<f64> {
        match id {
            GAIN => Some(self.gain() as f64),
            LATENCY => Some(self.latency.load(Ordering::Relaxed) as f64),
            FAULT => Some(self.fault.load(Ordering::Relaxed) as f64),
            _ => None,
        }
    }

    fn set(&self, id: ClapId, value: f64) {
        match id {
            GAIN => self.gain_bits.store((value.clamp(0.0, 1.0) as f32).to_bits(), Ordering::Relaxed),
            LATENCY => {
                self.latency.store(value.clamp(0.0, MAX_LATENCY_FRAMES as f64).round() as u32, Ordering::Relaxed)
            }
            FAULT => self.fault.store((value >= 0.5) as u32, Ordering::Relaxed),
            _ => {}
        }
    }
}

impl PluginShared<'_> for Shared {}

/// The main-thread side.
pub struct MainThread<'a> {
    shared: &'a Shared,
}

impl<'a> PluginMainThread<'a, Shared> for MainThread<'a> {}

impl PluginAudioPortsImpl for MainThread<'_> {
    fn count(&self, is_input: bool) -> u32 {
        if is_input {
            0
        } else {
            1
        }
    }

    fn get(&self, index: u32, is_input: bool, writer: &mut AudioPortInfoWriter) {
        if !is_input && index == 0 {
            writer.set(&AudioPortInfo {
                id: ClapId::new(0),
                name: b"out",
                channel_count: 2,
                flags: AudioPortFlags::IS_MAIN,
                port_type: Some(AudioPortType::STEREO),
                in_place_pair: None,
            });
        }
    }
}

impl PluginNotePortsImpl for MainThread<'_> {
    fn count(&self, _is_input: bool) -> u32 {
        1
    }

    fn get(&self, index: u32, is_input: bool, writer: &mut NotePortInfoWriter) {
        if index != 0 {
            return;
        }
        if is_input {
            writer.set(&NotePortInfo {
                id: ClapId::new(0),
                name: b"notes",
                preferred_dialect: Some(NoteDialect::Clap),
                supported_dialects: NoteDialects::CLAP | NoteDialects::MIDI,
            });
        } else {
            writer.set(&NotePortInfo {
                id: ClapId::new(1),
                name: b"echo",
                preferred_dialect: Some(NoteDialect::Midi),
                supported_dialects: NoteDialects::MIDI | NoteDialects::CLAP,
            });
        }
    }
}

impl PluginMainThreadParams for MainThread<'_> {
    fn count(&self) -> u32 {
        3
    }

    fn get_info(&self, index: u32, info: &mut ParamInfoWriter) {
        let (id, name, max, default, flags): (ClapId, &[u8], f64, f64, ParamInfoFlags) = match index {
            0 => (GAIN, b"Gain", 1.0, 0.5, ParamInfoFlags::IS_AUTOMATABLE),
            1 => (LATENCY, b"Latency", MAX_LATENCY_FRAMES as f64, 0.0, ParamInfoFlags::IS_STEPPED),
            2 => (FAULT, b"Fault", 1.0, 0.0, ParamInfoFlags::IS_STEPPED | ParamInfoFlags::IS_AUTOMATABLE),
            _ => return,
        };
        info.set(&ParamInfo {
            id,
            flags,
            cookie: Default::default(),
            name,
            module: b"",
            min_value: 0.0,
            max_value: max,
            default_value: default,
        });
    }

    fn get_value(&self, id: ClapId) -> Option<f64> {
        self.shared.value(id)
    }

    fn value_to_text(&self, id: ClapId, value: f64, writer: &mut ParamDisplayWriter) -> std::fmt::Result {
        match id {
            GAIN => write!(writer, "{:.3}", value),
            LATENCY => write!(writer, "{} frames", value.round()),
            FAULT => write!(writer, "{}", if value >= 0.5 { "NaN" } else { "off" }),
            _ => Err(std::fmt::Error),
        }
    }

    fn text_to_value(&self, id: ClapId, text: &CStr) -> Option<f64> {
        let text = text.to_str().ok()?.trim();
        match id {
            FAULT => Some(if text == "NaN" { 1.0 } else { 0.0 }),
            _ => text.trim_end_matches(" frames").parse().ok(),
        }
    }

    fn flush(&self, input: &InputEvents, _output: &mut OutputEvents) {
        for event in input {
            if let Some(CoreEventSpace::ParamValue(event)) = event.as_core_event() {
                if let Some(id) = event.param_id() {
                    self.shared.set(id, event.value());
                }
            }
        }
    }
}

impl PluginLatencyImpl for MainThread<'_> {
    fn get(&self) -> u32 {
        self.shared.latency.load(Ordering::Relaxed)
    }
}

impl PluginStateImpl for MainThread<'_> {
    fn save(&self, output: &mut OutputStream) -> Result<(), PluginError> {
        output.write_all(STATE_MAGIC)?;
        output.write_all(&self.shared.gain().to_le_bytes())?;
        output.write_all(&self.shared.latency.load(Ordering::Relaxed).to_le_bytes())?;
        output.write_all(&self.shared.fault.load(Ordering::Relaxed).to_le_bytes())?;
        Ok(())
    }

    fn load(&self, input: &mut InputStream) -> Result<(), PluginError> {
        let mut bytes = [0u8; 16];
        input.read_exact(&mut bytes)?;
        if &bytes[..4] != STATE_MAGIC {
            return Err(PluginError::Message("not a state of the noderack test instrument"));
        }
        let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        self.shared.set(GAIN, f32::from_le_bytes(word(4)) as f64);
        self.shared.set(LATENCY, u32::from_le_bytes(word(8)) as f64);
        self.shared.set(FAULT, u32::from_le_bytes(word(12)) as f64);
        Ok(())
    }
}

/// One sounding note.
#[derive(Copy, Clone, Default)]
struct Voice {
    active: bool,
    channel: u16,
    key: u16,
    /// Phase in cycles, and its step per frame.
    phase: f64,
    step: f64,
    velocity: f32,
    /// Frames since the start; frames since the release began (`None` while held).
    age: u32,
    released: Option<u32>,
    /// Envelope level when the release began.
    release_from: f32,
}

impl Voice {
    fn level(&self) -> f32 {
        let attack = (self.age as f32 / ATTACK_FRAMES as f32).min(1.0);
        match self.released {
            None => attack,
            Some(r) => self.release_from * (1.0 - r as f32 / RELEASE_FRAMES as f32).max(0.0),
        }
    }
}

/// The audio-thread side.
pub struct Processor<'a> {
    host: HostAudioProcessorHandle<'a>,
    shared: &'a Shared,
    sample_rate: f64,
    voices: [Voice; VOICES],
    /// The output delay line (`latency` frames) and where it is.
    delay: Vec<f32>,
    at: usize,
}

impl<'a> PluginAudioProcessor<'a, Shared, MainThread<'a>> for Processor<'a> {
    fn activate(
        host: HostAudioProcessorHandle<'a>,
        _main_thread: &MainThread,
        shared: &'a Shared,
        config: PluginAudioConfiguration,
    ) -> Result<Self, PluginError> {
        let latency = shared.latency.load(Ordering::Relaxed) as usize;
        Ok(Self {
            host,
            shared,
            sample_rate: config.sample_rate,
            voices: [Voice::default(); VOICES],
            delay: vec![0.0; latency.max(1)],
            at: 0,
        })
    }

    fn process(&mut self, _process: Process, mut audio: Audio, events: Events) -> Result<ProcessStatus, PluginError> {
        let mut port = audio.output_port(0).ok_or(PluginError::Message("no output port"))?;
        let mut channels = port.channels()?.into_f32().ok_or(PluginError::Message("expected f32 output"))?;
        let (mut left, mut right) = channels.split_at_mut(1);
        let left = left.channel_mut(0).ok_or(PluginError::Message("expected two channels"))?;
        let right = right.channel_mut(0).ok_or(PluginError::Message("expected two channels"))?;
        let latency = self.delay.len() > 1;
        for batch in events.input.batch() {
            for event in batch.events() {
                self.handle(event, events.output);
            }
            let range = batch.sample_bounds();
            let fault = self.shared.fault.load(Ordering::Relaxed) != 0;
            let gain = self.shared.gain();
            for (l, r) in left[range].iter_mut().zip(&mut right[range]) {
                let mut sample = 0.0f32;
                for voice in self.voices.iter_mut().filter(|v| v.active) {
                    sample += (voice.phase * std::f64::consts::TAU).sin() as f32 * voice.velocity * voice.level();
                    voice.phase = (voice.phase + voice.step).fract();
                    voice.age = voice.age.saturating_add(1);
                    if let Some(r) = voice.released.as_mut() {
                        *r += 1;
                        if *r >= RELEASE_FRAMES {
                            voice.active = false;
                        }
                    }
                }
                sample *= gain;
                if fault {
                    sample = f32::NAN;
                }
                if latency {
                    std::mem::swap(&mut self.delay[self.at], &mut sample);
                    self.at = (self.at + 1) % self.delay.len();
                }
                *l = sample;
                *r = sample;
            }
        }
        Ok(if self.voices.iter().any(|v| v.active) || latency { ProcessStatus::Continue } else { ProcessStatus::Sleep })
    }

    fn reset(&mut self) {
        self.voices = [Voice::default(); VOICES];
        self.delay.fill(0.0);
    }
}

impl Processor<'_> {
    /// Plays `event`; echoes its notes an octave up on the note output, and reports a gain set
    /// by CC 7 to the host.
    fn handle(&mut self, event: &UnknownEvent, output: &mut OutputEvents) {
        let time = event.header().time();
        let echo = |output: &mut OutputEvents, on: bool, channel: u16, key: u16, velocity: f64| {
            let key = key + ECHO_SEMITONES;
            if key < 128 {
                let status = if on { 0x90 } else { 0x80 } | (channel as u8 & 15);
                let _ = output.try_push(MidiEvent::new(time, 1, [status, key as u8, (velocity * 127.0).round() as u8]));
            }
        };
        match event.as_core_event() {
            Some(CoreEventSpace::NoteOn(e)) => {
                if let (Match::Specific(channel), Match::Specific(key)) = (e.channel(), e.key()) {
                    self.note_on(channel, key, e.velocity() as f32);
                    echo(output, true, channel, key, e.velocity());
                }
            }
            Some(CoreEventSpace::NoteOff(e)) => {
                self.note_off(e.channel(), e.key());
                if let (Match::Specific(channel), Match::Specific(key)) = (e.channel(), e.key()) {
                    echo(output, false, channel, key, e.velocity());
                }
            }
            Some(CoreEventSpace::Midi(e)) => {
                let [status, data1, data2] = e.data();
                let channel = (status & 0x0f) as u16;
                let (key, velocity) = (data1 as u16, data2 as f64 / 127.0);
                match status & 0xf0 {
                    0x90 if data2 > 0 => {
                        self.note_on(channel, key, velocity as f32);
                        echo(output, true, channel, key, velocity);
                    }
                    0x80 | 0x90 => {
                        self.note_off(Match::Specific(channel), Match::Specific(key));
                        echo(output, false, channel, key, velocity);
                    }
                    0xb0 if data1 == GAIN_CC => {
                        let gain = data2 as f64 / 127.0;
                        self.shared.set(GAIN, gain);
                        let _ = output.try_push(ParamValueEvent::new(time, GAIN, Pckn::match_all(), gain));
                    }
                    _ => {}
                }
            }
            Some(CoreEventSpace::NoteExpression(e)) => {
                // Echoed like its note: an octave up, on the note output.
                if let (Match::Specific(channel), Match::Specific(key)) = (e.channel(), e.key()) {
                    if let (Some(kind), true) = (e.expression_type(), key + ECHO_SEMITONES < 128) {
                        let pckn = Pckn::new(1u16, channel, key + ECHO_SEMITONES, Match::All);
                        let _ = output.try_push(NoteExpressionEvent::new(time, pckn, kind, e.value()));
                    }
                }
            }
            Some(CoreEventSpace::ParamValue(e)) => {
                if let Some(id) = e.param_id() {
                    let before = self.shared.value(id);
                    self.shared.set(id, e.value());
                    if id == LATENCY && self.shared.value(id) != before {
                        // A new latency needs a new activation (and its delay line).
                        self.host.request_restart();
                    }
                }
            }
            _ => {}
        }
    }

    fn note_on(&mut self, channel: u16, key: u16, velocity: f32) {
        let slot = self
            .voices
            .iter()
            .position(|v| !v.active)
            .unwrap_or_else(|| (0..VOICES).max_by_key(|&i| self.voices[i].age).unwrap_or(0));
        let hz = 440.0 * 2f64.powf((key as f64 - 69.0) / 12.0);
        self.voices[slot] = Voice {
            active: true,
            channel,
            key,
            phase: 0.0,
            step: hz / self.sample_rate,
            velocity,
            age: 0,
            released: None,
            release_from: 0.0,
        };
    }

    fn note_off(&mut self, channel: Match<u16>, key: Match<u16>) {
        for voice in self.voices.iter_mut().filter(|v| v.active && v.released.is_none()) {
            if channel.matches(voice.channel) && key.matches(voice.key) {
                voice.release_from = voice.level();
                voice.released = Some(0);
            }
        }
    }
}

impl PluginAudioProcessorParams for Processor<'_> {
    fn flush(&mut self, input: &InputEvents, output: &mut OutputEvents) {
        for event in input {
            self.handle(event, output);
        }
    }
}

impl PluginTailImpl for Processor<'_> {
    fn get(&self) -> TailLength {
        // The delay line has one slot when there is no latency.
        let latency = if self.delay.len() > 1 { self.delay.len() as u32 } else { 0 };
        TailLength::Finite(RELEASE_FRAMES + latency)
    }
}

clack_export_entry!(SinglePluginEntry<TestInstrument>);
