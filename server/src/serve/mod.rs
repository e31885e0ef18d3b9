//! `noderack serve`: the engine as a server. A patch plays live (any backend, `null` for a
//! headless machine) while clients edit it over a JSON HTTP API and a WebSocket (`docs/API.md`).
//! Loopback only unless a token is set.

pub(crate) mod api;
mod bundles;
mod cache_size;
mod http;
mod library;
mod osc;
mod session;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use noderack_presets::{Patch, RunningPatch};

use crate::live::{self, BackendArgs};

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

/// Where named patches go without `--store`.
fn default_store() -> PathBuf {
    directories::ProjectDirs::from("", "", "noderack")
        .map(|dirs| dirs.data_dir().join("patches"))
        .unwrap_or_else(|| PathBuf::from("noderack-patches"))
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
    let session = session::Session::new(live, running, folder, events.clone(), args.record.clone())
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

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let store_folder = args.store.clone().unwrap_or_else(default_store);
    let store = Arc::new(noderack_presets::PatchStore::new(&store_folder));
    let bundles = Arc::new(bundles::BundleStore {
        registry: noderack_presets::BundleRegistry::new(&store_folder.join("registry")),
        installed: store_folder.join("bundles"),
    });
    let state = http::AppState { requests, events, token, store, bundles, library };
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        let address = listener.local_addr()?;
        eprintln!("playing {what} on {description}");
        println!("listening on http://{address}/api/v1");
        if let Some((_, osc)) = &osc_thread {
            println!("osc on udp://{osc}");
        }
        std::io::stdout().flush()?;
        axum::serve(listener, http::router(state))
            .with_graceful_shutdown(stop_signal())
            .await
            .context("the server stopped")
    });
    drop(runtime);
    stop_osc.store(true, std::sync::atomic::Ordering::Release);
    if let Some((thread, _)) = osc_thread {
        let _ = thread.join();
    }
    // The last request senders are gone: the control thread ends and stops the audio.
    let _ = control.join();
    served
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
