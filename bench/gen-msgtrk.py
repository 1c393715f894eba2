#!/usr/bin/env python3
"""A large synthetic Exchange 2016/2019 message tracking log for throughput runs (seeded).

  bench/gen-msgtrk.py SIZE_MB OUT.LOG [SEED]

Rows cycle through RECEIVE, SENDEXTERNAL, DELIVER, DEFER, FAIL (bracketed statuses, one to three
recipients) and DSN events, with quoted subjects; documentation addresses only.
"""
import random
import sys

FIELDS = ("date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,"
          "internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,"
          "related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,"
          "original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version")
ERRORS = [
    ("550 5.1.1 <{r}>: Recipient address rejected: User unknown", "mx.example.net", "203.0.113.25"),
    ("552 5.2.2 <{r}>: Mailbox full", "mx.example.org", "198.51.100.7"),
    ("550 5.7.1 Service unavailable, client host blocked using a block list", "mx2.example.com", "192.0.2.77"),
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {r} not found by SMTP address lookup", "example-com.mail.protection.example", "192.0.2.10"),
    ("451 4.7.0 Temporary server error. Please try again later", "mx.example.org", "2001:db8::25"),
]


def main():
    size = int(sys.argv[1]) << 20
    out = open(sys.argv[2], "w", newline="")
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    out.write("\ufeff#Software: Microsoft Exchange Server\r\n#Version: 15.02.1544.004\r\n#Log-type: Message Tracking Log\r\n"
              "#Date: 2026-01-05T00:00:00.000Z\r\n#Fields: " + FIELDS + "\r\n")
    written, n, sec = 0, 0, 0
    while written < size:
        n += 1
        sec += rnd.randint(0, 2)
        t = f"2026-01-{5 + sec // 86400:02d}T{sec // 3600 % 24:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{rnd.randint(0, 999):03d}Z"
        rcpts = [f"user{rnd.randint(1, 99999)}@example.{rnd.choice(['net', 'org', 'com'])}" for _ in range(rnd.choice([1, 1, 1, 2, 3]))]
        ev = rnd.choices(["RECEIVE", "SENDEXTERNAL", "DELIVER", "DEFER", "FAIL", "DSN"], [30, 30, 25, 5, 7, 3])[0]
        status = "250 2.6.0 Queued mail for delivery" if ev in ("SENDEXTERNAL", "DELIVER") else ""
        if ev in ("DEFER", "FAIL"):
            groups = []
            for r in rcpts:
                text, host, ip = rnd.choice(ERRORS[4:] if ev == "DEFER" else ERRORS[:4])
                groups.append(f"[{{LED={text.format(r=r)}}};{{MSG=}};{{FQDN={host}}};{{IP={ip}}};{{LRT=}}]")
            status = ";".join(groups)
        subject = rnd.choice(['Invoice 42', '"Hello, world"', 'Re: plans', 'Weekly report'])
        if "," in status or '"' in status:
            status = '"' + status.replace('"', '""') + '"'
        if "," in subject or '"' in subject:
            subject = '"' + subject.replace('"', '""') + '"'
        row = (f"{t},192.0.2.30,EX1.corp.example.com,,,08DC{n:012X};{t};0,Internet,SMTP,{ev},{61203000000000 + n},"
               f"<m{n}@EX1.corp.example.com>,{n:08x}-0000-4000-8000-000000000000,{';'.join(rcpts)},{status},{rnd.randint(900, 90000)},"
               f"{len(rcpts)},,,{subject},sender{n % 500}@corp.example.com,sender{n % 500}@corp.example.com,,Originating,,,,"
               f"S:ToEntity=Internet,Email,,15.02.1544.004\r\n")
        out.write(row)
        written += len(row)


if __name__ == "__main__":
    main()
