//! Civil dates from epoch seconds (UTC), without a date library.

use crate::clock::Epoch;

/// (year, month, day) of `epoch` in UTC (Howard Hinnant's algorithm).
pub fn civil_from_epoch(epoch: Epoch) -> (i64, u32, u32) {
    let z = epoch.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of the above).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM` (what a datetime-local input sends), read as UTC.
pub fn parse_utc_minute(s: &str) -> Option<Epoch> {
    let (date, time) = s.trim().split_once('T')?;
    let (y, m, d) = parse_date(date)?;
    let (h, min) = time.get(..5)?.split_once(':')?;
    let (h, min): (i64, i64) = (h.parse().ok()?, min.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&min))
        .then(|| days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60)
}

/// `YYYY-MM-DDTHH:MM` of `epoch` in UTC: what [`parse_utc_minute`] reads.
pub fn datetime_local(epoch: Epoch) -> String {
    let secs = epoch.rem_euclid(86_400);
    format!("{}T{:02}:{:02}", date(epoch), secs / 3600, secs % 3600 / 60)
}

/// `YYYY-MM-DD HH:MM UTC` of `epoch`.
pub fn date_time(epoch: Epoch) -> String {
    let secs = epoch.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        date(epoch),
        secs / 3600,
        secs % 3600 / 60
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `epoch` (RFC 3339, UTC), for machines.
pub fn rfc3339(epoch: Epoch) -> String {
    let secs = epoch.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(epoch),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` of `epoch` in UTC.
pub fn date(epoch: Epoch) -> String {
    let (y, m, d) = civil_from_epoch(epoch);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` as (year, month, day), if it is a real date.
pub fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (1..=12).contains(&m).then_some(())?;
    (d >= 1 && d <= days[(m - 1) as usize]).then_some((y, m, d))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::civil_from_epoch(0), (1970, 1, 1));
        assert_eq!(super::civil_from_epoch(951_825_600), (2000, 2, 29));
        assert_eq!(super::days_from_civil(2000, 2, 29) * 86_400, 951_782_400);
        assert_eq!(
            super::parse_utc_minute("2000-02-29T12:00"),
            Some(951_825_600)
        );
        assert_eq!(super::parse_utc_minute("2000-02-30T12:00"), None);
        assert_eq!(super::parse_utc_minute("2000-02-29T24:00"), None);
    }
}
