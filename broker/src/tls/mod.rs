//! TLS (rustls, ring provider): what `tls {}` and the `--tls*` flags configure
//! ([`TlsSettings`]), the client-port server configuration built from it ([`TlsConfig`], as
//! nats-server's `GenTLSConfig`), the upgrade of an accepted socket (`accept`), and route TLS
//! (`route`: both sides of `cluster { tls {} }`).

mod accept;
mod flags;
mod load;
pub mod route;
mod route_verify;
mod session;
mod verify;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use accept::{Handshake, handshake, peek_first_byte};
pub use flags::TlsFlags;
pub use route::RouteTls;
pub use session::{PeerCertInfo, TlsSession};
pub use verify::{pinned_cert_ok, spki_sha256_hex};

/// Time a client has to complete the TLS handshake (`TLS_TIMEOUT`, 2 s).
pub const DEFAULT_TLS_TIMEOUT: Duration = Duration::from_secs(2);

/// With `handshake_first: auto`, how long the server waits for a ClientHello before it falls
/// back to sending INFO first (`DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY`, 50 ms).
pub const DEFAULT_HANDSHAKE_FIRST_FALLBACK: Duration = Duration::from_millis(50);

/// Lowest TLS version a client may use (`min_version`). rustls speaks 1.2 and 1.3 only, and
/// nats-server refuses anything lower too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinVersion {
    #[default]
    Tls12,
    Tls13,
}

/// The `tls {}` block (or the `--tls*` flags) as configured, before any file is read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Require and verify a client certificate (`verify`, implied by `verify_and_map`).
    pub verify: bool,
    /// Map the client certificate's subject or SAN to a configured user (`verify_and_map`).
    pub map: bool,
    /// Routes only: a peer is authorized by a DNS name of its certificate matching a configured
    /// route's host (`verify_cert_and_check_known_urls`).
    pub check_known_urls: bool,
    /// Handshake deadline; zero means [`DEFAULT_TLS_TIMEOUT`].
    pub timeout: Duration,
    /// TLS before INFO (`handshake_first`).
    pub handshake_first: bool,
    /// With `handshake_first`: how long to wait for a ClientHello before sending INFO first
    /// (`"auto"` or a duration); `None` means TLS first only.
    pub fallback_delay: Option<Duration>,
    /// Hex SHA-256 digests of the client certificates' SubjectPublicKeyInfo that may connect
    /// (`pinned_certs`, lower case); `None` when not configured.
    pub pinned_certs: Option<BTreeSet<String>>,
    pub min_version: MinVersion,
    /// Do not verify the certificate chain and name of a server this server dials (`insecure`;
    /// only routes dial with TLS here).
    pub insecure: bool,
}

/// A built client TLS configuration: the settings, the rustls server config made from the
/// files they name, and a digest of those files' contents (so a reload that finds new
/// certificates under the same names counts as a change).
#[derive(Clone)]
pub struct TlsConfig {
    pub settings: TlsSettings,
    pub server: Arc<rustls::ServerConfig>,
    material: [u8; 32],
    /// When the server's certificate expires (`/varz` `tls_cert_not_after`).
    pub cert_not_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings && self.material == other.material
    }
}

impl TlsConfig {
    /// Reads the files and builds the rustls configuration. The error texts are those of
    /// nats-server's `GenTLSConfig` (e.g. `missing 'key_file' in TLS configuration`).
    pub fn build(settings: TlsSettings) -> Result<TlsConfig, String> {
        let built = load::server_config(&settings)?;
        Ok(TlsConfig {
            settings,
            server: Arc::new(built.config),
            material: built.digest,
            cert_not_after: built.not_after,
        })
    }

    /// The handshake deadline in force.
    pub fn timeout(&self) -> Duration {
        if self.settings.timeout.is_zero() {
            DEFAULT_TLS_TIMEOUT
        } else {
            self.settings.timeout
        }
    }

    /// Whether clients must present a verified certificate (INFO's `tls_verify`).
    pub fn verify(&self) -> bool {
        self.settings.verify
    }
}

/// nats-server's notice after the client listener is up.
pub fn log_listener(tls: Option<&TlsConfig>) {
    let Some(tls) = tls else {
        return;
    };
    tracing::info!("TLS required for client connections");
    if tls.settings.handshake_first && tls.settings.fallback_delay.is_none() {
        tracing::warn!(
            "Clients that are not using \"TLS Handshake First\" option will fail to connect"
        );
    }
}

/// After a reload: whether a connection's certificate is still among the pins (true without
/// TLS or pins configured; a connection without a certificate fails as in nats-server).
pub fn pinned_cert_ok_for(opts: &crate::options::Options, t: &crate::auth::Transport) -> bool {
    opts.tls
        .as_ref()
        .is_none_or(|tls| pinned_cert_ok(&tls.settings, t.peer_cert.as_ref()))
}
