//! The Postfix reader: turns log chunks into records, correlating each queue id's lines
//! (sender from qmgr, message-id from cleanup, the pending deferrals before an expiry).
//!
//! A stream is cut into chunks (`input::chunks`) that are parsed in parallel, each starting with
//! no knowledge of the queue ids before it. Where a line needs what came before (a sender logged
//! in an earlier chunk, a deferral before an expiry, whether a queue id was already counted as
//! deferred), the chunk leaves a *hole* that [`Carried::absorb`] fills, chunk after chunk in
//! order, from the state carried over from the earlier chunks. The result is exactly that of
//! one pass over the whole stream; a single chunk is that pass.
//!
//! Carried state is per (syslog host, queue id), dropped on `removed` and capped: when more
//! queue ids are open than the cap, the oldest are evicted and counted.

use super::{delivery_answer, parse, reject_answer, service, Event};
use crate::classify::{bounce_type_of_codes, Classifier};
use crate::collect::{Collector, Filter, Unparsed};
use crate::parse::bytes::{find, text};
use crate::parse::syslog;
use crate::record::{Action, Answer, BounceType, Direction, Format, Record};
use crate::report::summary::PostfixTotals;
use crate::when::{resolve, rfc3339, YearRule};
use chrono::{DateTime, FixedOffset};
use std::collections::VecDeque;
use std::sync::Arc;

pub use crate::parse::{Settings, DEFAULT_MAX_QUEUE_IDS};

type Key = Box<[u8]>;
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type When = Option<DateTime<FixedOffset>>;

/// A recipient deferred and not yet delivered, bounced or expired.
#[derive(Clone, Debug, Default, PartialEq)]
struct Pending {
    recipient: String,
    orig_to: String,
    answer: Answer,
    diagnostic: String,
}

/// What one chunk knows of a queue id.
#[derive(Debug, Default)]
struct Entry {
    /// Continues the state from before the chunk (no `removed` line seen in this chunk).
    inherited: bool,
    /// A `removed` line was seen: the state from before the chunk is gone.
    removed: bool,
    sender: Option<String>,
    message_id: Option<String>,
    deferred: bool,
    pending: Vec<Pending>,
    /// (inherited) an expiry here consumed the pending list from before the chunk.
    pending_reset: bool,
    /// (inherited, no reset) recipients delivered or bounced here, to drop from the old list.
    finalized: Vec<String>,
}

impl Entry {
    fn inherited() -> Entry {
        Entry {
            inherited: true,
            ..Entry::default()
        }
    }

    fn update_pending(&mut self, p: Pending) {
        match self.pending.iter_mut().find(|x| x.recipient == p.recipient) {
            Some(slot) => *slot = p,
            None => self.pending.push(p),
        }
    }

    fn finalize(&mut self, recipient: &str) {
        self.pending.retain(|p| p.recipient != recipient);
        if self.inherited && !self.pending_reset {
            self.finalized.push(recipient.to_string());
        }
    }
}

/// A record field the chunk could not know.
#[derive(Debug)]
struct Hole {
    record: usize,
    key: Key,
    sender: bool,
    message_id: bool,
}

/// An expiry whose pending recipients partly live before the chunk.
#[derive(Debug)]
struct Expiry {
    /// Insert its records before this record of the chunk.
    before: usize,
    key: Key,
    base: Record,
    sender_hole: bool,
    message_id_hole: bool,
    local: Vec<Pending>,
    finalized: Vec<String>,
    when: When,
}

/// What a chunk gave.
pub struct ChunkOut {
    pub summary: crate::report::summary::Summary,
    pub records: Vec<Record>,
    pub unparsed: Vec<Unparsed>,
    /// Lines in the chunk (record and unparsed line numbers are relative to its start).
    pub lines: u64,
    /// Lines longer than `max_line_bytes`, cut there.
    pub cut_lines: u64,
    holes: Vec<Hole>,
    expiries: Vec<Expiry>,
    /// Queue ids whose first deferral here was counted in `postfix.deferred`; not a first if
    /// an earlier chunk had one.
    tentative_deferred: Vec<Key>,
    /// Queue ids removed here and not seen again: only their old state is to be dropped.
    tombstones: Vec<Key>,
    entries: HashMap<Key, Entry>,
}

/// Parse one chunk of whole lines. `keep`: keep the records (for `scan`).
#[allow(clippy::too_many_arguments)]
pub fn parse_chunk(
    data: &[u8],
    source: &Arc<str>,
    rule: &YearRule,
    settings: &Settings,
    filter: &Filter,
    classifier: &Classifier,
    keep: bool,
) -> ChunkOut {
    let mut out = Collector::new(filter, classifier, keep);
    out.tables = settings.tables;
    let mut p = ChunkParser {
        entries: HashMap::default(),
        holes: Vec::new(),
        expiries: Vec::new(),
        tentative: Vec::new(),
        key: Vec::new(),
    };
    let mut n = 0u64;
    let mut cut_lines = 0u64;
    let mut rest = data;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        n += 1;
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > settings.max_line_bytes {
            line = &line[..settings.max_line_bytes];
            cut_lines += 1;
        }
        p.line(line, n, source, rule, &mut out);
    }
    out.summary.inputs.lines += n;
    out.summary.inputs.bytes += data.len() as u64;
    // Sort out the dead here, in parallel, so that the ordered merge has less to do.
    let mut tombstones = Vec::new();
    p.entries.retain(|k, e| {
        let dead = e.removed && e.sender.is_none() && e.message_id.is_none() && !e.deferred && e.pending.is_empty();
        if dead {
            tombstones.push(k.clone());
        }
        !dead
    });
    ChunkOut {
        summary: out.summary,
        records: out.records,
        unparsed: out.unparsed,
        lines: n,
        cut_lines,
        holes: p.holes,
        expiries: p.expiries,
        tentative_deferred: p.tentative,
        tombstones,
        entries: p.entries,
    }
}

struct ChunkParser {
    entries: HashMap<Key, Entry>,
    holes: Vec<Hole>,
    expiries: Vec<Expiry>,
    tentative: Vec<Key>,
    key: Vec<u8>,
}

impl ChunkParser {
    fn set_key(&mut self, host: &[u8], qid: &[u8]) {
        self.key.clear();
        self.key.extend_from_slice(host);
        self.key.push(b' ');
        self.key.extend_from_slice(qid);
    }

    fn entry(&mut self) -> &mut Entry {
        if !self.entries.contains_key(self.key.as_slice()) {
            self.entries.insert(self.key.clone().into_boxed_slice(), Entry::inherited());
        }
        self.entries.get_mut(self.key.as_slice()).expect("present")
    }

    fn line(&mut self, bytes: &[u8], n: u64, source: &Arc<str>, rule: &YearRule, out: &mut Collector<'_>) {
        // Cheap tests first: a Postfix daemon's tag, then the daemon's own shapes.
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
        // Counters need the time only to test the window.
        let windowed = out.filter.since.is_some() || out.filter.until.is_some();
        let when_if_windowed = || if windowed { resolve(&l.stamp, rule) } else { None };
        match event {
            Event::Other => out.not_failure(),
            Event::Unparsed(why) => out.unparsed(source, n, why, bytes),
            Event::Received { .. } => count(out, &when_if_windowed(), |t| t.received += 1),
            Event::HeaderWarning => count(out, &when_if_windowed(), |t| t.reject_warnings += 1),
            Event::Hold { .. } => count(out, &when_if_windowed(), |t| t.held += 1),
            Event::Discard { .. } => count(out, &when_if_windowed(), |t| t.discarded += 1),
            Event::MessageId { qid, id } => {
                self.set_key(l.host, qid);
                self.entry().message_id = Some(text(id));
                out.not_failure();
            }
            Event::QueueFrom { qid, sender } => {
                self.set_key(l.host, qid);
                self.entry().sender = Some(text(sender));
                out.not_failure();
            }
            Event::Removed { qid } => {
                self.set_key(l.host, qid);
                let key = self.key.clone().into_boxed_slice();
                self.entries.insert(
                    key,
                    Entry {
                        removed: true,
                        ..Entry::default()
                    },
                );
                out.not_failure();
            }
            Event::Delivery(d) => {
                self.set_key(l.host, d.qid);
                let action = match d.status {
                    b"bounced" => Action::Failed,
                    b"deferred" => Action::Delayed,
                    b"expired" | b"force-expired" => Action::Expired,
                    b"sent" => {
                        let t = when_if_windowed();
                        let forwarded = find(d.text, b"forwarded as ").is_some();
                        let recipient = d.to.map(text).unwrap_or_default();
                        self.entry().finalize(&recipient);
                        return count(out, &t, |c| if forwarded { c.forwarded += 1 } else { c.delivered += 1 });
                    }
                    _ => {
                        out.not_failure();
                        return;
                    }
                };
                let t = when();
                let answer = delivery_answer(&d);
                let mut rec = Record::new(Format::Postfix, Direction::Outbound, action, source.clone(), n);
                rec.timestamp = t.as_ref().map(rfc3339).unwrap_or_default();
                rec.queue_id = text(d.qid);
                rec.recipient = d.to.map(text).unwrap_or_default();
                rec.original_recipient = d.orig_to.map(text).unwrap_or_default();
                rec.set_answer(answer);
                rec.diagnostic = text(d.text);
                rec.bounce_type = Some(BounceType::of_action(action));
                let in_window = out.in_window(t.as_ref());
                let key: Key = self.key.clone().into_boxed_slice();
                let entry = self.entry();
                rec.sender = entry.sender.clone().unwrap_or_default();
                rec.message_id = entry.message_id.clone().unwrap_or_default();
                let hole = (
                    entry.inherited && entry.sender.is_none(),
                    entry.inherited && entry.message_id.is_none(),
                );
                let first_deferral = action == Action::Delayed && !entry.deferred;
                let inherited = entry.inherited;
                if action == Action::Delayed {
                    entry.deferred = true;
                    entry.update_pending(Pending {
                        recipient: rec.recipient.clone(),
                        orig_to: rec.original_recipient.clone(),
                        answer: rec.answer(),
                        diagnostic: rec.diagnostic.clone(),
                    });
                } else {
                    entry.finalize(&rec.recipient);
                }
                if in_window {
                    let totals = &mut out.summary.postfix;
                    match action {
                        Action::Failed => totals.bounced += 1,
                        Action::Delayed => {
                            totals.deferrals += 1;
                            if first_deferral {
                                totals.deferred += 1;
                                if inherited {
                                    self.tentative.push(key.clone());
                                }
                            }
                        }
                        Action::Expired => totals.expired += 1,
                        Action::Rejected => {}
                    }
                }
                self.emit(out, rec, t.as_ref(), key, hole);
            }
            Event::Expired { qid, sender } => {
                self.set_key(l.host, qid);
                let t = when();
                let key: Key = self.key.clone().into_boxed_slice();
                let entry = self.entry();
                let mut base = Record::new(Format::Postfix, Direction::Outbound, Action::Expired, source.clone(), n);
                base.timestamp = t.as_ref().map(rfc3339).unwrap_or_default();
                base.queue_id = text(qid);
                base.sender = sender.map(text).or_else(|| entry.sender.clone()).unwrap_or_default();
                base.message_id = entry.message_id.clone().unwrap_or_default();
                base.bounce_type = Some(BounceType::Hard);
                if out.in_window(t.as_ref()) {
                    out.summary.postfix.expired += 1;
                }
                if entry.inherited && !entry.pending_reset {
                    // Part of the story may be in earlier chunks: finish it in the merge.
                    let expiry = Expiry {
                        before: out.records.len(),
                        key,
                        sender_hole: sender.is_none() && entry.sender.is_none(),
                        message_id_hole: entry.message_id.is_none(),
                        local: std::mem::take(&mut entry.pending),
                        finalized: std::mem::take(&mut entry.finalized),
                        base,
                        when: t,
                    };
                    entry.pending_reset = true;
                    self.expiries.push(expiry);
                    return;
                }
                let pending = std::mem::take(&mut entry.pending);
                out.failure(expiry_records(&base, pending), t.as_ref());
            }
            Event::Reject(r) => {
                if r.warning {
                    return count(out, &when_if_windowed(), |c| c.reject_warnings += 1);
                }
                let t = when();
                let answer = reject_answer(&r);
                let mut rec = Record::new(Format::Postfix, Direction::Inbound, Action::Rejected, source.clone(), n);
                rec.timestamp = t.as_ref().map(rfc3339).unwrap_or_default();
                rec.queue_id = r.qid.map(text).unwrap_or_default();
                rec.sender = r.from.map(text).unwrap_or_default();
                rec.recipient = r.to.map(text).unwrap_or_default();
                rec.set_answer(answer);
                rec.diagnostic = text(r.text);
                rec.bounce_type = bounce_type_of_codes(&rec.reply_code, &rec.status);
                if out.in_window(t.as_ref()) {
                    out.summary.postfix.rejected += 1;
                }
                let mut hole = (false, false);
                let mut key: Key = Box::new([]);
                if let Some(qid) = r.qid {
                    self.set_key(l.host, qid);
                    key = self.key.clone().into_boxed_slice();
                    let entry = self.entry();
                    rec.message_id = entry.message_id.clone().unwrap_or_default();
                    hole.1 = entry.inherited && entry.message_id.is_none();
                }
                self.emit(out, rec, t.as_ref(), key, hole);
            }
        }
    }

    /// Hand a one-record unit to the collector, remembering its holes when it was kept.
    fn emit(
        &mut self,
        out: &mut Collector<'_>,
        rec: Record,
        when: Option<&DateTime<FixedOffset>>,
        key: Key,
        (sender, message_id): (bool, bool),
    ) {
        let index = out.records.len();
        out.failure([rec], when);
        if (sender || message_id) && out.records.len() > index {
            self.holes.push(Hole {
                record: index,
                key,
                sender,
                message_id,
            });
        }
    }
}

/// A Grand Totals line: counted when inside the time window.
fn count(out: &mut Collector<'_>, when: &When, f: impl FnOnce(&mut PostfixTotals)) {
    if out.in_window(when.as_ref()) {
        f(&mut out.summary.postfix);
        out.not_failure();
    } else {
        out.filtered();
    }
}

/// One record per recipient still pending at an expiry (one without recipient when none is
/// known), each with the answer of its last deferral.
fn expiry_records(base: &Record, pending: Vec<Pending>) -> Vec<Record> {
    if pending.is_empty() {
        return vec![base.clone()];
    }
    pending
        .into_iter()
        .map(|p| {
            let mut r = base.clone();
            r.recipient = p.recipient;
            r.original_recipient = p.orig_to;
            r.set_answer(p.answer);
            r.diagnostic = p.diagnostic;
            r
        })
        .collect()
}

/// The pending list before a chunk, less what the chunk finalized, overlaid with its own.
fn overlay(before: &[Pending], finalized: &[String], local: &[Pending]) -> Vec<Pending> {
    let mut v: Vec<Pending> = before.iter().filter(|p| !finalized.contains(&p.recipient)).cloned().collect();
    for p in local {
        match v.iter_mut().find(|x| x.recipient == p.recipient) {
            Some(slot) => *slot = p.clone(),
            None => v.push(p.clone()),
        }
    }
    v
}

/// Queue-id state carried from chunk to chunk (and from file to file of a chain).
#[derive(Debug, Default)]
struct State {
    sender: Option<String>,
    message_id: Option<String>,
    deferred: bool,
    pending: Vec<Pending>,
    generation: u64,
}

impl From<Entry> for State {
    /// What a chunk learned of a queue id, as the state carried to the next chunks.
    fn from(e: Entry) -> State {
        State {
            sender: e.sender,
            message_id: e.message_id,
            deferred: e.deferred,
            pending: e.pending,
            generation: 0,
        }
    }
}

pub struct Carried {
    map: HashMap<Key, State>,
    order: VecDeque<(u64, Key)>,
    generation: u64,
    cap: usize,
    /// Lines of the current stream absorbed so far (the base of the next chunk's numbers).
    pub lines: u64,
    /// First deferrals counted by chunks that turned out not to be first: to subtract from
    /// `postfix.deferred` (chunk summaries may be added up elsewhere, in any order).
    deferred_overcount: u64,
}

impl Carried {
    pub fn new(cap: usize) -> Carried {
        Carried {
            map: HashMap::default(),
            order: VecDeque::new(),
            generation: 0,
            cap: cap.max(1),
            lines: 0,
            deferred_overcount: 0,
        }
    }

    /// Take the deferral over-count (see `deferred_overcount`), resetting it.
    pub fn take_deferred_overcount(&mut self) -> u64 {
        std::mem::take(&mut self.deferred_overcount)
    }

    /// A new stream of the chain starts: line numbers start again at 1.
    pub fn new_stream(&mut self) {
        self.lines = 0;
    }

    /// Merge the next chunk in order: fill its holes from the carried state, finish its
    /// expiries, note its over-counts, hand its records to `out`, then carry its state on.
    /// (Its summary may already have been taken out and added up elsewhere.)
    pub fn absorb(&mut self, mut c: ChunkOut, out: &mut Collector<'_>) {
        let base = self.lines;
        for h in &c.holes {
            let st = self.map.get(&h.key);
            let r = &mut c.records[h.record];
            if h.sender {
                r.sender = st.and_then(|s| s.sender.clone()).unwrap_or_default();
            }
            if h.message_id {
                r.message_id = st.and_then(|s| s.message_id.clone()).unwrap_or_default();
            }
        }
        for k in &c.tentative_deferred {
            if self.map.get(k).is_some_and(|s| s.deferred) {
                self.deferred_overcount += 1;
            }
        }
        // Records in line order, the merged expiries in their places.
        let mut expiries = std::mem::take(&mut c.expiries).into_iter().peekable();
        let records = std::mem::take(&mut c.records);
        out.summary.merge(&c.summary);
        for (i, mut r) in records.into_iter().enumerate() {
            while expiries.peek().is_some_and(|e| e.before <= i) {
                let e = expiries.next().expect("peeked");
                self.finish_expiry(e, base, out);
            }
            r.line += base;
            out.push_counted(r);
        }
        for e in expiries {
            self.finish_expiry(e, base, out);
        }
        for mut u in c.unparsed {
            u.line += base;
            out.keep_unparsed(u);
        }
        for key in &c.tombstones {
            self.map.remove(key);
        }
        for (key, e) in c.entries {
            self.carry(key, e, &mut out.summary.accounting.evicted_queue_ids);
        }
        self.lines += c.lines;
    }

    fn finish_expiry(&self, e: Expiry, base: u64, out: &mut Collector<'_>) {
        let st = self.map.get(&e.key);
        let mut rec = e.base;
        rec.line += base;
        if e.sender_hole {
            rec.sender = st.and_then(|s| s.sender.clone()).unwrap_or_default();
        }
        if e.message_id_hole {
            rec.message_id = st.and_then(|s| s.message_id.clone()).unwrap_or_default();
        }
        let before = st.map(|s| s.pending.as_slice()).unwrap_or(&[]);
        let pending = overlay(before, &e.finalized, &e.local);
        out.failure(expiry_records(&rec, pending), e.when.as_ref());
    }

    fn carry(&mut self, key: Key, e: Entry, evicted: &mut u64) {
        if e.removed {
            self.map.remove(&key);
            let fresh = e.sender.is_some() || e.message_id.is_some() || e.deferred || !e.pending.is_empty();
            if fresh {
                self.insert(key, State::from(e), evicted);
            }
            return;
        }
        match self.map.get_mut(&key) {
            Some(st) => {
                if e.sender.is_some() {
                    st.sender = e.sender;
                }
                if e.message_id.is_some() {
                    st.message_id = e.message_id;
                }
                st.deferred |= e.deferred;
                st.pending = if e.pending_reset {
                    e.pending
                } else {
                    overlay(&st.pending, &e.finalized, &e.pending)
                };
            }
            None => {
                self.insert(key, State::from(e), evicted);
            }
        }
    }

    fn insert(&mut self, key: Key, mut st: State, evicted: &mut u64) {
        self.generation += 1;
        st.generation = self.generation;
        self.order.push_back((self.generation, key.clone()));
        self.map.insert(key, st);
        while self.map.len() > self.cap {
            let Some((g, k)) = self.order.pop_front() else { break };
            if self.map.get(&k).is_some_and(|s| s.generation == g) {
                self.map.remove(&k);
                *evicted += 1;
            }
        }
        if self.order.len() > 2 * self.map.len() + 1024 {
            let map = &self.map;
            self.order.retain(|(g, k)| map.get(k).is_some_and(|s| s.generation == *g));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_matches_a_serial_pass() {
        let p = |r: &str, code: &str| Pending {
            recipient: r.into(),
            answer: Answer {
                reply_code: code.into(),
                ..Answer::default()
            },
            ..Pending::default()
        };
        // before: a, b pending; the chunk delivers b, defers a again and c.
        let before = vec![p("a", "450"), p("b", "451")];
        let got = overlay(&before, &["b".into()], &[p("c", "452"), p("a", "421")]);
        assert_eq!(got, vec![p("a", "421"), p("c", "452")]);
    }
}
