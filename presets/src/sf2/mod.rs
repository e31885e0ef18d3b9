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
use std::time::Instant;

pub use build::{build_bank, Sf2Bank, ATTENUATION_SCALE};
pub use error::Sf2Error;
pub use file::Sf2File;

use crate::sample::SampleStore;

/// Reads the SoundFont at `path` into a bank, its samples shared through `store`.
pub fn load_bank(path: &Path, store: &mut SampleStore) -> Result<Sf2Bank, Sf2Error> {
    let file = path.display().to_string();
    let started = Instant::now();
    let bytes = std::fs::read(path).map_err(|source| Sf2Error::Io { file: file.clone(), source })?;
    let bank = read_bank(&bytes, &file, store)?;
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
    build_bank(&sf2, store)
}
