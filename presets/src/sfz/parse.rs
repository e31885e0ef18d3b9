//! SFZ structure: headers and opcode inheritance.
//!
//! Opcodes under `<global>`, `<master>` and `<group>` are defaults for the regions that follow;
//! a region sees them in that order and then its own, later ones overriding earlier ones. A new
//! `<global>` clears the master and group levels, a new `<master>` clears the group level.
//! `<control>` holds loading settings: `default_path` (applied to the regions that follow; a new
//! `<control>` header clears it), `note_offset`/`octave_offset` (added to the key numbers of the
//! regions that follow, kept across `<control>` headers as in sfizz) and `set_ccN`/`set_hdccN`
//! (the controllers' values at load, for the whole instrument). `<sample>` headers embed audio
//! data by name; `<curve>` headers are collected for [`super::curves`]. `<effect>` and `<midi>`
//! are recognised and skipped with a warning; other headers too. Header and opcode names are
//! matched without regard to letter case.

use std::collections::HashMap;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::curves::CurveHeader;
use super::preprocess::{Origin, Preprocessed, Statement};
use super::SfzWarning;

/// An opcode as a region inherits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opcode {
    /// Name in lower case.
    pub name: String,
    /// Value as written (expanded).
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

/// One `<region>` with everything it inherits.
#[derive(Clone, Debug)]
pub struct RegionSpec {
    /// Inherited opcodes then its own, in order (later ones win).
    pub opcodes: Vec<Opcode>,
    /// The `default_path` in effect where the region was written.
    pub default_path: String,
    /// Where its header is.
    pub origin: Origin,
    /// Index into [`Document::groups`].
    pub group: usize,
    /// Keys to add to its key numbers: `note_offset` + 12 × `octave_offset` in effect where it
    /// was written.
    pub key_offset: i32,
}

/// The parsed instrument, before samples are loaded.
#[derive(Debug, Default)]
pub struct Document {
    /// Every file read, top file first.
    pub files: Vec<std::path::PathBuf>,
    /// Regions in file order.
    pub regions: Vec<RegionSpec>,
    /// Group names (`group_label`), one entry per group of regions.
    pub groups: Vec<Option<String>>,
    /// Audio embedded with `<sample>` headers, by name (separators normalised to `/`).
    pub embedded: HashMap<String, Vec<u8>>,
    /// `<curve>` headers in file order.
    pub curves: Vec<CurveHeader>,
    /// Controller values at load (`set_ccN`, `set_hdccN`, `set_realccN`), 0..1, by controller
    /// number (0..=511, as sfizz); the last one given wins.
    pub controller_defaults: HashMap<u16, f32>,
    /// Problems that did not stop parsing.
    pub warnings: Vec<SfzWarning>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Level {
    None,
    Control,
    Global,
    Master,
    Group,
    Region,
    Sample,
    Curve,
    Skipped,
}

/// Control opcodes that only matter to user interfaces (labels) or to other players (hints):
/// accepted without a warning.
fn is_ignored_control(name: &str) -> bool {
    ["label_cc", "label_key", "hint_"].iter().any(|p| name.starts_with(p))
}

/// Controller numbers sfizz accepts (`config::numCCs`): MIDI's 0..=127, its extended
/// controllers 128..=141, and ARIA's generic ones up to 511.
pub const CONTROLLER_COUNT: u16 = 512;

/// Opcodes that only name things for a user interface: accepted anywhere without a warning.
pub fn is_label(name: &str) -> bool {
    matches!(name, "sw_label" | "region_label" | "group_label" | "master_label" | "global_label")
}

struct Parser {
    doc: Document,
    level: Level,
    global: Vec<Opcode>,
    master: Vec<Opcode>,
    group: Vec<Opcode>,
    region: Option<RegionSpec>,
    default_path: String,
    current_group: Option<usize>,
    sample: Vec<Opcode>,
    sample_origin: Option<Origin>,
    curve: Vec<Opcode>,
    curve_origin: Option<Origin>,
    note_offset: i32,
    octave_offset: i32,
}

/// Builds the region list from the preprocessed statements.
pub fn parse(pre: Preprocessed) -> Document {
    let mut p = Parser {
        doc: Document { files: pre.files, warnings: pre.warnings, ..Document::default() },
        level: Level::None,
        global: Vec::new(),
        master: Vec::new(),
        group: Vec::new(),
        region: None,
        default_path: String::new(),
        current_group: None,
        sample: Vec::new(),
        sample_origin: None,
        curve: Vec::new(),
        curve_origin: None,
        note_offset: 0,
        octave_offset: 0,
    };
    for (origin, statement) in pre.statements {
        match statement {
            Statement::Header(name) => p.header(&name, origin),
            Statement::Opcode { name, value } => p.opcode(Opcode { name: name.to_ascii_lowercase(), value, origin }),
        }
    }
    p.close();
    p.doc
}

impl Parser {
    fn warn(&mut self, origin: &Origin, message: String) {
        let file = self.doc.files[origin.file].clone();
        self.doc.warnings.push(SfzWarning { file, line: origin.line, message });
    }

    /// Ends the region or sample header being read.
    fn close(&mut self) {
        if let Some(region) = self.region.take() {
            self.doc.regions.push(region);
        }
        if let Some(origin) = self.sample_origin.take() {
            let opcodes = std::mem::take(&mut self.sample);
            self.embed(origin, opcodes);
        }
        if let Some(origin) = self.curve_origin.take() {
            let opcodes = std::mem::take(&mut self.curve);
            self.doc.curves.push(CurveHeader { opcodes, origin });
        }
    }

    fn new_group(&mut self) {
        self.current_group = None;
    }

    fn group_index(&mut self) -> usize {
        match self.current_group {
            Some(g) => g,
            None => {
                self.doc.groups.push(None);
                let g = self.doc.groups.len() - 1;
                self.current_group = Some(g);
                g
            }
        }
    }

    fn header(&mut self, name: &str, origin: Origin) {
        self.close();
        self.level = match name.to_ascii_lowercase().as_str() {
            "region" => {
                let group = self.group_index();
                self.region = Some(RegionSpec {
                    opcodes: self.global.iter().chain(&self.master).chain(&self.group).cloned().collect(),
                    default_path: self.default_path.clone(),
                    origin,
                    group,
                    key_offset: self.note_offset + 12 * self.octave_offset,
                });
                Level::Region
            }
            "group" => {
                self.group.clear();
                self.new_group();
                Level::Group
            }
            "master" => {
                self.master.clear();
                self.group.clear();
                self.new_group();
                Level::Master
            }
            "global" => {
                self.global.clear();
                self.master.clear();
                self.group.clear();
                self.new_group();
                Level::Global
            }
            "control" => {
                self.default_path.clear();
                Level::Control
            }
            "sample" => {
                self.sample_origin = Some(origin);
                Level::Sample
            }
            "curve" => {
                self.curve_origin = Some(origin);
                Level::Curve
            }
            "effect" | "midi" => {
                self.warn(&origin, format!("<{name}> headers are not supported; their opcodes are ignored"));
                Level::Skipped
            }
            _ => {
                self.warn(&origin, format!("unknown header <{name}>; its opcodes are ignored"));
                Level::Skipped
            }
        };
    }

    fn opcode(&mut self, op: Opcode) {
        match self.level {
            Level::None => {
                let origin = op.origin.clone();
                self.warn(&origin, format!("opcode `{}` is outside any header; ignored", op.name));
            }
            Level::Control => self.control(op),
            Level::Global => self.global.push(op),
            Level::Master => self.master.push(op),
            Level::Group => {
                if op.name == "group_label" {
                    let g = self.group_index();
                    self.doc.groups[g] = Some(op.value.clone());
                }
                self.group.push(op)
            }
            Level::Region => {
                if let Some(region) = &mut self.region {
                    region.opcodes.push(op);
                }
            }
            Level::Sample => self.sample.push(op),
            Level::Curve => self.curve.push(op),
            Level::Skipped => {}
        }
    }

    fn control(&mut self, op: Opcode) {
        match op.name.as_str() {
            "default_path" => self.default_path = super::paths::normalize_separators(&op.value),
            "note_offset" => {
                if let Some(n) = self.control_integer(&op, -127, 127) {
                    self.note_offset = n;
                }
            }
            "octave_offset" => {
                if let Some(n) = self.control_integer(&op, -10, 10) {
                    self.octave_offset = n;
                }
            }
            name if name.starts_with("set_") => self.controller_default(&op),
            name if is_ignored_control(name) => {}
            name => {
                let message = format!("control opcode `{name}` is not supported; ignored");
                self.warn(&op.origin, message);
            }
        }
    }

    /// A whole number in `low..=high`, or a warning.
    fn control_integer(&mut self, op: &Opcode, low: i32, high: i32) -> Option<i32> {
        let value = op.value.trim().parse::<i32>().ok().filter(|n| (low..=high).contains(n));
        if value.is_none() {
            let message = format!("`{}={}`: expected a whole number in {low}..={high}; ignored", op.name, op.value);
            self.warn(&op.origin, message);
        }
        value
    }

    /// `set_ccN=0..127`, `set_hdccN=0..1`, `set_realccN=0..1`: the controller's value at load.
    fn controller_default(&mut self, op: &Opcode) {
        let parsed = [("set_cc", 127.0), ("set_hdcc", 1.0), ("set_realcc", 1.0)].iter().find_map(|(prefix, full)| {
            let cc = op.name.strip_prefix(prefix)?.parse::<u16>().ok()?;
            Some((cc, *full))
        });
        let Some((cc, full)) = parsed.filter(|(cc, _)| *cc < CONTROLLER_COUNT) else {
            let message = format!("control opcode `{}` is not supported; ignored", op.name);
            return self.warn(&op.origin, message);
        };
        match op.value.trim().parse::<f32>().ok().filter(|v| (0.0..=full).contains(v)) {
            Some(v) => {
                self.doc.controller_defaults.insert(cc, v / full);
            }
            None => {
                let message = format!("`{}={}`: expected a number in 0..={full}; ignored", op.name, op.value);
                self.warn(&op.origin, message);
            }
        }
    }

    /// A `<sample>` header: `name=` with `base64data=`, or `data=` with `encoding=base64`.
    fn embed(&mut self, origin: Origin, opcodes: Vec<Opcode>) {
        let get = |n: &str| opcodes.iter().rev().find(|o| o.name == n);
        let Some(name) = get("name") else {
            self.warn(&origin, "<sample> without `name=`; ignored".into());
            return;
        };
        for o in &opcodes {
            if !matches!(o.name.as_str(), "name" | "base64data" | "data" | "encoding") {
                self.warn(&o.origin, format!("opcode `{}` is not supported under <sample>; ignored", o.name));
            }
        }
        let data = match (get("base64data"), get("data"), get("encoding")) {
            (Some(d), _, _) => d,
            (None, Some(d), Some(e)) if e.value.eq_ignore_ascii_case("base64") => d,
            (None, Some(_), Some(e)) => {
                let message = format!("<sample> encoding `{}` is not supported (only base64); ignored", e.value);
                self.warn(&e.origin, message);
                return;
            }
            _ => {
                self.warn(&origin, format!("<sample> `{}` has no base64data; ignored", name.value));
                return;
            }
        };
        let engine = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        match engine.decode(data.value.as_bytes()) {
            Ok(bytes) => {
                self.doc.embedded.insert(super::paths::normalize_separators(&name.value), bytes);
            }
            Err(e) => {
                let message = format!("<sample> `{}`: its base64 data does not decode ({e}); ignored", name.value);
                self.warn(&data.origin, message);
            }
        }
    }
}
