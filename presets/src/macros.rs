//! Macros: a patch's host-automatable controls. The CLAP plugin shows a DAW 32 macro
//! parameters (0–1); the patch maps each to any number of node parameters, each over a range
//! of its own, so one knob in the DAW can open a filter and raise a send together. The mapping
//! is part of the patch file (`"macros"`, see docs/PATCH_FORMAT.md) so it travels with it.

use noderack_graph::{NodeId, ParamId, ParamSpec, Unit};
use serde::Deserialize;

/// How many macros a patch has (the plugin's macro parameters): as many as a DAW's generic
/// plugin panel shows comfortably, and the number the issue that introduced them set.
pub const MACRO_COUNT: usize = 32;

/// One macro of a patch: where its value goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Macro {
    /// Which macro, 0-based (the file counts from 1, as a DAW shows them).
    pub index: usize,
    /// What the DAW shows ("Cutoff"); empty means "Macro N".
    pub name: String,
    /// Value (0–1) until the host sets one.
    pub default: f32,
    /// The parameters it moves.
    pub targets: Vec<MacroTarget>,
}

/// A node parameter a macro moves, and over which range.
#[derive(Clone, Debug, PartialEq)]
pub struct MacroTarget {
    /// The node's name in the file.
    pub node_name: String,
    /// Its engine id in the loaded patch.
    pub node: NodeId,
    /// The parameter.
    pub param: ParamId,
    /// The parameter's name (as written).
    pub param_name: String,
    /// The parameter value at macro 0.
    pub min: f32,
    /// The parameter value at macro 1 (may be below `min`: the macro then turns it down).
    pub max: f32,
    /// Choices and switches take whole values.
    pub stepped: bool,
}

impl MacroTarget {
    /// The parameter's value when the macro is at `macro_value` (clamped to 0–1).
    pub fn value_at(&self, macro_value: f32) -> f32 {
        let v = if macro_value.is_finite() { macro_value.clamp(0.0, 1.0) } else { 0.0 };
        let value = self.min + (self.max - self.min) * v;
        if self.stepped {
            value.round()
        } else {
            value
        }
    }
}

impl Macro {
    /// The name a host shows.
    pub fn display_name(&self) -> String {
        if self.name.is_empty() {
            format!("Macro {}", self.index + 1)
        } else {
            self.name.clone()
        }
    }
}

/// A macro as written in a patch file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MacroFile {
    pub(crate) index: usize,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) default: f32,
    #[serde(default)]
    pub(crate) targets: Vec<MacroTargetFile>,
}

/// A macro target as written: `"param": "node.param"` and an optional range.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct MacroTargetFile {
    pub(crate) param: String,
    #[serde(default)]
    pub(crate) min: Option<f32>,
    #[serde(default)]
    pub(crate) max: Option<f32>,
}

impl MacroTargetFile {
    /// A target from its `"node.param"` and optional range, checked against the patch's nodes
    /// (`lookup` gives a node's id, kind and parameters by name): the range defaults to the
    /// parameter's and must lie inside it. An error names the field at fault.
    pub(crate) fn resolve<'a>(
        &self,
        lookup: &impl Fn(&str) -> Option<(NodeId, &'a str, &'a [ParamSpec])>,
    ) -> Result<MacroTarget, (&'static str, String)> {
        let Some((node_name, param_name)) = self.param.split_once('.') else {
            return Err(("param", format!("expected \"node.param\", found \"{}\"", self.param)));
        };
        let Some((node, kind, specs)) = lookup(node_name) else {
            return Err(("param", format!("no node has id \"{node_name}\"")));
        };
        let Some(index) = specs.iter().position(|s| s.name == param_name) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_ref()).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(("param", format!("{kind} has no parameter \"{param_name}\" (its parameters: {known})")));
        };
        let spec = &specs[index];
        let (min, max) = (self.min.unwrap_or(spec.min), self.max.unwrap_or(spec.max));
        for (field, value) in [("min", min), ("max", max)] {
            if !spec.accepts(value) {
                return Err((field, format!("{value} is outside {param_name}'s range {}..={}", spec.min, spec.max)));
            }
        }
        Ok(MacroTarget {
            node_name: node_name.to_string(),
            node,
            param: ParamId(index as u32),
            param_name: param_name.to_string(),
            min,
            max,
            stepped: matches!(spec.unit, Unit::Choice | Unit::Toggle),
        })
    }
}

/// A target as the patch file writes it.
pub(crate) fn target_json(t: &MacroTarget) -> serde_json::Value {
    serde_json::json!({ "param": format!("{}.{}", t.node_name, t.param_name), "min": t.min, "max": t.max })
}

/// Where a target's problem is: the macro's field, and what is wrong.
pub(crate) struct MacroProblem {
    /// `None` for the macro itself, `Some((target index, field))` for one of its targets.
    pub(crate) target: Option<(usize, &'static str)>,
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

impl MacroFile {
    /// The macro without the targets on nodes `gone` says are gone.
    pub(crate) fn without_targets_on(&self, gone: impl Fn(&str) -> bool) -> MacroFile {
        MacroFile {
            index: self.index,
            name: self.name.clone(),
            default: self.default,
            targets: self
                .targets
                .iter()
                .filter(|t| !gone(t.param.split_once('.').map_or("", |(node, _)| node)))
                .cloned()
                .collect(),
        }
    }

    /// Checks the macro against the patch's nodes (`lookup` gives a node's id and parameter
    /// list by name) and resolves its targets.
    pub(crate) fn resolve<'a>(
        &self,
        lookup: impl Fn(&str) -> Option<(NodeId, &'a str, &'a [ParamSpec])>,
    ) -> Result<Macro, MacroProblem> {
        let problem = |field, message: String| MacroProblem { target: None, field, message };
        if !(1..=MACRO_COUNT).contains(&self.index) {
            return Err(problem("index", format!("macros are numbered 1 to {MACRO_COUNT}, found {}", self.index)));
        }
        if !(0.0..=1.0).contains(&self.default) {
            return Err(problem("default", format!("a macro's value is 0 to 1, found {}", self.default)));
        }
        let mut targets = Vec::with_capacity(self.targets.len());
        for (t, target) in self.targets.iter().enumerate() {
            let resolved = target.resolve(&lookup).map_err(|(field, message)| MacroProblem {
                target: Some((t, field)),
                field,
                message,
            })?;
            targets.push(resolved);
        }
        Ok(Macro { index: self.index - 1, name: self.name.clone(), default: self.default, targets })
    }
}

/// `macro_` as the patch file writes it.
pub(crate) fn to_json(macro_: &Macro) -> serde_json::Value {
    let targets: Vec<serde_json::Value> = macro_.targets.iter().map(target_json).collect();
    let mut value = serde_json::json!({ "index": macro_.index + 1, "targets": targets });
    if !macro_.name.is_empty() {
        value["name"] = serde_json::json!(macro_.name);
    }
    if macro_.default != 0.0 {
        value["default"] = serde_json::json!(macro_.default);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(min: f32, max: f32, stepped: bool) -> MacroTarget {
        MacroTarget {
            node_name: "n".into(),
            node: NodeId(1),
            param: ParamId(0),
            param_name: "p".into(),
            min,
            max,
            stepped,
        }
    }

    #[test]
    fn a_target_spans_its_range_and_clamps_the_macro() {
        let t = target(200.0, 8000.0, false);
        assert_eq!(t.value_at(0.0), 200.0);
        assert_eq!(t.value_at(1.0), 8000.0);
        assert_eq!(t.value_at(0.5), 4100.0);
        assert_eq!(t.value_at(2.0), 8000.0);
        assert_eq!(t.value_at(f32::NAN), 200.0);
        // An inverted range turns the parameter down as the macro rises.
        assert_eq!(target(1.0, 0.0, false).value_at(0.25), 0.75);
        // Choices land on whole values.
        assert_eq!(target(0.0, 3.0, true).value_at(0.6), 2.0);
    }
}
