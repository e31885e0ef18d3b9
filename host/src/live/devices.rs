//! What the machine offers for live playback, per backend: the JACK server and its ports,
//! cpal's audio devices per host, MIDI sources (`noderack devices`).

use cpal::traits::{DeviceTrait, HostTrait};
use jack::{Client, ClientOptions, PortFlags};

use super::cpal_backend::device_label;
use super::device_midi::{list_midi_sources, MidiSystem};

/// One backend's or system's findings: a heading and lines (or why nothing could be listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSection {
    /// What was asked (`JACK`, `cpal/ALSA outputs`, `MIDI (ALSA sequencer)`).
    pub heading: String,
    /// What it has, one item per line, or why it could not say.
    pub items: Result<Vec<String>, String>,
}

/// Lists everything live playback could use now.
pub fn list_devices(client_name: &str) -> Vec<DeviceSection> {
    let mut sections = vec![jack_section(client_name)];
    for host_id in cpal::available_hosts() {
        sections.extend(cpal_sections(host_id));
    }
    for (system, sources) in list_midi_sources(client_name) {
        let heading = match system {
            MidiSystem::Alsa => "MIDI sources (ALSA sequencer, through midir)",
            MidiSystem::Jack => "MIDI sources (JACK MIDI)",
        };
        sections.push(DeviceSection { heading: heading.into(), items: sources });
    }
    sections
}

fn jack_section(client_name: &str) -> DeviceSection {
    let items = match Client::new(&format!("{client_name}-devices"), ClientOptions::NO_START_SERVER) {
        Ok((client, _)) => {
            let mut items = vec![format!(
                "server at {} Hz, {}-frame blocks, DSP load {:.1}%",
                client.sample_rate(),
                client.buffer_size(),
                client.cpu_load()
            )];
            let list = |what: &str, kind: &str, flags: PortFlags| {
                let ports = client.ports(None, Some(kind), flags);
                format!("{what}: {}", if ports.is_empty() { "none".into() } else { ports.join(", ") })
            };
            let audio = "32 bit float mono audio";
            items.push(list("playback ports", audio, PortFlags::IS_INPUT | PortFlags::IS_PHYSICAL));
            items.push(list("capture ports", audio, PortFlags::IS_OUTPUT | PortFlags::IS_PHYSICAL));
            items.push(list("MIDI sources", "8 bit raw midi", PortFlags::IS_OUTPUT));
            Ok(items)
        }
        Err(e) => Err(format!("not available: {}", super::jack_backend::describe_error(&e))),
    };
    DeviceSection { heading: "JACK (--backend jack)".into(), items }
}

fn cpal_sections(host_id: cpal::HostId) -> Vec<DeviceSection> {
    let heading = |what: &str| format!("cpal/{} {what} (--backend cpal --device NAME)", host_id.name());
    let host = match cpal::host_from_id(host_id) {
        Ok(host) => host,
        Err(e) => return vec![DeviceSection { heading: heading("devices"), items: Err(e.to_string()) }],
    };
    let describe = |device: &cpal::Device, output: bool| {
        let (name, id) = device_label(device);
        let configs: Vec<cpal::SupportedStreamConfigRange> = if output {
            device.supported_output_configs().map(|c| c.collect()).unwrap_or_default()
        } else {
            device.supported_input_configs().map(|c| c.collect()).unwrap_or_default()
        };
        format!("\"{name}\" ({id}): {}", summary(&configs))
    };
    let outputs = host.output_devices().map(|d| d.map(|d| describe(&d, true)).collect()).map_err(|e| e.to_string());
    let inputs = host.input_devices().map(|d| d.map(|d| describe(&d, false)).collect()).map_err(|e| e.to_string());
    vec![
        DeviceSection { heading: heading("outputs"), items: outputs },
        DeviceSection { heading: heading("inputs"), items: inputs },
    ]
}

/// What a device offers in the format the engine uses (32-bit float): channel and rate ranges.
fn summary(configs: &[cpal::SupportedStreamConfigRange]) -> String {
    let float: Vec<_> = configs.iter().filter(|r| r.sample_format() == cpal::SampleFormat::F32).collect();
    let (Some(low), Some(high)) = (float.iter().map(|r| r.channels()).min(), float.iter().map(|r| r.channels()).max())
    else {
        return "no 32-bit float format (not usable)".into();
    };
    let min_rate = float.iter().map(|r| r.min_sample_rate()).min().unwrap_or(0);
    let max_rate = float.iter().map(|r| r.max_sample_rate()).max().unwrap_or(0);
    let channels = if low == high { format!("{low} channels") } else { format!("{low}–{high} channels") };
    let rates = if min_rate == max_rate { format!("{min_rate} Hz") } else { format!("{min_rate}–{max_rate} Hz") };
    format!("{channels}, {rates}")
}
