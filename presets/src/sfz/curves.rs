//! SFZ curves: the built-in curves 0–6, `<curve>` headers (`curve_index=K`, `vNNN=value`), and
//! `amp_velcurve_N` velocity tables, as the model's [`ModInput`] shapes and 128-point tables.
//!
//! As in sfizz (`Curve.cpp`): a table passes through (0, 0) and (127, 1) unless those points
//! are given, and is linearly interpolated between the given points. `<curve>` headers without
//! `curve_index` take the next free index after the built-in ones (7, 8, …); one with an index
//! replaces whatever had it (built-in curves included). An index that names no curve reads as
//! curve 0 (linear 0..1), as in sfizz.

use std::collections::HashMap;
use std::sync::Arc;

use crate::modulation::{ModCurve, ModInput, ModSource};

use super::parse::Opcode;

/// Curves an instrument may define: `curve_index` runs 0..=255 (sfizz's `maxCurves`).
pub const MAX_CURVE_INDEX: u16 = 255;
/// The built-in curves are 0..=6; the first `<curve>` without an index is curve 7.
pub const BUILT_IN_CURVES: u16 = 7;

/// A 128-point table through `points` (MIDI value, output), with the SFZ end points (0, 0) and
/// (127, 1) unless given, linear between given points.
pub fn table_from_points(points: &[(u8, f32)]) -> [f32; 128] {
    let mut table = [0.0f32; 128];
    let mut given = [false; 128];
    table[127] = 1.0;
    given[0] = true;
    given[127] = true;
    for &(x, y) in points {
        let x = (x as usize).min(127);
        table[x] = y;
        given[x] = true;
    }
    let mut left = 0;
    for right in 1..128 {
        if !given[right] {
            continue;
        }
        let span = (right - left) as f32;
        for i in left + 1..right {
            table[i] = table[left] + (table[right] - table[left]) * (i - left) as f32 / span;
        }
        left = right;
    }
    table
}

/// A `<curve>` header as written.
#[derive(Clone, Debug)]
pub struct CurveHeader {
    /// Its opcodes.
    pub opcodes: Vec<Opcode>,
    /// Where the header is.
    pub origin: super::preprocess::Origin,
}

/// The curves an instrument's `*_curveccN` opcodes may name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveSet {
    /// Curves from `<curve>` headers, by index.
    user: HashMap<u16, Arc<[f32; 128]>>,
}

impl CurveSet {
    /// Reads `<curve>` headers in file order; problems go to `warn` with the opcode or header
    /// they concern.
    pub fn from_headers(headers: &[CurveHeader], mut warn: impl FnMut(&super::preprocess::Origin, String)) -> Self {
        let mut set = CurveSet::default();
        let mut next_implicit = BUILT_IN_CURVES;
        let mut explicit_seen = false;
        for header in headers {
            let mut index = None;
            let mut points = Vec::new();
            for op in &header.opcodes {
                let number = |text: &str| text.trim().parse::<f64>().ok();
                if op.name == "curve_index" {
                    match number(&op.value).filter(|i| i.fract() == 0.0 && (0.0..=MAX_CURVE_INDEX as f64).contains(i)) {
                        Some(i) => index = Some(i as u16),
                        None => warn(
                            &op.origin,
                            format!(
                                "`curve_index={}`: expected a whole number in 0..={MAX_CURVE_INDEX}; ignored",
                                op.value
                            ),
                        ),
                    }
                } else if let Some(x) =
                    op.name.strip_prefix('v').and_then(|d| d.parse::<u8>().ok()).filter(|x| *x <= 127)
                {
                    match number(&op.value) {
                        Some(y) => points.push((x, y as f32)),
                        None => warn(&op.origin, format!("`{}={}`: not a number; ignored", op.name, op.value)),
                    }
                } else {
                    warn(&op.origin, format!("opcode `{}` is not supported under <curve>; ignored", op.name));
                }
            }
            let index = match index {
                Some(i) => {
                    explicit_seen = true;
                    i
                }
                None if explicit_seen => {
                    warn(
                        &header.origin,
                        "<curve> without `curve_index` after one with an index; ignored (as sfizz)".into(),
                    );
                    continue;
                }
                None if next_implicit > MAX_CURVE_INDEX => {
                    warn(&header.origin, format!("more than {} curves; ignored", MAX_CURVE_INDEX + 1));
                    continue;
                }
                None => {
                    next_implicit += 1;
                    next_implicit - 1
                }
            };
            set.user.insert(index, Arc::new(table_from_points(&points)));
        }
        set
    }

    /// Whether `index` names a curve (built in or defined).
    pub fn contains(&self, index: u16) -> bool {
        index < BUILT_IN_CURVES || self.user.contains_key(&index)
    }

    /// `source` read through curve `index` (curve 0 when it names none).
    pub fn input(&self, source: ModSource, index: u16) -> ModInput {
        let linear = ModInput::linear(source);
        if let Some(table) = self.user.get(&index) {
            return linear.with_curve(ModCurve::Table(table.clone()));
        }
        let table = |f: fn(f32) -> f32| {
            let mut t = [0.0f32; 128];
            for (i, y) in t.iter_mut().enumerate() {
                *y = f(i as f32 / 127.0);
            }
            ModCurve::Table(Arc::new(t))
        };
        match index {
            1 => linear.bipolar(),
            2 => linear.inverted(),
            3 => linear.inverted().bipolar(),
            4 => linear.with_curve(table(|x| x * x)),
            5 => linear.with_curve(table(f32::sqrt)),
            // sqrt(1 − x): sqrt of the inverted value.
            6 => linear.inverted().with_curve(table(f32::sqrt)),
            _ => linear,
        }
    }

    /// Curve `index` at `x` (0..1), for controllers whose value cannot change.
    pub fn eval(&self, index: u16, x: f32) -> f32 {
        self.input(ModSource::One, index).shape(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfz::preprocess::Origin;

    fn header(text: &[(&str, &str)]) -> CurveHeader {
        let origin = Origin { file: 0, line: 1 };
        let opcodes = text
            .iter()
            .map(|(n, v)| Opcode { name: n.to_string(), value: v.to_string(), origin: origin.clone() })
            .collect();
        CurveHeader { opcodes, origin }
    }

    #[test]
    fn tables_pass_through_the_sfz_end_points_and_interpolate_between_given_points() {
        let t = table_from_points(&[(64, 0.8)]);
        assert_eq!((t[0], t[64], t[127]), (0.0, 0.8, 1.0));
        assert!((t[32] - 0.4).abs() < 1e-6);
        assert!((t[96] - (0.8 + 0.2 * 32.0 / 63.0)).abs() < 1e-6);
        let given_ends = table_from_points(&[(0, 1.0), (127, 0.0)]);
        assert_eq!((given_ends[0], given_ends[127]), (1.0, 0.0));
        assert!((given_ends[127 / 2] - (1.0 - 63.0 / 127.0)).abs() < 1e-6);
    }

    #[test]
    fn built_in_curves_0_to_6_follow_aria() {
        let set = CurveSet::default();
        let at = |i: u16, x: f32| set.eval(i, x);
        assert_eq!((at(0, 0.0), at(0, 0.5), at(0, 1.0)), (0.0, 0.5, 1.0));
        assert_eq!((at(1, 0.0), at(1, 0.5), at(1, 1.0)), (-1.0, 0.0, 1.0));
        assert_eq!((at(2, 0.0), at(2, 1.0)), (1.0, 0.0));
        assert_eq!((at(3, 0.0), at(3, 1.0)), (1.0, -1.0));
        assert!((at(4, 64.0 / 127.0) - (64.0f32 / 127.0).powi(2)).abs() < 1e-6);
        assert!((at(5, 64.0 / 127.0) - (64.0f32 / 127.0).sqrt()).abs() < 1e-6);
        assert!((at(6, 64.0 / 127.0) - (63.0f32 / 127.0).sqrt()).abs() < 1e-6);
        assert_eq!(at(99, 0.25), 0.25, "an unknown index reads as curve 0");
    }

    #[test]
    fn curve_headers_take_their_index_or_the_next_free_one() {
        let mut warnings = Vec::new();
        let set = CurveSet::from_headers(
            &[header(&[("v000", "1"), ("v127", "0")]), header(&[("curve_index", "2"), ("v064", "1")])],
            |_, m| warnings.push(m),
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!((set.eval(7, 0.0), set.eval(7, 1.0)), (1.0, 0.0));
        assert_eq!(set.eval(2, 64.0 / 127.0), 1.0, "an indexed curve replaces the built-in one");
        assert!(set.contains(7) && !set.contains(8));
        let bad = CurveSet::from_headers(&[header(&[("curve_index", "300"), ("foo", "1")])], |_, m| warnings.push(m));
        assert!(bad.contains(7));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
