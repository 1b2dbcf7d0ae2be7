//! Case files: the scenario language (`*.case`) and its parser.

use super::*;

#[derive(Debug, Clone)]
pub(super) enum Step {
    Connect(String),
    Send(String, Vec<u8>),
    SendRaw(String, Vec<u8>),
    Expect(String, Vec<u8>),
    ExpectClose(String, Duration),
    Close(String),
    Sleep(Duration),
}

impl Step {
    pub(super) fn conn(&self) -> Option<&str> {
        match self {
            Step::Connect(c)
            | Step::Send(c, _)
            | Step::SendRaw(c, _)
            | Step::Expect(c, _)
            | Step::ExpectClose(c, _)
            | Step::Close(c) => Some(c),
            Step::Sleep(_) => None,
        }
    }

    pub(super) fn label(&self) -> String {
        match self {
            Step::Connect(c) => format!("connect {c}"),
            Step::Send(c, b) => format!("send {c} \"{}\" +PING", escape(b)),
            Step::SendRaw(c, b) => format!("send_raw {c} \"{}\"", escape(b)),
            Step::Expect(c, b) => format!("expect {c} \"{}\"", escape(b)),
            Step::ExpectClose(c, d) => format!("expect_close {c} {}", d.as_millis()),
            Step::Close(c) => format!("close {c}"),
            Step::Sleep(d) => format!("sleep {}", d.as_millis()),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) config: Option<String>,
    pub(super) steps: Vec<Step>,
}

pub(super) fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"{{") {
            let end = s[i..]
                .find("}}")
                .ok_or_else(|| format!("unclosed {{{{ in {s:?}"))?
                + i;
            let inner = &s[i + 2..end];
            let (n, text) = inner
                .split_once('*')
                .ok_or_else(|| format!("bad repeat {inner:?}"))?;
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("bad repeat count {n:?}"))?;
            let text = unescape(text)?;
            for _ in 0..n {
                out.extend_from_slice(&text);
            }
            i = end + 2;
            continue;
        }
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b
            .get(i + 1)
            .ok_or_else(|| format!("dangling \\ in {s:?}"))?;
        match c {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'{' => out.push(b'{'),
            b'x' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .ok_or_else(|| format!("short \\x in {s:?}"))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x{hex}"))?);
                i += 2;
            }
            other => return Err(format!("unknown escape \\{} in {s:?}", other as char)),
        }
        i += 2;
    }
    Ok(out)
}

pub(super) fn parse_ms(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("bad milliseconds {s:?}"))
}

pub(super) fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let mut description = String::new();
    let mut config: Option<String> = None;
    let mut steps = Vec::new();
    let mut conns: HashSet<String> = HashSet::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches([' ', '\t', '\r']);
        let err = |m: String| format!("{name}.case:{}: {m}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.trim_start().strip_prefix('#') {
            if description.is_empty() {
                description = comment.trim().to_string();
            }
            continue;
        }
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let (conn, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        let known = |c: &str| {
            if conns.contains(c) {
                Ok(c.to_string())
            } else {
                Err(err(format!("unknown conn {c:?}")))
            }
        };
        match verb {
            "config" => {
                let cfg = config.get_or_insert_with(String::new);
                cfg.push_str(rest);
                cfg.push('\n');
            }
            "connect" => {
                if conn.is_empty() || !arg.is_empty() {
                    return Err(err("usage: connect <conn>".into()));
                }
                conns.insert(conn.to_string());
                steps.push(Step::Connect(conn.to_string()));
            }
            "send" => steps.push(Step::Send(known(conn)?, unescape(arg).map_err(err)?)),
            "send_raw" => steps.push(Step::SendRaw(known(conn)?, unescape(arg).map_err(err)?)),
            "expect" => {
                let want = unescape(arg).map_err(err)?;
                if want.is_empty() {
                    return Err(err("usage: expect <conn> <bytes>".into()));
                }
                steps.push(Step::Expect(known(conn)?, want));
            }
            "expect_close" => {
                let d = if arg.is_empty() {
                    CLOSE_DEADLINE
                } else {
                    parse_ms(arg).map_err(err)?
                };
                steps.push(Step::ExpectClose(known(conn)?, d));
            }
            "close" => steps.push(Step::Close(known(conn)?)),
            "sleep" => steps.push(Step::Sleep(parse_ms(rest).map_err(err)?)),
            other => return Err(err(format!("unknown directive {other:?}"))),
        }
    }
    if steps.is_empty() {
        return Err(format!("{name}.case: no steps"));
    }
    Ok(Case {
        name: name.to_string(),
        description,
        config,
        steps,
    })
}

pub(super) fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        cases.push(parse_case(&name, &text)?);
    }
    Ok(cases)
}
