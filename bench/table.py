#!/usr/bin/env python3
"""Turn bench/run.sh's hyperfine JSON files into the ratio table of docs/PERFORMANCE.md."""
import json, os, re, sys

w, log, big = sys.argv[1], sys.argv[2], sys.argv[3]


def times(name):
    path = os.path.join(w, name + ".json")
    if not os.path.exists(path):
        return {}
    return {r["command"]: r for r in json.load(open(path))["results"]}


def med(r):
    return r["median"]


size = os.path.getsize(log)
rows = []


def ratio(title, goal, ours, theirs, invert=False):
    if not ours or not theirs:
        return
    a, b = med(ours), med(theirs)
    x = b / a
    rows.append((title, f"{a:.2f} s", f"{b:.2f} s", f"{x:.2f}x", goal))


pf = times("pflogsumm")
ratio("`bouncer report` vs `pflogsumm`", ">= 50x", pf.get("bouncer report"), pf.get("pflogsumm"))
rg = times("ripgrep")
ratio("`bouncer scan --format csv` vs `rg -c` (speed as a share of rg's)", ">= 0.5x", rg.get("bouncer scan --format csv"), rg.get("rg -c"))
ratio("`bouncer report` vs `rg -c`", ">= 0.5x", rg.get("bouncer report"), rg.get("rg -c"))
th = times("threads")
ratio("`--threads 2` vs `--threads 1` (speed-up)", ">= 1.8x", th.get("bouncer report --threads 2"), th.get("bouncer report --threads 1"))
gz = times("gzip")
ratio("`bouncer report` on .gz vs `zcat | rg -c`", "(context)", gz.get("bouncer report (gz)"), gz.get("zcat | rg -c"))
si = times("sisimai")
ratio("`bouncer scan` vs Sisimai on bounce emails", ">= 50x", si.get("bouncer scan (emails)"), si.get("sisimai"))
sm = times("sisimai-mbox")
ratio("the same emails as one mbox vs Sisimai", "(context)", sm.get("bouncer scan (mbox)"), sm.get("sisimai (mbox)"))

print(f"Machine: {os.cpu_count()} cores. Input: {size / 2**20:.0f} MiB plain log ({log}).")
print()
print("| comparison | bouncer | peer | ratio | goal |")
print("| --- | ---: | ---: | ---: | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
for name, cmd in [("ripgrep", "bouncer report"), ("ripgrep", "rg -c")]:
    r = times(name).get(cmd)
    if r:
        print(f"- {cmd}: {size / 2**20 / med(r):.0f} MiB/s")

rss = os.path.join(w, "rss.txt")
if os.path.exists(rss):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(rss).read())
    bs = os.path.getsize(os.path.join(w, f"mail-{big}.log")) if os.path.exists(os.path.join(w, f"mail-{big}.log")) else 0
    if m:
        print(f"- peak RSS of `bouncer report` on the {bs / 2**30:.1f} GiB file: {int(m.group(1)) / 1024:.0f} MiB (goal <= 256 MB)")

# Grand Totals: bouncer's equal pflogsumm's?
pft = os.path.join(w, "pflogsumm.txt")
bj = os.path.join(w, "bouncer.json")
if os.path.exists(pft) and os.path.exists(bj):
    text = open(pft, encoding="utf-8", errors="replace").read()
    grand = text.split("Grand Totals", 1)[-1].split("Per-Day", 1)[0]

    def num(label):
        m = re.search(r"^\s*(\d+)(k?)\s+" + label + r"\b", grand, re.M)
        if not m:
            return None
        return int(m.group(1)) * (1024 if m.group(2) else 1), bool(m.group(2))

    ours = json.load(open(bj))["postfix"]
    same = []
    for key, label in [("received", "received"), ("delivered", "delivered"), ("forwarded", "forwarded"), ("deferred", "deferred"),
                       ("bounced", "bounced"), ("rejected", "rejected"), ("reject_warnings", "reject warnings"), ("held", "held"), ("discarded", "discarded")]:
        got = num(label)
        if got is None:
            same.append(f"{key}: not in pflogsumm output")
            continue
        v, k = got
        ok = ours[key] == v or (k and abs(ours[key] - v) < 1024)
        same.append(f"{key} {ours[key]} {'=' if ok else '!='} {v}{'k/1024' if k else ''}")
    m = re.search(r"\((\d+)\s+deferrals\)", grand)
    if m:
        same.append(f"deferrals {ours['deferrals']} {'=' if int(m.group(1)) == ours['deferrals'] else '!='} {m.group(1)}")
    print("- Grand Totals, bouncer vs pflogsumm on the same file: " + "; ".join(same))
dsn_dir = os.path.join(w, "dsn")
if si.get("sisimai") and os.path.isdir(dsn_dir):
    n = len(os.listdir(dsn_dir))
    for cmd in ("bouncer scan (emails)", "sisimai"):
        print(f"- {cmd}: {n / med(si[cmd]):,.0f} messages/s over {n:,} messages")
sc = os.path.join(w, "sisimai.count")
if os.path.exists(sc):
    print(f"- Sisimai found {open(sc).read().strip()} bounce records in the replicated mailbox")
