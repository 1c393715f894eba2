//! Follow a growing log like `tail -F`: hand out the whole lines appended since the last look,
//! and survive both kinds of rotation.
//!
//! - **rename** (logrotate's default, `create`): the path now names a new file. The old file is
//!   read to its end first (a writer may still have been finishing a line), then the new one
//!   from its start.
//! - **copytruncate**: the file we hold shrank below what we have read. It is read again from
//!   its start.
//!
//! A file that is not there yet (between the rename and the create) is waited for. A line
//! longer than `max_line` is handed out cut, and its rest skipped, so memory stays bounded.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What a look found besides lines.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn {
    /// Nothing changed but (maybe) new lines.
    Same,
    /// A new file under the path (rename rotation): line numbers start again at 1.
    Rotated,
    /// The file was truncated (copytruncate): line numbers start again at 1.
    Truncated,
}

pub struct Follower {
    path: PathBuf,
    file: File,
    id: FileId,
    /// Bytes of the current file consumed so far.
    pos: u64,
    /// The partial line after the last whole one.
    partial: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    max_line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId(u64, u64);

fn id_of(m: &std::fs::Metadata) -> FileId {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        FileId(m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        // No inode: a new file is recognised by a different creation time.
        let t = m.created().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        FileId(t.map_or(0, |d| d.as_secs()), t.map_or(0, |d| d.subsec_nanos() as u64))
    }
}

/// Bytes read from the file per look at most (a large backlog comes in pieces).
const READ_MAX: usize = 4 << 20;

impl Follower {
    /// Open `path`; with `from_end`, only what is written from now on is read.
    pub fn open(path: &Path, from_end: bool, max_line: usize) -> io::Result<Follower> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory; --follow reads one log file",
            ));
        }
        let pos = if from_end { file.seek(SeekFrom::End(0))? } else { 0 };
        Ok(Follower {
            path: path.to_path_buf(),
            file,
            id: id_of(&meta),
            pos,
            partial: Vec::new(),
            skipping: false,
            max_line: max_line.max(1),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append to `out` the whole lines written since the last look (at most about 4 MiB; call
    /// again at once when `out` came back full). On `Rotated`, `out` holds the old file's open
    /// last line, if any; the new file's lines come from the next look on. A rotation or
    /// truncation is reported before any line of the new content: the caller starts a new stream.
    pub fn look(&mut self, out: &mut Vec<u8>) -> io::Result<Turn> {
        let got = self.read_some(out)?;
        if got > 0 {
            return Ok(Turn::Same);
        }
        // At the end of what we hold: has the path moved on, or the file shrunk?
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if id_of(&meta) != self.id {
                if let Ok(file) = File::open(&self.path) {
                    let meta = file.metadata()?;
                    self.finish_partial(out);
                    self.file = file;
                    self.id = id_of(&meta);
                    self.pos = 0;
                    return Ok(Turn::Rotated);
                }
            }
        }
        let len = self.file.metadata()?.len();
        if len < self.pos {
            self.file.seek(SeekFrom::Start(0))?;
            self.pos = 0;
            self.partial.clear();
            self.skipping = false;
            return Ok(Turn::Truncated);
        }
        Ok(Turn::Same)
    }

    /// Read what is there (up to READ_MAX) and move the whole lines to `out`.
    fn read_some(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        while total < READ_MAX {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n;
            self.pos += n as u64;
            self.take_lines(&buf[..n], out);
        }
        Ok(total)
    }

    fn take_lines(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            let nl = memchr::memchr(b'\n', data);
            if self.skipping {
                match nl {
                    Some(i) => {
                        self.skipping = false;
                        data = &data[i + 1..];
                        continue;
                    }
                    None => return,
                }
            }
            let end = nl.unwrap_or(data.len());
            let room = self.max_line.saturating_sub(self.partial.len());
            if end > room {
                // Over-long: hand out what fits as a line and skip to the line's end.
                self.partial.extend_from_slice(&data[..room]);
                self.finish_partial(out);
                self.skipping = true;
                continue;
            }
            match nl {
                Some(i) => {
                    out.extend_from_slice(&self.partial);
                    self.partial.clear();
                    out.extend_from_slice(&data[..=i]);
                    data = &data[i + 1..];
                }
                None => {
                    self.partial.extend_from_slice(data);
                    return;
                }
            }
        }
    }

    /// The old file's last line had no line end: hand it out as a line.
    fn finish_partial(&mut self, out: &mut Vec<u8>) {
        if !self.partial.is_empty() {
            out.extend_from_slice(&self.partial);
            out.push(b'\n');
            self.partial.clear();
        }
        self.skipping = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(p: &Path, s: &str) {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
    }

    #[test]
    fn whole_lines_rename_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mail.log");
        append(&p, "one\ntw");
        let mut f = Follower::open(&p, false, 1 << 20).unwrap();
        let mut out = Vec::new();
        assert_eq!(f.look(&mut out).unwrap(), Turn::Same);
        assert_eq!(out, b"one\n");
        out.clear();
        append(&p, "o\n");
        f.look(&mut out).unwrap();
        assert_eq!(out, b"two\n");
        // Rename rotation with a last line still open in the old file.
        out.clear();
        append(&p, "three");
        std::fs::rename(&p, dir.path().join("mail.log.1")).unwrap();
        f.look(&mut out).unwrap();
        assert_eq!(out, b"");
        append(&p, "four\n");
        assert_eq!(f.look(&mut out).unwrap(), Turn::Rotated);
        assert_eq!(out, b"three\n", "the old file's open line is its last");
        out.clear();
        f.look(&mut out).unwrap();
        assert_eq!(out, b"four\n");
        // copytruncate
        out.clear();
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(0).unwrap();
        append(&p, "v\n");
        assert_eq!(f.look(&mut out).unwrap(), Turn::Truncated);
        f.look(&mut out).unwrap();
        assert_eq!(out, b"v\n");
    }

    #[test]
    fn over_long_lines_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mail.log");
        append(&p, &format!("{}\nok\n", "x".repeat(100)));
        let mut f = Follower::open(&p, false, 10).unwrap();
        let mut out = Vec::new();
        f.look(&mut out).unwrap();
        assert_eq!(out, b"xxxxxxxxxx\nok\n");
    }

    #[test]
    fn from_end_skips_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mail.log");
        append(&p, "old\n");
        let mut f = Follower::open(&p, true, 1 << 20).unwrap();
        append(&p, "new\n");
        let mut out = Vec::new();
        f.look(&mut out).unwrap();
        assert_eq!(out, b"new\n");
    }
}
