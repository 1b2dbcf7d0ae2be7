//! Parsing of sizes (`16`, `1KiB`, `16k`) and durations (`500ms`, `5s`) on the command line.

use std::time::Duration;

use anyhow::Context as _;

/// A byte size: a number with an optional `B`, `K`/`KB`/`KiB` or `M`/`MB`/`MiB` suffix
/// (all binary multiples, as `nats bench` reads them).
pub fn parse_size(s: &str) -> anyhow::Result<usize> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().with_context(|| format!("bad size {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        u => anyhow::bail!("bad size unit {u:?} in {s:?}"),
    };
    Ok(n * mult)
}

/// A duration: a number with `ms`, `s` or `m`; a bare number is seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().with_context(|| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        u => anyhow::bail!("bad duration unit {u:?} in {s:?}"),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16").ok(), Some(16));
        assert_eq!(parse_size("16B").ok(), Some(16));
        assert_eq!(parse_size("1KiB").ok(), Some(1024));
        assert_eq!(parse_size("16k").ok(), Some(16384));
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("500ms").ok(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_duration("2").ok(), Some(Duration::from_secs(2)));
        assert!(parse_duration("2h").is_err());
    }
}
