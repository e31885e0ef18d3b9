//! SFZ opcodes read into the settings of one region (before its sample is known), and those
//! settings turned into a [`Region`] of the instrument model.
//!
//! Values follow the SFZ conventions: keys as numbers or note names (`c4` = 60, `c#4`, `db4`),
//! percentages for `pan`, `amp_veltrack` and `ampeg_sustain`, decibels for `volume` and
//! `resonance`, seconds for envelope times, cents for `tune` and the filter tracking, inclusive
//! sample frames for `end` and `loop_end`. A number followed by other text (`57Edge`) reads as
//! the number, with a warning.

use crate::instrument::{
    Envelope, FilterKind, LoopDirection, LoopMode, NoteRange, Region, RegionFilter, RoundRobin, SampleLoop, Trigger,
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

struct Value<'a> {
    name: &'a str,
    text: &'a str,
    remark: Option<String>,
}

impl Value<'_> {
    fn number(&mut self) -> Result<f64, Outcome> {
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

    fn float(&mut self, low: f64, high: f64) -> Result<f32, Outcome> {
        let v = self.number()?;
        if !(low..=high).contains(&v) {
            return Err(Outcome::Ignored(format!(
                "`{}={}`: out of range {low}..={high}; ignored",
                self.name, self.text
            )));
        }
        Ok(v as f32)
    }

    fn integer(&mut self, low: i64, high: i64) -> Result<i64, Outcome> {
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

    fn word(&self) -> String {
        self.text.trim().to_ascii_lowercase()
    }

    fn unknown_word(&self) -> Outcome {
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

    fn apply_value(&mut self, v: &mut Value<'_>) -> Result<(), Outcome> {
        let seconds = |v: &mut Value<'_>| v.float(0.0, 100.0);
        match v.name {
            "sample" => self.sample = Some(v.text.trim().to_string()),
            "lokey" => self.keys.low = v.key()?,
            "hikey" => self.keys.high = v.key()?,
            "key" => {
                let k = v.key()?;
                self.keys = NoteRange { low: k, high: k };
                self.key_center = k;
            }
            "lovel" => self.velocities.low = v.integer(0, 127)? as u8,
            "hivel" => self.velocities.high = v.integer(0, 127)? as u8,
            "pitch_keycenter" => {
                if v.word() == "sample" {
                    self.key_center_from_sample = true;
                } else {
                    self.key_center = v.key()?;
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
            "group" | "polyphony_group" => self.group = v.integer(0, u32::MAX as i64)? as u32,
            "off_by" | "offby" => self.off_by = Some(v.integer(0, u32::MAX as i64)? as u32).filter(|g| *g != 0),
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
            "sw_lokey" => self.sw_range.0 = Some(v.key()?),
            "sw_hikey" => self.sw_range.1 = Some(v.key()?),
            "sw_last" => self.sw_last = Some(v.key()?),
            "sw_default" => self.sw_default = Some(v.key()?),
            "volume" | "gain" => self.volume_db = v.float(-144.0, 48.0)?,
            "amplitude" => self.amplitude_percent = v.float(0.0, 100.0)?,
            "pan" => self.pan_percent = v.float(-100.0, 100.0)?,
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
            name => return Err(Outcome::Ignored(format!("opcode `{name}` is not supported; ignored"))),
        }
        Ok(())
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
/// `info`); remarks that become warnings are pushed to `remarks`. `looped_by_default` is set
/// for generated waveforms, which loop as a whole unless told otherwise.
pub fn build_region(
    settings: &RegionSettings,
    sample: std::sync::Arc<crate::sample::Sample>,
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
    let amplitude_db = 20.0 * (settings.amplitude_percent / 100.0).max(1e-8).log10();
    region.gain_db = (settings.volume_db + amplitude_db).max(-144.0);
    region.pan = (settings.pan_percent / 100.0).clamp(-1.0, 1.0);
    region.amp_velocity_track = (settings.amp_veltrack_percent / 100.0).clamp(0.0, 1.0);
    region.amp_envelope = settings.envelope;
    region.filter = settings.cutoff_hz.map(|cutoff| {
        // SFZ tracks the key from fil_keycenter and adds fil_veltrack at velocity 127; the
        // model tracks from the root key and subtracts at lower velocities: fold both into
        // the base cutoff so every key and velocity gets the same frequency.
        let key_cents = (root_key as f32 - settings.fil_keycenter as f32) * settings.fil_keytrack_cents;
        let cents = key_cents + settings.fil_veltrack_cents;
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
        assert!(matches!(s.apply("width", "40"), Outcome::Ignored(m) if m.contains("`width` is not supported")));
        assert_eq!(s.apply("sw_label", "Sine"), Outcome::Applied);
        assert_eq!(s.apply("loop_type", "alternate"), Outcome::Applied);
        assert_eq!(s.loop_direction, Some(LoopDirection::PingPong));
    }
}
