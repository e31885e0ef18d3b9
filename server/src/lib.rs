//! The control API of noderack as a library: a [`control::session::Session`] that owns an
//! engine and the patch it plays, and the HTTP/WebSocket front end that edits it
//! (`docs/API.md`). `noderack serve` plays the session on a live backend; the CLAP plugin plays
//! one inside the DAW so that the editor edits the graph that runs there, through the same API.

pub mod control;
pub mod factory;
pub mod remote;
