//! Lame duck mode (SIGUSR2, `--signal ldm`): stop accepting, tell clients (INFO `ldm:true`),
//! then after the grace period close them spread over the rest of `lame_duck_duration`, and
//! shut down — as nats-server does, so clients reconnect elsewhere without a thundering herd.

use std::sync::Arc;
use std::time::Duration;

use super::Server;
use crate::client::CloseReason;

/// Longest pause between two client closes (nats-server caps the interval at one second).
const MAX_CLOSE_INTERVAL: Duration = Duration::from_secs(1);

/// Runs lame duck mode to completion (the server is shut down at the end).
pub async fn lame_duck(server: Arc<Server>) {
    if !server.begin_lame_duck() {
        return;
    }
    tracing::info!("Entering lame duck mode, stop accepting new clients");
    // Peers withdraw this server's client URLs from their INFO (nats-server's
    // `sendLDMToRoutes`).
    let ldm_info = crate::route::info::route_info(&server, false);
    for r in server.routes.routes() {
        r.shared.outbound.push_proto(&ldm_info);
        r.shared.outbound.wake();
    }
    let opts = server.options();
    let clients = server.clients();
    if clients.is_empty() {
        server.shutdown_now();
        return;
    }
    for c in &clients {
        if c.async_info() {
            let info = server.client_info(c.cid, &c.addr.ip().to_string(), None, true);
            c.outbound.push_proto(&info);
            c.outbound.wake();
        }
    }
    let grace = opts.lame_duck_grace_period;
    let spread = opts
        .lame_duck_duration
        .saturating_sub(grace)
        .max(Duration::from_secs(1));
    let n = clients.len() as u32;
    let (interval, batch) = close_pacing(spread, n);
    tokio::select! {
        _ = tokio::time::sleep(grace) => {}
        _ = server.shutdown.cancelled() => return,
    }
    tracing::info!("Closing existing clients");
    for (i, c) in clients.iter().enumerate() {
        c.close(CloseReason::ServerShutdown);
        if i + 1 == clients.len() {
            break;
        }
        if batch <= 1 || i % batch == 0 {
            let half = interval / 2;
            let wait = half + interval.saturating_sub(half).mul_f64(fastrand::f64());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = server.shutdown.cancelled() => return,
            }
        }
    }
    server.shutdown_now();
}

/// Interval between closes and how many clients to close per pause, for `n` clients over
/// `spread` (nats-server: `dur / n`, at least 1ns and at most 1s, batched when tiny).
fn close_pacing(spread: Duration, n: u32) -> (Duration, usize) {
    if n == 0 {
        return (Duration::ZERO, 1);
    }
    let per = spread / n;
    if per.is_zero() {
        let batch = (u128::from(n) / spread.as_nanos().max(1)) as usize;
        return (Duration::from_nanos(1), batch.max(1));
    }
    (per.min(MAX_CLOSE_INTERVAL), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_spreads_and_caps() {
        assert_eq!(
            close_pacing(Duration::from_secs(10), 5),
            (Duration::from_secs(1), 1)
        );
        assert_eq!(
            close_pacing(Duration::from_secs(1), 4),
            (Duration::from_millis(250), 1)
        );
        assert_eq!(close_pacing(Duration::from_secs(1), 0), (Duration::ZERO, 1));
    }
}
