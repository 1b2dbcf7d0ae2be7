//! Run directories and slots. Each control plane claims a slot N — the run
//! directory `<tmp>/rnats-e2e/cp-N` (created atomically), the interface
//! `rnats-e2eN` and the address 10.254.N.1 — and records in it who owns it (pid
//! and process start time) and which process groups it started. That record
//! lets [`cleanup_leftovers`] remove what a run killed outright left behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, IoContext, Result, at};
use crate::netif;
use crate::process::{pid_t, signal_group};

/// Slots tried when claiming one; each is a /24 and an interface.
const MAX_SLOTS: u8 = 32;

/// A run directory without an owner record younger than this is still being
/// claimed; older ones are debris.
const CLAIM_GRACE: Duration = Duration::from_secs(60);

/// Owner record: `<pid> <start time in clock ticks since boot>`.
const OWNER_FILE: &str = "owner";
/// Process groups started by the run, one per line.
const GROUPS_FILE: &str = "groups";

/// Where run directories live.
pub fn runs_root() -> PathBuf {
    std::env::temp_dir().join("rnats-e2e")
}

/// A claimed slot.
#[derive(Debug)]
pub struct Slot {
    index: u8,
    dir: PathBuf,
}

impl Slot {
    /// Claims the lowest free slot whose subnet the host does not route already.
    pub fn claim() -> Result<Self> {
        let root = runs_root();
        for index in 0..MAX_SLOTS {
            let dir = root.join(format!("cp-{index}"));
            match create_run_dir(&root, &dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).context(|| at("create", &dir)),
            }
            let slot = Self { index, dir };
            if netif::subnet_in_use(index)? {
                slot.release()?;
                continue;
            }
            let owner = format!("{} {}\n", std::process::id(), self_start_time()?);
            let owner_path = slot.dir.join(OWNER_FILE);
            std::fs::write(&owner_path, owner).context(|| at("write", &owner_path))?;
            return Ok(slot);
        }
        Err(Error::NoSlot(root.display().to_string()))
    }

    /// The slot number.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records process group `pgid` as started by this run.
    pub fn record_group(&self, pgid: u32) -> Result<()> {
        let path = self.dir.join(GROUPS_FILE);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{pgid}"))
            .context(|| at("append to", &path))
    }

    /// Removes the run directory and everything in it, and the root of all
    /// run directories if this was the last one.
    pub fn release(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(|| at("remove", &self.dir)),
        }
        remove_root_if_empty();
        Ok(())
    }
}

/// What [`cleanup_leftovers`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Run directories of dead owners removed.
    pub runs: usize,
    /// Process groups killed.
    pub groups: usize,
    /// Interfaces deleted.
    pub links: usize,
}

/// Removes what runs whose owner died left behind: kills their process groups
/// (only processes whose command line names the run directory, so a reused
/// pid is never hit), deletes their interfaces, removes their directories.
/// Runs of live owners — other tests, in this process or another — are kept.
pub fn cleanup_leftovers() -> Result<Leftovers> {
    let mut removed = Leftovers::default();
    let root = runs_root();
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e).context(|| at("list", &root)),
    };
    for entry in entries {
        let entry = entry.context(|| at("list", &root))?;
        let dir = entry.path();
        let Some(index) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.strip_prefix("cp-"))
            .and_then(|n| n.parse::<u8>().ok())
        else {
            continue;
        };
        if !is_abandoned(&dir)? {
            continue;
        }
        removed.groups += kill_groups_of(&dir)?;
        let link = netif::slot_link(index);
        if netif::link_exists(&link) {
            netif::delete_link(&link)?;
            removed.links += 1;
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed.runs += 1,
            // Another cleaner got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(|| at("remove", &dir)),
        }
    }
    remove_root_if_empty();
    Ok(removed)
}

/// Creates `dir` inside `root`, creating `root` as needed. The root is
/// removed whenever the last run releases its slot, so a claim can race with
/// that removal: it then tries again.
fn create_run_dir(root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut attempts = 0;
    loop {
        std::fs::create_dir_all(root)?;
        match std::fs::create_dir(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => attempts += 1,
            other => return other,
        }
    }
}

/// Removes the root of the run directories unless another run is in it.
fn remove_root_if_empty() {
    // Fails harmlessly (not empty, already gone) while other runs exist; a
    // claim racing with this retries through create_dir_all.
    let _ = std::fs::remove_dir(runs_root());
}

/// Whether the run in `dir` has no live owner.
fn is_abandoned(dir: &Path) -> Result<bool> {
    let owner_path = dir.join(OWNER_FILE);
    let owner = match std::fs::read_to_string(&owner_path) {
        Ok(owner) => owner,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Claimed a moment ago, or debris of a claim that died at once.
            let age = std::fs::metadata(dir)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            return Ok(age > CLAIM_GRACE);
        }
        Err(e) => return Err(e).context(|| at("read", &owner_path)),
    };
    let mut fields = owner.split_whitespace();
    let (Some(pid), Some(start)) = (fields.next(), fields.next()) else {
        return Ok(true);
    };
    Ok(start_time(pid)?.as_deref() != Some(start))
}

/// SIGKILLs each recorded process group of the run in `dir` whose leader
/// still runs with the run directory on its command line.
fn kill_groups_of(dir: &Path) -> Result<usize> {
    let groups_path = dir.join(GROUPS_FILE);
    let groups = match std::fs::read_to_string(&groups_path) {
        Ok(groups) => groups,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).context(|| at("read", &groups_path)),
    };
    let needle = dir.as_os_str().as_encoded_bytes();
    let mut killed = 0;
    for pgid in groups.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        let cmdline = std::fs::read(format!("/proc/{pgid}/cmdline")).unwrap_or_default();
        if cmdline.windows(needle.len()).any(|w| w == needle) {
            signal_group(Pid::from_raw(pid_t(pgid)?), Signal::SIGKILL)?;
            killed += 1;
        }
    }
    Ok(killed)
}

/// The start time of this process (field 22 of `/proc/self/stat`).
fn self_start_time() -> Result<String> {
    start_time("self")?.ok_or_else(|| Error::Io {
        context: "read /proc/self/stat".to_owned(),
        source: std::io::ErrorKind::InvalidData.into(),
    })
}

/// The start time of process `pid`, or `None` if it is gone or a zombie.
fn start_time(pid: &str) -> Result<Option<String>> {
    let path = format!("/proc/{pid}/stat");
    let stat = match std::fs::read_to_string(&path) {
        Ok(stat) => stat,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(|| format!("read {path}")),
    };
    // The command name (field 2) may contain spaces; fields after it are plain.
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return Ok(None);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 is index 19.
    match (fields.first(), fields.get(19)) {
        (Some(&"Z"), _) | (_, None) => Ok(None),
        (_, Some(start)) => Ok(Some((*start).to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_start_time_and_a_missing_one_has_none() {
        let own = start_time(&std::process::id().to_string()).expect("read own stat");
        assert_eq!(own, Some(self_start_time().expect("read self stat")));
        assert_eq!(start_time("999999999").expect("read a missing pid"), None);
    }
}
