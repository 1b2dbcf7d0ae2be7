//! Raw clients of an operator-mode server: CONNECT with a `.creds` file's user JWT and the
//! nonce signed (or not), reads that tell a close from a quiet socket, and monitoring GETs.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::nsc::read_creds;

/// How the CONNECT signs the nonce.
#[derive(Clone, Copy)]
pub enum Sig {
    Good,
    Missing,
    WrongNonce,
}

/// Reads what is there; true at EOF or reset.
pub fn read_some(s: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match s.read(&mut chunk) {
        Ok(0) => true,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            false
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

/// Reads until the server closes `s` or `timeout` passes: everything received (after
/// `buf`), and whether it closed.
pub fn read_until_closed(mut s: TcpStream, mut buf: Vec<u8>, timeout: Duration) -> (String, bool) {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let deadline = Instant::now() + timeout;
    let mut closed = false;
    while Instant::now() < deadline && !closed {
        closed = read_some(&mut s, &mut buf);
    }
    (String::from_utf8_lossy(&buf).into_owned(), closed)
}

/// A raw client: connected, CONNECT sent with the user JWT of `creds` (if any) signed as
/// `sig` says, then `ops`.
pub fn raw_connect(port: u16, creds: Option<&Path>, sig: Sig, ops: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !buf.windows(2).any(|w| w == b"\r\n") {
        assert!(Instant::now() < deadline, "no INFO");
        assert!(!read_some(&mut s, &mut buf), "closed before INFO");
    }
    let end = buf.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    let info: serde_json::Value = serde_json::from_slice(&buf[5..end]).expect("INFO json");
    let rest = buf[end + 2..].to_vec();
    let nonce = info["nonce"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        nonce.len(),
        15,
        "INFO carries a nonce in operator mode: {info}"
    );
    let mut connect =
        serde_json::json!({"verbose": false, "pedantic": false, "protocol": 1, "headers": true});
    if let Some(path) = creds {
        let (jwt, seed) = read_creds(path);
        let kp = nkeys::KeyPair::from_seed(&seed).expect("seed");
        connect["jwt"] = jwt.into();
        let signed = match sig {
            Sig::Good => Some(kp.sign(nonce.as_bytes()).expect("sign")),
            Sig::WrongNonce => Some(kp.sign(b"not the nonce").expect("sign")),
            Sig::Missing => None,
        };
        if let Some(b) = signed {
            connect["sig"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(b)
                .into();
        }
    }
    let mut out = format!("CONNECT {connect}\r\n").into_bytes();
    out.extend_from_slice(ops);
    s.write_all(&out).expect("send");
    (s, rest)
}

/// GET a JSON document from a monitoring port (HTTP/1.0).
pub fn http_json(port: u16, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect monitor");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let mut body = Vec::new();
    let _ = s.read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(json).expect("JSON body")
}
