//! Small byte-slice helpers shared by the readers.

use memchr::memmem;

/// Position of `needle` in `hay`. Log lines are short and needles a few bytes, so this looks
/// for the needle's first byte with memchr and compares, instead of building a `memmem`
/// searcher per call (which costs more than the search); long haystacks go to `memmem`.
#[inline]
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    if hay.len() > 4096 {
        return memmem::find(hay, needle);
    }
    let mut from = 0;
    while let Some(p) = memchr::memchr(first, &hay[from..]) {
        let at = from + p;
        if hay.len() - at < needle.len() {
            return None;
        }
        if &hay[at + 1..at + needle.len()] == rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Lossy UTF-8 text of a slice (invalid bytes become U+FFFD).
#[inline]
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `b` without leading and trailing ASCII white space.
pub fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// A 3-digit SMTP reply code (2xx-5xx) at the start of `b`, followed by a space, `-`, or the end.
pub fn reply_code_at(b: &[u8]) -> Option<&[u8]> {
    if b.len() < 3 || !(b'2'..=b'5').contains(&b[0]) || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return None;
    }
    match b.get(3) {
        None | Some(b' ') | Some(b'-') => Some(&b[..3]),
        _ => None,
    }
}

/// An enhanced status code `x.y.z` (RFC 3463: class 2, 4 or 5, subject up to 3 digits, detail
/// up to 3 digits) at the start of `b`, not followed by another digit or dot-digit.
pub fn status_at(b: &[u8]) -> Option<&[u8]> {
    if b.len() < 5 || !matches!(b[0], b'2' | b'4' | b'5') || b[1] != b'.' {
        return None;
    }
    let subject = b[2..].iter().take_while(|c| c.is_ascii_digit()).count();
    if subject == 0 || subject > 3 || b.get(2 + subject) != Some(&b'.') {
        return None;
    }
    let start = 3 + subject;
    let detail = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if detail == 0 || detail > 3 {
        return None;
    }
    let end = start + detail;
    if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(&b[..end])
}

/// The enhanced status code right after a reply code: `550 5.1.1`, `550-5.1.1`, `550 #5.1.1`.
pub fn status_after_code(after_code: &[u8]) -> Option<&[u8]> {
    let mut rest = after_code;
    if let Some(r) = rest.strip_prefix(b" ").or_else(|| rest.strip_prefix(b"-")) {
        rest = r;
    } else {
        return None;
    }
    if let Some(r) = rest.strip_prefix(b"#") {
        rest = r;
    }
    status_at(rest)
}

/// `NAME[ADDR]` at the start of `b`: the name, the bracket contents and the rest after `]`.
pub fn host_bracket(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let open = memchr::memchr(b'[', b)?;
    let name = &b[..open];
    if name.contains(&b' ') {
        return None;
    }
    let close = open + memchr::memchr(b']', &b[open..])?;
    Some((name, &b[open + 1..close], &b[close + 1..]))
}

/// An address without the `IPv6:` tag of an SMTP address literal (`[IPv6:2001:db8::1]`), the
/// tag in any case.
pub fn without_ipv6_tag(ip: &str) -> &str {
    ip.get(..5).filter(|p| p.eq_ignore_ascii_case("ipv6:")).map_or(ip, |_| &ip[5..])
}

/// Is this text an IPv4 or IPv6 address?
pub fn is_ip(b: &[u8]) -> bool {
    let s = match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(_) => return false,
    };
    let s = s.strip_prefix("IPv6:").unwrap_or(s);
    s.parse::<std::net::IpAddr>().is_ok()
}

/// The value of `key=` in a Postfix `k=v, k=v` list: `<...>` values up to the `>` that ends
/// them, other values up to `,` or a space. `key` must start the list or follow a space or a
/// comma. (Found by the `=` signs, which are rarer than any key's first letter.)
pub fn kv<'a>(list: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    for eq in memchr::memchr_iter(b'=', list) {
        if eq < key.len() || &list[eq - key.len()..eq] != key {
            continue;
        }
        let at = eq - key.len();
        if !(at == 0 || list[at - 1] == b' ' || list[at - 1] == b',') {
            continue;
        }
        let v = &list[eq + 1..];
        if v.first() == Some(&b'<') {
            // The value ends at the last '>' before the next ", key=" or the end.
            let stop = find(v, b">, ").or_else(|| find(v, b"> ")).map(|i| i + 1).unwrap_or(v.len());
            let inner = &v[1..stop];
            return Some(inner.strip_suffix(b">").unwrap_or(inner));
        }
        let end = v.iter().position(|&c| c == b',' || c == b' ').unwrap_or(v.len());
        return Some(&v[..end]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_short_and_long() {
        assert_eq!(find(b"abc, status=sent", b", status="), Some(3));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"aab", b"ab"), Some(1));
        assert_eq!(find(b"", b"x"), None);
        let long = [vec![b'x'; 5000], b"needle".to_vec()].concat();
        assert_eq!(find(&long, b"needle"), Some(5000));
    }

    #[test]
    fn codes() {
        assert_eq!(reply_code_at(b"550 5.1.1 x"), Some(&b"550"[..]));
        assert_eq!(reply_code_at(b"550-5.1.1 x"), Some(&b"550"[..]));
        assert_eq!(reply_code_at(b"5500 x"), None);
        assert_eq!(status_after_code(b" 5.1.1 x"), Some(&b"5.1.1"[..]));
        assert_eq!(status_after_code(b"-5.7.26 x"), Some(&b"5.7.26"[..]));
        assert_eq!(status_after_code(b" #5.1.0 x"), Some(&b"5.1.0"[..]));
        assert_eq!(status_at(b"5.7.511"), Some(&b"5.7.511"[..]));
        assert_eq!(status_at(b"5.7.1.2"), None);
        assert_eq!(status_at(b"1.2.3"), None);
    }

    #[test]
    fn kv_values() {
        let l = b"to=<a@b.example>, orig_to=<c@d>, relay=mx[192.0.2.1]:25, dsn=5.1.1, status=bounced";
        assert_eq!(kv(l, b"to"), Some(&b"a@b.example"[..]));
        assert_eq!(kv(l, b"orig_to"), Some(&b"c@d"[..]));
        assert_eq!(kv(l, b"relay"), Some(&b"mx[192.0.2.1]:25"[..]));
        assert_eq!(kv(b"tox=<x@y>, relay=none", b"to"), None);
        assert_eq!(kv(b"to=user@example.com, relay=x", b"to"), Some(&b"user@example.com"[..]));
        assert_eq!(
            kv(b"to=<\"user 1 with space\"@icloud.com>, relay=x", b"to"),
            Some(&b"\"user 1 with space\"@icloud.com"[..])
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_bracket(b"mx.example[192.0.2.1]:25"),
            Some((&b"mx.example"[..], &b"192.0.2.1"[..], &b":25"[..]))
        );
        assert!(is_ip(b"2001:db8::1"));
        assert!(is_ip(b"192.0.2.1"));
        assert!(!is_ip(b"mx.example"));
    }
}
