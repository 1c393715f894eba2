//! The floor under reading bounce emails: every file in a folder read and parsed by
//! mail-parser (the MIME parser the bounce-email issue names), on all cores, and nothing else —
//! no reader, no classifier, no output. bouncer cannot read emails faster than this; the
//! benchmark's ratio against Sisimai is bounded by this program's.
//!
//! ```sh
//! cargo run --release --example mime_floor -- DIR [read|parse]
//! ```
//! `read` reads the files only; `parse` (the default) reads and parses them the way bouncer
//! does (`bouncer::parse::dsn::mail::parser()`). Prints files, parts and the time taken.

use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: mime_floor DIR [read|parse]");
        std::process::exit(2);
    };
    let parse = args.next().as_deref() != Some("read");
    let start = Instant::now();
    let files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("mime_floor: {dir}: {e}");
            std::process::exit(2);
        }
    };
    let parts: usize = files
        .par_iter()
        .map(|p| {
            let Ok(raw) = std::fs::read(p) else { return 0 };
            if !parse {
                return usize::from(!raw.is_empty());
            }
            bouncer::parse::dsn::mail::parser().parse(&raw).map_or(0, |m| m.parts.len())
        })
        .sum();
    let took = start.elapsed().as_secs_f64();
    println!(
        "{} files, {parts} {}, {took:.3} s, {:.0} files/s",
        files.len(),
        if parse { "parts" } else { "read" },
        files.len() as f64 / took
    );
}
