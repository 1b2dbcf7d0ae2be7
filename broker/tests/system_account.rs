//! The system account against the reference, side by side: natscli's `nats server list`,
//! `ping`, `info`, `report connections`, `check` and `request kick` with a system user; the
//! connect/disconnect/`STATSZ`/shutdown events as async-nats receives them (same JSON keys as
//! the reference's); isolation (other accounts neither see nor reach `$SYS`, except the
//! imports every account gets); the default `$SYS` account and `no_system_account`.
//!
//! natscli comes from `make test-deps` (`~/.cache/rnats/bin/nats`, or `NATS_CLI`); missing,
//! the tests fail.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use common::process::{ServerProcess, TempDir, reference_bin, rnats_bin, spawn};

const T: Duration = Duration::from_secs(10);

/// Two accounts and a system account with its user, as the reference's docs configure it.
const CONFIG: &str = "accounts {
  SYS { users = [ { user: sys, password: sys } ] }
  APP { users = [ { user: app, password: app } ] }
}
system_account: SYS
";

/// The two servers, reference first, each started with `config`.
struct Pair {
    servers: Vec<(&'static str, ServerProcess)>,
    _dir: TempDir,
}

fn start_pair(config: &str) -> Pair {
    let dir = TempDir::new("sysacc");
    let path = dir.path().join("server.conf");
    std::fs::write(&path, config).expect("write config");
    let arg = path.display().to_string();
    let servers = vec![
        ("reference", spawn(&reference_bin(), &["-c", &arg])),
        ("rnats", spawn(&rnats_bin(), &["-c", &arg])),
    ];
    Pair { servers, _dir: dir }
}

/// A monitoring endpoint's JSON (plain HTTP/1.0 over a socket).
fn http_json(s: &ServerProcess, path: &str) -> Value {
    let port = s.http_port.expect("monitoring port");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect monitor");
    write!(conn, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send request");
    let mut text = String::new();
    conn.read_to_string(&mut text).expect("read response");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

fn natscli() -> PathBuf {
    let p = std::env::var_os("NATS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/rnats/bin/nats")
        });
    assert!(
        p.exists(),
        "natscli not found at {}: run `make test-deps`",
        p.display()
    );
    p
}

/// Runs `nats` as `user` against `s` with an isolated home; (success, stdout, stderr).
fn cli(s: &ServerProcess, user: &str, args: &[&str]) -> (bool, String, String) {
    let home = TempDir::new("natscli-home");
    let out = Command::new(natscli())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["--no-context", "--server", &s.url(), "--user", user])
        .args(["--password", user, "--timeout", "3s"])
        .args(args)
        .output()
        .expect("natscli runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `cli` that must succeed, parsed as JSON.
fn cli_json(s: &ServerProcess, user: &str, args: &[&str]) -> Value {
    let (ok, out, err) = cli(s, user, args);
    assert!(ok, "nats {args:?} failed: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("nats {args:?}: {e}: {out}"))
}

async fn connect(s: &ServerProcess, user: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .name(name)
        .connect(s.url())
        .await
        .unwrap_or_else(|e| panic!("{user} connects: {e}"))
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("subscription open")
}

/// Returns once the server has processed everything `nc` sent before (a round trip through
/// the server; `flush` only writes the socket).
async fn barrier(nc: &async_nats::Client) {
    let inbox = nc.new_inbox();
    let mut sub = nc.subscribe(inbox.clone()).await.expect("barrier sub");
    nc.publish(inbox, "".into()).await.expect("barrier pub");
    next(&mut sub).await;
}

/// The next message on `sub` whose subject is `subject` (others are skipped).
async fn next_on(sub: &mut async_nats::Subscriber, subject: &str) -> async_nats::Message {
    loop {
        let m = next(sub).await;
        if m.subject.as_str() == subject {
            return m;
        }
    }
}

/// Every key path of a JSON value (`client.acc`, `server.feature_flags.x`, ...).
fn key_paths(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(m) = v {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                walk(v, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

/// `Label: value` from natscli's text output.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

#[path = "system_account/cluster.rs"]
mod cluster;
#[path = "system_account/events.rs"]
mod events;
#[path = "system_account/isolation.rs"]
mod isolation;
#[path = "system_account/natscli.rs"]
mod natscli;
#[path = "system_account/operator.rs"]
mod operator;
#[path = "system_account/requests.rs"]
mod requests;
