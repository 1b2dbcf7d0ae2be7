//! Subject transforms (nats-server's `subject_transform.go`): a source pattern and a
//! destination that may place the source's wildcard tokens (`$1`, `{{wildcard(1)}}`) or apply
//! mapping functions (`partition`, `splitFromLeft`, `sliceFromRight`, `split`, `left`,
//! `random`, ...), with nats-server's validation and error texts. Used by subject mappings.

use std::fmt;

/// What a destination token does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    /// The token as written.
    Literal,
    Partition,
    Wildcard,
    SplitFromLeft,
    SplitFromRight,
    SliceFromLeft,
    SliceFromRight,
    Split,
    Left,
    Right,
    Random,
}

/// nats-server's mapping destination errors (`ErrMappingDestination*`, `ErrBadSubject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformErrorKind {
    BadSubject,
    InvalidTransform,
    NotUsingAllWildcards,
    UnknownFunction,
    IndexOutOfRange,
    NotEnoughArgs,
    InvalidArg,
    TooManyArgs,
    NotSupportedForImport,
}

/// A transform that cannot be made, worded as nats-server words it (`<reason> in <token>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError {
    pub kind: TransformErrorKind,
    /// The destination token at fault, when there is one.
    pub token: String,
}

impl TransformError {
    fn new(kind: TransformErrorKind, token: &str) -> TransformError {
        TransformError {
            kind,
            token: token.to_string(),
        }
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TransformErrorKind::*;
        let base = "invalid mapping destination";
        let reason = match self.kind {
            BadSubject => return f.write_str("invalid subject"),
            InvalidTransform => "invalid transform",
            NotUsingAllWildcards => "not using all of the token wildcard(s)",
            UnknownFunction => "unknown function",
            IndexOutOfRange => "wildcard index out of range",
            NotEnoughArgs => "not enough arguments passed to the function",
            InvalidArg => "function argument is invalid or in the wrong format",
            TooManyArgs => "too many arguments passed to the function",
            NotSupportedForImport => {
                "the only mapping function allowed for import transforms is {{Wildcard()}}"
            }
        };
        if self.token.is_empty() {
            write!(f, "{base}: {reason}")
        } else {
            write!(f, "{base}: {reason} in {}", self.token)
        }
    }
}

impl std::error::Error for TransformError {}

/// One destination token, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DestToken {
    func: Func,
    /// Source token positions the function reads.
    sources: Vec<usize>,
    int_arg: i32,
    str_arg: String,
}

/// A compiled transform from `src` to `dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTransform {
    src: String,
    dest: String,
    dtoks: Vec<String>,
    stoks: Vec<String>,
    /// One per destination token.
    parts: Vec<DestToken>,
}

/// The function names nats-server's regular expressions accept: each word's first letter in
/// either case, the rest lower case (`[sS]plit[fF]rom[lL]eft`).
const PARTITION: &[&str] = &["partition"];
const WILDCARD: &[&str] = &["wildcard"];
const SPLIT_FROM_LEFT: &[&str] = &["split", "from", "left"];
const SPLIT_FROM_RIGHT: &[&str] = &["split", "from", "right"];
const SLICE_FROM_LEFT: &[&str] = &["slice", "from", "left"];
const SLICE_FROM_RIGHT: &[&str] = &["slice", "from", "right"];
const SPLIT: &[&str] = &["split"];
const LEFT: &[&str] = &["left"];
const RIGHT: &[&str] = &["right"];
const RANDOM: &[&str] = &["random"];

/// `{{ name ( args ) }}` as nats-server's `{{\s*name\s*\((.*)\)\s*}}` finds it: the text
/// between the first `(` after the name and the last `)` followed by `}}`, split at commas
/// (and the blanks after them). `None` when the token is not a call of `name`.
fn function_args(token: &str, name: &[&str]) -> Option<Vec<String>> {
    let rest = token.strip_prefix("{{")?;
    let mut rest = rest.trim_start_matches(is_go_space);
    for word in name {
        let (first, tail) = word.split_at(1);
        let c = rest.chars().next()?;
        if !c.to_string().eq_ignore_ascii_case(first) {
            return None;
        }
        rest = rest[c.len_utf8()..].strip_prefix(tail)?;
    }
    let rest = rest.trim_start_matches(is_go_space).strip_prefix('(')?;
    // The greedy `(.*)\)\s*}}`: the last `)` with only blanks and `}}` after it.
    let close = (0..rest.len()).rev().find(|&i| {
        rest.as_bytes()[i] == b')' && {
            let after = rest[i + 1..].trim_start_matches(is_go_space);
            after.starts_with("}}")
        }
    })?;
    Some(split_args(&rest[..close]))
}

/// Go's `\s`: space, tab, newline, form feed, carriage return, vertical tab is not included.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

/// nats-server's `commaSeparatorRegEx.Split(args, -1)` (`,\s*`).
fn split_args(s: &str) -> Vec<String> {
    s.split(',')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                part.trim_start_matches(is_go_space).to_string()
            }
        })
        .collect()
}

/// Go's `strconv.Atoi` after `strings.Trim(s, " ")`.
fn atoi(s: &str) -> Option<i64> {
    let s = s.trim_matches(' ');
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A parsed placeholder: function, 1-based wildcard indexes, integer and string arguments.
type Placeholder = (Func, Vec<i64>, i32, String);

fn literal() -> Placeholder {
    (Func::Literal, vec![-1], -1, String::new())
}

/// nats-server's `transformIndexIntArgsHelper`: `(wildcard index, integer)`.
fn index_int_args(token: &str, args: &[String], func: Func) -> Result<Placeholder, TransformError> {
    use TransformErrorKind::*;
    if args.len() < 2 {
        return Err(TransformError::new(NotEnoughArgs, token));
    }
    if args.len() > 2 {
        return Err(TransformError::new(TooManyArgs, token));
    }
    let i = atoi(&args[0]).ok_or_else(|| TransformError::new(InvalidArg, token))?;
    let n = atoi(&args[1])
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| TransformError::new(InvalidArg, token))?;
    Ok((func, vec![i], n, String::new()))
}

/// nats-server's `indexPlaceHolders`: what a destination token asks for.
fn placeholder(token: &str) -> Result<Placeholder, TransformError> {
    use TransformErrorKind::*;
    let b = token.as_bytes();
    let len = b.len();
    if len <= 1 {
        return Ok(literal());
    }
    if b[0] == b'$' {
        // `$1`; a `$` token that is not a number is left as it is.
        return Ok(match atoi_strict(&token[1..]) {
            Some(n) => (Func::Wildcard, vec![n], -1, String::new()),
            None => literal(),
        });
    }
    if !(len > 4 && token.starts_with("{{") && token.ends_with("}}")) {
        return Ok(literal());
    }
    let bad = |kind| Err(TransformError::new(kind, token));
    if let Some(args) = function_args(token, WILDCARD) {
        if args.len() == 1 && args[0].is_empty() {
            return bad(NotEnoughArgs);
        }
        if args.len() != 1 {
            return bad(TooManyArgs);
        }
        let Some(i) = atoi(&args[0]) else {
            return bad(InvalidArg);
        };
        return Ok((Func::Wildcard, vec![i], -1, String::new()));
    }
    if let Some(args) = function_args(token, PARTITION) {
        let Some(n) = atoi(&args[0]).and_then(|n| i32::try_from(n).ok()) else {
            return bad(InvalidArg);
        };
        let mut indexes = Vec::new();
        for a in &args[1..] {
            let Some(i) = atoi(a) else {
                return bad(InvalidArg);
            };
            indexes.push(i);
        }
        return Ok((Func::Partition, indexes, n, String::new()));
    }
    let index_int = [
        (SPLIT_FROM_LEFT, Func::SplitFromLeft),
        (SPLIT_FROM_RIGHT, Func::SplitFromRight),
        (SLICE_FROM_LEFT, Func::SliceFromLeft),
        (SLICE_FROM_RIGHT, Func::SliceFromRight),
        (RIGHT, Func::Right),
        (LEFT, Func::Left),
    ];
    for (name, func) in index_int {
        if let Some(args) = function_args(token, name) {
            return index_int_args(token, &args, func);
        }
    }
    if let Some(args) = function_args(token, SPLIT) {
        if args.len() < 2 {
            return bad(NotEnoughArgs);
        }
        if args.len() > 2 {
            return bad(TooManyArgs);
        }
        let Some(i) = atoi(&args[0]) else {
            return bad(InvalidArg);
        };
        if args[1].contains(' ') || args[1].contains('.') {
            return bad(InvalidArg);
        }
        return Ok((Func::Split, vec![i], -1, args[1].clone()));
    }
    if let Some(args) = function_args(token, RANDOM) {
        if args.len() != 1 {
            return bad(NotEnoughArgs);
        }
        let Some(n) = atoi(&args[0]).and_then(|n| i32::try_from(n).ok()) else {
            return bad(InvalidArg);
        };
        return Ok((Func::Random, Vec::new(), n, String::new()));
    }
    bad(UnknownFunction)
}

/// Go's `strconv.Atoi` without trimming (the `$N` form).
fn atoi_strict(s: &str) -> Option<i64> {
    if s.trim_matches(' ') != s {
        return None;
    }
    atoi(s)
}

/// nats-server's `subjectInfo`: valid, tokens, number of `*`, ends in `>`.
fn subject_info(subject: &str) -> Option<(Vec<String>, usize, bool)> {
    if subject.is_empty() {
        return None;
    }
    let (mut pwcs, mut fwc) = (0, false);
    let tokens: Vec<String> = subject.split('.').map(str::to_string).collect();
    for t in &tokens {
        if t.is_empty() || fwc {
            return None;
        }
        match t.as_str() {
            ">" => fwc = true,
            "*" => pwcs += 1,
            _ => {}
        }
    }
    Some((tokens, pwcs, fwc))
}

impl SubjectTransform {
    /// nats-server's `NewSubjectTransform`.
    pub fn new(src: &str, dest: &str) -> Result<SubjectTransform, TransformError> {
        Self::with_strict(src, dest, false)
    }

    /// nats-server's `NewSubjectTransformWithStrict`: `strict` (imports, which must be
    /// reversible) allows only wildcard placement and needs every source wildcard placed.
    pub fn with_strict(
        src: &str,
        dest: &str,
        strict: bool,
    ) -> Result<SubjectTransform, TransformError> {
        use TransformErrorKind::*;
        let src = if src.is_empty() { ">" } else { src };
        let (Some((stoks, npwcs, sfwc)), Some((dtoks, dnpwcs, dfwc))) =
            (subject_info(src), subject_info(dest))
        else {
            return Err(TransformError::new(BadSubject, ""));
        };
        if dnpwcs > 0 || sfwc != dfwc {
            return Err(TransformError::new(BadSubject, ""));
        }
        let mut parts = Vec::with_capacity(dtoks.len());
        if npwcs > 0 || sfwc {
            // Wildcard number (1-based) → source token position.
            let positions: Vec<usize> = stoks
                .iter()
                .enumerate()
                .filter(|(_, t)| *t == "*")
                .map(|(i, _)| i)
                .collect();
            let mut placed = 0;
            for token in &dtoks {
                let (func, indexes, int_arg, str_arg) = placeholder(token)?;
                if strict && !matches!(func, Func::Literal | Func::Wildcard) {
                    return Err(TransformError::new(NotSupportedForImport, token));
                }
                let sources = match func {
                    Func::Literal | Func::Random => Vec::new(),
                    _ => {
                        placed += indexes.len();
                        let mut sources = Vec::with_capacity(indexes.len());
                        for i in indexes {
                            if i > npwcs as i64 {
                                let at = format!("{token}: [{i}]");
                                return Err(TransformError::new(IndexOutOfRange, &at));
                            }
                            // Index 0 or below reads the first token, as Go's map default does.
                            let pos = usize::try_from(i - 1)
                                .ok()
                                .and_then(|k| positions.get(k).copied())
                                .unwrap_or(0);
                            sources.push(pos);
                        }
                        sources
                    }
                };
                parts.push(DestToken {
                    func,
                    sources,
                    int_arg,
                    str_arg,
                });
            }
            if strict && placed < npwcs {
                return Err(TransformError::new(NotUsingAllWildcards, dest));
            }
        } else {
            // No wildcards in the source: only partition and random may be used.
            for token in &dtoks {
                let (func, _, int_arg, _) = placeholder(token)?;
                match func {
                    Func::Literal | Func::Random | Func::Partition => parts.push(DestToken {
                        func,
                        sources: Vec::new(),
                        int_arg,
                        str_arg: String::new(),
                    }),
                    _ => return Err(TransformError::new(IndexOutOfRange, token)),
                }
            }
        }
        Ok(SubjectTransform {
            src: src.to_string(),
            dest: dest.to_string(),
            dtoks,
            stoks,
            parts,
        })
    }

    /// The destination as configured.
    pub fn dest(&self) -> &str {
        &self.dest
    }

    /// The subject `tokens` (of a subject the source matches) become.
    pub fn transform_tokens(&self, tokens: &[&[u8]]) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::with_capacity(self.dest.len() + 16);
        let token = |i: usize| tokens.get(i).copied().unwrap_or(b"");
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            match part.func {
                Func::Literal => {
                    if self.dtoks[i] == ">" {
                        break;
                    }
                    out.extend_from_slice(self.dtoks[i].as_bytes());
                }
                Func::Partition => {
                    let key: Vec<u8> = if part.sources.is_empty() {
                        tokens.join(&b'.')
                    } else {
                        part.sources
                            .iter()
                            .flat_map(|&s| token(s).to_vec())
                            .collect()
                    };
                    let n = part.int_arg as u32;
                    let p = if n == 0 { 0 } else { fnv1a32(&key) % n };
                    out.extend_from_slice(p.to_string().as_bytes());
                }
                Func::Wildcard => {
                    if let Some(&s) = part.sources.first()
                        && s < tokens.len()
                    {
                        out.extend_from_slice(tokens[s]);
                    }
                }
                Func::SplitFromLeft | Func::SplitFromRight => {
                    let t = token(part.sources.first().copied().unwrap_or(0));
                    let pos = part.int_arg;
                    if pos > 0 && (pos as usize) < t.len() {
                        let at = if part.func == Func::SplitFromLeft {
                            pos as usize
                        } else {
                            t.len() - pos as usize
                        };
                        out.extend_from_slice(&t[..at]);
                        out.push(b'.');
                        out.extend_from_slice(&t[at..]);
                    } else {
                        out.extend_from_slice(t);
                    }
                }
                Func::SliceFromLeft => {
                    let t = token(part.sources.first().copied().unwrap_or(0));
                    slice_from_left(&mut out, t, part.int_arg);
                }
                Func::SliceFromRight => {
                    let t = token(part.sources.first().copied().unwrap_or(0));
                    slice_from_right(&mut out, t, part.int_arg);
                }
                Func::Split => {
                    let t = token(part.sources.first().copied().unwrap_or(0));
                    split(&mut out, t, part.str_arg.as_bytes());
                }
                Func::Left | Func::Right => {
                    let t = token(part.sources.first().copied().unwrap_or(0));
                    let n = part.int_arg;
                    if n > 0 && (n as usize) < t.len() {
                        let n = n as usize;
                        out.extend_from_slice(if part.func == Func::Left {
                            &t[..n]
                        } else {
                            &t[t.len() - n..]
                        });
                    } else {
                        out.extend_from_slice(t);
                    }
                }
                Func::Random => {
                    let n = part.int_arg.unsigned_abs();
                    let r = if n == 0 {
                        0
                    } else {
                        fastrand::u32(..i32::MAX as u32) % n
                    };
                    out.extend_from_slice(r.to_string().as_bytes());
                }
            }
            if i < last {
                out.push(b'.');
            }
        }
        // A trailing `>` takes the rest of the source's tokens.
        if self.dtoks.last().is_some_and(|t| t == ">") {
            let from = self.stoks.len().saturating_sub(1);
            for (k, t) in tokens.iter().enumerate().skip(from) {
                out.extend_from_slice(t);
                if k + 1 < tokens.len() {
                    out.push(b'.');
                }
            }
        }
        out
    }

    /// Transforms a subject the source matches.
    pub fn transform(&self, subject: &[u8]) -> Vec<u8> {
        let tokens: Vec<&[u8]> = subject.split(|b| *b == b'.').collect();
        self.transform_tokens(&tokens)
    }

    /// Whether the destination is used as written (no token placement or function).
    pub fn is_plain(&self) -> bool {
        self.parts.iter().all(|p| p.func == Func::Literal)
            && self.dtoks.last().is_none_or(|t| t != ">")
    }
}

/// `sliceFromLeft`: chunks of `size` from the left, the remainder last.
fn slice_from_left(out: &mut Vec<u8>, t: &[u8], size: i32) {
    if !(size > 0 && (size as usize) < t.len()) {
        out.extend_from_slice(t);
        return;
    }
    let size = size as usize;
    let mut i = 0;
    while i + size <= t.len() {
        if i != 0 {
            out.push(b'.');
        }
        out.extend_from_slice(&t[i..i + size]);
        if i + size != t.len() && i + 2 * size > t.len() {
            out.push(b'.');
            out.extend_from_slice(&t[i + size..]);
            break;
        }
        i += size;
    }
}

/// `sliceFromRight`: the remainder first, then chunks of `size`.
fn slice_from_right(out: &mut Vec<u8>, t: &[u8], size: i32) {
    if !(size > 0 && (size as usize) < t.len()) {
        out.extend_from_slice(t);
        return;
    }
    let size = size as usize;
    let rem = t.len() % size;
    if rem > 0 {
        out.extend_from_slice(&t[..rem]);
        out.push(b'.');
    }
    let mut i = rem;
    while i + size <= t.len() {
        out.extend_from_slice(&t[i..i + size]);
        if i + size < t.len() {
            out.push(b'.');
        }
        i += size;
    }
}

/// `split(token, delimiter)`: the pieces as tokens, empty pieces dropped.
fn split(out: &mut Vec<u8>, t: &[u8], delim: &[u8]) {
    let pieces: Vec<&[u8]> = if delim.is_empty() {
        // Go's strings.Split with "" splits after each UTF-8 sequence.
        String::from_utf8_lossy(t)
            .char_indices()
            .map(|(i, c)| &t[i..(i + c.len_utf8()).min(t.len())])
            .collect()
    } else {
        split_bytes(t, delim)
    };
    for (j, piece) in pieces.iter().enumerate() {
        out.extend_from_slice(piece);
        let next_nonempty = pieces.get(j + 1).is_some_and(|n| !n.is_empty());
        if j + 1 < pieces.len() && next_nonempty && !(j == 0 && piece.is_empty()) {
            out.push(b'.');
        }
    }
}

fn split_bytes<'a>(t: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= t.len() {
        if &t[i..i + delim.len()] == delim {
            out.push(&t[start..i]);
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&t[start..]);
    out
}

/// 32-bit FNV-1a (Go's `hash/fnv.New32a`).
fn fnv1a32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// nats-server's `transformTokenize`: `foo.*.*` → `foo.$1.$2`.
pub fn transform_tokenize(subject: &str) -> String {
    let mut n = 0;
    subject
        .split('.')
        .map(|t| {
            if t == "*" {
                n += 1;
                format!("${n}")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// nats-server's `ValidateMapping`: whether `dest` is a usable destination for `src`.
pub fn validate_mapping(src: &str, dest: &str) -> Result<(), TransformError> {
    use TransformErrorKind::*;
    if dest.is_empty() {
        return Ok(());
    }
    let mut fwc = false;
    for t in dest.split('.') {
        if t.is_empty() || fwc {
            return Err(TransformError::new(InvalidTransform, t));
        }
        if t.len() > 4 && t.starts_with("{{") && t.ends_with("}}") {
            let known = [
                PARTITION,
                WILDCARD,
                SPLIT_FROM_LEFT,
                SPLIT_FROM_RIGHT,
                SLICE_FROM_LEFT,
                SLICE_FROM_RIGHT,
                SPLIT,
                LEFT,
                RIGHT,
                RANDOM,
            ];
            if !known.iter().any(|name| function_args(t, name).is_some()) {
                return Err(TransformError::new(UnknownFunction, t));
            }
            continue;
        }
        if t == ">" {
            fwc = true;
        } else if t.contains(['\t', '\n', '\x0c', '\r', ' ']) {
            return Err(TransformError::new(InvalidTransform, ""));
        }
    }
    SubjectTransform::new(src, dest).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(src: &str, dest: &str, subject: &str) -> String {
        let tr = SubjectTransform::new(src, dest).expect("valid transform");
        String::from_utf8(tr.transform(subject.as_bytes())).expect("utf8")
    }

    fn err(src: &str, dest: &str) -> String {
        SubjectTransform::new(src, dest)
            .expect_err("invalid transform")
            .to_string()
    }

    // Cases from nats-server's subject_transform_test.go (TestSubjectTransforms).
    #[test]
    fn transforms_as_nats_server() {
        assert_eq!(map("foo", "bar", "foo"), "bar");
        assert_eq!(map("foo.*", "bar.$1", "foo.baz"), "bar.baz");
        assert_eq!(map("foo.*.*", "bar.$2.$1", "foo.A.B"), "bar.B.A");
        assert_eq!(
            map("foo.*.*", "bar.{{wildcard(2)}}.{{Wildcard(1)}}", "foo.A.B"),
            "bar.B.A"
        );
        assert_eq!(map("foo.>", "bar.>", "foo.a.b.c"), "bar.a.b.c");
        assert_eq!(map("foo.*.>", "bar.$1.>", "foo.a.b.c"), "bar.a.b.c");
        assert_eq!(map("*", "{{splitfromleft(1,1)}}", "1234"), "1.234");
        assert_eq!(map("*", "{{SplitFromRight(1,1)}}", "1234"), "123.4");
        assert_eq!(map("*", "{{SliceFromLeft(1,2)}}", "1234567"), "12.34.56.7");
        assert_eq!(map("*", "{{SliceFromRight(1,2)}}", "1234567"), "1.23.45.67");
        assert_eq!(map("*", "{{split(1,-)}}", "-abc-def--ghi-"), "abc.def.ghi");
        assert_eq!(map("*", "{{split(1,-)}}", "abc-def--ghi"), "abc.def.ghi");
        assert_eq!(map("*", "{{left(1,2)}}", "1234"), "12");
        assert_eq!(map("*", "{{right(1,2)}}", "1234"), "34");
        assert_eq!(map("*", "{{left(1,5)}}", "1234"), "1234");
        assert_eq!(map("*.*", "{{partition(10,1,2)}}", "foo.bar"), "0");
        assert_eq!(
            map(
                "foo.*.*",
                "foo.{{partition(10,1,2)}}.{{wildcard(1)}}",
                "foo.a.b"
            ),
            "foo.6.a"
        );
        assert_eq!(map("foo.*", "foo.{{partition(3)}}", "foo.bar"), "foo.2");
        assert_eq!(map("$foo", "bar.$foo", "$foo"), "bar.$foo");
    }

    #[test]
    fn errors_as_nats_server() {
        assert_eq!(
            err("foo.*", "bar.$2"),
            "invalid mapping destination: wildcard index out of range in $2: [2]"
        );
        assert_eq!(
            err("foo", "bar.$1"),
            "invalid mapping destination: wildcard index out of range in $1"
        );
        assert_eq!(err("foo.*", "bar.*"), "invalid subject");
        assert_eq!(err("foo.>", "bar"), "invalid subject");
        assert_eq!(
            err("foo.*", "{{wildcard()}}"),
            "invalid mapping destination: not enough arguments passed to the function in {{wildcard()}}"
        );
        assert_eq!(
            err("foo.*", "{{wildcard(1,2)}}"),
            "invalid mapping destination: too many arguments passed to the function in {{wildcard(1,2)}}"
        );
        assert_eq!(
            err("foo.*", "{{wildcard(x)}}"),
            "invalid mapping destination: function argument is invalid or in the wrong format in {{wildcard(x)}}"
        );
        assert_eq!(
            err("foo.*", "{{nope(1)}}"),
            "invalid mapping destination: unknown function in {{nope(1)}}"
        );
        assert_eq!(
            err("foo.*", "{{split(1,a b)}}"),
            "invalid mapping destination: function argument is invalid or in the wrong format in {{split(1,a b)}}"
        );
        let strict = SubjectTransform::with_strict("foo.*", "bar.{{partition(2,1)}}", true);
        assert_eq!(
            strict.expect_err("strict").to_string(),
            "invalid mapping destination: the only mapping function allowed for import transforms is {{Wildcard()}} in {{partition(2,1)}}"
        );
        let unused = SubjectTransform::with_strict("foo.*.*", "bar.$1", true);
        assert_eq!(
            unused.expect_err("strict").to_string(),
            "invalid mapping destination: not using all of the token wildcard(s) in bar.$1"
        );
    }

    #[test]
    fn validation_and_tokenize() {
        assert_eq!(transform_tokenize("foo.*.bar.*.>"), "foo.$1.bar.$2.>");
        assert!(validate_mapping("foo.*", "bar.{{wildcard(1)}}").is_ok());
        assert!(validate_mapping("foo.*", "bar.{{left(1,1)}}").is_ok());
        assert_eq!(
            validate_mapping("foo.*", "bar.{{lefty(1,1)}}")
                .expect_err("lefty")
                .to_string(),
            "invalid mapping destination: unknown function in {{lefty(1,1)}}"
        );
        assert_eq!(
            validate_mapping("foo", "bar..baz")
                .expect_err("empty")
                .to_string(),
            "invalid mapping destination: invalid transform"
        );
    }

    #[test]
    fn never_panics_on_short_subjects() {
        let tr = SubjectTransform::new("*.*", "{{splitfromleft(2,1)}}.{{partition(3,1,2)}}")
            .expect("valid");
        let _ = tr.transform_tokens(&[]);
        let _ = tr.transform(b"");
        let lit = SubjectTransform::new("foo", "bar.{{partition(3)}}").expect("valid");
        assert_eq!(lit.transform_tokens(&[]), b"bar.1".to_vec());
    }
}
