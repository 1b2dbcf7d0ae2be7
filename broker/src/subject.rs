//! Subjects and queue names: validation and wildcard matching, with nats-server's rules.
//!
//! A subject is a byte string of tokens separated by `.`. Bytes are not checked for UTF-8:
//! nats-server accepts any byte except the separators of the wire protocol. Two tokens are
//! special when they stand alone: `*` matches exactly one token and `>` matches one or more
//! trailing tokens (it must be the last token). `foo*` or `>bar` are plain literal tokens.
//!
//! nats-server applies two levels of checking, and so do we:
//!
//! * [`is_well_formed_subject`]: no empty token, and `>` only as the last token. This is all
//!   that `Sublist.Insert` checks, so it is what a `SUB` subject gets on the client wire.
//! * [`is_valid_subject`]: well formed and no whitespace (space, `\t`, `\r`, `\n`, `\f`) in
//!   any token. This is `IsValidSubject`, used for configuration (permissions, imports).
//!
//! Publish subjects are not validated at all unless the client is pedantic, in which case
//! [`is_valid_literal_subject`] applies. When a publish subject contains `*` or `>` tokens,
//! matching treats them as literal tokens (see [`subject_matches`]).

/// Token separator.
///
/// NATS subjects form a hierarchy of `.`-separated tokens; wildcards apply per token.
pub const TSEP: u8 = b'.';

/// Partial wildcard: as a whole token, matches exactly one token.
///
/// Only meaningful in subscription subjects; in a publish subject it is a literal token.
pub const PWC: u8 = b'*';

/// Full wildcard: as the whole last token, matches one or more trailing tokens.
///
/// Only meaningful in subscription subjects; in a publish subject it is a literal token.
pub const FWC: u8 = b'>';

/// Whether `b` is one of the whitespace bytes nats-server's `IsValidSubject` rejects.
#[inline]
fn is_subject_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0c)
}

/// Whether `b` separates protocol arguments or ends a line, so can never be part of a queue
/// name that arrived on the wire (nats-server's `splitArg` and nats.go's `badQueue`).
#[inline]
fn is_arg_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Iterates over the `.`-separated tokens of `s`. An empty `s` yields one empty token.
#[inline]
pub fn tokens(s: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
    s.split(|&b| b == TSEP)
}

/// Number of tokens in `s` (0 for an empty subject).
pub fn num_tokens(s: &[u8]) -> usize {
    if s.is_empty() {
        0
    } else {
        s.iter().filter(|&&b| b == TSEP).count() + 1
    }
}

/// Whether `t` is the whole-token partial wildcard `*`.
#[inline]
pub fn is_pwc_token(t: &[u8]) -> bool {
    t == [PWC]
}

/// Whether `t` is the whole-token full wildcard `>`.
#[inline]
pub fn is_fwc_token(t: &[u8]) -> bool {
    t == [FWC]
}

/// Whether `s` is structurally a subject: at least one token, no empty token, and `>` only
/// as the last token. Whitespace is not checked.
///
/// This is exactly what nats-server's `Sublist.Insert` accepts, so it decides whether a
/// `SUB` is answered with `-ERR 'Invalid Subject'`.
pub fn is_well_formed_subject(s: &[u8]) -> bool {
    let mut after_fwc = false;
    for t in tokens(s) {
        if t.is_empty() || after_fwc {
            return false;
        }
        after_fwc = is_fwc_token(t);
    }
    true
}

/// Whether `s` is a valid subject (nats-server `IsValidSubject`): well formed (see
/// [`is_well_formed_subject`]) and no space, `\t`, `\r`, `\n` or `\f` in any token. Wildcards
/// are allowed; UTF-8 is allowed and not validated.
pub fn is_valid_subject(s: &[u8]) -> bool {
    let mut after_fwc = false;
    for t in tokens(s) {
        if t.is_empty() || after_fwc {
            return false;
        }
        if is_fwc_token(t) {
            after_fwc = true;
        } else if t.iter().any(|&b| is_subject_space(b)) {
            return false;
        }
    }
    true
}

/// Whether `s` is a valid subject without wildcard tokens: the check a pedantic client's
/// `PUB` subject gets (`-ERR 'Invalid Publish Subject'` otherwise).
pub fn is_valid_literal_subject(s: &[u8]) -> bool {
    is_valid_subject(s) && subject_is_literal(s)
}

/// Whether `q` is a valid queue group name.
///
/// nats-server does not check queue names beyond what its argument splitter produces: a
/// non-empty run of bytes without space, `\t`, `\r` or `\n` (the same rule as nats.go's
/// `badQueue`). Dots and wildcard characters are ordinary bytes in a queue name.
pub fn is_valid_queue_name(q: &[u8]) -> bool {
    !q.is_empty() && !q.iter().any(|&b| is_arg_separator(b))
}

/// Whether `s` has no whole-token wildcard (`*` or `>`). Does not check validity; an empty
/// subject is literal.
pub fn subject_is_literal(s: &[u8]) -> bool {
    !tokens(s).any(|t| is_pwc_token(t) || is_fwc_token(t))
}

/// Whether the subscription subject `pattern` matches the publish subject `literal`.
///
/// Wildcards count only in `pattern`: a `*` token there matches any one token, a last `>`
/// token matches one or more tokens. A `>` that is not last is compared literally, as
/// nats-server's `matchLiteral` does. In `literal`, `*` and `>` are ordinary tokens, so
/// `foo.*` matches the publish subject `foo.*` but `foo.bar` does not. Returns `false` when
/// either side has an empty token (including an empty subject).
pub fn subject_matches(pattern: &[u8], literal: &[u8]) -> bool {
    let mut pt = tokens(pattern).peekable();
    let mut lt = tokens(literal);
    loop {
        match (pt.next(), lt.next()) {
            (None, None) => return true,
            (Some(p), Some(l)) => {
                if p.is_empty() || l.is_empty() {
                    return false;
                }
                if is_fwc_token(p) && pt.peek().is_none() {
                    return lt.all(|t| !t.is_empty());
                }
                if !is_pwc_token(p) && p != l {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (subject, is_valid_subject, is_well_formed_subject, is_valid_literal_subject)
    const SUBJECTS: &[(&[u8], bool, bool, bool)] = &[
        (b"foo", true, true, true),
        (b"foo.bar", true, true, true),
        (b"foo.bar.baz", true, true, true),
        (b"*", true, true, false),
        (b">", true, true, false),
        (b"foo.*", true, true, false),
        (b"*.bar", true, true, false),
        (b"foo.*.bar", true, true, false),
        (b"foo.>", true, true, false),
        (b"*.>", true, true, false),
        (b"foo*", true, true, true),
        (b"foo.bar*", true, true, true),
        (b"*foo", true, true, true),
        (b">foo", true, true, true),
        (b"foo>", true, true, true),
        (b"foo.>bar", true, true, true),
        (b"**", true, true, true),
        (b">>", true, true, true),
        (b"$SYS.REQ.SERVER.PING", true, true, true),
        (b"_INBOX.abc123.*", true, true, false),
        ("f\u{f6}\u{f6}.b\u{e4}r".as_bytes(), true, true, true),
        ("\u{65e5}\u{672c}.*".as_bytes(), true, true, false),
        (b"\xff\xfe.bar", true, true, true),
        (b"foo-bar_baz:1", true, true, true),
        (b"", false, false, false),
        (b".", false, false, false),
        (b"..", false, false, false),
        (b"foo..bar", false, false, false),
        (b".foo", false, false, false),
        (b"foo.", false, false, false),
        (b"foo.>.bar", false, false, false),
        (b">.foo", false, false, false),
        (b">.>", false, false, false),
        (b"foo bar", false, true, false),
        (b"foo.bar baz", false, true, false),
        (b" ", false, true, false),
        (b"foo\tbar", false, true, false),
        (b"\t", false, true, false),
        (b"foo\rbar", false, true, false),
        (b"foo\nbar", false, true, false),
        (b"foo.\n", false, true, false),
        (b"foo\x0cbar", false, true, false),
        (b"foo. .bar", false, true, false),
        (b"foo.*.bar ", false, true, false),
    ];

    #[test]
    fn validation_table() {
        for &(s, valid, well_formed, literal) in SUBJECTS {
            let shown = String::from_utf8_lossy(s);
            assert_eq!(is_valid_subject(s), valid, "is_valid_subject({shown:?})");
            assert_eq!(
                is_well_formed_subject(s),
                well_formed,
                "is_well_formed({shown:?})"
            );
            assert_eq!(
                is_valid_literal_subject(s),
                literal,
                "is_valid_literal({shown:?})"
            );
        }
    }

    #[test]
    fn literal_detection() {
        for (s, lit) in [
            (&b"foo"[..], true),
            (b"foo.bar", true),
            (b"foo*", true),
            (b"foo.b>", true),
            (b"", true),
            (b"*", false),
            (b">", false),
            (b"foo.*", false),
            (b"foo.>", false),
            (b"*.foo", false),
            (b"foo.*.bar", false),
            (b"foo..*", false),
        ] {
            assert_eq!(
                subject_is_literal(s),
                lit,
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn queue_names() {
        for (q, ok) in [
            (&b"q"[..], true),
            (b"workers", true),
            (b"foo.bar", true),
            (b"foo..bar", true),
            (b"*", true),
            (b">", true),
            ("gr\u{fc}ppe".as_bytes(), true),
            (b"", false),
            (b"a b", false),
            (b"a\tb", false),
            (b"a\r", false),
            (b"\nb", false),
        ] {
            assert_eq!(
                is_valid_queue_name(q),
                ok,
                "{:?}",
                String::from_utf8_lossy(q)
            );
        }
    }

    #[test]
    fn token_counting() {
        assert_eq!(num_tokens(b""), 0);
        assert_eq!(num_tokens(b"foo"), 1);
        assert_eq!(num_tokens(b"foo.bar.>"), 3);
        assert_eq!(num_tokens(b"foo."), 2);
        assert_eq!(
            tokens(b"a.b.c").collect::<Vec<_>>(),
            vec![&b"a"[..], b"b", b"c"]
        );
    }

    #[test]
    fn matching_table() {
        for (pattern, literal, ok) in [
            (&b"foo"[..], &b"foo"[..], true),
            (b"foo", b"bar", false),
            (b"foo", b"foo.bar", false),
            (b"foo.bar", b"foo", false),
            (b"*", b"foo", true),
            (b"*", b"foo.bar", false),
            (b"foo.*", b"foo.bar", true),
            (b"foo.*", b"foo", false),
            (b"foo.*", b"foo.bar.baz", false),
            (b"*.bar", b"foo.bar", true),
            (b"*.*", b"foo.bar", true),
            (b"foo.*.baz", b"foo.bar.baz", true),
            (b"foo.*.baz", b"foo.bar.bax", false),
            (b">", b"foo", true),
            (b">", b"foo.bar.baz", true),
            (b"foo.>", b"foo", false),
            (b"foo.>", b"foo.bar", true),
            (b"foo.>", b"foo.bar.baz", true),
            (b"foo.>", b"bar.baz", false),
            (b"*.>", b"foo.bar", true),
            (b"*.>", b"foo", false),
            (b"foo.*.>", b"foo.bar.baz", true),
            (b"foo.*.>", b"foo.bar", false),
            // Wildcards in the publish subject are literal tokens.
            (b"foo.*", b"foo.*", true),
            (b"foo.>", b"foo.*", true),
            (b"foo.bar", b"foo.*", false),
            (b"foo.bar", b"foo.>", false),
            (b"foo.>", b"foo.>", true),
            (b"*", b">", true),
            // Non-wildcard tokens that contain wildcard characters are literal.
            (b"foo*", b"foo*", true),
            (b"foo*", b"foox", false),
            (b"foo.b*", b"foo.bar", false),
            (b"foo.>x", b"foo.bar", false),
            // `>` that is not last is literal (never inserted; matches matchLiteral).
            (b"foo.>.bar", b"foo.>.bar", true),
            (b"foo.>.bar", b"foo.x.bar", false),
            // Empty tokens never match.
            (b"", b"", false),
            (b"foo", b"", false),
            (b"", b"foo", false),
            (b"foo.>", b"foo.", false),
            (b"foo.>", b"foo.bar.", false),
            (b"*", b"", false),
            (b"foo..bar", b"foo..bar", false),
            (
                "f\u{f6}\u{f6}.*".as_bytes(),
                "f\u{f6}\u{f6}.b\u{e4}r".as_bytes(),
                true,
            ),
        ] {
            assert_eq!(
                subject_matches(pattern, literal),
                ok,
                "{:?} vs {:?}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(literal)
            );
        }
    }
}
