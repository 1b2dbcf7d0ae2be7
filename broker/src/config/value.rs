//! The parsed config tree: values with the file, line and column they came from.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Where a value (or the key it is assigned to) sits: nats-server's `file:line:col`.
///
/// `col` is nats-server's column: a byte offset, 0-based on line 1 and 1-based on later lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Arc<str>,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A config value. Sizes (`1MB`) are already multiplied out into `Int`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An ISO 8601 Zulu timestamp, kept as written (`2006-01-02T15:04:05Z`).
    DateTime(String),
    Array(Arc<Vec<Token>>),
    Map(Arc<Map>),
}

impl Value {
    /// The Go type nats-server holds this value as (used in its error messages).
    pub fn go_type(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::DateTime(_) => "time.Time",
            Value::Array(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
        }
    }

    /// Go's `%v` rendering of the value (maps and arrays approximately).
    pub fn go_display(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => super::gofmt::float_v(*f),
            Value::Bool(b) => b.to_string(),
            Value::DateTime(s) => {
                // time.Time's %v: "2006-01-02 15:04:05 +0000 UTC".
                let s = s.trim_end_matches('Z').replacen('T', " ", 1);
                format!("{s} +0000 UTC")
            }
            Value::Array(a) => {
                let parts: Vec<String> = a.iter().map(|t| t.value.go_display()).collect();
                format!("[{}]", parts.join(" "))
            }
            Value::Map(m) => {
                let mut parts: Vec<(&str, String)> =
                    m.iter().map(|(k, t)| (k, t.value.go_display())).collect();
                parts.sort();
                let parts: Vec<String> = parts.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }
}

/// A value with its position and whether it was referenced as a `$variable`.
///
/// A value assigned to a key carries the key's position (nats-server's pedantic mode does the
/// same), an array element its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub value: Value,
    pub pos: Pos,
    /// Set when a later `$name` referenced this key; such keys are never "unknown fields".
    pub used_variable: bool,
    /// Inside a map or array that came from an environment variable. nats-server keeps no
    /// position there (`pos` is the variable's), which changes some of its messages.
    pub(crate) raw: bool,
}

impl Token {
    pub fn new(value: Value, pos: Pos) -> Self {
        Token {
            value,
            pos,
            used_variable: false,
            raw: false,
        }
    }
}

/// A map in file order. A repeated key replaces the earlier value (nats-server keeps the last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    entries: Vec<(String, Token)>,
    index: HashMap<String, usize>,
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces `key` (a replaced key keeps its place in the order).
    pub fn insert(&mut self, key: String, token: Token) {
        match self.index.get(&key) {
            Some(&i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    slot.1 = token;
                }
            }
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, token));
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Token> {
        self.index
            .get(key)
            .and_then(|&i| self.entries.get(i))
            .map(|(_, t)| t)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Token> {
        let i = *self.index.get(key)?;
        self.entries.get_mut(i).map(|(_, t)| t)
    }

    /// Entries in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Token)> {
        self.entries.iter().map(|(k, t)| (k.as_str(), t))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn into_entries(self) -> Vec<(String, Token)> {
        self.entries
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Token> {
        self.entries.iter_mut().map(|(_, t)| t)
    }
}
