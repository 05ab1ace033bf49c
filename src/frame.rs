//! The two coordinates every observation carries: which frame, and when.

use std::fmt;

/// A frame number exactly as Wireshark shows it: 1-based, counting every record of the
/// capture (TCP or not) in file order, so users can type it into Wireshark's "Go to packet".
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct FrameNo(pub u64);

impl fmt::Display for FrameNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Nanoseconds since the Unix epoch. Integer so that arithmetic and comparisons are exact and
/// output never drifts with float formatting; pcapng resolutions finer than 1 ns are rounded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;

    pub fn from_parts(secs: i64, nanos: i64) -> Self {
        Timestamp(secs.saturating_mul(Self::NANOS_PER_SEC).saturating_add(nanos))
    }

    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp((secs * Self::NANOS_PER_SEC as f64).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_SEC as f64
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d.0))
    }

    /// Time from `earlier` to `self`.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

/// Seconds with all nine decimals (`1700000000.123456789`): exact and stable across platforms.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(Self::NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(Self::NANOS_PER_SEC);
        write!(f, "{secs}.{nanos:09}")
    }
}

impl Timestamp {
    /// Writes `S.NNNNNNNNN` into `buf` without allocating: every transition of every
    /// connection goes through here when JSON is written.
    fn decimal(self, buf: &mut [u8; 32]) -> &str {
        let secs = self.0.div_euclid(Self::NANOS_PER_SEC);
        let mut nanos = self.0.rem_euclid(Self::NANOS_PER_SEC);
        let mut ibuf = itoa::Buffer::new();
        let int = ibuf.format(secs).as_bytes();
        let n = int.len();
        buf[..n].copy_from_slice(int);
        buf[n] = b'.';
        for i in (n + 1..n + 10).rev() {
            buf[i] = b'0' + (nanos % 10) as u8;
            nanos /= 10;
        }
        std::str::from_utf8(&buf[..n + 10]).unwrap_or("0")
    }
}

/// A JSON number with all nine decimals: exact, where an f64 would round nanoseconds away.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 32];
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(self.decimal(&mut buf)).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &serde_json::value::RawValue = serde::Deserialize::deserialize(d)?;
        parse_decimal_seconds(raw.get())
            .map(Timestamp)
            .ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {}", raw.get())))
    }
}

/// Parses `S[.F]` into nanoseconds without going through f64, so a round trip is exact.
fn parse_decimal_seconds(s: &str) -> Option<i64> {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = int.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, c) in frac.chars().enumerate() {
        let d = i64::from(c.to_digit(10)?);
        if i < 9 {
            nanos += d * 10i64.pow(8 - i as u32);
        }
    }
    let v = secs.checked_mul(Timestamp::NANOS_PER_SEC)?.checked_add(nanos)?;
    Some(if neg { -v } else { v })
}

/// A span of capture time in nanoseconds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

impl Duration {
    pub fn from_secs_f64(secs: f64) -> Self {
        Duration((secs * Timestamp::NANOS_PER_SEC as f64).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Timestamp::NANOS_PER_SEC as f64
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Timestamp(self.0).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_prints_nine_decimals() {
        assert_eq!(Timestamp::from_parts(1_700_000_000, 123_456_000).to_string(), "1700000000.123456000");
        assert_eq!(Timestamp(-1).to_string(), "-1.999999999");
    }

    #[test]
    fn timestamp_json_round_trip_is_exact() {
        let t = Timestamp::from_parts(1_700_000_000, 1);
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, "1700000000.000000001");
        let back: Timestamp = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
        let short: Timestamp = serde_json::from_str("12.5").unwrap();
        assert_eq!(short, Timestamp(12_500_000_000));
    }
}
