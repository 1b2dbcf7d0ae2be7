//! Process signals, as nats-server handles them: SIGTERM/SIGINT stop the server.

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use super::Server;

/// Waits for a stop signal, then shuts the server down.
pub async fn handle_signals(server: Arc<Server>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let name = tokio::select! {
        _ = term.recv() => "terminated",
        _ = int.recv() => "interrupt",
        _ = server.shutdown.cancelled() => return Ok(()),
    };
    tracing::debug!("Trapped {name:?} signal");
    tracing::info!("Initiating Shutdown...");
    server.shutdown_now();
    Ok(())
}
