//! `rnats-server`: a drop-in for `nats-server` (same flags, config syntax and log lines).

use std::process::ExitCode;

use rnats_broker::cli::{Flags, USAGE};
use rnats_broker::options::Options;
use rnats_broker::server::info::{COMPAT_VERSION, RNATS_VERSION};
use std::sync::Arc;

use rnats_broker::server::ReloadContext;
use rnats_broker::{config, launch, logging, server, signal_cmd};

fn main() -> ExitCode {
    let flags = match Flags::parse(std::env::args().skip(1)) {
        Ok(f) => f,
        Err(err) => {
            eprintln!("{err}\n{USAGE}");
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
        eprintln!("rnats-server: v{RNATS_VERSION} (nats-server v{COMPAT_VERSION} compatible)");
        return ExitCode::SUCCESS;
    }
    if flags.check_config {
        let Some(cfg) = &flags.config else {
            eprintln!("nats-server: must specify a config file with -c to test it");
            return ExitCode::from(1);
        };
        return match config::check(cfg) {
            Ok(_) => {
                eprintln!("nats-server: configuration file {} is valid", cfg.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("nats-server: {err}");
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
                eprintln!("nats-server: {err}");
                return ExitCode::from(1);
            }
        }
    }
    flags.apply(&mut opts);
    if let Err(err) = config::validate(&opts) {
        eprintln!("nats-server: {err}");
        return ExitCode::from(1);
    }

    let log = logging::init();
    if let Err(err) = log.configure(opts.log_file.clone(), opts.debug, opts.trace, opts.logtime) {
        eprintln!("rnats-server: cannot open log file: {err}");
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
        let running = match launch::start(opts).await {
            Ok(r) => r,
            Err(err) => {
                tracing::error!("{err:#}");
                return ExitCode::from(1);
            }
        };
        let ctx = Arc::new(ReloadContext { flags, log });
        let signals = tokio::spawn(server::handle_signals(running.server.clone(), ctx));
        running.wait().await;
        signals.abort();
        ExitCode::SUCCESS
    })
}
