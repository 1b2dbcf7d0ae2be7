//! The fixture's teardown guarantee, checked from outside: no process, run
//! directory or interface survives a dropped fixture, a test process ended by
//! SIGTERM (signal watcher) or SIGKILL (reaper), or a SIGKILL of both the test
//! process and its reaper (cleanup at the next start).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rnats_e2e::{ControlPlane, cleanup_leftovers, link_exists};

/// One control plane at a time: the machine has 2 cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// Set for the helper process that holds a control plane until killed.
const HOLD_ENV: &str = "RNATS_E2E_HOLD";
/// The helper's report line: `RNATS_E2E_HOLDING <reaper> <link> <dir> <g1,g2,…>`.
const HOLDING: &str = "RNATS_E2E_HOLDING";

/// Time the holder process gets to start its control plane (its own
/// readiness deadlines fire earlier).
const HOLDER_START: Duration = Duration::from_secs(600);
/// Time the reaper or the cleanup gets to remove everything.
const GONE_DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// What one control plane owned, as seen from outside.
#[derive(Debug)]
struct Owned {
    dir: PathBuf,
    link: String,
    groups: Vec<u32>,
    reaper: u32,
}

impl Owned {
    fn of(cp: &ControlPlane) -> Self {
        Self {
            dir: cp.run_dir().to_owned(),
            link: cp.link().to_owned(),
            groups: cp.process_groups(),
            reaper: cp
                .reaper_pid()
                .expect("a started control plane has a reaper"),
        }
    }

    fn report(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
        format!(
            "{HOLDING} {} {} {} {}",
            self.reaper,
            self.link,
            self.dir.display(),
            groups.join(",")
        )
    }

    /// Parses a report; libtest may have printed `test … ... ` before it.
    fn parse(line: &str) -> Option<Self> {
        let (_, report) = line.split_once(HOLDING)?;
        let mut fields = report.split_whitespace();
        let reaper = fields.next()?.parse().ok()?;
        let link = fields.next()?.to_owned();
        let dir = PathBuf::from(fields.next()?);
        let groups = fields
            .next()?
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Self {
            dir,
            link,
            groups,
            reaper,
        })
    }

    /// What still exists, or an empty list.
    fn remains(&self) -> Vec<String> {
        let mut remains: Vec<String> = self
            .groups
            .iter()
            .filter(|pid| running(**pid))
            .map(|pid| format!("process {pid}"))
            .collect();
        if self.dir.exists() {
            remains.push(format!("directory {}", self.dir.display()));
        }
        if link_exists(&self.link) {
            remains.push(format!("interface {}", self.link));
        }
        remains
    }

    fn assert_all_present(&self) {
        let missing: Vec<_> = self.groups.iter().filter(|pid| !running(**pid)).collect();
        assert!(missing.is_empty(), "components not running: {missing:?}");
        assert!(self.dir.is_dir(), "{} missing", self.dir.display());
        assert!(link_exists(&self.link), "interface {} missing", self.link);
    }

    fn assert_gone_within(&self, deadline: Duration) {
        let start = Instant::now();
        loop {
            let remains = self.remains();
            if remains.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < deadline,
                "left behind after {deadline:?}: {}",
                remains.join(", ")
            );
            std::thread::sleep(POLL);
        }
    }
}

/// Whether `pid` runs. A zombie does not: after the test process is killed
/// its children are re-parented to PID 1, and a PID 1 that does not reap
/// (as on some sandboxes) keeps their exit status around, nothing else.
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z")
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts this test binary's `hold_a_control_plane_until_killed` in a child
/// process and returns it once its control plane is up.
fn spawn_holder() -> (Child, Owned) {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "hold_a_control_plane_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the holder process");
    let stdout = child.stdout.take().expect("the holder's stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let report = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| Owned::parse(&line));
        let _ = tx.send(report);
    });
    match rx.recv_timeout(HOLDER_START) {
        Ok(Some(owned)) => (child, owned),
        outcome => {
            let _ = child.kill();
            let status = child.wait().expect("wait for the holder");
            panic!("the holder ({status}) reported no control plane: {outcome:?}");
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a runtime")
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid fits pid_t"));
    nix::sys::signal::kill(pid, signal).expect("signal the process");
}

#[test]
fn dropping_the_fixture_leaves_nothing_behind() {
    let _serial = lock();
    let cp = runtime()
        .block_on(ControlPlane::start())
        .expect("start the control plane");
    let owned = Owned::of(&cp);
    owned.assert_all_present();
    cp.teardown().expect("tear the control plane down");
    // Teardown is synchronous: nothing may remain once it returns.
    assert_eq!(owned.remains(), Vec::<String>::new());
    assert!(!running(owned.reaper), "the reaper outlived the teardown");
}

#[test]
fn a_test_process_ended_by_sigterm_leaves_nothing_behind() {
    let _serial = lock();
    let (mut holder, owned) = spawn_holder();
    owned.assert_all_present();
    signal(holder.id(), nix::sys::signal::Signal::SIGTERM);
    let status = holder.wait().expect("wait for the holder");
    assert_eq!(status.code(), Some(128 + 15), "exit status of the holder");
    // The signal watcher tore down before exiting, reaping what it killed.
    assert_eq!(owned.remains(), Vec::<String>::new());
    assert!(!running(owned.reaper), "the reaper outlived the teardown");
}

#[test]
fn a_test_process_killed_by_sigkill_leaves_nothing_behind() {
    let _serial = lock();
    let (mut holder, owned) = spawn_holder();
    owned.assert_all_present();
    holder.kill().expect("SIGKILL the holder");
    holder.wait().expect("wait for the holder");
    // The reaper sees its pipe close and cleans up.
    owned.assert_gone_within(GONE_DEADLINE);
}

#[test]
fn leftovers_of_a_killed_run_and_its_reaper_are_removed_by_the_next_cleanup() {
    let _serial = lock();
    let (mut holder, owned) = spawn_holder();
    signal(owned.reaper, nix::sys::signal::Signal::SIGKILL);
    holder.kill().expect("SIGKILL the holder");
    holder.wait().expect("wait for the holder");
    // Nobody is left to clean up: everything is still there…
    owned.assert_all_present();
    // …until the cleanup every ControlPlane::start runs first.
    let removed = cleanup_leftovers().expect("clean up leftovers");
    assert!(removed.runs >= 1, "no run removed: {removed:?}");
    assert!(removed.links >= 1, "no interface removed: {removed:?}");
    assert!(
        removed.groups >= owned.groups.len(),
        "not every group killed: {removed:?}"
    );
    owned.assert_gone_within(GONE_DEADLINE);
}

/// Not a test by itself: the child process of the kill tests.
#[test]
#[ignore = "helper process of the teardown tests; does nothing unless RNATS_E2E_HOLD=1"]
fn hold_a_control_plane_until_killed() {
    if std::env::var_os(HOLD_ENV).is_none() {
        return;
    }
    let cp = runtime()
        .block_on(ControlPlane::start())
        .expect("start the control plane");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", Owned::of(&cp).report()).expect("report to the parent");
    stdout.flush().expect("flush the report");
    // Hold until killed; if the parent dies instead, stdin closes and the
    // control plane is dropped normally.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(cp);
}
