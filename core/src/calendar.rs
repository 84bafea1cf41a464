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

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::civil_from_epoch(0), (1970, 1, 1));
        assert_eq!(super::civil_from_epoch(951_825_600), (2000, 2, 29));
    }
}
