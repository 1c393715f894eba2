//! Bounce emails on our own synthetic fixtures (fixtures/dsn): one record per bounced
//! recipient with the server that answered, for each family of bounce the reader knows.

mod common;

use common::{fixture, jsonl, run, stdout};
use serde_json::Value;

fn scan(path: &str, extra: &[&str]) -> Vec<Value> {
    let p = fixture(path);
    let mut args = vec!["scan", "--format", "jsonl"];
    args.extend_from_slice(extra);
    args.push(p.to_str().unwrap());
    let out = run(&args);
    assert!(out.status.success(), "{}", common::stderr(&out));
    jsonl(&out)
}

fn one(path: &str) -> Value {
    let recs = scan(path, &[]);
    assert_eq!(recs.len(), 1, "{path}: {recs:?}");
    recs.into_iter().next().unwrap()
}

fn check(r: &Value, fields: &[(&str, &str)]) {
    for (k, v) in fields {
        assert_eq!(r[*k].as_str().unwrap_or(&r[*k].to_string()), *v, "{k} of {r}");
    }
}

/// `report --format json` over `paths` (and `extra` options first): the summary.
fn summary(extra: &[&str], paths: &[&std::path::Path]) -> Value {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = run(&args);
    assert!(out.status.success(), "{}", common::stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The `names` fields of each record, in order: a table to compare whole.
fn columns<'r>(recs: &'r [Value], names: &[&str]) -> Vec<Vec<&'r str>> {
    recs.iter()
        .map(|r| names.iter().map(|n| r[*n].as_str().unwrap()).collect())
        .collect()
}

/// The records of `path` are for `recipients`, in that order, and each has `fields`.
fn check_each(path: &str, recipients: &[&str], fields: &[(&str, &str)]) {
    let recs = scan(path, &[]);
    assert_eq!(recs.len(), recipients.len(), "{path}: {recs:?}");
    for (r, who) in recs.iter().zip(recipients) {
        check(r, &[("recipient", who)]);
        check(r, fields);
    }
}

#[test]
fn rfc3464_report_gives_each_recipient_with_the_returned_headers() {
    let recs = scan("dsn/rfc3464.eml", &[]);
    assert_eq!(recs.len(), 2);
    check(
        &recs[0],
        &[
            ("format", "dsn"),
            ("recipient", "bob@example.com"),
            ("original_recipient", "robert@example.com"),
            ("action", "failed"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx1.example.com"),
            ("reporting_mta", "relay.example.net"),
            ("sender", "alice@example.org"),
            ("message_id", "lunch-42@example.org"),
            ("bounce_type", "hard"),
            ("reason", "userunknown"),
        ],
    );
    assert_eq!(recs[0]["suppress"], true);
    check(
        &recs[1],
        &[
            ("recipient", "carol@example.com"),
            ("action", "delayed"),
            ("status", "4.2.2"),
            ("bounce_type", "soft"),
            ("reason", "mailboxfull"),
        ],
    );
    assert_eq!(recs[1]["suppress"], false);
    assert!(recs[0]["timestamp"].as_str().unwrap().starts_with("2026-01-05T10:00:01"));
}

#[test]
fn text_bounces_of_each_family_name_the_server_that_answered() {
    let exim = one("dsn/exim.eml");
    check(
        &exim,
        &[
            ("recipient", "erin@example.com"),
            ("reply_code", "550"),
            ("status", "5.2.1"),
            ("smtp_command", "RCPT"),
            ("remote_host", "mx.example.com"),
            ("remote_ip", "198.51.100.25"),
            ("message_id", "inv-7@example.net"),
        ],
    );
    let qmail = one("dsn/qmail.eml");
    check(
        &qmail,
        &[
            ("recipient", "grace@example.com"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("remote_host", "mx.example.com"),
            ("remote_ip", "203.0.113.7"),
            ("reason", "mailboxfull"),
        ],
    );
    // Coremail (163.com, 126.com) names the host and the command inside its Diagnostic-Code:
    // "Host mx.example.org(198.51.100.25) RCPT TO said 550 ...".
    check(
        &one("dsn/coremail.eml"),
        &[
            ("recipient", "nobody.here@example.org"),
            ("reply_code", "550"),
            ("smtp_command", "RCPT"),
            ("remote_host", "mx.example.org"),
            ("remote_ip", "198.51.100.25"),
            ("reason", "userunknown"),
        ],
    );
    // Sendmail copies only the first line of a multi-line reply into its Diagnostic-Code; the
    // transcript above holds the whole reply, which says why ("likely unsolicited mail").
    let r = one("dsn/sendmail-multiline-reply.eml");
    check(&r, &[("reason", "spamdetected"), ("reply_code", "550"), ("smtp_command", "DATA")]);
    assert!(
        r["diagnostic"]
            .as_str()
            .unwrap()
            .ends_with("550 5.7.1 Please see our postmaster pages. x12si3 - mx"),
        "{r}"
    );
    // Postfix's "host x[...] said:" whose address a gateway rewrote into a link: the host is
    // still named; no address is made up.
    check(
        &one("dsn/postfix-rewritten-address.eml"),
        &[("remote_host", "mx1.gateway.example"), ("remote_ip", ""), ("smtp_command", "RCPT")],
    );
    let postfix = one("dsn/postfix-text.eml");
    check(
        &postfix,
        &[
            ("recipient", "ivan@example.com"),
            ("reply_code", "554"),
            ("status", "5.7.1"),
            ("smtp_command", "RCPT"),
            ("remote_host", "mx2.example.com"),
            ("remote_ip", "192.0.2.77"),
            ("reason", "blocked"),
        ],
    );
    // LMTP over a local socket: the host before the socket's path answered; no address.
    check(
        &one("dsn/postfix-lmtp.eml"),
        &[
            ("recipient", "kate@example.net"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("smtp_command", "DATA"),
            ("remote_host", "store.example.net"),
            ("remote_ip", ""),
            ("reason", "mailboxfull"),
        ],
    );
    let exchange = one("dsn/exchange.eml");
    check(
        &exchange,
        &[
            ("recipient", "mallory@fabrikam.example"),
            ("reply_code", "550"),
            ("status", "5.1.10"),
            ("remote_host", "mail.contoso.example"),
            ("reason", "userunknown"),
        ],
    );
    let gmail = one("dsn/gmail.eml");
    check(
        &gmail,
        &[
            ("recipient", "peggy@example.com"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx.example.com"),
            ("remote_ip", "192.0.2.200"),
        ],
    );
    // Gmail's older layout: the answer ends with the state its client was in (13: the greeting
    // and EHLO), which names the command; no server is named.
    let gmail_state = one("dsn/gmail-state.eml");
    check(
        &gmail_state,
        &[
            ("recipient", "trent@example.org"),
            ("reply_code", "554"),
            ("status", "5.7.1"),
            ("smtp_command", "EHLO"),
            ("remote_host", ""),
            ("reason", "blocked"),
        ],
    );
    // A Google Groups refusal, in German: no code, no status; the family says "rejected".
    let group = one("dsn/googlegroups.eml");
    check(
        &group,
        &[
            ("recipient", "birdwatchers@googlegroups.example"),
            ("reason", "rejected"),
            ("suppress", "false"),
            ("message_id", "count-2026@example.net"),
        ],
    );
    // The same without the MTA's X-Failed-Recipients: the notice greets the poster and names
    // the group by its short name; the failed address is the returned message's To that bears
    // that name (not the poster, not the other person it went to).
    let group = one("dsn/googlegroups-nolist.eml");
    check(
        &group,
        &[
            ("recipient", "mothwatchers@googlegroups.example"),
            ("sender", "rosa@example.net"),
            ("reason", "rejected"),
            ("message_id", "night-count@example.net"),
        ],
    );
    // sendmail: the transcript's last command before the error, the host it was talking to.
    let sendmail = one("dsn/sendmail.eml");
    check(
        &sendmail,
        &[
            ("recipient", "sam@example.com"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("smtp_command", "RCPT"),
            ("remote_host", "mx1.example.com"),
            ("reason", "userunknown"),
            ("message_id", "inv-4411@example.net"),
        ],
    );
    let dragonfly = one("dsn/dragonfly.eml");
    check(
        &dragonfly,
        &[
            ("recipient", "uma@example.org"),
            ("reply_code", "552"),
            ("status", "5.3.4"),
            ("smtp_command", "DATA"),
            ("remote_host", "mx.example.org"),
            ("remote_ip", "203.0.113.61"),
            ("reason", "mesgtoobig"),
        ],
    );
    // OpenSMTPD names no host: remote_host stays empty, never guessed.
    let opensmtpd = one("dsn/opensmtpd.eml");
    check(
        &opensmtpd,
        &[
            ("recipient", "walt@example.com"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("remote_host", ""),
            ("reason", "mailboxfull"),
            ("sender", "vera@example.net"),
        ],
    );
    for r in [&exim, &qmail, &postfix, &exchange, &gmail, &sendmail, &dragonfly, &opensmtpd] {
        assert_eq!(r["format"], "dsn");
        assert_eq!(r["bounce_type"], "hard");
        assert!(r["remote_host"].as_str().unwrap().parse::<std::net::IpAddr>().is_err());
    }
}

#[test]
fn auto_replies_and_abuse_reports_are_not_failures_unless_all() {
    for f in ["dsn/vacation.eml", "dsn/arf.eml"] {
        assert!(scan(f, &[]).is_empty(), "{f}");
    }
    assert_eq!(scan("dsn/vacation.eml", &["--all"])[0]["reason"], "vacation");
    assert_eq!(scan("dsn/arf.eml", &["--all"])[0]["reason"], "feedback");
    // The complaint's recipient is the address its report names ("redacted subscriber <a@b>"),
    // else none: not "undisclosed recipients", and not the provider that sent the report.
    let r = &scan("dsn/arf-redacted.eml", &["--all"])[0];
    check(
        r,
        &[
            ("recipient", "redacted@isp.example"),
            ("sender", "deals@example.net"),
            ("reason", "feedback"),
        ],
    );
    let r = &scan("dsn/arf-anonymous.eml", &["--all"])[0];
    check(r, &[("recipient", ""), ("sender", "deals@example.net"), ("reason", "feedback")]);
    // Hotmail's junk-mail reports (before ARF): the reported message attached, marked with
    // the complainant's address.
    assert!(scan("dsn/hotmail-jmrp.eml", &[]).is_empty());
    let r = &scan("dsn/hotmail-jmrp.eml", &["--all"])[0];
    check(
        r,
        &[
            ("recipient", "ursula@hotmail.example"),
            ("sender", "offers@example.net"),
            ("reason", "feedback"),
        ],
    );
    let s = summary(&[], &[&fixture("dsn/vacation.eml"), &fixture("dsn/arf.eml")]);
    assert_eq!(s["inputs"]["messages"], 2);
    assert_eq!(s["accounting"]["not_failures"], 2);
    assert_eq!(s["accounting"]["records"], 0);
}

#[test]
fn mbox_maildir_and_stdin() {
    // The bounce is the second message of the mbox; its line is where that message starts.
    let recs = scan("dsn/mailbox.mbox", &[]);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["recipient"], "ivan@example.com");
    assert!(recs[0]["line"].as_u64().unwrap() > 1);
    let s = summary(&[], &[&fixture("dsn/mailbox.mbox")]);
    assert_eq!(s["inputs"]["messages"], 2);
    assert_eq!(s["accounting"]["failures"], 1);
    assert_eq!(s["accounting"]["not_failures"], 1);
    // A maildir: cur/ and new/ are read, and its sub-folder's; not tmp/ (a message still being
    // delivered: heidi's) nor the server's index beside them (dovecot-uidlist).
    let recs = scan("dsn/maildir", &[]);
    let mut rcpts: Vec<&str> = recs.iter().map(|r| r["recipient"].as_str().unwrap()).collect();
    rcpts.sort();
    assert_eq!(rcpts, ["erin@example.com", "grace@example.com", "judy@example.com"]);
    let s = summary(&[], &[&fixture("dsn/maildir")]);
    assert_eq!((s["inputs"]["files"].as_u64(), s["inputs"]["lines"].as_u64()), (Some(3), Some(0)));
    // Named, the message in tmp/ is read.
    let recs = scan("dsn/maildir/tmp", &[]);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["recipient"], "heidi@example.com");
    // One message on standard input, as from a .forward pipe.
    let out = common::output(
        common::bouncer()
            .args(["scan", "--format", "jsonl"])
            .stdin(std::fs::File::open(fixture("dsn/exim.eml")).unwrap()),
    );
    let recs = jsonl(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["source"], "-");
    assert_eq!(recs[0]["recipient"], "erin@example.com");
    // A message from such a pipe that is no bounce writes nothing and exits 0 (the MTA would
    // retry the delivery otherwise).
    let out = common::output(
        common::bouncer()
            .args(["scan", "--format", "jsonl"])
            .stdin(std::fs::File::open(fixture("dsn/forwarded-note.eml")).unwrap()),
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_forwarded_bounce_is_read_as_the_bounce_it_carries() {
    // A person's note with the bounce attached (message/rfc822), its subject a bounce's too:
    // the record is the attached bounce's, not one made up from the note.
    check(
        &one("dsn/forwarded.eml"),
        &[
            ("recipient", "xavier@example.com"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx.example.com"),
            ("sender", "wendy@example.net"),
            ("message_id", "minutes-0312@example.net"),
            ("reason", "userunknown"),
        ],
    );
    // A forwarded ordinary message is no failure, and is counted as read.
    assert!(scan("dsn/forwarded-note.eml", &[]).is_empty());
    let s = summary(&[], &[&fixture("dsn/forwarded-note.eml")]);
    assert_eq!(s["accounting"]["not_failures"], 1);
    assert_eq!(s["accounting"]["unparsed"], 0);
}

#[test]
fn every_bounce_a_digest_carries_is_read() {
    // A list's bounce handler forwards a night's bounces as attachments, with a member's note
    // between them: each bounce gives its records, with its own returned message; the note none.
    let recs = scan("dsn/digest-of-bounces.eml", &[]);
    assert_eq!(
        columns(
            &recs,
            &["recipient", "action", "status", "remote_host", "reporting_mta", "message_id"]
        ),
        [
            [
                "olga@example.org",
                "failed",
                "5.1.1",
                "mx1.example.org",
                "relay-a.example.net",
                "march-1@lists.example.net"
            ],
            [
                "quinn@example.com",
                "failed",
                "5.2.2",
                "mx.example.com",
                "relay-b.example.com",
                "march-2@lists.example.net"
            ],
            [
                "rosa@example.com",
                "delayed",
                "4.4.1",
                "mx.example.com",
                "relay-b.example.com",
                "march-2@lists.example.net"
            ],
        ]
    );
    // One message read, and it is one failure message, whatever it carries.
    let s = summary(&[], &[&fixture("dsn/digest-of-bounces.eml")]);
    assert_eq!(s["accounting"]["failures"], 1);
    assert_eq!(s["accounting"]["records"], 3);
    assert_eq!(s["accounting"]["unparsed"], 0);
}

#[test]
fn a_refused_sender_does_not_condemn_the_recipient() {
    // Exim's callout to our sender failed ("Verification failed for <sender>"): the refusal is
    // of the sender, whatever the report's 5.1.1 says, and the recipient is not suppressed.
    check(
        &one("dsn/exim-sender-verify.eml"),
        &[
            ("recipient", "vera@example.org"),
            ("reason", "rejected"),
            ("suppress", "false"),
            ("status", "5.1.1"),
        ],
    );
}

#[test]
fn an_exchange_notice_in_russian_names_its_generating_server() {
    // KOI8-R, quoted-printable: "Формирующий сервер" is Exchange's "Generating server".
    check(
        &one("dsn/exchange-ru.eml"),
        &[
            ("recipient", "olga@example.ru"),
            ("status", "5.1.10"),
            ("remote_host", "mail.example.ru"),
            ("reason", "userunknown"),
        ],
    );
}

#[test]
fn a_host_of_one_label_is_named_where_the_bounce_vouches_for_it() {
    // A mail stack's container ("host dovecot[192.0.2.100] said:", "Remote-MTA: dns; dovecot")
    // is the host that answered; a name of another type ("X-Unix; mailer") is not a host.
    check(
        &one("dsn/postfix-single-label.eml"),
        &[("remote_host", "dovecot"), ("remote_ip", "192.0.2.100")],
    );
    let recs = scan("dsn/report-single-label.eml", &[]);
    assert_eq!(
        columns(&recs, &["recipient", "remote_host"]),
        [["ivo@example.net", "dovecot"], ["jan@example.net", ""]]
    );
}

#[test]
fn what_real_list_bounces_say_of_aliases_senders_and_delays() {
    // Sendmail's alias below the address is its original recipient, not a second failure, and
    // the list's own address in the transcript ("from x via localhost") is nobody's recipient.
    check(
        &one("dsn/sendmail-alias-hops.eml"),
        &[
            ("recipient", "wim@mail.example.nl"),
            ("original_recipient", "wim@example.nl"),
            ("reply_code", "554"),
        ],
    );
    // MDaemon signs its notices "MDaemon@host": a refusal it reports is read.
    check(
        &one("dsn/mdaemon-warning-unknown.eml"),
        &[("recipient", "xenia@example.py"), ("reason", "userunknown")],
    );
    // A gateway that "could not deliver" but says it goes on trying reports a delay.
    check(
        &one("dsn/gateway-still-trying.eml"),
        &[("recipient", "yannick@example.org"), ("action", "delayed"), ("bounce_type", "soft")],
    );
    // A role address in a recipient's place is the recipient ("<support@x>: host ... said:
    // 550 5.1.1"); one the answer only mentions ("Write to help@x") is not.
    check(
        &one("dsn/postfix-role-address.eml"),
        &[
            ("recipient", "support@example.com"),
            ("remote_host", "mx.example.com"),
            ("status", "5.1.1"),
            ("reason", "userunknown"),
        ],
    );
    // An address a server's answer quotes on an entry's indented lines (the envelope sender
    // it refused, the mailbox an alias led to) is no recipient of its own.
    let recs = scan("dsn/postfix-answer-quotes-sender.eml", &[]);
    assert_eq!(
        columns(&recs, &["recipient", "status", "remote_host"]),
        [
            ["rowan@relay.example.com", "5.1.1", "smtp1.relay.example.com"],
            ["sasha@example.org", "5.2.1", "mx.example.org"],
        ]
    );
    // Exchange Online's "Sender Address:" in the message details names the sender.
    check(
        &one("dsn/o365-sender-address.eml"),
        &[("recipient", "yanna@example.com"), ("status", "5.1.10"), ("reason", "userunknown")],
    );
    // The alias an address was reached through is its original recipient: Exim's "(generated
    // from a@b)" below it, Postfix's "(expanded from <a@b>)" beside it.
    check(
        &one("dsn/exim-generated-from.eml"),
        &[
            ("recipient", "jonas@mail.example.org"),
            ("original_recipient", "jonas.berg@example.org"),
            ("status", "5.1.1"),
        ],
    );
    check(
        &one("dsn/postfix-expanded-from.eml"),
        &[
            ("recipient", "karla@old-host.example"),
            ("original_recipient", "karla@example.com"),
            ("reason", "hostunknown"),
        ],
    );
    // A qmail notice with a long preamble in two languages above its entry, whose answer has
    // no code: the words below the address are the diagnostic and say why, not the preamble's
    // list of common causes ("no longer exists", "mailbox is full").
    check(
        &one("dsn/qmail-localised-preamble.eml"),
        &[
            ("recipient", "greta@example.de"),
            ("diagnostic", "The users mailfolder is over the allowed quota (size)."),
            ("reason", "mailboxfull"),
        ],
    );
    // Exchange 5.5 writes the returned message's header into its part's own: its Message-ID
    // is the original's, and its text is not the notice's.
    let r = one("dsn/exchange55-header-in-part.eml");
    check(
        &r,
        &[
            ("recipient", "marta.ozola@example.org"),
            ("message_id", "exchange55-header-in-part-orig@mail.example.com"),
            ("sender", "ilze.kalna@example.com"),
        ],
    );
    assert!(!r["diagnostic"].as_str().unwrap().contains("spring concert"), "{r}");
    // The same notice naming its recipient by display name only, for a message whose To was
    // its sender (the recipients were in Bcc): the sender is no recipient; unparsed.
    let bcc = fixture("dsn/exchange55-bcc-display-name.eml");
    assert!(scan("dsn/exchange55-bcc-display-name.eml", &[]).is_empty());
    assert_eq!(summary(&[], &[&bcc])["accounting"]["unparsed"], 1);
    // A notice that greets the sender ("Sorry a@b. Your mail to the following recipients could
    // not be delivered ...") and names its recipient by screen name only: the sender is no
    // recipient, and no address is made up for the name; the message counts as unparsed.
    let greeting = fixture("dsn/greeting-names-sender.eml");
    assert!(scan("dsn/greeting-names-sender.eml", &[]).is_empty());
    assert_eq!(summary(&[], &[&greeting])["accounting"]["unparsed"], 1);
    // A notice that names nobody, returning a list's copy: its To is the list, not the
    // subscriber it bounced from, so no recipient is made up; the message counts as unparsed.
    // The same notice returning a message sent to one address gives that address.
    let list = fixture("dsn/list-copy-no-recipient.eml");
    assert!(scan("dsn/list-copy-no-recipient.eml", &[]).is_empty());
    assert_eq!(summary(&[], &[&list])["accounting"]["unparsed"], 1);
    let dir = tempfile::tempdir().unwrap();
    let direct = dir.path().join("direct.eml");
    let text = std::fs::read_to_string(&list).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !["List-Id:", "List-Post:", "X-BeenThere:", "Precedence:"]
                .iter()
                .any(|f| l.starts_with(f))
        })
        .collect();
    std::fs::write(&direct, kept.join("\n") + "\n").unwrap();
    let out = run(&["scan", "--format", "jsonl", direct.to_str().unwrap()]);
    check(
        &jsonl(&out)[0],
        &[
            ("recipient", "walkers@lists.example.org"),
            ("action", "expired"),
            ("reason", "expired"),
        ],
    );
}

#[test]
fn emails_and_logs_mix_in_one_run() {
    let s = summary(&["--year", "2026"], &[&fixture("postfix/mail.log"), &fixture("dsn")]);
    assert!(s["by_format"]["postfix"].as_u64().unwrap() > 0);
    assert!(s["by_format"]["dsn"].as_u64().unwrap() >= 8);
    let i = &s["inputs"];
    let a = &s["accounting"];
    let lhs = i["lines"].as_u64().unwrap() + i["messages"].as_u64().unwrap();
    let rhs: u64 = ["failures", "not_failures", "unparsed", "filtered"]
        .iter()
        .map(|k| a[*k].as_u64().unwrap())
        .sum();
    assert_eq!(lhs, rhs, "every line and message is accounted for: {s}");
}

#[test]
fn charsets_said_by_escapes_or_mislabelled_are_decoded() {
    // A delivery-status part has no charset, yet the diagnostic is ISO-2022-JP (Domino, Notes);
    // no rule reads it, and there is a text: `onhold`, not `undefined`.
    let notes = one("dsn/notes-jis.eml");
    check(
        &notes,
        &[
            ("recipient", "ayumi@example.jp"),
            ("diagnostic", "利用者 テスト (ayumi@example.jp) は ディレクトリに見つかりません。"),
            ("reason", "onhold"),
            ("reporting_mta", "gw.example.jp"),
        ],
    );
    // A part labelled ISO-2022-JP whose bytes are UTF-8 is read as UTF-8, nothing replaced.
    let carrier = one("dsn/mislabelled.eml");
    let d = carrier["diagnostic"].as_str().unwrap();
    assert!(d.starts_with("配信できませんでした。"), "{d}");
    assert!(!d.contains('\u{FFFD}'), "{d}");
    check(&carrier, &[("recipient", "kaito@example.ne.jp"), ("reason", "mailboxfull")]);
    // The same text sent quoted-printable: the transfer encoding is undone first, then the
    // bytes are read as UTF-8.
    let qp = one("dsn/mislabelled-qp.eml");
    assert_eq!(qp["diagnostic"], carrier["diagnostic"]);
    check(&qp, &[("recipient", "kaito@example.ne.jp"), ("reason", "mailboxfull")]);
}

#[test]
fn a_bounce_returning_raw_binary_is_still_read() {
    // The returned message is UTF-16 sent as raw binary (thousands of NUL bytes): the bounce is
    // known by its header block and read, not skipped as binary data.
    let out = run(&["scan", "--format", "jsonl", fixture("dsn/returned-binary.eml").to_str().unwrap()]);
    assert!(out.status.success() && common::stderr(&out).is_empty(), "{}", common::stderr(&out));
    let recs = jsonl(&out);
    assert_eq!(recs.len(), 1);
    check(
        &recs[0],
        &[
            ("recipient", "peggy@example.com"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx2.example.com"),
            ("message_id", "minutes-3@example.net"),
            ("reason", "userunknown"),
        ],
    );
}

#[test]
fn a_size_in_the_message_details_is_not_a_reply_code() {
    // "Size (in bytes): 222" after the recipient is no answer: the 550 above it is.
    let sms = one("dsn/sms-gateway.eml");
    check(
        &sms,
        &[
            ("recipient", "5551234567@sms.example.com"),
            ("reply_code", "550"),
            ("reason", "userunknown"),
            ("suppress", "true"),
        ],
    );
}

#[test]
fn more_families_read_by_the_shared_skeleton() {
    // Each of these is read by the RFC 3464 reader or the shared text reader with no family of
    // its own; the test pins what each gives.
    let cases: &[(&str, &[(&str, &str)])] = &[
        // Yahoo: qmail's layout; "Remote host said" names no host, so none is given.
        (
            "dsn/yahoo.eml",
            &[
                ("recipient", "quinn@example.org"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("smtp_command", "RCPT"),
                ("remote_host", ""),
                ("reason", "userunknown"),
                ("suppress", "true"),
                ("message_id", "sched-31@example.net"),
            ],
        ),
        // Courier: the report's Remote-MTA, with the address its text gives beside that name.
        (
            "dsn/courier.eml",
            &[
                ("recipient", "steve@example.jp"),
                ("status", "5.1.1"),
                ("smtp_command", "RCPT"),
                ("remote_host", "mx3.example.jp"),
                ("remote_ip", "203.0.113.45"),
                ("reporting_mta", "relay.example.net"),
                ("sender", "rita@example.net"),
            ],
        ),
        // Domino: an X-Notes diagnostic with no codes but the report's status.
        (
            "dsn/domino.eml",
            &[
                ("recipient", "ume@example.co.jp"),
                ("reply_code", ""),
                ("status", "5.0.0"),
                ("reason", "userunknown"),
                ("diagnostic", "User ume (ume@example.co.jp) not listed in Domino Directory"),
            ],
        ),
        // Domino's notice as text alone: "was not delivered to: <address> because: <why>", the
        // why naming the server a transfer to failed.
        (
            "dsn/domino-transfer.eml",
            &[
                ("recipient", "taro@hub.example.org"),
                ("reply_code", ""),
                ("status", ""),
                ("remote_host", "hub2.example.org"),
                ("reason", "networkerror"),
                (
                    "diagnostic",
                    "taro@hub.example.org because: Error transferring to hub2.example.org; Maximum hop count exceeded. Message probably in a routing loop.",
                ),
            ],
        ),
        // McAfee: Original-Recipient only, a Remote-MTA that is an address.
        (
            "dsn/mcafee.eml",
            &[
                ("recipient", "wes@example.jp"),
                ("reply_code", "550"),
                ("status", "5.2.2"),
                ("remote_host", ""),
                ("remote_ip", "198.51.100.248"),
                ("reason", "mailboxfull"),
                ("suppress", "false"),
            ],
        ),
        // Trend Micro InterScan: a "Sent <<< / Received >>>" transcript.
        (
            "dsn/trendmicro.eml",
            &[
                ("recipient", "yuki@example.co.jp"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("smtp_command", "RCPT"),
                ("reason", "userunknown"),
                ("message_id", "meeting-2@example.com"),
            ],
        ),
        // au (KDDI): one line of English and the address, no codes at all.
        (
            "dsn/au.eml",
            &[
                ("recipient", "aki@ezweb.example.jp"),
                ("reply_code", ""),
                ("status", ""),
                ("reason", "suspend"),
                ("suppress", "false"),
            ],
        ),
        // Outlook.com: the recipient in the text, the codes in the report.
        (
            "dsn/outlook.eml",
            &[
                ("recipient", "bea@example.org"),
                ("reply_code", "550"),
                ("status", "5.2.2"),
                ("reporting_mta", "omc-7.mail.outlook.example"),
                ("reason", "mailboxfull"),
            ],
        ),
        // Amazon SES: a report whose Remote-MTA is the recipient's server, not SES.
        (
            "dsn/amazonses.eml",
            &[
                ("recipient", "dora@example.com"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("remote_host", "mx1.example.com"),
                ("reporting_mta", "b12-34.smtp-out.amazonses.example"),
                ("reason", "userunknown"),
                ("suppress", "true"),
            ],
        ),
        // Biglobe: sendmail-like section titles, the reason in words only.
        (
            "dsn/biglobe.eml",
            &[
                ("recipient", "rcpt.one@example.ne.jp"),
                ("reply_code", ""),
                ("status", ""),
                ("reason", "mailboxfull"),
                ("suppress", "false"),
                ("message_id", "orig-1@example.org"),
            ],
        ),
        // Apache James: "Failed recipient(s):" then "Error message:" with a bare reply code.
        (
            "dsn/apache-james.eml",
            &[
                ("recipient", "rcpt.two@example.net"),
                ("reply_code", "550"),
                ("reason", "userunknown"),
                ("suppress", "true"),
                ("sender", "sender@example.org"),
            ],
        ),
        // hMailServer: "<keyword> sent: RCPT TO:" and a server named by its address alone.
        (
            "dsn/hmailserver.eml",
            &[
                ("recipient", "bob@example.net"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("smtp_command", "RCPT"),
                ("remote_host", ""),
                ("remote_ip", "192.0.2.77"),
                ("reason", "userunknown"),
            ],
        ),
        // MDaemon: a time-stamped transcript with "<<" for what was sent and ">>" for the
        // answers (sendmail has them the other way round); the diagnostic keeps the answer,
        // however long the transcript before it. The host from "Connecting to
        // mx.example.org:25 [198.51.100.20]" (a port between name and address).
        (
            "dsn/mdaemon.eml",
            &[
                ("recipient", "carol@example.org"),
                ("reply_code", "550"),
                ("status", "5.2.2"),
                ("smtp_command", "RCPT"),
                ("remote_host", "mx.example.org"),
                ("remote_ip", "198.51.100.20"),
                ("reason", "mailboxfull"),
            ],
        ),
        // MDaemon with arrows ("--> RCPT To:<a@b>" sent, "<-- 550 ..." answered): the same
        // transcript; the host from "Attempting SMTP connection to [mx2.example.net : 25]".
        (
            "dsn/mdaemon-arrows.eml",
            &[
                ("recipient", "emil@example.net"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("smtp_command", "RCPT"),
                ("remote_host", "mx2.example.net"),
                ("reason", "userunknown"),
            ],
        ),
        // Exchange's notice in German and in French: the same layout, its titles translated;
        // the returned headers ("Ursprüngliche Nachrichtenheader") are not part of the answer.
        (
            "dsn/exchange-de.eml",
            &[
                ("recipient", "lena@example.de"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("remote_host", "ex01.contoso.example"),
                ("message_id", "o-4@example.com"),
                ("reason", "userunknown"),
            ],
        ),
        (
            "dsn/exchange-fr.eml",
            &[
                ("recipient", "marc@example.fr"),
                ("reply_code", "552"),
                ("status", "5.2.2"),
                ("remote_host", "ex02.contoso.example"),
                ("reason", "mailboxfull"),
            ],
        ),
        // Exchange 2007: the server that answered is named beside the one that wrote the
        // notice, on the "#550 ... ##" line or as "Receiving server"; it wins over the
        // "Generating server" (the sender's own hub).
        (
            "dsn/exchange2007-hash.eml",
            &[
                ("recipient", "nina@fabrikam.example"),
                ("reply_code", "550"),
                ("status", "5.1.1"),
                ("remote_host", "mail.fabrikam.example"),
                ("reason", "userunknown"),
            ],
        ),
        (
            "dsn/exchange2007-receiving.eml",
            &[
                ("recipient", "omar@fabrikam.example"),
                ("reply_code", "552"),
                ("remote_host", "mx2.fabrikam.example"),
                ("remote_ip", "203.0.113.80"),
                ("reason", "mailboxfull"),
            ],
        ),
    ];
    for (path, fields) in cases {
        let r = one(path);
        assert_eq!(r["format"], "dsn", "{path}");
        assert_eq!(r["action"], "failed", "{path}");
        assert_eq!(r["bounce_type"], "hard", "{path}");
        check(&r, fields);
        let d = r["diagnostic"].as_str().unwrap();
        assert!(!d.is_empty() && !d.starts_with(['.', ':', ',']), "{path}: {d}");
        let code = r["reply_code"].as_str().unwrap();
        assert!(d.contains(code), "{path}: the answer {code} is not in {d}");
        assert!(!d.contains("Message-ID:"), "{path}: the returned headers are in {d}");
    }
}

#[test]
fn groupwise_names_its_own_users_by_id_and_the_returned_message_gives_their_address() {
    // GroupWise lists one failed recipient per line, an address or only a user ID, each with
    // its reason in parentheses; the ID is read back to the address the original was sent to.
    let recs = scan("dsn/groupwise.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    for (r, who) in recs.iter().zip(["piet@example.org", "kees@example.org"]) {
        check(
            r,
            &[
                ("recipient", who),
                ("action", "failed"),
                ("reason", "userunknown"),
                ("reply_code", ""),
                ("status", ""),
                ("remote_host", ""),
                ("message_id", "q3-figures-17@example.net"),
                ("sender", "olga@example.net"),
            ],
        );
        assert!(r["diagnostic"].as_str().unwrap().contains("User not on post office"), "{r}");
    }
}

#[test]
fn reports_in_their_less_common_shapes() {
    // Folded Diagnostic-Code lines, a Status with a comment, a Remote-MTA that is a bracketed
    // address, X-Postfix diagnostics, one report with failed and delayed recipients.
    let recs = scan("dsn/rfc3464-folded.eml", &[]);
    assert_eq!(recs.len(), 3, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "gina@example.net"),
            ("original_recipient", ""),
            ("action", "failed"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("remote_host", ""),
            ("remote_ip", "198.51.100.7"),
            ("reason", "mailboxfull"),
            ("diagnostic", "552 5.2.2 <gina@example.net>: Mailbox full, try again later"),
        ],
    );
    assert!(recs[0]["timestamp"].as_str().unwrap().starts_with("2026-03-05T10:59:30"));
    check(
        &recs[1],
        &[
            ("recipient", "hank@example.net"),
            ("action", "delayed"),
            ("bounce_type", "soft"),
            ("status", "4.4.1"),
            ("remote_host", "mx9.example.net"),
            ("remote_ip", "198.51.100.9"),
            ("reason", "networkerror"),
        ],
    );
    check(
        &recs[2],
        &[
            ("recipient", "ivy@example.net"),
            ("status", "5.0.0"),
            ("reply_code", ""),
            ("reason", "systemerror"),
            ("diagnostic", "mail for example.net loops back to myself"),
        ],
    );
    // The delivery-status part in base64.
    check(
        &one("dsn/rfc3464-base64.eml"),
        &[
            ("recipient", "frank@example.org"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx.example.org"),
            ("reporting_mta", "relay.example.com"),
            ("message_id", "o-1@example.com"),
            ("reason", "userunknown"),
        ],
    );
    // A report with no Remote-MTA for its one recipient: the host its text names as the one
    // it was talking to, though that line stands above the recipient's.
    check(
        &one("dsn/report-host-in-text.eml"),
        &[
            ("recipient", "quentin@example.org"),
            ("action", "delayed"),
            ("reply_code", "421"),
            ("status", "4.3.2"),
            ("remote_host", "mx7.example.org"),
            ("bounce_type", "soft"),
        ],
    );
    // The same, reported for the alias (Final-Recipient) while the notice names the address it
    // led to: what the notice says is still about that one recipient.
    let alias = one("dsn/report-alias.eml");
    check(
        &alias,
        &[
            ("recipient", "sales@example.org"),
            ("reply_code", "421"),
            ("status", "4.3.2"),
            ("smtp_command", "RCPT"),
            ("remote_host", "mx7.example.org"),
        ],
    );
    // With no Diagnostic-Code, its answer is the notice's, from the line with the first code.
    let diagnostic = alias["diagnostic"].as_str().unwrap();
    assert!(diagnostic.starts_with("<<< 421 4.3.2 Service shutting down"), "{diagnostic}");
    // Postfix's notice with no report part, two recipients and no codes: each recipient's
    // diagnostic is its own entry, past the standard preamble; the alias an address was
    // expanded from is no recipient of its own.
    let recs = scan("dsn/postfix-nocode.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "sam@branch.example.net"),
            ("diagnostic", "mail for branch.example.net loops back to myself"),
            ("reply_code", ""),
            ("reason", "systemerror"),
            ("suppress", "false"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "tess@lists.example.net"),
            ("diagnostic", "(expanded from <team@lists.example.net>): unknown user: \"tess\""),
            ("reason", "userunknown"),
            ("suppress", "true"),
        ],
    );
    // A Final-Recipient with no address in it ("@far.example.org") and no returned message:
    // the one recipient the notice names.
    check(
        &one("dsn/report-no-address.eml"),
        &[
            ("recipient", "victor@far.example.org"),
            ("status", "5.1.2"),
            ("reply_code", "550"),
            ("reason", "hostunknown"),
        ],
    );
    // RFC 3464 sets no order for a recipient's fields: the alias's target named first, the
    // Final-Recipient last, is still one recipient, the Final-Recipient.
    let text = std::fs::read_to_string(fixture("dsn/report-alias.eml")).unwrap();
    let fields =
        "Final-Recipient: RFC822; sales@example.org\nX-Actual-Recipient: RFC822; quentin@example.org\nAction: delayed\nStatus: 4.3.2\n";
    assert!(text.contains(fields));
    let reordered = text.replace(
        fields,
        "Status: 4.3.2\nAction: delayed\nX-Actual-Recipient: RFC822; quentin@example.org\nFinal-Recipient: RFC822; sales@example.org\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reordered.eml");
    std::fs::write(&path, reordered).unwrap();
    let recs = jsonl(&run(&["scan", "--format", "jsonl", path.to_str().unwrap()]));
    assert_eq!(recs.len(), 1, "{recs:?}");
    check(
        &recs[0],
        &[("recipient", "sales@example.org"), ("status", "4.3.2"), ("smtp_command", "RCPT")],
    );
    // RFC 6533: message/global-delivery-status with a UTF-8 address and host.
    check(
        &one("dsn/rfc6533-global.eml"),
        &[
            ("recipient", "jürgen@bücher.example"),
            ("remote_host", "mx.bücher.example"),
            ("status", "5.1.1"),
            ("message_id", "o-3@example.com"),
            ("reason", "userunknown"),
        ],
    );
}

/// Several recipients in one text bounce: each keeps what its own entry says. Another entry's
/// host, command or "too long in the queue" is not its own; codes given once above a bare list
/// are every listed recipient's; a recipient named again in the administrators' part has its
/// codes there; words before an address on its line ("SMTP Server <mx> rejected recipient")
/// are that recipient's.
#[test]
fn each_recipient_of_a_text_bounce_keeps_its_own_entry() {
    let recs = scan("dsn/qmail-multi.eml", &[]);
    assert_eq!(recs.len(), 3, "{recs:?}");
    let fields = |r: &Value| {
        ["recipient", "action", "reason", "remote_host", "remote_ip", "smtp_command"].map(|k| r[k].as_str().unwrap_or("").to_string())
    };
    assert_eq!(fields(&recs[0]), ["nina@gone.example.net", "failed", "hostunknown", "", "", ""]);
    assert_eq!(
        fields(&recs[1]),
        ["omar@example.com", "failed", "rejected", "", "192.0.2.61", "MAIL"]
    );
    assert_eq!(
        fields(&recs[2]),
        ["pia@example.net", "expired", "mailboxfull", "mx.example.net", "", "RCPT"]
    );

    let recs = scan("dsn/exchange-multi.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "ruth@example.net"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("remote_host", "mx.example.net"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "sven@example.com"),
            ("reply_code", "550"),
            ("status", "5.7.1"),
            // No server of its own named: the one the notice names for all ("Generating server").
            ("remote_host", "exch1.corp.example.org"),
        ],
    );

    check_each(
        "dsn/list-shared-error.eml",
        &["una@example.net", "vic@example.net"],
        &[("reply_code", "552"), ("status", "5.2.2"), ("reason", "mailboxfull")],
    );

    // Named again in the transcript below the list: the command and host there are its own.
    check_each(
        "dsn/sendmail-multi.eml",
        &["ann@example.net", "bob@example.net"],
        &[("smtp_command", "RCPT"), ("remote_host", "mx.example.net"), ("status", "5.1.1")],
    );

    // Entries opened by a label ("Recipient address:"); the address it was reached through is
    // the original recipient, not one more recipient.
    let recs = scan("dsn/messagingserver-text.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "goro@mail.example.jp"),
            ("original_recipient", "board@example.jp"),
            ("status", "5.1.1"),
            ("remote_host", "mx1.example.jp"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "hana@example.net"),
            ("status", "5.2.2"),
            ("remote_host", "mx2.example.net"),
            ("remote_ip", "192.0.2.62"),
        ],
    );

    let recs = scan("dsn/server-rejected-recipient.eml", &[]);
    assert_eq!(recs.len(), 3, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "zed@example.net"),
            ("remote_host", "mx.example.net"),
            ("status", "5.1.1"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "abe@example.com"),
            ("remote_host", "mx.example.com"),
            ("status", "5.2.2"),
        ],
    );
    // Courier names the host on a line of its own above the transcript.
    check(
        &recs[2],
        &[
            ("recipient", "cy@example.jp"),
            ("remote_host", "mx.example.jp"),
            ("remote_ip", "192.0.2.80"),
        ],
    );
}

/// A delay warning is a delay, whatever its later lines say ("could not be delivered for more
/// than 4 hours"): soft, and kept by `--only soft`.
#[test]
fn a_delay_warning_is_delayed_and_soft() {
    let r = one("dsn/delay-warning.eml");
    check(
        &r,
        &[
            ("recipient", "xia@example.net"),
            ("action", "delayed"),
            ("bounce_type", "soft"),
            ("remote_host", "mx.example.net"),
            // "connect to mx.example.net[192.0.2.31]:25: Connection timed out": no command was
            // sent, the connection failed, as the Postfix log reader says of the same text.
            ("smtp_command", "CONN"),
        ],
    );
    assert_eq!(scan("dsn/delay-warning.eml", &["--only", "soft"]).len(), 1);
    // A domain that did not resolve this time, retried: a network error, not a dead domain and
    // not yet expired.
    check(
        &one("dsn/delay-no-mx.eml"),
        &[
            ("recipient", "omar@example.net"),
            ("action", "delayed"),
            ("status", "4.4.4"),
            ("reason", "networkerror"),
            ("suppress", "false"),
        ],
    );
}

/// A mailing list manager (fml) refusing a post: the list is the recipient that refused it,
/// and the list's control address in the help text is no recipient.
#[test]
fn a_mailing_list_refusing_a_post_is_a_bounce_from_the_list() {
    check(
        &one("dsn/fml.eml"),
        &[
            ("recipient", "bird@lists.example.org"),
            ("reason", "rejected"),
            ("action", "failed"),
        ],
    );
}

/// Entries written "why: address" one per line (IMail) and entries with the reason on the line
/// above the address (Notes): each recipient takes its own line's answer, not its neighbour's.
#[test]
fn answers_before_or_above_the_address_are_each_recipients_own() {
    let recs = scan("dsn/imail-multi.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "lina@example.org"),
            ("reason", "userunknown"),
            ("suppress", "true"),
            ("diagnostic", "Unknown user: lina@example.org"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "omar@example.org"),
            ("reason", "mailboxfull"),
            ("diagnostic", "User mailbox exceeds allowed size: omar@example.org"),
        ],
    );

    let recs = scan("dsn/notes-multi.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "kenji@notes.example.jp"),
            ("reason", "userunknown"),
            ("diagnostic", "User not listed in public Name & Address Book kenji@notes.example.jp"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "mika@notes.example.jp"),
            ("reason", "networkerror"),
            ("diagnostic", "Message has exceeded maximum hop count mika@notes.example.jp"),
        ],
    );
    assert_eq!(recs[0]["message_id"], "meeting-0105@example.com");
}

/// Exim hides an address a redirect made ("an undisclosed address"): the address it was
/// generated from is the recipient, and the hidden one the server's answer names is not a second
/// record. In "a@x <b@x>: malformed address" the bracketed address is the one that failed.
#[test]
fn exim_undisclosed_and_malformed_addresses() {
    let recs = scan("dsn/exim-undisclosed.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "otto@example.org"),
            ("status", "5.1.1"),
            ("remote_host", "mx.example.net"),
            ("smtp_command", "RCPT"),
            ("reason", "userunknown"),
        ],
    );
    check(&recs[1], &[("recipient", "pia.b@example.org"), ("reason", "syntaxerror")]);
}

/// Exchange lists each delivery attempt on a dated line: the last one is the answer (its codes
/// and the server that gave it), not the first.
#[test]
fn exchange_dated_attempts_the_last_is_the_answer() {
    check(
        &one("dsn/exchange-attempts.eml"),
        &[
            ("recipient", "saul@example.net"),
            ("reply_code", "550"),
            ("status", "4.4.7"),
            ("action", "expired"),
            ("reason", "expired"),
            ("remote_host", "mx.example.net"),
            ("remote_ip", "198.51.100.10"),
        ],
    );
}

/// Sendmail's transcript names each recipient's session: each recipient takes the host and the
/// command of its own session (the second one does not take the first one's host from the
/// session head below its list entry), and a refusal right after the session head, nothing
/// sent yet, is the greeting's (CONN).
#[test]
fn sendmail_sessions_are_each_recipients_own() {
    let recs = scan("dsn/sendmail-two-sessions.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "taro@example.com"),
            ("remote_host", "mx.example.com"),
            ("smtp_command", "RCPT"),
            ("status", "5.1.1"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "hana@example.org"),
            ("remote_host", "mx.example.org"),
            ("smtp_command", "RCPT"),
            ("status", "5.2.2"),
            // Its answer, up to the next part of the notice (the transcript's rule line).
            ("diagnostic", "(reason: 552 5.2.2 <hana@example.org>... Mailbox full)"),
        ],
    );
    // A session that names none of the recipients (the message refused after DATA) is every
    // recipient's: each has the host, command and status, not only the last one listed.
    check_each(
        "dsn/sendmail-shared-session.eml",
        &["ken@example.com", "mio@example.com"],
        &[
            ("remote_host", "mx1.example.com"),
            ("smtp_command", "DATA"),
            ("reply_code", "554"),
            ("status", "5.7.1"),
        ],
    );
    // Two sessions, the first MX busy, the next refusing: the code is the server's own reply
    // (`<<< 551`), not Sendmail's summary below it (`550 5.1.1 ...`), and the host is the
    // session's that refused.
    check(
        &one("dsn/sendmail-summary-code.eml"),
        &[
            ("recipient", "noah@example.net"),
            ("reply_code", "551"),
            ("status", "5.1.1"),
            ("smtp_command", "DATA"),
            ("remote_host", "mx2.example.net"),
            ("reason", "userunknown"),
        ],
    );
    // The same in a report whose status part gives no Diagnostic-Code: the notice's text
    // completes it with the session above the summary, not with what follows the summary
    // ("<<< 503 need RCPT command").
    check(
        &one("dsn/sendmail-report-summary.eml"),
        &[
            ("recipient", "noah@example.net"),
            ("reply_code", "551"),
            ("status", "5.1.1"),
            ("smtp_command", "DATA"),
            ("remote_host", "mx2.example.net"),
            ("reporting_mta", "mail.example.jp"),
        ],
    );
    // Sendmail V5 sums each recipient up below its session ("554 <a@b>... Remote protocol
    // error") or below the line of the mailer it went to ("550 host (smtp)... Host unknown"):
    // the answer, host and command are that session's, and what follows the summary (the next
    // recipient's mailer line, another host's session) is not this recipient's.
    let recs = scan("dsn/sendmail-v5-summaries.eml", &[]);
    assert_eq!(recs.len(), 3, "{recs:?}");
    let fields = ["reply_code", "smtp_command", "remote_host", "action", "reason"];
    let want = [
        ("taro@example.org", ["553", "MAIL", "mail.example.org", "failed", "norelaying"]),
        ("jun@gone.example.net", ["550", "", "", "failed", "hostunknown"]),
        ("rin@example.com", ["550", "RCPT", "mx.example.com", "failed", "userunknown"]),
    ];
    for (r, (who, values)) in recs.iter().zip(want) {
        check(r, &[("recipient", who)]);
        check(r, &fields.iter().copied().zip(values).collect::<Vec<_>>());
    }
    assert!(
        !recs[0]["diagnostic"].as_str().unwrap().contains("gone.example.net"),
        "{:?}",
        recs[0]
    );
    // The same as a report whose status part names no Remote-MTA: the shared session still
    // gives each recipient its host and command.
    check_each(
        "dsn/sendmail-report-shared-session.eml",
        &["ken@example.com", "mio@example.com"],
        &[
            ("remote_host", "mx1.example.com"),
            ("smtp_command", "DATA"),
            ("reply_code", "554"),
            ("reporting_mta", "mail.example.jp"),
        ],
    );
    check(
        &one("dsn/sendmail-greeting.eml"),
        &[
            ("recipient", "jiro@example.net"),
            ("remote_host", "mx.example.net"),
            ("smtp_command", "CONN"),
            ("reason", "blocked"),
        ],
    );
    // A report with the transcript in its notice: each recipient's command from its own
    // exchange further down (">>> RCPT To:"), not only the last one's.
    let recs = scan("dsn/sendmail-report-multi.eml", &[]);
    assert_eq!(recs.len(), 3, "{recs:?}");
    for (r, who) in recs.iter().zip(["saki@example.net", "ken@example.net"]) {
        check(
            r,
            &[("recipient", who), ("smtp_command", "RCPT"), ("remote_host", "mx.example.net")],
        );
    }
    // The third is named only in the answer to the message's end (">>> ." then "554 ...
    // <akira@example.org>... Message rejected"): DATA.
    check(
        &recs[2],
        &[
            ("recipient", "akira@example.org"),
            ("smtp_command", "DATA"),
            ("remote_host", "mx.example.org"),
            ("reason", "spamdetected"),
        ],
    );
}

/// Postfix's notice to the postmaster that its SMTP server refused a client is our server's
/// inbound refusal: the record says so, and its sender is the one the client gave, not the
/// postmaster the notice went to.
#[test]
fn a_postfix_smtpd_notice_is_an_inbound_refusal() {
    let r = one("dsn/postfix-smtpd-notice.eml");
    check(
        &r,
        &[
            ("recipient", "former.staff@example.org"),
            ("direction", "inbound"),
            ("sender", "newsletter@example.net"),
            ("status", "5.1.1"),
            ("smtp_command", "RCPT"),
        ],
    );
    assert!(scan("dsn/postfix-smtpd-notice.eml", &["--direction", "outbound"]).is_empty());
}

/// Returned header fields written with a blank in front (an HTML notice's `<br>` before a line
/// end, a quoted original) are still read: GroupWise's user ID resolves to its address in the
/// HTML copy (tests/perturb.py) as in the plain one.
#[test]
fn returned_headers_after_a_blank_still_name_the_original() {
    let (_dir, html) = perturbed("html", "groupwise.eml");
    let recs = scan(html.to_str().unwrap(), &[]);
    let who: Vec<&str> = recs.iter().map(|r| r["recipient"].as_str().unwrap()).collect();
    assert_eq!(who, ["piet@example.org", "kees@example.org"]);
}

/// Re-wrapped at 50 columns, "SMTP Server <mx> rejected recipient" stands on the line above its
/// address: it is that recipient's head (its host), not the end of the entry before it.
#[test]
fn a_head_wrapped_above_its_address_stays_with_it() {
    let (_dir, wrapped) = perturbed("wrap", "server-rejected-recipient.eml");
    let text = std::fs::read_to_string(&wrapped).unwrap();
    assert!(
        text.contains("rejected recipient\n<abe@example.com>"),
        "not wrapped as expected:\n{text}"
    );
    let recs = scan(wrapped.to_str().unwrap(), &[]);
    let hosts = columns(&recs, &["recipient", "remote_host"]);
    assert_eq!(
        hosts,
        [
            ["zed@example.net", "mx.example.net"],
            ["abe@example.com", "mx.example.com"],
            ["cy@example.jp", "mx.example.jp"]
        ]
    );
}

/// A copy of fixture `dsn/NAME` changed by tests/perturb.py's MODE, in a temp dir (kept alive by
/// the returned guard).
fn perturbed(mode: &str, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("plain"), dir.path().join(mode));
    std::fs::create_dir(&src).unwrap();
    std::fs::copy(fixture(&format!("dsn/{name}")), src.join(name)).unwrap();
    common::perturb(mode, &src, &dst);
    let path = dst.join(name);
    (dir, path)
}

/// qmail names a server it could not get a name for by its address alone ("Connected to
/// 192.0.2.61 but sender was rejected"): the record keeps remote_host empty and the address in
/// remote_ip, and the report still answers "which server": `[192.0.2.61]` in its host table and
/// `trace`, and under `by_unnamed_remote_ip` in JSON (`by_remote_host` keeps names only).
#[test]
fn report_names_a_server_known_only_by_its_address() {
    let f = fixture("dsn/qmail-multi.eml");
    let out = run(&["report", f.to_str().unwrap()]);
    let text = stdout(&out);
    let table = text.split("Failures by remote host").nth(1).unwrap_or("");
    let table = table.split("\n\n").next().unwrap_or("");
    assert!(table.contains("[192.0.2.61]") && table.contains("mx.example.net"), "{text}");
    let s = summary(&[], &[&f]);
    assert_eq!(s["by_unnamed_remote_ip"]["192.0.2.61"], 1, "{s}");
    assert!(s["by_remote_host"].get("[192.0.2.61]").is_none(), "{s}");
    assert_eq!(s["remote_hosts"]["[192.0.2.61]"]["reply_codes"]["553"], 1, "{s}");
    // And `trace` names it the same way.
    let out = run(&["trace", "omar@example.com", f.to_str().unwrap()]);
    assert!(stdout(&out).contains("553 5.7.1 [192.0.2.61] —"), "{}", stdout(&out));
}

/// "Remote server: mx.example.org (198.51.100.140)" labels the server that answered (a mail
/// gateway's notice); a transcript re-wrapped so that "TO:<a@x>" opens a line (after "RCPT")
/// is the recipient's command, not a returned message's To: header, and each recipient keeps
/// its own answer, whose code ends the line above its address.
#[test]
fn a_remote_server_label_and_a_rewrapped_transcript() {
    check(
        &one("dsn/remote-server-label.eml"),
        &[
            ("recipient", "ren@example.org"),
            ("remote_host", "mx.example.org"),
            ("remote_ip", "198.51.100.140"),
            ("smtp_command", "RCPT"),
            ("status", "5.1.1"),
        ],
    );
    let recs = scan("dsn/transcript-rewrapped.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "nagi@example.net"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("reason", "userunknown"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "sora@example.net"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("reason", "mailboxfull"),
        ],
    );
}

/// Shapes a fifth study showed (each a fixture of our own):
/// - a person's reply that talks about a bounce ("your mail to her bounced ... 550 5.1.1 User
///   unknown") is no bounce: not a failure, and its addresses are no recipients;
/// - an HTML-only notice laid out as a table: cells stand apart ("Recipient" | "erin@..."), and
///   the Message-ID row names no recipient;
/// - a Japanese notice with full-width colons ("詳細：550 ...", "Message-ID：<...>");
/// - a Sendmail session refused at MAIL FROM names no recipient: the recipient whose host it
///   was gets MAIL.
#[test]
fn replies_tables_full_width_labels_and_a_refused_session() {
    let f = fixture("dsn/reply-about-bounce.eml");
    let s = summary(&[], &[&f]);
    assert_eq!(s["accounting"]["records"], 0, "{s}");
    assert_eq!(s["accounting"]["not_failures"], 1, "{s}");

    // A table of header cells and values reads as labels ("Remote server: mx2.example.com").
    let recs = scan("dsn/html-table.eml", &[]);
    assert_eq!(recs.len(), 1, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "erin@example.com"),
            ("reply_code", "550"),
            ("status", "5.7.606"),
            ("remote_host", "mx2.example.com"),
            ("remote_ip", "198.51.100.90"),
        ],
    );

    let recs = scan("dsn/carrier-ja.eml", &[]);
    assert_eq!(recs.len(), 1, "{recs:?}");
    check(&recs[0], &[("recipient", "taro@mobile.example.jp"), ("reply_code", "550")]);

    let recs = scan("dsn/sendmail-mail-session.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(&recs[0], &[("recipient", "greg@example.net"), ("smtp_command", "RCPT")]);
    check(
        &recs[1],
        &[
            ("recipient", "judy@example.org"),
            ("smtp_command", "MAIL"),
            ("remote_host", "mail.example.org"),
        ],
    );
}

/// A one-message file is read whole when it can be, line by line otherwise (CR line ends, an
/// mbox `From ` line, more than the first block, a size cap): the records are the same.
#[test]
fn an_email_gives_the_same_records_however_it_is_read() {
    let raw = std::fs::read(fixture("dsn/qmail-multi.eml")).unwrap();
    let lf: Vec<u8> = String::from_utf8_lossy(&raw).replace("\r\n", "\n").into_bytes();
    let dir = tempfile::tempdir().unwrap();
    let mut padded = lf.clone();
    padded.extend(std::iter::repeat_n(b"padding line of the returned message\n".as_slice(), 600).flatten());
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("as-is.eml", lf.clone()),
        ("no-final-newline.eml", lf.trim_ascii_end().to_vec()),
        ("crlf.eml", String::from_utf8_lossy(&lf).replace('\n', "\r\n").into_bytes()),
        (
            "mbox.eml",
            [b"From MAILER-DAEMON Mon Jan  5 10:00:00 2026\n".as_slice(), &lf].concat(),
        ),
        ("padded.eml", padded),
    ];
    let fields = |r: &Value| {
        ["recipient", "status", "reply_code", "remote_ip", "smtp_command", "reason"].map(|k| r[k].as_str().unwrap_or("").to_string())
    };
    let want: Vec<_> = jsonl(&run(&[
        "scan",
        "--format",
        "jsonl",
        fixture("dsn/qmail-multi.eml").to_str().unwrap(),
    ]))
    .iter()
    .map(fields)
    .collect();
    assert!(want.len() >= 2, "{want:?}");
    for (name, bytes) in variants {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let got: Vec<_> = jsonl(&run(&["scan", "--format", "jsonl", p.to_str().unwrap()]))
            .iter()
            .map(fields)
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

/// A report whose status part is labelled text/plain is still the report, read before the
/// message it returns (here itself a bounce, as in a postmaster's copy): its recipient, with the
/// codes, host and command of its own notice.
#[test]
fn report_with_a_text_status_part_is_read_before_what_it_returns() {
    let r = one("dsn/report-text-status.eml");
    check(
        &r,
        &[
            ("recipient", "nadia@far.example.com"),
            ("action", "failed"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("smtp_command", "RCPT"),
            ("remote_host", "mx2.far.example.com"),
            ("reason", "userunknown"),
            ("message_id", "202603100759.ret7@other.example.org"),
        ],
    );
}

/// A boundary mistyped after the status part leaves the returned header inside it: the
/// original's Message-ID and sender are still read there.
#[test]
fn returned_header_left_inside_the_status_part_is_still_read() {
    let r = one("dsn/report-open-status.eml");
    check(
        &r,
        &[
            ("recipient", "iris@dest.example.org"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx.dest.example.org"),
            ("remote_ip", "198.51.100.23"),
            ("sender", "hugo@example.net"),
            ("message_id", "plan-77@example.net"),
        ],
    );
}

#[test]
fn a_big_mbox_is_read_on_every_thread_in_order() {
    // 300 messages, several batches of them: the records are the same, in the same order, on
    // one thread and on four; a gzip copy cut short keeps every message read before the cut.
    let names = [
        "exim.eml",
        "qmail.eml",
        "rfc3464.eml",
        "vacation.eml",
        "sendmail.eml",
        "postfix-text.eml",
    ];
    let mut mbox = Vec::new();
    for i in 0..300 {
        let raw = std::fs::read(fixture(&format!("dsn/{}", names[i % names.len()]))).unwrap();
        let raw = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
        mbox.extend_from_slice(format!("From MAILER-DAEMON Thu Jan  8 09:{:02}:00 2026\n", i % 60).as_bytes());
        mbox.extend_from_slice(raw.trim_end().as_bytes());
        mbox.extend_from_slice(b"\n\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bounces.mbox");
    std::fs::write(&path, &mbox).unwrap();
    let p = path.to_str().unwrap();
    let one = run(&["scan", "--format", "jsonl", "-j", "1", p]);
    let four = run(&["scan", "--format", "jsonl", "-j", "4", p]);
    assert!(one.status.success() && four.status.success());
    assert_eq!(stdout(&one), stdout(&four));
    let recs = jsonl(&one);
    let lines: Vec<u64> = recs.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "records in the mbox's order");
    let s = summary(&[], &[&path]);
    assert_eq!(s["inputs"]["messages"], 300);
    assert_eq!(s["accounting"]["not_failures"], 50);
    // Cut short: what was read whole before the break is kept, and the break is an error.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &mbox).unwrap();
    let gz = gz.finish().unwrap();
    let cut = dir.path().join("bounces.mbox.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let out = run(&["scan", "--format", "jsonl", "-j", "2", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let kept = jsonl(&out);
    assert!(kept.len() < recs.len(), "{} of {}", kept.len(), recs.len());
    // Every message that starts before the last two `From ` lines the cut copy still holds
    // was read whole.
    let mut prefix = Vec::new();
    let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..gz.len() / 2]), &mut prefix);
    let starts: Vec<u64> = String::from_utf8_lossy(&prefix)
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("From MAILER-DAEMON "))
        .map(|(n, _)| n as u64 + 1)
        .collect();
    let whole = starts[starts.len() - 2];
    let due = recs.iter().filter(|r| r["line"].as_u64().unwrap() < whole).count();
    assert!(due > 100 && kept.len() >= due, "{} kept, {due} read whole", kept.len());
    assert_eq!(
        kept[..],
        recs[..kept.len()]
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["source"] = cut.to_str().unwrap().into();
                r
            })
            .collect::<Vec<_>>()[..]
    );
}

/// Layouts a second round of synthetic bounces (against Sisimai 4.25) found read wrong.
#[test]
fn layouts_of_the_second_study() {
    // DragonFly names its one recipient in its first line; an address in the server's answer
    // (here the sender's, refused at MAIL FROM) is not another.
    let r = one("dsn/dragonfly-sender-refused.eml");
    check(
        &r,
        &[
            ("recipient", "otto@example.org"),
            ("smtp_command", "MAIL"),
            ("remote_host", "mx2.example.org"),
            ("reply_code", "550"),
        ],
    );
    // Apache James lists every recipient under "RCPT TO:" below the one answer.
    check_each(
        "dsn/apache-james-list.eml",
        &["kai@example.org", "lena@example.org"],
        &[
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("reason", "userunknown"),
            ("diagnostic", "550 5.1.1 Mailbox unavailable"),
        ],
    );
    // Exim's delay warning: its "will give up" is what may come, the message is delayed.
    let r = one("dsn/exim-delay-warning.eml");
    check(
        &r,
        &[
            ("action", "delayed"),
            ("bounce_type", "soft"),
            ("reply_code", "451"),
            ("smtp_command", "RCPT"),
        ],
    );
    // Exchange in Italian.
    let r = one("dsn/exchange-it.eml");
    check(
        &r,
        &[
            ("recipient", "carla@example.com"),
            ("reply_code", "552"),
            ("remote_host", "exhub2.posta.example.it"),
            ("reason", "mailboxfull"),
        ],
    );
    // SurfControl names everyone first, then each with its server's address and answer.
    check_each(
        "dsn/surfcontrol-two.eml",
        &["ida@example.org", "jon@example.org"],
        &[("remote_ip", "203.0.113.90"), ("remote_host", "")],
    );
    // fml's loop alert: the list's address, a system error.
    let r = one("dsn/fml-loop.eml");
    check(&r, &[("recipient", "cats@lists.example.jp"), ("reason", "systemerror")]);
    // Domino in French, its answer in the paragraph after "because:".
    let r = one("dsn/domino-fr.eml");
    check(
        &r,
        &[
            ("recipient", "bmartin@notes.example.fr"),
            ("reason", "userunknown"),
            ("suppress", "true"),
        ],
    );
    assert!(r["diagnostic"].as_str().unwrap().contains("dans l'annuaire Domino"), "{r}");
}

/// Layouts a third round of synthetic bounces (Postfix, Sendmail, Exim, qmail, big providers)
/// found read wrong.
#[test]
fn layouts_of_the_third_study() {
    // qmail's bounce of a bounce: the address the bounce failed on, not the one it returns.
    let r = one("dsn/qmail-double-bounce.eml");
    check(
        &r,
        &[
            ("recipient", "lars@example.org"),
            ("reply_code", "550"),
            ("smtp_command", "RCPT"),
            ("remote_ip", "198.51.100.14"),
        ],
    );
    // A pipelined Sendmail session: each answer is the recipient's it names.
    let recs = scan("dsn/sendmail-pipelined-two.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[("recipient", "aki@example.com"), ("status", "5.7.1"), ("reason", "norelaying")],
    );
    check(
        &recs[1],
        &[("recipient", "ren@example.com"), ("status", "5.1.1"), ("reason", "userunknown")],
    );
    // Old Sendmail: the mailer line heads the summary below it.
    let recs = scan("dsn/sendmail-v5-mailer-line.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[("recipient", "hina@example.com"), ("reason", "mailboxfull"), ("suppress", "false")],
    );
    check(&recs[1], &[("recipient", "kou@gone.example.net"), ("reason", "hostunknown")]);
    // Office 365 names the server it last tried in bracketed tags.
    let r = one("dsn/o365-last-attempted.eml");
    check(
        &r,
        &[
            ("remote_host", "mx.fabrikam.example"),
            ("remote_ip", "203.0.113.61"),
            ("status", "4.4.316"),
        ],
    );
    // A local mailer's exit status alone (sysexits.h 67: no such user); the reply code is the
    // transcript's, on the line with the report's own status.
    let r = one("dsn/sendmail-xunix-67.eml");
    check(
        &r,
        &[
            ("recipient", "rin@mail.example.jp"),
            ("reason", "userunknown"),
            ("suppress", "true"),
            ("reply_code", "550"),
        ],
    );
}

/// A fourth round: OpenSMTPD's own failure strings, and notices that are not failures.
#[test]
fn layouts_of_the_fourth_study() {
    // OpenSMTPD's fixed strings name their reasons.
    let recs = scan("dsn/opensmtpd-plain-relayfail.eml", &[]);
    let got = columns(&recs, &["recipient", "reason"]);
    assert_eq!(
        got,
        [
            ["olga@example.com", "notaccept"],
            ["pia@example.net", "networkerror"],
            ["quin@example.jp", "hostunknown"]
        ]
    );
    // A notice that the message was delivered is no failure, whatever address it lists.
    for extra in [&[][..], &["--all"][..]] {
        assert!(scan("dsn/success-plain.eml", extra).is_empty());
    }
    // An auto-reply by its subject stays one, though it quotes a bounce.
    assert!(scan("dsn/autoreply-quoting-bounce.eml", &[]).is_empty());
    let all = scan("dsn/autoreply-quoting-bounce.eml", &["--all"]);
    assert_eq!(all.len(), 1, "{all:?}");
    check(&all[0], &[("reason", "vacation")]);
}

/// Layouts the sixth study found read wrongly: a DragonFly notice with several start lines,
/// Postfix's session transcript to the postmaster, a base64 report cut off with its file, and
/// an Exchange report whose status part has no diagnostic.
#[test]
fn layouts_of_the_sixth_study() {
    // Each DragonFly start line names its recipient, each with its own answer.
    let recs = scan("dsn/dragonfly-two.eml", &[]);
    let got = columns(&recs, &["recipient", "reply_code", "reason"]);
    assert_eq!(
        got,
        [
            ["lou@nowhere.example", "", "hostunknown"],
            ["max@example.org", "550", "userunknown"]
        ]
    );
    check(
        &recs[1],
        &[
            ("remote_host", "mx2.example.org"),
            ("remote_ip", "198.51.100.27"),
            ("smtp_command", "RCPT"),
        ],
    );
    // The transcript's accepted recipient (its message was queued) did not fail; the refused
    // ones are our server's refusals, soft for a 4xx.
    let recs = scan("dsn/postfix-smtpd-session.eml", &[]);
    let got = columns(&recs, &["recipient", "action", "bounce_type"]);
    assert_eq!(
        got,
        [["otto@example.org", "rejected", "hard"], ["pam@example.org", "rejected", "soft"]]
    );
    check(
        &recs[1],
        &[("status", "4.2.2"), ("reason", "mailboxfull"), ("sender", "digest@example.net")],
    );
    // A refused MAIL FROM: its sender is no recipient, and the "503 need MAIL command" the
    // recipient got after it gives way to that refusal.
    let r = one("dsn/postfix-smtpd-mail-refused.eml");
    check(
        &r,
        &[
            ("recipient", "quinn@example.org"),
            ("reply_code", "553"),
            ("status", "5.7.1"),
            ("smtp_command", "MAIL"),
            ("reason", "rejected"),
        ],
    );
    // A base64 status part cut off mid-group: what decodes is read.
    let recs = scan("dsn/rfc3464-base64-cut.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "rita@example.org"),
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx.example.org"),
        ],
    );
    check(
        &recs[1],
        &[("recipient", "sam@example.org"), ("status", "5.2.2"), ("reason", "mailboxfull")],
    );
    // The reply code from Exchange's part for administrators, where the status part gives none.
    check(
        &one("dsn/exchange-admin-code.eml"),
        &[("reply_code", "550"), ("status", "5.1.1"), ("reason", "userunknown")],
    );
}

/// The sixth study's last rounds: Sisimai 5's fallback layouts, generic reports and
/// auto-replies.
#[test]
fn layouts_of_the_sixth_study_second_part() {
    // Each recipient named again inside its own answer, with the host that gave it.
    let recs = scan("dsn/x3-two.eml", &[]);
    assert_eq!(recs.len(), 2, "{recs:?}");
    check(
        &recs[0],
        &[
            ("recipient", "moe@example.com"),
            ("reply_code", "550"),
            ("smtp_command", "RCPT"),
            ("reason", "userunknown"),
        ],
    );
    check(
        &recs[1],
        &[
            ("recipient", "ned@example.org"),
            ("reply_code", "552"),
            ("status", "5.2.2"),
            ("smtp_command", "DATA"),
            ("remote_host", "mx.example.org"),
        ],
    );
    // A report of each attempt: the last one is the answer.
    check(
        &one("dsn/report-attempts.eml"),
        &[
            ("action", "failed"),
            ("status", "5.1.1"),
            ("remote_host", "mx2.example.org"),
            ("reason", "userunknown"),
        ],
    );
    // A forwarded report quoted with "> " is read from its fields.
    check(
        &one("dsn/forwarded-quoted-report.eml"),
        &[
            ("recipient", "sven@example.org"),
            ("status", "5.1.1"),
            ("reply_code", "550"),
            ("remote_host", "mx3.example.org"),
        ],
    );
    // Auto-replies by a header or a subject give no failure, whatever words they use.
    for f in ["dsn/autoresponse-apple.eml", "dsn/autoresponse-subject.eml"] {
        assert!(scan(f, &[]).is_empty(), "{f}");
        check(&scan(f, &["--all"])[0], &[("reason", "vacation")]);
    }
}

/// Exchange Online's notices in other languages: the server that answered stands on its own
/// line above its quoted answer (whatever the label of the server that wrote the notice), and a
/// Chinese notice quotes the answer in “curly quotes”.
#[test]
fn exchange_online_notices_name_the_server_that_answered() {
    let recs = scan("dsn/exchange-online-nl.eml", &[]);
    let got = columns(&recs, &["recipient", "reply_code", "remote_host"]);
    assert_eq!(
        got,
        [
            ["bram@example.org", "550", "mx1.example.org"],
            ["cees@example.com", "552", "mx.example.com"]
        ]
    );
    check(
        &one("dsn/exchange-online-zh.eml"),
        &[
            ("reply_code", "550"),
            ("status", "5.1.1"),
            ("remote_host", "mx.example.org"),
            ("reason", "userunknown"),
        ],
    );
}

#[test]
fn old_gateways_and_servers_word_their_reports_their_own_way() {
    // An X.400 gateway's Diagnostic-Code holds only X.400's reason; the SMTP server's answer,
    // with its status and address, is in X400-Supplementary-Info.
    check(
        &one("dsn/x400-gateway.eml"),
        &[
            ("recipient", "bert@example.org"),
            ("status", "5.7.1"),
            ("remote_ip", "198.51.100.40"),
            ("reason", "norelaying"),
        ],
    );
    // A reply code where the status belongs: the reply code, and the status left empty.
    check(
        &one("dsn/report-status-reply-code.eml"),
        &[
            ("recipient", "dora@example.be"),
            ("status", ""),
            ("reply_code", "553"),
            ("diagnostic", "553 Exceeded maximum inbound message size"),
            ("reason", "mesgtoobig"),
        ],
    );
    // Each recipient under a heading of its own, the reason in the long text above them all:
    // the heading over the next address and the closing lines are no recipient's reason.
    check_each(
        "dsn/queue-period-list.eml",
        &["ed@example.org", "fay@example.org"],
        &[("action", "expired"), ("reason", "expired"), ("remote_host", "example.org")],
    );
    let recs = scan("dsn/queue-period-list.eml", &[]);
    assert!(
        recs.iter()
            .all(|r| r["diagnostic"].as_str().unwrap().contains("allowed queue period")),
        "{recs:?}"
    );
    // L-Soft's list format names the server that answered as "Mailer x said:".
    check(
        &one("dsn/listserv-mailer-said.eml"),
        &[
            ("recipient", "gus@example.com"),
            ("reply_code", "554"),
            ("remote_host", "mx.example.com"),
            ("reason", "networkerror"),
        ],
    );
    // A delay report whose only cause is its status (4.4.1, no answer from the host): the
    // message is waiting out its time in the queue, as delay reports with no cause are.
    check(
        &one("dsn/delay-report-status-only.eml"),
        &[
            ("recipient", "ivan@example.cz"),
            ("action", "delayed"),
            ("bounce_type", "soft"),
            ("status", "4.4.1"),
            ("reason", "expired"),
        ],
    );
}

#[test]
fn notices_name_the_server_that_answered_the_reason_and_a_retry_in_their_own_words() {
    // Office 365's newer notice names the server that refused ("x rejected your message to
    // the following email addresses", "x gave this error"), and beside the recipient on the
    // answer's line; the server that wrote the notice ("Generating server") is not that one.
    check(
        &one("dsn/o365-rejected-your-message.eml"),
        &[
            ("recipient", "joost@example.nl"),
            ("reply_code", "550"),
            ("status", "5.4.1"),
            ("remote_host", "mx1.example.nl"),
            ("action", "failed"),
        ],
    );
    // A name with an underscore is still the whole name ("inbound_balancer.mail...[ip] said"),
    // not the labels after it.
    check(
        &one("dsn/host-name-underscore.eml"),
        &[
            ("remote_host", "inbound_balancer.mail.example.com.br"),
            ("remote_ip", "192.0.2.61"),
            ("smtp_command", "DATA"),
            ("reply_code", "554"),
        ],
    );
    // Exim's list with no code under the address: the words below the address are the reason,
    // not the line that leads into the list.
    check(
        &one("dsn/exim-words-no-code.eml"),
        &[
            ("recipient", "tove@example.dk"),
            (
                "diagnostic",
                "Message rejected by the mailbox owner's filter: score of the message above the owner's spam level",
            ),
            ("reason", "spamdetected"),
        ],
    );
    // Blank lines a tool wrote above the header: the notice's header is still its header, and
    // the returned message's ID and sender are the returned message's.
    check(
        &one("dsn/leading-blank-lines.eml"),
        &[
            ("recipient", "siri@example.no"),
            ("status", "5.1.1"),
            ("message_id", "returned-77@example.com"),
            ("sender", "per@example.com"),
        ],
    );
    // An address a server's answer gives to write to, after its code on the line, is nobody's
    // recipient where the notice lists its recipient above it; the block list named as what
    // blocked the message is the client's listing, whatever the help text says of the sender.
    let recs = scan("dsn/gmail-2007-dnsbl-contact.eml", &[]);
    assert_eq!(recs.len(), 1, "{recs:?}");
    check(
        &recs[0],
        &[("recipient", "janis@example.lv"), ("status", "5.7.1"), ("reason", "blocked")],
    );
    // Gmail's older "permanent failure: TEMP_FAILURE: Could not initiate SMTP conversation":
    // it stopped retrying, so the message expired.
    check(
        &one("dsn/gmail-2007-temp-failure.eml"),
        &[
            ("recipient", "anna@example.lv"),
            ("action", "expired"),
            ("reason", "expired"),
            ("bounce_type", "hard"),
        ],
    );
    // Gmail's "Delivery incomplete ... will retry for 44 more hours. You'll be notified if the
    // delivery fails permanently": a warning, whatever "permanently" it mentions.
    check(
        &one("dsn/gmail-delivery-incomplete.eml"),
        &[
            ("recipient", "omar@example.org"),
            ("action", "delayed"),
            ("bounce_type", "soft"),
            ("suppress", "false"),
        ],
    );
}
