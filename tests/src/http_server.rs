//! A loopback HTTP/1.1 server for library tests: serves a folder on `127.0.0.1:<free port>` from
//! a thread, counts requests per path, and injects faults (a connection dropped mid-file,
//! corrupted bytes, 404, a stalled response, replaced content). Plain `std::net`; every response
//! closes its connection.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What goes wrong with a response.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Announce the full length, send half the body, close the connection.
    DropMidFile,
    /// Send the whole body with one byte changed.
    Corrupt,
    /// Answer 404.
    NotFound,
    /// Send the headers, then nothing for this long (or until the server stops), then the body.
    Stall(Duration),
    /// Send these bytes instead of the file (which need not exist).
    Replace(Vec<u8>),
}

struct Injected {
    path: String,
    fault: Fault,
    /// Responses left to spoil; `None` spoils every one.
    remaining: Option<usize>,
}

struct State {
    root: PathBuf,
    faults: Mutex<Vec<Injected>>,
    requests: Mutex<HashMap<String, usize>>,
    stopping: AtomicBool,
    /// Wakes stalled responses when the server stops.
    stop_signal: (Mutex<bool>, Condvar),
}

/// A running server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves the files below `root`.
    pub fn serve(root: &Path) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            root: root.to_path_buf(),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            stop_signal: (Mutex::new(false), Condvar::new()),
        });
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || handle(&state, stream));
            }
        });
        TestServer { addr, state, thread: Some(thread) }
    }

    /// The base URL, ending with `/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Spoils the next `times` responses for `path` (relative, like `FluidR3_GM/index.json`), or
    /// every one with `None`.
    pub fn inject(&self, path: &str, fault: Fault, times: Option<usize>) {
        self.state.faults.lock().unwrap().push(Injected { path: path.to_string(), fault, remaining: times });
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.state.faults.lock().unwrap().clear();
    }

    /// Requests received for `path` (relative).
    pub fn requests(&self, path: &str) -> usize {
        self.state.requests.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Requests received in all.
    pub fn total_requests(&self) -> usize {
        self.state.requests.lock().unwrap().values().sum()
    }

    /// Stops accepting connections and wakes stalled responses; the port is closed on return.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        let (lock, signal) = &self.state.stop_signal;
        *lock.lock().unwrap() = true;
        signal.notify_all();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn handle(state: &State, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(path) = read_request_path(&stream) else { return };
    *state.requests.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        faults.iter_mut().find(|f| f.path == path && f.remaining != Some(0)).map(|f| {
            if let Some(n) = &mut f.remaining {
                *n -= 1;
            }
            f.fault.clone()
        })
    };
    let file = (!path.split('/').any(|s| s == ".." || s.is_empty())).then(|| state.root.join(&path));
    let body = file.and_then(|f| std::fs::read(f).ok());
    let _ = match (fault, body) {
        (Some(Fault::Replace(bytes)), _) => respond(&mut stream, 200, &bytes),
        (Some(Fault::NotFound), _) | (None, None) | (Some(_), None) => respond(&mut stream, 404, b"not found"),
        (None, Some(body)) => respond(&mut stream, 200, &body),
        (Some(Fault::Corrupt), Some(mut body)) => {
            let middle = body.len() / 2;
            if let Some(b) = body.get_mut(middle) {
                *b ^= 0x5a;
            }
            respond(&mut stream, 200, &body)
        }
        (Some(Fault::DropMidFile), Some(body)) => {
            let _ = write_head(&mut stream, 200, body.len());
            let _ = stream.write_all(&body[..body.len() / 2]);
            let _ = stream.flush();
            stream.shutdown(Shutdown::Both)
        }
        (Some(Fault::Stall(for_how_long)), Some(body)) => {
            let _ = write_head(&mut stream, 200, body.len());
            let _ = stream.flush();
            let (lock, signal) = &state.stop_signal;
            let stopped = lock.lock().unwrap();
            let _ = signal.wait_timeout_while(stopped, for_how_long, |stopped| !*stopped).unwrap();
            stream.write_all(&body)
        }
    };
}

/// The request's path without its leading `/`, after reading the whole head.
fn read_request_path(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.trim_start_matches('/').to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    Some(path)
}

fn write_head(stream: &mut TcpStream, status: u16, length: usize) -> std::io::Result<()> {
    let reason = if status == 200 { "OK" } else { "Not Found" };
    write!(stream, "HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
}

fn respond(stream: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    write_head(stream, status, body.len())?;
    stream.write_all(body)?;
    stream.flush()
}
