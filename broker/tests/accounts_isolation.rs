//! Isolation property: with random accounts, exports, imports, subscribe-deny permissions,
//! subscriptions and publishes (seeded; `RNATS_ISOLATION_SEED=<n>` replays one case), every
//! message a client receives was published in its own account or reached it through a
//! declared export and import, and no client receives a subject its permissions deny. Messages
//! within one account always arrive.
//!
//! Clients are raw TCP connections; after the publishes, a PING/PONG round trip on the
//! publisher and then on each subscriber proves every delivery is in (the fan-out happens in
//! the publisher's reader before it answers its PING), so nothing waits on a timer.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::process::TempDir;
use common::{start, test_options};
use rnats_broker::subject::subject_matches;

/// Random cases per run (each starts a server and four connections).
const CASES: u64 = 30;
const T: Duration = Duration::from_secs(5);
const ACCOUNTS: [&str; 4] = ["A", "B", "C", "D"];
const TOKENS: [&str; 3] = ["a", "b", "c"];

/// A subject of 1-3 tokens; with `wild`, tokens may be `*` and the last may be `>`.
fn subject(rng: &mut fastrand::Rng, wild: bool) -> String {
    let n = rng.usize(1..=3);
    let mut t: Vec<String> = (0..n)
        .map(|_| {
            if wild && rng.u8(0..5) == 0 {
                "*".to_string()
            } else {
                TOKENS[rng.usize(..TOKENS.len())].to_string()
            }
        })
        .collect();
    if wild && rng.u8(0..4) == 0 {
        t.push(">".into());
    }
    t.join(".")
}

/// A literal subject the pattern matches.
fn instance(rng: &mut fastrand::Rng, pattern: &str) -> String {
    let mut out = Vec::new();
    for t in pattern.split('.') {
        match t {
            "*" => out.push(TOKENS[rng.usize(..TOKENS.len())].to_string()),
            ">" => {
                for _ in 0..rng.usize(1..=2) {
                    out.push(TOKENS[rng.usize(..TOKENS.len())].to_string());
                }
            }
            _ => out.push(t.to_string()),
        }
    }
    out.join(".")
}

#[derive(Debug, Clone)]
struct Export {
    subject: String,
    service: bool,
    /// Empty: public.
    accounts: Vec<String>,
}

#[derive(Debug, Clone)]
struct Import {
    from: String,
    subject: String,
    service: bool,
    /// Stream: prefix; service: local subject.
    prefix: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct Acct {
    exports: Vec<Export>,
    imports: Vec<Import>,
    /// Subscribe deny pattern of the account's user.
    deny: Option<String>,
}

struct Case {
    accounts: BTreeMap<String, Acct>,
    /// (account, pattern, sid)
    subs: Vec<(String, String, u32)>,
    /// (account, subject, payload id)
    pubs: Vec<(String, String, u32)>,
}

fn generate(seed: u64) -> Case {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut accounts: BTreeMap<String, Acct> = ACCOUNTS
        .iter()
        .map(|a| (a.to_string(), Acct::default()))
        .collect();
    for a in ACCOUNTS {
        let acct = accounts.get_mut(a).expect("account");
        for _ in 0..rng.usize(0..=2) {
            let mut subject = subject(&mut rng, true);
            let service = rng.bool();
            if service {
                subject = subject.replace('>', "*");
            }
            let accounts = if rng.bool() {
                Vec::new()
            } else {
                let other = ACCOUNTS[rng.usize(..ACCOUNTS.len())];
                vec![other.to_string()]
            };
            if acct.exports.iter().any(|e| e.subject == subject) {
                continue;
            }
            acct.exports.push(Export {
                subject,
                service,
                accounts,
            });
        }
        if rng.u8(0..3) == 0 {
            acct.deny = Some(subject(&mut rng, true));
        }
    }
    // Imports only of what is exported to the importer (so the config is valid).
    let snapshot = accounts.clone();
    for a in ACCOUNTS {
        let mut imports = Vec::new();
        let mut seen_streams = BTreeSet::new();
        let mut seen_local = BTreeSet::new();
        for (from, exp) in &snapshot {
            if from == a {
                continue;
            }
            for e in &exp.exports {
                if !(e.accounts.is_empty() || e.accounts.iter().any(|x| x == a)) || rng.bool() {
                    continue;
                }
                let subject = if e.service {
                    instance(&mut rng, &e.subject)
                } else {
                    e.subject.clone()
                };
                if e.service {
                    let local = format!("svc{}.{}", imports.len(), subject);
                    if !seen_local.insert(local.clone()) {
                        continue;
                    }
                    imports.push(Import {
                        from: from.clone(),
                        subject,
                        service: true,
                        prefix: None,
                        to: Some(local),
                    });
                } else {
                    if !seen_streams.insert((from.clone(), subject.clone())) {
                        continue;
                    }
                    let prefix = rng.bool().then(|| format!("p{}", rng.usize(0..3)));
                    imports.push(Import {
                        from: from.clone(),
                        subject,
                        service: false,
                        prefix,
                        to: None,
                    });
                }
            }
        }
        accounts.get_mut(a).expect("account").imports = imports;
    }
    let mut subs = Vec::new();
    let mut sid = 1;
    for a in ACCOUNTS {
        for _ in 0..rng.usize(1..=4) {
            let mut p = subject(&mut rng, true);
            // Some subscriptions aim at imported subjects.
            if rng.bool() {
                let acct = &accounts[a];
                if !acct.imports.is_empty() {
                    let im = &acct.imports[rng.usize(..acct.imports.len())];
                    if !im.service {
                        p = match &im.prefix {
                            Some(pre) => format!("{pre}.{}", im.subject),
                            None => im.subject.clone(),
                        };
                    }
                }
            }
            subs.push((a.to_string(), p, sid));
            sid += 1;
        }
    }
    let mut pubs = Vec::new();
    for id in 0..rng.usize(5..=15) as u32 {
        let a = ACCOUNTS[rng.usize(..ACCOUNTS.len())];
        let acct = &accounts[a];
        let s = if !acct.imports.is_empty() && rng.bool() {
            let im = &acct.imports[rng.usize(..acct.imports.len())];
            match (&im.to, im.service) {
                (Some(local), true) => local.clone(),
                _ => instance(&mut rng, &im.subject),
            }
        } else if rng.bool() {
            // A subject some other account exports (must not leak without an import).
            let (_, other) = accounts
                .iter()
                .nth(rng.usize(..ACCOUNTS.len()))
                .expect("account");
            match other.exports.first() {
                Some(e) => instance(&mut rng, &e.subject),
                None => subject(&mut rng, false),
            }
        } else {
            subject(&mut rng, false)
        };
        pubs.push((a.to_string(), s, id));
    }
    Case {
        accounts,
        subs,
        pubs,
    }
}

fn config(case: &Case) -> String {
    let mut out = String::from("accounts {\n");
    for (name, a) in &case.accounts {
        let perms = match &a.deny {
            Some(d) => format!(", permissions: {{ subscribe: {{ deny: \"{d}\" }} }}"),
            None => String::new(),
        };
        out.push_str(&format!(
            "  {name}: {{\n    users: [ {{user: u{name}, password: p{name}{perms}}} ]\n"
        ));
        let exports: Vec<String> = a
            .exports
            .iter()
            .map(|e| {
                let kind = if e.service { "service" } else { "stream" };
                let accs = if e.accounts.is_empty() {
                    String::new()
                } else {
                    format!(", accounts: [{}]", e.accounts.join(", "))
                };
                format!("{{{kind}: \"{}\"{accs}}}", e.subject)
            })
            .collect();
        out.push_str(&format!("    exports: [ {} ]\n", exports.join(", ")));
        let imports: Vec<String> = a
            .imports
            .iter()
            .map(|i| {
                let kind = if i.service { "service" } else { "stream" };
                let mut s = format!(
                    "{{{kind}: {{account: {}, subject: \"{}\"}}",
                    i.from, i.subject
                );
                if let Some(p) = &i.prefix {
                    s.push_str(&format!(", prefix: \"{p}\""));
                }
                if let Some(t) = &i.to {
                    s.push_str(&format!(", to: \"{t}\""));
                }
                s.push('}');
                s
            })
            .collect();
        out.push_str(&format!("    imports: [ {} ]\n  }}\n", imports.join(", ")));
    }
    out.push_str("}\n");
    out
}

/// Where a message published in `account` on `subject` may be seen: (account, subject) pairs
/// reachable through declared imports (service imports, then the exporter's stream importers;
/// stream imports one hop).
fn reachable(case: &Case, account: &str, subject: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut spaces = vec![(account.to_string(), subject.to_string())];
    // Service imports: requests on the local subject go to the exporter.
    let mut i = 0;
    while i < spaces.len() && i < 16 {
        let (acc, subj) = spaces[i].clone();
        for im in &case.accounts[&acc].imports {
            if im.service
                && let Some(local) = &im.to
                && local == &subj
            {
                spaces.push((im.from.clone(), im.subject.clone()));
            }
        }
        i += 1;
    }
    for (acc, subj) in spaces {
        out.insert((acc.clone(), subj.clone()));
        for (importer, a) in &case.accounts {
            for im in &a.imports {
                if !im.service
                    && im.from == acc
                    && subject_matches(im.subject.as_bytes(), subj.as_bytes())
                {
                    let dest = match &im.prefix {
                        Some(p) => format!("{p}.{subj}"),
                        None => subj.clone(),
                    };
                    out.insert((importer.clone(), dest));
                }
            }
        }
    }
    out
}

struct Client {
    account: String,
    sock: TcpStream,
    got: Vec<u8>,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr, account: &str) -> Client {
        let mut sock = TcpStream::connect(addr).await.expect("connect");
        let line = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"user\":\"u{account}\",\"pass\":\"p{account}\"}}\r\n"
        );
        sock.write_all(line.as_bytes()).await.expect("write");
        let mut c = Client {
            account: account.to_string(),
            sock,
            got: Vec::new(),
        };
        c.round_trip().await;
        c
    }

    /// PING, then read until its PONG.
    async fn round_trip(&mut self) {
        let before = count(&self.got, b"PONG\r\n");
        self.sock.write_all(b"PING\r\n").await.expect("write");
        let mut buf = [0u8; 8192];
        while count(&self.got, b"PONG\r\n") == before {
            let n = tokio::time::timeout(T, self.sock.read(&mut buf))
                .await
                .expect("PONG in time")
                .expect("read");
            assert!(n > 0, "connection of {} closed", self.account);
            self.got.extend_from_slice(&buf[..n]);
        }
    }

    /// (subject, payload) of every MSG received.
    fn messages(&self) -> Vec<(String, String)> {
        let text = String::from_utf8_lossy(&self.got);
        let mut out = Vec::new();
        let mut lines = text.split("\r\n");
        while let Some(l) = lines.next() {
            if let Some(rest) = l.strip_prefix("MSG ") {
                let subject = rest.split(' ').next().unwrap_or_default().to_string();
                let payload = lines.next().unwrap_or_default().to_string();
                out.push((subject, payload));
            } else if let Some(rest) = l.strip_prefix("HMSG ") {
                // Service-import requests carry a header block; the payload follows it.
                let subject = rest.split(' ').next().unwrap_or_default().to_string();
                for h in lines.by_ref() {
                    if h.is_empty() {
                        break;
                    }
                }
                let payload = lines.next().unwrap_or_default().to_string();
                out.push((subject, payload));
            }
        }
        out
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Runs one case; returns the deliveries that crossed accounts (through imports).
async fn run_case(seed: u64) -> usize {
    let case = generate(seed);
    let conf = config(&case);
    let dir = TempDir::new("isolation");
    let path = dir.path().join("iso.conf");
    std::fs::write(&path, &conf).expect("write config");
    let mut opts = test_options();
    if let Err(e) = rnats_broker::config::load(&path, &mut opts) {
        // Imports that feed each other are refused, as by nats-server: nothing to run.
        if e.to_string().contains("import forms a cycle") {
            return 0;
        }
        panic!("seed {seed}: generated config refused: {e}\n{conf}");
    }
    let srv = start(opts).await;
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    for a in ACCOUNTS {
        clients.insert(a.to_string(), Client::connect(srv.client_addr, a).await);
    }
    for (a, p, sid) in &case.subs {
        let c = clients.get_mut(a).expect("client");
        c.sock
            .write_all(format!("SUB {p} {sid}\r\n").as_bytes())
            .await
            .expect("write");
    }
    for c in clients.values_mut() {
        c.round_trip().await;
    }
    for (a, s, id) in &case.pubs {
        let c = clients.get_mut(a).expect("client");
        let payload = format!("m{id}");
        c.sock
            .write_all(format!("PUB {s} {}\r\n{payload}\r\n", payload.len()).as_bytes())
            .await
            .expect("write");
        c.round_trip().await;
    }
    for c in clients.values_mut() {
        c.round_trip().await;
    }
    srv.shutdown().await;

    let mut crossed = 0;
    let by_id: BTreeMap<String, &(String, String, u32)> =
        case.pubs.iter().map(|p| (format!("m{}", p.2), p)).collect();
    for (acc, c) in &clients {
        let deny = case.accounts[acc].deny.clone();
        let got = c.messages();
        for (subject, payload) in &got {
            let (from, published, _) = by_id
                .get(payload)
                .unwrap_or_else(|| panic!("seed {seed}: unknown payload {payload:?}"));
            let allowed = reachable(&case, from, published);
            assert!(
                allowed.contains(&(acc.clone(), subject.clone())),
                "seed {seed}: {acc} got {payload} on {subject:?}, published in {from} on \
                 {published:?}; reachable: {allowed:?}\n{conf}"
            );
            if from != acc {
                crossed += 1;
            }
            if let Some(d) = &deny {
                assert!(
                    !subject_matches(d.as_bytes(), subject.as_bytes()),
                    "seed {seed}: {acc} got {subject:?} though it denies {d:?}\n{conf}"
                );
            }
        }
        // Within an account, without a deny list, every matching subscription gets it.
        if deny.is_none() {
            for (a, s, id) in &case.pubs {
                if a != acc {
                    continue;
                }
                let want = case
                    .subs
                    .iter()
                    .filter(|(sa, p, _)| sa == acc && subject_matches(p.as_bytes(), s.as_bytes()))
                    .count();
                let have = got
                    .iter()
                    .filter(|(subj, pl)| subj == s && *pl == format!("m{id}"))
                    .count();
                assert!(
                    have >= want,
                    "seed {seed}: {acc} published m{id} on {s:?}: {want} local subscriptions \
                     match, {have} deliveries\n{conf}"
                );
            }
        }
    }
    crossed
}

#[tokio::test]
async fn no_message_crosses_accounts_without_export_and_import() {
    if let Some(seed) = std::env::var("RNATS_ISOLATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run_case(seed).await;
        return;
    }
    let mut crossed = 0;
    for seed in 0..CASES {
        crossed += run_case(seed).await;
    }
    // The generator must exercise imports, or the property holds vacuously.
    assert!(
        crossed >= CASES as usize,
        "only {crossed} deliveries crossed accounts"
    );
}
