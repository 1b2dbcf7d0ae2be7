//! Values formatted as nats-server's Go code prints them in monitoring JSON: RFC3339Nano
//! times, `myUptime` and `time.Duration` strings, floats without a trailing `.0`, and
//! `encoding/json`'s HTML escaping.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use serde::Serializer;

/// A time as Go's `time.RFC3339Nano` layout prints it: fractional seconds without trailing
/// zeros, and no fraction at all when it is zero (`2024-01-02T03:04:05.1Z`).
pub fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    // Leap-second representation keeps nanos below 1e9 for formatting.
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Serializes a time with [`rfc3339_nano`].
pub fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_nano(*t))
}

/// Serializes an optional time with [`rfc3339_nano`] (use with `skip_serializing_if`).
pub fn ser_opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339_nano(*t)),
        None => s.serialize_none(),
    }
}

/// Uptime as nats-server's `myUptime` prints it: `1y2d3h4m5s`, leading zero units omitted.
pub fn uptime(d: chrono::TimeDelta) -> String {
    let tsecs = d.num_seconds().max(0);
    let tmins = tsecs / 60;
    let thrs = tmins / 60;
    let tdays = thrs / 24;
    let tyrs = tdays / 365;
    if tyrs > 0 {
        format!(
            "{tyrs}y{}d{}h{}m{}s",
            tdays % 365,
            thrs % 24,
            tmins % 60,
            tsecs % 60
        )
    } else if tdays > 0 {
        format!("{tdays}d{}h{}m{}s", thrs % 24, tmins % 60, tsecs % 60)
    } else if thrs > 0 {
        format!("{thrs}h{}m{}s", tmins % 60, tsecs % 60)
    } else if tmins > 0 {
        format!("{tmins}m{}s", tsecs % 60)
    } else {
        format!("{tsecs}s")
    }
}

/// A duration as Go's `time.Duration.String` prints it: `0s`, `850ns`, `721µs`, `1.5ms`,
/// `2.000123s`, `1m2.5s`, `1h0m0s`.
pub fn duration(d: Duration) -> String {
    let u = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    if u == 0 {
        return "0s".to_string();
    }
    if u < 1_000_000_000 {
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (int, frac) = split_frac(u, prec);
        return format!("{int}{frac}{unit}");
    }
    let (secs, frac) = split_frac(u, 9);
    let mut out = String::new();
    let mins = secs / 60;
    if mins > 0 {
        let hours = mins / 60;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        out.push_str(&format!("{}m", mins % 60));
    }
    out.push_str(&format!("{}{frac}s", secs % 60));
    out
}

/// Splits `v` into `v / 10^prec` and the fraction `.ddd` without trailing zeros (empty
/// when zero), as Go's `fmtFrac`.
fn split_frac(v: u64, prec: u32) -> (u64, String) {
    if prec == 0 {
        return (v, String::new());
    }
    let div = 10u64.pow(prec);
    let frac = v % div;
    if frac == 0 {
        return (v / div, String::new());
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (v / div, format!(".{}", digits.trim_end_matches('0')))
}

/// Serializes an `f64` as Go's `encoding/json` does: integral values without a fraction
/// (`2`, not `2.0`), others in the shortest form that round-trips.
pub fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e18 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Go's `strconv.Quote` for the strings nats-server puts in its error messages.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Applies `encoding/json`'s HTML-safe escaping to serialized JSON: `<`, `>`, `&`, U+2028
/// and U+2029 become `\u` escapes. They can only occur inside strings, so this is exact.
pub fn escape_html(json: Vec<u8>) -> Vec<u8> {
    let needs = json.iter().any(|&b| matches!(b, b'<' | b'>' | b'&'))
        || json.windows(3).any(|w| w[0] == 0xE2 && w[1] == 0x80);
    if !needs {
        return json;
    }
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if json.get(i + 1) == Some(&0x80) && matches!(json.get(i + 2), Some(0xA8)) => {
                out.extend_from_slice(b"\\u2028");
                i += 2;
            }
            0xE2 if json.get(i + 1) == Some(&0x80) && matches!(json.get(i + 2), Some(0xA9)) => {
                out.extend_from_slice(b"\\u2029");
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_trims_zeros() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.120000000Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(rfc3339_nano(t), "2024-01-02T03:04:05.12Z");
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(rfc3339_nano(t), "2024-01-02T03:04:05Z");
    }

    #[test]
    fn uptime_format() {
        assert_eq!(uptime(chrono::TimeDelta::seconds(1)), "1s");
        assert_eq!(uptime(chrono::TimeDelta::seconds(61)), "1m1s");
        assert_eq!(uptime(chrono::TimeDelta::seconds(3600)), "1h0m0s");
        assert_eq!(
            uptime(chrono::TimeDelta::seconds(86400 * 2 + 5)),
            "2d0h0m5s"
        );
        assert_eq!(
            uptime(chrono::TimeDelta::seconds(86400 * 366)),
            "1y1d0h0m0s"
        );
    }

    #[test]
    fn go_duration_strings() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_nanos(850)), "850ns");
        assert_eq!(duration(Duration::from_micros(721)), "721µs");
        assert_eq!(duration(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(duration(Duration::from_micros(1_500)), "1.5ms");
        assert_eq!(duration(Duration::from_nanos(2_000_123_000)), "2.000123s");
        assert_eq!(duration(Duration::from_millis(62_500)), "1m2.5s");
        assert_eq!(duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn floats_like_go() {
        let mut out = Vec::new();
        ser_f64(&2.0, &mut serde_json::Serializer::new(&mut out)).expect("ser");
        assert_eq!(out, b"2");
        out.clear();
        ser_f64(&0.5, &mut serde_json::Serializer::new(&mut out)).expect("ser");
        assert_eq!(out, b"0.5");
    }

    #[test]
    fn quoting_and_html_escape() {
        assert_eq!(quote("x\"y"), "\"x\\\"y\"");
        assert_eq!(quote("a\tb"), "\"a\\tb\"");
        assert_eq!(
            escape_html(br#"{"s":"foo.>","t":"a&b<c"}"#.to_vec()),
            br#"{"s":"foo.\u003e","t":"a\u0026b\u003cc"}"#.to_vec()
        );
    }
}
