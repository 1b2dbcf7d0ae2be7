//! `rnats-server --signal <cmd>[=<pid|pidfile>]`: send a control signal to a running server,
//! as `nats-server --signal` does (ldm, stop, quit, term, reopen, reload).

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Name looked up with `pgrep` when no pid is given.
const PROCESS_NAME: &str = "rnats-server";

/// Parses `cmd[=pid]` and signals the matching process(es). The error is nats-server's text.
pub fn run(arg: &str) -> Result<(), String> {
    let parts: Vec<&str> = arg.split('=').collect();
    if parts.len() > 2 {
        return Err(format!("invalid signal parameters: {:?}", &parts[2..]));
    }
    let signal = command_signal(parts[0])?;
    let pid_expr = parts
        .get(1)
        .map(|p| maybe_read_pid_file(p))
        .unwrap_or_default();
    let pid_expr = pid_expr.trim();
    let glob = pid_expr.ends_with('*');
    let prefix = pid_expr.trim_end_matches('*');
    let pids: Vec<i32> = if prefix.is_empty() || glob {
        let all = running_pids()?;
        if prefix.is_empty() {
            all
        } else {
            all.into_iter()
                .filter(|p| p.to_string().starts_with(prefix))
                .collect()
        }
    } else {
        vec![
            prefix
                .parse::<i32>()
                .map_err(|_| format!("invalid pid: {prefix}"))?,
        ]
    };
    if pids.len() > 1 && !glob {
        let list: String = pids.iter().map(|p| format!("\n{p}")).collect();
        return Err(format!("multiple {PROCESS_NAME} processes running:{list}"));
    }
    if pids.is_empty() {
        return Err(format!("no {PROCESS_NAME} processes running"));
    }
    let mut errors = String::new();
    for pid in pids {
        if let Err(err) = kill(Pid::from_raw(pid), signal) {
            errors.push_str(&format!("\nsignal {:?} {pid}: {err}", parts[0]));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// nats-server's `CommandToSignal`.
fn command_signal(cmd: &str) -> Result<Signal, String> {
    match cmd {
        "stop" => Ok(Signal::SIGKILL),
        "quit" => Ok(Signal::SIGINT),
        "reopen" => Ok(Signal::SIGUSR1),
        "reload" => Ok(Signal::SIGHUP),
        "ldm" => Ok(Signal::SIGUSR2),
        "term" => Ok(Signal::SIGTERM),
        other => Err(format!("unknown signal {other:?}")),
    }
}

/// A pid file's contents if `s` names a readable file, else `s` itself.
fn maybe_read_pid_file(s: &str) -> String {
    std::fs::read_to_string(s).unwrap_or_else(|_| s.to_string())
}

/// Pids of running servers (other than this process), via `pgrep`.
fn running_pids() -> Result<Vec<i32>, String> {
    let out = std::process::Command::new("pgrep")
        .arg("-x")
        .arg(PROCESS_NAME)
        .output()
        .map_err(|_| "unable to resolve pid, try providing one".to_string())?;
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let pid: i32 = line
            .trim()
            .parse()
            .map_err(|_| "unable to resolve pid, try providing one".to_string())?;
        if pid != me {
            pids.push(pid);
        }
    }
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_nats_signals() {
        assert_eq!(command_signal("ldm"), Ok(Signal::SIGUSR2));
        assert_eq!(command_signal("reload"), Ok(Signal::SIGHUP));
        assert_eq!(command_signal("reopen"), Ok(Signal::SIGUSR1));
        assert_eq!(command_signal("quit"), Ok(Signal::SIGINT));
        assert_eq!(command_signal("term"), Ok(Signal::SIGTERM));
        assert_eq!(command_signal("stop"), Ok(Signal::SIGKILL));
        assert_eq!(
            command_signal("nope"),
            Err("unknown signal \"nope\"".to_string())
        );
    }

    #[test]
    fn bad_arguments() {
        assert!(
            run("ldm=1=2")
                .expect_err("too many")
                .starts_with("invalid signal parameters")
        );
        assert_eq!(run("ldm=abc"), Err("invalid pid: abc".to_string()));
    }
}
