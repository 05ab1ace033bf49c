//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): comparisons are only meaningful
//! between numbers less than 2^31 apart, which holds within one connection's window.

use std::cmp::Ordering;
use std::fmt;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    pub fn plus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    pub fn minus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n))
    }

    /// Signed distance from `other` to `self`.
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    pub fn max(self, other: SeqNum) -> SeqNum {
        if self >= other {
            self
        } else {
            other
        }
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_wraps_around_zero() {
        assert!(SeqNum(5) > SeqNum(u32::MAX - 5));
        assert!(SeqNum(u32::MAX) < SeqNum(0));
        assert_eq!(SeqNum(u32::MAX).plus(2), SeqNum(1));
        assert_eq!(SeqNum(1).diff(SeqNum(u32::MAX)), 2);
        assert_eq!(SeqNum(1).max(SeqNum(u32::MAX)), SeqNum(1));
    }
}
