//! `$SYS` PING across a cluster: all reference, all rnats, and mixed.

use super::*;

/// A 3-server cluster of `bins` (each with `CONFIG`), every one seeded with the first.
fn start_cluster(dir: &TempDir, bins: &[PathBuf]) -> Vec<ServerProcess> {
    let path = dir.path().join("cluster.conf");
    std::fs::write(&path, CONFIG).expect("write config");
    let conf = path.display().to_string();
    let mut nodes: Vec<ServerProcess> = Vec::new();
    for (i, bin) in bins.iter().enumerate() {
        let name = format!("s{i}");
        let mut args = vec![
            "-c",
            &conf,
            "-n",
            &name,
            "--cluster_name",
            "syscluster",
            "--cluster",
            "nats://127.0.0.1:-1",
        ];
        let seed = nodes
            .first()
            .map(|n| format!("nats://127.0.0.1:{}", n.cluster_port.expect("cluster port")));
        if let Some(s) = &seed {
            args.extend(["--routes", s]);
        }
        nodes.push(spawn(bin, &args));
    }
    nodes
}

/// Whether every node of a 3-server cluster routes to both others within 20 s (distinct
/// peers: the reference pools several connections per peer).
async fn full_mesh(nodes: &[ServerProcess]) -> bool {
    common::wait_for(Duration::from_secs(20), || {
        nodes.iter().all(|n| {
            let v = http_json(n, "/routez");
            let peers: BTreeSet<&str> = v["routes"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r["remote_id"].as_str()).collect())
                .unwrap_or_default();
            peers.len() == 2
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gathers_every_server_of_a_cluster() {
    let mut seen = Vec::new();
    for (label, bin) in [("reference", reference_bin()), ("rnats", rnats_bin())] {
        let dir = TempDir::new("syscluster");
        let nodes = start_cluster(&dir, &[bin.clone(), bin.clone(), bin]);
        let meshed = full_mesh(&nodes).await;
        assert!(meshed, "{label}: full mesh");
        // One application connection on each server.
        let mut apps = Vec::new();
        for n in &nodes {
            let c = connect(n, "app", "app").await;
            barrier(&c).await;
            apps.push(c);
        }
        // Each server learns the others' `$SYS` interest over the routes: poll until all
        // three answer (interest propagation is asynchronous).
        let mut list = Vec::new();
        let all = common::wait_for(Duration::from_secs(10), || {
            let v = cli_json(&nodes[0], "sys", &["server", "list", "3", "--json"]);
            list = v.as_array().cloned().unwrap_or_default();
            list.len() == 3
        })
        .await;
        assert!(all, "{label}: three servers answer PING: {list:?}");
        let mut names: Vec<&str> = list
            .iter()
            .map(|m| m["server"]["name"].as_str().expect("name"))
            .collect();
        names.sort();
        assert_eq!(names, ["s0", "s1", "s2"], "{label}");
        for m in &list {
            assert_eq!(m["server"]["cluster"], "syscluster", "{label}: {m}");
            // (at least one per peer; the reference pools several)
            let routes = m["statsz"]["routes"].as_array().map_or(0, Vec::len);
            assert!(routes >= 2, "{label}: {m}");
        }
        let conns: u64 = list
            .iter()
            .map(|m| m["statsz"]["connections"].as_u64().expect("connections"))
            .sum();
        let (ok, out, err) = cli(&nodes[1], "sys", &["server", "ping", "3"]);
        assert!(ok, "{label}: ping: {out}{err}");
        assert!(out.contains("3 replies"), "{label}: {out}");
        let report = cli_json(
            &nodes[2],
            "sys",
            &["server", "report", "connections", "--json"],
        );
        let report = report.as_array().expect("array");
        let app_conns = report.iter().filter(|c| c["account"] == "APP").count();
        assert_eq!(
            app_conns, 3,
            "{label}: one APP connection per server: {report:?}"
        );
        seen.push((names.len(), conns, app_conns));
    }
    assert_eq!(seen[0], seen[1], "servers, connections, APP connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_in_a_mixed_cluster() {
    let dir = TempDir::new("sysmixed");
    let nodes = start_cluster(&dir, &[rnats_bin(), reference_bin(), rnats_bin()]);
    let meshed = full_mesh(&nodes).await;
    assert!(meshed, "full mesh");
    for (i, n) in nodes.iter().enumerate() {
        let mut list = Vec::new();
        let all = common::wait_for(Duration::from_secs(10), || {
            let v = cli_json(n, "sys", &["server", "list", "3", "--json"]);
            list = v.as_array().cloned().unwrap_or_default();
            list.len() == 3
        })
        .await;
        let mut names: Vec<&str> = list
            .iter()
            .map(|m| m["server"]["name"].as_str().unwrap_or("?"))
            .collect();
        names.sort();
        assert!(all, "asked s{i}: three servers answer PING: {names:?}");
    }
}
