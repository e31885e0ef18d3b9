//! The preset browser: the server's preset library searched (`GET /library/presets`), presets
//! tried in place in the selected sampler — each try replaces its instrument, and all the tries
//! of one browse are one undo step, so Cancel brings back what was there — and heard from the
//! computer keyboard (A W S E D F T G Y H U J K play C4 to C5 into the sampler's MIDI input, on
//! its slot's channel). Downloads show their progress from the server's `download` events.

use iced::keyboard::key::{Code, Physical};
use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Element, Fill};
use serde_json::Value;

use crate::graph_view::PALETTE;
use crate::model::{GraphModel, PortKind};

/// What a person did in the browser.
#[derive(Clone, Debug, PartialEq)]
pub enum BrowserMessage {
    /// Typing search words.
    Query(String),
    /// Search the library.
    Search,
    /// Search again after the server fetched the library's indexes anew (presets published
    /// since it started).
    Refresh,
    /// Try this result (by index) in the sampler.
    Try(usize),
    /// Keep what is loaded: the browse ends.
    Keep,
    /// Bring back the instrument the sampler had before the browse.
    Cancel,
}

/// A preset the library lists.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// `"Lib/Name"`.
    pub preset: String,
    /// Its name alone.
    pub name: String,
    /// The instrument setting that loads it.
    pub instrument: Value,
    /// What the index says of it: zones and keys.
    pub detail: String,
}

/// A download in progress (or just finished), from the server's `download` events.
#[derive(Clone, Debug, PartialEq)]
pub struct Download {
    /// `"Lib/Name"`.
    pub preset: String,
    /// Samples read so far.
    pub samples_done: u64,
    /// Samples in all.
    pub samples: u64,
    /// Bytes read so far.
    pub bytes: u64,
}

impl Download {
    /// The download as a server `download` event states it.
    pub fn from_event(event: &Value) -> Option<Download> {
        Some(Download {
            preset: event["preset"].as_str()?.to_string(),
            samples_done: event["samples_done"].as_u64()?,
            samples: event["samples"].as_u64()?,
            bytes: event["bytes"].as_u64().unwrap_or(0),
        })
    }

    /// One line for people.
    pub fn line(&self) -> String {
        let size = if self.bytes >= 1 << 20 {
            format!("{:.1} MB", self.bytes as f64 / (1 << 20) as f64)
        } else {
            format!("{} kB", self.bytes.div_ceil(1024))
        };
        if self.samples_done >= self.samples {
            format!("{}: {} samples ready ({size})", self.preset, self.samples)
        } else {
            format!("{}: sample {} of {} ({size})", self.preset, self.samples_done, self.samples)
        }
    }
}

/// The browser's fields, results and the browse under way.
#[derive(Clone, Debug, Default)]
pub struct Browser {
    /// Search words.
    pub query: String,
    /// The last search's presets.
    pub found: Vec<Found>,
    /// Presets the server found beyond those listed.
    pub more: u64,
    /// The result tried last.
    pub tried: Option<usize>,
    /// The sampler a browse has changed: its tries continue one undo step, and Cancel undoes it.
    pub trying: Option<String>,
    /// The latest download.
    pub download: Option<Download>,
    /// Notes held down on the computer keyboard, by key (its step) and the note it sounds.
    pub held: Vec<(u8, u8)>,
    /// Octaves the computer keyboard is moved from C4 (Z and X).
    pub octave: i8,
    /// What the last action did, or why it failed.
    pub note: String,
}

/// The presets of a `GET /library/presets` reply, and how many more there are.
pub fn found_presets(reply: &Value) -> (Vec<Found>, u64) {
    let found = reply["presets"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| {
                    let keys = p["keys"].as_array().and_then(|k| Some((k.first()?.as_u64()?, k.get(1)?.as_u64()?)));
                    let detail = match (p["zones"].as_u64(), keys) {
                        (Some(zones), Some((low, high))) => format!("{zones} zones, keys {low}–{high}"),
                        (Some(zones), None) => format!("{zones} zones"),
                        (None, _) => p["category"].as_str().unwrap_or_default().to_string(),
                    };
                    Some(Found {
                        preset: p["preset"].as_str()?.to_string(),
                        name: p["name"].as_str().unwrap_or_default().to_string(),
                        instrument: p["instrument"].clone(),
                        detail,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    (found, reply["more"].as_u64().unwrap_or(0))
}

/// What a key of the computer keyboard does in the browser: a piano's white keys on
/// A S D F G H J K, its black keys on W E T Y U (an octave and a note from C), and Z and X to
/// move that octave down and up, as in most DAWs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PianoKey {
    /// Semitones above the keyboard's C.
    Note(u8),
    /// An octave lower.
    OctaveDown,
    /// An octave higher.
    OctaveUp,
}

/// Octaves the keyboard moves at most, either way from C4 (C0 … C8 stay in MIDI's range).
pub const MOST_OCTAVES: i8 = 4;

/// The piano key `key` is, if any.
pub fn piano_key(key: Physical) -> Option<PianoKey> {
    let Physical::Code(code) = key else { return None };
    let step = match code {
        Code::KeyA => 0,
        Code::KeyW => 1,
        Code::KeyS => 2,
        Code::KeyE => 3,
        Code::KeyD => 4,
        Code::KeyF => 5,
        Code::KeyT => 6,
        Code::KeyG => 7,
        Code::KeyY => 8,
        Code::KeyH => 9,
        Code::KeyU => 10,
        Code::KeyJ => 11,
        Code::KeyK => 12,
        Code::KeyZ => return Some(PianoKey::OctaveDown),
        Code::KeyX => return Some(PianoKey::OctaveUp),
        _ => return None,
    };
    Some(PianoKey::Note(step))
}

/// The MIDI note of `step` semitones above C in `octave` octaves from C4.
pub fn note_of(step: u8, octave: i8) -> u8 {
    (60 + 12 * i16::from(octave.clamp(-MOST_OCTAVES, MOST_OCTAVES)) + i16::from(step)).clamp(0, 127) as u8
}

/// Where notes for `instrument` come from: the `midi-in` node upstream of its events input, and
/// the channel its slot listens on (1 when it takes every channel).
pub fn note_source(model: &GraphModel, instrument: &str) -> Option<(String, u8)> {
    let channel = model
        .slots
        .iter()
        .find(|s| s.instrument == instrument)
        .and_then(|s| s.channel.parse::<u8>().ok())
        .filter(|c| (1..=16).contains(c))
        .unwrap_or(1);
    let mut node = model.index_of(instrument)?;
    // A chain of MIDI utilities is short; the bound only guards against a cycle.
    for _ in 0..model.nodes.len() {
        let feeding = model.cables.iter().find(|c| {
            c.to == node && matches!(model.nodes[c.to].inputs.get(c.to_port).map(|p| &p.kind), Some(PortKind::Events))
        })?;
        let from = &model.nodes[feeding.from];
        if from.kind == "midi-in" {
            return Some((from.id.clone(), channel));
        }
        node = feeding.from;
    }
    None
}

/// The panel, browsing for `target` (the selected sampler, if one is).
pub fn browser<'a>(state: &'a Browser, target: Option<&'a str>) -> Element<'a, BrowserMessage> {
    let small = |label: String| text(label).size(12).color(PALETTE.text);
    let search = row![
        text_input("search presets", &state.query)
            .id("preset-query")
            .size(13)
            .on_input(BrowserMessage::Query)
            .on_submit(BrowserMessage::Search),
        button(text("Search").size(13)).on_press(BrowserMessage::Search),
        button(text("Refresh").size(13)).on_press(BrowserMessage::Refresh),
    ]
    .spacing(6);
    let into = match target {
        Some(id) => format!(
            "trying presets in {id}; keys A–K play C{} to C{} (Z, X: octave)",
            4 + state.octave,
            5 + state.octave
        ),
        None => "select a sampler to try presets in".to_string(),
    };
    let browse = row![
        button(text("Keep").size(12)).on_press_maybe(state.trying.as_ref().map(|_| BrowserMessage::Keep)),
        button(text("Cancel").size(12)).on_press_maybe(state.trying.as_ref().map(|_| BrowserMessage::Cancel)),
    ]
    .spacing(6);
    let mut list = column![].spacing(2);
    for (i, found) in state.found.iter().enumerate() {
        let label = column![text(&found.name).size(13), text(&found.preset).size(10)].width(Fill);
        let style = if state.tried == Some(i) { button::primary } else { button::text };
        list = list.push(
            button(row![label, small(found.detail.clone())].spacing(6).align_y(iced::Center))
                .style(style)
                .width(Fill)
                .on_press_maybe(target.map(|_| BrowserMessage::Try(i))),
        );
    }
    if state.more > 0 {
        list = list.push(small(format!("and {} more: narrow the search", state.more)));
    }
    let download = state.download.as_ref().map(Download::line).unwrap_or_default();
    let body =
        column![search, small(into), browse, list, small(download), small(state.note.clone())].spacing(8).padding(10);
    container(scrollable(body)).width(Fill).height(Fill).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_search_reply_lists_presets_with_what_the_index_says() {
        let reply = json!({ "presets": [
            { "preset": "GM/Piano", "name": "Piano", "instrument": { "preset": "GM/Piano" }, "zones": 12, "keys": [21, 108] },
            { "preset": "GM/Pad", "name": "Pad", "instrument": { "preset": "GM/Pad" }, "category": "synth" },
            { "name": "no preset field: skipped" },
        ], "more": 3 });
        let (found, more) = found_presets(&reply);
        assert_eq!(more, 3);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].detail, "12 zones, keys 21–108");
        assert_eq!(found[1].detail, "synth");
        assert_eq!(found[1].instrument, json!({ "preset": "GM/Pad" }));
    }

    #[test]
    fn keys_play_a_chromatic_octave_from_c4_moved_by_octaves_within_midi() {
        let steps: Vec<PianoKey> = [Code::KeyA, Code::KeyW, Code::KeyS, Code::KeyJ, Code::KeyK, Code::KeyZ, Code::KeyX]
            .into_iter()
            .filter_map(|c| piano_key(Physical::Code(c)))
            .collect();
        use PianoKey::*;
        assert_eq!(steps, [Note(0), Note(1), Note(2), Note(11), Note(12), OctaveDown, OctaveUp]);
        assert_eq!(piano_key(Physical::Code(Code::KeyQ)), None);
        assert_eq!((note_of(0, 0), note_of(12, 0), note_of(0, -2), note_of(12, 4)), (60, 72, 36, 120));
        assert_eq!(note_of(0, -9), 12, "held at the lowest octave");
    }

    #[test]
    fn a_download_reads_as_progress_then_ready() {
        let event =
            json!({ "type": "download", "preset": "GM/Piano", "samples_done": 1, "samples": 4, "bytes": 3_145_728 });
        let d = Download::from_event(&event).unwrap();
        assert_eq!(d.line(), "GM/Piano: sample 1 of 4 (3.0 MB)");
        let done = Download { samples_done: 4, bytes: 2048, ..d };
        assert_eq!(done.line(), "GM/Piano: 4 samples ready (2 kB)");
        assert_eq!(Download::from_event(&json!({ "type": "download" })), None);
    }
}
