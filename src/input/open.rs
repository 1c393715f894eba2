//! Open an input: decompress by magic bytes (gzip, bzip2, xz, zstd — never by name), then sniff
//! what the stream holds from its first bytes.

use super::walk::Source;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Chain as IoChain, Cursor, Read};
use std::time::SystemTime;

/// What a stream holds, decided from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Syslog-style lines (Postfix and whatever shares its log).
    Syslog,
    /// One email or an mbox of several (bounce messages).
    Email,
    /// Exchange message tracking log (W3C `#Fields:` header).
    ExchangeLog,
    /// Exchange CSV export (Export-Csv, message trace).
    ExchangeCsv,
    /// Binary data: skipped with a warning.
    Binary,
    /// Nothing in it.
    Empty,
}

/// Compression found by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

pub fn compression_of(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") && head.len() >= 4 && head[3].is_ascii_digit() {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// An opened, decompressed input with its first bytes sniffed.
pub struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub kind: Kind,
    pub compression: Compression,
    /// Modification time (now for stdin): the reference for syslog stamps without a year.
    pub mtime: SystemTime,
    /// The first bytes of the decompressed stream (also still in `reader`).
    pub head: Vec<u8>,
}

const HEAD: usize = 16 * 1024;

/// Read up to `n` bytes (fewer only at the end of the stream); an error after some bytes is kept
/// for later: the bytes are still read (a truncated archive gives what it has, then its error).
fn read_head_lenient(r: &mut dyn Read, n: usize) -> io::Result<(Vec<u8>, Option<io::Error>)> {
    // Straight into the buffer: `read_to_end` keeps what it read before an error and retries
    // an interrupted read itself.
    let mut buf = Vec::with_capacity(n);
    match r.take(n as u64).read_to_end(&mut buf) {
        Ok(_) => Ok((buf, None)),
        Err(e) if buf.is_empty() => Err(e),
        Err(e) => Ok((buf, Some(e))),
    }
}

/// A reader that fails with a stored error (the rest of a stream that broke early).
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

type Rewound<R> = IoChain<Cursor<Vec<u8>>, R>;

fn rewind<R: Read>(head: Vec<u8>, rest: R) -> Rewound<R> {
    Cursor::new(head).chain(rest)
}

/// Bytes read from input files so far, process-wide (before decompression): what a progress
/// bar shows against the files' sizes.
pub static FILE_BYTES_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A file that adds what is read from it to `FILE_BYTES_READ`.
struct Counted(File);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        FILE_BYTES_READ.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A reader that undoes `compression` (none: the bytes as they are).
fn decoder(compression: Compression, raw: impl Read + Send + 'static) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(raw)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
    })
}

/// Open a source, undo its compression and sniff its kind.
pub fn open(src: &Source) -> io::Result<Opened> {
    // The first block of the file's own bytes: its magic bytes say the compression, and for a
    // plain file it is already the head (a small file is read whole: one read and one at its end).
    // It is read from the file itself, whose reads fill the buffer as it is (through the counting
    // wrapper, every read would zero the buffer first).
    let (raw, mtime, size, (first, first_error)): (Box<dyn Read + Send>, SystemTime, Option<u64>, _) = match src {
        Source::Stdin => {
            let mut stdin = io::stdin();
            let head = read_head_lenient(&mut stdin, HEAD)?;
            (Box::new(stdin), SystemTime::now(), None, head)
        }
        Source::File(p) => {
            let mut f = File::open(p)?;
            let meta = f.metadata()?;
            if meta.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            let size = meta.is_file().then_some(meta.len());
            let head = read_head_lenient(&mut f, HEAD)?;
            FILE_BYTES_READ.fetch_add(head.0.len() as u64, std::sync::atomic::Ordering::Relaxed);
            (
                Box::new(Counted(f)),
                meta.modified().unwrap_or_else(|_| SystemTime::now()),
                size,
                head,
            )
        }
    };
    let compression = compression_of(&first);
    let raw_rest: Box<dyn Read + Send> = match first_error {
        Some(e) => Box::new(Failed(Some(e))),
        None if first.len() < HEAD => Box::new(io::empty()),
        None => raw,
    };
    let (mut decoded, (mut head, mut early_error)) = match compression {
        Compression::None => (raw_rest, (first, None)),
        packed => {
            let mut decoded = decoder(packed, rewind(first, raw_rest))?;
            let head = read_head_lenient(&mut decoded, HEAD)?;
            (decoded, head)
        }
    };
    // UTF-16 text (Windows PowerShell's `>` and EXO report downloads): decoded to UTF-8 here, so
    // every reader sees UTF-8.
    if let Some(le) = utf16_of(&head) {
        let rest: Box<dyn Read + Send> = match early_error.take() {
            Some(e) => Box::new(Failed(Some(e))),
            None => decoded,
        };
        decoded = Box::new(Utf16Reader::new(rewind(head, rest), le));
        (head, early_error) = read_head_lenient(&mut decoded, HEAD)?;
    }
    let kind = sniff(&head);
    let rest: Box<dyn Read + Send> = match early_error {
        Some(e) => Box::new(Failed(Some(e))),
        None => decoded,
    };
    // A buffer no larger than a plain file needs: a folder of 10,000 small bounce emails must
    // not allocate (and zero) 256 KiB for each.
    let capacity = match (compression, size) {
        (Compression::None, Some(n)) => (n as usize).saturating_add(1).clamp(8 * 1024, 256 * 1024),
        _ => 256 * 1024,
    };
    let reader = Box::new(BufReader::with_capacity(capacity, rewind(head.clone(), rest)));
    Ok(Opened {
        reader,
        kind,
        compression,
        mtime,
        head,
    })
}

/// UTF-16 by its byte-order mark, or (without one) by text whose every other byte is NUL:
/// `Some(true)` little-endian, `Some(false)` big-endian.
fn utf16_of(head: &[u8]) -> Option<bool> {
    if head.starts_with(&[0xff, 0xfe]) {
        return Some(true);
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return Some(false);
    }
    let sample = &head[..head.len().min(512) & !1];
    if sample.len() < 16 {
        return None;
    }
    let (even, odd): (Vec<u8>, Vec<u8>) = sample.chunks(2).map(|p| (p[0], p[1])).unzip();
    let text = |b: &[u8]| {
        b.iter()
            .all(|&c| c == b'\t' || c == b'\n' || c == b'\r' || (0x20..0x7f).contains(&c))
    };
    let nul = |b: &[u8]| b.iter().all(|&c| c == 0);
    if text(&even) && nul(&odd) {
        Some(true)
    } else if nul(&even) && text(&odd) {
        Some(false)
    } else {
        None
    }
}

/// A UTF-16 stream read as UTF-8 (a byte-order mark is dropped; unpaired surrogates become
/// U+FFFD; an odd last byte is dropped).
struct Utf16Reader<R> {
    inner: R,
    little: bool,
    pending: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    started: bool,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, little: bool) -> Self {
        Utf16Reader {
            inner,
            little,
            pending: Vec::new(),
            out: Vec::new(),
            pos: 0,
            started: false,
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            let mut chunk = [0u8; 16 * 1024];
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.pending.extend_from_slice(&chunk[..n]);
            // Keep a trailing odd byte, and a trailing high surrogate, for the next read.
            let mut units: Vec<u16> = self
                .pending
                .chunks_exact(2)
                .map(|p| {
                    if self.little {
                        u16::from_le_bytes([p[0], p[1]])
                    } else {
                        u16::from_be_bytes([p[0], p[1]])
                    }
                })
                .collect();
            let mut keep = self.pending.len() % 2;
            if units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
                units.pop();
                keep += 2;
            }
            if !self.started {
                self.started = true;
                if units.first() == Some(&0xfeff) {
                    units.remove(0);
                }
            }
            let rest = self.pending.split_off(self.pending.len() - keep);
            self.pending = rest;
            self.out.clear();
            self.pos = 0;
            let text: String = char::decode_utf16(units).map(|c| c.unwrap_or('\u{fffd}')).collect();
            self.out.extend_from_slice(text.as_bytes());
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decide what the first bytes of a stream are.
pub fn sniff(head: &[u8]) -> Kind {
    if head.is_empty() {
        return Kind::Empty;
    }
    let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    // An email is known by its header block: NUL and control bytes further on (a returned
    // message sent as raw binary, UTF-16 text) do not make it binary data.
    let email_head = || looks_like_email(body) && !looks_binary(header_block(body));
    if looks_binary(head) && !email_head() {
        return Kind::Binary;
    }
    let first = first_line(body);
    if first.starts_with(b"#Software: Microsoft Exchange") || (first.starts_with(b"#") && contains_line_start(body, b"#Fields: date-time"))
    {
        return Kind::ExchangeLog;
    }
    if is_exchange_csv_header(first)
        || (first.starts_with(b"#TYPE ") && is_exchange_csv_header(first_line(body[first.len().min(body.len())..].trim_ascii_start())))
    {
        return Kind::ExchangeCsv;
    }
    if looks_like_email(body) {
        return Kind::Email;
    }
    Kind::Syslog
}

/// The bytes up to the first empty line (any line end), or all of them.
fn header_block(b: &[u8]) -> &[u8] {
    let ends = [&b"\n\n"[..], b"\r\n\r\n", b"\r\r"];
    let end = ends.iter().filter_map(|e| memchr::memmem::find(b, e)).min().unwrap_or(b.len());
    &b[..end]
}

fn first_line(b: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', b).unwrap_or(b.len());
    let l = &b[..end];
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn contains_line_start(b: &[u8], needle: &[u8]) -> bool {
    b.starts_with(needle) || memchr::memmem::find(b, &[b"\n", needle].concat()).is_some()
}

/// A CSV header row of an Exchange export: every cell a column name (letters, digits, `-`, `_`,
/// spaces; quoted or not), among them an event or status column and a recipient or message id
/// column. (A JSON line, or a CSV of data rows, is not one.)
fn is_exchange_csv_header(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else { return false };
    let mut names = Vec::new();
    for cell in text.split(',') {
        let c = cell.trim();
        let c = c.strip_prefix('"').and_then(|c| c.strip_suffix('"')).unwrap_or(c);
        if c.is_empty()
            || !c.starts_with(|ch: char| ch.is_ascii_alphabetic())
            || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | ' '))
        {
            return false;
        }
        names.push(c.to_ascii_lowercase().replace(['-', '_', ' '], ""));
    }
    let has = |n: &str| names.iter().any(|x| x == n);
    names.len() >= 3
        && (has("eventid") || has("status") || has("recipientstatus"))
        && (has("recipients") || has("recipientaddress") || has("messageid") || has("messagetraceid"))
}

/// More than a few NUL bytes, or many control bytes, in the first block.
fn looks_binary(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(8192)];
    // NUL bytes, and control bytes other than tab, line ends, form feed, ESC (ISO-2022
    // escapes) and NUL, in one pass. Counted per 64 bytes into one byte each, which the
    // compiler turns into byte-wide vector adds (a plain filter-count adds into 64-bit lanes:
    // 5 % of reading 10,000 small emails).
    let (nul, ctrl) = sample
        .chunks(64)
        .map(|c| {
            c.iter().fold((0u8, 0u8), |(n, k), &b| {
                let other = b < 0x20 && !matches!(b, 0 | b'\t' | b'\n' | b'\r' | 0x0c | 0x1b);
                (n + u8::from(b == 0), k + u8::from(other))
            })
        })
        .fold((0usize, 0usize), |(n, k), (a, b)| (n + a as usize, k + b as usize));
    nul * 100 > sample.len() || ctrl * 10 > sample.len()
}

/// An mbox `From ` line, or a block of RFC 5322 header fields at the start.
pub fn looks_like_email(b: &[u8]) -> bool {
    let mut start = b;
    while let Some(r) = start
        .strip_prefix(b"\r\n")
        .or_else(|| start.strip_prefix(b"\n"))
        .or_else(|| start.strip_prefix(b"\r"))
    {
        start = r;
    }
    if start.starts_with(b"From ") {
        return true;
    }
    // Any line end (LF, CRLF, CR alone) counts as one.
    let mut rest = start;
    let lines = std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = if rest[end..].starts_with(b"\r\n") { 2 } else { 1 };
        rest = &rest[(end + skip).min(rest.len())..];
        Some(line)
    });
    let mut fields = 0;
    let mut known = 0;
    for line in lines.take(100) {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else { return false };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return false;
        }
        fields += 1;
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_slice(),
            b"received"
                | b"return-path"
                | b"from"
                | b"to"
                | b"subject"
                | b"date"
                | b"message-id"
                | b"mime-version"
                | b"content-type"
                | b"delivered-to"
                | b"x-original-to"
        ) {
            known += 1;
        }
        if fields >= 2 && known >= 1 {
            // Two header fields, one of them a mail header: enough (a message's header block is
            // often 50 fields long).
            return true;
        }
    }
    fields >= 2 && known >= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs() {
        assert_eq!(sniff(b""), Kind::Empty);
        assert_eq!(sniff(b"Jun  3 12:00:00 mx postfix/smtp[1]: x\n"), Kind::Syslog);
        assert_eq!(
            sniff(b"From MAILER-DAEMON Mon Jan  5 00:00:00 2026\nReturn-Path: <>\n"),
            Kind::Email
        );
        assert_eq!(
            sniff(b"Return-Path: <>\r\nReceived: from x\r\nSubject: failure\r\n\r\nbody"),
            Kind::Email
        );
        assert_eq!(
            sniff(b"\xef\xbb\xbf#Software: Microsoft Exchange Server\r\n#Fields: date-time,x\r\n"),
            Kind::ExchangeLog
        );
        assert_eq!(sniff(&[0u8, 1, 2, 3, 0, 0, 0, 9, 0, 0, 0, 0]), Kind::Binary);
        // An email whose returned message is raw binary is an email; binary data that starts
        // like one but has NUL bytes in its "header" is not.
        let mut mail = b"Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n\nbody\n".to_vec();
        mail.extend(std::iter::repeat_n(0u8, 4000));
        assert_eq!(sniff(&mail), Kind::Email);
        let mut junk = b"From: a@b\nSubject: \x00\x00\x00\x00\x00\x00\n\n".to_vec();
        junk.extend(std::iter::repeat_n(0u8, 4000));
        assert_eq!(sniff(&junk), Kind::Binary);
        assert_eq!(compression_of(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(compression_of(b"BZh9"), Compression::Bzip2);
    }

    #[test]
    fn utf16_is_read_as_utf8() {
        let text = "\u{feff}\"Timestamp\",\"EventId\",\"Recipients\"\r\n\"1/2/2024 3:04:05 PM\",\"FAIL\",\"zoë@example.com 😀\"\r\n";
        for le in [true, false] {
            let bytes: Vec<u8> = text
                .encode_utf16()
                .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
                .collect();
            assert_eq!(utf16_of(&bytes), Some(le));
            let mut out = Vec::new();
            // Tiny reads split surrogate pairs and code units across calls.
            let mut r = Utf16Reader::new(std::io::Cursor::new(bytes), le);
            let mut b = [0u8; 3];
            loop {
                let n = r.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&b[..n]);
            }
            assert_eq!(String::from_utf8(out).unwrap(), text.trim_start_matches('\u{feff}'));
        }
        let no_bom: Vec<u8> = "#Software: Microsoft Exchange Server\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(utf16_of(&no_bom), Some(true));
        assert_eq!(utf16_of(b"plain ascii text of some length"), None);
    }

    #[test]
    fn every_byte_comes_through_whatever_the_size_around_the_first_block() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        for size in [0, 1, 5, 6, 7, HEAD - 1, HEAD, HEAD + 1, 3 * HEAD + 17] {
            let text: Vec<u8> = (0..size).map(|i| b"Nov 22 10:00:00 mx postfix/smtp[1]: x\n"[i % 38]).collect();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&text).unwrap();
            for (name, bytes) in [("plain", text.clone()), ("gz", gz.finish().unwrap())] {
                let path = dir.path().join(format!("{size}.{name}"));
                std::fs::write(&path, &bytes).unwrap();
                let mut opened = open(&Source::File(path)).unwrap();
                let mut all = Vec::new();
                opened.reader.read_to_end(&mut all).unwrap();
                assert_eq!(all.len(), text.len(), "{name} of {size} bytes");
                assert!(all == text, "{name} of {size} bytes");
                assert_eq!(opened.head, text[..size.min(HEAD)], "{name} of {size} bytes");
                let packed = if name == "gz" { Compression::Gzip } else { Compression::None };
                assert_eq!(opened.compression, packed, "{name} of {size} bytes");
            }
        }
    }
}
