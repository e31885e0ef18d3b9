//! Checks a plan before it may reach the audio thread: every index in range, reserved buffers
//! never written, every port's channels a run of adjacent buffers inside the pool, no
//! processor output aliasing another of its ports, and nothing read before it was written in
//! the same chunk. The executor's `unsafe` buffer access relies on this.

use std::collections::HashSet;

use crate::plan::{PortBinding, ProcessStep, RenderPlan, Step, NO_EVENTS, SILENCE};

/// `Ok` if the plan is safe to execute, else what is wrong.
pub(crate) fn verify(plan: &RenderPlan) -> Result<(), String> {
    let audio_n = plan.audio_buffers;
    let events_n = plan.event_buffers;
    let mut audio_written = vec![false; audio_n as usize];
    let mut events_written = vec![false; events_n as usize];
    if audio_n == 0 || events_n == 0 {
        return Err("the reserved buffers are missing".into());
    }
    let silent = plan.silent_buffers.max(1);
    if silent > audio_n {
        return Err(format!("{silent} reserved silent buffers do not fit in {audio_n}"));
    }
    audio_written[SILENCE as usize..silent as usize].fill(true);
    events_written[NO_EVENTS as usize] = true;

    let audio_read = |b: u32, written: &[bool], what: &str| -> Result<(), String> {
        match written.get(b as usize) {
            None => Err(format!("{what}: audio buffer {b} out of range ({audio_n})")),
            Some(false) => Err(format!("{what}: audio buffer {b} read before it is written")),
            Some(true) => Ok(()),
        }
    };
    let audio_write = |b: u32, written: &mut [bool], what: &str| -> Result<(), String> {
        if b < silent {
            return Err(format!("{what}: writes the reserved silent buffer {b}"));
        }
        match written.get_mut(b as usize) {
            None => Err(format!("{what}: audio buffer {b} out of range ({audio_n})")),
            Some(w) => {
                *w = true;
                Ok(())
            }
        }
    };
    let events_read = |b: u32, written: &[bool], what: &str| -> Result<(), String> {
        match written.get(b as usize) {
            None => Err(format!("{what}: event buffer {b} out of range ({events_n})")),
            Some(false) => Err(format!("{what}: event buffer {b} read before it is written")),
            Some(true) => Ok(()),
        }
    };
    let events_write = |b: u32, written: &mut [bool], what: &str| -> Result<(), String> {
        if b == NO_EVENTS {
            return Err(format!("{what}: writes the reserved empty event buffer"));
        }
        match written.get_mut(b as usize) {
            None => Err(format!("{what}: event buffer {b} out of range ({events_n})")),
            Some(w) => {
                *w = true;
                Ok(())
            }
        }
    };

    for (i, step) in plan.steps.iter().enumerate() {
        let what = format!("step {i} ({step:?})");
        match *step {
            Step::Copy { src, dst } | Step::Add { src, dst } | Step::FadeAdd { src, dst, .. } => {
                audio_read(src, &audio_written, &what)?;
                if matches!(step, Step::Add { .. } | Step::FadeAdd { .. }) {
                    audio_read(dst, &audio_written, &what)?;
                }
                if src == dst {
                    return Err(format!("{what}: source and destination are the same buffer"));
                }
                if let Step::FadeAdd { fade, .. } = *step {
                    if fade as usize >= plan.fades.len() {
                        return Err(format!("{what}: fade {fade} out of range"));
                    }
                }
                audio_write(dst, &mut audio_written, &what)?;
            }
            Step::Clear { dst } => audio_write(dst, &mut audio_written, &what)?,
            Step::MergeEvents { srcs, dst } => {
                let list = plan
                    .event_srcs
                    .get(srcs.0 as usize..srcs.1 as usize)
                    .ok_or_else(|| format!("{what}: source list out of range"))?;
                for &b in list {
                    events_read(b, &events_written, &what)?;
                    if b == dst {
                        return Err(format!("{what}: merges into one of its sources"));
                    }
                }
                events_write(dst, &mut events_written, &what)?;
            }
            Step::HostEvents { dst, .. } => events_write(dst, &mut events_written, &what)?,
            Step::BusIn { dst, .. } => audio_write(dst, &mut audio_written, &what)?,
            Step::BusOut { src, .. } => audio_read(src, &audio_written, &what)?,
            Step::Delay { line, src, dst } => {
                audio_read(src, &audio_written, &what)?;
                if line as usize >= plan.delays.len() {
                    return Err(format!("{what}: delay line {line} out of range"));
                }
                if src == dst {
                    return Err(format!("{what}: source and destination are the same buffer"));
                }
                audio_write(dst, &mut audio_written, &what)?;
            }
            Step::TrackNotes { src, tracker } => {
                events_read(src, &events_written, &what)?;
                if tracker as usize >= plan.trackers.len() {
                    return Err(format!("{what}: tracker {tracker} out of range"));
                }
            }
            Step::ReleaseNotes { tracker, dst } => {
                if tracker as usize >= plan.trackers.len() {
                    return Err(format!("{what}: tracker {tracker} out of range"));
                }
                events_write(dst, &mut events_written, &what)?;
            }
            Step::Process(ref process) => {
                let ProcessStep { ports, inputs, event_outputs, .. } = *process;
                if ports.0 > ports.1 || inputs > ports.1 - ports.0 {
                    return Err(format!("{what}: port ranges out of order"));
                }
                let (inputs, outputs) = (process.input_range(), process.output_range());
                let has_events = plan
                    .bindings
                    .get(outputs.clone())
                    .is_some_and(|b| b.iter().any(|b| matches!(b, PortBinding::Events(_))));
                if has_events != event_outputs {
                    return Err(format!("{what}: event_outputs flag does not match the output ports"));
                }
                let bind = |r: std::ops::Range<usize>| {
                    plan.bindings.get(r).ok_or_else(|| format!("{what}: binding range out of range"))
                };
                let mut input_audio = HashSet::new();
                let mut input_events = HashSet::new();
                for b in bind(inputs)? {
                    match *b {
                        PortBinding::Signal { first, channels, offset_floats } => {
                            check_offset(first, offset_floats, plan.stride_floats, &what)?;
                            for buf in channels_of(first, channels, audio_n, silent, &what)? {
                                audio_read(buf, &audio_written, &what)?;
                                input_audio.insert(buf);
                            }
                        }
                        PortBinding::Events(buf) => {
                            events_read(buf, &events_written, &what)?;
                            input_events.insert(buf);
                        }
                    }
                }
                let mut out_audio = HashSet::new();
                let mut out_events = HashSet::new();
                for b in bind(outputs)? {
                    match *b {
                        PortBinding::Signal { first, channels, offset_floats } => {
                            check_offset(first, offset_floats, plan.stride_floats, &what)?;
                            for buf in channels_of(first, channels, audio_n, silent, &what)? {
                                if input_audio.contains(&buf) || !out_audio.insert(buf) {
                                    return Err(format!("{what}: output audio buffer {buf} aliases another port"));
                                }
                                audio_write(buf, &mut audio_written, &what)?;
                            }
                        }
                        PortBinding::Events(buf) => {
                            if input_events.contains(&buf) || !out_events.insert(buf) {
                                return Err(format!("{what}: output event buffer {buf} aliases another port"));
                            }
                            events_write(buf, &mut events_written, &what)?;
                        }
                    }
                }
            }
        }
    }
    // The executor walks the run list, not the steps: it must be exactly the steps' processor
    // calls with the glue between them.
    let (runs, tail) = crate::plan::schedule(&plan.steps);
    if runs != plan.runs || tail != plan.tail {
        return Err("the run list does not match the steps".into());
    }
    if plan.linked.len() != plan.runs.len() {
        return Err(format!("{} linked runs for {} runs", plan.linked.len(), plan.runs.len()));
    }
    Ok(())
}

/// The buffers of a port's run, checked to lie inside the pool and not to straddle the end of
/// the reserved silent run (a port reading silence must read only silence).
/// A signal binding's precomputed pool offset must be its first buffer's (processors use the
/// offset, the checks above use the buffer index).
fn check_offset(first: u32, offset_floats: u32, stride_floats: u32, what: &str) -> Result<(), String> {
    if first.checked_mul(stride_floats) == Some(offset_floats) {
        Ok(())
    } else {
        Err(format!("{what}: offset {offset_floats} is not buffer {first} × stride {stride_floats}"))
    }
}

fn channels_of(
    first: u32,
    channels: u16,
    audio_n: u32,
    silent: u32,
    what: &str,
) -> Result<std::ops::Range<u32>, String> {
    let end = first as u64 + channels as u64;
    if end > audio_n as u64 {
        return Err(format!("{what}: channels {first}..{end} out of range ({audio_n})"));
    }
    if first < silent && end > silent as u64 {
        return Err(format!("{what}: channels {first}..{end} run past the {silent} silent buffers"));
    }
    Ok(first..end as u32)
}
