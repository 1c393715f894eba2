//! The driver: chains of inputs in parallel (rayon), each read by the reader its content
//! calls for, results handed on in input order so output is the same whatever the thread count.

use crate::classify::Classifier;
use crate::collect::{Collector, Filter, RecordSink, Unparsed};
use crate::input::chunks::{Chunk, ChunkReader};
use crate::input::{self, Chain, Kind, Source};
use crate::parse::postfix::queue::{parse_chunk, Carried};
use crate::parse::{dsn, exchange, Settings};
use crate::record::Record;
use crate::report::summary::Summary;
use crate::when::YearRule;
use std::sync::Arc;

/// Everything a run needs besides its inputs.
pub struct Options {
    pub settings: Settings,
    pub filter: Filter,
    pub classifier: Classifier,
    /// `--state`: resume syslog files where the last run stopped.
    pub resume: Option<crate::input::state::Resume>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settings: Settings::default(),
            filter: Filter::default(),
            classifier: Classifier::builtin(),
            resume: None,
        }
    }
}

/// What one chain gave.
pub struct ChainResult {
    pub summary: Summary,
    pub records: Vec<Record>,
    /// One-line errors and warnings (`error: ...`, `warning: ...`).
    pub messages: Vec<String>,
    pub unparsed: Vec<Unparsed>,
    /// The live sink failed (e.g. the reader of stdout went away).
    pub sink_error: Option<std::io::Error>,
}

/// Read one chain: its files one after another, sharing the Postfix correlation state.
pub fn run_chain<'a>(chain: &Chain, opts: &'a Options, keep: bool, sink: Option<&'a mut (dyn RecordSink + 'static)>) -> ChainResult {
    let mut out = Collector::new(&opts.filter, &opts.classifier, keep);
    out.tables = opts.settings.tables;
    out.sink = sink;
    let mut carried = Carried::new(opts.settings.max_queue_ids);
    for src in &chain.sources {
        read_source(src, opts, &mut carried, &mut out);
        if out.stopped() {
            break;
        }
    }
    ChainResult {
        summary: out.summary,
        records: out.records,
        messages: out.messages,
        unparsed: out.unparsed,
        sink_error: out.sink_error,
    }
}

fn read_source(src: &Source, opts: &Options, carried: &mut Carried, out: &mut Collector<'_>) {
    let settings = opts.settings;
    let name: Arc<str> = src.name().into();
    let mut opened = match input::open(src) {
        Ok(o) => o,
        Err(e) => return out.error(format!("{name}: {e}")),
    };
    out.summary.inputs.files += 1;
    let result = match opened.kind {
        Kind::Empty => Ok(()),
        Kind::Binary => {
            out.summary.inputs.skipped += 1;
            out.warning(format!("{name}: skipped: binary data, not a mail log or message"));
            Ok(())
        }
        Kind::Syslog => {
            let rule = YearRule::new(opened.mtime, settings.year);
            carried.new_stream();
            match (&opts.resume, src) {
                (Some(resume), Source::File(path)) => {
                    let compressed = opened.compression != input::open::Compression::None;
                    match resume.window(path, opened.reader, &opened.head, compressed) {
                        Err(e) => Err(e),
                        Ok(mut w) => {
                            if let Some(n) = w.note.take() {
                                out.messages.push(format!("note: {n}"));
                            }
                            carried.lines = w.lines_before;
                            let reader = std::mem::replace(&mut w.reader, Box::new(std::io::empty()));
                            let r = read_log(reader, &name, &rule, opts, carried, out);
                            if r.is_ok() {
                                resume.done(&w, carried.lines);
                            }
                            r
                        }
                    }
                }
                _ => read_log(opened.reader, &name, &rule, opts, carried, out),
            }
        }
        Kind::Email => dsn::read_stream(&mut opened.reader, &name, &settings, out),
        Kind::ExchangeLog => exchange::read_stream(exchange::Layout::TrackingLog, &mut opened.reader, &name, &settings, out),
        Kind::ExchangeCsv => exchange::read_stream(exchange::Layout::Csv, &mut opened.reader, &name, &settings, out),
    };
    if let Err(e) = result {
        out.error(format!("{name}: {e}"));
    }
}

/// Read a log stream in chunks: one thread reads (and decompresses) and cuts, the rayon pool
/// parses each chunk as soon as it is cut, and this thread merges the results back in order.
/// At most a few chunks per worker are in flight, and their buffers are reused.
fn read_log(
    reader: Box<dyn std::io::BufRead + Send>,
    name: &Arc<str>,
    rule: &YearRule,
    opts: &Options,
    carried: &mut Carried,
    out: &mut Collector<'_>,
) -> std::io::Result<()> {
    use std::sync::mpsc::{channel, sync_channel, TryRecvError};
    let settings = &opts.settings;
    let limit = (rayon::current_num_threads() * 2).max(2);
    let keep = out.keep || out.sink.is_some();
    if rayon::current_num_threads() == 1 {
        return read_log_serial(reader, name, rule, opts, carried, out);
    }
    let (chunk_tx, chunk_rx) = sync_channel::<std::io::Result<Chunk>>(2);
    let (spare_tx, spare_rx) = channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let (chunk_bytes, max_line) = (settings.chunk_bytes, settings.max_line_bytes);
        scope.spawn(move || {
            let mut chunks = ChunkReader::new(reader, chunk_bytes, max_line);
            loop {
                if let Ok(buf) = spare_rx.try_recv() {
                    chunks.recycle(buf);
                }
                let item = match chunks.next_chunk() {
                    Ok(Some(c)) => Ok(c),
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                let stop = item.is_err();
                if chunk_tx.send(item).is_err() || stop {
                    return;
                }
            }
        });
        let (done_tx, done_rx) = channel::<(usize, Chunk, crate::parse::postfix::queue::ChunkOut)>();
        // Chunk summaries are added up by the workers, one accumulator per worker thread, so
        // that the ordered merge on this thread stays small.
        let sums: Vec<std::sync::Mutex<Summary>> = (0..=rayon::current_num_threads()).map(|_| Default::default()).collect();
        let sums = &sums;
        let mut waiting = std::collections::BTreeMap::new();
        let (mut next, mut in_flight, mut cut_lines) = (0usize, 0usize, 0u64);
        let mut failure = None;
        let mut reading = true;
        rayon::in_place_scope(|pool| {
            loop {
                // Hand out chunks while there is room; wait for one only when nothing runs.
                while reading && in_flight < limit && failure.is_none() {
                    let got = if in_flight == 0 {
                        chunk_rx.recv().map_err(|_| TryRecvError::Disconnected)
                    } else {
                        chunk_rx.try_recv()
                    };
                    match got {
                        Ok(Ok(c)) => {
                            in_flight += 1;
                            let done = done_tx.clone();
                            let filter = &opts.filter;
                            let classifier = &opts.classifier;
                            pool.spawn(move |_| {
                                let mut o = parse_chunk(&c.data, name, rule, settings, filter, classifier, keep);
                                let slot = rayon::current_thread_index().unwrap_or(sums.len() - 1).min(sums.len() - 1);
                                if let Ok(mut s) = sums[slot].lock() {
                                    s.merge(&o.summary);
                                    o.summary = Summary::default();
                                }
                                let _ = done.send((c.index, c, o));
                            });
                        }
                        Ok(Err(e)) => failure = Some(e),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => reading = false,
                    }
                }
                if in_flight == 0 {
                    break;
                }
                let Some((index, chunk, o)) = wait_for(&done_rx) else { break };
                in_flight -= 1;
                waiting.insert(index, (chunk, o));
                while let Some((chunk, o)) = waiting.remove(&next) {
                    next += 1;
                    cut_lines += chunk.cut_lines + o.cut_lines;
                    if !out.stopped() {
                        carried.absorb(o, out);
                    }
                    let _ = spare_tx.send(chunk.data);
                }
                if out.stopped() {
                    reading = false;
                }
            }
        });
        drop(chunk_rx);
        for s in sums {
            if let Ok(s) = s.lock() {
                out.summary.merge(&s);
            }
        }
        finish_log(name, settings, cut_lines, failure, carried, out)
    })
}

/// `--threads 1`: one thread reads, parses and merges, chunk after chunk.
fn read_log_serial(
    reader: Box<dyn std::io::BufRead + Send>,
    name: &Arc<str>,
    rule: &YearRule,
    opts: &Options,
    carried: &mut Carried,
    out: &mut Collector<'_>,
) -> std::io::Result<()> {
    let settings = &opts.settings;
    let keep = out.keep || out.sink.is_some();
    let mut chunks = ChunkReader::new(reader, settings.chunk_bytes, settings.max_line_bytes);
    let (mut cut_lines, mut failure) = (0u64, None);
    while !out.stopped() {
        match chunks.next_chunk() {
            Ok(Some(c)) => {
                let o = parse_chunk(&c.data, name, rule, settings, &opts.filter, &opts.classifier, keep);
                cut_lines += c.cut_lines + o.cut_lines;
                carried.absorb(o, out);
                chunks.recycle(c.data);
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    finish_log(name, settings, cut_lines, failure, carried, out)
}

/// The end of a log stream: count fixes, the warning for cut lines, a read error.
fn finish_log(
    name: &Arc<str>,
    settings: &Settings,
    cut_lines: u64,
    failure: Option<std::io::Error>,
    carried: &mut Carried,
    out: &mut Collector<'_>,
) -> std::io::Result<()> {
    out.summary.postfix.deferred -= carried.take_deferred_overcount();
    if cut_lines > 0 {
        out.warning(format!(
            "{name}: {cut_lines} line(s) longer than {} bytes were cut (--max-line-bytes)",
            settings.max_line_bytes
        ));
    }
    match failure {
        Some(e) => Err(std::io::Error::new(
            e.kind(),
            format!("read error after line {}: {e}", carried.lines),
        )),
        None => Ok(()),
    }
}

/// The next finished chunk. On a rayon worker (several chains read at once) a blocking wait
/// would hold a thread the pool may need to run the very chunks waited for, so the wait runs
/// pool work while it has none of its own.
fn wait_for<T>(rx: &std::sync::mpsc::Receiver<T>) -> Option<T> {
    use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
    if rayon::current_thread_index().is_none() {
        return rx.recv().ok();
    }
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if let Some(rayon::Yield::Executed) = rayon::yield_now() {
            continue;
        }
        match rx.recv_timeout(std::time::Duration::from_millis(1)) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The merged result of a run.
#[derive(Default)]
pub struct RunResult {
    pub summary: Summary,
    pub unparsed: Vec<Unparsed>,
    pub sink_error: Option<std::io::Error>,
}

/// Read all chains. Records go to `sink` (in input order) when given, else only the summary is
/// made. `messages` is called with each error/warning line as soon as its chain is done.
pub fn run(
    chains: &[Chain],
    opts: &Options,
    mut sink: Option<&mut (dyn RecordSink + 'static)>,
    mut messages: impl FnMut(&str) + Send,
) -> RunResult {
    let mut total = RunResult::default();
    let mut absorb = |r: ChainResult, total: &mut RunResult| {
        for m in &r.messages {
            messages(m);
        }
        total.summary.merge(&r.summary);
        total.unparsed.extend(r.unparsed);
        if total.sink_error.is_none() {
            total.sink_error = r.sink_error;
        }
    };
    if chains.len() == 1 {
        let r = run_chain(&chains[0], opts, false, sink);
        absorb(r, &mut total);
        return total;
    }
    // Chains are parsed on the pool as soon as there is room (a bounded window, so memory
    // stays bounded) and handed on strictly in input order: no barrier between batches. The
    // hand-on runs on a pool thread too (`rayon::scope`), which works while it waits instead of
    // sleeping and being woken for every small file.
    let keep = sink.is_some();
    let window = (rayon::current_num_threads() * 8).max(8);
    let mut waiting = std::collections::BTreeMap::new();
    let (mut next_out, mut next_in) = (0usize, 0usize);
    rayon::scope(|pool| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, ChainResult)>();
        while next_out < chains.len() {
            while next_in < chains.len() && next_in - next_out < window && total.sink_error.is_none() {
                let (tx, chain, i) = (tx.clone(), &chains[next_in], next_in);
                pool.spawn(move |_| {
                    let _ = tx.send((i, run_chain(chain, opts, keep, None)));
                });
                next_in += 1;
            }
            if next_out == next_in {
                break;
            }
            let Some((i, r)) = wait_for(&rx) else { break };
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&next_out) {
                next_out += 1;
                if let Some(s) = sink.as_deref_mut() {
                    for rec in &r.records {
                        if total.sink_error.is_none() {
                            if let Err(e) = s.write(rec) {
                                total.sink_error = Some(e);
                            }
                        }
                    }
                }
                absorb(r, &mut total);
            }
        }
    });
    total
}

/// How `--follow` runs.
pub struct Follow<'a> {
    /// Start at the end of the file (only what is written from now on).
    pub from_end: bool,
    /// How often to look for new lines when there were none.
    pub poll: std::time::Duration,
    /// Set (by Ctrl-C) to end after the current look.
    pub stop: &'a std::sync::atomic::AtomicBool,
    /// Call `tick` with the summary so far this often.
    pub every: Option<std::time::Duration>,
}

/// Read a growing syslog file like `tail -F` until `stop` is set: whole lines are parsed as they
/// arrive and their records handed to `sink` (flushed after each batch), the queue-id state
/// carried across batches and rotations (rename or copytruncate: line numbers start again).
pub fn follow(
    path: &std::path::Path,
    how: &Follow<'_>,
    opts: &Options,
    sink: Option<&mut (dyn RecordSink + 'static)>,
    mut tick: impl FnMut(&Summary),
    mut messages: impl FnMut(&str),
) -> RunResult {
    use crate::input::follow::{Follower, Turn};
    use std::sync::atomic::Ordering;
    let settings = &opts.settings;
    let mut out = Collector::new(&opts.filter, &opts.classifier, false);
    out.sink = sink;
    let name: Arc<str> = path.to_string_lossy().into();
    let mut f = match Follower::open(path, how.from_end, settings.max_line_bytes) {
        Ok(f) => f,
        Err(e) => {
            out.error(format!("{name}: {e}"));
            for m in &out.messages {
                messages(m);
            }
            return RunResult {
                summary: out.summary,
                ..Default::default()
            };
        }
    };
    out.summary.inputs.files += 1;
    let rule = YearRule::new(std::time::SystemTime::now(), settings.year);
    let mut carried = Carried::new(settings.max_queue_ids);
    carried.new_stream();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut last_tick = std::time::Instant::now();
    let mut shown = 0;
    loop {
        buf.clear();
        let turn = match f.look(&mut buf) {
            Ok(t) => t,
            Err(e) => {
                out.error(format!("{name}: {e}"));
                break;
            }
        };
        if !buf.is_empty() {
            let o = parse_chunk(&buf, &name, &rule, settings, &opts.filter, &opts.classifier, true);
            carried.absorb(o, &mut out);
            out.summary.postfix.deferred -= carried.take_deferred_overcount();
            if let Some(s) = out.sink.as_deref_mut() {
                if let Err(e) = s.flush() {
                    out.sink_error = Some(e);
                }
            }
        }
        if turn != Turn::Same {
            carried.new_stream();
            let what = if turn == Turn::Rotated {
                "rotated (a new file)"
            } else {
                "truncated"
            };
            out.messages.push(format!("note: {name}: {what}; reading it from the start"));
        }
        for m in &out.messages[shown..] {
            messages(m);
        }
        shown = out.messages.len();
        if out.stopped() {
            break;
        }
        if let Some(every) = how.every {
            if last_tick.elapsed() >= every {
                tick(&out.summary);
                last_tick = std::time::Instant::now();
            }
        }
        if how.stop.load(Ordering::Relaxed) {
            break;
        }
        if buf.is_empty() && turn == Turn::Same {
            std::thread::sleep(how.poll);
        }
    }
    for m in &out.messages[shown..] {
        messages(m);
    }
    RunResult {
        summary: out.summary,
        unparsed: out.unparsed,
        sink_error: out.sink_error,
    }
}
