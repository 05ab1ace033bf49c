//! Calendar formatting without a time-zone database: captures are shown in UTC.

use crate::frame::Timestamp;

/// `2023-11-14 22:13:20.000000 UTC`
pub fn utc(ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(Timestamp::NANOS_PER_SEC);
    let micros = ts.0.rem_euclid(Timestamp::NANOS_PER_SEC) / 1000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds relative to a reference, with a sign: `+1.234567`.
pub fn relative(ts: Timestamp, origin: Timestamp) -> String {
    let d = ts.0 - origin.0;
    let sign = if d < 0 { "-" } else { "+" };
    let d = d.unsigned_abs();
    format!("{sign}{}.{:06}", d / 1_000_000_000, d % 1_000_000_000 / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(Timestamp::from_parts(1_700_000_000, 0)), "2023-11-14 22:13:20.000000 UTC");
        assert_eq!(utc(Timestamp::from_parts(951_782_400, 5_000)), "2000-02-29 00:00:00.000005 UTC");
        assert_eq!(relative(Timestamp(1_500), Timestamp(2_000_001_000)), "-1.999999");
    }
}
