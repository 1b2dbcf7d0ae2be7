//! Tests of applying keys to [`Options`]: values, defaults, warnings, and nats-server's exact
//! error texts and positions (each checked against `nats-server -t -c` 2.15.1).

use std::time::Duration;

use super::{ConfigError, Warning, WarningKind, apply_map, parse_str, validate};
use crate::options::{Options, User};

fn no_env(_: &str) -> Option<String> {
    None
}

fn apply(src: &str) -> Result<(Options, Vec<Warning>), ConfigError> {
    let map = parse_str(src, "t.conf", &no_env)?;
    let mut opts = Options::default();
    let warnings = apply_map("t.conf", &map, &mut opts)?;
    Ok((opts, warnings))
}

fn opts(src: &str) -> Options {
    match apply(src) {
        Ok((o, _)) => o,
        Err(e) => panic!("{src:?}: {e}"),
    }
}

fn warnings(src: &str) -> Vec<String> {
    match apply(src) {
        Ok((_, w)) => w.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("{src:?}: {e}"),
    }
}

/// The error text as `nats-server -t` prints it after `nats-server: `.
fn err(src: &str) -> String {
    match apply(src) {
        Ok((o, _)) => panic!("{src:?} loaded: {o:?}"),
        Err(e) => e.to_string(),
    }
}

fn user(name: &str, pass: &str) -> User {
    User {
        username: name.to_string(),
        password: pass.to_string(),
        permissions: None,
        account: None,
        connection_types: Vec::new(),
    }
}

#[test]
fn listen_host_and_port() {
    let o = opts("host: 127.0.0.1\nport: 4333\n");
    assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", Some(4333)));
    assert_eq!(opts("net: ::1").host, "::1");
    let o = opts("listen: 127.0.0.1:4333");
    assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", Some(4333)));
    let o = opts("listen: \"[::1]:4444\"");
    assert_eq!((o.host.as_str(), o.port), ("::1", Some(4444)));
    let o = opts("host: 10.0.0.1\nlisten: 4555\n");
    assert_eq!((o.host.as_str(), o.port), ("0.0.0.0", Some(4555)));
    assert_eq!(opts("port: -1").port, None, "-1 means a random port");
    assert_eq!(opts("port: 0").port, Some(4222), "0 means the default");
    assert_eq!(err("port: 70000"), "t.conf:1:0: invalid port 70000");
    assert_eq!(
        err("listen: localhost"),
        "t.conf:1:0: could not parse address string \"localhost\""
    );
    assert_eq!(
        err("listen: \"host:x\""),
        "t.conf:1:0: could not parse port \"x\""
    );
    assert_eq!(
        err("listen: true"),
        "t.conf:1:0: expected port or host:port, got bool"
    );
    assert_eq!(
        opts("client_advertise: \"nats.example.com:4222\"")
            .client_advertise
            .as_deref(),
        Some("nats.example.com:4222")
    );
}

#[test]
fn monitoring() {
    let o = opts("http: 8222");
    assert_eq!((o.http_host.clone(), o.http_port), (None, Some(Some(8222))));
    let o = opts("http: localhost:8333");
    assert_eq!(
        (o.http_host.as_deref(), o.http_port),
        (Some("localhost"), Some(Some(8333)))
    );
    assert_eq!(opts("http_port: 8222").http_port, Some(Some(8222)));
    assert_eq!(opts("monitor_port: -1").http_port, Some(None));
    assert_eq!(opts("http_port: 0").http_port, None);
    let w = warnings("https: 8443");
    assert_eq!(
        w,
        ["t.conf:1:0: field \"https\" is not supported yet, ignoring it"]
    );
    assert_eq!(
        err("https: x"),
        "t.conf:1:0: could not parse address string \"x\""
    );
}

#[test]
fn limits_and_sizes() {
    let o = opts(
        "max_payload: 2MB\nmax_pending: 128MB\nmax_control_line: 8KB\nmax_connections: 1K\n\
         max_subscriptions: 100\n",
    );
    assert_eq!(o.max_payload, 2 << 20);
    assert_eq!(o.max_pending, 128 << 20);
    assert_eq!(o.max_control_line, 8 << 10);
    assert_eq!(o.max_connections, 1000);
    assert_eq!(o.max_subscriptions, 100);
    assert_eq!(opts("max_subs: 7").max_subscriptions, 7);
    assert_eq!(opts("max_conn: 3").max_connections, 3);
    // Zero means the default, as in nats-server; max_connections 0 refuses everyone.
    let o = opts("max_payload: 0\nmax_pending: 0\nmax_control_line: 0\nmax_connections: 0\n");
    assert_eq!(
        (o.max_payload, o.max_pending, o.max_control_line),
        (1 << 20, 64 << 20, 4096)
    );
    assert_eq!(o.max_connections, 0);
    assert_eq!(
        err("max_payload: 3GB"),
        "t.conf:1:0: max_payload value is too big"
    );
    assert_eq!(
        err("Max_Control_Line: 3GB"),
        "t.conf:1:0: Max_Control_Line value is too big"
    );
    // A negative limit is ignored with a warning.
    let (o, w) = apply("max_pending: -1").expect("loads");
    assert_eq!(o.max_pending, 64 << 20);
    assert_eq!(w[0].kind, WarningKind::Unsupported);
    assert_eq!(
        w[0].to_string(),
        "t.conf:1:0: negative \"max_pending\" is not supported, ignoring it"
    );
    assert_eq!(opts("log_size_limit: 10MB").log_size_limit, 10 << 20);
    assert_eq!(opts("logfile_size_limit: 1KB").log_size_limit, 1024);
}

#[test]
fn durations() {
    let o = opts("ping_interval: \"30s\"\nping_max: 5\nwrite_deadline: 500ms\n");
    assert_eq!(o.ping_interval, Duration::from_secs(30));
    assert_eq!(o.ping_max, 5);
    assert_eq!(o.write_deadline, Duration::from_millis(500));
    // Unquoted, `2m` is the number 2,000,000 (seconds), exactly as in nats-server.
    assert_eq!(
        opts("ping_interval: 2m").ping_interval,
        Duration::from_secs(2_000_000)
    );
    assert_eq!(
        opts("ping_interval: \"1h30m\"").ping_interval,
        Duration::from_secs(5400)
    );
    // A plain number means seconds, with nats-server's warning.
    let (o, w) = apply("ping_interval: 20").expect("loads");
    assert_eq!(o.ping_interval, Duration::from_secs(20));
    assert_eq!(w[0].kind, WarningKind::Reference);
    assert_eq!(
        w[0].to_string(),
        "t.conf:1:0: invalid use of field \"ping_interval\": ping_interval should be converted \
         to a duration"
    );
    assert_eq!(
        err("write_deadline: \"abc\""),
        "t.conf:1:0: error parsing write_deadline: time: invalid duration \"abc\""
    );
    assert_eq!(
        err("ping_interval: 1.5"),
        "t.conf:1:0: invalid use of field \"ping_interval\": ping_interval should be converted \
         to a duration\nt.conf:1:0: interface conversion: interface {} is float64, not int64"
    );
    let o = opts("lame_duck_duration: \"45s\"\nlame_duck_grace_period: \"5s\"\n");
    assert_eq!(o.lame_duck_duration, Duration::from_secs(45));
    assert_eq!(o.lame_duck_grace_period, Duration::from_secs(5));
    assert_eq!(
        err("lame_duck_duration: \"10s\""),
        "t.conf:1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds"
    );
    assert_eq!(
        err("lame_duck_duration: 60"),
        "t.conf:1:0: interface conversion: interface {} is int64, not string"
    );
    assert_eq!(
        err("lame_duck_grace_period: \"-1s\""),
        "t.conf:1:0: invalid lame_duck_grace_period, needs to be positive"
    );
    assert_eq!(
        err("lame_duck_duration: \"1x\""),
        "t.conf:1:0: error parsing lame_duck_duration: time: unknown unit \"x\" in duration \
         \"1x\""
    );
}

#[test]
fn logging_and_files() {
    let o = opts(
        "debug: true\ntrace: yes\nlogtime: off\nlogfile: /var/log/n.log\npid_file: \"/run/n.pid\"\n\
         ports_file_dir: /tmp\nserver_name: n1\nno_sublist_cache: true\n",
    );
    assert!(o.debug && o.trace && !o.logtime && o.no_sublist_cache);
    assert_eq!(
        o.log_file.as_deref(),
        Some(std::path::Path::new("/var/log/n.log"))
    );
    assert_eq!(
        o.pid_file.as_deref(),
        Some(std::path::Path::new("/run/n.pid"))
    );
    assert_eq!(
        o.ports_file_dir.as_deref(),
        Some(std::path::Path::new("/tmp"))
    );
    assert_eq!(o.server_name.as_deref(), Some("n1"));
    assert_eq!(
        opts("log_file: x.log\npidfile: p").pid_file.as_deref(),
        Some(std::path::Path::new("p"))
    );
    assert_eq!(
        err("server_name: \"a b\""),
        "t.conf:1:0: server name cannot contain spaces"
    );
    assert_eq!(
        err("debug: 1"),
        "t.conf:1:0: interface conversion: interface {} is int64, not bool"
    );
    let (o, w) = apply("trace_verbose: true").expect("loads");
    assert!(o.trace);
    assert_eq!(w.len(), 1);
}

#[test]
fn authorization_single_user_and_token() {
    let o = opts("authorization { user: a, password: b, timeout: 5 }");
    assert_eq!(
        (o.username.as_deref(), o.password.as_deref()),
        (Some("a"), Some("b"))
    );
    assert_eq!(o.auth_timeout, Duration::from_secs(5));
    assert!(o.auth_required());
    let o = opts("authorization {\n  token: \"s3cr3t\"\n  timeout: \"1.5s\"\n}\n");
    assert_eq!(o.authorization.as_deref(), Some("s3cr3t"));
    assert_eq!(o.auth_timeout, Duration::from_millis(1500));
    assert_eq!(
        opts("authorization { username: u, pass: p }")
            .username
            .as_deref(),
        Some("u")
    );
    assert_eq!(
        opts("authorization { timeout: 0.5 }").auth_timeout,
        Duration::from_millis(500)
    );
    assert_eq!(
        err("port: 4222\nauthorization {\n  user: a\n  password: b\n  token: c\n}\n"),
        "t.conf:2:1: Cannot have a user/pass and token"
    );
    // nats-server has no top-level user/password keys.
    assert_eq!(err("user: a\n"), "t.conf:1:0: unknown field \"user\"");
}

#[test]
fn authorization_users() {
    let o = opts(
        "authorization {\n  users: [\n    {user: a, password: b}\n    {username: c, pass: \
         \"$2a$11$V1qrpBt8/SLfEBr4NJq4T.2mg8chx8.MTblUiTBOLV3MKDeAy.f7u\"}\n  ]\n}\n\
         no_auth_user: a\n",
    );
    assert_eq!(
        o.users,
        [
            user("a", "b"),
            user(
                "c",
                "$2a$11$V1qrpBt8/SLfEBr4NJq4T.2mg8chx8.MTblUiTBOLV3MKDeAy.f7u"
            )
        ]
    );
    assert_eq!(o.no_auth_user.as_deref(), Some("a"));
    assert_eq!(validate(&o), Ok(()));
    // Permissions are applied to the user, without warnings.
    let w =
        warnings("authorization { users: [ {user: a, password: b, permissions: {publish: x}} ] }");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        err("authorization {\n  users: [ {user: a, password: b}, {user: a, password: c} ]\n}\n"),
        "t.conf:1:0: Duplicate user \"a\" detected"
    );
    assert_eq!(
        err("authorization {\n  users: [ {user: a, password: b, foo: 1}, {password: c} ]\n}\n"),
        "t.conf:2:35: unknown field \"foo\"\nt.conf:2:45: User entry requires a user"
    );
    assert_eq!(
        err("authorization {\n  users = [ 1 ]\n}\n"),
        "t.conf:2:13: Expected user entry to be a map/struct, got 1"
    );
    assert_eq!(
        err("authorization {\n  users = 1\n}\n"),
        "t.conf:2:3: Expected users field to be an array, got 1"
    );
    assert_eq!(
        err("authorization { user: x, users: [ {user: a} ] }"),
        "t.conf:1:0: Can not have a single user/pass and a users array"
    );
    assert_eq!(
        err("authorization { token: x, users: [] }"),
        "t.conf:1:0: Can not have a token and a users array"
    );
    assert_eq!(
        err("authorization { users: [ {nkey: UBAD} ] }"),
        "t.conf:1:26: Not a valid public nkey for a user"
    );
    let key = nkeys::KeyPair::new_user().public_key();
    let (o, w) = apply(&format!("authorization {{ users: [ {{nkey: {key}}} ] }}")).expect("loads");
    assert_eq!(o.nkeys.len(), 1);
    assert_eq!(o.nkeys[0].nkey, key);
    assert!(w.is_empty(), "nkey users are enforced: {w:?}");
    let account = nkeys::KeyPair::new_account().public_key();
    assert_eq!(
        err(&format!(
            "authorization {{ users: [ {{nkey: {account}}} ] }}"
        )),
        "t.conf:1:26: Not a valid public nkey for a user"
    );
}

#[test]
fn authorization_errors_as_nats_server() {
    assert_eq!(
        err("authorization { user: a, password: b, bar: 1 }\n"),
        "t.conf:1:38: unknown field \"bar\""
    );
    // A type panic inside the block is followed by nats-server's nil-pointer panic.
    assert_eq!(
        err("authorization: \"tok\"\n"),
        "t.conf:1:0: interface conversion: interface {} is string, not map[string]interface \
         {}\nt.conf:1:0: runtime error: invalid memory address or nil pointer dereference"
    );
    assert_eq!(
        err("authorization { user: 1 }\n"),
        "t.conf:1:16: interface conversion: interface {} is int64, not string\nt.conf:1:0: \
         runtime error: invalid memory address or nil pointer dereference"
    );
    assert_eq!(
        err("authorization {\n  timeout: \"abc\"\n}\n"),
        "t.conf:2:3: error parsing authorization config, 'timeout' time: invalid duration \"abc\""
    );
    let (o, w) = apply("authorization {\n  timeout: 120\n}\n").expect("loads");
    assert_eq!(o.auth_timeout, Duration::from_secs(120));
    assert_eq!(
        w[0].to_string(),
        "t.conf:2:3: invalid use of field \"timeout\": timeout of 120 (120.000000 seconds) is \
         high, consider keeping it under 60 seconds. possibly caused by unquoted duration; use \
         '1m' instead of 1m, for example"
    );
    // Keys defined only to be used as variables are not unknown.
    let o = opts("authorization {\n  PASS: abc\n  users: [ {user: a, password: $PASS} ]\n}\n");
    assert_eq!(o.users, [user("a", "abc")]);
}

#[test]
fn environment_maps_behave_as_in_nats_server() {
    let env = |k: &str| match k {
        "U" => Some("[{user: a, password: b}]".to_string()),
        "BAD" => Some("[{user: a, password: b, x: 1}]".to_string()),
        _ => None,
    };
    let load = |src: &str| {
        let map = parse_str(src, "t.conf", &env)?;
        let mut o = Options::default();
        apply_map("t.conf", &map, &mut o).map(|_| o)
    };
    let o = load("authorization { users: $U }").expect("loads");
    assert_eq!(o.users, [user("a", "b")]);
    // nats-server keeps no token inside an environment value: an unknown key there panics.
    assert_eq!(
        load("authorization { users: $BAD }")
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(
            "t.conf:1:16: runtime error: invalid memory address or nil pointer dereference"
                .to_string()
        )
    );
}

#[test]
fn unknown_and_unimplemented_keys() {
    assert_eq!(
        err("port: 4333\nfoo: 1\n"),
        "t.conf:2:1: unknown field \"foo\""
    );
    assert_eq!(
        err("myport = 4333\n"),
        "t.conf:1:0: unknown field \"myport\""
    );
    assert_eq!(opts("myport = 4333\nport: $myport\n").port, Some(4333));
    assert_eq!(
        err("port: \"abc\""),
        "t.conf:1:0: interface conversion: interface {} is string, not int64"
    );
    let w = warnings(
        "jetstream { store_dir: /data }\ncluster {\n  name: c\n  listen: 0.0.0.0:6222\n}\n\
         syslog: true\n",
    );
    assert_eq!(
        w,
        ["t.conf:1:0: field \"jetstream\" is not supported yet, ignoring it"]
    );
    let o = opts("syslog: true\nremote_syslog: \"udp://127.0.0.1:514\"\n");
    assert!(o.syslog);
    assert_eq!(o.remote_syslog.as_deref(), Some("udp://127.0.0.1:514"));
    assert!(warnings("jetstream: disabled").is_empty());
    assert_eq!(
        err("cluster: 1"),
        "t.conf:1:0: Expected map to define cluster, got int64"
    );
    assert_eq!(
        err("jetstream: maybe"),
        "t.conf:1:0: Expected 'enabled' or 'disabled' for string value, got 'maybe'"
    );
    assert_eq!(
        err("syslog: 1"),
        "t.conf:1:0: interface conversion: interface {} is int64, not bool"
    );
    assert_eq!(
        err("write_timeout: never"),
        "t.conf:1:0: write_timeout must be 'default', 'close' or 'retry'"
    );
    assert_eq!(
        err("system_account: 1"),
        "t.conf:1:0: system account name must be a string"
    );
    assert_eq!(
        err("tls: true"),
        "t.conf:1:0: interface conversion: interface {} is bool, not map[string]interface {}"
    );
    // All errors are reported, in file order.
    assert_eq!(
        err("foo: 1\nport: x\nbar: 2\n"),
        "t.conf:1:0: unknown field \"foo\"\nt.conf:2:1: interface conversion: interface {} is \
         string, not int64\nt.conf:3:1: unknown field \"bar\""
    );
    // An empty file warns as nats-server does.
    let (_, w) = apply("").expect("loads");
    assert_eq!(w[0].to_string(), "t.conf: config has no values or is empty");
}

#[test]
fn unimplemented_blocks_reject_unknown_keys() {
    assert_eq!(
        err("cluster {\n  zz_unknown: 1\n}\n"),
        "t.conf:2:3: unknown field \"zz_unknown\""
    );
    assert_eq!(
        err("cluster {\n  tls { bogus: 1 }\n}\n"),
        "t.conf:2:9: error parsing tls config, unknown field \"bogus\""
    );
    assert_eq!(
        err("tls {\n  cert_file: a\n  Name: x\n}\n"),
        "t.conf:3:3: error parsing tls config, unknown field \"Name\""
    );
    // `disabled` is a string value of `jetstream`, not a key inside its block.
    assert_eq!(
        err("jetstream {\n  disabled: true\n}\n"),
        "t.conf:2:3: unknown field \"disabled\""
    );
    // Keys nats-server knows load (values inside are not checked yet).
    let w = warnings(
        "jetstream { store_dir: /data, max_mem: 1G, domain: hub }\n\
         leafnodes { remotes: [ {url: \"nats://hub:7422\"} ] }\n\
         websocket { port: 8080, no_tls: true }\nmqtt { port: 1883 }\n\
         gateway { name: a, gateways: [] }\n",
    );
    assert_eq!(w.len(), 5);
}

#[test]
fn validation_after_flags() {
    let mut o = opts("max_payload: 100MB\nmax_pending: 10MB\n");
    assert_eq!(
        validate(&o).map_err(|e| e.to_string()),
        Err("max_payload (104857600) cannot be higher than max_pending (10485760)".to_string())
    );
    o.max_pending = 200 << 20;
    assert_eq!(validate(&o), Ok(()));
    let o = opts("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"30s\"\n");
    assert_eq!(
        validate(&o).map_err(|e| e.to_string()),
        Err(
            "lame duck grace period (30s) should be strictly lower than lame duck duration \
             (30s)"
                .to_string()
        )
    );
    assert_eq!(
        validate(&opts("no_auth_user: x")).map_err(|e| e.to_string()),
        Err("no_auth_user: \"x\" present, but users/nkeys are not defined".to_string())
    );
    assert_eq!(
        validate(&opts(
            "no_auth_user: x\nauthorization { users: [ {user: a} ] }"
        ))
        .map_err(|e| e.to_string()),
        Err(
            "no_auth_user: \"x\" not present as user or nkey in authorization block or account \
             configuration"
                .to_string()
        )
    );
}
