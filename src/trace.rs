//! `trace`: the whole story of the messages that match a query (an address, a queue id, a
//! Message-ID or a domain) across logs and bounce emails.
//!
//! Two passes over the logs. The first looks only at lines that contain the query (a literal,
//! case-insensitive search, before any parsing) and notes their queue ids. The second collects
//! every line of those queue ids, following `queued as NEWID` (a hand-over to another Postfix
//! instance) and `sender non-delivery notification: NDRID` (the bounce it produced) to the new
//! ids. The failure records of those messages come from the ordinary readers, so a trace shows
//! exactly what `scan` would say about them; bounce emails among the inputs join the message
//! whose Message-ID, recipient or sender they name.

use crate::engine::{run_chain, Options};
use crate::input::chunks::ChunkReader;
use crate::input::{self, Chain, Kind};
use crate::parse::postfix::queue::{parse_chunk, Carried};
use crate::parse::postfix::{self, split_qid};
use crate::parse::syslog;
use crate::record::Record;
use crate::when::{resolve, YearRule};
use std::collections::HashMap;

/// What to look for.
#[derive(Clone, Debug)]
pub enum Query {
    /// An address, queue id or Message-ID: any line containing it (case-insensitive).
    Text(String),
    /// A domain: any line naming an address `@domain`.
    Domain(String),
}

impl Query {
    fn needle(&self) -> String {
        match self {
            Query::Text(t) => t.trim().trim_matches(|c| c == '<' || c == '>').to_ascii_lowercase(),
            Query::Domain(d) => format!("@{}", d.trim().trim_start_matches('@').to_ascii_lowercase()),
        }
    }

    fn finder(&self) -> regex::bytes::Regex {
        regex::bytes::RegexBuilder::new(&regex::escape(&self.needle()))
            .case_insensitive(true)
            .unicode(false)
            .build()
            .expect("an escaped literal is a valid pattern")
    }
}

/// One line of a message's story.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Event {
    /// RFC 3339, empty when the stamp could not be read.
    pub timestamp: String,
    pub source: String,
    pub line: u64,
    /// The syslog host and program (`mx1 postfix-out/smtp`).
    pub host: String,
    pub program: String,
    pub queue_id: String,
    /// The message text after the queue id.
    pub text: String,
}

/// A message: its queue ids (the first, then those it was handed to or bounced as), its story
/// and its failure records.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Story {
    pub queue_ids: Vec<String>,
    pub message_id: String,
    pub sender: String,
    pub verdict: String,
    pub events: Vec<Event>,
    pub records: Vec<Record>,
}

/// What a trace found, and the inputs it could not read.
#[derive(Default)]
pub struct Trace {
    pub stories: Vec<Story>,
    /// Bounce-email records that name the query but no traced message.
    pub other_records: Vec<Record>,
    pub errors: Vec<String>,
}

type Key = (String, String);

/// A pass over the syslog lines of a chain that only looks at the lines a searcher finds.
trait Visitor {
    /// The start of the next hit in `hay` at or after `at`.
    fn find(&self, hay: &[u8], at: usize) -> Option<usize>;
    /// A line with a hit (each line once).
    fn line(&mut self, source: &str, n: u64, line: &[u8], rule: &YearRule);
}

/// Search a chain's syslog streams chunk by chunk: the searcher runs over whole chunks (no
/// per-line work for lines without a hit), then the hit's line is cut out and numbered.
fn visit(chain: &Chain, opts: &Options, year: Option<i32>, errors: &mut Vec<String>, v: &mut dyn Visitor) {
    for src in &chain.sources {
        let name = src.name();
        let opened = match input::open(src) {
            Ok(o) => o,
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        if opened.kind != Kind::Syslog {
            continue;
        }
        let rule = YearRule::new(opened.mtime, year);
        let mut chunks = ChunkReader::new(opened.reader, opts.settings.chunk_bytes, opts.settings.max_line_bytes);
        let mut base = 0u64;
        loop {
            let c = match chunks.next_chunk() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    errors.push(format!("{name}: read error after line {base}: {e}"));
                    break;
                }
            };
            let data = &c.data;
            let (mut at, mut counted, mut n) = (0usize, 0usize, base);
            while let Some(hit) = v.find(data, at) {
                let start = memchr::memrchr(b'\n', &data[..hit]).map(|i| i + 1).unwrap_or(0);
                let end = memchr::memchr(b'\n', &data[hit..]).map(|i| hit + i).unwrap_or(data.len());
                n += memchr::memchr_iter(b'\n', &data[counted..start]).count() as u64;
                counted = start;
                let line = &data[start..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                v.line(&name, n + 1, line, &rule);
                at = end + 1;
                if at >= data.len() {
                    break;
                }
            }
            base += memchr::memchr_iter(b'\n', data).count() as u64 + u64::from(!data.ends_with(b"\n") && !data.is_empty());
            chunks.recycle(c.data);
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Queue ids a line leads to: a hand-over (`queued as NEWID`), the bounce or delay notice it
/// produced (`sender non-delivery notification: NDRID`).
fn links(rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    [
        &b"queued as "[..],
        b"non-delivery notification: ",
        b"delivery status notification: ",
    ]
    .into_iter()
    .filter_map(move |marker| {
        let i = memchr::memmem::find(rest, marker)?;
        let tail = &rest[i + marker.len()..];
        let end = tail.iter().position(|c| !c.is_ascii_alphanumeric()).unwrap_or(tail.len());
        (end >= 5).then(|| &tail[..end])
    })
}

/// Queue ids that belong to one message, joined as links are found (union-find).
#[derive(Default)]
struct Groups {
    parent: HashMap<Key, Key>,
}

impl Groups {
    fn add(&mut self, k: &Key) -> bool {
        if self.parent.contains_key(k) {
            return false;
        }
        self.parent.insert(k.clone(), k.clone());
        true
    }

    fn root(&self, k: &Key) -> Key {
        let mut k = k.clone();
        while let Some(p) = self.parent.get(&k) {
            if *p == k {
                break;
            }
            k = p.clone();
        }
        k
    }

    fn join(&mut self, a: &Key, b: &Key) {
        self.add(a);
        self.add(b);
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent.insert(rb, ra);
        }
    }
}

/// Pass 1: the queue ids of the lines that hold the query (and the ids those lines lead to);
/// NOQUEUE rejects that hold it.
struct Seeds<'a> {
    finder: &'a regex::bytes::Regex,
    groups: &'a mut Groups,
    rejects: &'a mut Vec<(Event, Vec<u8>)>,
}

fn event(name: &str, n: u64, l: &syslog::Line<'_>, qid: &[u8], rest: &[u8], rule: &YearRule) -> Event {
    Event {
        timestamp: resolve(&l.stamp, rule).map(|t| crate::when::rfc3339(&t)).unwrap_or_default(),
        source: name.to_string(),
        line: n,
        host: text(l.host),
        program: text(l.program),
        queue_id: text(qid),
        text: text(rest),
    }
}

impl Visitor for Seeds<'_> {
    fn find(&self, hay: &[u8], at: usize) -> Option<usize> {
        self.finder.find_at(hay, at).map(|m| m.start())
    }

    fn line(&mut self, name: &str, n: u64, line: &[u8], rule: &YearRule) {
        let Some(l) = syslog::parse_line(line) else { return };
        let Some((qid, rest)) = split_qid(l.message) else { return };
        if qid == b"NOQUEUE" {
            self.rejects.push((event(name, n, &l, qid, rest, rule), line.to_vec()));
            return;
        }
        let key = (text(l.host), text(qid));
        self.groups.add(&key);
        for to in links(rest) {
            self.groups.join(&key, &(key.0.clone(), text(to)));
        }
    }
}

/// Pass 2: every line of the queue ids followed, and the ids they lead to.
struct Collect<'a> {
    /// Alternation of the queue ids followed.
    ids: regex::bytes::Regex,
    groups: &'a mut Groups,
    found_new: bool,
    lines: Vec<(Key, Event, Vec<u8>)>,
}

fn id_finder<'k>(ids: impl Iterator<Item = &'k Key>) -> regex::bytes::Regex {
    let mut alts: Vec<String> = ids.map(|(_, q)| regex::escape(q)).collect();
    alts.sort();
    alts.dedup();
    regex::bytes::Regex::new(&alts.join("|")).expect("escaped literals")
}

impl Visitor for Collect<'_> {
    fn find(&self, hay: &[u8], at: usize) -> Option<usize> {
        self.ids.find_at(hay, at).map(|m| m.start())
    }

    fn line(&mut self, name: &str, n: u64, line: &[u8], rule: &YearRule) {
        let Some(l) = syslog::parse_line(line) else { return };
        let Some((qid, rest)) = split_qid(l.message) else { return };
        let key = (text(l.host), text(qid));
        if !self.groups.parent.contains_key(&key) {
            return;
        }
        for to in links(rest) {
            let k = (key.0.clone(), text(to));
            if !self.groups.parent.contains_key(&k) {
                self.found_new = true;
            }
            self.groups.join(&key, &k);
        }
        self.lines.push((key, event(name, n, &l, qid, rest, rule), line.to_vec()));
    }
}

/// Run a trace over the chains.
pub fn trace(chains: &[Chain], query: &Query, opts: &Options, year: Option<i32>) -> Trace {
    let finder = query.finder();
    let mut out = Trace::default();
    let mut stories: Vec<Story> = Vec::new();
    let mut raw: Vec<Vec<(String, u64, Vec<u8>)>> = Vec::new();
    for chain in chains {
        let mut groups = Groups::default();
        let mut rejects = Vec::new();
        visit(
            chain,
            opts,
            year,
            &mut out.errors,
            &mut Seeds {
                finder: &finder,
                groups: &mut groups,
                rejects: &mut rejects,
            },
        );
        for (e, line) in rejects {
            raw.push(vec![(e.source.clone(), e.line, line)]);
            stories.push(Story {
                queue_ids: vec!["NOQUEUE".into()],
                events: vec![e],
                ..Story::default()
            });
        }
        if groups.parent.is_empty() {
            continue;
        }
        // Pass 2, again while it finds ids whose earlier lines it has not collected.
        let mut lines = Vec::new();
        for _ in 0..4 {
            let ids = id_finder(groups.parent.keys());
            let mut c = Collect {
                ids,
                groups: &mut groups,
                found_new: false,
                lines: Vec::new(),
            };
            let mut ignore = Vec::new();
            visit(chain, opts, year, &mut ignore, &mut c);
            let again = c.found_new;
            lines = c.lines;
            if !again {
                break;
            }
        }
        // One story per group, its lines in file order (a chain is read oldest file first).
        let mut index: HashMap<Key, usize> = HashMap::new();
        for (key, e, line) in lines {
            let root = groups.root(&key);
            let i = *index.entry(root).or_insert_with(|| {
                stories.push(Story::default());
                raw.push(Vec::new());
                stories.len() - 1
            });
            let st = &mut stories[i];
            if !st.queue_ids.contains(&key.1) {
                st.queue_ids.push(key.1.clone());
            }
            if let Some(svc) = postfix::service(e.program.as_bytes()) {
                match postfix::parse(svc, format!("{}: {}", e.queue_id, e.text).as_bytes()) {
                    postfix::Event::MessageId { id, .. } if st.message_id.is_empty() => st.message_id = text(id),
                    postfix::Event::QueueFrom { sender, .. } if st.sender.is_empty() => st.sender = text(sender),
                    _ => {}
                }
            }
            raw[i].push((e.source.clone(), e.line, line));
            st.events.push(e);
        }
    }
    // Failure records of the traced lines, made by the Postfix reader from those lines alone
    // (they hold everything the records need: sender, message-id, deferrals before an expiry).
    for (i, lines) in raw.iter().enumerate() {
        stories[i].records = records_of(lines, opts, year);
    }
    // Bounce emails and Exchange files: their records that name a traced message or the query.
    let by_msgid: HashMap<String, usize> = stories
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.message_id.is_empty())
        .map(|(i, s)| (s.message_id.trim_matches(|c| c == '<' || c == '>').to_ascii_lowercase(), i))
        .collect();
    let needle = query.needle();
    for chain in chains {
        let Some(kind) = chain.sources.first().and_then(|s| input::open(s).ok()).map(|o| o.kind) else {
            continue;
        };
        if kind == Kind::Syslog {
            continue;
        }
        let r = run_chain(chain, opts, true, None);
        out.errors.extend(r.messages.into_iter().filter(|m| m.starts_with("error")));
        for rec in r.records {
            match by_msgid.get(&rec.message_id.to_ascii_lowercase()).copied() {
                Some(i) => stories[i].records.push(rec),
                None if record_names(&rec, &needle) => out.other_records.push(rec),
                None => {}
            }
        }
    }
    for s in &mut stories {
        s.records.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        s.verdict = verdict(s, &needle);
    }
    // --since/--until: the messages with a line in the window.
    let filter = &opts.filter;
    if filter.since.is_some() || filter.until.is_some() {
        stories.retain(|s| {
            s.events
                .iter()
                .any(|e| chrono::DateTime::parse_from_rfc3339(&e.timestamp).is_ok_and(|t| filter.in_window(Some(&t))))
        });
    }
    // Time order across hosts and files (each story is in line order within its chain).
    stories.sort_by_cached_key(first_time);
    out.stories = stories;
    out
}

/// The Postfix reader's records for a story's lines (in their order), with their own file and
/// line numbers.
fn records_of(lines: &[(String, u64, Vec<u8>)], opts: &Options, year: Option<i32>) -> Vec<Record> {
    let mut collector = crate::collect::Collector::new(&opts.filter, &opts.classifier, true);
    let mut carried = Carried::new(opts.settings.max_queue_ids);
    let mut i = 0;
    while i < lines.len() {
        // One run per file, as the reader reads files.
        let name = lines[i].0.clone();
        let j = lines[i..].iter().position(|l| l.0 != name).map(|k| i + k).unwrap_or(lines.len());
        let mut data = Vec::new();
        for l in &lines[i..j] {
            data.extend_from_slice(&l.2);
            data.push(b'\n');
        }
        // The year rule of the file itself (its modification time), as when it was read.
        let mtime = std::fs::metadata(&name)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| std::time::SystemTime::now());
        let rule = YearRule::new(mtime, year);
        let src: std::sync::Arc<str> = name.as_str().into();
        carried.new_stream();
        let before = collector.records.len();
        let o = parse_chunk(&data, &src, &rule, &opts.settings, &opts.filter, &opts.classifier, true);
        carried.absorb(o, &mut collector);
        for r in &mut collector.records[before..] {
            // Line k of the story's run is line lines[i + k - 1] of the file.
            if let Some(l) = lines.get(i + r.line as usize - 1) {
                r.line = l.1;
            }
        }
        i = j;
    }
    collector.records
}

fn first_time(s: &Story) -> String {
    s.events.first().map(|e| e.timestamp.clone()).unwrap_or_default()
}

fn record_names(r: &Record, needle: &str) -> bool {
    [&r.recipient, &r.sender, &r.message_id, &r.original_recipient, &r.queue_id]
        .iter()
        .any(|f| f.to_ascii_lowercase().contains(needle))
}

/// The one-line answer on top of a story.
pub fn verdict(s: &Story, needle: &str) -> String {
    let when = |t: &str| t.replace('T', " ").chars().take(19).collect::<String>();
    let server = |r: &Record| match (r.remote_host.is_empty(), r.remote_ip.is_empty()) {
        (false, false) => format!("{} [{}]", r.remote_host, r.remote_ip),
        (false, true) => r.remote_host.clone(),
        (true, false) => format!("[{}]", r.remote_ip),
        (true, true) => "an unnamed server".to_string(),
    };
    let answer = |r: &Record| {
        let codes = [r.reply_code.as_str(), r.status.as_str()]
            .iter()
            .filter(|c| !c.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        // The server's own words: after "host X[ip] said: ", without the codes said again.
        let d = r.diagnostic.as_str();
        let d = d.find(" said: ").map(|i| &d[i + 7..]).unwrap_or(d);
        let d = d
            .strip_prefix(r.reply_code.as_str())
            .map(|d| d.trim_start_matches(['-', ' ']))
            .unwrap_or(d);
        let d = d.strip_prefix(r.status.as_str()).map(str::trim_start).unwrap_or(d);
        let d: String = d.chars().take(160).collect();
        if codes.is_empty() {
            d
        } else {
            format!("{codes} {d}")
        }
    };
    // The records of the queried address, when the query is one of the recipients.
    let mine: Vec<&Record> = s
        .records
        .iter()
        .filter(|r| r.recipient.to_ascii_lowercase().contains(needle))
        .collect();
    let mut records: Vec<&Record> = if mine.is_empty() { s.records.iter().collect() } else { mine };
    // The log's own account first: a bounce email repeats it with less (no address, say).
    if records.iter().any(|r| r.format != crate::record::Format::Dsn) {
        records.retain(|r| r.format != crate::record::Format::Dsn);
    }
    let last_final = records
        .iter()
        .rev()
        .find(|r| matches!(r.action.as_str(), "failed" | "expired" | "rejected"))
        .copied();
    if let Some(r) = last_final {
        let advice = if r.suppress { "; remove the address" } else { "" };
        let kind = r.bounce_type.map(|b| b.as_str()).unwrap_or("");
        let who = if r.recipient.is_empty() {
            String::new()
        } else {
            format!("{} ", r.recipient)
        };
        return match r.action.as_str() {
            "expired" => format!(
                "{who}expired at {}: gave up after deferrals; last answer: {} ({kind}{advice})",
                when(&r.timestamp),
                answer(r)
            ),
            "rejected" => format!(
                "{who}rejected by us ({}) at {}: {} ({kind}{advice})",
                server(r),
                when(&r.timestamp),
                answer(r)
            ),
            _ => format!(
                "{who}bounced by {} at {}: {} ({kind}{advice})",
                server(r),
                when(&r.timestamp),
                answer(r)
            ),
        };
    }
    // A delivery, not a hand-over to another instance of the story (`queued as` one of its ids)
    // and not the delivery of the notification the message produced.
    let notices: Vec<&str> = s
        .events
        .iter()
        .filter_map(|e| e.text.split_once(" notification: ").map(|(_, id)| id.trim()))
        .collect();
    let handed_on = |e: &Event| {
        e.text
            .split_once("queued as ")
            .is_some_and(|(_, rest)| s.queue_ids.iter().any(|q| rest.starts_with(q.as_str())))
    };
    let sent = s
        .events
        .iter()
        .rev()
        .find(|e| e.text.contains("status=sent") && !handed_on(e) && !notices.contains(&e.queue_id.as_str()));
    let last_defer = records.iter().rev().find(|r| r.action.as_str() == "delayed").copied();
    match (sent, last_defer) {
        (Some(e), _) => {
            let to = between(&e.text, "to=<", ">").unwrap_or_default();
            let relay = between(&e.text, "relay=", ",").unwrap_or_default();
            format!("delivered to {to} via {relay} at {}", when(&e.timestamp))
        }
        (None, Some(r)) => {
            let removed = s.events.iter().any(|e| e.queue_id == r.queue_id && e.text.starts_with("removed"));
            if removed {
                format!(
                    "deferred by {} at {}: {} (soft), then removed from the queue",
                    server(r),
                    when(&r.timestamp),
                    answer(r)
                )
            } else {
                format!(
                    "still deferred: last attempt at {}: {} said {} (soft; Postfix retries until the queue lifetime ends)",
                    when(&r.timestamp),
                    server(r),
                    answer(r)
                )
            }
        }
        (None, None) => {
            if s.events.iter().any(|e| e.text.starts_with("removed")) {
                "no failure: the message left the queue".to_string()
            } else {
                "no outcome in these logs yet".to_string()
            }
        }
    }
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end).map(|j| i + j).unwrap_or(s.len());
    Some(s[i..j].to_string())
}
