//! SoundFont 2 (`.sf2`) banks as instrument banks: every preset becomes an [`Instrument`] of
//! a [`Bank`], keyed by its bank and program (bank 128 = percussion kits), its zones mapped
//! by SF2 2.04 generator semantics. `docs/SF2.md` lists what is mapped, how, and what is
//! ignored.
//!
//! The reader is our own (a compact RIFF walk, [`file`]): it checks every size and index
//! and names the chunk, preset, instrument, zone or sample at fault, reads 24-bit `sm24`
//! data, and never panics on hostile input.
//!
//! [`Instrument`]: crate::instrument::Instrument
//! [`Bank`]: crate::instrument::Bank

mod build;
pub mod envelope;
mod error;
pub mod file;
pub mod generators;
pub mod modulation;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use build::{build_bank, sample_ranges, PlayedNote, Presets, Reach, Sf2Bank, ATTENUATION_SCALE};
pub use error::Sf2Error;
pub use file::Sf2File;

use crate::instrument::{resolve_among, ProgramNumber};
use crate::sample::SampleStore;

/// Reads the SoundFont at `path` into a bank, its samples shared through `store`.
///
/// The file is read once, into a buffer of 16-bit words; every 16-bit sample of the bank is a
/// view into that buffer, so the bank holds the file's sample data once and nothing else is
/// copied (24-bit samples are converted to `f32`).
pub fn load_bank(path: &Path, store: &mut SampleStore) -> Result<Sf2Bank, Sf2Error> {
    let file = path.display().to_string();
    let started = Instant::now();
    let io = |source| Sf2Error::Io { file: file.clone(), source };
    let mut handle = std::fs::File::open(path).map_err(io)?;
    let length = handle.metadata().map_err(io)?.len() as usize;
    let mut words = vec![0i16; length.div_ceil(2)];
    std::io::Read::read_exact(&mut handle, &mut bytemuck::cast_slice_mut::<i16, u8>(&mut words)[..length])
        .map_err(io)?;
    let pool = Arc::new(words);
    let bytes = &bytemuck::cast_slice::<i16, u8>(&pool)[..length];
    let sf2 = Sf2File::parse(bytes, &file)?;
    let bank = build_bank(&sf2, store, Some(&pool), Presets::All)?;
    tracing::debug!(
        "{file}: {} presets, {} samples in {:.0} ms",
        bank.bank.programs.len(),
        store.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(bank)
}

/// Reads a SoundFont from `bytes`; `file` names it in messages.
pub fn read_bank(bytes: &[u8], file: &str, store: &mut SampleStore) -> Result<Sf2Bank, Sf2Error> {
    let sf2 = Sf2File::parse(bytes, file)?;
    build_bank(&sf2, store, None, Presets::All)
}

/// Reads only what the presets `wanted` resolves to need from the SoundFont at `path` (see
/// [`crate::instrument::resolve_among`]): the file's structure and the sample data those
/// presets play, each read once into place in a zeroed buffer of the file's size whose other
/// pages are never touched (so never resident). A General MIDI render loads this way the
/// programs its MIDI file selects, as FluidSynth's `synth.dynamic-sample-loading` does.
pub fn load_bank_for(path: &Path, store: &mut SampleStore, wanted: &[ProgramNumber]) -> Result<Sf2Bank, Sf2Error> {
    load_bank_reading(path, store, wanted, None)
}

/// [`load_bank_for`] the programs `notes` are played on, reading only the samples of the
/// zones those notes reach (by key and velocity): what an offline render of a known song
/// needs. The other zones are built too but sound silence, so this load is for that song
/// only: a note outside `notes` may fall on an unread zone.
pub fn load_bank_for_notes(path: &Path, store: &mut SampleStore, notes: &[PlayedNote]) -> Result<Sf2Bank, Sf2Error> {
    let mut programs: Vec<ProgramNumber> = notes.iter().map(|n| n.program).collect();
    programs.sort();
    programs.dedup();
    load_bank_reading(path, store, &programs, Some(notes))
}

fn load_bank_reading(
    path: &Path,
    store: &mut SampleStore,
    wanted: &[ProgramNumber],
    notes: Option<&[PlayedNote]>,
) -> Result<Sf2Bank, Sf2Error> {
    use std::io::{Read, Seek, SeekFrom};
    let file = path.display().to_string();
    let io = |source| Sf2Error::Io { file: file.clone(), source };
    let mut handle = std::fs::File::open(path).map_err(io)?;
    let length = handle.metadata().map_err(io)?.len() as usize;
    let Some(data) = sample_data_range(&mut handle, length) else {
        // Not a structure we can walk without reading it: read it all (and let the parser say
        // what is wrong with it).
        return load_bank(path, store);
    };
    let mut words = vec![0i16; length.div_ceil(2)];
    let mut read = |words: &mut Vec<i16>, range: std::ops::Range<usize>| -> Result<(), Sf2Error> {
        handle.seek(SeekFrom::Start(range.start as u64)).map_err(io)?;
        handle.read_exact(&mut bytemuck::cast_slice_mut::<i16, u8>(words)[range]).map_err(io)
    };
    read(&mut words, 0..data.start)?;
    read(&mut words, data.end..length)?;
    let (numbers, ranges) = {
        let sf2 = Sf2File::parse(&bytemuck::cast_slice::<i16, u8>(&words)[..length], &file)?;
        let mut all: Vec<ProgramNumber> = sf2
            .presets
            .iter()
            .filter(|p| p.program <= 127)
            .map(|p| ProgramNumber { bank: p.bank, program: p.program as u8 })
            .collect();
        all.sort();
        all.dedup();
        let mut numbers: Vec<ProgramNumber> = wanted.iter().filter_map(|&n| resolve_among(&all, n)).collect();
        numbers.sort();
        numbers.dedup();
        // Notes on a program the file lacks play its General MIDI fallback: so they reach.
        let resolved: Option<Vec<PlayedNote>> = notes.map(|notes| {
            notes.iter().filter_map(|n| Some(PlayedNote { program: resolve_among(&all, n.program)?, ..*n })).collect()
        });
        let reach = resolved.as_deref().map_or(Reach::Every, Reach::Notes);
        let ranges = sample_ranges(&sf2, Presets::Only(&numbers), reach);
        (numbers, ranges)
    };
    let mut sample_bytes = 0;
    for points in ranges {
        let bytes = data.start + points.start * 2..(data.start + points.end * 2).min(data.end);
        sample_bytes += bytes.len();
        read(&mut words, bytes)?;
    }
    tracing::info!(
        "{file}: {} programs, {:.1} MB of sample data read (of {:.1} MB)",
        numbers.len(),
        sample_bytes as f64 / 1e6,
        data.len() as f64 / 1e6
    );
    let pool = Arc::new(words);
    let sf2 = Sf2File::parse(&bytemuck::cast_slice::<i16, u8>(&pool)[..length], &file)?;
    build_bank(&sf2, store, Some(&pool), Presets::Only(&numbers))
}

/// Where the `smpl` chunk's data lies in a SoundFont file, found by walking its chunk headers
/// (a few small reads); `None` when the file is not laid out as expected.
fn sample_data_range(handle: &mut std::fs::File, length: usize) -> Option<std::ops::Range<usize>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut header = |at: usize| -> Option<([u8; 4], usize, [u8; 4])> {
        let mut bytes = [0u8; 12];
        handle.seek(SeekFrom::Start(at as u64)).ok()?;
        handle.read_exact(&mut bytes[..12.min(length.saturating_sub(at))]).ok()?;
        let id = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        Some((id, size, [bytes[8], bytes[9], bytes[10], bytes[11]]))
    };
    let (riff, _, form) = header(0)?;
    if &riff != b"RIFF" || &form != b"sfbk" {
        return None;
    }
    let mut at = 12;
    while at + 12 <= length {
        let (id, size, form) = header(at)?;
        if &id == b"LIST" && &form == b"sdta" {
            let end = (at + 8 + size).min(length);
            let mut sub = at + 12;
            while sub + 8 <= end {
                let (id, size, _) = header(sub)?;
                if &id == b"smpl" {
                    let start = sub + 8;
                    return (start + size <= length && start.is_multiple_of(2)).then_some(start..start + size);
                }
                sub += 8 + size + (size & 1);
            }
            return None;
        }
        at += 8 + size + (size & 1);
    }
    None
}
