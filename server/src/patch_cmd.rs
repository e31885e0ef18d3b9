//! `noderack patch`: self-contained bundles (export, import) and shared registries (publish,
//! search, fetch, fork). See `docs/BUNDLES.md`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use noderack_presets::{Bundle, ContentHash};

use crate::remote::{self, Registry};

/// `noderack patch` subcommands.
#[derive(clap::Subcommand)]
pub enum PatchCommand {
    /// Bundle a patch with every file its instruments read (SFZ, SF2, library presets and
    /// their samples) into one verified file.
    Export {
        /// The patch file.
        patch: PathBuf,
        /// The bundle to write (default: the patch's name with `.nrbundle`).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Verify a bundle (a file, or an http(s) URL) and install it: prints the patch file to
    /// play or render.
    Import {
        /// A bundle file or URL.
        source: String,
        /// Folder bundles are installed in (each in a folder named by its id).
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
    },
    /// Publish a bundle (or a patch, bundled first) to a server's registry: prints its id.
    Publish {
        /// A bundle file, or a patch file (`.json`).
        source: PathBuf,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// List a registry's bundles whose name or description contain every word of the query.
    Search {
        /// Words to look for (none: everything).
        query: Vec<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Download a bundle by id from a registry, verified; write it or install it.
    Fetch {
        /// Its id (content hash).
        id: String,
        #[command(flatten)]
        registry: RegistryArgs,
        /// Write the bundle to this file.
        #[arg(short, long, conflicts_with = "into")]
        output: Option<PathBuf>,
        /// Install it in this folder (the default, in the data folder, without --output).
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
    },
    /// Publish a fork of a bundle: the same content under a new id that records its parent.
    Fork {
        /// The bundle's id.
        id: String,
        /// The fork's name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// Which registry, and the token it asks for.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// The server hosting the registry (`http://host:port`).
    #[arg(long, env = "NODERACK_REGISTRY", value_name = "URL")]
    registry: String,
    /// The server's token, if it has one.
    #[arg(long, env = "NODERACK_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl RegistryArgs {
    fn client(&self) -> anyhow::Result<Registry> {
        Ok(Registry::new(&self.registry, self.token.clone())?)
    }
}

/// Where bundles are installed without `--into`.
pub fn default_bundles() -> PathBuf {
    directories::ProjectDirs::from("", "", "noderack")
        .map(|dirs| dirs.data_dir().join("bundles"))
        .unwrap_or_else(|| PathBuf::from("noderack-bundles"))
}

pub fn run(command: PatchCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match command {
        PatchCommand::Export { patch, output } => {
            let bundle = export(&patch)?;
            let output = output.unwrap_or_else(|| patch.with_extension(noderack_presets::bundle::EXTENSION));
            std::fs::write(&output, bundle.to_bytes()).with_context(|| format!("cannot write {}", output.display()))?;
            describe(&bundle);
            println!("{}", output.display());
        }
        PatchCommand::Import { source, into } => {
            let bundle = if source.starts_with("http://") || source.starts_with("https://") {
                runtime.block_on(remote::download(&remote::http_client()?, &source))?.0
            } else {
                let bytes = std::fs::read(&source).with_context(|| format!("cannot read {source}"))?;
                Bundle::from_bytes(&bytes, &source)?
            };
            install(&bundle, into)?;
        }
        PatchCommand::Publish { source, registry } => {
            let bytes = if source.extension().is_some_and(|e| e == "json") {
                export(&source)?.to_bytes()
            } else {
                std::fs::read(&source).with_context(|| format!("cannot read {}", source.display()))?
            };
            let entry = runtime.block_on(registry.client()?.publish(bytes))?;
            eprintln!("published \"{}\" ({} bytes)", entry.name, entry.bytes);
            println!("{}", entry.id);
        }
        PatchCommand::Search { query, registry } => {
            let entries = runtime.block_on(registry.client()?.search(&query.join(" ")))?;
            if entries.is_empty() {
                eprintln!("nothing found");
            }
            for e in entries {
                let parent = e.parent.map(|p| format!("  (fork of {})", &p[..12])).unwrap_or_default();
                println!("{}  {}  {} bytes{parent}", e.id, e.name, e.bytes);
                if !e.description.is_empty() {
                    println!("    {}", e.description);
                }
            }
        }
        PatchCommand::Fetch { id, registry, output, into } => {
            let id = ContentHash::parse(&id).map_err(anyhow::Error::msg)?;
            let (bundle, bytes) = runtime.block_on(registry.client()?.fetch(&id))?;
            match output {
                Some(output) => {
                    std::fs::write(&output, bytes).with_context(|| format!("cannot write {}", output.display()))?;
                    describe(&bundle);
                    println!("{}", output.display());
                }
                None => install(&bundle, into)?,
            }
        }
        PatchCommand::Fork { id, name, registry } => {
            let id = ContentHash::parse(&id).map_err(anyhow::Error::msg)?;
            let entry = runtime.block_on(registry.client()?.fork(&id, name.as_deref()))?;
            eprintln!("forked as \"{}\"", entry.name);
            println!("{}", entry.id);
        }
    }
    Ok(())
}

/// Bundles the patch file at `path`.
fn export(path: &Path) -> anyhow::Result<Bundle> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Loading first gives the patch's own errors with their line and column.
    noderack_presets::Patch::parse(&text, &path.display().to_string(), crate::factory::factory())?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Bundle::export(&value, &folder).with_context(|| format!("cannot bundle {}", path.display()))
}

fn install(bundle: &Bundle, into: Option<PathBuf>) -> anyhow::Result<()> {
    let root = into.unwrap_or_else(default_bundles);
    let patch = bundle.install(&root)?;
    describe(bundle);
    noderack_presets::Patch::load(&patch, crate::factory::factory()).with_context(|| {
        format!("bundle {} was installed in {} but its patch does not load", bundle.id(), root.display())
    })?;
    println!("{}", patch.display());
    Ok(())
}

fn describe(bundle: &Bundle) {
    let m = bundle.manifest();
    let parent = m.parent.as_ref().map(|p| format!(", fork of {p}")).unwrap_or_default();
    eprintln!(
        "bundle {} \"{}\": {} files, {} bytes of content{parent}",
        bundle.id(),
        m.name,
        m.files.len(),
        bundle.content_bytes()
    );
}
