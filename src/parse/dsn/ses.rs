//! Amazon SES notifications written as JSON (often inside an SNS envelope) instead of a
//! bounce: their `bouncedRecipients` are the failed recipients.

use super::mail::Mail;
use super::Found;
use super::{answer, diag};
use crate::record::Action;

/// Read an Amazon SES notification (JSON, often wrapped in an SNS envelope whose `Message` is the
/// notification as a string): one recipient per `bouncedRecipients` entry.
pub fn read(mail: &Mail) -> Option<(Vec<Found>, &'static str)> {
    let t = mail.text.trim();
    let start = t.find('{')?;
    if !t[..start].trim().is_empty() || !t.contains("notificationType") && !t.contains("eventType") {
        return None;
    }
    let end = t.rfind('}')?;
    let body = t.get(start..=end)?;
    // A long JSON line may arrive folded (a line break, maybe a space, inside a string).
    let mut v: serde_json::Value = serde_json::from_str(body)
        .or_else(|_| serde_json::from_str(&body.replace("\n ", "").replace('\n', "")))
        .ok()?;
    if let Some(inner) = v.get("Message").and_then(|m| m.as_str()) {
        v = serde_json::from_str(inner).ok()?;
    }
    let kind = v
        .get("notificationType")
        .or_else(|| v.get("eventType"))
        .and_then(|k| k.as_str())
        .unwrap_or("");
    let s = |x: Option<&serde_json::Value>| x.and_then(|y| y.as_str()).unwrap_or("").to_string();
    match kind {
        "Bounce" => {
            let b = v.get("bounce")?;
            let permanent = s(b.get("bounceType")) == "Permanent";
            let when = super::mail::parse_date(&s(b.get("timestamp")))
                .or_else(|| chrono::DateTime::parse_from_rfc3339(&s(b.get("timestamp"))).ok());
            let reporting = s(b.get("reportingMTA"));
            let list = b.get("bouncedRecipients")?.as_array()?;
            let found =
                list.iter()
                    .filter_map(|r| {
                        let recipient = s(r.get("emailAddress")).to_ascii_lowercase();
                        if recipient.is_empty() {
                            return None;
                        }
                        let diagnostic = s(r.get("diagnosticCode"));
                        let diagnostic = diagnostic
                            .split_once(';')
                            .filter(|(t, _)| !t.contains(' '))
                            .map(|(_, d)| d.trim())
                            .unwrap_or(&diagnostic)
                            .to_string();
                        let status = diag::status(&s(r.get("status")))
                            .map(|x| x.1)
                            .or_else(|| diag::status(&diagnostic).map(|x| x.1))
                            .unwrap_or_default();
                        let action = super::rfc3464::action_of(&s(r.get("action")).to_ascii_lowercase(), &status, "")
                            .or(Some(if permanent { Action::Failed } else { Action::Delayed }));
                        Some(Found {
                            recipient,
                            action,
                            reply_code: diag::reply_code(&diagnostic).map(|x| x.1).unwrap_or_default(),
                            status,
                            smtp_command: answer::command(&diagnostic),
                            reporting_mta: reporting.split_once(';').map(|(_, h)| h.trim()).unwrap_or(&reporting).to_string(),
                            diagnostic: diag::squeeze(&diagnostic, 600),
                            when,
                            ..Found::default()
                        })
                    })
                    .collect();
            Some((found, "bounce"))
        }
        "Complaint" => Some((Vec::new(), "feedback")),
        _ => Some((Vec::new(), "other")),
    }
}
