//! Process signals, as nats-server handles them: SIGINT stops; SIGTERM stops unless lame duck
//! mode is running (so a Kubernetes preStop can drain); SIGUSR1 reopens the log file; SIGUSR2
//! starts lame duck mode; SIGHUP reloads the configuration.

use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::{ReloadContext, Server, lame_duck, reload};

/// The signal streams, registered before the server writes its pid and ports files: a signal
/// sent as soon as those exist is then handled (tokio keeps it for the stream), not fatal.
pub struct Signals {
    term: Signal,
    int: Signal,
    usr1: Signal,
    usr2: Signal,
    hup: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            usr1: signal(SignalKind::user_defined1())?,
            usr2: signal(SignalKind::user_defined2())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// Handles signals until the server shuts down.
pub async fn handle_signals(server: Arc<Server>, ctx: Arc<ReloadContext>, sig: Signals) {
    let Signals {
        mut term,
        mut int,
        mut usr1,
        mut usr2,
        mut hup,
    } = sig;
    loop {
        tokio::select! {
            _ = server.shutdown.cancelled() => return,
            _ = int.recv() => {
                tracing::info!("Trapped \"interrupt\" signal");
                server.shutdown_now();
            }
            _ = term.recv() => {
                tracing::info!("Trapped \"terminated\" signal");
                if !server.is_lame_duck() {
                    server.shutdown_now();
                }
            }
            _ = usr1.recv() => {
                tracing::info!("Trapped \"user defined signal 1\" signal");
                if let Err(err) = ctx.log.reopen() {
                    tracing::error!("Failed to reopen log file: {err}");
                }
                tracing::info!("File log re-opened");
            }
            _ = usr2.recv() => {
                tracing::info!("Trapped \"user defined signal 2\" signal");
                tokio::spawn(lame_duck(server.clone()));
            }
            _ = hup.recv() => {
                tracing::info!("Trapped \"hangup\" signal");
                if let Err(err) = reload(&server, &ctx) {
                    tracing::error!("Failed to reload server configuration: {err}");
                }
            }
        }
    }
}
