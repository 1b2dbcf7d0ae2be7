//! Go's `path/filepath` `Clean`, `Dir` and `Join` (Unix), so that include paths, and the file
//! names in error messages, come out as nats-server prints them.

/// Go's `filepath.Clean`: lexical `.`/`..`/`//` removal; `""` becomes `"."`.
pub(crate) fn go_clean(path: &str) -> String {
    let p = path.as_bytes();
    if p.is_empty() {
        return ".".to_string();
    }
    let n = p.len();
    let rooted = p[0] == b'/';
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        (r, dotdot) = (1, 1);
    }
    let at = |i: usize| p.get(i).copied();
    while r < n {
        // An empty element (`//`) or a `.` element is dropped.
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || at(r + 1) == Some(b'/'))) {
            r += 1;
        } else if p[r] == b'.' && at(r + 1) == Some(b'.') && (r + 2 == n || at(r + 2) == Some(b'/'))
        {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && out.last() != Some(&b'/') {
                    out.pop();
                }
                // Drop the separator we stopped at, as Go's index-based buffer does.
                if out.len() > dotdot {
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".to_string();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `filepath.Dir`: everything before the last `/`, cleaned.
pub(crate) fn go_dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    go_clean(&path[..cut])
}

/// Go's `filepath.Join(dir, name)`. An absolute `name` is still joined under `dir`, exactly
/// as nats-server resolves `include /abs/path`.
pub(crate) fn go_join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, true) => String::new(),
        (true, false) => go_clean(name),
        (false, true) => go_clean(dir),
        (false, false) => go_clean(&format!("{dir}/{name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        let cases = [
            ("", "."),
            ("a/b", "a/b"),
            ("a//b", "a/b"),
            ("./a", "a"),
            ("a/./b/..", "a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/a/b/../c/", "/a/c"),
            ("abc/def/../../..", ".."),
            ("/", "/"),
        ];
        for (p, want) in cases {
            assert_eq!(go_clean(p), want, "{p}");
        }
    }

    #[test]
    fn dir_and_join_match_go() {
        assert_eq!(go_dir("a.conf"), ".");
        assert_eq!(go_dir("/etc/nats/nats.conf"), "/etc/nats");
        assert_eq!(go_dir(""), ".");
        assert_eq!(go_join(".", "./missing.conf"), "missing.conf");
        assert_eq!(go_join("/etc/nats", "../x.conf"), "/etc/x.conf");
        assert_eq!(go_join("/etc/nats", "/abs.conf"), "/etc/nats/abs.conf");
    }
}
