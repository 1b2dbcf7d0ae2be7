//! Exports and imports declared in account JWTs (made by the real `nsc`), on rnats and the
//! reference nats-server with the same config: a public stream, a public service (imported
//! under a local subject) and a private stream imported with an activation token; what no
//! export covers stays in its account.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::nsc::Nsc;
use common::process::{reference_bin, rnats_bin, spawn};
use futures::StreamExt;

const OP: &str = "OP";

async fn connect(url: &str, creds: PathBuf) -> async_nats::Client {
    async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .expect("creds")
        .connect(url)
        .await
        .expect("connects")
}

async fn next_msg(
    sub: &mut async_nats::Subscriber,
    within: Duration,
) -> Option<async_nats::Message> {
    tokio::time::timeout(within, sub.next())
        .await
        .ok()
        .flatten()
}

/// Publishes `subject` from `from` until `sub` (in another account) receives it; the payload
/// seen, or `None` at the deadline.
async fn delivered(
    from: &async_nats::Client,
    subject: &str,
    sub: &mut async_nats::Subscriber,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        from.publish(subject.to_string(), "across".into())
            .await
            .expect("pub");
        from.flush().await.expect("flush");
        if let Some(m) = next_msg(sub, Duration::from_millis(100)).await {
            return Some(m.payload.to_vec());
        }
    }
    None
}

#[tokio::test]
async fn jwt_exports_and_imports_work_as_on_the_reference() {
    let nsc = Nsc::new("opimports");
    nsc.run(&[
        "add",
        "operator",
        "--generate-signing-key",
        "--sys",
        "--name",
        OP,
    ]);
    nsc.run(&["add", "account", "E"]);
    let e_key = Nsc::key_after(
        &nsc.run(&["describe", "account", "E", "--field", "sub"]),
        "",
        'A',
    );
    nsc.run(&["add", "account", "I"]);
    let i_key = Nsc::key_after(
        &nsc.run(&["describe", "account", "I", "--field", "sub"]),
        "",
        'A',
    );
    nsc.run(&["add", "export", "-a", "E", "--subject", "pub.>"]);
    nsc.run(&[
        "add",
        "export",
        "-a",
        "E",
        "--service",
        "--subject",
        "svc.echo",
    ]);
    nsc.run(&[
        "add",
        "export",
        "-a",
        "E",
        "--private",
        "--subject",
        "priv.>",
    ]);
    nsc.run(&[
        "add",
        "import",
        "-a",
        "I",
        "--src-account",
        &e_key,
        "--remote-subject",
        "pub.>",
    ]);
    nsc.run(&[
        "add",
        "import",
        "-a",
        "I",
        "--src-account",
        &e_key,
        "--service",
        "--remote-subject",
        "svc.echo",
        "--local-subject",
        "echo",
    ]);
    let token = nsc.path().join("priv.jwt");
    nsc.run(&[
        "generate",
        "activation",
        "-a",
        "E",
        "--subject",
        "priv.>",
        "--target-account",
        &i_key,
        "-o",
        &token.display().to_string(),
    ]);
    nsc.run(&[
        "add",
        "import",
        "-a",
        "I",
        "--token",
        &token.display().to_string(),
    ]);
    nsc.run(&["add", "user", "-a", "E", "e1"]);
    nsc.run(&["add", "user", "-a", "I", "i1"]);
    let conf = nsc.server_config().display().to_string();
    for (server, p) in [
        ("rnats", spawn(&rnats_bin(), &["-c", &conf])),
        ("nats-server", spawn(&reference_bin(), &["-c", &conf])),
    ] {
        let url = p.url();
        let e1 = connect(&url, nsc.creds(OP, "E", "e1")).await;
        let i1 = connect(&url, nsc.creds(OP, "I", "i1")).await;
        // Public stream export.
        let mut s = i1.subscribe("pub.x").await.expect("sub");
        assert_eq!(
            delivered(&e1, "pub.x", &mut s).await,
            Some(b"across".to_vec()),
            "{server}"
        );
        // Private stream export, imported with an activation token.
        let mut s = i1.subscribe("priv.a").await.expect("sub");
        assert_eq!(
            delivered(&e1, "priv.a", &mut s).await,
            Some(b"across".to_vec()),
            "{server}: {}",
            p.log()
        );
        // Public service export, imported as `echo`.
        let mut svc = e1.subscribe("svc.echo").await.expect("sub");
        e1.flush().await.expect("flush");
        let responder = e1.clone();
        tokio::spawn(async move {
            while let Some(m) = svc.next().await {
                if let Some(reply) = m.reply {
                    let _ = responder.publish(reply, m.payload).await;
                    let _ = responder.flush().await;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let answer = loop {
            assert!(
                Instant::now() < deadline,
                "{server}: no answer through the service import"
            );
            let r = tokio::time::timeout(
                Duration::from_millis(500),
                i1.request("echo", "ping".into()),
            )
            .await;
            if let Ok(Ok(m)) = r {
                break m.payload.to_vec();
            }
        };
        assert_eq!(answer, b"ping".to_vec(), "{server}");
        // A reload keeps the imports of the JWT accounts.
        p.signal("HUP");
        assert!(
            p.wait_log("Reloaded server configuration", Duration::from_secs(10)),
            "{server}: {}",
            p.log()
        );
        let mut s = i1.subscribe("pub.after").await.expect("sub");
        assert_eq!(
            delivered(&e1, "pub.after", &mut s).await,
            Some(b"across".to_vec()),
            "{server} after reload"
        );
        // Nothing exported: E's subject space stays E's.
        let mut other = i1.subscribe("other").await.expect("sub");
        assert!(
            delivered(&i1, "other", &mut other).await.is_some(),
            "{server}: own subject"
        );
        while next_msg(&mut other, Duration::from_millis(50))
            .await
            .is_some()
        {}
        e1.publish("other", "private".into()).await.expect("pub");
        e1.flush().await.expect("flush");
        assert!(
            next_msg(&mut other, Duration::from_millis(300))
                .await
                .is_none(),
            "{server}"
        );
    }
}
