//! Denormal numbers flushed to zero on the audio thread. A decaying filter or reverb tail
//! produces values so small that the CPU computes them in microcode, tens of times slower: a
//! patch left ringing into silence would spike the DSP load. Flushing them (FTZ, and treating
//! denormal inputs as zero, DAZ) costs nothing audible at −700 dB.

/// Sets flush-to-zero (and denormals-are-zero where the CPU has it) for as long as the guard
/// lives, then restores the thread's previous mode. Every host holds one around every call
/// into the engine — live backends, the offline renderer and the CLAP plugin alike — so that all
/// of them render the very same samples.
pub struct FlushDenormals {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    previous: u64,
}

#[cfg(target_arch = "x86_64")]
mod arch {
    /// MXCSR bits: flush to zero (15) and denormals are zero (6).
    const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

    pub(super) fn enable() -> u64 {
        let mut csr: u32 = 0;
        // SAFETY: `stmxcsr` stores the SSE control register into the 4 bytes we point it at;
        // SSE is part of the x86_64 baseline.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
        let next = csr | FTZ_DAZ;
        // SAFETY: `ldmxcsr` loads a control word that differs from the current one only in the
        // FTZ and DAZ bits, which change how denormals are treated and nothing else.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &next, options(nostack, preserves_flags)) };
        csr as u64
    }

    pub(super) fn restore(previous: u64) {
        let csr = previous as u32;
        // SAFETY: restores the control word read by `enable` on this thread.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags)) };
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FPCR bit 24: flush denormals to zero (inputs and outputs).
    const FZ: u64 = 1 << 24;

    pub(super) fn enable() -> u64 {
        let fpcr: u64;
        // SAFETY: reads the floating-point control register (always accessible at EL0).
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags)) };
        // SAFETY: writes it back with only the flush-to-zero bit changed.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) fpcr | FZ, options(nomem, nostack, preserves_flags)) };
        fpcr
    }

    pub(super) fn restore(previous: u64) {
        // SAFETY: restores the value read by `enable` on this thread.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) previous, options(nomem, nostack, preserves_flags)) };
    }
}

impl FlushDenormals {
    /// Turns flushing on for the current thread until the guard is dropped.
    #[inline]
    pub fn new() -> Self {
        Self {
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            previous: arch::enable(),
        }
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    #[inline]
    fn drop(&mut self) {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        arch::restore(self.previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    fn tiny_product() -> f32 {
        // 1e-30 · 1e-10 = 1e-40: below f32's smallest normal (1.18e-38), a denormal.
        black_box(1e-30f32) * black_box(1e-10f32)
    }

    #[test]
    fn denormals_are_flushed_inside_the_guard_and_restored_after() {
        assert!(tiny_product() > 0.0, "without the guard the product is a denormal");
        {
            let _guard = FlushDenormals::new();
            assert_eq!(tiny_product(), 0.0, "inside the guard denormal results are flushed");
        }
        assert!(tiny_product() > 0.0, "the previous mode comes back");
    }
}
