//! The test harness of `noderack serve`: a server on the null backend and a free loopback
//! port, and small HTTP helpers. Shared by the server's integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub const PATCH: &str = r#"{
  "format": "noderack-patch", "version": 1, "name": "served",
  "nodes": [
    { "id": "keys", "kind": "midi-in" },
    { "id": "lead", "kind": "synth", "params": { "waveform": "sine" } },
    { "id": "out", "kind": "output" }
  ],
  "connections": [ { "from": "keys.events", "to": "lead.events" }, { "from": "lead.out", "to": "out.in" } ]
}"#;

pub const TOKEN: &str = "a-long-enough-test-token";

/// A `noderack serve` on the null backend and a free loopback port.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The OSC address, when started with `--osc`.
    pub osc: Option<std::net::SocketAddr>,
    /// The folder holding the patch, when the harness wrote it (removed after the server).
    pub scratch: Option<noderack_tests::fixtures::ScratchDir>,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Self::with_patch(PATCH, extra)
    }

    pub fn with_patch(patch_text: &str, extra: &[&str]) -> Server {
        let dir = noderack_tests::fixtures::scratch_dir(&format!("serve-{}", extra.join("-").replace(['/', ':'], "_")));
        let patch = dir.join("patch.json");
        std::fs::write(&patch, patch_text).unwrap();
        let mut server = Self::with_file(&patch, extra);
        server.scratch = Some(dir);
        server
    }

    pub fn with_file(patch: &std::path::Path, extra: &[&str]) -> Server {
        let mut args = vec!["--backend", "null"];
        args.extend_from_slice(extra);
        Self::launch(patch, &args)
    }

    /// `noderack serve PATCH --bind 127.0.0.1:0 ARGS` (ARGS choose the backend).
    pub fn launch(patch: &std::path::Path, args: &[&str]) -> Server {
        Self::launch_with_env(patch, args, &[])
    }

    /// [`Server::launch`] with environment variables `env` set for the server.
    pub fn launch_with_env(patch: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let extra = args;
        let mut child = Command::new(env!("CARGO_BIN_EXE_noderack"))
            .args(["serve", patch.to_str().unwrap(), "--bind", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("noderack starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_string();
        let osc = extra.contains(&"--osc").then(|| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix("osc on udp://")
                .unwrap_or_else(|| panic!("second line: {line:?}"))
                .parse()
                .unwrap()
        });
        Server { child, base, osc, scratch: None }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server as a service manager would (SIGTERM) and waits for it.
    pub fn terminate(&mut self) {
        // SAFETY: a signal to our own child, not yet waited for.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self) -> String {
        self.url("/ws").replacen("http://", "ws://", 1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Status and JSON body of a request.
pub async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })))
}

pub async fn post(c: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    call(c.post(url).header("content-type", "application/json").body(body.to_string())).await
}

pub async fn graph(c: &reqwest::Client, s: &Server) -> (u64, Value) {
    let (status, body) = call(c.get(s.url("/graph"))).await;
    assert_eq!(status, 200, "{body}");
    (body["revision"].as_u64().unwrap(), body["graph"].clone())
}
