//! `noderack-plugin`: noderack as one CLAP plugin, so DAW users get the whole rack — its
//! patch, its instruments, its buses — inside their project. One library (`noderack.clap`,
//! built by `scripts/bundle-plugin.sh`) offers two plugins: the instrument
//! ([`INSTRUMENT_ID`]: notes in, one output port per patch bus) and the effect
//! ([`EFFECT_ID`]: the patch's input buses as audio inputs, read by its `audio-in` nodes).
//!
//! Threads: the host's main thread owns the patch ([`session`]); while active, the engine
//! belongs to the instance's control session ([`control`], the one `noderack serve` runs), whose
//! thread runs the engine's maintenance and the editor's requests; the audio thread runs only
//! the executor ([`audio`]). The gui extension opens the editor in a window of its own
//! ([`editor`]), editing the graph that plays. The patch's macros are the plugin's 32 parameters,
//! automated sample-accurately. The state holds the patch (sample data referenced, never
//! embedded), the macro values and the port layout. See docs/PLUGIN.md.

use std::ffi::CStr;
use std::sync::OnceLock;

use clack_extensions::audio_ports::PluginAudioPorts;
use clack_extensions::audio_ports_config::{PluginAudioPortsConfig, PluginAudioPortsConfigInfo};
use clack_extensions::gui::PluginGui;
use clack_extensions::latency::PluginLatency;
use clack_extensions::note_ports::PluginNotePorts;
use clack_extensions::params::PluginParams;
use clack_extensions::state::PluginState;
use clack_extensions::tail::PluginTail;
use clack_extensions::timer::PluginTimer;
use clack_plugin::entry::prelude::*;
use clack_plugin::prelude::*;
use noderack_host::clap::{search_paths, WithClap};
use noderack_nodes::registry::Registry;

pub mod audio;
pub mod control;
pub mod editor;
pub mod macro_table;
pub mod main_thread;
pub mod patches;
pub mod ports;
pub mod session;
pub mod shared;
pub mod state;

pub use audio::Processor;
pub use main_thread::MainThread;
pub use shared::Shared;

/// The instrument's plugin id.
pub const INSTRUMENT_ID: &str = "org.noderack.noderack";
/// The effect's plugin id.
pub const EFFECT_ID: &str = "org.noderack.noderack.fx";

/// Which of the two plugins an instance is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Notes in, buses out.
    Instrument,
    /// Audio (and notes) in, buses out.
    Effect,
}

/// Every node kind a patch may use inside the plugin: the built-in ones and hosted CLAP
/// plugins found on the system (scanned once, on first use), as in the `noderack` binary.
pub fn factory() -> &'static WithClap<Registry> {
    static FACTORY: OnceLock<WithClap<Registry>> = OnceLock::new();
    FACTORY.get_or_init(|| WithClap::new(Registry, search_paths()))
}

/// The plugin type clack drives.
pub struct Noderack;

impl Plugin for Noderack {
    type AudioProcessor<'a> = Processor<'a>;
    type Shared<'a> = Shared<'a>;
    type MainThread<'a> = MainThread<'a>;

    fn declare_extensions(builder: &mut PluginExtensions<Self>, _shared: Option<&Shared<'_>>) {
        builder
            .register::<PluginAudioPorts>()
            .register::<PluginAudioPortsConfig>()
            .register::<PluginAudioPortsConfigInfo>()
            .register::<PluginNotePorts>()
            .register::<PluginParams>()
            .register::<PluginState>()
            .register::<PluginLatency>()
            .register::<PluginTail>()
            .register::<PluginGui>()
            .register::<PluginTimer>();
    }
}

fn descriptor(flavor: Flavor) -> PluginDescriptor {
    use clack_plugin::plugin::features::{
        AUDIO_EFFECT, INSTRUMENT, MIXING, MULTI_EFFECTS, SAMPLER, STEREO, SYNTHESIZER,
    };
    let (id, name, features): (&str, &str, &[&CStr]) = match flavor {
        Flavor::Instrument => (INSTRUMENT_ID, "noderack", &[INSTRUMENT, SYNTHESIZER, SAMPLER, STEREO]),
        Flavor::Effect => (EFFECT_ID, "noderack FX", &[AUDIO_EFFECT, MULTI_EFFECTS, MIXING, STEREO]),
    };
    PluginDescriptor::new(id, name)
        .with_vendor("noderack")
        .with_url("https://example.invalid/noderack")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_description("A modular node-graph rack of instruments and effects")
        .with_features(features.iter().copied())
}

/// The factory: both plugins.
struct Factory {
    descriptors: [(Flavor, PluginDescriptor); 2],
}

impl PluginFactoryImpl for Factory {
    fn plugin_count(&self) -> u32 {
        self.descriptors.len() as u32
    }

    fn plugin_descriptor(&self, index: u32) -> Option<&PluginDescriptor> {
        self.descriptors.get(index as usize).map(|(_, d)| d)
    }

    fn create_plugin<'a>(&'a self, host_info: HostInfo<'a>, plugin_id: &CStr) -> Option<PluginInstance<'a>> {
        let (flavor, descriptor) = self.descriptors.iter().find(|(_, d)| d.id() == Some(plugin_id))?;
        let flavor = *flavor;
        Some(PluginInstance::new::<Noderack>(
            host_info,
            descriptor,
            move |host| Ok(Shared::new(host, flavor)),
            move |host, shared| Ok(MainThread::new(host, shared)),
        ))
    }
}

/// The library's entry point.
pub struct NoderackEntry {
    factory: PluginFactoryWrapper<Factory>,
}

impl Entry for NoderackEntry {
    fn new(bundle_path: Option<&CStr>) -> Result<Self, EntryLoadError> {
        if let Some(path) = bundle_path.and_then(|p| p.to_str().ok()) {
            editor::set_library_path(path.into());
        }
        let descriptors = [Flavor::Instrument, Flavor::Effect].map(|f| (f, descriptor(f)));
        Ok(Self { factory: PluginFactoryWrapper::new(Factory { descriptors }) })
    }

    fn declare_factories<'a>(&'a self, builder: &mut EntryFactories<'a>) {
        builder.register_factory(&self.factory);
    }
}

clack_export_entry!(NoderackEntry);
