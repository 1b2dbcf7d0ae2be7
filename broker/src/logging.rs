//! Logging in nats-server's format: `[pid] 2006/01/02 15:04:05.000000 [INF] message`, to
//! stderr or a log file (reopened on SIGUSR1), with `-D`/`-V` levels.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

/// Where log lines go and which levels pass; swappable at runtime (reload, reopen).
pub struct LogSink {
    file: Mutex<Option<File>>,
    path: Mutex<Option<PathBuf>>,
    /// 0 = info, 1 = debug, 2 = trace, 3 = debug+trace.
    level: AtomicU8,
    logtime: AtomicBool,
    pid: u32,
}

impl LogSink {
    /// Applies `-l`, `-D`, `-V`, `-T` (also on reload).
    pub fn configure(
        &self,
        path: Option<PathBuf>,
        debug: bool,
        trace: bool,
        logtime: bool,
    ) -> std::io::Result<()> {
        let file = match &path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        *self.file.lock() = file;
        *self.path.lock() = path;
        self.level
            .store(u8::from(debug) | (u8::from(trace) << 1), Ordering::Relaxed);
        self.logtime.store(logtime, Ordering::Relaxed);
        Ok(())
    }

    /// Reopens the log file (SIGUSR1, after log rotation).
    pub fn reopen(&self) -> std::io::Result<()> {
        let path = self.path.lock().clone();
        if let Some(p) = path {
            let f = OpenOptions::new().create(true).append(true).open(&p)?;
            *self.file.lock() = Some(f);
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

    fn write_line(&self, line: &str) {
        let mut file = self.file.lock();
        match file.as_mut() {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

/// Installs the global subscriber; returns the sink so flags and reloads can adjust it.
pub fn init() -> Arc<LogSink> {
    let sink = Arc::new(LogSink {
        file: Mutex::new(None),
        path: Mutex::new(None),
        level: AtomicU8::new(0),
        logtime: AtomicBool::new(true),
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
        let level = match *event.metadata().level() {
            Level::ERROR => "ERR",
            Level::WARN => "WRN",
            Level::INFO => "INF",
            Level::DEBUG => "DBG",
            Level::TRACE => "TRC",
        };
        let mut line = String::with_capacity(128);
        let _ = write!(line, "[{}] ", self.sink.pid);
        if self.sink.logtime.load(Ordering::Relaxed) {
            let now = chrono::Local::now();
            let _ = write!(line, "{} ", now.format("%Y/%m/%d %H:%M:%S%.6f"));
        }
        let _ = write!(line, "[{level}] ");
        let mut v = MessageVisitor {
            out: &mut line,
            first: true,
        };
        event.record(&mut v);
        line.push('\n');
        self.sink.write_line(&line);
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
