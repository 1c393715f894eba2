//! Split a stream into lines without trusting it: a line longer than the limit is cut there (the
//! rest of it is skipped, not kept in memory), `\r\n` and a final line without `\n` are handled.

use std::io::{self, BufRead};

pub struct Lines<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    /// 1-based number of the line last returned.
    pub number: u64,
    /// Bytes consumed so far.
    pub bytes: u64,
}

/// One line: its bytes (without the line end) and whether it was cut at the limit.
pub struct Line<'a> {
    pub bytes: &'a [u8],
    /// 1-based line number.
    pub number: u64,
    pub truncated: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Lines {
            inner,
            buf: Vec::with_capacity(4096),
            max: max.max(1),
            number: 0,
            bytes: 0,
        }
    }

    /// The next line, `Ok(None)` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut truncated = false;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            let room = self.max.saturating_sub(self.buf.len());
            if take > room {
                truncated = true;
            }
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            let used = if done { take + 1 } else { take };
            self.inner.consume(used);
            self.bytes += used as u64;
            if done {
                break;
            }
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line {
            bytes: &self.buf,
            number: self.number,
            truncated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_cuts() {
        let data = b"one\r\ntwo\n\nthree-is-long\nlast";
        let mut l = Lines::new(&data[..], 5);
        let mut got = Vec::new();
        while let Some(line) = l.next_line().unwrap() {
            got.push((String::from_utf8_lossy(line.bytes).into_owned(), line.truncated));
        }
        assert_eq!(
            got,
            vec![
                ("one".into(), false),
                ("two".into(), false),
                ("".into(), false),
                ("three".into(), true),
                ("last".into(), false)
            ]
        );
        assert_eq!(l.number, 5);
        assert_eq!(l.bytes, data.len() as u64);
    }
}
