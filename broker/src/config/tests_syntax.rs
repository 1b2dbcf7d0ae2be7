//! Tests of the config syntax (lexer and parser): every construct, positions, variables,
//! includes and nats-server's exact parse error texts (checked against `nats-server -t`).

use std::path::PathBuf;

use super::{Map, ParseError, Value, parse_file, parse_str};

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(s: &str) -> Map {
    match parse_str(s, "t.conf", &no_env) {
        Ok(m) => m,
        Err(e) => panic!("parse of {s:?} failed: {e}"),
    }
}

fn perr(s: &str) -> ParseError {
    match parse_str(s, "t.conf", &no_env) {
        Ok(m) => panic!("parse of {s:?} succeeded: {m:?}"),
        Err(e) => e,
    }
}

fn val(s: &str, key: &str) -> Value {
    match parse(s).get(key) {
        Some(t) => t.value.clone(),
        None => panic!("{key} missing in {s:?}"),
    }
}

fn int(s: &str) -> i64 {
    match val(&format!("a: {s}\n"), "a") {
        Value::Int(i) => i,
        v => panic!("{s}: not an int: {v:?}"),
    }
}

fn string(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        v => panic!("not a string: {v:?}"),
    }
}

fn map(v: &Value) -> &Map {
    match v {
        Value::Map(m) => m,
        v => panic!("not a map: {v:?}"),
    }
}

fn array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.iter().map(|t| t.value.clone()).collect(),
        v => panic!("not an array: {v:?}"),
    }
}

#[test]
fn key_value_separators() {
    for src in [
        "port: 4222",
        "port = 4222",
        "port 4222",
        "port:4222",
        "port=4222",
        "  port\t4222",
    ] {
        assert_eq!(val(src, "port"), Value::Int(4222), "{src}");
    }
    let m = parse("a: 1; b: 2\nc = 3, d 4\n");
    let keys: Vec<&str> = m.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    // A JSON-like file: top-level braces and quoted keys.
    let m = parse("{\n  \"port\": 4222,\n  'debug': true\n}\n");
    assert_eq!(m.get("port").map(|t| &t.value), Some(&Value::Int(4222)));
    assert_eq!(m.get("debug").map(|t| &t.value), Some(&Value::Bool(true)));
}

#[test]
fn comments() {
    let m = parse("# hash\n// slashes\nport: 4222 # trailing\nhost: h // trailing\n");
    assert_eq!(m.len(), 2);
    assert_eq!(string(&val("a: x # c", "a")), "x");
    assert!(parse("# only a comment\n").is_empty());
}

#[test]
fn blocks() {
    let m = parse("a {\n  b: 1\n  c { d = \"x\" }\n}\ne: { f: 2, g: 3; h: 4 }\n");
    let a = map(&m.get("a").map(|t| t.value.clone()).unwrap_or(Value::Int(0))).clone();
    assert_eq!(a.get("b").map(|t| &t.value), Some(&Value::Int(1)));
    let c = a.get("c").map(|t| t.value.clone()).unwrap_or(Value::Int(0));
    assert_eq!(
        string(
            &map(&c)
                .get("d")
                .map(|t| t.value.clone())
                .unwrap_or(Value::Int(0))
        ),
        "x"
    );
    let e = val("e: { f: 2, g: 3; h: 4 }", "e");
    assert_eq!(map(&e).len(), 3);
    assert!(map(&val("a {}", "a")).is_empty());
}

#[test]
fn arrays() {
    assert_eq!(
        array(&val("a: [1, 2, 3 ]", "a")),
        [Value::Int(1), Value::Int(2), Value::Int(3)]
    );
    let a = array(&val("a: [\n  \"x\"\n  'y' # c\n  z\n]\n", "a"));
    assert_eq!(a.iter().map(string).collect::<Vec<_>>(), ["x", "y", "z"]);
    let a = array(&val("a: [{x: 1}, {y: 2}]", "a"));
    assert_eq!(map(&a[1]).get("y").map(|t| &t.value), Some(&Value::Int(2)));
    assert!(array(&val("a: []", "a")).is_empty());
    let nested = array(&val("a: [[1 ], []]", "a"));
    assert_eq!(array(&nested[0]), [Value::Int(1)]);
    // nats-server quirk: a number directly followed by ']' does not end the number.
    assert_eq!(
        perr("a = [1]\n").message,
        "Parse error on line 2: 'Expected an array value terminator \",\" or an array terminator \
         \"]\", but got '\u{0}' instead.'"
    );
}

#[test]
fn strings() {
    assert_eq!(string(&val("a: 'x\\ty'", "a")), "x\\ty");
    assert_eq!(
        string(&val(r#"a: "t\tn\nr\rq\"b\\x\x41""#, "a")),
        "t\tn\nr\rq\"b\\xA"
    );
    assert_eq!(string(&val("a: hello", "a")), "hello");
    assert_eq!(string(&val("a: 3secret", "a")), "3secret");
    assert_eq!(string(&val("a: 127.0.0.1:4222", "a")), "127.0.0.1:4222");
    assert_eq!(string(&val("a: 1.2.3", "a")), "1.2.3");
    assert_eq!(
        string(&val("a: nats://u:p@host:4222", "a")),
        "nats://u:p@host:4222"
    );
    assert_eq!(string(&val("a: \"$NOT_A_VAR\"", "a")), "$NOT_A_VAR");
    // Raw block: everything up to a ')' alone on a line.
    assert_eq!(
        string(&val("a: (\nline (1)\nline 2\n)\nb: 1\n", "a")),
        "\nline (1)\nline 2\n"
    );
    // A suffix followed by more characters is a string (nats-server 2.15).
    assert_eq!(string(&val("a: 5e7bcd", "a")), "5e7bcd");
    assert_eq!(string(&val("a: 1k2", "a")), "1k2");
}

#[test]
fn integers_and_sizes() {
    let cases = [
        ("42", 42),
        ("-7", -7),
        ("1k", 1000),
        ("1K", 1000),
        ("1kb", 1024),
        ("1KB", 1024),
        ("1Ki", 1024),
        ("1kib", 1024),
        ("512KB", 512 * 1024),
        ("1m", 1_000_000),
        ("1MB", 1 << 20),
        ("1Mi", 1 << 20),
        ("2g", 2_000_000_000),
        ("10Gi", 10 << 30),
        ("1GB", 1 << 30),
        ("1t", 1_000_000_000_000),
        ("1TB", 1 << 40),
        ("1p", 1_000_000_000_000_000),
        ("1PiB", 1 << 50),
        ("1e", 1_000_000_000_000_000_000),
        ("1EB", 1 << 60),
        ("-1k", -1000),
        ("9223372036854775807", i64::MAX),
    ];
    for (s, want) in cases {
        assert_eq!(int(s), want, "{s}");
    }
    // Go's int64 multiplication wraps.
    assert_eq!(int("16EB"), 0);
    assert_eq!(
        perr("a: 99999999999999999999\n").message,
        "integer '99999999999999999999' is out of the range"
    );
    // An unknown suffix silently sets nothing.
    assert!(parse("a: 1kbb\n").is_empty());
}

#[test]
fn floats_bools_and_datetimes() {
    assert_eq!(val("a: 1.5", "a"), Value::Float(1.5));
    assert_eq!(val("a: -0.25", "a"), Value::Float(-0.25));
    for (s, b) in [
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("on", true),
        ("false", false),
    ]
    .into_iter()
    .chain([("No", false), ("off", false), ("OFF", false)])
    {
        assert_eq!(val(&format!("a: {s}"), "a"), Value::Bool(b), "{s}");
    }
    assert_eq!(string(&val("a: truex", "a")), "truex");
    assert_eq!(
        val("a: 2024-02-29T12:00:00Z", "a"),
        Value::DateTime("2024-02-29T12:00:00Z".into())
    );
    assert_eq!(
        perr("a: 2023-02-29T12:00:00Z").message,
        "expected Zulu formatted DateTime, but got '2023-02-29T12:00:00Z'"
    );
    let too_big = format!("a: 1{}.0\n", "0".repeat(400));
    assert!(perr(&too_big).message.ends_with("is out of the range"));
}

#[test]
fn positions_follow_nats_server() {
    // Column 0-based on line 1, 1-based afterwards (nats-server's lexer quirk); a value is
    // reported where its key is, an array element where it is.
    let m = parse("port: 1\n  host: h\na: [\n  x\n]\n");
    let pos = |k: &str| m.get(k).map(|t| (t.pos.line, t.pos.col));
    assert_eq!(pos("port"), Some((1, 0)));
    assert_eq!(pos("host"), Some((2, 3)));
    let elems = match &m.get("a").map(|t| t.value.clone()) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| (t.pos.line, t.pos.col))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(elems, [(4, 3)]);
    assert_eq!(
        m.get("port").map(|t| t.pos.to_string()),
        Some("t.conf:1:0".to_string())
    );
}

#[test]
fn parse_error_texts() {
    let cases = [
        (
            "a = [1,,2]\n",
            "Parse error on line 1: 'Unexpected array value terminator ','.'",
        ),
        (
            "foo {\n",
            "Parse error on line 2: 'Unexpected EOF processing map.'",
        ),
        ("a: \"abc\n", "Parse error on line 2: 'Unexpected EOF.'"),
        (
            "port: 4222 x\n",
            "Parse error on line 1: 'Expected a top-level value to end with a new line, comment \
             or EOF, but got 'x' instead.'",
        ),
        (
            "a: \"\\q\"\n",
            "Parse error on line 1: 'Invalid escape character 'q'. Only the following escape \
             characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.'",
        ),
        (
            "a: \"\\xzz\"\n",
            "Parse error on line 1: 'Expected two hexadecimal digits after '\\x', but got 'zz''",
        ),
        (
            "a:\n",
            "Parse error on line 2: 'Expected value but found new line'",
        ),
        (
            "a: .5\n",
            "Parse error on line 1: 'Floats must start with a digit'",
        ),
        (
            "a: 1.x\n",
            "Parse error on line 1: 'Floats must have a digit after the '.', but got 'x' instead.'",
        ),
        (
            "a: 1-2\n",
            "Parse error on line 1: 'All ISO8601 dates must be in full Zulu form.'",
        ),
        (
            "x { y: 1 ] }\n",
            "Parse error on line 1: 'Expected a map value terminator \",\" or a map terminator \
             \"}\", but got ']' instead.'",
        ),
        (
            "a { : 1 }\n",
            "Parse error on line 1: 'Unexpected key separator ':'.'",
        ),
        (
            "= 1\n",
            "Parse error on line 1: 'Unexpected key separator '=''",
        ),
        (
            "include 5\n",
            "Parse error on line 1: 'Expected include value but found start of a number'",
        ),
        (
            "a: (\nx\n",
            "Parse error on line 3: 'Unexpected EOF processing block.'",
        ),
        ("port", "config is invalid (t.conf:1:4)"),
        ("port: 1\nport\n", "config is invalid (t.conf:3:1)"),
        (
            "a: $nope\n",
            "variable reference for 'nope' on line 1 can not be found",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(perr(src).message, want, "{src:?}");
    }
    // The error carries the position even where the text does not.
    let e = perr("port: 1\nfoo {\n");
    assert_eq!(e.pos.map(|p| p.line), Some(3));
}

#[test]
fn variables_from_the_file() {
    let m = parse("myport = 4333\nport: $myport\n");
    assert_eq!(m.get("port").map(|t| &t.value), Some(&Value::Int(4333)));
    assert!(m.get("myport").is_some_and(|t| t.used_variable));
    assert!(!m.get("port").is_some_and(|t| t.used_variable));
    // Enclosing scopes are searched innermost first.
    let m = parse("P: outer\na { P: inner, b { c: $P } }\nd { e: $P }\n");
    let a = map(&m.get("a").map(|t| t.value.clone()).unwrap_or(Value::Int(0))).clone();
    let b = map(&a.get("b").map(|t| t.value.clone()).unwrap_or(Value::Int(0))).clone();
    assert_eq!(
        b.get("c").map(|t| string(&t.value).to_string()),
        Some("inner".to_string())
    );
    let d = val("P: outer\nd { e: $P }\n", "d");
    assert_eq!(
        map(&d).get("e").map(|t| string(&t.value).to_string()),
        Some("outer".into())
    );
    // A block's variables are gone once it closes.
    assert_eq!(
        perr("authorization {\n  PASS: abc\n}\nport: $PASS\n").message,
        "variable reference for 'PASS' on line 4 can not be found"
    );
    // Maps can be variables too.
    let m = parse("X = { a: 1 }\ny: $X\n");
    assert_eq!(
        map(&m.get("y").map(|t| t.value.clone()).unwrap_or(Value::Int(0))).len(),
        1
    );
    // An unquoted bcrypt hash is not a variable.
    assert_eq!(string(&val("a: $2a$11$abc/def", "a")), "$2a$11$abc/def");
}

#[test]
fn variables_from_the_environment() {
    let env = |k: &str| match k {
        "P" => Some("4333".to_string()),
        "S" => Some("hello world".to_string()),
        "Q" => Some("\"4333\"".to_string()),
        "R" => Some("$P".to_string()),
        "M" => Some("{user: a, password: b}".to_string()),
        "A" => Some("$B".to_string()),
        "B" => Some("$A".to_string()),
        "SELF" => Some("$SELF".to_string()),
        "BAD" => Some("{a: 1".to_string()),
        _ => None,
    };
    let get =
        |src: &str| parse_str(src, "t.conf", &env).map(|m| m.get("a").map(|t| t.value.clone()));
    // Values are parsed as config values: a number stays a number.
    assert_eq!(get("a: $P"), Ok(Some(Value::Int(4333))));
    assert_eq!(get("a: $Q"), Ok(Some(Value::String("4333".into()))));
    assert_eq!(get("a: $R"), Ok(Some(Value::Int(4333))));
    assert!(matches!(get("a: $M"), Ok(Some(Value::Map(_)))));
    // The file wins over the environment.
    assert_eq!(get("P: 1\na: $P"), Ok(Some(Value::Int(1))));
    let err = |src: &str| get(src).err().map(|e| e.message).unwrap_or_default();
    assert_eq!(
        err("a: $S"),
        "variable reference for 'S' on line 1 could not be parsed: Parse error on line 1: \
         'Expected a top-level value to end with a new line, comment or EOF, but got 'w' \
         instead.'"
    );
    assert_eq!(
        err("a: $A"),
        "variable reference for 'A' on line 1 could not be parsed: variable reference for 'B' \
         on line 1 could not be parsed: variable reference for 'A' on line 1 could not be \
         parsed: variable reference cycle for 'A'"
    );
    assert_eq!(
        err("a: $SELF"),
        "variable reference for 'SELF' on line 1 could not be parsed: variable reference for \
         'SELF' on line 1 could not be parsed: variable reference cycle for 'SELF'"
    );
    assert_eq!(
        err("a: $BAD"),
        "variable reference for 'BAD' on line 1 could not be parsed: Parse error on line 1: \
         'Expected a map value terminator \",\" or a map terminator \"}\", but got '\u{0}' \
         instead.'"
    );
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rnats-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, rel: &str, data: &str) -> String {
        let p = self.0.join(rel);
        std::fs::write(&p, data).expect("write temp file");
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn includes_resolve_relative_to_the_including_file() {
    let d = TempDir::new("include");
    d.write("sub/auth.conf", "authorization {\n  token: \"f0oBar\"\n}\n");
    d.write("sub/limits.conf", "max_payload: 2MB\n");
    let main = d.write(
        "main.conf",
        "listen: 127.0.0.1:4222\ninclude ./sub/auth.conf\n\
         block {\n  include 'sub/limits.conf'\n}\n",
    );
    let m = parse_file(&main, &no_env).expect("parse");
    let auth = m.get("authorization").expect("included key");
    // Included values keep their own file and line.
    assert!(auth.pos.file.ends_with("sub/auth.conf"), "{}", auth.pos);
    assert_eq!(auth.pos.line, 1);
    let block = map(&m
        .get("block")
        .map(|t| t.value.clone())
        .unwrap_or(Value::Int(0)))
    .clone();
    assert_eq!(
        block.get("max_payload").map(|t| &t.value),
        Some(&Value::Int(2 << 20))
    );
}

#[test]
fn include_errors() {
    let d = TempDir::new("include-err");
    let main = d.write("main.conf", "include ./missing.conf\n");
    let dir = d.0.to_string_lossy().into_owned();
    assert_eq!(
        parse_file(&main, &no_env).map_err(|e| e.message),
        Err(format!(
            "error parsing include file './missing.conf', open {dir}/missing.conf: no such file \
             or directory"
        ))
    );
    // Variables of the including file are not visible in the included one.
    d.write("inc.conf", "port: $P\n");
    let main = d.write("main2.conf", "P: 1\ninclude inc.conf\n");
    assert_eq!(
        parse_file(&main, &no_env).map_err(|e| e.message),
        Err(
            "error parsing include file 'inc.conf', variable reference for 'P' on line 1 can \
             not be found"
                .to_string()
        )
    );
    // A parse error inside points into the included file.
    d.write("bad.conf", "a: 1\nb {\n");
    let main = d.write("main3.conf", "include bad.conf\n");
    let e = parse_file(&main, &no_env).expect_err("bad include");
    assert_eq!(
        e.message,
        "error parsing include file 'bad.conf', Parse error on line 3: 'Unexpected EOF \
         processing map.'"
    );
    assert!(
        e.pos
            .is_some_and(|p| p.file.ends_with("bad.conf") && p.line == 3)
    );
    // A cycle is an error, not a stack overflow.
    let main = d.write("loop.conf", "include loop.conf\n");
    let e = parse_file(&main, &no_env).expect_err("cycle");
    assert!(
        e.message.contains("includes nested deeper than 32"),
        "{}",
        e.message
    );
    // The top-level file missing.
    assert_eq!(
        parse_file(&format!("{dir}/nope.conf"), &no_env).map_err(|e| e.message),
        Err(format!("open {dir}/nope.conf: no such file or directory"))
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(perr(&deep).message.contains("nested deeper than"));
    let ok = format!("a: {}1 {}\n", "[".repeat(50), "]".repeat(50));
    assert!(parse(&ok).get("a").is_some());
}

#[test]
fn arbitrary_input_never_panics() {
    const ATOMS: &[&str] = &[
        "port", "a", "include", ":", "=", " ", "\n", "\r", "\t", "{", "}", "[", "]", "(", ")", ",",
        ";", "#", "//", "/", "1", "-", "1k", "1.5", "2021-", "true", "'", "\"", "\\", "\\x", "$",
        "$a", "$2a$", "e", ".", "\u{e9}", "\u{0}", "\u{ff}",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 16) as usize;
        let src: String = (0..len)
            .map(|_| ATOMS[(next() % ATOMS.len() as u64) as usize])
            .collect();
        let _ = parse_str(&src, "fuzz.conf", &no_env);
    }
    // Invalid UTF-8 goes through the lexer as U+FFFD, like Go's decoder.
    let d = TempDir::new("bytes");
    let p = d.0.join("b.conf");
    std::fs::write(&p, b"a: \xff\xfe\nb: \"\xc3\"\n(\n\xe2\x82)\n").expect("write");
    let _ = parse_file(&p.to_string_lossy(), &no_env);
}
