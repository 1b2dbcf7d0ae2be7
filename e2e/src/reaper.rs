//! The reaper: a small bash process, in its own process group and deaf to
//! SIGINT/SIGTERM/SIGHUP, that learns over a pipe which process groups, paths
//! and interfaces a control plane owns. When the pipe closes without a
//! `done` line — the test process died without tearing down, even by SIGKILL —
//! it kills the groups, deletes the interfaces and removes the paths. A normal
//! teardown does all that itself and then dismisses the reaper with `done`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// How often `dismiss` checks whether the reaper has exited.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// The reaper program. Protocol: one `KIND ARG` line per resource, where KIND
/// is `group` (a process group id), `link` (an interface) or `path`; `done`
/// means "all cleaned up, exit". End of input without `done` means clean up.
const SCRIPT: &str = r#"
trap '' HUP INT TERM PIPE
groups=() links=() paths=()
while read -r kind arg; do
    case "$kind" in
        group) groups+=("$arg") ;;
        link) links+=("$arg") ;;
        path) paths+=("$arg") ;;
        done) exit 0 ;;
    esac
done
# A group leader that is gone or a zombie no longer runs.
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [[ -n "$state" && "$state" != Z ]]
}
for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
for _ in $(seq 100); do
    left=0
    for g in "${groups[@]}"; do running "$g" && left=1; done
    ((left)) || break
    sleep 0.1
done
for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
for l in "${links[@]}"; do ip link del "$l" 2>/dev/null; done
for p in "${paths[@]}"; do rm -rf -- "$p"; done
"#;

/// The handle of a running reaper.
#[derive(Debug)]
pub struct Reaper {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Reaper {
    /// Starts a reaper with nothing to watch yet.
    pub fn spawn() -> Result<Self> {
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(SCRIPT)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context(|| "start the reaper (bash)".to_owned())?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    /// The reaper's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kill process group `pgid` if the test process dies.
    pub fn watch_group(&mut self, pgid: u32) -> Result<()> {
        self.send(&format!("group {pgid}"))
    }

    /// Delete interface `name` if the test process dies.
    pub fn watch_link(&mut self, name: &str) -> Result<()> {
        self.send(&format!("link {name}"))
    }

    /// Remove `path` recursively if the test process dies.
    pub fn watch_path(&mut self, path: &Path) -> Result<()> {
        let path = path.to_str().ok_or_else(|| Error::Io {
            context: format!("path {} is not UTF-8", path.display()),
            source: std::io::ErrorKind::InvalidInput.into(),
        })?;
        self.send(&format!("path {path}"))
    }

    /// Tells the reaper everything is cleaned up and waits up to `timeout` for
    /// it to exit (it is killed after that).
    pub fn dismiss(&mut self, timeout: Duration) -> Result<()> {
        // If the reaper already died the write fails; waiting still reaps it.
        let _ = self.send("done");
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .child
                .try_wait()
                .context(|| "wait for the reaper".to_owned())?
                .is_some()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                self.child
                    .wait()
                    .context(|| "wait for the reaper".to_owned())?;
                return Ok(());
            }
            std::thread::sleep(EXIT_POLL);
        }
    }

    fn send(&mut self, line: &str) -> Result<()> {
        if line.contains('\n') {
            return Err(Error::Io {
                context: format!("reaper line {line:?} contains a newline"),
                source: std::io::ErrorKind::InvalidInput.into(),
            });
        }
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::Io {
            context: "the reaper was dismissed".to_owned(),
            source: std::io::ErrorKind::BrokenPipe.into(),
        })?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .context(|| format!("tell the reaper {line:?}"))
    }
}
