//! Typed access to config values, failing as nats-server does: its `v.(int64)`-style type
//! assertions panic and the panic becomes `file:line:col: interface conversion: ...`.

use super::error::Diagnostic;
use super::value::{Token, Value};

/// nats-server's error for a value of the wrong type (a recovered Go type-assertion panic).
pub(crate) fn mismatch(t: &Token, want: &str) -> Diagnostic {
    Diagnostic::at(
        &t.pos,
        format!(
            "interface conversion: interface {{}} is {}, not {want}",
            t.value.go_type()
        ),
    )
}

pub(crate) fn want_str(t: &Token) -> Result<&str, Diagnostic> {
    match &t.value {
        Value::String(s) => Ok(s),
        _ => Err(mismatch(t, "string")),
    }
}

pub(crate) fn want_int(t: &Token) -> Result<i64, Diagnostic> {
    match t.value {
        Value::Int(i) => Ok(i),
        _ => Err(mismatch(t, "int64")),
    }
}

pub(crate) fn want_bool(t: &Token) -> Result<bool, Diagnostic> {
    match t.value {
        Value::Bool(b) => Ok(b),
        _ => Err(mismatch(t, "bool")),
    }
}

/// Go's `net.SplitHostPort`; `None` where Go returns an error.
pub(crate) fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

/// nats-server's `parseListen`: a bare port, or `host:port`. The host is empty for a bare port.
pub(crate) fn parse_listen(t: &Token) -> Result<(String, i64), Diagnostic> {
    match &t.value {
        Value::Int(port) => Ok((String::new(), *port)),
        Value::String(s) => {
            let Some((host, port)) = split_host_port(s) else {
                let msg = format!("could not parse address string {}", super::gofmt::quote(s));
                return Err(Diagnostic::at(&t.pos, msg));
            };
            // Go's strconv.Atoi: optional sign, decimal digits, int64 range.
            match port.parse::<i64>() {
                Ok(p) => Ok((host.to_string(), p)),
                Err(_) => {
                    let msg = format!("could not parse port {}", super::gofmt::quote(port));
                    Err(Diagnostic::at(&t.pos, msg))
                }
            }
        }
        v => Err(Diagnostic::at(
            &t.pos,
            format!("expected port or host:port, got {}", v.go_type()),
        )),
    }
}

/// nats-server's `parseStringArray`: one string or an array of strings. A non-string element
/// is an error and skipped; any other value is an error and gives `None`.
pub(crate) fn string_array(
    field: &str,
    t: &Token,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    match &t.value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                match &item.value {
                    Value::String(s) => out.push(s.clone()),
                    v => errors.push(Diagnostic::at(
                        &item.pos,
                        format!(
                            "error parsing {field}: unsupported type in array {}",
                            v.go_type()
                        ),
                    )),
                }
            }
            Some(out)
        }
        v => {
            errors.push(Diagnostic::at(
                &t.pos,
                format!("error parsing {field}: unsupported type {}", v.go_type()),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_host_port_matches_go() {
        assert_eq!(
            split_host_port("127.0.0.1:4222"),
            Some(("127.0.0.1", "4222"))
        );
        assert_eq!(split_host_port(":4222"), Some(("", "4222")));
        assert_eq!(split_host_port("[::1]:4222"), Some(("::1", "4222")));
        assert_eq!(split_host_port("host:"), Some(("host", "")));
        assert_eq!(split_host_port("host"), None);
        assert_eq!(split_host_port("a:b:c"), None);
        assert_eq!(split_host_port("[::1]"), None);
        assert_eq!(split_host_port("[::1]x:1"), None);
    }
}
