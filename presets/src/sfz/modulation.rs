//! SFZ modulation opcodes read into per-region settings, and those settings turned into the
//! model's [`Modulation`] (envelopes, LFOs, routes) plus the static parts they fold into.
//!
//! Read here: CC modulation of the region (`amplitude_onccN`, `volume_onccN`/`gain_ccN`,
//! `pan_onccN`, `tune_onccN`/`pitch_onccN`, `cutoff_onccN`/`cutoff_ccN`, `width_onccN`, each
//! with `*_curveccN`), SFZ v1 envelopes (`pitcheg_*`, `fileg_*`) and LFOs (`amplfo_*`,
//! `pitchlfo_*`, `fillfo_*`), and ARIA's numbered LFOs (`lfoN_*`) and flex envelopes (`egN_*`)
//! with their targets; envelope stages and flex points by velocity and controller
//! (`pitcheg_vel2attack`, `egN_timeK_onccN`), LFO rates and phases by controller
//! (`lfoN_freq_onccN`, `pitchlfo_freqccN`), and ARIA variables (`varNN_*`). Every target's depth adds up the way sfizz's modulation matrix adds it:
//! a connection's depth, plus `vel2depth` × velocity, plus each `*_onccN` × its controller.
//!
//! Controllers 0..=127 are MIDI's; 128 (pitch bend), 129 (channel pressure), 130 (poly
//! pressure), 131 (note-on velocity) and 133 (key) are read as those sources; ARIA's generic
//! controllers (138, 139, 142..=511) cannot be sent over MIDI, so they keep their `set_ccN` /
//! `set_hdccN` value (0 without one) and what they modulate is folded in as a constant. The
//! other extended controllers (note-off velocity, gate, random, alternate, key delta) are
//! warned and ignored.
//!
//! Amplitude modulation multiplies, as in ARIA and sfizz (`amplitude_oncc1=60`: CC 1 brings the
//! amplitude from 0 to 60 %): the model adds routes to [`crate::instrument::Region::amplitude`],
//! so a region with one or two amplitude factors gets `amplitude = 0` and a single route whose
//! input (and `scale`) are the factors and whose amount is their product with the static
//! amplitude. LFOs on amplitude (`lfoN_amplitude`) are read as tremolo around that level.

use std::collections::{BTreeMap, HashMap};

use crate::instrument::{Envelope, EnvelopeControl, EnvelopeStage};
use crate::modulation::{
    Lfo, LfoControl, LfoParam, LfoWaveform, ModEnvelopeControl, ModInput, ModRoute, ModSource, ModTarget, Modulation,
    MAX_ENVELOPES, MAX_FAST_ROUTES, MAX_LFOS,
};

use super::curves::CurveSet;
use super::opcodes::{Outcome, Value};
use super::parse::CONTROLLER_COUNT;

/// What the whole instrument says that its regions' modulation reads: its curves and the
/// controllers' values at load.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// Built-in and `<curve>` curves.
    pub curves: CurveSet,
    /// `set_ccN` / `set_hdccN` values, 0..1, by controller number.
    pub controller_defaults: HashMap<u16, f32>,
}

impl Context {
    /// The value at load of controller `cc`, 0..1 (0 when the instrument sets none).
    pub fn controller_default(&self, cc: u16) -> f32 {
        self.controller_defaults.get(&cc).copied().unwrap_or(0.0)
    }
}

/// A region parameter a modulation changes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Param {
    /// Pitch, cents.
    Pitch,
    /// Filter cutoff, cents.
    Cutoff,
    /// Volume, dB.
    Volume,
    /// Amplitude, percent (multiplies).
    Amplitude,
    /// Pan, percent.
    Pan,
    /// Stereo width, percent.
    Width,
}

impl Param {
    /// The parameter a modulator's target opcode names (`lfo1_pitch`, `var01_cutoff` …).
    fn target_named(name: &str) -> Option<Self> {
        Some(match name {
            "pitch" => Param::Pitch,
            "cutoff" | "cutoff1" => Param::Cutoff,
            "volume" => Param::Volume,
            "amplitude" => Param::Amplitude,
            "pan" => Param::Pan,
            "width" => Param::Width,
            _ => return None,
        })
    }

    /// A value in SFZ units (percent for amplitude, pan, width) in the model's.
    fn to_model(self, value: f32) -> f32 {
        match self {
            Param::Amplitude | Param::Pan | Param::Width => value / 100.0,
            _ => value,
        }
    }

    fn target(self) -> ModTarget {
        match self {
            Param::Pitch => ModTarget::PitchCents,
            Param::Cutoff => ModTarget::CutoffCents,
            Param::Volume => ModTarget::VolumeDb,
            Param::Amplitude => ModTarget::Amplitude,
            Param::Pan => ModTarget::Pan,
            Param::Width => ModTarget::Width,
        }
    }

    /// Largest magnitude accepted for a depth in SFZ units (sfizz's bounds).
    fn limit(self) -> f64 {
        match self {
            Param::Pitch | Param::Cutoff => 12_000.0,
            Param::Volume => 144.0,
            Param::Amplitude => 10_000.0,
            Param::Pan | Param::Width => 200.0,
        }
    }
}

/// Which LFO: one of SFZ v1's three or ARIA's numbered ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LfoKey {
    /// `amplfo_*`.
    Amp,
    /// `pitchlfo_*`.
    Pitch,
    /// `fillfo_*`.
    Fil,
    /// `lfoN_*`.
    Numbered(u32),
}

/// Which modulation envelope: SFZ v1's two or ARIA's numbered flex envelopes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EnvKey {
    /// `pitcheg_*`.
    Pitch,
    /// `fileg_*`.
    Fil,
    /// `egN_*`.
    Numbered(u32),
}

/// What part of a modulation envelope a control changes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EnvPart {
    /// A stage of a v1 envelope (`pitcheg_attack_onccN`, `fileg_vel2decay`).
    Stage(EnvelopeStage),
    /// The time of flex point K (`egN_timeK_onccN`).
    Time(u32),
    /// The level of flex point K (`egN_levelK_onccN`).
    Level(u32),
}

/// SFZ's controller number for note-on velocity (`*_vel2<stage>` reads it).
pub(super) const VELOCITY_CC: u16 = 131;

/// The envelope stage an opcode's stem names (`attack` …).
pub(super) fn stage_named(stem: &str) -> Option<EnvelopeStage> {
    Some(match stem {
        "delay" => EnvelopeStage::Delay,
        "attack" => EnvelopeStage::Attack,
        "hold" => EnvelopeStage::Hold,
        "decay" => EnvelopeStage::Decay,
        "sustain" => EnvelopeStage::Sustain,
        "release" => EnvelopeStage::Release,
        _ => return None,
    })
}

/// Where a connection's modulation comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Modulator {
    /// Straight from controllers (`pan_onccN`).
    Direct,
    /// An LFO.
    Lfo(LfoKey),
    /// An envelope.
    Env(EnvKey),
}

/// A controller's part in a connection's depth.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerDepth {
    /// Depth at full controller, SFZ units.
    pub amount: f32,
    /// `*_curveccN` curve index.
    pub curve: u16,
    /// The opcode that set it (for warnings).
    pub opcode: String,
}

/// One modulator's effect on one parameter.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Connection {
    /// Fixed depth, SFZ units.
    pub depth: f32,
    /// Depth added at velocity 127 (`*_vel2depth`).
    pub velocity_depth: f32,
    /// Depth added per controller (`*_onccN`).
    pub controllers: BTreeMap<u16, ControllerDepth>,
    /// Depth added at full channel pressure (`*_chanaft`).
    pub channel_pressure: f32,
    /// Depth added at full key pressure (`*_polyaft`).
    pub poly_pressure: f32,
    /// The first opcode that made it (for warnings).
    pub opcode: String,
}

/// One point of a flex envelope (`egN_timeK`, `egN_levelK`, `egN_shapeK`).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct FlexPoint {
    /// Seconds to reach the level from the previous point.
    pub time: f32,
    /// Level, −1..1.
    pub level: f32,
    /// Curvature (0 = linear).
    pub shape: f32,
}

/// How an envelope was described.
#[derive(Clone, Debug, PartialEq)]
pub enum EnvShape {
    /// SFZ v1 DAHDSR (`pitcheg_attack` …), with its start level.
    Classic {
        /// The envelope.
        envelope: Envelope,
        /// `*_start`, 0..1 (not modelled).
        start: f32,
    },
    /// ARIA flex envelope.
    Flex {
        /// Points by index.
        points: BTreeMap<u32, FlexPoint>,
        /// `egN_sustain`: the point held while the key is down.
        sustain: u32,
        /// `egN_ampeg=1`: it replaces the amplitude envelope.
        ampeg: bool,
    },
}

/// SFZ v1 modulation envelope defaults (sfizz `EGDescription`): all times 0, sustain 100 %.
const CLASSIC_DEFAULT: Envelope = Envelope {
    delay_seconds: 0.0,
    attack_seconds: 0.0,
    hold_seconds: 0.0,
    decay_seconds: 0.0,
    sustain_level: 1.0,
    release_seconds: 0.0,
};

/// An ARIA variable (`varNN_*`): controllers combined into one value, by `varNN_mod`, that
/// modulates its targets.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Variable {
    /// `varNN_mod=mult`: the controllers' weighted values multiply; else (`add`, the default)
    /// they add.
    pub multiply: bool,
    /// Each controller's weight (`varNN_onccX`) and curve (`varNN_curveccX`).
    pub inputs: BTreeMap<u16, ControllerDepth>,
    /// Depth per target at a value of 1 (`varNN_cutoff=4800`), SFZ units, with its opcode.
    pub targets: BTreeMap<Param, (f32, String)>,
}

/// Everything the modulation opcodes of one region said.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModulationSettings {
    /// Connections by modulator and parameter.
    pub connections: BTreeMap<(Modulator, Param), Connection>,
    /// LFOs in the order they were first named, with the first opcode naming each.
    pub lfos: Vec<(LfoKey, Lfo, String)>,
    /// Envelopes in the order they were first named, with the first opcode naming each.
    pub envelopes: Vec<(EnvKey, EnvShape, String)>,
    /// Controls of envelope stages and flex points, by envelope, part and SFZ controller (131:
    /// velocity); amounts in seconds, or a level (a v1 sustain as a fraction, a flex level
    /// as written).
    pub envelope_controls: BTreeMap<(EnvKey, EnvPart, u16), ControllerDepth>,
    /// Controls of LFO rates (Hz), phases (cycles), delays and fades (seconds), by LFO, what
    /// they move and controller.
    pub lfo_controls: BTreeMap<(LfoKey, LfoParam, u16), ControllerDepth>,
    /// ARIA variables by number.
    pub variables: BTreeMap<u32, Variable>,
}

/// What part of a `*ccN` opcode is given.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum CcPart {
    Depth,
    Curve,
    Smooth,
    Step,
}

/// `stem` + `_onccN` / `_ccN` / `ccN` / `_curveccN` / `_smoothccN` / `_stepccN`.
pub(super) fn split_cc(name: &str) -> Option<(&str, CcPart, u16)> {
    let head = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if head.len() == name.len() {
        return None;
    }
    let cc = name[head.len()..].parse::<u16>().unwrap_or(u16::MAX);
    [
        ("_curvecc", CcPart::Curve),
        ("_smoothcc", CcPart::Smooth),
        ("_stepcc", CcPart::Step),
        ("_oncc", CcPart::Depth),
        ("_cc", CcPart::Depth),
        ("cc", CcPart::Depth),
    ]
    .into_iter()
    .find_map(|(suffix, part)| head.strip_suffix(suffix).filter(|s| !s.is_empty()).map(|stem| (stem, part, cc)))
}

/// Sets the depth (read within ±`limit`, divided by `per_unit`) or the curve of a controller's part in
/// `map[key]`; smoothing and steps are approximated.
fn controller_part<K: Ord>(
    map: &mut BTreeMap<K, ControllerDepth>,
    key: K,
    part: CcPart,
    limit: f64,
    per_unit: f32,
    v: &mut Value<'_>,
) -> Result<(), Outcome> {
    let (amount, curve) = match part {
        CcPart::Depth => (Some(v.float(-limit, limit)? / per_unit), None),
        CcPart::Curve => (None, Some(v.integer(0, super::curves::MAX_CURVE_INDEX as i64)? as u16)),
        CcPart::Smooth | CcPart::Step => return Err(unsmoothed(v)),
    };
    let opcode = v.name.to_string();
    let d = map.entry(key).or_insert(ControllerDepth { amount: 0.0, curve: 0, opcode });
    d.amount = amount.unwrap_or(d.amount);
    d.curve = curve.unwrap_or(d.curve);
    Ok(())
}

fn unsmoothed(v: &Value<'_>) -> Outcome {
    Outcome::Approximated(format!(
        "`{}={}`: controller smoothing and stepping are not supported; the controller moves the target directly",
        v.name, v.text
    ))
}

/// `digits` after `prefix` (`time2` → 2).
fn point_number(stem: &str, prefix: &str) -> Option<u32> {
    let digits = stem.strip_prefix(prefix)?;
    digits.parse::<u32>().ok().filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// `timeK_onccN` / `levelK_onccN` (and their `_curveccN` …) of a flex envelope.
fn flex_control(rest: &str) -> Option<(EnvPart, CcPart, u16)> {
    let (stem, part, cc) = split_cc(rest)?;
    let env_part = match (point_number(stem, "time"), point_number(stem, "level")) {
        (Some(k), _) => EnvPart::Time(k),
        (_, Some(k)) => EnvPart::Level(k),
        _ => return None,
    };
    Some((env_part, part, cc))
}

/// `prefix` + number + `_` + rest (`lfo2_pitch` → (2, "pitch")).
fn numbered<'a>(name: &'a str, prefix: &str) -> Option<(u32, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let n = rest[..digits].parse::<u32>().ok()?;
    Some((n, rest[digits..].strip_prefix('_')?))
}

/// How a controller number reads.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ControllerKind {
    /// A source that changes while playing (a MIDI CC, or an extended controller the model has).
    Live(ModSource, bool),
    /// A generic ARIA controller: fixed at its load value.
    Fixed,
}

/// How controller `cc` reads, or why it cannot.
pub fn controller_kind(cc: u16) -> Result<ControllerKind, String> {
    Ok(match cc {
        0..=127 => ControllerKind::Live(ModSource::Controller(cc as u8), false),
        128 => ControllerKind::Live(ModSource::PitchWheel, true),
        129 => ControllerKind::Live(ModSource::ChannelPressure, false),
        130 => ControllerKind::Live(ModSource::PolyPressure, false),
        131 => ControllerKind::Live(ModSource::Velocity, false),
        133 => ControllerKind::Live(ModSource::Key, false),
        132 => return Err("extended controller 132 (note-off velocity) is not supported".into()),
        134 => return Err("extended controller 134 (key gate) is not supported".into()),
        135 | 136 => return Err(format!("extended controller {cc} (random) is not supported")),
        137 => return Err("extended controller 137 (alternate) is not supported".into()),
        140 | 141 => return Err(format!("extended controller {cc} (key delta) is not supported")),
        c if c < CONTROLLER_COUNT => ControllerKind::Fixed,
        _ => return Err(format!("controller {cc} is beyond {}", CONTROLLER_COUNT - 1)),
    })
}

/// A controller read through a curve: a live input, or its fixed value.
pub(super) enum ControllerInput {
    Live(ModInput),
    Fixed(f32),
}

/// SFZ controller `cc` through curve `curve`: live, or fixed at its default (`set_ccN`);
/// `None` for a controller the model cannot read.
pub(super) fn controller_input(cc: u16, curve: u16, ctx: &Context) -> Option<ControllerInput> {
    Some(match controller_kind(cc).ok()? {
        ControllerKind::Live(source, bipolar) => {
            let input = ctx.curves.input(source, curve);
            ControllerInput::Live(if bipolar { input.bipolar() } else { input })
        }
        ControllerKind::Fixed => ControllerInput::Fixed(ctx.curves.eval(curve, ctx.controller_default(cc))),
    })
}

fn ignored(v: &Value<'_>, reason: &str) -> Outcome {
    Outcome::Ignored(format!("opcode `{}` is not supported: {reason}; ignored", v.name))
}

impl ModulationSettings {
    /// Reads `v` if it is a modulation opcode (`None` if it is not one).
    pub(super) fn apply(&mut self, v: &mut Value<'_>) -> Option<Result<(), Outcome>> {
        let name = v.name;
        let v1_lfos = [
            ("amplfo_", LfoKey::Amp, Param::Volume),
            ("pitchlfo_", LfoKey::Pitch, Param::Pitch),
            ("fillfo_", LfoKey::Fil, Param::Cutoff),
        ];
        for (prefix, key, param) in v1_lfos {
            if let Some(rest) = name.strip_prefix(prefix) {
                return Some(self.lfo_v1(key, param, rest, v));
            }
        }
        for (prefix, key, param) in [("pitcheg_", EnvKey::Pitch, Param::Pitch), ("fileg_", EnvKey::Fil, Param::Cutoff)]
        {
            if let Some(rest) = name.strip_prefix(prefix) {
                return Some(self.eg_v1(key, param, rest, v));
            }
        }
        if let Some((n, rest)) = numbered(name, "lfo") {
            return Some(self.lfo_v2(n, rest, v));
        }
        if let Some((n, rest)) = numbered(name, "eg") {
            return Some(self.eg_v2(n, rest, v));
        }
        if let Some((n, rest)) = numbered(name, "var") {
            return Some(self.variable(n, rest, v));
        }
        if let Some(rest) = name.strip_prefix("ampeg_") {
            let reason = if split_cc(name).is_some() {
                // `ampeg_<stage>_onccN` and `_curveccN` are read with the region's opcodes.
                "envelope controls take no smoothing or steps"
            } else if rest.starts_with("vel2") || rest.starts_with("velto") {
                "not a stage of the envelope"
            } else if rest.ends_with("_shape") || rest.ends_with("_zero") {
                "envelope segments are linear"
            } else {
                return None;
            };
            return Some(Err(ignored(v, reason)));
        }
        match name {
            "cutoff_chanaft" | "cutoff1_chanaft" => {
                return Some(self.pressure(Modulator::Direct, Param::Cutoff, v, false));
            }
            "cutoff_polyaft" | "cutoff1_polyaft" => {
                return Some(self.pressure(Modulator::Direct, Param::Cutoff, v, true));
            }
            _ => {}
        }
        let (stem, part, cc) = split_cc(name)?;
        let param = match stem {
            "amplitude" => Param::Amplitude,
            "volume" | "gain" => Param::Volume,
            "pan" => Param::Pan,
            "tune" | "pitch" => Param::Pitch,
            "cutoff" | "cutoff1" => Param::Cutoff,
            "width" => Param::Width,
            _ => return None,
        };
        Some(self.controller(Modulator::Direct, param, part, cc, v))
    }

    fn connection(&mut self, modulator: Modulator, param: Param, opcode: &str) -> &mut Connection {
        self.connections
            .entry((modulator, param))
            .or_insert_with(|| Connection { opcode: opcode.to_string(), ..Connection::default() })
    }

    fn lfo(&mut self, key: LfoKey, opcode: &str) -> &mut Lfo {
        let index = match self.lfos.iter().position(|(k, _, _)| *k == key) {
            Some(i) => i,
            None => {
                // sfizz: v1 LFOs are sines, numbered ones triangles; both at 0 Hz unless given.
                let waveform =
                    if matches!(key, LfoKey::Numbered(_)) { LfoWaveform::Triangle } else { LfoWaveform::Sine };
                self.lfos.push((key, Lfo { frequency_hz: 0.0, waveform, ..Lfo::default() }, opcode.to_string()));
                self.lfos.len() - 1
            }
        };
        &mut self.lfos[index].1
    }

    fn envelope(&mut self, key: EnvKey, opcode: &str) -> &mut EnvShape {
        let index = match self.envelopes.iter().position(|(k, _, _)| *k == key) {
            Some(i) => i,
            None => {
                let shape = match key {
                    EnvKey::Numbered(_) => EnvShape::Flex { points: BTreeMap::new(), sustain: 0, ampeg: false },
                    _ => EnvShape::Classic { envelope: CLASSIC_DEFAULT, start: 0.0 },
                };
                self.envelopes.push((key, shape, opcode.to_string()));
                self.envelopes.len() - 1
            }
        };
        &mut self.envelopes[index].1
    }

    /// A `*_onccN` / `*_curveccN` / `*_smoothccN` / `*_stepccN` part of a connection's depth.
    fn controller(
        &mut self,
        modulator: Modulator,
        param: Param,
        part: CcPart,
        cc: u16,
        v: &mut Value<'_>,
    ) -> Result<(), Outcome> {
        controller_kind(cc).map_err(|reason| ignored(v, &reason))?;
        if matches!(part, CcPart::Smooth | CcPart::Step) {
            return Err(unsmoothed(v));
        }
        let c = self.connection(modulator, param, v.name);
        controller_part(&mut c.controllers, cc, part, param.limit(), 1.0, v)
    }

    /// Controller `cc`'s part in envelope `key`'s stage or point `env_part` (`limit` in the
    /// opcode's unit, `per_unit` of them per model unit).
    fn envelope_control(
        &mut self,
        key: EnvKey,
        env_part: EnvPart,
        part: CcPart,
        cc: u16,
        (limit, per_unit): (f64, f32),
        v: &mut Value<'_>,
    ) -> Result<(), Outcome> {
        controller_kind(cc).map_err(|reason| ignored(v, &reason))?;
        self.envelope(key, v.name);
        controller_part(&mut self.envelope_controls, (key, env_part, cc), part, limit, per_unit, v)
    }

    /// `varNN_onccX`, `varNN_curveccX`, `varNN_mod`, `varNN_<target>`.
    fn variable(&mut self, n: u32, rest: &str, v: &mut Value<'_>) -> Result<(), Outcome> {
        let input = [("oncc", CcPart::Depth), ("curvecc", CcPart::Curve), ("smoothcc", CcPart::Smooth)]
            .into_iter()
            .find_map(|(prefix, part)| rest.strip_prefix(prefix).map(|cc| (cc, part)));
        if let Some((cc, part)) = input {
            let cc = cc.parse::<u16>().map_err(|_| v.unsupported())?;
            controller_kind(cc).map_err(|reason| ignored(v, &reason))?;
            let variable = self.variables.entry(n).or_default();
            return controller_part(&mut variable.inputs, cc, part, 100.0, 1.0, v);
        }
        if rest == "mod" {
            let multiply = match v.word().as_str() {
                "mult" => true,
                "add" => false,
                _ => return Err(v.unknown_word()),
            };
            self.variables.entry(n).or_default().multiply = multiply;
            return Ok(());
        }
        let Some(param) = Param::target_named(rest) else {
            return Err(ignored(v, "variables modulate pitch, cutoff, volume, amplitude, pan and width only"));
        };
        let depth = v.float(-param.limit(), param.limit())?;
        self.variables.entry(n).or_default().targets.insert(param, (depth, v.name.to_string()));
        Ok(())
    }

    /// Controller `cc`'s part in LFO `key`'s rate (Hz) or phase (cycles).
    fn lfo_control(
        &mut self,
        key: LfoKey,
        param: LfoParam,
        part: CcPart,
        cc: u16,
        v: &mut Value<'_>,
    ) -> Result<(), Outcome> {
        controller_kind(cc).map_err(|reason| ignored(v, &reason))?;
        self.lfo(key, v.name);
        let limit = match param {
            LfoParam::FrequencyHz | LfoParam::DelaySeconds | LfoParam::FadeSeconds => 100.0,
            LfoParam::PhaseCycles => 1000.0,
        };
        controller_part(&mut self.lfo_controls, (key, param, cc), part, limit, 1.0, v)
    }

    fn pressure(&mut self, modulator: Modulator, param: Param, v: &mut Value<'_>, poly: bool) -> Result<(), Outcome> {
        let amount = v.float(-param.limit(), param.limit())?;
        let c = self.connection(modulator, param, v.name);
        if poly {
            c.poly_pressure = amount;
        } else {
            c.channel_pressure = amount;
        }
        Ok(())
    }

    /// `amplfo_*`, `pitchlfo_*`, `fillfo_*`.
    fn lfo_v1(&mut self, key: LfoKey, param: Param, rest: &str, v: &mut Value<'_>) -> Result<(), Outcome> {
        let modulator = Modulator::Lfo(key);
        match rest {
            "freq" => self.lfo(key, v.name).frequency_hz = v.float(0.0, 100.0)?,
            "delay" => self.lfo(key, v.name).delay_seconds = v.float(0.0, 100.0)?,
            "fade" => self.lfo(key, v.name).fade_seconds = v.float(0.0, 100.0)?,
            "wave" => self.lfo(key, v.name).waveform = wave(v)?,
            "depth" => {
                let depth = v.float(-param.limit(), param.limit())?;
                self.lfo(key, v.name);
                self.connection(modulator, param, v.name).depth = depth;
            }
            "depthchanaft" => {
                self.lfo(key, v.name);
                self.pressure(modulator, param, v, false)?;
            }
            "depthpolyaft" => {
                self.lfo(key, v.name);
                self.pressure(modulator, param, v, true)?;
            }
            "freqchanaft" => self.lfo_control(key, LfoParam::FrequencyHz, CcPart::Depth, 129, v)?,
            "freqpolyaft" => self.lfo_control(key, LfoParam::FrequencyHz, CcPart::Depth, 130, v)?,
            _ => match split_cc(rest) {
                Some(("depth", part, cc)) => {
                    self.lfo(key, v.name);
                    self.controller(modulator, param, part, cc, v)?;
                }
                Some(("freq", part, cc)) => self.lfo_control(key, LfoParam::FrequencyHz, part, cc, v)?,
                _ => return Err(v.unsupported()),
            },
        }
        Ok(())
    }

    /// `pitcheg_*`, `fileg_*`.
    fn eg_v1(&mut self, key: EnvKey, param: Param, rest: &str, v: &mut Value<'_>) -> Result<(), Outcome> {
        let modulator = Modulator::Env(key);
        let seconds = |v: &mut Value<'_>| v.float(0.0, 100.0);
        let name = v.name.to_string();
        let set = |this: &mut Self, f: &mut dyn FnMut(&mut Envelope, &mut f32)| {
            if let EnvShape::Classic { envelope, start } = this.envelope(key, &name) {
                f(envelope, start);
            }
        };
        match rest {
            "delay" => {
                let t = seconds(v)?;
                set(self, &mut |e, _| e.delay_seconds = t);
            }
            "attack" => {
                let t = seconds(v)?;
                set(self, &mut |e, _| e.attack_seconds = t);
            }
            "hold" => {
                let t = seconds(v)?;
                set(self, &mut |e, _| e.hold_seconds = t);
            }
            "decay" => {
                let t = seconds(v)?;
                set(self, &mut |e, _| e.decay_seconds = t);
            }
            "release" => {
                let t = seconds(v)?;
                set(self, &mut |e, _| e.release_seconds = t);
            }
            "sustain" => {
                let level = v.float(0.0, 100.0)? / 100.0;
                set(self, &mut |e, _| e.sustain_level = level);
            }
            "start" => {
                let level = v.float(0.0, 100.0)? / 100.0;
                set(self, &mut |_, s| *s = level);
                if level != 0.0 {
                    return Err(Outcome::Approximated(format!(
                        "`{}={}`: envelope start levels are not supported; it starts at 0",
                        v.name, v.text
                    )));
                }
            }
            "depth" => {
                let depth = v.float(-12_000.0, 12_000.0)?;
                self.envelope(key, &name);
                self.connection(modulator, param, &name).depth = depth;
            }
            "vel2depth" | "veltodepth" => {
                let depth = v.float(-12_000.0, 12_000.0)?;
                self.envelope(key, &name);
                self.connection(modulator, param, &name).velocity_depth = depth;
            }
            "dynamic" => return Err(ignored(v, "envelopes are set at note-on")),
            _ => {
                // `vel2<stage>` is velocity's part in a stage, `<stage>_onccN` a controller's.
                let control = match rest.strip_prefix("vel2").or_else(|| rest.strip_prefix("velto")) {
                    Some(stem) => Some((stem, CcPart::Depth, VELOCITY_CC)),
                    None => split_cc(rest),
                };
                match control {
                    Some(("depth", part, cc)) => {
                        self.envelope(key, &name);
                        self.controller(modulator, param, part, cc, v)?;
                    }
                    Some((stem, part, cc)) => {
                        let Some(stage) = stage_named(stem) else { return Err(v.unsupported()) };
                        self.envelope_control(key, EnvPart::Stage(stage), part, cc, stage_unit(stage), v)?;
                    }
                    None if rest.ends_with("_shape") || rest.ends_with("_zero") => {
                        return Err(ignored(v, "envelope segments are linear"))
                    }
                    None => return Err(v.unsupported()),
                }
            }
        }
        Ok(())
    }

    /// A numbered LFO's or envelope's target (`pitch`, `cutoff`, … and their `_onccN`).
    fn target(&mut self, modulator: Modulator, rest: &str, v: &mut Value<'_>) -> Option<Result<(), Outcome>> {
        let (stem, part) = match split_cc(rest) {
            Some((stem, part, cc)) => (stem, Some((part, cc))),
            None => (rest, None),
        };
        let param = Param::target_named(stem)?;
        Some(match part {
            None => v.float(-param.limit(), param.limit()).map(|depth| {
                self.connection(modulator, param, v.name).depth = depth;
            }),
            Some((part, cc)) => self.controller(modulator, param, part, cc, v),
        })
    }

    /// `lfoN_*`.
    fn lfo_v2(&mut self, n: u32, rest: &str, v: &mut Value<'_>) -> Result<(), Outcome> {
        let key = LfoKey::Numbered(n);
        match rest {
            "freq" => self.lfo(key, v.name).frequency_hz = v.float(0.0, 100.0)?,
            "delay" => self.lfo(key, v.name).delay_seconds = v.float(0.0, 100.0)?,
            "fade" => self.lfo(key, v.name).fade_seconds = v.float(0.0, 100.0)?,
            "phase" => self.lfo(key, v.name).phase_cycles = (v.float(-1000.0, 1000.0)?).rem_euclid(1.0),
            "wave" | "wave1" => self.lfo(key, v.name).waveform = wave(v)?,
            _ => {
                match split_cc(rest) {
                    Some(("freq", part, cc)) => return self.lfo_control(key, LfoParam::FrequencyHz, part, cc, v),
                    Some(("phase", part, cc)) => return self.lfo_control(key, LfoParam::PhaseCycles, part, cc, v),
                    Some(("delay", part, cc)) => return self.lfo_control(key, LfoParam::DelaySeconds, part, cc, v),
                    Some(("fade", part, cc)) => return self.lfo_control(key, LfoParam::FadeSeconds, part, cc, v),
                    _ => {}
                }
                if let Some(result) = self.target(Modulator::Lfo(key), rest, v) {
                    self.lfo(key, v.name);
                    return result;
                }
                let reason = match rest {
                    r if r.starts_with("freq") || r.starts_with("phase_") => {
                        "LFO rates and phases follow controllers, not other LFOs or envelopes"
                    }
                    r if r.starts_with("beats") => "LFOs are not synced to the host's tempo",
                    r if r.starts_with("wave") || r.starts_with("offset") || r.starts_with("ratio") => {
                        "LFOs have one waveform (no sub-oscillators)"
                    }
                    r if r.starts_with("scale") => "LFOs have one waveform (no sub-oscillators)",
                    r if r.starts_with("step") || r == "count" => "step-sequenced and counted LFOs are not supported",
                    _ => "only the pitch, cutoff, volume, amplitude and pan targets are mapped",
                };
                return Err(ignored(v, reason));
            }
        }
        Ok(())
    }

    /// `egN_*`.
    fn eg_v2(&mut self, n: u32, rest: &str, v: &mut Value<'_>) -> Result<(), Outcome> {
        let key = EnvKey::Numbered(n);
        let name = v.name.to_string();
        let point = point_number;
        fn flex<'s>(
            this: &'s mut ModulationSettings,
            key: EnvKey,
            name: &str,
        ) -> Option<(&'s mut BTreeMap<u32, FlexPoint>, &'s mut u32, &'s mut bool)> {
            match this.envelope(key, name) {
                EnvShape::Flex { points, sustain, ampeg } => Some((points, sustain, ampeg)),
                EnvShape::Classic { .. } => None,
            }
        }
        if let Some(k) = point(rest, "time") {
            let t = v.float(0.0, 100.0)?;
            if let Some((points, _, _)) = flex(self, key, &name) {
                points.entry(k).or_default().time = t;
            }
        } else if let Some(k) = point(rest, "level") {
            let level = v.float(-1.0, 1.0)?;
            if let Some((points, _, _)) = flex(self, key, &name) {
                points.entry(k).or_default().level = level;
            }
        } else if let Some(k) = point(rest, "shape") {
            let shape = v.float(-100.0, 100.0)?;
            if let Some((points, _, _)) = flex(self, key, &name) {
                points.entry(k).or_default().shape = shape;
            }
        } else if rest == "sustain" {
            let s = v.integer(0, 100)? as u32;
            if let Some((_, sustain, _)) = flex(self, key, &name) {
                *sustain = s;
            }
        } else if rest == "ampeg" {
            let on = v.integer(0, 1)? == 1;
            if let Some((_, _, ampeg)) = flex(self, key, &name) {
                *ampeg = on;
            }
        } else if let Some((env_part, part, cc)) = flex_control(rest) {
            let limit = if matches!(env_part, EnvPart::Time(_)) { 100.0 } else { 1.0 };
            return self.envelope_control(key, env_part, part, cc, (limit, 1.0), v);
        } else if let Some(result) = self.target(Modulator::Env(key), rest, v) {
            self.envelope(key, &name);
            return result;
        } else {
            let reason = if rest.starts_with("time") || rest.starts_with("level") {
                "envelope points follow controllers, not other envelopes or LFOs"
            } else if rest == "dynamic" {
                "envelopes are set at note-on"
            } else if rest.starts_with("loop") || rest == "points" {
                "looping envelopes are not supported"
            } else {
                "only the pitch, cutoff, volume, amplitude and pan targets are mapped"
            };
            return Err(ignored(v, reason));
        }
        Ok(())
    }
}

/// The range (seconds; percent for the sustain) of a v1 stage control's amount, and how many
/// of its units make one of the model's (the sustain is a fraction).
fn stage_unit(stage: EnvelopeStage) -> (f64, f32) {
    if stage == EnvelopeStage::Sustain {
        (100.0, 100.0)
    } else {
        (100.0, 1.0)
    }
}

/// An ARIA LFO waveform number (sfizz `LFOWave`).
fn wave(v: &mut Value<'_>) -> Result<LfoWaveform, Outcome> {
    Ok(match v.integer(0, 12)? {
        0 => LfoWaveform::Triangle,
        1 => LfoWaveform::Sine,
        2 => LfoWaveform::Pulse { duty_thousandths: 750 },
        3 => LfoWaveform::Pulse { duty_thousandths: 500 },
        4 => LfoWaveform::Pulse { duty_thousandths: 250 },
        5 => LfoWaveform::Pulse { duty_thousandths: 125 },
        6 => LfoWaveform::SawUp,
        7 => LfoWaveform::SawDown,
        12 => return Err(ignored(v, "random (sample-and-hold) LFOs are not supported")),
        _ => return Err(v.unknown_word()),
    })
}

/// A flex envelope as the model's envelope ([`flex_to_envelope`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FlexFit {
    /// The DAHDSR times, the sustain relative to the peak.
    pub envelope: Envelope,
    /// The level it peaks at (its routes' amounts scale by it).
    pub peak: f32,
    /// For each point whose time is a stage's: the stage, and the factor from the point's
    /// seconds to the stage's (the decay and release are the model's full-scale times).
    pub times: BTreeMap<u32, (EnvelopeStage, f32)>,
    /// The sustain point, when it is reached by a fall from the peak (its level is then the
    /// sustain's, relative to the peak).
    pub sustain_after_fall: Option<u32>,
}

/// A flex envelope as the model's DAHDSR times and the level it peaks at, when its points
/// allow: rest at 0 (delay), one rise to a peak (attack), points at the peak (hold), one
/// fall to the sustain point's level (decay), and at most one fall to 0 after the sustain
/// point (release). Levels may be negative (the peak's sign carries into the amount).
pub fn flex_to_envelope(points: &BTreeMap<u32, FlexPoint>, sustain: u32) -> Result<FlexFit, String> {
    let last = points.keys().next_back().copied().unwrap_or(0);
    let point = |i: u32| points.get(&i).copied().unwrap_or_default();
    if sustain > last {
        return Err(format!("its sustain point {sustain} is past its last point {last}"));
    }
    let mut env = Envelope { sustain_level: 1.0, release_seconds: 0.0, ..CLASSIC_DEFAULT };
    let mut times = BTreeMap::new();
    let mut level = 0.0f32;
    let mut peak: Option<f32> = None;
    let mut decayed = false;
    for i in 0..=sustain {
        let FlexPoint { time, level: to, .. } = point(i);
        match peak {
            None if to == 0.0 => {
                env.delay_seconds += time;
                times.insert(i, (EnvelopeStage::Delay, 1.0));
            }
            None => {
                env.attack_seconds = time;
                times.insert(i, (EnvelopeStage::Attack, 1.0));
                peak = Some(to);
            }
            Some(_) if to == level && !decayed => {
                env.hold_seconds += time;
                times.insert(i, (EnvelopeStage::Hold, 1.0));
            }
            Some(_) if to == level => {}
            Some(p) if !decayed && to / p >= 0.0 && to / p < 1.0 => {
                let factor = 1.0 / (1.0 - to / p);
                env.decay_seconds = time * factor;
                times.insert(i, (EnvelopeStage::Decay, factor));
                decayed = true;
            }
            Some(_) => return Err(format!("point {i} is a second rise or fall before the sustain point")),
        }
        level = to;
    }
    let Some(peak) = peak else {
        return Err("it stays at 0 until the sustain point".into());
    };
    let sustain_level = level / peak;
    env.sustain_level = sustain_level;
    match (sustain + 1..=last).map(point).collect::<Vec<_>>().as_slice() {
        [] => {}
        [p] if p.level == 0.0 => {
            let factor = if sustain_level > 0.0 { 1.0 / sustain_level } else { 1.0 };
            env.release_seconds = p.time * factor;
            times.insert(sustain + 1, (EnvelopeStage::Release, factor));
        }
        _ => return Err("its release is not one fall to 0".into()),
    }
    Ok(FlexFit { envelope: env, peak, times, sustain_after_fall: decayed.then_some(sustain) })
}

/// The model's side of a region's modulation, and what folds into its static values.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// Envelopes, LFOs, routes.
    pub modulation: Modulation,
    /// [`crate::instrument::Region::amplitude`].
    pub amplitude: f32,
    /// Cents to add to the tuning (fixed controllers).
    pub pitch_cents: f32,
    /// Cents to add to the cutoff (fixed controllers).
    pub cutoff_cents: f32,
    /// dB to add to the gain (fixed controllers).
    pub volume_db: f32,
    /// −1..1 to add to the pan (fixed controllers).
    pub pan: f32,
    /// −1..1 to add to the width (fixed controllers).
    pub width: f32,
    /// The amplitude envelope from an `egN_ampeg=1` flex envelope.
    pub amp_envelope: Option<Envelope>,
    /// That envelope's live controls (`egN_timeK_onccN` …).
    pub amp_envelope_controls: Vec<EnvelopeControl>,
}

impl Mapped {
    /// Adds a fixed amount (model units) to `param`'s static value; amplitude multiplies.
    fn add_fixed(&mut self, param: Param, value: f32) {
        match param {
            Param::Pitch => self.pitch_cents += value,
            Param::Cutoff => self.cutoff_cents += value,
            Param::Volume => self.volume_db += value,
            Param::Pan => self.pan += value,
            Param::Width => self.width += value,
            Param::Amplitude => self.amplitude *= value,
        }
    }
}

impl Variable {
    /// The variable's routes: with `add`, one per live controller and target (its weight ×
    /// the target's depth); with `mult`, one per target reading up to two live controllers
    /// (input × scale). Fixed (ARIA generic) controllers fold into the amounts, or into the
    /// static values when no live controller is left. On amplitude the variable is a gain
    /// factor, as `amplitude_onccN`.
    fn terms(
        &self,
        ctx: &Context,
        mapped: &mut Mapped,
        terms: &mut Vec<Term>,
        amplitude_factors: &mut Vec<Term>,
        remarks: &mut Vec<String>,
    ) {
        let mut live: Vec<(ModInput, f32)> = Vec::new();
        // A product of no controller reads 0, as a sum of none does.
        let mut fixed = if self.multiply && !self.inputs.is_empty() { 1.0f32 } else { 0.0 };
        for (&cc, d) in &self.inputs {
            match read_controller(cc, d, ctx, remarks) {
                Some(ControllerInput::Live(input)) => live.push((input, d.amount)),
                Some(ControllerInput::Fixed(x)) if self.multiply => fixed *= x * d.amount,
                Some(ControllerInput::Fixed(x)) => fixed += x * d.amount,
                None => {}
            }
        }
        for (&param, (depth, opcode)) in &self.targets {
            let depth = param.to_model(*depth);
            let term = |midi: &ModInput, scale: Option<&ModInput>, amount: f32| Term {
                signal: None,
                midi: Some(midi.clone()),
                scale: scale.cloned(),
                amount,
                target: param.target(),
                opcode: opcode.clone(),
            };
            let mut routes = Vec::new();
            let constant = match (self.multiply, live.as_slice()) {
                (true, []) => fixed * depth,
                (true, [(a, wa)]) => {
                    routes.push(term(a, None, fixed * wa * depth));
                    0.0
                }
                (true, [(a, wa), (b, wb)]) => {
                    routes.push(term(a, Some(b), fixed * wa * wb * depth));
                    0.0
                }
                (true, _) => {
                    remarks
                        .push(format!("`{opcode}`: more than two live controllers multiply in one variable; ignored"));
                    continue;
                }
                (false, inputs) => {
                    routes.extend(inputs.iter().map(|(a, wa)| term(a, None, wa * depth)));
                    fixed * depth
                }
            };
            if param != Param::Amplitude {
                mapped.add_fixed(param, constant);
                terms.extend(routes);
                continue;
            }
            // A gain factor: one term, or a constant.
            match (routes.len(), constant) {
                (0, c) => mapped.add_fixed(param, c),
                (1, 0.0) => amplitude_factors.extend(routes),
                _ => remarks
                    .push(format!("`{opcode}`: a sum of controllers on amplitude is not one gain factor; ignored")),
            }
        }
    }
}

/// A route before modulators have slots.
#[derive(Clone, Debug)]
struct Term {
    /// `None`: `midi` is the input.
    signal: Option<Modulator>,
    midi: Option<ModInput>,
    scale: Option<ModInput>,
    amount: f32,
    target: ModTarget,
    opcode: String,
}

impl ModulationSettings {
    /// The model's modulation for these settings; `static_amplitude` is the region's linear
    /// amplitude before modulation. Remarks (dropped or approximated parts) go to `remarks`.
    pub fn build(&self, ctx: &Context, static_amplitude: f32, remarks: &mut Vec<String>) -> Mapped {
        let mut mapped = Mapped {
            modulation: Modulation::default(),
            amplitude: static_amplitude,
            pitch_cents: 0.0,
            cutoff_cents: 0.0,
            volume_db: 0.0,
            pan: 0.0,
            width: 0.0,
            amp_envelope: None,
            amp_envelope_controls: Vec::new(),
        };

        // Envelope shapes with their live controls, and the level each peaks at (its routes'
        // amounts scale by it).
        let mut shapes: Vec<(EnvKey, Envelope, f32, Vec<EnvelopeControl>)> = Vec::new();
        for (key, shape, opcode) in &self.envelopes {
            match shape {
                EnvShape::Classic { envelope, .. } => {
                    let mut envelope = *envelope;
                    let controls = self.envelope_controls_of(*key, &mut envelope, None, ctx, remarks);
                    shapes.push((*key, envelope, 1.0, controls));
                }
                EnvShape::Flex { points, sustain, ampeg } => {
                    let routed = self.connections.keys().any(|(m, _)| *m == Modulator::Env(*key));
                    if !routed && !*ampeg {
                        continue;
                    }
                    if points.values().any(|p| p.shape != 0.0) {
                        remarks.push(format!("`{opcode}`: curved envelope segments (egN_shapeK) play linear"));
                    }
                    match flex_to_envelope(points, *sustain) {
                        Ok(fit) => {
                            let mut envelope = fit.envelope;
                            let controls = self.envelope_controls_of(*key, &mut envelope, Some(&fit), ctx, remarks);
                            if *ampeg {
                                mapped.amp_envelope = Some(envelope);
                                mapped.amp_envelope_controls = controls.clone();
                                mapped.amplitude *= fit.peak.max(0.0);
                            }
                            shapes.push((*key, envelope, fit.peak, controls));
                        }
                        Err(reason) => remarks.push(format!(
                            "`{opcode}`: this flex envelope does not fit a delay-attack-hold-decay-sustain-release envelope ({reason}); ignored"
                        )),
                    }
                }
            }
        }

        // Every connection as terms (routes not yet placed) and fixed contributions.
        let mut terms = Vec::new();
        let mut amplitude_factors: Vec<Term> = Vec::new();
        let mut tremolo: Vec<Term> = Vec::new();
        for (&(modulator, param), c) in &self.connections {
            let signal = match modulator {
                Modulator::Direct => None,
                m => Some(m),
            };
            let mut depth = c.depth;
            let mut live: Vec<(Option<ModInput>, f32, String)> = Vec::new();
            if c.velocity_depth != 0.0 {
                live.push((Some(ModInput::linear(ModSource::Velocity)), c.velocity_depth, c.opcode.clone()));
            }
            if c.channel_pressure != 0.0 {
                live.push((Some(ModInput::linear(ModSource::ChannelPressure)), c.channel_pressure, c.opcode.clone()));
            }
            if c.poly_pressure != 0.0 {
                live.push((Some(ModInput::linear(ModSource::PolyPressure)), c.poly_pressure, c.opcode.clone()));
            }
            let mut fixed_factor = 1.0f32;
            for (&cc, d) in &c.controllers {
                match read_controller(cc, d, ctx, remarks) {
                    Some(ControllerInput::Live(input)) => live.push((Some(input), d.amount, d.opcode.clone())),
                    // Amplitude multiplies, everything else adds.
                    Some(ControllerInput::Fixed(x)) if param == Param::Amplitude => {
                        fixed_factor *= x * param.to_model(d.amount)
                    }
                    Some(ControllerInput::Fixed(x)) => depth += x * d.amount,
                    None => {}
                }
            }
            let target = param.target();
            let term = |midi: Option<ModInput>, scale_by: Option<ModInput>, amount: f32, opcode: &str| Term {
                signal,
                midi,
                scale: scale_by,
                amount,
                target,
                opcode: opcode.to_string(),
            };
            match (modulator, param) {
                (Modulator::Direct, Param::Amplitude) => {
                    // amplitude_onccN: each controller is a gain factor.
                    mapped.amplitude *= fixed_factor;
                    for (input, amount, opcode) in live {
                        amplitude_factors.push(term(input, None, param.to_model(amount), &opcode));
                    }
                }
                (Modulator::Direct, _) => {
                    mapped.add_fixed(param, param.to_model(depth));
                    for (input, amount, opcode) in live {
                        terms.push(term(input, None, param.to_model(amount), &opcode));
                    }
                }
                (Modulator::Env(_) | Modulator::Lfo(_), Param::Amplitude) => {
                    // sfizz multiplies an amplitude connection's depth by its controller
                    // depths (`egN_amplitude_onccN` alone is 0 there, too). An envelope on
                    // amplitude is a gain factor; an LFO, tremolo around the level.
                    let mut amount = param.to_model(depth) * fixed_factor;
                    let scale_by = match live.as_slice() {
                        [] => None,
                        [(input, a, _)] => {
                            amount *= param.to_model(*a);
                            input.clone()
                        }
                        _ => {
                            remarks.push(format!(
                                "`{}`: more than one controller on an envelope's or LFO's amplitude depth; ignored",
                                c.opcode
                            ));
                            continue;
                        }
                    };
                    if amount != 0.0 {
                        let t = term(None, scale_by, amount, &c.opcode);
                        match modulator {
                            Modulator::Env(_) => amplitude_factors.push(t),
                            _ => tremolo.push(t),
                        }
                    }
                }
                (_, _) => {
                    if depth != 0.0 {
                        terms.push(term(None, None, param.to_model(depth), &c.opcode));
                    }
                    for (input, amount, opcode) in live {
                        terms.push(term(None, input, param.to_model(amount), &opcode));
                    }
                }
            }
        }
        for variable in self.variables.values() {
            variable.terms(ctx, &mut mapped, &mut terms, &mut amplitude_factors, remarks);
        }
        amplitude_terms(&mut mapped.amplitude, amplitude_factors, tremolo, &mut terms, remarks);

        // Slots for the LFOs and envelopes that some term reads, in the order they were named.
        let used = |m: Modulator| terms.iter().any(|t| t.signal == Some(m));
        let mut lfo_slots: HashMap<LfoKey, u8> = HashMap::new();
        for (key, lfo, opcode) in &self.lfos {
            if !used(Modulator::Lfo(*key)) {
                continue;
            }
            if mapped.modulation.lfos.len() == MAX_LFOS {
                remarks.push(format!("`{opcode}`: more than {MAX_LFOS} LFOs in one region; this one is dropped"));
                continue;
            }
            lfo_slots.insert(*key, mapped.modulation.lfos.len() as u8);
            mapped.modulation.lfos.push(*lfo);
        }
        for (&(key, param, cc), d) in &self.lfo_controls {
            let Some(&slot) = lfo_slots.get(&key) else { continue }; // an LFO nothing reads
            let Some(lfo) = mapped.modulation.lfos.get_mut(slot as usize) else { continue };
            match read_controller(cc, d, ctx, remarks) {
                Some(ControllerInput::Live(input)) => {
                    mapped.modulation.lfo_controls.push(LfoControl { lfo: slot, param, input, amount: d.amount })
                }
                Some(ControllerInput::Fixed(x)) => match param {
                    LfoParam::FrequencyHz => lfo.frequency_hz = (lfo.frequency_hz + x * d.amount).max(0.0),
                    LfoParam::PhaseCycles => lfo.phase_cycles = (lfo.phase_cycles + x * d.amount).rem_euclid(1.0),
                    LfoParam::DelaySeconds => lfo.delay_seconds = (lfo.delay_seconds + x * d.amount).max(0.0),
                    LfoParam::FadeSeconds => lfo.fade_seconds = (lfo.fade_seconds + x * d.amount).max(0.0),
                },
                None => {}
            }
        }
        let mut env_slots: HashMap<EnvKey, (u8, f32)> = HashMap::new();
        for (key, envelope, peak, controls) in &shapes {
            if !used(Modulator::Env(*key)) {
                continue;
            }
            if mapped.modulation.envelopes.len() == MAX_ENVELOPES {
                let opcode = &self.envelopes.iter().find(|(k, _, _)| k == key).expect("named").2;
                remarks.push(format!(
                    "`{opcode}`: more than {MAX_ENVELOPES} modulation envelopes in one region; this one is dropped"
                ));
                continue;
            }
            let slot = mapped.modulation.envelopes.len() as u8;
            env_slots.insert(*key, (slot, *peak));
            mapped.modulation.envelopes.push(*envelope);
            mapped
                .modulation
                .envelope_controls
                .extend(controls.iter().map(|c| ModEnvelopeControl { envelope: slot, control: c.clone() }));
        }

        // Routes.
        let mut fast = 0;
        for t in terms {
            let (input, amount, pulse) = match t.signal {
                None => (t.midi.clone().expect("a live input"), t.amount, false),
                Some(Modulator::Lfo(key)) => {
                    let Some(&slot) = lfo_slots.get(&key) else { continue };
                    let pulse = matches!(mapped.modulation.lfos[slot as usize].waveform, LfoWaveform::Pulse { .. });
                    (ModInput::linear(ModSource::Lfo(slot)), t.amount, pulse)
                }
                Some(Modulator::Env(key)) => {
                    let Some(&(slot, peak)) = env_slots.get(&key) else {
                        // Dropped (unmappable, or over the limit) and already reported.
                        continue;
                    };
                    (ModInput::linear(ModSource::Envelope(slot)), t.amount * peak, false)
                }
                Some(Modulator::Direct) => unreachable!("direct terms carry their input"),
            };
            if input.source.is_per_voice_signal() {
                if fast == MAX_FAST_ROUTES {
                    remarks.push(format!(
                        "`{}`: more than {MAX_FAST_ROUTES} envelope and LFO routes in one region; dropped",
                        t.opcode
                    ));
                    continue;
                }
                fast += 1;
            }
            // ARIA's pulse LFOs swing between 0 and 1, the model's between −1 and 1: half the
            // amount on the LFO, half as a constant.
            let amount = if pulse { amount / 2.0 } else { amount };
            let mut route = ModRoute::new(input, amount, t.target);
            route.scale = t.scale.clone();
            if pulse {
                let mut offset = ModRoute::new(ModInput::linear(ModSource::One), amount, t.target);
                offset.scale = t.scale.clone();
                mapped.modulation.routes.push(offset);
            }
            mapped.modulation.routes.push(route);
        }
        mapped
    }
}

impl ModulationSettings {
    /// The live controls of envelope `key` as stage controls in the model's units, with the
    /// fixed (ARIA generic) ones folded into `envelope`, which is then limited. `fit` says
    /// which stage each point of a flex envelope became; a point that is no stage's is
    /// remarked and ignored.
    fn envelope_controls_of(
        &self,
        key: EnvKey,
        envelope: &mut Envelope,
        fit: Option<&FlexFit>,
        ctx: &Context,
        remarks: &mut Vec<String>,
    ) -> Vec<EnvelopeControl> {
        let mut live = Vec::new();
        for (&(_, part, cc), d) in self.envelope_controls.iter().filter(|((k, _, _), _)| *k == key) {
            let (stage, factor) = match (part, fit) {
                (EnvPart::Stage(stage), _) => (stage, 1.0),
                (EnvPart::Time(k), Some(fit)) => match fit.times.get(&k) {
                    Some(&stage) => stage,
                    None => {
                        remarks.push(format!(
                            "`{}`: point {k}'s time is no stage of the envelope this flex envelope became; ignored",
                            d.opcode
                        ));
                        continue;
                    }
                },
                (EnvPart::Level(k), Some(fit)) if fit.sustain_after_fall == Some(k) => {
                    (EnvelopeStage::Sustain, 1.0 / fit.peak)
                }
                (EnvPart::Level(_), _) | (EnvPart::Time(_), None) => {
                    remarks.push(format!(
                        "`{}`: only the sustain point's level (after a fall from the peak) follows a controller; ignored",
                        d.opcode
                    ));
                    continue;
                }
            };
            match read_controller(cc, d, ctx, remarks) {
                Some(ControllerInput::Live(input)) => {
                    live.push(EnvelopeControl { stage, input, amount: d.amount * factor })
                }
                Some(ControllerInput::Fixed(x)) => envelope.add(stage, x * d.amount * factor),
                None => {}
            }
        }
        *envelope = envelope.limited();
        live
    }
}

/// Controller `cc` as `d` reads it ([`controller_input`]), remarking a curve that is not
/// defined.
fn read_controller(cc: u16, d: &ControllerDepth, ctx: &Context, remarks: &mut Vec<String>) -> Option<ControllerInput> {
    if !ctx.curves.contains(d.curve) {
        remarks.push(format!("`{}`: curve {} is not defined; read as curve 0", d.opcode, d.curve));
    }
    controller_input(cc, d.curve, ctx)
}

/// Places the amplitude factors (controllers, envelopes: they multiply) and tremolo (LFOs: they
/// add around the level) as routes on `amplitude`.
fn amplitude_terms(
    amplitude: &mut f32,
    factors: Vec<Term>,
    tremolo: Vec<Term>,
    terms: &mut Vec<Term>,
    remarks: &mut Vec<String>,
) {
    // Each factor contributes one or two inputs (a signal or MIDI input, and its scale).
    let level = *amplitude;
    let mut inputs: Vec<(Option<Modulator>, Option<ModInput>)> = Vec::new();
    let mut product = level;
    let mut first_opcode = String::new();
    for f in &factors {
        let mut these = Vec::new();
        if let Some(m) = f.signal {
            these.push((Some(m), None));
        }
        if let Some(i) = &f.midi {
            these.push((None, Some(i.clone())));
        }
        if let Some(i) = &f.scale {
            these.push((None, Some(i.clone())));
        }
        let signals = inputs.iter().chain(&these).filter(|(s, _)| s.is_some()).count();
        if inputs.len() + these.len() > 2 || signals > 1 {
            remarks.push(format!(
                "`{}`: more than two amplitude factors (controllers or envelopes) in one region; this one is ignored",
                f.opcode
            ));
            continue;
        }
        if first_opcode.is_empty() {
            first_opcode = f.opcode.clone();
        }
        inputs.extend(these);
        product *= f.amount;
    }
    if inputs.is_empty() {
        for t in tremolo {
            terms.push(Term { amount: t.amount * level, ..t });
        }
        return;
    }
    *amplitude = 0.0;
    // The signal (if any) is the input, the MIDI input the scale.
    inputs.sort_by_key(|(s, _)| s.is_none());
    let (signal, midi) = inputs[0].clone();
    let scale = inputs.get(1).and_then(|(_, m)| m.clone());
    terms.push(Term {
        signal,
        midi: midi.clone(),
        scale: scale.clone(),
        amount: product,
        target: ModTarget::Amplitude,
        opcode: first_opcode,
    });
    for t in tremolo {
        // Tremolo rides on the factor: LFO × factor (only one MIDI factor fits as scale).
        match (&signal, &midi, &scale, &t.scale) {
            (None, Some(m), None, None) => terms.push(Term { scale: Some(m.clone()), amount: t.amount * product, ..t }),
            _ => remarks.push(format!(
                "`{}`: an LFO on amplitude together with amplitude factors that do not fit one route; ignored",
                t.opcode
            )),
        }
    }
}
