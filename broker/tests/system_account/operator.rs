//! The system account in operator mode (accounts from nsc JWTs).

use super::*;

/// Runs `nats` with a `.creds` file against `s`; (success, stdout, stderr).
fn cli_creds(s: &ServerProcess, creds: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let home = TempDir::new("natscli-home");
    let out = Command::new(natscli())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["--no-context", "--server", &s.url(), "--timeout", "3s"])
        .arg("--creds")
        .arg(creds)
        .args(args)
        .output()
        .expect("natscli runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_mode_system_account() {
    // `nsc add operator --sys` makes the SYS account and its `sys` user; the config
    // `nsc generate config` writes names it, and a copy without `system_account` leaves it to
    // the operator JWT.
    let nsc = common::nsc::Nsc::new("sysop");
    nsc.run(&["add", "operator", "--sys", "--name", "OP"]);
    nsc.run(&["add", "account", "A"]);
    nsc.run(&["add", "user", "-a", "A", "u"]);
    let conf = nsc.server_config();
    let text = std::fs::read_to_string(&conf).expect("read config");
    assert!(text.contains("system_account"), "{text}");
    let from_jwt = nsc.path().join("no-sys.conf");
    let stripped: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("system_account"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&from_jwt, stripped).expect("write config");
    let sys_creds = nsc.creds("OP", "SYS", "sys");
    let user_creds = nsc.creds("OP", "A", "u");
    for conf in [&conf, &from_jwt] {
        let arg = conf.display().to_string();
        let mut seen = Vec::new();
        for (label, bin) in [("reference", reference_bin()), ("rnats", rnats_bin())] {
            let s = spawn(&bin, &["-c", &arg]);
            let (ok, out, err) = cli_creds(&s, &user_creds, &["pub", "x", "y"]);
            assert!(ok, "{label} {arg}: user connects: {out}{err}");
            let (ok, out, err) = cli_creds(&s, &sys_creds, &["server", "list", "--json"]);
            assert!(ok, "{label} {arg}: server list: {out}{err}");
            let list: Value = serde_json::from_str(&out).expect("json");
            let list = list.as_array().expect("array");
            assert_eq!(list.len(), 1, "{label} {arg}: {list:?}");
            let (ok, out, err) = cli_creds(
                &s,
                &sys_creds,
                &["server", "report", "connections", "--json"],
            );
            assert!(ok, "{label} {arg}: report: {out}{err}");
            let conns: Value = serde_json::from_str(&out).expect("json");
            let n = conns.as_array().map_or(0, Vec::len);
            // A user of A cannot ask.
            let (ok, _, _) = cli_creds(&s, &user_creds, &["server", "list", "--json"]);
            assert!(!ok, "{label} {arg}: a user of A must not get PING answers");
            seen.push((list[0]["statsz"]["connections"].clone(), n));
        }
        assert_eq!(seen[0], seen[1], "{}: connections", conf.display());
    }
}
