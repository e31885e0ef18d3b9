//! SongWalker effect presets (`"type": "effect"`, an `effectType` and `params`) as effect
//! nodes: the node of that kind, its parameters set from the preset's.
//!
//! | `effectType` | node | parameters |
//! |---|---|---|
//! | `reverb` | `reverb` | `roomSize` r (0–1) → `size` 0.25 + 0.75·r and `decay_seconds` 0.5 + 4.5·r² (0.7 → 2.7 s); `damping` d (0–1) → `hf_decay_ratio` 1 − 0.8·d; `wetDry` → `mix` |
//! | `delay` | `delay` | `time` (seconds) → `time_ms`; `feedback` → `feedback`; `wetDry` → `mix` |
//! | `chorus` | `chorus` | `rate` (Hz) → `rate_hz`; `depth` (0–1) → `depth`; `wetDry` → `mix` |
//!
//! Values outside a parameter's range are clamped to it; a preset parameter the table does not
//! list is reported as unused. The types are the presets crate's
//! [`noderack_presets::songwalker::EFFECT_TYPES`], which refuses any other, named.

use std::sync::Arc;

use noderack_graph::{NodeDescription, NodeSignature, ParamId, ProcessConfig, Processor};
use noderack_presets::songwalker::EffectPreset;

use crate::chorus::{self, Chorus};
use crate::delay::{self, Delay};
use crate::reverb::{self, Reverb};

/// A node, its parameters from the preset's (absent where the preset does not set them), and
/// the preset parameters that mapping reads.
type Mapping = (Arc<dyn NodeDescription>, Vec<(ParamId, Option<f32>)>, &'static [&'static str]);

/// The node an effect preset becomes, its parameters, and what of the preset went unused.
pub struct EffectNode {
    /// The node (`reverb`, `delay`, `chorus`).
    pub description: Arc<dyn NodeDescription>,
    /// Its parameters, from the preset's.
    pub params: Vec<(ParamId, f32)>,
    /// Preset parameters no node parameter takes.
    pub warnings: Vec<String>,
}

/// The node playing `preset`, or `None` for an effect type noderack has no node for (the
/// presets crate refuses those before they get here).
pub fn effect_node(preset: &EffectPreset) -> Option<EffectNode> {
    let value = |key: &str| preset.params.get(key).map(|v| *v as f32);
    let (description, params, used): Mapping = match preset.effect_type.as_str() {
        "reverb" => (
            Arc::new(Reverb::new()),
            vec![
                (reverb::SIZE, value("roomSize").map(|r| 0.25 + 0.75 * r)),
                (reverb::DECAY_SECONDS, value("roomSize").map(|r| 0.5 + 4.5 * r * r)),
                (reverb::HF_DECAY_RATIO, value("damping").map(|d| 1.0 - 0.8 * d)),
                (reverb::MIX, value("wetDry")),
            ],
            &["roomSize", "damping", "wetDry"],
        ),
        "delay" => (
            Arc::new(Delay::new()),
            vec![
                (delay::TIME_MS, value("time").map(|t| t * 1000.0)),
                (delay::FEEDBACK, value("feedback")),
                (delay::MIX, value("wetDry")),
            ],
            &["time", "feedback", "wetDry"],
        ),
        "chorus" => (
            Arc::new(Chorus::new()),
            vec![(chorus::RATE_HZ, value("rate")), (chorus::DEPTH, value("depth")), (chorus::MIX, value("wetDry"))],
            &["rate", "depth", "wetDry"],
        ),
        _ => return None,
    };
    let specs = description.params();
    let params = params
        .into_iter()
        .filter_map(|(id, v)| {
            let spec = specs.get(id.0 as usize)?;
            Some((id, v?.clamp(spec.min, spec.max)))
        })
        .collect();
    let warnings = preset
        .params
        .keys()
        .filter(|k| !used.contains(&k.as_str()))
        .map(|k| format!("{}: `{k}` of a {} is not used", preset.origin, preset.effect_type))
        .collect();
    Some(EffectNode { description, params, warnings })
}

/// A node whose parameters start at other values than its kind's defaults (an effect node
/// loaded with a preset: its `params` in a patch still override them).
pub struct WithDefaults {
    inner: Arc<dyn NodeDescription>,
    signature: NodeSignature,
}

impl WithDefaults {
    /// `inner`, its parameters starting at `values`.
    pub fn new(inner: Arc<dyn NodeDescription>, values: &[(ParamId, f32)]) -> Self {
        let mut signature = inner.signature().clone();
        for &(ParamId(i), value) in values {
            if let Some(spec) = signature.params.get_mut(i as usize) {
                spec.default = value.clamp(spec.min, spec.max);
            }
        }
        Self { inner, signature }
    }
}

impl NodeDescription for WithDefaults {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn latency_frames(&self) -> u32 {
        self.inner.latency_frames()
    }
    fn tail_frames(&self) -> u32 {
        self.inner.tail_frames()
    }
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        self.inner.build(config)
    }
}
