//! SoundFont 2 import end to end: a small SF2 file written by the test kit
//! (`noderack_tests::sf2_builder`) is read, its mapped values checked, and it is played
//! through the real sampler node, asserting on the audio (pitch by FFT, loop sustain,
//! attenuation and velocity in dB, program change, the percussion bank on channel 10,
//! exclusive classes). Broken files must fail with a message, never a panic. The system's
//! General MIDI SoundFonts (TimGM6mb, FluidR3) load and play in tune.

use std::sync::Arc;

use noderack_host::TimedMidi;
use noderack_nodes::sampler::Sampler;
use noderack_presets::instrument::{
    Bank, FilterKind, LoopMode, ModSource, ModTarget, NoteRange, ProgramNumber, PERCUSSION_BANK,
};
use noderack_presets::sample::SampleStore;
use noderack_presets::sf2::{read_bank, Sf2Bank};
use noderack_tests::analysis::{band_energy, cents, peak_frequency_hz, rms};
use noderack_tests::midi::{note_off, note_on, program_change};
use noderack_tests::sf2_builder::{gen, range, sine_points, SampleDef, Sf2Builder, ZoneDef};
use noderack_tests::{soundfont, Rig};

const SR: f32 = 48_000.0;

// Generator operators used by the fixture (SF2 2.04 section 8.1.2).
const FILTER_FC: u16 = 8;
const FILTER_Q: u16 = 9;
const PAN: u16 = 17;
const ATTACK: u16 = 34;
const DECAY: u16 = 36;
const SUSTAIN: u16 = 37;
const RELEASE: u16 = 38;
const KEY_RANGE: u16 = 43;
const VEL_RANGE: u16 = 44;
const ATTENUATION: u16 = 48;
const COARSE_TUNE: u16 = 51;
const FINE_TUNE: u16 = 52;
const SAMPLE_MODES: u16 = 54;
const SCALE_TUNING: u16 = 56;
const EXCLUSIVE_CLASS: u16 = 57;
const ROOT_KEY: u16 = 58;

/// 440 Hz recorded at 44 kHz (100 frames a period), key 69, looped over its second half.
const A440: u16 = 0;
/// 600 Hz at 48 kHz (80 frames a period), marked key 74 with a -20 cent pitch correction.
const E600: u16 = 1;

/// The fixture:
/// - bank 0 program 0 "Lead": instrument "Sine" (global: loop, 0.5 s release), keys 0–71 on
///   A440 as recorded, keys 72–127 with root key 57 overridden and +1 semitone +50 cents.
/// - bank 0 program 1 "Lead -6 dB": the same instrument, with a preset-level (added)
///   attenuation of 150 cB (= 6 dB at the 0.4 EMU scale).
/// - bank 0 program 2 "Velocity": preset velocities 0–100 over instrument velocities 50–127,
///   with a low-pass at 9000 cents (1480 Hz).
/// - bank 0 program 5 "Six": E600 with a preset-level fine tune of +30 cents (added to the
///   sample's -20), pan +50 %, attack 0.25 s, decay 1 s to -6 dB.
/// - bank 128 program 0 "Kit": key 36 plays E600 at its root (scale tuning 0); keys 42 (E600
///   a fifth up) and 46 (A440) share exclusive class 1.
fn fixture() -> Sf2Builder {
    let mut b = Sf2Builder::new();
    let mut a440 = SampleDef::mono("A440", sine_points(440.0, 44_000, 0.5, 0.5), 44_000, 69);
    a440.loop_points = (11_000, 22_000);
    b.sample(a440);
    let mut e600 = SampleDef::mono("E600", sine_points(600.0, 48_000, 0.5, 0.5), 48_000, 74);
    e600.pitch_correction_cents = -20;
    e600.loop_points = (12_000, 24_000);
    b.sample(e600);

    let sine = b.instrument(
        "Sine",
        vec![
            ZoneDef::global(vec![gen(SAMPLE_MODES, 1), gen(RELEASE, -1200)]),
            ZoneDef::to(A440, vec![range(KEY_RANGE, 0, 71)]),
            ZoneDef::to(
                A440,
                vec![range(KEY_RANGE, 72, 127), gen(ROOT_KEY, 57), gen(COARSE_TUNE, 1), gen(FINE_TUNE, 50)],
            ),
        ],
    );
    let six = b.instrument(
        "Six hundred",
        vec![ZoneDef::to(
            E600,
            vec![gen(SAMPLE_MODES, 1), gen(PAN, 250), gen(ATTACK, -2400), gen(DECAY, 0), gen(SUSTAIN, 60)],
        )],
    );
    let kit = b.instrument(
        "Kit",
        vec![
            ZoneDef::to(E600, vec![range(KEY_RANGE, 36, 36), gen(SCALE_TUNING, 0)]),
            ZoneDef::to(
                E600,
                vec![
                    range(KEY_RANGE, 42, 42),
                    gen(SAMPLE_MODES, 1),
                    gen(SCALE_TUNING, 0),
                    gen(COARSE_TUNE, 7),
                    gen(EXCLUSIVE_CLASS, 1),
                ],
            ),
            ZoneDef::to(
                A440,
                vec![range(KEY_RANGE, 46, 46), gen(SAMPLE_MODES, 1), gen(SCALE_TUNING, 0), gen(EXCLUSIVE_CLASS, 1)],
            ),
        ],
    );
    let layered = b.instrument(
        "Layer",
        vec![ZoneDef::to(
            A440,
            vec![range(VEL_RANGE, 50, 127), gen(SAMPLE_MODES, 1), gen(FILTER_FC, 9000), gen(FILTER_Q, 30)],
        )],
    );
    b.preset("Lead", 0, 0, vec![ZoneDef::to(sine, vec![])]);
    b.preset("Lead -6 dB", 0, 1, vec![ZoneDef::global(vec![gen(ATTENUATION, 150)]), ZoneDef::to(sine, vec![])]);
    b.preset("Velocity", 0, 2, vec![ZoneDef::to(layered, vec![range(VEL_RANGE, 0, 100)])]);
    b.preset("Six", 0, 5, vec![ZoneDef::to(six, vec![gen(FINE_TUNE, 30)])]);
    b.preset("Kit", PERCUSSION_BANK, 0, vec![ZoneDef::to(kit, vec![])]);
    b
}

fn load(bytes: &[u8]) -> Sf2Bank {
    read_bank(bytes, "fixture.sf2", &mut SampleStore::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn program(bank: &Bank, bank_number: u16, program: u8) -> &noderack_presets::instrument::Instrument {
    bank.programs
        .get(&ProgramNumber { bank: bank_number, program })
        .unwrap_or_else(|| panic!("bank {bank_number} program {program} missing"))
}

fn play(bank: Bank, seconds: f32, midi: &[TimedMidi]) -> Vec<Vec<f32>> {
    let mut rig = Rig::stereo(256);
    rig.add_instrument(Sampler::new(Some(Arc::new(bank)), 64), vec![]);
    rig.render((seconds * SR) as u64, midi)
}

fn seconds(x: &[f32], from: f32, to: f32) -> &[f32] {
    &x[(from * SR) as usize..(to * SR) as usize]
}

fn db(ratio: f32) -> f32 {
    20.0 * ratio.log10()
}

#[test]
fn fixture_generators_map_onto_regions() {
    let sf2 = load(&fixture().build());
    let bank = &sf2.bank;
    assert_eq!(bank.programs.len(), 5);

    let lead = program(bank, 0, 0);
    assert_eq!(lead.name, "Lead");
    let regions: Vec<_> = lead.regions().collect();
    assert_eq!(regions.len(), 2);
    let (low, high) = (regions[0], regions[1]);
    assert_eq!(low.keys, NoteRange { low: 0, high: 71 });
    assert_eq!((low.root_key, low.tune_cents, low.keytrack_cents), (69, 0.0, 100.0));
    assert_eq!(low.loop_mode, LoopMode::Continuous);
    let l = low.sample_loop.expect("loop");
    assert_eq!((l.start_frames, l.end_frames), (11_000.0, 22_000.0));
    assert_eq!((low.offset_frames, low.end_frames), (0.0, 22_000.0));
    assert_eq!(low.sample.sample_rate_hz, 44_000);
    assert!((low.amp_envelope.release_seconds - 0.5 * 0.6).abs() < 1e-4, "{:?}", low.amp_envelope);
    assert_eq!(low.gain_db, 0.0);
    // At the default cutoff the filter is there only for the default velocity → cutoff
    // modulator to move (the sampler leaves it out of voices below velocity 64).
    let open = low.filter.expect("a filter the velocity modulator moves");
    assert!((open.cutoff_hz - 19_912.0).abs() < 2.0, "{}", open.cutoff_hz);
    let velocity_routes: Vec<_> = low.modulation.routes.iter().filter(|r| r.target == ModTarget::CutoffCents).collect();
    assert_eq!(velocity_routes.len(), 1, "{:?}", low.modulation.routes);
    assert_eq!((velocity_routes[0].input.source, velocity_routes[0].amount), (ModSource::Velocity, -2400.0));
    assert_eq!(high.keys, NoteRange { low: 72, high: 127 });
    assert_eq!((high.root_key, high.tune_cents), (57, 150.0));
    // Both regions play the same sample header: one shared buffer.
    assert!(Arc::ptr_eq(&low.sample, &high.sample));

    let quiet = program(bank, 0, 1).regions().next().unwrap();
    assert!((quiet.gain_db + 6.0).abs() < 1e-4, "{}", quiet.gain_db);

    let velocity = program(bank, 0, 2).regions().next().unwrap();
    assert_eq!(velocity.velocities, NoteRange { low: 50, high: 100 });
    let f = velocity.filter.expect("filter");
    assert_eq!(f.kind, FilterKind::LowPass);
    assert!((f.cutoff_hz - 1480.0).abs() < 1.0, "{}", f.cutoff_hz);
    assert!((f.resonance_db - (3.0 - 3.01)).abs() < 1e-4);

    let six = program(bank, 0, 5).regions().next().unwrap();
    assert_eq!((six.root_key, six.tune_cents), (74, 10.0)); // -20 correction + 30 preset fine tune
    assert!((six.pan - 0.5).abs() < 1e-6);
    let e = six.amp_envelope;
    assert!((e.attack_seconds - 0.25).abs() < 1e-4);
    assert!((e.sustain_level - 10f32.powf(-6.0 / 20.0)).abs() < 1e-4);
    assert!((e.decay_seconds - 0.06).abs() < 1e-4); // 1 s per 100 dB, 6 dB of it

    let kit: Vec<_> = program(bank, PERCUSSION_BANK, 0).regions().collect();
    assert_eq!(kit[0].keytrack_cents, 0.0);
    assert_eq!(kit[0].loop_mode, LoopMode::NoLoop);
    assert_eq!(kit[0].choke_group, 0);
    assert!(kit[1].choke_group != 0 && kit[1].choke_group == kit[2].choke_group);
    assert_eq!(kit[2].off_by, Some(kit[1].choke_group));
}

#[test]
fn root_key_coarse_fine_tune_and_pitch_correction_give_the_pitch() {
    let bank = load(&fixture().build()).bank;
    let cases: [(u8, u8, u8, f32); 5] = [
        (0, 0, 69, 440.0),                                               // recorded pitch on its key
        (0, 0, 60, 440.0 * (-9.0f32 / 12.0).exp2()),                     // keytracking
        (0, 0, 74, 440.0 * ((17.0 * 100.0 + 150.0) / 1200.0f32).exp2()), // root 57, +150 cents
        (9, 0, 36, 600.0 * (-20.0f32 / 1200.0).exp2()),                  // pitch correction, no keytrack
        (0, 5, 74, 600.0 * (10.0f32 / 1200.0).exp2()),                   // correction + preset fine tune
    ];
    for (channel, prog, key, expected) in cases {
        let midi = [program_change(0, channel, prog), note_on(0, channel, key, 127)];
        let out = play(bank.clone(), 0.8, &midi);
        let x = seconds(&out[0], 0.3, 0.8); // past program 5's 0.25 s attack
        let error = cents(peak_frequency_hz(x, SR), expected);
        assert!(error.abs() < 2.0, "channel {channel} program {prog} key {key}: {error} cents off {expected} Hz");
    }
}

#[test]
fn loop_sustains_a_held_note_past_the_end_of_its_sample() {
    let bank = load(&fixture().build()).bank;
    let out = play(bank, 2.0, &[note_on(0, 0, 69, 127)]);
    let early = rms(seconds(&out[0], 0.1, 0.4));
    let late = rms(seconds(&out[0], 1.5, 2.0)); // the sample lasts 0.5 s
    assert!(early > 0.1, "{early}");
    assert!(db(late / early).abs() < 0.2, "early {early}, late {late}");
    assert!(cents(peak_frequency_hz(seconds(&out[0], 1.0, 2.0), SR), 440.0).abs() < 2.0);
}

#[test]
fn attenuation_and_velocity_change_the_level_by_the_expected_db() {
    let bank = load(&fixture().build()).bank;
    let level = |prog: u8, velocity: u8| {
        let out = play(bank.clone(), 0.5, &[program_change(0, 0, prog), note_on(0, 0, 69, velocity)]);
        rms(seconds(&out[0], 0.1, 0.5))
    };
    let full = level(0, 127);
    let attenuated = db(level(1, 127) / full);
    assert!((attenuated + 6.0).abs() < 0.1, "150 cB preset attenuation gave {attenuated} dB");
    // SF2's default velocity modulator: 960 cB concave = 40·log10(v/127) dB.
    let expected = 40.0 * (64.0f32 / 127.0).log10();
    let soft = db(level(0, 64) / full);
    assert!((soft - expected).abs() < 0.1, "velocity 64 gave {soft} dB, expected {expected}");
}

#[test]
fn preset_and_instrument_velocity_ranges_intersect() {
    let bank = load(&fixture().build()).bank;
    for (velocity, sounds) in [(30u8, false), (49, false), (50, true), (100, true), (101, false), (127, false)] {
        let out = play(bank.clone(), 0.3, &[program_change(0, 0, 2), note_on(0, 0, 69, velocity)]);
        let level = rms(seconds(&out[0], 0.1, 0.3));
        assert_eq!(level > 1e-3, sounds, "velocity {velocity}: rms {level}");
    }
}

#[test]
fn program_change_switches_presets() {
    let bank = load(&fixture().build()).bank;
    let change_at = (0.5 * SR) as u64;
    let midi = [
        note_on(0, 0, 74, 127),
        note_off(change_at, 0, 74),
        program_change(change_at, 0, 5),
        note_on(change_at, 0, 74, 127),
    ];
    let out = play(bank, 1.6, &midi);
    let before = peak_frequency_hz(seconds(&out[0], 0.1, 0.5), SR);
    let after = peak_frequency_hz(seconds(&out[0], 1.1, 1.6), SR); // past the 0.3 s release
    assert!(cents(before, 1282.0).abs() < 5.0, "program 0 played {before} Hz");
    assert!(cents(after, 600.0 * (10.0f32 / 1200.0).exp2()).abs() < 2.0, "program 5 played {after} Hz");
}

#[test]
fn channel_10_plays_the_percussion_bank() {
    let bank = load(&fixture().build()).bank;
    // Key 36 on channel 1 plays "Lead" (keytracked A440: 65.4 Hz); on channel 10 the kit.
    let melodic = play(bank.clone(), 0.5, &[note_on(0, 0, 36, 127)]);
    let drums = play(bank, 0.5, &[note_on(0, 9, 36, 127)]);
    let f_melodic = peak_frequency_hz(seconds(&melodic[0], 0.05, 0.45), SR);
    let f_drums = peak_frequency_hz(seconds(&drums[0], 0.05, 0.45), SR);
    assert!(cents(f_melodic, 440.0 / 2f32.powf(33.0 / 12.0)).abs() < 5.0, "{f_melodic}");
    assert!(cents(f_drums, 593.1).abs() < 2.0, "{f_drums}");
}

#[test]
fn exclusive_class_chokes_the_other_note_of_its_class() {
    let bank = load(&fixture().build()).bank;
    let second = (0.5 * SR) as u64;
    let out = play(bank, 1.0, &[note_on(0, 9, 46, 127), note_on(second, 9, 42, 127)]);
    let (before, after) = (seconds(&out[0], 0.1, 0.5), seconds(&out[0], 0.6, 1.0));
    let a440 = |x: &[f32]| band_energy(x, SR, 420.0, 460.0);
    let fifth = |x: &[f32]| band_energy(x, SR, 860.0, 920.0);
    assert!(a440(before) > 1e3 * fifth(before), "only key 46 sounds at first");
    let drop_db = 10.0 * (a440(after) / a440(before)).log10();
    assert!(drop_db < -60.0, "key 46 must be silenced by key 42 of the same class: {drop_db} dB");
    assert!(fifth(after) > 1e3 * a440(after), "key 42 sounds");
}

#[test]
fn notes_of_different_classes_do_not_choke() {
    // Control for the test above: key 36 (no class) keeps sounding under key 42.
    let mut b = fixture();
    // Give key 36's zone a loop so it sustains; it has no exclusive class.
    b.instruments[2].1[0].generators.push(gen(SAMPLE_MODES, 1));
    let bank_looped = load(&b.build()).bank;
    let out = play(bank_looped, 1.0, &[note_on(0, 9, 36, 127), note_on((0.5 * SR) as u64, 9, 42, 127)]);
    let near = |x: &[f32]| band_energy(x, SR, 580.0, 610.0);
    let ratio_db = 10.0 * (near(seconds(&out[0], 0.6, 1.0)) / near(seconds(&out[0], 0.1, 0.5))).log10();
    assert!(ratio_db.abs() < 1.0, "key 36 changed by {ratio_db} dB");
}

#[test]
fn truncated_files_fail_with_a_message_never_a_panic() {
    let bytes = fixture().build();
    let mut cuts: Vec<usize> = vec![0, 3, 4, 8, 11, 12, 16, 20, bytes.len() / 2, bytes.len() - 47, bytes.len() - 1];
    cuts.extend((0..bytes.len()).step_by(997));
    for cut in cuts {
        let error = read_bank(&bytes[..cut], "cut.sf2", &mut SampleStore::new()).err();
        let message = error.unwrap_or_else(|| panic!("a file cut at byte {cut} of {} loaded", bytes.len())).to_string();
        assert!(message.starts_with("cut.sf2: "), "{message}");
    }
}

#[test]
fn corrupt_bytes_never_panic() {
    // Overwrite bytes of the hydra one at a time: whatever loads or fails, nothing panics.
    let bytes = fixture().build();
    let pdta = bytes.windows(4).position(|w| w == b"pdta").unwrap();
    for at in (pdta..bytes.len()).step_by(3) {
        for value in [0x00u8, 0x7f, 0xff] {
            let mut broken = bytes.clone();
            broken[at] = value;
            let _ = read_bank(&broken, "corrupt.sf2", &mut SampleStore::new());
        }
    }
}

#[test]
fn wrong_form_and_bad_records_name_what_is_wrong() {
    let message = |bytes: &[u8]| read_bank(bytes, "bad.sf2", &mut SampleStore::new()).unwrap_err().to_string();

    let mut wave = fixture().build();
    wave[8..12].copy_from_slice(b"WAVE");
    assert_eq!(message(&wave), "bad.sf2: RIFF form is `WAVE`, not `sfbk` (not a SoundFont 2 file)");
    assert_eq!(message(b"not a riff file at all"), "bad.sf2: not a RIFF file");

    // Sample 1's end pointing past the sample data.
    let mut bytes = fixture().build();
    let shdr = bytes.windows(4).rposition(|w| w == b"shdr").unwrap() + 8;
    let end_field = shdr + 46 + 24;
    bytes[end_field..end_field + 4].copy_from_slice(&10_000_000u32.to_le_bytes());
    let m = message(&bytes);
    assert!(
        m.starts_with("bad.sf2: sample 1 \"E600\": data ") && m.contains("out of range of the `smpl` chunk"),
        "{m}"
    );

    // A preset zone naming an instrument that does not exist.
    let mut b = fixture();
    b.presets[0].3[0].target = Some(9);
    let m = message(&b.build());
    assert_eq!(m, "bad.sf2: preset 0 \"Lead\" zone 0: instrument 9 is out of range (4 instruments)");

    // An instrument zone naming a sample that does not exist.
    let mut b = fixture();
    b.instruments[1].1[0].target = Some(7);
    let m = message(&b.build());
    assert_eq!(m, "bad.sf2: instrument 1 \"Six hundred\" zone 0: sample 7 is out of range (2 samples)");

    // A bag pointing past the generator list.
    let mut bytes = fixture().build();
    let ibag = bytes.windows(4).position(|w| w == b"ibag").unwrap() + 8;
    bytes[ibag + 4..ibag + 6].copy_from_slice(&500u16.to_le_bytes());
    let m = message(&bytes);
    assert!(m.starts_with("bad.sf2: instrument 0 \"Sine\" zone 0: generators 0..500 are out of range"), "{m}");
}

/// Loads a system SoundFont and checks what every GM bank must have.
fn general_midi(name: &str, min_presets: usize) -> Option<Bank> {
    let path = soundfont(name)?;
    let started = std::time::Instant::now();
    let sf2 = noderack_presets::sf2::load_bank(&path, &mut SampleStore::new()).unwrap_or_else(|e| panic!("{e}"));
    let regions: usize = sf2.bank.programs.values().map(|i| i.region_count()).sum();
    let most = sf2.bank.programs.values().map(|i| i.region_count()).max().unwrap_or(0);
    eprintln!(
        "{name}: {} presets, {regions} regions (at most {most} in one) in {:.2} s",
        sf2.bank.programs.len(),
        started.elapsed().as_secs_f64()
    );
    for warning in &sf2.warnings {
        eprintln!("  {warning}");
    }
    let bank = sf2.bank;
    assert!(bank.programs.len() >= min_presets, "{} presets", bank.programs.len());
    let piano = program(&bank, 0, 0);
    assert!(piano.name.to_lowercase().contains("piano"), "{}", piano.name);
    assert!(piano.region_count() > 0);
    let kit = program(&bank, PERCUSSION_BANK, 0);
    assert!(kit.regions().any(|r| r.keys.contains(36)), "no kick in {}", kit.name);
    Some(bank)
}

/// Piano notes A3, A4 and C6 play at their equal-tempered pitch.
fn piano_in_tune(bank: Bank, tolerance_cents: f32) {
    for key in [57u8, 69, 84] {
        let out = play(bank.clone(), 0.6, &[note_on(0, 0, key, 100)]);
        let x = seconds(&out[0], 0.1, 0.6);
        assert!(rms(x) > 1e-3, "key {key} is silent");
        let expected = 440.0 * ((key as f32 - 69.0) / 12.0).exp2();
        let error = cents(peak_frequency_hz(x, SR), expected);
        assert!(error.abs() < tolerance_cents, "piano key {key}: {error} cents off");
    }
}

/// A SoundFont file is read once: every 16-bit sample of the bank is a view into one buffer
/// holding the file, so the samples take no memory beyond the file's own size.
#[test]
fn soundfont_samples_are_views_into_the_file_read_once() {
    use noderack_presets::sample::SampleData;
    let Some(path) = soundfont("TimGM6mb.sf2") else { return };
    let sf2 = noderack_presets::sf2::load_bank(&path, &mut SampleStore::new()).unwrap();
    let channels: Vec<_> = sf2
        .bank
        .programs
        .values()
        .flat_map(|i| i.regions())
        .map(|r| match &r.sample.data {
            SampleData::I16(c) => c[0].clone(),
            SampleData::F32(_) => panic!("TimGM6mb is 16-bit: its samples are held as 16-bit"),
        })
        .collect();
    assert!(channels.len() > 100);
    assert!(channels.iter().all(|c| c.shares_buffer(&channels[0])), "one buffer for the whole file");
    let file_bytes = std::fs::metadata(&path).unwrap().len() as usize;
    assert_eq!(channels[0].buffer_points(), file_bytes.div_ceil(2), "the buffer is the file, nothing more");
    // The same file read from bytes (no shared buffer) plays the same samples.
    let copied =
        noderack_presets::sf2::read_bank(&std::fs::read(&path).unwrap(), "t", &mut SampleStore::new()).unwrap();
    let (a, b) =
        (program(&sf2.bank, 0, 0).regions().next().unwrap(), program(&copied.bank, 0, 0).regions().next().unwrap());
    assert_eq!(a.sample.data, b.sample.data);
}

/// Loading only the programs a song plays reads their presets (with General MIDI fallbacks
/// resolved against the whole file) and plays them exactly as the whole bank does.
#[test]
fn loading_only_the_played_programs_plays_them_identically() {
    let Some(path) = soundfont("TimGM6mb.sf2") else { return };
    let full = noderack_presets::sf2::load_bank(&path, &mut SampleStore::new()).unwrap().bank;
    let wanted = [
        ProgramNumber { bank: 0, program: 0 },
        ProgramNumber { bank: 0, program: 40 },
        // A bank the file lacks: its bank-0 program plays, so that is what gets loaded.
        ProgramNumber { bank: 5, program: 73 },
        ProgramNumber { bank: PERCUSSION_BANK, program: 0 },
    ];
    let some = noderack_presets::sf2::load_bank_for(&path, &mut SampleStore::new(), &wanted).unwrap().bank;
    let numbers: Vec<_> = some.programs.keys().copied().collect();
    let expected: Vec<_> = [(0, 0), (0, 40), (0, 73), (PERCUSSION_BANK, 0)]
        .iter()
        .map(|&(bank, program)| ProgramNumber { bank, program })
        .collect();
    assert_eq!(numbers, expected);
    let midi = [
        note_on(0, 0, 60, 100),
        TimedMidi { frame: 0, message: noderack_graph::MidiMessage::ProgramChange { channel: 1, program: 73 } },
        note_on(100, 1, 72, 90),
        note_on(200, 9, 36, 120),
    ];
    let (a, b) = (play(full, 1.0, &midi), play(some, 1.0, &midi));
    assert!(rms(&a[0]) > 1e-3);
    assert!(a == b, "the partly loaded bank plays bit-identically");
}

#[test]
fn timgm6mb_loads_and_its_piano_plays_in_tune() {
    let Some(bank) = general_midi("TimGM6mb.sf2", 128) else { return };
    piano_in_tune(bank, 10.0);
}

#[test]
fn fluidr3_loads_and_its_piano_plays_in_tune() {
    let Some(bank) = general_midi("FluidR3_GM.sf2", 128) else { return };
    // Its piano is a stereo pair: left and right samples as hard-panned regions.
    let piano: Vec<_> = program(&bank, 0, 0).regions().collect();
    assert!(piano.iter().any(|r| r.pan <= -0.99) && piano.iter().any(|r| r.pan >= 0.99));
    piano_in_tune(bank, 10.0);
}

/// Loading for a known song reads only the zones its notes reach: a preset split by key (low
/// zone 220 Hz, high zone 880 Hz) under a preset zone that takes velocities up to 100. A song
/// playing key 48 at velocity 90 reads the low zone's sample and not the high one's (left as
/// unread silence), and sounds exactly as the whole file loaded does; a note at velocity 120
/// reaches nothing, so nothing is read.
#[test]
fn a_load_for_known_notes_reads_only_the_zones_they_reach_and_plays_identically() {
    use noderack_presets::sample::SampleData;
    use noderack_presets::sf2::{load_bank, load_bank_for_notes, PlayedNote};
    let mut b = Sf2Builder::new();
    let low = b.sample(SampleDef::mono("Low", sine_points(220.0, 48_000, 0.5, 0.5), 48_000, 57));
    let high = b.sample(SampleDef::mono("High", sine_points(880.0, 48_000, 0.5, 0.5), 48_000, 81));
    let split = b.instrument(
        "Split",
        vec![ZoneDef::to(low, vec![range(KEY_RANGE, 0, 59)]), ZoneDef::to(high, vec![range(KEY_RANGE, 60, 127)])],
    );
    b.preset("Soft", 0, 0, vec![ZoneDef::to(split, vec![range(VEL_RANGE, 0, 100)])]);
    let dir = noderack_tests::fixtures::scratch_dir("sf2-notes");
    let path = dir.join("split.sf2");
    std::fs::write(&path, b.build()).unwrap();

    let first_points = |bank: &Bank, key: u8| -> Vec<i16> {
        let region = program(bank, 0, 0).regions().find(|r| r.keys.contains(key)).expect("a zone");
        match &region.sample.data {
            SampleData::I16(channels) => channels[0][..1000].to_vec(),
            SampleData::F32(_) => panic!("16-bit source"),
        }
    };
    let soft = |velocity| PlayedNote { program: ProgramNumber { bank: 0, program: 0 }, key: 48, velocity };
    let full = load_bank(&path, &mut SampleStore::new()).unwrap().bank;
    let song = load_bank_for_notes(&path, &mut SampleStore::new(), &[soft(90)]).unwrap().bank;
    assert_eq!(first_points(&song, 48), first_points(&full, 48), "the low zone is read");
    assert!(first_points(&full, 72).iter().any(|&p| p != 0));
    assert!(first_points(&song, 72).iter().all(|&p| p == 0), "the high zone is not");
    let midi = [note_on(0, 0, 48, 90), note_off(24_000, 0, 48)];
    let (a, b) = (play(full, 1.0, &midi), play(song, 1.0, &midi));
    assert!(rms(&a[0]) > 1e-3);
    assert!(a == b, "the song sounds exactly as with the whole file");

    let loud = load_bank_for_notes(&path, &mut SampleStore::new(), &[soft(120)]).unwrap().bank;
    assert!(first_points(&loud, 48).iter().all(|&p| p == 0), "velocity 120 is outside the preset zone");
}

/// The same on a real General MIDI file and bank: `dense60.mid`'s notes (as `noderack render
/// --soundfont` lists them) through TimGM6mb, loaded for those notes only, play bit-identically
/// to the programs loaded whole.
#[test]
fn a_real_song_plays_identically_from_the_zones_its_notes_reach() {
    use noderack_presets::sf2::{load_bank_for, load_bank_for_notes, PlayedNote};
    let Some(path) = soundfont("TimGM6mb.sf2") else { return };
    let Some(song) = noderack_tests::testdata_dir().map(|d| d.join("midi/dense60.mid")) else { return };
    let midi: Vec<TimedMidi> = noderack_host::midi_file::read_midi_file(&song, f64::from(SR)).unwrap().events;
    let notes = PlayedNote::all_in(midi.iter().map(|e| e.message));
    let mut wanted: Vec<ProgramNumber> = notes.iter().map(|n| n.program).collect();
    wanted.dedup();
    let whole = load_bank_for(&path, &mut SampleStore::new(), &wanted).unwrap().bank;
    let reached = load_bank_for_notes(&path, &mut SampleStore::new(), &notes).unwrap().bank;
    let first_seconds: Vec<TimedMidi> = midi.iter().filter(|e| e.frame < 20 * SR as u64).copied().collect();
    let (a, b) = (play(whole, 20.0, &first_seconds), play(reached, 20.0, &first_seconds));
    assert!(rms(&a[0]) > 1e-3);
    assert!(a == b, "bit-identical");
}
