//! Process-level behaviour of `rnats-server` as nats-server has it: the ports file, signals
//! (TERM, INT, HUP reload, USR1 log reopen, USR2 lame duck) and `--signal`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::process::{ServerProcess, TempDir, reference_bin, rnats_bin, spawn, spawn_opts};

const T: Duration = Duration::from_secs(10);

/// A raw client: reads until `needle` appears in what it received (or EOF / deadline).
struct Raw {
    s: TcpStream,
    got: Vec<u8>,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let mut r = Raw { s, got: Vec::new() };
        assert!(r.wait_for("INFO ", T), "INFO on connect");
        r
    }

    /// CONNECT (protocol 1) with credentials, then PING; waits for PONG and the INFO after it.
    fn handshake(&mut self, user: &str, pass: &str) {
        let line = format!(
            "CONNECT {{\"verbose\":false,\"protocol\":1,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\nPING\r\n"
        );
        self.send(&line);
        assert!(
            self.wait_for("PONG\r\nINFO ", T),
            "handshake: {}",
            self.text()
        );
    }

    fn send(&mut self, data: &str) {
        self.s.write_all(data.as_bytes()).expect("write");
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.got).into_owned()
    }

    /// Reads until `needle` is in the transcript; false at EOF or the deadline.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            if self.text().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            match self.s.read(&mut buf) {
                Ok(0) => return self.text().contains(needle),
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return self.text().contains(needle),
            }
        }
    }

    /// Reads until the server closes the connection.
    fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match self.s.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// A PING answered with PONG proves the connection is alive.
    fn alive(&mut self) -> bool {
        let before = self.text().matches("PONG").count();
        self.send("PING\r\n");
        let deadline = Instant::now() + T;
        while Instant::now() < deadline {
            if self.text().matches("PONG").count() > before {
                return true;
            }
            if !self.wait_for("\n", Duration::from_millis(100)) && self.wait_closed(Duration::ZERO)
            {
                return false;
            }
            let mut buf = [0u8; 4096];
            match self.s.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
        false
    }
}

fn ports_file_shape(p: &ServerProcess) -> Vec<String> {
    let text = std::fs::read_to_string(&p.ports_file).expect("ports file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("ports JSON");
    let obj = v.as_object().expect("object");
    obj.iter()
        .map(|(k, v)| {
            let url = v[0].as_str().unwrap_or_default();
            format!("{k}={}", url.split("//").next().unwrap_or_default())
        })
        .collect()
}

#[test]
fn ports_file_matches_reference_and_is_removed_on_exit() {
    let mut ours = spawn(&rnats_bin(), &[]);
    let theirs = spawn(&reference_bin(), &[]);
    assert_eq!(ports_file_shape(&ours), ports_file_shape(&theirs));
    let name = ours
        .ports_file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(name, format!("rnats-server_{}.ports", ours.pid()));
    Raw::connect(ours.client_port);
    ours.signal("TERM");
    let status = ours.wait_exit(T).expect("exits on SIGTERM");
    assert!(status.success(), "{status}");
    assert!(!ours.ports_file.exists(), "ports file removed");
}

#[test]
fn sigint_stops_the_server() {
    let mut s = spawn(&rnats_bin(), &[]);
    s.signal("INT");
    assert!(s.wait_exit(T).expect("exits on SIGINT").success());
    assert!(s.log().contains("Server Exiting.."), "{}", s.log());
}

fn write_users(path: &std::path::Path, b_pass: &str) {
    let conf = format!(
        "authorization {{\n  users = [\n    {{ user: a, password: pa }}\n    {{ user: b, password: {b_pass} }}\n  ]\n}}\n"
    );
    std::fs::write(path, conf).expect("write config");
}

#[test]
fn reload_changing_a_password_cuts_only_that_user() {
    let dir = TempDir::new("reload");
    let conf = dir.path().join("users.conf");
    write_users(&conf, "pb");
    let conf_s = conf.display().to_string();
    let s = spawn(&rnats_bin(), &["-c", &conf_s]);
    let mut a = Raw::connect(s.client_port);
    a.handshake("a", "pa");
    let mut b = Raw::connect(s.client_port);
    b.handshake("b", "pb");

    write_users(&conf, "changed");
    s.signal("HUP");
    assert!(
        s.wait_log("Reloaded server configuration", T),
        "{}",
        s.log()
    );
    assert!(b.wait_closed(T), "b is cut");
    assert!(
        b.text().contains("-ERR 'Authorization Violation'"),
        "{}",
        b.text()
    );
    assert!(a.alive(), "a stays connected");
    // The new password works, the old one does not.
    let mut b2 = Raw::connect(s.client_port);
    b2.handshake("b", "changed");
    let mut b3 = Raw::connect(s.client_port);
    b3.send("CONNECT {\"verbose\":false,\"user\":\"b\",\"pass\":\"pb\"}\r\nPING\r\n");
    assert!(b3.wait_closed(T));
    assert!(b3.text().contains("-ERR 'Authorization Violation'"));
}

#[test]
fn reload_errors_keep_the_old_config() {
    let dir = TempDir::new("reload-bad");
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "max_payload: 1024\n").expect("write");
    let conf_s = conf.display().to_string();
    let s = spawn(&rnats_bin(), &["-c", &conf_s]);
    std::fs::write(&conf, "max_payload: 1024\nnot_a_field: 1\n").expect("write");
    s.signal("HUP");
    assert!(
        s.wait_log("Failed to reload server configuration", T),
        "{}",
        s.log()
    );
    assert!(
        s.log().contains("unknown field \"not_a_field\""),
        "{}",
        s.log()
    );
    let mut c = Raw::connect(s.client_port);
    assert!(c.text().contains("\"max_payload\":1024"), "{}", c.text());
    assert!(c.alive());
}

#[test]
fn sigusr1_reopens_the_log_file() {
    let s = spawn(&rnats_bin(), &[]);
    let rotated = s.dir.path().join("server.log.1");
    std::fs::rename(s.log_path(), &rotated).expect("rotate");
    s.signal("USR1");
    assert!(
        s.wait_log("File log re-opened", T),
        "new log file gets lines"
    );
    let old = std::fs::read_to_string(&rotated).expect("rotated log");
    assert!(old.contains("Server is ready"));
}

#[test]
fn lame_duck_informs_clients_ignores_term_then_closes_them() {
    let dir = TempDir::new("ldm");
    let conf = dir.path().join("ldm.conf");
    std::fs::write(
        &conf,
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n",
    )
    .expect("write");
    let conf_s = conf.display().to_string();
    let mut s = spawn(&rnats_bin(), &["-c", &conf_s]);
    let mut c = Raw::connect(s.client_port);
    c.handshake("", "");
    let started = Instant::now();
    s.signal("USR2");
    assert!(c.wait_for("\"ldm\":true", T), "INFO with ldm: {}", c.text());
    assert!(s.wait_log("Entering lame duck mode, stop accepting new clients", T));
    // The listener closes on the accept task; poll until connections are refused.
    let deadline = Instant::now() + T;
    while TcpStream::connect(("127.0.0.1", s.client_port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "new clients still accepted in lame duck mode"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    s.signal("TERM");
    assert!(c.alive(), "SIGTERM is ignored during lame duck");
    assert!(c.wait_closed(T), "client closed after the grace period");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "grace period respected"
    );
    let status = s.wait_exit(T).expect("server exits after lame duck");
    assert!(status.success());
}

#[test]
fn signal_flag_reaches_the_server_through_its_pid_file() {
    let dir = TempDir::new("sigflag");
    let pid_file = dir.path().join("rnats.pid");
    let pid_s = pid_file.display().to_string();
    let conf = dir.path().join("empty.conf");
    std::fs::write(&conf, "max_payload: 2048\n").expect("write");
    let conf_s = conf.display().to_string();
    let mut s = spawn(&rnats_bin(), &["-c", &conf_s, "-P", &pid_s]);
    assert_eq!(
        std::fs::read_to_string(&pid_file).expect("pid file").trim(),
        s.pid().to_string()
    );
    let run = |cmd: &str| {
        std::process::Command::new(rnats_bin())
            .arg("--signal")
            .arg(format!("{cmd}={pid_s}"))
            .status()
            .expect("signal command runs")
    };
    assert!(run("reload").success());
    assert!(
        s.wait_log("Reloaded server configuration", T),
        "{}",
        s.log()
    );
    assert!(run("quit").success());
    assert!(s.wait_exit(T).expect("quit stops it").success());
    let bad = std::process::Command::new(rnats_bin())
        .args(["--signal", "bogus=1"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown signal \"bogus\""));
}

#[test]
fn remote_syslog_gets_the_log_lines() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let url = format!("udp://{}", sock.local_addr().expect("addr"));
    let s = spawn_opts(&rnats_bin(), &["-r", &url], false);
    let deadline = Instant::now() + T;
    let mut lines = String::new();
    let mut buf = [0u8; 2048];
    while !lines.contains("Server is ready") && Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            lines.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(lines.contains("Server is ready"), "{lines}");
    let tag = format!("rnats-server[{}]: [INF] Server is ready", s.pid());
    assert!(lines.contains(&tag), "{lines}");
    // LOG_DAEMON | LOG_NOTICE for info lines, as nats-server.
    assert!(lines.starts_with("<29>"), "{lines}");
}

fn write_accounts(path: &std::path::Path, b_account: &str, import: bool) {
    let import = if import {
        "imports: [ {stream: {account: A, subject: \"ev.>\"}} ]"
    } else {
        ""
    };
    let conf = format!(
        "accounts {{\n  A: {{ users: [ {{user: a, password: pa}} ], exports: [ {{stream: \"ev.>\"}} ] }}\n  \
         B: {{ users: [ {{user: {b_account_user}, password: pb}} ] }}\n  \
         C: {{ users: [ {{user: c, password: pc}} ], {import} }}\n}}\n",
        b_account_user = if b_account == "B" { "b" } else { "nobody" },
    );
    // `b` moves from B to C when `b_account` is C.
    let conf = if b_account == "C" {
        conf.replace(
            "{user: c, password: pc}",
            "{user: c, password: pc}, {user: b, password: pb}",
        )
    } else {
        conf
    };
    std::fs::write(path, conf).expect("write config");
}

#[test]
fn reload_accounts_moves_users_and_installs_imports() {
    let dir = TempDir::new("reload-acc");
    let conf = dir.path().join("accounts.conf");
    write_accounts(&conf, "B", false);
    let conf_s = conf.display().to_string();
    let s = spawn(&rnats_bin(), &["-c", &conf_s]);
    let mut a = Raw::connect(s.client_port);
    a.handshake("a", "pa");
    let mut b = Raw::connect(s.client_port);
    b.handshake("b", "pb");
    let mut c = Raw::connect(s.client_port);
    c.handshake("c", "pc");
    c.send("SUB ev.> 1\r\n");
    assert!(c.alive());

    // `b` moves to account C; C starts importing A's stream.
    write_accounts(&conf, "C", true);
    s.signal("HUP");
    assert!(
        s.wait_log("Reloaded server configuration", T),
        "{}",
        s.log()
    );
    assert!(b.wait_closed(T), "the moved user is closed to reconnect");
    assert!(
        !b.text().contains("-ERR"),
        "closed as Client Closed, no error: {}",
        b.text()
    );
    assert!(a.alive() && c.alive(), "unaffected clients stay");
    // The new import works for the connection that was already there.
    a.send("PUB ev.1 2\r\nhi\r\nPING\r\n");
    assert!(c.wait_for("MSG ev.1 1 2\r\nhi\r\n", T), "{}", c.text());
    // `b` comes back into C and gets A's stream too.
    let mut b2 = Raw::connect(s.client_port);
    b2.handshake("b", "pb");
    assert!(
        b2.text().contains("\"remote_account\":\"C\""),
        "{}",
        b2.text()
    );
}

/// A reload replaces the subject mappings of connected clients' account.
#[test]
fn reload_replaces_subject_mappings() {
    let dir = TempDir::new("reload-mappings");
    let conf = dir.path().join("maps.conf");
    std::fs::write(&conf, "mappings { foo: bar }\n").expect("write config");
    let conf_s = conf.display().to_string();
    let s = spawn(&rnats_bin(), &["-c", &conf_s]);
    let mut c = Raw::connect(s.client_port);
    c.handshake("", "");
    c.send("SUB > 1\r\nPUB foo 1\r\n1\r\n");
    assert!(c.wait_for("MSG bar 1 1\r\n1\r\n", T), "{}", c.text());
    for (config, want) in [
        ("mappings { foo: baz }\n", "MSG baz 1 1\r\n2\r\n"),
        ("port: -1\n", "MSG foo 1 1\r\n3\r\n"),
    ] {
        std::fs::write(&conf, config).expect("write config");
        let reloads = s.log().matches("Reloaded server configuration").count();
        s.signal("HUP");
        let deadline = Instant::now() + T;
        while s.log().matches("Reloaded server configuration").count() == reloads {
            assert!(Instant::now() < deadline, "{}", s.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        let n = &want[want.len() - 3..want.len() - 2];
        c.send(&format!("PUB foo 1\r\n{n}\r\n"));
        assert!(c.wait_for(want, T), "{config}: {}", c.text());
    }
}

/// `--logtime_utc` (and `logtime_utc: true`) stamps log lines in UTC, not local time, as
/// nats-server does; checked with a local time zone five hours behind UTC (`Etc/GMT+5`, from tzdata).
#[test]
fn logtime_utc_stamps_in_utc() {
    let dir = TempDir::new("logtime-utc");
    let conf = dir.path().join("utc.conf");
    std::fs::write(&conf, "logtime_utc: true\n").expect("write config");
    let conf_s = conf.display().to_string();
    let stamp = |bin: &std::path::Path, args: &[&str]| -> chrono::NaiveDateTime {
        let out = std::process::Command::new(bin)
            .args(args)
            .args(["-a", "127.0.0.1", "-p", "-1", "-T"])
            .env("TZ", "Etc/GMT+5")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("server starts");
        let pid = nix::unistd::Pid::from_raw(out.id() as i32);
        std::thread::sleep(Duration::from_millis(300));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let output = out.wait_with_output().expect("server exits");
        let text = String::from_utf8_lossy(&output.stderr).into_owned();
        let first = text.lines().next().unwrap_or_default();
        // `[pid] 2026/11/23 21:10:00.123456 [INF] ...`
        let when = first
            .split(' ')
            .skip(1)
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        chrono::NaiveDateTime::parse_from_str(&when, "%Y/%m/%d %H:%M:%S%.f")
            .unwrap_or_else(|e| panic!("{e}: {first:?}"))
    };
    let utc = chrono::Utc::now().naive_utc();
    for bin in [rnats_bin(), reference_bin()] {
        for args in [&["--logtime_utc"][..], &["-c", &conf_s][..]] {
            let off = (stamp(&bin, args) - utc).num_minutes().abs();
            assert!(
                off < 5,
                "{}: {args:?} stamped {off} min off UTC",
                bin.display()
            );
        }
        let local = (stamp(&bin, &[]) - utc).num_minutes();
        assert!(
            (-305..=-295).contains(&local),
            "{}: local time {local} min off UTC",
            bin.display()
        );
    }
}

/// `log_size_limit` rotates the log file as nats-server does (a timestamped backup, a
/// "Rotated log" line in the new file) and `logfile_max_num` keeps that many files.
#[test]
fn log_files_rotate_and_old_ones_are_purged() {
    for (name, bin) in [("rnats", rnats_bin()), ("nats-server", reference_bin())] {
        let dir = TempDir::new("log-rotate");
        let conf = dir.path().join("r.conf");
        std::fs::write(&conf, "logfile_max_num: 3\n").expect("write config");
        let log = dir.path().join("s.log");
        let (conf_s, log_s) = (conf.display().to_string(), log.display().to_string());
        let s = spawn_opts(
            &bin,
            &["-c", &conf_s, "-l", &log_s, "--log_size_limit", "600", "-D"],
            false,
        );
        // Each connection logs a few debug lines.
        for _ in 0..30 {
            let mut c = Raw::connect(s.client_port);
            c.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
            assert!(c.wait_for("PONG", T), "{name}");
        }
        let deadline = Instant::now() + T;
        let files = loop {
            let mut files: Vec<String> = std::fs::read_dir(dir.path())
                .expect("read dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("s.log"))
                .collect();
            files.sort();
            let current = std::fs::read_to_string(&log).unwrap_or_default();
            if files.len() == 3 && current.contains("Purged log file") {
                break files;
            }
            assert!(Instant::now() < deadline, "{name}: {files:?}\n{current}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(files[0], "s.log", "{name}");
        for backup in &files[1..] {
            let stamp = backup.trim_start_matches("s.log.");
            assert!(
                chrono::NaiveDateTime::parse_from_str(stamp, "%Y.%m.%d.%H.%M.%S.%9f").is_ok(),
                "{name}: {backup}"
            );
            let text = std::fs::read_to_string(dir.path().join(backup)).expect("backup");
            assert!(text.contains("[DBG]"), "{name}: {backup}: {text}");
        }
        let current = std::fs::read_to_string(&log).expect("log");
        assert!(
            current.contains("[INF] Rotated log, backup saved as \""),
            "{name}: {current}"
        );
    }
}
