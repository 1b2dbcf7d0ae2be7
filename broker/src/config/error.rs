//! Errors and warnings of the config loader, worded exactly as nats-server 2.15 prints them
//! (after its `nats-server: ` prefix) for `nats-server -t -c FILE`.

use std::fmt;

use super::value::{Pos, Token};

/// A failure to read or parse a config file. nats-server stops at the first one, and its text
/// carries no `file:` prefix (`Parse error on line 3: '...'`); `pos` still says where it is
/// (for a failing include, inside the included file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub pos: Option<Pos>,
}

impl ParseError {
    pub(crate) fn new(message: String, pos: Option<Pos>) -> Self {
        ParseError { message, pos }
    }
}

/// One error found while applying the parsed keys, shown as `file:line:col: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Option<Pos>,
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn at(pos: &Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos: Some(pos.clone()),
            message: message.into(),
        }
    }

    /// nats-server's `configErr{tk, ...}`: positioned at `t`, unless `t` came from inside an
    /// environment variable's value, where nats-server has no token and prints only the reason.
    pub(crate) fn on(t: &Token, message: impl Into<String>) -> Self {
        let pos = (!t.raw).then(|| t.pos.clone());
        Diagnostic {
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Who would complain about a [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// nats-server warns too (and `-t` then fails, as in `check`), e.g. an integer
    /// `ping_interval` or an authorization timeout above 60 s.
    Reference,
    /// nats-server accepts the key but rnats does not implement it yet; it is ignored.
    Unsupported,
}

/// A non-fatal finding, shown as `file:line:col: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub pos: Option<Pos>,
    pub message: String,
}

impl Warning {
    /// nats-server's `configWarningErr`: `invalid use of field "F": reason`.
    pub(crate) fn reference(pos: &Pos, field: &str, reason: impl fmt::Display) -> Self {
        Warning {
            kind: WarningKind::Reference,
            pos: Some(pos.clone()),
            message: format!(
                "invalid use of field {}: {reason}",
                super::gofmt::quote(field)
            ),
        }
    }

    /// A key nats-server knows that rnats ignores for now.
    pub(crate) fn unsupported(pos: &Pos, field: &str) -> Self {
        Warning {
            kind: WarningKind::Unsupported,
            pos: Some(pos.clone()),
            message: format!(
                "field {} is not supported yet, ignoring it",
                super::gofmt::quote(field)
            ),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a config file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed (stops at the first problem).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Keys were wrong. Like nats-server, every key is checked and all errors are kept; the
    /// text lists the nats-server warnings first, then the errors, one per line.
    #[error("{}", render(errors, warnings))]
    Invalid {
        errors: Vec<Diagnostic>,
        warnings: Vec<Warning>,
    },
    /// The options as a whole are inconsistent (nats-server's `validateOptions`, checked at
    /// startup after flags are merged), e.g. `max_payload` above `max_pending`.
    #[error("{0}")]
    Validation(String),
}

fn render(errors: &[Diagnostic], warnings: &[Warning]) -> String {
    let warnings = warnings.iter().filter(|w| w.kind == WarningKind::Reference);
    let lines: Vec<String> = warnings
        .map(ToString::to_string)
        .chain(errors.iter().map(ToString::to_string))
        .collect();
    lines.join("\n")
}
