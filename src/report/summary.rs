//! The mergeable summary behind `report`: counters and complete maps of counts.
//!
//! Every field adds up: two summaries of disjoint inputs merge into the summary of both
//! (`Summary::merge`). Maps are complete (never cut to a top N); only the rendering picks the top
//! rows. The JSON form is the `report --format json` output, described in docs/summary-schema.md.

use crate::record::{unnamed_server, Record};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the JSON summary layout.
pub const SCHEMA_VERSION: u32 = 1;

pub type Counts = BTreeMap<String, u64>;

/// What was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inputs {
    /// Files (and stdin streams) opened and read.
    pub files: u64,
    /// Log lines read (of the decompressed streams).
    pub lines: u64,
    /// Email messages read (bounce mailboxes, .eml files).
    pub messages: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Inputs that could not be read, or not to the end.
    pub errors: u64,
    /// Files skipped as not being mail logs or messages (binary data).
    pub skipped: u64,
}

/// Where every line or message went: `lines + messages = failures + not_failures + unparsed +
/// filtered`, and `records >= failures` (a message, or an expiry, can name several recipients).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Accounting {
    /// Failure records written.
    pub records: u64,
    /// Lines or messages that gave at least one record.
    pub failures: u64,
    /// Lines or messages that are not failures (deliveries, noise, other programs).
    pub not_failures: u64,
    /// Lines or messages that look like a failure but could not be read.
    pub unparsed: u64,
    /// Lines or messages left out by --since/--until/--only/--direction.
    pub filtered: u64,
    /// Queue ids dropped from the correlation state when it was full (their later lines lose
    /// sender and message-id).
    pub evicted_queue_ids: u64,
}

/// pflogsumm's Grand Totals, counted the way pflogsumm counts them, over every Postfix
/// instance (syslog name) in the input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostfixTotals {
    pub received: u64,
    pub delivered: u64,
    pub forwarded: u64,
    /// Distinct queue ids with at least one deferral.
    pub deferred: u64,
    /// status=deferred lines.
    pub deferrals: u64,
    pub bounced: u64,
    pub rejected: u64,
    pub reject_warnings: u64,
    pub held: u64,
    pub discarded: u64,
    /// status=expired (not a pflogsumm counter).
    pub expired: u64,
}

impl PostfixTotals {
    pub fn merge(&mut self, o: &PostfixTotals) {
        self.received += o.received;
        self.delivered += o.delivered;
        self.forwarded += o.forwarded;
        self.deferred += o.deferred;
        self.deferrals += o.deferrals;
        self.bounced += o.bounced;
        self.rejected += o.rejected;
        self.reject_warnings += o.reject_warnings;
        self.held += o.held;
        self.discarded += o.discarded;
        self.expired += o.expired;
    }

    pub fn is_empty(&self) -> bool {
        *self == PostfixTotals::default()
    }

    /// (label, key, value) rows in pflogsumm's order.
    pub fn rows(&self) -> [(&'static str, &'static str, u64); 11] {
        [
            ("received", "received", self.received),
            ("delivered", "delivered", self.delivered),
            ("forwarded", "forwarded", self.forwarded),
            ("deferred", "deferred", self.deferred),
            ("deferrals", "deferrals", self.deferrals),
            ("bounced", "bounced", self.bounced),
            ("rejected", "rejected", self.rejected),
            ("reject warnings", "reject_warnings", self.reject_warnings),
            ("held", "held", self.held),
            ("discarded", "discarded", self.discarded),
            ("expired", "expired", self.expired),
        ]
    }
}

/// Grand Totals of Exchange message tracking (see docs/exchange.md for what each counts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeTotals {
    /// RECEIVE events.
    pub received: u64,
    /// DELIVER events (into a local mailbox), per recipient.
    pub delivered: u64,
    /// SENDEXTERNAL events, per recipient.
    pub sent_externally: u64,
    /// FAIL events, per recipient.
    pub failed: u64,
    /// DEFER events, per recipient.
    pub deferred: u64,
    /// DROP events, per recipient.
    pub dropped: u64,
}

impl ExchangeTotals {
    pub fn merge(&mut self, o: &ExchangeTotals) {
        self.received += o.received;
        self.delivered += o.delivered;
        self.sent_externally += o.sent_externally;
        self.failed += o.failed;
        self.deferred += o.deferred;
        self.dropped += o.dropped;
    }

    pub fn is_empty(&self) -> bool {
        *self == ExchangeTotals::default()
    }

    pub fn rows(&self) -> [(&'static str, &'static str, u64); 6] {
        [
            ("received", "received", self.received),
            ("delivered", "delivered", self.delivered),
            ("sent externally", "sent_externally", self.sent_externally),
            ("failed", "failed", self.failed),
            ("deferred", "deferred", self.deferred),
            ("dropped", "dropped", self.dropped),
        ]
    }
}

/// Per remote host: its reply codes and reasons, so the report can name the top ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostDetail {
    pub reply_codes: Counts,
    pub reasons: Counts,
    pub ips: Counts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub version: u32,
    pub inputs: Inputs,
    pub accounting: Accounting,
    pub postfix: PostfixTotals,
    pub exchange: ExchangeTotals,
    pub by_action: Counts,
    pub by_bounce_type: Counts,
    pub by_direction: Counts,
    pub by_format: Counts,
    pub by_reply_code: Counts,
    pub by_status: Counts,
    pub by_reason: Counts,
    pub by_remote_host: Counts,
    /// Records whose remote host is known only by its address (no name: qmail's "192.0.2.1
    /// does not like recipient", an inbound client `unknown[192.0.2.1]`), by that address.
    pub by_unnamed_remote_ip: Counts,
    pub by_recipient_domain: Counts,
    /// Hour of the record's time stamp as written ("00".."23").
    pub by_hour: Counts,
    /// "HH" -> hard/soft counts, for the stacked chart.
    pub by_hour_type: BTreeMap<String, Counts>,
    /// reply code + enhanced status, e.g. "550 5.1.1".
    pub by_code_status: Counts,
    /// By host name, or `[ip]` for a host known only by its address.
    pub remote_hosts: BTreeMap<String, HostDetail>,
    /// Recipients to stop mailing (suppress=true), lower-cased, with their failure count.
    pub suppress: Counts,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            version: SCHEMA_VERSION,
            inputs: Inputs::default(),
            accounting: Accounting::default(),
            postfix: PostfixTotals::default(),
            exchange: ExchangeTotals::default(),
            by_action: Counts::new(),
            by_bounce_type: Counts::new(),
            by_direction: Counts::new(),
            by_format: Counts::new(),
            by_reply_code: Counts::new(),
            by_status: Counts::new(),
            by_reason: Counts::new(),
            by_remote_host: Counts::new(),
            by_unnamed_remote_ip: Counts::new(),
            by_recipient_domain: Counts::new(),
            by_hour: Counts::new(),
            by_hour_type: BTreeMap::new(),
            by_code_status: Counts::new(),
            remote_hosts: BTreeMap::new(),
            suppress: Counts::new(),
        }
    }
}

fn bump(map: &mut Counts, key: &str, n: u64) {
    if key.is_empty() {
        return;
    }
    if let Some(v) = map.get_mut(key) {
        *v += n;
    } else {
        map.insert(key.to_string(), n);
    }
}

fn merge_counts(into: &mut Counts, from: &Counts) {
    for (k, v) in from {
        bump(into, k, *v);
    }
}

impl Summary {
    /// Count one record in every map (a field that is empty is not counted in its map).
    pub fn add_record(&mut self, r: &Record) {
        self.accounting.records += 1;
        self.add_to_tables(r);
    }

    /// Count a record into the tables only (by action, reason, host, ...): its count in the
    /// accounting is the caller's, as `Collector::failure` keeps it with or without tables.
    pub fn add_to_tables(&mut self, r: &Record) {
        bump(&mut self.by_action, r.action.as_str(), 1);
        let bt = r.bounce_type.map(|b| b.as_str()).unwrap_or("");
        bump(&mut self.by_bounce_type, bt, 1);
        bump(&mut self.by_direction, r.direction.as_str(), 1);
        bump(&mut self.by_format, r.format.as_str(), 1);
        bump(&mut self.by_reply_code, &r.reply_code, 1);
        bump(&mut self.by_status, &r.status, 1);
        bump(&mut self.by_reason, &r.reason, 1);
        let host = r.remote_host.to_ascii_lowercase();
        bump(&mut self.by_remote_host, &host, 1);
        bump(&mut self.by_recipient_domain, &r.recipient_domain(), 1);
        if let Some(hour) = hour_of(&r.timestamp) {
            bump(&mut self.by_hour, hour, 1);
            bump(self.by_hour_type.entry(hour.to_string()).or_default(), bt, 1);
        }
        if !r.reply_code.is_empty() || !r.status.is_empty() {
            let key = format!("{} {}", r.reply_code, r.status);
            bump(&mut self.by_code_status, key.trim(), 1);
        }
        // Its details under its name, or `[ip]` (as Record::answering_server names it).
        let host = if host.is_empty() && !r.remote_ip.is_empty() {
            bump(&mut self.by_unnamed_remote_ip, &r.remote_ip, 1);
            unnamed_server(&r.remote_ip)
        } else {
            host
        };
        if !host.is_empty() {
            let d = self.remote_hosts.entry(host).or_default();
            bump(&mut d.reply_codes, &r.reply_code, 1);
            bump(&mut d.reasons, &r.reason, 1);
            bump(&mut d.ips, &r.remote_ip, 1);
        }
        if r.suppress && !r.recipient.is_empty() {
            bump(&mut self.suppress, &r.recipient.to_ascii_lowercase(), 1);
        }
    }

    /// Add another summary to this one.
    pub fn merge(&mut self, o: &Summary) {
        let i = &mut self.inputs;
        i.files += o.inputs.files;
        i.lines += o.inputs.lines;
        i.messages += o.inputs.messages;
        i.bytes += o.inputs.bytes;
        i.errors += o.inputs.errors;
        i.skipped += o.inputs.skipped;
        let a = &mut self.accounting;
        a.records += o.accounting.records;
        a.failures += o.accounting.failures;
        a.not_failures += o.accounting.not_failures;
        a.unparsed += o.accounting.unparsed;
        a.filtered += o.accounting.filtered;
        a.evicted_queue_ids += o.accounting.evicted_queue_ids;
        self.postfix.merge(&o.postfix);
        self.exchange.merge(&o.exchange);
        for (into, from) in [
            (&mut self.by_action, &o.by_action),
            (&mut self.by_bounce_type, &o.by_bounce_type),
            (&mut self.by_direction, &o.by_direction),
            (&mut self.by_format, &o.by_format),
            (&mut self.by_reply_code, &o.by_reply_code),
            (&mut self.by_status, &o.by_status),
            (&mut self.by_reason, &o.by_reason),
            (&mut self.by_remote_host, &o.by_remote_host),
            (&mut self.by_unnamed_remote_ip, &o.by_unnamed_remote_ip),
            (&mut self.by_recipient_domain, &o.by_recipient_domain),
            (&mut self.by_hour, &o.by_hour),
            (&mut self.by_code_status, &o.by_code_status),
            (&mut self.suppress, &o.suppress),
        ] {
            merge_counts(into, from);
        }
        for (h, c) in &o.by_hour_type {
            merge_counts(self.by_hour_type.entry(h.clone()).or_default(), c);
        }
        for (h, d) in &o.remote_hosts {
            let mine = self.remote_hosts.entry(h.clone()).or_default();
            merge_counts(&mut mine.reply_codes, &d.reply_codes);
            merge_counts(&mut mine.reasons, &d.reasons);
            merge_counts(&mut mine.ips, &d.ips);
        }
    }

    /// The servers that answered, for the report's tables: each host by its name, one known
    /// only by its address as `[ip]`.
    pub fn answering_servers(&self) -> Counts {
        let mut all = self.by_remote_host.clone();
        for (ip, n) in &self.by_unnamed_remote_ip {
            bump(&mut all, &unnamed_server(ip), *n);
        }
        all
    }

    /// Units (lines + messages) that the accounting must explain.
    pub fn units(&self) -> u64 {
        self.inputs.lines + self.inputs.messages
    }

    /// Does `lines + messages = failures + not_failures + unparsed + filtered` hold?
    pub fn balanced(&self) -> bool {
        let a = &self.accounting;
        self.units() == a.failures + a.not_failures + a.unparsed + a.filtered
    }
}

/// "HH" of an RFC 3339 time stamp (the hour as written, in the stamp's own offset).
pub fn hour_of(ts: &str) -> Option<&str> {
    let h = ts.get(11..13)?;
    h.bytes().all(|b| b.is_ascii_digit()).then_some(h)
}

/// The `n` largest entries of a map, largest first, ties by key.
pub fn top(map: &Counts, n: usize) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Action, BounceType, Direction, Format};

    fn rec(host: &str, code: &str, reason: &str) -> Record {
        let mut r = Record::new(Format::Postfix, Direction::Outbound, Action::Failed, "x".into(), 1);
        r.timestamp = "2026-01-05T07:00:00+00:00".into();
        r.remote_host = host.into();
        r.reply_code = code.into();
        r.status = "5.1.1".into();
        r.reason = reason.into();
        r.recipient = "A@Example.COM".into();
        r.bounce_type = Some(BounceType::Hard);
        r.suppress = true;
        r
    }

    #[test]
    fn a_server_known_only_by_its_address_is_counted_by_it() {
        let mut named = rec("mx.a", "550", "userunknown");
        named.remote_ip = "192.0.2.1".into();
        let mut bare = rec("", "553", "rejected");
        bare.remote_ip = "192.0.2.61".into();
        let mut s = Summary::default();
        for r in [&named, &bare, &bare, &rec("", "", "expired")] {
            s.add_record(r);
        }
        // The contract's map keeps names only; the address has a map of its own.
        assert_eq!(s.by_remote_host.len(), 1);
        assert_eq!(s.by_unnamed_remote_ip.get("192.0.2.61"), Some(&2));
        assert_eq!(s.by_unnamed_remote_ip.get("192.0.2.1"), None);
        let servers = s.answering_servers();
        assert_eq!(top(&servers, 5), [("[192.0.2.61]", 2), ("mx.a", 1)]);
        assert_eq!(s.remote_hosts["[192.0.2.61]"].reply_codes.get("553"), Some(&2));
    }

    #[test]
    fn merge_equals_one_pass() {
        let recs = [
            rec("mx.A", "550", "userunknown"),
            rec("mx.b", "550", "userunknown"),
            rec("", "", "expired"),
            {
                let mut r = rec("", "553", "rejected");
                r.remote_ip = "192.0.2.61".into();
                r
            },
        ];
        let mut whole = Summary::default();
        recs.iter().for_each(|r| whole.add_record(r));
        let (mut a, mut b) = (Summary::default(), Summary::default());
        a.add_record(&recs[0]);
        b.add_record(&recs[1]);
        b.add_record(&recs[2]);
        b.add_record(&recs[3]);
        a.merge(&b);
        assert_eq!(a, whole);
        assert_eq!(whole.by_remote_host.get("mx.a"), Some(&1));
        assert_eq!(whole.by_unnamed_remote_ip.get("192.0.2.61"), Some(&1));
        assert_eq!(whole.by_hour.get("07"), Some(&4));
        assert_eq!(whole.by_recipient_domain.get("example.com"), Some(&4));
        assert_eq!(whole.suppress.get("a@example.com"), Some(&4));
        assert_eq!(whole.by_reply_code.get("550"), Some(&2));
    }

    #[test]
    fn json_round_trip() {
        let mut s = Summary::default();
        s.add_record(&rec("mx", "550", "userunknown"));
        let j = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
    }
}
