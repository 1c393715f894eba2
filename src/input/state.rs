//! `--state FILE`: how far each syslog file was read, so the next run reads only what is new.
//!
//! A file is known by a fingerprint of its first decompressed bytes (up to 1 KiB; with fewer
//! than 64 bytes its device and inode must match too), not by its name: after logrotate renames
//! `mail.log` to `mail.log.1` and later compresses it to `mail.log.2.gz`, the file is still
//! recognised and only what follows the recorded offset is read. A file shorter than the offset
//! was truncated (copytruncate) and is read from its start. A plain file is read up to its last
//! line end, so a line being written is left for the next run. Only syslog-style logs are
//! resumed; bounce emails and Exchange files are read whole (their readers need the start).
//!
//! The state is JSON, written to a temporary file and renamed over the old one. A state file
//! that cannot be read as such is an error, never a silent full re-read.

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const VERSION: u32 = 1;
const FP_MAX: usize = 1024;
const FP_MIN_ALONE: usize = 64;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// The path it was last read under (informational; matching is by fingerprint).
    pub path: String,
    pub dev: u64,
    pub ino: u64,
    /// Bytes of the decompressed start the fingerprint covers, and their FNV-1a hash (hex).
    pub fp_len: usize,
    pub fp: String,
    /// Decompressed bytes read so far (always at a line end) and the lines in them.
    pub offset: u64,
    pub lines: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub files: Vec<Entry>,
}

fn fnv1a(b: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in b {
        h ^= c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(unix)]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dev_ino(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

impl State {
    /// Load a state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State, String> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(State {
                    version: VERSION,
                    files: Vec::new(),
                })
            }
            Err(e) => return Err(format!("cannot read state file {}: {e}", path.display())),
        };
        let state: State = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "state file {} is not a bouncer state ({e}); fix or remove it (removing it reads everything again)",
                path.display()
            )
        })?;
        if state.version != VERSION {
            return Err(format!(
                "state file {} has version {}, this bouncer writes version {VERSION}",
                path.display(),
                state.version
            ));
        }
        Ok(state)
    }

    /// Write atomically: a temporary file beside it, then a rename.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut tmp = tempfile_in(dir, path)?;
        serde_json::to_writer_pretty(&mut tmp.1, self).map_err(io::Error::other)?;
        io::Write::write_all(&mut tmp.1, b"\n")?;
        tmp.1.sync_all()?;
        std::fs::rename(&tmp.0, path)
    }

    /// The entry for a file with this decompressed start (and device/inode).
    fn find(&self, head: &[u8], dev: u64, ino: u64) -> Option<&Entry> {
        self.files.iter().find(|e| {
            e.fp_len > 0
                && e.fp_len <= head.len()
                && fnv1a(&head[..e.fp_len]) == e.fp
                && (e.fp_len >= FP_MIN_ALONE || (e.dev, e.ino) == (dev, ino))
        })
    }
}

fn tempfile_in(dir: &Path, target: &Path) -> io::Result<(std::path::PathBuf, std::fs::File)> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    for i in 0..100u32 {
        let p = dir.join(format!(".{name}.tmp{}.{i}", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a temporary state file"))
}

/// One run's use of the state: the old entries to resume from, the new ones as files finish.
pub struct Resume {
    old: State,
    new: Mutex<Vec<Entry>>,
}

/// A file being read from where the last run stopped.
pub struct Window {
    pub reader: Box<dyn BufRead + Send>,
    /// Lines before the window (the first line read is number `lines_before + 1`).
    pub lines_before: u64,
    /// Bytes skipped at the start.
    pub skipped: u64,
    /// A note for stderr (truncated, resumed), if any.
    pub note: Option<String>,
    counted: Arc<AtomicU64>,
    entry: Entry,
}

impl Resume {
    pub fn new(old: State) -> Resume {
        Resume {
            old,
            new: Mutex::new(Vec::new()),
        }
    }

    /// Position a syslog stream: skip what an earlier run read, stop at the last line end of a
    /// plain file.
    pub fn window(&self, path: &Path, mut reader: Box<dyn BufRead + Send>, head: &[u8], compressed: bool) -> io::Result<Window> {
        let meta = std::fs::metadata(path)?;
        let (dev, ino) = dev_ino(&meta);
        let fp_len = head.len().min(FP_MAX);
        let mut entry = Entry {
            path: path.display().to_string(),
            dev,
            ino,
            fp_len,
            fp: fnv1a(&head[..fp_len]),
            offset: 0,
            lines: 0,
        };
        // A plain file ends, for this run, at its last line end.
        let end = if compressed { None } else { Some(last_line_end(path, meta.len())?) };
        let mut note = None;
        let (mut skip, mut lines_before) = (0, 0);
        if let Some(old) = self.old.find(head, dev, ino) {
            match end {
                Some(end) if end < old.offset => {
                    note = Some(format!(
                        "{}: shorter than when last read (truncated): read from the start",
                        path.display()
                    ));
                }
                _ => {
                    skip = old.offset;
                    lines_before = old.lines;
                }
            }
        }
        let skipped = io::copy(&mut (&mut reader).take(skip), &mut io::sink())?;
        if skipped < skip {
            // A compressed file shorter than recorded: not the same file after all.
            return Err(io::Error::other(
                "shorter than the state says; remove it from the state file to read it again",
            ));
        }
        entry.offset = skip;
        entry.lines = lines_before;
        let counted = Arc::new(AtomicU64::new(0));
        let limited: Box<dyn Read + Send> = match end {
            Some(end) => Box::new(reader.take(end.saturating_sub(skip))),
            None => reader,
        };
        let reader = Box::new(io::BufReader::with_capacity(
            64 * 1024,
            Counting {
                inner: limited,
                n: counted.clone(),
            },
        ));
        Ok(Window {
            reader,
            lines_before,
            skipped,
            note,
            counted,
            entry,
        })
    }

    /// The window was read to its end with `lines` lines in all (those before it included).
    pub fn done(&self, w: &Window, lines: u64) {
        let mut e = w.entry.clone();
        e.offset = w.skipped + w.counted.load(Ordering::Relaxed);
        e.lines = lines;
        self.new.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    /// The state to save: this run's entries, and the old ones for files not read this run that
    /// still exist (a run over other paths does not forget them).
    pub fn finish(self) -> State {
        let new = self.new.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut files = new.clone();
        for old in self.old.files {
            let replaced = new.iter().any(|n| (n.fp_len, &n.fp) == (old.fp_len, &old.fp) || n.path == old.path);
            if !replaced && Path::new(&old.path).exists() {
                files.push(old);
            }
        }
        State { version: VERSION, files }
    }
}

/// Offset just after the last `\n` of a plain file of `len` bytes (0 if it has none).
fn last_line_end(path: &Path, len: u64) -> io::Result<u64> {
    let mut f = std::fs::File::open(path)?;
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

struct Counting {
    inner: Box<dyn Read + Send>,
    n: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_state_is_an_error_and_missing_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        assert!(State::load(&p).unwrap().files.is_empty());
        std::fs::write(&p, "{not json").unwrap();
        assert!(State::load(&p).unwrap_err().contains("is not a bouncer state"));
        let s = State {
            version: VERSION,
            files: Vec::new(),
        };
        s.save(&p).unwrap();
        assert_eq!(State::load(&p).unwrap().files.len(), 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn last_line_end_finds_the_last_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, "a\nbc\nde").unwrap();
        assert_eq!(last_line_end(&p, 7).unwrap(), 5);
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(last_line_end(&p, 3).unwrap(), 0);
    }
}
