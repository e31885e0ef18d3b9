//! Generator operators, their defaults, and how preset and instrument zones combine
//! (SF2 2.04 sections 8.1.2, 8.1.3 and 9.4): instrument zones set absolute values (a local
//! zone overrides the instrument's global zone, which overrides the default); preset zones
//! *add* to them (local overrides global) for every generator that is allowed at preset
//! level; key and velocity ranges intersect.

use super::file::Zone;

/// `startAddrsOffset`.
pub const START_OFFSET: u16 = 0;
/// `endAddrsOffset`.
pub const END_OFFSET: u16 = 1;
/// `startloopAddrsOffset`.
pub const START_LOOP_OFFSET: u16 = 2;
/// `endloopAddrsOffset`.
pub const END_LOOP_OFFSET: u16 = 3;
/// `startAddrsCoarseOffset` (×32768).
pub const START_COARSE_OFFSET: u16 = 4;
/// `initialFilterFc`, absolute cents.
pub const FILTER_FC: u16 = 8;
/// `initialFilterQ`, cB.
pub const FILTER_Q: u16 = 9;
/// `modEnvToFilterFc`, cents at full modulation envelope.
pub const MOD_ENV_TO_FILTER_FC: u16 = 11;
/// `endAddrsCoarseOffset` (×32768).
pub const END_COARSE_OFFSET: u16 = 12;
/// `pan`, 0.1 % units, -500..=500.
pub const PAN: u16 = 17;
/// `sustainModEnv`, 0.1 % below full.
pub const SUSTAIN_MOD_ENV: u16 = 29;
/// `delayVolEnv`, timecents.
pub const DELAY_VOL_ENV: u16 = 33;
/// `attackVolEnv`, timecents.
pub const ATTACK_VOL_ENV: u16 = 34;
/// `holdVolEnv`, timecents.
pub const HOLD_VOL_ENV: u16 = 35;
/// `decayVolEnv`, timecents.
pub const DECAY_VOL_ENV: u16 = 36;
/// `sustainVolEnv`, cB of attenuation.
pub const SUSTAIN_VOL_ENV: u16 = 37;
/// `releaseVolEnv`, timecents.
pub const RELEASE_VOL_ENV: u16 = 38;
/// `keynumToVolEnvHold`, timecents per key from key 60.
pub const KEY_TO_VOL_ENV_HOLD: u16 = 39;
/// `keynumToVolEnvDecay`, timecents per key from key 60.
pub const KEY_TO_VOL_ENV_DECAY: u16 = 40;
/// `instrument` (preset zones: which instrument).
pub const INSTRUMENT: u16 = 41;
/// `keyRange`.
pub const KEY_RANGE: u16 = 43;
/// `velRange`.
pub const VEL_RANGE: u16 = 44;
/// `startloopAddrsCoarseOffset` (×32768).
pub const START_LOOP_COARSE_OFFSET: u16 = 45;
/// `keynum` (forces the key).
pub const KEYNUM: u16 = 46;
/// `velocity` (forces the velocity).
pub const VELOCITY: u16 = 47;
/// `initialAttenuation`, cB.
pub const INITIAL_ATTENUATION: u16 = 48;
/// `endloopAddrsCoarseOffset` (×32768).
pub const END_LOOP_COARSE_OFFSET: u16 = 50;
/// `coarseTune`, semitones.
pub const COARSE_TUNE: u16 = 51;
/// `fineTune`, cents.
pub const FINE_TUNE: u16 = 52;
/// `sampleID` (instrument zones: which sample).
pub const SAMPLE_ID: u16 = 53;
/// `sampleModes`: 0/2 no loop, 1 continuous loop, 3 loop until release.
pub const SAMPLE_MODES: u16 = 54;
/// `scaleTuning`, cents per key.
pub const SCALE_TUNING: u16 = 56;
/// `exclusiveClass`.
pub const EXCLUSIVE_CLASS: u16 = 57;
/// `overridingRootKey` (-1 = the sample's own).
pub const OVERRIDING_ROOT_KEY: u16 = 58;

/// Number of generator operators defined by SF2 2.04 (0..=60).
pub const COUNT: usize = 61;

/// Generators that change the sound but are not played (effects sends, forced key/velocity):
/// each is reported once per file when a zone sets it.
pub const UNSUPPORTED: &[(u16, &str)] =
    &[(15, "chorusEffectsSend"), (16, "reverbEffectsSend"), (KEYNUM, "keynum"), (VELOCITY, "velocity")];

/// The default value of `operator` (SF2 2.04 section 8.1.3).
pub fn default_value(operator: u16) -> i32 {
    match operator {
        FILTER_FC => 13_500,
        DELAY_VOL_ENV | ATTACK_VOL_ENV | HOLD_VOL_ENV | DECAY_VOL_ENV | RELEASE_VOL_ENV => -12_000,
        21 | 23 | 25..=28 | 30 => -12_000,
        SCALE_TUNING => 100,
        KEYNUM | VELOCITY | OVERRIDING_ROOT_KEY => -1,
        _ => 0,
    }
}

/// Whether a preset zone may set `operator` (sample addressing and the per-sample settings
/// may only be set in instrument zones; preset zones that do are ignored there).
pub fn allowed_in_preset(operator: u16) -> bool {
    !matches!(
        operator,
        START_OFFSET
            | END_OFFSET
            | START_LOOP_OFFSET
            | END_LOOP_OFFSET
            | START_COARSE_OFFSET
            | END_COARSE_OFFSET
            | START_LOOP_COARSE_OFFSET
            | KEYNUM
            | VELOCITY
            | END_LOOP_COARSE_OFFSET
            | SAMPLE_MODES
            | EXCLUSIVE_CLASS
            | OVERRIDING_ROOT_KEY
    )
}

/// The generators of one layer (preset or instrument), global zone then local zone: the
/// local value of an operator wins over the global one.
#[derive(Clone, Debug)]
pub struct Layer {
    values: [Option<i16>; COUNT],
    /// Key range, if either zone gives one.
    pub keys: Option<(u8, u8)>,
    /// Velocity range, if either zone gives one.
    pub velocities: Option<(u8, u8)>,
}

impl Layer {
    /// The layer `global` (if any) overridden by `local`.
    pub fn new(global: Option<&Zone>, local: &Zone) -> Self {
        let mut layer = Self { values: [None; COUNT], keys: None, velocities: None };
        for zone in global.into_iter().chain(std::iter::once(local)) {
            for g in &zone.generators {
                match g.operator {
                    KEY_RANGE => layer.keys = Some(g.range()),
                    VEL_RANGE => layer.velocities = Some(g.range()),
                    op if (op as usize) < COUNT => layer.values[op as usize] = Some(g.signed()),
                    _ => {} // unknown operators are ignored (spec section 9.1)
                }
            }
        }
        layer
    }

    /// The value this layer sets for `operator`, if it does.
    pub fn get(&self, operator: u16) -> Option<i16> {
        self.values.get(operator as usize).copied().flatten()
    }
}

/// The combined generators of one preset zone over one instrument zone.
#[derive(Clone, Debug)]
pub struct Combined<'a> {
    /// The instrument layer (absolute values).
    pub instrument: &'a Layer,
    /// The preset layer (added).
    pub preset: &'a Layer,
}

impl Combined<'_> {
    /// The effective value of `operator`: the instrument's (or the default), plus the
    /// preset's where a preset may set it.
    pub fn value(&self, operator: u16) -> i32 {
        let base = self.instrument.get(operator).map_or_else(|| default_value(operator), i32::from);
        let added = if allowed_in_preset(operator) { self.preset.get(operator).map_or(0, i32::from) } else { 0 };
        base + added
    }

    /// The instrument's value of `operator` alone (for generators presets cannot change).
    pub fn instrument_value(&self, operator: u16) -> i32 {
        self.instrument.get(operator).map_or_else(|| default_value(operator), i32::from)
    }

    /// Whether either layer sets `operator`.
    pub fn is_set(&self, operator: u16) -> bool {
        self.instrument.get(operator).is_some() || self.preset.get(operator).is_some()
    }
}

/// Intersection of two inclusive ranges (`None` = everything), or `None` inside `Some` when
/// they do not overlap.
pub fn intersect(a: Option<(u8, u8)>, b: Option<(u8, u8)>) -> Option<(u8, u8)> {
    let (a0, a1) = a.unwrap_or((0, 127));
    let (b0, b1) = b.unwrap_or((0, 127));
    let (low, high) = (a0.max(b0), a1.min(b1).min(127));
    (low <= high).then_some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sf2::file::Generator;

    fn zone(gens: &[(u16, i16)]) -> Zone {
        Zone {
            generators: gens.iter().map(|&(operator, v)| Generator { operator, amount: v as u16 }).collect(),
            modulators: Vec::new(),
        }
    }

    #[test]
    fn local_zone_overrides_global_and_preset_adds() {
        let inst = Layer::new(Some(&zone(&[(INITIAL_ATTENUATION, 100), (COARSE_TUNE, 2)])), &zone(&[(COARSE_TUNE, 5)]));
        let preset = Layer::new(Some(&zone(&[(COARSE_TUNE, -1)])), &zone(&[(INITIAL_ATTENUATION, 20)]));
        let c = Combined { instrument: &inst, preset: &preset };
        assert_eq!(c.value(COARSE_TUNE), 4); // 5 (local over global 2) + -1
        assert_eq!(c.value(INITIAL_ATTENUATION), 120);
        assert_eq!(c.value(SCALE_TUNING), 100); // default
        assert_eq!(c.value(FILTER_FC), 13_500);
    }

    #[test]
    fn preset_level_sample_generators_are_ignored() {
        let inst = Layer::new(None, &zone(&[(SAMPLE_MODES, 1)]));
        let preset = Layer::new(None, &zone(&[(SAMPLE_MODES, 2), (OVERRIDING_ROOT_KEY, 10)]));
        let c = Combined { instrument: &inst, preset: &preset };
        assert_eq!(c.value(SAMPLE_MODES), 1);
        assert_eq!(c.value(OVERRIDING_ROOT_KEY), -1);
    }

    #[test]
    fn ranges_intersect() {
        assert_eq!(intersect(Some((10, 60)), Some((40, 90))), Some((40, 60)));
        assert_eq!(intersect(None, Some((40, 90))), Some((40, 90)));
        assert_eq!(intersect(Some((0, 10)), Some((20, 30))), None);
    }
}
