//! The CLAP plugin's editor inside a host's window, on a virtual X server (Xvfb): the test is
//! the host. It makes a window, asks the plugin for its GUI embedded in it, and checks that the
//! real `noderack-editor` moved its window into that one (a child, at the top-left, the size the
//! plugin reported, shown) and drew the graph there; hiding the GUI takes it out again.
//!
//! Needs `Xvfb` (Debian: xvfb, which scripts/setup-debian.sh installs): without it the test
//! says so and skips, except under CI, where it fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use noderack_tests::clap_plugins::noderack_plugin_library;
use noderack_tests::plugin_rig::PluginRig;
use noderack_tests::wait_until;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, ImageFormat, MapState, WindowClass};
use x11rb::rust_connection::RustConnection;

/// A virtual X server of the test's own.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Starts one on a free display; `None` if there is no Xvfb.
    fn start() -> Option<Xvfb> {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("Xvfb says its display");
        let number: u32 = line.trim().parse().unwrap_or_else(|_| panic!("Xvfb's display: {line:?}"));
        Some(Xvfb { child, display: format!(":{number}") })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn children(x: &RustConnection, window: u32) -> Vec<u32> {
    x.query_tree(window).unwrap().reply().unwrap().children
}

#[test]
fn the_editor_opens_inside_the_hosts_window() {
    let Some(xvfb) = Xvfb::start() else {
        assert!(std::env::var_os("CI").is_none(), "Xvfb is missing (scripts/setup-debian.sh installs xvfb)");
        eprintln!("skipped: no Xvfb on this machine (Debian: apt install xvfb)");
        return;
    };
    // Only this test runs in this binary: the plugin's editor finds both.
    std::env::set_var("DISPLAY", &xvfb.display);
    std::env::set_var("NODERACK_EDITOR", env!("CARGO_BIN_EXE_noderack-editor"));

    // The host's window for the plugin: black, 1280×800.
    let (x, screen) = x11rb::connect(Some(&xvfb.display)).expect("the X server answers");
    let root = x.setup().roots[screen].root;
    let black = x.setup().roots[screen].black_pixel;
    let frame = x.generate_id().unwrap();
    let aux = CreateWindowAux::new().background_pixel(black);
    x.create_window(0, frame, root, 0, 0, 1280, 800, 0, WindowClass::INPUT_OUTPUT, 0, &aux).unwrap().check().unwrap();
    x.map_window(frame).unwrap().check().unwrap();

    let mut rig = PluginRig::new(&noderack_plugin_library(), noderack_plugin::INSTRUMENT_ID);
    rig.activate(48_000.0, 256);
    assert!(rig.show_embedded_gui(frame), "the plugin takes the host's X11 window");

    let editor = wait_until(Duration::from_secs(60), "the editor's window inside the host's", || {
        children(&x, frame).first().copied()
    });
    let geometry = x.get_geometry(editor).unwrap().reply().unwrap();
    assert_eq!((geometry.x, geometry.y, geometry.width, geometry.height), (0, 0, 1280, 800));
    wait_until(Duration::from_secs(30), "the editor's window shown", || {
        let state = x.get_window_attributes(editor).unwrap().reply().unwrap().map_state;
        (state == MapState::VIEWABLE).then_some(())
    });
    // It drew there: the demo graph's boxes, cables and text are many colours on the black.
    let colours = wait_until(Duration::from_secs(30), "the editor drawing in the host's window", || {
        let image = x.get_image(ImageFormat::Z_PIXMAP, frame, 0, 0, 1280, 800, !0).ok()?.reply().ok()?;
        let mut colours: Vec<&[u8]> = image.data.chunks_exact(4).collect();
        colours.sort_unstable();
        colours.dedup();
        (colours.len() > 16).then_some(colours.len())
    });
    assert!(colours > 16, "{colours} colours");

    // Hidden: the editor's program ends and its window leaves the host's.
    assert!(rig.hide_gui());
    wait_until(Duration::from_secs(10), "the editor's window gone after hide", || {
        children(&x, frame).is_empty().then_some(())
    });
    rig.destroy_gui();
}
