//! `rnats-server`: a drop-in for `nats-server` (same flags, config syntax and log lines).

use std::process::ExitCode;

use rnats_broker::cli::{FlagError, Flags, USAGE};
use rnats_broker::options::Options;
use rnats_broker::server::info::{COMPAT_VERSION, RNATS_VERSION};
use std::sync::Arc;

use rnats_broker::server::ReloadContext;
use rnats_broker::{config, launch, logging, server, signal_cmd};

/// jemalloc keeps freed pages for reuse (purged only after seconds of disuse). With glibc's
/// malloc, the 64 KiB read buffers whose payloads were handed to subscribers came back as
/// fresh pages: a page fault and a zeroed page per 4 KiB read into, 25 % more server CPU per
/// 16 KiB message (docs/PERFORMANCE.md, "The allocator").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let flags = match Flags::parse(std::env::args().skip(1)) {
        Ok(f) => f,
        // As nats-server (Go's flag package, then its usage that exits 0): a bad flag prints the
        // error and the usage and exits 0; a stray argument is an error that exits 1.
        Err(FlagError::Flag(err)) => {
            eprintln!("{err}\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(FlagError::Command(cmd)) => {
            eprintln!("nats-server: unrecognized command: {cmd:?}");
            return ExitCode::from(1);
        }
    };
    if flags.show_help {
        eprint!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if let Some(sig) = &flags.signal {
        return match signal_cmd::run(sig) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("nats-server: {err}");
                ExitCode::from(1)
            }
        };
    }
    if flags.show_version {
        // `-v` answers on stdout, as nats-server does (scripts capture it).
        #[allow(clippy::print_stdout)]
        {
            println!("rnats-server: v{RNATS_VERSION} (nats-server v{COMPAT_VERSION} compatible)");
        }
        return ExitCode::SUCCESS;
    }
    if flags.check_config {
        let Some(cfg) = &flags.config else {
            eprintln!(
                "nats-server: must specify [-c, --config] option to check configuration file syntax"
            );
            return ExitCode::from(1);
        };
        return match config::check(cfg) {
            Ok(report) => {
                eprintln!(
                    "nats-server: configuration file {} is valid ({})",
                    cfg.display(),
                    report.digest
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("nats-server: {}", config_error_text(&err));
                ExitCode::from(1)
            }
        };
    }
    let mut opts = Options::default();
    let mut warnings = Vec::new();
    if let Some(cfg) = &flags.config {
        match config::load(cfg, &mut opts) {
            Ok(w) => warnings = w,
            Err(err) => {
                eprintln!("nats-server: {}", config_error_text(&err));
                return ExitCode::from(1);
            }
        }
    }
    flags.apply(&mut opts);
    if let Err(err) = flags.apply_cluster(&mut opts) {
        eprintln!("nats-server: {err}");
        return ExitCode::from(1);
    }
    if let Err(err) = flags.tls.apply(&mut opts) {
        eprintln!("nats-server: {err}");
        return ExitCode::from(1);
    }
    if let Err(err) = config::validate(&opts) {
        eprintln!("nats-server: {err}");
        return ExitCode::from(1);
    }

    let log = logging::init();
    if let Err(err) = log.configure(&opts) {
        eprintln!("rnats-server: cannot open the log: {err}");
        return ExitCode::from(1);
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if flags.jetstream || flags.store_dir.is_some() {
        tracing::warn!("JetStream is not implemented yet in rnats; -js/--store_dir are ignored");
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("rnats-server: cannot start runtime: {err}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        // Before the pid and ports files exist: a signal sent right after is handled.
        let signals = match server::Signals::install() {
            Ok(s) => s,
            Err(err) => {
                tracing::error!("cannot handle signals: {err}");
                return ExitCode::from(1);
            }
        };
        let running = match launch::start(opts).await {
            Ok(r) => r,
            Err(err) => {
                tracing::error!("{err:#}");
                return ExitCode::from(1);
            }
        };
        let ctx = Arc::new(ReloadContext { flags, log });
        running.server.set_reload_context(ctx.clone());
        let signals = tokio::spawn(server::handle_signals(running.server.clone(), ctx, signals));
        running.wait().await;
        signals.abort();
        ExitCode::SUCCESS
    })
}

/// The error text as nats-server prints it: its list of config errors ends with a newline of
/// its own, so that case shows a blank line before exit.
fn config_error_text(err: &config::ConfigError) -> String {
    match err {
        config::ConfigError::Invalid { .. } => format!("{err}\n"),
        _ => err.to_string(),
    }
}
