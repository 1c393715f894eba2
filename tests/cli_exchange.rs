//! Exchange readers on our own synthetic fixtures (fixtures/exchange): the 2007 and 2016 column
//! sets, plain and bracketed statuses, multi-recipient rows, a recurring header in another column
//! order, a quoted field over two lines, a BOM, a truncated last row, a UTF-16 Export-Csv with
//! #TYPE, and an Exchange Online message trace.

mod common;

use common::{fixture, jsonl, run, stdout};
use serde_json::Value;

fn scan(name: &str) -> Vec<Value> {
    let out = run(&["scan", "--format", "jsonl", fixture(name).to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    jsonl(&out)
}

fn summary(name: &str) -> Value {
    let out = run(&["report", "--format", "json", fixture(name).to_str().unwrap()]);
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn field<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or_else(|| panic!("{k} of {r}"))
}

#[test]
fn exchange_2007_plain_statuses_split_per_recipient() {
    let recs = scan("exchange/MSGTRK20260202-1.LOG");
    assert_eq!(recs.len(), 3, "{recs:?}");
    let (amy, ben, dora) = (&recs[0], &recs[1], &recs[2]);
    assert_eq!(field(amy, "format"), "exchange-log");
    assert_eq!(field(amy, "recipient"), "amy@example.net");
    assert_eq!(field(amy, "diagnostic"), "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found");
    assert_eq!((field(amy, "reply_code"), field(amy, "status")), ("550", "5.1.1"));
    assert_eq!(amy["suppress"], true);
    assert_eq!(amy["line"], 7);
    assert_eq!(field(amy, "queue_id"), "501");
    assert_eq!(field(amy, "message_id"), "m1@hub1.example.com");
    assert_eq!(field(amy, "sender"), "carl@example.com");
    assert_eq!(field(amy, "remote_host"), "", "2007 statuses name no host");
    assert_eq!(field(ben, "diagnostic"), "550 5.2.2 STOREDRV.Deliver: mailbox full");
    assert_eq!(field(ben, "reason"), "mailboxfull");
    assert_eq!(ben["suppress"], false);
    assert_eq!(field(dora, "action"), "expired");
    assert_eq!(field(dora, "bounce_type"), "hard");
    assert_eq!(dora["suppress"], false);
    let s = summary("exchange/MSGTRK20260202-1.LOG");
    assert_eq!(s["exchange"]["received"], 1);
    assert_eq!(s["exchange"]["failed"], 3);
    // The DSN row links the NDR and gives no record; every row is accounted for.
    assert_eq!(s["inputs"]["lines"], 9);
    assert_eq!(s["accounting"]["not_failures"], 7);
    assert_eq!(s["accounting"]["failures"], 2);
}

#[test]
fn exchange_2016_brackets_recurring_header_multiline_and_truncated_row() {
    let recs = scan("exchange/MSGTRK2026020309-1.LOG");
    assert_eq!(recs.len(), 3, "{recs:?}");
    let (erin, gus, hal) = (&recs[0], &recs[1], &recs[2]);
    assert_eq!(field(erin, "remote_host"), "mx.example.net");
    assert_eq!(field(erin, "remote_ip"), "198.51.100.3");
    assert_eq!(
        field(erin, "diagnostic"),
        "550 5.7.1 Service unavailable, Client host [192.0.2.9] blocked"
    );
    assert_eq!(field(gus, "action"), "delayed");
    assert_eq!(field(gus, "bounce_type"), "soft");
    assert_eq!(field(gus, "remote_ip"), "2001:db8::25");
    assert!(
        field(gus, "diagnostic").contains("error.\r\nPlease"),
        "a quoted field over two lines"
    );
    // The row after the second header, whose columns come in another order.
    assert_eq!(field(hal, "recipient"), "hal@example.com");
    assert_eq!(field(hal, "sender"), "ida@example.org");
    assert_eq!(field(hal, "status"), "5.2.2");
    assert_eq!(field(hal, "remote_host"), "");
    // The truncated last row is unparsed, not lost and not guessed.
    let out = run(&[
        "report",
        "--format",
        "json",
        "--show-unparsed",
        fixture("exchange/MSGTRK2026020309-1.LOG").to_str().unwrap(),
    ]);
    let s: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(s["accounting"]["unparsed"], 1);
    assert!(
        common::stderr(&out).contains("fewer fields than its header"),
        "{}",
        common::stderr(&out)
    );
    let a = &s["accounting"];
    let sum: u64 = ["failures", "not_failures", "unparsed", "filtered"]
        .iter()
        .map(|k| a[*k].as_u64().unwrap())
        .sum();
    assert_eq!(s["inputs"]["lines"].as_u64().unwrap(), sum);
}

#[test]
fn utf16_export_csv_with_type_line() {
    let recs = scan("exchange/tracking-export-utf16.csv");
    assert_eq!(recs.len(), 2);
    assert_eq!(field(&recs[0], "format"), "exchange-csv");
    assert_eq!(field(&recs[0], "recipient"), "kim@example.net");
    assert_eq!(field(&recs[1], "recipient"), "lou@example.net");
    assert_eq!(field(&recs[0], "status"), "5.1.10");
    assert_eq!(field(&recs[1], "status"), "5.4.1");
    assert_eq!(field(&recs[0], "remote_host"), "example-net.mail.protection.example");
    assert!(recs.iter().all(|r| r["suppress"] == true));
    // Local culture time, read in TZ (UTC in the tests).
    assert_eq!(field(&recs[0], "timestamp"), "2026-02-04T08:15:00+00:00");
    let s = summary("exchange/tracking-export-utf16.csv");
    assert_eq!(s["exchange"]["sent_externally"], 1);
}

#[test]
fn exchange_online_message_trace() {
    let recs = scan("exchange/messagetrace.csv");
    assert_eq!(recs.len(), 2);
    assert_eq!(field(&recs[0], "recipient"), "pat@example.net");
    assert_eq!(field(&recs[0], "action"), "failed");
    assert_eq!(field(&recs[0], "remote_ip"), "203.0.113.80");
    assert_eq!(field(&recs[0], "reply_code"), "", "a message trace has no code: nothing is guessed");
    assert_eq!(field(&recs[1], "action"), "delayed");
    assert_eq!(summary("exchange/messagetrace.csv")["exchange"]["delivered"], 1);
}
