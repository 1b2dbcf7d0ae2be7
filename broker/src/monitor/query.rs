//! Query-string options decoded as nats-server's monitor does (`url.ParseQuery`,
//! `strconv.ParseBool`/`Atoi`/`ParseUint`), with its `400 Bad Request` error texts.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::gofmt::quote;

/// Which connections `/connz` lists (`state=open|closed|any`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Open,
    Closed,
    All,
}

/// A parsed query string: `get` answers the first value of a key, `""` when absent, as
/// Go's `r.URL.Query().Get` does.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// An option error: the text of nats-server's `400 Bad Request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        bad_request(self.0)
    }
}

/// A plain-text `400 Bad Request`, as nats-server writes its option errors.
pub fn bad_request(msg: impl Into<String>) -> Response {
    let mut resp = (StatusCode::BAD_REQUEST, msg.into()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

impl Query {
    /// Parses a raw query string like Go's `url.ParseQuery`: pairs split on `&`, pairs with
    /// a `;` or a bad `%` escape dropped, `+` read as a space.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&') {
            if part.is_empty() || part.contains(';') {
                continue;
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if let (Some(k), Some(v)) = (unescape(k), unescape(v)) {
                pairs.push((k, v));
            }
        }
        Query { pairs }
    }

    /// The first value of `key`, or `""`.
    pub fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// `decodeBool`: empty is false.
    pub fn bool(&self, key: &str) -> Result<bool, BadRequest> {
        let s = self.get(key);
        match s {
            "" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(BadRequest(format!(
                "Error decoding boolean for '{key}': strconv.ParseBool: parsing {}: invalid syntax",
                quote(s)
            ))),
        }
    }

    /// `decodeInt` (Go's `strconv.Atoi` on a 64-bit `int`): empty is 0.
    pub fn int(&self, key: &str) -> Result<i64, BadRequest> {
        let s = self.get(key);
        if s.is_empty() {
            return Ok(0);
        }
        parse_int(s).map_err(|e| {
            BadRequest(format!(
                "Error decoding int for '{key}': strconv.Atoi: parsing {}: {e}",
                quote(s)
            ))
        })
    }

    /// `decodeUint64` (Go's `strconv.ParseUint(s, 10, 64)`): empty is 0.
    pub fn uint64(&self, key: &str) -> Result<u64, BadRequest> {
        let s = self.get(key);
        if s.is_empty() {
            return Ok(0);
        }
        parse_uint(s).map_err(|e| {
            BadRequest(format!(
                "Error decoding uint64 for '{key}': strconv.ParseUint: parsing {}: {e}",
                quote(s)
            ))
        })
    }

    /// `decodeState`: `open` (default), `closed`, `any` or `all`, in any case.
    pub fn state(&self) -> Result<ConnState, BadRequest> {
        let s = self.get("state");
        match s.to_lowercase().as_str() {
            "" | "open" => Ok(ConnState::Open),
            "closed" => Ok(ConnState::Closed),
            "any" | "all" => Ok(ConnState::All),
            _ => Err(BadRequest(format!("Error decoding state for {s}"))),
        }
    }

    /// `decodeSubs`: `subs=detail` (any case) asks for details, otherwise a boolean.
    /// Returns (subscriptions, details).
    pub fn subs(&self) -> Result<(bool, bool), BadRequest> {
        if self.get("subs").eq_ignore_ascii_case("detail") {
            return Ok((false, true));
        }
        Ok((self.bool("subs")?, false))
    }
}

/// Go's `QueryUnescape`: `+` is a space, `%XX` a byte; a bad escape fails.
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Digits of an unsigned decimal; the error text of Go's `strconv` (`invalid syntax` or
/// `value out of range`, whichever it meets first).
fn parse_uint(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() {
        return Err("invalid syntax");
    }
    let mut n: u64 = 0;
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return Err("invalid syntax");
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or("value out of range")?;
    }
    Ok(n)
}

/// A signed decimal with an optional `+`/`-`, as Go's `strconv.Atoi`.
fn parse_int(s: &str) -> Result<i64, &'static str> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(digits)?;
    if neg {
        if u > i64::MAX as u64 + 1 {
            return Err("value out of range");
        }
        Ok((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).map_err(|_| "value out of range")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_like_go() {
        let q = Query::parse(Some("a=1&a=2&b=x+y&c=%zz&d;e=1&=v&f"));
        assert_eq!(q.get("a"), "1");
        assert_eq!(q.get("b"), "x y");
        assert_eq!(q.get("c"), "");
        assert_eq!(q.get("d"), "");
        assert_eq!(q.get("f"), "");
        assert_eq!(q.get(""), "v");
    }

    #[test]
    fn numbers_like_strconv() {
        assert_eq!(parse_int("+5"), Ok(5));
        assert_eq!(parse_int("-5"), Ok(-5));
        assert_eq!(parse_int("-"), Err("invalid syntax"));
        assert_eq!(parse_int("1x"), Err("invalid syntax"));
        assert_eq!(parse_int("9223372036854775808"), Err("value out of range"));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_uint("+1"), Err("invalid syntax"));
        assert_eq!(
            parse_uint("18446744073709551616"),
            Err("value out of range")
        );
        assert_eq!(
            parse_uint("99999999999999999999x"),
            Err("value out of range")
        );
    }

    #[test]
    fn subs_and_state() {
        assert_eq!(
            Query::parse(Some("subs=DETAIL")).subs().ok(),
            Some((false, true))
        );
        assert_eq!(
            Query::parse(Some("subs=1")).subs().ok(),
            Some((true, false))
        );
        assert!(Query::parse(Some("subs=yes")).subs().is_err());
        assert_eq!(
            Query::parse(Some("state=ANY")).state().ok(),
            Some(ConnState::All)
        );
        assert!(Query::parse(Some("state=x")).state().is_err());
    }
}
