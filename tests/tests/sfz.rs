//! The SFZ importer: every sfizz test file loads (with the facts sfizz's own tests check), and
//! instruments written here play as written through the real sampler node — pitch, velocity
//! layers, round robin, loops, choke groups, polyphony, release triggers, filters — with
//! warnings and errors that name the file and line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use noderack_host::TimedMidi;
use noderack_nodes::sampler::Sampler;
use noderack_presets::instrument::{
    Bank, Crossfade, Envelope, FilterKind, Lfo, LfoWaveform, LoopDirection, LoopMode, ModCurve, ModInput, ModRoute,
    ModSource, ModTarget, NoteRange, Region, RoundRobin, SampleLoop, Trigger,
};
use noderack_presets::sample::SampleStore;
use noderack_presets::sfz::generated::CYCLE_FRAMES;
use noderack_presets::sfz::{load_sfz, Built, SfzError};
use noderack_tests::analysis::{
    band_energy, cents, cents_track, peak_frequency_hz, rms, track_period_seconds, track_swing,
};
use noderack_tests::fixtures::{scratch_dir, sine_wave, write_text, write_wav, write_wav_channels, ScratchDir};
use noderack_tests::midi::{cc, note_off, note_on, sorted};
use noderack_tests::Rig;

const SR: f32 = 48_000.0;

// ---------------------------------------------------------------- the sfizz test files

fn testfiles() -> Option<PathBuf> {
    Some(noderack_tests::testdata_dir()?.join("sfz/sfizz-testfiles"))
}

fn load(path: &Path) -> Built {
    load_sfz(path, &mut SampleStore::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn regions(built: &Built) -> Vec<&Region> {
    built.instrument.regions().collect()
}

fn keys(built: &Built) -> Vec<(u8, u8)> {
    built.instrument.regions().map(|r| (r.keys.low, r.keys.high)).collect()
}

/// Lines of the warnings about `file` whose message contains `text`.
fn warned_lines(built: &Built, file: &Path, text: &str) -> Vec<u32> {
    built.warnings.iter().filter(|w| w.file == file && w.message.contains(text)).map(|w| w.line).collect()
}

fn all_sfz_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("sfz")) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every `.sfz` in the sfizz test files loads (none of them is malformed SFZ: the "bad" ones
/// have missing samples, which are warnings), with the region counts sfizz's tests expect,
/// and every warning points at a file that was read and a line in it.
#[test]
fn every_sfizz_test_file_loads_with_the_expected_region_count() {
    let Some(dir) = testfiles() else { return };
    let expected: &[(&str, usize)] = &[
        ("Regions/regions_one.sfz", 1),
        ("Regions/regions_many.sfz", 3),
        ("Regions/regions_bad.sfz", 2),
        ("Regions/regions_opcodes.sfz", 1),
        ("Regions/underscore_opcodes.sfz", 1),
        ("Includes/root_local.sfz", 1),
        ("Includes/multiple_includes.sfz", 2),
        ("Includes/multiple_includes_with_comments.sfz", 2),
        ("Includes/root_subdir.sfz", 1),
        ("Includes/root_subdir_win.sfz", 1),
        ("Includes/root_recursive.sfz", 2),
        ("Includes/root_loop.sfz", 2),
        ("defines.sfz", 4),
        ("groups_avl.sfz", 5),
        ("basic_hierarchy.sfz", 8),
        ("basic_hierarchy_antislash.sfz", 8),
        ("SpecificBugs/MeatBassPizz/Programs/pizz.sfz", 4),
        ("SpecificBugs/wrong-replacements.sfz", 3),
        ("SpecificBugs/win_backslashes.sfz", 1),
        ("channels.sfz", 2),
        ("wavetables.sfz", 12),
        ("wavetables_embedded.sfz", 7),
        ("default_path.sfz", 4),
        ("default_path_reset.sfz", 1),
        ("default_path_generator.sfz", 1),
        ("looped_regions.sfz", 3),
        ("case_insensitive.sfz", 4),
        ("sample_keycenter_embedded.sfz", 6),
        ("labels_sw.sfz", 3),
        ("off_by.sfz", 4),
        ("off_mode.sfz", 3),
        ("kick_embedded.sfz", 1),
        ("dollar_include_main.sfz", 1),
        // 190 regions, 63 of them disabled with end=-1 (each skipped with a warning).
        ("newdrums_flat.sfz", 127),
    ];
    let files = all_sfz_files(&dir);
    assert!(files.len() >= 49, "only {} .sfz files found in {}", files.len(), dir.display());
    for file in &files {
        let built = load(file);
        for w in &built.warnings {
            assert!(built.files.contains(&w.file), "{w}: not a file that was read");
            let lines = std::fs::read_to_string(&w.file).unwrap().lines().count() as u32;
            assert!(w.line <= lines && (w.line > 0 || w.message == "no playable regions"), "{w}: bad line");
        }
        let name = file.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
        if let Some((_, count)) = expected.iter().find(|(n, _)| *n == name) {
            assert_eq!(built.instrument.region_count(), *count, "{name}: {:#?}", built.warnings);
        }
    }
    // A file meant to be read only through an include has its sample beside the top file:
    // alone, its region is skipped and said so.
    let alone = load(&dir.join("Includes/subdir/included_subdir.sfz"));
    assert_eq!(alone.instrument.region_count(), 0);
    assert!(alone.warnings.iter().any(|w| w.line == 1 && w.message.contains("dummy_subdir.wav not found")));
}

#[test]
fn basic_hierarchy_inherits_global_master_and_group_opcodes() {
    let Some(dir) = testfiles() else { return };
    for name in ["basic_hierarchy.sfz", "basic_hierarchy_antislash.sfz"] {
        let file = dir.join(name);
        let built = load(&file);
        assert_eq!(keys(&built), [(60, 60), (61, 61), (50, 50), (51, 51), (40, 40), (41, 41), (30, 30), (31, 31)]);
        // key= also sets the root key.
        assert!(built.instrument.regions().all(|r| r.root_key == r.keys.low));
        let pans: Vec<f32> = built.instrument.regions().map(|r| r.pan).collect();
        assert_eq!(pans, [0.3, 0.3, 0.3, 0.3, -0.1, -0.1, -0.1, -0.1]);
        assert_eq!(built.instrument.groups.len(), 4, "one model group per <group>");
        // Backslashes in sample paths find the same file.
        let dummy = store_sample(&dir.join("Regions/dummy.wav"));
        assert!(built.instrument.regions().all(|r| r.sample.sha256 == dummy));
        // `<global> width=40` and each group's `delay` (added to the amplitude envelope's delay).
        assert!(built.instrument.regions().all(|r| r.width == 0.4));
        let delays: Vec<f32> = built.instrument.regions().map(|r| r.amp_envelope.delay_seconds).collect();
        assert_eq!(delays, [67.0, 67.0, 56.0, 56.0, 47.0, 47.0, 36.0, 36.0]);
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    }
}

#[test]
fn defines_are_substituted_in_values_opcode_names_and_includes() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("defines.sfz"));
    assert_eq!(&keys(&built)[..3], [(36, 36), (38, 38), (42, 42)]);
    assert_eq!(regions(&built)[3].gain_db, -12.0);
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);

    // Shortest defined name wins, as in ARIA and sfizz: `$KeyCrash2Edge` reads `$KeyCrash2`
    // then `Edge`; the trailing text is reported.
    let file = dir.join("SpecificBugs/wrong-replacements.sfz");
    let built = load(&file);
    assert_eq!(&keys(&built)[..2], [(57, 57), (57, 57)]);
    assert_eq!(warned_lines(&built, &file, "`key=57Edge`"), [5]);
    // `amplitude_oncc$Param=34`: CC 10 brings the amplitude from 0 to 34 %.
    let route = ModRoute::new(ModInput::linear(ModSource::Controller(10)), 0.34, ModTarget::Amplitude);
    assert_eq!((regions(&built)[2].amplitude, &regions(&built)[2].modulation.routes[..]), (0.0, &[route][..]));

    let built = load(&dir.join("dollar_include_main.sfz"));
    assert!(built.files.iter().any(|f| f.ends_with("dollar_include_sine.sfz")), "{:?}", built.files);
    assert_eq!(regions(&built)[0].sample.frames(), CYCLE_FRAMES);
}

#[test]
fn default_path_applies_until_the_next_control_header_and_not_to_generators() {
    let Some(dir) = testfiles() else { return };
    let mut store = SampleStore::new();
    let built = load_sfz(&dir.join("default_path.sfz"), &mut store).unwrap();
    let r = regions(&built);
    let direct = |p: &str| store_sample(&dir.join(p));
    assert_eq!(r[0].sample.sha256, direct("DefaultPath/SubPath1/sample1.wav"));
    assert_eq!(r[1].sample.sha256, direct("DefaultPath/SubPath2/sample2.wav"));
    assert_eq!(r[2].sample.sha256, direct("DefaultPath/SubPath1/sample1.wav"));
    assert_eq!(r[3].sample.sha256, direct("DefaultPath/SubPath2/sample2.wav"));
    assert_ne!(r[0].sample.sha256, r[1].sample.sha256);
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);

    let generated = load(&dir.join("default_path_generator.sfz"));
    assert_eq!(regions(&generated)[0].sample.frames(), CYCLE_FRAMES);
    let windows = load(&dir.join("SpecificBugs/win_backslashes.sfz"));
    assert_eq!(regions(&windows)[0].sample.sha256, direct("SpecificBugs/Xylo/Subfolder/closedhat.wav"));
}

fn store_sample(path: &Path) -> [u8; 32] {
    noderack_presets::sample::sha256(&std::fs::read(path).unwrap())
}

#[test]
fn sample_names_are_found_whatever_their_letter_case() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("case_insensitive.sfz"));
    let r = regions(&built);
    assert_eq!(r[0].sample.sha256, store_sample(&dir.join("dummy1.wav")));
    for region in &r[1..] {
        assert_eq!(region.sample.sha256, store_sample(&dir.join("Regions/dummy.wav")));
    }
}

#[test]
fn include_cycles_are_skipped_with_a_warning_at_the_include() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("Includes/root_loop.sfz"));
    let samples: Vec<[u8; 32]> = built.instrument.regions().map(|r| r.sample.sha256).collect();
    let includes = dir.join("Includes");
    assert_eq!(
        samples,
        [store_sample(&includes.join("dummy_loop2.wav")), store_sample(&includes.join("dummy_loop1.wav"))]
    );
    assert_eq!(warned_lines(&built, &includes.join("included_loop2.sfz"), "include cycle"), [1, 2]);
}

#[test]
fn missing_samples_skip_their_region_with_a_located_warning() {
    let Some(dir) = testfiles() else { return };
    let file = dir.join("Regions/regions_bad.sfz");
    let built = load(&file);
    assert_eq!(built.instrument.region_count(), 2);
    assert_eq!(warned_lines(&built, &file, "nonexistent.wav not found; region skipped"), [2, 3]);
}

#[test]
fn off_by_groups_and_polyphony_groups_are_read() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("off_by.sfz"));
    let groups: Vec<(u32, Option<u32>, u8)> =
        built.instrument.regions().map(|r| (r.choke_group, r.off_by, r.keys.low)).collect();
    assert_eq!(groups, [(1, Some(2), 63), (2, Some(3), 64), (3, Some(3), 65), (3, Some(3), 65)]);
    assert!(built.instrument.regions().all(|r| r.amp_envelope.release_seconds == 0.1));
    assert!(built.warnings.is_empty(), "off_mode=fast is what the sampler does: {:?}", built.warnings);
}

#[test]
fn loop_points_come_from_the_file_unless_the_sfz_gives_them() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("looped_regions.sfz"));
    let r = regions(&built);
    // looped_flute.wav's smpl chunk: loop 77554..=186581 (sfizz reads the same).
    let file_loop = SampleLoop { start_frames: 77_554.0, end_frames: 186_582.0, direction: LoopDirection::Forward };
    assert_eq!((r[0].loop_mode, r[0].sample_loop), (LoopMode::Continuous, Some(file_loop)));
    assert_eq!((r[1].loop_mode, r[1].sample_loop), (LoopMode::NoLoop, Some(file_loop)));
    let given = SampleLoop { start_frames: 4.0, end_frames: 125.0, direction: LoopDirection::Forward };
    assert_eq!((r[2].loop_mode, r[2].sample_loop), (LoopMode::Continuous, Some(given)));

    let sustain = load(&dir.join("Regions/underscore_opcodes.sfz"));
    assert_eq!(regions(&sustain)[0].loop_mode, LoopMode::Sustain);
}

#[test]
fn root_keys_come_from_the_sample_with_pitch_keycenter_sample_embedded_wav_and_flac() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("sample_keycenter_embedded.sfz"));
    let roots: Vec<u8> = built.instrument.regions().map(|r| r.root_key).collect();
    assert_eq!(roots, [38, 62, 38, 62, 10, 62]);
}

#[test]
fn embedded_samples_decode_to_the_same_audio_as_the_file() {
    let Some(dir) = testfiles() else { return };
    let mut store = SampleStore::new();
    let file = load_sfz(&dir.join("kick.sfz"), &mut store).unwrap();
    let embedded = load_sfz(&dir.join("kick_embedded.sfz"), &mut store).unwrap();
    assert!(Arc::ptr_eq(&regions(&file)[0].sample, &regions(&embedded)[0].sample));
    assert_eq!(store.len(), 1);
    // `data=` with `encoding=base64` under <sample>, too.
    let table = load(&dir.join("table_embedded.sfz"));
    assert_eq!(regions(&table)[0].sample.frames(), 1024);
}

#[test]
fn key_switches_labels_and_velocity_layers_are_read() {
    let Some(dir) = testfiles() else { return };
    let built = load(&dir.join("labels_sw.sfz"));
    assert_eq!(built.instrument.key_switch_range, Some(NoteRange { low: 36, high: 40 }));
    assert_eq!(built.instrument.default_key_switch, Some(36));
    let switches: Vec<Option<u8>> = built.instrument.regions().map(|r| r.key_switch).collect();
    assert_eq!(switches, [Some(36), Some(38), Some(40)]);
    assert!(built.warnings.is_empty(), "labels are known: {:?}", built.warnings);
    assert!(load(&dir.join("labels.sfz")).warnings.is_empty());

    let built = load(&dir.join("groups_avl.sfz"));
    let layers: Vec<(u8, u8)> = built.instrument.regions().map(|r| (r.velocities.low, r.velocities.high)).collect();
    assert_eq!(layers, [(1, 26), (27, 52), (53, 77), (78, 102), (103, 127)]);
    assert!(built.instrument.regions().all(|r| r.gain_db == 6.0 && r.keys == NoteRange { low: 36, high: 36 }));

    let file = dir.join("SpecificBugs/MeatBassPizz/Programs/pizz.sfz");
    let built = load(&file);
    let rr: Vec<RoundRobin> = built.instrument.regions().map(|r| r.round_robin).collect();
    assert_eq!(
        rr,
        [0.0, 0.25, 0.5, 0.75].map(|low| RoundRobin::Random { low, high: low + 0.25 }),
        "lorand/hirand, with `..\\` sample paths"
    );
    assert!(built.instrument.regions().all(|r| r.root_key == 21 && r.velocities.low == 97));
    assert!(built.instrument.regions().all(|r| r.controller_ranges == [(107, NoteRange { low: 0, high: 13 })]));
}

/// newdrums_flat.sfz drives its mixer (volume, pan, tune per drum) with ARIA's generic
/// controllers 201..=500, which MIDI cannot send: they keep their `set_hdccN` values, so the
/// modulation folds in as constants; its hi-hat pedal layers are CC 4 ranges.
#[test]
fn newdrums_mixer_controllers_fold_to_their_set_hdcc_values_and_pedal_layers_are_cc4_ranges() {
    let Some(dir) = testfiles() else { return };
    let file = dir.join("newdrums_flat.sfz");
    let built = load(&file);
    for opcode in ["amplitude_oncc", "pan_oncc", "pan_curvecc", "tune_oncc", "tune_curvecc", "`locc2", "`locc4"] {
        let warned: Vec<_> = built.warnings.iter().filter(|w| w.message.contains(opcode)).collect();
        assert!(warned.is_empty(), "{opcode}: {warned:?}");
    }
    assert!(built.instrument.regions().all(|r| r.modulation.routes.is_empty()));
    // Tom 1 (key 48): pan_oncc453=100 through bipolar curve 1 at set_hdcc453=0.33; tune at 0.5
    // is centred; both amplitude faders at 0.5 × 200 % are unity.
    let tom = built.instrument.regions().find(|r| r.keys.low == 48).expect("tom 1");
    assert!((tom.pan - (2.0 * 0.33 - 1.0)).abs() < 1e-4, "{}", tom.pan);
    assert!(tom.tune_cents.abs() < 1e-3 && (tom.amplitude - 1.0).abs() < 1e-5, "{} {}", tom.tune_cents, tom.amplitude);
    // Negative polyphony groups are kept (wrapped to distinct numbers), not dropped.
    assert!(built.warnings.iter().all(|w| !w.message.contains("`group=") && !w.message.contains("`off_by=")));
    let pedal: Vec<(u8, u8)> = built
        .instrument
        .regions()
        .filter(|r| r.keys.low == 46 && r.key_switch == Some(13))
        .flat_map(|r| r.controller_ranges.iter().map(|(cc, range)| (*cc, range.low..=range.high)))
        .map(|(cc, range)| {
            assert_eq!(cc, 4);
            (*range.start(), *range.end())
        })
        .collect();
    assert_eq!(&pedal[..3], [(0, 29), (30, 60), (61, 127)]);
    // Still not mapped, and said so: poly-pressure conditions and controller-triggered regions.
    assert_eq!(warned_lines(&built, &file, "`locc130` is not supported").len(), 17);
    assert!(built
        .warnings
        .iter()
        .any(|w| w.message.contains("`on_locc130`") && w.message.contains("controller moves")));
}

// ---------------------------------------------------------------- instruments written here

/// A folder with sine samples `a440.wav`, `c550.wav`, `e660.wav` (1.5 s, 44.1 kHz, peak 0.5)
/// and `short480.wav` (0.25 s of 480 Hz at 48 kHz: 100 frames per period).
fn fixture(name: &str) -> ScratchDir {
    let dir = scratch_dir(&format!("sfz-{name}"));
    for (file, hz) in [("a440.wav", 440.0), ("c550.wav", 550.0), ("e660.wav", 660.0)] {
        write_wav(&dir, file, 44_100, &sine_wave(hz, 44_100, 1.5, 0.5));
    }
    write_wav(&dir, "short480.wav", 48_000, &sine_wave(480.0, 48_000, 0.25, 0.5));
    dir
}

fn load_text(dir: &Path, text: &str) -> Built {
    load(&write_text(dir, "instrument.sfz", text))
}

/// The left channel of [`play_channels`].
fn play(built: &Built, frames: u64, midi: &[TimedMidi]) -> Vec<f32> {
    play_channels(built, frames, midi).swap_remove(0)
}

/// Both channels of the instrument playing `midi` for `frames`.
fn play_channels(built: &Built, frames: u64, midi: &[TimedMidi]) -> Vec<Vec<f32>> {
    let bank = Arc::new(Bank::single(built.instrument.clone()));
    let mut rig = Rig::stereo(256);
    rig.add_instrument(Sampler::new(Some(bank), 32), vec![]);
    rig.render(frames, midi)
}

fn key_hz(key: u8) -> f32 {
    440.0 * ((key as f32 - 69.0) / 12.0).exp2()
}

#[test]
fn pitch_follows_keycenter_tune_transpose_and_keytrack_within_two_cents() {
    let dir = fixture("pitch");
    let cases: &[(&str, u8, f32)] = &[
        ("pitch_keycenter=a4", 69, 440.0),
        ("pitch_keycenter=57", 69, 880.0),
        ("pitch_keycenter=69 tune=30 transpose=2", 69, 440.0 * (230.0f32 / 1200.0).exp2()),
        ("pitch_keycenter=69 tune=-45", 72, key_hz(72) * (-45.0f32 / 1200.0).exp2()),
        ("pitch_keycenter=c#4 pitch_keytrack=50", 73, 440.0 * 2f32.sqrt()),
    ];
    for (opcodes, key, expected) in cases {
        let built = load_text(&dir, &format!("<region> sample=a440.wav {opcodes}\n"));
        let x = play(&built, 48_000, &[note_on(0, 0, *key, 127)]);
        let error = cents(peak_frequency_hz(&x[4800..], SR), *expected);
        assert!(error.abs() < 2.0, "{opcodes}, key {key}: {error:.2} cents off {expected} Hz");
    }
}

#[test]
fn generated_waveforms_play_every_key_in_tune() {
    let dir = scratch_dir("sfz-generated");
    for (sample, key) in [("*sine", 69u8), ("*sine", 60), ("*saw", 57), ("*square", 64), ("*triangle", 72)] {
        let built = load_text(&dir, &format!("<region> sample={sample}\n"));
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        let x = play(&built, 48_000, &[note_on(0, 0, key, 127)]);
        let error = cents(peak_frequency_hz(&x[4800..], SR), key_hz(key));
        assert!(error.abs() < 2.0, "{sample} key {key}: {error:.2} cents off");
        assert!(rms(&x[24_000..]) > 0.1, "{sample} key {key}: the loop stopped");
    }
    let noise = load_text(&dir, "<region> sample=*noise\n");
    assert_eq!(regions(&noise)[0].keytrack_cents, 0.0, "noise does not follow the key");
    let x = play(&noise, 24_000, &[note_on(0, 0, 60, 127)]);
    assert!(rms(&x[2400..]) > 0.05);
}

#[test]
fn velocity_layers_choose_the_sample_for_the_velocity() {
    let dir = fixture("velocity");
    let built = load_text(
        &dir,
        "<group> pitch_keycenter=69 key=69\n<region> lovel=1 hivel=63 sample=a440.wav\n<region> lovel=64 hivel=127 sample=e660.wav\n",
    );
    for (velocity, expected) in [(1u8, 440.0f32), (40, 440.0), (63, 440.0), (64, 660.0), (127, 660.0)] {
        let x = play(&built, 24_000, &[note_on(0, 0, 69, velocity)]);
        let error = cents(peak_frequency_hz(&x[2400..], SR), expected);
        assert!(error.abs() < 2.0, "velocity {velocity}: {error:.1} cents off {expected}");
    }
}

#[test]
fn round_robin_by_seq_position_cycles_in_order() {
    let dir = fixture("rr");
    let built = load_text(
        &dir,
        "<group> key=69 pitch_keycenter=69 seq_length=3\n\
         <region> seq_position=1 sample=a440.wav\n\
         <region> seq_position=2 sample=c550.wav\n\
         <region> seq_position=3 sample=e660.wav\n",
    );
    let notes =
        sorted((0..6).flat_map(|n| [note_on(n * 9600, 0, 69, 100), note_off(n * 9600 + 4800, 0, 69)]).collect());
    let x = play(&built, 6 * 9600, &notes);
    let pitches = [440.0f32, 550.0, 660.0];
    let played: Vec<usize> = (0..6)
        .map(|n| {
            let f = peak_frequency_hz(&x[n * 9600 + 480..n * 9600 + 4800], SR);
            pitches.iter().position(|&p| cents(f, p).abs() < 30.0).unwrap_or(99)
        })
        .collect();
    assert_eq!(played, [0, 1, 2, 0, 1, 2]);
}

#[test]
fn a_looped_region_sustains_past_its_sample_and_an_unlooped_one_stops() {
    let dir = fixture("loop");
    // 0.25 s of sample, loop over whole periods (frames 2400..=7199), held 1.5 s.
    let looped = load_text(
        &dir,
        "<region> sample=short480.wav pitch_keycenter=69 key=69 loop_mode=loop_continuous loop_start=2400 loop_end=7199\n",
    );
    let early_late = |built: &Built| {
        let x = play(built, 72_000, &[note_on(0, 0, 69, 127)]);
        (rms(&x[2400..9600]), rms(&x[60_000..72_000]))
    };
    let (early, late) = early_late(&looped);
    assert!(early > 0.1 && (late / early - 1.0).abs() < 0.02, "looped: early {early}, late {late}");
    let unlooped = load_text(&dir, "<region> sample=short480.wav pitch_keycenter=69 key=69\n");
    let (early, late) = early_late(&unlooped);
    assert!(early > 0.1 && late < 1e-4, "unlooped: early {early}, late {late}");
}

/// `ampeg_release_onccN` and v1's `ampeg_attackccN`: the controller's value when the note
/// starts sets that note's release and attack times, heard in the audio; a move while the note
/// holds does not change them (read at note-on, as sfizz does).
#[test]
fn envelope_stages_follow_their_controllers_at_note_on() {
    let dir = fixture("ampeg-cc");
    let built = load_text(
        &dir,
        "<region> sample=short480.wav pitch_keycenter=69 key=69 loop_mode=loop_continuous loop_start=2400 \
         loop_end=7199 ampeg_release=0.05 ampeg_release_oncc72=0.4 ampeg_attack=0.001 ampeg_attackcc73=0.2\n",
    );
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    const WINDOW: usize = 480; // ten periods of 480 Hz
    const OFF: usize = 48_000;
    // The note held from frame 100 to OFF, controllers set at frame 0 (and `later` at 0.5 s).
    let levels = |release_cc: u8, attack_cc: u8, later: Option<(u8, u8)>| {
        let mut midi = vec![cc(0, 0, 72, release_cc), cc(0, 0, 73, attack_cc), note_on(100, 0, 69, 127)];
        midi.extend(later.map(|(controller, value)| cc(24_000, 0, controller, value)));
        midi.push(note_off(OFF as u64, 0, 69));
        let x = play(&built, 96_000, &midi);
        x.chunks(WINDOW).map(rms).collect::<Vec<f32>>()
    };
    let held = |l: &[f32]| l[OFF / WINDOW - 10];
    // Seconds after the note-off until the level is 40 dB under the held level.
    let release_seconds = |l: &[f32]| {
        let quiet = l[OFF / WINDOW..].iter().position(|&r| r < 0.01 * held(l)).expect("the release ends");
        (quiet * WINDOW) as f32 / SR
    };
    // Seconds after the note-on until the level is 90 % of the held level.
    let attack_seconds = |l: &[f32]| {
        let up = l.iter().position(|&r| r >= 0.9 * held(l)).expect("the attack ends");
        (up * WINDOW) as f32 / SR
    };
    let base = levels(0, 0, None);
    let long = levels(127, 0, None);
    let half = levels(64, 127, None);
    assert!(held(&base) > 0.1, "the note sounds: {}", held(&base));
    let (short_release, long_release, half_release) =
        (release_seconds(&base), release_seconds(&long), release_seconds(&half));
    assert!(short_release <= 0.06, "release at CC72 = 0: {short_release} s");
    assert!(
        (6.0..=12.0).contains(&(long_release / short_release)),
        "release at CC72 = 127 ({long_release} s) against 0 ({short_release} s): 0.45 s against 0.05 s expected"
    );
    assert!(short_release < half_release && half_release < long_release, "{half_release} s at CC72 = 64");
    // Attack: 1 ms at CC73 = 0, 201 ms at 127 (linear: 90 % at 181 ms).
    assert!(attack_seconds(&base) <= 0.011, "attack at CC73 = 0: {} s", attack_seconds(&base));
    let slow = attack_seconds(&half);
    assert!((0.16..=0.2).contains(&slow), "attack at CC73 = 127: {slow} s");
    // Moving the controller while the note holds leaves this note's release alone.
    let moved = levels(0, 0, Some((72, 127)));
    assert_eq!(release_seconds(&moved), short_release);

    // `ampeg_vel2attack`: velocity's part (−0.2 s at 127 from 0.2 s).
    let built = load_text(
        &dir,
        "<region> sample=short480.wav pitch_keycenter=69 key=69 loop_mode=loop_continuous loop_start=2400 \
         loop_end=7199 amp_veltrack=0 ampeg_attack=0.2 ampeg_vel2attack=-0.2\n",
    );
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    let attack_at = |velocity: u8| {
        let x = play(&built, 48_000, &[note_on(0, 0, 69, velocity)]);
        attack_seconds(&x.chunks(WINDOW).map(rms).collect::<Vec<f32>>())
    };
    let (hard, soft) = (attack_at(127), attack_at(1));
    assert!(hard <= 0.011 && (0.16..=0.2).contains(&soft), "attack at velocity 127: {hard} s, at 1: {soft} s");
}

/// `short480.wav` looped on A4 (480 Hz as recorded) with `opcodes`.
fn looped480(dir: &Path, opcodes: &str) -> Built {
    let built = load_text(
        dir,
        &format!(
            "<region> sample=short480.wav pitch_keycenter=69 key=69 loop_mode=loop_continuous loop_start=2400 \
             loop_end=7199 amp_veltrack=0 {opcodes}\n"
        ),
    );
    assert!(built.warnings.is_empty(), "{opcodes}: {:?}", built.warnings);
    built
}

/// The pitch, in cents from 480 Hz, of every cycle between `from` and `to` seconds of A4
/// played at `velocity` after the controllers `ccs` (at frame 0) and `later` ones.
fn pitch_track(built: &Built, velocity: u8, ccs: &[(u8, u8)], later: &[TimedMidi], to: f32) -> Vec<(f32, f32)> {
    let mut midi: Vec<TimedMidi> = ccs.iter().map(|&(n, v)| cc(0, 0, n, v)).collect();
    midi.push(note_on(0, 0, 69, velocity));
    midi.extend_from_slice(later);
    let x = play(built, (to * SR) as u64 + 4_800, &sorted(midi));
    cents_track(&x, SR, 480.0, 0.0, to)
}

/// Mean of a pitch track between `from` and `to` seconds.
fn mean_cents(track: &[(f32, f32)], from: f32, to: f32) -> f32 {
    let part: Vec<f32> = track.iter().filter(|(t, _)| (from..to).contains(t)).map(|p| p.1).collect();
    assert!(!part.is_empty(), "no cycle between {from} and {to} s");
    part.iter().sum::<f32>() / part.len() as f32
}

/// `lfoN_freq_onccN` (and v1's `pitchlfo_freqccN`) set a vibrato's rate from a controller,
/// also while the note holds; `lfoN_phase_onccN` shifts where its cycle reads.
#[test]
fn lfo_rate_and_phase_follow_their_controllers() {
    let dir = fixture("lfo-cc");
    for opcodes in
        ["lfo1_freq=2 lfo1_freq_oncc1=8 lfo1_pitch=50", "pitchlfo_freq=2 pitchlfo_freqcc1=8 pitchlfo_depth=50"]
    {
        let built = looped480(&dir, opcodes);
        // 2 Hz at CC1 = 0, 2 + 8·64/127 = 6.03 Hz at 64, 10 Hz at 127.
        for (value, hz) in [(0u8, 2.0f32), (64, 2.0 + 8.0 * 64.0 / 127.0), (127, 10.0)] {
            let track = pitch_track(&built, 100, &[(1, value)], &[], 2.6);
            let period = track_period_seconds(&track[8..]);
            assert!((period * hz - 1.0).abs() < 0.02, "{opcodes}, CC1 = {value}: period {period} s, {hz} Hz expected");
        }
        // CC1 moves to 127 two seconds into the note: 2 Hz before, 10 Hz after.
        let track = pitch_track(&built, 100, &[(1, 0)], &[cc(96_000, 0, 1, 127)], 3.0);
        let (before, after): (Vec<_>, Vec<_>) = track[8..].iter().partition(|(t, _)| *t < 2.0);
        let (slow, fast) = (track_period_seconds(&before), track_period_seconds(&after[24..]));
        assert!((slow - 0.5).abs() < 0.01 && (fast - 0.1).abs() < 0.002, "{opcodes}: {slow} s, then {fast} s");
    }
    // A 1 Hz triangle rises from 0 first; half a cycle on (CC2 = 127) it falls first.
    let built = looped480(&dir, "lfo1_freq=1 lfo1_phase_oncc2=0.5 lfo1_pitch=50");
    let rising = mean_cents(&pitch_track(&built, 100, &[(2, 0)], &[], 0.6), 0.2, 0.3);
    let falling = mean_cents(&pitch_track(&built, 100, &[(2, 127)], &[], 0.6), 0.2, 0.3);
    assert!(rising > 40.0 && falling < -40.0, "a quarter cycle in: {rising} cents, shifted {falling} cents");
}

/// `lfoN_delay_onccN` and `lfoN_fade_onccN`: the controller's value when the note starts sets
/// how long its vibrato waits and how slowly it fades in.
#[test]
fn lfo_delay_and_fade_follow_their_controllers_at_note_on() {
    let dir = fixture("lfo-delay-cc");
    let swing = |track: &[(f32, f32)], from: f32, to: f32| {
        let part: Vec<(f32, f32)> = track.iter().copied().filter(|(t, _)| (from..to).contains(t)).collect();
        track_swing(&part)
    };
    let built = looped480(&dir, "lfo1_freq=5 lfo1_pitch=50 lfo1_delay_oncc1=1 lfo1_fade_oncc2=2");
    let now = pitch_track(&built, 100, &[], &[], 2.0);
    let waits = pitch_track(&built, 100, &[(1, 127)], &[], 2.0);
    let fades = pitch_track(&built, 100, &[(2, 127)], &[], 2.0);
    let (at_once, waiting, fading) = (swing(&now, 0.2, 0.8), swing(&waits, 0.2, 0.8), swing(&fades, 0.2, 0.6));
    assert!((at_once - 50.0).abs() < 3.0, "no delay: {at_once} cents of vibrato");
    assert!(waiting < 1.0, "delayed by 1 s: {waiting} cents before it");
    assert!((swing(&waits, 1.2, 1.9) - 50.0).abs() < 3.0, "after the delay: {}", swing(&waits, 1.2, 1.9));
    // A 2 s fade: at most 30 % of the depth by 0.6 s.
    assert!(fading > 3.0 && fading < 16.0, "fading in over 2 s: {fading} cents by 0.6 s");
}

/// A pitch envelope's stages follow velocity (`pitcheg_vel2attack`) and controllers (a flex
/// envelope's `egN_timeK_onccN` and its sustain point's `egN_levelK_onccN`), read when the
/// note starts.
#[test]
fn modulation_envelope_stages_follow_velocity_and_controllers() {
    let dir = fixture("eg-cc");
    // One octave up, reached in 0.4 s at velocity 1 and at once at 127.
    let built = looped480(&dir, "pitcheg_attack=0.4 pitcheg_vel2attack=-0.4 pitcheg_depth=1200");
    let at = |built: &Built, velocity: u8, ccs: &[(u8, u8)], from: f32, to: f32| {
        mean_cents(&pitch_track(built, velocity, ccs, &[], to + 0.05), from, to)
    };
    let (hard, soft) = (at(&built, 127, &[], 0.08, 0.12), at(&built, 1, &[], 0.08, 0.12));
    // Velocity 1: 0.4 − 0.4/127 s of attack; 0.1 s in, 1200·0.1/0.397 = 302 cents.
    assert!((hard - 1200.0).abs() < 5.0 && (soft - 302.0).abs() < 30.0, "0.1 s in: {hard} at 127, {soft} at 1");
    // Flex: an attack of 0.01 s, 0.4 s at CC1 = 127.
    let built = looped480(&dir, "eg1_time1=0.01 eg1_level1=1 eg1_time1_oncc1=0.39 eg1_sustain=1 eg1_pitch=1200");
    let (quick, slow) = (at(&built, 100, &[(1, 0)], 0.08, 0.12), at(&built, 100, &[(1, 127)], 0.08, 0.12));
    assert!((quick - 1200.0).abs() < 5.0 && (slow - 300.0).abs() < 30.0, "0.1 s in: {quick} at CC1 = 0, {slow} at 127");
    // Flex: a fall from the peak to the sustain point's level, which CC1 raises from 0 to 1.
    let built = looped480(
        &dir,
        "eg1_time1=0 eg1_level1=1 eg1_time2=0.05 eg1_level2=0 eg1_level2_oncc1=1 eg1_sustain=2 eg1_pitch=1200",
    );
    for (value, expected) in [(0u8, 0.0f32), (64, 1200.0 * 64.0 / 127.0), (127, 1200.0)] {
        let held = at(&built, 100, &[(1, value)], 0.3, 0.5);
        assert!((held - expected).abs() < 5.0, "sustained at CC1 = {value}: {held} cents, {expected} expected");
    }
}

/// ARIA variables heard: `add` sums two controllers into the pitch, `mult` multiplies them,
/// and a `mult` variable on amplitude is a gain; also while the note holds.
#[test]
fn variables_sum_or_multiply_their_controllers() {
    let dir = fixture("var");
    let sum = looped480(&dir, "var01_pitch=1200 var01_oncc1=0.5 var01_oncc2=0.5");
    let product = looped480(&dir, "var01_pitch=1200 var01_mod=mult var01_oncc1=1 var01_oncc2=1");
    let at = |built: &Built, ccs: &[(u8, u8)]| mean_cents(&pitch_track(built, 100, ccs, &[], 0.4), 0.2, 0.35);
    for (cc1, cc2, added, multiplied) in [
        (127u8, 0u8, 600.0f32, 0.0f32),
        (0, 127, 600.0, 0.0),
        (127, 127, 1200.0, 1200.0),
        (127, 64, 600.0 + 600.0 * 64.0 / 127.0, 1200.0 * 64.0 / 127.0),
    ] {
        let (a, m) = (at(&sum, &[(1, cc1), (2, cc2)]), at(&product, &[(1, cc1), (2, cc2)]));
        assert!((a - added).abs() < 5.0, "add at CC1 = {cc1}, CC2 = {cc2}: {a} cents, {added} expected");
        assert!((m - multiplied).abs() < 5.0, "mult at CC1 = {cc1}, CC2 = {cc2}: {m} cents, {multiplied} expected");
    }
    // A move while the note holds: CC2 from 0 to 127 at 0.3 s takes the sum from 600 to 1200.
    let track = pitch_track(&sum, 100, &[(1, 127), (2, 0)], &[cc(14_400, 0, 2, 127)], 0.6);
    let (before, after) = (mean_cents(&track, 0.1, 0.28), mean_cents(&track, 0.35, 0.55));
    assert!((before - 600.0).abs() < 5.0 && (after - 1200.0).abs() < 5.0, "{before} then {after} cents");

    // Amplitude: CC20 × CC21; half of CC21 is half the level.
    let gain = looped480(&dir, "var01_amplitude=100 var01_mod=mult var01_oncc20=1 var01_oncc21=1");
    let level = |cc20: u8, cc21: u8| {
        let midi = [cc(0, 0, 20, cc20), cc(0, 0, 21, cc21), note_on(0, 0, 69, 100)];
        rms(&play(&gain, 24_000, &sorted(midi.to_vec()))[9_600..19_200])
    };
    let (full, half, none) = (level(127, 127), level(127, 64), level(0, 127));
    assert!(full > 0.1, "the note sounds at full controllers: {full}");
    assert!((half / full - 64.0 / 127.0).abs() < 0.01, "CC21 = 64: {} of the level", half / full);
    assert!(none < 1e-4 * full, "CC20 = 0 silences it: {none}");
}

/// `width` on a stereo sample (440 Hz left, 660 Hz right): as recorded at 100 %, one mix on
/// both sides at 0, the sides swapped at −100; `width_onccN` moves it while the note holds.
#[test]
fn width_narrows_swaps_and_follows_its_controller() {
    let dir = scratch_dir("sfz-width");
    let (left, right) = (sine_wave(440.0, 48_000, 1.5, 0.5), sine_wave(660.0, 48_000, 1.5, 0.5));
    write_wav_channels(&dir, "stereo.wav", 48_000, &[&left, &right]);
    // Each side's energy at 440 and at 660 Hz over frames `from..to`.
    let sides = |opcodes: &str, midi: &[TimedMidi], from: usize, to: usize| {
        let built = load_text(&dir, &format!("<region> sample=stereo.wav pitch_keycenter=69 key=69 {opcodes}\n"));
        assert!(built.warnings.is_empty(), "{opcodes}: {:?}", built.warnings);
        let channels = play_channels(&built, 24_000, midi);
        [0, 1].map(|c| (energy_at(&channels[c][from..to], 440.0), energy_at(&channels[c][from..to], 660.0)))
    };
    let on = [note_on(0, 0, 69, 127)];
    let as_recorded = |[(l440, l660), (r440, r660)]: [(f64, f64); 2], what: &str| {
        assert!(l440 > 1e3 * l660 && r660 > 1e3 * r440, "{what}: left {l440} / {l660}, right {r440} / {r660}");
    };
    let one_mix = |[(l440, l660), (r440, r660)]: [(f64, f64); 2], what: &str| {
        let same = |a: f64, b: f64| (a / b - 1.0).abs() < 0.01;
        assert!(same(l440, r440) && same(l660, r660), "{what}: left {l440} / {l660}, right {r440} / {r660}");
        assert!((l440 / l660 - 1.0).abs() < 0.1, "{what}: both tones at half: {l440} / {l660}");
    };
    as_recorded(sides("", &on, 2400, 24_000), "width 100");
    one_mix(sides("width=0", &on, 2400, 24_000), "width 0");
    let [(l440, l660), (r440, r660)] = sides("width=-100", &on, 2400, 24_000);
    assert!(l660 > 1e3 * l440 && r440 > 1e3 * r660, "width -100: left {l440} / {l660}, right {r440} / {r660}");
    // CC1 from 0 to 127 at frame 12 000: from as recorded to one mix.
    let moved = [note_on(0, 0, 69, 127), cc(12_000, 0, 1, 127)];
    as_recorded(sides("width_oncc1=-100", &moved, 2400, 12_000), "width_oncc1 before the move");
    one_mix(sides("width_oncc1=-100", &moved, 14_400, 24_000), "width_oncc1 after the move");
}

/// `sw_down` / `sw_up`: a region plays only while a switch key is held / not held;
/// `sw_previous`: only when the previous note-on was a given key.
#[test]
fn regions_follow_held_switch_keys_and_the_previous_note() {
    let dir = fixture("sw-held");
    let built = load_text(
        &dir,
        "<group> sw_lokey=24 sw_hikey=26 key=69 pitch_keycenter=69\n\
         <region> sw_down=24 sample=a440.wav\n\
         <region> sw_up=24 sample=c550.wav\n\
         <region> sw_previous=60 sample=e660.wav\n",
    );
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    let midi = sorted(vec![
        // Nothing held, no previous note: the sw_up region.
        note_on(0, 0, 69, 127),
        note_off(4_800, 0, 69),
        // Switch key 24 held: the sw_down region (the previous note is 24, not 60).
        note_on(9_600, 0, 24, 127),
        note_on(12_000, 0, 69, 127),
        note_off(16_800, 0, 69),
        note_off(19_200, 0, 24),
        // Key 60 (no region of its own), then 69: sw_previous and, 24 released, sw_up.
        note_on(21_600, 0, 60, 127),
        note_off(22_000, 0, 60),
        note_on(24_000, 0, 69, 127),
    ]);
    let x = play(&built, 28_800, &midi);
    let tones = |from: usize| [440.0, 550.0, 660.0].map(|hz| energy_at(&x[from + 480..from + 4_800], hz));
    let heard = |from: usize| {
        let e = tones(from);
        let loudest = e.iter().cloned().fold(0.0, f64::max);
        e.map(|e| e > 0.01 * loudest)
    };
    assert_eq!(heard(0), [false, true, false], "nothing held: {:?}", tones(0));
    assert_eq!(heard(12_000), [true, false, false], "24 held: {:?}", tones(12_000));
    assert_eq!(heard(24_000), [false, true, true], "after key 60: {:?}", tones(24_000));
}

/// Energy of `x` within ±15 Hz of `hz`.
fn energy_at(x: &[f32], hz: f32) -> f64 {
    band_energy(x, SR, hz - 15.0, hz + 15.0)
}

/// Holds `first` from frame 0 and `second` from 0.5 s; the 440 Hz energy while only the first
/// sounds, and after the second has started (settling time left out of both).
fn a440_energy_before_and_after_second_note(built: &Built, first: u8, second: u8) -> (f64, f64) {
    let x = play(built, 48_000, &[note_on(0, 0, first, 127), note_on(24_000, 0, second, 127)]);
    (energy_at(&x[4800..24_000], 440.0), energy_at(&x[26_400..48_000], 440.0))
}

#[test]
fn off_by_chokes_the_sounding_region_when_its_group_starts() {
    let dir = fixture("offby");
    let render = |off_by: &str| {
        let built = load_text(
            &dir,
            &format!(
                "<region> key=60 pitch_keycenter=60 group=1 {off_by} sample=a440.wav\n\
                 <region> key=62 pitch_keycenter=62 group=2 sample=e660.wav\n"
            ),
        );
        a440_energy_before_and_after_second_note(&built, 60, 62)
    };
    let (before, after) = render("off_by=2");
    assert!(after < before * 1e-4, "choked: 440 Hz energy {before:e} before, {after:e} after");
    let (before, after) = render("");
    assert!(after > before * 0.5, "without off_by it keeps sounding: {before:e}, {after:e}");
}

#[test]
fn polyphony_limits_the_voices_of_a_region() {
    let dir = fixture("polyphony");
    let render = |polyphony: &str| {
        let built = load_text(&dir, &format!("<region> pitch_keycenter=69 {polyphony} sample=a440.wav\n"));
        // A4 then E5 (659 Hz).
        a440_energy_before_and_after_second_note(&built, 69, 76)
    };
    let (before, after) = render("polyphony=1");
    assert!(after < before * 1e-4, "limited: {before:e} before, {after:e} after");
    let (before, after) = render("");
    assert!(after > before * 0.5, "unlimited: {before:e}, {after:e}");
}

#[test]
fn release_triggered_regions_play_on_note_off() {
    let dir = fixture("release");
    let built = load_text(
        &dir,
        "<group> key=60 pitch_keycenter=60\n<region> sample=a440.wav\n<region> trigger=release sample=e660.wav\n",
    );
    assert_eq!(regions(&built)[1].trigger, Trigger::Release);
    assert_eq!(regions(&built)[1].loop_mode, LoopMode::OneShot, "release samples play out by default");
    let x = play(&built, 48_000, &[note_on(0, 0, 60, 100), note_off(24_000, 0, 60)]);
    let held = &x[2400..24_000];
    let released = &x[26_400..48_000];
    assert!(cents(peak_frequency_hz(held, SR), 440.0).abs() < 2.0);
    assert!(cents(peak_frequency_hz(released, SR), 660.0).abs() < 2.0);
    assert!(energy_at(held, 660.0) < energy_at(released, 660.0) * 1e-4);
}

#[test]
fn filter_opcodes_fold_keycenter_and_velocity_tracking_into_the_cutoff_and_filter_the_sound() {
    let dir = scratch_dir("sfz-filter");
    let built = load_text(
        &dir,
        "<region> sample=*saw pitch_keycenter=72 cutoff=1000 fil_keycenter=60 fil_keytrack=100 fil_veltrack=1200 resonance=3 fil_type=hpf_2p\n",
    );
    let f = regions(&built)[0].filter.expect("a filter");
    // 12 keys above fil_keycenter at 100 cents/key, plus 1200 cents at velocity 127.
    assert_eq!(f.kind, FilterKind::HighPass);
    assert!((f.cutoff_hz - 4000.0).abs() < 0.01, "{}", f.cutoff_hz);
    assert_eq!((f.resonance_db, f.keytrack_cents, f.velocity_track_cents), (3.0, 100.0, 1200.0));

    let high_share = |opcodes: &str| {
        let built = load_text(&dir, &format!("<region> sample=*saw {opcodes}\n"));
        let x = play(&built, 24_000, &[note_on(0, 0, 48, 127)]);
        band_energy(&x[2400..], SR, 1000.0, 20_000.0) / band_energy(&x[2400..], SR, 20.0, 20_000.0)
    };
    let open = high_share("");
    let closed = high_share("cutoff=300 fil_type=lpf_2p");
    assert!(closed < open * 0.05, "saw above 1 kHz: {open:.4} of its energy open, {closed:.4} through 300 Hz lpf");
}

#[test]
fn unknown_opcodes_and_bad_values_are_warned_with_file_and_line() {
    let dir = fixture("warnings");
    let include = write_text(&dir, "more.sfz", "// extra settings\nbogus_setting=1\n");
    let file = write_text(
        &dir,
        "instrument.sfz",
        "<control> default_path=\n\
         <region> sample=a440.wav\n\
         \x20 frobnicate=3 key=60\n\
         <region> sample=missing.wav\n\
         <region> sample=a440.wav lokey=hello\n\
         #include \"more.sfz\"\n\
         <effect> type=reverb\n",
    );
    let built = load(&file);
    assert_eq!(built.instrument.region_count(), 2);
    assert_eq!(warned_lines(&built, &file, "`frobnicate` is not supported"), [3]);
    assert_eq!(warned_lines(&built, &file, "missing.wav not found; region skipped"), [4]);
    assert_eq!(warned_lines(&built, &file, "`lokey=hello`: not a number"), [5]);
    assert_eq!(warned_lines(&built, &file, "<effect> headers are not supported"), [7]);
    assert_eq!(warned_lines(&built, &include, "`bogus_setting` is not supported"), [2]);
    let shown = built.warnings.iter().find(|w| w.message.contains("frobnicate")).unwrap().to_string();
    assert!(shown.starts_with(&format!("{}:3: ", file.display())), "{shown}");
}

#[test]
fn malformed_sfz_is_an_error_naming_file_and_line() {
    let dir = fixture("errors");
    let cases = [
        ("<region> sample=a440.wav\n<group\nkey=1\n", 2, "not closed with `>`"),
        ("<region> sample=a440.wav\n\nsample a440.wav\n", 3, "expected `=` after `sample`"),
        ("<region>\n#includ \"x.sfz\"\n", 2, "unknown directive `#includ`"),
        ("<region> /* never closed\n sample=a440.wav\n", 1, "unterminated block comment"),
        ("<region> sample=a440.wav\n#include \"nowhere.sfz\"\n", 2, "cannot read included file"),
    ];
    for (text, line, message) in cases {
        let file = write_text(&dir, "bad.sfz", text);
        let error = load_sfz(&file, &mut SampleStore::new()).expect_err(text);
        let shown = error.to_string();
        assert!(shown.starts_with(&format!("{}:{line}: ", file.display())), "{text:?}: {shown}");
        assert!(shown.contains(message), "{text:?}: {shown}");
        assert!(matches!(error, SfzError::Syntax { .. } | SfzError::Include { .. }));
    }
    let missing = load_sfz(&dir.join("absent.sfz"), &mut SampleStore::new()).unwrap_err();
    assert!(matches!(missing, SfzError::Io { .. }) && missing.to_string().contains("absent.sfz"));
}

/// Every modulation family, written as one instrument over a synthesized WAV, lands in the
/// region's model fields: controller routes with `<curve>` shapes, the velocity curve, random
/// offset, bend range, CC conditions, delay, width, note offset, v1 envelopes and LFOs, numbered
/// LFOs and flex envelopes, and crossfades.
#[test]
fn every_sfz_modulation_family_lands_in_the_region_model() {
    let dir = fixture("modulation");
    let file = write_text(
        &dir,
        "instrument.sfz",
        "<control> note_offset=-12 octave_offset=1 set_hdcc300=0.25\n\
         <curve> curve_index=8 v000=0 v064=1 v127=1\n\
         <global> note_polyphony=2 amplitude=50\n\
         <group> lokey=60 hikey=62 pitch_keycenter=61\n\
         <region> sample=a440.wav amplitude_oncc1=100 amplitude_curvecc1=8 volume_oncc7=-20 pan_oncc10=100 pan_curvecc10=1\n\
         \x20 tune_oncc300=400 tune_oncc2=200 cutoff=800 cutoff_oncc74=2400 width=50\n\
         \x20 amp_velcurve_64=0.8 offset_random=441 bend_up=1200 bend_down=-1200 locc64=64 delay=0.25\n\
         <region> sample=a440.wav pitcheg_attack=0.1 pitcheg_decay=0.5 pitcheg_sustain=25 pitcheg_depth=1200\n\
         \x20 pitcheg_vel2depth=-600 fileg_depth=-2400 fileg_release=1 amplfo_freq=5 amplfo_depth=3\n\
         \x20 pitchlfo_freq=6 pitchlfo_delay=0.5 pitchlfo_depthcc1=50\n\
         <region> sample=a440.wav lfo1_freq=4 lfo1_wave=1 lfo1_phase=0.5 lfo1_pitch=25 lfo1_pitch_oncc1=75\n\
         \x20 eg1_time1=0.2 eg1_level1=1 eg1_sustain=1 eg1_time2=0.5 eg1_level2=0 eg1_cutoff=1200 eg1_pan_oncc11=100\n\
         <region> sample=a440.wav xfin_lovel=1 xfin_hivel=64 xfout_lovel=65 xfout_hivel=127 xf_velcurve=gain\n\
         \x20 xfin_locc1=0 xfin_hicc1=127 xfin_locc300=0 xfin_hicc300=127\n",
    );
    let built = load(&file);
    // Only the unsupported opcode, once where it is written (not once per region).
    let lines: Vec<(u32, &str)> = built.warnings.iter().map(|w| (w.line, w.message.as_str())).collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(warned_lines(&built, &file, "`note_polyphony` is not supported"), [3]);
    let r = regions(&built);
    assert_eq!(r.len(), 4);
    let cc = |n: u8| ModInput::linear(ModSource::Controller(n));

    // 1. Controllers, curves, statics. Keys shifted by −12 + 12 = 0.
    let a = r[0];
    assert_eq!((a.keys, a.root_key), (NoteRange { low: 60, high: 62 }, 61));
    assert_eq!(a.amplitude, 0.0, "amplitude_oncc1 makes CC 1 the amplitude's factor");
    let routes = &a.modulation.routes;
    let amplitude = routes.iter().find(|r| r.target == ModTarget::Amplitude).expect("amplitude route");
    assert_eq!((amplitude.input.source, amplitude.amount), (ModSource::Controller(1), 0.5));
    assert!(matches!(&amplitude.input.curve, ModCurve::Table(t) if t[64] == 1.0 && t[32] == 0.5 && t[127] == 1.0));
    assert!(routes.contains(&ModRoute::new(cc(7), -20.0, ModTarget::VolumeDb)));
    assert!(routes.contains(&ModRoute::new(cc(10).bipolar(), 1.0, ModTarget::Pan)));
    assert!(routes.contains(&ModRoute::new(cc(2), 200.0, ModTarget::PitchCents)));
    assert!(routes.contains(&ModRoute::new(cc(74), 2400.0, ModTarget::CutoffCents)));
    assert_eq!(routes.len(), 5);
    assert_eq!(a.tune_cents, 100.0, "tune_oncc300 at its set_hdcc value 0.25 × 400 cents");
    assert_eq!(a.width, 0.5);
    let velocity = a.velocity_curve.as_ref().expect("amp_velcurve");
    assert_eq!((velocity[0], velocity[64], velocity[127]), (0.0, 0.8, 1.0));
    assert_eq!((a.offset_random_frames, a.bend_cents), (441.0, Some((1200.0, -1200.0))));
    assert_eq!(a.controller_ranges, [(64, NoteRange { low: 64, high: 127 })]);
    assert_eq!(a.amp_envelope.delay_seconds, 0.25);

    // 2. SFZ v1 envelopes and LFOs (v1 LFOs are sines).
    let b = r[1];
    assert_eq!(b.amplitude, 0.5);
    let pitch_env = Envelope {
        delay_seconds: 0.0,
        attack_seconds: 0.1,
        hold_seconds: 0.0,
        decay_seconds: 0.5,
        sustain_level: 0.25,
        release_seconds: 0.0,
    };
    let filter_env =
        Envelope { attack_seconds: 0.0, decay_seconds: 0.0, sustain_level: 1.0, release_seconds: 1.0, ..pitch_env };
    assert_eq!(b.modulation.envelopes, [pitch_env, filter_env]);
    let sine = |hz: f32| Lfo { frequency_hz: hz, waveform: LfoWaveform::Sine, ..Lfo::default() };
    assert_eq!(b.modulation.lfos, [sine(5.0), Lfo { delay_seconds: 0.5, ..sine(6.0) }]);
    let env = |n: u8| ModInput::linear(ModSource::Envelope(n));
    let lfo = |n: u8| ModInput::linear(ModSource::Lfo(n));
    let velocity = ModInput::linear(ModSource::Velocity);
    for route in [
        ModRoute::new(env(0), 1200.0, ModTarget::PitchCents),
        ModRoute::new(env(0), -600.0, ModTarget::PitchCents).scaled_by(velocity),
        ModRoute::new(env(1), -2400.0, ModTarget::CutoffCents),
        ModRoute::new(lfo(0), 3.0, ModTarget::VolumeDb),
        ModRoute::new(lfo(1), 50.0, ModTarget::PitchCents).scaled_by(cc(1)),
    ] {
        assert!(b.modulation.routes.contains(&route), "{route:?} not in {:#?}", b.modulation.routes);
    }
    assert_eq!(b.modulation.routes.len(), 5);

    // 3. Numbered LFO and flex envelope.
    let c = r[2];
    assert_eq!(
        c.modulation.lfos,
        [Lfo { frequency_hz: 4.0, phase_cycles: 0.5, waveform: LfoWaveform::Sine, ..Lfo::default() }]
    );
    let flex = Envelope {
        delay_seconds: 0.0,
        attack_seconds: 0.2,
        hold_seconds: 0.0,
        decay_seconds: 0.0,
        sustain_level: 1.0,
        release_seconds: 0.5,
    };
    assert_eq!(c.modulation.envelopes, [flex]);
    for route in [
        ModRoute::new(lfo(0), 25.0, ModTarget::PitchCents),
        ModRoute::new(lfo(0), 75.0, ModTarget::PitchCents).scaled_by(cc(1)),
        ModRoute::new(env(0), 1200.0, ModTarget::CutoffCents),
        ModRoute::new(env(0), 1.0, ModTarget::Pan).scaled_by(cc(11)),
    ] {
        assert!(c.modulation.routes.contains(&route), "{route:?} not in {:#?}", c.modulation.routes);
    }
    assert_eq!(c.modulation.routes.len(), 4);

    // 4. Crossfades; the one on a fixed controller (set_hdcc300=0.25) folds into the amplitude.
    let d = r[3];
    let xf = |source, low, high, fade_in, power| Crossfade { source, low, high, fade_in, power };
    assert_eq!(
        d.crossfades,
        [
            xf(ModSource::Velocity, 65, 127, false, false),
            xf(ModSource::Velocity, 1, 64, true, false),
            xf(ModSource::Controller(1), 0, 127, true, true),
        ]
    );
    let fixed = Crossfade { source: ModSource::One, low: 0, high: 127, fade_in: true, power: true }.gain(32);
    assert!((d.amplitude - 0.5 * fixed).abs() < 1e-6, "{}", d.amplitude);
}

/// `amplitude_onccN` and `xfin_loccN`/`xfin_hiccN` crossfades heard at three controller values:
/// the level follows the controller as SFZ defines it (amplitude × CC/127; a linear-gain
/// crossfade from 0 at `xfin_locc` to 1 at `xfin_hicc`, an equal-power one with the default
/// `xf_cccurve=power`).
#[test]
fn amplitude_oncc_and_cc_crossfades_set_the_level_at_three_controller_values() {
    use noderack_tests::midi::cc;
    let dir = fixture("xfade");
    let level = |text: &str, controller: u8, value: u8| {
        let built = load_text(&dir, text);
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        let midi = [cc(0, 0, 7, 127), cc(0, 0, controller, value), note_on(100, 0, 69, 127)];
        rms(&play(&built, 24_000, &midi)[4_800..24_000])
    };
    let full = level("<region> sample=a440.wav\n", 1, 0);
    assert!(full > 0.1);
    for value in [0u8, 64, 127] {
        let v = value as f32 / 127.0;
        let amplitude = level("<region> sample=a440.wav amplitude_oncc20=100\n", 20, value) / full;
        assert!((amplitude - v).abs() < 0.01, "amplitude_oncc20 at {value}: {amplitude}");
        let gain = level("<region> sample=a440.wav xfin_locc21=0 xfin_hicc21=127 xf_cccurve=gain\n", 21, value) / full;
        assert!((gain - v).abs() < 0.01, "xfin (gain) at {value}: {gain}");
        let power = level("<region> sample=a440.wav xfin_locc21=0 xfin_hicc21=127\n", 21, value) / full;
        assert!((power - v.sqrt()).abs() < 0.01, "xfin (power) at {value}: {power}");
        let out = level("<region> sample=a440.wav xfout_locc22=0 xfout_hicc22=127 xf_cccurve=gain\n", 22, value) / full;
        assert!((out - (1.0 - v)).abs() < 0.01, "xfout (gain) at {value}: {out}");
    }
}
