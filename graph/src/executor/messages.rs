//! What travels between the control thread and the audio thread.

use crate::alias_box::AliasBox;
use crate::param::ParamState;
use crate::plan::RenderPlan;
use crate::{EventBuffer, EventData, ParamId, Parcel, Processor, SlotKey};

/// A node's processor and everything the audio thread keeps for it. Built on the control
/// thread; lives in the executor's slot table until its node is removed, across any number of
/// plan swaps (which is why node state survives edits). The processor and its parameter state
/// are heap objects the adopted plan's run list points at directly (see [`AliasBox`]).
pub(crate) struct NodeSlot {
    pub(crate) key: SlotKey,
    pub(crate) processor: AliasBox<dyn Processor>,
    pub(crate) params: AliasBox<ParamState>,
    /// Events sent to this node through the control API (MIDI input nodes only).
    pub(crate) event_inbox: Option<Box<EventBuffer>>,
    /// Index of this node's run in the current plan (set when a plan is adopted), so that a
    /// parameter change queued for the node can mark the run's parameters as moving.
    pub(crate) run: u32,
}

/// A new plan plus everything the audio thread needs to adopt it without allocating: new
/// processors, bigger pools if the plan needs them, and room to put what it lets go of.
/// The same box goes back to the control thread carrying the old plan and removed nodes.
pub(crate) struct PlanUpdate {
    pub(crate) generation: u64,
    pub(crate) plan: Box<RenderPlan>,
    pub(crate) install: Vec<(SlotKey, Option<NodeSlot>)>,
    pub(crate) remove: Vec<SlotKey>,
    /// Capacity `remove.len()`: the removed slots are moved in here on the audio thread.
    pub(crate) removed: Vec<NodeSlot>,
    pub(crate) audio_pool: Option<Vec<f32>>,
    pub(crate) event_pool: Option<Vec<EventBuffer>>,
    pub(crate) slot_table: Option<Vec<Option<NodeSlot>>>,
    /// A bigger parameter scratch buffer, when a new node has more parameters than any before.
    pub(crate) param_scratch: Option<Vec<f32>>,
    /// Engine frame at which the plan went live (set by the audio thread).
    pub(crate) swapped_at_frame: u64,
}

/// Control thread → audio thread.
pub(crate) enum Command {
    /// Swap in a new plan at the next block boundary.
    Plan(Box<PlanUpdate>),
    /// Change a parameter at `at_frame` (engine frames), or as soon as possible.
    Param { slot: SlotKey, param: ParamId, value: f32, at_frame: Option<u64> },
    /// Deliver an event to a MIDI input node at `at_frame`, or as soon as possible.
    Event { slot: SlotKey, data: EventData, at_frame: Option<u64> },
    /// Hand a parcel to the processor in `slot` at the next block boundary.
    Parcel { slot: SlotKey, parcel: Parcel },
    /// Change the transport at the next block boundary.
    Transport(crate::TransportChange),
}

/// A timed message waiting on the audio thread for its frame.
#[derive(Copy, Clone)]
pub(crate) enum Pending {
    Param { slot: SlotKey, param: ParamId, value: f32, at_frame: u64 },
    Event { slot: SlotKey, data: EventData, at_frame: u64 },
}

impl Pending {
    pub(crate) fn at_frame(&self) -> u64 {
        match *self {
            Pending::Param { at_frame, .. } | Pending::Event { at_frame, .. } => at_frame,
        }
    }
}
