//! The MTA families the text reader knows, as data: how to recognise each one's bounces and
//! where their error block lies ([`FAMILIES`]), and where a returned message begins ([`END`]).
//! One row per family; the reader that uses them is [`super::text`].

/// An MTA family: how to recognise its bounces and where their error block lies.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    /// Lower-case texts; any of them in the From field, the Subject or the text picks the family.
    pub detect: &'static [&'static str],
    /// The block starts after the first line holding one of these (none: at the top).
    pub start: &'static [&'static str],
    /// The block ends at the first line holding one of these (beside the common [`END`] markers).
    pub end: &'static [&'static str],
    /// The reason when the text names none ("" for none).
    pub reason: &'static str,
    /// Recipients may be named by their user ID alone, one per line before a parenthesised
    /// reason (`\tkees (User not on post office)`): resolved against the returned message's To.
    pub user_ids: bool,
    /// Each recipient's answer is written above its address (`User not listed in public Name &
    /// Address Book` on the line before `kim@example.jp`), not after it.
    pub answer_above: bool,
    /// A list's notice to the poster, naming the list by its short name at most ("the group you
    /// tried to contact (staff)"): without the MTA's own list of failed recipients, the failed
    /// address is the returned message's To (the one whose name the notice gives, if any).
    pub original_to: bool,
    /// Each start line names the one recipient its entry is about (DragonFly's "There was an
    /// error delivering your mail to <a@b>."): other addresses are quoted in a server's answer.
    pub named_on_start_line: bool,
}

/// What a family leaves unsaid: no start or end markers of its own, no fixed reason, recipients
/// named by address with their answers after them.
const PLAIN: Family = Family {
    name: "",
    detect: &[],
    start: &[],
    end: &[],
    reason: "",
    user_ids: false,
    answer_above: false,
    original_to: false,
    named_on_start_line: false,
};

/// Detection order matters: the more specific signatures first.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "exchange",
        detect: &[
            "diagnostic information for administrators",
            "generating server:",
            "remote server returned",
            "did not reach the following recipient",
            // The same notice in German, French, Spanish and Italian.
            "diagnoseinformationen für administratoren",
            "informations de diagnostic pour les administrateurs",
            "información de diagnóstico para administradores",
            "informazioni di diagnostica per gli amministratori",
        ],
        start: &[
            "delivery has failed to these recipients",
            "did not reach the following recipient",
            "your message wasn't delivered",
            "could not be delivered to",
            "nicht zugestellt werden",
            "n'a pas pu être remis",
            "no se pudo entregar",
            "recapito non riuscito",
        ],
        end: &[
            "original message headers",
            "ursprüngliche nachrichtenheader",
            "en-têtes de message d'origine",
            "encabezados del mensaje original",
            "intestazioni originali del messaggio",
        ],
        ..PLAIN
    },
    Family {
        name: "exim",
        detect: &[
            "this message was created automatically by mail delivery software",
            "the following address(es) failed",
            "the following address failed",
        ],
        start: &[
            "following address(es) failed",
            "following address failed",
            "could not be delivered to one or more",
        ],
        end: &[
            "------ this is a copy of the message",
            "------ this is a copy of your message",
            "--- the header of the original message",
        ],
        ..PLAIN
    },
    Family {
        name: "qmail",
        detect: &[
            "this is the qmail-send program",
            "i'm afraid i wasn't able to deliver your message",
            "sorry, we were unable to deliver your message",
        ],
        // (A bounce of a bounce: "I tried to deliver a bounce message to this address, but the
        // bounce bounced!", then the bounce that failed below its own marker.)
        start: &[
            "wasn't able to deliver your message",
            "unable to deliver your message",
            "but the bounce bounced",
        ],
        end: &[
            "--- below this line is a copy of the message",
            "--- enclosed are the original headers",
            "--- below this line is the original bounce",
        ],
        ..PLAIN
    },
    Family {
        name: "sendmail",
        detect: &[
            "----- the following addresses had permanent fatal errors",
            "----- transcript of session follows",
            "the original message was received at",
        ],
        start: &["----- the following addresses had", "----- transcript of session follows"],
        end: &[
            "----- original message follows",
            "----- unsent message follows",
            "----- message header follows",
            "----- returned message follows",
        ],
        ..PLAIN
    },
    Family {
        name: "postfix",
        detect: &["this is the postfix program", "this is the mail system at host"],
        // The signature line that closes the standard preamble ("The Postfix program" in old
        // versions, "The mail system" since 2.3), else the preamble's own words on one line.
        start: &[
            "the postfix program\n",
            "the mail system\n",
            "could not be delivered to one or more recipients",
        ],
        end: &[],
        ..PLAIN
    },
    Family {
        name: "googlegroups",
        detect: &["groups.google.com/support"],
        start: &[],
        end: &[],
        reason: "rejected",
        original_to: true,
        ..PLAIN
    },
    Family {
        name: "gmail",
        detect: &[
            "delivery to the following recipient failed",
            "google tried to deliver your message",
            "delivery to the following recipients failed",
        ],
        start: &["delivery to the following recipient"],
        end: &["----- original message -----"],
        ..PLAIN
    },
    Family {
        name: "dragonfly",
        detect: &["this is the dragonfly mail agent"],
        start: &["there was an error delivering your mail"],
        end: &["message headers follow"],
        named_on_start_line: true,
        ..PLAIN
    },
    Family {
        name: "groupwise",
        detect: &["the message that you sent was undeliverable to"],
        start: &["the message that you sent was undeliverable to the following"],
        end: &["possible causes:", "information about your message:"],
        user_ids: true,
        ..PLAIN
    },
    Family {
        // fml, a mailing list manager, refusing a post: a loop (a Message-ID it has seen, or its
        // own list header already in the post) or a poster who is not a member. The list's own
        // address is the recipient.
        name: "fml",
        detect: &[
            "duplicated message-id in <",
            "you are not a member of this mailing list",
            "has detected a loop condition so that",
        ],
        start: &[],
        // Then how to reach the list's control address: no recipient of the post.
        end: &["if you know the general guide"],
        ..PLAIN
    },
    Family {
        name: "courier",
        detect: &["running the courier mail server"],
        ..PLAIN
    },
    Family {
        // Domino's notice: "Your message ... was not delivered to: <address> because: <why>".
        name: "domino",
        detect: &["was not delivered to:"],
        start: &["was not delivered to:"],
        ..PLAIN
    },
    Family {
        // Lotus Notes / Domino's own notices: each reason above the address it concerns.
        name: "notes",
        detect: &["------- failure reasons"],
        start: &["------- failure reasons"],
        end: &["------- returned message"],
        answer_above: true,
        ..PLAIN
    },
    Family {
        name: "opensmtpd",
        detect: &[
            "this is the mailer-daemon, please do not reply",
            "an error has occurred while attempting to deliver a message",
        ],
        start: &["the following list of recipients"],
        end: &["below is a copy of the original message"],
        ..PLAIN
    },
];

/// Where the returned message begins, for every family (lower-case, found anywhere in a line).
pub const END: &[&str] = &[
    "below this line is a copy of the message",
    "this is a copy of the message",
    "this is a copy of your message",
    "message headers follow",
    "----- original message",
    "original message follows",
    "original message headers",
    "original message header",
    "unsent message follows",
    "returned message follows",
    "------- returned message",
    "message text follows",
    "header of the original message",
    "headers of the original message",
    "copy of the original message",
    "copy of the message header",
    "original mail as follows",
    "below is a copy of the original",
    "------ original message",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
];
