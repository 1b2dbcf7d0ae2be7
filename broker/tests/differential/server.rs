//! Starting a server under test and knowing when it is ready.

use super::*;

/// Ports handed out by this process, so two concurrent servers never race for one port.
pub(super) static USED_PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

pub(super) fn free_port() -> Result<u16, String> {
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?
            .port();
        let mut used = USED_PORTS
            .lock()
            .map_err(|_| "port set poisoned".to_string())?;
        if used.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
    Err("no free port found".into())
}

pub(super) static TEMP_SEQ: AtomicUsize = AtomicUsize::new(0);

pub(super) fn temp_path(tag: &str, ext: &str) -> PathBuf {
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("rnats-diff-{}-{n}-{tag}.{ext}", std::process::id()))
}

/// A running server, killed when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) port: u16,
    pub(super) log: PathBuf,
    pub(super) conf: Option<PathBuf>,
    /// The connection that proved the server ready; the case's first `connect` takes it, so
    /// no extra connection ever counts against limits such as max_connections.
    pub(super) first: Option<TcpStream>,
}

impl Server {
    pub(super) fn start(bin: &Path, config: Option<&str>, tag: &str) -> Result<Server, String> {
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let conf = match config {
                Some(text) => {
                    let p = temp_path(tag, "conf");
                    std::fs::write(&p, text).map_err(|e| format!("write {}: {e}", p.display()))?;
                    Some(p)
                }
                None => None,
            };
            let log = temp_path(tag, "log");
            let log_file = std::fs::File::create(&log)
                .map_err(|e| format!("create {}: {e}", log.display()))?;
            let mut cmd = Command::new(bin);
            cmd.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
            if let Some(c) = &conf {
                cmd.arg("-c").arg(c);
            }
            // Own process group, so a wrapper script's server dies with it (see Drop).
            let child = cmd
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            let mut server = Server {
                child,
                port,
                log,
                conf,
                first: None,
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    /// Polls a TCP connect until it succeeds and the listener is this child's (another
    /// process may have taken the port between our probe bind and the server's bind).
    pub(super) fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "server exited during startup ({status}):\n{}",
                    self.log_tail()
                ));
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port))
                && owns_listener(self.child.id(), self.port) != Some(false)
            {
                self.first = Some(stream);
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "server did not accept connections on 127.0.0.1:{} within {:?} (or another \
                     process owns that port):\n{}",
                    self.port,
                    STARTUP_DEADLINE,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Whether process `pid` (or one of its descendants, for wrapper scripts) holds the socket
/// listening on `port` (Linux `/proc`); `None` when that cannot be told.
pub(super) fn owns_listener(pid: u32, port: u16) -> Option<bool> {
    let suffix = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[1].ends_with(&suffix) && f[3] == "0A" {
                inodes.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let holds = |p: u32| {
        std::fs::read_dir(format!("/proc/{p}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|t| inodes.iter().any(|i| t.as_os_str() == i.as_str()))
            })
        })
    };
    if holds(pid) {
        return Some(true);
    }
    // Descendants: parent pid is the 4th field of /proc/<p>/stat (after the `(comm)`).
    let mut family = vec![pid];
    let procs: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(
            procs
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    Some(family[1..].iter().any(|&p| holds(p)))
}

impl Drop for Server {
    fn drop(&mut self) {
        // Kill the whole process group (the server and anything a wrapper started).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        if let Some(c) = &self.conf {
            let _ = std::fs::remove_file(c);
        }
    }
}
