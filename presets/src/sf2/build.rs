//! From parsed SF2 records to the instrument model: one [`Instrument`] per preset, one
//! region per (preset zone × instrument zone) pair whose key and velocity ranges overlap,
//! samples converted once each and shared through the [`SampleStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::envelope::{filter, volume_envelope};
use super::error::Sf2Error;
use super::file::{SampleHeader, Sf2File, Zone};
use super::generators::{self as gen, intersect, Combined, Layer};
use super::modulation::{self as modulation, ModulatorWarnings};
use crate::instrument::{
    Bank, Group, Instrument, LoopDirection, LoopMode, NoteRange, ProgramNumber, Region, SampleLoop,
};
use crate::sample::{Sample, SampleStore};

/// Static attenuation scale: `initialAttenuation` counts 0.4 cB per unit, as on the EMU
/// hardware most SoundFonts were voiced on and as FluidSynth plays them (see `docs/SF2.md`).
pub const ATTENUATION_SCALE: f32 = 0.4;

/// A SoundFont read into a bank of programs.
#[derive(Debug)]
pub struct Sf2Bank {
    /// Every preset by (bank, program); bank 128 holds the percussion kits.
    pub bank: Bank,
    /// What was ignored or repaired (unsupported generators, modulators, bad loops, ...).
    pub warnings: Vec<String>,
}

/// Splits `zones` into the global zone (the first, when it lacks the `terminal` generator)
/// and the zones that carry it.
fn split_global(zones: &[Zone], terminal: u16) -> (Option<&Zone>, impl Iterator<Item = (usize, &Zone)>) {
    let global = zones.first().filter(|z| z.get(terminal).is_none());
    let locals = zones.iter().enumerate().filter(move |(_, z)| z.get(terminal).is_some());
    (global, locals)
}

/// Which presets of a file to build: all, or those with the given program numbers.
#[derive(Copy, Clone, Debug)]
pub enum Presets<'a> {
    /// Every preset.
    All,
    /// Only these (bank, program) numbers.
    Only(&'a [ProgramNumber]),
}

impl Presets<'_> {
    fn keeps(&self, number: ProgramNumber) -> bool {
        match self {
            Presets::All => true,
            Presets::Only(numbers) => numbers.contains(&number),
        }
    }
}

/// Builds the bank of `sf2` (the presets `presets` names), converting the samples it uses
/// into `store`; 16-bit samples are views into `pool` (the file's bytes as 16-bit words)
/// when given, else copies.
pub fn build_bank(
    sf2: &Sf2File<'_>,
    store: &mut SampleStore,
    pool: Option<&Arc<Vec<i16>>>,
    presets: Presets<'_>,
) -> Result<Sf2Bank, Sf2Error> {
    let file = sf2.file.as_str();
    let mut builder = Builder {
        sf2,
        store,
        pool,
        samples: HashMap::new(),
        unsupported: BTreeMap::new(),
        modulator_warnings: ModulatorWarnings::default(),
    };
    let mut warnings = sf2.warnings.clone();
    let mut programs = BTreeMap::new();
    for (p, preset) in sf2.presets.iter().enumerate() {
        let owner = format!("preset {p} \"{}\"", preset.name);
        if preset.program > 127 {
            warnings.push(format!("{file}: {owner} has program {}; skipped", preset.program));
            continue;
        }
        let program = preset.program as u8;
        if !presets.keeps(ProgramNumber { bank: preset.bank, program }) {
            continue;
        }
        let (global, locals) = split_global(&preset.zones, gen::INSTRUMENT);
        let mut groups = Vec::new();
        for (z, zone) in locals {
            let index = zone.get(gen::INSTRUMENT).map_or(0, |g| g.amount as usize);
            let inst = sf2.instruments.get(index).ok_or_else(|| {
                Sf2Error::record(
                    file,
                    format!("{owner} zone {z}"),
                    format!("instrument {index} is out of range ({} instruments)", sf2.instruments.len()),
                )
            })?;
            let preset_zones = (global, zone);
            let regions = builder.instrument_regions(p, &owner, z, index, preset_zones, &mut warnings)?;
            groups.push(Group { name: Some(inst.name.clone()), regions });
        }
        let number = ProgramNumber { bank: preset.bank, program };
        let instrument = Instrument { name: preset.name.clone(), groups, ..Instrument::default() };
        if instrument.region_count() == 0 {
            warnings.push(format!("{file}: {owner} has no playable regions"));
        }
        if programs.contains_key(&number) {
            warnings.push(format!(
                "{file}: {owner} repeats bank {} program {}; the first preset is kept",
                number.bank, number.program
            ));
            continue;
        }
        programs.insert(number, Arc::new(instrument));
    }
    for (reason, zones) in &builder.modulator_warnings.0 {
        warnings.push(format!("{file}: {reason} (in {zones} preset × instrument zone pairs)"));
    }
    for (name, zones) in &builder.unsupported {
        warnings
            .push(format!("{file}: generator {name} is not played (set in {zones} preset × instrument zone pairs)"));
    }
    Ok(Sf2Bank { bank: Bank { programs }, warnings })
}

/// A note a song plays on a program: what a load that knows the song must be able to sound.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlayedNote {
    /// The (bank, program) it is played on.
    pub program: ProgramNumber,
    /// Its key.
    pub key: u8,
    /// Its velocity (1..=127).
    pub velocity: u8,
}

impl PlayedNote {
    /// The notes `messages` (a song's, in order) play, each with the (bank, program) it is
    /// played on, following bank select and program change per channel as the sampler does
    /// (channel 10 starts on the percussion bank); each (program, key, velocity) once.
    pub fn all_in(messages: impl IntoIterator<Item = noderack_graph::MidiMessage>) -> Vec<PlayedNote> {
        use noderack_graph::MidiMessage;
        let mut channels = [(0u8, 0u8, 0u8); 16]; // bank MSB, bank LSB, program
        channels[9].0 = (crate::instrument::PERCUSSION_BANK / 128) as u8;
        let mut played = Vec::new();
        for message in messages {
            match message {
                MidiMessage::NoteOn { channel, key, velocity } if velocity > 0 => {
                    let (msb, lsb, program) = channels[channel as usize & 15];
                    let program = ProgramNumber { bank: msb as u16 * 128 + lsb as u16, program };
                    played.push(PlayedNote { program, key, velocity });
                }
                MidiMessage::ControlChange { channel, controller: 0, value } => {
                    channels[channel as usize & 15].0 = value
                }
                MidiMessage::ControlChange { channel, controller: 32, value } => {
                    channels[channel as usize & 15].1 = value
                }
                MidiMessage::ProgramChange { channel, program } => channels[channel as usize & 15].2 = program & 127,
                _ => {}
            }
        }
        played.sort();
        played.dedup();
        played
    }
}

/// Which of a loaded preset's zones need their samples: all, or those a note of the list
/// reaches (its key and velocity inside the zone's ranges, as [`build_bank`] combines them).
#[derive(Copy, Clone, Debug)]
pub enum Reach<'a> {
    /// Every zone.
    Every,
    /// The zones these notes (on their programs) reach.
    Notes(&'a [PlayedNote]),
}

/// The sample point ranges (into the `smpl` chunk) that the presets `presets` names use, in
/// the zones `reach` keeps: what a load that reads only those presets (and notes) must read.
pub fn sample_ranges(sf2: &Sf2File<'_>, presets: Presets<'_>, reach: Reach<'_>) -> Vec<std::ops::Range<usize>> {
    let mut used = std::collections::BTreeSet::new();
    for preset in &sf2.presets {
        let number = ProgramNumber { bank: preset.bank, program: preset.program.min(255) as u8 };
        if preset.program > 127 || !presets.keeps(number) {
            continue;
        }
        let reaches = |keys: Option<(u8, u8)>, velocities: Option<(u8, u8)>| match reach {
            Reach::Every => true,
            Reach::Notes(notes) => {
                let inside =
                    |range: Option<(u8, u8)>, v: u8| range.is_some_and(|(low, high)| (low..=high).contains(&v));
                notes.iter().any(|n| n.program == number && inside(keys, n.key) && inside(velocities, n.velocity))
            }
        };
        let (global, locals) = split_global(&preset.zones, gen::INSTRUMENT);
        for (_, zone) in locals {
            let preset_layer = Layer::new(global, zone);
            let index = zone.get(gen::INSTRUMENT).map_or(0, |g| g.amount as usize);
            let Some(inst) = sf2.instruments.get(index) else { continue };
            let (inst_global, inst_locals) = split_global(&inst.zones, gen::SAMPLE_ID);
            for (_, inst_zone) in inst_locals {
                let layer = Layer::new(inst_global, inst_zone);
                let keys = intersect(layer.keys, preset_layer.keys);
                let velocities = intersect(layer.velocities, preset_layer.velocities);
                if keys.is_some() && velocities.is_some() && reaches(keys, velocities) {
                    used.insert(inst_zone.get(gen::SAMPLE_ID).map_or(0, |g| g.amount as usize));
                }
            }
        }
    }
    used.into_iter()
        .filter_map(|i| sf2.samples.get(i))
        .filter(|h| !h.is_rom())
        .map(|h| h.start as usize..h.end as usize)
        .collect()
}

struct Builder<'s, 'f> {
    sf2: &'s Sf2File<'f>,
    store: &'s mut SampleStore,
    pool: Option<&'s Arc<Vec<i16>>>,
    /// Converted samples by sample header index.
    samples: HashMap<usize, Arc<Sample>>,
    /// Unsupported generators in use: name → number of zones setting them.
    unsupported: BTreeMap<&'static str, usize>,
    /// Modulators not played, by reason.
    modulator_warnings: ModulatorWarnings,
}

impl Builder<'_, '_> {
    /// The regions of instrument `index` as played by one preset zone.
    fn instrument_regions(
        &mut self,
        preset_index: usize,
        owner: &str,
        preset_zone: usize,
        index: usize,
        preset_zones: (Option<&Zone>, &Zone),
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Region>, Sf2Error> {
        let sf2 = self.sf2;
        let file = sf2.file.as_str();
        let inst = &sf2.instruments[index];
        let inst_owner = format!("instrument {index} \"{}\"", inst.name);
        let preset_layer = &Layer::new(preset_zones.0, preset_zones.1);
        let (global, locals) = split_global(&inst.zones, gen::SAMPLE_ID);
        let mut regions = Vec::new();
        for (z, zone) in locals {
            let layer = Layer::new(global, zone);
            let combined = Combined { instrument: &layer, preset: preset_layer };
            let (Some(keys), Some(velocities)) =
                (intersect(layer.keys, preset_layer.keys), intersect(layer.velocities, preset_layer.velocities))
            else {
                continue; // the preset zone does not reach this instrument zone
            };
            for &(op, name) in gen::UNSUPPORTED {
                if combined.is_set(op) && combined.value(op) != gen::default_value(op) {
                    *self.unsupported.entry(name).or_default() += 1;
                }
            }
            let sample_index = zone.get(gen::SAMPLE_ID).map_or(0, |g| g.amount as usize);
            let header = sf2.samples.get(sample_index).ok_or_else(|| {
                Sf2Error::record(
                    file,
                    format!("{inst_owner} zone {z}"),
                    format!("sample {sample_index} is out of range ({} samples)", sf2.samples.len()),
                )
            })?;
            if header.is_rom() {
                warnings.push(format!(
                    "{file}: {inst_owner} zone {z} uses ROM sample \"{}\", which has no data in the file; skipped",
                    header.name
                ));
                continue;
            }
            let sample = self.sample(sample_index);
            let mut region = map_region(&combined, header, sample, preset_index, |reason| {
                warnings.push(format!("{file}: {owner} zone {preset_zone}, {inst_owner} zone {z}: {reason}"))
            });
            region.keys = NoteRange { low: keys.0, high: keys.1 };
            region.velocities = NoteRange { low: velocities.0, high: velocities.1 };
            let modulators = modulation::combine(global, zone, preset_zones.0, preset_zones.1);
            region.velocity_curve = modulation::velocity_curve(&modulators);
            let warnings = &mut self.modulator_warnings;
            let for_key = |key: u8, warnings: &mut ModulatorWarnings| {
                let m = modulation::modulation(&combined, key, &modulators, |reason| warnings.add(reason));
                let moves_cutoff = m.routes.iter().any(|r| r.target == crate::instrument::ModTarget::CutoffCents);
                (volume_envelope(&combined, key), m, filter(&combined, moves_cutoff))
            };
            // Key-scaled envelope times differ per key: one region per key then.
            let key_scaled = [
                gen::KEY_TO_VOL_ENV_HOLD,
                gen::KEY_TO_VOL_ENV_DECAY,
                modulation::KEY_TO_MOD_ENV_HOLD,
                modulation::KEY_TO_MOD_ENV_DECAY,
            ]
            .iter()
            .any(|&op| combined.value(op) != 0);
            if key_scaled {
                for key in keys.0..=keys.1 {
                    let mut r = region.clone();
                    r.keys = NoteRange { low: key, high: key };
                    (r.amp_envelope, r.modulation, r.filter) = for_key(key, warnings);
                    regions.push(r);
                }
            } else {
                (region.amp_envelope, region.modulation, region.filter) = for_key(60, warnings);
                regions.push(region);
            }
        }
        Ok(regions)
    }

    /// The sample of header `index`, converted once and shared by content.
    fn sample(&mut self, index: usize) -> Arc<Sample> {
        if let Some(sample) = self.samples.get(&index) {
            return sample.clone();
        }
        let header = &self.sf2.samples[index];
        let range = header.start as usize..header.end as usize;
        let (words, low) = self.sf2.sample_bytes(range.clone());
        let mut hasher = Sha256::new();
        hasher.update(words);
        if let Some(low) = low {
            hasher.update(low);
        }
        hasher.update(header.sample_rate_hz.to_le_bytes());
        let sha256: [u8; 32] = hasher.finalize().into();
        let sample = match self.store.get(&sha256) {
            Some(existing) => existing,
            // 24-bit (with `sm24`) as f32, which holds it exactly; 16-bit as it is stored.
            None if low.is_some() => {
                self.store.insert(Sample::from_f32(header.sample_rate_hz, vec![self.sf2.sample_points(range)], sha256))
            }
            None => self.store.insert(Sample::from_i16(
                header.sample_rate_hz,
                vec![self.sf2.sample_words(range, self.pool)],
                sha256,
            )),
        };
        self.samples.insert(index, sample.clone());
        sample
    }
}

/// The region one combined zone describes (keys, velocities and envelope are set by the
/// caller); `warn` hears about values that had to be repaired.
fn map_region(
    c: &Combined<'_>,
    header: &SampleHeader,
    sample: Arc<Sample>,
    preset_index: usize,
    mut warn: impl FnMut(String),
) -> Region {
    let frames = sample.frames() as i64;
    let overriding = c.instrument_value(gen::OVERRIDING_ROOT_KEY);
    let root_key = if (0..=127).contains(&overriding) {
        overriding as u8
    } else if header.original_pitch <= 127 {
        header.original_pitch
    } else {
        60 // 255 = unpitched; the spec says to treat other values as 60
    };
    let mut region = Region::new(sample, root_key);
    region.tune_cents =
        (c.value(gen::COARSE_TUNE) * 100 + c.value(gen::FINE_TUNE)) as f32 + header.pitch_correction_cents as f32;
    region.keytrack_cents = c.value(gen::SCALE_TUNING).clamp(0, 1200) as f32;

    let offset = |fine: u16, coarse: u16| c.instrument_value(fine) as i64 + 32_768 * c.instrument_value(coarse) as i64;
    let start = offset(gen::START_OFFSET, gen::START_COARSE_OFFSET).clamp(0, frames - 1);
    let end = (frames + offset(gen::END_OFFSET, gen::END_COARSE_OFFSET)).clamp(start + 1, frames);
    region.offset_frames = start as f64;
    region.end_frames = end as f64;

    let mode = c.instrument_value(gen::SAMPLE_MODES) & 3;
    let loop_start =
        header.start_loop as i64 - header.start as i64 + offset(gen::START_LOOP_OFFSET, gen::START_LOOP_COARSE_OFFSET);
    let loop_end =
        header.end_loop as i64 - header.start as i64 + offset(gen::END_LOOP_OFFSET, gen::END_LOOP_COARSE_OFFSET);
    if mode == 1 || mode == 3 {
        if loop_start >= 0 && loop_end <= frames && loop_end - loop_start >= 2 {
            region.loop_mode = if mode == 1 { LoopMode::Continuous } else { LoopMode::Sustain };
            region.sample_loop = Some(SampleLoop {
                start_frames: loop_start as f64,
                end_frames: loop_end as f64,
                direction: LoopDirection::Forward,
            });
        } else {
            warn(format!(
                "loop {loop_start}..{loop_end} of sample \"{}\" is outside its {frames} frames; played unlooped",
                header.name
            ));
        }
    }

    let attenuation_cb = c.value(gen::INITIAL_ATTENUATION).clamp(0, 1440) as f32;
    region.gain_db = -attenuation_cb * ATTENUATION_SCALE / 10.0;
    region.pan = (c.value(gen::PAN).clamp(-500, 500) as f32) / 500.0;
    // SF2's default velocity modulator (960 cB, concave) is exactly a velocity² amplitude law.
    region.amp_velocity_track = 1.0;

    let class = c.instrument_value(gen::EXCLUSIVE_CLASS);
    if (1..=127).contains(&class) {
        // Classes are per preset: make the group number unique to this preset.
        let group = (preset_index as u32 + 1) * 128 + class as u32;
        region.choke_group = group;
        region.off_by = Some(group);
    }
    region
}
