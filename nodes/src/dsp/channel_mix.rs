//! The MIDI channel mixer of the instruments (`sampler`, `synth`): voices render into their
//! channel's bus, which is mixed into the output at the channel's volume (CC7), expression
//! (CC11) and pan (CC10), as a General MIDI player does. Gain changes glide over
//! [`CHANNEL_GAIN_RAMP_SECONDS`] so a controller move never clicks.
//!
//! Ramps advance by integer frame counts and every value is computed from the ramp's frame
//! position, so the output does not depend on how the timeline is cut into blocks.

use crate::dsp::pan_gains;

/// MIDI channels.
pub const CHANNELS: usize = 16;
/// CC7 before any is received: General MIDI's default of 100 (about −4.2 dB), so a file that
/// sets volume 100 first sounds the same as one that sets nothing.
pub const GM_DEFAULT_VOLUME: u8 = 100;
/// Glide of a channel gain change (volume, expression, pan): long enough not to click, short
/// enough to follow a fast fader.
pub const CHANNEL_GAIN_RAMP_SECONDS: f32 = 0.005;

/// The General MIDI gain law for volume and expression: `(value/127)²`, i.e. 40·log10 dB
/// (GM2 recommended practice; 100 ≈ −4.2 dB, 64 ≈ −11.9 dB, 0 = silence).
pub fn controller_gain(value: u8) -> f32 {
    let v = value.min(127) as f32 / 127.0;
    v * v
}

/// Left and right gains for a channel: volume × expression, then pan (CC10, 64 = centre,
/// which leaves both sides at unity, as the `gain` node's pan does).
pub fn channel_gains(volume: u8, expression: u8, pan: u8) -> (f32, f32) {
    let level = controller_gain(volume) * controller_gain(expression);
    let (l, r) = pan_gains(((pan.min(127) as f32 - 64.0) / 63.0).clamp(-1.0, 1.0));
    (level * l, level * r)
}

/// A channel's mix controllers, with General MIDI's defaults (volume 100, expression 127,
/// pan 64).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MixControllers {
    /// CC7.
    pub volume: u8,
    /// CC11.
    pub expression: u8,
    /// CC10 (64 = centre).
    pub pan: u8,
}

impl Default for MixControllers {
    fn default() -> Self {
        Self { volume: GM_DEFAULT_VOLUME, expression: 127, pan: 64 }
    }
}

impl MixControllers {
    /// The left and right gains they give ([`channel_gains`]).
    pub fn gains(&self) -> (f32, f32) {
        channel_gains(self.volume, self.expression, self.pan)
    }
}

/// A linear glide of a stereo gain pair, positioned in whole frames.
#[derive(Copy, Clone, Debug, PartialEq)]
struct GainRamp {
    from: (f32, f32),
    to: (f32, f32),
    /// Frames of the glide already played (`ramp_frames` when settled).
    position: u32,
}

impl GainRamp {
    fn settled(gains: (f32, f32), ramp_frames: u32) -> Self {
        Self { from: gains, to: gains, position: ramp_frames }
    }

    fn is_settled(&self, ramp_frames: u32) -> bool {
        self.position >= ramp_frames
    }

    /// The gains `offset` frames past the current position.
    #[inline]
    fn at(&self, offset: u32, ramp_frames: u32) -> (f32, f32) {
        let p = self.position.saturating_add(offset);
        if p >= ramp_frames {
            return self.to;
        }
        let t = p as f32 / ramp_frames as f32;
        (self.from.0 + (self.to.0 - self.from.0) * t, self.from.1 + (self.to.1 - self.from.1) * t)
    }

    fn retarget(&mut self, to: (f32, f32), ramp_frames: u32) {
        let now = self.at(0, ramp_frames);
        *self = Self { from: now, to, position: if now == to { ramp_frames } else { 0 } };
    }

    fn advance(&mut self, frames: u32, ramp_frames: u32) {
        self.position = self.position.saturating_add(frames).min(ramp_frames);
    }
}

/// One stereo bus per MIDI channel plus each channel's gain glide. Sized when the processor is
/// built; never allocates afterwards.
pub struct ChannelMix {
    /// `CHANNELS` × 2 buses of `max_frames` floats: channel `c` left at `2c`, right at `2c + 1`.
    buses: Vec<f32>,
    max_frames: usize,
    ramps: [GainRamp; CHANNELS],
    ramp_frames: u32,
    /// Each channel's CC7, CC11 and CC10.
    controllers: [MixControllers; CHANNELS],
    /// Bit `c` set: channel `c`'s bus holds this span's voices.
    used: u16,
}

impl ChannelMix {
    /// Buses for spans of up to `max_frames`, every channel at General MIDI's default
    /// controllers.
    pub fn new(max_frames: usize, sample_rate: f32) -> Self {
        let ramp_frames = (CHANNEL_GAIN_RAMP_SECONDS * sample_rate).round().max(1.0) as u32;
        let gains = MixControllers::default().gains();
        Self {
            buses: vec![0.0; CHANNELS * 2 * max_frames.max(1)],
            max_frames: max_frames.max(1),
            ramps: [GainRamp::settled(gains, ramp_frames); CHANNELS],
            ramp_frames,
            controllers: [MixControllers::default(); CHANNELS],
            used: 0,
        }
    }

    /// Takes control change `controller` = `value` on `channel` if it is volume (7), pan (10)
    /// or expression (11), gliding the channel's gains to it; false for any other controller.
    pub fn set_controller(&mut self, channel: usize, controller: u8, value: u8) -> bool {
        let Some(c) = self.controllers.get_mut(channel) else { return false };
        match controller {
            7 => c.volume = value.min(127),
            10 => c.pan = value.min(127),
            11 => c.expression = value.min(127),
            _ => return false,
        }
        let gains = c.gains();
        self.set_gains(channel, gains);
        true
    }

    /// Sets where channel `channel`'s gains glide to.
    fn set_gains(&mut self, channel: usize, gains: (f32, f32)) {
        if let Some(ramp) = self.ramps.get_mut(channel) {
            if ramp.to != gains {
                ramp.retarget(gains, self.ramp_frames);
            }
        }
    }

    /// Channel `channel`'s bus for a span of `frames` (at most the maximum), cleared on its first
    /// use in the span. `None` for a channel out of range.
    pub fn bus(&mut self, channel: usize, frames: usize) -> Option<(&mut [f32], &mut [f32])> {
        if channel >= CHANNELS {
            return None;
        }
        let frames = frames.min(self.max_frames);
        let stride = self.max_frames;
        let (left, right) = self.buses[2 * channel * stride..(2 * channel + 2) * stride].split_at_mut(stride);
        let (left, right) = (&mut left[..frames], &mut right[..frames]);
        if self.used & (1 << channel) == 0 {
            left.fill(0.0);
            right.fill(0.0);
            self.used |= 1 << channel;
        }
        Some((left, right))
    }

    /// Adds every bus used in this span into `out_l`/`out_r` (the span's frames) at its
    /// channel's gains, and moves every channel's glide on by the span's length.
    pub fn mix_into(&mut self, out_l: &mut [f32], out_r: &mut [f32]) {
        let frames = out_l.len().min(out_r.len()).min(self.max_frames);
        let stride = self.max_frames;
        let ramp_frames = self.ramp_frames;
        for (channel, ramp) in self.ramps.iter_mut().enumerate() {
            if self.used & (1 << channel) != 0 {
                let bus = &self.buses[2 * channel * stride..(2 * channel + 2) * stride];
                let (left, right) = bus.split_at(stride);
                let (left, right) = (&left[..frames], &right[..frames]);
                if ramp.is_settled(ramp_frames) {
                    let (gl, gr) = ramp.to;
                    for (o, s) in out_l[..frames].iter_mut().zip(left) {
                        *o += s * gl;
                    }
                    for (o, s) in out_r[..frames].iter_mut().zip(right) {
                        *o += s * gr;
                    }
                } else {
                    for i in 0..frames {
                        let (gl, gr) = ramp.at(i as u32, ramp_frames);
                        out_l[i] += left[i] * gl;
                        out_r[i] += right[i] * gr;
                    }
                }
            }
            ramp.advance(frames as u32, ramp_frames);
        }
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gm_gain_law_points() {
        assert_eq!(controller_gain(127), 1.0);
        assert_eq!(controller_gain(0), 0.0);
        let db = |g: f32| 20.0 * g.log10();
        assert!((db(controller_gain(100)) + 4.15).abs() < 0.01);
        assert!((db(controller_gain(64)) + 11.91).abs() < 0.01);
        assert_eq!(channel_gains(127, 127, 64), (1.0, 1.0));
        let (l, r) = channel_gains(127, 127, 0);
        assert!(l == 1.0 && r.abs() < 1e-6);
    }

    #[test]
    fn a_controller_change_glides_and_the_glide_ignores_span_boundaries() {
        let start = MixControllers::default().gains();
        let render = |spans: &[usize]| {
            let mut mix = ChannelMix::new(64, 1000.0); // 5 frames of glide
            let mut out = Vec::new();
            for (n, &frames) in spans.iter().enumerate() {
                if n == 0 {
                    assert!(mix.set_controller(3, 7, 0));
                    assert!(!mix.set_controller(3, 1, 0), "not a mix controller");
                }
                let (l, r) = mix.bus(3, frames).unwrap();
                l.fill(1.0);
                r.fill(1.0);
                let (mut ol, mut or) = (vec![0.0; frames], vec![0.0; frames]);
                mix.mix_into(&mut ol, &mut or);
                out.extend(ol.into_iter().zip(or));
            }
            out
        };
        let whole = render(&[8]);
        assert_eq!(whole[0], start);
        assert_eq!(whole[5], (0.0, 0.0));
        assert!(whole[1].0 < start.0 && whole[1].0 > whole[2].0, "falls gradually: {whole:?}");
        assert_eq!(whole, render(&[3, 1, 4]));
        assert_eq!(whole, render(&[1; 8]));
    }

    #[test]
    fn volume_expression_and_pan_combine_per_channel() {
        let mut c = MixControllers::default();
        (c.volume, c.expression, c.pan) = (127, 64, 0);
        let (l, r) = c.gains();
        assert_eq!(l, controller_gain(64));
        assert!(r.abs() < 1e-6, "hard left silences the right: {r}");
    }
}
