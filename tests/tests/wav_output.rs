//! WAV files noderack writes are what the specification asks for, as other programs read them:
//! 32-bit float with an 18-byte `fmt ` chunk (`cbSize` = 0) and a `fact` chunk, whatever the
//! channel count; integer PCM as before. Checked by
//! reading the header bytes, by two independent readers (hound, and symphonia through the
//! sample decoder) and, where installed, by `sox --i`, which warns about a float file with a
//! PCM-sized `fmt ` chunk.

use std::path::Path;

use noderack_host::{WavFormat, WavStream};
use noderack_presets::sample::{decode, Encoding};
use noderack_tests::fixtures::scratch_dir;

fn write(path: &Path, channels: usize, format: WavFormat) -> Vec<Vec<f32>> {
    let data: Vec<Vec<f32>> =
        (0..channels).map(|c| (0..4800).map(|i| ((i as f32) * 0.01 * (c + 1) as f32).sin() * 0.5).collect()).collect();
    let mut wav = WavStream::create(path, channels, 48_000, format).unwrap();
    for start in (0..4800).step_by(1000) {
        let block: Vec<&[f32]> = data.iter().map(|c| &c[start..(start + 1000).min(4800)]).collect();
        wav.write(&block).unwrap();
    }
    assert_eq!(wav.finish().unwrap().frames, 4800);
    data
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// `sox --i` on `path`: no warning on stderr (skipped where sox is not installed).
fn sox_accepts(path: &Path) {
    let Some(sox) = noderack_tests::system_tool("sox", "sox") else { return };
    let out = std::process::Command::new(sox).args(["--i", path.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.to_lowercase().contains("warn"), "sox: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("4800 samples"), "{}", String::from_utf8_lossy(&out.stdout));
}

fn read_back(path: &Path, data: &[Vec<f32>]) {
    let reader = hound::WavReader::open(path).unwrap();
    assert_eq!(reader.spec().channels as usize, data.len());
    let samples: Vec<f32> = reader.into_samples::<f32>().map(Result::unwrap).collect();
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(*s, data[i % data.len()][i / data.len()], "hound, sample {i}");
    }
    let bytes = std::fs::read(path).unwrap();
    let decoded = decode(&bytes, Encoding::Detect { extension: Some("wav") }, "out.wav").unwrap();
    assert_eq!(decoded.channel_count(), data.len());
    for (c, channel) in data.iter().enumerate() {
        assert_eq!(&decoded.channel_f32(c).unwrap(), channel, "symphonia, channel {c}");
    }
}

#[test]
fn stereo_float_wav_has_an_18_byte_fmt_chunk_and_a_fact_chunk() {
    let dir = scratch_dir("wav-float");
    let path = dir.join("out.wav");
    let data = write(&path, 2, WavFormat::F32);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[12..16], b"fmt ");
    assert_eq!(u32_at(&bytes, 16), 18, "fmt chunk size");
    assert_eq!(u16_at(&bytes, 20), 3, "WAVE_FORMAT_IEEE_FLOAT");
    assert_eq!(u16_at(&bytes, 36), 0, "cbSize");
    assert_eq!(&bytes[38..42], b"fact");
    assert_eq!(u32_at(&bytes, 46), 4800, "fact: sample frames");
    assert_eq!(&bytes[50..54], b"data");
    assert_eq!(u32_at(&bytes, 54) as usize, 4800 * 2 * 4);
    assert_eq!(u32_at(&bytes, 4) as usize, bytes.len() - 8, "RIFF size");
    read_back(&path, &data);
    sox_accepts(&path);
}

#[test]
fn float_wav_with_four_channels_has_the_same_header() {
    let dir = scratch_dir("wav-float-4");
    let path = dir.join("out.wav");
    let data = write(&path, 4, WavFormat::F32);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u32_at(&bytes, 16), 18, "fmt chunk size");
    assert_eq!(u16_at(&bytes, 20), 3, "WAVE_FORMAT_IEEE_FLOAT");
    assert_eq!(u16_at(&bytes, 22), 4, "channels");
    assert_eq!(u16_at(&bytes, 32), 16, "block align");
    assert_eq!(u32_at(&bytes, 46), 4800, "fact: sample frames");
    assert_eq!(u32_at(&bytes, 4) as usize, bytes.len() - 8, "RIFF size");
    read_back(&path, &data);
    sox_accepts(&path);
}

#[test]
fn integer_wav_reads_back_within_a_step() {
    let dir = scratch_dir("wav-s24");
    let path = dir.join("out.wav");
    let data = write(&path, 2, WavFormat::S24);
    let reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.spec().bits_per_sample, 24);
    let samples: Vec<i32> = reader.into_samples::<i32>().map(Result::unwrap).collect();
    for (i, s) in samples.iter().enumerate() {
        let expected = data[i % 2][i / 2];
        assert!((*s as f32 / 8_388_607.0 - expected).abs() <= 1.0 / 8_388_607.0, "sample {i}");
    }
    sox_accepts(&path);
}
