//! The plugin's audio ports, from the patch's buses. Output port 0 is the first (main) bus,
//! then one port per further bus, up to [`MAX_PORTS`]; the effect's input ports are the patch's
//! input buses. A host fixes ports at activation, so a patch with other buses asks it to
//! rescan; hosts that cannot take the fixed layout instead ([`PortMode::Fixed`], offered
//! through audio-ports-config): [`MAX_PORTS`] stereo outputs, bus N on port N, the rest silent.

use noderack_graph::BusSpec;

/// Most audio ports on each side (DAW mixers handle 16 stereo outputs of a multi-timbral
/// instrument well; more would mostly be unused).
pub const MAX_PORTS: usize = 16;

/// Most audio channels the engine renders for the plugin, over all buses (a patch with more
/// is refused with a message).
pub const MAX_CHANNELS: usize = 256;

/// Which output layout the plugin offers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// One port per bus, as the patch says (the default).
    Patch,
    /// [`MAX_PORTS`] stereo ports whatever the patch (for hosts that cannot rescan).
    Fixed,
}

impl PortMode {
    /// Its audio-ports-config id.
    pub fn config_id(self) -> u32 {
        match self {
            PortMode::Patch => 0,
            PortMode::Fixed => 1,
        }
    }

    /// The mode with audio-ports-config id `id`.
    pub fn from_config_id(id: u32) -> Option<PortMode> {
        match id {
            0 => Some(PortMode::Patch),
            1 => Some(PortMode::Fixed),
            _ => None,
        }
    }
}

/// One port: its name, channel count and where its channels come from among the engine's bus
/// channels (bus by bus, as the executor lays them out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// Shown by the host (the bus's name).
    pub name: String,
    /// Channels of the port.
    pub channels: u32,
    /// For each channel of the port, the engine channel it carries (`None`: silent).
    pub sources: Vec<Option<usize>>,
}

/// The ports of one side for `buses` in `mode` (a fixed layout only applies to outputs).
pub fn layout(buses: &[BusSpec], mode: PortMode) -> Vec<Port> {
    let mut first_channel = Vec::with_capacity(buses.len());
    let mut next = 0usize;
    for bus in buses {
        first_channel.push(next);
        next += bus.channels as usize;
    }
    match mode {
        PortMode::Patch => buses
            .iter()
            .zip(&first_channel)
            .take(MAX_PORTS)
            .map(|(bus, &first)| Port {
                name: bus.name.clone(),
                channels: bus.channels as u32,
                sources: (0..bus.channels as usize).map(|c| Some(first + c)).collect(),
            })
            .collect(),
        PortMode::Fixed => (0..MAX_PORTS)
            .map(|i| match buses.get(i) {
                // A mono bus plays on both sides; a wider one gives its first two channels.
                Some(bus) => Port {
                    name: bus.name.clone(),
                    channels: 2,
                    sources: if bus.channels == 1 {
                        vec![Some(first_channel[i]); 2]
                    } else {
                        vec![Some(first_channel[i]), Some(first_channel[i] + 1)]
                    },
                },
                None => Port { name: format!("out {}", i + 1), channels: 2, sources: vec![None, None] },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buses() -> Vec<BusSpec> {
        vec![BusSpec::stereo("main"), BusSpec { name: "click".into(), channels: 1 }, BusSpec::stereo("drums")]
    }

    #[test]
    fn each_bus_is_a_port_with_its_own_channels() {
        let ports = layout(&buses(), PortMode::Patch);
        let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["main", "click", "drums"]);
        assert_eq!(ports[0].sources, [Some(0), Some(1)]);
        assert_eq!(ports[1].sources, [Some(2)]);
        assert_eq!(ports[2].sources, [Some(3), Some(4)]);
    }

    #[test]
    fn the_fixed_layout_has_sixteen_stereo_ports() {
        let ports = layout(&buses(), PortMode::Fixed);
        assert_eq!(ports.len(), MAX_PORTS);
        assert!(ports.iter().all(|p| p.channels == 2));
        assert_eq!(ports[1].sources, [Some(2), Some(2)], "a mono bus on both sides");
        assert_eq!(ports[2].sources, [Some(3), Some(4)]);
        assert_eq!(ports[3].sources, [None, None]);
    }

    #[test]
    fn more_buses_than_ports_are_cut() {
        let many: Vec<BusSpec> = (0..20).map(|i| BusSpec::stereo(&format!("b{i}"))).collect();
        assert_eq!(layout(&many, PortMode::Patch).len(), MAX_PORTS);
    }
}
