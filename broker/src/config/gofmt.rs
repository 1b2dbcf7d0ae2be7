//! Go formatting that nats-server's messages embed: `%q` (strconv.Quote), `%v` of a float64,
//! and the `time` package's own quoting.

/// True for the runes Go's `strconv.Quote` prints as they are (an approximation of
/// `unicode.IsPrint`: controls, non-ASCII spaces and invisible format characters are escaped).
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xad | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0xfeff)
}

/// Go's `strconv.Quote` (`%q` of a string).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    quote_into(&mut out, s);
    out.push('"');
    out
}

/// Go's `%q` of a `[]byte`: as [`quote`], with each byte of an invalid UTF-8 sequence as
/// `\xNN`.
pub(crate) fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        quote_into(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

fn quote_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            _ if is_print(c) => out.push(c),
            _ if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            _ if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            _ => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
}

/// The `time` package's private `quote` used in ParseDuration errors: non-ASCII and control
/// bytes become `\xNN`, `"` and `\` are backslashed.
pub(crate) fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if !c.is_ascii() || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`, exponent form from 1e+06).
pub(crate) fn float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    format!("{f}")
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        assert_eq!(
            quote("a\"b\x01\u{e9}\u{200b}"),
            "\"a\\\"b\\x01\u{e9}\\u200b\""
        );
        assert_eq!(quote("x\ty"), "\"x\\ty\"");
    }

    #[test]
    fn float_v_matches_go() {
        let cases = [
            (120.0, "120"),
            (120.5, "120.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-07"),
            (65.25, "65.25"),
        ];
        for (f, want) in cases {
            assert_eq!(float_v(f), want, "{f}");
        }
    }

    #[test]
    fn time_quote_matches_go() {
        assert_eq!(time_quote("1x"), "\"1x\"");
        assert_eq!(time_quote("\u{e9}\""), "\"\\xc3\\xa9\\\"\"");
    }
}
