//! The log file with nats-server's size-based rotation (`log_size_limit`): past the limit the
//! file is renamed `<file>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn`, a new one is opened and says where
//! the old one went, and with `logfile_max_num` only that many files are kept.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An open log file and its rotation settings.
pub struct LogFile {
    file: File,
    path: PathBuf,
    /// Bytes in the current file.
    out: u64,
    /// Rotate past this many bytes; 0 never.
    limit: u64,
    /// Files kept (the current one and its backups); 0 keeps all.
    max_num: usize,
    /// `[pid] `, the prefix of every line.
    pid: String,
    /// Whether lines carry a timestamp.
    time: bool,
}

impl LogFile {
    /// Opens (appends to) `path`.
    pub fn open(
        path: &Path,
        limit: u64,
        max_num: usize,
        pid: u32,
        time: bool,
    ) -> std::io::Result<LogFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let out = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile {
            file,
            path: path.to_path_buf(),
            out,
            limit,
            max_num,
            pid: format!("[{pid}] "),
            time,
        })
    }

    /// Writes one log line, rotating afterwards when the file outgrew its limit.
    pub fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.file.write_all(line)?;
        self.out += line.len() as u64;
        if self.limit > 0 && self.out > self.limit {
            self.rotate();
        }
        Ok(())
    }

    fn rotate(&mut self) {
        let now = chrono::Local::now();
        let backup = format!(
            "{}.{}",
            self.path.display(),
            now.format("%Y.%m.%d.%H.%M.%S.%9f")
        );
        let _ = std::fs::rename(&self.path, &backup);
        match OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            Ok(f) => self.file = f,
            // The old handle still works (on the renamed file): keep logging there.
            Err(_) => return,
        }
        self.out = 0;
        self.direct(
            "[INF] ",
            &format!("Rotated log, backup saved as {backup:?}"),
        );
        if self.max_num > 0 {
            self.purge();
        }
    }

    /// nats-server's `logDirect`: a line written straight to the file (CRLF-terminated).
    fn direct(&mut self, label: &str, text: &str) {
        let mut entry = self.pid.clone();
        if self.time {
            let now = chrono::Local::now();
            entry.push_str(&now.format("%Y/%m/%d %H:%M:%S%.6f ").to_string());
        }
        entry.push_str(label);
        entry.push_str(text);
        entry.push_str("\r\n");
        if self.file.write_all(entry.as_bytes()).is_ok() {
            self.out += entry.len() as u64;
        }
    }

    /// Removes the oldest backups beyond `max_num - 1` (nats-server's `logPurge`).
    fn purge(&mut self) {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let base = self
            .path
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                let msg = format!(
                    "Unable to read directory {:?} for log purge ({e}), will attempt next rotation",
                    dir.display().to_string()
                );
                return self.direct("[ERR] ", &msg);
            }
        };
        let prefix = format!("{base}.");
        let mut backups: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.strip_prefix(&prefix).is_some_and(is_backup_stamp))
            .collect();
        backups.sort();
        let keep = self.max_num - 1;
        if backups.len() <= keep {
            return;
        }
        let excess = backups.len() - keep;
        for name in backups.into_iter().take(excess) {
            if let Err(e) = std::fs::remove_file(dir.join(&name)) {
                let msg = format!(
                    "Unable to remove backup log file {name:?} ({e}), will attempt next rotation"
                );
                return self.direct("[ERR] ", &msg);
            }
            self.direct("[INF] ", &format!("Purged log file {name:?}"));
        }
    }
}

/// `YYYY.MM.DD.hh.mm.ss.nnnnnnnnn`, as a rotation names a backup (nats-server parses the
/// stamp as a time, too).
fn is_backup_stamp(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s, "%Y.%m.%d.%H.%M.%S%.f").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_past_the_limit_and_keeps_max_num_files() {
        let dir = std::env::temp_dir().join(format!("rnats-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("s.log");
        let mut f = LogFile::open(&path, 100, 3, 7, false).expect("open");
        for i in 0..20 {
            f.write_line(format!("[7] [INF] line {i:02} of the test log\n").as_bytes())
                .expect("write");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(names[0], "s.log");
        assert!(
            names[1..]
                .iter()
                .all(|n| is_backup_stamp(&n["s.log.".len()..])),
            "{names:?}"
        );
        let current = std::fs::read_to_string(&path).expect("read");
        assert!(
            current.starts_with("[7] [INF] Rotated log, backup saved as \""),
            "{current}"
        );
        assert!(
            current.contains("[INF] Purged log file \"s.log."),
            "{current}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn backup_stamps() {
        assert!(is_backup_stamp("2026.11.23.21.30.00.123456789"));
        assert!(!is_backup_stamp("2026.11.23"));
        assert!(!is_backup_stamp("old"));
    }
}
