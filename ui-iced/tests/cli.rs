//! The `noderack-editor` command line: what it says when it cannot work (no patch, no server,
//! no display, a bad size), never a panic. (Its drawing is tested against a real server in
//! `server/tests/editor.rs`.)

use std::process::Command;

fn editor(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_noderack-editor"));
    command.args(args).env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").env_remove("WAYLAND_SOCKET");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("the editor runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.success(), stderr)
}

#[test]
fn it_says_what_it_needs_instead_of_failing_obscurely() {
    let (ok, said) = editor(&[], &[]);
    assert!(!ok && said.contains("give a patch to edit, or --connect URL"), "{said}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let shot = std::env::temp_dir().join(format!("noderack-editor-cli-{}.png", std::process::id()));
    let (ok, said) = editor(&["--connect", &url, "--screenshot", shot.to_str().unwrap()], &[]);
    assert!(!ok && said.contains("cannot be reached") && said.contains(&url), "{said}");
    assert!(!shot.exists(), "no image without a graph");

    let (ok, said) = editor(&["--connect", &url], &[]);
    assert!(!ok && said.contains("no display"), "{said}");

    let (ok, said) = editor(&["--connect", &url, "--screenshot", "x.png", "--size", "10x10"], &[]);
    assert!(!ok && said.contains("64 to 8192"), "{said}");
}
