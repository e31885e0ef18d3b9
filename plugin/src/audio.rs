//! The plugin's audio thread: host events become engine events (notes in either dialect, note
//! expressions) and macro changes become parameter changes at their frames; the executor
//! renders every bus into the plugin's own buffers, which are copied to the host's ports.
//! Nothing here allocates, frees, locks or logs.

use clack_extensions::params::PluginAudioProcessorParams;
use clack_extensions::tail::{PluginTailImpl, TailLength};
use clack_plugin::events::event_types::TransportFlags;
use clack_plugin::events::spaces::CoreEventSpace;
use clack_plugin::prelude::*;
use noderack_graph::{Event, Executor, HostBlock, HostParamChange, MidiMessage};
use noderack_host::clap::events::engine_event;
use noderack_host::denormals::FlushDenormals;
use noderack_host::live::health::HealthWriter;

use crate::macro_table::{MacroTable, TableLink};
use crate::main_thread::MainThread;
use crate::ports::{Port, MAX_CHANNELS};
use crate::shared::Shared;

/// Events one process call takes (the rest are dropped; a DAW sends far fewer).
const EVENT_CAPACITY: usize = 4096;
/// Parameter changes one process call takes, over every macro target.
const PARAM_CHANGE_CAPACITY: usize = 4096;

/// The audio-thread side of an active instance.
pub struct Processor<'a> {
    shared: &'a Shared<'a>,
    executor: Executor,
    table: Box<MacroTable>,
    link: TableLink,
    outputs: Vec<Port>,
    /// One buffer per engine output channel, `max_frames` long.
    scratch: Vec<Vec<f32>>,
    /// One buffer per engine input channel, copied from the host's input ports.
    input_scratch: Vec<Vec<f32>>,
    max_frames: usize,
    events: Vec<Event>,
    segment_events: Vec<Event>,
    params: Vec<HostParamChange>,
    segment_params: Vec<HostParamChange>,
    /// Changes a parameter flush made between process calls, applied at the next one's start.
    flushed: Vec<HostParamChange>,
    /// The host asked for a reset: every channel's sound is stopped at the next block's start.
    silence: bool,
    /// Load and levels, for the editor's meters.
    health: HealthWriter,
    sample_rate: f64,
}

impl<'a> PluginAudioProcessor<'a, Shared<'a>, MainThread<'a>> for Processor<'a> {
    fn activate(
        _host: HostAudioProcessorHandle<'a>,
        main_thread: &MainThread<'a>,
        shared: &'a Shared<'a>,
        config: PluginAudioConfiguration,
    ) -> Result<Self, PluginError> {
        shared.expect_main_thread("activate");
        let values = shared.macro_values();
        let setup =
            main_thread.session.borrow_mut().start(config.sample_rate, config.max_frames_count as usize, &values);
        let setup = match setup {
            Ok(setup) => setup,
            Err(e) => {
                shared.log(clack_extensions::log::LogSeverity::Error, &e);
                return Err(PluginError::Message("the patch could not be built (see the host's log)"));
            }
        };
        let session = main_thread.session.borrow();
        if shared.set_latency_frames(session.latency_frames()) {
            main_thread.latency_changed();
        }
        shared.set_tail_frames(session.tail_frames());
        drop(session);
        main_thread.active.set(true);
        let frames = setup.max_frames;
        Ok(Self {
            shared,
            executor: setup.executor,
            table: setup.table,
            link: setup.link,
            outputs: setup.outputs,
            scratch: vec![vec![0.0; frames]; setup.engine_channels],
            input_scratch: vec![vec![0.0; frames]; setup.input_channels],
            max_frames: frames,
            events: Vec::with_capacity(EVENT_CAPACITY),
            segment_events: Vec::with_capacity(EVENT_CAPACITY),
            params: Vec::with_capacity(PARAM_CHANGE_CAPACITY),
            segment_params: Vec::with_capacity(PARAM_CHANGE_CAPACITY),
            flushed: Vec::with_capacity(PARAM_CHANGE_CAPACITY),
            silence: false,
            health: setup.health,
            sample_rate: config.sample_rate,
        })
    }

    fn process(&mut self, process: Process, mut audio: Audio, events: Events) -> Result<ProcessStatus, PluginError> {
        // Denormals flushed while we run (the host's mode is restored on return), as every
        // noderack host does: the plugin renders what `noderack render` renders.
        let _flush = FlushDenormals::new();
        let started = std::time::Instant::now();
        self.link.receive(&mut self.table);
        let frames = audio.frames_count() as usize;
        if let Some(t) = process.transport {
            let transport = self.executor.transport_mut();
            if t.flags.contains(TransportFlags::HAS_TEMPO) && t.tempo.is_finite() && t.tempo > 0.0 {
                transport.tempo_bpm = t.tempo;
            }
            if t.flags.contains(TransportFlags::HAS_BEATS_TIMELINE) {
                transport.position_beats = t.song_pos_beats.to_float().max(0.0);
            }
            if t.flags.contains(TransportFlags::HAS_TIME_SIGNATURE) {
                transport.beats_per_bar = t.time_signature_numerator.clamp(1, 255) as u8;
                transport.beat_unit = t.time_signature_denominator.clamp(1, 255) as u8;
            }
            transport.playing = t.flags.contains(TransportFlags::IS_PLAYING);
        }
        self.take_events(events.input, frames);

        // Host blocks are at most `max_frames` long; a longer one is rendered in pieces.
        let mut start = 0;
        while start < frames {
            let n = (frames - start).min(self.max_frames);
            // The host's inputs, copied: the engine reads them while we write the outputs.
            let mut channel = 0;
            for port in audio.input_ports() {
                let Some(channels) = port.channels().ok().and_then(|c| c.into_f32()) else { continue };
                for source in channels.iter() {
                    if let (Some(buffer), Some(source)) =
                        (self.input_scratch.get_mut(channel), source.get(start..start + n))
                    {
                        buffer[..n].copy_from_slice(source);
                    }
                    channel += 1;
                }
            }
            self.render(start, n, n == frames);
            // Ports beyond the layout (a host giving more than asked) stay silent.
            for (index, mut port) in audio.output_ports().enumerate() {
                let layout = self.outputs.get(index);
                let Some(mut channels) = port.channels().ok().and_then(|c| c.into_f32()) else { continue };
                for (c, out) in channels.iter_mut().enumerate() {
                    let Some(out) = out.get_mut(start..start + n) else { continue };
                    let source = layout.and_then(|l| l.sources.get(c).copied().flatten());
                    match source.and_then(|s| self.scratch.get(s)) {
                        Some(rendered) => out.copy_from_slice(&rendered[..n]),
                        None => out.fill(0.0),
                    }
                }
            }
            start += n;
        }
        self.health.callback(started.elapsed(), frames, self.sample_rate);
        Ok(ProcessStatus::Continue)
    }

    fn deactivate(self, main_thread: &MainThread<'a>) {
        self.shared.expect_main_thread("deactivate");
        // The executor goes here, on the main thread, before the engine it belongs to.
        drop(self.executor);
        main_thread.deactivated();
    }

    fn reset(&mut self) {
        // The instruments fade every voice out (CC 120, all sound off) and forget held keys
        // (CC 123) at the next block; effect tails ring on, as after any note-off.
        self.silence = true;
    }
}

impl Processor<'_> {
    /// Reads the block's events: notes and expressions for the engine, macro changes as
    /// parameter changes at their frames.
    fn take_events(&mut self, input: &InputEvents, frames: usize) {
        self.events.clear();
        self.params.clear();
        self.params.append(&mut self.flushed);
        if std::mem::take(&mut self.silence) {
            for channel in 0..16 {
                for controller in [120, 123] {
                    let message = MidiMessage::ControlChange { channel, controller, value: 0 };
                    self.events.push(Event::midi(0, message));
                }
            }
        }
        let last = frames.saturating_sub(1) as u32;
        for event in input {
            let time_frames = event.header().time().min(last);
            if let Some(CoreEventSpace::ParamValue(e)) = event.as_core_event() {
                let Some(index) = e.param_id().map(|id| id.get() as usize) else { continue };
                if let Some(value) = self.shared.set_macro_value(index, e.value()) {
                    self.table.changes(index, value, time_frames, &mut self.params);
                }
                continue;
            }
            if let Some(data) = engine_event(event) {
                if self.events.len() < self.events.capacity() {
                    self.events.push(Event { time_frames, data });
                }
            }
        }
    }

    /// Renders frames `start..start + n` of the block into the scratch buffers (`whole`: they
    /// are the whole block, so its events and changes go as they are, uncopied).
    fn render(&mut self, start: usize, n: usize, whole: bool) {
        if !whole {
            let end = (start + n) as u32;
            let in_segment = |time: u32| time >= start as u32 && time < end;
            self.segment_events.clear();
            self.segment_events.extend(
                self.events
                    .iter()
                    .filter(|e| in_segment(e.time_frames))
                    .map(|e| Event { time_frames: e.time_frames - start as u32, ..*e }),
            );
            self.segment_params.clear();
            self.segment_params.extend(
                self.params
                    .iter()
                    .filter(|p| in_segment(p.time_frames))
                    .map(|p| HostParamChange { time_frames: p.time_frames - start as u32, ..*p }),
            );
        }
        let (events, params) = if whole {
            (&self.events[..], &self.params[..])
        } else {
            (&self.segment_events[..], &self.segment_params[..])
        };
        let (channels, input_channels) = (self.scratch.len(), self.input_scratch.len());
        let mut scratch = self.scratch.iter_mut();
        let mut outputs: [&mut [f32]; MAX_CHANNELS] =
            std::array::from_fn(|_| scratch.next().map_or(&mut [][..], |c| &mut c[..n]));
        let mut sources = self.input_scratch.iter();
        let inputs: [&[f32]; MAX_CHANNELS] = std::array::from_fn(|_| sources.next().map_or(&[][..], |c| &c[..n]));
        let block = HostBlock::new(n, &mut outputs[..channels])
            .with_inputs(&inputs[..input_channels])
            .with_midi(events)
            .with_params(params);
        self.executor.process(block);
        self.health.levels(&outputs[..channels], n, self.sample_rate);
    }
}

impl PluginAudioProcessorParams for Processor<'_> {
    fn flush(&mut self, input: &InputEvents, _output: &mut OutputEvents) {
        for event in input {
            if let Some(CoreEventSpace::ParamValue(e)) = event.as_core_event() {
                let Some(index) = e.param_id().map(|id| id.get() as usize) else { continue };
                if let Some(value) = self.shared.set_macro_value(index, e.value()) {
                    self.table.changes(index, value, 0, &mut self.flushed);
                }
            }
        }
    }
}

impl PluginTailImpl for Processor<'_> {
    fn get(&self) -> TailLength {
        TailLength::Finite(self.shared.tail_frames())
    }
}
