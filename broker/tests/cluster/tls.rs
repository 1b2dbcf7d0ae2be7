//! Route TLS (`cluster { tls {} }`) with certificates made at test time: a cluster of rnats
//! servers and a mixed one with the reference deliver across TLS routes; a dialler without TLS
//! or with a certificate from another CA is refused by either server and never joins; a silent
//! or plaintext peer is closed as the reference closes it; `/varz` shows the reference's fields.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::common::pki::{CertFiles, Pki};
use crate::harness::{Kind, MESH, Node, cluster_with, node, wait_mesh};

/// The route TLS block for `pki`'s CA and a route certificate named `name`.
fn conf(pki: &Pki, name: &str) -> std::path::PathBuf {
    conf_with(pki, &pki.route(name), name, "")
}

/// The route TLS block for `cert` with `extra` lines, written as `<file>.conf`.
fn conf_with(pki: &Pki, cert: &CertFiles, file: &str, extra: &str) -> std::path::PathBuf {
    let text = format!(
        "cluster {{\n  tls {{\n    cert_file: \"{}\"\n    key_file: \"{}\"\n    ca_file: \"{}\"\n    \
         timeout: 1\n    {extra}\n  }}\n}}\n",
        cert.cert.display(),
        cert.key.display(),
        pki.ca.display()
    );
    let path = pki.path(&format!("{file}.conf"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// How many times `needle` is in the node's log.
fn count(n: &Node, needle: &str) -> usize {
    n.proc.log().matches(needle).count()
}

/// Starts `intruder` dialling `target` and waits until `target` refused two of its attempts
/// (explicit routes retry every second); then neither side has a route to the other. A TLS
/// intruder logs the failed handshake too.
fn refused(target: &Node, others: usize, tls: bool, intruder: impl FnOnce() -> Node) {
    const ERR: &str = "TLS route handshake error";
    let before = count(target, ERR);
    let bad = intruder();
    let deadline = Instant::now() + MESH;
    while count(target, ERR) < before + 2 {
        assert!(
            Instant::now() < deadline,
            "{} did not refuse {}: log\n{}\n--- intruder\n{}",
            target.name,
            bad.name,
            target.proc.log(),
            bad.proc.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(target.peers().len(), others, "{} routes", target.name);
    assert!(bad.peers().is_empty(), "{} joined", bad.name);
    assert!(
        !tls || bad.proc.log().contains(ERR),
        "the intruder reports the refused handshake:\n{}",
        bad.proc.log()
    );
}

#[tokio::test]
async fn three_rnats_servers_over_tls_routes() {
    let pki = Pki::new("route-tls-3");
    let c = conf(&pki, "route");
    let c = c.to_string_lossy();
    let nodes = cluster_with(&[Kind::Rnats; 3], &["-c", &c]);
    crate::check_all_pairs(&nodes).await;
    let v = nodes[1].http("/varz");
    assert_eq!(v["cluster"]["tls_required"], true);
    assert_eq!(v["cluster"]["tls_verify"], true);
}

#[tokio::test]
async fn mixed_cluster_over_tls_routes() {
    let pki = Pki::new("route-tls-mixed");
    let c = conf(&pki, "route");
    let c = c.to_string_lossy();
    let nodes = cluster_with(
        &[Kind::Reference, Kind::Rnats, Kind::Reference],
        &["-c", &c],
    );
    crate::check_all_pairs(&nodes).await;
    // `/varz` cluster TLS fields as the reference shows them.
    let fields = |n: &Node| {
        let v = n.http("/varz");
        let cl = &v["cluster"];
        (
            cl["tls_required"].clone(),
            cl["tls_verify"].clone(),
            cl["tls_timeout"].clone(),
            cl["auth_timeout"].clone(),
            cl["tls_cert_not_after"].is_string(),
        )
    };
    let reference = fields(&nodes[0]);
    assert_eq!(reference.0, serde_json::json!(true));
    assert_eq!(fields(&nodes[1]), reference);
}

#[tokio::test]
async fn plaintext_and_foreign_ca_dialers_are_refused() {
    let pki = Pki::new("route-tls-refuse");
    let c = conf(&pki, "route");
    let c = c.to_string_lossy();
    let nodes = cluster_with(&[Kind::Rnats, Kind::Reference], &["-c", &c]);
    let other = Pki::new("route-tls-other");
    let foreign = conf(&other, "foreign");
    let foreign = foreign.to_string_lossy();
    for (i, target) in nodes.iter().enumerate() {
        let seed = [target.route_url()];
        refused(target, 1, false, || {
            node(Kind::Rnats, &format!("plain{i}"), &seed, &[])
        });
        refused(target, 1, true, || {
            node(
                Kind::Rnats,
                &format!("foreign{i}"),
                &seed,
                &["-c", &foreign],
            )
        });
    }
    // A dialler trusting the cluster's CA but presenting a certificate from another one is
    // refused by the accepting side, which logs it in the same words on both servers.
    let stranger = other.route("stranger");
    let mixed = conf_with(&pki, &stranger, "mixed", "");
    let mixed = mixed.to_string_lossy();
    let sum: String = sha2::Sha256::digest(&stranger.der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let want = format!(
        "TLS route handshake error: tls: failed to verify certificate: x509: certificate \
         signed by unknown authority (CN=stranger SHA-256: {sum})"
    );
    for (i, target) in nodes.iter().enumerate() {
        let seed = [target.route_url()];
        // With TLS 1.3 the dialler's handshake ends before its certificate is checked: it
        // sees a read error (the alert), not a handshake error, with Go as with rustls.
        refused(target, 1, false, || {
            node(Kind::Rnats, &format!("mixed{i}"), &seed, &["-c", &mixed])
        });
        assert!(target.proc.log().contains(&want), "{}", target.proc.log());
    }
    // Either side refuses a certificate from another CA with Go's alert and words.
    for n in &nodes {
        let log = n.proc.log();
        assert!(log.contains("remote error: tls: bad certificate"), "{log}");
        assert!(!log.contains("unknown certificate authority"), "{log}");
    }
    // The reference dialling in plaintext is refused by rnats too.
    let seed = [nodes[0].route_url()];
    refused(&nodes[0], 1, false, || {
        node(Kind::Reference, "refplain", &seed, &[])
    });
    // And a reference server with a certificate from another CA.
    refused(&nodes[0], 1, true, || {
        node(Kind::Reference, "refforeign", &seed, &["-c", &foreign])
    });
}

/// What a raw socket to the route port gets after writing `send`: the bytes read before the
/// close, and how long the close took.
fn raw_route(port: u16, send: &[u8]) -> (Vec<u8>, Duration) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let start = Instant::now();
    s.write_all(send).expect("write");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    (got, start.elapsed())
}

#[tokio::test]
async fn silent_and_plaintext_peers_are_closed_as_the_reference() {
    let pki = Pki::new("route-tls-timeout");
    let c = conf(&pki, "route");
    let c = c.to_string_lossy();
    for kind in [Kind::Reference, Kind::Rnats] {
        let n = node(kind, "s0", &[], &["-c", &c]);
        let port = n.proc.cluster_port.expect("cluster port");
        // Nothing is sent before the handshake (no INFO in plaintext); a silent peer is closed
        // after the 1 s TLS timeout without a byte.
        let (got, took) = raw_route(port, b"");
        assert!(
            got.is_empty(),
            "{kind:?} wrote {:?}",
            String::from_utf8_lossy(&got)
        );
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{kind:?} closed a silent peer after {took:?}"
        );
        assert!(
            n.proc.wait_log(
                &format!("TLS route handshake error: read tcp 127.0.0.1:{port}->"),
                Duration::from_secs(5)
            ),
            "{kind:?} logs the timeout:\n{}",
            n.proc.log()
        );
        // A plaintext route CONNECT is dropped at once, without an answer.
        let (got, took) = raw_route(port, b"CONNECT {\"verbose\":false}\r\nPING\r\n");
        assert!(
            got.is_empty(),
            "{kind:?} wrote {:?}",
            String::from_utf8_lossy(&got)
        );
        assert!(took < Duration::from_millis(900), "{kind:?} took {took:?}");
        assert!(
            n.proc.wait_log(
                "TLS route handshake error: tls: first record does not look like a TLS handshake",
                Duration::from_secs(5)
            ),
            "{kind:?} logs the plaintext peer:\n{}",
            n.proc.log()
        );
    }
}

#[tokio::test]
async fn host_names_checked_and_insecure_as_the_reference() {
    let pki = Pki::new("route-tls-names");
    // A certificate naming `localhost` only: dialling 127.0.0.1 must fail the name check.
    let cert = pki.route_for("local", &["localhost"]);
    let c = conf_with(&pki, &cert, "local", "");
    let c = c.to_string_lossy();
    let seed = node(Kind::Reference, "s0", &[], &["-c", &c]);
    let port = seed.proc.cluster_port.expect("cluster port");
    let sum: String = sha2::Sha256::digest(&cert.der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let want = format!(
        "TLS route handshake error: tls: failed to verify certificate: x509: cannot validate \
         certificate for 127.0.0.1 because it doesn't contain any IP SANs (CN=local SHA-256: {sum})"
    );
    for kind in [Kind::Reference, Kind::Rnats] {
        let by_ip = node(kind, "byip", &[seed.route_url()], &["-c", &c]);
        assert!(
            by_ip.proc.wait_log(&want, MESH),
            "{kind:?} dialler logs {want:?}:\n{}",
            by_ip.proc.log()
        );
        assert!(by_ip.peers().is_empty(), "{kind:?} joined by IP");
    }
    // Seeded by name, the mesh forms: peers learnt by gossip are dialled by IP and checked
    // against the first configured route hostname (`localhost`).
    let by_name = [format!("nats://localhost:{port}")];
    let mut nodes = vec![seed];
    for (i, kind) in [Kind::Rnats, Kind::Reference, Kind::Rnats]
        .into_iter()
        .enumerate()
    {
        nodes.push(node(kind, &format!("s{}", i + 1), &by_name, &["-c", &c]));
    }
    wait_mesh(&nodes);
    crate::check_all_pairs(&nodes).await;
    // `insecure` skips the dialler's checks: seeded by IP, it joins (and warns as nats-server).
    let ins = conf_with(&pki, &cert, "insecure", "insecure: true");
    let ins = ins.to_string_lossy();
    nodes.push(node(
        Kind::Rnats,
        "s4",
        &[nodes[0].route_url()],
        &["-c", &ins],
    ));
    wait_mesh(&nodes);
    assert!(
        nodes[4].proc.log().contains("DO NOT USE IN PRODUCTION!"),
        "insecure warning:\n{}",
        nodes[4].proc.log()
    );
}

/// Starts `intruder` dialling `target` and waits until it was told `Authorization Violation`
/// twice; then neither has a route to the other.
fn unauthorized(target: &Node, others: usize, intruder: impl FnOnce() -> Node) {
    let bad = intruder();
    let deadline = Instant::now() + MESH;
    while count(&bad, "Authorization Violation") < 2 {
        assert!(
            Instant::now() < deadline,
            "{} was not refused by {}: log\n{}\n--- target\n{}",
            bad.name,
            target.name,
            bad.proc.log(),
            target.proc.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(target.peers().len(), others, "{} routes", target.name);
    assert!(bad.peers().is_empty(), "{} joined", bad.name);
}

/// A server whose cluster block comes from `conf` alone (`--cluster` would clear the file's
/// route user, in nats-server as in rnats), with `routes` as `--routes`.
fn node_conf(kind: Kind, name: &str, routes: &[String], conf: &str) -> Node {
    let bin = match kind {
        Kind::Rnats => crate::common::process::rnats_bin(),
        Kind::Reference => crate::common::process::reference_bin(),
    };
    let routes = routes.join(",");
    let mut args = vec!["-n", name, "-c", conf];
    if !routes.is_empty() {
        args.extend(["--routes", &routes]);
    }
    Node {
        kind,
        name: name.to_string(),
        proc: crate::common::process::spawn(&bin, &args),
    }
}

/// A cluster TLS config (`listen` on a random loopback port) with `tls_extra` in its `tls`
/// block and `cluster_extra` in its `cluster` block.
fn conf_file(
    pki: &Pki,
    cert: &CertFiles,
    file: &str,
    tls_extra: &str,
    cluster_extra: &str,
) -> String {
    let text = format!(
        "cluster {{\n  name: test\n  listen: \"127.0.0.1:-1\"\n  {cluster_extra}\n  tls {{\n    \
         cert_file: \"{}\"\n    key_file: \"{}\"\n    ca_file: \"{}\"\n    {tls_extra}\n  }}\n}}\n",
        cert.cert.display(),
        cert.key.display(),
        pki.ca.display()
    );
    let path = pki.path(&format!("{file}.conf"));
    std::fs::write(&path, text).expect("write config");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn routes_authorized_by_certificate_as_the_reference() {
    let pki = Pki::new("route-tls-map");
    let cert = pki.route("route");
    // verify_and_map: the certificate's subject is the route user.
    let user = "authorization { user: \"CN=route\" }";
    let map = conf_file(&pki, &cert, "map", "verify_and_map: true", user);
    let mut nodes = vec![node_conf(Kind::Reference, "s0", &[], &map)];
    let seed = [nodes[0].route_url()];
    nodes.push(node_conf(Kind::Rnats, "s1", &seed, &map));
    nodes.push(node_conf(Kind::Rnats, "s2", &seed, &map));
    wait_mesh(&nodes);
    crate::check_all_pairs(&nodes).await;
    let stranger = pki.route("stranger");
    let stranger = conf_file(&pki, &stranger, "stranger", "verify_and_map: true", user);
    for (i, target) in nodes.iter().enumerate().take(2) {
        let seed = [target.route_url()];
        unauthorized(target, 2, || {
            node_conf(Kind::Rnats, &format!("x{i}"), &seed, &stranger)
        });
    }
    drop(nodes);
    // verify_cert_and_check_known_urls: a DNS name of the certificate is the host of one of
    // the accepting server's routes (here `localhost`, of a route that never answers).
    let known = "verify_cert_and_check_known_urls: true";
    let urls = conf_file(
        &pki,
        &cert,
        "urls",
        known,
        "routes: [\"nats://localhost:1\"]",
    );
    let elsewhere = pki.route_for("elsewhere", &["elsewhere.example", "127.0.0.1"]);
    let elsewhere = conf_file(&pki, &elsewhere, "elsewhere", known, "");
    for kind in [Kind::Reference, Kind::Rnats] {
        let s0 = node_conf(kind, "s0", &[], &urls);
        let seed = [s0.route_url()];
        let s1 = node_conf(Kind::Rnats, "s1", &seed, &urls);
        let pair = vec![s0, s1];
        wait_mesh(&pair);
        unauthorized(&pair[0], 1, || {
            node_conf(Kind::Rnats, "elsewhere", &seed, &elsewhere)
        });
    }
}

/// The certificate's pin: SHA-256 of its SubjectPublicKeyInfo, in hex.
fn spki(c: &CertFiles) -> String {
    let der = rustls::pki_types::CertificateDer::from(c.der.clone());
    rnats_broker::tls::spki_sha256_hex(&der).expect("certificate parses")
}

#[tokio::test]
async fn reloaded_pinned_certs_cut_routes_as_the_reference() {
    let pki = Pki::new("route-tls-pins");
    let cert = pki.route("route");
    let other = pki.route("other");
    let pins = |c: &CertFiles| format!("pinned_certs: [\"{}\"]", spki(c));
    let peer = conf_file(&pki, &cert, "peer", &pins(&cert), "");
    for kind in [Kind::Reference, Kind::Rnats] {
        let file = format!("pins-{kind:?}");
        // The name in the file: nats-server's reload does not re-apply `-n`.
        let named = |pins: String| {
            let path = conf_file(&pki, &cert, &file, &pins, "");
            let text = std::fs::read_to_string(&path).expect("read");
            std::fs::write(&path, format!("server_name: s0\n{text}")).expect("write");
            path
        };
        let own = named(pins(&cert));
        let s0 = node_conf(kind, "s0", &[], &own);
        let s1 = node_conf(Kind::Rnats, "s1", &[s0.route_url()], &peer);
        let pair = vec![s0, s1];
        wait_mesh(&pair);
        // Pin another certificate and reload: the route is cut and stays refused.
        named(pins(&other));
        pair[0].proc.signal("HUP");
        let log = |n: &Node| n.proc.log();
        assert!(
            pair[0].proc.wait_log("due to pinned certs reload", MESH),
            "{kind:?} cuts the route:\n{}",
            log(&pair[0])
        );
        assert!(
            pair[0]
                .proc
                .wait_log("TLS route handshake error: certificate not pinned", MESH),
            "{kind:?} refuses the reconnect:\n{}",
            log(&pair[0])
        );
        assert!(pair[0].peers().is_empty(), "{kind:?} keeps a route");
    }
}

#[tokio::test]
async fn tls_dialer_to_a_plaintext_server_is_refused_as_the_reference() {
    // What a TLS dialler sends first: a ClientHello record header and the start of its body.
    const HELLO: &[u8] = b"\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03";
    let mut answers = Vec::new();
    for kind in [Kind::Reference, Kind::Rnats] {
        let n = node(kind, "plain", &[], &[]);
        let port = n.proc.cluster_port.expect("cluster port");
        let (got, took) = raw_route(port, HELLO);
        let text = String::from_utf8_lossy(&got).into_owned();
        // The route INFO first (plaintext), then the refusal and the close.
        let (info, rest) = text.split_once("\r\n").expect("INFO line");
        assert!(info.starts_with("INFO {"), "{kind:?}: {text:?}");
        assert!(took < Duration::from_secs(2), "{kind:?} took {took:?}");
        assert!(
            n.proc
                .wait_log("authentication error", Duration::from_secs(5)),
            "{kind:?}:\n{}",
            n.proc.log()
        );
        answers.push(rest.to_string());
    }
    assert_eq!(answers[0], "-ERR 'Authorization Violation'\r\n");
    assert_eq!(answers[1], answers[0]);
}

#[tokio::test]
async fn no_auth_timer_on_routes_without_authorization() {
    // Without route authorization nats-server sets no auth timer: a silent accepted route is
    // not cut with `Authentication Timeout` (with route TLS its default would be 3 s).
    for kind in [Kind::Reference, Kind::Rnats] {
        let n = node(kind, "s0", &[], &[]);
        let port = n.proc.cluster_port.expect("cluster port");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while start.elapsed() < Duration::from_millis(3500) {
            match s.read(&mut buf) {
                Ok(0) => panic!(
                    "{kind:?} closed a silent route: {:?}",
                    String::from_utf8_lossy(&got)
                ),
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(_) => {}
            }
        }
        let text = String::from_utf8_lossy(&got);
        assert!(!text.contains("-ERR"), "{kind:?}: {text:?}");
    }
}

/// The route INFO a TLS route peer (presenting `cert`) reads after the handshake.
async fn route_info_over_tls(port: u16, pki: &Pki, cert: &CertFiles) -> serde_json::Value {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio::io::AsyncBufReadExt;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&pki.ca).expect("ca") {
        roots.add(c.expect("ca cert")).expect("add root");
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert.cert)
        .expect("cert")
        .map(|c| c.expect("cert"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(&cert.key).expect("key");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .expect("client cert");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("tcp");
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let mut rd = tokio::io::BufReader::new(tls);
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(5), rd.read_line(&mut line))
        .await
        .expect("INFO in time")
        .expect("INFO");
    let json = line.strip_prefix("INFO ").expect("INFO line");
    serde_json::from_str(json.trim()).expect("INFO JSON")
}

#[tokio::test]
async fn route_info_after_the_handshake_says_tls_as_the_reference() {
    let pki = Pki::new("route-tls-info");
    let cert = pki.route("route");
    let c = conf_with(&pki, &cert, "route", "");
    let c = c.to_string_lossy();
    let mut infos = Vec::new();
    for kind in [Kind::Reference, Kind::Rnats] {
        let n = node(kind, "s0", &[], &["-c", &c]);
        let port = n.proc.cluster_port.expect("cluster port");
        let v = route_info_over_tls(port, &pki, &cert).await;
        let field = |k: &str| v.get(k).cloned();
        infos.push((
            field("tls_required"),
            field("tls_verify"),
            field("auth_required"),
            v["nonce"].is_string(),
        ));
        // The ports file names the route port `tls://`, as nats-server writes it.
        let ports = std::fs::read_to_string(&n.proc.ports_file).expect("ports file");
        assert!(ports.contains("\"tls://127.0.0.1:"), "{kind:?}: {ports}");
    }
    let t = Some(serde_json::Value::Bool(true));
    assert_eq!(infos[0], (t.clone(), t, None, true));
    assert_eq!(infos[1], infos[0]);
}
