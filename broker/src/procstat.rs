//! Process figures from `/proc/self` (resident memory, CPU usage) for monitoring.

/// Resident set size in bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU seconds (user + system) used by the process so far.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// Average CPU percentage since `start`.
pub fn cpu_percent(
    start: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<f64> {
    let elapsed = (now - start).as_seconds_f64();
    if elapsed <= 0.0 {
        return Some(0.0);
    }
    let pct = cpu_seconds()? / elapsed * 100.0;
    Some((pct * 100.0).round() / 100.0)
}

/// Kernel clock ticks per second (`_SC_CLK_TCK`), 100 on Linux.
fn clock_ticks() -> f64 {
    100.0
}
