//! A song prepared for playing: its notes with times in the unit the runner counts in, one
//! version per combination of controller steps, and the groups of notes each hosted
//! instrument plays.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use noderack_presets::sw::Song;
use noderack_presets::{ConfigError, ConfigValue};

use super::Runner;

/// Most versions of a song a runner's controllers may choose among (the product of their
/// steps).
pub const MAX_VARIANTS: usize = 256;
/// Most steps one controller's range is divided into (one per controller value).
const MAX_STEPS: u32 = 128;

/// One note of one version, prepared.
#[derive(Copy, Clone, Debug)]
pub(crate) struct PlannedNote {
    /// Start, in the song's unit (seconds when it sets its tempo, else beats).
    pub start: f64,
    /// End, in the same unit.
    pub end: f64,
    pub key: u8,
    pub velocity: f32,
    /// MIDI channel of its instrument.
    pub channel: u8,
    /// Index into [`RunnerSong::groups`].
    pub group: u16,
}

/// The song compiled with one set of parameter values.
#[derive(Debug)]
pub(crate) struct Variant {
    /// By start.
    pub notes: Vec<PlannedNote>,
    /// Length, in the song's unit.
    pub length: f64,
}

/// A MIDI controller that sets a song parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlMap {
    /// The top-level `const` it sets.
    pub parameter: String,
    /// Controller number (any channel).
    pub cc: u8,
    /// The value at controller value 0.
    pub min: f64,
    /// The value at controller value 127.
    pub max: f64,
    /// How many values the range is divided into (each compiled ahead), 2–128.
    pub steps: u32,
}

impl ControlMap {
    /// The parameter's value at step `step`.
    pub fn value(&self, step: u32) -> f64 {
        self.min + (self.max - self.min) * step as f64 / (self.steps - 1) as f64
    }

    /// The step a controller value selects.
    pub fn step_of(&self, cc_value: u8) -> u32 {
        ((cc_value.min(127) as f64 / 127.0) * (self.steps - 1) as f64).round() as u32
    }

    /// Reads the `controls` setting: `{"accent": {"cc": 1, "min": 0.3, "max": 1, "steps": 8}}`
    /// (`steps` defaults to 16, `min`/`max` to 0 and 1).
    pub fn from_config(value: Option<&ConfigValue>) -> Result<Vec<ControlMap>, ConfigError> {
        let bad = |field: Option<String>, reason: String| ConfigError::Nested {
            kind: Runner::KIND,
            key: "controls".into(),
            field,
            reason,
        };
        let Some(value) = value else { return Ok(Vec::new()) };
        let ConfigValue::Object(entries) = value else {
            return Err(bad(
                None,
                "expected an object such as {\"accent\": {\"cc\": 1, \"min\": 0, \"max\": 1}}".into(),
            ));
        };
        let mut controls = Vec::new();
        for (parameter, spec) in entries {
            let at = |reason: String| bad(Some(parameter.clone()), reason);
            let ConfigValue::Object(spec) = spec else {
                return Err(at("expected an object with `cc`, `min`, `max` and `steps`".into()));
            };
            if let Some(unknown) = spec.keys().find(|k| !["cc", "min", "max", "steps"].contains(&k.as_str())) {
                return Err(at(format!("unknown field \"{unknown}\" (fields: cc, min, max, steps)")));
            }
            let number = |field: &str, default: Option<f64>| match (spec.get(field), default) {
                (Some(ConfigValue::Number(n)), _) if n.is_finite() => Ok(*n),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(at(format!("`{field}` is missing"))),
                (Some(_), _) => Err(at(format!("`{field}` must be a number"))),
            };
            let whole = |field: &str, default: Option<f64>, range: std::ops::RangeInclusive<u32>| {
                let n = number(field, default)?;
                if n.fract() != 0.0 || n < *range.start() as f64 || n > *range.end() as f64 {
                    return Err(at(format!(
                        "`{field}` must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    )));
                }
                Ok(n as u32)
            };
            controls.push(ControlMap {
                parameter: parameter.clone(),
                cc: whole("cc", None, 0..=127)? as u8,
                min: number("min", Some(0.0))?,
                max: number("max", Some(1.0))?,
                steps: whole("steps", Some(16.0), 2..=MAX_STEPS)?,
            });
        }
        let variants: usize = controls.iter().map(|c| c.steps as usize).product();
        if variants > MAX_VARIANTS {
            return Err(bad(
                None,
                format!("the controllers' steps multiply to {variants} versions of the song; at most {MAX_VARIANTS}"),
            ));
        }
        Ok(controls)
    }
}

/// Notes one hosted instrument plays: those of one song instrument at one tuning.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct VoiceGroup {
    /// Index into the song's instruments.
    pub instrument: usize,
    /// A4 for these notes, in Hz.
    pub tuning_hz: f32,
}

/// A song as a runner plays it.
#[derive(Debug)]
pub struct RunnerSong {
    /// Version 0 is the song as written; version 1 + Σ stepᵢ·Πⱼ<ᵢ stepsⱼ has the controllers
    /// at those steps.
    pub(crate) variants: Vec<Variant>,
    pub(crate) controls: Vec<ControlMap>,
    /// Whether times are seconds (the song sets its tempo) or beats.
    pub(crate) in_seconds: bool,
    /// Most notes sounding at once within one instance, over every version.
    pub(crate) polyphony: usize,
    /// Every channel a note may be on.
    pub(crate) channels: Vec<u8>,
    groups: Vec<VoiceGroup>,
    /// The song as written (its instruments, for hosting them).
    song: Song,
}

impl RunnerSong {
    /// Prepares `song`, with no controllers.
    pub fn new(song: &Song) -> Self {
        // Without controllers there is only the song as written to compile.
        let prepared =
            Self::with_controls(song.clone(), Vec::new(), |_| Ok::<Song, std::convert::Infallible>(song.clone()));
        match prepared {
            Ok(prepared) => prepared,
            Err(never) => match never {},
        }
    }

    /// Prepares `song` (as written) and, for every combination of the controllers' steps,
    /// the version `compile` makes with those parameter values.
    pub fn with_controls<E>(
        song: Song,
        controls: Vec<ControlMap>,
        mut compile: impl FnMut(&[(&str, f64)]) -> Result<Song, E>,
    ) -> Result<Self, E> {
        let mut versions = vec![song.clone()];
        if !controls.is_empty() {
            let total: usize = controls.iter().map(|c| c.steps as usize).product();
            for index in 0..total {
                let mut rest = index;
                let set: Vec<(&str, f64)> = controls
                    .iter()
                    .map(|c| {
                        let step = (rest % c.steps as usize) as u32;
                        rest /= c.steps as usize;
                        (c.parameter.as_str(), c.value(step))
                    })
                    .collect();
                versions.push(compile(&set)?);
            }
        }
        let in_seconds = !song.tempo.is_empty();
        let mut groups: Vec<VoiceGroup> = Vec::new();
        let mut channels: Vec<u8> = Vec::new();
        let mut polyphony = 0;
        let variants = versions
            .iter()
            .map(|version| {
                // A version that sets no tempo where the song does (or the reverse) is timed
                // as the song is: seconds through its own map, or beats.
                let time = |beats: f64| if in_seconds { version.seconds_at(beats) } else { beats };
                let notes: Vec<PlannedNote> = version
                    .notes
                    .iter()
                    .map(|n| {
                        let group = VoiceGroup { instrument: n.instrument, tuning_hz: n.tuning_hz };
                        let index = groups.iter().position(|g| *g == group).unwrap_or_else(|| {
                            groups.push(group);
                            groups.len() - 1
                        });
                        let channel = (n.instrument % 16) as u8;
                        if !channels.contains(&channel) {
                            channels.push(channel);
                        }
                        PlannedNote {
                            start: time(n.time_beats),
                            end: time(n.time_beats + n.gate_beats),
                            key: n.key,
                            velocity: n.velocity,
                            channel,
                            group: index.min(u16::MAX as usize) as u16,
                        }
                    })
                    .collect();
                // Ends of the notes sounding, soonest first (times are finite and not negative,
                // so their bits sort as they do).
                let mut ends: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
                for n in &notes {
                    while ends.peek().is_some_and(|e| f64::from_bits(e.0) <= n.start) {
                        ends.pop();
                    }
                    ends.push(Reverse(n.end.max(0.0).to_bits()));
                    polyphony = polyphony.max(ends.len());
                }
                Variant { notes, length: time(version.length_beats) }
            })
            .collect();
        Ok(Self { variants, controls, in_seconds, polyphony, channels, groups, song })
    }

    /// The song as written.
    pub fn song(&self) -> &Song {
        &self.song
    }

    /// The instrument groups, in the order their notes first appear.
    pub fn groups(&self) -> &[VoiceGroup] {
        &self.groups
    }

    /// The controllers.
    pub fn controls(&self) -> &[ControlMap] {
        &self.controls
    }

    /// How many versions were compiled (1 + the product of the controllers' steps).
    pub fn versions(&self) -> usize {
        self.variants.len()
    }
}

/// The `controls` setting's parameters that `song` does not define, as an error.
pub fn check_parameters(controls: &[ControlMap], song: &Song) -> Result<(), ConfigError> {
    for control in controls {
        if !song.parameters.iter().any(|p| p.name == control.parameter) {
            let have: Vec<&str> = song.parameters.iter().map(|p| p.name.as_str()).collect();
            return Err(ConfigError::Nested {
                kind: Runner::KIND,
                key: "controls".into(),
                field: Some(control.parameter.clone()),
                reason: format!(
                    "the song has no top-level `const {} = <number>` to set (its parameters: {})",
                    control.parameter,
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                ),
            });
        }
    }
    Ok(())
}
