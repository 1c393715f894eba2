//! What a notice says happened to a recipient: failed, delayed (a warning) or expired (the
//! queue gave up); and whether a notice without a status part only says its message was
//! delivered.

use super::diag;
use super::mail::Mail;
use crate::record::Action;
use std::sync::LazyLock;

/// One case-blind pattern for a list of phrases, each space of a phrase matching any run of
/// white space: a notice's own line width may break a phrase anywhere.
fn phrases(list: &[&str]) -> regex::Regex {
    let alternatives: Vec<String> = list
        .iter()
        .map(|p| p.split(' ').map(regex::escape).collect::<Vec<_>>().join(r"\s+"))
        .collect();
    regex::Regex::new(&format!("(?i){}", alternatives.join("|"))).expect("phrases")
}

/// What says the queue gave up on the message: an expired one.
const EXPIRED_PHRASES: &[&str] = &[
    "retry timeout exceeded",
    "message expired",
    "delivery time expired",
    "too long in queue",
    "been in the queue too long",
    // Exim: "all hosts have been failing for a long time and were last tried after this
    // message arrived".
    "have been failing for a long time",
    // Gmail's older notices: "Technical details of permanent failure: TEMP_FAILURE: Could
    // not initiate SMTP conversation with any hosts" (it stopped retrying).
    "permanent failure: temp_failure",
];

/// What says a notice gave up: the expired phrases, and words that may say so of a failure too.
static GAVE_UP: LazyLock<regex::Regex> = LazyLock::new(|| {
    let more = [
        "retry time not reached",
        "could not be delivered for",
        "cannot send message for",
        "give up",
        "giving up",
        "gave up",
        "time limit exceeded",
    ];
    phrases(&[EXPIRED_PHRASES, &more].concat())
});

static EXPIRED: LazyLock<regex::Regex> = LazyLock::new(|| phrases(EXPIRED_PHRASES));

static DELAYED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "has not yet been delivered",
        "will continue to try",
        "will retry",
        "delivery attempts will continue",
        "delayed",
        "still trying",
        // Exim's notice that a message is held ("Message ... has been frozen by the system filter").
        "has been frozen",
    ])
});

/// What only a delay warning says, whatever else its text says.
static WARNING: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "this is a warning only",
        "warning message only",
        "do not need to resend your message",
        "is still awaiting delivery",
        "delays in delivering your message",
        "message still undelivered after",
        // Exim's delay warning: "A message that you sent has not yet been delivered to one or
        // more of its recipients after more than 24 hours on the queue".
        "has not yet been delivered to one or more of its",
        // A gateway's notice that it keeps trying ("... could not be delivered to the following
        // recipients: ... Delivery attempts will continue to be made for 5 day(s).").
        "delivery attempts will continue to be made",
        // Gmail's: "** Delivery incomplete ** There was a temporary problem delivering your
        // message to a@b. Gmail will retry for 46 more hours. You'll be notified if the
        // delivery fails permanently."
        "delivery incomplete",
        "there was a temporary problem delivering your message",
    ])
});

/// Delay warnings' subjects (Postfix, Sendmail, Courier, Gmail).
static WARNING_SUBJECT: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "delayed mail",
        "could not send message for past",
        "delivery status notification (delay)",
        "delivery delayed",
    ])
});

/// A notice that a message was delivered ("Your message has been successfully delivered to the
/// following recipients", "Delivery Status Notification (Success)").
static DELIVERED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "successfully delivered",
        "delivered successfully",
        "delivery to the following recipients was successful",
        "delivery status notification (success)",
        "successful mail delivery report",
    ])
});

/// A notice with no status part that says its message was delivered and names no failure or
/// delay: no failure to read from it, whatever addresses it lists.
pub fn says_delivered(mail: &Mail) -> bool {
    (DELIVERED.is_match(&mail.text) || DELIVERED.is_match(&mail.subject))
        && !FAILED.is_match(&mail.text)
        && !DELAYED.is_match(&mail.text)
        && diag::reply_code(&mail.text).is_none_or(|c| c.1.starts_with('2'))
        && diag::status(&mail.text).is_none_or(|c| c.1.starts_with('2'))
}

static FAILED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "permanent",
        "fatal",
        "could not be delivered",
        "failed",
        "undeliverable",
        "giving up",
        "rejected",
    ])
});

pub(super) fn is_expired(text: &str) -> bool {
    GAVE_UP.is_match(text)
}

/// failed, delayed or expired, from what the block says.
pub(super) fn block_action(blk: &str) -> Action {
    action_of(&[blk])
}

/// failed, delayed or expired, from what some texts say together.
pub(super) fn action_of(texts: &[&str]) -> Action {
    if texts.iter().any(|t| EXPIRED.is_match(t)) {
        Action::Expired
    } else if texts.iter().any(|t| DELAYED.is_match(t)) && !texts.iter().any(|t| FAILED.is_match(t)) {
        Action::Delayed
    } else {
        Action::Failed
    }
}

/// A delay warning: its banner above the block (`notice`) or its subject says so.
pub(super) fn is_warning(notice: &str, subject: &str) -> bool {
    WARNING.is_match(notice) || WARNING_SUBJECT.is_match(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notice's own line width may break a phrase anywhere: the words still say it.
    #[test]
    fn wrapped_phrases_still_count() {
        assert_eq!(
            block_action("I'm not going to try again; this message has been in the\nqueue too long."),
            Action::Expired
        );
        assert!(is_expired("Giving up on 192.0.2.1.\nretry timeout\n  exceeded"));
    }
}
