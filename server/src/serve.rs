//! `noderack serve`: the engine as a server. A patch plays live (any backend, `null` for a
//! headless machine) while clients edit it over a JSON HTTP API and a WebSocket (`docs/API.md`).
//! Loopback only unless a token is set.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use noderack_graph::Engine;
use noderack_host::live::scope::Scope;
use noderack_host::live::Health;
use noderack_presets::{Patch, RunningPatch};
use noderack_server::control::stage::Stage;
use noderack_server::control::{bundles, cache_size, http, library, osc, session};

use crate::live::{self, midi_nodes, BackendArgs, Live};

/// Requests the control thread can have waiting.
const REQUEST_QUEUE: usize = 1024;

/// An empty patch: one stereo `main` bus and nothing on it.
const EMPTY_PATCH: &str = r#"{ "format": "noderack-patch", "version": 1, "name": "untitled", "nodes": [] }"#;

/// Arguments of `noderack serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A patch to start with (default: an empty one with a stereo `main` bus).
    pub patch: Option<PathBuf>,
    #[command(flatten)]
    pub live: BackendArgs,
    /// Address and port to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7890")]
    pub bind: SocketAddr,
    /// Token every request must present; required when --bind is not a loopback address.
    #[arg(long, env = "NODERACK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Also take OSC over UDP on this address (port 0: any free port; the address is printed).
    #[arg(long, value_name = "ADDR")]
    pub osc: Option<SocketAddr>,
    /// Record everything played to this WAV file (32-bit float, every bus channel).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Folder of the named patches clients save (default: the platform's data folder, e.g.
    /// ~/.local/share/noderack/patches).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// The SongWalker preset library clients browse (`GET /library/presets`): a base URL
    /// (https://…, file:///…) or a local folder with the library's index.json. Downloads go to
    /// the library cache ($NODERACK_CACHE_DIR, else the platform cache directory).
    #[arg(long, value_name = "URL|DIR", default_value = noderack_presets::library::DEFAULT_LIBRARY_URL)]
    pub library: String,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    args.live.check()?;
    for (option, address) in [("--bind", Some(args.bind)), ("--osc", args.osc)] {
        if address.is_some_and(|a| !a.ip().is_loopback()) && args.token.is_none() {
            bail!(
                "{option} {} is reachable from other machines: give --token (or NODERACK_TOKEN) so that only clients that know it can edit",
                address.expect("checked")
            );
        }
    }
    if args.token.as_ref().is_some_and(|t| t.len() < 16) {
        bail!("--token must be at least 16 characters");
    }
    let library = Arc::new(library::Browsed::new(library::location(&args.library)?));
    let (patch, folder, what) = match &args.patch {
        Some(path) => {
            let patch = Patch::load(path, crate::factory::factory())?;
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (patch, folder, path.display().to_string())
        }
        None => (
            Patch::parse(EMPTY_PATCH, "(empty patch)", crate::factory::factory())?,
            std::env::current_dir()?,
            "an empty patch".into(),
        ),
    };
    for warning in &patch.warnings {
        tracing::warn!("{warning}");
    }
    let running = RunningPatch::new(patch);
    let osc_socket = match args.osc {
        Some(address) => {
            Some(std::net::UdpSocket::bind(address).with_context(|| format!("cannot take OSC on {address}"))?)
        }
        None => None,
    };
    let live = live::start(&args.live, &running, 0, args.record.as_deref(), true, &what)?;
    let description = live.description.clone();
    let health = live.health.clone();
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let (requests, queue) = std::sync::mpsc::sync_channel(REQUEST_QUEUE);
    let stage = Served { live, record: args.record.clone() };
    let session = session::Session::new(stage, running, crate::factory::factory(), folder, events.clone())
        .with_cache_size(cache_size::CacheSize::watch());
    let control = std::thread::Builder::new().name("noderack-control".into()).spawn(move || session.run(queue))?;
    let token: Option<Arc<str>> = args.token.as_deref().map(Arc::from);
    let stop_osc = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let osc_thread = match osc_socket {
        Some(socket) => {
            let address = socket.local_addr()?;
            let osc = osc::Osc::new(socket, requests.clone(), health, token.clone());
            let stop = stop_osc.clone();
            let thread = std::thread::Builder::new().name("noderack-osc".into()).spawn(move || osc.run(&stop))?;
            Some((thread, address))
        }
        None => None,
    };

    let store_folder = args.store.clone().unwrap_or_else(noderack_server::control::default_store);
    let store = Arc::new(noderack_presets::PatchStore::new(&store_folder));
    let bundles = Arc::new(bundles::BundleStore {
        registry: noderack_presets::BundleRegistry::new(&store_folder.join("registry")),
        installed: store_folder.join("bundles"),
    });
    let factory = crate::factory::factory();
    let state = http::AppState { requests, events, token, store, bundles, library, factory };
    let served = http::HttpServer::start(args.bind, state).with_context(|| format!("cannot listen on {}", args.bind));
    let served = served.and_then(|server| {
        eprintln!("playing {what} on {description}");
        println!("listening on http://{}/api/v1", server.address());
        if let Some((_, osc)) = &osc_thread {
            println!("osc on udp://{osc}");
        }
        std::io::stdout().flush()?;
        server.block_on(stop_signal());
        server.stop().context("the server stopped")
    });
    stop_osc.store(true, std::sync::atomic::Ordering::Release);
    if let Some((thread, _)) = osc_thread {
        let _ = thread.join();
    }
    // The last request senders are gone: the control thread ends and stops the audio.
    let _ = control.join();
    served
}

/// The stage of `noderack serve`: a live backend, and where its recording goes.
struct Served {
    live: Live,
    record: Option<PathBuf>,
}

impl Stage for Served {
    fn engine(&mut self) -> &mut Engine {
        &mut self.live.engine
    }

    fn engine_ref(&self) -> &Engine {
        &self.live.engine
    }

    fn health(&self) -> &Health {
        &self.live.health
    }

    fn description(&self) -> &str {
        &self.live.description
    }

    fn sample_rate(&self) -> u32 {
        self.live.sample_rate
    }

    fn follow(&mut self, running: &RunningPatch) {
        if let Err(e) = self.live.backend.set_midi_nodes(&midi_nodes(running)) {
            tracing::warn!("MIDI ports not updated: {e}");
        }
    }

    fn scope(&mut self) -> Option<&mut Scope> {
        self.live.scope.as_mut()
    }

    fn stop(mut self) {
        self.live.backend.stop();
        if let (Some(recorder), Some(path)) = (self.live.recorder.take(), self.record.as_ref()) {
            match recorder.finish(path) {
                Ok(report) => eprintln!("recorded {} frames to {}", report.frames, path.display()),
                Err(e) => tracing::error!("{e}"),
            }
        }
    }
}

/// Ctrl-C or SIGTERM (a service manager stopping the server).
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}
