//! End-to-end test support for rnats: a real Kubernetes control plane (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler, plus kubectl),
//! built from Go modules by `e2e/tools/build.sh` (`make e2e-tools`), run as
//! local processes on a bridge interface of its own, and always torn down.
//!
//! ```no_run
//! # async fn demo() -> rnats_e2e::Result<()> {
//! let cp = rnats_e2e::ControlPlane::start().await?;
//! let client = cp.client().await?; // admin, via the generated kubeconfig
//! # drop(client);
//! cp.teardown()?; // or just drop it
//! # Ok(())
//! # }
//! ```
//!
//! Running it needs root (or CAP_NET_ADMIN) for the interface, and `ip`
//! (iproute2) and `bash` on the PATH.

mod control_plane;
mod error;
mod health;
mod kubeconfig;
mod netif;
mod pki;
mod process;
mod reaper;
mod signals;
mod slot;
mod tools;

pub use control_plane::{APISERVER_PORT, ControlPlane};
pub use error::{Error, Result};
pub use netif::link_exists;
pub use slot::{Leftovers, cleanup_leftovers, runs_root};
pub use tools::{BIN_DIR_ENV, Tools};
