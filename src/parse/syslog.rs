//! The syslog line header every Unix MTA log shares: time stamp, host, program tag, message.
//!
//! Pure: bytes in, borrowed slices out. Three stamp shapes are read:
//! `Jun  3 12:34:56` (classic BSD syslog, no year), `2026-01-05T00:00:01.123456+00:00` (RFC 3339,
//! rsyslog's high-precision format) and `2013 Jun 10 06:27:30.123` (rsyslog with a year).
//! A Solaris tag `[ID 197553 mail.info] ` after the program is skipped.

/// A time stamp as written on the line (year and offset only where the line has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub year: Option<i32>,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
    /// Offset east of UTC in seconds, when the stamp carries one.
    pub offset: Option<i32>,
}

/// The parts of one syslog line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub stamp: Stamp,
    pub host: &'a [u8],
    /// The program tag without the pid: `postfix/smtp`, `postfix-out/qmgr`, `dovecot`.
    pub program: &'a [u8],
    pub message: &'a [u8],
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month(b: &[u8]) -> Option<u32> {
    let m = b.get(..3)?;
    MONTHS.iter().position(|x| x.eq_ignore_ascii_case(m)).map(|i| i as u32 + 1)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `HH:MM:SS[.frac]` at the start of `b`; returns the stamp parts and the bytes used.
fn clock(b: &[u8]) -> Option<(u32, u32, u32, u32, usize)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut used = 8;
    let mut nanos = 0;
    if b.get(8) == Some(&b'.') {
        let frac_len = b[9..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac_len > 0 {
            let frac = &b[9..9 + frac_len.min(9)];
            nanos = digits(frac)? * 10u32.pow(9 - frac.len() as u32);
            used = 9 + frac_len;
        }
    }
    Some((h, m, s, nanos, used))
}

/// Parse the stamp at the start of a line; returns it and the rest after the separating space.
pub fn parse_stamp(b: &[u8]) -> Option<(Stamp, &[u8])> {
    if b.len() < 15 {
        return None;
    }
    if b[0].is_ascii_digit() {
        if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && (b[10] == b'T' || b[10] == b' ') {
            // RFC 3339: 2026-01-05T00:00:01[.123456](+00:00|Z)
            let year = digits(&b[0..4])? as i32;
            let (mo, d) = (digits(&b[5..7])?, digits(&b[8..10])?);
            let (h, mi, s, nanos, used) = clock(&b[11..])?;
            let mut i = 11 + used;
            let offset = match b.get(i) {
                Some(b'Z') | Some(b'z') => {
                    i += 1;
                    Some(0)
                }
                Some(&sign @ (b'+' | b'-')) if b.len() >= i + 6 && b[i + 3] == b':' => {
                    let (oh, om) = (digits(&b[i + 1..i + 3])?, digits(&b[i + 4..i + 6])?);
                    i += 6;
                    let secs = (oh * 3600 + om * 60) as i32;
                    Some(if sign == b'-' { -secs } else { secs })
                }
                _ => None,
            };
            if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || b.get(i) != Some(&b' ') {
                return None;
            }
            let stamp = Stamp {
                year: Some(year),
                month: mo,
                day: d,
                hour: h,
                minute: mi,
                second: s,
                nanos,
                offset,
            };
            return Some((stamp, &b[i + 1..]));
        }
        if b[4] == b' ' {
            // rsyslog with a year: 2013 Jun 10 06:27:30.123
            let year = digits(&b[0..4])? as i32;
            let (mut stamp, rest) = parse_bsd(&b[5..])?;
            stamp.year = Some(year);
            return Some((stamp, rest));
        }
        return None;
    }
    parse_bsd(b)
}

/// `Jun  3 12:34:56`, `Jun 04 12:34:56`, `Jul 2 12:34:56` (optionally with a fraction).
fn parse_bsd(b: &[u8]) -> Option<(Stamp, &[u8])> {
    let mo = month(b)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day_len = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if day_len == 0 || day_len > 2 {
        return None;
    }
    let d = digits(&b[i..i + day_len])?;
    i += day_len;
    if b.get(i) != Some(&b' ') || !(1..=31).contains(&d) {
        return None;
    }
    i += 1;
    let (h, mi, s, nanos, used) = clock(b.get(i..)?)?;
    i += used;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    let stamp = Stamp {
        year: None,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
        nanos,
        offset: None,
    };
    Some((stamp, &b[i + 1..]))
}

/// Split a whole syslog line. `None` when it has no stamp, host and `program:` tag.
pub fn parse_line(b: &[u8]) -> Option<Line<'_>> {
    let (stamp, rest) = parse_stamp(b)?;
    let sp = memchr::memchr(b' ', rest)?;
    let host = &rest[..sp];
    let rest = &rest[sp + 1..];
    // The tag ends at the first ": " (or ":" at the end); it holds no spaces.
    let colon = memchr::memchr(b':', rest)?;
    let tag = &rest[..colon];
    if tag.is_empty() || tag.contains(&b' ') {
        return None;
    }
    let program = match memchr::memchr(b'[', tag) {
        Some(p) => &tag[..p],
        None => tag,
    };
    let mut message = rest.get(colon + 1..).unwrap_or(&[]);
    if message.first() == Some(&b' ') {
        message = &message[1..];
    }
    // Solaris: "[ID 197553 mail.info] "
    if message.starts_with(b"[ID ") {
        if let Some(end) = memchr::memchr(b']', message) {
            message = &message[end + 1..];
            if message.first() == Some(&b' ') {
                message = &message[1..];
            }
        }
    }
    Some(Line {
        stamp,
        host,
        program,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_stamps_padded_and_not() {
        for (line, day) in [
            (&b"Jun  3 12:34:56 mx postfix/smtp[1]: hi"[..], 3),
            (b"Jun 04 12:34:56 mx postfix/smtp[1]: hi", 4),
            (b"Jul 2 12:34:56 mx postfix/smtp[1]: hi", 2),
        ] {
            let l = parse_line(line).unwrap();
            assert_eq!(l.stamp.day, day);
            assert_eq!(l.stamp.year, None);
            assert_eq!(l.host, b"mx");
            assert_eq!(l.program, b"postfix/smtp");
            assert_eq!(l.message, b"hi");
        }
    }

    #[test]
    fn rfc3339_and_rsyslog_year_and_solaris() {
        let l = parse_line(b"2026-01-05T00:00:01.123456+01:30 mx1 postfix-out/qmgr[9]: ABC: removed").unwrap();
        assert_eq!(l.stamp.year, Some(2026));
        assert_eq!(l.stamp.nanos, 123_456_000);
        assert_eq!(l.stamp.offset, Some(5400));
        assert_eq!(l.program, b"postfix-out/qmgr");
        let l = parse_line(b"2013 Jun 10 06:27:30.123 host postfix/smtpd[2]: x").unwrap();
        assert_eq!((l.stamp.year, l.stamp.month, l.stamp.nanos), (Some(2013), 6, 123_000_000));
        let l = parse_line(b"Jun  3 12:34:56 relay postfix/smtp[2400]: [ID 197553 mail.info] ABC: to=<a@b>").unwrap();
        assert_eq!(l.message, b"ABC: to=<a@b>");
    }

    #[test]
    fn not_syslog() {
        assert!(parse_line(b"").is_none());
        assert!(parse_line(b"hello world this is not a log line").is_none());
        assert!(parse_line(b"Foo  3 12:34:56 mx postfix/smtp[1]: hi").is_none());
        assert!(parse_line(b"Jun  3 25:34:56 mx postfix/smtp[1]: hi").is_none());
    }
}
