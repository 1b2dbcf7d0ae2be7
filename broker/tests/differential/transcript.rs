//! Rendering transcripts for failure messages, side by side.

use super::*;

/// Escapes bytes for display; runs of 16+ equal bytes are shown as `{{N*c}}`.
pub(super) fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|&&c| c == b[i]).count();
        let one = match b[i] {
            b'\r' => "\\r".to_string(),
            b'\n' => "\\n".to_string(),
            b'\t' => "\\t".to_string(),
            b'\\' => "\\\\".to_string(),
            b'"' => "\\\"".to_string(),
            b'{' if b.get(i + 1) == Some(&b'{') => "\\{".to_string(),
            c if (0x20..0x7f).contains(&c) => (c as char).to_string(),
            c => format!("\\x{c:02x}"),
        };
        if run >= 16 {
            let _ = write!(s, "{{{{{run}*{one}}}}}");
            i += run;
        } else {
            s.push_str(&one);
            i += 1;
        }
    }
    s
}

/// Display lines: each step's directive, then one line per received protocol line.
pub(super) fn render(case: &Case, events: &[Event]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut labelled = 0;
    for e in events {
        let at = if e.step > case.steps.len() {
            "end".to_string()
        } else {
            format!("#{}", e.step)
        };
        if e.step != labelled {
            labelled = e.step;
            if let Some(step) = case.steps.get(e.step - 1) {
                lines.push(format!("{at} {}", step.label()));
            }
        }
        match &e.ev {
            Ev::Sent(_) => {}
            Ev::Recv(b) => {
                for part in b.split_inclusive(|&c| c == b'\n') {
                    lines.push(format!("{at}   {} < \"{}\"", e.conn, escape(part)));
                }
            }
            Ev::Closed => lines.push(format!("{at}   {} <closed>", e.conn)),
            Ev::Timeout => lines.push(format!("{at}   {} <timeout>", e.conn)),
        }
    }
    lines
}

/// Side-by-side view aligned on the longest common subsequence; `!` marks differences.
pub(super) fn side_by_side(left: &[String], right: &[String]) -> String {
    let (n, m) = (left.len(), right.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if left[i] == right[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let width = left
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(10, 100);
    let mut out = String::new();
    let _ = writeln!(out, "  {:<width$} | reference (nats-server)", "rnats");
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && left[i] == right[j] {
            let _ = writeln!(out, "  {:<width$} | {}", left[i], right[j]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "! {:<width$} | {}", "", right[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "! {:<width$} |", left[i]);
            i += 1;
        }
    }
    out
}
