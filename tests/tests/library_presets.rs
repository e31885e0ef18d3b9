//! Every sampler preset of the shared SongWalker library subset, built into an instrument and
//! played through the `sampler` node: melodic presets sound at the pitch of the key played
//! (FFT, on a key of every zone, one semitone off the zone's root where the zone allows, so
//! resampling is exercised), percussion presets start on their note-on frame. Covers the MP3
//! zones that decode at a rate other than the declared one and the headerless `raw` samples.
//! Skips (saying so) when the shared data is absent.

use std::sync::Arc;

use noderack_nodes::Sampler;
use noderack_presets::instrument::Bank;
use noderack_presets::sample::SampleStore;
use noderack_presets::songwalker::{build_instrument, load_instrument, InstrumentError};
use noderack_tests::analysis::{cents, power_spectrum};
use noderack_tests::library::library_presets;
use noderack_tests::midi::note_on;
use noderack_tests::{first_onset, rms, testdata_dir, Rig};

const SR: f32 = 48_000.0;

fn play(bank: Bank, key: u8, frames: u64) -> Vec<f32> {
    let mut rig = Rig::stereo(256);
    rig.add_instrument(Sampler::new(Some(Arc::new(bank)), 16), vec![]);
    let out = rig.render(frames, &[note_on(100, 0, key, 110)]);
    out[0].iter().zip(&out[1]).map(|(l, r)| 0.5 * (l + r)).collect()
}

/// The frequency among the first harmonics of `f0` whose band holds the most energy, in cents
/// from the nearest harmonic: recordings often have a stronger second or third partial than
/// fundamental, so "in tune" means the spectral peak sits on a harmonic of the expected pitch.
fn harmonic_error_cents(x: &[f32], f0: f32) -> f32 {
    let spectrum = power_spectrum(x);
    let bin_hz = SR / x.len() as f32;
    let (peak_bin, _) = spectrum.iter().enumerate().skip((30.0 / bin_hz) as usize).fold((0, 0.0), |best, (i, &p)| {
        if p > best.1 {
            (i, p)
        } else {
            best
        }
    });
    // Parabolic refinement of the peak bin.
    let y = |i: usize| spectrum.get(i).copied().unwrap_or(0.0).max(1e-30).ln();
    let (a, b, c) = (y(peak_bin - 1), y(peak_bin), y(peak_bin + 1));
    let offset = 0.5 * (a - c) / (a - 2.0 * b + c);
    let peak_hz = (peak_bin as f64 + if offset.is_finite() { offset } else { 0.0 }) as f32 * bin_hz;
    let harmonic = (peak_hz / f0).round().clamp(1.0, 32.0);
    cents(peak_hz, f0 * harmonic)
}

#[test]
fn every_sampler_preset_plays_in_tune() {
    let Some(data) = testdata_dir() else { return };
    let root = data.join("songwalker-library");
    let mut store = SampleStore::new();
    let (mut melodic, mut percussion, mut not_samplers) = (0, 0, 0);
    let mut worst = (0.0f32, String::new());
    let mut errors: Vec<f32> = Vec::new();
    for (path, preset) in library_presets(&root) {
        let built = match build_instrument(&preset, &path, &mut store) {
            Ok(built) => built,
            Err(InstrumentError::NotASampler { .. }) => {
                not_samplers += 1;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        for warning in &built.warnings {
            eprintln!("warning: {warning}");
        }
        let instrument = built.instrument;
        if preset.tags.iter().any(|t| t == "percussion") {
            let key = instrument.regions().next().unwrap().keys.low;
            let x = play(Bank::single(instrument), key, 24_000);
            let onset = first_onset(&x, 1e-4).unwrap_or_else(|| panic!("{}: silent", preset.name));
            assert!((100..110).contains(&onset), "{}: starts at {onset}", preset.name);
            assert!(rms(&x) > 1e-3, "{}: too quiet", preset.name);
            percussion += 1;
            continue;
        }
        let keys: Vec<u8> = instrument
            .regions()
            .map(|r| {
                let above = r.root_key.saturating_add(1);
                if r.keys.contains(above) {
                    above
                } else if r.root_key > 0 && r.keys.contains(r.root_key - 1) {
                    r.root_key - 1
                } else {
                    r.keys.low
                }
            })
            .collect();
        for key in keys {
            let x = play(Bank::single(instrument.clone()), key, 24_000);
            let body = &x[2_400..2_400 + 16_384];
            assert!(rms(body) > 1e-3, "{} key {key}: silent", preset.name);
            let f0 = 440.0 * ((key as f32 - 69.0) / 12.0).exp2();
            let error = harmonic_error_cents(body, f0);
            if error.abs() > worst.0.abs() {
                worst = (error, format!("{} key {key}", preset.name));
            }
            errors.push(error.abs());
            // Recordings are not perfectly in tune (the piano's top octave is stretch-tuned by
            // ~+27 cents, the distorted guitar's partials wander); errors of the kinds that
            // matter are far larger: a wrong sample rate (44.1 vs 48 kHz) is 147 cents, a
            // fine-tune sign error 160–200 cents in this subset, a wrong root 100.
            assert!(error.abs() < 35.0, "{} key {key}: {error:.1} cents from a harmonic of {f0:.1} Hz", preset.name);
        }
        melodic += 1;
    }
    errors.sort_by(f32::total_cmp);
    let median = errors[errors.len() / 2];
    println!(
        "{melodic} melodic and {percussion} percussion presets played, {} keys; median pitch error {median:.1} cents, worst {:.1} ({})",
        errors.len(),
        worst.0,
        worst.1
    );
    // Systematic errors (tuning applied the wrong way, rate mix-ups) would move the median.
    assert!(median < 5.0, "median pitch error {median} cents");
    assert_eq!((melodic, percussion), (6, 6), "the subset's sampler presets");
    assert_eq!(not_samplers, 7, "oscillator and effect presets are not sampler instruments");
}

#[test]
fn lookup_by_name_builds_the_instrument() {
    let Some(data) = testdata_dir() else { return };
    let root = data.join("songwalker-library");
    let mut store = SampleStore::new();
    let built = load_instrument(&root, "SBLive/Acoustic Bass", &mut store).unwrap();
    assert_eq!(built.instrument.region_count(), 6);
    // The raw samples decode at their declared rate.
    assert!(built.instrument.regions().all(|r| r.sample.sample_rate_hz > 0 && r.sample.frames() > 100));
    let err = load_instrument(&root, "_shared/Sine", &mut store).unwrap_err();
    assert!(err.to_string().contains("oscillator preset, not a sampler"), "{err}");
}
