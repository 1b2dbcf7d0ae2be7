//! Where the control-plane binaries are: built by `e2e/tools/build.sh` (`make
//! e2e-tools`) into `~/.cache/rnats/tools/<version>/bin`, outside the checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// Overrides the binary directory (otherwise asked from `e2e/tools/build.sh --bin-dir`).
pub const BIN_DIR_ENV: &str = "RNATS_E2E_BIN_DIR";

/// The binaries the fixture runs.
const REQUIRED: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
];

/// The directory holding etcd, kube-apiserver, kube-controller-manager,
/// kube-scheduler and kubectl.
#[derive(Clone, Debug)]
pub struct Tools {
    bin_dir: PathBuf,
}

impl Tools {
    /// Finds the binaries: `$RNATS_E2E_BIN_DIR`, else the cache directory of the
    /// versions pinned in `e2e/tools/*/go.mod`. Builds nothing.
    pub fn locate() -> Result<Self> {
        let bin_dir = match std::env::var_os(BIN_DIR_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => pinned_bin_dir()?,
        };
        let missing: Vec<_> = REQUIRED
            .iter()
            .filter(|name| !bin_dir.join(name).is_file())
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(Error::ToolsMissing(format!(
                "{} not in {}",
                missing.join(", "),
                bin_dir.display()
            )));
        }
        Ok(Self { bin_dir })
    }

    /// The path of binary `name` (e.g. `"kube-apiserver"`).
    pub fn path(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// The directory itself.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }
}

/// Asks the build script where the binaries of the pinned versions live.
fn pinned_bin_dir() -> Result<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/build.sh");
    let command = format!("bash {} --bin-dir", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .arg("--bin-dir")
        .output()
        .map_err(|e| Error::ToolsMissing(format!("{command}: {e}")))?;
    if !out.status.success() {
        return Err(Error::ToolsMissing(format!(
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
