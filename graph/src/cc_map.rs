//! MIDI controllers bound to node parameters (MIDI learn): a knob on a keyboard moves a
//! filter's cutoff. The bindings are part of the graph model ([`crate::Edit::SetCcMap`]), so
//! they compile into the render plan with the nodes they name and change with it at a block
//! boundary; the executor turns each matching control change arriving in the graph into a
//! parameter change at the control change's own frame.

use crate::{NodeId, ParamId, ParamTarget};

/// One controller bound to one parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CcBinding {
    /// The MIDI channel it listens on, 0..=15; `None`: every channel.
    pub channel: Option<u8>,
    /// The controller number, 0..=127.
    pub controller: u8,
    /// The node whose parameter it moves.
    pub node: NodeId,
    /// The parameter.
    pub param: ParamId,
    /// The parameter's value at controller value 0.
    pub min: f32,
    /// Its value at controller value 127 (below `min` turns it the other way).
    pub max: f32,
    /// Whole values only (choices and switches).
    pub stepped: bool,
}

impl CcBinding {
    /// Whether a control change of `controller` on `channel` (0..=15) moves this binding.
    pub fn hears(&self, channel: u8, controller: u8) -> bool {
        self.controller == controller && self.channel.is_none_or(|c| c == channel)
    }

    /// The parameter value for controller value `value` (0..=127, clamped).
    pub fn value_at(&self, value: u8) -> f32 {
        let share = f32::from(value.min(127)) / 127.0;
        let v = self.min + (self.max - self.min) * share;
        if self.stepped {
            v.round()
        } else {
            v
        }
    }
}

/// A binding with its parameter resolved to an executor slot, as a plan carries it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PlanCc {
    pub(crate) binding: CcBinding,
    pub(crate) target: ParamTarget,
}

// Bindings are validated finite when set, so equality is reflexive.
impl Eq for PlanCc {}

/// The last control change the executor saw, for MIDI learn on the control side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CcSeen {
    /// Counts control changes seen (wrapping): a new value means a new one arrived.
    pub count: u32,
    /// Channel 0..=15.
    pub channel: u8,
    /// Controller number.
    pub controller: u8,
    /// Value 0..=127.
    pub value: u8,
}

impl CcSeen {
    pub(crate) fn pack(self) -> u64 {
        u64::from(self.count) << 32
            | u64::from(self.channel) << 16
            | u64::from(self.controller) << 8
            | u64::from(self.value)
    }

    pub(crate) fn unpack(word: u64) -> Option<CcSeen> {
        let count = (word >> 32) as u32;
        (count != 0).then_some(CcSeen {
            count,
            channel: (word >> 16) as u8,
            controller: (word >> 8) as u8,
            value: word as u8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(channel: Option<u8>, min: f32, max: f32, stepped: bool) -> CcBinding {
        CcBinding { channel, controller: 74, node: NodeId(1), param: ParamId(0), min, max, stepped }
    }

    #[test]
    fn a_binding_hears_its_controller_on_its_channel_or_any() {
        assert!(binding(Some(2), 0.0, 1.0, false).hears(2, 74));
        assert!(!binding(Some(2), 0.0, 1.0, false).hears(3, 74));
        assert!(!binding(Some(2), 0.0, 1.0, false).hears(2, 75));
        assert!(binding(None, 0.0, 1.0, false).hears(15, 74));
    }

    #[test]
    fn controller_values_span_min_to_max_inverted_and_stepped() {
        let b = binding(None, 200.0, 8_200.0, false);
        assert_eq!((b.value_at(0), b.value_at(127), b.value_at(200)), (200.0, 8_200.0, 8_200.0));
        assert!((b.value_at(64) - (200.0 + 8_000.0 * 64.0 / 127.0)).abs() < 1e-3);
        assert_eq!(binding(None, 1.0, 0.0, false).value_at(127), 0.0, "inverted");
        assert_eq!(binding(None, 0.0, 3.0, true).value_at(50), 1.0, "50/127 of 3 is 1.18: a whole 1");
    }

    #[test]
    fn a_seen_control_change_packs_into_one_word() {
        let seen = CcSeen { count: 7, channel: 15, controller: 127, value: 64 };
        assert_eq!(CcSeen::unpack(seen.pack()), Some(seen));
        assert_eq!(CcSeen::unpack(0), None, "nothing seen yet");
    }
}
