//! Sample decoding: every sample of the shared library matches its recorded hash and decodes
//! (MP3 and raw); synthesized WAV files decode to their exact values, FLAC and Ogg Vorbis files
//! made from them by the reference encoders to their content; identical bytes share one
//! buffer; broken and hostile files give errors that name them, never a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use noderack_presets::sample::{decode, Encoding, SampleData, SampleError, SampleStore};
use noderack_presets::songwalker::Codec;
use noderack_tests::testdata_dir;

fn scratch(name: &str) -> noderack_tests::fixtures::ScratchDir {
    noderack_tests::fixtures::scratch_dir(&format!("samples-{name}"))
}

/// Every (preset folder, zone) of the shared library.
fn library_zones(root: &Path) -> Vec<(PathBuf, noderack_presets::songwalker::SamplerZone)> {
    noderack_tests::library::library_presets(root)
        .into_iter()
        .flat_map(|(path, preset)| {
            let folder = path.parent().unwrap().to_path_buf();
            preset.zones().into_iter().map(move |z| (folder.clone(), z.clone())).collect::<Vec<_>>()
        })
        .collect()
}

/// Every library sample decodes, and every one matches its recorded hash except where the
/// library itself is inconsistent: the subset has one file (`Pad_2_warm/zone_C6.mp3`) that two
/// zones reference with different recorded hashes, so at most one of them can match — the
/// check must catch the other.
#[test]
fn every_library_sample_matches_its_hash_and_decodes() {
    let Some(data) = testdata_dir() else { return };
    let zones = library_zones(&data.join("songwalker-library"));
    assert!(zones.len() > 60, "{} zones", zones.len());
    let mut recorded: std::collections::HashMap<PathBuf, std::collections::HashSet<String>> = Default::default();
    for (folder, zone) in &zones {
        recorded.entry(folder.join(&zone.audio.url)).or_default().insert(zone.audio.sha256.clone());
    }
    let mut store = SampleStore::new();
    let mut rate_differs = 0;
    let mut mismatches = Vec::new();
    for (folder, zone) in &zones {
        let encoding = match zone.audio.codec {
            Codec::Raw => Encoding::Raw16 { sample_rate_hz: zone.sample_rate },
            _ => Encoding::Detect { extension: Path::new(&zone.audio.url).extension().and_then(|e| e.to_str()) },
        };
        let path = folder.join(&zone.audio.url);
        if let Err(e) = store.load(&path, encoding, Some(&zone.audio.sha256)) {
            assert!(matches!(e, SampleError::HashMismatch { .. }), "{e}");
            assert!(recorded[&path].len() > 1, "unexplained hash mismatch: {e}");
            mismatches.push(path.clone());
        }
        let sample = store.load(&path, encoding, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(sample.frames() > 64, "{}: {} frames", path.display(), sample.frames());
        assert!((0..sample.channel_count()).all(|c| sample.channel_f32(c).unwrap().len() == sample.frames()));
        let peak = sample.channel_f32(0).unwrap().iter().fold(0.0f32, |m, s| m.max(s.abs()));
        // Lossy decoding may overshoot full scale a little; more would mean a wrong scale.
        assert!(peak > 0.01 && peak <= 1.1, "{}: peak {peak}", path.display());
        if zone.audio.codec == Codec::Raw {
            assert_eq!(sample.frames() as u64, std::fs::metadata(&path).unwrap().len() / 2);
        }
        if sample.sample_rate_hz != zone.sample_rate {
            rate_differs += 1;
        }
        // Loop points count frames at the declared rate; through seconds they land inside
        // the decoded audio.
        if let Some(l) = zone.loop_frames {
            let end_seconds = l.end as f64 / zone.sample_rate as f64;
            assert!(end_seconds <= sample.seconds() + 0.05, "{}: loop ends after the audio", path.display());
        }
    }
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert!(mismatches[0].ends_with("Pad_2_warm/zone_C6.mp3"));
    eprintln!(
        "{} zones, {} distinct samples, {rate_differs} decoded at a rate other than declared",
        zones.len(),
        store.len()
    );
}

fn write_wav(path: &Path, bits: u16, float: bool, channels: u16, frames: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 22_050,
        bits_per_sample: bits,
        sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames[0].len() {
        for ch in frames {
            if float {
                w.write_sample(ch[i]).unwrap();
            } else {
                let scale = (1i64 << (bits - 1)) as f32;
                w.write_sample((ch[i] * scale).round() as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

#[test]
fn wav_files_decode_to_their_values() {
    let dir = scratch("wav");
    let left: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
    let right: Vec<f32> = left.iter().map(|s| -s * 0.5).collect();
    for (bits, float, tolerance) in [(16, false, 1.0 / 32_768.0), (24, false, 1.0 / 8_388_608.0), (32, true, 0.0)] {
        let path = dir.join(format!("t{bits}.wav"));
        write_wav(&path, bits, float, 2, &[left.clone(), right.clone()]);
        let bytes = std::fs::read(&path).unwrap();
        let s = decode(&bytes, Encoding::Detect { extension: Some("wav") }, "t.wav").unwrap();
        assert_eq!((s.sample_rate_hz, s.channel_count(), s.frames()), (22_050, 2, 5000), "{bits} bit");
        // 16-bit sources are held as 16-bit (half the memory); others as f32.
        assert_eq!(matches!(s.data, SampleData::I16(_)), bits == 16, "{bits} bit stored as {:?}", s.data);
        let (l, r) = (s.channel_f32(0).unwrap(), s.channel_f32(1).unwrap());
        for (got, want) in l.iter().zip(&left).chain(r.iter().zip(&right)) {
            assert!((got - want).abs() <= tolerance, "{bits} bit: {got} vs {want}");
        }
    }
}

/// FLAC (lossless: the exact 16-bit values) and Ogg Vorbis (lossy: the pitch, length and level)
/// made by the reference encoders from a synthesized WAV decode through the same path as every
/// sample. Skips without `flac`/`oggenc`; CI installs them.
#[test]
fn flac_and_ogg_vorbis_decode_to_their_content() {
    use noderack_tests::analysis::cents;
    use noderack_tests::fixtures::{sine_wave, write_wav};
    let (Some(flac), Some(oggenc)) =
        (noderack_tests::system_tool("flac", "flac"), noderack_tests::system_tool("oggenc", "vorbis-tools"))
    else {
        return;
    };
    let dir = scratch("encoded");
    let tone = sine_wave(440.0, 44_100, 1.0, 0.5);
    let wav = write_wav(&dir, "tone.wav", 44_100, &tone);
    let encode = |tool: &Path, args: &[&str]| {
        let out = std::process::Command::new(tool).args(args).output().expect("the encoder runs");
        assert!(out.status.success(), "{}: {}", tool.display(), String::from_utf8_lossy(&out.stderr));
    };
    let (flac_path, ogg_path) = (dir.join("tone.flac"), dir.join("tone.ogg"));
    encode(&flac, &["--silent", "-f", "-o", flac_path.to_str().unwrap(), wav.to_str().unwrap()]);
    encode(&oggenc, &["--quiet", "-q", "6", "-o", ogg_path.to_str().unwrap(), wav.to_str().unwrap()]);

    let mut store = SampleStore::new();
    let flac = store.load(&flac_path, Encoding::Detect { extension: Some("flac") }, None).unwrap();
    assert_eq!((flac.sample_rate_hz, flac.channel_count(), flac.frames()), (44_100, 1, tone.len()));
    assert!(matches!(flac.data, SampleData::I16(_)), "16-bit FLAC is held as 16-bit");
    for (got, want) in flac.channel_f32(0).unwrap().iter().zip(&tone) {
        let want16 = (want * 32_767.0).round() / 32_768.0;
        assert!((got - want16).abs() <= 1.0 / 32_768.0, "{got} vs {want16}");
    }

    let ogg = store.load(&ogg_path, Encoding::Detect { extension: Some("ogg") }, None).unwrap();
    assert_eq!((ogg.sample_rate_hz, ogg.channel_count()), (44_100, 1));
    assert!(matches!(ogg.data, SampleData::F32(_)), "decoded Vorbis is held as f32");
    assert!(ogg.frames().abs_diff(tone.len()) < 2048, "{} frames for {}", ogg.frames(), tone.len());
    let ogg = ogg.channel_f32(0).unwrap();
    let x = &ogg[4_410..40_000];
    assert!(cents(noderack_tests::peak_frequency_hz(x, 44_100.0), 440.0).abs() < 2.0);
    let level_db = 20.0 * (noderack_tests::rms(x) / (0.5 / 2f32.sqrt())).log10();
    assert!(level_db.abs() < 0.5, "level {level_db} dB");
}

#[test]
fn raw_codec_is_16_bit_little_endian_mono() {
    let bytes = [0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f, 0x00, 0x80];
    let s = decode(&bytes, Encoding::Raw16 { sample_rate_hz: 44_100 }, "x.raw").unwrap();
    assert_eq!(s.channel_f32(0).unwrap(), vec![0.5, -0.5, 32_767.0 / 32_768.0, -1.0]);
    assert!(matches!(s.data, SampleData::I16(_)));
    let err = decode(&bytes[..3], Encoding::Raw16 { sample_rate_hz: 44_100 }, "odd.raw").unwrap_err();
    assert!(err.to_string().starts_with("odd.raw: cannot decode: raw 16-bit data has an odd length"), "{err}");
}

#[test]
fn identical_bytes_share_one_buffer_and_hashes_are_checked() {
    let dir = scratch("dedup");
    let tone: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    write_wav(&dir.join("a.wav"), 16, false, 1, std::slice::from_ref(&tone));
    std::fs::copy(dir.join("a.wav"), dir.join("copy-of-a.wav")).unwrap();
    let wav = Encoding::Detect { extension: Some("wav") };
    let mut store = SampleStore::new();
    let a = store.load(&dir.join("a.wav"), wav, None).unwrap();
    let b = store.load(&dir.join("copy-of-a.wav"), wav, None).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(store.len(), 1);

    let good: String = a.sha256[..8].iter().map(|x| format!("{x:02x}")).collect();
    assert!(store.load(&dir.join("a.wav"), wav, Some(&good)).is_ok());
    let err = store.load(&dir.join("a.wav"), wav, Some("0000000000000000")).unwrap_err();
    assert!(matches!(err, SampleError::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains("a.wav: content hash") && err.to_string().contains(&good), "{err}");
}

#[test]
fn broken_files_are_errors_that_name_them() {
    let dir = scratch("broken");
    let tone: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    write_wav(&dir.join("ok.wav"), 16, false, 1, std::slice::from_ref(&tone));
    let bytes = std::fs::read(dir.join("ok.wav")).unwrap();
    let detect = Encoding::Detect { extension: None };
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let err = decode(&garbage, detect, "noise.bin").unwrap_err();
    assert!(err.to_string().starts_with("noise.bin: cannot decode"), "{err}");
    // Every truncation either decodes what is there or is an error, never a panic.
    for cut in (0..bytes.len()).step_by(97) {
        if let Ok(s) = decode(&bytes[..cut], detect, "cut.wav") {
            assert!(s.frames() <= 4000);
        }
    }
    let err = SampleStore::new().load(&dir.join("missing.wav"), detect, None).unwrap_err();
    assert!(err.to_string().contains("missing.wav"), "{err}");
}

#[test]
fn library_mp3_survives_truncation_and_corruption() {
    let Some(data) = testdata_dir() else { return };
    let path = data.join("songwalker-library/FluidR3_GM/instruments/piano/Acoustic_Grand_Piano/zone_D1.mp3");
    let bytes = std::fs::read(path).unwrap();
    let mp3 = Encoding::Detect { extension: Some("mp3") };
    for cut in [0, 10, 100, 1000, bytes.len() / 2] {
        let _ = decode(&bytes[..cut], mp3, "cut.mp3");
    }
    let mut flipped = bytes.clone();
    for i in (200..flipped.len()).step_by(501) {
        flipped[i] ^= 0x5a;
    }
    let _ = decode(&flipped, mp3, "flipped.mp3");
    let whole = decode(&bytes, mp3, "whole.mp3").unwrap();
    let half = decode(&bytes[..bytes.len() / 2], mp3, "half.mp3").unwrap();
    assert!(half.frames() < whole.frames() && half.frames() > whole.frames() / 3);
}
