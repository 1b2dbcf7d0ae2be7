//! The result of one run: ordered named values, printed as a table or as one JSON object,
//! plus the count checks that decide the exit status.

use std::io::Write as _;

use serde_json::{Map, Value};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Ordered results of one run, and the count checks that failed.
#[derive(Debug, Default)]
pub struct Report {
    fields: Map<String, Value>,
    errors: Vec<String>,
}

impl Report {
    pub fn new(mode: &str) -> Self {
        let mut r = Self::default();
        r.set("mode", mode);
        r
    }

    /// Sets a value (kept in insertion order).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.fields.insert(key.to_string(), value.into());
    }

    /// A value set earlier.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Sets a rate or other float, rounded to 3 decimals.
    pub fn set_f(&mut self, key: &str, value: f64) {
        let rounded = (value * 1000.0).round() / 1000.0;
        self.set(key, rounded);
    }

    /// Records a failed check: the run exits non-zero.
    pub fn fail(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    /// Checks `got == want` for a message count.
    pub fn check_count(&mut self, what: &str, got: u64, want: u64) {
        if got != want {
            self.fail(format!("{what}: got {got} messages, expected {want}"));
        }
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Writes the report to stdout; errors go to stderr as well.
    pub fn print(&mut self, format: Format) -> anyhow::Result<()> {
        let ok = self.ok();
        self.set("ok", ok);
        self.set("errors", self.errors.clone());
        let mut out = std::io::stdout().lock();
        match format {
            Format::Json => writeln!(out, "{}", Value::Object(self.fields.clone()))?,
            Format::Table => {
                let width = self.fields.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in &self.fields {
                    if k == "errors" {
                        continue;
                    }
                    writeln!(out, "{k:<width$}  {}", show(v))?;
                }
            }
        }
        for e in &self.errors {
            eprintln!("rnats-bench: check failed: {e}");
        }
        Ok(())
    }
}

/// A value for the table: integers with thousands separators, floats with 3 significant
/// decimals.
fn show(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => group_thousands(&n.to_string()),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.abs() >= 1000.0 {
                group_thousands(&format!("{f:.0}"))
            } else {
                format!("{f:.3}")
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn group_thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(show(&Value::from(1234567u64)), "1,234,567");
        assert_eq!(show(&Value::from(12u64)), "12");
        assert_eq!(show(&Value::from(-1234i64)), "-1,234");
        assert_eq!(show(&Value::from(1.5f64)), "1.500");
        assert_eq!(show(&Value::from(12345.6f64)), "12,346");
    }

    #[test]
    fn failed_checks_are_kept() {
        let mut r = Report::new("x");
        r.check_count("sub 0", 5, 5);
        assert!(r.ok());
        r.check_count("sub 1", 4, 5);
        assert!(!r.ok());
    }
}
