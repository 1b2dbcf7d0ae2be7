//! Cluster permissions (`cluster { permissions { import, export } }`) on one server of a
//! two-server cluster, rnats and nats-server alike: `import` limits the interest it
//! announces, `export` the peer interest it accepts, `/routez` shows both sides' and a
//! reload applies new ones to the connected route.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::common::process::{TempDir, spawn};
use crate::harness::{Kind, MESH, Node, node, wait_until};

/// Longest wait for one message.
const T: Duration = Duration::from_secs(10);

fn config(peer: &Node, import: &str, export: &str) -> String {
    format!(
        "cluster {{\n  name: test\n  listen: \"127.0.0.1:-1\"\n  routes: [ \"{}\" ]\n  \
         permissions {{ import: [\"{import}\"], export: [\"{export}\"] }}\n}}\n",
        peer.route_url()
    )
}

/// Publishes `denied` then `allowed` from `from`; `allowed` must arrive on `yes` and, as it
/// came after, nothing can be on its way to `no` (one connection keeps the order).
async fn only_allowed(
    from: &async_nats::Client,
    denied: &str,
    allowed: &str,
    no: &mut async_nats::Subscriber,
    yes: &mut async_nats::Subscriber,
    what: &str,
) {
    from.publish(denied.to_string(), "no".into())
        .await
        .expect("pub");
    from.publish(allowed.to_string(), "yes".into())
        .await
        .expect("pub");
    from.flush().await.expect("flush");
    let got = tokio::time::timeout(T, yes.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: {allowed} in time"))
        .expect("subscription open");
    assert_eq!(got.payload, Bytes::from("yes"), "{what}");
    let leaked = tokio::time::timeout(Duration::from_millis(1), no.next()).await;
    assert!(leaked.is_err(), "{what}: {denied} was delivered");
}

#[tokio::test]
async fn import_and_export_limit_interest_as_nats_server_does() {
    // (the server with permissions, its peer)
    let pairs = [
        (Kind::Rnats, Kind::Rnats),
        (Kind::Reference, Kind::Rnats),
        (Kind::Rnats, Kind::Reference),
    ];
    for (kind, peer) in pairs {
        import_and_export(kind, peer).await;
    }
}

async fn import_and_export(kind: Kind, peer: Kind) {
    let q = node(peer, "q", &[], &[]);
    let dir = TempDir::new("cluster-perms");
    let conf = dir.path().join("p.conf");
    std::fs::write(&conf, config(&q, "imp.>", "exp.>")).expect("write config");
    let conf_s = conf.display().to_string();
    let p = Node {
        kind,
        name: "p".into(),
        proc: spawn(&kind.bin(), &["-c", &conf_s]),
    };
    let q_id = q.id();
    wait_until("p routed to q", MESH, || p.peers().contains(&q_id)).await;
    let on_p = async_nats::connect(p.url()).await.expect("connect");
    let on_q = async_nats::connect(q.url()).await.expect("connect");

    // import: p announces only imp.> (other.a first, so it would be there by now).
    let mut p_other = on_p.subscribe("other.a").await.expect("sub");
    let mut p_imp = on_p.subscribe("imp.a").await.expect("sub");
    on_p.flush().await.expect("flush");
    wait_until("q learns p's imp.a", MESH, || {
        q.has_remote_interest("imp.a")
    })
    .await;
    assert!(
        !q.has_remote_interest("other.a"),
        "{kind:?}/{peer:?}: other.a announced"
    );
    only_allowed(
        &on_q,
        "other.a",
        "imp.a",
        &mut p_other,
        &mut p_imp,
        &format!("{kind:?}/{peer:?} import"),
    )
    .await;

    // export: p accepts only q's interest in exp.>.
    let mut q_other = on_q.subscribe("other.b").await.expect("sub");
    let mut q_exp = on_q.subscribe("exp.a").await.expect("sub");
    on_q.flush().await.expect("flush");
    wait_until("p takes q's exp.a", MESH, || p.has_remote_interest("exp.a")).await;
    assert!(
        !p.has_remote_interest("other.b"),
        "{kind:?}/{peer:?}: other.b taken"
    );
    only_allowed(
        &on_p,
        "other.b",
        "exp.a",
        &mut q_other,
        &mut q_exp,
        &format!("{kind:?}/{peer:?} export"),
    )
    .await;

    // Both sides show p's permissions.
    let imp = serde_json::json!({"allow": ["imp.>"]});
    let exp = serde_json::json!({"allow": ["exp.>"]});
    let pz = p.http("/routez");
    assert_eq!(
        (&pz["import"], &pz["export"]),
        (&imp, &exp),
        "{kind:?}/{peer:?} {pz}"
    );
    let qz = q.http("/routez");
    let r = &qz["routes"][0];
    assert_eq!(
        (&r["import"], &r["export"]),
        (&imp, &exp),
        "{kind:?}/{peer:?} {qz}"
    );

    // A reload swaps them: p now announces other.a (and withdraws imp.a), drops q's exp.a
    // and, told by p's new INFO, q announces other.b again.
    std::fs::write(&conf, config(&q, "other.>", "other.>")).expect("write config");
    p.proc.signal("HUP");
    assert!(
        p.proc.wait_log("Reloaded server configuration", MESH),
        "{kind:?}/{peer:?}: {}",
        p.proc.log()
    );
    wait_until("q learns p's new import", MESH, || {
        q.has_remote_interest("other.a") && !q.has_remote_interest("imp.a")
    })
    .await;
    wait_until("p takes q's other.b, drops exp.a", MESH, || {
        p.has_remote_interest("other.b") && !p.has_remote_interest("exp.a")
    })
    .await;
    only_allowed(
        &on_q,
        "imp.a",
        "other.a",
        &mut p_imp,
        &mut p_other,
        &format!("{kind:?}/{peer:?} import after reload"),
    )
    .await;
    only_allowed(
        &on_p,
        "exp.a",
        "other.b",
        &mut q_exp,
        &mut q_other,
        &format!("{kind:?}/{peer:?} export after reload"),
    )
    .await;
    let qz = q.http("/routez");
    let other = serde_json::json!({"allow": ["other.>"]});
    assert_eq!(qz["routes"][0]["export"], other, "{kind:?}/{peer:?} {qz}");
}
