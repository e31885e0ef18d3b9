//! What the server says each node kind is (`GET /api/v1/node-kinds`): its summary and its
//! parameters with their ranges, defaults and units. The palette lists the kinds; the
//! inspector draws, formats and parses parameter values with them.

use serde_json::Value;

use crate::model::{ModelError, Port};

/// What a parameter's number means (the graph's own vocabulary, named as the API names it),
/// which decides how it is shown, typed and dragged.
pub use noderack_graph::Unit as ParamUnit;

/// One parameter of a node kind.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Its name (`cutoff_hz`).
    pub name: String,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// The value when the patch does not set it.
    pub default: f64,
    /// What the number means.
    pub unit: ParamUnit,
    /// For a choice: the names, by value.
    pub choices: Vec<String>,
}

impl ParamInfo {
    /// A parameter as the API describes it (`{"name", "min", "max", "default", "unit",
    /// "choices"}`).
    pub fn from_api(p: &Value) -> ParamInfo {
        ParamInfo {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            min: p["min"].as_f64().unwrap_or(0.0),
            max: p["max"].as_f64().unwrap_or(1.0),
            default: p["default"].as_f64().unwrap_or(0.0),
            unit: ParamUnit::from_name(p["unit"].as_str().unwrap_or_default()).unwrap_or(ParamUnit::None),
            choices: p["choices"]
                .as_array()
                .map(|c| c.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        }
    }

    /// The number a patch's value stands for (a choice name is its index, a switch 0 or 1);
    /// the default when the patch does not set it or sets something unreadable.
    pub fn value_of(&self, written: Option<&Value>) -> f64 {
        match written {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(self.default),
            Some(Value::Bool(b)) => f64::from(u8::from(*b)),
            Some(Value::String(name)) => self.choices.iter().position(|c| c == name).map_or(self.default, |i| i as f64),
            _ => self.default,
        }
    }

    /// `value` as a patch writes it (a choice by name, a toggle as true/false).
    pub fn to_json(&self, value: f64) -> Value {
        match self.unit {
            ParamUnit::Choice => self
                .choices
                .get(value.round().max(0.0) as usize)
                .map_or_else(|| Value::from(value), |c| Value::from(c.as_str())),
            ParamUnit::Toggle => Value::Bool(value >= 0.5),
            _ => Value::from(value),
        }
    }

    /// Whether dragging it should be logarithmic: frequencies over a range of more than a
    /// decade, starting above zero.
    fn logarithmic(&self) -> bool {
        self.unit == ParamUnit::Hertz && self.min > 0.0 && self.max / self.min > 10.0
    }

    /// Where `value` lies along the control, 0 to 1.
    pub fn to_unit(&self, value: f64) -> f64 {
        let value = value.clamp(self.min, self.max);
        if self.max <= self.min {
            0.0
        } else if self.logarithmic() {
            (value / self.min).ln() / (self.max / self.min).ln()
        } else {
            (value - self.min) / (self.max - self.min)
        }
    }

    /// The value at `unit` (0 to 1) along the control; choices and toggles snap to whole
    /// values.
    pub fn from_unit(&self, unit: f64) -> f64 {
        let unit = unit.clamp(0.0, 1.0);
        let value = if self.logarithmic() {
            self.min * (self.max / self.min).powf(unit)
        } else {
            self.min + unit * (self.max - self.min)
        };
        match self.unit {
            ParamUnit::Choice | ParamUnit::Toggle => value.round(),
            _ => value,
        }
    }

    /// `value` for a person: with its unit, to a useful precision (`"1.20 kHz"`, `"-6.0 dB"`,
    /// `"L 30"`, `"saw"`).
    pub fn format(&self, value: f64) -> String {
        let plain = |v: f64| {
            let digits = if v.abs() >= 100.0 {
                0
            } else if v.abs() >= 10.0 {
                1
            } else {
                2
            };
            format!("{v:.digits$}")
        };
        match self.unit {
            ParamUnit::None => plain(value),
            ParamUnit::Decibels => format!("{value:.1} dB"),
            ParamUnit::Hertz if value >= 1000.0 => format!("{} kHz", plain(value / 1000.0)),
            ParamUnit::Hertz => format!("{} Hz", plain(value)),
            ParamUnit::Seconds if value < 1.0 => format!("{} ms", plain(value * 1000.0)),
            ParamUnit::Seconds => format!("{} s", plain(value)),
            ParamUnit::Semitones => format!("{value:+.2} st"),
            ParamUnit::Pan if value.abs() < 0.005 => "C".to_string(),
            ParamUnit::Pan => format!("{} {:.0}", if value < 0.0 { "L" } else { "R" }, value.abs() * 100.0),
            ParamUnit::Toggle => if value >= 0.5 { "on" } else { "off" }.to_string(),
            ParamUnit::Choice => {
                self.choices.get(value.round().max(0.0) as usize).cloned().unwrap_or_else(|| plain(value))
            }
        }
    }

    /// The value a person typed: a number with an optional unit or multiplier (`1.2k`,
    /// `1200 Hz`, `250 ms`, `-6 dB`, `L 30`), a choice by name, `on`/`off`. `Err` says why
    /// not, including a value out of range.
    pub fn parse(&self, typed: &str) -> Result<f64, String> {
        let text = typed.trim().to_lowercase();
        let value = match self.unit {
            ParamUnit::Choice => {
                return self
                    .choices
                    .iter()
                    .position(|c| c.to_lowercase() == text)
                    .map(|i| i as f64)
                    .ok_or_else(|| format!("\"{typed}\" is not one of: {}", self.choices.join(", ")));
            }
            ParamUnit::Toggle => match text.as_str() {
                "on" | "1" | "true" | "yes" => 1.0,
                "off" | "0" | "false" | "no" => 0.0,
                _ => return Err(format!("\"{typed}\": type on or off")),
            },
            ParamUnit::Pan if text == "c" => 0.0,
            ParamUnit::Pan if text.starts_with(['l', 'r']) => {
                let amount: f64 = text[1..].trim().parse().map_err(|_| format!("\"{typed}\" is not a position"))?;
                if text.starts_with('l') {
                    -amount / 100.0
                } else {
                    amount / 100.0
                }
            }
            _ => {
                let split = text
                    .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e')))
                    .unwrap_or(text.len());
                let (number, suffix) = text.split_at(split);
                let number: f64 = number.parse().map_err(|_| format!("\"{typed}\" is not a number"))?;
                let scale = match suffix.trim() {
                    "" | "hz" | "db" | "s" | "st" => 1.0,
                    "k" | "khz" => 1000.0,
                    "ms" => 0.001,
                    other => return Err(format!("\"{typed}\": unknown unit \"{other}\"")),
                };
                number * scale
            }
        };
        if !(self.min..=self.max).contains(&value) {
            return Err(format!(
                "{} is outside {} … {}",
                self.format(value),
                self.format(self.min),
                self.format(self.max)
            ));
        }
        Ok(value)
    }
}

/// One node kind.
#[derive(Clone, Debug, PartialEq)]
pub struct KindInfo {
    /// Its name (`synth`).
    pub kind: String,
    /// What it is, in a sentence.
    pub summary: String,
    /// Its parameters with its default settings, in the server's order.
    pub params: Vec<ParamInfo>,
    /// Its input ports with its default settings.
    pub inputs: Vec<Port>,
    /// Its output ports with its default settings.
    pub outputs: Vec<Port>,
}

/// Every node kind the server has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeKinds {
    /// The kinds, in the server's order.
    pub kinds: Vec<KindInfo>,
}

impl NodeKinds {
    /// The kinds in a `GET /api/v1/node-kinds` reply.
    pub fn from_api(reply: &Value) -> Result<NodeKinds, ModelError> {
        let list =
            reply["kinds"].as_array().ok_or_else(|| ModelError("the node kinds reply has no \"kinds\"".into()))?;
        let kinds = list
            .iter()
            .map(|k| {
                let kind = k["kind"].as_str().ok_or_else(|| ModelError("a node kind without a name".into()))?;
                let params = k["params"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(ParamInfo::from_api)
                    .collect();
                let ports = |side: &str| crate::model::ports_from_api(&k[side], kind);
                Ok(KindInfo {
                    kind: kind.to_string(),
                    summary: k["summary"].as_str().unwrap_or_default().to_string(),
                    params,
                    inputs: ports("inputs")?,
                    outputs: ports("outputs")?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(NodeKinds { kinds })
    }

    /// The kind named `kind`.
    pub fn get(&self, kind: &str) -> Option<&KindInfo> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// The kinds whose name or summary contains every word of `query` (case ignored); all of
    /// them for an empty query. Kinds whose name matches come first.
    pub fn search(&self, query: &str) -> Vec<&KindInfo> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let mut found: Vec<(bool, &KindInfo)> = self
            .kinds
            .iter()
            .filter_map(|k| {
                let (name, summary) = (k.kind.to_lowercase(), k.summary.to_lowercase());
                words
                    .iter()
                    .all(|w| name.contains(w) || summary.contains(w))
                    .then(|| (!words.iter().all(|w| name.contains(w)), k))
            })
            .collect();
        found.sort_by_key(|(by_summary, _)| *by_summary);
        found.into_iter().map(|(_, k)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(unit: ParamUnit, min: f64, max: f64) -> ParamInfo {
        ParamInfo { name: "p".into(), min, max, default: min, unit, choices: vec![] }
    }

    #[test]
    fn typed_values_read_with_their_units_and_ranges() {
        let cutoff = param(ParamUnit::Hertz, 20.0, 20_000.0);
        assert_eq!(cutoff.parse("1.2k"), Ok(1200.0));
        assert_eq!(cutoff.parse(" 440 Hz "), Ok(440.0));
        assert!(cutoff.parse("30 kHz").unwrap_err().contains("outside"), "out of range is refused");
        assert!(cutoff.parse("loud").is_err());
        let time = param(ParamUnit::Seconds, 0.0, 10.0);
        assert_eq!(time.parse("250 ms"), Ok(0.25));
        assert_eq!(time.format(0.25), "250 ms");
        let pan = param(ParamUnit::Pan, -1.0, 1.0);
        assert_eq!(pan.parse("L 30"), Ok(-0.3));
        assert_eq!(pan.format(-0.3), "L 30");
        assert_eq!(pan.parse("c"), Ok(0.0));
        let wave = ParamInfo { choices: vec!["sine".into(), "saw".into()], ..param(ParamUnit::Choice, 0.0, 1.0) };
        assert_eq!(wave.parse("Saw"), Ok(1.0));
        assert_eq!(wave.to_json(1.0), Value::from("saw"));
        assert_eq!(wave.value_of(Some(&Value::from("saw"))), 1.0);
        assert!(wave.parse("square").unwrap_err().contains("sine, saw"));
    }

    #[test]
    fn frequencies_drag_on_a_log_scale_and_round_trip() {
        let cutoff = param(ParamUnit::Hertz, 20.0, 20_000.0);
        assert!((cutoff.from_unit(0.5) - 632.46).abs() < 0.01, "the middle of 20 Hz–20 kHz is 632 Hz");
        for v in [20.0, 100.0, 1234.5, 20_000.0] {
            assert!((cutoff.from_unit(cutoff.to_unit(v)) - v).abs() < 1e-6 * v);
        }
        let gain = param(ParamUnit::Decibels, -60.0, 12.0);
        assert_eq!(gain.from_unit(0.5), -24.0, "levels are linear in dB");
    }

    #[test]
    fn search_finds_names_before_summaries() {
        let kind = |k: &str, s: &str| KindInfo {
            kind: k.into(),
            summary: s.into(),
            params: vec![],
            inputs: vec![],
            outputs: vec![],
        };
        let kinds = NodeKinds {
            kinds: vec![kind("gain", "scales a signal, like a mixer channel"), kind("mixer", "sums inputs")],
        };
        let names: Vec<&str> = kinds.search("MIX").iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(names, ["mixer", "gain"]);
        assert_eq!(kinds.search("").len(), 2);
        assert!(kinds.search("reverb").is_empty());
    }
}
