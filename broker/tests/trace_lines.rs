//! Protocol traces (`-DV`) of a client session, line for line as nats-server writes them:
//! `<<- [OP args]`, `<<- MSG_PAYLOAD: [...]`, `->> [MSG ...]`, `->> [PONG]`, `<-> [DELSUB n]`,
//! the log label that CONNECT extends with the client's version, language, name, account and
//! user, and `max_traced_msg_len`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::process::{ServerProcess, reference_bin, rnats_bin, spawn};

/// The session: CONNECT with credentials to redact, a queue and a plain subscription,
/// PUB and HPUB delivered back, an -ERR, UNSUB with a limit, PINGs; then close.
const SESSION: &[&[u8]] = &[
    b"CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"me\",\"lang\":\"raw\",\"version\":\"1.0\",\"protocol\":1,\"headers\":true,\"user\":\"u\",\"pass\":\"secret\"}\r\nPING\r\n",
    b"SUB foo q1 1\r\nSUB bar 2\r\nPUB foo 5\r\nhello\r\nHPUB bar rep 12 17\r\nNATS/1.0\r\n\r\nhello\r\nPUB long 40\r\n0123456789012345678901234567890123456789\r\nUNSUB 1 5\r\nPING\r\n",
    b"SUB bad..subject 3\r\nPING\r\n",
];

fn run_session(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for (i, part) in SESSION.iter().enumerate() {
        s.write_all(part).expect("write");
        let deadline = Instant::now() + Duration::from_secs(10);
        while String::from_utf8_lossy(&got).matches("PONG").count() <= i {
            assert!(
                Instant::now() < deadline,
                "{}",
                String::from_utf8_lossy(&got)
            );
            match s.read(&mut buf) {
                Ok(0) => panic!("closed: {}", String::from_utf8_lossy(&got)),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    }
}

/// The client's trace and debug lines, without pid, time, port and cid.
fn client_lines(p: &ServerProcess) -> Vec<String> {
    p.log()
        .lines()
        .filter(|l| l.contains(" - cid:") && (l.contains("[TRC]") || l.contains("closed")))
        .map(|l| {
            let body = l.splitn(4, ' ').nth(3).unwrap_or_default();
            let (addr_cid, rest) = body.split_once(" - ").unwrap_or_default();
            let level = addr_cid.split(' ').next().unwrap_or_default();
            let rest = rest.split_once(" - ").map_or(rest, |(_, r)| r);
            format!("{level} {rest}")
        })
        .collect()
}

fn wait_closed_line(p: &ServerProcess) {
    assert!(
        p.wait_log("Client connection closed", Duration::from_secs(10)),
        "{}",
        p.log()
    );
    // The DELSUB traces follow the closed line.
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn client_traces_match_the_reference() {
    let mut seen = Vec::new();
    for bin in [rnats_bin(), reference_bin()] {
        let p = spawn(&bin, &["-DV", "--max_traced_msg_len", "16"]);
        run_session(p.client_port);
        wait_closed_line(&p);
        seen.push(client_lines(&p));
    }
    let (ours, theirs) = (&seen[0], &seen[1]);
    assert!(
        ours.iter()
            .any(|l| l.contains("\"v1.0:raw:me\" - \"$G/user:u\" - <<- [PING]")),
        "{ours:#?}"
    );
    // DELSUB order is the reference's map order: compare those as a set.
    let split = |v: &Vec<String>| -> (Vec<String>, Vec<String>) {
        v.iter().cloned().partition(|l| !l.contains("DELSUB"))
    };
    let (mut a, mut b) = (split(ours), split(theirs));
    a.1.sort();
    b.1.sort();
    assert_eq!(a, b, "rnats (left) vs nats-server (right)");
}
