//! `sampler`: plays instruments made of recorded samples (SongWalker presets, SFZ, SF2) from
//! note events.
//!
//! # What it plays
//!
//! A [`SamplerProgram`]: a [`noderack_presets::instrument::Bank`] of instruments prepared for
//! the engine's rate. Each MIDI channel selects a program with bank select (CC0/CC32) and
//! program change, as General MIDI players do; channel 10 starts on the percussion bank (128).
//! A bank with one instrument plays it on every channel. The node's description carries the
//! program it starts with; [`SamplerProgram`]s sent later with
//! [`noderack_graph::Engine::send_parcel`] replace it at a block boundary: new notes use the
//! new program, notes already sounding finish with the one they started with. The processor
//! holds up to [`MAX_HELD_PROGRAMS`] programs at once and retires each (back to the control
//! thread, which frees it) as soon as no voice plays it.
//!
//! # Playback
//!
//! - Pitch: `2^((key − root)·keytrack/1200 + tune/1200)` × sample rate / engine rate, times
//!   the channel's pitch bend (±`bend_range_semitones`). Follows the decoded sample rate, so
//!   playback is in tune at any engine rate.
//! - Interpolation: 4-point cubic Hermite ([`crate::dsp::interpolate`]); across a loop seam
//!   it reads the frames that follow in the loop, so loops are seamless.
//! - Loops: continuous (the whole note), sustain (until release, then on to the end), forward
//!   or ping-pong; one-shot regions ignore note-off.
//! - Envelope: the region's delay, attack, hold, decay, sustain and release
//!   at the engine's rate; a voice ends when the envelope or the sample does.
//! - Velocity: gain `1 − t + t·(velocity/127)²` with `t` the region's velocity tracking.
//! - Filter: per voice, low/high/band-pass, cutoff following key and velocity.
//! - Round robin (by sequence and by a random number from a generator seeded by the `seed`
//!   setting, so renders repeat), choke groups (`off_by`, 5 ms fade), polyphony limits per
//!   group (`Region::polyphony`: the oldest voice of the group fades), release triggers (on
//!   note-off, at the note-on's velocity), key switches (the last key of the switch range
//!   pressed on the channel).
//! - Sustain pedal (CC64) holds released notes; CC120 fades the channel's voices, CC121 resets
//!   bend, expression, pedal and the RPN selection, CC123–127 release every key.
//! - Channel mix, as a General MIDI player: each channel's voices are summed on its own bus,
//!   mixed at volume (CC7, default 100) × expression (CC11) with the `(value/127)²` law, and
//!   panned by CC10 (64 = centre, both sides at unity). Changes glide over
//!   [`CHANNEL_GAIN_RAMP_SECONDS`]. RPN 0 (CC101/CC100 = 0, CC6/CC38) sets a channel's bend
//!   range; channels without one use the node's `bend_range_semitones`.
//! - Choke groups act within a channel (General MIDI's exclusive classes are per channel).
//!
//! # Polyphony and stealing
//!
//! At most `voices` notes sound at once (the `voices` setting, default 64). A note past the
//! limit steals, in order: the oldest voice in its release phase, else the oldest voice. The
//! stolen voice fades out over [`STEAL_FADE_SECONDS`] on one of [`STEAL_RESERVE`] extra voices
//! kept for that purpose, so stealing never clicks; only when the reserve is used up too is a
//! fading voice cut.
//!
//! # Real-time safety
//!
//! Voices are allocated when the processor is built. `process` and `receive` never allocate,
//! free, lock or panic; every index into a program is checked.

mod misses;
mod program;
mod voice;
mod voice_set;

pub use voice::{has_fma, NO_FMA_VARIABLE};

use std::sync::Arc;

use noderack_graph::{
    Event, EventData, MidiMessage, NodeDescription, NodePorts, NodeSignature, NoteExpression, ParamId, ParamSpec,
    Params, Parcel, PortKind, PortSpec, ProcessConfig, ProcessContext, Processor, Retire, Unit,
};
use noderack_presets::instrument::{Bank, FilterKind, Instrument, LoopMode, ProgramNumber, Trigger, PERCUSSION_BANK};
use noderack_presets::{ConfigError, ConfigReader, NodeConfig};

use crate::dsp::channel_mix::ChannelMix;
pub use crate::dsp::channel_mix::{controller_gain, CHANNEL_GAIN_RAMP_SECONDS};
pub use crate::dsp::modulation::MOD_FRAMES;
use crate::dsp::modulation::{ModInputs, NoteState};
pub use misses::{note_name, MissLog, Missed};
use program::PreparedInstrument;
pub use program::SamplerProgram;
use voice::{FilterTap, Voice};
use voice_set::VoiceSet;

use crate::dsp::{instrument_io, split_at_events, InstrumentIo, OutputGain, Span};

/// Event input port index.
pub const EVENTS_IN: usize = 0;
/// Stereo output port index.
pub const OUT: usize = 0;

/// Output gain in dB.
pub const GAIN_DB: ParamId = ParamId(0);
/// Pitch bend range in semitones at full deflection.
pub const BEND_RANGE_SEMITONES: ParamId = ParamId(1);
/// Fine tuning of every note in cents.
pub const TUNE_CENTS: ParamId = ParamId(2);

/// Voices when the patch does not say.
pub const DEFAULT_VOICES: usize = 64;
/// Most voices one sampler may have.
pub const MAX_VOICES: usize = 4096;
/// Extra voices that play out the fades of stolen notes.
pub const STEAL_RESERVE: usize = 16;
/// Fade of a stolen or choked voice.
pub const STEAL_FADE_SECONDS: f32 = 0.005;
/// Fade of "all sound off" (CC120).
pub const KILL_FADE_SECONDS: f32 = 0.002;
/// Programs a sampler can hold at once: the current one plus older ones still sounding.
pub const MAX_HELD_PROGRAMS: usize = 8;

/// The polyphony to give `instrument` when nobody says: what it asks for (SFZ `polyphony` at
/// the top, a SongWalker preset's `maxVoices`), at least [`DEFAULT_VOICES`], at most
/// [`MAX_VOICES`].
pub fn voices_for(instrument: &Instrument) -> usize {
    instrument.max_voices.map_or(DEFAULT_VOICES, |v| (v as usize).clamp(DEFAULT_VOICES, MAX_VOICES))
}

/// Description of a `sampler` node.
pub struct Sampler {
    voices: usize,
    seed: u64,
    program: Option<Arc<Bank>>,
    signature: NodeSignature,
    /// Notes no zone answered, shared with the processor.
    misses: Arc<MissLog>,
}

impl Sampler {
    /// Kind name in patch files.
    pub const KIND: &'static str = "sampler";
    /// Settings a patch may give: `voices` (1..=4096; default 64, or what a single instrument
    /// asks for, see [`voices_for`]), `seed` (round-robin random
    /// generator, default 1), `instrument` (what it plays; the registry loads it and passes the
    /// bank to [`Sampler::from_config`]).
    pub const CONFIG_KEYS: &'static [&'static str] = &["voices", "seed", "instrument"];

    /// A sampler with `voices` voices that starts with `bank` (or silent until a program is
    /// sent).
    pub fn new(bank: Option<Arc<Bank>>, voices: usize) -> Self {
        Self {
            voices: voices.clamp(1, MAX_VOICES),
            seed: 1,
            program: bank,
            misses: Arc::new(MissLog::default()),
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("events", PortKind::Events)],
                    outputs: vec![PortSpec::new("out", PortKind::STEREO)],
                },
                params: vec![
                    ParamSpec::continuous("gain_db", -96.0, 24.0, 0.0, Unit::Decibels),
                    ParamSpec::continuous("bend_range_semitones", 0.0, 48.0, 2.0, Unit::Semitones),
                    ParamSpec::continuous("tune_cents", -100.0, 100.0, 0.0, Unit::None),
                ],
            },
        }
    }

    /// A sampler from patch settings (see [`Sampler::CONFIG_KEYS`]), starting with `bank`.
    ///
    /// Without `voices`, a bank of one instrument gets the polyphony that instrument asks for
    /// ([`voices_for`]); any other bank gets [`DEFAULT_VOICES`].
    pub fn from_config(config: &NodeConfig, bank: Option<Arc<Bank>>) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(Self::KIND, config, Self::CONFIG_KEYS)?;
        let single = bank.as_ref().filter(|b| b.programs.len() == 1).and_then(|b| b.programs.values().next());
        let default = single.map_or(DEFAULT_VOICES, |instrument| voices_for(instrument));
        let voices = reader.integer("voices", 1, MAX_VOICES as u32, default as u32)? as usize;
        let seed = reader.integer("seed", 0, u32::MAX, 1)? as u64;
        Ok(Self::new(bank, voices).with_seed(seed))
    }

    /// The same sampler with another round-robin seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Number of voices (the polyphony limit).
    pub fn voices(&self) -> usize {
        self.voices
    }

    /// Notes its processor had no zone for so far.
    pub fn missed_notes(&self) -> Vec<Missed> {
        self.misses.missed()
    }
}

impl NodeDescription for Sampler {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn report(&self) -> Vec<String> {
        self.misses.report(self.program.as_deref())
    }
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let sample_rate = config.sample_rate.max(1.0);
        let mut held: [Option<Parcel>; MAX_HELD_PROGRAMS] = Default::default();
        let current = self.program.as_ref().map(|bank| {
            held[0] = Some(Parcel::new(SamplerProgram::new(bank.clone(), sample_rate)));
            0
        });
        let mut processor = SamplerProcessor {
            sample_rate,
            polyphony: self.voices,
            voices: vec![Voice::default(); self.voices + STEAL_RESERVE],
            live: VoiceSet::new(self.voices + STEAL_RESERVE),
            held,
            users: [0; MAX_HELD_PROGRAMS],
            current,
            channels: [Channel::default(); 16],
            note_velocity: [[0; 128]; 16],
            next_serial: 0,
            random_state: self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            steal_fade_frames: (STEAL_FADE_SECONDS * sample_rate).round().max(1.0) as u32,
            kill_fade_frames: (KILL_FADE_SECONDS * sample_rate).round().max(1.0) as u32,
            output_gain: OutputGain::default(),
            mix: ChannelMix::new(config.max_block_frames, sample_rate),
            misses: self.misses.clone(),
            fused: voice::has_fma(),
            timeline_frame: 0,
        };
        processor.reset_channels();
        Box::new(processor)
    }
}

/// Per-channel state.
#[derive(Copy, Clone, Debug)]
struct Channel {
    bank_msb: u8,
    bank_lsb: u8,
    program: u8,
    /// Instrument index in the current program set, resolved at program change.
    instrument: Option<usize>,
    /// Pitch bend, -1..1 of the range.
    bend: f32,
    /// Bend range set through RPN 0 (semitones), else the node's `bend_range_semitones`.
    bend_range_semitones: Option<f32>,
    /// Registered parameter selected by CC101/CC100 (127/127: none).
    rpn: (u8, u8),
    pedal_down: bool,
    last_key_switch: Option<u8>,
    /// Bit `k`: key `k` is held down (switch keys included), for regions that watch a key.
    held_keys: u128,
    /// The key of the latest note-on, and of the one before it (what `sw_previous` reads).
    last_note: Option<u8>,
    previous_note: Option<u8>,
    /// Every controller's last value (what modulation routes read).
    controllers: [u8; 128],
    channel_pressure: u8,
    poly_pressure: [u8; 128],
}

impl Default for Channel {
    fn default() -> Self {
        Self {
            bank_msb: 0,
            bank_lsb: 0,
            program: 0,
            instrument: None,
            bend: 0.0,
            bend_range_semitones: None,
            rpn: NO_RPN,
            pedal_down: false,
            last_key_switch: None,
            held_keys: 0,
            last_note: None,
            previous_note: None,
            controllers: DEFAULT_CONTROLLERS,
            channel_pressure: 0,
            poly_pressure: [0; 128],
        }
    }
}

/// CC101/CC100 values that select no registered parameter.
const NO_RPN: (u8, u8) = (127, 127);
/// The registered parameter for pitch bend sensitivity.
const RPN_BEND_RANGE: (u8, u8) = (0, 0);
/// CC7 before any is received: General MIDI's default of 100 (about −4.2 dB).
pub const DEFAULT_VOLUME: u8 = crate::dsp::channel_mix::GM_DEFAULT_VOLUME;

/// Controller values before any is received: volume 100, pan 64, expression 127, the rest 0.
const DEFAULT_CONTROLLERS: [u8; 128] = {
    let mut c = [0u8; 128];
    c[7] = DEFAULT_VOLUME;
    c[10] = 64;
    c[11] = 127;
    c
};

impl Channel {
    fn program_number(&self) -> ProgramNumber {
        ProgramNumber { bank: self.bank_msb as u16 * 128 + self.bank_lsb as u16, program: self.program }
    }

    /// What a note's modulation reads on this channel.
    fn inputs(&self, key: u8, velocity: u8, node_bend_range: f32, note: NoteState) -> ModInputs<'_> {
        ModInputs {
            controllers: &self.controllers,
            channel_pressure: self.channel_pressure,
            poly_pressure: self.poly_pressure[key as usize & 127],
            bend: self.bend,
            bend_range_semitones: self.bend_range_semitones.unwrap_or(node_bend_range),
            velocity,
            key,
            note,
        }
    }
}

/// Which channel state changed, for the voices whose modulation reads it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Changed {
    Controller(u8),
    Pressure,
    Wheel,
}

struct SamplerProcessor {
    sample_rate: f32,
    polyphony: usize,
    voices: Vec<Voice>,
    /// The voices that may be sounding: the ones renders and note events visit.
    live: VoiceSet,
    /// Program sets: the current one and older ones voices still play.
    held: [Option<Parcel>; MAX_HELD_PROGRAMS],
    /// Voices playing each held program set.
    users: [u32; MAX_HELD_PROGRAMS],
    current: Option<usize>,
    channels: [Channel; 16],
    /// Velocity of the last note-on per channel and key (release triggers play at it).
    note_velocity: [[u8; 128]; 16],
    next_serial: u64,
    random_state: u64,
    steal_fade_frames: u32,
    kill_fade_frames: u32,
    output_gain: OutputGain,
    mix: ChannelMix,
    misses: Arc<MissLog>,
    /// Voices render with the loop compiled for AVX and FMA ([`voice::has_fma`]).
    fused: bool,
    /// The engine's frame at the start of the block being processed: voices place their
    /// modulation ticks and filter blocks on grids of the engine's timeline.
    timeline_frame: u64,
}

fn program_of(parcel: &Option<Parcel>) -> Option<&SamplerProgram> {
    parcel.as_ref().and_then(|p| p.get::<SamplerProgram>())
}

impl SamplerProcessor {
    /// Channel programs back to their defaults (channel 10 on the percussion bank), resolved
    /// against the current program set.
    fn reset_channels(&mut self) {
        for (i, c) in self.channels.iter_mut().enumerate() {
            *c = Channel::default();
            if i == 9 {
                c.bank_msb = (PERCUSSION_BANK / 128) as u8;
            }
        }
        for ch in 0..16 {
            self.resolve_channel(ch);
        }
    }

    fn resolve_channel(&mut self, channel: usize) {
        let current = self.current.and_then(|i| program_of(&self.held[i]));
        let c = &mut self.channels[channel];
        c.instrument = current.and_then(|p| p.bank.resolve_index(c.program_number()));
        c.last_key_switch = c.instrument.and_then(|i| current?.instruments.get(i)?.default_key_switch);
    }

    /// The next number of the seeded generator, uniform in 0..1 (xorshift64*).
    fn random(&mut self) -> f32 {
        let mut x = self.random_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random_state = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A voice for a new note: a free one while under the polyphony limit; otherwise the
    /// victim (oldest releasing, else oldest) fades out and a free reserve voice is used.
    fn allocate(&mut self) -> Option<usize> {
        let sounding = self.live_voices().filter(|(_, v)| v.active && !v.is_fading()).count();
        if sounding >= self.polyphony {
            let victim = self
                .live_voices()
                .filter(|(_, v)| v.active && !v.is_fading())
                .min_by_key(|(_, v)| (!v.is_releasing(), v.serial))
                .map(|(i, _)| i);
            if let Some(i) = victim {
                self.voices[i].fade_out(self.steal_fade_frames);
            }
        }
        // The lowest silent voice, as a scan of every voice would find it (so that voices sum
        // in an order that does not depend on when the set was last tidied): outside the set,
        // or inside it and stopped since.
        let absent = self.live.first_absent();
        let stopped = self
            .live
            .iter()
            .take_while(|&i| absent.is_none_or(|a| i < a))
            .find(|&i| self.voices.get(i).is_some_and(|v| !v.active));
        if let Some(i) = stopped.or(absent) {
            return Some(i);
        }
        // Reserve exhausted too: cut the fading voice closest to silence.
        let i = self
            .voices
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_fading())
            .min_by(|a, b| a.1.env.level().total_cmp(&b.1.env.level()))
            .map(|(i, _)| i)?;
        self.stop_voice(i);
        Some(i)
    }

    /// Fades the oldest voices of a polyphony group (choke group `group` of the instrument, or
    /// zone `zone` alone when `group` is 0) until at most `keep` still sound.
    fn limit_group(&mut self, held: usize, instrument: usize, zone: usize, group: u32, keep: usize) {
        let member = |v: &Voice| {
            v.active
                && !v.is_fading()
                && v.held == held
                && v.instrument == instrument
                && if group != 0 { v.choke_group == group } else { v.zone == zone }
        };
        let frames = self.steal_fade_frames;
        while self.live_voices().filter(|(_, v)| member(v)).count() > keep {
            let oldest = self.live_voices().filter(|(_, v)| member(v)).min_by_key(|(_, v)| v.serial);
            let Some((i, _)) = oldest else { return };
            self.voices[i].fade_out(frames);
        }
    }

    /// The voices that may be sounding ([`VoiceSet`]) with their numbers; callers check
    /// `active`.
    fn live_voices(&self) -> impl Iterator<Item = (usize, &Voice)> + '_ {
        self.live.iter().filter_map(|i| Some((i, self.voices.get(i)?)))
    }

    fn stop_voice(&mut self, i: usize) {
        let v = &mut self.voices[i];
        if v.active {
            v.stop();
            self.users[v.held] = self.users[v.held].saturating_sub(1);
        }
    }

    /// Starts every zone of the channel's instrument that answers `key`/`velocity` for
    /// `trigger`.
    fn trigger(&mut self, params: &Params<'_>, t: usize, channel: u8, key: u8, velocity: u8, trigger: Trigger) {
        let tune_cents = params.get(TUNE_CENTS).at(t);
        let node_bend_range = params.get(BEND_RANGE_SEMITONES).at(t);
        let ch = (channel & 15) as usize;
        let Some(held) = self.current else { return };
        let Some(instrument) = self.channels[ch].instrument else { return };
        let key_switch = self.channels[ch].last_key_switch;
        let random = self.random();
        // Whether any zone answers the note (its round-robin turn aside): a note none answers
        // is counted as missed. The loop below returns early only after a zone answered.
        let mut answered = false;
        let zone_count =
            program_of(&self.held[held]).and_then(|p| p.instruments.get(instrument)).map_or(0, |i| i.zones.len());
        for z in 0..zone_count {
            // Decide and advance the round robin with the program borrowed mutably, then start.
            let Some(program) = self.held[held].as_mut().and_then(|p| p.get_mut::<SamplerProgram>()) else { return };
            let Some(zone) = program.instruments.get_mut(instrument).and_then(|i| i.zones.get_mut(z)) else { continue };
            if !zone.region.matches(key, velocity, trigger, key_switch)
                || !zone.region.controllers_match(&self.channels[ch].controllers)
                || !zone.region.keys_match(self.channels[ch].held_keys, self.channels[ch].previous_note)
            {
                continue;
            }
            answered = true;
            if !zone.takes_turn(random) {
                continue;
            }
            let choke = zone.region.choke_group;
            let polyphony = zone.region.polyphony;
            if choke != 0 {
                let frames = self.steal_fade_frames;
                // Choke groups act within a MIDI channel (a part), as General MIDI's
                // exclusive classes do.
                self.each_live_voice(|s, i| {
                    let v = &mut s.voices[i];
                    if v.active && v.channel == channel && v.off_by == Some(choke) {
                        v.fade_out(frames);
                    }
                });
            }
            if let Some(limit) = polyphony {
                self.limit_group(held, instrument, z, choke, limit.max(1) as usize - 1);
            }
            let Some(index) = self.allocate() else { return };
            let Some(zone) = program_of(&self.held[held]).and_then(|p| p.instruments.get(instrument)?.zones.get(z))
            else {
                return;
            };
            let region = &zone.region;
            let v = velocity.min(127) as f32 / 127.0;
            let velocity_gain = match &region.velocity_curve {
                Some(curve) => curve[velocity.min(127) as usize].max(0.0),
                None => {
                    let track = region.amp_velocity_track.clamp(0.0, 1.0);
                    1.0 - track + track * v * v
                }
            };
            let filter = region.filter.map(|f| {
                let cents =
                    (key as f32 - region.root_key as f32) * f.keytrack_cents + (v - 1.0) * f.velocity_track_cents;
                let cutoff = (f.cutoff_hz * (cents / 1200.0).exp2()).clamp(10.0, 0.45 * self.sample_rate);
                let q = 10f32.powf(f.resonance_db / 20.0).max(std::f32::consts::FRAC_1_SQRT_2);
                let tap = match f.kind {
                    FilterKind::LowPass => FilterTap::LowPass,
                    FilterKind::HighPass => FilterTap::HighPass,
                    FilterKind::BandPass => FilterTap::BandPass,
                };
                (tap, cutoff, 1.0 / q)
            });
            let offset_random = region.offset_random_frames;
            let serial = self.next_serial;
            self.next_serial += 1;
            let inputs = self.channels[ch].inputs(key, velocity, node_bend_range, NoteState::default());
            self.live.insert(index);
            let voice = &mut self.voices[index];
            let frame = self.timeline_frame + t as u64;
            voice.start(
                zone,
                (held, instrument, z),
                channel,
                &inputs,
                velocity_gain,
                serial,
                filter,
                self.sample_rate,
                frame,
            );
            voice.base_step *= ((tune_cents / 1200.0) as f64).exp2();
            if offset_random > 0.0 {
                // Drawn only for regions that ask, so other regions' round robin stays as seeded.
                let extra = self.random() as f64 * offset_random;
                let voice = &mut self.voices[index];
                voice.position = voice.position.saturating_add((extra * (1u64 << voice::FRACTION_BITS) as f64) as i64);
            }
            let voice = &mut self.voices[index];
            if trigger == Trigger::Release {
                voice.key_down = false;
            }
            self.users[held] += 1;
        }
        if trigger == Trigger::Attack && !answered {
            self.misses.record(self.channels[ch].program_number(), key);
        }
    }

    fn note_on(&mut self, params: &Params<'_>, t: usize, channel: u8, key: u8, velocity: u8) {
        let ch = (channel & 15) as usize;
        let key = key.min(127);
        let c = &mut self.channels[ch];
        c.held_keys |= 1u128 << key;
        (c.previous_note, c.last_note) = (c.last_note, Some(key));
        let switches = self.current.and_then(|h| {
            let instrument = self.channels[ch].instrument?;
            program_of(&self.held[h])?.instruments.get(instrument)?.key_switch_range
        });
        if let Some((low, high)) = switches {
            if (low..=high).contains(&key) {
                self.channels[ch].last_key_switch = Some(key);
                return;
            }
        }
        self.note_velocity[ch][key as usize] = velocity;
        // A repeated key releases the note it still holds (as a re-struck piano string).
        self.each_live_voice(|s, i| {
            let v = &s.voices[i];
            if v.active && v.channel == channel && v.key == key && (v.key_down || v.held_by_pedal) {
                s.release_voice(i, false);
            }
        });
        self.trigger(params, t, channel, key, velocity, Trigger::Attack);
    }

    /// Calls `f` with each voice that may be sounding ([`VoiceSet`]); `f` checks `active`.
    fn each_live_voice(&mut self, mut f: impl FnMut(&mut Self, usize)) {
        // Taken out while `f` has the processor (an empty Vec: no allocation, nothing freed).
        let live = std::mem::take(&mut self.live);
        for i in live.iter() {
            f(self, i);
        }
        self.live = live;
    }

    fn zone_of(&self, v: &Voice) -> Option<&program::Zone> {
        program_of(&self.held[v.held])?.instruments.get(v.instrument)?.zones.get(v.zone)
    }

    fn release_voice(&mut self, i: usize, pedal_down: bool) {
        if pedal_down {
            let v = &mut self.voices[i];
            v.key_down = false;
            v.held_by_pedal = true;
            return;
        }
        let sustain_loop = self.zone_of(&self.voices[i]).is_some_and(|z| z.region.loop_mode == LoopMode::Sustain);
        self.voices[i].release(sustain_loop);
    }

    fn note_off(&mut self, params: &Params<'_>, t: usize, channel: u8, key: u8) {
        let ch = (channel & 15) as usize;
        let key = key.min(127);
        self.channels[ch].held_keys &= !(1u128 << key);
        let pedal = self.channels[ch].pedal_down;
        let mut released = false;
        self.each_live_voice(|s, i| {
            let v = &s.voices[i];
            if v.active && v.key_down && v.channel == channel && v.key == key {
                s.release_voice(i, pedal);
                released = true;
            }
        });
        let has_release = self.current.is_some_and(|h| {
            self.channels[ch]
                .instrument
                .and_then(|i| program_of(&self.held[h])?.instruments.get(i))
                .is_some_and(|i: &PreparedInstrument| i.has_release_triggers)
        });
        if released && has_release {
            let velocity = self.note_velocity[ch][key as usize];
            self.trigger(params, t, channel, key, velocity, Trigger::Release);
        }
    }

    fn set_pedal(&mut self, channel: u8, down: bool) {
        self.channels[(channel & 15) as usize].pedal_down = down;
        if !down {
            self.each_live_voice(|s, i| {
                let v = &s.voices[i];
                if v.active && v.channel == channel && v.held_by_pedal {
                    s.release_voice(i, false);
                }
            });
        }
    }

    fn all_notes_off(&mut self, channel: u8) {
        let pedal = self.channels[(channel & 15) as usize].pedal_down;
        self.each_live_voice(|s, i| {
            let v = &s.voices[i];
            if v.active && v.channel == channel && v.key_down {
                s.release_voice(i, pedal);
            }
        });
    }

    /// Re-reads the modulation of the channel's voices that read what changed.
    fn update_modulation(&mut self, params: &Params<'_>, t: usize, channel: u8, changed: Changed) {
        let node_bend_range = params.get(BEND_RANGE_SEMITONES).at(t);
        let ch = (channel & 15) as usize;
        let Self { voices, live, held, channels, .. } = self;
        for i in live.iter() {
            let Some(v) = voices.get_mut(i).filter(|v| v.active && v.modulated && v.channel == channel) else {
                continue;
            };
            let Some(zone) = program_of(&held[v.held]).and_then(|p| p.instruments.get(v.instrument)?.zones.get(v.zone))
            else {
                continue;
            };
            let m = &zone.modulation;
            let reads = match changed {
                Changed::Controller(cc) => m.reads_controller(cc),
                Changed::Pressure => m.reads_pressure(),
                Changed::Wheel => m.reads_wheel(),
            };
            if reads {
                let inputs = channels[ch].inputs(v.key, v.velocity, node_bend_range, v.note);
                v.modulation.update(m, &zone.sound(), &inputs, v.velocity_gain);
            }
        }
    }

    /// A per-note expression: every voice of that note (sounding or releasing) takes it; a
    /// voice that played without modulation switches to it, its gain ramping from where it is.
    fn expression(&mut self, params: &Params<'_>, t: usize, e: &NoteExpression) {
        let node_bend_range = params.get(BEND_RANGE_SEMITONES).at(t);
        let ch = (e.channel & 15) as usize;
        let Self { voices, live, held, channels, timeline_frame, .. } = self;
        for i in live.iter() {
            let Some(v) = voices.get_mut(i).filter(|v| v.active && v.channel == e.channel && v.key == e.key) else {
                continue;
            };
            let Some(zone) = program_of(&held[v.held]).and_then(|p| p.instruments.get(v.instrument)?.zones.get(v.zone))
            else {
                continue;
            };
            v.note.apply(e.kind, e.value);
            let inputs = channels[ch].inputs(v.key, v.velocity, node_bend_range, v.note);
            if !v.modulated {
                v.modulated = true;
                // Its next frame: after the rest of its delay, if it has not started yet.
                let next_frame = *timeline_frame + t as u64 + v.delay_frames as u64;
                v.modulation.start(&zone.modulation, &zone.sound(), &inputs, v.velocity_gain, next_frame);
                v.modulation.continue_from(v.gains);
            } else {
                v.modulation.update(&zone.modulation, &zone.sound(), &inputs, v.velocity_gain);
            }
        }
    }

    fn handle(&mut self, event: &Event, params: &Params<'_>, t: usize) {
        let message = match event.data {
            EventData::Midi(message) => message,
            EventData::Expression(e) => return self.expression(params, t, &e),
        };
        match message {
            MidiMessage::NoteOn { channel, key, velocity } => self.note_on(params, t, channel, key, velocity),
            MidiMessage::NoteOff { channel, key, .. } => self.note_off(params, t, channel, key),
            MidiMessage::PitchBend { channel, value } => {
                self.channels[(channel & 15) as usize].bend = (value as f32 / 8192.0).clamp(-1.0, 1.0);
                self.update_modulation(params, t, channel, Changed::Wheel);
            }
            MidiMessage::ProgramChange { channel, program } => {
                let ch = (channel & 15) as usize;
                self.channels[ch].program = program.min(127);
                self.resolve_channel(ch);
            }
            MidiMessage::ControlChange { channel, controller, value } => {
                let ch = (channel & 15) as usize;
                let value = value.min(127);
                let c = &mut self.channels[ch];
                c.controllers[controller as usize & 127] = value;
                match controller {
                    0 => c.bank_msb = value,
                    32 => c.bank_lsb = value,
                    7 | 10 | 11 => {
                        self.mix.set_controller(ch, controller, value);
                    }
                    101 => c.rpn.0 = value,
                    100 => c.rpn.1 = value,
                    6 if c.rpn == RPN_BEND_RANGE => {
                        let cents = c.bend_range_semitones.map_or(0.0, |r| (r.fract() * 100.0).round());
                        c.bend_range_semitones = Some(value as f32 + cents / 100.0);
                    }
                    38 if c.rpn == RPN_BEND_RANGE => {
                        let semitones = c.bend_range_semitones.map_or(2.0, f32::trunc);
                        c.bend_range_semitones = Some(semitones + value.min(99) as f32 / 100.0);
                    }
                    64 => self.set_pedal(channel, value >= 64),
                    120 => {
                        let frames = self.kill_fade_frames;
                        self.each_live_voice(|s, i| {
                            let v = &mut s.voices[i];
                            if v.active && v.channel == channel {
                                v.fade_out(frames);
                            }
                        });
                    }
                    121 => {
                        // Reset all controllers (GM): bend, expression, pedal and the RPN
                        // selection; volume, pan and programs stay.
                        c.bend = 0.0;
                        c.rpn = NO_RPN;
                        c.controllers[1] = 0;
                        c.controllers[11] = 127;
                        c.controllers[64..=67].fill(0);
                        c.channel_pressure = 0;
                        c.poly_pressure = [0; 128];
                        self.mix.set_controller(ch, 11, 127);
                        self.set_pedal(channel, false);
                    }
                    123..=127 => self.all_notes_off(channel),
                    _ => {}
                }
                if controller == 121 {
                    for cc in [1, 11, 64, 65, 66, 67] {
                        self.update_modulation(params, t, channel, Changed::Controller(cc));
                    }
                    self.update_modulation(params, t, channel, Changed::Pressure);
                    self.update_modulation(params, t, channel, Changed::Wheel);
                } else {
                    self.update_modulation(params, t, channel, Changed::Controller(controller & 127));
                }
            }
            MidiMessage::PolyPressure { channel, key, pressure } => {
                self.channels[(channel & 15) as usize].poly_pressure[key as usize & 127] = pressure.min(127);
                self.update_modulation(params, t, channel, Changed::Pressure);
            }
            MidiMessage::ChannelPressure { channel, pressure } => {
                self.channels[(channel & 15) as usize].channel_pressure = pressure.min(127);
                self.update_modulation(params, t, channel, Changed::Pressure);
            }
        }
    }

    fn render(&mut self, params: &Params<'_>, out_l: &mut [f32], out_r: &mut [f32], start: usize, end: usize) {
        let node_range = params.get(BEND_RANGE_SEMITONES).at(start);
        let mut bends = [1.0f64; 16];
        for (b, c) in bends.iter_mut().zip(&self.channels) {
            if c.bend != 0.0 {
                let range = c.bend_range_semitones.unwrap_or(node_range) as f64;
                *b = (c.bend as f64 * range / 12.0).exp2();
            }
        }
        let frames = end - start;
        let Self { voices, live, held, users, mix, channels, sample_rate, fused, .. } = self;
        // Each held program looked up once per run, not once per voice.
        let programs = held.each_ref().map(|p| p.as_ref().and_then(|p| p.get::<SamplerProgram>()));
        // Voices in order, the memory of the next two asked for ahead (Voice::prefetch): the
        // voice after next's own state, the next one's zone and sample frames.
        let mut order = live.iter();
        let (mut this, mut next) = (order.next(), order.next());
        while let Some(i) = this {
            let after = order.next();
            if let Some(v) = after.and_then(|a| voices.get(a)) {
                v.prefetch_self();
            }
            if let Some(v) = next.and_then(|n| voices.get(n)).filter(|v| v.active) {
                v.prefetch(frames);
            }
            (this, next) = (next, after);
            let Some(v) = voices.get_mut(i).filter(|v| v.active) else {
                continue;
            };
            let zone = programs
                .get(v.held)
                .copied()
                .flatten()
                .and_then(|p| p.instruments.get(v.instrument)?.zones.get(v.zone));
            let channel = (v.channel & 15) as usize;
            match (zone, mix.bus(channel, frames)) {
                (Some(zone), Some((bus_l, bus_r))) => {
                    let bend = match zone.region.bend_cents {
                        // The region's own range (SFZ bend_up/bend_down) instead of the channel's.
                        Some((up, down)) if channels[channel].bend != 0.0 => {
                            let b = channels[channel].bend;
                            let cents = if b >= 0.0 { b * up } else { -b * down };
                            (cents as f64 / 1200.0).exp2()
                        }
                        Some(_) => 1.0,
                        None => bends[channel],
                    };
                    v.render(zone, bus_l, bus_r, bend, *sample_rate, *fused)
                }
                _ => v.stop(),
            }
            if !v.active {
                users[v.held] = users[v.held].saturating_sub(1);
            }
        }
        drop(order);
        live.retain(|i| voices.get(i).is_some_and(|v| v.active));
        mix.mix_into(&mut out_l[start..end], &mut out_r[start..end]);
    }

    /// Gives back program sets that are neither current nor played by any voice.
    fn retire_unused(&mut self, retire: &mut Retire<'_>) {
        for i in 0..MAX_HELD_PROGRAMS {
            if Some(i) != self.current && self.users[i] == 0 {
                if let Some(parcel) = self.held[i].take() {
                    if let Err(parcel) = retire.retire(parcel) {
                        self.held[i] = Some(parcel); // queue full: try again next block
                    }
                }
            }
        }
    }
}

impl Processor for SamplerProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        self.timeline_frame = ctx.transport().engine_frame;
        let InstrumentIo { events, params, out_l, out_r } = instrument_io(ctx, EVENTS_IN, OUT);
        let frames = out_l.len();

        split_at_events(events, frames, |span| match span {
            Span::Frames(start, end) => self.render(&params, out_l, out_r, start, end),
            Span::Event(event, t) => self.handle(event, &params, t),
        });
        self.output_gain.apply(params.get(GAIN_DB), out_l, out_r);
        // Every sounding voice counts for the program it plays: no pass over the voices.
        ctx.report_voices(self.users.iter().sum());
        self.retire_unused(&mut ctx.retire());
    }

    fn receive(&mut self, parcel: Parcel, retire: &mut Retire<'_>) {
        let fits = parcel.get::<SamplerProgram>().is_some_and(|p| p.sample_rate == self.sample_rate);
        if !fits {
            retire.refuse(parcel); // not a program for this sampler
            return;
        }
        // A slot is free, or will be once unused programs are retired (which may find the
        // queue full and keep them): decide before retiring anything, so that a refusal takes
        // the queue room the executor guaranteed.
        let free = |i: usize| self.held[i].is_none() || (Some(i) != self.current && self.users[i] == 0);
        if !(0..MAX_HELD_PROGRAMS).any(free) {
            // Every slot holds a program still sounding: the new one is sent back.
            retire.refuse(parcel);
            return;
        }
        self.retire_unused(retire);
        let Some(free) = (0..MAX_HELD_PROGRAMS).find(|&i| self.held[i].is_none()) else {
            // Unreachable: the queue had room for one parcel, so the first unused program
            // found above was retired. Refused all the same rather than dropped.
            retire.refuse(parcel);
            return;
        };
        self.held[free] = Some(parcel);
        self.current = Some(free);
        let previous = self.channels;
        for (ch, before) in previous.iter().enumerate() {
            self.resolve_channel(ch);
            // Keep key switches pressed before the swap.
            if before.last_key_switch.is_some() {
                self.channels[ch].last_key_switch = before.last_key_switch;
            }
        }
        self.retire_unused(retire);
    }
}
