//! `noderack-editor [PATCH] [--connect URL]`: edit a patch in a window, through an engine the
//! editor starts (a `noderack serve` with a live backend) or a running server.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use noderack_editor::client::{noderack_program, Client, EmbeddedServer};
use noderack_editor::model::GraphModel;
use noderack_editor::render::{graph_image, rack_image, write_png};

/// noderack editor: the node graph of a patch, edited live.
///
/// Without --connect it starts an engine of its own playing PATCH (the `noderack` program
/// beside this one, or on the PATH, running `serve` on a free loopback port) and edits it;
/// with --connect it edits a running `noderack serve`. With --screenshot it draws the graph
/// or the rack (--view) into a PNG file without opening a window (no display needed) and
/// exits.
#[derive(Parser)]
#[command(name = "noderack-editor", version)]
struct Cli {
    /// The patch to edit (with the embedded engine).
    patch: Option<PathBuf>,
    /// A running server's address (`http://127.0.0.1:7890`).
    #[arg(long, conflicts_with = "patch")]
    connect: Option<String>,
    /// The server's token, if it requires one.
    #[arg(long, env = "NODERACK_TOKEN")]
    token: Option<String>,
    /// The window's title (the CLAP plugin gives the host's name for the instance).
    #[arg(long, default_value = "noderack editor")]
    title: String,
    /// Open inside this X11 window (its id), as the CLAP plugin asks when its host embeds it.
    #[arg(long, value_name = "ID", requires = "connect")]
    parent_window: Option<u32>,
    /// Draw the graph view into this PNG file and exit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// The embedded engine's audio backend (`jack`, `cpal`, `null`; default: JACK, else cpal;
    /// `null` with --screenshot).
    #[arg(long)]
    backend: Option<String>,
    /// The preset library the embedded engine's browser searches: a base URL or a folder
    /// (default: the public SongWalker library).
    #[arg(long, value_name = "URL|DIR", conflicts_with = "connect")]
    library: Option<String>,
    /// Which view --screenshot draws.
    #[arg(long, value_enum, default_value = "graph")]
    view: ShotView,
    /// Size of the screenshot, `WIDTHxHEIGHT` in pixels.
    #[arg(long, default_value = "1280x800", value_parser = parse_size)]
    size: (u32, u32),
}

/// The views a screenshot can show.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ShotView {
    /// The node graph.
    Graph,
    /// The rack of slots.
    Rack,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once('x').ok_or("expected WIDTHxHEIGHT, e.g. 1280x800")?;
    let (w, h): (u32, u32) = (w.parse().map_err(|_| "bad width")?, h.parse().map_err(|_| "bad height")?);
    if !(64..=8192).contains(&w) || !(64..=8192).contains(&h) {
        return Err("width and height must be 64 to 8192 pixels".into());
    }
    Ok((w, h))
}

/// What the editor edits.
enum Target {
    /// A running server, by address.
    Server(String),
    /// A patch, in an engine the editor starts.
    Patch(PathBuf),
}

/// Whether a window can open here (winit panics without a display, so it is checked first).
fn has_display() -> bool {
    !cfg!(target_os = "linux")
        || ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"].iter().any(|v| std::env::var_os(v).is_some())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("NODERACK_LOG")).init();
    let cli = Cli::parse();
    let headless = cli.screenshot.is_some();
    let target = match (&cli.connect, &cli.patch) {
        (Some(url), _) => Target::Server(url.clone()),
        (None, Some(patch)) => Target::Patch(patch.clone()),
        (None, None) => anyhow::bail!("give a patch to edit, or --connect URL of a running `noderack serve`"),
    };
    if !headless && !has_display() {
        anyhow::bail!("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); --screenshot OUT.png draws the graph without one");
    }
    let (client, server) = match target {
        Target::Server(url) => (Client::new(&url, cli.token.clone()), None),
        Target::Patch(patch) => {
            let mut options = Vec::new();
            if let Some(backend) = cli.backend.as_deref().or(headless.then_some("null")) {
                options.extend(["--backend", backend]);
            }
            if let Some(library) = &cli.library {
                options.extend(["--library", library.as_str()]);
            }
            let server = EmbeddedServer::start_with(&noderack_program(), &patch, &options)?;
            (Client::new(server.url(), cli.token.clone()), Some(server))
        }
    };
    if let Some(out) = &cli.screenshot {
        let reply = client.block_on(client.clone().graph()).context("reading the graph")?;
        let model = GraphModel::from_api(&reply)?;
        let image = match cli.view {
            ShotView::Graph => graph_image(&model, cli.size.0, cli.size.1)?,
            ShotView::Rack => rack_image(&model, cli.size.0, cli.size.1)?,
        };
        write_png(&image, out)?;
        println!("wrote {} ({}x{}, {} nodes)", out.display(), image.width, image.height, model.nodes.len());
        drop(server);
        return Ok(());
    }
    noderack_editor::app::run(client, server, cli.title, cli.parent_window)?;
    Ok(())
}
