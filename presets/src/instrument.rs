//! The instrument model every importer produces (SongWalker presets, SFZ, SF2) and the sampler
//! node plays: instruments made of groups of regions, and banks of programs.
//!
//! Everything here is immutable once built and shared (`Arc`) between the control thread and
//! the sampler's processor. Units are in the names: frames count frames of the region's own
//! decoded sample, not of the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::modulation::{
    Crossfade, Lfo, LfoControl, LfoParam, LfoWaveform, ModCurve, ModEnvelopeControl, ModInput, ModRoute, ModSource,
    ModTarget, Modulation, MAX_ENVELOPES, MAX_FAST_ROUTES, MAX_LFOS,
};
use crate::sample::Sample;

/// An inclusive range of MIDI key or velocity numbers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NoteRange {
    /// Lowest included value.
    pub low: u8,
    /// Highest included value.
    pub high: u8,
}

impl NoteRange {
    /// Every key (or velocity 0..=127).
    pub const ALL: NoteRange = NoteRange { low: 0, high: 127 };

    /// Whether `value` is inside.
    pub fn contains(&self, value: u8) -> bool {
        (self.low..=self.high).contains(&value)
    }
}

/// What happens when playback reaches a loop or the end of the sample.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LoopMode {
    /// Play to the end (or until released and faded out).
    NoLoop,
    /// Play to the end, ignoring note-off (drums).
    OneShot,
    /// Loop for as long as the voice sounds, release included.
    Continuous,
    /// Loop while the key is held, then play on past the loop end during the release.
    Sustain,
}

/// Which way a loop plays.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LoopDirection {
    /// Jump from the end back to the start.
    Forward,
    /// Play forwards to the end, then backwards to the start, and so on.
    PingPong,
}

/// A loop inside a sample, in frames of that sample.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SampleLoop {
    /// First frame of the loop.
    pub start_frames: f64,
    /// Frame just after the last frame of the loop (exclusive end).
    pub end_frames: f64,
    /// Forward or ping-pong.
    pub direction: LoopDirection,
}

/// When a region sounds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// On note-on.
    Attack,
    /// On note-off (release samples: key noise, the damper falling), at the velocity of the
    /// note-on.
    Release,
}

/// Round-robin selection among regions that match the same note.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum RoundRobin {
    /// Always plays.
    Off,
    /// Plays on the `position`-th of every `length` notes that reach this region (1-based, as
    /// in SFZ `seq_position`).
    Sequence {
        /// Cycle length.
        length: u32,
        /// This region's turn in the cycle, 1..=length.
        position: u32,
    },
    /// Plays when the voice's random number (uniform in `0..1`, from the sampler's seeded
    /// generator) falls in `low..high`.
    Random {
        /// Inclusive lower bound.
        low: f32,
        /// Exclusive upper bound.
        high: f32,
    },
}

/// An ADSR envelope (with delay and hold), times in seconds, sustain as a linear level.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Envelope {
    /// Silence before the attack.
    pub delay_seconds: f32,
    /// Rise from 0 to full.
    pub attack_seconds: f32,
    /// Time held at full level.
    pub hold_seconds: f32,
    /// Fall from full to the sustain level.
    pub decay_seconds: f32,
    /// Level held while the key is down, 0..=1.
    pub sustain_level: f32,
    /// Fall to silence after note-off.
    pub release_seconds: f32,
}

impl Envelope {
    /// Plays the sample as recorded: instant attack, full sustain, a short release that avoids
    /// a click.
    pub const SAMPLE: Envelope = Envelope {
        delay_seconds: 0.0,
        attack_seconds: 0.0,
        hold_seconds: 0.0,
        decay_seconds: 0.0,
        sustain_level: 1.0,
        release_seconds: 0.01,
    };

    /// Adds `value` to `stage` (seconds, or a linear level for the sustain); see
    /// [`Envelope::limited`].
    pub fn add(&mut self, stage: EnvelopeStage, value: f32) {
        *match stage {
            EnvelopeStage::Delay => &mut self.delay_seconds,
            EnvelopeStage::Attack => &mut self.attack_seconds,
            EnvelopeStage::Hold => &mut self.hold_seconds,
            EnvelopeStage::Decay => &mut self.decay_seconds,
            EnvelopeStage::Sustain => &mut self.sustain_level,
            EnvelopeStage::Release => &mut self.release_seconds,
        } += value;
    }

    /// The same envelope with its times at or above 0 and its sustain level inside 0..=1 (after
    /// [`Envelope::add`]s: the sum is limited, not each step).
    pub fn limited(mut self) -> Self {
        let times = [
            &mut self.delay_seconds,
            &mut self.attack_seconds,
            &mut self.hold_seconds,
            &mut self.decay_seconds,
            &mut self.release_seconds,
        ];
        for time in times {
            *time = time.max(0.0);
        }
        self.sustain_level = self.sustain_level.clamp(0.0, 1.0);
        self
    }
}

/// A stage of an envelope: what a controller can change ([`EnvelopeControl`]), and where a
/// running envelope is.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EnvelopeStage {
    /// `delay_seconds`.
    #[default]
    Delay,
    /// `attack_seconds`.
    Attack,
    /// `hold_seconds`.
    Hold,
    /// `decay_seconds`.
    Decay,
    /// `sustain_level`.
    Sustain,
    /// `release_seconds`.
    Release,
}

/// An event-rate input's part in one envelope stage, read when a note starts (SFZ
/// `ampeg_release_onccN`: a release that a "release time" knob lengthens; `ampeg_vel2attack`:
/// an attack that velocity changes).
#[derive(Clone, Debug, PartialEq)]
pub struct EnvelopeControl {
    /// Which stage it changes.
    pub stage: EnvelopeStage,
    /// What it reads: a controller, velocity, key, pressure or the wheel, through its curve
    /// (never an envelope or an LFO: the stage is set once, at note-on).
    pub input: ModInput,
    /// Added at the input's full value: seconds, or a linear level for the sustain.
    pub amount: f32,
}

/// Filter kinds a region can ask for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FilterKind {
    /// Two-pole low-pass.
    LowPass,
    /// Two-pole high-pass.
    HighPass,
    /// Two-pole band-pass.
    BandPass,
}

/// A per-voice filter.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RegionFilter {
    /// Low-, high- or band-pass.
    pub kind: FilterKind,
    /// Cutoff at velocity 127 on the root key.
    pub cutoff_hz: f32,
    /// Resonance peak in dB (0 = none).
    pub resonance_db: f32,
    /// How far the cutoff follows the key, in cents per key.
    pub keytrack_cents: f32,
    /// Cutoff change at velocity 127 relative to velocity 0, in cents.
    pub velocity_track_cents: f32,
}

impl RegionFilter {
    /// A low-pass at `cutoff_hz` with `resonance_db`, tracking neither key nor velocity.
    pub fn low_pass(cutoff_hz: f32, resonance_db: f32) -> Self {
        Self { kind: FilterKind::LowPass, cutoff_hz, resonance_db, keytrack_cents: 0.0, velocity_track_cents: 0.0 }
    }
}

/// One sample mapped to a key and velocity range, with how to play it.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    /// The decoded sample, shared with every region and instrument that uses the same bytes.
    pub sample: Arc<Sample>,
    /// Keys it answers.
    pub keys: NoteRange,
    /// Velocities it answers.
    pub velocities: NoteRange,
    /// Key at which the sample plays at its recorded pitch.
    pub root_key: u8,
    /// Fine tuning in cents added to the pitch.
    pub tune_cents: f32,
    /// Pitch change per key in cents (100 = chromatic, 0 = same pitch on every key).
    pub keytrack_cents: f32,
    /// First frame played.
    pub offset_frames: f64,
    /// Frame after the last one played (at most the sample's length).
    pub end_frames: f64,
    /// Loop behaviour.
    pub loop_mode: LoopMode,
    /// The loop, for [`LoopMode::Continuous`] and [`LoopMode::Sustain`].
    pub sample_loop: Option<SampleLoop>,
    /// Note-on or note-off.
    pub trigger: Trigger,
    /// Round-robin turn.
    pub round_robin: RoundRobin,
    /// Choke group this region belongs to (0 = none): starting it silences regions whose
    /// `off_by` names this group.
    pub choke_group: u32,
    /// A region of this group starting silences this one.
    pub off_by: Option<u32>,
    /// At most this many voices of this region's choke group (or, outside any group, of this
    /// region) sound at once: a new one fades the oldest out (SFZ `polyphony`).
    pub polyphony: Option<u32>,
    /// Plays only while this key switch was the last one pressed.
    pub key_switch: Option<u8>,
    /// Plays only while this key is held down (SFZ `sw_down`).
    pub key_held: Option<u8>,
    /// Plays only while this key is not held down (SFZ `sw_up`).
    pub key_not_held: Option<u8>,
    /// Plays only when the channel's previous note-on was this key (SFZ `sw_previous`).
    pub previous_key: Option<u8>,
    /// Gain in dB.
    pub gain_db: f32,
    /// Pan, -1 (left) ..= 1 (right).
    pub pan: f32,
    /// How much velocity lowers the level, 0 (not at all) ..= 1 (velocity² law).
    pub amp_velocity_track: f32,
    /// Amplitude envelope.
    pub amp_envelope: Envelope,
    /// Inputs (controllers, velocity …) that change the amplitude envelope's stages, read at
    /// note-on.
    pub amp_envelope_controls: Vec<EnvelopeControl>,
    /// Per-voice filter, if any.
    pub filter: Option<RegionFilter>,
    /// Linear amplitude factor (SFZ `amplitude`/100), the base that [`ModTarget::Amplitude`]
    /// routes add to.
    pub amplitude: f32,
    /// Gain per velocity 0..=127 replacing the `amp_velocity_track` law (SFZ `amp_velcurve_N`).
    pub velocity_curve: Option<Arc<[f32; 128]>>,
    /// Envelopes, LFOs and routes that move pitch, cutoff, volume, amplitude and pan.
    pub modulation: Modulation,
    /// Gains by velocity, key or controller (SFZ `xfin_*`/`xfout_*`); they multiply.
    pub crossfades: Vec<Crossfade>,
    /// A random amount up to this many frames added to the start offset per note (SFZ
    /// `offset_random`).
    pub offset_random_frames: f64,
    /// Pitch at full bend up and full bend down, in cents (SFZ `bend_up`/`bend_down`; the
    /// down value is usually negative). `None`: the channel's bend range.
    pub bend_cents: Option<(f32, f32)>,
    /// Plays only while each listed controller's value lies in its range (SFZ `loccN`/`hiccN`).
    pub controller_ranges: Vec<(u8, NoteRange)>,
    /// Stereo width of a stereo sample, −1..=1 (1 = as recorded, 0 = mono, −1 = swapped).
    pub width: f32,
}

impl Region {
    /// A region playing `sample` on every key and velocity from `root_key`, untuned, unlooped,
    /// with the defaults every importer starts from.
    pub fn new(sample: Arc<Sample>, root_key: u8) -> Self {
        let end_frames = sample.frames() as f64;
        Self {
            sample,
            keys: NoteRange::ALL,
            velocities: NoteRange::ALL,
            root_key,
            tune_cents: 0.0,
            keytrack_cents: 100.0,
            offset_frames: 0.0,
            end_frames,
            loop_mode: LoopMode::NoLoop,
            sample_loop: None,
            trigger: Trigger::Attack,
            round_robin: RoundRobin::Off,
            choke_group: 0,
            off_by: None,
            polyphony: None,
            key_switch: None,
            key_held: None,
            key_not_held: None,
            previous_key: None,
            gain_db: 0.0,
            pan: 0.0,
            amp_velocity_track: 1.0,
            amp_envelope: Envelope::SAMPLE,
            amp_envelope_controls: Vec::new(),
            filter: None,
            amplitude: 1.0,
            velocity_curve: None,
            modulation: Modulation::default(),
            crossfades: Vec::new(),
            offset_random_frames: 0.0,
            bend_cents: None,
            controller_ranges: Vec::new(),
            width: 1.0,
        }
    }

    /// Whether the channel's controller values (`controllers[n]` = CC n) are inside every
    /// range of [`Region::controller_ranges`].
    pub fn controllers_match(&self, controllers: &[u8; 128]) -> bool {
        self.controller_ranges.iter().all(|&(cc, range)| range.contains(controllers[cc as usize & 127]))
    }

    /// Whether the channel's keys allow this region: `held` has bit `k` set for each key `k`
    /// held down, `previous` is the key of the note-on before this one.
    pub fn keys_match(&self, held: u128, previous: Option<u8>) -> bool {
        let down = |k: u8| held & (1u128 << (k & 127)) != 0;
        self.key_held.is_none_or(down)
            && self.key_not_held.is_none_or(|k| !down(k))
            && self.previous_key.is_none_or(|k| previous == Some(k))
    }

    /// Whether this region answers `key` at `velocity` for `trigger`, with `last_key_switch`
    /// the most recent key switch pressed.
    pub fn matches(&self, key: u8, velocity: u8, trigger: Trigger, last_key_switch: Option<u8>) -> bool {
        self.trigger == trigger
            && self.keys.contains(key)
            && self.velocities.contains(velocity)
            && self.key_switch.is_none_or(|k| last_key_switch == Some(k))
    }

    /// Playback rate relative to the sample's own rate for `key` (before pitch bend): the
    /// number of sample frames that pass per frame at the sample's rate.
    pub fn pitch_ratio(&self, key: u8) -> f64 {
        let cents = (key as f64 - self.root_key as f64) * self.keytrack_cents as f64 + self.tune_cents as f64;
        (cents / 1200.0).exp2()
    }
}

/// Regions that share settings in the source format (an SFZ `<group>`, an SF2 instrument
/// zone set). Kept so listings and editors can show the structure.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Group {
    /// Name, if the source gave one.
    pub name: Option<String>,
    /// Its regions.
    pub regions: Vec<Region>,
}

/// A playable instrument.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Instrument {
    /// Display name.
    pub name: String,
    /// Its groups.
    pub groups: Vec<Group>,
    /// Keys that act as key switches (they select regions and never sound).
    pub key_switch_range: Option<NoteRange>,
    /// The key switch in effect before any is pressed.
    pub default_key_switch: Option<u8>,
    /// Polyphony the source asks for, if any.
    pub max_voices: Option<u32>,
}

impl Instrument {
    /// Every region, group by group.
    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.groups.iter().flat_map(|g| g.regions.iter())
    }

    /// Number of regions.
    pub fn region_count(&self) -> usize {
        self.groups.iter().map(|g| g.regions.len()).sum()
    }
}

/// A General MIDI style program address: bank (MSB·128 + LSB; 128 = percussion in SF2) and
/// program number.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramNumber {
    /// Bank number.
    pub bank: u16,
    /// Program 0..=127.
    pub program: u8,
}

/// The bank SF2 files use for percussion kits (and MIDI channel 10 selects).
pub const PERCUSSION_BANK: u16 = 128;

/// Instruments by program number, so program changes select among them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Bank {
    /// Instruments by bank and program.
    pub programs: BTreeMap<ProgramNumber, Arc<Instrument>>,
}

impl Bank {
    /// A bank holding one instrument as program 0 of bank 0.
    pub fn single(instrument: Instrument) -> Self {
        let mut programs = BTreeMap::new();
        programs.insert(ProgramNumber { bank: 0, program: 0 }, Arc::new(instrument));
        Self { programs }
    }

    /// The instrument for `number`, falling back as General MIDI players do: the same program
    /// in bank 0 (or the first kit of the percussion bank), then the first program.
    pub fn resolve(&self, number: ProgramNumber) -> Option<&Arc<Instrument>> {
        self.resolve_index(number).and_then(|i| self.programs.values().nth(i))
    }

    /// Like [`Bank::resolve`], as the position of the instrument in program order (what the
    /// sampler stores per channel). Never allocates.
    pub fn resolve_index(&self, number: ProgramNumber) -> Option<usize> {
        resolve_position(self.programs.keys(), number)
    }
}

/// Which of `numbers` (a bank's program numbers, in order) plays for `number`, with
/// [`Bank::resolve`]'s fallbacks: what a General MIDI render needs loaded for a program it
/// selects.
pub fn resolve_among(numbers: &[ProgramNumber], number: ProgramNumber) -> Option<ProgramNumber> {
    resolve_position(numbers.iter(), number).map(|i| numbers[i])
}

/// The position in `keys` (program numbers in order) of the one that plays for `number`: that
/// number, else the same program in bank 0 (or the first kit of the percussion bank), else
/// the first. Never allocates.
fn resolve_position<'a>(keys: impl Iterator<Item = &'a ProgramNumber> + Clone, number: ProgramNumber) -> Option<usize> {
    let position = |n: &ProgramNumber| keys.clone().position(|k| k == n);
    position(&number)
        .or_else(|| {
            if number.bank == PERCUSSION_BANK {
                keys.clone().position(|k| k.bank >= PERCUSSION_BANK)
            } else {
                position(&ProgramNumber { bank: 0, program: number.program })
            }
        })
        .or(if keys.clone().next().is_none() { None } else { Some(0) })
}
