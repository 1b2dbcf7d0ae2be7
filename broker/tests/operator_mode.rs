//! Operator mode (decentralized JWT auth) against the reference nats-server: operators,
//! accounts, users, signing keys (plain and scoped), revocations and limits are made by the
//! real `nsc`, both servers run the config `nsc generate config --mem-resolver` writes, and
//! every case must be accepted or refused the same way, byte for byte on the wire.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::jwt_client::{Sig, http_json, raw_connect, read_some, read_until_closed};
use common::nsc::Nsc;
use common::process::{ServerProcess, reference_bin, rnats_bin, spawn};

/// Operator name in every store.
const OP: &str = "OP";

/// The material of one nsc store and the config both servers run.
struct World {
    nsc: Nsc,
    conf: PathBuf,
}

impl World {
    fn creds(&self, account: &str, user: &str) -> PathBuf {
        self.nsc.creds(OP, account, user)
    }
}

/// `hh:mm:ss` (UTC) `secs` from now, wrapped into the day.
fn clock(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let t = (now + offset).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

/// An operator with a signing key and strict signing key usage (so every account is signed
/// by the operator's signing key and every user by an account signing key), a system
/// account, and accounts A (users of every kind), B (one connection at most), D (no bearer
/// tokens). Account C is made after the config, so the resolver does not know it.
fn world(tag: &str, expiring_in: Option<i64>) -> World {
    let nsc = Nsc::new(tag);
    nsc.run(&[
        "add",
        "operator",
        "--generate-signing-key",
        "--sys",
        "--name",
        OP,
    ]);
    nsc.run(&["edit", "operator", "--require-signing-keys"]);
    nsc.run(&["add", "account", "A"]);
    let sk = Nsc::key_after(
        &nsc.run(&["edit", "account", "A", "--sk", "generate"]),
        "added signing key",
        'A',
    );
    let user = |name: &str, extra: &[&str]| {
        let mut args = vec!["add", "user", "-a", "A", "-K", sk.as_str(), name];
        args.extend_from_slice(extra);
        nsc.run(&args);
    };
    // Limits only `nsc edit user` sets.
    let edit = |name: &str, extra: &[&str]| {
        user(name, &[]);
        let mut args = vec!["edit", "user", "-a", "A", "-K", sk.as_str(), "-n", name];
        args.extend_from_slice(extra);
        nsc.run(&args);
    };
    user("u1", &[]);
    user("u2", &[]);
    user("tagged", &["--tag", "dept:eng,Team:Blue"]);
    user("bearer", &["--bearer"]);
    user("rev", &[]);
    nsc.run(&["revocations", "add-user", "-a", "A", "-n", "rev"]);
    user("expired", &["--expiry", "2020-01-01"]);
    user("future", &["--start", "1d"]);
    user("far", &["--expiry", "9999-12-31"]);
    user("src_bad", &["--source-network", "10.0.0.0/8"]);
    user("src_ok", &["--source-network", "10.0.0.0/8,127.0.0.0/8"]);
    let outside = format!("{}-{}", clock(2 * 3600), clock(3 * 3600));
    edit("times_bad", &["--time", &outside, "--locale", "UTC"]);
    let inside = format!("{}-{}", clock(-3600), clock(3600));
    edit("times_ok", &["--time", &inside, "--locale", "UTC"]);
    if let Some(secs) = expiring_in {
        let window = format!("{}-{}", clock(-3600), clock(secs));
        edit("expiring", &["--time", &window, "--locale", "UTC"]);
    }
    edit("ws_only", &["--conn-type", "WEBSOCKET"]);
    edit("std_only", &["--conn-type", "STANDARD"]);
    user("lim", &[]);
    nsc.run(&[
        "edit",
        "user",
        "-a",
        "A",
        "-n",
        "lim",
        "-K",
        &sk,
        "--subs",
        "1",
        "--payload",
        "10",
    ]);
    user(
        "perm",
        &[
            "--allow-pub",
            "foo.>",
            "--deny-pub",
            "foo.secret",
            "--allow-sub",
            "_INBOX.>,foo.*",
        ],
    );
    // A scoped signing key: its users get the template's permissions.
    let scoped = Nsc::key_after(
        &nsc.run(&["edit", "account", "A", "--sk", "generate"]),
        "added signing key",
        'A',
    );
    nsc.run(&[
        "edit",
        "signing-key",
        "-a",
        "A",
        "--sk",
        &scoped,
        "--role",
        "svc",
        "--allow-pub",
        "svc.{{name()}}.>",
        "--allow-sub",
        "_INBOX.>",
    ]);
    nsc.run(&["add", "user", "-a", "A", "-K", "svc", "scoped"]);
    nsc.run(&["add", "account", "B"]);
    nsc.run(&["edit", "account", "B", "--sk", "generate", "--conns", "1"]);
    nsc.run(&["add", "user", "-a", "B", "b1"]);
    nsc.run(&["add", "account", "D"]);
    nsc.run(&["edit", "account", "D", "--sk", "generate"]);
    // nsc refuses to disallow bearer tokens while the account has a bearer user: keep a copy
    // of its creds, make it a normal user, then disallow.
    nsc.run(&["add", "user", "-a", "D", "d_bearer", "--bearer"]);
    std::fs::copy(
        nsc.creds(OP, "D", "d_bearer"),
        nsc.path().join("d_bearer.creds"),
    )
    .expect("copy creds");
    nsc.run(&[
        "edit",
        "user",
        "-a",
        "D",
        "-n",
        "d_bearer",
        "--bearer=false",
    ]);
    nsc.run(&["edit", "account", "D", "--disallow-bearer"]);
    let conf = nsc.server_config();
    nsc.run(&["add", "account", "C"]);
    nsc.run(&["edit", "account", "C", "--sk", "generate"]);
    nsc.run(&["add", "user", "-a", "C", "c1"]);
    World { nsc, conf }
}

/// Both servers on the same config, started from the config's directory.
fn servers(w: &World) -> Vec<(&'static str, ServerProcess)> {
    let conf = w.conf.display().to_string();
    vec![
        ("rnats", spawn(&rnats_bin(), &["-c", &conf])),
        ("nats-server", spawn(&reference_bin(), &["-c", &conf])),
    ]
}

/// Reads until the connection closes or the last op's answer (`PONG`) arrived; the lines
/// seen (INFO reduced to the fields that depend on the account) and whether it closed.
fn transcript(mut s: TcpStream, mut buf: Vec<u8>, pongs: usize) -> (Vec<String>, bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = false;
    while Instant::now() < deadline {
        // After the first PONG a protocol-1 client also gets an INFO, maybe in a later write.
        let answered = buf.windows(6).filter(|w| w == b"PONG\r\n").count() >= pongs;
        let has_info = buf.windows(5).any(|w| w == b"INFO ");
        if answered && (pongs == 0 || has_info) {
            break;
        }
        if read_some(&mut s, &mut buf) {
            closed = true;
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let lines = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| match l.strip_prefix("INFO ") {
            Some(json) => {
                let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_default();
                format!(
                    "INFO max_payload={} remote_account={} auth_required={} acc_is_sys={}",
                    v["max_payload"], v["remote_account"], v["auth_required"], v["acc_is_sys"]
                )
            }
            None => l.to_string(),
        })
        .collect();
    (lines, closed)
}

/// One raw case on one server.
fn run_case(port: u16, creds: Option<&Path>, sig: Sig, ops: &[u8]) -> (Vec<String>, bool) {
    let pongs = ops.windows(6).filter(|w| w == b"PING\r\n").count();
    let (s, rest) = raw_connect(port, creds, sig, ops);
    transcript(s, rest, pongs)
}

const AV: &str = "-ERR 'Authorization Violation'";

/// A raw case: name, creds, how to sign, ops after CONNECT, a line both servers must send.
type Case<'a> = (&'a str, Option<PathBuf>, Sig, &'a [u8], &'a str);

#[test]
fn creds_are_accepted_and_refused_as_the_reference_does() {
    let w = world("opmode", None);
    let servers = servers(&w);
    let a = |u: &str| Some(w.creds("A", u));
    let cases: Vec<Case> = vec![
        ("plain user", a("u1"), Sig::Good, b"PING\r\n", "PONG"),
        ("no credentials", None, Sig::Good, b"PING\r\n", AV),
        (
            "system account user",
            Some(w.creds("SYS", "sys")),
            Sig::Good,
            b"PING\r\n",
            "PONG",
        ),
        ("signature of another nonce", a("u1"), Sig::WrongNonce, b"PING\r\n", AV),
        ("no signature", a("u1"), Sig::Missing, b"PING\r\n", AV),
        ("bearer token without signature", a("bearer"), Sig::Missing, b"PING\r\n", "PONG"),
        ("revoked user", a("rev"), Sig::Good, b"PING\r\n", AV),
        ("expired user", a("expired"), Sig::Good, b"PING\r\n", AV),
        ("user not valid yet", a("future"), Sig::Good, b"PING\r\n", AV),
        ("source network refused", a("src_bad"), Sig::Good, b"PING\r\n", AV),
        ("source network allowed", a("src_ok"), Sig::Good, b"PING\r\n", "PONG"),
        ("outside connect times", a("times_bad"), Sig::Good, b"PING\r\n", AV),
        ("inside connect times", a("times_ok"), Sig::Good, b"PING\r\n", "PONG"),
        ("websocket-only user", a("ws_only"), Sig::Good, b"PING\r\n", AV),
        ("standard-only user", a("std_only"), Sig::Good, b"PING\r\n", "PONG"),
        ("account unknown to the resolver", Some(w.creds("C", "c1")), Sig::Good, b"PING\r\n", AV),
        ("account disallows bearer", Some(w.nsc.path().join("d_bearer.creds")), Sig::Missing, b"PING\r\n", AV),
        (
            "user limits: subscriptions",
            a("lim"),
            Sig::Good,
            b"PING\r\nSUB a 1\r\nSUB b 2\r\nPING\r\n",
            "PONG",
        ),
        ("user limits: payload", a("lim"), Sig::Good, b"PUB a 11\r\n01234567890\r\nPING\r\n", "-ERR 'Maximum Payload Violation'"),
        (
            "user permissions",
            a("perm"),
            Sig::Good,
            b"PUB foo.x 1\r\nx\r\nPUB foo.secret 1\r\nx\r\nPUB bar 1\r\nx\r\nSUB foo.y 1\r\nSUB bar 2\r\nSUB foo.a.b 3\r\nPING\r\n",
            "-ERR 'Permissions Violation for Publish to \"foo.secret\"'",
        ),
        (
            "response permission",
            a("perm"),
            Sig::Good,
            b"SUB foo.q 1\r\nPUB foo.q reply.x 1\r\nx\r\nPING\r\nPUB reply.x 1\r\ny\r\nPUB reply.x 1\r\nz\r\nPUB reply.y 1\r\nz\r\nPING\r\n",
            "-ERR 'Permissions Violation for Publish to \"reply.y\"'",
        ),
        (
            "scoped signing key template",
            a("scoped"),
            Sig::Good,
            b"PUB svc.scoped.x 1\r\nx\r\nPUB svc.other.x 1\r\nx\r\nSUB x 1\r\nPING\r\n",
            "-ERR 'Permissions Violation for Publish to \"svc.other.x\"'",
        ),
    ];
    let mut failures = Vec::new();
    for (name, creds, sig, ops, expect) in &cases {
        let mut seen = Vec::new();
        for (server, p) in &servers {
            let t = run_case(p.client_port, creds.as_deref(), *sig, ops);
            assert!(
                t.0.iter().any(|l| l == expect),
                "{name} on {server}: expected {expect:?} in {t:?}"
            );
            seen.push((server, t));
        }
        if seen[0].1 != seen[1].1 {
            failures.push(format!(
                "{name}:\n  rnats       {:?}\n  nats-server {:?}",
                seen[0].1, seen[1].1
            ));
        }
    }
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
    // A user JWT valid until 9999: nats-server computes the expiry timer as
    // `time.Duration(exp-now) * time.Second`, which overflows int64 nanoseconds, so its timer
    // fires at once and the client is cut with `User Authentication Expired`. rnats keeps the
    // client (a deliberate difference: the JWT is valid).
    let far = Some(w.creds("A", "far"));
    let on_rnats = run_case(
        servers[0].1.client_port,
        far.as_deref(),
        Sig::Good,
        b"PING\r\n",
    );
    assert!(
        !on_rnats.1 && on_rnats.0.first().is_some_and(|l| l == "PONG"),
        "{on_rnats:?}"
    );
    // Its timer may fire after the PONG and INFO went out: read until it closes.
    let (mut s, mut buf) = raw_connect(
        servers[1].1.client_port,
        far.as_deref(),
        Sig::Good,
        b"PING\r\n",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !read_some(&mut s, &mut buf) {}
    let on_ref = String::from_utf8_lossy(&buf);
    assert!(
        on_ref.contains("-ERR 'User Authentication Expired'\r\n"),
        "{on_ref:?}"
    );
    for (server, p) in &servers {
        // The account limit of B is one connection: the second is refused while the first
        // stays.
        let b1 = w.creds("B", "b1");
        let (first, rest) = raw_connect(p.client_port, Some(&b1), Sig::Good, b"PING\r\n");
        let (lines, closed) = transcript(first.try_clone().expect("clone"), rest, 1);
        assert!(
            lines.first().is_some_and(|l| l == "PONG") && !closed,
            "{server}: {lines:?}"
        );
        let second = run_case(p.client_port, Some(&b1), Sig::Good, b"PING\r\n");
        assert_eq!(
            second,
            (
                vec!["-ERR 'maximum account active connections exceeded'".to_string()],
                true
            ),
            "{server}"
        );
        drop(first);
        // Refusals log nats-server's lines.
        assert!(
            p.wait_log("authentication error", Duration::from_secs(5)),
            "{server}: {}",
            p.log()
        );
        assert!(
            p.wait_log("Bad src Ip 127.0.0.1", Duration::from_secs(5)),
            "{server}: {}",
            p.log()
        );
        assert!(
            p.wait_log("Outside connect times", Duration::from_secs(5)),
            "{server}: {}",
            p.log()
        );
    }
}

/// Waits for the next message or `None` after `within`.
async fn next_msg(
    sub: &mut async_nats::Subscriber,
    within: Duration,
) -> Option<async_nats::Message> {
    use futures::StreamExt;
    tokio::time::timeout(within, sub.next())
        .await
        .ok()
        .flatten()
}

/// Publishes probes on `subject` from `client` until its own `sub` receives one (its SUB is
/// then registered), then drains the probes.
async fn ready(client: &async_nats::Client, sub: &mut async_nats::Subscriber, subject: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(
            Instant::now() < deadline,
            "subscription on {subject} never became ready"
        );
        client
            .publish(subject.to_string(), "probe".into())
            .await
            .expect("probe");
        client.flush().await.expect("flush");
        if next_msg(sub, Duration::from_millis(100)).await.is_some() {
            break;
        }
    }
    while next_msg(sub, Duration::from_millis(50)).await.is_some() {}
}

async fn connect_creds(url: &str, creds: &Path) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .map_err(|e| e.to_string())?
        .max_reconnects(Some(1))
        .connect(url)
        .await
        .map_err(|e| e.to_string())
}

/// natscli: `nats --creds FILE -s URL pub SUBJECT BODY`; its success and output.
fn natscli_pub(url: &str, creds: &Path) -> (bool, String) {
    let cache = std::env::var_os("RNATS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/rnats")
        });
    let bin = std::env::var_os("NATS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("bin/nats"));
    let out = std::process::Command::new(bin)
        .args([
            "--creds",
            &creds.display().to_string(),
            "-s",
            url,
            "--timeout",
            "3s",
            "pub",
            "cli.hello",
            "hi",
        ])
        .output()
        .expect("natscli runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn async_nats_and_natscli_connect_with_creds_files() {
    let w = world("opclients", None);
    for (server, p) in servers(&w) {
        let url = p.url();
        let sub_a = connect_creds(&url, &w.creds("A", "u1"))
            .await
            .expect("u1 connects");
        let pub_a = connect_creds(&url, &w.creds("A", "u2"))
            .await
            .expect("u2 connects");
        let sub_b = connect_creds(&url, &w.creds("B", "b1"))
            .await
            .expect("b1 connects");
        let mut in_a = sub_a.subscribe("iso").await.expect("sub");
        let mut in_b = sub_b.subscribe("iso").await.expect("sub");
        // async-nats' flush is no round trip: a probe each client sees itself proves its
        // subscription is in place.
        ready(&sub_a, &mut in_a, "iso").await;
        ready(&sub_b, &mut in_b, "iso").await;
        pub_a
            .publish("iso", "one account".into())
            .await
            .expect("pub");
        pub_a.flush().await.expect("flush");
        let got = next_msg(&mut in_a, Duration::from_secs(5)).await;
        assert_eq!(
            got.map(|m| m.payload.to_vec()),
            Some(b"one account".to_vec()),
            "{server}"
        );
        // Accounts are separate subject spaces: B never sees A's message.
        assert!(
            next_msg(&mut in_b, Duration::from_millis(300))
                .await
                .is_none(),
            "{server}"
        );
        // The permissions in the user JWT apply to async-nats too.
        let perm = connect_creds(&url, &w.creds("A", "perm"))
            .await
            .expect("perm connects");
        let mut ok = sub_a.subscribe("foo.ok").await.expect("sub");
        ready(&sub_a, &mut ok, "foo.ok").await;
        perm.publish("foo.secret", "no".into()).await.expect("pub");
        perm.publish("foo.ok", "yes".into()).await.expect("pub");
        perm.flush().await.expect("flush");
        assert_eq!(
            next_msg(&mut ok, Duration::from_secs(5))
                .await
                .map(|m| m.payload.to_vec()),
            Some(b"yes".to_vec()),
            "{server}"
        );
        // Refused creds fail the connect with nats-server's error.
        let err = connect_creds(&url, &w.creds("A", "rev"))
            .await
            .err()
            .unwrap_or_default();
        assert!(
            err.to_lowercase().contains("authorization violation"),
            "{server}: {err}"
        );
        let (ok, out) = natscli_pub(&url, &w.creds("A", "u1"));
        assert!(ok, "{server}: natscli with u1.creds: {out}");
        let (ok, out) = natscli_pub(&url, &w.creds("A", "rev"));
        assert!(
            !ok && out.contains("Authorization Violation"),
            "{server}: natscli with rev.creds: {out}"
        );
    }
}

#[test]
fn a_closing_time_window_ends_the_connection_as_the_reference_does() {
    // The `expiring` user's window ends 12 s after the world is made.
    let w = world("opexpiry", Some(12));
    let servers = servers(&w);
    let conns: Vec<_> = servers
        .iter()
        .map(|(name, p)| {
            let (s, rest) = raw_connect(
                p.client_port,
                Some(&w.creds("A", "expiring")),
                Sig::Good,
                b"PING\r\n",
            );
            (name, s, rest)
        })
        .collect();
    for (name, s, rest) in conns {
        let (text, closed) = read_until_closed(s, rest, Duration::from_secs(25));
        assert!(closed, "{name}: still open: {text}");
        assert!(text.starts_with("PONG\r\nINFO "), "{name}: {text}");
        assert!(
            text.ends_with("-ERR 'User Authentication Expired'\r\n"),
            "{name}: {text}"
        );
    }
}

#[test]
fn connz_shows_jwt_users_as_the_reference_does() {
    let w = world("opconnz", None);
    let mut seen = Vec::new();
    for (server, p) in servers(&w) {
        let mut open = Vec::new();
        for (user, sig) in [
            ("tagged", Sig::Good),
            ("bearer", Sig::Missing),
            ("scoped", Sig::Good),
        ] {
            let (s, rest) = raw_connect(p.client_port, Some(&w.creds("A", user)), sig, b"PING\r\n");
            let (lines, closed) = transcript(s.try_clone().expect("clone"), rest, 1);
            assert!(
                !closed && lines.first().is_some_and(|l| l == "PONG"),
                "{server} {user}: {lines:?}"
            );
            open.push(s);
        }
        let port = p.http_port.expect("monitoring port");
        let connz = http_json(port, "/connz?auth=1");
        let mut conns: Vec<serde_json::Value> = connz["connections"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                serde_json::json!({
                    "authorized_user": c["authorized_user"], "account": c["account"],
                    "jwt": c["jwt"], "issuer_key": c["issuer_key"], "name_tag": c["name_tag"],
                    "tags": c["tags"],
                })
            })
            .collect();
        conns.sort_by_key(|c| c["authorized_user"].to_string());
        assert_eq!(conns.len(), 3, "{server}: {connz}");
        seen.push((server, conns));
        drop(open);
    }
    assert_eq!(seen[0].1, seen[1].1, "rnats vs nats-server /connz?auth=1");
    let tagged = seen[0]
        .1
        .iter()
        .find(|c| c["tags"].is_array())
        .expect("tagged user");
    assert!(
        tagged["jwt"].as_str().is_some_and(|j| j.starts_with("eyJ")),
        "{tagged}"
    );
}

#[test]
fn pinned_accounts_refuse_the_others_as_the_reference_does() {
    let w = world("oppinned", None);
    let a_key = Nsc::key_after(
        &w.nsc.run(&["describe", "account", "A", "--field", "sub"]),
        "",
        'A',
    );
    let mut conf = std::fs::read_to_string(&w.conf).expect("config");
    conf.push_str(&format!("\nresolver_pinned_accounts: [{a_key}]\n"));
    let pinned = w.nsc.path().join("pinned.conf");
    std::fs::write(&pinned, conf).expect("write config");
    let pinned = pinned.display().to_string();
    for (server, p) in [
        ("rnats", spawn(&rnats_bin(), &["-c", &pinned])),
        ("nats-server", spawn(&reference_bin(), &["-c", &pinned])),
    ] {
        let a = run_case(
            p.client_port,
            Some(&w.creds("A", "u1")),
            Sig::Good,
            b"PING\r\n",
        );
        assert_eq!(
            a.0.first().map(String::as_str),
            Some("PONG"),
            "{server}: {a:?}"
        );
        let b = run_case(
            p.client_port,
            Some(&w.creds("B", "b1")),
            Sig::Good,
            b"PING\r\n",
        );
        assert_eq!(b, (vec![AV.to_string()], true), "{server}");
        // The system account is pinned implicitly.
        let sys = run_case(
            p.client_port,
            Some(&w.creds("SYS", "sys")),
            Sig::Good,
            b"PING\r\n",
        );
        assert_eq!(
            sys.0.first().map(String::as_str),
            Some("PONG"),
            "{server}: {sys:?}"
        );
    }
}
