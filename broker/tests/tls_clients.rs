//! TLS and nkey authentication with the async-nats client against `rnats-server` processes:
//! a CA made with rcgen at test time, mutual TLS, `verify_and_map`, TLS first, nkey seeds,
//! refused credentials, and certificate rotation on SIGHUP under load with no disconnect.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions};
use futures::StreamExt;
use rcgen::DnType;

use common::pki::{CertFiles, Pki, tls_block, write_atomic};
use common::process::{ServerProcess, rnats_bin, spawn};

const T: Duration = Duration::from_secs(10);

/// Starts rnats with `config` (written next to the PKI's files).
fn server(pki: &Pki, name: &str, config: &str) -> ServerProcess {
    let path = pki.path(&format!("{name}.conf"));
    std::fs::write(&path, config).expect("write config");
    spawn(&rnats_bin(), &["-c", &path.display().to_string()])
}

fn tls_url(s: &ServerProcess) -> String {
    format!("tls://127.0.0.1:{}", s.client_port)
}

fn with_ca(pki: &Pki) -> ConnectOptions {
    ConnectOptions::new()
        .add_root_certificates(pki.ca.clone())
        .require_tls(true)
        .max_reconnects(Some(1))
}

fn with_cert(pki: &Pki, c: &CertFiles) -> ConnectOptions {
    with_ca(pki).add_client_certificate(c.cert.clone(), c.key.clone())
}

/// A publish/subscribe round trip over `nc`.
async fn round_trip(nc: &async_nats::Client, subject: &str) {
    let mut sub = nc.subscribe(subject.to_string()).await.expect("sub");
    nc.flush().await.expect("flush");
    nc.publish(subject.to_string(), "hi".into())
        .await
        .expect("pub");
    let m = tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("stream open");
    assert_eq!(&m.payload[..], b"hi");
}

async fn refused(opts: ConnectOptions, url: &str) -> ConnectErrorKind {
    match tokio::time::timeout(T, opts.max_reconnects(Some(1)).connect(url)).await {
        Ok(Ok(_)) => panic!("connection to {url} should be refused"),
        Ok(Err(e)) => e.kind(),
        Err(_) => panic!("connect to {url} did not finish"),
    }
}

/// `GET path` on the monitoring port, body as JSON.
fn monitor(s: &ServerProcess, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let port = s.http_port.expect("monitoring port");
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect monitor");
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut resp = String::new();
    c.read_to_string(&mut resp).expect("response");
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("json from {path}: {e}: {body}"))
}

#[tokio::test]
async fn tls_with_a_ca_made_at_test_time() {
    let pki = Pki::new("tls-basic");
    let srv_cert = pki.server("server", "server");
    let s = server(&pki, "basic", &tls_block(&srv_cert, ""));
    let nc = with_ca(&pki).connect(tls_url(&s)).await.expect("connect");
    round_trip(&nc, "tls.basic").await;
    let info = nc.server_info();
    assert!(info.tls_required);
    // A client that does not trust the CA fails the handshake.
    let other = Pki::new("tls-other");
    let kind = refused(with_ca(&other), &tls_url(&s)).await;
    assert!(
        matches!(kind, ConnectErrorKind::Tls | ConnectErrorKind::Io),
        "{kind:?}"
    );
}

#[tokio::test]
async fn mutual_tls_requires_a_certificate_from_the_ca() {
    let pki = Pki::new("tls-mutual");
    let srv_cert = pki.server("server", "server");
    let extra = format!("  ca_file: \"{}\"\n  verify: true", pki.ca.display());
    let s = server(&pki, "mutual", &tls_block(&srv_cert, &extra));
    let alice = pki.client("alice", &[(DnType::CommonName, "alice")], &[]);
    let nc = with_cert(&pki, &alice)
        .connect(tls_url(&s))
        .await
        .expect("connect with a client certificate");
    round_trip(&nc, "tls.mutual").await;
    // No certificate, or one from another CA: refused during the handshake.
    let kind = refused(with_ca(&pki), &tls_url(&s)).await;
    assert!(
        matches!(kind, ConnectErrorKind::Tls | ConnectErrorKind::Io),
        "{kind:?}"
    );
    let rogue = Pki::new("tls-rogue");
    let mallory = rogue.client("mallory", &[(DnType::CommonName, "alice")], &[]);
    let kind = refused(with_cert(&pki, &mallory), &tls_url(&s)).await;
    assert!(
        matches!(kind, ConnectErrorKind::Tls | ConnectErrorKind::Io),
        "{kind:?}"
    );
}

#[tokio::test]
async fn verify_and_map_binds_the_certificate_to_a_user() {
    let pki = Pki::new("tls-map");
    let srv_cert = pki.server("server", "server");
    let config = format!(
        "{}authorization {{ users: [\n  {{user: \"CN=alice,OU=eng,O=Acme,C=US\"}}\n  \
         {{user: \"bob@example.com\"}}\n] }}\n",
        tls_block(
            &srv_cert,
            &format!(
                "  ca_file: \"{}\"\n  verify_and_map: true",
                pki.ca.display()
            )
        )
    );
    let s = server(&pki, "map", &config);
    let alice = pki.client(
        "alice",
        &[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Acme"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ],
        &[],
    );
    let bob = pki.client("bob", &[(DnType::CommonName, "bob")], &["bob@example.com"]);
    let carol = pki.client("carol", &[(DnType::CommonName, "carol")], &[]);
    let a = with_cert(&pki, &alice)
        .name("alice-conn")
        .connect(tls_url(&s))
        .await
        .expect("alice maps by subject");
    round_trip(&a, "map.alice").await;
    let b = with_cert(&pki, &bob)
        .name("bob-conn")
        .connect(tls_url(&s))
        .await
        .expect("bob maps by e-mail SAN");
    round_trip(&b, "map.bob").await;
    let connz = monitor(&s, "/connz?auth=true");
    let users: Vec<(String, String)> = connz["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["authorized_user"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert!(
        users.contains(&("alice-conn".into(), "CN=alice,OU=eng,O=Acme,C=US".into())),
        "{users:?}"
    );
    assert!(
        users.contains(&("bob-conn".into(), "bob@example.com".into())),
        "{users:?}"
    );
    let kind = refused(with_cert(&pki, &carol), &tls_url(&s)).await;
    assert_eq!(kind, ConnectErrorKind::AuthorizationViolation);
}

#[tokio::test]
async fn tls_first_handshake() {
    let pki = Pki::new("tls-first");
    let srv_cert = pki.server("server", "server");
    let s = server(
        &pki,
        "first",
        &tls_block(&srv_cert, "  handshake_first: true"),
    );
    let nc = with_ca(&pki)
        .tls_first()
        .connect(tls_url(&s))
        .await
        .expect("TLS-first client");
    round_trip(&nc, "tls.first").await;
    // A classic client waits for an INFO that never comes: refused at the TLS timeout.
    assert!(refused_or_timeout(with_ca(&pki), &tls_url(&s)).await);

    // `auto`: both kinds of client connect.
    let s2 = server(
        &pki,
        "first-auto",
        &tls_block(&srv_cert, "  handshake_first: auto"),
    );
    let first = with_ca(&pki).tls_first().connect(tls_url(&s2)).await;
    round_trip(&first.expect("TLS-first client"), "auto.first").await;
    let classic = with_ca(&pki).connect(tls_url(&s2)).await;
    round_trip(&classic.expect("classic client"), "auto.classic").await;
}

async fn refused_or_timeout(opts: ConnectOptions, url: &str) -> bool {
    let opts = opts.connection_timeout(Duration::from_secs(4));
    !matches!(
        tokio::time::timeout(T, opts.max_reconnects(Some(1)).connect(url)).await,
        Ok(Ok(_))
    )
}

#[tokio::test]
async fn nkey_seed_signs_the_nonce() {
    let pki = Pki::new("nkey");
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().expect("seed");
    let config = format!(
        "authorization {{ users: [ {{nkey: {}}} ] }}\n",
        user.public_key()
    );
    let s = server(&pki, "nkey", &config);
    let url = format!("nats://127.0.0.1:{}", s.client_port);
    let nc = ConnectOptions::new()
        .nkey(seed)
        .connect(&url)
        .await
        .expect("nkey user connects");
    round_trip(&nc, "nkey.ok").await;
    let stranger = nkeys::KeyPair::new_user().seed().expect("seed");
    let kind = refused(ConnectOptions::new().nkey(stranger), &url).await;
    assert_eq!(kind, ConnectErrorKind::AuthorizationViolation);
    let kind = refused(
        ConnectOptions::with_user_and_password("a".into(), "b".into()),
        &url,
    )
    .await;
    assert_eq!(kind, ConnectErrorKind::AuthorizationViolation);
}

#[tokio::test]
async fn nkey_over_mutual_tls() {
    let pki = Pki::new("nkey-tls");
    let srv_cert = pki.server("server", "server");
    let user = nkeys::KeyPair::new_user();
    let config = format!(
        "{}authorization {{ users: [ {{nkey: {}}} ] }}\n",
        tls_block(
            &srv_cert,
            &format!("  ca_file: \"{}\"\n  verify: true", pki.ca.display())
        ),
        user.public_key()
    );
    let s = server(&pki, "nkey-tls", &config);
    let alice = pki.client("alice", &[(DnType::CommonName, "alice")], &[]);
    let nc = with_cert(&pki, &alice)
        .nkey(user.seed().expect("seed"))
        .connect(tls_url(&s))
        .await
        .expect("connect");
    round_trip(&nc, "nkey.tls").await;
}

/// The common name of the certificate the server presents to a new TLS connection.
async fn presented_cn(port: u16, ca: &Path) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::AsyncBufReadExt;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(c.expect("ca cert")).expect("add root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("tcp");
    let mut tcp = tokio::io::BufReader::new(tcp);
    let mut info = String::new();
    tcp.read_line(&mut info).await.expect("INFO");
    assert!(info.starts_with("INFO "), "{info}");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let tls = connector
        .connect(name, tcp.into_inner())
        .await
        .expect("handshake");
    let cert = tls.get_ref().1.peer_certificates().expect("certs")[0].clone();
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).expect("parse");
    parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn certificate_rotation_under_load_drops_no_connection() {
    let pki = Pki::new("rotate");
    let srv_cert = pki.server("server", "server-a");
    let s = server(&pki, "rotate", &tls_block(&srv_cert, ""));
    assert_eq!(presented_cn(s.client_port, &pki.ca).await, "server-a");

    let disconnects = Arc::new(AtomicU64::new(0));
    let slow = Arc::new(AtomicU64::new(0));
    let connect = || {
        let (d, sc) = (disconnects.clone(), slow.clone());
        with_ca(&pki)
            // Room for everything in flight, so the client never drops messages itself.
            .subscription_capacity(1 << 20)
            .event_callback(move |ev| {
                let (d, sc) = (d.clone(), sc.clone());
                async move {
                    match ev {
                        async_nats::Event::Disconnected => {
                            d.fetch_add(1, Ordering::Relaxed);
                        }
                        async_nats::Event::SlowConsumer(_) => {
                            sc.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            })
            .connect(tls_url(&s))
    };
    let sub_conn = connect().await.expect("subscriber");
    let mut sub = sub_conn.subscribe("load.>").await.expect("sub");
    sub_conn.flush().await.expect("flush");
    let received = Arc::new(AtomicU64::new(0));
    let counter = {
        let received = received.clone();
        tokio::spawn(async move {
            while sub.next().await.is_some() {
                received.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Publishers keep at most WINDOW messages unreceived in total, so the subscriber is
    // never a slow consumer however slow this build is: the load is as fast as it can flow.
    const WINDOW: u64 = 5_000;
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight_sent = Arc::new(AtomicU64::new(0));
    let mut publishers = Vec::new();
    for i in 0..4 {
        let nc = connect().await.expect("publisher");
        let (stop, total, received) = (stop.clone(), in_flight_sent.clone(), received.clone());
        publishers.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if total.load(Ordering::Relaxed) >= received.load(Ordering::Relaxed) + WINDOW {
                    nc.flush().await.expect("flush");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                nc.publish(format!("load.{i}"), "x".repeat(64).into())
                    .await
                    .expect("publish");
                total.fetch_add(1, Ordering::Relaxed);
                sent += 1;
                if sent.is_multiple_of(50) {
                    nc.flush().await.expect("flush");
                }
            }
            nc.flush().await.expect("final flush");
            sent
        }));
    }
    // Under load: replace the certificate files and reload.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = pki.server("next", "server-b");
    write_atomic(&srv_cert.cert, &std::fs::read(&next.cert).expect("read"));
    write_atomic(&srv_cert.key, &std::fs::read(&next.key).expect("read"));
    let pid = s.pid();
    assert!(pid > 0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .expect("SIGHUP");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if presented_cn(s.client_port, &pki.ca).await == "server-b" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "new connections never saw the new certificate; log:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Keep publishing a little on the old sessions after the rotation.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    for p in publishers {
        sent += p.await.expect("publisher task");
    }
    assert!(sent > 0);
    eprintln!("rotation under load: {sent} messages published");
    let deadline = tokio::time::Instant::now() + 3 * T;
    while received.load(Ordering::Relaxed) < sent && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = s.log();
    assert_eq!(
        disconnects.load(Ordering::Relaxed),
        0,
        "a client was dropped:\n{log}"
    );
    assert_eq!(
        slow.load(Ordering::Relaxed),
        0,
        "the test client fell behind"
    );
    assert_eq!(
        received.load(Ordering::Relaxed),
        sent,
        "messages lost:\n{log}"
    );
    assert!(s.log().contains("Reloaded: tls = enabled"), "{}", s.log());
    counter.abort();
}

/// The TLS fields of `/varz` and `/connz?auth=1` for a mutual-TLS client of `bin`.
async fn tls_monitoring_fields(
    bin: &Path,
    pki: &Pki,
    client: &CertFiles,
    config: &Path,
) -> (serde_json::Value, serde_json::Value) {
    let s = spawn(bin, &["-c", &config.display().to_string()]);
    let nc = with_cert(pki, client)
        .connect(tls_url(&s))
        .await
        .expect("connect with a client certificate");
    nc.flush().await.expect("flush");
    let varz = monitor(&s, "/varz");
    let connz = monitor(&s, "/connz?auth=1");
    let plain = monitor(&s, "/connz");
    let conn = connz["connections"][0].clone();
    assert!(
        plain["connections"][0].get("tls_peer_certs").is_none(),
        "peer certificates only with auth=1: {plain}"
    );
    let pick = |v: &serde_json::Value, keys: &[&str]| {
        keys.iter()
            .map(|k| {
                (
                    k.to_string(),
                    v.get(*k).cloned().unwrap_or(serde_json::Value::Null),
                )
            })
            .collect::<serde_json::Map<_, _>>()
    };
    let v = pick(&varz, &["tls_required", "tls_verify", "tls_timeout"]);
    let mut c = pick(&conn, &["tls_version", "tls_peer_certs", "tls_first"]);
    // Both servers pick from the client's suites; the name's form is what must agree.
    let suite = conn["tls_cipher_suite"].as_str().unwrap_or("").to_string();
    c.insert("suite_form".into(), suite.starts_with("TLS_").into());
    assert!(
        varz["tls_cert_not_after"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{varz}"
    );
    (v.into(), c.into())
}

#[tokio::test]
async fn monitoring_reports_tls_as_the_reference() {
    let pki = Pki::new("tls-monitor");
    let srv_cert = pki.server("server", "server");
    let extra = format!(
        "  ca_file: \"{}\"\n  verify: true\n  timeout: 3",
        pki.ca.display()
    );
    let path = pki.path("monitor.conf");
    std::fs::write(&path, tls_block(&srv_cert, &extra)).expect("write config");
    let alice = pki.client("alice-mon", &[(DnType::CommonName, "alice")], &[]);
    let ours = tls_monitoring_fields(&rnats_bin(), &pki, &alice, &path).await;
    let reference = common::process::reference_bin();
    let theirs = tls_monitoring_fields(&reference, &pki, &alice, &path).await;
    assert_eq!(ours, theirs);
    assert_eq!(ours.0["tls_timeout"], 3.0);
    assert_eq!(ours.1["tls_version"], "1.3");
    assert_eq!(ours.1["tls_peer_certs"][0]["subject"], "CN=alice");
}
