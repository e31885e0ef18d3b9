//! noderack's engine core: the graph model clients edit, the compiler that turns it into a
//! render plan off the audio thread, and the real-time executor that runs plans.
//!
//! No DSP and no I/O live here: nodes implement [`NodeDescription`] and [`Processor`]
//! (see the `noderack-nodes` crate), hosts drive an [`Executor`] with their own buffers.
//!
//! ```text
//!  control thread                               audio thread
//!  Engine::apply(batch) ─ validate ─ compile ─▶ [commands rtrb] ─▶ Executor::process
//!  Engine::maintain() ◀─ free old plan/nodes ◀─ [returns rtrb] ◀─ swap at block boundary
//!  Engine::send_parcel ────────────────────────▶ [commands rtrb] ─▶ Processor::receive
//!  Engine::maintain() ◀─ drop retired parcels ◀─ [parcels rtrb] ◀─ Retire::retire
//! ```

mod alias_box;
mod cc_map;
mod compiler;
mod context;
mod delay_line;
mod engine;
mod error;
mod event;
mod executor;
mod id;
pub mod limits;
mod model;
mod node;
mod note_tracker;
mod param;
mod parcel;
mod plan;
mod port;
mod transport;

pub use cc_map::{CcBinding, CcSeen};
pub use context::{Inputs, Outputs, ProcessContext};
pub use engine::{new_engine, Engine, EngineConfig};
pub use error::{BatchError, EngineError, GraphError};
pub use event::{Event, EventBuffer, EventBufferFull, EventData, ExpressionKind, MidiMessage, NoteExpression};
pub use executor::{Executor, ExecutorStatus, HostBlock, HostParamChange, NodeEvent, ParamTarget};
pub use id::{NodeId, ParamId, PortIndex, SlotKey};
pub use model::{BatchOutcome, BusSpec, Connection, Edit, Graph, NodeView, PortRef};
pub use node::{NodeDescription, NodeRole, NodeSignature, NoopProcessor, ProcessConfig, Processor};
pub use param::{ParamSignal, ParamSpec, Params, Unit};
pub use parcel::{Parcel, Retire};
pub use plan::RenderPlan;
pub use port::{Direction, NodePorts, PortKind, PortSpec};
pub use transport::{Transport, TransportChange};
