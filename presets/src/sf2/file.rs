//! The SoundFont 2 RIFF structure: chunks, the `pdta` hydra (preset, instrument and sample
//! headers, their zones and generators), and the location of the sample data. Every index
//! and size is checked here, so what comes out can be used without further bounds doubts.

use std::ops::Range;
use std::sync::Arc;

use super::error::Sf2Error;
use crate::sample::Pcm16;

/// One generator of a zone: its operator number and raw 16-bit amount.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    /// Generator operator (SF2 2.04 section 8.1.2).
    pub operator: u16,
    /// The amount as stored (signed, unsigned or a low/high byte range, by operator).
    pub amount: u16,
}

impl Generator {
    /// The amount as a signed value.
    pub fn signed(&self) -> i16 {
        self.amount as i16
    }

    /// The amount as a `(low, high)` byte range (key and velocity ranges).
    pub fn range(&self) -> (u8, u8) {
        ((self.amount & 0xff) as u8, (self.amount >> 8) as u8)
    }
}

/// A modulator record (`pmod`/`imod`, SF2 2.04 section 7.4), as stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct ModulatorRecord {
    /// `sfModSrcOper`: the primary source, with its curve, direction and polarity bits.
    pub source: u16,
    /// `sfModDestOper`: the generator it changes (bit 15: a link to another modulator).
    pub destination: u16,
    /// `modAmount`, in the destination generator's unit.
    pub amount: i16,
    /// `sfModAmtSrcOper`: the secondary source the amount is scaled by.
    pub amount_source: u16,
    /// `sfModTransOper`: 0 linear, 2 absolute value.
    pub transform: u16,
}

/// A zone: its generators and modulators in file order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Zone {
    /// Generators in file order.
    pub generators: Vec<Generator>,
    /// Modulators in file order.
    pub modulators: Vec<ModulatorRecord>,
}

impl Zone {
    /// The last generator with `operator`, if any.
    pub fn get(&self, operator: u16) -> Option<Generator> {
        self.generators.iter().rev().find(|g| g.operator == operator).copied()
    }
}

/// A preset (`phdr` record) with its zones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetHeader {
    /// Name.
    pub name: String,
    /// MIDI program 0..=127.
    pub program: u16,
    /// Bank (128 = percussion).
    pub bank: u16,
    /// Zones in file order (the first may be global).
    pub zones: Vec<Zone>,
}

/// An instrument (`inst` record) with its zones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentHeader {
    /// Name.
    pub name: String,
    /// Zones in file order (the first may be global).
    pub zones: Vec<Zone>,
}

/// A sample header (`shdr` record); positions count 16-bit sample points from the start of
/// the `smpl` chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleHeader {
    /// Name.
    pub name: String,
    /// First sample point.
    pub start: u32,
    /// Sample point just after the last one.
    pub end: u32,
    /// First point of the loop.
    pub start_loop: u32,
    /// Point just after the loop.
    pub end_loop: u32,
    /// Recording rate in Hz.
    pub sample_rate_hz: u32,
    /// MIDI key of the recorded pitch (255 = unpitched).
    pub original_pitch: u8,
    /// Pitch correction in cents to apply on playback.
    pub pitch_correction_cents: i8,
    /// Index of the other sample of a stereo pair.
    pub sample_link: u16,
    /// 1 mono, 2 right, 4 left, 8 linked; bit 15 set = ROM sample.
    pub sample_type: u16,
}

impl SampleHeader {
    /// Whether the sample lives in a sound card's ROM (no data in the file).
    pub fn is_rom(&self) -> bool {
        self.sample_type & 0x8000 != 0
    }
}

/// A parsed SoundFont 2 file, borrowing its bytes.
#[derive(Debug)]
pub struct Sf2File<'a> {
    /// The file's name, for messages.
    pub file: String,
    /// Presets, without the terminal record.
    pub presets: Vec<PresetHeader>,
    /// Instruments, without the terminal record.
    pub instruments: Vec<InstrumentHeader>,
    /// Sample headers, without the terminal record.
    pub samples: Vec<SampleHeader>,
    /// The `smpl` chunk's data (16-bit little-endian sample points).
    pub smpl: &'a [u8],
    /// Where that data starts in the file, in bytes (even: RIFF chunks are word-aligned).
    pub smpl_offset: usize,
    /// The `sm24` chunk's data (the low byte of 24-bit samples), when present and valid.
    pub sm24: Option<&'a [u8]>,
    /// Problems that did not stop the file from loading.
    pub warnings: Vec<String>,
}

/// A chunk: its id and where its data is in the file.
#[derive(Copy, Clone, Debug)]
struct Chunk {
    id: [u8; 4],
    data: (usize, usize),
}

fn id_text(id: &[u8; 4]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A fixed-size, zero-padded ASCII name.
fn name_at(b: &[u8], at: usize) -> String {
    let raw = &b[at..at + 20];
    let len = raw.iter().position(|&c| c == 0).unwrap_or(20);
    String::from_utf8_lossy(&raw[..len]).trim().to_string()
}

/// The chunks inside `range` of `bytes` (a RIFF/LIST body after its form type).
fn chunks(bytes: &[u8], range: Range<usize>, parent: &str, file: &str) -> Result<Vec<Chunk>, Sf2Error> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at < range.end {
        if range.end - at < 8 {
            return Err(Sf2Error::structure(file, format!("truncated chunk header in `{parent}` at byte {at}")));
        }
        let id: [u8; 4] = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        let size = u32_at(bytes, at + 4) as usize;
        let start = at + 8;
        let end = start.checked_add(size).filter(|&e| e <= range.end).ok_or_else(|| {
            Sf2Error::structure(
                file,
                format!(
                    "chunk `{}` in `{parent}` at byte {at} declares {size} bytes but only {} remain (truncated file?)",
                    id_text(&id),
                    range.end - start
                ),
            )
        })?;
        out.push(Chunk { id, data: (start, end) });
        at = end + (size & 1); // chunks are padded to even sizes
    }
    Ok(out)
}

/// The body of the `LIST` chunk of form `form` among `list`.
fn list_body(bytes: &[u8], list: &[Chunk], form: &[u8; 4], file: &str) -> Result<Range<usize>, Sf2Error> {
    list.iter()
        .find(|c| &c.id == b"LIST" && c.data.1 - c.data.0 >= 4 && &bytes[c.data.0..c.data.0 + 4] == form)
        .map(|c| c.data.0 + 4..c.data.1)
        .ok_or_else(|| Sf2Error::structure(file, format!("no `LIST {}` chunk", id_text(form))))
}

/// The records of sub-chunk `id` of `pdta`, checked to be a whole number of `size`-byte
/// records, at least one (the terminal record).
fn records<'a>(
    bytes: &'a [u8],
    pdta: &[Chunk],
    id: &[u8; 4],
    size: usize,
    file: &str,
) -> Result<Vec<&'a [u8]>, Sf2Error> {
    let chunk = pdta
        .iter()
        .find(|c| &c.id == id)
        .ok_or_else(|| Sf2Error::structure(file, format!("`pdta` has no `{}` chunk", id_text(id))))?;
    let data = &bytes[chunk.data.0..chunk.data.1];
    if !data.len().is_multiple_of(size) || data.is_empty() {
        return Err(Sf2Error::structure(
            file,
            format!("chunk `{}` is {} bytes, not a whole number of {size}-byte records", id_text(id), data.len()),
        ));
    }
    Ok(data.chunks_exact(size).collect())
}

/// Bags (`pbag`/`ibag` records) `first..last` as zones, reading generators from `gens` and
/// and modulators from `mods`; `owner` names the preset or instrument in messages.
fn zones(
    bags: &[&[u8]],
    bag_range: (usize, usize),
    gens: &[&[u8]],
    mods: &[&[u8]],
    owner: &str,
    file: &str,
) -> Result<Vec<Zone>, Sf2Error> {
    let (first, last) = bag_range;
    if first > last || last >= bags.len() {
        return Err(Sf2Error::record(
            file,
            owner,
            format!("zones {first}..{last} are out of range ({} bag records)", bags.len()),
        ));
    }
    let mut out = Vec::with_capacity(last - first);
    for (z, bag) in (first..last).enumerate() {
        let (g0, m0) = (u16_at(bags[bag], 0) as usize, u16_at(bags[bag], 2) as usize);
        let (g1, m1) = (u16_at(bags[bag + 1], 0) as usize, u16_at(bags[bag + 1], 2) as usize);
        if g0 > g1 || g1 > gens.len() {
            return Err(Sf2Error::record(
                file,
                format!("{owner} zone {z}"),
                format!("generators {g0}..{g1} are out of range ({} generator records)", gens.len()),
            ));
        }
        let mod_count = mods.len();
        if m0 > m1 || m1 > mod_count {
            return Err(Sf2Error::record(
                file,
                format!("{owner} zone {z}"),
                format!("modulators {m0}..{m1} are out of range ({mod_count} modulator records)"),
            ));
        }
        let generators =
            gens[g0..g1].iter().map(|g| Generator { operator: u16_at(g, 0), amount: u16_at(g, 2) }).collect();
        let modulators = mods[m0..m1]
            .iter()
            .map(|m| ModulatorRecord {
                source: u16_at(m, 0),
                destination: u16_at(m, 2),
                amount: u16_at(m, 4) as i16,
                amount_source: u16_at(m, 6),
                transform: u16_at(m, 8),
            })
            .collect();
        out.push(Zone { generators, modulators });
    }
    Ok(out)
}

impl<'a> Sf2File<'a> {
    /// Parses the RIFF structure of `bytes`; `file` names it in messages.
    pub fn parse(bytes: &'a [u8], file: &str) -> Result<Self, Sf2Error> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" {
            return Err(Sf2Error::structure(file, "not a RIFF file"));
        }
        if &bytes[8..12] != b"sfbk" {
            return Err(Sf2Error::structure(
                file,
                format!(
                    "RIFF form is `{}`, not `sfbk` (not a SoundFont 2 file)",
                    id_text(&[bytes[8], bytes[9], bytes[10], bytes[11]])
                ),
            ));
        }
        let declared = u32_at(bytes, 4) as usize;
        let body_end = 8usize.saturating_add(declared);
        if body_end > bytes.len() {
            return Err(Sf2Error::structure(
                file,
                format!("RIFF chunk declares {declared} bytes but the file has {} (truncated file?)", bytes.len() - 8),
            ));
        }
        let top = chunks(bytes, 12..body_end, "RIFF", file)?;
        let mut warnings = Vec::new();

        let sdta = chunks(bytes, list_body(bytes, &top, b"sdta", file)?, "sdta", file)?;
        let smpl_chunk = sdta
            .iter()
            .find(|c| &c.id == b"smpl")
            .ok_or_else(|| Sf2Error::structure(file, "`sdta` has no `smpl` chunk"))?;
        let (smpl, smpl_offset) = (&bytes[smpl_chunk.data.0..smpl_chunk.data.1], smpl_chunk.data.0);
        let sm24 = sdta.iter().find(|c| &c.id == b"sm24").map(|c| &bytes[c.data.0..c.data.1]);
        let points = smpl.len() / 2;
        let sm24 = match sm24 {
            // The spec pads sm24 to an even size: one byte per sample point, rounded up.
            Some(low) if low.len() == points || low.len() == points + (points & 1) => Some(low),
            Some(low) => {
                warnings.push(format!(
                    "{file}: `sm24` has {} bytes for {points} sample points; playing 16-bit samples",
                    low.len()
                ));
                None
            }
            None => None,
        };

        let pdta = chunks(bytes, list_body(bytes, &top, b"pdta", file)?, "pdta", file)?;
        let phdr = records(bytes, &pdta, b"phdr", 38, file)?;
        let pbag = records(bytes, &pdta, b"pbag", 4, file)?;
        let pmod = records(bytes, &pdta, b"pmod", 10, file)?;
        let pgen = records(bytes, &pdta, b"pgen", 4, file)?;
        let inst = records(bytes, &pdta, b"inst", 22, file)?;
        let ibag = records(bytes, &pdta, b"ibag", 4, file)?;
        let imod = records(bytes, &pdta, b"imod", 10, file)?;
        let igen = records(bytes, &pdta, b"igen", 4, file)?;
        let shdr = records(bytes, &pdta, b"shdr", 46, file)?;

        let mut presets = Vec::with_capacity(phdr.len() - 1);
        for (i, pair) in phdr.windows(2).enumerate() {
            let (r, next) = (pair[0], pair[1]);
            let name = name_at(r, 0);
            let owner = format!("preset {i} \"{name}\"");
            let bag_range = (u16_at(r, 24) as usize, u16_at(next, 24) as usize);
            let zones = zones(&pbag, bag_range, &pgen, &pmod, &owner, file)?;
            presets.push(PresetHeader { name, program: u16_at(r, 20), bank: u16_at(r, 22), zones });
        }
        let mut instruments = Vec::with_capacity(inst.len() - 1);
        for (i, pair) in inst.windows(2).enumerate() {
            let (r, next) = (pair[0], pair[1]);
            let name = name_at(r, 0);
            let owner = format!("instrument {i} \"{name}\"");
            let bag_range = (u16_at(r, 20) as usize, u16_at(next, 20) as usize);
            let zones = zones(&ibag, bag_range, &igen, &imod, &owner, file)?;
            instruments.push(InstrumentHeader { name, zones });
        }
        let mut samples = Vec::with_capacity(shdr.len() - 1);
        for (i, r) in shdr[..shdr.len() - 1].iter().enumerate() {
            let header = SampleHeader {
                name: name_at(r, 0),
                start: u32_at(r, 20),
                end: u32_at(r, 24),
                start_loop: u32_at(r, 28),
                end_loop: u32_at(r, 32),
                sample_rate_hz: u32_at(r, 36),
                original_pitch: r[40],
                pitch_correction_cents: r[41] as i8,
                sample_link: u16_at(r, 42),
                sample_type: u16_at(r, 44),
            };
            if !header.is_rom() {
                let what = || format!("sample {i} \"{}\"", header.name);
                if header.start >= header.end || header.end as usize > points {
                    return Err(Sf2Error::record(
                        file,
                        what(),
                        format!(
                            "data {}..{} is out of range of the `smpl` chunk ({points} sample points)",
                            header.start, header.end
                        ),
                    ));
                }
                if header.sample_rate_hz == 0 {
                    return Err(Sf2Error::record(file, what(), "sample rate is 0"));
                }
            }
            samples.push(header);
        }
        Ok(Self { file: file.to_string(), presets, instruments, samples, smpl, smpl_offset, sm24, warnings })
    }

    /// The sample points `range` of the data as `f32` in -1..1, with the `sm24` low bytes
    /// when present. `range` must lie inside the data (sample headers are checked at parse).
    pub fn sample_points(&self, range: Range<usize>) -> Vec<f32> {
        let words = &self.smpl[range.start * 2..range.end * 2];
        match self.sm24 {
            Some(low) => words
                .chunks_exact(2)
                .zip(&low[range])
                .map(|(w, &l)| {
                    let v = ((i16::from_le_bytes([w[0], w[1]]) as i32) << 8) | l as i32;
                    v as f32 / 8_388_608.0
                })
                .collect(),
            None => words.chunks_exact(2).map(|w| i16::from_le_bytes([w[0], w[1]]) as f32 / 32_768.0).collect(),
        }
    }

    /// The 16-bit points `range` of the data: a view into `pool` (the whole file read as
    /// 16-bit words, see [`crate::sf2::load_bank`]) when given and aligned, else a copy.
    pub fn sample_words(&self, range: Range<usize>, pool: Option<&Arc<Vec<i16>>>) -> Pcm16 {
        match pool {
            Some(pool) if self.smpl_offset.is_multiple_of(2) && cfg!(target_endian = "little") => {
                let first = self.smpl_offset / 2;
                Pcm16::view(pool.clone(), first + range.start..first + range.end)
            }
            _ => Pcm16::owned(
                self.smpl[range.start * 2..range.end * 2]
                    .chunks_exact(2)
                    .map(|w| i16::from_le_bytes([w[0], w[1]]))
                    .collect(),
            ),
        }
    }

    /// The raw bytes behind sample points `range` (16-bit data, then the `sm24` bytes).
    pub fn sample_bytes(&self, range: Range<usize>) -> (&'a [u8], Option<&'a [u8]>) {
        (&self.smpl[range.start * 2..range.end * 2], self.sm24.map(|low| &low[range]))
    }
}
