//! `mixer`: sums N stereo inputs into one stereo output, each input with its own gain (dB),
//! balance, mute and solo, followed by a master gain; and feeds up to 8 aux sends.
//!
//! Aux sends (setting `sends`): each send is a stereo output (`send1`, `send2`, …) carrying the
//! inputs at their own send levels (`in{k}_send{j}_db`, off at −96 dB), so that one effect (a
//! reverb on `send1`, its output back into a mixer input) serves many instruments. A send is
//! post-fader by default (after the input's gain, balance, mute and solo) or pre-fader
//! (`send{j}_pre`: the input as it comes, still following its mute and solo); the master gain
//! does not touch the sends.
//!
//! Solo rule (solo-in-place, mute wins): when no input is soloed, every input that is not
//! muted is heard. As soon as any input is soloed, only inputs that are soloed *and* not
//! muted are heard; a soloed input that is also muted stays silent (and still silences the
//! others, because its solo switch is on).
//!
//! Mute and solo are switches (the engine does not smooth them), so the processor fades each
//! input in or out itself over [`MUTE_RAMP_SECONDS`], advancing the fade one sample at a time
//! so the result does not depend on how the host cuts the timeline into blocks.

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSignal, ParamSpec, Params, PortKind, PortSpec,
    ProcessConfig, ProcessContext, Processor, Unit,
};

use crate::dsp::{db_to_gain, pan_gains};
use noderack_presets::{ConfigError, ConfigReader, NodeConfig};

/// Output port index (the stereo mix).
pub const OUT: usize = 0;
/// Master gain in decibels, applied to the sum. It is parameter 0 whatever the number of
/// inputs, so its id is stable across mixer sizes.
pub const MASTER_GAIN_DB: ParamId = ParamId(0);
/// Parameters each input has, in this order after [`MASTER_GAIN_DB`]: gain, pan, mute, solo.
pub const PARAMS_PER_INPUT: usize = 4;
/// Fewest inputs a mixer can have.
pub const MIN_INPUTS: usize = 1;
/// Most inputs a mixer can have (bounds the parameter count and the per-chunk work).
pub const MAX_INPUTS: usize = 64;
/// Inputs of a mixer created without an `inputs` setting.
pub const DEFAULT_INPUTS: usize = 4;
/// Most aux sends a mixer can have.
pub const MAX_SENDS: usize = 8;
/// A send level at or below this is off (no work is done for it).
pub const SEND_OFF_DB: f32 = -96.0;
/// Length of the fade applied when mute or solo switches an input on or off: long enough that
/// a full-scale low tone does not click, short enough to feel instant.
pub const MUTE_RAMP_SECONDS: f32 = 0.005;

/// Input port index of input `input` (0-based; its name is `in{input + 1}`).
pub const fn input_port(input: usize) -> usize {
    input
}

/// Gain in decibels (-96 ..= +12, default 0) of input `input` (0-based; named `in{input + 1}_gain_db`).
pub const fn gain_db_param(input: usize) -> ParamId {
    ParamId((1 + input * PARAMS_PER_INPUT) as u32)
}

/// Balance (-1 left ..= 1 right, default 0 = both channels at unity, see
/// [`crate::dsp::pan_gains`]) of input `input` (0-based; named `in{input + 1}_pan`).
pub const fn pan_param(input: usize) -> ParamId {
    ParamId((2 + input * PARAMS_PER_INPUT) as u32)
}

/// Mute switch of input `input` (0-based; named `in{input + 1}_mute`).
pub const fn mute_param(input: usize) -> ParamId {
    ParamId((3 + input * PARAMS_PER_INPUT) as u32)
}

/// Solo switch of input `input` (0-based; named `in{input + 1}_solo`).
pub const fn solo_param(input: usize) -> ParamId {
    ParamId((4 + input * PARAMS_PER_INPUT) as u32)
}

/// Description of a `mixer` node.
pub struct Mixer {
    inputs: usize,
    sends: usize,
    signature: NodeSignature,
}

impl Mixer {
    /// Kind name in patch files.
    pub const KIND: &'static str = "mixer";
    /// Settings a patch file may give a mixer.
    pub const CONFIG_KEYS: &'static [&'static str] = &["inputs", "sends"];

    /// A mixer with `inputs` stereo inputs (`in1` ..= `in{inputs}`).
    ///
    /// # Panics
    /// If `inputs` is outside [`MIN_INPUTS`] ..= [`MAX_INPUTS`] (a programming error; patch
    /// files go through [`Mixer::from_config`], which reports it instead).
    pub fn new(inputs: usize) -> Self {
        Self::with_sends(inputs, 0)
    }

    /// A mixer with `inputs` stereo inputs and `sends` aux sends (`send1` ..= `send{sends}`,
    /// outputs after `out`).
    ///
    /// # Panics
    /// If `inputs` is outside [`MIN_INPUTS`] ..= [`MAX_INPUTS`] or `sends` above
    /// [`MAX_SENDS`] (patch files go through [`Mixer::from_config`], which reports it).
    pub fn with_sends(inputs: usize, sends: usize) -> Self {
        assert!(
            (MIN_INPUTS..=MAX_INPUTS).contains(&inputs),
            "a mixer has {MIN_INPUTS} to {MAX_INPUTS} inputs, not {inputs}"
        );
        assert!(sends <= MAX_SENDS, "a mixer has at most {MAX_SENDS} sends, not {sends}");
        let mut params = Vec::with_capacity(1 + inputs * PARAMS_PER_INPUT);
        params.push(ParamSpec::continuous("master_gain_db", -96.0, 12.0, 0.0, Unit::Decibels));
        for k in 1..=inputs {
            params.push(ParamSpec::continuous("", -96.0, 12.0, 0.0, Unit::Decibels).renamed(format!("in{k}_gain_db")));
            params.push(ParamSpec::continuous("", -1.0, 1.0, 0.0, Unit::Pan).renamed(format!("in{k}_pan")));
            params.push(ParamSpec::toggle("", false).renamed(format!("in{k}_mute")));
            params.push(ParamSpec::toggle("", false).renamed(format!("in{k}_solo")));
        }
        // Send parameters come after every input's, so the ids above do not depend on them.
        for j in 1..=sends {
            for k in 1..=inputs {
                let spec = ParamSpec::continuous("", SEND_OFF_DB, 12.0, SEND_OFF_DB, Unit::Decibels);
                params.push(spec.renamed(format!("in{k}_send{j}_db")));
            }
        }
        for j in 1..=sends {
            params.push(ParamSpec::toggle("", false).renamed(format!("send{j}_pre")));
        }
        let mut outputs = vec![PortSpec::new("out", PortKind::STEREO)];
        outputs.extend((1..=sends).map(|j| PortSpec::named(format!("send{j}"), PortKind::STEREO)));
        Self {
            inputs,
            sends,
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: (1..=inputs).map(|k| PortSpec::named(format!("in{k}"), PortKind::STEREO)).collect(),
                    outputs,
                },
                params,
            },
        }
    }

    /// The level (dB) at which input `input` feeds send `send` (both 0-based).
    pub fn send_db_param(&self, input: usize, send: usize) -> ParamId {
        ParamId((1 + self.inputs * PARAMS_PER_INPUT + send * self.inputs + input) as u32)
    }

    /// The pre-fader switch of send `send` (0-based).
    pub fn send_pre_param(&self, send: usize) -> ParamId {
        ParamId((1 + self.inputs * PARAMS_PER_INPUT + self.sends * self.inputs + send) as u32)
    }

    /// Output port of send `send` (0-based).
    pub const fn send_port(send: usize) -> usize {
        1 + send
    }

    /// Number of aux sends.
    pub fn sends(&self) -> usize {
        self.sends
    }

    /// A mixer from patch-file settings: `inputs` (whole number, 1 ..= 64, default 4) and
    /// `sends` (0 ..= 8, default 0).
    pub fn from_config(config: &NodeConfig) -> Result<Self, ConfigError> {
        let reader = ConfigReader::new(Self::KIND, config, Self::CONFIG_KEYS)?;
        let inputs = reader.integer("inputs", MIN_INPUTS as u32, MAX_INPUTS as u32, DEFAULT_INPUTS as u32)?;
        let sends = reader.integer("sends", 0, MAX_SENDS as u32, 0)?;
        Ok(Self::with_sends(inputs as usize, sends as usize))
    }

    /// Number of stereo inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }
}

impl Default for Mixer {
    fn default() -> Self {
        Self::new(DEFAULT_INPUTS)
    }
}

impl NodeDescription for Mixer {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        let ramp_frames = (MUTE_RAMP_SECONDS * config.sample_rate).round().max(1.0);
        let frames = config.max_block_frames.max(1);
        Box::new(MixerProcessor {
            strips: (0..self.inputs).map(|_| Strip::new(self.sends)).collect(),
            sends: self.sends,
            levels: vec![0.0; frames],
            post_gains: (vec![0.0; frames], vec![0.0; frames]),
            ramp_step: 1.0 / ramp_frames,
            primed: false,
            master: (f32::NAN, 1.0),
            any_solo: vec![false; config.max_block_frames.max(1)],
        })
    }
}

/// The audio-thread state of one input.
struct Strip {
    /// (gain_db, pan) the cached channel gains were computed for.
    cached: (f32, f32),
    /// Left and right gains for `cached`.
    gains: (f32, f32),
    /// Mute/solo fade level, 0 (silent) ..= 1 (heard).
    level: f32,
    /// Per send: (send level in dB, its linear gain).
    send_gains: Vec<(f32, f32)>,
}

impl Strip {
    fn new(sends: usize) -> Self {
        Self { cached: (f32::NAN, f32::NAN), gains: (1.0, 1.0), level: 1.0, send_gains: vec![(f32::NAN, 0.0); sends] }
    }

    /// The linear gain of send `send` at `db` (0 when off); recomputed only when it changes.
    #[inline]
    fn send_gain(&mut self, send: usize, db: f32) -> f32 {
        match self.send_gains.get_mut(send) {
            Some(cached) => {
                if cached.0 != db {
                    *cached = (db, if db <= SEND_OFF_DB { 0.0 } else { db_to_gain(db) });
                }
                cached.1
            }
            None => 0.0,
        }
    }

    /// Channel gains for `gain_db` and `pan`; recomputes (powf, cos) only when they change.
    #[inline]
    fn gains_for(&mut self, gain_db: f32, pan: f32) -> (f32, f32) {
        if self.cached != (gain_db, pan) {
            let g = db_to_gain(gain_db);
            let (l, r) = pan_gains(pan);
            self.gains = (g * l, g * r);
            self.cached = (gain_db, pan);
        }
        self.gains
    }
}

struct MixerProcessor {
    strips: Vec<Strip>,
    sends: usize,
    /// Scratch for the current input in the per-sample path: its fade level and its post-fader
    /// gains (gain × balance × fade) per frame, which the sends read. Sized at build.
    levels: Vec<f32>,
    post_gains: (Vec<f32>, Vec<f32>),
    /// Fade level change per sample (1 / ramp length in frames).
    ramp_step: f32,
    /// False until the first chunk, which sets each fade level to its target without a fade
    /// (so an input muted from the start is never heard).
    primed: bool,
    /// (master_gain_db, its linear gain).
    master: (f32, f32),
    /// Scratch: whether any input is soloed at each frame of the chunk, used only in chunks in
    /// which a solo switch changes. Sized to the largest chunk at build time.
    any_solo: Vec<bool>,
}

/// Whether a switch parameter value means "on".
#[inline]
fn on(value: f32) -> bool {
    value >= 0.5
}

/// Fade target of an input: 1 when it is heard under the solo rule, else 0.
#[inline]
fn audible(mute: f32, solo: f32, any_solo: bool) -> f32 {
    if !on(mute) && (!any_solo || on(solo)) {
        1.0
    } else {
        0.0
    }
}

/// `level` moved one step towards `target`.
#[inline]
fn approach(level: f32, target: f32, step: f32) -> f32 {
    if level < target {
        (level + step).min(target)
    } else if level > target {
        (level - step).max(target)
    } else {
        level
    }
}

/// Adds `input * gain` into `out`.
#[inline]
fn add_scaled(out: &mut [f32], input: &[f32], gain: f32) {
    for (o, i) in out.iter_mut().zip(input) {
        *o += *i * gain;
    }
}

impl MixerProcessor {
    /// Whether any input is soloed over this chunk: `Some` when that holds for the whole chunk,
    /// `None` when it changes within it (then `self.any_solo` holds it per frame).
    fn solo_state(&mut self, params: &Params<'_>, frames: usize) -> Option<bool> {
        let mut steady_on = false;
        let mut varying = false;
        for k in 0..self.strips.len() {
            match params.get(solo_param(k)).constant() {
                Some(v) => steady_on |= on(v),
                None => varying = true,
            }
        }
        if steady_on || !varying {
            return Some(steady_on);
        }
        let len = frames.min(self.any_solo.len());
        let flags = &mut self.any_solo[..len];
        flags.fill(false);
        for k in 0..self.strips.len() {
            if let Some(ramp) = params.get(solo_param(k)).ramp() {
                for (f, v) in flags.iter_mut().zip(ramp) {
                    *f |= on(*v);
                }
            }
        }
        None
    }
}

impl Processor for MixerProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        if frames == 0 {
            return;
        }
        let params = ctx.params();
        let inputs = ctx.inputs();
        let any_solo_steady = self.solo_state(&params, frames);
        let mut ports = ctx.outputs().split();
        let Some(main) = ports.next() else { return };
        let (out_l, out_r) = main.into_stereo(0);
        out_l.fill(0.0);
        out_r.fill(0.0);
        let mut send_outs: [Option<(&mut [f32], &mut [f32])>; MAX_SENDS] =
            std::array::from_fn(|_| ports.next().map(|port| port.into_stereo(0)));
        for (l, r) in send_outs.iter_mut().flatten() {
            l.fill(0.0);
            r.fill(0.0);
        }
        let step = self.ramp_step;
        let (count, sends) = (self.strips.len(), self.sends);
        let send_db = |input: usize, send: usize| {
            params.get(ParamId((1 + count * PARAMS_PER_INPUT + send * count + input) as u32))
        };
        let send_pre = |send: usize| params.get(ParamId((1 + count * PARAMS_PER_INPUT + sends * count + send) as u32));
        let any_solo = &self.any_solo;
        let any_solo_at = |i: usize| match any_solo_steady {
            Some(a) => a,
            None => any_solo.get(i).copied().unwrap_or(false),
        };

        for (k, strip) in self.strips.iter_mut().enumerate() {
            let mute = params.get(mute_param(k));
            let solo = params.get(solo_param(k));
            if !self.primed {
                strip.level = audible(mute.at(0), solo.at(0), any_solo_at(0));
            }
            let gain = params.get(gain_db_param(k));
            let pan = params.get(pan_param(k));
            let (in_l, in_r) = inputs.stereo(input_port(k));

            // Fast paths: the input's switches hold for the whole chunk and its fade is done.
            let steady_target = match (mute.constant(), solo.constant(), any_solo_steady) {
                (Some(m), Some(s), Some(a)) => Some(audible(m, s, a)),
                _ => None,
            };
            if steady_target == Some(strip.level) {
                if strip.level == 0.0 {
                    continue; // silent all chunk, sends too
                }
                if let (Some(g), Some(p)) = (gain.constant(), pan.constant()) {
                    let (gl, gr) = strip.gains_for(g, p);
                    add_scaled(out_l, in_l, gl);
                    add_scaled(out_r, in_r, gr);
                    for (j, port) in send_outs.iter_mut().enumerate().take(sends) {
                        let Some((send_l, send_r)) = port.as_mut() else { continue };
                        let (db, pre) = (send_db(k, j), send_pre(j));
                        if let (Some(db), Some(pre)) = (db.constant(), pre.constant()) {
                            let sg = strip.send_gain(j, db);
                            if sg == 0.0 {
                                continue;
                            }
                            let (sl, sr) = if on(pre) { (sg, sg) } else { (gl * sg, gr * sg) };
                            add_scaled(send_l, in_l, sl);
                            add_scaled(send_r, in_r, sr);
                        } else {
                            // Fade at 1: the same products as the per-sample path below.
                            for i in 0..frames.min(in_l.len()).min(send_l.len()) {
                                let sg = strip.send_gain(j, db.at(i));
                                let (sl, sr) = if on(pre.at(i)) { (sg, sg) } else { (gl * sg, gr * sg) };
                                send_l[i] += in_l[i] * sl;
                                send_r[i] += in_r[i] * sr;
                            }
                        }
                    }
                    continue;
                }
            }

            // General path: per-sample fade and gains. With the fade at 1 and constant gains it
            // computes exactly what the fast path does, so block size never changes the output.
            mix_per_sample(
                strip,
                PerSample { gain, pan, mute, solo, step },
                &any_solo_at,
                (in_l, in_r),
                (out_l, out_r),
                (&mut self.levels, &mut self.post_gains),
            );
            for (j, port) in send_outs.iter_mut().enumerate().take(sends) {
                let Some((send_l, send_r)) = port.as_mut() else { continue };
                let (db, pre) = (send_db(k, j), send_pre(j));
                if db.constant().is_some_and(|db| db <= SEND_OFF_DB) {
                    continue;
                }
                let n = frames.min(in_l.len()).min(send_l.len()).min(self.levels.len());
                for i in 0..n {
                    let sg = strip.send_gain(j, db.at(i));
                    let (sl, sr) = if on(pre.at(i)) {
                        (self.levels[i] * sg, self.levels[i] * sg)
                    } else {
                        (self.post_gains.0[i] * sg, self.post_gains.1[i] * sg)
                    };
                    send_l[i] += in_l[i] * sl;
                    send_r[i] += in_r[i] * sr;
                }
            }
        }
        self.primed = true;

        let master = params.get(MASTER_GAIN_DB);
        match master.constant() {
            Some(db) => {
                let g = self.master_gain(db);
                if g != 1.0 {
                    for s in out_l.iter_mut().chain(out_r.iter_mut()) {
                        *s *= g;
                    }
                }
            }
            None => {
                for (i, (l, r)) in out_l.iter_mut().zip(out_r.iter_mut()).enumerate() {
                    let g = self.master_gain(master.at(i));
                    *l *= g;
                    *r *= g;
                }
            }
        }
    }
}

impl MixerProcessor {
    #[inline]
    fn master_gain(&mut self, db: f32) -> f32 {
        if self.master.0 != db {
            self.master = (db, db_to_gain(db));
        }
        self.master.1
    }
}

/// The parameters one input reads sample by sample in the general path.
struct PerSample<'a> {
    gain: ParamSignal<'a>,
    pan: ParamSignal<'a>,
    mute: ParamSignal<'a>,
    solo: ParamSignal<'a>,
    step: f32,
}

/// Adds one input into the mix, advancing its fade and gains every sample; leaves each
/// frame's fade level and post-fader gains in `levels` and `post_gains` for the sends.
#[inline]
fn mix_per_sample(
    strip: &mut Strip,
    p: PerSample<'_>,
    any_solo_at: &impl Fn(usize) -> bool,
    (in_l, in_r): (&[f32], &[f32]),
    (out_l, out_r): (&mut [f32], &mut [f32]),
    (levels, post_gains): (&mut [f32], &mut (Vec<f32>, Vec<f32>)),
) {
    let frames = out_l.len().min(out_r.len()).min(levels.len());
    for i in 0..frames {
        let target = audible(p.mute.at(i), p.solo.at(i), any_solo_at(i));
        strip.level = approach(strip.level, target, p.step);
        let (gl, gr) = strip.gains_for(p.gain.at(i), p.pan.at(i));
        let (post_l, post_r) = (gl * strip.level, gr * strip.level);
        levels[i] = strip.level;
        if let (Some(pl), Some(pr)) = (post_gains.0.get_mut(i), post_gains.1.get_mut(i)) {
            *pl = post_l;
            *pr = post_r;
        }
        if let (Some(l), Some(r)) = (in_l.get(i), in_r.get(i)) {
            out_l[i] += *l * post_l;
            out_r[i] += *r * post_r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noderack_presets::ConfigValue;

    #[test]
    fn ports_and_params_follow_the_input_count() {
        let m = Mixer::new(3);
        let names: Vec<&str> = m.ports().inputs.iter().map(|p| p.name.as_ref()).collect();
        assert_eq!(names, ["in1", "in2", "in3"]);
        assert_eq!(m.ports().outputs[0].name, "out");
        assert_eq!(m.params().len(), 1 + 3 * PARAMS_PER_INPUT);
        assert_eq!(m.params()[MASTER_GAIN_DB.0 as usize].name, "master_gain_db");
        for k in 0..3 {
            let name = |id: ParamId| m.params()[id.0 as usize].name.to_string();
            assert_eq!(name(gain_db_param(k)), format!("in{}_gain_db", k + 1));
            assert_eq!(name(pan_param(k)), format!("in{}_pan", k + 1));
            assert_eq!(name(mute_param(k)), format!("in{}_mute", k + 1));
            assert_eq!(name(solo_param(k)), format!("in{}_solo", k + 1));
        }
        let gain = &m.params()[gain_db_param(2).0 as usize];
        assert_eq!((gain.min, gain.max, gain.default, gain.unit), (-96.0, 12.0, 0.0, Unit::Decibels));
        let mute = &m.params()[mute_param(0).0 as usize];
        assert_eq!((mute.unit, mute.smoothing_seconds), (Unit::Toggle, 0.0));
    }

    #[test]
    fn config_sets_the_input_count_and_rejects_bad_values() {
        assert_eq!(Mixer::from_config(&NodeConfig::new()).unwrap().inputs(), DEFAULT_INPUTS);
        let with = |key: &str, v: ConfigValue| NodeConfig::from([(key.to_string(), v)]);
        assert_eq!(Mixer::from_config(&with("inputs", ConfigValue::Number(64.0))).unwrap().ports().inputs.len(), 64);
        for bad in [0.0, 65.0, 2.5] {
            assert!(matches!(
                Mixer::from_config(&with("inputs", ConfigValue::Number(bad))),
                Err(ConfigError::BadValue { .. })
            ));
        }
        assert!(matches!(
            Mixer::from_config(&with("channels", ConfigValue::Number(2.0))),
            Err(ConfigError::UnknownKey { .. })
        ));
    }

    #[test]
    fn solo_rule_mute_wins_and_any_solo_silences_the_rest() {
        // (mute, solo, any input soloed) -> heard
        assert_eq!(audible(0.0, 0.0, false), 1.0);
        assert_eq!(audible(1.0, 0.0, false), 0.0);
        assert_eq!(audible(0.0, 0.0, true), 0.0);
        assert_eq!(audible(0.0, 1.0, true), 1.0);
        assert_eq!(audible(1.0, 1.0, true), 0.0);
    }

    #[test]
    fn fade_reaches_its_target_exactly_in_ramp_length_steps() {
        let step = 1.0 / 240.0;
        let mut level = 1.0;
        let mut n = 0;
        while level > 0.0 {
            level = approach(level, 0.0, step);
            n += 1;
        }
        assert!((240..=241).contains(&n), "{n} steps");
        while level < 1.0 {
            level = approach(level, 1.0, step);
        }
        assert_eq!(level, 1.0);
    }
}
