//! A file chooser inside the editor: a folder's subfolders and the files of the kinds asked
//! for, a way up, and a click to choose. It lists this machine's files — where bundle files are
//! read and written, and where an embedded or loopback server reads instrument files — and
//! needs no desktop portal or toolkit, so it works wherever the editor does (and in tests).

use std::path::{Path, PathBuf};

use iced::widget::{button, column, row, scrollable, text};
use iced::{Element, Fill, Length};

use crate::graph_view::PALETTE;

/// Entries shown at most (a folder with more says how many it left out).
const MOST_ENTRIES: usize = 500;

/// What a person did in the chooser.
#[derive(Clone, Debug, PartialEq)]
pub enum PickerMessage {
    /// Go into this subfolder (its name).
    Enter(String),
    /// Go to the parent folder.
    Up,
    /// Choose this file (its name).
    Pick(String),
    /// Close without choosing.
    Close,
}

/// One entry of the folder shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// A folder (else a file of a kind asked for).
    pub is_dir: bool,
}

/// The chooser's state: the folder shown and what is in it.
#[derive(Clone, Debug, PartialEq)]
pub struct FilePicker {
    /// The folder shown.
    pub dir: PathBuf,
    /// Its subfolders, then its files of the kinds asked for, each sorted by name.
    pub entries: Vec<Entry>,
    /// Entries left out beyond [`MOST_ENTRIES`].
    pub more: usize,
    /// File name endings shown (`"sf2"`, `"noderack"`), compared without case.
    pub extensions: &'static [&'static str],
    /// Why the folder could not be read.
    pub error: Option<String>,
}

impl FilePicker {
    /// A chooser of files ending in `extensions`, showing the folder of `near` (a path typed
    /// so far: its folder, or itself if it is one), else the current folder.
    pub fn open(near: &str, extensions: &'static [&'static str]) -> FilePicker {
        let near = Path::new(near.trim());
        let dir = if near.is_dir() {
            near.to_path_buf()
        } else {
            near.parent()
                .filter(|p| p.is_dir())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")))
        };
        let mut picker = FilePicker {
            dir: std::fs::canonicalize(&dir).unwrap_or(dir),
            entries: Vec::new(),
            more: 0,
            extensions,
            error: None,
        };
        picker.read();
        picker
    }

    /// Handles `message`; the file chosen, if one was.
    pub fn update(&mut self, message: &PickerMessage) -> Option<PathBuf> {
        match message {
            PickerMessage::Enter(name) => {
                self.dir.push(name);
                self.read();
            }
            PickerMessage::Up => {
                if let Some(parent) = self.dir.parent() {
                    self.dir = parent.to_path_buf();
                    self.read();
                }
            }
            PickerMessage::Pick(name) => return Some(self.dir.join(name)),
            PickerMessage::Close => {}
        }
        None
    }

    /// Lists the folder (hidden entries left out).
    fn read(&mut self) {
        self.entries.clear();
        self.more = 0;
        self.error = None;
        let listing = match std::fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) => {
                self.error = Some(format!("{}: {e}", self.dir.display()));
                return;
            }
        };
        let wanted = |name: &str| {
            let lower = name.to_lowercase();
            self.extensions.iter().any(|ext| lower.ends_with(&format!(".{ext}")))
        };
        let mut entries: Vec<Entry> = listing
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                // Follows links, as a file chooser does.
                let is_dir = e.path().is_dir();
                (!name.starts_with('.') && (is_dir || wanted(&name))).then_some(Entry { name, is_dir })
            })
            .collect();
        entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
        self.more = entries.len().saturating_sub(MOST_ENTRIES);
        entries.truncate(MOST_ENTRIES);
        self.entries = entries;
    }
}

/// The chooser: the folder, a way up, its entries, and Close.
pub fn file_picker(picker: &FilePicker) -> Element<'_, PickerMessage> {
    let small = |label: String| text(label).size(12).color(PALETTE.text);
    let mut list = column![].spacing(1);
    for entry in &picker.entries {
        let (label, message) = if entry.is_dir {
            (format!("{}/", entry.name), PickerMessage::Enter(entry.name.clone()))
        } else {
            (entry.name.clone(), PickerMessage::Pick(entry.name.clone()))
        };
        list =
            list.push(button(text(label).size(12)).style(button::text).width(Fill).padding([1, 4]).on_press(message));
    }
    if picker.entries.is_empty() && picker.error.is_none() {
        list = list.push(small(format!("no folders or .{} files here", picker.extensions.join(", ."))));
    }
    if picker.more > 0 {
        list = list.push(small(format!("and {} more", picker.more)));
    }
    let mut body = column![
        small(picker.dir.display().to_string()),
        row![
            button(text("..").size(12)).on_press(PickerMessage::Up),
            button(text("Close").size(12)).on_press(PickerMessage::Close)
        ]
        .spacing(6),
        scrollable(list).height(Length::Fixed(180.0)),
    ]
    .spacing(4);
    if let Some(error) = &picker.error {
        body = body.push(text(error).size(12).color(PALETTE.refused));
    }
    body.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_lists_subfolders_then_wanted_files_and_moves_up_and_down() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["b.SF2", "a.sfz", "notes.txt", ".hidden.sf2"] {
            std::fs::write(dir.path().join(file), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("Zed")).unwrap();
        std::fs::write(dir.path().join("Zed/inside.sf2"), b"").unwrap();
        let mut picker = FilePicker::open(dir.path().join("typed-so-far.sf2").to_str().unwrap(), &["sf2", "sfz"]);
        let names = |p: &FilePicker| p.entries.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&picker), ["Zed", "a.sfz", "b.SF2"], "folders first; other kinds and hidden files left out");
        assert_eq!(picker.update(&PickerMessage::Enter("Zed".into())), None);
        assert_eq!(names(&picker), ["inside.sf2"]);
        let chosen = picker.update(&PickerMessage::Pick("inside.sf2".into())).unwrap();
        assert_eq!(chosen, std::fs::canonicalize(dir.path()).unwrap().join("Zed/inside.sf2"));
        picker.update(&PickerMessage::Up);
        assert_eq!(names(&picker), ["Zed", "a.sfz", "b.SF2"]);
        picker.update(&PickerMessage::Enter("gone".into()));
        assert!(picker.error.as_deref().is_some_and(|e| e.contains("gone")), "{:?}", picker.error);
    }
}
