//! The sampler's two voice loops: the one compiled for AVX and FMA (fused multiply-adds in the
//! filter), used where the CPU has them, and the portable one (`NODERACK_NO_FMA=1`). Both play
//! the same filtered note to within float rounding, and each is bit-identical across block
//! sizes. A binary of its own: it sets the variable, which samplers read when they are built.

use std::sync::Arc;

use noderack_graph::EngineConfig;
use noderack_nodes::sampler::{has_fma, Sampler, NO_FMA_VARIABLE};
use noderack_presets::instrument::{Bank, RegionFilter};
use noderack_tests::analysis::{peak, rms};
use noderack_tests::fixtures::{a440, instrument_of};
use noderack_tests::midi::note_on;
use noderack_tests::Rig;

const SR: f32 = 48_000.0;

/// A held A3 through a resonant 700 Hz low-pass over an A4 sine sample (the filter works on
/// every frame), at `block_frames`.
fn filtered_note(block_frames: usize) -> Vec<f32> {
    let mut region = a440(48_000, 1.0);
    region.filter = Some(RegionFilter::low_pass(700.0, 9.0));
    let bank = Bank::single(instrument_of(vec![region]));
    let mut rig = Rig::new(EngineConfig::stereo(SR), block_frames);
    rig.add_instrument(Sampler::new(Some(Arc::new(bank)), 8), vec![]);
    rig.render(24_000, &[note_on(0, 0, 57, 100)]).swap_remove(0)
}

#[test]
fn the_fused_and_the_portable_voice_loops_play_the_same_note() {
    let fused_here = has_fma();
    let first = filtered_note(256);
    assert_eq!(first, filtered_note(61), "the first loop is bit-identical across block sizes");
    std::env::set_var(NO_FMA_VARIABLE, "1");
    assert!(!has_fma(), "{NO_FMA_VARIABLE}=1 turns the fused loop off");
    let portable = filtered_note(256);
    assert_eq!(portable, filtered_note(61), "the portable loop is bit-identical across block sizes");
    std::env::remove_var(NO_FMA_VARIABLE);

    assert!(rms(&portable) > 0.05, "the note sounds: RMS {}", rms(&portable));
    let largest = first.iter().zip(&portable).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(largest <= 1e-5 * peak(&portable), "the loops differ by {largest} (peak {})", peak(&portable));
    if fused_here {
        assert_ne!(first, portable, "this CPU has FMA: the first render used the fused loop");
    } else {
        eprintln!("this CPU has no AVX/FMA: both renders used the portable loop");
    }
}
