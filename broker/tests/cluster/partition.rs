//! A network partition made with network namespaces: three rnats servers, each in its own
//! namespace, joined through a bridge in a hub namespace; the test cuts one server's link,
//! checks the others carry on, heals it, and checks the mesh re-forms by itself with no
//! duplicate deliveries. Needs root and `ip`; says so and does nothing otherwise.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;

use crate::common::process::{TempDir, rnats_bin};
use crate::harness::{MESH, http_json, wait_until};

const T: Duration = Duration::from_secs(10);

/// Runs `ip` with `args`; panics with its output on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process can make network namespaces (root with `ip netns`).
fn netns_available() -> Result<(), String> {
    if !nix_is_root() {
        return Err("not running as root".into());
    }
    let probe = format!("rnprobe{}", std::process::id() % 100_000);
    let ok = Command::new("ip")
        .args(["netns", "add", &probe])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("`ip netns add` failed".into());
    }
    let _ = Command::new("ip").args(["netns", "del", &probe]).status();
    Ok(())
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The namespaces, bridge and links of one test; all removed on drop.
struct Net {
    tag: String,
    subnet: String,
    namespaces: Vec<String>,
}

impl Net {
    /// A hub namespace with a bridge, `n` server namespaces linked to it, and a link from
    /// this (the root) namespace so the test's clients reach the servers.
    fn new(n: usize) -> Net {
        let id = std::process::id() % 100_000;
        let tag = format!("rp{id}");
        let subnet = format!("10.231.{}", id % 250);
        let hub = format!("{tag}h");
        let mut net = Net {
            tag: tag.clone(),
            subnet: subnet.clone(),
            namespaces: vec![hub.clone()],
        };
        ip(&["netns", "add", &hub]);
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &hub, "link", "set", "br0", "up"]);
        ip(&["-n", &hub, "link", "set", "lo", "up"]);
        for i in 0..n {
            let ns = format!("{tag}s{i}");
            ip(&["netns", "add", &ns]);
            net.namespaces.push(ns.clone());
            let (a, b) = (format!("{tag}s{i}a"), format!("{tag}s{i}b"));
            ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
            ip(&["link", "set", &a, "netns", &ns]);
            ip(&["link", "set", &b, "netns", &hub]);
            ip(&["-n", &ns, "link", "set", &a, "name", "eth0"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{subnet}.{}/24", 10 + i),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &hub, "link", "set", &b, "master", "br0"]);
            ip(&["-n", &hub, "link", "set", &b, "up"]);
        }
        let (ca, cb) = (format!("{tag}ca"), format!("{tag}cb"));
        ip(&["link", "add", &ca, "type", "veth", "peer", "name", &cb]);
        ip(&["link", "set", &cb, "netns", &hub]);
        ip(&["-n", &hub, "link", "set", &cb, "master", "br0"]);
        ip(&["-n", &hub, "link", "set", &cb, "up"]);
        ip(&["addr", "add", &format!("{subnet}.1/24"), "dev", &ca]);
        ip(&["link", "set", &ca, "up"]);
        net
    }

    fn server_ip(&self, i: usize) -> String {
        format!("{}.{}", self.subnet, 10 + i)
    }

    /// Cuts (`false`) or restores (`true`) server `i`'s link to the bridge.
    fn link(&self, i: usize, up: bool) {
        let hub = format!("{}h", self.tag);
        let b = format!("{}s{i}b", self.tag);
        ip(&[
            "-n",
            &hub,
            "link",
            "set",
            &b,
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends in it, and so their peers.
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// An rnats server running in a namespace.
struct NsServer {
    child: Child,
    ip: String,
    client_port: u16,
    http_port: u16,
    cluster_port: u16,
    dir: TempDir,
}

impl NsServer {
    fn start(ns: &str, ip: &str, name: &str, conf: &str, routes: Option<&str>) -> NsServer {
        let dir = TempDir::new("partition");
        let log = dir.path().join("server.log");
        let bin = rnats_bin();
        let mut args: Vec<String> = vec![
            "netns".into(),
            "exec".into(),
            ns.into(),
            bin.display().to_string(),
            "-a".into(),
            ip.into(),
            "-p".into(),
            "-1".into(),
            "-m".into(),
            "-1".into(),
            "-n".into(),
            name.into(),
            "-c".into(),
            conf.into(),
            "--cluster".into(),
            format!("nats://{ip}:-1"),
            "--ports_file_dir".into(),
            dir.path().display().to_string(),
            "-l".into(),
            log.display().to_string(),
        ];
        if let Some(r) = routes {
            args.extend(["--routes".into(), r.into()]);
        }
        let mut child = Command::new("ip")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "server exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let ports = std::fs::read_dir(dir.path())
                .ok()
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "ports"));
            if let Some(p) = ports
                && let Ok(text) = std::fs::read_to_string(&p)
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            {
                let port = |k: &str| {
                    v[k][0]
                        .as_str()
                        .and_then(|u| u.rsplit(':').next()?.parse::<u16>().ok())
                };
                if let (Some(c), Some(h), Some(r)) =
                    (port("nats"), port("monitoring"), port("cluster"))
                {
                    return NsServer {
                        child,
                        ip: ip.into(),
                        client_port: c,
                        http_port: h,
                        cluster_port: r,
                        dir,
                    };
                }
            }
            assert!(Instant::now() < deadline, "no ports file");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("nats://{}:{}", self.ip, self.client_port)
    }

    fn route_url(&self) -> String {
        format!("nats://{}:{}", self.ip, self.cluster_port)
    }

    fn id(&self) -> String {
        http_json(&self.ip, self.http_port, "/varz")["server_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn peers(&self) -> HashSet<String> {
        http_json(&self.ip, self.http_port, "/routez")["routes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["remote_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for NsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_full_mesh(servers: &[NsServer], ids: &[String]) {
    let deadline = Instant::now() + MESH;
    loop {
        let done = servers.iter().enumerate().all(|(i, s)| {
            let peers = s.peers();
            ids.iter()
                .enumerate()
                .all(|(j, id)| i == j || peers.contains(id))
        });
        if done {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = servers.iter().map(|s| s.log()).collect();
            panic!("mesh did not re-form:\n{}", logs.join("\n-----\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("subscription open")
}

#[tokio::test]
async fn partition_heals_without_duplicates() {
    if let Err(why) = netns_available() {
        eprintln!("SKIPPED partition_heals_without_duplicates: needs root and `ip netns` ({why})");
        return;
    }
    let net = Net::new(3);
    let dir = TempDir::new("partition-conf");
    let conf = dir.path().join("cluster.conf");
    // Fast liveness so a cut link is noticed in about a second.
    std::fs::write(
        &conf,
        "cluster {\n  name: part\n  ping_interval: \"300ms\"\n  ping_max: 2\n}\n",
    )
    .expect("write config");
    let conf = conf.display().to_string();
    let ns = |i: usize| format!("{}s{i}", net.tag);
    let s0 = NsServer::start(&ns(0), &net.server_ip(0), "p0", &conf, None);
    let seed = s0.route_url();
    let s1 = NsServer::start(&ns(1), &net.server_ip(1), "p1", &conf, Some(&seed));
    let s2 = NsServer::start(&ns(2), &net.server_ip(2), "p2", &conf, Some(&seed));
    let servers = vec![s0, s1, s2];
    let ids: Vec<String> = servers.iter().map(NsServer::id).collect();
    wait_full_mesh(&servers, &ids).await;

    // Cut server 2 off: the others drop it and carry on between themselves.
    net.link(2, false);
    for s in &servers[..2] {
        wait_until("the cut server's route to close", MESH, || {
            !s.peers().contains(&ids[2])
        })
        .await;
    }
    let c0 = async_nats::connect(servers[0].url())
        .await
        .expect("connect");
    let c1 = async_nats::connect(servers[1].url())
        .await
        .expect("connect");
    let mut during = c0.subscribe("during").await.expect("sub");
    c0.flush().await.expect("flush");
    wait_until("interest during the partition", MESH, || {
        http_json(&servers[1].ip, servers[1].http_port, "/routez?subs=1")
            .to_string()
            .contains("\"during\"")
    })
    .await;
    c1.publish("during", "x".into()).await.expect("pub");
    c1.flush().await.expect("flush");
    assert_eq!(next(&mut during).await.payload, Bytes::from("x"));

    // Heal: the mesh re-forms by itself.
    net.link(2, true);
    wait_full_mesh(&servers, &ids).await;

    // Every message once, both ways across the healed link.
    let c2 = async_nats::connect(servers[2].url())
        .await
        .expect("connect");
    let mut on2 = c2.subscribe("after").await.expect("sub");
    let mut on0 = c0.subscribe("after").await.expect("sub");
    c2.flush().await.expect("flush");
    c0.flush().await.expect("flush");
    for s in &servers {
        wait_until("interest after healing", MESH, || {
            let v = http_json(&s.ip, s.http_port, "/routez?subs=1").to_string();
            v.matches("\"after\"").count() >= 1
        })
        .await;
    }
    wait_until("both subscribers known everywhere", MESH, || {
        http_json(&servers[1].ip, servers[1].http_port, "/routez?subs=1")
            .to_string()
            .matches("\"after\"")
            .count()
            >= 2
    })
    .await;
    const N: usize = 100;
    for k in 0..N {
        c1.publish("after", format!("{k}").into())
            .await
            .expect("pub");
    }
    c1.publish("after", "end".into()).await.expect("pub");
    c1.flush().await.expect("flush");
    for sub in [&mut on0, &mut on2] {
        for k in 0..N {
            assert_eq!(next(sub).await.payload, Bytes::from(format!("{k}")));
        }
        assert_eq!(
            next(sub).await.payload,
            Bytes::from("end"),
            "a duplicate before the end"
        );
    }
}
