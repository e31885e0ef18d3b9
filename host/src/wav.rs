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
    let mut stream = WavStream::create(path, channels.len(), sample_rate, format)?;
    let views: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
    stream.write(&views)?;
    stream.finish()
}

/// A WAV file written block by block as it is rendered, so a long render never holds its
/// whole output in memory.
pub struct WavStream {
    path: PathBuf,
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    format: WavFormat,
    channels: usize,
    report: WavReport,
}

impl WavStream {
    /// Creates `path` for `channels` channels at `sample_rate` in `format`.
    pub fn create(path: &Path, channels: usize, sample_rate: u32, format: WavFormat) -> Result<Self, WavError> {
        let (bits, sample_format) = match format {
            WavFormat::F32 => (32, hound::SampleFormat::Float),
            WavFormat::S24 => (24, hound::SampleFormat::Int),
            WavFormat::S16 => (16, hound::SampleFormat::Int),
        };
        let spec = hound::WavSpec { channels: channels as u16, sample_rate, bits_per_sample: bits, sample_format };
        let writer =
            hound::WavWriter::create(path, spec).map_err(|source| WavError { path: path.to_path_buf(), source })?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            format,
            channels,
            report: WavReport { peak: 0.0, over_full_scale: 0, frames: 0 },
        })
    }

    /// Appends one block: a slice per channel (the shortest sets the block's length); a block
    /// with another number of channels than the file is an error.
    pub fn write(&mut self, block: &[&[f32]]) -> Result<(), WavError> {
        let frames = block.iter().map(|c| c.len()).min().unwrap_or(0);
        if block.len() != self.channels {
            return Err(WavError {
                path: self.path.clone(),
                source: hound::Error::FormatError("a block has another channel count than the file"),
            });
        }
        let scale = match self.format {
            WavFormat::S24 => 8_388_607.0,
            WavFormat::S16 => 32_767.0,
            WavFormat::F32 => 1.0,
        };
        let err = |source| WavError { path: self.path.clone(), source };
        for i in 0..frames {
            for ch in block {
                let s = ch[i];
                self.report.peak = self.report.peak.max(s.abs());
                if s.abs() > 1.0 {
                    self.report.over_full_scale += 1;
                }
                match self.format {
                    WavFormat::F32 => self.writer.write_sample(s).map_err(err)?,
                    _ => self.writer.write_sample((s.clamp(-1.0, 1.0) * scale).round() as i32).map_err(err)?,
                }
            }
        }
        self.report.frames += frames as u64;
        Ok(())
    }

    /// Completes the file (its header records the length) and reports what was written.
    pub fn finish(self) -> Result<WavReport, WavError> {
        let Self { path, writer, report, .. } = self;
        writer.finalize().map_err(|source| WavError { path, source })?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writing block by block gives the same file and report as writing everything at once.
    #[test]
    fn streamed_blocks_equal_one_whole_write() {
        let dir = std::env::temp_dir().join(format!("noderack-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let left: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 1.2).collect();
        let right: Vec<f32> = left.iter().map(|s| -0.5 * s).collect();
        let whole = dir.join("whole.wav");
        let streamed = dir.join("streamed.wav");
        let expected = write_wav(&whole, &[left.clone(), right.clone()], 48_000, WavFormat::S24).unwrap();
        let mut stream = WavStream::create(&streamed, 2, 48_000, WavFormat::S24).unwrap();
        for start in (0..1000).step_by(300) {
            let end = (start + 300).min(1000);
            stream.write(&[&left[start..end], &right[start..end]]).unwrap();
        }
        let wrong = stream.write(&[&left[..10]]).unwrap_err();
        assert!(wrong.to_string().contains("another channel count"), "{wrong}");
        let report = stream.finish().unwrap();
        assert_eq!(report, expected);
        assert_eq!(std::fs::read(&whole).unwrap(), std::fs::read(&streamed).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
