//! Operator mode with JWTs signed by the test itself, for claims `nsc` cannot make (an
//! account expiring in seconds, account subject mappings), against the reference nats-server.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::jwt_client::{Sig, raw_connect, read_some, read_until_closed};
use common::process::{reference_bin, rnats_bin, spawn};

/// A JWT signed by `kp` (header `ed25519-nkey`), as nsc writes them.
fn sign_jwt(kp: &nkeys::KeyPair, mut claims: serde_json::Value) -> String {
    let b64 = |d: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
    claims["iss"] = kp.public_key().into();
    claims["iat"] = (now_secs() - 5).into();
    let signed = format!(
        "{}.{}",
        b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#),
        b64(claims.to_string().as_bytes())
    );
    let sig = kp.sign(signed.as_bytes()).expect("sign");
    format!("{signed}.{}", b64(&sig))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A hand-signed operator, account and user (for claims nsc cannot make): the account
/// claim's top level and `nats` part get `account_extra` and `nats_extra` merged in. Returns
/// the temporary directory (keep it alive), the user's creds file and the server config
/// (`resolver: MEMORY` with the account preloaded).
fn signed_world(
    tag: &str,
    account_extra: serde_json::Value,
    nats_extra: serde_json::Value,
) -> (common::process::TempDir, PathBuf, String) {
    let op = nkeys::KeyPair::new_operator();
    let acc = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let op_jwt = sign_jwt(
        &op,
        serde_json::json!({"sub": op.public_key(), "name": "OP", "nats": {"type": "operator", "version": 2}}),
    );
    let mut acc_claims = serde_json::json!({"sub": acc.public_key(), "name": "A",
        "nats": {"type": "account", "version": 2, "limits": {"subs": -1, "data": -1,
        "payload": -1, "imports": -1, "exports": -1, "wildcards": true, "conn": -1, "leaf": -1}}});
    let merge = |into: &mut serde_json::Value, from: serde_json::Value| {
        if let (Some(into), serde_json::Value::Object(from)) = (into.as_object_mut(), from) {
            into.extend(from);
        }
    };
    merge(&mut acc_claims, account_extra);
    merge(&mut acc_claims["nats"], nats_extra);
    let acc_jwt = sign_jwt(&op, acc_claims);
    let user_jwt = sign_jwt(
        &acc,
        serde_json::json!({"sub": user.public_key(), "name": "u",
            "nats": {"type": "user", "version": 2, "subs": -1, "data": -1, "payload": -1}}),
    );
    let dir = common::process::TempDir::new(tag);
    let seed = user.seed().expect("seed");
    let creds = dir.path().join("u.creds");
    std::fs::write(
        &creds,
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ),
    )
    .expect("creds");
    let conf = dir.path().join("server.conf");
    std::fs::write(
        &conf,
        format!(
            "operator: {op_jwt}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {acc_jwt}\n}}\n",
            acc.public_key()
        ),
    )
    .expect("config");
    let conf = conf.display().to_string();
    (dir, creds, conf)
}

#[test]
fn an_expiring_account_ends_its_clients_as_the_reference_does() {
    // nsc gives account expiry in whole days at best, so these JWTs are signed here.
    let (_dir, creds, conf) = signed_world(
        "opaccexp",
        serde_json::json!({"exp": now_secs() + 8}),
        serde_json::json!({}),
    );
    let servers = [
        ("rnats", spawn(&rnats_bin(), &["-c", &conf])),
        ("nats-server", spawn(&reference_bin(), &["-c", &conf])),
    ];
    let conns: Vec<_> = servers
        .iter()
        .map(|(name, p)| {
            let (s, rest) = raw_connect(p.client_port, Some(&creds), Sig::Good, b"PING\r\n");
            (name, s, rest)
        })
        .collect();
    for (name, s, buf) in conns {
        let (text, closed) = read_until_closed(s, buf, Duration::from_secs(15));
        assert!(closed, "{name}: still open: {text}");
        assert!(text.starts_with("PONG\r\nINFO "), "{name}: {text}");
        assert!(
            text.ends_with("-ERR 'Account Authentication Expired'\r\n"),
            "{name}: {text}"
        );
    }
}

#[test]
fn account_jwt_mappings_apply_as_the_reference_does() {
    // A weight left out (or 0) means 100.
    let (_dir, creds, conf) = signed_world(
        "opmappings",
        serde_json::json!({}),
        serde_json::json!({"mappings": {
            "foo": [{"subject": "bar", "weight": 100}],
            "a.*": [{"subject": "b.{{wildcard(1)}}"}],
            "gone": [{"subject": "gone", "weight": 0}]
        }}),
    );
    let ops = b"SUB > 1\r\nPUB foo 1\r\n1\r\nPUB a.x 1\r\n2\r\nPUB gone 1\r\n3\r\nPUB other 1\r\n4\r\nPING\r\n";
    let mut seen = Vec::new();
    for (name, bin) in [("rnats", rnats_bin()), ("nats-server", reference_bin())] {
        let p = spawn(&bin, &["-c", &conf]);
        // The publishes go after the PONG: nats-server looks at a connection's account for
        // mappings once per read, so those read together with the CONNECT are not mapped.
        let (mut s, mut buf) = raw_connect(p.client_port, Some(&creds), Sig::Good, b"PING\r\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(&buf).contains("PONG") {
            assert!(Instant::now() < deadline, "{name}: no PONG");
            assert!(!read_some(&mut s, &mut buf), "{name}: closed");
        }
        std::io::Write::write_all(&mut s, ops).expect("send");
        while !String::from_utf8_lossy(&buf).contains("MSG other") {
            assert!(
                Instant::now() < deadline,
                "{name}: {}",
                String::from_utf8_lossy(&buf)
            );
            assert!(!read_some(&mut s, &mut buf), "{name}: closed");
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let msgs: Vec<&str> = text.lines().filter(|l| l.starts_with("MSG ")).collect();
        assert_eq!(
            msgs,
            [
                "MSG bar 1 1",
                "MSG b.x 1 1",
                "MSG gone 1 1",
                "MSG other 1 1"
            ],
            "{name}: {text}"
        );
        seen.push(msgs.join("|"));
    }
    assert_eq!(seen[0], seen[1]);
}
