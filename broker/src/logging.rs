//! Logging in nats-server's format: `[pid] 2006/01/02 15:04:05.000000 [INF] message`, to
//! stderr, a log file (reopened on SIGUSR1) or syslog (local or remote), with `-D`/`-V` levels.

use std::fmt::Write as _;
use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

use crate::log_rotate::LogFile;
use crate::options::Options;

/// Where log lines go: stderr (default), a file, the local syslog or a remote syslog.
enum Dest {
    Stderr,
    File(LogFile),
    /// `/dev/log`, written as nats-server's Go syslog writer does for a local daemon.
    Syslog(UnixDatagram),
    /// `udp://host:port` (or `tcp://`), with the hostname in each line.
    Remote(RemoteSyslog),
}

enum RemoteSyslog {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

/// Syslog facility `LOG_DAEMON`, as nats-server uses.
const SYSLOG_DAEMON: u8 = 3 << 3;
/// Tag in syslog lines.
const SYSLOG_TAG: &str = "rnats-server";

/// Where log lines go and which levels pass; swappable at runtime (reload, reopen).
pub struct LogSink {
    dest: Mutex<Dest>,
    path: Mutex<Option<PathBuf>>,
    /// `log_size_limit` and `logfile_max_num` of the log file.
    rotation: Mutex<(u64, usize)>,
    /// 0 = info, 1 = debug, 2 = trace, 3 = debug+trace.
    level: AtomicU8,
    logtime: AtomicBool,
    logtime_utc: AtomicBool,
    pid: u32,
}

impl LogSink {
    /// Applies the logging options (`-l`, `-s`, `-r`, `-D`, `-V`, `-T`), also on reload. As in
    /// nats-server, a log file wins over a remote syslog, which wins over the local syslog.
    pub fn configure(&self, opts: &Options) -> std::io::Result<()> {
        let dest = if let Some(p) = &opts.log_file {
            Dest::File(LogFile::open(
                p,
                opts.log_size_limit,
                opts.log_max_num,
                self.pid,
                opts.logtime,
            )?)
        } else if let Some(url) = &opts.remote_syslog {
            Dest::Remote(connect_remote(url)?)
        } else if opts.syslog {
            let sock = UnixDatagram::unbound()?;
            sock.connect("/dev/log")?;
            Dest::Syslog(sock)
        } else {
            Dest::Stderr
        };
        *self.dest.lock() = dest;
        *self.path.lock() = opts.log_file.clone();
        *self.rotation.lock() = (opts.log_size_limit, opts.log_max_num);
        self.level.store(
            u8::from(opts.debug) | (u8::from(opts.trace) << 1),
            Ordering::Relaxed,
        );
        self.logtime.store(opts.logtime, Ordering::Relaxed);
        self.logtime_utc.store(opts.logtime_utc, Ordering::Relaxed);
        crate::client::trace::configure(opts.trace, opts.max_traced_msg_len);
        Ok(())
    }

    /// Reopens the log file (SIGUSR1, after log rotation).
    pub fn reopen(&self) -> std::io::Result<()> {
        let path = self.path.lock().clone();
        if let Some(p) = path {
            let (limit, max_num) = *self.rotation.lock();
            let time = self.logtime.load(Ordering::Relaxed);
            let f = LogFile::open(&p, limit, max_num, self.pid, time)?;
            *self.dest.lock() = Dest::File(f);
        }
        Ok(())
    }

    fn enabled(&self, level: &Level) -> bool {
        let l = self.level.load(Ordering::Relaxed);
        match *level {
            Level::TRACE => l & 2 != 0,
            Level::DEBUG => l & 1 != 0,
            _ => true,
        }
    }

    fn write(&self, level: &Level, line: &str, message: &str) {
        let mut dest = self.dest.lock();
        let _ = match &mut *dest {
            Dest::Stderr => std::io::stderr().write_all(line.as_bytes()),
            Dest::File(f) => f.write_line(line.as_bytes()),
            Dest::Syslog(sock) => {
                let stamp = chrono::Local::now().format("%b %e %H:%M:%S");
                let pri = SYSLOG_DAEMON | syslog_severity(level);
                let msg = format!("<{pri}>{stamp} {SYSLOG_TAG}[{}]: {message}\n", self.pid);
                sock.send(msg.as_bytes()).map(|_| ())
            }
            Dest::Remote(remote) => {
                let stamp =
                    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
                let host = hostname();
                let pri = SYSLOG_DAEMON | syslog_severity(level);
                let msg = format!(
                    "<{pri}>{stamp} {host} {SYSLOG_TAG}[{}]: {message}\n",
                    self.pid
                );
                match remote {
                    RemoteSyslog::Udp(s) => s.send(msg.as_bytes()).map(|_| ()),
                    RemoteSyslog::Tcp(s) => s.write_all(msg.as_bytes()),
                }
            }
        };
    }
}

/// Severity nats-server's syslog logger uses per level (trace goes out as notice).
fn syslog_severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO | Level::TRACE => 5,
        Level::DEBUG => 7,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// `udp://host:port`, `tcp://host:port` or bare `host:port` (UDP), as nats-server accepts.
fn connect_remote(url: &str) -> std::io::Result<RemoteSyslog> {
    let (scheme, addr) = match url.split_once("://") {
        Some((s, a)) => (s, a),
        None => ("udp", url),
    };
    match scheme {
        "tcp" => Ok(RemoteSyslog::Tcp(TcpStream::connect(addr)?)),
        "udp" => {
            let sock = UdpSocket::bind("0.0.0.0:0")?;
            sock.connect(addr)?;
            Ok(RemoteSyslog::Udp(sock))
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("unsupported remote syslog scheme {other:?}"),
        )),
    }
}

/// Installs the global subscriber; returns the sink so flags and reloads can adjust it.
pub fn init() -> Arc<LogSink> {
    let sink = Arc::new(LogSink {
        dest: Mutex::new(Dest::Stderr),
        path: Mutex::new(None),
        rotation: Mutex::new((0, 0)),
        level: AtomicU8::new(0),
        logtime: AtomicBool::new(true),
        logtime_utc: AtomicBool::new(false),
        pid: std::process::id(),
    });
    let layer = NatsFormat { sink: sink.clone() };
    let _ = tracing_subscriber::registry().with(layer).try_init();
    sink
}

struct NatsFormat {
    sink: Arc<LogSink>,
}

impl<S: Subscriber> Layer<S> for NatsFormat {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        self.sink.enabled(metadata.level())
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = level_tag(event.metadata().level());
        let mut line = String::with_capacity(128);
        let _ = write!(line, "[{}] ", self.sink.pid);
        if self.sink.logtime.load(Ordering::Relaxed) {
            const STAMP: &str = "%Y/%m/%d %H:%M:%S%.6f";
            if self.sink.logtime_utc.load(Ordering::Relaxed) {
                let _ = write!(line, "{} ", chrono::Utc::now().format(STAMP));
            } else {
                let _ = write!(line, "{} ", chrono::Local::now().format(STAMP));
            }
        }
        let _ = write!(line, "[{level}] ");
        let body_start = line.len();
        let mut v = MessageVisitor {
            out: &mut line,
            first: true,
        };
        event.record(&mut v);
        // Syslog lines carry their own time stamp: they get `[LVL] message` only.
        let message = format!("[{level}] {}", &line[body_start..]);
        line.push('\n');
        self.sink.write(event.metadata().level(), &line, &message);
    }
}

/// nats-server's level tags.
fn level_tag(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERR",
        Level::WARN => "WRN",
        Level::INFO => "INF",
        Level::DEBUG => "DBG",
        Level::TRACE => "TRC",
    }
}

/// Writes the message, then any structured fields as `key=value`.
struct MessageVisitor<'a> {
    out: &'a mut String,
    first: bool,
}

impl Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.out, "{value:?}");
        } else {
            let sep = if self.first && self.out.ends_with("] ") {
                ""
            } else {
                " "
            };
            let _ = write!(self.out, "{sep}{}={value:?}", field.name());
        }
        self.first = false;
    }
}
