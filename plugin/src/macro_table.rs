//! Macros on the audio thread: for each of the plugin's macro parameters, the engine
//! parameters it moves ([`MacroTable`]), built on the main thread whenever the patch changes
//! and handed over lock-free ([`TableLink`]); the table it replaces comes back to be freed on
//! the main thread.

use noderack_graph::{HostParamChange, ParamTarget};
use noderack_presets::macros::{MacroTarget, MACRO_COUNT};

/// The engine parameters each macro moves, and how.
#[derive(Default)]
pub struct MacroTable {
    targets: [Vec<(ParamTarget, MacroTarget)>; MACRO_COUNT],
}

impl MacroTable {
    /// A table mapping macro `index` to `targets`, added to what it maps already.
    pub fn add(&mut self, index: usize, target: ParamTarget, how: MacroTarget) {
        if let Some(list) = self.targets.get_mut(index) {
            list.push((target, how));
        }
    }

    /// The parameter changes macro `index` at `value` makes at frame `time_frames`, pushed
    /// onto `out` while it has room (a full list drops the rest: it is sized for every target
    /// of a block's worth of events). Real-time safe.
    pub fn changes(&self, index: usize, value: f32, time_frames: u32, out: &mut Vec<HostParamChange>) {
        let Some(list) = self.targets.get(index) else { return };
        for (target, how) in list {
            if out.len() == out.capacity() {
                return;
            }
            out.push(HostParamChange { target: *target, value: how.value_at(value), time_frames });
        }
    }

    /// Whether macro `index` moves anything.
    pub fn is_mapped(&self, index: usize) -> bool {
        self.targets.get(index).is_some_and(|l| !l.is_empty())
    }
}

/// How many tables can be in flight each way.
const LINK_CAPACITY: usize = 4;

/// The main thread's end: sends new tables, frees the ones that come back.
pub struct TableSender {
    to_audio: rtrb::Producer<Box<MacroTable>>,
    back: rtrb::Consumer<Box<MacroTable>>,
}

/// The audio thread's end.
pub struct TableLink {
    from_main: rtrb::Consumer<Box<MacroTable>>,
    back: rtrb::Producer<Box<MacroTable>>,
}

/// A new link.
pub fn link() -> (TableSender, TableLink) {
    let (to_audio, from_main) = rtrb::RingBuffer::new(LINK_CAPACITY);
    let (back_producer, back_consumer) = rtrb::RingBuffer::new(LINK_CAPACITY);
    (TableSender { to_audio, back: back_consumer }, TableLink { from_main, back: back_producer })
}

impl TableSender {
    /// Frees the tables the audio thread is done with, then sends `table`. `false` if the
    /// link is full (the audio thread has not taken the last ones: it is not running).
    pub fn send(&mut self, table: Box<MacroTable>) -> bool {
        while self.back.pop().is_ok() {}
        self.to_audio.push(table).is_ok()
    }
}

impl TableLink {
    /// Takes the newest table sent, if any, in place of `current`, whose box goes back. Only
    /// takes one when there is room to send the old one back: it never frees. Real-time safe.
    pub fn receive(&mut self, current: &mut Box<MacroTable>) {
        while self.back.slots() > 0 {
            let Ok(mut next) = self.from_main.pop() else { return };
            std::mem::swap(current, &mut next);
            // Room was checked just above; the old table goes back to be freed.
            let _ = self.back.push(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use noderack_graph::{new_engine, BusSpec, Edit, EngineConfig, NodeId, ParamId};
    use noderack_nodes::Gain;
    use std::sync::Arc;

    use super::*;

    fn target() -> ParamTarget {
        let config = EngineConfig {
            sample_rate: 48_000.0,
            max_block_frames: 64,
            buses: vec![BusSpec::stereo("main")],
            inputs: vec![],
        };
        let (mut engine, _executor) = new_engine(config);
        let add =
            Edit::AddNode { id: NodeId(1), label: "g".into(), description: Arc::new(Gain::new()), params: vec![] };
        engine.apply(vec![add]).unwrap();
        engine.param_target(NodeId(1), ParamId(0)).unwrap()
    }

    fn how(min: f32, max: f32) -> MacroTarget {
        MacroTarget {
            node_name: "g".into(),
            node: NodeId(1),
            param: ParamId(0),
            param_name: "gain_db".into(),
            min,
            max,
            stepped: false,
        }
    }

    #[test]
    fn a_macro_moves_each_of_its_targets_over_its_range() {
        let mut table = MacroTable::default();
        table.add(2, target(), how(-24.0, 0.0));
        table.add(2, target(), how(6.0, -6.0));
        let mut out = Vec::with_capacity(8);
        table.changes(2, 0.5, 17, &mut out);
        let values: Vec<(f32, u32)> = out.iter().map(|c| (c.value, c.time_frames)).collect();
        assert_eq!(values, [(-12.0, 17), (0.0, 17)]);
        assert!(table.is_mapped(2) && !table.is_mapped(3));
        out.clear();
        table.changes(3, 0.5, 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn tables_cross_over_and_come_back_to_be_freed() {
        let (mut sender, mut link) = link();
        let mut current = Box::new(MacroTable::default());
        let mut table = MacroTable::default();
        table.add(0, target(), how(0.0, 1.0));
        assert!(sender.send(Box::new(table)));
        link.receive(&mut current);
        assert!(current.is_mapped(0));
        // The old (empty) table waits on the way back until the next send frees it.
        assert_eq!(sender.back.slots(), 1);
        assert!(sender.send(Box::new(MacroTable::default())));
        assert_eq!(sender.back.slots(), 0);
    }
}
