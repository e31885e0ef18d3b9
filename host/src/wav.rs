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
    writer: Writer,
    format: WavFormat,
    channels: usize,
    report: WavReport,
}

/// Integer PCM goes through hound; 32-bit float through [`FloatWav`], because hound writes a
/// float file with the 16-byte `fmt ` chunk of PCM, which the WAV specification does not allow
/// for other formats (sox warns "wave header missing extended part of fmt chunk").
enum Writer {
    Pcm(hound::WavWriter<std::io::BufWriter<std::fs::File>>),
    Float(FloatWav),
}

/// Bytes of the header [`FloatWav`] writes before the samples: `RIFF` (12), an 18-byte `fmt `
/// chunk with `cbSize` = 0 (26), `fact` (12), the `data` chunk's header (8).
const FLOAT_HEADER_BYTES: u64 = 58;

/// A 32-bit float WAV as the specification asks for non-PCM data: `WAVE_FORMAT_IEEE_FLOAT` with
/// an 18-byte `fmt ` chunk (`cbSize` = 0) and a `fact` chunk holding the frame count, for any
/// number of channels. (`WAVE_FORMAT_EXTENSIBLE` is the other choice above two channels; sox
/// writes multichannel float this way itself and warns about the extensible header, so this
/// is the form every reader we know takes without complaint.) Sizes are filled in at the end.
struct FloatWav {
    file: std::io::BufWriter<std::fs::File>,
    channels: u16,
    sample_rate: u32,
    data_bytes: u64,
}

impl FloatWav {
    fn create(path: &Path, channels: u16, sample_rate: u32) -> std::io::Result<Self> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut wav = Self { file, channels, sample_rate, data_bytes: 0 };
        wav.header()?;
        Ok(wav)
    }

    /// Writes the header for the samples written so far at the current position.
    fn header(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        let block_align = self.channels * 4;
        let frames = (self.data_bytes / block_align.max(1) as u64) as u32;
        let riff_size = (FLOAT_HEADER_BYTES - 8 + self.data_bytes) as u32;
        let f = &mut self.file;
        f.write_all(b"RIFF")?;
        f.write_all(&riff_size.to_le_bytes())?;
        f.write_all(b"WAVEfmt ")?;
        f.write_all(&18u32.to_le_bytes())?;
        f.write_all(&3u16.to_le_bytes())?; // WAVE_FORMAT_IEEE_FLOAT
        f.write_all(&self.channels.to_le_bytes())?;
        f.write_all(&self.sample_rate.to_le_bytes())?;
        f.write_all(&(self.sample_rate * block_align as u32).to_le_bytes())?;
        f.write_all(&block_align.to_le_bytes())?;
        f.write_all(&32u16.to_le_bytes())?;
        f.write_all(&0u16.to_le_bytes())?; // cbSize: no extension
        f.write_all(b"fact")?;
        f.write_all(&4u32.to_le_bytes())?;
        f.write_all(&frames.to_le_bytes())?;
        f.write_all(b"data")?;
        f.write_all(&(self.data_bytes as u32).to_le_bytes())
    }

    fn write_sample(&mut self, sample: f32) -> std::io::Result<()> {
        use std::io::Write;
        if FLOAT_HEADER_BYTES + self.data_bytes + 4 > u32::MAX as u64 {
            return Err(std::io::Error::other("a WAV file cannot hold more than 4 GiB"));
        }
        self.file.write_all(&sample.to_le_bytes())?;
        self.data_bytes += 4;
        Ok(())
    }

    /// Writes the final sizes into the header and flushes.
    fn finish(mut self) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        self.file.seek(SeekFrom::Start(0))?;
        self.header()?;
        self.file.flush()
    }
}

impl WavStream {
    /// Creates `path` for `channels` channels at `sample_rate` in `format`.
    pub fn create(path: &Path, channels: usize, sample_rate: u32, format: WavFormat) -> Result<Self, WavError> {
        let (bits, sample_format) = match format {
            WavFormat::F32 => (32, hound::SampleFormat::Float),
            WavFormat::S24 => (24, hound::SampleFormat::Int),
            WavFormat::S16 => (16, hound::SampleFormat::Int),
        };
        let error = |source| WavError { path: path.to_path_buf(), source };
        let writer = if format == WavFormat::F32 {
            Writer::Float(
                FloatWav::create(path, channels as u16, sample_rate).map_err(|e| error(hound::Error::IoError(e)))?,
            )
        } else {
            let spec = hound::WavSpec { channels: channels as u16, sample_rate, bits_per_sample: bits, sample_format };
            Writer::Pcm(hound::WavWriter::create(path, spec).map_err(error)?)
        };
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
                match &mut self.writer {
                    Writer::Float(w) => w.write_sample(s).map_err(|e| err(hound::Error::IoError(e)))?,
                    Writer::Pcm(w) => w.write_sample((s.clamp(-1.0, 1.0) * scale).round() as i32).map_err(err)?,
                }
            }
        }
        self.report.frames += frames as u64;
        Ok(())
    }

    /// Completes the file (its header records the length) and reports what was written.
    pub fn finish(self) -> Result<WavReport, WavError> {
        let Self { path, writer, report, .. } = self;
        match writer {
            Writer::Pcm(w) => w.finalize().map_err(|source| WavError { path, source })?,
            Writer::Float(w) => w.finish().map_err(|e| WavError { path, source: hound::Error::IoError(e) })?,
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writing block by block gives the same file and report as writing everything at once.
    #[test]
    fn streamed_blocks_equal_one_whole_write() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
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
    }
}
