//! The error type of the e2e fixture: what failed, with enough context (paths,
//! commands, the tail of a component's log) to debug it from a CI log alone.

use std::path::Path;
use std::time::Duration;

/// Everything that can go wrong while starting, using or tearing down a control plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The control-plane binaries are not built for the pinned versions.
    #[error("e2e tools missing: {0}; run `make e2e-tools` (or set RNATS_E2E_BIN_DIR)")]
    ToolsMissing(String),

    /// A filesystem or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path involved.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },

    /// An external command (`ip`, the tools script) failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and stderr.
        detail: String,
    },

    /// Certificate or key generation failed.
    #[error("certificate generation: {0}")]
    Pki(#[from] rcgen::Error),

    /// A component did not become ready in time.
    #[error("{what} not ready after {:.0?}: {detail}", .after)]
    Timeout {
        /// The component or condition waited for.
        what: String,
        /// How long we waited.
        after: Duration,
        /// The last failed check, and the component's log tail.
        detail: String,
    },

    /// A component exited while the control plane was starting or running.
    #[error("{name} exited ({status}); last lines of its log:\n{log}")]
    Exited {
        /// Component name.
        name: String,
        /// Its exit status.
        status: String,
        /// Tail of its log.
        log: String,
    },

    /// Every fixture slot (address and run directory) is taken.
    #[error("no free control-plane slot under {0}")]
    NoSlot(String),

    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    /// The generated kubeconfig could not be loaded.
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),

    /// Several teardown steps failed; each is listed.
    #[error("teardown incomplete: {}", .0.join("; "))]
    Teardown(Vec<String>),
}

/// Result alias of the e2e fixture.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches "what was being done" to `std::io::Error`s.
pub(crate) trait IoContext<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}

/// `"<verb> <path>"`, the usual context of a file operation.
pub(crate) fn at(verb: &str, path: &Path) -> String {
    format!("{verb} {}", path.display())
}
