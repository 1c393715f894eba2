//! Cut a stream into chunks of whole lines for parallel parsing.
//!
//! One reader thread per stream reads (and decompresses) sequentially into buffers of about
//! `size` bytes, cut after the last line end; workers parse chunks in parallel; a merge step
//! puts their results back in order. Memory stays bounded: a line longer than a whole chunk is
//! cut at `max_line` and the rest of it skipped while reading, so a 1 GB line never sits in
//! memory (the parser cuts shorter long lines).

use std::io::{self, Read};

/// A piece of a stream holding whole lines.
#[derive(Debug)]
pub struct Chunk {
    /// Index of the chunk in its stream (0-based).
    pub index: usize,
    pub data: Vec<u8>,
    /// Lines longer than a chunk, cut at `max_line` while reading (their tails were skipped).
    pub cut_lines: u64,
}

pub struct ChunkReader<R> {
    inner: R,
    size: usize,
    max_line: usize,
    next_index: usize,
    /// Bytes read from the stream so far.
    pub bytes: u64,
    done: bool,
    /// The partial line after the last chunk's end.
    carry: Vec<u8>,
    /// A buffer given back by `recycle`.
    spare: Option<Vec<u8>>,
    pending_error: Option<io::Error>,
}

impl<R: Read> ChunkReader<R> {
    pub fn new(inner: R, size: usize, max_line: usize) -> Self {
        ChunkReader {
            inner,
            size: size.max(1),
            max_line: max_line.max(1),
            next_index: 0,
            bytes: 0,
            done: false,
            carry: Vec::new(),
            spare: None,
            pending_error: None,
        }
    }

    /// The next chunk, `Ok(None)` at the end.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.pending_error.take() {
            self.done = true;
            return Err(e);
        }
        if self.done && self.carry.is_empty() {
            return Ok(None);
        }
        // Start with the partial line left over from the last chunk, then read straight into
        // the chunk's buffer until it holds `size` bytes (one copy from the reader).
        let mut data = self.spare.take().unwrap_or_default();
        data.extend_from_slice(&self.carry);
        self.carry.clear();
        data.reserve(self.size + 64 * 1024);
        let mut cut_lines = 0;
        while !self.done && (data.len() < self.size || memchr::memrchr(b'\n', &data).is_none()) {
            let have = data.len();
            let want = self.size.saturating_sub(have).clamp(64 * 1024, 1 << 20) as u64;
            // read_to_end on a Take fills spare capacity without zeroing it first.
            match (&mut self.inner).take(want).read_to_end(&mut data) {
                Ok(0) => self.done = true,
                Ok(k) => self.bytes += k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.bytes += (data.len() - have) as u64,
                Err(e) => {
                    self.bytes += (data.len() - have) as u64;
                    self.done = true;
                    if data.is_empty() {
                        return Err(e);
                    }
                    self.pending_error = Some(e);
                }
            }
            // A line longer than `max_line` with no end in sight: keep its first `max_line`
            // bytes, skip the rest (so memory stays within a chunk plus a line).
            let line_start = memchr::memrchr(b'\n', &data).map_or(0, |i| i + 1);
            if !self.done && data.len() - line_start > self.max_line {
                cut_lines += 1;
                data.truncate(line_start + self.max_line);
                data.push(b'\n');
                self.skip_to_line_end()?;
                data.append(&mut self.carry);
            }
        }
        if !self.done {
            // Cut after the last whole line; keep the rest for the next chunk.
            if let Some(last) = memchr::memrchr(b'\n', &data) {
                self.carry = data.split_off(last + 1);
            }
        }
        if data.is_empty() {
            return Ok(None);
        }
        let index = self.next_index;
        self.next_index += 1;
        Ok(Some(Chunk { index, data, cut_lines }))
    }

    /// Give back a chunk's buffer to be filled again (saves allocating and faulting in pages).
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.is_none() && buf.capacity() >= self.size {
            buf.clear();
            self.spare = Some(buf);
        }
    }

    /// Read and drop bytes up to and including the next `\n`.
    fn skip_to_line_end(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let k = match self.inner.read(&mut buf) {
                Ok(0) => {
                    self.done = true;
                    return Ok(());
                }
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            self.bytes += k as u64;
            if let Some(i) = memchr::memchr(b'\n', &buf[..k]) {
                self.carry.extend_from_slice(&buf[i + 1..k]);
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 7 bytes a call, like a slow pipe.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let k = buf.len().min(7).min(self.0.len());
            buf[..k].copy_from_slice(&self.0[..k]);
            self.0 = &self.0[k..];
            Ok(k)
        }
    }

    fn chunks(input: &[u8], size: usize, max_line: usize) -> Vec<(Vec<u8>, u64)> {
        let mut r = ChunkReader::new(Trickle(input), size, max_line);
        let mut v = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            v.push((c.data, c.cut_lines));
        }
        assert_eq!(r.bytes, input.len() as u64);
        v
    }

    #[test]
    fn cuts_after_whole_lines() {
        let input = b"aaaa\nbb\ncccccc\nd";
        let v = chunks(input, 6, 100);
        let all: Vec<u8> = v.iter().flat_map(|c| c.0.clone()).collect();
        assert_eq!(all, input.to_vec());
        assert!(v[..v.len() - 1].iter().all(|c| c.0.ends_with(b"\n")), "{v:?}");
        assert_eq!(v.last().unwrap().0, b"d".to_vec());
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_cut_while_reading() {
        // Longer than one read: the reader cuts it (shorter long lines are the parser's to cut).
        let mut input = vec![b'x'; 200_000];
        input.extend_from_slice(b"\nshort\nmore\n");
        let v = chunks(&input, 8, 5);
        let all: Vec<u8> = v.iter().flat_map(|c| c.0.clone()).collect();
        assert_eq!(all, b"xxxxx\nshort\nmore\n".to_vec());
        assert_eq!(v.iter().map(|c| c.1).sum::<u64>(), 1);
    }
}
