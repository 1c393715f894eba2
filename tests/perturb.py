#!/usr/bin/env python3
"""Copy a folder of bounce emails, each changed the way real mail changes it, to check that
the bounce readers depend on what a notice says, not on how this copy of it happens to look.

Usage: perturb.py MODE FROM_DIR TO_DIR

Modes (each leaves the words of every notice as they are):
  wrap     re-wrap the notice's plain-text lines at 50 columns (a continuation keeps the
           line's indentation), as another MTA's line width would break them
  forward  wrap each email as an attachment (message/rfc822) in a person's note, as a help
           desk forwards a bounce to the postmaster
  html     turn the notice's plain-text part into an HTML part (paragraphs, <br>, entities)
  qp       send the notice's plain-text part quoted-printable
  textstatus
           label the report's status part text/plain instead of message/delivery-status, as
           MTAs that write their report fields as a text attachment do
  shapes   the same message written by other software: the top-level header fields in
           reverse order, the status parts' field names lower-cased and their long fields
           folded at 40 columns, every MIME boundary renamed ("=_Part_0_1234.5678==", quoted)
  nofailed every X-Failed-Recipients field removed, as a gateway that drops fields it does not
           know (or an older MTA that never wrote one) leaves a notice: the readers must find
           the failed recipients in what the notice says

Only the notice's plain-text parts that carry no transfer encoding are rewritten (wrap, html,
qp; html and qp only in MIME emails); report parts, returned messages and header fields are
left alone (textstatus changes only the status parts' Content-Type; shapes only header
fields, status fields and boundaries; nofailed only that one field). Files are byte strings
throughout: charsets and line ends (LF or CRLF) are kept.
"""
import html
import os
import quopri
import re
import sys

WIDTH = 50


def boundaries(raw):
    """Every MIME boundary the email declares, as bytes."""
    found = re.findall(rb'(?i)boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))', raw)
    return {a or b for a, b in found}


def text_parts(raw, whole=True):
    """(start, end) of the bodies of the top-level notice's plain-text parts that have no
    transfer encoding: in a MIME email the text/plain leaves, else (if `whole`) the body."""
    head_end = re.search(rb"\r?\n\r?\n", raw)
    if not head_end:
        return []
    head = raw[: head_end.end()]
    if not re.search(rb"(?im)^content-type:\s*multipart", head):
        if not whole:
            return []
        if re.search(rb"(?im)^content-transfer-encoding:\s*(base64|quoted-printable)", head):
            return []
        if re.search(rb"(?im)^content-type:", head) and not re.search(rb"(?im)^content-type:\s*text/plain", head):
            return []
        return [(head_end.end(), len(raw))]
    marks = boundaries(raw)
    lines = [m for m in re.finditer(rb"(?m)^--([^\r\n]*?)(--)?\r?$", raw) if m.group(1) in marks]
    spans = []
    for here, nxt in zip(lines, lines[1:]):
        if here.group(2):  # a closing boundary starts no part
            continue
        part = raw[here.end() : nxt.start()]
        hdr = re.match(rb"\r?\n((?:[^\r\n]+\r?\n)*?)\r?\n", part)
        if not hdr:
            continue
        headers = hdr.group(1)
        plain = re.search(rb"(?im)^content-type:\s*text/plain", headers) or not re.search(rb"(?im)^content-type:", headers)
        encoded = re.search(rb"(?im)^content-transfer-encoding:\s*(base64|quoted-printable)", headers)
        # Only parts before the returned message: what follows it is not the notice.
        if re.search(rb"(?im)^content-type:\s*(message/rfc822|text/rfc822-headers)", headers):
            break
        if plain and not encoded:
            start = here.end() + hdr.end()
            spans.append((start, nxt.start()))
    return spans


def rewrite(raw, change, whole=True):
    out, at = [], 0
    for start, end in text_parts(raw, whole):
        out.append(raw[at:start])
        out.append(change(raw[start:end], raw[:start]))
        at = end
    out.append(raw[at:])
    return b"".join(out)


def wrap(body, _head):
    lines = []
    for line in body.split(b"\n"):
        cr = b"\r" if line.endswith(b"\r") else b""
        text = line[:-1] if cr else line
        # A header field (the returned message's, or a report field) is never re-wrapped.
        if len(text) <= WIDTH or re.match(rb"[A-Za-z][A-Za-z0-9-]*:\s", text):
            lines.append(line)
            continue
        indent = re.match(rb"[ \t]*", text).group(0)
        cur = b""
        for word in text[len(indent) :].split(b" "):
            if cur and len(indent) + len(cur) + 1 + len(word) > WIDTH:
                lines.append(indent + cur + cr)
                cur = word
            else:
                cur = cur + b" " + word if cur else word
        lines.append(indent + cur + cr)
    return b"\n".join(lines)


def as_html(body, head):
    nl = b"\r\n" if b"\r\n" in body else b"\n"
    # A stateful charset (ISO-2022-JP) is decoded first: its two-byte characters use the bytes
    # of `<`, `>` and `&`, which escaping the raw bytes would break. Others pass as bytes.
    declared = re.findall(rb'(?i)charset\s*=\s*"?([a-z0-9_-]+)', head)
    charset = declared[-1].decode().lower() if declared else ""
    codec, errors = "utf-8", "surrogateescape"
    if charset.startswith("iso-2022"):
        try:
            body.decode(charset)
            codec, errors = charset, "strict"
        except (UnicodeDecodeError, LookupError):
            pass  # not what it says it is: left as bytes, as before
    text = body.decode(codec, errors).replace("\r\n", "\n")
    paras = re.split(r"\n[ \t]*\n", text)
    page = "<html><head><style>p { margin: 0 }</style></head><body>\n"
    for p in paras:
        page += "<p>" + "<br>\n".join(html.escape(l) for l in p.split("\n")) + "</p>\n"
    page += "</body></html>\n"
    return page.replace("\n", nl.decode()).encode(codec, errors)


def as_qp(body, _head):
    nl = b"\r\n" if b"\r\n" in body else b"\n"
    enc = quopri.encodestring(body.replace(b"\r\n", b"\n"))
    return enc.replace(b"\n", nl)


def retype(raw, new_type):
    """Set the text parts' headers for their new body (HTML, or quoted-printable)."""
    spans = text_parts(raw, whole=False)
    out, at = [], 0
    for start, end in spans:
        # The part's headers end where its body starts; rewrite within them.
        head_start = raw.rfind(b"\n--", 0, start)
        head_start = 0 if head_start < 0 else head_start
        headers = raw[head_start:start]
        if new_type == "html":
            if re.search(rb"(?im)^content-type:\s*text/plain", headers):
                headers = re.sub(rb"(?im)^(content-type:\s*)text/plain", rb"\1text/html", headers)
            else:
                headers = headers.rstrip(b"\r\n") + b"\nContent-Type: text/html\n\n"
        else:
            headers = re.sub(rb"(?im)^content-transfer-encoding:[^\r\n]*\r?\n", b"", headers)
            nl = b"\r\n" if headers.endswith(b"\r\n") else b"\n"
            headers = headers.rstrip(b"\r\n") + nl + b"Content-Transfer-Encoding: quoted-printable" + nl + nl
        out.append(raw[at:head_start])
        out.append(headers)
        out.append(raw[start:end])
        at = end
    out.append(raw[at:])
    return b"".join(out)


def forward(raw):
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]
    nl = b"\r\n" if b"\r\n" in raw[:4000] else b"\n"
    note = [
        b"From: Help Desk <helpdesk@corp.example>",
        b"To: Postmaster <postmaster@corp.example>",
        b"Subject: Fwd: see below",
        b"Date: Mon, 02 Feb 2026 10:00:00 +0000",
        b"Message-ID: <forward-1@corp.example>",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="perturb-forward"',
        b"",
        b"--perturb-forward",
        b"Content-Type: text/plain; charset=utf-8",
        b"",
        b"This came back; can you tell why?",
        b"",
        b"--perturb-forward",
        b"Content-Type: message/rfc822",
        b'Content-Disposition: attachment; filename="bounce.eml"',
        b"",
        b"",
    ]
    return nl.join(note) + raw + nl + b"--perturb-forward--" + nl



def status_parts(raw, change):
    """Rewrite the bodies of the message/delivery-status parts that carry no transfer encoding."""
    marks = boundaries(raw)
    lines = [m for m in re.finditer(rb"(?m)^--([^\r\n]*?)(--)?\r?$", raw) if m.group(1) in marks]
    out, at = [], 0
    for here, nxt in zip(lines, lines[1:]):
        if here.group(2):
            continue
        part = raw[here.end() : nxt.start()]
        hdr = re.match(rb"\r?\n((?:[^\r\n]+\r?\n)*?)\r?\n", part)
        if not hdr or not re.search(rb"(?im)^content-type:\s*message/(global-)?delivery-status", hdr.group(1)):
            continue
        if re.search(rb"(?im)^content-transfer-encoding:\s*(base64|quoted-printable)", hdr.group(1)):
            continue
        start = here.end() + hdr.end()
        out.append(raw[at:start])
        out.append(change(raw[start : nxt.start()]))
        at = nxt.start()
    out.append(raw[at:])
    return b"".join(out)


def lower_and_fold(body):
    """Field names lower-cased; a field longer than 40 columns folded at its spaces."""
    nl = b"\r\n" if b"\r\n" in body else b"\n"
    out = []
    for line in body.split(nl):
        m = re.match(rb"([A-Za-z][A-Za-z0-9-]*):", line)
        if not m:
            out.append(line)
            continue
        line = m.group(1).lower() + line[m.end(1) :]
        if len(line) <= 40:
            out.append(line)
            continue
        cur = b""
        for word in line.split(b" "):
            if not word:
                cur += b" "
            elif cur.strip() and len(cur) + 1 + len(word) > 40:
                out.append(cur.rstrip(b" "))
                cur = b"        " + word
            else:
                cur = cur + b" " + word if cur else word
        out.append(cur)
    return nl.join(out)


def reorder_header(raw):
    """The top-level header fields in reverse order (an mbox `From ` line stays first)."""
    m = re.search(rb"\r?\n\r?\n", raw)
    if not m:
        return raw
    head, body = raw[: m.start()], raw[m.start() :]
    nl = b"\r\n" if b"\r\n" in head else b"\n"
    lines = head.split(nl)
    first = [lines.pop(0)] if lines and lines[0].startswith(b"From ") else []
    fields = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += nl + line
        else:
            fields.append(line)
    return nl.join(first + fields[::-1]) + body


def rename_boundaries(raw):
    for i, old in enumerate(sorted(boundaries(raw), key=len, reverse=True)):
        new = b"=_Part_%d_1234.5678==" % i
        quoted = b'"' + new + b'"'
        raw = re.sub(rb'(?i)(boundary\s*=\s*)"' + re.escape(old) + rb'"', lambda m: m.group(1) + quoted, raw)
        raw = re.sub(rb"(?i)(boundary\s*=\s*)" + re.escape(old) + rb"(?=[\s;]|$)", lambda m: m.group(1) + quoted, raw)
        raw = re.sub(rb"(?m)^--" + re.escape(old) + rb"(--)?(?=\r?$)", lambda m: b"--" + new + (m.group(1) or b""), raw)
    return raw


def perturb(mode, raw):
    if mode == "wrap":
        return rewrite(raw, wrap)
    if mode == "forward":
        return forward(raw)
    # HTML and quoted-printable only for MIME parts: a plain email's body holds the returned
    # message too, which no MTA would turn into HTML.
    if mode == "html":
        return retype(rewrite(raw, as_html, whole=False), "html")
    if mode == "qp":
        return retype(rewrite(raw, as_qp, whole=False), "qp")
    if mode == "textstatus":
        return re.sub(rb"(?im)^(content-type:[ \t]*)message/(global-)?delivery-status", rb"\1text/plain", raw)
    if mode == "shapes":
        return rename_boundaries(reorder_header(status_parts(raw, lower_and_fold)))
    if mode == "nofailed":
        return re.sub(rb"(?im)^x-failed-recipients:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*", b"", raw)
    raise SystemExit(f"perturb.py: unknown mode {mode!r}")


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    mode, src, dst = sys.argv[1:]
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(src, name), "rb") as fh:
            raw = fh.read()
        with open(os.path.join(dst, name), "wb") as fh:
            fh.write(perturb(mode, raw))


if __name__ == "__main__":
    main()
