//! nats-server's config file format: parsing (`key: v`, blocks, arrays, includes, `$VAR` from
//! the file or the environment, sizes `1MB`, durations `"2s"`) and applying it to [`Options`],
//! with nats-server 2.15's error and warning texts and `file:line:col` positions.
//!
//! [`load`] is `ProcessConfigFile`: it applies a file on top of `opts` and returns warnings
//! (nats-server's own, and keys nats-server knows that rnats does not implement yet).
//! [`check`] is `nats-server -t`, where nats-server's warnings are fatal too. [`validate`] is
//! the startup check of the final options (after flags), e.g. `max_payload` vs `max_pending`.

mod accounts;
mod apply;
mod auth;
mod blocks;
mod cluster;
mod convert;
mod cycles;
mod digest;
mod duration;
mod error;
mod exports;
pub(crate) mod gofmt;
mod lexer;
mod mappings;
pub mod operator;
mod parser;
mod paths;
mod permissions;
mod tls;
mod value;

#[cfg(test)]
mod tests_apply;
#[cfg(test)]
mod tests_fixtures;
#[cfg(test)]
mod tests_syntax;

use std::path::Path;

use crate::options::Options;

pub use duration::{go_duration_string, parse_go_duration};
pub use error::{ConfigError, Diagnostic, ParseError, Warning, WarningKind};
pub use parser::{EnvLookup, parse_file, parse_str};
pub use value::{Map, Pos, Token, Value};

/// Looks `$NAME` up in the process environment (what [`load`] uses).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Loads the config file at `path` on top of `opts` (as `nats-server -c`), resolving `$VAR`s
/// missing from the file in the process environment. On error `opts` may be partly updated.
pub fn load(path: &Path, opts: &mut Options) -> Result<Vec<Warning>, ConfigError> {
    load_with_env(path, opts, &process_env)
}

/// [`load`] with `$VAR`s resolved through `env` instead of the process environment.
pub fn load_with_env(
    path: &Path,
    opts: &mut Options,
    env: EnvLookup<'_>,
) -> Result<Vec<Warning>, ConfigError> {
    let file = path.to_string_lossy();
    opts.config_file = Some(path.to_path_buf());
    let map = parse_file(&file, env)?;
    apply_map(&file, &map, opts)
}

/// Applies an already parsed config (read from `file`) on top of `opts`.
pub fn apply_map(file: &str, map: &Map, opts: &mut Options) -> Result<Vec<Warning>, ConfigError> {
    let (errors, warnings) = apply::apply(file, map, opts);
    if !errors.is_empty() {
        return Err(ConfigError::Invalid { errors, warnings });
    }
    Ok(warnings)
}

/// What `nats-server -t -c FILE` reports for a valid file: rnats-only warnings and the digest.
#[derive(Debug)]
pub struct CheckReport {
    pub warnings: Vec<Warning>,
    /// `sha256:<hex>` of the parsed config, as nats-server prints it.
    pub digest: String,
}

/// `nats-server -t -c FILE`: like [`load`] into default options, but nats-server's own
/// warnings fail too (their text is the error).
pub fn check(path: &Path) -> Result<CheckReport, ConfigError> {
    check_with_env(path, &process_env)
}

/// [`check`] with `$VAR`s resolved through `env`.
pub fn check_with_env(path: &Path, env: EnvLookup<'_>) -> Result<CheckReport, ConfigError> {
    let file = path.to_string_lossy();
    let mut opts = Options {
        config_file: Some(path.to_path_buf()),
        ..Options::default()
    };
    let map = parse_file(&file, env)?;
    let warnings = apply_map(&file, &map, &mut opts)?;
    if warnings.iter().any(|w| w.kind == WarningKind::Reference) {
        return Err(ConfigError::Invalid {
            errors: Vec::new(),
            warnings,
        });
    }
    Ok(CheckReport {
        warnings,
        digest: digest::config_digest(&map),
    })
}

/// nats-server's startup validation (`validateOptions`) of the parts rnats implements, run on
/// the final options after flags are merged. Texts are nats-server's.
pub fn validate(opts: &Options) -> Result<(), ConfigError> {
    let fail = |msg: String| Err(ConfigError::Validation(msg));
    let (grace, dur) = (opts.lame_duck_grace_period, opts.lame_duck_duration);
    if !dur.is_zero() && grace >= dur {
        return fail(format!(
            "lame duck grace period ({}) should be strictly lower than lame duck duration ({})",
            go_duration_string(nanos(grace)),
            go_duration_string(nanos(dur))
        ));
    }
    if opts.max_payload > opts.max_pending {
        return fail(format!(
            "max_payload ({}) cannot be higher than max_pending ({})",
            opts.max_payload, opts.max_pending
        ));
    }
    if opts.server_name.as_deref().is_some_and(|n| n.contains(' ')) {
        return fail("server name cannot contain spaces".to_string());
    }
    operator::validate(opts).map_err(ConfigError::Validation)?;
    if let Some(user) = &opts.no_auth_user {
        if opts.users.is_empty() && opts.nkeys.is_empty() {
            return fail(format!(
                "no_auth_user: \"{user}\" present, but users/nkeys are not defined"
            ));
        }
        if !opts.users.iter().any(|u| &u.username == user)
            && !opts.nkeys.iter().any(|n| &n.nkey == user)
        {
            return fail(format!(
                "no_auth_user: \"{user}\" not present as user or nkey in authorization block \
                 or account configuration"
            ));
        }
    }
    Ok(())
}

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
