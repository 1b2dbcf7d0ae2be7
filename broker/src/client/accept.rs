//! An accepted client socket up to its reader: the first INFO (with the nkey nonce), the
//! connection limit, for TLS the handshake in nats-server's order (INFO in plaintext, then
//! the handshake; or the handshake first with `handshake_first`), then the writer and reader
//! tasks, and the cleanup when they end.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::conn::Conn;
use super::direct::{self, DirectWriter};
use super::{ClientShared, CloseReason, writer};
use crate::auth::{self, Transport};
use crate::server::Server;
use crate::tls::{self, TlsConfig};

/// The error a client over the connection limit gets before the close.
const MAX_CONNECTIONS_ERR: &[u8] = b"-ERR 'maximum connections exceeded'\r\n";

/// Serves one accepted client connection until it closes.
pub async fn serve(server: Arc<Server>, stream: TcpStream, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let opts = server.options();
    let cid = server.next_cid();
    let shared = Arc::new(ClientShared::new(
        cid,
        addr,
        &server,
        server.global_account(),
    ));
    tracing::debug!("{} - Client connection created", shared.label());
    let nonce = if server.auth().nonce_required() {
        auth::new_nonce()
    } else {
        String::new()
    };
    let info = server.first_client_info(cid, &addr.ip().to_string(), &nonce);
    if let Some(tls) = &opts.tls {
        return serve_tls(server.clone(), shared, stream, tls, info, nonce).await;
    }
    shared.set_transport(Transport {
        nonce,
        peer_cert: None,
        tls: None,
    });
    let (rd, wr) = stream.into_split();
    shared.outbound.push_proto(&info);
    shared.outbound.wake();
    let direct = Arc::new(DirectWriter::new(wr));
    shared.set_direct(direct.clone());
    let writer = tokio::spawn(direct::run(shared.clone(), direct, opts.write_deadline));
    if !server.register_client(&shared) {
        shared.outbound.push_proto(MAX_CONNECTIONS_ERR);
        tracing::error!("{} - maximum connections exceeded", shared.label());
        shared.close(CloseReason::MaxConnectionsExceeded);
    } else {
        Conn::new(server.clone(), shared.clone()).run(rd).await;
    }
    finish(&server, &shared, Some(writer)).await;
}

/// The TLS path: INFO (unless TLS first), the connection limit, the handshake, then the
/// reader and writer over the TLS session. Writes before the handshake go straight to the
/// socket, as nats-server's `sendProtoNow`.
async fn serve_tls(
    server: Arc<Server>,
    shared: Arc<ClientShared>,
    mut stream: TcpStream,
    tls: &TlsConfig,
    info: Vec<u8>,
    nonce: String,
) {
    let deadline = server.options().write_deadline;
    let mut tls_first = tls.settings.handshake_first;
    if let (true, Some(delay)) = (tls_first, tls.settings.fallback_delay)
        && !tls::peek_first_byte(&stream, delay).await
    {
        // No ClientHello within the delay: serve a classic client (INFO, then TLS).
        tls_first = false;
    }
    if !tls_first && !write_now(&mut stream, &info, deadline).await {
        shared.close(CloseReason::WriteError);
        return finish(&server, &shared, None).await;
    }
    if !server.register_client(&shared) {
        tracing::error!("{} - maximum connections exceeded", shared.label());
        write_now(&mut stream, MAX_CONNECTIONS_ERR, deadline).await;
        shared.close(CloseReason::MaxConnectionsExceeded);
        return finish(&server, &shared, None).await;
    }
    let Some(done) = tls::handshake(tls, stream, &shared.label()).await else {
        shared.close(CloseReason::TlsHandshakeError);
        return finish(&server, &shared, None).await;
    };
    let session = crate::tls::TlsSession::of(done.stream.get_ref().1, tls_first);
    shared.set_transport(Transport {
        nonce,
        peer_cert: done.peer,
        tls: Some(session),
    });
    if tls_first {
        shared.outbound.push_proto(&info);
        shared.outbound.wake();
    }
    let (rd, wr) = tokio::io::split(done.stream);
    run_conn(server, shared, rd, wr).await;
}

/// Starts the writer on `wr`, reads from `rd` until the connection closes, and cleans up.
async fn run_conn<R, W>(server: Arc<Server>, shared: Arc<ClientShared>, rd: R, wr: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let deadline = server.options().write_deadline;
    let writer = tokio::spawn(writer::run(shared.clone(), wr, deadline));
    Conn::new(server.clone(), shared.clone()).run(rd).await;
    finish(&server, &shared, Some(writer)).await;
}

/// Writes `bytes` to the socket now, within the write deadline. False on failure.
async fn write_now(stream: &mut TcpStream, bytes: &[u8], deadline: std::time::Duration) -> bool {
    matches!(
        tokio::time::timeout(deadline, stream.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

/// Records the closed connection, drops its subscriptions, unregisters it and waits for the
/// writer to flush.
async fn finish(server: &Server, shared: &Arc<ClientShared>, writer: Option<JoinHandle<()>>) {
    if let Some(sys) = server.system() {
        sys.disconnect_event(server, shared);
    }
    server.closed.record(shared);
    let sids = shared.remove_all_subs();
    server.unregister_client(shared);
    if let Some(sys) = server.system() {
        sys.client_gone(server, shared);
    }
    if let Some(w) = writer {
        let _ = w.await;
    }
    tracing::debug!(
        "{} - Client connection closed: {}",
        shared.label(),
        shared
            .close_reason()
            .unwrap_or(CloseReason::ClientClosed)
            .as_str()
    );
    if super::trace::enabled() {
        let label = shared.label();
        for sid in sids {
            super::trace::delsub(&label, &sid);
        }
    }
}
