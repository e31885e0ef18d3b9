//! Identities: client-chosen node ids, port and parameter indices, and executor slot keys.

use std::fmt;

/// Identity of a node, chosen by the client that creates it (as in scsynth), so that remote
/// clients can pipeline edits that refer to nodes they have just created without a round trip.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Index of a port among a node's inputs or among its outputs (each direction counts from 0).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortIndex(pub u16);

/// Index of a parameter in a node's parameter list.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub u32);

/// Where a node's processor lives on the audio thread: an index into the executor's slot table
/// plus a generation, so a message addressed to a removed node can never reach the node that
/// later reuses the same index.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotKey {
    /// Index into the executor's slot table.
    pub index: u32,
    /// Bumped every time the index is reused.
    pub generation: u32,
}
