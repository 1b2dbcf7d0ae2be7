//! The NATS C client (Debian's `libnats-dev`, installed by `make test-deps`) against rnats and
//! the reference nats-server with the same files: TLS with a CA made by rcgen, mutual TLS,
//! `verify_and_map`, nkey seeds. A tiny C program does one publish/subscribe round trip and
//! prints `OK` or the client's error; both servers must produce the same line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rcgen::DnType;

use common::pki::{CertFiles, Pki, tls_block};
use common::process::{TempDir, reference_bin, rnats_bin, spawn};

/// argv: url ca cert key nkey-public seed-file; `-` leaves an option unset.
const PROGRAM: &str = r#"
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>

static int set(const char *a) { return strcmp(a, "-") != 0; }

int main(int argc, char **argv) {
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    natsStatus s;
    if (argc != 7) { fprintf(stderr, "usage\n"); return 2; }
    s = natsOptions_Create(&o);
    if (s == NATS_OK) s = natsOptions_SetURL(o, argv[1]);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, 5000);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, 0);
    if (s == NATS_OK && set(argv[2])) s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK && set(argv[2])) s = natsOptions_LoadCATrustedCertificates(o, argv[2]);
    if (s == NATS_OK && set(argv[2])) s = natsOptions_SetExpectedHostname(o, "localhost");
    if (s == NATS_OK && set(argv[3])) s = natsOptions_LoadCertificatesChain(o, argv[3], argv[4]);
    if (s == NATS_OK && set(argv[5])) s = natsOptions_SetNKeyFromSeed(o, argv[5], argv[6]);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, o);
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&sub, nc, "c.test");
    if (s == NATS_OK) s = natsConnection_PublishString(nc, "c.test", "hello");
    if (s == NATS_OK) s = natsSubscription_NextMsg(&msg, sub, 5000);
    if (s == NATS_OK && (natsMsg_GetDataLength(msg) != 5 || memcmp(natsMsg_GetData(msg), "hello", 5) != 0))
        s = NATS_ERR;
    if (s == NATS_OK) printf("OK\n");
    else printf("ERR %s: %s\n", natsStatus_GetText(s), nats_GetLastError(NULL));
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);
    nats_Close();
    return s == NATS_OK ? 0 : 1;
}
"#;

/// The compiled program (built once per test binary).
fn program() -> &'static Path {
    static BIN: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &BIN.get_or_init(|| {
        let dir = TempDir::new("cnats");
        let src = dir.path().join("roundtrip.c");
        std::fs::write(&src, PROGRAM).expect("write C source");
        let flags = Command::new("pkg-config")
            .args(["--cflags", "--libs", "libnats"])
            .output()
            .expect("pkg-config runs (make test-deps installs libnats-dev)");
        assert!(
            flags.status.success(),
            "libnats not found by pkg-config: run `make test-deps` (Debian libnats-dev)"
        );
        let flags = String::from_utf8_lossy(&flags.stdout).to_string();
        let bin = dir.path().join("roundtrip");
        let out = Command::new("gcc")
            .arg(&src)
            .arg("-o")
            .arg(&bin)
            .args(flags.split_whitespace())
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "gcc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, bin)
    })
    .1
}

/// How the C client connects.
#[derive(Default, Clone)]
struct Client<'a> {
    ca: Option<&'a Path>,
    cert: Option<&'a CertFiles>,
    nkey: Option<(String, PathBuf)>,
}

/// Attempts for an nkey client. libnats 3.4.1 (Debian's) leaves `sig` out of CONNECT when the
/// signature's first byte is zero (its base64 encoder tests `src[0] == '\0'` for an empty
/// input; nats.c fixed it later by testing the length), so one connection in 256 with a
/// good seed is refused by both servers with "Signature missing". Four attempts make that
/// a 2^-32 event; a client with the wrong key is refused on every attempt.
const NKEY_ATTEMPTS: usize = 4;

fn run(port: u16, c: &Client<'_>) -> String {
    let mut line = run_once(port, c);
    for _ in 1..NKEY_ATTEMPTS {
        if c.nkey.is_none() || !line.contains("Authorization Violation") {
            break;
        }
        line = run_once(port, c);
    }
    line
}

fn run_once(port: u16, c: &Client<'_>) -> String {
    let dash = |p: Option<&Path>| p.map_or("-".to_string(), |p| p.display().to_string());
    let (nkey, seed) = match &c.nkey {
        Some((k, f)) => (k.clone(), f.display().to_string()),
        None => ("-".into(), "-".into()),
    };
    let out = Command::new(program())
        .arg(format!("nats://127.0.0.1:{port}"))
        .arg(dash(c.ca))
        .arg(dash(c.cert.map(|f| f.cert.as_path())))
        .arg(dash(c.cert.map(|f| f.key.as_path())))
        .arg(nkey)
        .arg(seed)
        .output()
        .expect("C client runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs every client against rnats and the reference with `config`; returns rnats' lines
/// after checking the reference printed the same.
fn both(pki: &Pki, name: &str, config: &str, clients: &[Client<'_>]) -> Vec<String> {
    let path = pki.path(&format!("{name}.conf"));
    std::fs::write(&path, config).expect("write config");
    let conf = path.display().to_string();
    let rnats = spawn(&rnats_bin(), &["-c", &conf]);
    let reference = spawn(&reference_bin(), &["-c", &conf]);
    let ours: Vec<String> = clients.iter().map(|c| run(rnats.client_port, c)).collect();
    let theirs: Vec<String> = clients
        .iter()
        .map(|c| run(reference.client_port, c))
        .collect();
    assert_eq!(ours, theirs, "rnats vs reference for {name}");
    ours
}

#[test]
fn tls_and_mutual_tls() {
    let pki = Pki::new("c-tls");
    let server = pki.server("server", "localhost");
    let alice = pki.client("alice", &[(DnType::CommonName, "alice")], &[]);
    let with_ca = Client {
        ca: Some(&pki.ca),
        ..Default::default()
    };
    let lines = both(
        &pki,
        "tls",
        &tls_block(&server, ""),
        std::slice::from_ref(&with_ca),
    );
    assert_eq!(lines, ["OK"]);
    let mutual = tls_block(
        &server,
        &format!("  ca_file: \"{}\"\n  verify: true", pki.ca.display()),
    );
    let with_cert = Client {
        cert: Some(&alice),
        ..with_ca.clone()
    };
    let lines = both(&pki, "mutual", &mutual, &[with_cert, with_ca]);
    assert_eq!(lines[0], "OK");
    assert!(lines[1].starts_with("ERR"), "{lines:?}");
}

#[test]
fn verify_and_map() {
    let pki = Pki::new("c-map");
    let server = pki.server("server", "localhost");
    let alice = pki.client(
        "alice",
        &[
            (DnType::OrganizationName, "Acme"),
            (DnType::CommonName, "alice"),
        ],
        &[],
    );
    let bob = pki.client("bob", &[(DnType::CommonName, "bob")], &["bob@example.com"]);
    let carol = pki.client("carol", &[(DnType::CommonName, "carol")], &[]);
    let config = format!(
        "{}authorization {{ users: [ {{user: \"CN=alice,O=Acme\"}}, {{user: \"bob@example.com\"}} ] }}\n",
        tls_block(
            &server,
            &format!(
                "  ca_file: \"{}\"\n  verify_and_map: true",
                pki.ca.display()
            )
        )
    );
    let client = |c| Client {
        ca: Some(&pki.ca),
        cert: Some(c),
        nkey: None,
    };
    let lines = both(
        &pki,
        "map",
        &config,
        &[client(&alice), client(&bob), client(&carol)],
    );
    assert_eq!(lines[..2], ["OK", "OK"]);
    assert!(
        lines[2].contains("Authorization Violation"),
        "refused as nats-server refuses: {lines:?}"
    );
}

#[test]
fn nkey_seed() {
    let pki = Pki::new("c-nkey");
    let user = nkeys::KeyPair::new_user();
    let seed = pki.path("user.nk");
    std::fs::write(&seed, user.seed().expect("seed")).expect("write seed");
    let other = nkeys::KeyPair::new_user();
    let other_seed = pki.path("other.nk");
    std::fs::write(&other_seed, other.seed().expect("seed")).expect("write seed");
    let config = format!(
        "authorization {{ users: [ {{nkey: {}}} ] }}\n",
        user.public_key()
    );
    let ok = Client {
        nkey: Some((user.public_key(), seed)),
        ..Default::default()
    };
    let stranger = Client {
        nkey: Some((other.public_key(), other_seed)),
        ..Default::default()
    };
    let lines = both(&pki, "nkey", &config, &[ok, stranger]);
    assert_eq!(lines[0], "OK");
    assert!(lines[1].contains("Authorization Violation"), "{lines:?}");
}
