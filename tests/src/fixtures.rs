//! Files tests write for themselves: scratch folders, synthesized WAV samples, and text files
//! (SFZ instruments, patches) beside them.

use std::path::{Path, PathBuf};

/// A fresh, empty folder for one test, removed with everything in it when dropped (so a test
/// run leaves nothing behind in the temporary folder). Set `NODERACK_KEEP_SCRATCH=1` to keep
/// it for a look after the test; its path is then printed.
///
/// Hold it for as long as its files are used: `scratch_dir("x").join("out.wav")` removes the
/// folder at the end of the statement.
#[must_use = "the folder is removed when this is dropped"]
pub struct ScratchDir(Option<tempfile::TempDir>);

impl ScratchDir {
    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.0.as_ref().expect("present until dropped").path()
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<std::ffi::OsStr> for ScratchDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path().as_os_str()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let dir = self.0.take().expect("dropped once");
        if std::env::var_os("NODERACK_KEEP_SCRATCH").is_some_and(|v| v != "0") {
            eprintln!("kept scratch folder {}", dir.keep().display());
        }
    }
}

/// A fresh, empty folder for one test, named after it (`noderack-NAME-` and six random
/// characters, in the temporary folder); see [`ScratchDir`].
pub fn scratch_dir(name: &str) -> ScratchDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("noderack-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a scratch folder for {name}: {e}"));
    ScratchDir(Some(dir))
}

/// `seconds` of a sine at `hz` with peak `amplitude`, at `rate` Hz.
pub fn sine_wave(hz: f64, rate: u32, seconds: f64, amplitude: f32) -> Vec<f32> {
    let frames = (seconds * rate as f64).round() as usize;
    (0..frames).map(|i| amplitude * (std::f64::consts::TAU * hz * i as f64 / rate as f64).sin() as f32).collect()
}

/// Writes `samples` as a mono 16-bit WAV at `rate` Hz to `dir/name` and returns its path.
pub fn write_wav(dir: &Path, name: &str, rate: u32, samples: &[f32]) -> PathBuf {
    write_wav_channels(dir, name, rate, &[samples])
}

/// Writes `channels` (of equal length) as a 16-bit WAV at `rate` Hz to `dir/name` and returns
/// its path.
pub fn write_wav_channels(dir: &Path, name: &str, rate: u32, channels: &[&[f32]]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    for i in 0..frames {
        for c in channels {
            writer.write_sample((c[i].clamp(-1.0, 1.0) * 32_767.0).round() as i16).expect("writes a sample");
        }
    }
    writer.finalize().expect("finishes the WAV");
    path
}

/// Writes `text` to `dir/name` and returns its path.
pub fn write_text(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// Writes a one-second sine at `hz` (44.1 kHz, amplitude 0.5) as `dir/name` and returns a
/// SongWalker sampler zone (JSON) playing it over `low..=high` from `root_note`, with the
/// sample's real hash prefix.
pub fn songwalker_sine_zone(dir: &Path, name: &str, hz: f64, root_note: u8, low: u8, high: u8) -> String {
    let path = write_wav(dir, name, 44_100, &sine_wave(hz, 44_100, 1.0, 0.5));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hash: String = noderack_presets::sample::sha256(&bytes)[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        r#"{{ "keyRange": {{ "low": {low}, "high": {high} }}, "pitch": {{ "rootNote": {root_note} }}, "sampleRate": 44100,
             "audio": {{ "type": "external", "url": "{name}", "codec": "wav", "sha256": "{hash}" }} }}"#
    )
}

/// A mono in-memory sample of a `hz` sine at half scale, `seconds` long at `rate`.
pub fn sine_sample(hz: f64, rate: u32, seconds: f64) -> std::sync::Arc<noderack_presets::sample::Sample> {
    let frames = (seconds * rate as f64) as usize;
    let data =
        (0..frames).map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / rate as f64).sin()) as f32).collect();
    std::sync::Arc::new(noderack_presets::sample::Sample::from_f32(rate, vec![data], [0; 32]))
}

/// An instrument of one group holding `regions`.
pub fn instrument_of(regions: Vec<noderack_presets::instrument::Region>) -> noderack_presets::instrument::Instrument {
    use noderack_presets::instrument::{Group, Instrument};
    Instrument { name: "test".into(), groups: vec![Group { name: None, regions }], ..Instrument::default() }
}

/// A region of a 440 Hz sine (root key A4) on every key.
pub fn a440(rate: u32, seconds: f64) -> noderack_presets::instrument::Region {
    noderack_presets::instrument::Region::new(sine_sample(440.0, rate, seconds), 69)
}

/// The channels of a 32-bit float WAV file (one `Vec` each), as noderack wrote it.
pub fn wav_channels(path: &Path) -> Vec<Vec<f32>> {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let channels = reader.spec().channels as usize;
    let mut out = vec![Vec::new(); channels];
    for (i, sample) in reader.into_samples::<f32>().enumerate() {
        out[i % channels].push(sample.unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    out
}

/// A patch text with two stereo buses: `lead` (a sine on MIDI channel 1) to `main`, `bass` (a sine on channel 2)
/// to `aux`.
pub const TWO_BUS_PATCH: &str = r#"{
  "format": "noderack-patch", "version": 1,
  "buses": [ { "name": "main", "channels": 2 }, { "name": "aux", "channels": 2 } ],
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "ch1", "kind": "channel-filter", "params": { "channel": "1" } },
    { "id": "ch2", "kind": "channel-filter", "params": { "channel": "2" } },
    { "id": "lead", "kind": "synth", "params": { "waveform": "sine", "gain_db": -6 } },
    { "id": "bass", "kind": "synth", "params": { "waveform": "sine", "gain_db": -12 } },
    { "id": "out", "kind": "output", "config": { "bus": "main" } },
    { "id": "out_aux", "kind": "output", "config": { "bus": "aux" } }
  ],
  "connections": [
    { "from": "keys.events", "to": "ch1.in" }, { "from": "keys.events", "to": "ch2.in" },
    { "from": "ch1.out", "to": "lead.events" }, { "from": "ch2.out", "to": "bass.events" },
    { "from": "lead.out", "to": "out.in" }, { "from": "bass.out", "to": "out_aux.in" }
  ]
}"#;

/// The patch file at `patch` playing the MIDI file `midi`, rendered offline for `frames`
/// frames at `sample_rate` (256-frame blocks): one channel list per bus channel.
pub fn render_patch(patch: &Path, midi: &Path, sample_rate: f32, frames: u64) -> Vec<Vec<f32>> {
    use noderack_nodes::registry::Registry;
    let patch = noderack_presets::Patch::load(patch, &Registry)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", patch.display()));
    let (mut engine, executor) = noderack_graph::new_engine(patch.engine_config(sample_rate, 512));
    engine.apply(patch.edits()).expect("a loaded patch applies");
    let sequence = noderack_host::read_midi_file(midi, sample_rate as f64).expect("the MIDI file reads");
    noderack_host::OfflineRenderer::new(engine, executor, 256).render_to_vec(frames, &sequence.events)
}

/// A patch whose instruments read files from around it, written into `dir`:
/// `patches/song.json` plays an SFZ instrument (`instruments/piano.sfz`, which includes
/// `common.sfzh` and plays `samples/A 4%.wav`, a 440 Hz sine: a name that needs encoding) and
/// program 1 of an SF2 bank (`banks/sines.sf2`, a 600 Hz sine), mixed. Returns the patch's path.
pub fn patch_with_files(dir: &Path) -> PathBuf {
    write_wav(&dir.join("samples"), "A 4%.wav", 44_100, &sine_wave(440.0, 44_100, 1.0, 0.5));
    let instruments = dir.join("instruments");
    std::fs::create_dir_all(&instruments).expect("creates a folder");
    write_text(&instruments, "common.sfzh", "<global> ampeg_release=0.05\n");
    write_text(
        &instruments,
        "piano.sfz",
        "#include \"common.sfzh\"\n<region> sample=../samples/A 4%.wav lokey=0 hikey=127 pitch_keycenter=69\n",
    );
    let banks = dir.join("banks");
    std::fs::create_dir_all(&banks).expect("creates a folder");
    std::fs::write(banks.join("sines.sf2"), crate::sf2_builder::three_sines()).expect("writes the bank");
    let patches = dir.join("patches");
    std::fs::create_dir_all(&patches).expect("creates a folder");
    write_text(
        &patches,
        "song.json",
        r#"{
  "format": "noderack-patch", "version": 1, "name": "Bundled song", "description": "piano and sines",
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "piano", "kind": "sampler", "config": { "instrument": { "sfz": "../instruments/piano.sfz" } } },
    { "id": "bank", "kind": "sampler", "config": { "instrument": { "sf2": "../banks/sines.sf2", "program": 1 } } },
    { "id": "mix", "kind": "mixer", "config": { "inputs": 2 } },
    { "id": "out", "kind": "output" }
  ],
  "connections": [
    { "from": "keys.events", "to": "piano.events" }, { "from": "keys.events", "to": "bank.events" },
    { "from": "piano.out", "to": "mix.in1" }, { "from": "bank.out", "to": "mix.in2" },
    { "from": "mix.out", "to": "out.in" }
  ]
}"#,
    )
}

/// A MIDI file at `dir/name` playing A4 then C5 for half a second each (channel 1).
pub fn two_notes_midi(dir: &Path, name: &str) -> PathBuf {
    let events = [(0, [0x90, 69, 100]), (480, [0x80, 69, 0]), (480, [0x90, 72, 90]), (960, [0x80, 72, 0])];
    let path = dir.join(name);
    std::fs::write(&path, crate::midi::smf_bytes(&events)).expect("writes the MIDI file");
    path
}
