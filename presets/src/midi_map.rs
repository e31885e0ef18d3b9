//! MIDI learn's bindings as a patch keeps them: `"midi_map"`, each a controller (and channel,
//! or any) bound to one node parameter over a range, so a knob on a keyboard moves a filter's
//! cutoff wherever the patch plays. The engine applies them on the audio thread
//! ([`noderack_graph::Edit::SetCcMap`]); docs/PATCH_FORMAT.md describes the file.

use noderack_graph::{CcBinding, NodeId, ParamSpec};
use serde::Deserialize;

use crate::macros::{MacroTarget, MacroTargetFile};

/// One controller bound to one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct CcMapping {
    /// The channel, 1..=16 as people count them; `None`: any channel.
    pub channel: Option<u8>,
    /// The controller number, 0..=127.
    pub controller: u8,
    /// The parameter and the range the controller's 0..=127 spans.
    pub target: MacroTarget,
}

impl CcMapping {
    /// The engine's binding, for the node whose engine id is `node`.
    pub fn binding(&self, node: NodeId) -> CcBinding {
        let t = &self.target;
        CcBinding {
            channel: self.channel.map(|c| c - 1),
            controller: self.controller,
            node,
            param: t.param,
            min: t.min,
            max: t.max,
            stepped: t.stepped,
        }
    }

    /// `"node.param"`.
    pub fn param_path(&self) -> String {
        format!("{}.{}", self.target.node_name, self.target.param_name)
    }

    /// The mapping as the patch file writes it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = crate::macros::target_json(&self.target);
        value["cc"] = serde_json::json!(self.controller);
        if let Some(channel) = self.channel {
            value["channel"] = serde_json::json!(channel);
        }
        value
    }
}

/// A mapping as written in a patch file (or a `map_cc` edit).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CcMappingFile {
    /// The controller number.
    pub cc: u32,
    /// The channel (1..=16), or any when absent.
    #[serde(default)]
    pub channel: Option<u32>,
    /// `"node.param"`.
    pub param: String,
    /// The parameter's value at controller value 0 (default: the bottom of its range).
    #[serde(default)]
    pub min: Option<f32>,
    /// Its value at 127 (default: the top of its range).
    #[serde(default)]
    pub max: Option<f32>,
}

impl CcMappingFile {
    /// Checks the mapping against the patch's nodes (`lookup` gives a node's id, kind and
    /// parameters by name); an error names the field at fault.
    pub(crate) fn resolve<'a>(
        &self,
        lookup: &impl Fn(&str) -> Option<(NodeId, &'a str, &'a [ParamSpec])>,
    ) -> Result<CcMapping, (&'static str, String)> {
        let controller = u8::try_from(self.cc)
            .ok()
            .filter(|c| *c <= 127)
            .ok_or(("cc", format!("controllers are 0 to 127, found {}", self.cc)))?;
        let channel = match self.channel {
            None => None,
            Some(c @ 1..=16) => Some(c as u8),
            Some(c) => return Err(("channel", format!("channels are 1 to 16, found {c}"))),
        };
        let target = MacroTargetFile { param: self.param.clone(), min: self.min, max: self.max }.resolve(lookup)?;
        Ok(CcMapping { channel, controller, target })
    }
}

/// The engine bindings of `mappings`, each node's engine id given by `engine_id` (a mapping
/// whose node has none is left out).
pub fn bindings(mappings: &[CcMapping], engine_id: impl Fn(NodeId) -> Option<NodeId>) -> Vec<CcBinding> {
    mappings.iter().filter_map(|m| Some(m.binding(engine_id(m.target.node)?))).collect()
}
