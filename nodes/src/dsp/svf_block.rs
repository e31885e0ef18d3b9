//! The state-variable filter ([`SvfStateSpace`]) stepped eight frames at a time.
//!
//! A voice's filter is a two-pole recursion: each frame's state needs the previous frame's,
//! so a per-frame loop waits about two fused multiply-adds per frame however wide the
//! processor is. Unrolled over a block of [`BLOCK_FRAMES`] frames, the recursion becomes
//! `y[j] = C·Mʲ·s + Σᵢ h[j − i]·x[i]` for the block's outputs and
//! `s' = M⁸·s + Σᵢ M⁷⁻ⁱ·b·x[i]` for the state after it (`M`, `b`, `C`, `d` the per-frame rows,
//! `h` the impulse response: `h[0] = d`, `h[m] = C·Mᵐ⁻¹·b`). The sums over the inputs do not
//! depend on the state, so they run as wide as the processor allows, and the chain from one
//! block's state to the next is two operations for eight frames.
//!
//! Blocks lie on a fixed grid of frames (a voice's: every eighth frame of the engine's
//! timeline), not at the start of a call: a call that ends inside a block keeps its inputs and
//! finishes the block on the next call, so a voice's output is the same bits however its
//! frames are split into calls (the outputs of a block's first frames do not read its later
//! inputs: their weights there are exactly 0). Frames before the first block boundary, and the
//! rest of a block whose coefficients change inside it, are stepped one at a time. With the grid
//! on the engine's timeline, a live callback's blocks are whole: nothing is computed twice for
//! a block that straddles two calls.

use super::filter::{SvfCoefficients, SvfResponse, SvfStateSpace};

/// `a·b + c`: fused (one rounding) when `FUSED`, else a multiply and an add. `FUSED` belongs
/// only in code compiled for FMA (`#[target_feature(enable = "fma")]`), where `mul_add` is
/// one instruction; elsewhere it is a slow library call.
#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Frames per block.
pub const BLOCK_FRAMES: usize = 8;

/// A filter's coefficients unrolled over a block (shared by the channels of a voice).
#[derive(Copy, Clone, Debug, Default)]
pub struct SvfBlockCoefficients {
    /// The impulse response `h[m]` at index `BLOCK_FRAMES − 1 + m`, zeros before it: lane `j`
    /// of the window starting at `BLOCK_FRAMES − 1 − i` is input `i`'s weight in output `j`.
    response: [f32; 2 * BLOCK_FRAMES],
    /// Each output's weights of the two states at the block's start (`C·Mʲ`), per state.
    from_state: [[f32; BLOCK_FRAMES]; 2],
    /// Each input's weights in the two states after the block (`M⁷⁻ⁱ·b`).
    to_state: [[f32; 2]; BLOCK_FRAMES],
    /// The states' weights in the states after the block (`M⁸`), by rows.
    across: [[f32; 2]; 2],
    /// The per-frame form, for a block cut short by a change of coefficients.
    frame: SvfStateSpace,
}

impl SvfBlockCoefficients {
    /// The block tables of the filter `coefs` gives, with output `response`. Computed in
    /// `f64` from the per-frame rows (a few hundred operations: once per cutoff change).
    pub fn new(coefs: SvfCoefficients, response: SvfResponse) -> Self {
        let frame = SvfStateSpace::new(coefs, response);
        let ([m11, m12, b1], [m21, m22, b2], [c1, c2, d]) = frame.rows();
        let f = |x: f32| x as f64;
        let m = [[f(m11), f(m12)], [f(m21), f(m22)]];
        let b = [f(b1), f(b2)];
        // Row vector times M, and M times column vector.
        let row_m = |r: [f64; 2]| [r[0] * m[0][0] + r[1] * m[1][0], r[0] * m[0][1] + r[1] * m[1][1]];
        let m_col = |v: [f64; 2]| [m[0][0] * v[0] + m[0][1] * v[1], m[1][0] * v[0] + m[1][1] * v[1]];

        let mut tables = Self { frame, ..Self::default() };
        // C·Mʲ for j = 0..8 (and C·M⁷·b is h[8], not needed).
        let mut row = [f(c1), f(c2)];
        tables.response[BLOCK_FRAMES - 1] = d;
        for j in 0..BLOCK_FRAMES {
            tables.from_state[0][j] = row[0] as f32;
            tables.from_state[1][j] = row[1] as f32;
            if j + 1 < BLOCK_FRAMES {
                tables.response[BLOCK_FRAMES + j] = (row[0] * b[0] + row[1] * b[1]) as f32;
            }
            row = row_m(row);
        }
        // Mᵏ·b for k = 0..8, input 7 − k's weights.
        let mut column = b;
        for k in 0..BLOCK_FRAMES {
            tables.to_state[BLOCK_FRAMES - 1 - k] = [column[0] as f32, column[1] as f32];
            column = m_col(column);
        }
        // M⁸ by three squarings.
        let square = |a: [[f64; 2]; 2]| {
            let at = |r: usize, c: usize| a[r][0] * a[0][c] + a[r][1] * a[1][c];
            [[at(0, 0), at(0, 1)], [at(1, 0), at(1, 1)]]
        };
        let m8 = square(square(square(m)));
        tables.across = m8.map(|r| r.map(|x| x as f32));
        tables
    }
}

/// One channel's filter state, stepped in blocks with an [`SvfBlockCoefficients`].
#[derive(Copy, Clone, Debug, Default)]
pub struct SvfBlock {
    /// The two integrator states at the start of the block under way (a pair, not an array:
    /// an array of two floats travels as one integer, through a general register).
    state: (f32, f32),
    /// The block's inputs so far (zeros after `filled`).
    pending: [f32; BLOCK_FRAMES],
    /// Frames of the block under way already filtered.
    filled: usize,
    /// The block under way is stepped frame by frame (it began before the filter's first
    /// frame, or its coefficients changed inside it): `state` is the state now, and `pending`
    /// holds nothing.
    stepping: bool,
}

impl SvfBlock {
    /// Filters `data` in place. A state smaller than `floor` at the end of a block is zeroed
    /// (at a fixed frame, so renders stay identical across block sizes): pass
    /// [`super::Svf::FLUSH_BELOW`] times the scale the input was divided by.
    #[inline(always)]
    pub fn process<const FUSED: bool>(&mut self, c: &SvfBlockCoefficients, data: &mut [f32], floor: f32) {
        let mut at = 0;
        if self.stepping {
            at = self.step_to_boundary(c, data, floor);
        }
        while at < data.len() {
            if self.filled == 0 {
                // Whole blocks: straight from the data, the state in registers.
                let whole = (data.len() - at) / BLOCK_FRAMES * BLOCK_FRAMES;
                for block in data[at..at + whole].chunks_exact_mut(BLOCK_FRAMES) {
                    let Ok(block) = <&mut [f32; BLOCK_FRAMES]>::try_from(block) else { break };
                    let x = *block;
                    *block = outputs::<FUSED>(c, self.state, &x);
                    self.state = next_state::<FUSED>(c, self.state, &x, floor);
                }
                at += whole;
                if at == data.len() {
                    break;
                }
            }
            // Part of a block: its inputs wait in `pending` for the rest.
            let start = self.filled;
            let take = (BLOCK_FRAMES - start).min(data.len() - at);
            for (p, &x) in self.pending[start..start + take].iter_mut().zip(&data[at..at + take]) {
                *p = x;
            }
            let y = outputs::<FUSED>(c, self.state, &self.pending);
            for (d, &y) in data[at..at + take].iter_mut().zip(&y[start..start + take]) {
                *d = y;
            }
            self.filled += take;
            at += take;
            if self.filled == BLOCK_FRAMES {
                self.state = next_state::<FUSED>(c, self.state, &self.pending, floor);
                (self.pending, self.filled) = ([0.0; BLOCK_FRAMES], 0);
            }
        }
    }

    /// A silent filter whose first frame is frame `first_frame` of the timeline its blocks
    /// keep to (blocks start at multiples of [`BLOCK_FRAMES`]): the frames up to the first
    /// boundary are stepped one at a time.
    pub fn starting_at(first_frame: u64) -> Self {
        let filled = (first_frame % BLOCK_FRAMES as u64) as usize;
        Self { filled, stepping: filled != 0, ..Self::default() }
    }

    /// Brings the state to the frame under way, stepping over the block's inputs one frame
    /// at a time with the coefficients they were filtered with: call it before the
    /// coefficients change. The rest of the block is then stepped frame by frame with the new
    /// ones, and blocks go on at the same boundaries.
    pub fn settle(&mut self, c: &SvfBlockCoefficients) {
        if self.stepping || self.filled == 0 {
            return;
        }
        let mut frame = c.frame;
        frame.set_state(self.state);
        for &x in &self.pending[..self.filled] {
            frame.tick(x);
        }
        *self = Self { state: frame.state(), filled: self.filled, stepping: true, ..Self::default() };
    }

    /// Filters the frames of `data` up to the next block boundary one at a time (the block
    /// under way is stepped); returns how many.
    #[inline(always)]
    fn step_to_boundary(&mut self, c: &SvfBlockCoefficients, data: &mut [f32], floor: f32) -> usize {
        let take = (BLOCK_FRAMES - self.filled).min(data.len());
        let mut frame = c.frame;
        frame.set_state(self.state);
        for x in &mut data[..take] {
            *x = frame.tick(*x);
        }
        self.state = frame.state();
        self.filled += take;
        if self.filled == BLOCK_FRAMES {
            // The flush a block's end makes, at the same frame.
            self.state = (flush(self.state.0, floor), flush(self.state.1, floor));
            (self.filled, self.stepping) = (0, false);
        }
        take
    }
}

/// A block's outputs from the state at its start and its inputs `x` (an output does not read
/// the inputs after it: their weights are exactly 0).
#[inline(always)]
fn outputs<const FUSED: bool>(
    c: &SvfBlockCoefficients,
    (s1, s2): (f32, f32),
    x: &[f32; BLOCK_FRAMES],
) -> [f32; BLOCK_FRAMES] {
    let mut y = [0.0f32; BLOCK_FRAMES];
    for (i, &x) in x.iter().enumerate() {
        let weights = &c.response[BLOCK_FRAMES - 1 - i..2 * BLOCK_FRAMES - 1 - i];
        for (y, &h) in y.iter_mut().zip(weights) {
            *y = madd::<FUSED>(h, x, *y);
        }
    }
    // The state last: the inputs' sums do not wait for it.
    for ((y, &p1), &p2) in y.iter_mut().zip(&c.from_state[0]).zip(&c.from_state[1]) {
        *y = madd::<FUSED>(p1, s1, madd::<FUSED>(p2, s2, *y));
    }
    y
}

/// The state after a full block of inputs `x` from `state`; states smaller than `floor`
/// become 0.
#[inline(always)]
fn next_state<const FUSED: bool>(
    c: &SvfBlockCoefficients,
    (s1, s2): (f32, f32),
    x: &[f32; BLOCK_FRAMES],
    floor: f32,
) -> (f32, f32) {
    let (mut in1, mut in2) = (0.0f32, 0.0f32);
    for (&x, weights) in x.iter().zip(&c.to_state) {
        in1 = madd::<FUSED>(weights[0], x, in1);
        in2 = madd::<FUSED>(weights[1], x, in2);
    }
    // Two independent halves, then one add: the chain from state to state is a multiply-add
    // and an add.
    let [row1, row2] = c.across;
    let next1 = madd::<FUSED>(row1[0], s1, in1) + row1[1] * s2;
    let next2 = madd::<FUSED>(row2[0], s1, in2) + row2[1] * s2;
    (flush(next1, floor), flush(next2, floor))
}

/// A state at a block's end: 0 when smaller than `floor` (no denormals, and silence reaches
/// exact zero).
#[inline(always)]
fn flush(state: f32, floor: f32) -> f32 {
    if state.abs() < floor {
        0.0
    } else {
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f32 = 48_000.0;

    /// A deterministic test signal: a pseudo-random walk with steps and silence.
    fn signal(n: usize) -> Vec<f32> {
        let mut seed = 0x2545_f491u32;
        (0..n)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if (i / 97) % 5 == 4 {
                    0.0
                } else {
                    (seed as f32 / u32::MAX as f32) * 2.0 - 1.0
                }
            })
            .collect()
    }

    /// The block form follows the per-frame form closely, every response, from deep bass to
    /// near Nyquist, flat and resonant, in both roundings.
    #[test]
    fn blocks_give_the_per_frame_filter() {
        let x = signal(6_000);
        for (hz, damping) in [(5.0, 2.0), (80.0, 0.05), (1000.0, 0.1), (9000.0, 1.4), (21_000.0, 0.7)] {
            let coefs = SvfCoefficients::moving(hz, damping, SR);
            for response in [SvfResponse::LowPass, SvfResponse::HighPass, SvfResponse::BandPass] {
                let tables = SvfBlockCoefficients::new(coefs, response);
                let mut reference = SvfStateSpace::new(coefs, response);
                let expected: Vec<f32> = x.iter().map(|&x| reference.tick(x)).collect();
                let peak = expected.iter().fold(1.0f32, |m, y| m.max(y.abs()));
                for fused in [false, true] {
                    let mut y = x.clone();
                    let mut block = SvfBlock::default();
                    if fused {
                        block.process::<true>(&tables, &mut y, 0.0);
                    } else {
                        block.process::<false>(&tables, &mut y, 0.0);
                    }
                    let worst = y.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                    assert!(worst < 2e-5 * peak, "{hz} Hz, k {damping}, {response:?}, fused {fused}: {worst}");
                }
            }
        }
    }

    /// Where [`filtered_in_calls`] changes the cutoff: (frame, Hz).
    const CUTOFFS: [(usize, f32); 4] = [(0, 300.0), (64, 2500.0), (101, 700.0), (192, 12_000.0)];

    fn tables(hz: f32) -> SvfBlockCoefficients {
        SvfBlockCoefficients::new(SvfCoefficients::moving(hz, 0.3, SR), SvfResponse::LowPass)
    }

    /// Filters `x` from frame `lane` of a block, in calls of the given lengths (cycled),
    /// changing the cutoff at the frames of [`CUTOFFS`].
    fn filtered_in_calls(x: &[f32], calls: &[usize], lane: usize) -> Vec<f32> {
        let mut c = tables(CUTOFFS[0].1);
        let mut block = SvfBlock::starting_at(lane as u64);
        let mut y = x.to_vec();
        let mut at = 0;
        for &len in calls.iter().cycle() {
            if at == y.len() {
                break;
            }
            // A call never crosses a cutoff change (a voice's runs end at its ticks).
            let next_change = CUTOFFS.iter().map(|&(f, _)| f).find(|&f| f > at).unwrap_or(y.len());
            let end = (at + len).min(next_change).min(y.len());
            block.process::<false>(&c, &mut y[at..end], 1e-12);
            at = end;
            if let Some(&(_, hz)) = CUTOFFS.iter().find(|&&(f, _)| f == at) {
                block.settle(&c);
                c = tables(hz);
            }
        }
        y
    }

    /// However the frames are split into calls, wherever in a block the filter starts and
    /// wherever the coefficients change, the output is the same bits.
    #[test]
    fn the_output_does_not_depend_on_how_frames_are_split() {
        let x = signal(301);
        for lane in [0, 3, 7] {
            let whole = filtered_in_calls(&x, &[301], lane);
            for calls in [&[1][..], &[3], &[8], &[7, 9], &[64, 5, 2], &[13]] {
                let split = filtered_in_calls(&x, calls, lane);
                let same = whole.iter().zip(&split).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "from lane {lane}, calls of {calls:?} changed the output");
            }
        }
    }

    /// Started anywhere in a block, and through coefficient changes inside blocks, the output
    /// follows the per-frame filter with the same changes at the same frames.
    #[test]
    fn changes_and_starts_inside_blocks_give_the_per_frame_filter() {
        let x = signal(301);
        let mut reference = SvfStateSpace::new(SvfCoefficients::moving(CUTOFFS[0].1, 0.3, SR), SvfResponse::LowPass);
        let mut expected = Vec::new();
        for (i, &x) in x.iter().enumerate() {
            if let Some(&(_, hz)) = CUTOFFS.iter().find(|&&(f, _)| f == i && f > 0) {
                let state = reference.state();
                reference = SvfStateSpace::new(SvfCoefficients::moving(hz, 0.3, SR), SvfResponse::LowPass);
                reference.set_state(state);
            }
            expected.push(reference.tick(x));
        }
        let peak = expected.iter().fold(1.0f32, |m, y| m.max(y.abs()));
        for lane in 0..BLOCK_FRAMES {
            let y = filtered_in_calls(&x, &[301], lane);
            let worst = y.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst < 2e-5 * peak, "from lane {lane}: {worst}");
        }
        // And the cutoff changes took effect: the same signal at one cutoff differs.
        let mut fixed = x.clone();
        SvfBlock::default().process::<false>(&tables(300.0), &mut fixed, 1e-12);
        assert!(fixed[200..].iter().zip(&expected[200..]).any(|(a, b)| (a - b).abs() > 1e-3));
    }

    /// A filter fed silence reaches exact zero: small states are flushed at block ends.
    #[test]
    fn silence_decays_to_exact_zero() {
        let tables = SvfBlockCoefficients::new(SvfCoefficients::moving(100.0, 0.3, SR), SvfResponse::LowPass);
        let mut block = SvfBlock::default();
        let mut impulse = [0.0f32; 64];
        impulse[0] = 1.0;
        block.process::<false>(&tables, &mut impulse, 1e-15);
        assert!(impulse[63].abs() > 1e-4, "the impulse rings: {}", impulse[63]);
        let mut quiet = vec![0.0f32; 48_000];
        block.process::<false>(&tables, &mut quiet, 1e-15);
        assert_eq!(quiet[quiet.len() - 1], 0.0);
        assert_eq!(block.state, (0.0, 0.0));
    }
}
