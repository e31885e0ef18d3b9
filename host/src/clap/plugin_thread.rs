//! A hosted plugin's main thread. CLAP instances are bound to the thread that created them
//! (`PluginInstance` is `!Send`): each hosted plugin gets a thread of its own that creates it,
//! runs whatever the control side asks of it (activation, deactivation, state, parameter
//! reads) as jobs, serves the plugin's `request_callback` and timers, restarts it when the audio thread
//! sends its processor back for that ([`super::restart`]), and destroys it when the host is
//! dropped. A job that panics is caught and reported; the thread goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use clack_host::prelude::*;

use super::handlers::{host_info, MainThreadState, NoderackHost, Requests};
use super::restart::MainEnd;
use super::scan::load_entry;
use super::ClapError;

/// How often the thread looks at the plugin's requests when no job comes.
const POLL: Duration = Duration::from_millis(5);

/// The hosted instance, as jobs see it.
pub type Instance = PluginInstance<NoderackHost>;

type Job = Box<dyn FnOnce(&mut Instance, &mut Option<MainEnd>) + Send>;

/// One hosted plugin and its main thread.
pub struct PluginThread {
    id: String,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl PluginThread {
    /// Starts a thread that creates plugin `id` from the file `path`.
    pub fn start(path: &Path, id: &str) -> Result<PluginThread, ClapError> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, created) = mpsc::channel::<Result<(), ClapError>>();
        let (path, owned_id): (PathBuf, String) = (path.to_path_buf(), id.to_string());
        let thread = std::thread::Builder::new()
            .name(format!("clap main {id}"))
            .spawn(move || {
                let mut instance = match instantiate(&path, &owned_id) {
                    Ok(instance) => instance,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                serve(&mut instance, &inbox);
                // Dropping an instance that is still active leaks it: deactivate first. A
                // processor still held elsewhere keeps it from being destroyed, by design.
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    if instance.is_active() {
                        let _ = instance.try_deactivate();
                    }
                }));
            })
            .map_err(|e| ClapError::Instance { id: id.to_string(), stage: "instantiation", reason: e.to_string() })?;
        let outcome = created.recv().unwrap_or_else(|_| {
            Err(ClapError::Instance { id: id.to_string(), stage: "instantiation", reason: "its thread ended".into() })
        });
        let host = PluginThread { id: id.to_string(), jobs: Some(jobs), thread: Some(thread) };
        outcome.map(|()| host)
    }

    /// The plugin's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs `job` on the plugin's main thread and waits for its result. A job that panics is
    /// an error naming `stage`.
    pub fn run<R: Send + 'static>(
        &self,
        stage: &'static str,
        job: impl FnOnce(&mut Instance) -> R + Send + 'static,
    ) -> Result<R, ClapError> {
        self.run_with_restarts(stage, move |instance, _| job(instance))
    }

    /// [`PluginThread::run`] for a job that also sees the thread's restart link (the main
    /// thread's end of the link of the processor that plays, if one does).
    pub fn run_with_restarts<R: Send + 'static>(
        &self,
        stage: &'static str,
        job: impl FnOnce(&mut Instance, &mut Option<MainEnd>) -> R + Send + 'static,
    ) -> Result<R, ClapError> {
        let failed = |reason: &str| ClapError::Instance { id: self.id.clone(), stage, reason: reason.to_string() };
        let (reply, result) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |instance, restarts| {
            let _ = reply.send(catch_unwind(AssertUnwindSafe(|| job(instance, restarts))));
        });
        self.jobs
            .as_ref()
            .ok_or_else(|| failed("the plugin's thread has ended"))?
            .send(job)
            .map_err(|_| failed("the plugin's thread has ended"))?;
        match result.recv() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(failed("it panicked")),
            Err(_) => Err(failed("the plugin's thread has ended")),
        }
    }
}

impl Drop for PluginThread {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Creates plugin `id` of the file `path` on the calling thread (which becomes its main
/// thread); a panic while creating it is an error, not a crash.
pub fn instantiate(path: &Path, id: &str) -> Result<Instance, ClapError> {
    let entry = load_entry(path)?;
    let failed = |reason: String| ClapError::Instance { id: id.to_string(), stage: "instantiation", reason };
    let c_id = std::ffi::CString::new(id).map_err(|_| failed("the id holds a NUL".into()))?;
    catch_unwind(AssertUnwindSafe(|| {
        PluginInstance::<NoderackHost>::new(
            |_| Requests::new(),
            |requests| MainThreadState::new(requests),
            &entry,
            &c_id,
            &host_info(),
        )
    }))
    .map_err(|_| failed("it panicked".into()))?
    .map_err(|e| failed(e.to_string()))
}

/// Runs jobs, serves the plugin's callback requests and restarts it when its processor is
/// sent back for that, until the host is dropped.
fn serve(instance: &mut Instance, inbox: &mpsc::Receiver<Job>) {
    let mut restarts: Option<MainEnd> = None;
    loop {
        match inbox.recv_timeout(POLL) {
            Ok(job) => job(instance, &mut restarts),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let _ = catch_unwind(AssertUnwindSafe(|| super::handlers::fire_timers(instance, false)));
        if instance.access_shared_handler(|requests| Requests::take(&requests.callback)) {
            let _ = catch_unwind(AssertUnwindSafe(|| instance.call_on_main_thread_callback()));
        }
        if let Some(link) = restarts.as_mut() {
            if catch_unwind(AssertUnwindSafe(|| link.serve(instance))).is_err() {
                tracing::error!("a plugin panicked while restarting; it stays silent");
            }
        }
    }
    if let Some(link) = restarts.take() {
        let _ = catch_unwind(AssertUnwindSafe(|| link.close(instance)));
    }
}
