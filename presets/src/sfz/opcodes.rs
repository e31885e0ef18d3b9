//! SFZ opcodes read into the settings of one region (before its sample is known), and those
//! settings turned into a [`Region`] of the instrument model.
//!
//! Values follow the SFZ conventions: keys as numbers or note names (`c4` = 60, `c#4`, `db4`),
//! percentages for `pan`, `amp_veltrack` and `ampeg_sustain`, decibels for `volume` and
//! `resonance`, seconds for envelope times, cents for `tune` and the filter tracking, inclusive
//! sample frames for `end` and `loop_end`. A number followed by other text (`57Edge`) reads as
//! the number, with a warning. Modulation opcodes (`*_onccN`, envelopes, LFOs) are read by
//! [`super::modulation`]; key numbers are shifted by the `<control>` `note_offset` and
//! `octave_offset` in effect.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::instrument::{
    Crossfade, Envelope, EnvelopeControl, EnvelopeStage, FilterKind, LoopDirection, LoopMode, ModSource, NoteRange,
    Region, RegionFilter, RoundRobin, SampleLoop, Trigger,
};

use super::curves::table_from_points;
use super::modulation::{
    controller_input, controller_kind, split_cc, stage_named, CcPart, Context, ControllerInput, ControllerKind,
    ModulationSettings, VELOCITY_CC,
};
use super::parse::is_label;

/// Where a region takes its root key from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyCenter {
    /// The given key.
    Key(u8),
    /// The MIDI unity note in the sample file's `smpl` chunk (`pitch_keycenter=sample`).
    FromSample,
}

/// An input's part in a stage of the amplitude envelope, as the opcodes gave it
/// (`ampeg_<stage>_onccN`, `ampeg_<stage>_curveccN`, `ampeg_vel2<stage>`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct EnvelopeCc {
    /// The stage.
    pub stage: EnvelopeStage,
    /// SFZ controller number: MIDI 0..=127, the extended ones (131 velocity, …) and ARIA's.
    pub cc: u16,
    /// Added at the input's full value: seconds, or a linear level for the sustain.
    pub amount: f32,
    /// Curve index (0: linear).
    pub curve: u16,
}

/// Everything the opcodes of one region said, with SFZ's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSettings {
    /// `sample`, as written.
    pub sample: Option<String>,
    /// `lokey`/`hikey`/`key`.
    pub keys: NoteRange,
    /// `lovel`/`hivel`.
    pub velocities: NoteRange,
    /// `pitch_keycenter` (and `key`), default 60.
    pub key_center: u8,
    /// `pitch_keycenter=sample` given (a later numeric `pitch_keycenter` clears it; `key` does not).
    pub key_center_from_sample: bool,
    /// `tune` in cents.
    pub tune_cents: f32,
    /// `transpose` in semitones.
    pub transpose_semitones: f32,
    /// `pitch_keytrack` in cents per key.
    pub keytrack_cents: f32,
    /// `offset` in frames.
    pub offset_frames: u64,
    /// `end`: last frame played (inclusive); `-1` disables the region.
    pub end_frame: Option<i64>,
    /// `loop_mode`, when given.
    pub loop_mode: Option<LoopMode>,
    /// `loop_start`, when given.
    pub loop_start: Option<u64>,
    /// `loop_end` (inclusive), when given.
    pub loop_end: Option<u64>,
    /// `loop_type`, when given.
    pub loop_direction: Option<LoopDirection>,
    /// `trigger`.
    pub trigger: Trigger,
    /// `seq_length`.
    pub seq_length: u32,
    /// `seq_position`.
    pub seq_position: u32,
    /// `lorand`, when given.
    pub lorand: Option<f32>,
    /// `hirand`, when given.
    pub hirand: Option<f32>,
    /// `group` (polyphony group; 0 = none).
    pub group: u32,
    /// `off_by`.
    pub off_by: Option<u32>,
    /// `polyphony`.
    pub polyphony: Option<u32>,
    /// `sw_lokey`/`sw_hikey`.
    pub sw_range: (Option<u8>, Option<u8>),
    /// `sw_last`.
    pub sw_last: Option<u8>,
    /// `sw_down`: the key that must be held.
    pub sw_down: Option<u8>,
    /// `sw_up`: the key that must not be held.
    pub sw_up: Option<u8>,
    /// `sw_previous`: the key the previous note-on must have been.
    pub sw_previous: Option<u8>,
    /// `sw_default`.
    pub sw_default: Option<u8>,
    /// `volume` in dB.
    pub volume_db: f32,
    /// `amplitude` in percent.
    pub amplitude_percent: f32,
    /// `pan`, -100..=100.
    pub pan_percent: f32,
    /// `amp_veltrack` in percent.
    pub amp_veltrack_percent: f32,
    /// `ampeg_*`.
    pub envelope: Envelope,
    /// `ampeg_*_onccN`, `ampeg_*_curveccN`, `ampeg_vel2*`: inputs' parts in its stages.
    pub envelope_controls: Vec<EnvelopeCc>,
    /// `fil_type`, default low-pass.
    pub filter_kind: FilterKind,
    /// `cutoff` in Hz; the filter is on only when this is given.
    pub cutoff_hz: Option<f32>,
    /// `resonance` in dB.
    pub resonance_db: f32,
    /// `fil_keytrack` in cents per key.
    pub fil_keytrack_cents: f32,
    /// `fil_keycenter`.
    pub fil_keycenter: u8,
    /// `fil_veltrack` in cents.
    pub fil_veltrack_cents: f32,
    /// Keys added to every key number read (`note_offset` + 12 × `octave_offset`).
    pub key_offset: i32,
    /// `delay` in seconds (added to the amplitude envelope's delay).
    pub delay_seconds: f32,
    /// `offset_random` in frames.
    pub offset_random_frames: u64,
    /// `bend_up` in cents, when given.
    pub bend_up_cents: Option<f32>,
    /// `bend_down` in cents, when given.
    pub bend_down_cents: Option<f32>,
    /// `loccN`/`hiccN` by controller number.
    pub controller_ranges: BTreeMap<u16, (u8, u8)>,
    /// `width` in percent.
    pub width_percent: f32,
    /// `amp_velcurve_N` points (velocity, gain).
    pub velocity_points: Vec<(u8, f32)>,
    /// `global_volume`, `master_volume`, `group_volume` in dB, summed.
    pub scope_volume_db: f32,
    /// `global_amplitude`, `master_amplitude`, `group_amplitude` in percent, by scope.
    pub scope_amplitude_percent: [f32; 3],
    /// Crossfades (`xfin_*`, `xfout_*`): (source, fading in) → (low, high) as given.
    pub crossfades: BTreeMap<(XfSource, bool), (Option<u8>, Option<u8>)>,
    /// `xf_velcurve`, `xf_keycurve`, `xf_cccurve` are `power` (the default) rather than `gain`.
    pub crossfade_power: [bool; 3],
    /// Envelopes, LFOs and controller modulation.
    pub modulation: ModulationSettings,
}

/// What an SFZ crossfade reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum XfSource {
    /// `xfin_lovel` …
    Velocity,
    /// `xfin_lokey` …
    Key,
    /// `xfin_loccN` …
    Controller(u16),
}

/// SFZ's default amplitude envelope: instant attack, full sustain, 1 ms release.
pub const SFZ_ENVELOPE: Envelope = Envelope {
    delay_seconds: 0.0,
    attack_seconds: 0.0,
    hold_seconds: 0.0,
    decay_seconds: 0.0,
    sustain_level: 1.0,
    release_seconds: 0.001,
};

impl Default for RegionSettings {
    fn default() -> Self {
        Self {
            sample: None,
            keys: NoteRange::ALL,
            velocities: NoteRange { low: 1, high: 127 },
            key_center: 60,
            key_center_from_sample: false,
            tune_cents: 0.0,
            transpose_semitones: 0.0,
            keytrack_cents: 100.0,
            offset_frames: 0,
            end_frame: None,
            loop_mode: None,
            loop_start: None,
            loop_end: None,
            loop_direction: None,
            trigger: Trigger::Attack,
            seq_length: 1,
            seq_position: 1,
            lorand: None,
            hirand: None,
            group: 0,
            off_by: None,
            polyphony: None,
            sw_range: (None, None),
            sw_last: None,
            sw_down: None,
            sw_up: None,
            sw_previous: None,
            sw_default: None,
            volume_db: 0.0,
            amplitude_percent: 100.0,
            pan_percent: 0.0,
            amp_veltrack_percent: 100.0,
            envelope: SFZ_ENVELOPE,
            filter_kind: FilterKind::LowPass,
            cutoff_hz: None,
            resonance_db: 0.0,
            fil_keytrack_cents: 0.0,
            fil_keycenter: 60,
            fil_veltrack_cents: 0.0,
            key_offset: 0,
            delay_seconds: 0.0,
            offset_random_frames: 0,
            bend_up_cents: None,
            bend_down_cents: None,
            controller_ranges: BTreeMap::new(),
            width_percent: 100.0,
            envelope_controls: Vec::new(),
            velocity_points: Vec::new(),
            scope_volume_db: 0.0,
            scope_amplitude_percent: [100.0; 3],
            crossfades: BTreeMap::new(),
            crossfade_power: [true; 3],
            modulation: ModulationSettings::default(),
        }
    }
}

/// What an opcode did: applied, applied with a remark, or ignored with a reason. Remarks and
/// reasons become warnings.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Applied as written.
    Applied,
    /// Applied, but not exactly as written (approximated, or trailing text ignored).
    Approximated(String),
    /// Not applied.
    Ignored(String),
}

/// A leading decimal number of `text` and whether text follows it.
fn number_prefix(text: &str) -> Option<(f64, bool)> {
    let t = text.trim();
    let bytes = t.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'-') | Some(b'+')) {
        end = 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end < bytes.len() && bytes[end] == b'.' {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    let number = &t[..end];
    if end == digits_start || number == "." || number.ends_with(['-', '+']) {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    Some((value, end < bytes.len()))
}

/// A MIDI note name (`c4` = 60, `c#4`, `db4`, `C-1` = 0), any letter case.
pub fn note_name(text: &str) -> Option<i32> {
    let t = text.trim().to_ascii_lowercase();
    let mut chars = t.chars();
    let base = match chars.next()? {
        'c' => 0,
        'd' => 2,
        'e' => 4,
        'f' => 5,
        'g' => 7,
        'a' => 9,
        'b' => 11,
        _ => return None,
    };
    let rest = chars.as_str();
    let (accidental, octave) = match rest.as_bytes().first() {
        Some(b'#') => (1, &rest[1..]),
        Some(b'b') if rest.len() > 1 => (-1, &rest[1..]),
        _ => (0, rest),
    };
    let octave: i32 = octave.parse().ok()?;
    Some((octave + 1) * 12 + base + accidental)
}

/// An opcode's value being read, with the remark reading it left (trailing text).
pub(super) struct Value<'a> {
    /// Opcode name, lower case.
    pub(super) name: &'a str,
    /// Value as written.
    pub(super) text: &'a str,
    /// A remark to report even though the value was read.
    pub(super) remark: Option<String>,
}

impl Value<'_> {
    pub(super) fn number(&mut self) -> Result<f64, Outcome> {
        match number_prefix(self.text) {
            Some((v, trailing)) => {
                if trailing {
                    self.remark = Some(format!("`{}={}`: text after the number {v} is ignored", self.name, self.text));
                }
                Ok(v)
            }
            None => Err(Outcome::Ignored(format!("`{}={}`: not a number; ignored", self.name, self.text))),
        }
    }

    pub(super) fn float(&mut self, low: f64, high: f64) -> Result<f32, Outcome> {
        let v = self.number()?;
        if !(low..=high).contains(&v) {
            return Err(Outcome::Ignored(format!(
                "`{}={}`: out of range {low}..={high}; ignored",
                self.name, self.text
            )));
        }
        Ok(v as f32)
    }

    pub(super) fn integer(&mut self, low: i64, high: i64) -> Result<i64, Outcome> {
        let v = self.number()?;
        if v.fract() != 0.0 || !(low as f64..=high as f64).contains(&v) {
            return Err(Outcome::Ignored(format!(
                "`{}={}`: expected a whole number in {low}..={high}; ignored",
                self.name, self.text
            )));
        }
        Ok(v as i64)
    }

    fn key(&mut self) -> Result<u8, Outcome> {
        if let Some(k) = note_name(self.text) {
            return u8::try_from(k).ok().filter(|k| *k <= 127).ok_or_else(|| {
                Outcome::Ignored(format!("`{}={}`: key outside 0..=127; ignored", self.name, self.text))
            });
        }
        self.integer(0, 127).map(|k| k as u8)
    }

    pub(super) fn word(&self) -> String {
        self.text.trim().to_ascii_lowercase()
    }

    /// The opcode is not one the importer reads.
    pub(super) fn unsupported(&self) -> Outcome {
        Outcome::Ignored(format!("opcode `{}` is not supported; ignored", self.name))
    }

    pub(super) fn unknown_word(&self) -> Outcome {
        Outcome::Ignored(format!("`{}={}`: unknown value; ignored", self.name, self.text))
    }
}

impl RegionSettings {
    /// Applies one opcode (`name` in lower case).
    pub fn apply(&mut self, name: &str, text: &str) -> Outcome {
        let mut value = Value { name, text, remark: None };
        match self.apply_value(&mut value) {
            Ok(()) => match value.remark {
                Some(remark) => Outcome::Approximated(remark),
                None => Outcome::Applied,
            },
            Err(outcome) => outcome,
        }
    }

    /// A key number shifted by `note_offset`/`octave_offset` (clamped to 0..=127, as sfizz).
    fn shifted_key(&self, v: &mut Value<'_>) -> Result<u8, Outcome> {
        Ok((v.key()? as i32 + self.key_offset).clamp(0, 127) as u8)
    }

    fn apply_value(&mut self, v: &mut Value<'_>) -> Result<(), Outcome> {
        let seconds = |v: &mut Value<'_>| v.float(0.0, 100.0);
        // sfizz's polyphony group numbers run from −(2³¹−1) to 2³²−1; negative ones wrap to
        // distinct large numbers (no file mixes both ends).
        let group_number = |v: &mut Value<'_>| v.integer(-(i32::MAX as i64), u32::MAX as i64).map(|g| g as u32);
        match v.name {
            "sample" => self.sample = Some(v.text.trim().to_string()),
            "lokey" => self.keys.low = self.shifted_key(v)?,
            "hikey" => self.keys.high = self.shifted_key(v)?,
            "key" => {
                let k = self.shifted_key(v)?;
                self.keys = NoteRange { low: k, high: k };
                self.key_center = k;
            }
            "lovel" => self.velocities.low = v.integer(0, 127)? as u8,
            "hivel" => self.velocities.high = v.integer(0, 127)? as u8,
            "pitch_keycenter" => {
                if v.word() == "sample" {
                    self.key_center_from_sample = true;
                } else {
                    self.key_center = self.shifted_key(v)?;
                    self.key_center_from_sample = false;
                }
            }
            "tune" | "pitch" => self.tune_cents = v.float(-9600.0, 9600.0)?,
            "transpose" => self.transpose_semitones = v.integer(-127, 127)? as f32,
            "pitch_keytrack" => self.keytrack_cents = v.float(-1200.0, 1200.0)?,
            "offset" => self.offset_frames = v.integer(0, u32::MAX as i64 * 16)? as u64,
            "end" => self.end_frame = Some(v.integer(-1, u32::MAX as i64 * 16)?),
            "loop_mode" | "loopmode" => {
                self.loop_mode = Some(match v.word().as_str() {
                    "no_loop" => LoopMode::NoLoop,
                    "one_shot" => LoopMode::OneShot,
                    "loop_continuous" => LoopMode::Continuous,
                    "loop_sustain" => LoopMode::Sustain,
                    _ => return Err(v.unknown_word()),
                })
            }
            "loop_start" | "loopstart" => self.loop_start = Some(v.integer(0, u32::MAX as i64 * 16)? as u64),
            "loop_end" | "loopend" => self.loop_end = Some(v.integer(0, u32::MAX as i64 * 16)? as u64),
            "loop_type" | "looptype" => {
                self.loop_direction = Some(match v.word().as_str() {
                    "forward" => LoopDirection::Forward,
                    "alternate" => LoopDirection::PingPong,
                    "backward" => {
                        self.loop_direction = Some(LoopDirection::Forward);
                        return Err(Outcome::Approximated(format!(
                            "`{}={}`: backward loops are not supported; the loop plays forward",
                            v.name, v.text
                        )));
                    }
                    _ => return Err(v.unknown_word()),
                })
            }
            "direction" => match v.word().as_str() {
                "forward" => {}
                "reverse" => {
                    return Err(Outcome::Ignored(format!(
                        "`{}={}`: reverse playback is not supported; plays forward",
                        v.name, v.text
                    )))
                }
                _ => return Err(v.unknown_word()),
            },
            "trigger" => {
                self.trigger = match v.word().as_str() {
                    "attack" => Trigger::Attack,
                    "release" => Trigger::Release,
                    "release_key" => {
                        self.trigger = Trigger::Release;
                        return Err(Outcome::Approximated(format!(
                            "`{}={}`: played as trigger=release (the sustain pedal also delays it)",
                            v.name, v.text
                        )));
                    }
                    "first" | "legato" => {
                        self.trigger = Trigger::Attack;
                        return Err(Outcome::Approximated(format!(
                            "`{}={}`: legato triggers are not supported; plays on every note-on",
                            v.name, v.text
                        )));
                    }
                    _ => return Err(v.unknown_word()),
                }
            }
            "seq_length" => self.seq_length = v.integer(1, 100)? as u32,
            "seq_position" => self.seq_position = v.integer(1, 100)? as u32,
            "lorand" => self.lorand = Some(v.float(0.0, 1.0)?),
            "hirand" => self.hirand = Some(v.float(0.0, 1.0)?),
            "group" | "polyphony_group" => self.group = group_number(v)?,
            "off_by" | "offby" => self.off_by = Some(group_number(v)?).filter(|g| *g != 0),
            "off_mode" => match v.word().as_str() {
                "fast" => {}
                "normal" => {
                    return Err(Outcome::Approximated(format!(
                        "`{}={}`: choked voices always fade out fast (5 ms), not over their release",
                        v.name, v.text
                    )))
                }
                _ => return Err(v.unknown_word()),
            },
            "polyphony" => self.polyphony = Some(v.integer(1, 4096)? as u32),
            "sw_lokey" => self.sw_range.0 = Some(self.shifted_key(v)?),
            "sw_hikey" => self.sw_range.1 = Some(self.shifted_key(v)?),
            "sw_last" => self.sw_last = Some(self.shifted_key(v)?),
            "sw_down" => self.sw_down = Some(self.shifted_key(v)?),
            "sw_up" => self.sw_up = Some(self.shifted_key(v)?),
            "sw_previous" => self.sw_previous = Some(self.shifted_key(v)?),
            "sw_default" => self.sw_default = Some(self.shifted_key(v)?),
            "volume" | "gain" => self.volume_db = v.float(-144.0, 48.0)?,
            "global_volume" | "master_volume" | "group_volume" => self.scope_volume_db += v.float(-144.0, 48.0)?,
            "amplitude" => self.amplitude_percent = v.float(0.0, 10_000.0)?,
            "global_amplitude" => self.scope_amplitude_percent[0] = v.float(0.0, 10_000.0)?,
            "master_amplitude" => self.scope_amplitude_percent[1] = v.float(0.0, 10_000.0)?,
            "group_amplitude" => self.scope_amplitude_percent[2] = v.float(0.0, 10_000.0)?,
            "pan" => self.pan_percent = v.float(-100.0, 100.0)?,
            "width" => self.width_percent = v.float(-100.0, 100.0)?,
            "delay" => self.delay_seconds = seconds(v)?,
            "offset_random" => self.offset_random_frames = v.integer(0, u32::MAX as i64 * 16)? as u64,
            "bend_up" | "bendup" => self.bend_up_cents = Some(v.float(-12_000.0, 12_000.0)?),
            "bend_down" | "benddown" => self.bend_down_cents = Some(v.float(-12_000.0, 12_000.0)?),
            "xfin_lovel" => self.crossfade(XfSource::Velocity, true).0 = Some(v.integer(0, 127)? as u8),
            "xfin_hivel" => self.crossfade(XfSource::Velocity, true).1 = Some(v.integer(0, 127)? as u8),
            "xfout_lovel" => self.crossfade(XfSource::Velocity, false).0 = Some(v.integer(0, 127)? as u8),
            "xfout_hivel" => self.crossfade(XfSource::Velocity, false).1 = Some(v.integer(0, 127)? as u8),
            "xfin_lokey" => self.crossfade(XfSource::Key, true).0 = Some(self.shifted_key(v)?),
            "xfin_hikey" => self.crossfade(XfSource::Key, true).1 = Some(self.shifted_key(v)?),
            "xfout_lokey" => self.crossfade(XfSource::Key, false).0 = Some(self.shifted_key(v)?),
            "xfout_hikey" => self.crossfade(XfSource::Key, false).1 = Some(self.shifted_key(v)?),
            "xf_velcurve" | "xf_keycurve" | "xf_cccurve" => {
                let power = match v.word().as_str() {
                    "power" => true,
                    "gain" => false,
                    _ => return Err(v.unknown_word()),
                };
                self.crossfade_power
                    [["xf_velcurve", "xf_keycurve", "xf_cccurve"].iter().position(|n| *n == v.name).unwrap_or(2)] =
                    power;
            }
            "amp_veltrack" => {
                let t = v.float(-100.0, 100.0)?;
                if t < 0.0 {
                    self.amp_veltrack_percent = 0.0;
                    return Err(Outcome::Approximated(format!(
                        "`{}={}`: negative velocity tracking is not supported; read as 0",
                        v.name, v.text
                    )));
                }
                self.amp_veltrack_percent = t;
            }
            "ampeg_delay" => self.envelope.delay_seconds = seconds(v)?,
            "ampeg_attack" => self.envelope.attack_seconds = seconds(v)?,
            "ampeg_hold" => self.envelope.hold_seconds = seconds(v)?,
            "ampeg_decay" => self.envelope.decay_seconds = seconds(v)?,
            "ampeg_sustain" => self.envelope.sustain_level = v.float(0.0, 100.0)? / 100.0,
            "ampeg_release" => self.envelope.release_seconds = seconds(v)?,
            "fil_type" | "fil1_type" | "filtype" => {
                let word = v.word();
                let kind = match word.as_str() {
                    "lpf_2p" | "lpf_2p_sv" => FilterKind::LowPass,
                    "hpf_2p" | "hpf_2p_sv" => FilterKind::HighPass,
                    "bpf_2p" | "bpf_2p_sv" => FilterKind::BandPass,
                    "lpf_1p" | "lpf_4p" | "lpf_6p" | "hpf_1p" | "hpf_4p" | "hpf_6p" | "bpf_1p" | "bpf_4p"
                    | "bpf_6p" => {
                        self.filter_kind = match &word[..1] {
                            "l" => FilterKind::LowPass,
                            "h" => FilterKind::HighPass,
                            _ => FilterKind::BandPass,
                        };
                        return Err(Outcome::Approximated(format!(
                            "`{}={}`: played as the two-pole filter of the same kind",
                            v.name, v.text
                        )));
                    }
                    _ => {
                        return Err(Outcome::Ignored(format!(
                            "`{}={}`: filter type not supported (low-, high- and band-pass are); ignored",
                            v.name, v.text
                        )))
                    }
                };
                self.filter_kind = kind;
            }
            "cutoff" | "cutoff1" => self.cutoff_hz = Some(v.float(1.0, 100_000.0)?),
            "resonance" | "resonance1" => self.resonance_db = v.float(0.0, 96.0)?,
            "fil_keytrack" | "fil1_keytrack" => self.fil_keytrack_cents = v.float(-1200.0, 1200.0)?,
            "fil_keycenter" | "fil1_keycenter" => self.fil_keycenter = v.key()?,
            "fil_veltrack" | "fil1_veltrack" => self.fil_veltrack_cents = v.float(-9600.0, 9600.0)?,
            name if is_label(name) => {}
            "note_polyphony" => {
                return Err(Outcome::Ignored(format!(
                    "opcode `{}` is not supported: the model limits the voices of a group or region, not of a key; ignored",
                    v.name
                )))
            }
            "off_time" | "off_shape" | "off_curve" => {
                return Err(Outcome::Ignored(format!(
                    "opcode `{}` is not supported: choked voices fade out in a fixed 5 ms; ignored",
                    v.name
                )))
            }
            name if name == "oscillator" || name.starts_with("oscillator_") => {
                return Err(Outcome::Ignored(format!(
                    "opcode `{name}` is not supported: there is no wavetable oscillator mode (the file plays as a sample); ignored"
                )))
            }
            name if ["on_locc", "on_hicc", "start_locc", "start_hicc", "on_lohdcc", "on_hihdcc"]
                .iter()
                .any(|p| name.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))) =>
            {
                return Err(Outcome::Ignored(format!(
                    "opcode `{name}` is not supported: regions play on notes only, not on controller moves; ignored"
                )))
            }
            _ => {
                if let Some(result) = self.apply_numbered(v) {
                    return result;
                }
                if let Some(result) = self.envelope_control(v) {
                    return result;
                }
                if let Some(result) = self.modulation.apply(v) {
                    return result;
                }
                return Err(v.unsupported());
            }
        }
        Ok(())
    }

    fn crossfade(&mut self, source: XfSource, fade_in: bool) -> &mut (Option<u8>, Option<u8>) {
        self.crossfades.entry((source, fade_in)).or_default()
    }

    /// `ampeg_<stage>_onccN` / `ampeg_<stage>ccN` (seconds; percent for the sustain) and
    /// `ampeg_<stage>_curveccN`: controller `N`'s part in a stage of the amplitude envelope,
    /// read when a note starts; `ampeg_vel2<stage>` is velocity's (controller 131). A region's
    /// value replaces its group's for the same stage and controller.
    fn envelope_control(&mut self, v: &mut Value<'_>) -> Option<Result<(), Outcome>> {
        let rest = v.name.strip_prefix("ampeg_")?;
        let (stem, part, cc) = match rest.strip_prefix("vel2") {
            Some(stem) => (stem, CcPart::Depth, VELOCITY_CC),
            None => split_cc(rest)?,
        };
        let stage = stage_named(stem)?;
        if !matches!(part, CcPart::Depth | CcPart::Curve) {
            return None; // smoothing and steps: the modulation opcodes' remark
        }
        if let Err(reason) = controller_kind(cc) {
            return Some(Err(Outcome::Ignored(format!("opcode `{}` is not supported: {reason}; ignored", v.name))));
        }
        let read = match part {
            CcPart::Curve => v.integer(0, super::curves::MAX_CURVE_INDEX as i64).map(|k| (None, Some(k as u16))),
            _ if stage == EnvelopeStage::Sustain => v.float(-100.0, 100.0).map(|p| (Some(p / 100.0), None)),
            _ => v.float(-100.0, 100.0).map(|x| (Some(x), None)),
        };
        let (amount, curve) = match read {
            Ok(read) => read,
            Err(e) => return Some(Err(e)),
        };
        let index = match self.envelope_controls.iter().position(|c| c.stage == stage && c.cc == cc) {
            Some(i) => i,
            None => {
                self.envelope_controls.push(EnvelopeCc { stage, cc, amount: 0.0, curve: 0 });
                self.envelope_controls.len() - 1
            }
        };
        let control = &mut self.envelope_controls[index];
        control.amount = amount.unwrap_or(control.amount);
        control.curve = curve.unwrap_or(control.curve);
        Some(Ok(()))
    }

    /// Opcodes whose name ends in a number that are not modulation: `amp_velcurve_N`,
    /// `loccN`/`hiccN`, `xfin_loccN` …
    fn apply_numbered(&mut self, v: &mut Value<'_>) -> Option<Result<(), Outcome>> {
        let name = v.name;
        if let Some(velocity) = name.strip_prefix("amp_velcurve_") {
            let Some(velocity) = velocity.parse::<u8>().ok().filter(|n| *n <= 127) else {
                return Some(Err(Outcome::Ignored(format!("opcode `{name}`: velocity outside 0..=127; ignored"))));
            };
            return Some(v.float(0.0, 1.0).map(|gain| self.velocity_points.push((velocity, gain))));
        }
        let head = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if head.len() == name.len()
            || !matches!(head, "locc" | "hicc" | "xfin_locc" | "xfin_hicc" | "xfout_locc" | "xfout_hicc")
        {
            return None;
        }
        let cc = name[head.len()..].parse::<u16>().unwrap_or(u16::MAX);
        let reason = match controller_kind(cc) {
            Err(reason) => Some(reason),
            Ok(ControllerKind::Live(ModSource::Controller(_) | ModSource::Velocity | ModSource::Key, _))
            | Ok(ControllerKind::Fixed) => None,
            Ok(ControllerKind::Live(source, _)) => {
                Some(format!("conditions and crossfades on {source:?} are not supported"))
            }
        };
        if let Some(reason) = reason {
            return Some(Err(Outcome::Ignored(format!("opcode `{name}` is not supported: {reason}; ignored"))));
        }
        let value = match v.integer(0, 127) {
            Ok(x) => x as u8,
            Err(e) => return Some(Err(e)),
        };
        match head {
            "locc" => self.controller_ranges.entry(cc).or_insert((0, 127)).0 = value,
            "hicc" => self.controller_ranges.entry(cc).or_insert((0, 127)).1 = value,
            "xfin_locc" => self.crossfade(XfSource::Controller(cc), true).0 = Some(value),
            "xfin_hicc" => self.crossfade(XfSource::Controller(cc), true).1 = Some(value),
            "xfout_locc" => self.crossfade(XfSource::Controller(cc), false).0 = Some(value),
            _ => self.crossfade(XfSource::Controller(cc), false).1 = Some(value),
        }
        Some(Ok(()))
    }

    /// Why the region can never play, if so: a condition on an ARIA generic controller
    /// (fixed at its `set_ccN` value) that the value does not meet.
    pub fn never_plays(&self, ctx: &Context) -> Option<String> {
        self.controller_ranges.iter().find_map(|(&cc, &(low, high))| {
            if controller_kind(cc) != Ok(ControllerKind::Fixed) {
                return None;
            }
            let value = ctx.controller_default(cc) * 127.0;
            // sfizz fills the gap up to the next whole value above `high`.
            let inside = value >= low as f32 && value < high as f32 + 1.0;
            (!inside).then(|| {
                format!("controller {cc} stays at {value} (its set_cc value) outside locc{cc}={low}..hicc{cc}={high}: the region never plays; skipped")
            })
        })
    }

    /// Total pitch offset in cents (`tune` + 100 × `transpose`).
    pub fn tune_total_cents(&self) -> f32 {
        self.tune_cents + 100.0 * self.transpose_semitones
    }
}

/// What a sample file says about itself beyond its audio (the WAV `smpl` chunk).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct SampleInfo {
    /// MIDI unity note.
    pub unity_note: Option<u8>,
    /// First loop: start frame, end frame (inclusive), direction.
    pub sample_loop: Option<(u64, u64, LoopDirection)>,
}

/// Builds the region from `settings` for its decoded `sample` (with what the file said in
/// `info`), reading curves and controller values from `ctx`; remarks that become warnings are
/// pushed to `remarks`. `looped_by_default` is set for generated waveforms, which loop as a
/// whole unless told otherwise.
pub fn build_region(
    settings: &RegionSettings,
    ctx: &Context,
    sample: Arc<crate::sample::Sample>,
    info: SampleInfo,
    looped_by_default: bool,
    remarks: &mut Vec<String>,
) -> Region {
    let frames = sample.frames() as u64;
    let root_key = if settings.key_center_from_sample {
        info.unity_note.unwrap_or_else(|| {
            remarks.push(format!(
                "pitch_keycenter=sample, but the sample gives no root key; using {}",
                settings.key_center
            ));
            settings.key_center
        })
    } else {
        settings.key_center
    };
    let mut region = Region::new(sample, root_key);
    region.keys = settings.keys;
    region.velocities = settings.velocities;
    region.tune_cents = settings.tune_total_cents();
    region.keytrack_cents = settings.keytrack_cents;
    region.offset_frames = settings.offset_frames.min(frames) as f64;
    if let Some(end) = settings.end_frame.filter(|e| *e >= 0) {
        region.end_frames = ((end as u64).saturating_add(1)).min(frames) as f64;
    }

    // Loop points: the opcodes, else the file's first loop, else (when looping) the whole sample.
    let file_loop = info.sample_loop;
    let start = settings.loop_start.or(file_loop.map(|l| l.0));
    let end_inclusive = settings.loop_end.or(file_loop.map(|l| l.1));
    let has_loop = start.is_some() || end_inclusive.is_some() || looped_by_default;
    let direction = settings.loop_direction.or(file_loop.map(|l| l.2)).unwrap_or(LoopDirection::Forward);
    let loop_mode = settings.loop_mode.unwrap_or(if has_loop {
        LoopMode::Continuous
    } else if settings.trigger == Trigger::Release {
        LoopMode::OneShot
    } else {
        LoopMode::NoLoop
    });
    if has_loop || matches!(loop_mode, LoopMode::Continuous | LoopMode::Sustain) {
        let start_frames = start.unwrap_or(0).min(frames);
        let end_frames = end_inclusive.map_or(frames, |e| e.saturating_add(1)).min(frames);
        if end_frames > start_frames + 1 {
            region.sample_loop =
                Some(SampleLoop { start_frames: start_frames as f64, end_frames: end_frames as f64, direction });
        } else {
            remarks.push(format!(
                "loop {start_frames}..{end_frames} is empty or outside the sample ({frames} frames); not looped"
            ));
        }
    }
    region.loop_mode = loop_mode;
    region.trigger = settings.trigger;
    region.round_robin = if settings.seq_length > 1 {
        if settings.lorand.is_some() || settings.hirand.is_some() {
            remarks.push("both seq_* and lorand/hirand given; the sequence is used".into());
        }
        RoundRobin::Sequence { length: settings.seq_length, position: settings.seq_position.min(settings.seq_length) }
    } else if settings.lorand.is_some() || settings.hirand.is_some() {
        RoundRobin::Random { low: settings.lorand.unwrap_or(0.0), high: settings.hirand.unwrap_or(1.0) }
    } else {
        RoundRobin::Off
    };
    region.choke_group = settings.group;
    region.off_by = settings.off_by;
    region.key_switch = settings.sw_last;
    (region.key_held, region.key_not_held, region.previous_key) =
        (settings.sw_down, settings.sw_up, settings.sw_previous);

    // Crossfades; those on fixed (ARIA generic) controllers fold into the amplitude.
    let mut static_amplitude =
        settings.amplitude_percent / 100.0 * settings.scope_amplitude_percent.iter().product::<f32>() / 1e6;
    for (&(source, fade_in), &(low, high)) in &settings.crossfades {
        let (default_low, default_high) = if fade_in { (0, 0) } else { (127, 127) };
        let (source, power) = match source {
            XfSource::Velocity => (ModSource::Velocity, settings.crossfade_power[0]),
            XfSource::Key => (ModSource::Key, settings.crossfade_power[1]),
            XfSource::Controller(cc) => match controller_kind(cc) {
                Ok(ControllerKind::Live(source, _)) => (source, settings.crossfade_power[2]),
                _ => {
                    let xf = Crossfade {
                        source: ModSource::One,
                        low: low.unwrap_or(default_low),
                        high: high.unwrap_or(default_high),
                        fade_in,
                        power: settings.crossfade_power[2],
                    };
                    static_amplitude *= xf.gain((ctx.controller_default(cc) * 127.0).round() as u8);
                    continue;
                }
            },
        };
        let xf =
            Crossfade { source, low: low.unwrap_or(default_low), high: high.unwrap_or(default_high), fade_in, power };
        region.crossfades.push(xf);
    }

    let mapped = settings.modulation.build(ctx, static_amplitude, remarks);
    region.amplitude = mapped.amplitude;
    region.modulation = mapped.modulation;
    region.gain_db = (settings.volume_db + settings.scope_volume_db + mapped.volume_db).max(-144.0);
    region.tune_cents += mapped.pitch_cents;
    region.pan = (settings.pan_percent / 100.0 + mapped.pan).clamp(-1.0, 1.0);
    region.width = (settings.width_percent / 100.0 + mapped.width).clamp(-1.0, 1.0);
    region.amp_velocity_track = (settings.amp_veltrack_percent / 100.0).clamp(0.0, 1.0);
    if !settings.velocity_points.is_empty() {
        region.velocity_curve = Some(Arc::new(table_from_points(&settings.velocity_points)));
    }
    region.amp_envelope = mapped.amp_envelope.unwrap_or(settings.envelope);
    if mapped.amp_envelope.is_some() {
        region.amp_envelope_controls = mapped.amp_envelope_controls;
    } else {
        // An `egN_ampeg` envelope replaces the `ampeg_*` one, its controls with it. Fixed
        // (ARIA) controllers fold into the stages now; live inputs are read at note-on.
        for c in &settings.envelope_controls {
            match controller_input(c.cc, c.curve, ctx) {
                Some(ControllerInput::Live(input)) => {
                    region.amp_envelope_controls.push(EnvelopeControl { stage: c.stage, input, amount: c.amount })
                }
                Some(ControllerInput::Fixed(x)) => region.amp_envelope.add(c.stage, c.amount * x),
                None => {}
            }
        }
        region.amp_envelope = region.amp_envelope.limited();
    }
    // The sampler delays the whole voice by the amplitude envelope's delay.
    region.amp_envelope.delay_seconds += settings.delay_seconds;
    region.offset_random_frames = settings.offset_random_frames as f64;
    if settings.bend_up_cents.is_some() || settings.bend_down_cents.is_some() {
        // sfizz's defaults: ±200 cents.
        region.bend_cents = Some((settings.bend_up_cents.unwrap_or(200.0), settings.bend_down_cents.unwrap_or(-200.0)));
    }
    for (&cc, &(low, high)) in &settings.controller_ranges {
        let range = NoteRange { low, high };
        let intersect = |r: &mut NoteRange| {
            r.low = r.low.max(low);
            r.high = r.high.min(high);
        };
        match controller_kind(cc) {
            Ok(ControllerKind::Live(ModSource::Controller(n), _)) => region.controller_ranges.push((n, range)),
            Ok(ControllerKind::Live(ModSource::Velocity, _)) => intersect(&mut region.velocities),
            Ok(ControllerKind::Live(ModSource::Key, _)) => intersect(&mut region.keys),
            // Fixed controllers are checked by `RegionSettings::never_plays`; others were refused.
            _ => {}
        }
    }
    region.filter = settings.cutoff_hz.map(|cutoff| {
        // SFZ tracks the key from fil_keycenter and adds fil_veltrack at velocity 127; the
        // model tracks from the root key and subtracts at lower velocities: fold both into
        // the base cutoff so every key and velocity gets the same frequency.
        let key_cents = (root_key as f32 - settings.fil_keycenter as f32) * settings.fil_keytrack_cents;
        let cents = key_cents + settings.fil_veltrack_cents + mapped.cutoff_cents;
        RegionFilter {
            kind: settings.filter_kind,
            cutoff_hz: cutoff * (cents / 1200.0).exp2(),
            resonance_db: settings.resonance_db,
            keytrack_cents: settings.fil_keytrack_cents,
            velocity_track_cents: settings.fil_veltrack_cents,
        }
    });
    region.polyphony = settings.polyphony;
    region
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_follow_c4_is_60() {
        for (name, key) in [("c4", 60), ("C4", 60), ("c#4", 61), ("db4", 61), ("a4", 69), ("c-1", 0), ("g9", 127)] {
            assert_eq!(note_name(name), Some(key), "{name}");
        }
        for bad in ["h4", "c", "4", "cb", "c#x"] {
            assert_eq!(note_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_read_their_leading_digits_and_flag_the_rest() {
        assert_eq!(number_prefix("57"), Some((57.0, false)));
        assert_eq!(number_prefix("-12.5"), Some((-12.5, false)));
        assert_eq!(number_prefix("57Edge"), Some((57.0, true)));
        assert_eq!(number_prefix("abc"), None);
        assert_eq!(number_prefix("-"), None);
    }

    #[test]
    fn opcodes_set_settings_and_report_what_they_cannot() {
        let mut s = RegionSettings::default();
        assert_eq!(s.apply("key", "c#4"), Outcome::Applied);
        assert_eq!((s.keys, s.key_center), (NoteRange { low: 61, high: 61 }, 61));
        assert_eq!(s.apply("ampeg_sustain", "50"), Outcome::Applied);
        assert_eq!(s.envelope.sustain_level, 0.5);
        assert!(matches!(s.apply("lokey", "abc"), Outcome::Ignored(m) if m.contains("not a number")));
        assert!(matches!(s.apply("lovel", "200"), Outcome::Ignored(m) if m.contains("0..=127")));
        assert!(matches!(s.apply("key", "57Edge"), Outcome::Approximated(_)));
        assert_eq!(s.keys.low, 57);
        assert!(
            matches!(s.apply("frobnicate", "40"), Outcome::Ignored(m) if m.contains("`frobnicate` is not supported"))
        );
        assert_eq!(s.apply("sw_label", "Sine"), Outcome::Applied);
        assert_eq!(s.apply("loop_type", "alternate"), Outcome::Applied);
        assert_eq!(s.loop_direction, Some(LoopDirection::PingPong));
    }

    // ------------------------------------------------------------ modulation families

    use crate::instrument::{Lfo, LfoParam, LfoWaveform, ModCurve, ModInput, ModRoute, ModTarget};
    use crate::modulation::{MAX_ENVELOPES, MAX_FAST_ROUTES, MAX_LFOS};
    use crate::sample::Sample;
    use std::collections::HashMap;

    /// The region `text` (`name=value` words) builds in `ctx`, with every warning.
    fn region_in(ctx: &Context, settings: RegionSettings, text: &str) -> (Region, Vec<String>) {
        let mut settings = settings;
        let mut warnings = Vec::new();
        for word in text.split_whitespace() {
            let (name, value) = word.split_once('=').expect("name=value");
            match settings.apply(name, value) {
                Outcome::Applied => {}
                Outcome::Approximated(m) | Outcome::Ignored(m) => warnings.push(m),
            }
        }
        let sample = Arc::new(Sample::from_f32(48_000, vec![vec![0.0; 4800]], [0; 32]));
        let region = build_region(&settings, ctx, sample, SampleInfo::default(), false, &mut warnings);
        (region, warnings)
    }

    fn region(text: &str) -> (Region, Vec<String>) {
        region_in(&Context::default(), RegionSettings::default(), text)
    }

    /// Builds and demands no warnings.
    fn clean(text: &str) -> Region {
        let (region, warnings) = region(text);
        assert!(warnings.is_empty(), "{text}: {warnings:?}");
        region
    }

    fn cc(n: u8) -> ModInput {
        ModInput::linear(ModSource::Controller(n))
    }

    fn lfo(n: u8) -> ModInput {
        ModInput::linear(ModSource::Lfo(n))
    }

    fn env(n: u8) -> ModInput {
        ModInput::linear(ModSource::Envelope(n))
    }

    fn with_defaults(defaults: &[(u16, f32)]) -> Context {
        Context { controller_defaults: defaults.iter().copied().collect::<HashMap<_, _>>(), ..Context::default() }
    }

    #[test]
    fn amplitude_is_a_linear_factor_and_its_controllers_multiply_it() {
        let r = clean("amplitude=50");
        assert_eq!((r.amplitude, r.gain_db), (0.5, 0.0), "amplitude no longer folds into gain_db");
        assert!(r.modulation.routes.is_empty());
        // amplitude_oncc1=100: CC 1 brings the amplitude from 0 to 100 % (ARIA, sfizz).
        let r = clean("amplitude_oncc1=100");
        assert_eq!(r.amplitude, 0.0);
        assert_eq!(r.modulation.routes, [ModRoute::new(cc(1), 1.0, ModTarget::Amplitude)]);
        // With a static amplitude and a curve: 50 % × 60 % through x².
        let r = clean("amplitude=50 amplitude_oncc1=60 amplitude_curvecc1=4");
        let route = &r.modulation.routes[0];
        assert!((route.amount - 0.3).abs() < 1e-6 && route.input.source == ModSource::Controller(1));
        assert!(matches!(&route.input.curve, ModCurve::Table(t) if (t[64] - (64.0f32 / 127.0).powi(2)).abs() < 1e-6));
        // Two controllers: one route, the second as its scale.
        let r = clean("amplitude_oncc1=100 amplitude_oncc11=50");
        assert_eq!(r.modulation.routes, [ModRoute::new(cc(1), 0.5, ModTarget::Amplitude).scaled_by(cc(11))]);
        // A third factor does not fit one route: warned, dropped.
        let (r, warnings) = region("amplitude_oncc1=100 amplitude_oncc11=50 amplitude_oncc70=100");
        assert_eq!(r.modulation.routes.len(), 1);
        assert!(warnings.iter().any(|w| w.contains("amplitude_oncc70") && w.contains("more than two")), "{warnings:?}");
        // ARIA generic controllers cannot move: folded at their set_hdcc value.
        let (r, warnings) =
            region_in(&with_defaults(&[(201, 0.5)]), RegionSettings::default(), "amplitude_oncc201=200");
        assert!(warnings.is_empty() && r.modulation.routes.is_empty(), "{warnings:?}");
        assert!((r.amplitude - 1.0).abs() < 1e-6, "{}", r.amplitude);
        // An LFO on amplitude is tremolo around the level, riding on its controller factor.
        let r = clean("amplitude_oncc1=100 lfo1_freq=3 lfo1_amplitude=50");
        assert_eq!(
            r.modulation.routes,
            [
                ModRoute::new(cc(1), 1.0, ModTarget::Amplitude),
                ModRoute::new(lfo(0), 0.5, ModTarget::Amplitude).scaled_by(cc(1))
            ]
        );
        // Amplitude connections multiply their controller depths into their depth (sfizz):
        // without a depth there is nothing to scale.
        let r = clean("eg1_time1=1 eg1_level1=1 eg1_sustain=1 eg1_amplitude=50 eg1_amplitude_oncc7=50");
        assert_eq!(r.modulation.routes, [ModRoute::new(env(0), 0.25, ModTarget::Amplitude).scaled_by(cc(7))]);
        assert!(clean("eg1_time1=1 eg1_level1=1 eg1_sustain=1 eg1_amplitude_oncc7=50").modulation.routes.is_empty());
        // global/master/group amplitude multiply, their volumes add.
        let r = clean("amplitude=50 group_amplitude=50 group_volume=-6 volume=-3");
        assert_eq!((r.amplitude, r.gain_db), (0.25, -9.0));
    }

    #[test]
    fn volume_pan_tune_and_cutoff_controllers_become_routes_in_model_units() {
        let r = clean(
            "cutoff=500 volume_oncc7=-12 gain_cc11=6 pan_oncc10=100 pan_curvecc10=1 tune_oncc1=200 pitch_oncc2=50 \
             cutoff_oncc74=1200 cutoff_cc75=600 cutoff_chanaft=300",
        );
        let routes = &r.modulation.routes;
        let has = |route: ModRoute| assert!(routes.contains(&route), "{route:?} not in {routes:#?}");
        has(ModRoute::new(cc(7), -12.0, ModTarget::VolumeDb));
        has(ModRoute::new(cc(11), 6.0, ModTarget::VolumeDb));
        has(ModRoute::new(cc(10).bipolar(), 1.0, ModTarget::Pan));
        has(ModRoute::new(cc(1), 200.0, ModTarget::PitchCents));
        has(ModRoute::new(cc(2), 50.0, ModTarget::PitchCents));
        has(ModRoute::new(cc(74), 1200.0, ModTarget::CutoffCents));
        has(ModRoute::new(cc(75), 600.0, ModTarget::CutoffCents));
        has(ModRoute::new(ModInput::linear(ModSource::ChannelPressure), 300.0, ModTarget::CutoffCents));
        assert_eq!(routes.len(), 8);
        // Extended controllers: 131 is the velocity, 128 the pitch wheel (−1..1).
        let r = clean("tune_oncc131=100 pan_oncc128=50");
        assert!(r.modulation.routes.contains(&ModRoute::new(
            ModInput::linear(ModSource::Velocity),
            100.0,
            ModTarget::PitchCents
        )));
        assert!(r.modulation.routes.contains(&ModRoute::new(
            ModInput::linear(ModSource::PitchWheel).bipolar(),
            0.5,
            ModTarget::Pan
        )));
        let (_, warnings) = region("tune_oncc135=100");
        assert!(warnings[0].contains("random") && warnings[0].contains("`tune_oncc135`"), "{warnings:?}");
    }

    #[test]
    fn fixed_aria_controllers_fold_into_static_values_through_their_curve() {
        // newdrums_flat.sfz: pan/tune on generic controllers with bipolar curve 1.
        let ctx = with_defaults(&[(451, 0.33), (471, 0.5), (500, 1.0)]);
        let text = "pan_oncc451=100 pan_curvecc451=1 tune_oncc471=700 tune_curvecc471=1 width_oncc500=-50 cutoff=100 cutoff_oncc500=1200";
        let (r, warnings) = region_in(&ctx, RegionSettings::default(), text);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(r.modulation.routes.is_empty());
        assert!((r.pan - (2.0 * 0.33 - 1.0)).abs() < 1e-5, "{}", r.pan);
        assert!(r.tune_cents.abs() < 1e-3, "{}", r.tune_cents);
        assert!((r.width - 0.5).abs() < 1e-6);
        assert!((r.filter.unwrap().cutoff_hz - 200.0).abs() < 1e-3);
        // A live controller moves width through a route (percent to the model's 1 = 100 %),
        // as does an LFO.
        let r = clean("width=40 width_oncc1=50 lfo1_freq=2 lfo1_width=30");
        assert_eq!(r.width, 0.4);
        assert!(
            r.modulation.routes.contains(&ModRoute::new(cc(1), 0.5, ModTarget::Width)),
            "{:?}",
            r.modulation.routes
        );
        assert!(
            r.modulation.routes.contains(&ModRoute::new(lfo(0), 0.3, ModTarget::Width)),
            "{:?}",
            r.modulation.routes
        );
    }

    #[test]
    fn curve_headers_shape_the_controllers_that_name_them() {
        let mut ctx = Context::default();
        let origin = crate::sfz::preprocess::Origin { file: 0, line: 1 };
        let op =
            |n: &str, v: &str| crate::sfz::parse::Opcode { name: n.into(), value: v.into(), origin: origin.clone() };
        let header = crate::sfz::curves::CurveHeader {
            opcodes: vec![op("curve_index", "9"), op("v000", "1"), op("v127", "0")],
            origin: origin.clone(),
        };
        ctx.curves = crate::sfz::curves::CurveSet::from_headers(&[header], |_, m| panic!("{m}"));
        let (r, warnings) = region_in(&ctx, RegionSettings::default(), "pan_oncc1=100 pan_curvecc1=9");
        assert!(warnings.is_empty(), "{warnings:?}");
        let input = &r.modulation.routes[0].input;
        assert_eq!((input.shape(0.0), input.shape(1.0)), (1.0, 0.0));
        let (_, warnings) = region("pan_oncc1=100 pan_curvecc1=42");
        assert!(warnings[0].contains("curve 42 is not defined"), "{warnings:?}");
    }

    #[test]
    fn amp_velcurve_points_become_the_velocity_curve() {
        let r = clean("amp_velcurve_64=0.8");
        let t = r.velocity_curve.expect("a velocity curve");
        assert_eq!((t[0], t[64], t[127]), (0.0, 0.8, 1.0));
        assert!((t[32] - 0.4).abs() < 1e-6);
        let r = clean("amp_velcurve_1=0.5 amp_velcurve_127=0.9");
        let t = r.velocity_curve.unwrap();
        assert_eq!((t[0], t[1], t[127]), (0.0, 0.5, 0.9));
        assert!(clean("amp_veltrack=50").velocity_curve.is_none());
    }

    #[test]
    fn offsets_bend_conditions_delay_width_and_note_offset_are_read() {
        let r = clean("offset_random=100 bend_up=1200 locc1=64 hicc1=100 delay=0.5 ampeg_delay=0.1 width=-40");
        assert_eq!(r.offset_random_frames, 100.0);
        assert_eq!(r.bend_cents, Some((1200.0, -200.0)), "bend_down keeps sfizz's default");
        assert_eq!(r.controller_ranges, [(1, NoteRange { low: 64, high: 100 })]);
        assert!((r.amp_envelope.delay_seconds - 0.6).abs() < 1e-6);
        assert_eq!(r.width, -0.4);
        assert_eq!((clean("").bend_cents, clean("").width, clean("").offset_random_frames), (None, 1.0, 0.0));
        // Conditions on velocity (131) and key (133) narrow those ranges.
        let r = clean("locc131=40 hicc133=72");
        assert_eq!((r.velocities.low, r.keys.high, r.controller_ranges.len()), (40, 72, 0));
        let (_, warnings) = region("locc130=127");
        assert!(warnings[0].contains("`locc130`") && warnings[0].contains("PolyPressure"), "{warnings:?}");
        // note_offset + 12 × octave_offset shift every key number read.
        let shifted = RegionSettings { key_offset: 12, ..RegionSettings::default() };
        let (r, _) = region_in(&Context::default(), shifted.clone(), "lokey=60 hikey=62 pitch_keycenter=61 sw_last=36");
        assert_eq!((r.keys, r.root_key, r.key_switch), (NoteRange { low: 72, high: 74 }, 73, Some(48)));
        let (r, _) = region_in(&Context::default(), shifted, "key=120");
        assert_eq!((r.keys.low, r.root_key), (127, 127), "clamped as sfizz");
        // A condition on a fixed controller that its value misses: the region never plays.
        let mut s = RegionSettings::default();
        assert_eq!(s.apply("locc201", "1"), Outcome::Applied);
        assert!(s.never_plays(&Context::default()).is_some_and(|m| m.contains("controller 201")));
        assert_eq!(s.never_plays(&with_defaults(&[(201, 0.5)])), None);
        // Negative polyphony groups (sfizz allows them) wrap to distinct numbers.
        let r = clean("group=-110604 off_by=-1");
        assert_eq!((r.choke_group, r.off_by), ((-110604i64) as u32, Some(u32::MAX)));
    }

    #[test]
    fn v1_envelopes_become_modulation_envelopes_routed_by_depth_velocity_and_controllers() {
        let r = clean(
            "pitcheg_attack=0.1 pitcheg_decay=0.5 pitcheg_sustain=25 pitcheg_release=0.3 pitcheg_depth=1200 \
             pitcheg_vel2depth=-600 pitcheg_depth_oncc1=300",
        );
        let expected = Envelope {
            attack_seconds: 0.1,
            decay_seconds: 0.5,
            sustain_level: 0.25,
            release_seconds: 0.3,
            ..SFZ_ENVELOPE
        };
        assert_eq!(r.modulation.envelopes, [Envelope { release_seconds: 0.3, ..expected }]);
        let routes = &r.modulation.routes;
        assert!(routes.contains(&ModRoute::new(env(0), 1200.0, ModTarget::PitchCents)));
        assert!(routes.contains(
            &ModRoute::new(env(0), -600.0, ModTarget::PitchCents).scaled_by(ModInput::linear(ModSource::Velocity))
        ));
        assert!(routes.contains(&ModRoute::new(env(0), 300.0, ModTarget::PitchCents).scaled_by(cc(1))));
        assert_eq!(routes.len(), 3);
        // fileg: the same, on the cutoff (imported with or without a filter).
        let r = clean("fileg_delay=0.2 fileg_attack=1 fileg_depth=2400");
        assert_eq!(r.modulation.envelopes[0].delay_seconds, 0.2);
        assert_eq!(r.modulation.envelopes[0].sustain_level, 1.0, "v1 sustain defaults to 100 %");
        assert_eq!(r.modulation.routes, [ModRoute::new(env(0), 2400.0, ModTarget::CutoffCents)]);
        // An envelope without depth moves nothing and takes no slot.
        assert!(clean("pitcheg_attack=1").modulation.envelopes.is_empty());
        let (_, warnings) = region("pitcheg_depth=100 pitcheg_start=10 pitcheg_vel2attack=1 fileg_attack_oncc1=1");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("start levels"), "{warnings:?}");
    }

    #[test]
    fn v1_lfos_are_sines_routed_to_volume_pitch_and_cutoff() {
        let r = clean(
            "amplfo_freq=5 amplfo_depth=3 pitchlfo_freq=6 pitchlfo_delay=0.5 pitchlfo_fade=1 pitchlfo_depth=20 \
             pitchlfo_depthcc1=50 fillfo_freq=2 fillfo_depth=-600",
        );
        let sine = |hz: f32| Lfo { frequency_hz: hz, waveform: LfoWaveform::Sine, ..Lfo::default() };
        assert_eq!(
            r.modulation.lfos,
            [sine(5.0), Lfo { delay_seconds: 0.5, fade_seconds: 1.0, ..sine(6.0) }, sine(2.0)]
        );
        assert_eq!(
            r.modulation.routes,
            [
                ModRoute::new(lfo(0), 3.0, ModTarget::VolumeDb),
                ModRoute::new(lfo(1), 20.0, ModTarget::PitchCents),
                ModRoute::new(lfo(1), 50.0, ModTarget::PitchCents).scaled_by(cc(1)),
                ModRoute::new(lfo(2), -600.0, ModTarget::CutoffCents),
            ]
        );
        // pitchlfo_depth_oncc1 is the same as pitchlfo_depthcc1.
        let r = clean("pitchlfo_freq=6 pitchlfo_depth_oncc1=50");
        assert_eq!(r.modulation.routes, [ModRoute::new(lfo(0), 50.0, ModTarget::PitchCents).scaled_by(cc(1))]);
        let (_, warnings) = region("pitchlfo_depth=10 pitchlfo_freqcc1=2 pitchlfo_freq_lfo2=1");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("`pitchlfo_freq_lfo2` is not supported"), "{warnings:?}");
    }

    #[test]
    fn numbered_lfos_read_freq_phase_delay_fade_wave_and_every_target() {
        let r = clean(
            "lfo1_freq=4 lfo1_wave=1 lfo1_phase=0.25 lfo1_delay=0.1 lfo1_fade=0.2 lfo1_pitch=50 lfo1_pitch_oncc1=100 \
             lfo2_freq=1 lfo2_wave=6 lfo2_volume=-3 lfo2_pan=50 lfo2_cutoff=1200 lfo2_amplitude=20",
        );
        assert_eq!(
            r.modulation.lfos,
            [
                Lfo {
                    frequency_hz: 4.0,
                    delay_seconds: 0.1,
                    fade_seconds: 0.2,
                    phase_cycles: 0.25,
                    waveform: LfoWaveform::Sine
                },
                Lfo { frequency_hz: 1.0, waveform: LfoWaveform::SawUp, ..Lfo::default() },
            ]
        );
        let routes = &r.modulation.routes;
        for route in [
            ModRoute::new(lfo(0), 50.0, ModTarget::PitchCents),
            ModRoute::new(lfo(0), 100.0, ModTarget::PitchCents).scaled_by(cc(1)),
            ModRoute::new(lfo(1), -3.0, ModTarget::VolumeDb),
            ModRoute::new(lfo(1), 0.5, ModTarget::Pan),
            ModRoute::new(lfo(1), 1200.0, ModTarget::CutoffCents),
            // Tremolo around the region's amplitude (1): 20 %.
            ModRoute::new(lfo(1), 0.2, ModTarget::Amplitude),
        ] {
            assert!(routes.contains(&route), "{route:?} not in {routes:#?}");
        }
        assert_eq!(routes.len(), 6);
        // Waveforms as sfizz numbers them; an LFO without lfoN_wave is a triangle at 0 Hz.
        let waves = [
            LfoWaveform::Triangle,
            LfoWaveform::Sine,
            LfoWaveform::Pulse { duty_thousandths: 750 },
            LfoWaveform::Pulse { duty_thousandths: 500 },
            LfoWaveform::Pulse { duty_thousandths: 250 },
            LfoWaveform::Pulse { duty_thousandths: 125 },
            LfoWaveform::SawUp,
            LfoWaveform::SawDown,
        ];
        for (n, wave) in waves.into_iter().enumerate() {
            let r = clean(&format!("lfo1_wave={n} lfo1_pitch=10"));
            assert_eq!(r.modulation.lfos[0].waveform, wave, "wave {n}");
        }
        assert_eq!(clean("lfo1_pitch=10").modulation.lfos[0], Lfo { frequency_hz: 0.0, ..Lfo::default() });
        // ARIA pulses swing 0..1: half the depth on the LFO, half as a constant.
        let r = clean("lfo1_wave=3 lfo1_freq=2 lfo1_pitch=100");
        assert_eq!(
            r.modulation.routes,
            [
                ModRoute::new(ModInput::linear(ModSource::One), 50.0, ModTarget::PitchCents),
                ModRoute::new(lfo(0), 50.0, ModTarget::PitchCents),
            ]
        );
        let (r, warnings) = region("lfo1_pitch=10 lfo1_freq_lfo2=2 lfo1_wave=12 lfo1_width=10");
        assert!(warnings[0].contains("not other LFOs"), "{warnings:?}");
        assert!(warnings[1].contains("sample-and-hold"), "{warnings:?}");
        // Width is a target like the others (10 % = 0.1).
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(r.modulation.routes.iter().any(|m| m.target == ModTarget::Width && (m.amount - 0.1).abs() < 1e-6));
    }

    #[test]
    fn flex_envelopes_map_onto_dahdsr_when_their_points_allow() {
        // Attack to 1, decay to 0.25 (held), release to 0.
        let r = clean(
            "eg1_time1=0.1 eg1_level1=1 eg1_time2=0.5 eg1_level2=0.25 eg1_sustain=2 eg1_time3=0.3 eg1_level3=0 eg1_pitch=1200",
        );
        let e = r.modulation.envelopes[0];
        assert_eq!((e.delay_seconds, e.attack_seconds, e.hold_seconds, e.sustain_level), (0.0, 0.1, 0.0, 0.25));
        // The model's decay and release times are those of a full-scale change.
        assert!((e.decay_seconds - 0.5 / 0.75).abs() < 1e-6 && (e.release_seconds - 1.2).abs() < 1e-6, "{e:?}");
        assert_eq!(r.modulation.routes, [ModRoute::new(env(0), 1200.0, ModTarget::PitchCents)]);
        // Delay, attack to 0.5, hold; the peak scales the amount.
        let r = clean(
            "eg1_time1=0.2 eg1_level1=0 eg1_time2=0.1 eg1_level2=0.5 eg1_time3=0.4 eg1_level3=0.5 eg1_sustain=3 eg1_cutoff=2400",
        );
        let e = r.modulation.envelopes[0];
        assert_eq!((e.delay_seconds, e.attack_seconds, e.hold_seconds, e.sustain_level), (0.2, 0.1, 0.4, 1.0));
        assert_eq!(e.release_seconds, 0.0, "nothing after the sustain point: sfizz cuts at release");
        assert_eq!(r.modulation.routes, [ModRoute::new(env(0), 1200.0, ModTarget::CutoffCents)]);
        // Rise, fall, rise again: not a DAHDSR.
        let (r, warnings) = region(
            "eg1_time1=0.1 eg1_level1=1 eg1_time2=0.1 eg1_level2=0.2 eg1_time3=0.1 eg1_level3=0.8 eg1_sustain=3 eg1_pitch=100",
        );
        assert!(r.modulation.routes.is_empty() && r.modulation.envelopes.is_empty());
        assert!(warnings[0].contains("`eg1_time1`") && warnings[0].contains("second rise or fall"), "{warnings:?}");
        // egN_ampeg=1 replaces the amplitude envelope.
        let r = clean("eg1_ampeg=1 eg1_time1=0.05 eg1_level1=1 eg1_sustain=1 eg1_time2=0.4 eg1_level2=0");
        assert_eq!((r.amp_envelope.attack_seconds, r.amp_envelope.release_seconds), (0.05, 0.4));
        assert!(r.modulation.envelopes.is_empty());
        // An envelope on amplitude is a gain factor.
        let r = clean("eg2_time1=1 eg2_level1=1 eg2_sustain=1 eg2_amplitude=100 eg2_pan=-50");
        assert_eq!(r.amplitude, 0.0);
        assert_eq!(
            r.modulation.routes,
            [ModRoute::new(env(0), -0.5, ModTarget::Pan), ModRoute::new(env(0), 1.0, ModTarget::Amplitude)]
        );
        // Volume target, with a controller depth.
        let r = clean("eg3_time1=1 eg3_level1=1 eg3_sustain=1 eg3_volume_oncc7=-6");
        assert_eq!(r.modulation.routes, [ModRoute::new(env(0), -6.0, ModTarget::VolumeDb).scaled_by(cc(7))]);
    }

    #[test]
    fn crossfades_read_velocity_key_and_controller_ranges_with_their_curves() {
        let r = clean(
            "xfin_lovel=20 xfin_hivel=60 xfout_lovel=100 xf_velcurve=gain xfin_locc1=0 xfin_hicc1=127 \
             xfin_lokey=40 xfin_hikey=48",
        );
        let xf = |source, low, high, fade_in, power| Crossfade { source, low, high, fade_in, power };
        assert_eq!(
            r.crossfades,
            [
                xf(ModSource::Velocity, 100, 127, false, false),
                xf(ModSource::Velocity, 20, 60, true, false),
                xf(ModSource::Key, 40, 48, true, true),
                xf(ModSource::Controller(1), 0, 127, true, true),
            ]
        );
        // On a fixed controller the crossfade's gain folds into the amplitude.
        let (r, _) = region_in(
            &with_defaults(&[(300, 0.5)]),
            RegionSettings::default(),
            "xfin_locc300=0 xfin_hicc300=127 xf_cccurve=gain",
        );
        assert!(r.crossfades.is_empty());
        assert!((r.amplitude - 64.0 / 127.0).abs() < 1e-6, "{}", r.amplitude);
    }

    #[test]
    fn modulators_and_fast_routes_beyond_the_model_limits_are_dropped_naming_the_opcode() {
        let five: String = (1..=MAX_LFOS + 1).map(|n| format!("lfo{n}_freq=1 lfo{n}_pitch=10 ")).collect();
        let (r, warnings) = region(&five);
        assert_eq!(r.modulation.lfos.len(), MAX_LFOS);
        assert!(warnings.iter().any(|w| w.contains("`lfo5_freq`") && w.contains("LFOs")), "{warnings:?}");
        let four = "pitcheg_depth=10 fileg_depth=10 eg1_time1=1 eg1_level1=1 eg1_sustain=1 eg1_pitch=5 \
                    eg2_time1=1 eg2_level1=1 eg2_sustain=1 eg2_pitch=5";
        let (r, warnings) = region(four);
        assert_eq!(r.modulation.envelopes.len(), MAX_ENVELOPES);
        assert!(warnings.iter().any(|w| w.contains("`eg2_time1`") && w.contains("envelopes")), "{warnings:?}");
        let many: String =
            (1..=MAX_FAST_ROUTES as u8 + 1).map(|c| format!("lfo1_pitch_oncc{c}=10 ")).collect::<String>()
                + "lfo1_freq=1";
        let (r, warnings) = region(&many);
        assert_eq!(r.modulation.routes.len(), MAX_FAST_ROUTES);
        assert!(warnings.iter().any(|w| w.contains("lfo1_pitch_oncc") && w.contains("routes")), "{warnings:?}");
    }

    /// `ampeg_<stage>_onccN`, v1's `ampeg_<stage>ccN` and `ampeg_vel2<stage>` become envelope
    /// controls (sustain in percent), `_curveccN` gives one its curve; the last value for a
    /// stage and controller wins; fixed (ARIA) controllers fold into the stages.
    #[test]
    fn envelope_controls_are_read() {
        let r = clean(
            "ampeg_release=0.5 ampeg_release_oncc72=2 ampeg_attackcc73=1 ampeg_sustain_oncc1=-50 \
             ampeg_release_oncc72=3 ampeg_release_curvecc72=4 ampeg_vel2attack=-0.5",
        );
        let controls: Vec<_> = r
            .amp_envelope_controls
            .iter()
            .map(|c| (c.stage, c.input.source, c.input.curve.clone(), c.amount))
            .collect();
        let linear = || ModCurve::Linear;
        assert_eq!(controls.len(), 4, "{controls:?}");
        assert_eq!(
            controls[1..],
            [
                (EnvelopeStage::Attack, ModSource::Controller(73), linear(), 1.0),
                (EnvelopeStage::Sustain, ModSource::Controller(1), linear(), -0.5),
                (EnvelopeStage::Attack, ModSource::Velocity, linear(), -0.5),
            ]
        );
        let (stage, source, curve, amount) = controls[0].clone();
        assert_eq!((stage, source, amount), (EnvelopeStage::Release, ModSource::Controller(72), 3.0));
        assert_ne!(curve, linear(), "curve 4 is not the linear one");
        // An ARIA generic controller (fixed at its default, 0 here) folds in: nothing moves.
        let r = clean("ampeg_release=0.5 ampeg_release_oncc300=2");
        assert!(r.amp_envelope_controls.is_empty());
        assert_eq!(r.amp_envelope.release_seconds, 0.5);
        // An egN_ampeg envelope replaces the ampeg_* one and its controls.
        let r = clean("ampeg_release_oncc72=2 eg1_ampeg=1 eg1_time1=0.05 eg1_level1=1 eg1_sustain=1");
        assert!(r.amp_envelope_controls.is_empty());
    }

    /// Envelope slot, stage, input and amount of a modulation envelope's control.
    type StageControl = (u8, EnvelopeStage, ModSource, f32);
    /// LFO slot, what it moves, input and amount of an LFO's control.
    type RateControl = (u8, LfoParam, ModSource, f32);

    /// The controls of a region's modulation envelopes and LFOs, by slot and stage or
    /// parameter.
    fn controls(r: &Region) -> (Vec<StageControl>, Vec<RateControl>) {
        let m = &r.modulation;
        let e = m.envelope_controls.iter();
        let mut e: Vec<_> =
            e.map(|c| (c.envelope, c.control.stage, c.control.input.source, c.control.amount)).collect();
        let mut l: Vec<_> = m.lfo_controls.iter().map(|c| (c.lfo, c.param, c.input.source, c.amount)).collect();
        e.sort_by_key(|c| (c.0, c.1));
        l.sort_by_key(|c| (c.0, c.1));
        (e, l)
    }

    /// v1 envelope stages by velocity and controller (`pitcheg_vel2attack`,
    /// `fileg_decay_onccN`, sustain in percent), flex points' times and the sustain point's
    /// level by controller in the units of the stage each point became, and LFO rates and
    /// phases by controller and pressure.
    #[test]
    fn modulation_envelope_and_lfo_controls_are_read() {
        use EnvelopeStage::*;
        let r = clean(
            "pitcheg_attack=0.5 pitcheg_vel2attack=-0.4 pitcheg_decay_oncc1=2 pitcheg_sustain=50 \
             pitcheg_vel2sustain=20 pitcheg_depth=1200 fileg_releasecc7=1.5 fileg_depth=600",
        );
        let (envelopes, lfos) = controls(&r);
        assert!(lfos.is_empty());
        assert_eq!(
            envelopes,
            [
                (0, Attack, ModSource::Velocity, -0.4),
                (0, Decay, ModSource::Controller(1), 2.0),
                (0, Sustain, ModSource::Velocity, 0.2),
                (1, Release, ModSource::Controller(7), 1.5),
            ]
        );
        // Flex: attack 0.1 s, decay to half the peak in 0.5 s (1 s full scale: its control
        // doubles too), sustain at point 2, release in 0.2 s from half (0.4 s full scale).
        let r = clean(
            "eg1_time1=0.1 eg1_level1=1 eg1_time1_oncc2=0.4 eg1_time2=0.5 eg1_level2=0.5 eg1_time2_oncc3=1 \
             eg1_level2_oncc4=0.25 eg1_sustain=2 eg1_time3=0.2 eg1_level3=0 eg1_time3_oncc5=0.1 eg1_pitch=1200",
        );
        assert_eq!(
            controls(&r).0,
            [
                (0, Attack, ModSource::Controller(2), 0.4),
                (0, Decay, ModSource::Controller(3), 2.0),
                (0, Sustain, ModSource::Controller(4), 0.25),
                (0, Release, ModSource::Controller(5), 0.2),
            ]
        );
        // The peak's level is no stage's: remarked, not read.
        let (r, warnings) = region("eg1_time1=0.1 eg1_level1=1 eg1_level1_oncc1=0.5 eg1_sustain=1 eg1_pitch=100");
        assert!(controls(&r).0.is_empty());
        assert!(
            warnings.iter().any(|w| w.contains("`eg1_level1_oncc1`") && w.contains("sustain point")),
            "{warnings:?}"
        );
        // A flex amplitude envelope's controls go to the amplitude envelope.
        let r = clean(
            "eg1_ampeg=1 eg1_time1=0.05 eg1_level1=1 eg1_sustain=1 eg1_time2=0.4 eg1_level2=0 eg1_time2_oncc72=2",
        );
        let release: Vec<_> = r.amp_envelope_controls.iter().map(|c| (c.stage, c.input.source, c.amount)).collect();
        assert_eq!(release, [(Release, ModSource::Controller(72), 2.0)]);

        let r = clean(
            "lfo1_freq=2 lfo1_freq_oncc1=8 lfo1_phase_oncc2=0.5 lfo1_pitch=100 pitchlfo_freq=5 \
             pitchlfo_freqcc3=-2 pitchlfo_depth=10 amplfo_freqchanaft=3 amplfo_depth=2 lfo2_freq_oncc1=3 \
             lfo1_delay_oncc4=1.5 lfo1_fade_oncc5=0.5",
        );
        let (envelopes, lfos) = controls(&r);
        assert!(envelopes.is_empty());
        // Slots in the order the LFOs were named; lfo2 moves nothing, so neither it nor its
        // control is kept.
        assert_eq!(r.modulation.lfos.len(), 3);
        assert_eq!(
            lfos,
            [
                (0, LfoParam::FrequencyHz, ModSource::Controller(1), 8.0),
                (0, LfoParam::PhaseCycles, ModSource::Controller(2), 0.5),
                (0, LfoParam::DelaySeconds, ModSource::Controller(4), 1.5),
                (0, LfoParam::FadeSeconds, ModSource::Controller(5), 0.5),
                (1, LfoParam::FrequencyHz, ModSource::Controller(3), -2.0),
                (2, LfoParam::FrequencyHz, ModSource::ChannelPressure, 3.0),
            ]
        );
        // ARIA generic controllers fold in at their value (0 here): nothing moves.
        let r = clean("lfo1_freq=2 lfo1_freq_oncc300=8 lfo1_pitch=100 pitcheg_attack=1 pitcheg_attack_oncc300=2 pitcheg_depth=100");
        assert_eq!(controls(&r), (vec![], vec![]));
        assert_eq!((r.modulation.lfos[0].frequency_hz, r.modulation.envelopes[0].attack_seconds), (2.0, 1.0));
    }

    /// ARIA variables: `add` sums its controllers (a route each), `mult` multiplies them (one
    /// route, input × scale), on every target; fixed controllers fold in; on amplitude the
    /// variable is a gain factor.
    #[test]
    fn variables_combine_their_controllers_into_routes() {
        let r = clean("cutoff=500 var01_cutoff=4800 var01_mod=mult var01_oncc131=1 var01_oncc111=0.5");
        let velocity = ModInput::linear(ModSource::Velocity);
        assert_eq!(r.modulation.routes, [ModRoute::new(cc(111), 2400.0, ModTarget::CutoffCents).scaled_by(velocity)]);
        let r = clean("var02_pitch=100 var02_oncc1=1 var02_oncc2=0.5 var02_pan=50 var02_mod=add");
        assert_eq!(
            r.modulation.routes,
            [
                ModRoute::new(cc(1), 100.0, ModTarget::PitchCents),
                ModRoute::new(cc(2), 50.0, ModTarget::PitchCents),
                ModRoute::new(cc(1), 0.5, ModTarget::Pan),
                ModRoute::new(cc(2), 0.25, ModTarget::Pan),
            ]
        );
        // A curve on one input.
        let r = clean("var01_pitch=100 var01_oncc1=1 var01_curvecc1=4");
        assert_ne!(r.modulation.routes[0].input.curve, ModCurve::Linear);
        // A fixed generic controller (set_cc300 = 0 here) multiplies to nothing, adds nothing.
        let r = clean("var01_pitch=100 var01_mod=mult var01_oncc1=1 var01_oncc300=1");
        assert_eq!(r.modulation.routes, [ModRoute::new(cc(1), 0.0, ModTarget::PitchCents)]);
        let r = clean("var01_pitch=100 var01_oncc1=1 var01_oncc300=1");
        assert_eq!((r.modulation.routes.len(), r.tune_cents), (1, 0.0));
        // Amplitude: a gain factor (the region's amplitude moves into the route).
        let r = clean("amplitude=50 var01_amplitude=100 var01_mod=mult var01_oncc20=1 var01_oncc21=1");
        assert_eq!(r.amplitude, 0.0);
        assert_eq!(r.modulation.routes, [ModRoute::new(cc(20), 0.5, ModTarget::Amplitude).scaled_by(cc(21))]);
        // Three live controllers do not multiply into one route.
        let (r, warnings) = region("var01_pitch=100 var01_mod=mult var01_oncc1=1 var01_oncc2=1 var01_oncc3=1");
        assert!(r.modulation.routes.is_empty());
        assert!(warnings.iter().any(|w| w.contains("`var01_pitch`") && w.contains("more than two")), "{warnings:?}");
    }

    #[test]
    fn unmapped_modulation_opcodes_say_why() {
        for (opcode, reason) in [
            ("ampeg_attack_oncc132=1", "note-off velocity"),
            ("var01_resonance=3", "variables modulate"),
            ("var01_mod=times", "unknown value"),
            ("cutoff2_oncc1=100", "`cutoff2_oncc1` is not supported"),
            ("tune_oncc600=1", "beyond 511"),
            ("pan_smoothcc1=10", "smoothing"),
        ] {
            let (_, warnings) = region(opcode);
            assert!(warnings.len() == 1 && warnings[0].contains(reason), "{opcode}: {warnings:?}");
        }
    }
}
