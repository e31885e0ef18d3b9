//! Samples: encoded audio files decoded (off the audio thread) into shared, immutable buffers,
//! checked against recorded hashes, and deduplicated by content so the same recording used by
//! many zones or presets is held once.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// One channel of 16-bit sample points: a range of a shared buffer. An SF2 file is read once
/// into one such buffer and every sample of it is a view into that buffer; a decoded WAV or
/// FLAC channel owns its buffer alone.
#[derive(Clone)]
pub struct Pcm16 {
    pool: Arc<Vec<i16>>,
    start: usize,
    end: usize,
}

impl Pcm16 {
    /// Points `range` of `pool` (clamped to it).
    pub fn view(pool: Arc<Vec<i16>>, range: std::ops::Range<usize>) -> Self {
        let end = range.end.min(pool.len());
        Self { start: range.start.min(end), end, pool }
    }

    /// Whether this channel and `other` are views into one buffer.
    pub fn shares_buffer(&self, other: &Pcm16) -> bool {
        Arc::ptr_eq(&self.pool, &other.pool)
    }

    /// Length of the whole buffer this channel is a view into, in points.
    pub fn buffer_points(&self) -> usize {
        self.pool.len()
    }

    /// The address of the shared buffer's header, which reading the points goes through: for
    /// a caller that prefetches what it will read (never dereferenced through this value).
    pub fn buffer_header_address(&self) -> usize {
        Arc::as_ptr(&self.pool) as usize
    }

    /// A channel owning `points`.
    pub fn owned(points: Vec<i16>) -> Self {
        let end = points.len();
        Self { pool: Arc::new(points), start: 0, end }
    }
}

impl std::ops::Deref for Pcm16 {
    type Target = [i16];
    // Inlined into the sampler's voice (another crate), which reaches the points every run.
    #[inline]
    fn deref(&self) -> &[i16] {
        &self.pool[self.start..self.end]
    }
}

impl PartialEq for Pcm16 {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Pcm16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pcm16({} points)", self.len())
    }
}

/// Sample points as the source holds them: 16-bit sources stay 16-bit (half the memory of
/// `f32`, and the sampler reads them as exactly the values `f32` would hold: `x / 32768`);
/// everything else (24-bit, float, compressed, generated) is `f32`, which holds 24-bit
/// values exactly.
#[derive(Debug, PartialEq)]
pub enum SampleData {
    /// One buffer of 32-bit floats per channel.
    F32(Vec<Vec<f32>>),
    /// One buffer of 16-bit points per channel (full scale 32768).
    I16(Vec<Pcm16>),
}

/// Decoded audio, one buffer per channel, at the rate it decoded at.
#[derive(Debug, PartialEq)]
pub struct Sample {
    /// Frames per second of the decoded audio. For library presets this may differ from the
    /// zone's declared rate: pitch must follow this one.
    pub sample_rate_hz: u32,
    /// The points, one buffer per channel, all the same length.
    pub data: SampleData,
    /// SHA-256 of the encoded bytes (what deduplication and integrity checks compare). For
    /// SF2 samples: of the 16-bit data, the `sm24` bytes if any, and the rate (`u32` LE).
    pub sha256: [u8; 32],
}

/// What one 16-bit point reads as.
pub const I16_SCALE: f32 = 1.0 / 32_768.0;

impl Sample {
    /// A sample of float channels.
    pub fn from_f32(sample_rate_hz: u32, channels: Vec<Vec<f32>>, sha256: [u8; 32]) -> Self {
        Self { sample_rate_hz, data: SampleData::F32(channels), sha256 }
    }

    /// A sample of 16-bit channels.
    pub fn from_i16(sample_rate_hz: u32, channels: Vec<Pcm16>, sha256: [u8; 32]) -> Self {
        Self { sample_rate_hz, data: SampleData::I16(channels), sha256 }
    }

    /// Number of channels.
    pub fn channel_count(&self) -> usize {
        match &self.data {
            SampleData::F32(c) => c.len(),
            SampleData::I16(c) => c.len(),
        }
    }

    /// Length in frames.
    pub fn frames(&self) -> usize {
        match &self.data {
            SampleData::F32(c) => c.first().map_or(0, Vec::len),
            SampleData::I16(c) => c.first().map_or(0, |c| c.len()),
        }
    }

    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.sample_rate_hz as f64
    }

    /// Channel `index` as floats (a copy: for analysis and tests, not for playback).
    pub fn channel_f32(&self, index: usize) -> Option<Vec<f32>> {
        match &self.data {
            SampleData::F32(c) => c.get(index).cloned(),
            SampleData::I16(c) => c.get(index).map(|c| c.iter().map(|&x| x as f32 * I16_SCALE).collect()),
        }
    }

    /// Bytes its points take (a view counts its own range).
    pub fn bytes(&self) -> usize {
        match &self.data {
            SampleData::F32(c) => c.iter().map(|c| c.len() * 4).sum(),
            SampleData::I16(c) => c.iter().map(|c| c.len() * 2).sum(),
        }
    }
}

/// How a file's bytes are encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Encoding<'a> {
    /// A container symphonia recognises (WAV, FLAC, MP3, Ogg Vorbis); the extension is a hint.
    Detect {
        /// File extension without the dot, if known.
        extension: Option<&'a str>,
    },
    /// Headerless 16-bit signed little-endian mono PCM (the library's `raw` codec).
    Raw16 {
        /// Its sample rate.
        sample_rate_hz: u32,
    },
}

/// Why a sample could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not audio this build can decode.
    #[error("{file}: cannot decode: {reason}")]
    Decode {
        /// The file.
        file: String,
        /// What the decoder said.
        reason: String,
    },
    /// The file's hash differs from the one recorded for it (corrupted or replaced).
    #[error("{file}: content hash {found} does not match the recorded {expected}")]
    HashMismatch {
        /// The file.
        file: String,
        /// The recorded hash (hex, possibly a prefix).
        expected: String,
        /// The first digits of the actual hash.
        found: String,
    },
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks `bytes` against a recorded hex hash or hash prefix (the library records 16 digits).
pub fn verify_hash(bytes: &[u8], expected_hex: &str, file: &str) -> Result<(), SampleError> {
    let found: String = sha256(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let expected = expected_hex.to_ascii_lowercase();
    if expected.is_empty() || !found.starts_with(&expected) {
        return Err(SampleError::HashMismatch {
            file: file.to_string(),
            expected,
            found: found[..expected_hex.len().clamp(16, 64)].to_string(),
        });
    }
    Ok(())
}

/// Decodes `bytes`; `file` names them in errors.
pub fn decode(bytes: &[u8], encoding: Encoding<'_>, file: &str) -> Result<Sample, SampleError> {
    let hash = sha256(bytes);
    match encoding {
        Encoding::Raw16 { sample_rate_hz } => {
            if !bytes.len().is_multiple_of(2) {
                return Err(SampleError::Decode {
                    file: file.to_string(),
                    reason: format!("raw 16-bit data has an odd length ({} bytes)", bytes.len()),
                });
            }
            let mono = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
            Ok(Sample::from_i16(sample_rate_hz, vec![Pcm16::owned(mono)], hash))
        }
        Encoding::Detect { extension } => {
            // A decoder must never take the process down on hostile input.
            let owned = bytes.to_vec();
            let decoded = std::panic::catch_unwind(move || decode_container(owned, extension.map(str::to_string)))
                .unwrap_or_else(|_| Err("the decoder failed on this input".to_string()));
            let (sample_rate_hz, data) =
                decoded.map_err(|reason| SampleError::Decode { file: file.to_string(), reason })?;
            let sample = Sample { sample_rate_hz, data, sha256: hash };
            if sample.frames() == 0 {
                return Err(SampleError::Decode { file: file.to_string(), reason: "no audio frames".into() });
            }
            Ok(sample)
        }
    }
}

/// Runs symphonia over a whole file: its rate and points, 16-bit where the source is 16-bit
/// PCM (WAV, FLAC), `f32` otherwise.
fn decode_container(bytes: Vec<u8>, extension: Option<String>) -> Result<(u32, SampleData), String> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = &extension {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| e.to_string())?;
    let track = format.default_track(TrackType::Audio).ok_or("no audio track")?;
    let track_id = track.id;
    let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or("no audio codec parameters")?;
    let sixteen_bit = params.bits_per_sample == Some(16);
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| e.to_string())?;
    let packets = Packets { format: &mut *format, decoder, track_id };
    if sixteen_bit {
        let (rate, channels) = packets.collect::<i16>()?;
        Ok((rate, SampleData::I16(channels.into_iter().map(Pcm16::owned).collect())))
    } else {
        let (rate, channels) = packets.collect::<f32>()?;
        Ok((rate, SampleData::F32(channels)))
    }
}

/// A track's packets and the decoder for them.
struct Packets<'f> {
    format: &'f mut dyn symphonia::core::formats::FormatReader,
    decoder: Box<dyn symphonia::core::codecs::audio::AudioDecoder>,
    track_id: u32,
}

impl Packets<'_> {
    /// Decodes every packet into per-channel points of type `S`: (rate, channels).
    fn collect<S: symphonia::core::audio::conv::ConvertibleSample + Copy + Default>(
        mut self,
    ) -> Result<(u32, Vec<Vec<S>>), String> {
        let mut rate = 0u32;
        let mut channels: Vec<Vec<S>> = Vec::new();
        let mut interleaved: Vec<S> = Vec::new();
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) if !channels.is_empty() => {
                    tracing::warn!("stopped decoding early: {e}");
                    break;
                }
                Err(e) => return Err(e.to_string()),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let audio = match self.decoder.decode(&packet) {
                Ok(audio) => audio,
                Err(SymphoniaError::DecodeError(e)) => {
                    tracing::debug!("skipped a corrupt packet: {e}");
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            let count = audio.spec().channels().count().max(1);
            if channels.is_empty() {
                rate = audio.spec().rate();
                channels = vec![Vec::new(); count];
            } else if count != channels.len() {
                return Err(format!("channel count changed from {} to {count} mid-stream", channels.len()));
            }
            interleaved.resize(audio.samples_interleaved(), S::default());
            audio.copy_to_slice_interleaved(&mut interleaved);
            for frame in interleaved.chunks_exact(count) {
                for (ch, s) in channels.iter_mut().zip(frame) {
                    ch.push(*s);
                }
            }
        }
        if rate == 0 {
            return Err("no decodable audio".into());
        }
        Ok((rate, channels))
    }
}

/// Decoded samples by content hash: loading the same bytes twice (the same file, or a copy
/// under another name) returns the same shared buffer.
#[derive(Default)]
pub struct SampleStore {
    by_hash: HashMap<[u8; 32], Arc<Sample>>,
}

impl SampleStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads, optionally verifies (`expected_hash`: hex or hex prefix), and decodes the file at
    /// `path`, or returns the buffer already decoded from identical bytes.
    pub fn load(
        &mut self,
        path: &Path,
        encoding: Encoding<'_>,
        expected_hash: Option<&str>,
    ) -> Result<Arc<Sample>, SampleError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SampleError::Io { file: file.clone(), source })?;
        self.load_bytes(&bytes, &file, encoding, expected_hash)
    }

    /// Like [`SampleStore::load`] for bytes already read (from a library cache, say); `file`
    /// names them in errors.
    pub fn load_bytes(
        &mut self,
        bytes: &[u8],
        file: &str,
        encoding: Encoding<'_>,
        expected_hash: Option<&str>,
    ) -> Result<Arc<Sample>, SampleError> {
        if let Some(expected) = expected_hash {
            verify_hash(bytes, expected, file)?;
        }
        let hash = sha256(bytes);
        if let Some(existing) = self.by_hash.get(&hash) {
            return Ok(existing.clone());
        }
        let sample = Arc::new(decode(bytes, encoding, file)?);
        self.by_hash.insert(hash, sample.clone());
        Ok(sample)
    }

    /// The sample already held under `sha256`, if any.
    pub fn get(&self, sha256: &[u8; 32]) -> Option<Arc<Sample>> {
        self.by_hash.get(sha256).cloned()
    }

    /// Adds a sample decoded elsewhere (an SF2 bank's PCM data), keyed by its `sha256`, or
    /// returns the one already held under that hash.
    pub fn insert(&mut self, sample: Sample) -> Arc<Sample> {
        self.by_hash.entry(sample.sha256).or_insert_with(|| Arc::new(sample)).clone()
    }

    /// Number of distinct samples held.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}
