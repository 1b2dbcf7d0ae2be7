//! Parser: turns lexer items into a [`Map`] as nats-server's `conf/parse.go` does in its
//! pedantic mode: nesting, size suffixes, `$variables` (from enclosing maps, then from the
//! environment) and `include` (relative to the including file), with nats-server's error texts.

use std::collections::HashSet;
use std::sync::Arc;

use super::error::ParseError;
use super::lexer::{Item, ItemType, Lexer};
use super::paths::{go_dir, go_join};
use super::value::{Map, Pos, Token, Value};

/// Where `$NAME` looks once no enclosing map defines `NAME` (normally the process environment).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Deepest nesting of maps and arrays accepted. nats-server has no limit; this one keeps a
/// hostile file from exhausting memory or the stack, and no real config comes close.
const MAX_NESTING: usize = 128;
/// Deepest chain of includes. nats-server recurses until its stack overflows on a cycle.
const MAX_INCLUDE_DEPTH: usize = 32;
/// Deepest chain of environment variables whose values reference other variables.
const MAX_ENV_DEPTH: usize = 32;
/// Key under which an environment value is parsed (`pk` in parse.go).
const ENV_KEY: &str = "pk";
/// A `$2a$...` reference is a bcrypt hash written without quotes, not a variable.
const BCRYPT_PREFIX: &str = "2a$";

enum Ctx {
    Map(Map),
    Array(Vec<Token>),
}

struct Parser<'a> {
    ctxs: Vec<Ctx>,
    keys: Vec<String>,
    ikeys: Vec<(usize, usize)>,
    file: Arc<str>,
    dir: String,
    env: EnvLookup<'a>,
    env_refs: &'a mut HashSet<String>,
    include_depth: usize,
    env_depth: usize,
}

/// Reads and parses `path` (as nats-server's `ParseFileWithChecks`). Positions name the file
/// as `path` is written; includes resolve against its directory.
pub fn parse_file(path: &str, env: EnvLookup<'_>) -> Result<Map, ParseError> {
    parse_file_at(path, env, 0)
}

/// Parses config text as if read from `file` (used for positions and include resolution).
pub fn parse_str(data: &str, file: &str, env: EnvLookup<'_>) -> Result<Map, ParseError> {
    let mut refs = HashSet::new();
    parse_bytes(data.as_bytes(), file, env, &mut refs, 0, 0)
}

/// Reads and parses one file. An included file sees variables only from itself and the
/// environment, as in nats-server.
fn parse_file_at(path: &str, env: EnvLookup<'_>, include_depth: usize) -> Result<Map, ParseError> {
    let data = std::fs::read(path).map_err(|e| ParseError::new(go_io_error(path, &e), None))?;
    parse_bytes(&data, path, env, &mut HashSet::new(), include_depth, 0)
}

fn parse_bytes(
    data: &[u8],
    file: &str,
    env: EnvLookup<'_>,
    env_refs: &mut HashSet<String>,
    include_depth: usize,
    env_depth: usize,
) -> Result<Map, ParseError> {
    let mut p = Parser {
        ctxs: vec![Ctx::Map(Map::new())],
        keys: Vec::new(),
        ikeys: Vec::new(),
        file: Arc::from(file),
        dir: go_dir(file),
        env,
        env_refs,
        include_depth,
        env_depth,
    };
    let mut lx = Lexer::new(data);
    p.run(&mut lx)?;
    match p.ctxs.into_iter().next() {
        Some(Ctx::Map(m)) => Ok(m),
        _ => Err(ParseError::new(
            "BUG in parser, context stack empty".to_string(),
            None,
        )),
    }
}

/// Go's text for a failed `os.ReadFile` (`open x.conf: no such file or directory`).
pub(crate) fn go_io_error(path: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let reason = match e.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => return format!("read {path}: is a directory"),
        ErrorKind::NotADirectory => "not a directory".to_string(),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut chars = s.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => s,
            }
        }
    };
    format!("open {path}: {reason}")
}

impl Parser<'_> {
    fn pos(&self, it: &Item) -> Pos {
        Pos {
            file: self.file.clone(),
            line: it.line,
            col: it.pos,
        }
    }

    fn err(&self, it: &Item, message: String) -> ParseError {
        ParseError::new(message, Some(self.pos(it)))
    }

    fn bug(&self, it: &Item, what: &str) -> ParseError {
        self.err(it, format!("BUG in parser, {what} stack empty"))
    }

    fn run(&mut self, lx: &mut Lexer<'_>) -> Result<(), ParseError> {
        let mut prev: Option<Item> = None;
        loop {
            let it = lx.next_item();
            if it.typ == ItemType::Eof {
                // A final '}' is allowed so that JSON-like files parse.
                if let Some(p) = &prev
                    && p.typ == ItemType::Key
                    && p.val != "}"
                {
                    let msg = format!("config is invalid ({}:{}:{})", self.file, it.line, it.pos);
                    return Err(self.err(&it, msg));
                }
                return Ok(());
            }
            self.process(&it)?;
            prev = Some(it);
        }
    }

    fn process(&mut self, it: &Item) -> Result<(), ParseError> {
        let pos = self.pos(it);
        let value = match it.typ {
            ItemType::Error => {
                return Err(self.err(it, format!("Parse error on line {}: '{}'", it.line, it.val)));
            }
            ItemType::Key => {
                self.keys.push(it.val.clone());
                self.ikeys.push((it.line, it.pos));
                return Ok(());
            }
            ItemType::MapStart | ItemType::ArrayStart => {
                if self.ctxs.len() > MAX_NESTING {
                    let msg = format!(
                        "Parse error on line {}: 'maps and arrays nested deeper than {}'",
                        it.line, MAX_NESTING
                    );
                    return Err(self.err(it, msg));
                }
                let ctx = if it.typ == ItemType::MapStart {
                    Ctx::Map(Map::new())
                } else {
                    Ctx::Array(Vec::new())
                };
                self.ctxs.push(ctx);
                return Ok(());
            }
            ItemType::MapEnd | ItemType::ArrayEnd => {
                if self.ctxs.len() < 2 {
                    return Err(self.bug(it, "context"));
                }
                match self.ctxs.pop() {
                    Some(Ctx::Map(m)) => Value::Map(Arc::new(m)),
                    Some(Ctx::Array(a)) => Value::Array(Arc::new(a)),
                    None => return Err(self.bug(it, "context")),
                }
            }
            ItemType::String => Value::String(it.val.clone()),
            ItemType::Integer => match parse_integer(&it.val) {
                Ok(Some(n)) => Value::Int(n),
                // An unknown suffix sets nothing, as in nats-server.
                Ok(None) => return Ok(()),
                Err(msg) => return Err(self.err(it, msg)),
            },
            ItemType::Float => match it.val.parse::<f64>() {
                Ok(f) if f.is_finite() => Value::Float(f),
                Ok(_) => {
                    return Err(self.err(it, format!("float '{}' is out of the range", it.val)));
                }
                Err(_) => {
                    return Err(self.err(it, format!("expected float, but got '{}'", it.val)));
                }
            },
            ItemType::Bool => match it.val.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Value::Bool(true),
                "false" | "no" | "off" => Value::Bool(false),
                _ => {
                    let msg = format!("expected boolean value, but got '{}'", it.val);
                    return Err(self.err(it, msg));
                }
            },
            ItemType::Datetime => {
                if !valid_zulu(&it.val) {
                    let msg = format!("expected Zulu formatted DateTime, but got '{}'", it.val);
                    return Err(self.err(it, msg));
                }
                Value::DateTime(it.val.clone())
            }
            ItemType::Variable => {
                // Where the value will be reported: its key's position inside a map.
                let at = match (self.ctxs.last(), self.ikeys.last()) {
                    (Some(Ctx::Map(_)), Some(&(line, col))) => Pos {
                        line,
                        col,
                        ..pos.clone()
                    },
                    _ => pos.clone(),
                };
                self.variable(it, &at)?
            }
            ItemType::Include => return self.include(it),
            ItemType::Text | ItemType::CommentStart | ItemType::Eof => return Ok(()),
        };
        self.set_value(it, Token::new(value, pos))
    }

    fn set_value(&mut self, it: &Item, mut tok: Token) -> Result<(), ParseError> {
        match self.ctxs.last_mut() {
            Some(Ctx::Array(a)) => {
                a.push(tok);
                Ok(())
            }
            Some(Ctx::Map(m)) => {
                let (Some(key), Some((line, col))) = (self.keys.pop(), self.ikeys.pop()) else {
                    return Err(self.bug(it, "keys"));
                };
                // Report a value where its key is, as nats-server's pedantic mode does.
                tok.pos.line = line;
                tok.pos.col = col;
                m.insert(key, tok);
                Ok(())
            }
            None => Err(self.bug(it, "context")),
        }
    }

    fn variable(&mut self, it: &Item, pos: &Pos) -> Result<Value, ParseError> {
        match self.lookup(&it.val, pos) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(self.err(
                it,
                format!(
                    "variable reference for '{}' on line {} can not be found",
                    it.val, it.line
                ),
            )),
            Err(e) => Err(self.err(
                it,
                format!(
                    "variable reference for '{}' on line {} could not be parsed: {}",
                    it.val, it.line, e
                ),
            )),
        }
    }

    /// Resolves `$name`: enclosing maps innermost first (marking the key as used), then the
    /// environment, whose value is parsed as a config value.
    fn lookup(&mut self, name: &str, pos: &Pos) -> Result<Option<Value>, String> {
        if name.starts_with(BCRYPT_PREFIX) {
            return Ok(Some(Value::String(format!("${name}"))));
        }
        for ctx in self.ctxs.iter_mut().rev() {
            if let Ctx::Map(m) = ctx
                && let Some(t) = m.get_mut(name)
            {
                t.used_variable = true;
                return Ok(Some(t.value.clone()));
            }
        }
        if self.env_refs.contains(name) {
            return Err(format!("variable reference cycle for '{name}'"));
        }
        let Some(raw) = (self.env)(name) else {
            return Ok(None);
        };
        if self.env_depth >= MAX_ENV_DEPTH {
            return Err(format!(
                "variables reference each other more than {MAX_ENV_DEPTH} deep"
            ));
        }
        self.env_refs.insert(name.to_string());
        let data = format!("{ENV_KEY}={raw}");
        let parsed = parse_bytes(
            data.as_bytes(),
            "",
            self.env,
            self.env_refs,
            self.include_depth,
            self.env_depth + 1,
        );
        self.env_refs.remove(name);
        let map = parsed.map_err(|e| e.message)?;
        Ok(map.get(ENV_KEY).map(|t| {
            let mut v = t.value.clone();
            relocate(&mut v, pos);
            v
        }))
    }

    fn include(&mut self, it: &Item) -> Result<(), ParseError> {
        let wrap = |e: ParseError| {
            ParseError::new(
                format!("error parsing include file '{}', {}", it.val, e.message),
                e.pos,
            )
        };
        if self.include_depth >= MAX_INCLUDE_DEPTH {
            let msg = format!("includes nested deeper than {MAX_INCLUDE_DEPTH} (include cycle?)");
            return Err(wrap(self.err(it, msg)));
        }
        let path = go_join(&self.dir, &it.val);
        let m = parse_file_at(&path, self.env, self.include_depth + 1).map_err(wrap)?;
        for (k, tok) in m.into_entries() {
            self.keys.push(k);
            self.ikeys.push((tok.pos.line, tok.pos.col));
            self.set_value(it, tok)?;
        }
        Ok(())
    }
}

/// Marks the tokens inside an environment-derived value as position-less (nats-server parses
/// them without tokens) and gives them the position the value is reported at.
fn relocate(v: &mut Value, pos: &Pos) {
    let mark = |t: &mut Token| {
        t.pos = pos.clone();
        t.raw = true;
        relocate(&mut t.value, pos);
    };
    match v {
        Value::Array(a) => Arc::make_mut(a).iter_mut().for_each(mark),
        Value::Map(m) => Arc::make_mut(m).iter_mut().for_each(mark),
        _ => {}
    }
}

/// An integer with nats-server's size suffixes: `k`/`m`/`g`/`t`/`p`/`e` are powers of 1000,
/// with `b`, `i` or `ib` powers of 1024 (`1MB` = `1Mi` = 1048576). `Ok(None)` for a suffix
/// nats-server silently ignores (such as `1kbb`).
pub(crate) fn parse_integer(val: &str) -> Result<Option<i64>, String> {
    let end = val
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(val.len());
    let (digits, suffix) = val.split_at(end);
    let num: i64 = digits.parse().map_err(|e: std::num::ParseIntError| {
        use std::num::IntErrorKind;
        match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                format!("integer '{val}' is out of the range")
            }
            _ => format!("expected integer, but got '{val}'"),
        }
    })?;
    let (base, power): (i64, u32) = match suffix.trim().to_ascii_lowercase().as_str() {
        "" => (1, 0),
        "k" => (1000, 1),
        "kb" | "ki" | "kib" => (1024, 1),
        "m" => (1000, 2),
        "mb" | "mi" | "mib" => (1024, 2),
        "g" => (1000, 3),
        "gb" | "gi" | "gib" => (1024, 3),
        "t" => (1000, 4),
        "tb" | "ti" | "tib" => (1024, 4),
        "p" => (1000, 5),
        "pb" | "pi" | "pib" => (1024, 5),
        "e" => (1000, 6),
        "eb" | "ei" | "eib" => (1024, 6),
        _ => return Ok(None),
    };
    // Go's int64 arithmetic wraps on overflow; so does this.
    Ok(Some((0..power).fold(num, |n, _| n.wrapping_mul(base))))
}

/// Whether `YYYY-MM-DDTHH:MM:SSZ` (digits already checked by the lexer) is a real instant.
fn valid_zulu(s: &str) -> bool {
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d) && h < 24 && mi < 60 && sec < 60
}
