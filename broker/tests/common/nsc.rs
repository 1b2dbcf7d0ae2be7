//! The real `nsc` (built into the tool cache by `make test-deps`) making operator-mode
//! material in a scratch directory: operators, accounts, users, signing keys, revocations,
//! and the server config with the memory resolver (`nsc generate config --mem-resolver`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::TempDir;

/// `NSC_BIN`, or `nsc` in the tool cache (`RNATS_CACHE`, default `~/.cache/rnats`).
pub fn nsc_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NSC_BIN") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("RNATS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/rnats")
        });
    let p = cache.join("bin/nsc");
    assert!(
        p.exists(),
        "nsc not found at {}: run `make test-deps`",
        p.display()
    );
    p
}

/// One nsc store (`nsc -H DIR`): its config, data and keys in one scratch directory.
pub struct Nsc {
    pub dir: TempDir,
    bin: PathBuf,
}

impl Nsc {
    pub fn new(tag: &str) -> Nsc {
        Nsc {
            dir: TempDir::new(tag),
            bin: nsc_bin(),
        }
    }

    /// Runs `nsc -H <store> args...`; panics with its output when it fails. Returns stdout
    /// and stderr together (nsc reports on stderr).
    pub fn run(&self, args: &[&str]) -> String {
        let store = self.dir.path().join("nsc");
        let out = Command::new(&self.bin)
            .arg("-H")
            .arg(&store)
            .args(args)
            .env("NKEYS_PATH", store.join("keys"))
            .env("NSC_HOME", &store)
            .output()
            .expect("nsc runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "nsc {args:?} failed:\n{text}");
        text
    }

    /// The first public key (56 characters of base32 starting with `prefix`) on the line of
    /// nsc's output that contains `marker`.
    pub fn key_after(out: &str, marker: &str, prefix: char) -> String {
        let line = out
            .lines()
            .find(|l| l.contains(marker))
            .unwrap_or_else(|| panic!("no {marker:?} in:\n{out}"));
        line.split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| w.len() == 56 && w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no key in {line:?}"))
            .to_string()
    }

    /// The `.creds` file of `account`/`user` under operator `op`.
    pub fn creds(&self, op: &str, account: &str, user: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("nsc/creds/{op}/{account}/{user}.creds"))
    }

    /// `nsc generate config --mem-resolver` into `server.conf`; its path.
    pub fn server_config(&self) -> PathBuf {
        let path = self.dir.path().join("server.conf");
        self.run(&[
            "generate",
            "config",
            "--mem-resolver",
            "--force",
            "--config-file",
            &path.display().to_string(),
        ]);
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The user JWT and seed of a `.creds` file.
pub fn read_creds(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).expect("read creds");
    let mut blocks = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for w in lines.windows(3) {
        if w[0].starts_with("---") && w[0].contains("BEGIN") && w[2].starts_with("---") {
            blocks.push(w[1].trim().to_string());
        }
    }
    assert!(blocks.len() >= 2, "no JWT and seed in {}", path.display());
    (blocks[0].clone(), blocks[1].clone())
}
