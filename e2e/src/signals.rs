//! Teardown on SIGINT, SIGTERM and SIGHUP. Those signals would end the test
//! process without running destructors; instead a watcher thread, started by
//! the first control plane, stops every registered control plane — process
//! groups killed and reaped, interfaces deleted, run directories removed,
//! reapers dismissed — and then exits with 128 + the signal number.
//! (SIGKILL cannot be caught: the reaper and [`crate::cleanup_leftovers`]
//! cover it.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

use crate::error::{IoContext, Result};
use crate::netif;
use crate::process::{pid_t, signal_group};

/// How long the watcher lets components stop after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Pause between two checks for exited components.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// What one control plane owns, mirrored here so the watcher can clean up
/// without touching the fixture itself.
#[derive(Debug, Default)]
struct Owned {
    dir: PathBuf,
    groups: Vec<u32>,
    link: Option<String>,
    reaper: Option<u32>,
}

/// Registered control planes, and how many are tearing themselves down.
#[derive(Debug)]
struct State {
    owned: BTreeMap<u64, Owned>,
    tearing_down: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    owned: BTreeMap::new(),
    tearing_down: 0,
});
/// Signalled whenever a control plane finishes tearing itself down.
static TORN_DOWN: Condvar = Condvar::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// How long the watcher waits for teardowns already under way (a signal
/// that arrives while a fixture is being dropped) before exiting.
const CONCURRENT_TEARDOWN: Duration = Duration::from_secs(60);
/// Whether the watcher thread runs.
static WATCHER: Mutex<bool> = Mutex::new(false);

fn state() -> MutexGuard<'static, State> {
    // A panic while holding the lock leaves the state consistent enough to clean up.
    STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the watcher thread once per process; returns once its handlers are in place.
pub fn install() -> Result<()> {
    let mut installed = WATCHER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *installed {
        return Ok(());
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("rnats-e2e-signals".to_owned())
        .spawn(move || watch(&ready_tx))
        .context(|| "start the signal watcher thread".to_owned())?;
    ready_rx
        .recv()
        .unwrap_or_else(|_| Err("the signal watcher thread died".to_owned()))
        .map_err(std::io::Error::other)
        .context(|| "install the signal watcher".to_owned())?;
    *installed = true;
    Ok(())
}

/// The watcher thread: registers the handlers, reports on `ready`, waits for a
/// signal, tears down, exits.
fn watch(ready: &std::sync::mpsc::Sender<Result<(), String>>) {
    let setup = || -> std::io::Result<_> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let streams = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })?;
        Ok((runtime, streams))
    };
    let (runtime, (mut int, mut term, mut hup)) = match setup() {
        Ok(ok) => ok,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let signal = runtime.block_on(async move {
        tokio::select! {
            _ = int.recv() => SignalKind::interrupt(),
            _ = term.recv() => SignalKind::terminate(),
            _ = hup.recv() => SignalKind::hangup(),
        }
    });
    teardown_all();
    std::process::exit(128 + signal.as_raw_value());
}

/// Registers a new control plane with run directory `dir`; returns its id.
pub fn register(dir: PathBuf) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    state().owned.insert(
        id,
        Owned {
            dir,
            ..Owned::default()
        },
    );
    id
}

/// Records a process group of control plane `id`.
pub fn add_group(id: u64, pgid: u32) {
    if let Some(owned) = state().owned.get_mut(&id) {
        owned.groups.push(pgid);
    }
}

/// Records the interface of control plane `id`.
pub fn set_link(id: u64, name: &str) {
    if let Some(owned) = state().owned.get_mut(&id) {
        owned.link = Some(name.to_owned());
    }
}

/// Records the reaper of control plane `id`.
pub fn set_reaper(id: u64, pid: u32) {
    if let Some(owned) = state().owned.get_mut(&id) {
        owned.reaper = Some(pid);
    }
}

/// Control plane `id` starts tearing itself down: the watcher leaves it
/// alone, but waits for [`end_teardown`] before exiting the process.
pub fn begin_teardown(id: u64) {
    let mut state = state();
    state.owned.remove(&id);
    state.tearing_down += 1;
}

/// Ends what [`begin_teardown`] started.
pub fn end_teardown() {
    let mut state = state();
    state.tearing_down = state.tearing_down.saturating_sub(1);
    TORN_DOWN.notify_all();
}

/// Stops everything every registered control plane owns. Best effort: a
/// failing step does not stop the others, and the process exits right after.
fn teardown_all() {
    let owned: Vec<Owned> = std::mem::take(&mut state().owned).into_values().collect();
    let groups: Vec<Pid> = owned
        .iter()
        .flat_map(|o| o.groups.iter())
        .filter_map(|g| pid_t(*g).ok().map(Pid::from_raw))
        .collect();
    for group in &groups {
        let _ = signal_group(*group, Signal::SIGTERM);
    }
    // The group leaders are our children: reap them, so none is left a zombie.
    let deadline = Instant::now() + STOP_GRACE;
    let mut running = groups.clone();
    while !running.is_empty() && Instant::now() < deadline {
        running.retain(|pid| {
            matches!(
                waitpid(*pid, Some(WaitPidFlag::WNOHANG)),
                Ok(nix::sys::wait::WaitStatus::StillAlive)
            )
        });
        std::thread::sleep(EXIT_POLL);
    }
    for pid in running {
        let _ = signal_group(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
    }
    for group in &groups {
        let _ = signal_group(*group, Signal::SIGKILL);
    }
    for o in &owned {
        if let Some(link) = &o.link {
            let _ = netif::delete_link(link);
        }
        let _ = std::fs::remove_dir_all(&o.dir);
        // Nothing is left for the reaper to do.
        if let Some(pid) = o.reaper.and_then(|p| pid_t(p).ok()).map(Pid::from_raw) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
    // Let fixtures that were being dropped when the signal came finish.
    let _ = TORN_DOWN.wait_timeout_while(state(), CONCURRENT_TEARDOWN, |s| s.tearing_down > 0);
}
