//! `gain`: stereo gain (in dB) and constant-power pan. The simplest useful processor, and the
//! one the executor-overhead benchmark chains a thousand times.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, ProcessConfig, ProcessContext, Processor, Unit,
};

use crate::dsp::{db_to_gain, pan_gains};

/// Input/output port indices.
pub const IN: usize = 0;
/// Output port index.
pub const OUT: usize = 0;
/// Gain in decibels.
pub const GAIN_DB: ParamId = ParamId(0);
/// Pan, -1 (left) ..= 1 (right); 0 leaves both channels at unity.
pub const PAN: ParamId = ParamId(1);

/// Description of a `gain` node.
pub struct Gain {
    signature: NodeSignature,
}

impl Gain {
    /// Kind name in patch files.
    pub const KIND: &'static str = "gain";

    /// A stereo gain/pan node.
    pub fn new() -> Self {
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts::stereo_in_out(),
                params: vec![
                    ParamSpec::continuous("gain_db", -96.0, 24.0, 0.0, Unit::Decibels),
                    ParamSpec::continuous("pan", -1.0, 1.0, 0.0, Unit::Pan),
                ],
            },
        }
    }
}

impl Default for Gain {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Gain {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, _config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(GainProcessor { cached: (f32::NAN, f32::NAN), gains: (1.0, 1.0) })
    }
}

struct GainProcessor {
    /// (gain_db, pan) the cached channel gains were computed for.
    cached: (f32, f32),
    gains: (f32, f32),
}

impl GainProcessor {
    #[inline]
    fn gains_for(&mut self, gain_db: f32, pan: f32) -> (f32, f32) {
        if self.cached != (gain_db, pan) {
            self.recompute(gain_db, pan);
        }
        self.gains
    }

    /// Out of line, so that the calls to `powf`/`cosf` do not cost the common path its
    /// registers.
    #[cold]
    #[inline(never)]
    fn recompute(&mut self, gain_db: f32, pan: f32) {
        let g = db_to_gain(gain_db);
        let (l, r) = pan_gains(pan);
        self.gains = (g * l, g * r);
        self.cached = (gain_db, pan);
    }

    /// A call in which the parameters may have changed: read them, and follow a ramp frame by
    /// frame if one is moving. Out of line, so that the common call stays small.
    #[cold]
    #[inline(never)]
    fn process_changing(&mut self, ctx: &mut ProcessContext<'_>) {
        let params = ctx.params();
        let (gain, pan) = (params.get(GAIN_DB), params.get(PAN));
        let (in_l, in_r) = ctx.inputs().stereo(IN);
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(OUT);
        if let (Some(g), Some(p)) = (gain.constant(), pan.constant()) {
            let (gl, gr) = self.gains_for(g, p);
            scale(out_l, in_l, gl);
            scale(out_r, in_r, gr);
            return;
        }
        for (i, ((ol, or), (il, ir))) in out_l.iter_mut().zip(out_r.iter_mut()).zip(in_l.iter().zip(in_r)).enumerate() {
            let (gl, gr) = self.gains_for(gain.at(i), pan.at(i));
            *ol = *il * gl;
            *or = *ir * gr;
        }
    }
}

/// `out = input * gain`.
#[inline]
fn scale(out: &mut [f32], input: &[f32], gain: f32) {
    for (o, i) in out.iter_mut().zip(input) {
        *o = *i * gain;
    }
}

impl Processor for GainProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        if !ctx.params_unchanged() {
            return self.process_changing(ctx);
        }
        // Nothing moved since the previous call: its channel gains still hold.
        let (gl, gr) = self.gains;
        let (in_l, in_r) = ctx.inputs().stereo(IN);
        let mut outputs = ctx.outputs();
        let (out_l, out_r) = outputs.stereo_mut(OUT);
        scale(out_l, in_l, gl);
        scale(out_r, in_r, gr);
    }
}
