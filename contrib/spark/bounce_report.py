#!/usr/bin/env python3
"""bouncer on Apache Spark: one bouncer process per log chain, partial summaries merged.

Usage:
  spark-submit contrib/spark/bounce_report.py --bouncer PATH [options] PATH_OR_GLOB...

  PATH_OR_GLOB      files, directories (walked recursively) or globs, local or any Hadoop
                    filesystem URI (hdfs://, s3a://, file://, ...)
  --bouncer PATH    the bouncer binary (Linux, built for the executors' machines); shipped to
                    the executors with SparkFiles
  --format F        text | markdown | json | jsonl of the final report (default: json)
  --top N           rows per table in text/markdown (default 10)
  --year Y          year of syslog stamps without one (default: from each file's modification
                    time, as bouncer does locally)
  --per-file        one task per file instead of one per chain (see "Partitions" below)
  --output FILE     write the final report there (local path on the driver) instead of stdout
  --partials DIR    also save the partial summaries (one JSON line per task) as text files
  --records DIR     also save every failure record (bouncer's JSONL record contract) as text
                    files, one part per task
  --bouncer-args A  extra arguments for every bouncer run (e.g. "--since 2026-01-01")

Partitions: bouncer follows a message through a log and its rotations (mail.log.2.gz,
mail.log.1, mail.log: a chain), so by default one chain is one task and the merged summary equals
one bouncer run over all the files. With --per-file, every file is its own task: more
parallelism for a few huge chains, but a message whose lines fall into two files is seen twice:
postfix.deferred (distinct deferred messages) may count it in both, and its records may lack
sender and message-id. See docs/scale-out.md.
"""
import argparse
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile

COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def chain_key(uri):
    """The chain a file belongs to: its folder and log base name (src/input/walk.rs rotation())."""
    folder, name = uri.rsplit("/", 1) if "/" in uri else ("", uri)
    base = name
    for ext in COMPRESSED:
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    m = re.fullmatch(r"(.+)\.(\d{1,4})", base)
    if m:
        return folder + "/" + m.group(1)
    m = re.fullmatch(r"(.+)-(\d{8}|\d{10})", base)
    if m:
        return folder + "/" + m.group(1)
    return folder + "/" + base


def list_files(sc, patterns):
    """(uri, modification time in seconds) of every file the patterns name, through Hadoop's
    FileSystem API, so local paths and any Hadoop URI work alike."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    out = []
    for p in patterns:
        path = jvm.org.apache.hadoop.fs.Path(p)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
        if statuses is None or len(statuses) == 0:
            raise SystemExit(f"bounce_report: no such file: {p}")
        for st in statuses:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    f = it.next()
                    out.append((f.getPath().toString(), f.getModificationTime() // 1000))
            else:
                out.append((st.getPath().toString(), st.getModificationTime() // 1000))
    return sorted(set(out))


def run_task(files, bouncer_name, mtimes, bouncer_args, want_records):
    """Executor side: write the task's files into a temporary folder under their own names (with
    their modification times), run bouncer over the folder, yield ("summary", json line) and
    ("record", json line) items."""
    from pyspark import SparkFiles

    binary = SparkFiles.get(bouncer_name)
    mode = os.stat(binary).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    files = list(files)
    if not files:
        return
    with tempfile.TemporaryDirectory(prefix="bouncer-task-") as tmp:
        for uri, data in files:
            local = os.path.join(tmp, uri.rsplit("/", 1)[-1])
            with open(local, "wb") as f:
                f.write(data)
            t = mtimes.get(uri)
            if t:
                os.utime(local, (t, t))
        base = [binary]
        summary = subprocess.run(base + ["report", "--format", "jsonl", "-q"] + bouncer_args + [tmp],
                                 capture_output=True)
        if summary.returncode not in (0, 1):
            raise RuntimeError(f"bouncer report failed ({summary.returncode}): {summary.stderr.decode(errors='replace')}")
        text = summary.stdout.decode()
        # The folder's name is the task's; name the inputs as they were given.
        yield ("summary", text.strip())
        if want_records:
            recs = subprocess.run(base + ["scan", "--format", "jsonl", "-q"] + bouncer_args + [tmp], capture_output=True)
            if recs.returncode not in (0, 1):
                raise RuntimeError(f"bouncer scan failed ({recs.returncode}): {recs.stderr.decode(errors='replace')}")
            prefix = tmp.rstrip("/") + "/"
            by_name = {uri.rsplit("/", 1)[-1]: uri for uri, _ in files}
            for line in recs.stdout.decode().splitlines():
                if line.strip():
                    # `source` back to the file's URI.
                    m = re.search(r'"source":"([^"]*)"', line)
                    if m and m.group(1).startswith(prefix):
                        name = m.group(1)[len(prefix):]
                        line = line.replace(m.group(0), '"source":' + json_str(by_name.get(name, name)), 1)
                    yield ("record", line)


def json_str(s):
    import json

    return json.dumps(s)


def main(argv=None):
    ap = argparse.ArgumentParser(description="bouncer report over many log files on Spark")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--bouncer", required=True)
    ap.add_argument("--format", default="json", choices=["text", "markdown", "json", "jsonl"])
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--year", type=int)
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("--output")
    ap.add_argument("--partials")
    ap.add_argument("--records")
    ap.add_argument("--bouncer-args", default="")
    a = ap.parse_args(argv)

    from pyspark import SparkContext

    sc = SparkContext.getOrCreate()
    bouncer = os.path.abspath(a.bouncer)
    sc.addFile(bouncer)
    name = os.path.basename(bouncer)

    files = list_files(sc, a.paths)
    mtimes = dict(files)
    groups = {}
    for uri, _ in files:
        groups.setdefault(uri if a.per_file else chain_key(uri), []).append(uri)
    bouncer_args = shlex.split(a.bouncer_args) + (["--year", str(a.year)] if a.year else [])
    want_records = bool(a.records)

    # One partition per chain: each chain's files, read by Spark (binaryFiles), coalesced into
    # one partition without a shuffle.
    rdds = [sc.binaryFiles(",".join(uris)).coalesce(1) for _, uris in sorted(groups.items())]
    parts = sc.union(rdds).mapPartitions(lambda it: run_task(it, name, mtimes, bouncer_args, want_records))
    parts.cache()
    summaries = parts.filter(lambda kv: kv[0] == "summary").map(lambda kv: kv[1]).collect()
    if a.partials:
        parts.filter(lambda kv: kv[0] == "summary").map(lambda kv: kv[1]).saveAsTextFile(a.partials)
    if want_records:
        parts.filter(lambda kv: kv[0] == "record").map(lambda kv: kv[1]).saveAsTextFile(a.records)

    merged = subprocess.run([bouncer, "merge", "--format", a.format, "--top", str(a.top), "-"],
                            input="\n".join(summaries).encode(), capture_output=True)
    if merged.returncode != 0:
        sys.stderr.write(merged.stderr.decode(errors="replace"))
        return merged.returncode
    if a.output:
        with open(a.output, "wb") as f:
            f.write(merged.stdout)
    else:
        sys.stdout.write(merged.stdout.decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
