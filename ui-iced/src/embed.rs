//! The editor inside another program's window, on X11: the CLAP plugin's host gives the plugin
//! a window for its GUI, the plugin starts the editor with `--parent-window ID`, and the editor
//! makes its own window a child of that one. The editor's window opens hidden and undecorated
//! in that case, so that no window manager frames it before it moves into the host's window,
//! and shows only once it is there.

use iced::window::raw_window_handle::{HasWindowHandle, RawWindowHandle};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::ConnectionExt;

/// Why the editor could not move into the host's window (it then stays a window of its own).
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The editor's window is not an X11 window (Wayland, another platform).
    #[error("the editor's window is not an X11 window")]
    NotX11,
    /// The X server could not be reached.
    #[error("cannot reach the X server: {0}")]
    Connect(#[from] x11rb::errors::ConnectError),
    /// The X server refused a request (the parent window is gone, say).
    #[error("the X server refused: {0}")]
    Request(String),
}

impl From<x11rb::errors::ConnectionError> for EmbedError {
    fn from(e: x11rb::errors::ConnectionError) -> Self {
        EmbedError::Request(e.to_string())
    }
}

impl From<x11rb::errors::ReplyError> for EmbedError {
    fn from(e: x11rb::errors::ReplyError) -> Self {
        EmbedError::Request(e.to_string())
    }
}

/// The X11 id of `window`, if it is an X11 window.
pub fn x11_id(window: &dyn HasWindowHandle) -> Option<u32> {
    match window.window_handle().ok()?.as_raw() {
        RawWindowHandle::Xlib(handle) => u32::try_from(handle.window).ok(),
        RawWindowHandle::Xcb(handle) => Some(handle.window.get()),
        _ => None,
    }
}

/// Makes `window` (still hidden) a child of X11 window `parent`, at its top-left corner; the
/// caller then shows it, through the toolkit that owns it, so that the toolkit knows.
pub fn embed(window: &dyn HasWindowHandle, parent: u32) -> Result<(), EmbedError> {
    let child = x11_id(window).ok_or(EmbedError::NotX11)?;
    let (connection, _) = x11rb::connect(None)?;
    connection.reparent_window(child, parent, 0, 0)?.check()?;
    connection.flush()?;
    Ok(())
}
