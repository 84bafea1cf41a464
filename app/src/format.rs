//! Durations as the console shows them. A pure function of its input (no
//! clock), so the server and the browser render the same text; dates are
//! `portcullis_calendar`'s, the same as the server's own.

/// `1 hour`, `90 minutes`, `2 days`: the largest whole unit.
pub fn duration(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs % 86_400 == 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else if secs % 60 == 0 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(3600), "1 hour");
        assert_eq!(duration(86_400 * 2), "2 days");
        assert_eq!(duration(5400), "90 minutes");
        assert_eq!(duration(301), "301 seconds");
    }
}
