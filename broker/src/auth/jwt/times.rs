//! Time-of-day windows of a user JWT (`times` with `times_location`): whether a connection is
//! allowed now and for how long (nats-server's `validateTimes`). Zones are read from the
//! system's zoneinfo, as Go's `time.LoadLocation` does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tz::TimeZone;

use super::claims::TimeRange;

/// Where Go looks for zone files first on Linux (`platformZoneSources`).
const ZONEINFO_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
];

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Go's `time.LoadLocation`: `""` and `UTC` are UTC, `Local` the server's zone, anything else
/// a file under the zoneinfo directories. `None` when it cannot be loaded.
pub fn load_location(name: &str) -> Option<TimeZone> {
    match name {
        "" | "UTC" => return Some(TimeZone::utc()),
        "Local" => return Some(local()),
        _ => {}
    }
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return None;
    }
    let dirs = std::env::var("ZONEINFO").ok();
    let from_env = dirs.as_deref().into_iter();
    from_env
        .chain(ZONEINFO_DIRS.iter().copied())
        .find_map(|dir| std::fs::read(format!("{dir}/{name}")).ok())
        .and_then(|bytes| TimeZone::from_tz_data(&bytes).ok())
}

/// The server's zone (`time.Local`): `TZ` if set, else `/etc/localtime`, else UTC.
fn local() -> TimeZone {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        return load_location(if tz.is_empty() { "UTC" } else { tz }).unwrap_or_else(TimeZone::utc);
    }
    TimeZone::local().unwrap_or_else(|_| TimeZone::utc())
}

/// Go's `time.Parse("15:04:05", s)`: hour of one or two digits (< 24), minutes and seconds of
/// exactly two. Seconds since midnight.
pub fn parse_clock(s: &str) -> Option<i64> {
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || h.len() > 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let num = |t: &str| -> Option<i64> {
        t.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (h, m, sec) = (num(h)?, num(m)?, num(sec)?);
    (h < 24 && m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

/// `validateTimes`: whether `now` falls in one of `times` (in `locale`, or the server's zone
/// when empty), and how long the best window still lasts. No windows: allowed, no deadline.
pub fn validate_times(times: &[TimeRange], locale: &str, now: SystemTime) -> (bool, Duration) {
    if times.is_empty() {
        return (true, Duration::ZERO);
    }
    let zone = if locale.is_empty() {
        local()
    } else {
        match load_location(locale) {
            Some(z) => z,
            None => return (false, Duration::ZERO),
        }
    };
    let now_ns = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    let now_s = (now_ns / 1_000_000_000) as i64;
    let offset = zone
        .find_local_time_type(now_s)
        .map(|t| i64::from(t.ut_offset()))
        .unwrap_or(0);
    let local = now_s + offset;
    let midnight = local - local.rem_euclid(DAY) - offset;
    let mut best: Option<i128> = None;
    for range in times {
        let (Some(start), Some(end)) = (parse_clock(&range.start), parse_clock(&range.end)) else {
            return (false, Duration::ZERO);
        };
        let ns = |secs: i64| i128::from(midnight + secs) * 1_000_000_000;
        if let Some(left) = window_left(ns(start), ns(end), now_ns)
            && best.is_none_or(|b| left > b)
        {
            best = Some(left);
        }
    }
    match best {
        Some(left) => (true, Duration::from_nanos(left.max(0) as u64)),
        None => (false, Duration::ZERO),
    }
}

/// `validateTimeRangeAt` on nanosecond timestamps: time left in the window, if `now` is in it.
/// A window whose start is after its end runs over midnight.
fn window_left(start: i128, end: i128, now: i128) -> Option<i128> {
    if start < now && end > now {
        return Some(end - now);
    }
    if start > end {
        if end > now {
            return Some(end - now);
        }
        let end = end + i128::from(DAY) * 1_000_000_000;
        if start < now && end > now {
            return Some(end - now);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64, m: i64) -> SystemTime {
        // 2026-01-05 (a Monday) at h:m UTC.
        UNIX_EPOCH + Duration::from_secs((1_767_571_200 + h * 3600 + m * 60) as u64)
    }

    fn range(s: &str, e: &str) -> TimeRange {
        TimeRange {
            start: s.into(),
            end: e.into(),
        }
    }

    #[test]
    fn clock_parsing_follows_go() {
        assert_eq!(parse_clock("09:30:00"), Some(9 * 3600 + 30 * 60));
        assert_eq!(parse_clock("9:30:00"), Some(9 * 3600 + 30 * 60));
        assert_eq!(parse_clock("23:59:59"), Some(DAY - 1));
        assert_eq!(parse_clock("24:00:00"), None);
        assert_eq!(parse_clock("09:3:00"), None);
        assert_eq!(parse_clock("09:30"), None);
        assert_eq!(parse_clock("09:30:00:00"), None);
    }

    #[test]
    fn windows_in_utc() {
        let t = [range("08:00:00", "17:00:00")];
        let (ok, left) = validate_times(&t, "UTC", at(16, 0));
        assert!(ok);
        assert_eq!(left, Duration::from_secs(3600));
        assert!(!validate_times(&t, "UTC", at(18, 0)).0);
        assert!(!validate_times(&t, "UTC", at(7, 59)).0);
    }

    #[test]
    fn overnight_window() {
        let t = [range("22:00:00", "02:00:00")];
        assert_eq!(
            validate_times(&t, "UTC", at(1, 0)),
            (true, Duration::from_secs(3600))
        );
        assert_eq!(
            validate_times(&t, "UTC", at(23, 0)),
            (true, Duration::from_secs(3 * 3600))
        );
        assert!(!validate_times(&t, "UTC", at(12, 0)).0);
    }

    #[test]
    fn the_longest_window_wins_and_no_windows_allow() {
        let t = [range("00:00:00", "13:00:00"), range("11:00:00", "20:00:00")];
        assert_eq!(
            validate_times(&t, "UTC", at(12, 0)),
            (true, Duration::from_secs(8 * 3600))
        );
        assert_eq!(validate_times(&[], "", at(12, 0)), (true, Duration::ZERO));
    }

    #[test]
    fn zones_shift_the_window() {
        if load_location("Asia/Tokyo").is_none() {
            return; // no zoneinfo on this machine: Go would refuse the same way
        }
        // 12:00 UTC is 21:00 in Tokyo (UTC+9, no DST).
        let t = [range("20:00:00", "22:00:00")];
        assert_eq!(
            validate_times(&t, "Asia/Tokyo", at(12, 0)),
            (true, Duration::from_secs(3600))
        );
        assert!(!validate_times(&t, "UTC", at(12, 0)).0);
        assert!(!validate_times(&t, "No/Such_Zone", at(12, 0)).0);
    }
}
