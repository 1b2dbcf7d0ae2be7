//! Import cycle checks, as nats-server makes them while adding imports one by one
//! (`streamImportFormsCycle`, `serviceImportFormsCycle`): an import is refused when the
//! exporter, through imports already added, takes the same subjects back from the importer.

use std::collections::HashSet;

use crate::account::{Export, is_subset_match};

/// nats-server's `MaxAccountCycleSearchDepth`.
const MAX_DEPTH: usize = 1024;

/// Why an import was refused (nats-server's error texts).
pub(crate) const FORMS_CYCLE: &str = "import forms a cycle";
pub(crate) const DEPTH_EXHAUSTED: &str = "search cycle depth exhausted";

/// nats-server's `SubjectsCollide`: can some subject match both patterns?
pub(crate) fn subjects_collide(a: &str, b: &str) -> bool {
    let ta: Vec<&str> = a.split('.').collect();
    let tb: Vec<&str> = b.split('.').collect();
    let mut i = 0;
    loop {
        match (ta.get(i), tb.get(i)) {
            (None, None) => return true,
            (Some(&">"), Some(_)) | (Some(_), Some(&">")) => return true,
            (Some(x), Some(y)) => {
                if *x != "*" && *y != "*" && x != y {
                    return false;
                }
            }
            _ => return false,
        }
        i += 1;
    }
}

/// A stream import already added: `importer` takes `from` from `exporter`, as `to`.
pub(crate) struct StreamEdge<'a> {
    pub importer: &'a str,
    pub exporter: &'a str,
    pub from: String,
    pub to: String,
}

/// A service import already added: requests on `from` in `importer` go to `to` in `exporter`.
pub(crate) struct ServiceEdge<'a> {
    pub importer: &'a str,
    pub exporter: &'a str,
    pub from: String,
    pub to: String,
}

/// `checkStreamImportsForCycles`: starting at `account` with subject `to`.
pub(crate) fn stream_cycle(
    account: &str,
    to: &str,
    exports_of: &dyn Fn(&str) -> Vec<Export>,
    edges: &[StreamEdge<'_>],
    visited: &mut HashSet<String>,
) -> Result<(), &'static str> {
    if visited.len() >= MAX_DEPTH {
        return Err(DEPTH_EXHAUSTED);
    }
    let exports = exports_of(account);
    let exported = exports
        .iter()
        .any(|e| e.service.is_none() && is_subset_match(to, &e.subject));
    if !exported {
        return Ok(());
    }
    for e in edges.iter().filter(|e| e.importer == account) {
        if subjects_collide(to, &e.to) {
            if visited.contains(e.exporter) {
                return Err(FORMS_CYCLE);
            }
            visited.insert(account.to_string());
            stream_cycle(e.exporter, &e.to, exports_of, edges, visited)?;
        }
    }
    Ok(())
}

/// `checkServiceImportsForCycles`: starting at `account` with subject `from`.
pub(crate) fn service_cycle(
    account: &str,
    from: &str,
    edges: &[ServiceEdge<'_>],
    visited: &mut HashSet<String>,
) -> Result<(), &'static str> {
    if visited.len() >= MAX_DEPTH {
        return Err(DEPTH_EXHAUSTED);
    }
    for e in edges.iter().filter(|e| e.importer == account) {
        if subjects_collide(from, &e.to) {
            if visited.contains(e.exporter) {
                return Err(FORMS_CYCLE);
            }
            visited.insert(account.to_string());
            let f = if is_subset_match(&e.from, from) {
                e.from.as_str()
            } else {
                from
            };
            service_cycle(e.exporter, f, edges, visited)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::subjects_collide;

    #[test]
    fn collisions() {
        assert!(subjects_collide("a.b", "a.b"));
        assert!(subjects_collide("a.*", "a.b"));
        assert!(subjects_collide("a.>", "a.b.c"));
        assert!(subjects_collide(">", "x"));
        assert!(!subjects_collide("a.b", "a.c"));
        assert!(!subjects_collide("a.*", "a.b.c"));
        assert!(!subjects_collide("a", "a.b"));
    }
}
