//! Configuration reloads in a cluster: the routes kept over a reload, a new cluster port
//! refused as nats-server refuses it, and configured routes added and removed.

use std::collections::HashSet;
use std::time::Duration;

use crate::check_all_pairs;
use crate::common::process::{TempDir, rnats_bin, spawn};
use crate::harness::{Kind, MESH, Node, node, wait_mesh, wait_until};

#[tokio::test]
async fn reload_keeps_routes_and_refuses_a_new_cluster_port() {
    let dir = TempDir::new("cluster-reload");
    let conf = dir.path().join("c.conf");
    std::fs::write(
        &conf,
        "cluster {\n  name: test\n  listen: \"127.0.0.1:-1\"\n}\n",
    )
    .expect("write config");
    let conf_s = conf.display().to_string();
    let a = spawn(&rnats_bin(), &["-c", &conf_s]);
    let a_route = format!("nats://127.0.0.1:{}", a.cluster_port.expect("cluster port"));
    let b = spawn(&rnats_bin(), &["-c", &conf_s, "--routes", &a_route]);
    let wrap = |proc, name: &str| Node {
        kind: Kind::Rnats,
        name: name.to_string(),
        proc,
    };
    let nodes = vec![wrap(a, "a"), wrap(b, "b")];
    wait_mesh(&nodes);
    // A reload with the same cluster block keeps the route and the flags' routes.
    nodes[1].proc.signal("HUP");
    assert!(
        nodes[1]
            .proc
            .wait_log("Reloaded server configuration", MESH),
        "{}",
        nodes[1].proc.log()
    );
    check_all_pairs(&nodes).await;
    // Moving the route listener needs a restart, as in nats-server.
    std::fs::write(
        &conf,
        "cluster {\n  name: test\n  listen: \"127.0.0.1:1\"\n}\n",
    )
    .expect("write config");
    nodes[0].proc.signal("HUP");
    assert!(
        nodes[0].proc.wait_log(
            "config reload not supported for cluster port: old=-1, new=1",
            MESH
        ),
        "{}",
        nodes[0].proc.log()
    );
    assert_eq!(nodes[0].peers().len(), 1);
}

/// A reload that replaces one configured route with another closes the removed route for
/// good ("Route Removed", no reconnect) and dials the new one, in rnats as in nats-server.
#[tokio::test]
async fn reload_adds_and_removes_configured_routes() {
    for kind in [Kind::Rnats, Kind::Reference] {
        replace_route(kind).await;
    }
}

async fn replace_route(kind: Kind) {
    let b = node(Kind::Rnats, "b", &[], &[]);
    let c = node(Kind::Rnats, "c", &[], &[]);
    let dir = TempDir::new("cluster-reload-routes");
    let conf = dir.path().join("a.conf");
    // A configured route nobody answers: its dialling must stop when a reload removes it.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("nats://127.0.0.1:{}", l.local_addr().expect("addr").port())
    };
    let write = |routes: &[&str]| {
        let text = format!(
            "cluster {{\n  name: test\n  listen: \"127.0.0.1:-1\"\n  routes: [ {} ]\n}}\n",
            routes
                .iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::fs::write(&conf, text).expect("write config");
    };
    write(&[&b.route_url(), &dead]);
    let conf_s = conf.display().to_string();
    let a = Node {
        kind,
        name: "a".into(),
        proc: spawn(&kind.bin(), &["-c", &conf_s, "-D"]),
    };
    let only = |id: String| HashSet::from([id]);
    let (b_id, c_id) = (b.id(), c.id());
    wait_until("a routed to b", MESH, || a.peers() == only(b_id.clone())).await;

    write(&[&c.route_url()]);
    a.proc.signal("HUP");
    wait_until("a routed to c and not b", MESH, || {
        a.peers() == only(c_id.clone())
    })
    .await;
    let log = a.proc.log();
    for line in [
        format!("Removed route {}", b.route_url()),
        "Reloaded: cluster routes".to_string(),
        "Router connection closed: Route Removed".to_string(),
    ] {
        assert!(log.contains(&line), "{kind:?}: no {line:?} in\n{log}");
    }
    // Past the reconnect delay of an explicit route (1 s and up to 100 ms), b stays cut off;
    // past the 1 s between two dials, the dead route is no longer tried.
    let dead_addr = dead.trim_start_matches("nats://");
    let dials = || {
        a.proc
            .log()
            .matches(&format!("Trying to connect to route on {dead_addr} "))
            .count()
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = dials();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = dials();
    assert!(
        before >= 1 && after == before,
        "{kind:?}: dialled {before} then {after} times"
    );
    let gave_up = format!(
        "Not attempting to connect to explicit route \"{dead}\", no longer part of configured routes"
    );
    assert!(a.proc.log().contains(&gave_up), "{kind:?}: no {gave_up:?}");
    assert_eq!(
        a.peers(),
        only(c_id.clone()),
        "{kind:?}: the removed route came back"
    );
    assert!(b.peers().is_empty(), "{kind:?}: b still routed");
    assert_eq!(c.peers(), only(a.id()), "{kind:?}");
}
