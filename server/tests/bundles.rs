//! Sharing patches between servers over loopback: a bundle exported by one server plays on a
//! second and renders bit-identically offline; a registry takes publications, searches, fetches
//! by verified id and forks; `noderack patch` does the same from the command line; tampered
//! uploads and missing tokens are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use noderack_presets::Bundle;
use noderack_tests::fixtures::{patch_with_files, render_patch, scratch_dir, two_notes_midi};
use noderack_tests::rms;
use serde_json::json;

use common::{call, client, graph, post, Server, TOKEN};

const SR: f32 = 48_000.0;

/// Runs `noderack ARGS`; its stdout (trimmed) when it succeeds, else its stderr.
fn noderack(args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_noderack")).args(args).output().expect("noderack runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

fn assert_bit_identical(a: &[Vec<f32>], b: &[Vec<f32>]) {
    assert_eq!(a.len(), b.len());
    for (channel, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()), "channel {channel} differs");
    }
}

/// A server playing the patch with files in `dir/sources`, with its store in `dir/store`.
fn server_with_files(dir: &Path, extra: &[&str]) -> (Server, PathBuf) {
    let patch = patch_with_files(&dir.join("sources"));
    let store = dir.join("store");
    let mut args = vec!["--store", store.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Server::with_file(&patch, &args), patch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_exported_by_one_server_plays_on_a_second_and_renders_the_same() {
    let dir = scratch_dir("bundle-two-servers");
    let (a, source) = server_with_files(&dir.join("a"), &[]);
    let midi = two_notes_midi(&dir, "notes.mid");
    let reference = render_patch(&source, &midi, SR, 48_000);
    assert!(rms(&reference[0]) > 0.05);

    let c = client();
    let response = c.get(a.url("/bundle")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let id = response.headers()["x-bundle-id"].to_str().unwrap().to_string();
    let bytes = response.bytes().await.unwrap().to_vec();
    let exported = Bundle::from_bytes(&bytes, "export").unwrap();
    assert_eq!(exported.id().as_str(), id);

    // The second server has never seen the files; the originals go away too.
    std::fs::remove_dir_all(dir.join("a").join("sources")).unwrap();
    let b_store = dir.join("b-store");
    let b = Server::start(&["--store", b_store.to_str().unwrap()]);
    let (status, reply) =
        call(c.post(b.url("/bundle")).header("content-type", "application/x-noderack-bundle").body(bytes)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["id"], json!(id));
    let (_, graph_b) = graph(&c, &b).await;
    let kinds: Vec<&str> = graph_b["nodes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["midi-in", "sampler", "sampler", "mixer", "output"]);

    let installed = b_store.join("bundles").join(&id).join("patch.json");
    assert_bit_identical(&reference, &render_patch(&installed, &midi, SR, 48_000));

    // The second server exports what it plays again: the same files, whatever their paths.
    let again = c.get(b.url("/bundle")).send().await.unwrap().bytes().await.unwrap();
    let again = Bundle::from_bytes(&again, "re-export").unwrap();
    let hashes = |b: &Bundle| b.manifest().files.values().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(hashes(&again), hashes(&exported));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_publishes_searches_fetches_by_verified_id_and_forks() {
    let dir = scratch_dir("bundle-registry");
    let (server, patch) = server_with_files(&dir, &[]);
    let registry = server.base.trim_end_matches("/api/v1").to_string();
    let midi = two_notes_midi(&dir, "notes.mid");
    let reference = render_patch(&patch, &midi, SR, 48_000);

    // Publish a patch file (bundled on the way); publishing it again changes nothing.
    let id = noderack(&["patch", "publish", patch.to_str().unwrap(), "--registry", &registry]).unwrap();
    assert_eq!(id.len(), 64);
    let again = noderack(&["patch", "publish", patch.to_str().unwrap(), "--registry", &registry]).unwrap();
    assert_eq!(again, id);

    // Search by words of the name or description, any case.
    let found = noderack(&["patch", "search", "SINES", "--registry", &registry]).unwrap();
    assert!(found.starts_with(&id), "{found}");
    let none = noderack(&["patch", "search", "sines", "trombone", "--registry", &registry]).unwrap();
    assert!(none.is_empty(), "{none}");

    // Fetch by id into a folder; the installed patch renders like the original.
    let into = dir.join("fetched");
    let installed =
        noderack(&["patch", "fetch", &id, "--registry", &registry, "--into", into.to_str().unwrap()]).unwrap();
    assert_bit_identical(&reference, &render_patch(Path::new(&installed), &midi, SR, 48_000));

    // Fork: a new id, the parent recorded, listed beside the original.
    let fork = noderack(&["patch", "fork", &id, "--name", "Sines, my take", "--registry", &registry]).unwrap();
    assert_ne!(fork, id);
    let c = client();
    let (status, info) = call(c.get(server.url(&format!("/registry/{fork}/info")))).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["entry"]["parent"], json!(id));
    assert_eq!(info["entry"]["name"], json!("Sines, my take"));
    let (_, listed) = call(c.get(server.url("/registry?q=sines"))).await;
    assert_eq!(listed["bundles"].as_array().unwrap().len(), 2, "{listed}");

    // A fork with a patch that does not load is refused and not published.
    let (status, reply) = post(
        &c,
        server.url(&format!("/registry/{id}/fork")),
        json!({ "patch": { "format": "noderack-patch", "version": 1, "nodes": [ { "id": "x", "kind": "nope" } ] } }),
    )
    .await;
    assert_eq!(status, 422, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("nope"), "{reply}");

    // Import by URL: the second server downloads from the registry and checks the id.
    let b = Server::start(&["--store", dir.join("b-store").to_str().unwrap()]);
    let (status, reply) = post(&c, b.url("/bundle"), json!({ "url": server.url(&format!("/registry/{fork}")) })).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["id"], json!(fork));

    // Unknown ids, tampered uploads.
    let unknown = "0".repeat(64);
    assert_eq!(call(c.get(server.url(&format!("/registry/{unknown}")))).await.0, 404);
    assert_eq!(call(c.get(server.url("/registry/not-a-hash"))).await.0, 400);
    let mut bytes = c.get(server.url(&format!("/registry/{id}"))).send().await.unwrap().bytes().await.unwrap().to_vec();
    let at = bytes.windows(4).position(|w| w == b"RIFF").unwrap() + 100;
    bytes[at] ^= 1;
    let (status, reply) = call(c.post(server.url("/registry")).body(bytes.clone())).await;
    assert_eq!(status, 422, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("hash"), "{reply}");
    let (status, _) = call(c.post(b.url("/bundle")).body(bytes)).await;
    assert_eq!(status, 422);
    let (_, listed) = call(c.get(server.url("/registry"))).await;
    assert_eq!(listed["bundles"].as_array().unwrap().len(), 2, "nothing was published by the refusals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_routes_need_the_token_and_a_cli_import_verifies_the_file() {
    let dir = scratch_dir("bundle-token");
    let (server, patch) = server_with_files(&dir, &["--token", TOKEN]);
    let registry = server.base.trim_end_matches("/api/v1").to_string();
    let c = client();
    for (method, path) in [("GET", "/bundle"), ("GET", "/registry"), ("POST", "/registry"), ("POST", "/bundle")] {
        let request = c.request(method.parse().unwrap(), server.url(path));
        assert_eq!(call(request).await.0, 401, "{method} {path}");
    }
    let refused = noderack(&["patch", "publish", patch.to_str().unwrap(), "--registry", &registry]).unwrap_err();
    assert!(refused.contains("401"), "{refused}");
    let id =
        noderack(&["patch", "publish", patch.to_str().unwrap(), "--registry", &registry, "--token", TOKEN]).unwrap();

    // Export and import on the command line; a damaged file is refused with its name.
    let file = dir.join("song.nrbundle");
    let written = noderack(&["patch", "export", patch.to_str().unwrap(), "-o", file.to_str().unwrap()]).unwrap();
    assert_eq!(written, file.display().to_string());
    let installed = noderack(&["patch", "import", file.to_str().unwrap(), "--into", dir.join("in").to_str().unwrap()]);
    assert!(Path::new(&installed.unwrap()).is_file());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, bytes).unwrap();
    let refused = noderack(&["patch", "import", file.to_str().unwrap(), "--into", dir.join("in2").to_str().unwrap()]);
    assert!(refused.unwrap_err().contains("song.nrbundle"));
    assert!(!dir.join("in2").exists(), "nothing was installed");
    assert_eq!(id.len(), 64);
}
