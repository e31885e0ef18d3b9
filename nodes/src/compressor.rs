//! `compressor`: a stereo-linked feed-forward compressor with a soft knee, separate attack and
//! release, make-up gain, an optional external side-chain, and its gain reduction both as an
//! audio-rate output (to meter or patch) and as a value the control side can read.
//!
//! Per frame: the detector takes the peak of the two detection channels (`in`, or `sidechain`
//! when `external_sidechain` is on) in dB; a static gain computer (the quadratic soft knee of
//! Giannoulis, Massberg and Reiss, "Digital Dynamic Range Compressor Design", JAES 2012) turns
//! it into a wanted gain reduction; a branching one-pole smoother in the dB domain follows it
//! with the attack time while the reduction grows and the release time while it shrinks.
//! Everything runs frame by frame, so the output does not depend on how the timeline is cut
//! into blocks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use noderack_graph::{
    NodeDescription, NodePorts, NodeSignature, ParamId, ParamSpec, PortKind, PortSpec, ProcessConfig, ProcessContext,
    Processor, Unit,
};

/// Input port: the signal to compress (stereo).
pub const IN: usize = 0;
/// Input port: the external side-chain (stereo), used for detection when
/// [`EXTERNAL_SIDECHAIN`] is on; silence when unconnected.
pub const SIDECHAIN: usize = 1;
/// Output port: the compressed signal (stereo).
pub const OUT: usize = 0;
/// Output port: the smoothed gain reduction in dB, as a positive mono signal (0 = no reduction).
pub const GAIN_REDUCTION: usize = 1;

/// Level above which the signal is turned down, in dBFS (peak).
pub const THRESHOLD_DB: ParamId = ParamId(0);
/// Input dB above threshold per output dB above threshold (1 = no compression).
pub const RATIO: ParamId = ParamId(1);
/// Width of the soft knee around the threshold, in dB (0 = hard knee).
pub const KNEE_DB: ParamId = ParamId(2);
/// Time constant of a growing gain reduction, in milliseconds.
pub const ATTACK_MS: ParamId = ParamId(3);
/// Time constant of a shrinking gain reduction, in milliseconds.
pub const RELEASE_MS: ParamId = ParamId(4);
/// Gain added after compression, in dB.
pub const MAKEUP_DB: ParamId = ParamId(5);
/// Off: detect on `in`. On: detect on the `sidechain` input.
pub const EXTERNAL_SIDECHAIN: ParamId = ParamId(6);

/// Detector floor in dB: quieter levels (and silence) read as this, which keeps `log` finite.
const FLOOR_DB: f32 = -150.0;
/// Detector ceiling in dB: louder levels (and infinities) read as this, so a stray infinity
/// cannot leave the smoother stuck at an infinite reduction.
const MAX_LEVEL_DB: f32 = 150.0;

/// Description of a `compressor` node.
pub struct Compressor {
    signature: NodeSignature,
    /// The largest gain reduction of the latest block, in dB, as `f32` bits; shared with the
    /// processor, which writes it once per block.
    gain_reduction: Arc<AtomicU32>,
}

impl Compressor {
    /// Kind name in patch files.
    pub const KIND: &'static str = "compressor";

    /// A stereo compressor with default settings (−18 dB threshold, 4:1, 6 dB knee).
    pub fn new() -> Self {
        let db = |name, min, max, default| ParamSpec::continuous(name, min, max, default, Unit::Decibels);
        let plain = |name, min, max, default| ParamSpec::continuous(name, min, max, default, Unit::None);
        Self {
            signature: NodeSignature {
                kind: Self::KIND,
                ports: NodePorts {
                    inputs: vec![PortSpec::new("in", PortKind::STEREO), PortSpec::new("sidechain", PortKind::STEREO)],
                    outputs: vec![
                        PortSpec::new("out", PortKind::STEREO),
                        PortSpec::new("gain_reduction", PortKind::Audio { channels: 1 }),
                    ],
                },
                params: vec![
                    db("threshold_db", -60.0, 0.0, -18.0),
                    plain("ratio", 1.0, 20.0, 4.0),
                    db("knee_db", 0.0, 24.0, 6.0),
                    plain("attack_ms", 0.1, 200.0, 10.0),
                    plain("release_ms", 5.0, 2000.0, 150.0),
                    db("makeup_db", 0.0, 24.0, 0.0),
                    ParamSpec::toggle("external_sidechain", false),
                ],
            },
            gain_reduction: Arc::new(AtomicU32::new(0f32.to_bits())),
        }
    }

    /// The largest gain reduction (dB, ≥ 0) the processor applied during its latest block: what
    /// a meter shows. 0 before the node has run.
    pub fn gain_reduction_db(&self) -> f32 {
        f32::from_bits(self.gain_reduction.load(Ordering::Relaxed))
    }
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeDescription for Compressor {
    fn signature(&self) -> &NodeSignature {
        &self.signature
    }
    fn build(&self, config: &ProcessConfig) -> Box<dyn Processor> {
        Box::new(CompressorProcessor {
            sample_rate: config.sample_rate,
            reduction_db: 0.0,
            attack: Coefficient::default(),
            release: Coefficient::default(),
            report: self.gain_reduction.clone(),
        })
    }
}

/// The gain reduction, in dB (≥ 0), that the static curve asks for at detector level `level_db`:
/// none below the knee, `(1 − 1/ratio)` of the excess above it, and a quadratic blend across a
/// knee `knee_db` wide centred on the threshold.
pub fn static_reduction_db(level_db: f32, threshold_db: f32, ratio: f32, knee_db: f32) -> f32 {
    let over = level_db - threshold_db;
    let slope = 1.0 - 1.0 / ratio.max(1.0);
    if 2.0 * over <= -knee_db {
        0.0
    } else if 2.0 * over < knee_db {
        let into_knee = over + knee_db / 2.0;
        slope * into_knee * into_knee / (2.0 * knee_db)
    } else {
        slope * over
    }
}

/// A one-pole smoothing coefficient `exp(−1 / (time · rate))`, recomputed only when the time
/// changes (so a constant time costs no `exp` per frame, and a ramp gives the same values
/// whatever the block size).
#[derive(Default)]
struct Coefficient {
    time_ms: f32,
    value: f32,
}

impl Coefficient {
    #[inline]
    fn get(&mut self, time_ms: f32, sample_rate: f32) -> f32 {
        if time_ms != self.time_ms {
            self.time_ms = time_ms;
            self.value = (-1000.0 / (time_ms.max(1e-3) * sample_rate)).exp();
        }
        self.value
    }
}

struct CompressorProcessor {
    sample_rate: f32,
    /// The smoothed gain reduction in dB (≥ 0).
    reduction_db: f32,
    attack: Coefficient,
    release: Coefficient,
    report: Arc<AtomicU32>,
}

impl Processor for CompressorProcessor {
    fn process(&mut self, ctx: &mut ProcessContext<'_>) {
        let frames = ctx.frames();
        let params = ctx.params();
        let (threshold, ratio, knee) = (params.get(THRESHOLD_DB), params.get(RATIO), params.get(KNEE_DB));
        let (attack, release, makeup) = (params.get(ATTACK_MS), params.get(RELEASE_MS), params.get(MAKEUP_DB));
        let external = params.get(EXTERNAL_SIDECHAIN);
        let inputs = ctx.inputs();
        let (in_l, in_r) = inputs.stereo(IN);
        let (sc_l, sc_r) = inputs.stereo(SIDECHAIN);
        let mut ports = ctx.outputs().split();
        let (Some(main), Some(mut meter)) = (ports.next(), ports.next()) else {
            return;
        };
        let (out_l, out_r) = main.into_stereo(0);
        let meter = meter.signal_mut(0, 0);
        let n = [in_l.len(), in_r.len(), sc_l.len(), sc_r.len(), out_l.len(), out_r.len(), meter.len()]
            .into_iter()
            .fold(frames, usize::min);
        let mut block_max_db = 0.0f32;
        for i in 0..n {
            let (l, r) = (in_l[i], in_r[i]);
            let peak = if external.at(i) >= 0.5 { sc_l[i].abs().max(sc_r[i].abs()) } else { l.abs().max(r.abs()) };
            let target_db = static_reduction_db(level_db(peak), threshold.at(i), ratio.at(i), knee.at(i));
            let coefficient = if target_db > self.reduction_db {
                self.attack.get(attack.at(i), self.sample_rate)
            } else {
                self.release.get(release.at(i), self.sample_rate)
            };
            self.reduction_db = target_db + coefficient * (self.reduction_db - target_db);
            let gain = db_to_gain(makeup.at(i) - self.reduction_db);
            out_l[i] = l * gain;
            out_r[i] = r * gain;
            meter[i] = self.reduction_db;
            block_max_db = block_max_db.max(self.reduction_db);
        }
        // Whatever frames the views lacked (never, for a verified plan) still get written.
        out_l[n..].fill(0.0);
        out_r[n..].fill(0.0);
        meter[n..].fill(0.0);
        self.report.store(block_max_db.to_bits(), Ordering::Relaxed);
    }
}

/// A peak level in dB, held inside [`FLOOR_DB`, `MAX_LEVEL_DB`] (NaN reads as the floor).
#[inline]
fn level_db(peak: f32) -> f32 {
    if peak.is_nan() {
        return FLOOR_DB;
    }
    // 20·log10(x) = (20·log10 2)·log2(x).
    (20.0 * std::f32::consts::LOG10_2 * peak.log2()).clamp(FLOOR_DB, MAX_LEVEL_DB)
}

/// Decibels to a linear factor.
#[inline]
fn db_to_gain(db: f32) -> f32 {
    // 10^(x/20) = 2^(x · log2(10) / 20).
    (db * (std::f32::consts::LOG2_10 / 20.0)).exp2()
}
