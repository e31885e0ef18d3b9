//! What a plugin offers, read by creating an instance on the calling thread (its main thread
//! for the time being): audio and note ports, parameters with their ranges, defaults and
//! current values, the latency and tail it reports once activated, and whether it saves state.

use std::path::Path;

use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::latency::PluginLatency;
use clack_extensions::note_ports::{NoteDialects, NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::state::PluginState;
use clack_extensions::tail::{PluginTail, TailLength};
use clack_host::prelude::*;
use serde::Serialize;

use super::handlers::{audio_state, NoderackHost};
use super::ClapError;

/// Sample rate and largest block an inspection activates the plugin with (to read its latency).
const INSPECT_SAMPLE_RATE: f64 = 48_000.0;
const INSPECT_MAX_FRAMES: u32 = 4096;

/// An audio port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioPortInfo {
    /// Its CLAP id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Channels.
    pub channels: u32,
    /// Whether it is the main port (others are side-chains or auxiliary outputs).
    pub main: bool,
}

/// A note port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotePortInfo {
    /// Its CLAP id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Whether it takes CLAP note events.
    pub clap: bool,
    /// Whether it takes MIDI.
    pub midi: bool,
}

/// A parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamInfo {
    /// Its CLAP id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its module (a `/`-separated group), if any.
    pub module: String,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Default value.
    pub default: f64,
    /// Its value when read (after any state was loaded).
    pub value: f64,
    /// Whether it takes whole values only.
    pub stepped: bool,
    /// Whether a host may automate it.
    pub automatable: bool,
    /// Whether only the plugin changes it.
    pub read_only: bool,
    /// Whether it is hidden from users.
    pub hidden: bool,
}

/// What a plugin offers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PluginInfo {
    /// Its id.
    pub id: String,
    /// Audio inputs.
    pub audio_inputs: Vec<AudioPortInfo>,
    /// Audio outputs.
    pub audio_outputs: Vec<AudioPortInfo>,
    /// Note inputs.
    pub note_inputs: Vec<NotePortInfo>,
    /// Note outputs.
    pub note_outputs: Vec<NotePortInfo>,
    /// Parameters.
    pub params: Vec<ParamInfo>,
    /// Frames of latency it reports once activated (at 48 kHz).
    pub latency_frames: u32,
    /// Frames of tail it reports once activated (at 48 kHz; `u32::MAX` for an infinite one).
    pub tail_frames: u32,
    /// Whether it saves and restores state.
    pub state: bool,
}

/// Reads what plugin `id` of the file `path` offers (creating it on this thread).
pub fn inspect(path: &Path, id: &str) -> Result<PluginInfo, ClapError> {
    let mut instance = super::plugin_thread::instantiate(path, id)?;
    read_info(&mut instance, id)
}

/// What the inactive plugin `instance` (of id `id`) offers. It is activated once, at 48 kHz,
/// to read its latency, and deactivated again: a plugin that cannot be activated is an error.
pub fn read_info(instance: &mut PluginInstance<NoderackHost>, id: &str) -> Result<PluginInfo, ClapError> {
    let instance_error = |stage, reason: String| ClapError::Instance { id: id.to_string(), stage, reason };
    let mut info = {
        let handle = instance.plugin_handle();
        let (audio_inputs, audio_outputs) = match handle.get_extension::<PluginAudioPorts>() {
            Some(ports) => {
                let mut buffer = AudioPortInfoBuffer::new();
                let mut read = |input: bool| {
                    (0..ports.count(&handle, input))
                        .filter_map(|i| {
                            ports.get(&handle, i, input, &mut buffer).map(|p| AudioPortInfo {
                                id: p.id.get(),
                                name: String::from_utf8_lossy(p.name).into_owned(),
                                channels: p.channel_count,
                                main: p.flags.contains(AudioPortFlags::IS_MAIN),
                            })
                        })
                        .collect::<Vec<_>>()
                };
                (read(true), read(false))
            }
            None => (Vec::new(), Vec::new()),
        };
        let (note_inputs, note_outputs) = match handle.get_extension::<PluginNotePorts>() {
            Some(ports) => {
                let mut buffer = NotePortInfoBuffer::new();
                let mut read = |input: bool| {
                    (0..ports.count(&handle, input))
                        .filter_map(|i| {
                            ports.get(&handle, i, input, &mut buffer).map(|p| NotePortInfo {
                                id: p.id.get(),
                                name: String::from_utf8_lossy(p.name).into_owned(),
                                clap: p.supported_dialects.intersects(NoteDialects::CLAP),
                                midi: p.supported_dialects.intersects(NoteDialects::MIDI | NoteDialects::MIDI_MPE),
                            })
                        })
                        .collect::<Vec<_>>()
                };
                (read(true), read(false))
            }
            None => (Vec::new(), Vec::new()),
        };
        let params = match handle.get_extension::<PluginParams>() {
            Some(params) => {
                let mut buffer = ParamInfoBuffer::new();
                (0..params.count(&handle))
                    .filter_map(|i| {
                        params.get_info(&handle, i, &mut buffer).map(|p| ParamInfo {
                            value: params.get_value(&handle, p.id).unwrap_or(p.default_value),
                            id: p.id.get(),
                            name: String::from_utf8_lossy(p.name).into_owned(),
                            module: String::from_utf8_lossy(p.module).into_owned(),
                            min: p.min_value,
                            max: p.max_value,
                            default: p.default_value,
                            stepped: p.flags.contains(ParamInfoFlags::IS_STEPPED),
                            automatable: p.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
                            read_only: p.flags.contains(ParamInfoFlags::IS_READONLY),
                            hidden: p.flags.contains(ParamInfoFlags::IS_HIDDEN),
                        })
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        PluginInfo {
            id: id.to_string(),
            audio_inputs,
            audio_outputs,
            note_inputs,
            note_outputs,
            params,
            latency_frames: 0,
            tail_frames: 0,
            state: handle.get_extension::<PluginState>().is_some(),
        }
    };
    // The latency is only meaningful once the plugin is activated.
    let config = PluginAudioConfiguration {
        sample_rate: INSPECT_SAMPLE_RATE,
        min_frames_count: 1,
        max_frames_count: INSPECT_MAX_FRAMES,
    };
    let mut processor =
        instance.activate(audio_state, config).map_err(|e| instance_error("activation", e.to_string()))?;
    info.tail_frames = tail_frames(&mut processor);
    let handle = instance.plugin_handle();
    info.latency_frames = handle.get_extension::<PluginLatency>().map_or(0, |l| l.get(&handle));
    instance.deactivate(processor);
    Ok(info)
}

/// The tail an activated plugin reports, in frames (`u32::MAX` for an infinite one; 0 for a
/// plugin without the tail extension).
pub fn tail_frames(processor: &mut StoppedPluginAudioProcessor<NoderackHost>) -> u32 {
    let handle = processor.plugin_handle();
    match handle.get_extension::<PluginTail>().map(|t| t.get(&handle)) {
        Some(TailLength::Finite(frames)) => frames,
        Some(TailLength::Infinite) => u32::MAX,
        None => 0,
    }
}
