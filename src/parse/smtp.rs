//! SMTP vocabulary shared by every reader: the command a reply answered, named the one way the
//! record contract names it.

/// Map how a log or bounce words a command to the contract's name: `RCPT TO` -> RCPT,
/// `MAIL FROM` -> MAIL, `end of DATA` / `END-OF-MESSAGE` / `BDAT` / `message body` -> DATA,
/// `CONNECT` / `initial server greeting` -> CONN, EHLO, HELO, STARTTLS, AUTH, QUIT. Other verbs
/// (VRFY, ETRN, XCLIENT, ...) are kept as written, upper-cased; empty in, empty out.
pub fn command(phrase: &str) -> String {
    let p = phrase.trim().to_ascii_uppercase();
    if p.is_empty() {
        return String::new();
    }
    let name = if p.starts_with("RCPT") {
        "RCPT"
    } else if p.starts_with("MAIL") {
        "MAIL"
    } else if p.contains("DATA")
        || p.starts_with("BDAT")
        || p.contains("END-OF-MESSAGE")
        || p.contains("MESSAGE BODY")
        || p == "HEADER"
        || p == "BODY"
    {
        "DATA"
    } else if p.starts_with("EHLO") {
        "EHLO"
    } else if p.starts_with("HELO") {
        "HELO"
    } else if p.starts_with("STARTTLS") || p.contains("TLS") {
        "STARTTLS"
    } else if p.starts_with("AUTH") {
        "AUTH"
    } else if p.starts_with("QUIT") {
        "QUIT"
    } else if p.starts_with("CONN") || p.contains("GREETING") || p.contains("BANNER") {
        "CONN"
    } else {
        return p.split_whitespace().next().unwrap_or("").to_string();
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn names() {
        for (phrase, want) in [
            ("RCPT TO", "RCPT"),
            ("MAIL FROM", "MAIL"),
            ("end of DATA", "DATA"),
            ("END-OF-MESSAGE", "DATA"),
            ("BDAT", "DATA"),
            ("initial server greeting", "CONN"),
            ("CONNECT", "CONN"),
            ("VRFY", "VRFY"),
            ("", ""),
        ] {
            assert_eq!(command(phrase), want, "{phrase}");
        }
    }
}
