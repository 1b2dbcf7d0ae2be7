//! Cluster test harness: rnats and reference servers as processes on loopback with random
//! ports, joined by routes; polling helpers over `/routez` with deadlines (no sleeps).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::process::{ServerProcess, reference_bin, rnats_bin, spawn};

/// Longest wait for a cluster to form or heal (route reconnects take 1 s per attempt).
pub const MESH: Duration = Duration::from_secs(20);

/// Which server binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Rnats,
    Reference,
}

impl Kind {
    pub fn bin(self) -> std::path::PathBuf {
        match self {
            Kind::Rnats => rnats_bin(),
            Kind::Reference => reference_bin(),
        }
    }
}

/// One server of a test cluster.
pub struct Node {
    pub kind: Kind,
    pub name: String,
    pub proc: ServerProcess,
}

impl Node {
    pub fn url(&self) -> String {
        self.proc.url()
    }

    pub fn route_url(&self) -> String {
        format!(
            "nats://127.0.0.1:{}",
            self.proc
                .cluster_port
                .expect("cluster port in the ports file")
        )
    }

    pub fn http(&self, path: &str) -> serde_json::Value {
        let port = self.proc.http_port.expect("monitoring port");
        http_json("127.0.0.1", port, path)
    }

    /// Distinct peer server IDs this server has routes to.
    pub fn peers(&self) -> HashSet<String> {
        let v = self.http("/routez");
        v["routes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["remote_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn id(&self) -> String {
        self.http("/varz")["server_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether some route of this server carries the peer's interest in `subject`.
    pub fn has_remote_interest(&self, subject: &str) -> bool {
        let v = self.http("/routez?subs=1");
        v["routes"].as_array().is_some_and(|a| {
            a.iter().any(|r| {
                r["subscriptions_list"].as_array().is_some_and(|l| {
                    l.iter().any(|s| {
                        s.as_str()
                            .is_some_and(|s| s == subject || s.starts_with(&format!("{subject} ")))
                    })
                })
            })
        })
    }
}

/// Starts a server of `kind` named `name` with a random route port and `routes` as seeds.
pub fn node(kind: Kind, name: &str, routes: &[String], extra: &[&str]) -> Node {
    let routes_arg = routes.join(",");
    let mut args: Vec<&str> = vec![
        "-n",
        name,
        "--cluster_name",
        "test",
        "--cluster",
        "nats://127.0.0.1:-1",
    ];
    if !routes.is_empty() {
        args.extend(["--routes", &routes_arg]);
    }
    args.extend(extra);
    let proc = spawn(&kind.bin(), &args);
    Node {
        kind,
        name: name.to_string(),
        proc,
    }
}

/// Starts `kinds.len()` servers, each seeded with the first one only, and waits for the
/// full mesh (gossip must complete it).
pub fn cluster(kinds: &[Kind]) -> Vec<Node> {
    cluster_with(kinds, &[])
}

/// [`cluster`] with `args` given to every server (e.g. `-c <config>`).
pub fn cluster_with(kinds: &[Kind], args: &[&str]) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        let seeds: Vec<String> = nodes.first().map(|n| n.route_url()).into_iter().collect();
        // RNATS_CLUSTER_TRACE=1 traces the route protocol of rnats servers into their logs.
        let mut extra: Vec<&str> = args.to_vec();
        if *k == Kind::Rnats && std::env::var_os("RNATS_CLUSTER_TRACE").is_some() {
            extra.push("-DV");
        }
        nodes.push(node(*k, &format!("s{i}"), &seeds, &extra));
    }
    wait_mesh(&nodes);
    nodes
}

/// Waits until every node has a route to every other node.
pub fn wait_mesh(nodes: &[Node]) {
    let ids: Vec<String> = nodes.iter().map(Node::id).collect();
    let deadline = Instant::now() + MESH;
    loop {
        let missing: Vec<String> = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let peers = n.peers();
                let want: HashSet<String> = ids
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, id)| id.clone())
                    .collect();
                (!want.is_subset(&peers))
                    .then(|| format!("{} has {}/{}", n.name, peers.len(), want.len()))
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = nodes
                .iter()
                .map(|n| format!("--- {} ({:?})\n{}", n.name, n.kind, tail(&n.proc.log(), 40)))
                .collect();
            panic!("no full mesh: {missing:?}\n{}", logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `cond` (inside a tokio test) until true or the deadline; panics with `what`.
pub async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// GET `path` on `host`:`port`; the JSON body (Null on any failure).
pub fn http_json(host: &str, port: u16, path: &str) -> serde_json::Value {
    serde_json::from_str(&http_text(host, port, path)).unwrap_or(serde_json::Value::Null)
}

/// GET `path` on `host`:`port`; the body (empty on any failure).
pub fn http_text(host: &str, port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect((host, port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// The venv's python (nats-py installed by `make test-deps`).
pub fn venv_python() -> std::path::PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(p.exists(), "{} missing: run `make test-deps`", p.display());
    p
}
