//! The Postfix reader: turns a chain of log streams into records, correlating each queue id's
//! lines (sender from qmgr, message-id from cleanup, the last deferral before an expiry).
//!
//! State is per (syslog host, queue id), dropped on `removed` and capped: when more queue ids
//! are open than the cap, the oldest are evicted and counted.

use super::{delivery_answer, parse, reject_answer, service, Event};
use crate::collect::Collector;
use crate::input::lines::Lines;
use crate::parse::bytes::text;
use crate::parse::syslog;
pub use crate::parse::Settings;
use crate::record::{Action, BounceType, Direction, Format, Record};
use crate::when::{resolve, rfc3339, YearRule};
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead};
use std::sync::Arc;

pub use crate::parse::DEFAULT_MAX_QUEUE_IDS;

/// A recipient deferred and not yet delivered, bounced or expired.
#[derive(Clone, Debug, Default)]
struct Pending {
    recipient: String,
    orig_to: String,
    remote_host: String,
    remote_ip: String,
    reply_code: String,
    status: String,
    smtp_command: String,
    diagnostic: String,
}

#[derive(Debug, Default)]
struct QueueState {
    sender: Option<String>,
    message_id: Option<String>,
    deferred_counted: bool,
    pending: Vec<Pending>,
    generation: u64,
}

pub struct PostfixReader {
    settings: Settings,
    queues: HashMap<Box<[u8]>, QueueState>,
    order: VecDeque<(u64, Box<[u8]>)>,
    generation: u64,
    key: Vec<u8>,
}

impl PostfixReader {
    pub fn new(settings: Settings) -> Self {
        PostfixReader {
            settings,
            queues: HashMap::new(),
            order: VecDeque::new(),
            generation: 0,
            key: Vec::new(),
        }
    }

    fn set_key(&mut self, host: &[u8], qid: &[u8]) {
        self.key.clear();
        self.key.extend_from_slice(host);
        self.key.push(b' ');
        self.key.extend_from_slice(qid);
    }

    /// The state of the current key, created (and the cap enforced) when missing.
    fn state(&mut self, out: &mut Collector<'_>) -> &mut QueueState {
        if !self.queues.contains_key(self.key.as_slice()) {
            self.generation += 1;
            let key: Box<[u8]> = self.key.clone().into_boxed_slice();
            self.order.push_back((self.generation, key.clone()));
            self.queues.insert(
                key,
                QueueState {
                    generation: self.generation,
                    ..QueueState::default()
                },
            );
            self.enforce_cap(out);
        }
        self.queues.get_mut(self.key.as_slice()).expect("just inserted")
    }

    fn enforce_cap(&mut self, out: &mut Collector<'_>) {
        while self.queues.len() > self.settings.max_queue_ids.max(1) {
            let Some((gen, key)) = self.order.pop_front() else { break };
            if self.queues.get(&key).is_some_and(|s| s.generation == gen) {
                self.queues.remove(&key);
                out.summary.accounting.evicted_queue_ids += 1;
            }
        }
        // Keep the order list from growing with ids long removed.
        if self.order.len() > 2 * self.queues.len() + 1024 {
            let queues = &self.queues;
            self.order.retain(|(g, k)| queues.get(k).is_some_and(|s| s.generation == *g));
        }
    }

    fn existing(&mut self) -> Option<&mut QueueState> {
        self.queues.get_mut(self.key.as_slice())
    }

    /// Read one stream of the chain to its end.
    pub fn read_stream(
        &mut self,
        reader: &mut dyn BufRead,
        source: &Arc<str>,
        mtime: std::time::SystemTime,
        out: &mut Collector<'_>,
    ) -> io::Result<()> {
        let rule = YearRule::new(mtime, self.settings.year);
        let mut lines = Lines::new(reader, self.settings.max_line_bytes);
        let result = loop {
            let line = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break Ok(()),
                Err(e) => break Err(io::Error::new(e.kind(), format!("read error after line {}: {e}", lines.number))),
            };
            let n = line.number;
            let bytes = line.bytes;
            out.summary.inputs.lines += 1;
            self.line(bytes, n, source, &rule, out);
            if out.stopped() {
                break Ok(());
            }
        };
        out.summary.inputs.bytes += lines.bytes;
        result
    }

    /// Account for one line.
    pub fn line(&mut self, bytes: &[u8], n: u64, source: &Arc<str>, rule: &YearRule, out: &mut Collector<'_>) {
        // Cheap test first: every line we act on has a Postfix daemon tag, and all but a few
        // have ": " after a queue id. Most noise leaves here without a regex or allocation.
        let Some(l) = syslog::parse_line(bytes) else {
            out.not_failure();
            return;
        };
        let Some(svc) = service(l.program) else {
            out.not_failure();
            return;
        };
        let event = parse(svc, l.message);
        let when = || resolve(&l.stamp, rule);
        match event {
            Event::Other => out.not_failure(),
            Event::Unparsed(why) => out.unparsed(source, n, why, bytes),
            Event::Received { .. } => self.count(out, &when(), |t| t.received += 1),
            Event::HeaderWarning => self.count(out, &when(), |t| t.reject_warnings += 1),
            Event::Hold { .. } => self.count(out, &when(), |t| t.held += 1),
            Event::Discard { .. } => self.count(out, &when(), |t| t.discarded += 1),
            Event::MessageId { qid, id } => {
                self.set_key(l.host, qid);
                self.state(out).message_id = Some(text(id));
                out.not_failure();
            }
            Event::QueueFrom { qid, sender } => {
                self.set_key(l.host, qid);
                self.state(out).sender = Some(text(sender));
                out.not_failure();
            }
            Event::Removed { qid } => {
                self.set_key(l.host, qid);
                self.queues.remove(self.key.as_slice());
                out.not_failure();
            }
            Event::Delivery(d) => {
                self.set_key(l.host, d.qid);
                let t = when();
                let action = match d.status {
                    b"bounced" => Action::Failed,
                    b"deferred" => Action::Delayed,
                    b"expired" | b"force-expired" => Action::Expired,
                    b"sent" => {
                        let forwarded = crate::parse::bytes::find(d.text, b"forwarded as ").is_some();
                        let recipient = d.to.map(text).unwrap_or_default();
                        if let Some(s) = self.existing() {
                            s.pending.retain(|p| p.recipient != recipient);
                        }
                        return self.count(out, &t, |c| if forwarded { c.forwarded += 1 } else { c.delivered += 1 });
                    }
                    _ => {
                        out.not_failure();
                        return;
                    }
                };
                let answer = delivery_answer(&d);
                let mut rec = Record::new(Format::Postfix, Direction::Outbound, action, source.clone(), n);
                rec.timestamp = t.as_ref().map(rfc3339).unwrap_or_default();
                rec.queue_id = text(d.qid);
                rec.recipient = d.to.map(text).unwrap_or_default();
                rec.original_recipient = d.orig_to.map(text).unwrap_or_default();
                rec.remote_host = answer.remote_host;
                rec.remote_ip = answer.remote_ip;
                rec.reply_code = answer.reply_code;
                rec.status = answer.status;
                rec.smtp_command = answer.smtp_command;
                rec.diagnostic = text(d.text);
                rec.bounce_type = Some(if action == Action::Delayed {
                    BounceType::Soft
                } else {
                    BounceType::Hard
                });
                let in_window = out.in_window(t.as_ref());
                let state = self.state(out);
                rec.sender = state.sender.clone().unwrap_or_default();
                rec.message_id = state.message_id.clone().unwrap_or_default();
                let first_deferral = action == Action::Delayed && !state.deferred_counted;
                if action == Action::Delayed {
                    state.deferred_counted = true;
                    let p = Pending {
                        recipient: rec.recipient.clone(),
                        orig_to: rec.original_recipient.clone(),
                        remote_host: rec.remote_host.clone(),
                        remote_ip: rec.remote_ip.clone(),
                        reply_code: rec.reply_code.clone(),
                        status: rec.status.clone(),
                        smtp_command: rec.smtp_command.clone(),
                        diagnostic: rec.diagnostic.clone(),
                    };
                    match state.pending.iter_mut().find(|x| x.recipient == p.recipient) {
                        Some(slot) => *slot = p,
                        None => state.pending.push(p),
                    }
                } else {
                    let r = rec.recipient.clone();
                    state.pending.retain(|p| p.recipient != r);
                }
                if in_window {
                    let totals = &mut out.summary.postfix;
                    match action {
                        Action::Failed => totals.bounced += 1,
                        Action::Delayed => {
                            totals.deferrals += 1;
                            if first_deferral {
                                totals.deferred += 1;
                            }
                        }
                        Action::Expired => totals.expired += 1,
                        Action::Rejected => {}
                    }
                }
                out.failure([rec], t.as_ref());
            }
            Event::Expired { qid, sender } => {
                self.set_key(l.host, qid);
                let t = when();
                let (state_sender, message_id, pending) = match self.existing() {
                    Some(s) => (s.sender.clone(), s.message_id.clone(), std::mem::take(&mut s.pending)),
                    None => (None, None, Vec::new()),
                };
                let sender = sender.map(text).or(state_sender).unwrap_or_default();
                let base = {
                    let mut r = Record::new(Format::Postfix, Direction::Outbound, Action::Expired, source.clone(), n);
                    r.timestamp = t.as_ref().map(rfc3339).unwrap_or_default();
                    r.queue_id = text(qid);
                    r.sender = sender;
                    r.message_id = message_id.unwrap_or_default();
                    r.bounce_type = Some(BounceType::Hard);
                    r
                };
                let records: Vec<Record> = if pending.is_empty() {
                    vec![base]
                } else {
                    pending
                        .into_iter()
                        .map(|p| {
                            let mut r = base.clone();
                            r.recipient = p.recipient;
                            r.original_recipient = p.orig_to;
                            r.remote_host = p.remote_host;
                            r.remote_ip = p.remote_ip;
                            r.reply_code = p.reply_code;
                            r.status = p.status;
                            r.smtp_command = p.smtp_command;
                            r.diagnostic = p.diagnostic;
                            r
                        })
                        .collect()
                };
                if out.in_window(t.as_ref()) {
                    out.summary.postfix.expired += 1;
                }
                out.failure(records, t.as_ref());
            }
            Event::Reject(r) => {
                let t = when();
                if r.warning {
                    return self.count(out, &t, |c| c.reject_warnings += 1);
                }
                let answer = reject_answer(&r);
                let mut rec = Record::new(Format::Postfix, Direction::Inbound, Action::Rejected, source.clone(), n);
                rec.timestamp = t.as_ref().map(rfc3339).unwrap_or_default();
                rec.queue_id = r.qid.map(text).unwrap_or_default();
                rec.sender = r.from.map(text).unwrap_or_default();
                rec.recipient = r.to.map(text).unwrap_or_default();
                rec.remote_host = answer.remote_host;
                rec.remote_ip = answer.remote_ip;
                rec.reply_code = answer.reply_code;
                rec.status = answer.status;
                rec.smtp_command = answer.smtp_command;
                rec.diagnostic = text(r.text);
                rec.bounce_type = crate::classify::bounce_type_of_codes(&rec.reply_code, &rec.status);
                if let Some(qid) = r.qid {
                    self.set_key(l.host, qid);
                    if let Some(s) = self.existing() {
                        rec.message_id = s.message_id.clone().unwrap_or_default();
                    }
                }
                if out.in_window(t.as_ref()) {
                    out.summary.postfix.rejected += 1;
                }
                out.failure([rec], t.as_ref());
            }
        }
    }

    /// A Grand Totals line: counted when inside the time window.
    fn count(
        &self,
        out: &mut Collector<'_>,
        when: &Option<chrono::DateTime<chrono::FixedOffset>>,
        f: impl FnOnce(&mut crate::report::summary::PostfixTotals),
    ) {
        if out.in_window(when.as_ref()) {
            f(&mut out.summary.postfix);
            out.not_failure();
        } else {
            out.filtered();
        }
    }
}
