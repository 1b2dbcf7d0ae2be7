//! Clusters of `rnats-server` processes (and mixed with the reference nats-server) on
//! loopback: delivery across servers, queue groups once cluster-wide, request/reply and
//! no-responders, interest changes, gossip completing the mesh from one seed, kill -9 and
//! restart, and real clients failing over to survivors. Configuration reloads are in `reload.rs`.

mod accounts;
#[path = "../common/mod.rs"]
mod common;
mod harness;
mod partition;
mod permissions;
mod reload;
mod tls;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use harness::{Kind, MESH, Node, cluster, node, wait_mesh, wait_until};

/// Longest wait for one message.
const T: Duration = Duration::from_secs(10);

async fn connect(n: &Node) -> async_nats::Client {
    async_nats::connect(n.url()).await.expect("connect")
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("subscription open")
}

/// Waits until every node but `owner` sees the owner's interest in `subject` on a route.
async fn wait_interest(nodes: &[Node], owner: usize, subject: &str) {
    for (i, n) in nodes.iter().enumerate() {
        if i != owner {
            wait_until(
                &format!("{} to learn interest in {subject}", n.name),
                MESH,
                || n.has_remote_interest(subject),
            )
            .await;
        }
    }
}

/// Every server publishes to a subscriber on every other server; each message arrives once.
pub(crate) async fn check_all_pairs(nodes: &[Node]) {
    let clients: Vec<async_nats::Client> =
        futures::future::join_all(nodes.iter().map(connect)).await;
    let mut subs = Vec::new();
    for (j, c) in clients.iter().enumerate() {
        let subject = format!("pairs.to{j}");
        subs.push(c.subscribe(subject.clone()).await.expect("sub"));
        c.flush().await.expect("flush");
        wait_interest(nodes, j, &subject).await;
    }
    for (i, c) in clients.iter().enumerate() {
        for j in 0..nodes.len() {
            if i != j {
                c.publish(format!("pairs.to{j}"), format!("from{i}").into())
                    .await
                    .expect("pub");
            }
        }
        c.flush().await.expect("flush");
    }
    for (j, sub) in subs.iter_mut().enumerate() {
        let mut got: Vec<String> = Vec::new();
        for _ in 0..nodes.len() - 1 {
            let m = next(sub).await;
            got.push(String::from_utf8_lossy(&m.payload).into_owned());
        }
        got.sort();
        let want: Vec<String> = (0..nodes.len())
            .filter(|i| *i != j)
            .map(|i| format!("from{i}"))
            .collect();
        assert_eq!(got, want, "deliveries to server {j}");
    }
    // A sentinel after everything: nothing was delivered twice before it.
    for (j, sub) in subs.iter_mut().enumerate() {
        let from = (j + 1) % nodes.len();
        clients[from]
            .publish(format!("pairs.to{j}"), "end".into())
            .await
            .expect("pub");
        clients[from].flush().await.expect("flush");
        let m = next(sub).await;
        assert_eq!(
            m.payload,
            Bytes::from("end"),
            "duplicate before the sentinel"
        );
    }
}

/// Queue members on every server but `publisher`'s: each of `n` messages reaches exactly one
/// member cluster-wide.
async fn check_queue_once(nodes: &[Node], publisher: usize, n: usize) -> HashMap<usize, usize> {
    static ROUND: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let subject = format!(
        "qwork.{}",
        ROUND.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let subject = subject.as_str();
    let mut members = Vec::new();
    let mut member_clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if i == publisher {
            continue;
        }
        let c = connect(node).await;
        for _ in 0..2 {
            members.push((
                i,
                c.queue_subscribe(subject.to_string(), "workers".into())
                    .await
                    .expect("qsub"),
            ));
        }
        c.flush().await.expect("flush");
        member_clients.push(c);
        wait_until("queue interest", MESH, || {
            nodes[publisher].has_remote_interest(subject)
        })
        .await;
    }
    // The publisher's server must know every member server's interest.
    let want_routes = nodes.len() - 1;
    wait_until("queue interest from every server", MESH, || {
        let v = nodes[publisher].http("/routez?subs=1");
        v["routes"].as_array().is_some_and(|a| {
            a.iter()
                .filter(|r| {
                    r["subscriptions_list"].as_array().is_some_and(|l| {
                        l.iter()
                            .any(|s| s.as_str().is_some_and(|s| s.starts_with(subject)))
                    })
                })
                .map(|r| r["remote_id"].as_str().unwrap_or_default().to_string())
                .collect::<std::collections::HashSet<_>>()
                .len()
                >= want_routes
        })
    })
    .await;
    let p = connect(&nodes[publisher]).await;
    for k in 0..n {
        p.publish(subject.to_string(), format!("{k}").into())
            .await
            .expect("pub");
    }
    p.flush().await.expect("flush");
    let mut per_server: HashMap<usize, usize> = HashMap::new();
    let mut seen = vec![0u32; n];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (i, mut sub) in members {
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                let _ = tx.send((i, m.payload));
            }
        }));
    }
    for _ in 0..n {
        let Ok(Some((i, payload))) = tokio::time::timeout(T, rx.recv()).await else {
            let logs: Vec<String> = nodes
                .iter()
                .map(|n| {
                    format!(
                        "--- {} routez {}\n{}",
                        n.name,
                        n.http("/routez"),
                        n.proc.log()
                    )
                })
                .collect();
            panic!(
                "queue message missing: got {per_server:?} of {n}\n{}",
                logs.join("\n")
            );
        };
        let k: usize = String::from_utf8_lossy(&payload).parse().expect("number");
        seen[k] += 1;
        *per_server.entry(i).or_default() += 1;
    }
    // Sentinel round trip through the same path: no late duplicates.
    p.publish(subject.to_string(), "end".into())
        .await
        .expect("pub");
    p.flush().await.expect("flush");
    let (_, payload) = tokio::time::timeout(T, rx.recv())
        .await
        .expect("sentinel in time")
        .expect("channel open");
    assert_eq!(
        payload,
        Bytes::from("end"),
        "a queue message was delivered twice"
    );
    assert!(seen.iter().all(|c| *c == 1), "each message once: {seen:?}");
    // Unsubscribe the members (their subscriptions live in the tasks).
    for t in tasks {
        t.abort();
    }
    drop(member_clients);
    per_server
}

#[tokio::test]
async fn three_servers_pub_sub_queue_and_request_reply() {
    let nodes = cluster(&[Kind::Rnats, Kind::Rnats, Kind::Rnats]);
    check_all_pairs(&nodes).await;

    // Queue group: members on servers 1 and 2, publisher on 0: once each, both servers used.
    let per_server = check_queue_once(&nodes, 0, 200).await;
    assert_eq!(per_server.values().sum::<usize>(), 200);
    assert_eq!(
        per_server.len(),
        2,
        "members on both servers served: {per_server:?}"
    );

    // Local members are preferred: a member on the publisher's server takes everything.
    let c0 = connect(&nodes[0]).await;
    let c1 = connect(&nodes[1]).await;
    let mut local = c0.queue_subscribe("pref", "g".into()).await.expect("qsub");
    let mut remote = c1.queue_subscribe("pref", "g".into()).await.expect("qsub");
    c0.flush().await.expect("flush");
    c1.flush().await.expect("flush");
    wait_interest(&nodes, 1, "pref").await;
    for k in 0..50 {
        c0.publish("pref", format!("{k}").into())
            .await
            .expect("pub");
    }
    c0.flush().await.expect("flush");
    for _ in 0..50 {
        next(&mut local).await;
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), remote.next())
            .await
            .is_err(),
        "a remote member got a message while a local one was there"
    );

    // Request/reply across servers, and no responders when nobody listens anywhere.
    let c2 = connect(&nodes[2]).await;
    let mut svc = c2.subscribe("svc.echo").await.expect("sub");
    c2.flush().await.expect("flush");
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            if let Some(reply) = m.reply {
                let _ = c2.publish(reply, m.payload).await;
                let _ = c2.flush().await;
            }
        }
    });
    wait_interest(&nodes, 2, "svc.echo").await;
    let resp = tokio::time::timeout(T, c0.request("svc.echo", "ping".into()))
        .await
        .expect("in time")
        .expect("reply");
    assert_eq!(resp.payload, Bytes::from("ping"));
    let err = tokio::time::timeout(T, c0.request("svc.nobody", "x".into()))
        .await
        .expect("in time")
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

#[tokio::test]
async fn interest_added_and_removed() {
    let nodes = cluster(&[Kind::Rnats, Kind::Rnats, Kind::Rnats]);
    let c1 = connect(&nodes[1]).await;
    let sub = c1.subscribe("ir.x").await.expect("sub");
    let mut q = c1.queue_subscribe("ir.q", "g".into()).await.expect("qsub");
    c1.flush().await.expect("flush");
    wait_interest(&nodes, 1, "ir.x").await;
    wait_interest(&nodes, 1, "ir.q").await;
    drop(sub);
    c1.flush().await.expect("flush");
    for n in [&nodes[0], &nodes[2]] {
        wait_until("interest withdrawn", MESH, || {
            !n.has_remote_interest("ir.x")
        })
        .await;
    }
    // The queue interest stays, and a request to the withdrawn subject has no responders.
    assert!(nodes[0].has_remote_interest("ir.q"));
    let c0 = connect(&nodes[0]).await;
    let err = tokio::time::timeout(T, c0.request("ir.x", "x".into()))
        .await
        .expect("in time")
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    c0.publish("ir.q", "still".into()).await.expect("pub");
    c0.flush().await.expect("flush");
    assert_eq!(next(&mut q).await.payload, Bytes::from("still"));
    q.unsubscribe().await.expect("unsub");
    c1.flush().await.expect("flush");
    wait_until("queue interest withdrawn", MESH, || {
        !nodes[0].has_remote_interest("ir.q")
    })
    .await;
}

#[tokio::test]
async fn five_servers_from_one_seed_form_a_full_mesh() {
    let nodes = cluster(&[Kind::Rnats; 5]);
    for n in &nodes {
        assert_eq!(n.peers().len(), 4, "{} routes", n.name);
        let v = n.http("/varz");
        assert_eq!(v["cluster"]["name"], "test");
        assert_eq!(v["routes"], 4);
        let metrics = harness::http_text(
            "127.0.0.1",
            n.proc.http_port.expect("monitoring"),
            "/metrics",
        );
        let want = format!("nats_routez_num_routes{{server_id=\"{}\"}} 4", n.id());
        assert!(metrics.contains(&want), "{want} in /metrics");
    }
    check_all_pairs(&nodes).await;
    let per_server = check_queue_once(&nodes, 4, 200).await;
    assert_eq!(per_server.values().sum::<usize>(), 200);
}

#[tokio::test]
async fn killed_server_restarts_and_rejoins() {
    let mut nodes = cluster(&[Kind::Rnats, Kind::Rnats, Kind::Rnats]);
    let dead_id = nodes[2].id();
    let seed = nodes[0].route_url();
    nodes[2].proc.child.kill().expect("kill -9");
    let _ = nodes[2].proc.child.wait();
    for n in &nodes[..2] {
        wait_until("the dead server's route to close", MESH, || {
            !n.peers().contains(&dead_id)
        })
        .await;
    }
    nodes[2] = node(Kind::Rnats, "s2", &[seed], &[]);
    wait_mesh(&nodes);
    check_all_pairs(&nodes).await;
}

#[tokio::test]
async fn async_nats_fails_over_to_a_survivor() {
    let mut nodes = cluster(&[Kind::Rnats, Kind::Rnats, Kind::Rnats]);
    let client = async_nats::ConnectOptions::new()
        .retain_servers_order()
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(vec![nodes[2].url(), nodes[0].url()])
        .await
        .expect("connect");
    let mut sub = client.subscribe("fo.x").await.expect("sub");
    client.flush().await.expect("flush");
    // The client learnt the whole cluster from INFO's connect_urls.
    let info = client.server_info();
    assert!(
        info.connect_urls.len() >= 3,
        "connect_urls: {:?}",
        info.connect_urls
    );
    let dead = nodes[2].id();
    nodes[2].proc.child.kill().expect("kill -9");
    let _ = nodes[2].proc.child.wait();
    let publisher = connect(&nodes[1]).await;
    // The dead node's route, and the old interest it showed, gone from server 1 first.
    wait_until("node 1 dropped the dead node's route", MESH, || {
        !nodes[1].peers().contains(&dead)
    })
    .await;
    // Resubscribed on a survivor: interest reappears on server 1 from a live peer.
    wait_until("resubscription after failover", MESH, || {
        nodes[1].has_remote_interest("fo.x")
    })
    .await;
    publisher
        .publish("fo.x", "after".into())
        .await
        .expect("pub");
    publisher.flush().await.expect("flush");
    assert_eq!(next(&mut sub).await.payload, Bytes::from("after"));
}

#[tokio::test]
async fn nats_py_fails_over_to_a_survivor() {
    let mut nodes = cluster(&[Kind::Rnats, Kind::Rnats, Kind::Rnats]);
    let script = r#"
import asyncio, sys
import nats

async def main():
    got = asyncio.Event()
    nc = await nats.connect(servers=sys.argv[1:], dont_randomize=True,
                            reconnect_time_wait=0.05, max_reconnect_attempts=-1)
    async def cb(msg):
        got.set()
    await nc.subscribe("pyfo.x", cb=cb)
    await nc.flush()
    print("READY", flush=True)
    await asyncio.wait_for(got.wait(), 20)
    print("GOT", flush=True)
    await nc.close()

asyncio.run(main())
"#;
    let mut child = std::process::Command::new(harness::venv_python())
        .arg("-c")
        .arg(script)
        .arg(nodes[2].url())
        .arg(nodes[0].url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("python runs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = tokio::time::timeout(T, rx.recv())
        .await
        .expect("READY in time");
    assert_eq!(line.as_deref(), Some("READY"));
    let dead = nodes[2].id();
    nodes[2].proc.child.kill().expect("kill -9");
    let _ = nodes[2].proc.child.wait();
    // Until node 1 has dropped its route to the dead node, that route still shows the
    // subscriber's old interest, and a publish sent then would go to a closed socket.
    wait_until("node 1 dropped the dead node's route", MESH, || {
        !nodes[1].peers().contains(&dead)
    })
    .await;
    wait_until("nats-py resubscribed on a survivor", MESH, || {
        nodes[1].has_remote_interest("pyfo.x")
    })
    .await;
    let publisher = connect(&nodes[1]).await;
    publisher
        .publish("pyfo.x", "after".into())
        .await
        .expect("pub");
    publisher.flush().await.expect("flush");
    let line = tokio::time::timeout(T, rx.recv())
        .await
        .expect("GOT in time");
    assert_eq!(line.as_deref(), Some("GOT"));
    let status = child.wait().expect("python exits");
    assert!(status.success(), "nats-py script failed: {status}");
}

#[tokio::test]
async fn mixed_two_rnats_and_one_reference() {
    let nodes = cluster(&[Kind::Rnats, Kind::Reference, Kind::Rnats]);
    check_all_pairs(&nodes).await;
    // Publisher on the reference server, members on both rnats servers.
    let per_server = check_queue_once(&nodes, 1, 200).await;
    assert_eq!(per_server.values().sum::<usize>(), 200);
    // Publisher on rnats, members on the other rnats and on the reference.
    let per_server = check_queue_once(&nodes, 0, 200).await;
    assert_eq!(per_server.values().sum::<usize>(), 200);
}

#[tokio::test]
async fn mixed_one_rnats_and_two_reference() {
    let nodes = cluster(&[Kind::Reference, Kind::Rnats, Kind::Reference]);
    check_all_pairs(&nodes).await;
    let per_server = check_queue_once(&nodes, 1, 200).await;
    assert_eq!(
        per_server.len(),
        2,
        "both reference servers served: {per_server:?}"
    );
    let per_server = check_queue_once(&nodes, 0, 200).await;
    assert_eq!(per_server.values().sum::<usize>(), 200);
    // Request/reply with the responder on rnats and the requester on the reference.
    let c1 = connect(&nodes[1]).await;
    let mut svc = c1.subscribe("mixed.svc").await.expect("sub");
    c1.flush().await.expect("flush");
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            if let Some(reply) = m.reply {
                let _ = c1.publish(reply, "pong".into()).await;
                let _ = c1.flush().await;
            }
        }
    });
    wait_interest(&nodes, 1, "mixed.svc").await;
    let c0 = connect(&nodes[0]).await;
    let resp = tokio::time::timeout(T, c0.request("mixed.svc", "ping".into()))
        .await
        .expect("in time")
        .expect("reply");
    assert_eq!(resp.payload, Bytes::from("pong"));
}

#[tokio::test]
async fn lame_duck_withdraws_client_urls_from_peers() {
    let nodes = cluster(&[Kind::Rnats, Kind::Rnats, Kind::Rnats]);
    let urls = |n: &Node| -> Vec<String> {
        n.http("/varz")["connect_urls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let leaving = format!("127.0.0.1:{}", nodes[2].proc.client_port);
    wait_until("all client URLs advertised", MESH, || {
        urls(&nodes[0]).contains(&leaving)
    })
    .await;
    // A raw protocol-1 client: it gets asynchronous INFO after its first PONG.
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", nodes[0].proc.client_port))
        .await
        .expect("connect");
    let (rd, mut wr) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(rd).lines();
    let first = tokio::time::timeout(T, lines.next_line())
        .await
        .expect("INFO in time")
        .expect("read")
        .expect("line");
    assert!(first.contains(&leaving), "{first}");
    wr.write_all(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
        .await
        .expect("write");
    nodes[2].proc.signal("USR2");
    wait_until("the lame duck's URL withdrawn", MESH, || {
        !urls(&nodes[0]).contains(&leaving) && !urls(&nodes[1]).contains(&leaving)
    })
    .await;
    // The client got the update as an asynchronous INFO.
    let deadline = tokio::time::Instant::now() + MESH;
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("an INFO without the lame duck's URL")
            .expect("read")
            .expect("line");
        if line.starts_with("INFO ") && line.contains("connect_urls") && !line.contains(&leaving) {
            break;
        }
    }
}

#[tokio::test]
async fn route_authorization_with_the_reference() {
    let dir = common::process::TempDir::new("route-auth");
    let conf = |name: &str, user: &str, pass: &str| {
        let p = dir.path().join(format!("{name}.conf"));
        std::fs::write(
            &p,
            format!(
                "cluster {{\n  name: test\n  listen: 127.0.0.1:-1\n  authorization {{ user: {user}, password: {pass} }}\n}}\n"
            ),
        )
        .expect("write config");
        p.display().to_string()
    };
    let good = conf("good", "ruser", "s3cret");
    let a = common::process::spawn(&common::process::rnats_bin(), &["-c", &good]);
    let a_route = format!(
        "nats://ruser:s3cret@127.0.0.1:{}",
        a.cluster_port.expect("cluster port")
    );
    let b = common::process::spawn(
        &common::process::reference_bin(),
        &["-c", &good, "--routes", &a_route],
    );
    let c = common::process::spawn(
        &common::process::rnats_bin(),
        &["-c", &good, "--routes", &a_route],
    );
    let wrap = |proc: common::process::ServerProcess, kind, name: &str| Node {
        kind,
        name: name.to_string(),
        proc,
    };
    let nodes = vec![
        wrap(a, Kind::Rnats, "a"),
        wrap(b, Kind::Reference, "b"),
        wrap(c, Kind::Rnats, "c"),
    ];
    wait_mesh(&nodes);
    check_all_pairs(&nodes).await;
    // Wrong credentials are refused with nats-server's error and never form a route.
    let bad_route = format!(
        "nats://ruser:wrong@127.0.0.1:{}",
        nodes[0].proc.cluster_port.expect("cluster port")
    );
    let bad = common::process::spawn(
        &common::process::rnats_bin(),
        &["-c", &conf("bad", "ruser", "other"), "--routes", &bad_route],
    );
    wait_until("the bad route refused", MESH, || {
        nodes[0].proc.log().contains("authentication error")
            && bad.log().contains("Authorization Violation")
    })
    .await;
    assert_eq!(nodes[0].peers().len(), 2);
}

#[tokio::test]
async fn connect_error_reports_thins_out_route_dial_errors() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = common::process::TempDir::new("cluster-error-reports");
    let conf = dir.path().join("c.conf");
    std::fs::write(
        &conf,
        format!(
            "connect_error_reports: 2\ncluster {{\n  name: test\n  listen: \"127.0.0.1:-1\"\n  \
             routes: [ \"nats://127.0.0.1:{dead}\" ]\n}}\n"
        ),
    )
    .expect("write config");
    let conf = conf.display().to_string();
    let servers = [Kind::Rnats, Kind::Reference]
        .map(|k| (k, common::process::spawn(&k.bin(), &["-c", &conf])));
    // Dials one second apart; attempt 4 is the next one reported after 2.
    for (kind, p) in &servers {
        wait_until("attempt 4 reported", Duration::from_secs(20), || {
            p.log().contains("(attempt 4)")
        })
        .await;
        let log = p.log();
        let reported: std::collections::BTreeSet<u64> = log
            .lines()
            .filter(|l| l.contains("[ERR]"))
            .filter_map(|l| l.split("(attempt ").nth(1)?.split(')').next()?.parse().ok())
            .collect();
        assert_eq!(
            reported.iter().copied().take(3).collect::<Vec<_>>(),
            [1, 2, 4],
            "{kind:?}:\n{log}"
        );
    }
}
