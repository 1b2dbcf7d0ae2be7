//! One control-plane process: spawned in its own process group with its output
//! in a log file and its HOME/TMPDIR inside the run directory (so nothing it
//! writes outlives the run), stopped by signalling the whole group.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::{Error, IoContext, Result, at};

/// How often `stop` checks whether the process has exited.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// Lines of log quoted in errors.
pub const LOG_TAIL_LINES: usize = 40;

/// A running component (etcd, kube-apiserver, …).
#[derive(Debug)]
pub struct Component {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Component {
    /// Starts `program ARGS` as `name`, logging to `<run_dir>/<name>.log`.
    pub fn spawn(name: &str, program: &Path, args: &[String], run_dir: &Path) -> Result<Self> {
        let log = run_dir.join(format!("{name}.log"));
        let out = File::create(&log).context(|| at("create", &log))?;
        let err = out.try_clone().context(|| at("clone handle of", &log))?;
        let home = run_dir.join("home");
        let child = Command::new(program)
            .args(args)
            .current_dir(run_dir)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("TMPDIR", run_dir.join("tmp"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .context(|| at("start", program))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
        })
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process group id (the same as its pid: it leads its own group).
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the log tail if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        let status = self
            .child
            .try_wait()
            .context(|| format!("wait for {}", self.name))?;
        match status {
            None => Ok(()),
            Some(status) => Err(Error::Exited {
                name: self.name.clone(),
                status: status.to_string(),
                log: self.log_tail(LOG_TAIL_LINES),
            }),
        }
    }

    /// The last `lines` lines of the component's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// SIGTERM to the group, SIGKILL after `grace`, then reap the process and
    /// SIGKILL any member of the group that is left.
    pub fn stop(&mut self, grace: Duration) -> Result<()> {
        let group = Pid::from_raw(pid_t(self.pgid())?);
        signal_group(group, Signal::SIGTERM)?;
        let deadline = Instant::now() + grace;
        loop {
            if already_reaped(self.child.try_wait().map(|s| s.is_some()))
                .context(|| format!("wait for {}", self.name))?
            {
                break;
            }
            if Instant::now() >= deadline {
                signal_group(group, Signal::SIGKILL)?;
                already_reaped(self.child.wait().map(|_| true))
                    .context(|| format!("wait for {}", self.name))?;
                break;
            }
            std::thread::sleep(EXIT_POLL);
        }
        signal_group(group, Signal::SIGKILL)
    }
}

/// A wait that fails with ECHILD found a child that was already reaped (e.g. by a teardown
/// running concurrently on the signal-watcher thread): for stopping, that means it exited.
fn already_reaped(r: std::io::Result<bool>) -> std::io::Result<bool> {
    match r {
        Err(e) if e.raw_os_error() == Some(Errno::ECHILD as i32) => Ok(true),
        other => other,
    }
}

/// Signals process group `group`; a group that no longer exists is fine.
pub fn signal_group(group: Pid, signal: Signal) -> Result<()> {
    match killpg(group, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(Error::Io {
            context: format!("send {signal} to process group {group}"),
            source: e.into(),
        }),
    }
}

/// A pid as the kernel's signed type.
pub fn pid_t(pid: u32) -> Result<i32> {
    i32::try_from(pid).map_err(|_| Error::Io {
        context: format!("pid {pid} out of range"),
        source: std::io::ErrorKind::InvalidData.into(),
    })
}

/// The last `lines` lines of the file at `path` (empty if unreadable).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
