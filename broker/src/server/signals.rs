//! Process signals, as nats-server handles them: SIGINT stops; SIGTERM stops unless lame duck
//! mode is running (so a Kubernetes preStop can drain); SIGUSR1 reopens the log file; SIGUSR2
//! starts lame duck mode; SIGHUP reloads the configuration.

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use super::{ReloadContext, Server, lame_duck, reload};

/// Handles signals until the server shuts down.
pub async fn handle_signals(server: Arc<Server>, ctx: Arc<ReloadContext>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = server.shutdown.cancelled() => return Ok(()),
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
