//! Every node kind a patch file can name, and how to create one from its settings.

use std::path::Path;
use std::sync::Arc;

use noderack_graph::NodeDescription;

use crate::channel_filter::ChannelFilter;
use crate::chorus::Chorus;
use crate::compressor::Compressor;
use crate::delay::Delay;
use crate::eq::Eq;
use crate::key_split::KeySplit;
use crate::limiter::Limiter;
use crate::lossy::Lossy;
use crate::mixer::Mixer;
use crate::mpe::Mpe;
use crate::reverb::Reverb;
use crate::runner::{load_song, ControlMap, InstrumentSource, MissingPresets, Runner, RunnerSettings, RunnerSong};
use crate::sampler::Sampler;
use crate::synth::Synth;
use crate::transpose::Transpose;
use crate::{AudioIn, Gain, MidiIn, Output};
use noderack_presets::instrument_ref::InstrumentRef;
use noderack_presets::{ConfigError, ConfigReader, LoadContext, NodeConfig, NodeFactory};

/// A node kind: its patch-file name, a one-line summary and its settings.
pub struct KindInfo {
    /// Name in patch files.
    pub kind: &'static str,
    /// What it does, in one line (shown by `noderack nodes`).
    pub summary: &'static str,
    /// Settings it accepts in a patch's `config` object.
    pub settings: &'static [&'static str],
}

/// All built-in node kinds, in the order listings show them.
pub const KINDS: &[KindInfo] = &[
    KindInfo { kind: MidiIn::KIND, summary: "the host's MIDI input (and events sent through the API)", settings: &[] },
    KindInfo { kind: Output::KIND, summary: "feeds a named output bus", settings: &["bus", "channels"] },
    KindInfo {
        kind: AudioIn::KIND,
        summary: "the host's audio input: reads a named input bus (live input for effects)",
        settings: &["bus", "channels"],
    },
    KindInfo {
        kind: Synth::KIND,
        summary: "polyphonic subtractive synth: band-limited oscillator, resonant low-pass, ADSR, a modulation envelope and two LFOs, GM channel controllers",
        settings: Synth::CONFIG_KEYS,
    },
    KindInfo {
        kind: Sampler::KIND,
        summary: "plays sampled instruments (SongWalker presets, SFZ, SF2) by program, with loops and round robin",
        settings: Sampler::CONFIG_KEYS,
    },
    KindInfo { kind: Gain::KIND, summary: "stereo gain (dB) and balance", settings: &[] },
    KindInfo {
        kind: Mixer::KIND,
        summary: "N stereo inputs with gain, balance, mute and solo, and a master gain",
        settings: Mixer::CONFIG_KEYS,
    },
    KindInfo {
        kind: ChannelFilter::KIND,
        summary: "passes events of one MIDI channel (or all), optionally moved to another",
        settings: &[],
    },
    KindInfo {
        kind: KeySplit::KIND,
        summary: "sends notes below a split key to `low`, the rest to `high`",
        settings: &[],
    },
    KindInfo { kind: Transpose::KIND, summary: "shifts notes by whole semitones", settings: &[] },
    KindInfo {
        kind: Mpe::KIND,
        summary: "turns MPE (per-note channels, zones from the configuration message) into per-note bend, pressure and timbre",
        settings: Mpe::CONFIG_KEYS,
    },
    KindInfo {
        kind: Delay::KIND,
        summary: "stereo echo: time in ms or in beats of the tempo, feedback through a tone filter, ping-pong; time changes glide",
        settings: EFFECT_PRESET_KEYS,
    },
    KindInfo {
        kind: Reverb::KIND,
        summary: "stereo feedback-delay-network reverb: decay time per band, size, pre-delay, diffusion, gentle modulation, width",
        settings: EFFECT_PRESET_KEYS,
    },
    KindInfo {
        kind: Chorus::KIND,
        summary: "stereo chorus, a flanger with a short delay and feedback: a delay swept by quadrature sines",
        settings: EFFECT_PRESET_KEYS,
    },
    KindInfo {
        kind: Compressor::KIND,
        summary: "stereo compressor: threshold, ratio, soft knee, attack, release, make-up; side-chain input; gain reduction out",
        settings: &[],
    },
    KindInfo {
        kind: Limiter::KIND,
        summary: "stereo look-ahead limiter (64 frames, compensated): never exceeds its ceiling",
        settings: &[],
    },
    KindInfo {
        kind: Lossy::KIND,
        summary: "lossy audio-codec emulation: banded spectral quantization, band gating, HF roll-off, packet loss, bit-crush, decimation; seeded",
        settings: &[],
    },
    KindInfo {
        kind: Eq::KIND,
        summary: "stereo equalizer: low and high cut, low and high shelf, three peaking bands (cookbook responses, sweepable)",
        settings: &[],
    },
    KindInfo {
        kind: Runner::KIND,
        summary: "plays a .sw song when a note starts it, transposed by the note: its notes on `out`, its own instruments on `audio` (docs/SW_LANGUAGE.md)",
        settings: Runner::CONFIG_KEYS,
    },
];

/// Creates the description of a node of `kind` with `config`, outside any patch: paths in
/// settings are relative to the current directory.
pub fn create(kind: &str, config: &NodeConfig) -> Result<Arc<dyn NodeDescription>, ConfigError> {
    create_in(kind, config, &mut LoadContext::new(Path::new("")))
}

/// Creates the description of a node of `kind` with `config`, reading the files its settings
/// name through `context` (a sampler's `instrument`, see `docs/PATCH_FORMAT.md`).
pub fn create_in(
    kind: &str,
    config: &NodeConfig,
    context: &mut LoadContext,
) -> Result<Arc<dyn NodeDescription>, ConfigError> {
    let Some(info) = KINDS.iter().find(|k| k.kind == kind) else {
        return Err(ConfigError::UnknownKind {
            kind: kind.to_string(),
            known: KINDS.iter().map(|k| k.kind).collect::<Vec<_>>().join(", "),
        });
    };
    let cfg = ConfigReader::new(info.kind, config, info.settings)?;
    Ok(match info.kind {
        MidiIn::KIND => Arc::new(MidiIn::new()),
        Output::KIND => Arc::new(Output::new(&cfg.text("bus", "main")?, cfg.integer("channels", 1, 64, 2)? as u16)),
        AudioIn::KIND => Arc::new(AudioIn::new(&cfg.text("bus", "in")?, cfg.integer("channels", 1, 64, 2)? as u16)),
        Synth::KIND => Arc::new(Synth::from_config(config)?),
        Sampler::KIND => {
            let bank = match config.get("instrument") {
                Some(value) => {
                    Some(Arc::new(InstrumentRef::load_setting(Sampler::KIND, "instrument", value, context)?))
                }
                None => None,
            };
            Arc::new(Sampler::from_config(config, bank)?)
        }
        Gain::KIND => Arc::new(Gain::new()),
        Mixer::KIND => Arc::new(Mixer::from_config(config)?),
        ChannelFilter::KIND => Arc::new(ChannelFilter::new()),
        KeySplit::KIND => Arc::new(KeySplit::new()),
        Transpose::KIND => Arc::new(Transpose::new()),
        Mpe::KIND => Arc::new(Mpe::from_config(config)?),
        Delay::KIND => effect(Delay::KIND, Arc::new(Delay::new()), config, context)?,
        Eq::KIND => Arc::new(Eq::new()),
        Chorus::KIND => effect(Chorus::KIND, Arc::new(Chorus::new()), config, context)?,
        Compressor::KIND => Arc::new(Compressor::new()),
        Limiter::KIND => Arc::new(Limiter::new()),
        Lossy::KIND => Arc::new(Lossy::new()),
        Reverb::KIND => effect(Reverb::KIND, Arc::new(Reverb::new()), config, context)?,
        Runner::KIND => Arc::new(runner(config, context)?),
        _ => unreachable!("every entry of KINDS is handled"),
    })
}

/// The built-in node kinds as a [`NodeFactory`], for loading patches.
#[derive(Copy, Clone, Debug, Default)]
pub struct Registry;

impl NodeFactory for Registry {
    fn create(
        &self,
        kind: &str,
        config: &NodeConfig,
        context: &mut LoadContext,
    ) -> Result<Arc<dyn NodeDescription>, ConfigError> {
        create_in(kind, config, context)
    }
}

/// A runner of the song its `song` setting names (a `.sw` file, relative to the patch), its
/// `controls` mapped and, unless `"instruments": false`, its own instruments loaded (presets
/// from `library`, a folder relative to the patch or a URL; the public library by default).
/// Without a song, a runner with nothing to play (as a sampler without an instrument is silent).
fn runner(config: &NodeConfig, context: &mut LoadContext) -> Result<Runner, ConfigError> {
    use noderack_presets::library::{LibraryClient, LibraryConfig};
    use noderack_presets::ConfigValue;

    let bad = |key: &str, reason: String| ConfigError::BadValue { kind: Runner::KIND, key: key.into(), reason };
    let settings = RunnerSettings::from_config(config)?;
    let controls = ControlMap::from_config(config.get("controls"))?;
    let path = match config.get("song") {
        Some(ConfigValue::Text(path)) if !path.is_empty() => context.resolve(path),
        Some(_) => return Err(bad("song", "expected the path of a .sw file".into())),
        None => return Ok(Runner::new(RunnerSong::new(&noderack_presets::sw::Song::empty()), settings, None)),
    };
    let own_instruments = match config.get("instruments") {
        None => true,
        Some(ConfigValue::Bool(b)) => *b,
        Some(_) => return Err(bad("instruments", "expected true or false".into())),
    };
    let library = library_setting(Runner::KIND, config, context)?;
    let source = std::fs::read_to_string(&path).map_err(|e| bad("song", format!("{}: {e}", path.display())))?;
    let client = || LibraryClient::new(&LibraryConfig::new(library.clone())).map_err(|e| format!("library: {e}"));
    let mut warnings = Vec::new();
    let instruments = own_instruments.then_some(InstrumentSource {
        library: &client,
        store: &mut context.store,
        warnings: &mut warnings,
        missing: MissingPresets::Refuse,
    });
    let (song, rack) = load_song(&source, &path.display().to_string(), &[], controls, instruments)
        .map_err(|e| bad("song", format!("\n{e}")))?;
    context.warn(warnings);
    Ok(Runner::new(song, settings, rack))
}

/// The `library` setting of a node of `kind`: a URL as given, a folder relative to the patch,
/// or the public library when absent.
fn library_setting(kind: &'static str, config: &NodeConfig, context: &LoadContext) -> Result<String, ConfigError> {
    use noderack_presets::library::DEFAULT_LIBRARY_URL;
    use noderack_presets::ConfigValue;
    match config.get("library") {
        None => Ok(DEFAULT_LIBRARY_URL.to_string()),
        Some(ConfigValue::Text(given)) if given.contains("://") => Ok(given.clone()),
        Some(ConfigValue::Text(given)) if !given.is_empty() => Ok(context.resolve(given).display().to_string()),
        Some(_) => {
            Err(ConfigError::BadValue { kind, key: "library".into(), reason: "expected a folder or a URL".into() })
        }
    }
}

/// The settings of the effect nodes a SongWalker effect preset can set up.
const EFFECT_PRESET_KEYS: &[&str] = &["preset", "library"];

/// An effect node of `kind` (`reverb`, `delay`, `chorus`), its parameters starting from the
/// library effect preset its `preset` setting names (`"Lib/Name"`, from `library`), if any.
fn effect(
    kind: &'static str,
    plain: Arc<dyn NodeDescription>,
    config: &NodeConfig,
    context: &mut LoadContext,
) -> Result<Arc<dyn NodeDescription>, ConfigError> {
    use noderack_presets::library::{LibraryClient, LibraryConfig};
    use noderack_presets::ConfigValue;

    // Refuses unknown settings.
    ConfigReader::new(kind, config, EFFECT_PRESET_KEYS)?;
    let bad = |key: &str, reason: String| ConfigError::BadValue { kind, key: key.into(), reason };
    let name = match config.get("preset") {
        None => return Ok(plain),
        Some(ConfigValue::Text(name)) if !name.is_empty() => name.clone(),
        Some(_) => return Err(bad("preset", "expected a library preset's name, \"Lib/Name\"".into())),
    };
    let library = library_setting(kind, config, context)?;
    let client = LibraryClient::new(&LibraryConfig::new(library)).map_err(|e| bad("library", e.to_string()))?;
    let preset = client.load_effect(&name).map_err(|e| bad("preset", e.to_string()))?;
    if preset.effect_type != kind {
        return Err(bad("preset", format!("{name} is a {} preset, not a {kind} one", preset.effect_type)));
    }
    let node = crate::effect_preset::effect_node(&preset)
        .ok_or_else(|| bad("preset", format!("{name}: effect \"{}\" has no node", preset.effect_type)))?;
    context.warn(node.warnings);
    Ok(Arc::new(crate::effect_preset::WithDefaults::new(plain, &node.params)))
}
