//! `noderack-editor`: the editor of noderack graphs (iced, software-rendered so it runs without
//! a GPU). It is a client of the control API and nothing else — of an engine it starts itself
//! or of a `noderack serve` running elsewhere — so what it shows is what the server holds, and
//! every change it makes is an edit any other client could make. See docs/EDITOR.md.

pub mod app;
pub mod browser;
pub mod client;
pub mod embed;
pub mod file_picker;
pub mod files;
pub mod geometry;
pub mod graph_view;
pub mod inspector;
pub mod kinds;
pub mod learn;
pub mod meters;
pub mod model;
pub mod palette;
pub mod param_slider;
pub mod rack;
pub mod render;
