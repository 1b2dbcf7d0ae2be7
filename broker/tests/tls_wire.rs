//! TLS edge cases on the raw socket, rnats against the reference nats-server with the same
//! certificates (made by rcgen): the plaintext INFO's TLS fields, and what a client that does
//! not complete a handshake sees (nothing: no `-ERR`, no TLS alert, just the close).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::jwt_client::read_some;
use common::pki::{Pki, tls_block};
use common::process::{ServerProcess, reference_bin, rnats_bin, spawn};

/// What one raw connection saw: the bytes after INFO, and whether it was closed, within
/// `deadline`.
fn after_info(port: u16, expect_info: bool, send: &[u8], deadline: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut buf = Vec::new();
    let end = Instant::now() + deadline;
    if expect_info {
        while !buf.windows(2).any(|w| w == b"\r\n") {
            assert!(Instant::now() < end, "no INFO");
            read_some(&mut s, &mut buf);
        }
        let at = buf.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
        buf.drain(..at);
    }
    if !send.is_empty() {
        s.write_all(send).expect("send");
    }
    while Instant::now() < end {
        if read_some(&mut s, &mut buf) {
            return (buf, true);
        }
    }
    (buf, false)
}

/// The first INFO's keys in order and its TLS fields.
fn info(port: u16) -> (Vec<String>, serde_json::Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = Vec::new();
    while !buf.ends_with(b" \r\n") {
        assert!(!read_some(&mut s, &mut buf), "closed before INFO");
    }
    let line = String::from_utf8_lossy(&buf[5..buf.len() - 3]).to_string();
    let v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&line).expect("INFO json");
    let keys = v
        .keys()
        .filter(|k| *k != "rnats_version" && *k != "git_commit")
        .cloned()
        .collect();
    let tls = serde_json::json!([v.get("tls_required"), v.get("tls_verify")]);
    (keys, tls)
}

fn pair(pki: &Pki, name: &str, config: &str) -> (ServerProcess, ServerProcess) {
    let path = pki.path(&format!("{name}.conf"));
    std::fs::write(&path, config).expect("write config");
    let conf = path.display().to_string();
    (
        spawn(&rnats_bin(), &["-c", &conf]),
        spawn(&reference_bin(), &["-c", &conf]),
    )
}

const WAIT: Duration = Duration::from_secs(3);

#[test]
fn plaintext_clients_of_a_tls_server() {
    let pki = Pki::new("wire");
    let server = pki.server("server", "server");
    let verify = format!(
        "  ca_file: \"{}\"\n  verify: true\n  timeout: 0.5",
        pki.ca.display()
    );
    for (name, extra) in [("tls", "  timeout: 0.5"), ("verify", verify.as_str())] {
        let (ours, theirs) = pair(&pki, name, &tls_block(&server, extra));
        assert_eq!(
            info(ours.client_port),
            info(theirs.client_port),
            "{name} INFO"
        );
        for send in [&b"CONNECT {}\r\nPING\r\n"[..], b"", b"\x16\x03\x01"] {
            let a = after_info(ours.client_port, true, send, WAIT);
            let b = after_info(theirs.client_port, true, send, WAIT);
            assert_eq!(a, b, "{name}: after sending {send:?}");
            assert_eq!(a, (Vec::new(), true), "{name}: closed without a byte");
        }
    }
}

#[test]
fn tls_first_server_and_a_plaintext_client() {
    let pki = Pki::new("wire-first");
    let server = pki.server("server", "server");
    let (ours, theirs) = pair(
        &pki,
        "first",
        &tls_block(&server, "  handshake_first: true\n  timeout: 0.5"),
    );
    for send in [&b"CONNECT {}\r\n"[..], b""] {
        let a = after_info(ours.client_port, false, send, WAIT);
        let b = after_info(theirs.client_port, false, send, WAIT);
        assert_eq!(a, b, "after sending {send:?}");
        assert_eq!(a, (Vec::new(), true));
    }
}
