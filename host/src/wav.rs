//! WAV output in 32-bit float, 24-bit or 16-bit integer.

use std::path::{Path, PathBuf};

/// Sample format of a written WAV file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WavFormat {
    /// 32-bit IEEE float: no clipping, exact.
    F32,
    /// 24-bit integer (clips outside ±1).
    S24,
    /// 16-bit integer (clips outside ±1).
    S16,
}

/// What was written: peak level and how many samples clipped.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct WavReport {
    /// Largest absolute sample value.
    pub peak: f32,
    /// Samples outside ±1 (clipped in integer formats, kept as they are in float).
    pub over_full_scale: u64,
    /// Frames written.
    pub frames: u64,
}

/// Why a WAV file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct WavError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: hound::Error,
}

/// Writes interleaved `channels` (one `Vec` per channel, equal lengths) to `path`.
pub fn write_wav(
    path: &Path,
    channels: &[Vec<f32>],
    sample_rate: u32,
    format: WavFormat,
) -> Result<WavReport, WavError> {
    let err = |source| WavError { path: path.to_path_buf(), source };
    let (bits, sample_format) = match format {
        WavFormat::F32 => (32, hound::SampleFormat::Float),
        WavFormat::S24 => (24, hound::SampleFormat::Int),
        WavFormat::S16 => (16, hound::SampleFormat::Int),
    };
    let spec = hound::WavSpec { channels: channels.len() as u16, sample_rate, bits_per_sample: bits, sample_format };
    let mut writer = hound::WavWriter::create(path, spec).map_err(err)?;
    let frames = channels.first().map_or(0, Vec::len);
    let mut report = WavReport { peak: 0.0, over_full_scale: 0, frames: frames as u64 };
    let scale = match format {
        WavFormat::S24 => 8_388_607.0,
        WavFormat::S16 => 32_767.0,
        WavFormat::F32 => 1.0,
    };
    for i in 0..frames {
        for ch in channels {
            let s = ch[i];
            report.peak = report.peak.max(s.abs());
            if s.abs() > 1.0 {
                report.over_full_scale += 1;
            }
            match format {
                WavFormat::F32 => writer.write_sample(s).map_err(err)?,
                _ => writer.write_sample((s.clamp(-1.0, 1.0) * scale).round() as i32).map_err(err)?,
            }
        }
    }
    writer.finalize().map_err(err)?;
    Ok(report)
}
