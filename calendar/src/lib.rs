//! Dates as Portcullis writes and reads them: UTC, from and to epoch
//! seconds, on the `time` crate. One module for the server and the browser
//! bundle, so the console renders the same text on both sides.

pub use time::Date;
use time::{Month, OffsetDateTime, Time};

/// Seconds since 1970-01-01T00:00:00Z.
pub type Epoch = i64;

/// The instant `epoch` names, held to the years 0000-9999 that every
/// format here prints in four digits (no date Portcullis stores is near
/// either end).
fn instant(epoch: Epoch) -> OffsetDateTime {
    let first = date_of(0, 1, 1).midnight().assume_utc();
    let last = date_of(9999, 12, 31)
        .with_hms(23, 59, 59)
        .map_or(first, |t| t.assume_utc());
    let clamped = epoch.clamp(first.unix_timestamp(), last.unix_timestamp());
    OffsetDateTime::from_unix_timestamp(clamped).unwrap_or(first)
}

fn date_of(year: i32, month: u8, day: u8) -> Date {
    Month::try_from(month)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, day).ok())
        .unwrap_or(Date::MIN)
}

/// The UTC calendar day of `epoch`.
pub fn day(epoch: Epoch) -> Date {
    instant(epoch).date()
}

/// The first second of `date`, UTC.
pub fn day_start(date: Date) -> Epoch {
    date.midnight().assume_utc().unix_timestamp()
}

fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `2026-11-23`.
pub fn date(epoch: Epoch) -> String {
    ymd(day(epoch))
}

/// `2026-11-23 14:05 UTC`: what people read.
pub fn date_time(epoch: Epoch) -> String {
    let t = instant(epoch);
    format!("{} {:02}:{:02} UTC", ymd(t.date()), t.hour(), t.minute())
}

/// `14:05`, UTC.
pub fn hour_minute(epoch: Epoch) -> String {
    let t = instant(epoch);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `2026-11-23T14:05:09Z` (RFC 3339): what machines read.
pub fn rfc3339(epoch: Epoch) -> String {
    let t = instant(epoch);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        ymd(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-11-23T14:05`: what a datetime-local input holds, as UTC.
pub fn datetime_local(epoch: Epoch) -> String {
    let t = instant(epoch);
    format!("{}T{:02}:{:02}", ymd(t.date()), t.hour(), t.minute())
}

/// `YYYY-MM-DD`, exactly, if it is a real date (RFC 3339 full-date).
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    let year: i32 = s[..4].parse().ok()?;
    let month = Month::try_from(s[5..7].parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year, month, s[8..].parse().ok()?).ok()
}

/// `YYYY-MM-DDTHH:MM` (what [`datetime_local`] writes and a datetime-local
/// input sends; seconds, if the browser adds them, are dropped), read as
/// UTC.
pub fn parse_utc_minute(s: &str) -> Option<Epoch> {
    let (date, time) = s.trim().split_once('T')?;
    let hm = time.get(..5)?;
    let (h, m) = hm.split_once(':')?;
    if h.len() != 2 || !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let time = Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()?;
    Some(
        parse_date(date)?
            .with_time(time)
            .assume_utc()
            .unix_timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_each_format() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date_time(1_795_434_334), "2026-11-23 11:45 UTC");
        assert_eq!(rfc3339(951_825_600), "2000-02-29T12:00:00Z");
        assert_eq!(datetime_local(951_825_600), "2000-02-29T12:00");
        assert_eq!(hour_minute(951_825_659), "12:00");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(i64::MAX), "9999-12-31");
        assert_eq!(date(i64::MIN), "0000-01-01");
    }

    #[test]
    fn reads_only_real_dates_in_their_exact_shape() {
        let d = parse_date("2000-02-29").unwrap();
        assert_eq!(day_start(d), 951_782_400);
        assert_eq!(day(951_825_600), d);
        for bad in [
            "2001-02-29",
            "2000-13-01",
            "2000-00-10",
            "2000-1-01",
            "+200-01-01",
            "2000-01-01 ",
            "２０００-01-01",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
        assert_eq!(parse_utc_minute("2000-02-29T12:00"), Some(951_825_600));
        assert_eq!(parse_utc_minute("2000-02-29T12:00:59"), Some(951_825_600));
        assert_eq!(parse_utc_minute("2000-02-30T12:00"), None);
        assert_eq!(parse_utc_minute("2000-02-29T24:00"), None);
        assert_eq!(parse_utc_minute("2000-02-29T+1:00"), None);
        for e in [0, 951_825_600, 1_795_434_300] {
            assert_eq!(parse_utc_minute(&datetime_local(e)), Some(e));
        }
    }
}
