//! Time: syslog stamps to instants (the year rule), and the times users type for --since/--until.
//!
//! The year rule: a classic syslog stamp (`Jan  5 00:00:01`) has no year. It is placed in the
//! year of the reference time — the file's modification time (now for stdin) — unless that puts
//! it more than a day after the reference, in which case it belongs to the year before. So a
//! file written up to 2 January holds "Dec 31" lines of the old year and "Jan 1" lines of the
//! new one, and a rotated file keeps the year it was written in. `--year Y` sets every
//! year-less stamp to Y instead. Stamps without an offset are taken in the local time zone
//! (`TZ`), as syslog wrote them.

use crate::parse::syslog::Stamp;
use chrono::{DateTime, Datelike, Duration, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike};
use std::time::SystemTime;

/// How to place year-less stamps.
#[derive(Clone, Copy, Debug)]
pub struct YearRule {
    reference: NaiveDateTime,
    forced: Option<i32>,
}

impl YearRule {
    pub fn new(mtime: SystemTime, forced: Option<i32>) -> YearRule {
        let reference = DateTime::<Local>::from(mtime).naive_local();
        YearRule { reference, forced }
    }

    fn year_for(&self, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i32> {
        if let Some(y) = self.forced {
            return Some(y);
        }
        let limit = self.reference + Duration::days(1);
        for y in [
            self.reference.year(),
            self.reference.year() - 1,
            self.reference.year() - 2,
            self.reference.year() - 3,
            self.reference.year() - 4,
        ] {
            if let Some(d) = NaiveDate::from_ymd_opt(y, month, day).and_then(|d| d.and_hms_opt(hour, minute, second)) {
                if d <= limit {
                    return Some(y);
                }
            }
        }
        None
    }
}

/// The instant of a stamp (None for an impossible date such as 30 February).
pub fn resolve(s: &Stamp, rule: &YearRule) -> Option<DateTime<FixedOffset>> {
    let year = match s.year {
        Some(y) => y,
        None => rule.year_for(s.month, s.day, s.hour, s.minute, s.second.min(59))?,
    };
    let naive = NaiveDate::from_ymd_opt(year, s.month, s.day)?.and_hms_nano_opt(s.hour, s.minute, s.second.min(59), s.nanos)?;
    match s.offset {
        Some(off) => FixedOffset::east_opt(off)?.from_local_datetime(&naive).single(),
        // A local time that does not exist (the hour skipped when clocks go forward) takes the
        // offset in force just before the gap.
        None => match Local.from_local_datetime(&naive).earliest() {
            Some(t) => Some(t.fixed_offset()),
            None => {
                let off = Local.offset_from_utc_datetime(&(naive - Duration::hours(3))).fix();
                off.from_local_datetime(&naive).single()
            }
        },
    }
}

/// RFC 3339 text of an instant: seconds, plus the fraction when it has one.
pub fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    if t.nanosecond() == 0 {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    } else if t.nanosecond().is_multiple_of(1_000) {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
    } else {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    }
}

/// A time a user typed: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (local), `now`, `today`,
/// `yesterday`, or a relative `-24h` / `-7d` / `-30m` / `-90s` back from now.
/// "Now" is the clock, or `$BOUNCER_NOW` (RFC 3339) when set: to re-run last night's cron job
/// as it ran, and for tests of `yesterday` around midnight.
pub fn parse_user_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    let now = match std::env::var("BOUNCER_NOW") {
        Ok(v) => DateTime::parse_from_rfc3339(v.trim()).map_err(|e| format!("BOUNCER_NOW=`{v}` is not RFC 3339: {e}"))?,
        Err(_) => Local::now().fixed_offset(),
    };
    parse_user_time_at(text, now)
}

pub fn parse_user_time_at(text: &str, now: DateTime<FixedOffset>) -> Result<DateTime<FixedOffset>, String> {
    let t = text.trim();
    let local_midnight = |d: NaiveDate| -> Result<DateTime<FixedOffset>, String> {
        Local
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .map(|x| x.fixed_offset())
            .ok_or_else(|| format!("no local midnight on {d}"))
    };
    match t {
        "now" => return Ok(now),
        "today" => return local_midnight(now.with_timezone(&Local).date_naive()),
        "yesterday" => return local_midnight(now.with_timezone(&Local).date_naive() - Duration::days(1)),
        _ => {}
    }
    if let Some(rel) = t.strip_prefix('-') {
        let (num, unit) = rel.split_at(rel.find(|c: char| !c.is_ascii_digit()).unwrap_or(rel.len()));
        if let Ok(n) = num.parse::<i64>() {
            let d = match unit {
                "s" => Duration::seconds(n),
                "m" | "min" => Duration::minutes(n),
                "h" => Duration::hours(n),
                "d" => Duration::days(n),
                "w" => Duration::weeks(n),
                _ => return Err(format!("unknown unit in `{text}` (use s, m, h, d or w)")),
            };
            return Ok(now - d);
        }
    }
    if let Ok(x) = DateTime::parse_from_rfc3339(t) {
        return Ok(x);
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Local
                .from_local_datetime(&n)
                .earliest()
                .map(|x| x.fixed_offset())
                .ok_or_else(|| format!("`{text}` does not exist in the local time zone"));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local_midnight(d);
    }
    Err(format!(
        "cannot read the time `{text}` (use RFC 3339, YYYY-MM-DD[ HH:MM[:SS]], today, yesterday, now or -24h)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(month: u32, day: u32) -> Stamp {
        Stamp {
            year: None,
            month,
            day,
            hour: 12,
            minute: 0,
            second: 0,
            nanos: 0,
            offset: Some(0),
        }
    }

    fn rule(y: i32, m: u32, d: u32) -> YearRule {
        YearRule {
            reference: NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(18, 0, 0).unwrap(),
            forced: None,
        }
    }

    #[test]
    fn december_lines_in_a_january_file_are_last_year() {
        let r = rule(2026, 1, 2);
        assert_eq!(resolve(&stamp(12, 31), &r).unwrap().year(), 2025);
        assert_eq!(resolve(&stamp(1, 1), &r).unwrap().year(), 2026);
        assert_eq!(resolve(&stamp(1, 2), &r).unwrap().year(), 2026);
        assert_eq!(resolve(&stamp(1, 3), &r).unwrap().year(), 2026, "a day of clock slack");
        assert_eq!(resolve(&stamp(1, 4), &r).unwrap().year(), 2025);
    }

    #[test]
    fn forced_year_and_leap_day() {
        let r = YearRule {
            forced: Some(2013),
            ..rule(2026, 5, 1)
        };
        assert_eq!(resolve(&stamp(6, 10), &r).unwrap().year(), 2013);
        // 29 February goes back to the last leap year before the reference.
        assert_eq!(resolve(&stamp(2, 29), &rule(2026, 5, 1)).unwrap().year(), 2024);
    }

    #[test]
    fn user_times() {
        let now = DateTime::parse_from_rfc3339("2026-01-05T10:00:00+00:00").unwrap();
        assert_eq!(
            parse_user_time_at("-24h", now).unwrap(),
            DateTime::parse_from_rfc3339("2026-01-04T10:00:00+00:00").unwrap()
        );
        assert_eq!(parse_user_time_at("2026-01-01T00:00:00Z", now).unwrap().year(), 2026);
        assert!(parse_user_time_at("2026-01-02", now).is_ok());
        assert!(parse_user_time_at("tomorrow-ish", now).is_err());
        assert!(parse_user_time_at("-3x", now).is_err());
    }
}
