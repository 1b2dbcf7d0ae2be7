//! Argument helpers: splitting a control line into tokens and parsing sizes, as nats-server does.

/// Most digits a size may have (`parseSize`, `util.go`: "999M"). Longer numbers are refused
/// rather than risk overflow, which also caps any announced size at 999 999 999 bytes.
const MAX_SIZE_DIGITS: usize = 9;

/// Separators for PUB and HPUB arguments (`processPub`, `processHeaderPub`): only space and
/// tab, so a `\r` inside a PUB line ends up inside a token.
pub(super) fn is_pub_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Separators for SUB and UNSUB arguments (`splitArg`): space, tab, `\r` and `\n`.
pub(super) fn is_sub_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Token positions found by [`split`]: the first `N` tokens as `(start, end)` byte ranges and
/// the number of tokens seen, which stops counting at `N + 1` (enough to say "too many").
#[derive(Debug, Clone, Copy)]
pub(super) struct Tokens<const N: usize> {
    pub(super) ranges: [(usize, usize); N],
    pub(super) count: usize,
}

/// Splits `arg` on runs of bytes for which `is_sep` holds, without allocating.
pub(super) fn split<const N: usize>(arg: &[u8], is_sep: fn(u8) -> bool) -> Tokens<N> {
    let mut tokens = Tokens {
        ranges: [(0, 0); N],
        count: 0,
    };
    let mut start: Option<usize> = None;
    for (i, &b) in arg.iter().enumerate() {
        if is_sep(b) {
            if let Some(s) = start.take()
                && !push(&mut tokens, s, i)
            {
                return tokens;
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        push(&mut tokens, s, arg.len());
    }
    tokens
}

/// Records one token; returns false once more than `N` tokens were seen.
fn push<const N: usize>(tokens: &mut Tokens<N>, start: usize, end: usize) -> bool {
    if let Some(slot) = tokens.ranges.get_mut(tokens.count) {
        *slot = (start, end);
    }
    tokens.count += 1;
    tokens.count <= N
}

/// Parses a size as nats-server's `parseSize`: 1 to 9 ASCII digits (leading zeros allowed),
/// nothing else (no sign, no spaces).
pub(super) fn parse_size(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > MAX_SIZE_DIGITS {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks<const N: usize>(arg: &[u8], sep: fn(u8) -> bool) -> Vec<&[u8]> {
        let t = split::<N>(arg, sep);
        t.ranges
            .iter()
            .take(t.count)
            .filter_map(|&(s, e)| arg.get(s..e))
            .collect()
    }

    #[test]
    fn split_runs_of_separators() {
        assert_eq!(toks::<3>(b"  a \t b\t", is_pub_sep), vec![&b"a"[..], b"b"]);
        assert_eq!(toks::<3>(b"a\rb c", is_pub_sep), vec![&b"a\rb"[..], b"c"]);
        assert_eq!(
            toks::<3>(b"a\rb\nc", is_sub_sep),
            vec![&b"a"[..], b"b", b"c"]
        );
        assert!(toks::<3>(b" \t ", is_pub_sep).is_empty());
    }

    #[test]
    fn split_counts_one_past_capacity() {
        let t = split::<2>(b"a b c d e", is_pub_sep);
        assert_eq!(t.count, 3);
        assert_eq!(t.ranges, [(0, 1), (2, 3)]);
        assert_eq!(split::<2>(b"a b", is_pub_sep).count, 2);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"0"), Some(0));
        assert_eq!(parse_size(b"05"), Some(5));
        assert_eq!(parse_size(b"999999999"), Some(999_999_999));
        assert_eq!(parse_size(b"000000005"), Some(5));
        assert_eq!(parse_size(b"0000000005"), None);
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"-1"), None);
        assert_eq!(parse_size(b"+1"), None);
        assert_eq!(parse_size(b"1x"), None);
    }
}
