//! SF2 LFOs, the modulation envelope and modulators (SF2 2.04 sections 8.1.3, 8.2–8.5) as the
//! model's [`Modulation`].
//!
//! - LFO 0 is the modulation LFO (`delayModLFO`, `freqModLFO`; `modLfoToPitch`,
//!   `modLfoToFilterFc`, `modLfoToVolume`), LFO 1 the vibrato LFO (`delayVibLFO`,
//!   `freqVibLFO`; `vibLfoToPitch`). Both are triangles starting at 0, rising.
//! - Envelope 0 is the modulation envelope (`*ModEnv`; `modEnvToPitch`, `modEnvToFilterFc`),
//!   linear in every segment, its decay and release timed for a full-scale change.
//! - Modulators: the defaults of section 8.4, replaced by instrument modulators with the same
//!   sources and destination (local over global), then preset modulators added to them.
//!   Modulators whose destination is a depth (`vibLfoToPitch`, `modEnvToFilterFc`, …) become
//!   routes from that LFO or envelope scaled by the modulator's source.
//! - The defaults for CC7, CC10, CC11 and the pitch wheel act on the channel in the sampler
//!   (its channel mix and bend), and the velocity → attenuation default is its velocity law;
//!   file modulators that replace those change the velocity law (a velocity curve) or are
//!   reported as not played.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::envelope::{absolute_cents_to_hz, timecents_to_seconds};
use super::file::{ModulatorRecord, Zone};
use super::generators::{self as gen, Combined};
use crate::instrument::{Envelope, Lfo, LfoWaveform, ModCurve, ModInput, ModRoute, ModSource, ModTarget, Modulation};

/// `modLfoToPitch`, cents.
pub const MOD_LFO_TO_PITCH: u16 = 5;
/// `vibLfoToPitch`, cents.
pub const VIB_LFO_TO_PITCH: u16 = 6;
/// `modEnvToPitch`, cents.
pub const MOD_ENV_TO_PITCH: u16 = 7;
/// `modLfoToFilterFc`, cents.
pub const MOD_LFO_TO_FILTER_FC: u16 = 10;
/// `modLfoToVolume`, cB.
pub const MOD_LFO_TO_VOLUME: u16 = 13;
/// `delayModLFO`, timecents.
pub const DELAY_MOD_LFO: u16 = 21;
/// `freqModLFO`, absolute cents.
pub const FREQ_MOD_LFO: u16 = 22;
/// `delayVibLFO`, timecents.
pub const DELAY_VIB_LFO: u16 = 23;
/// `freqVibLFO`, absolute cents.
pub const FREQ_VIB_LFO: u16 = 24;
/// `delayModEnv` … `releaseModEnv`, timecents (sustain: 0.1 % below full).
pub const DELAY_MOD_ENV: u16 = 25;
const ATTACK_MOD_ENV: u16 = 26;
const HOLD_MOD_ENV: u16 = 27;
const DECAY_MOD_ENV: u16 = 28;
const RELEASE_MOD_ENV: u16 = 30;
/// `keynumToModEnvHold`, timecents per key from key 60.
pub const KEY_TO_MOD_ENV_HOLD: u16 = 31;
/// `keynumToModEnvDecay`, timecents per key from key 60.
pub const KEY_TO_MOD_ENV_DECAY: u16 = 32;

/// The modulation LFO's index in [`Modulation::lfos`].
pub const MOD_LFO: u8 = 0;
/// The vibrato LFO's index.
pub const VIB_LFO: u8 = 1;
/// The modulation envelope's index in [`Modulation::envelopes`].
pub const MOD_ENV: u8 = 0;

/// A modulator's identity (section 9.5.1): sources and destination.
type Identity = (u16, u16, u16);

/// SF2 2.04 section 8.4.1: velocity → initial attenuation, 960 cB, concave, negative.
pub const DEFAULT_VELOCITY_TO_ATTENUATION: ModulatorRecord = ModulatorRecord {
    source: 0x0502,
    destination: gen::INITIAL_ATTENUATION,
    amount: 960,
    amount_source: 0,
    transform: 0,
};

/// The default modulators (section 8.4), with the 8.4.2 velocity → cutoff amount source as
/// FluidSynth records it (a velocity switch: no change below velocity 64). FluidSynth then
/// forces that modulator's value to 0; this crate plays it (docs/SF2.md).
pub const DEFAULT_MODULATORS: [ModulatorRecord; 10] = [
    DEFAULT_VELOCITY_TO_ATTENUATION,
    ModulatorRecord { source: 0x0102, destination: gen::FILTER_FC, amount: -2400, amount_source: 0x0C02, transform: 0 },
    ModulatorRecord { source: 0x000D, destination: VIB_LFO_TO_PITCH, amount: 50, amount_source: 0, transform: 0 },
    ModulatorRecord { source: 0x0081, destination: VIB_LFO_TO_PITCH, amount: 50, amount_source: 0, transform: 0 },
    ModulatorRecord {
        source: 0x0587,
        destination: gen::INITIAL_ATTENUATION,
        amount: 960,
        amount_source: 0,
        transform: 0,
    },
    ModulatorRecord { source: 0x028A, destination: gen::PAN, amount: 1000, amount_source: 0, transform: 0 },
    ModulatorRecord {
        source: 0x058B,
        destination: gen::INITIAL_ATTENUATION,
        amount: 960,
        amount_source: 0,
        transform: 0,
    },
    ModulatorRecord { source: 0x00DB, destination: 16, amount: 200, amount_source: 0, transform: 0 },
    ModulatorRecord { source: 0x00DD, destination: 15, amount: 200, amount_source: 0, transform: 0 },
    ModulatorRecord { source: 0x020E, destination: gen::FINE_TUNE, amount: 12700, amount_source: 0x0010, transform: 0 },
];

/// Defaults the sampler plays on the channel (CC7, CC10, CC11, the reverb and chorus sends,
/// which have no per-voice meaning here, and the pitch wheel): never routes.
fn played_by_channel(m: &ModulatorRecord) -> bool {
    DEFAULT_MODULATORS[4..].iter().any(|d| identity(d) == identity(m))
}

fn identity(m: &ModulatorRecord) -> Identity {
    (m.source, m.destination, m.amount_source)
}

/// The modulators of one preset zone over one instrument zone, combined as section 9.5
/// says: defaults, replaced by the instrument's (local over global), added to by the preset's
/// (local over global).
pub fn combine(
    instrument_global: Option<&Zone>,
    instrument_local: &Zone,
    preset_global: Option<&Zone>,
    preset_local: &Zone,
) -> Vec<ModulatorRecord> {
    // Within a layer the local zone's modulator replaces an identical global one.
    let layer = |global: Option<&Zone>, local: &Zone| {
        let mut list: Vec<ModulatorRecord> = global.map_or_else(Vec::new, |g| g.modulators.clone());
        for m in &local.modulators {
            match list.iter_mut().find(|x| identity(x) == identity(m)) {
                Some(x) => *x = *m,
                None => list.push(*m),
            }
        }
        list
    };
    let mut list: Vec<ModulatorRecord> = DEFAULT_MODULATORS.to_vec();
    for m in layer(instrument_global, instrument_local) {
        match list.iter_mut().find(|x| identity(x) == identity(&m)) {
            Some(x) => *x = m,
            None => list.push(m),
        }
    }
    for m in layer(preset_global, preset_local) {
        match list.iter_mut().find(|x| identity(x) == identity(&m)) {
            Some(x) => x.amount = x.amount.saturating_add(m.amount),
            None => list.push(m),
        }
    }
    list
}

/// Decodes a modulator source operand; `Ok(None)` is "no controller".
fn source(operand: u16) -> Result<Option<ModInput>, String> {
    let index = (operand & 0x7F) as u8;
    let source = if operand & 0x80 != 0 {
        if matches!(index, 0 | 6 | 32 | 38 | 98..=101 | 120..=127) {
            return Err(format!("controller {index} may not be a modulator source"));
        }
        ModSource::Controller(index)
    } else {
        match index {
            0 => return Ok(None),
            2 => ModSource::Velocity,
            3 => ModSource::Key,
            10 => ModSource::PolyPressure,
            13 => ModSource::ChannelPressure,
            14 => ModSource::PitchWheel,
            16 => ModSource::BendRange,
            127 => return Err("linked modulators are not played".into()),
            other => return Err(format!("general controller {other} is not defined")),
        }
    };
    let curve = match operand >> 10 {
        0 => ModCurve::Linear,
        1 => ModCurve::Concave,
        2 => ModCurve::Convex,
        3 => ModCurve::Switch,
        other => return Err(format!("curve type {other} is not defined")),
    };
    Ok(Some(ModInput { source, curve, bipolar: operand & 0x200 != 0, inverted: operand & 0x100 != 0 }))
}

/// What a destination generator becomes: a target with a unit factor, or a signal's depth.
enum Destination {
    Direct(ModTarget, f32),
    Depth(ModSource, ModTarget, f32),
}

fn destination(generator: u16) -> Option<Destination> {
    use Destination::*;
    Some(match generator {
        gen::FILTER_FC => Direct(ModTarget::CutoffCents, 1.0),
        gen::INITIAL_ATTENUATION => Direct(ModTarget::VolumeDb, -0.1),
        gen::PAN => Direct(ModTarget::Pan, 1.0 / 500.0),
        gen::COARSE_TUNE => Direct(ModTarget::PitchCents, 100.0),
        gen::FINE_TUNE => Direct(ModTarget::PitchCents, 1.0),
        MOD_LFO_TO_PITCH => Depth(ModSource::Lfo(MOD_LFO), ModTarget::PitchCents, 1.0),
        VIB_LFO_TO_PITCH => Depth(ModSource::Lfo(VIB_LFO), ModTarget::PitchCents, 1.0),
        MOD_ENV_TO_PITCH => Depth(ModSource::Envelope(MOD_ENV), ModTarget::PitchCents, 1.0),
        MOD_LFO_TO_FILTER_FC => Depth(ModSource::Lfo(MOD_LFO), ModTarget::CutoffCents, 1.0),
        gen::MOD_ENV_TO_FILTER_FC => Depth(ModSource::Envelope(MOD_ENV), ModTarget::CutoffCents, 1.0),
        MOD_LFO_TO_VOLUME => Depth(ModSource::Lfo(MOD_LFO), ModTarget::VolumeDb, 0.1),
        _ => return None,
    })
}

/// A name for a destination generator in messages.
fn generator_name(generator: u16) -> String {
    match generator {
        9 => "initialFilterQ".into(),
        15 => "chorusEffectsSend".into(),
        16 => "reverbEffectsSend".into(),
        g if g & 0x8000 != 0 => "a linked modulator".into(),
        g => format!("generator {g}"),
    }
}

/// One modulator as a route (`Ok(None)`: it has no effect, such as a zero amount).
fn route(m: &ModulatorRecord) -> Result<Option<ModRoute>, String> {
    if m.amount == 0 {
        return Ok(None);
    }
    let Some(destination) = destination(m.destination) else {
        return Err(format!("modulators to {} are not played", generator_name(m.destination)));
    };
    // "No controller" as the primary source gives 0 (section 8.2.1).
    let Some(input) = source(m.source)? else { return Ok(None) };
    let scale = source(m.amount_source)?;
    if m.transform == 2 && (input.bipolar || scale.as_ref().is_some_and(|s| s.bipolar)) {
        return Err("the absolute-value transform of a bipolar source is not played".into());
    }
    let amount = m.amount as f32;
    Ok(Some(match destination {
        Destination::Direct(target, unit) => ModRoute { input, scale, amount: amount * unit, target },
        Destination::Depth(signal, target, unit) => {
            if scale.is_some() {
                return Err("a depth modulator with two controller sources is not played".into());
            }
            ModRoute { input: ModInput::linear(signal), scale: Some(input), amount: amount * unit, target }
        }
    }))
}

/// The modulation of a combined zone for a note on `key`, with its `modulators` (from
/// [`combine`]); `warn` hears of modulators that are not played (a message per kind).
pub fn modulation(
    c: &Combined<'_>,
    key: u8,
    modulators: &[ModulatorRecord],
    mut warn: impl FnMut(String),
) -> Modulation {
    let time = |op: u16, low: i32, high: i32| timecents_to_seconds(c.value(op).clamp(low, high));
    let lfo = |delay: u16, frequency: u16| Lfo {
        frequency_hz: absolute_cents_to_hz(c.value(frequency).clamp(-16_000, 4_500)),
        delay_seconds: time(delay, -12_000, 5_000),
        fade_seconds: 0.0,
        phase_cycles: 0.0,
        waveform: LfoWaveform::Triangle,
    };
    let key_offset = 60 - key as i32;
    let hold_tc = c.value(HOLD_MOD_ENV) + key_offset * c.value(KEY_TO_MOD_ENV_HOLD);
    let decay_tc = c.value(DECAY_MOD_ENV) + key_offset * c.value(KEY_TO_MOD_ENV_DECAY);
    let envelope = Envelope {
        delay_seconds: time(DELAY_MOD_ENV, -12_000, 5_000),
        attack_seconds: time(ATTACK_MOD_ENV, -12_000, 8_000),
        hold_seconds: timecents_to_seconds(hold_tc.clamp(-12_000, 5_000)),
        decay_seconds: timecents_to_seconds(decay_tc.clamp(-12_000, 8_000)),
        sustain_level: 1.0 - c.value(gen::SUSTAIN_MOD_ENV).clamp(0, 1000) as f32 / 1000.0,
        release_seconds: time(RELEASE_MOD_ENV, -12_000, 8_000),
    };

    let mut routes = Vec::new();
    let depth = |op: u16, signal: ModSource, target: ModTarget, unit: f32| {
        let amount = c.value(op) as f32 * unit;
        (amount != 0.0).then(|| ModRoute::new(ModInput::linear(signal), amount, target))
    };
    routes.extend(depth(MOD_LFO_TO_PITCH, ModSource::Lfo(MOD_LFO), ModTarget::PitchCents, 1.0));
    routes.extend(depth(VIB_LFO_TO_PITCH, ModSource::Lfo(VIB_LFO), ModTarget::PitchCents, 1.0));
    routes.extend(depth(MOD_ENV_TO_PITCH, ModSource::Envelope(MOD_ENV), ModTarget::PitchCents, 1.0));
    routes.extend(depth(MOD_LFO_TO_FILTER_FC, ModSource::Lfo(MOD_LFO), ModTarget::CutoffCents, 1.0));
    routes.extend(depth(gen::MOD_ENV_TO_FILTER_FC, ModSource::Envelope(MOD_ENV), ModTarget::CutoffCents, 1.0));
    routes.extend(depth(MOD_LFO_TO_VOLUME, ModSource::Lfo(MOD_LFO), ModTarget::VolumeDb, 0.1));
    for m in modulators {
        // Played on the channel, or the velocity law (a changed amount: see `velocity_curve`).
        if played_by_channel(m) || identity(m) == identity(&DEFAULT_VELOCITY_TO_ATTENUATION) {
            continue;
        }
        match route(m) {
            Ok(Some(r)) => routes.push(r),
            Ok(None) => {}
            Err(reason) => warn(reason),
        }
    }
    let uses = |signal: ModSource| routes.iter().any(|r| r.input.source == signal);
    let envelopes = if uses(ModSource::Envelope(MOD_ENV)) { vec![envelope] } else { Vec::new() };
    Modulation {
        envelopes,
        lfos: vec![lfo(DELAY_MOD_LFO, FREQ_MOD_LFO), lfo(DELAY_VIB_LFO, FREQ_VIB_LFO)],
        routes,
        ..Modulation::default()
    }
}

/// The gain per velocity of a velocity → attenuation modulator whose amount the file changed
/// from the default 960 cB (`None` when it did not): `10^(−amount·concave(1 − v/127)/200)`.
pub fn velocity_curve(modulators: &[ModulatorRecord]) -> Option<Arc<[f32; 128]>> {
    let m = modulators.iter().find(|m| identity(m) == identity(&DEFAULT_VELOCITY_TO_ATTENUATION))?;
    if m.amount == DEFAULT_VELOCITY_TO_ATTENUATION.amount {
        return None;
    }
    let mut table = [0.0f32; 128];
    for (v, gain) in table.iter_mut().enumerate() {
        let attenuation_cb = m.amount as f32 * crate::modulation::concave(1.0 - v as f32 / 127.0);
        *gain = 10f32.powf(-attenuation_cb / 200.0);
    }
    table[0] = 0.0;
    Some(Arc::new(table))
}

/// Counts warnings by message, so a file reports each kind once with how often it came.
#[derive(Default)]
pub struct ModulatorWarnings(pub BTreeMap<String, usize>);

impl ModulatorWarnings {
    /// Notes one occurrence of `message`.
    pub fn add(&mut self, message: String) {
        *self.0.entry(message).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(mods: &[ModulatorRecord]) -> Zone {
        Zone { generators: Vec::new(), modulators: mods.to_vec() }
    }

    #[test]
    fn defaults_are_replaced_by_instrument_modulators_and_added_to_by_presets() {
        let cc1 = DEFAULT_MODULATORS[3];
        let louder = ModulatorRecord { amount: 100, ..cc1 };
        let list = combine(None, &zone(&[louder]), None, &zone(&[ModulatorRecord { amount: 20, ..cc1 }]));
        let found: Vec<_> = list.iter().filter(|m| identity(m) == identity(&cc1)).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].amount, 120);
        // A local instrument modulator replaces its global twin.
        let list = combine(Some(&zone(&[louder])), &zone(&[ModulatorRecord { amount: 0, ..cc1 }]), None, &zone(&[]));
        assert_eq!(list.iter().find(|m| identity(m) == identity(&cc1)).unwrap().amount, 0);
    }

    #[test]
    fn sources_decode_their_curve_direction_and_polarity() {
        let input = source(0x0502).unwrap().unwrap();
        assert_eq!(input.source, ModSource::Velocity);
        assert_eq!(input.curve, ModCurve::Concave);
        assert!(input.inverted && !input.bipolar);
        let wheel = source(0x020E).unwrap().unwrap();
        assert_eq!(wheel.source, ModSource::PitchWheel);
        assert!(wheel.bipolar && !wheel.inverted);
        assert_eq!(source(0x0081).unwrap().unwrap().source, ModSource::Controller(1));
        assert!(source(0).unwrap().is_none());
        assert!(source(0x0080 | 6).unwrap_err().contains("controller 6"));
        assert!(source(0x007F).unwrap_err().contains("linked"));
    }

    #[test]
    fn the_mod_wheel_default_scales_the_vibrato_lfo() {
        let r = route(&DEFAULT_MODULATORS[3]).unwrap().unwrap();
        assert_eq!(r.input.source, ModSource::Lfo(VIB_LFO));
        assert_eq!(r.scale.unwrap().source, ModSource::Controller(1));
        assert_eq!((r.amount, r.target), (50.0, ModTarget::PitchCents));
        let cutoff = route(&DEFAULT_MODULATORS[1]).unwrap().unwrap();
        assert_eq!(cutoff.target, ModTarget::CutoffCents);
        assert_eq!(cutoff.scale.unwrap().curve, ModCurve::Switch);
    }

    #[test]
    fn a_changed_velocity_modulator_becomes_a_velocity_curve() {
        assert!(velocity_curve(&DEFAULT_MODULATORS).is_none());
        let half = ModulatorRecord { amount: 480, ..DEFAULT_VELOCITY_TO_ATTENUATION };
        let table = velocity_curve(&[half]).unwrap();
        assert_eq!(table[127], 1.0);
        // 480 cB on the concave curve is the square root of the default (v/127)² law.
        assert!((table[64] - 64.0 / 127.0).abs() < 1e-3, "{}", table[64]);
    }
}
