//! Unit tests of the JWT chain with tokens signed here by `nkeys` key pairs (the integration
//! tests use tokens made by the real `nsc`).

use std::time::{Duration, SystemTime};

use nkeys::KeyPair;
use serde_json::{Value, json};

use super::token::b64_encode;
use super::*;

fn sign(kp: &KeyPair, mut claims: Value) -> String {
    claims["iss"] = json!(kp.public_key());
    if claims.get("iat").is_none() {
        claims["iat"] = json!(now_unix() - 10);
    }
    let header = b64_encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let payload = b64_encode(claims.to_string().as_bytes());
    let signed = format!("{header}.{payload}");
    let sig = kp.sign(signed.as_bytes()).expect("sign");
    format!("{signed}.{}", b64_encode(&sig))
}

struct World {
    op: KeyPair,
    op_sk: KeyPair,
    acc: KeyPair,
    acc_sk: KeyPair,
    user: KeyPair,
}

impl World {
    fn new() -> World {
        World {
            op: KeyPair::new_operator(),
            op_sk: KeyPair::new_operator(),
            acc: KeyPair::new_account(),
            acc_sk: KeyPair::new_account(),
            user: KeyPair::new_user(),
        }
    }

    fn operator(&self, strict: bool) -> OperatorClaims {
        let jwt = sign(
            &self.op,
            json!({"sub": self.op.public_key(), "name": "OP", "nats": {
                "type": "operator", "version": 2,
                "signing_keys": [self.op_sk.public_key()],
                "strict_signing_key_usage": strict}}),
        );
        decode_operator(&jwt).expect("operator decodes")
    }

    fn account(&self, nats: Value) -> String {
        let mut n = json!({"type": "account", "version": 2,
            "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                       "wildcards": true, "conn": -1, "leaf": -1},
            "signing_keys": [self.acc_sk.public_key()]});
        if let (Some(n), Some(extra)) = (n.as_object_mut(), nats.as_object()) {
            for (k, v) in extra {
                n.insert(k.clone(), v.clone());
            }
        }
        sign(
            &self.op_sk,
            json!({"sub": self.acc.public_key(), "name": "A", "nats": n}),
        )
    }

    fn trust(&self, strict: bool, account: &str) -> Trust {
        Trust::new(
            vec![self.operator(strict)],
            None,
            &[(self.acc.public_key(), account.to_string())],
        )
        .expect("trust")
    }

    fn user(&self, signer: &KeyPair, nats: Value) -> String {
        let mut n = json!({"type": "user", "version": 2, "subs": -1, "data": -1, "payload": -1});
        if signer.public_key() != self.acc.public_key() {
            n["issuer_account"] = json!(self.acc.public_key());
        }
        if let (Some(n), Some(extra)) = (n.as_object_mut(), nats.as_object()) {
            for (k, v) in extra {
                n.insert(k.clone(), v.clone());
            }
        }
        sign(
            signer,
            json!({"sub": self.user.public_key(), "name": "u", "nats": n}),
        )
    }

    fn connect(&self, trust: &Trust, jwt: &str) -> Result<JwtUser, Refusal> {
        self.connect_at(trust, jwt, SystemTime::now())
    }

    fn connect_at(&self, trust: &Trust, jwt: &str, now: SystemTime) -> Result<JwtUser, Refusal> {
        let nonce = b"abcdefghijklmno";
        let sig = b64_encode(&self.user.sign(nonce).expect("sign"));
        authenticate(
            trust,
            Presented {
                jwt,
                sig: &sig,
                nonce,
                host: "127.0.0.1",
            },
            now,
        )
    }
}

#[test]
fn tokens_are_verified() {
    let w = World::new();
    let acc = w.account(json!({}));
    assert!(decode_account(&acc).is_ok());
    assert_eq!(
        decode_user(&acc).err(),
        Some(JwtError::Kind("not user claim".into()))
    );
    let mut parts: Vec<String> = acc.split('.').map(str::to_string).collect();
    parts[2] = b64_encode(&[0u8; 64]);
    assert_eq!(
        decode_account(&parts.join(".")).err(),
        Some(JwtError::Signature)
    );
    assert_eq!(decode_account("a.b").err(), Some(JwtError::Chunks));
    let bad_header = format!(
        "{}.{}.{}",
        b64_encode(br#"{"typ":"JWT","alg":"HS256"}"#),
        parts[1],
        parts[2]
    );
    assert!(matches!(
        decode_account(&bad_header),
        Err(JwtError::Header(_))
    ));
    // A user JWT signed by a user key has an issuer of the wrong kind.
    let self_signed = sign(
        &w.user,
        json!({"sub": w.user.public_key(), "nats": {"type": "user", "version": 2}}),
    );
    assert_eq!(decode_user(&self_signed).err(), Some(JwtError::IssuerKind));
}

#[test]
fn decorated_files() {
    let creds = "-----BEGIN NATS USER JWT-----\nabc.def.ghi\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n-----BEGIN USER NKEY SEED-----\nSUAXXX\n------END USER NKEY SEED------\n";
    assert_eq!(parse_decorated(creds), "abc.def.ghi");
    assert_eq!(parse_decorated("abc.def.ghi"), "abc.def.ghi");
}

#[test]
fn chain_through_signing_keys() {
    let w = World::new();
    let trust = w.trust(false, &w.account(json!({})));
    let u = w
        .connect(&trust, &w.user(&w.acc, json!({})))
        .expect("account key signs");
    assert_eq!(u.account.name, w.acc.public_key());
    assert!(u.permissions.is_none());
    w.connect(&trust, &w.user(&w.acc_sk, json!({})))
        .expect("signing key signs");
    let stranger = KeyPair::new_account();
    assert_eq!(
        w.connect(&trust, &w.user(&stranger, json!({}))).err(),
        Some(Refusal::Debug("User JWT issuer is not known".into()))
    );
    // Strict operator: the account key itself may no longer sign users.
    let strict = w.trust(true, &w.account(json!({})));
    assert!(w.connect(&strict, &w.user(&w.acc, json!({}))).is_err());
    assert!(w.connect(&strict, &w.user(&w.acc_sk, json!({}))).is_ok());
}

#[test]
fn untrusted_or_missing_accounts() {
    let w = World::new();
    let rogue = KeyPair::new_operator();
    let acc = sign(
        &rogue,
        json!({"sub": w.acc.public_key(), "nats": {"type": "account", "version": 2}}),
    );
    let trust = w.trust(false, &acc);
    assert!(w.connect(&trust, &w.user(&w.acc, json!({}))).is_err());
    let other = Trust::new(vec![w.operator(false)], None, &[]).expect("trust");
    assert!(
        matches!(w.connect(&other, &w.user(&w.acc, json!({}))), Err(Refusal::Debug(s)) if s.starts_with("Account JWT lookup error"))
    );
}

#[test]
fn signature_bearer_and_revocation() {
    let w = World::new();
    let trust = w.trust(false, &w.account(json!({})));
    let jwt = w.user(&w.acc, json!({}));
    let r = authenticate(
        &trust,
        Presented {
            jwt: &jwt,
            sig: "",
            nonce: b"n",
            host: "127.0.0.1",
        },
        SystemTime::now(),
    );
    assert!(r.is_err());
    let bearer = w.user(&w.acc, json!({"bearer_token": true}));
    let r = authenticate(
        &trust,
        Presented {
            jwt: &bearer,
            sig: "",
            nonce: b"n",
            host: "127.0.0.1",
        },
        SystemTime::now(),
    );
    assert!(r.is_ok());
    let no_bearer = w.trust(false, &w.account(json!({"limits": {"disallow_bearer": true, "subs": -1, "payload": -1, "conn": -1, "imports": -1, "exports": -1}})));
    assert_eq!(
        w.connect(&no_bearer, &bearer).err(),
        Some(Refusal::Debug(
            "Account does not allow bearer tokens".into()
        ))
    );
    let revoked = w.trust(
        false,
        &w.account(json!({"revocations": {w.user.public_key(): now_unix()}})),
    );
    assert_eq!(
        w.connect(&revoked, &jwt).err(),
        Some(Refusal::Debug("User authentication revoked".into()))
    );
    // A JWT issued after the revocation time is accepted again.
    let later = w.trust(
        false,
        &w.account(json!({"revocations": {w.user.public_key(): now_unix() - 100}})),
    );
    assert!(w.connect(&later, &jwt).is_ok());
    let all = w.trust(false, &w.account(json!({"revocations": {"*": now_unix()}})));
    assert!(w.connect(&all, &jwt).is_err());
}

#[test]
fn expiry_types_src_and_times() {
    let w = World::new();
    let trust = w.trust(false, &w.account(json!({})));
    let expired = w.user(&w.acc, json!({}));
    let expired = {
        let claims: Value = serde_json::from_slice(
            &token::b64_decode(expired.split('.').nth(1).expect("payload")).expect("b64"),
        )
        .expect("json");
        let mut c = claims.clone();
        c["exp"] = json!(now_unix() - 5);
        sign(&w.acc, c)
    };
    assert!(
        matches!(w.connect(&trust, &expired), Err(Refusal::Debug(s)) if s.starts_with("User JWT no longer valid"))
    );
    let exp_soon = {
        let mut c: Value = json!({"sub": w.user.public_key(), "exp": now_unix() + 100, "nats": {"type": "user", "version": 2}});
        c["nats"]["subs"] = json!(-1);
        sign(&w.acc, c)
    };
    let u = w.connect(&trust, &exp_soon).expect("valid");
    assert!(
        u.expires_in
            .is_some_and(|d| d <= Duration::from_secs(100) && d >= Duration::from_secs(95))
    );
    let ws_only = w.user(&w.acc, json!({"allowed_connection_types": ["WEBSOCKET"]}));
    assert_eq!(
        w.connect(&trust, &ws_only).err(),
        Some(Refusal::Debug("Connection type not allowed".into()))
    );
    let std_lower = w.user(&w.acc, json!({"allowed_connection_types": ["standard"]}));
    assert!(w.connect(&trust, &std_lower).is_ok());
    let unknown = w.user(
        &w.acc,
        json!({"allowed_connection_types": ["CARRIER_PIGEON"]}),
    );
    assert!(w.connect(&trust, &unknown).is_err());
    let src = w.user(&w.acc, json!({"src": ["10.0.0.0/8"]}));
    assert_eq!(
        w.connect(&trust, &src).err(),
        Some(Refusal::Error("Bad src Ip 127.0.0.1".into()))
    );
    let src_ok = w.user(&w.acc, json!({"src": "10.0.0.0/8, 127.0.0.0/8"}));
    assert!(w.connect(&trust, &src_ok).is_ok());
    let times = w.user(
        &w.acc,
        json!({"times": [{"start": "00:00:00", "end": "00:00:01"}], "times_location": "UTC"}),
    );
    let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_614_400);
    assert_eq!(
        w.connect_at(&trust, &times, noon).err(),
        Some(Refusal::Error("Outside connect times".into()))
    );
}

#[test]
fn permissions_limits_and_scopes() {
    let w = World::new();
    let scoped_key = KeyPair::new_account();
    let account = w.account(json!({
        "signing_keys": [w.acc_sk.public_key(), {"kind": "user_scope", "key": scoped_key.public_key(), "role": "r",
            "template": {"pub": {"allow": ["u.{{name()}}.>"]}, "subs": 5}}],
        "default_permissions": {"pub": {"deny": ["secret"]}}}));
    let trust = w.trust(false, &account);
    let plain = w
        .connect(&trust, &w.user(&w.acc, json!({})))
        .expect("plain");
    assert_eq!(
        plain.permissions.as_ref().map(|p| p.publish.deny.clone()),
        Some(vec!["secret".to_string()])
    );
    let own = w
        .connect(
            &trust,
            &w.user(
                &w.acc,
                json!({"pub": {"allow": ["a"]}, "resp": {"max": 1, "ttl": 0}}),
            ),
        )
        .expect("own");
    assert_eq!(
        own.permissions.as_ref().map(|p| p.publish.allow.clone()),
        Some(vec!["a".to_string()])
    );
    let bare = sign(
        &scoped_key,
        json!({"sub": w.user.public_key(), "name": "u", "nats": {
        "type": "user", "version": 2, "issuer_account": w.acc.public_key()}}),
    );
    let scoped = w.connect(&trust, &bare).expect("scoped");
    let p = scoped.permissions.expect("template");
    assert_eq!(p.publish.allow, vec!["u.u.>".to_string()]);
    assert_eq!((scoped.max_subs, scoped.max_payload), (5, -1));
    // A scoped signer's users must not carry their own permissions or limits.
    assert!(w.connect(&trust, &w.user(&scoped_key, json!({}))).is_err());
}

#[test]
fn operator_config_rules() {
    let w = World::new();
    let acc = KeyPair::new_account().public_key();
    let op_jwt = sign(
        &w.op,
        json!({"sub": w.op.public_key(), "nats": {"type": "operator", "version": 2, "system_account": acc}}),
    );
    let op = decode_operator(&op_jwt).expect("operator");
    let t = Trust::new(vec![op.clone()], None, &[]).expect("trust");
    assert_eq!(t.system_account.as_deref(), Some(acc.as_str()));
    assert!(t.is_trusted(&w.op.public_key()));
    let other = KeyPair::new_account().public_key();
    assert_eq!(
        Trust::new(vec![op], Some(other), &[]).err().as_deref(),
        Some("system_account in config and operator JWT must be identical")
    );
    let future = sign(
        &w.op,
        json!({"sub": w.op.public_key(), "nats": {"type": "operator", "version": 2, "assert_server_version": "3.0.0"}}),
    );
    assert!(Trust::new(vec![decode_operator(&future).expect("op")], None, &[]).is_err());
}

#[test]
fn imports_need_an_export_and_private_ones_a_token() {
    let op = KeyPair::new_operator();
    let (e, i, other) = (
        KeyPair::new_account(),
        KeyPair::new_account(),
        KeyPair::new_account(),
    );
    let op_claims = decode_operator(&sign(
        &op,
        json!({"sub": op.public_key(), "nats": {"type": "operator", "version": 2}}),
    ))
    .expect("operator");
    let activation = |target: &KeyPair| {
        sign(
            &e,
            json!({"sub": target.public_key(), "nats": {"type": "activation", "version": 2,
                "subject": "priv.>", "kind": "stream"}}),
        )
    };
    let exporter = sign(
        &op,
        json!({"sub": e.public_key(), "nats": {"type": "account", "version": 2,
            "limits": {"imports": -1, "exports": -1, "wildcards": true, "conn": -1}, "exports": [
            {"subject": "pub.>", "type": "stream"},
            {"subject": "priv.>", "type": "stream", "token_req": true}]}}),
    );
    let importer = sign(
        &op,
        json!({"sub": i.public_key(), "nats": {"type": "account", "version": 2,
            "limits": {"imports": -1, "exports": -1, "subs": -1, "payload": -1, "conn": -1}, "imports": [
            {"subject": "pub.>", "account": e.public_key(), "type": "stream"},
            {"subject": "priv.>", "account": e.public_key(), "type": "stream"},
            {"subject": "priv.x", "account": e.public_key(), "type": "stream", "token": activation(&i)},
            {"subject": "priv.y", "account": e.public_key(), "type": "stream", "token": activation(&other)},
            {"subject": "nothing", "account": e.public_key(), "type": "stream"}]}}),
    );
    let trust = Trust::new(
        vec![op_claims],
        None,
        &[(e.public_key(), exporter), (i.public_key(), importer)],
    )
    .expect("trust");
    let imp = trust.lookup(&i.public_key()).expect("importer");
    trust.resolve_imports(&imp);
    let configs = exports::account_configs(&trust.resolved());
    let c = configs
        .iter()
        .find(|c| c.name == i.public_key())
        .expect("config");
    let subjects: Vec<&str> = c.imports.iter().map(|im| im.subject.as_str()).collect();
    assert_eq!(subjects, vec!["pub.>", "priv.x"]);
}

#[test]
fn far_future_expiry_does_not_overflow() {
    let w = World::new();
    let trust = w.trust(false, &w.account(json!({})));
    let jwt = sign(
        &w.acc,
        json!({"sub": w.user.public_key(), "exp": i64::MAX, "nats": {"type": "user", "version": 2}}),
    );
    let u = w.connect(&trust, &jwt).expect("valid for a long time");
    assert!(
        u.expires_in
            .is_some_and(|d| d > Duration::from_secs(1 << 40))
    );
    // The connection adds it to now with checked_add: representable or no deadline at all,
    // never a panic.
    let _ = tokio::time::Instant::now().checked_add(u.expires_in.unwrap_or_default());
}
