//! The record contract: one `Record` per failed recipient, the same fields for every format.
//!
//! JSONL keys and CSV columns come in the order of [`Record::COLUMNS`]. A field the input does
//! not carry is an empty string: nothing is guessed.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// The reader a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Format {
    #[serde(rename = "postfix")]
    Postfix,
    #[serde(rename = "exchange-log")]
    ExchangeLog,
    #[serde(rename = "exchange-csv")]
    ExchangeCsv,
    #[serde(rename = "dsn")]
    Dsn,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Postfix => "postfix",
            Format::ExchangeLog => "exchange-log",
            Format::ExchangeCsv => "exchange-csv",
            Format::Dsn => "dsn",
        }
    }
}

/// `outbound`: our server failed to deliver; `inbound`: our server refused a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Outbound,
    Inbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}

/// What happened to the recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A permanent failure (Postfix `status=bounced`, DSN `Action: failed`).
    Failed,
    /// A transient failure, retried later (Postfix `status=deferred`).
    Delayed,
    /// Given up after the queue lifetime (Postfix `status=expired`).
    Expired,
    /// Our server refused a client (NOQUEUE reject, milter-reject).
    Rejected,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Expired => "expired",
            Action::Rejected => "rejected",
        }
    }
}

/// Hard = permanent (5xx, 5.x.x, expired); soft = transient (4xx, 4.x.x, delayed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BounceType {
    Hard,
    Soft,
}

impl BounceType {
    /// The type a reader gives by the action alone: delayed is soft, anything else hard.
    pub fn of_action(action: Action) -> BounceType {
        if action == Action::Delayed {
            BounceType::Soft
        } else {
            BounceType::Hard
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BounceType::Hard => "hard",
            BounceType::Soft => "soft",
        }
    }
}

impl fmt::Display for BounceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the responding server said, as a reader finds it: who answered, the codes, the command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub remote_host: String,
    pub remote_ip: String,
    pub reply_code: String,
    pub status: String,
    pub smtp_command: String,
}

/// One failed recipient. Field order is the output contract (JSONL keys, CSV columns).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    /// RFC 3339; empty when the input has no time.
    pub timestamp: String,
    /// The path as given on the command line (`-` for stdin).
    pub source: Arc<str>,
    /// 1-based line number in the decompressed stream (first line of a message for emails).
    pub line: u64,
    pub format: Format,
    pub direction: Direction,
    pub queue_id: String,
    pub message_id: String,
    pub sender: String,
    pub recipient: String,
    pub original_recipient: String,
    pub action: Action,
    pub reply_code: String,
    /// Enhanced status code (RFC 3463), `x.y.z`.
    pub status: String,
    /// One of CONN, HELO, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT (other verbs as written), or empty.
    pub smtp_command: String,
    /// The server that answered (for inbound rejects: the client that was refused). Never an IP.
    pub remote_host: String,
    pub remote_ip: String,
    pub reporting_mta: String,
    /// `hard`, `soft`, or empty (serialised as `""`).
    #[serde(serialize_with = "bounce_type_text")]
    pub bounce_type: Option<BounceType>,
    /// Sisimai's reason vocabulary (`userunknown`, `mailboxfull`, ..., `undefined`).
    pub reason: String,
    /// The address itself is dead: stop mailing it.
    pub suppress: bool,
    pub diagnostic: String,
}

impl Record {
    /// Fill the answer's fields.
    pub fn set_answer(&mut self, a: Answer) {
        self.remote_host = a.remote_host;
        self.remote_ip = a.remote_ip;
        self.reply_code = a.reply_code;
        self.status = a.status;
        self.smtp_command = a.smtp_command;
    }

    /// The answer's fields, copied.
    pub fn answer(&self) -> Answer {
        Answer {
            remote_host: self.remote_host.clone(),
            remote_ip: self.remote_ip.clone(),
            reply_code: self.reply_code.clone(),
            status: self.status.clone(),
            smtp_command: self.smtp_command.clone(),
        }
    }

    pub const COLUMNS: [&'static str; 21] = [
        "timestamp",
        "source",
        "line",
        "format",
        "direction",
        "queue_id",
        "message_id",
        "sender",
        "recipient",
        "original_recipient",
        "action",
        "reply_code",
        "status",
        "smtp_command",
        "remote_host",
        "remote_ip",
        "reporting_mta",
        "bounce_type",
        "reason",
        "suppress",
        "diagnostic",
    ];

    /// An empty record of a format; readers fill in what they find.
    pub fn new(format: Format, direction: Direction, action: Action, source: Arc<str>, line: u64) -> Record {
        Record {
            timestamp: String::new(),
            source,
            line,
            format,
            direction,
            queue_id: String::new(),
            message_id: String::new(),
            sender: String::new(),
            recipient: String::new(),
            original_recipient: String::new(),
            action,
            reply_code: String::new(),
            status: String::new(),
            smtp_command: String::new(),
            remote_host: String::new(),
            remote_ip: String::new(),
            reporting_mta: String::new(),
            bounce_type: None,
            reason: String::new(),
            suppress: false,
            diagnostic: String::new(),
        }
    }

    /// The field values as text, in [`Record::COLUMNS`] order.
    pub fn values(&self) -> [std::borrow::Cow<'_, str>; 21] {
        use std::borrow::Cow::{Borrowed, Owned};
        [
            Borrowed(&self.timestamp),
            Borrowed(&self.source),
            Owned(self.line.to_string()),
            Borrowed(self.format.as_str()),
            Borrowed(self.direction.as_str()),
            Borrowed(&self.queue_id),
            Borrowed(&self.message_id),
            Borrowed(&self.sender),
            Borrowed(&self.recipient),
            Borrowed(&self.original_recipient),
            Borrowed(self.action.as_str()),
            Borrowed(&self.reply_code),
            Borrowed(&self.status),
            Borrowed(&self.smtp_command),
            Borrowed(&self.remote_host),
            Borrowed(&self.remote_ip),
            Borrowed(&self.reporting_mta),
            Borrowed(self.bounce_type.map(BounceType::as_str).unwrap_or("")),
            Borrowed(&self.reason),
            Borrowed(if self.suppress { "true" } else { "false" }),
            Borrowed(&self.diagnostic),
        ]
    }

    /// The domain of the recipient, lower-cased (empty when there is no `@`).
    pub fn recipient_domain(&self) -> String {
        match self.recipient.rfind('@') {
            Some(at) => self.recipient[at + 1..].trim_end_matches('>').to_ascii_lowercase(),
            None => String::new(),
        }
    }

    /// The server that answered as a report names it: its host name (lower-cased), `[ip]` when
    /// only its address is known, else empty.
    pub fn answering_server(&self) -> String {
        match (self.remote_host.is_empty(), self.remote_ip.is_empty()) {
            (false, _) => self.remote_host.to_ascii_lowercase(),
            (true, false) => unnamed_server(&self.remote_ip),
            (true, true) => String::new(),
        }
    }
}

/// How a report names a server known only by its address: `[192.0.2.1]`.
pub fn unnamed_server(ip: &str) -> String {
    format!("[{ip}]")
}

fn bounce_type_text<S: Serializer>(value: &Option<BounceType>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.map(BounceType::as_str).unwrap_or(""))
}
