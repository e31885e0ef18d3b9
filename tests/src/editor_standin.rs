//! A stand-in for `noderack-editor`, for tests of the CLAP plugin's editor window: a script
//! the plugin starts (named by `NODERACK_EDITOR`) that records its process id, its token and
//! its arguments, then waits as an open window would. The test then speaks to the plugin's
//! control server as the editor would ([`EditorApi`]).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::fixtures::{scratch_dir, write_text, ScratchDir};
use crate::wait_until;

/// The stand-in's script, installed as the editor program of this test process.
pub struct StandInEditor {
    _dir: ScratchDir,
    record: PathBuf,
}

/// How the plugin started the stand-in.
pub struct Started {
    /// Its process id.
    pub pid: u32,
    /// The token it was given (`NODERACK_TOKEN`).
    pub token: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Started {
    /// The value after `option` in the arguments.
    pub fn option(&self, option: &str) -> Option<&str> {
        let at = self.args.iter().position(|a| a == option)?;
        self.args.get(at + 1).map(String::as_str)
    }

    /// Whether the process still runs (ended but not yet waited for by its parent, a zombie,
    /// counts as ended).
    pub fn runs(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // The state follows the command's closing parenthesis: `pid (comm) S …`.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        state.is_some_and(|s| s != 'Z' && s != 'X')
    }
}

impl StandInEditor {
    /// Writes the script and names it in `NODERACK_EDITOR` (read when a plugin shows its
    /// editor: only tests that open one may run in the same process).
    pub fn install() -> StandInEditor {
        let dir = scratch_dir("editor-standin");
        let record = dir.join("started");
        let tmp = dir.join("started.tmp");
        let script = write_text(
            &dir,
            "noderack-editor",
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$$\" \"$NODERACK_TOKEN\" \"$@\" > '{}'\nmv '{}' '{}'\nexec sleep 600\n",
                tmp.display(),
                tmp.display(),
                record.display()
            ),
        );
        let made_executable = std::process::Command::new("chmod").arg("+x").arg(&script).status();
        assert!(made_executable.is_ok_and(|s| s.success()), "chmod +x {}", script.display());
        std::env::set_var("NODERACK_EDITOR", &script);
        StandInEditor { _dir: dir, record }
    }

    /// How the plugin last started the stand-in (waiting up to 10 s for it to start); the
    /// record is consumed, so that the next call waits for the next start.
    pub fn started(&self) -> Started {
        wait_until(Duration::from_secs(10), "the editor program started", || self.record.exists().then_some(()));
        let text = std::fs::read_to_string(&self.record).expect("the record reads");
        std::fs::remove_file(&self.record).expect("the record is consumed");
        let mut lines = text.lines().map(str::to_string);
        let pid = lines.next().and_then(|p| p.parse().ok()).expect("a process id");
        let token = lines.next().unwrap_or_default();
        Started { pid, token, args: lines.collect() }
    }
}

/// The plugin's control server, called as the editor calls it (blocking, with the token).
pub struct EditorApi {
    base: String,
    token: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl EditorApi {
    /// The API the stand-in was started with.
    pub fn of(started: &Started) -> EditorApi {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = started.option("--connect").expect("the editor is given --connect URL");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        EditorApi { base: format!("{url}/api/v1"), token: started.token.clone(), http: reqwest::Client::new(), runtime }
    }

    /// `method path` with a JSON `body` (if any), with the token when `authorized`: the status
    /// and the JSON answer, or `Err` when nothing answers.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        authorized: bool,
    ) -> Result<(u16, Value), String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if authorized {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|e| e.to_string())?;
            Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
        })
    }

    /// `GET path`, authorized.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None, true).expect("the control server answers")
    }

    /// `POST path` with `body`, authorized.
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body), true).expect("the control server answers")
    }
}
