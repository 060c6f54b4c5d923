//! One time format for every document and message: RFC 3339 in UTC, whole seconds
//! (`2026-11-22T10:00:00Z`), as AWS writes `Expiration`.

use jiff::Timestamp;

pub fn format(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// [`format`] of Unix seconds; an out-of-range value prints as the nearest bound.
pub fn format_secs(secs: i64) -> String {
    format(Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_seconds_in_utc() {
        let t: jiff::Timestamp = "2026-11-22T10:00:00.75+02:00".parse().unwrap();
        assert_eq!(super::format(t), "2026-11-22T08:00:00Z");
        assert_eq!(super::format_secs(0), "1970-01-01T00:00:00Z");
    }
}
