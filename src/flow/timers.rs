//! The flow table's timers: one heap, ordered by when they are due.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::key::Key;
use crate::frame::Timestamp;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// An endpoint's 2·MSL TIME_WAIT expires.
    TimeWait,
    /// A connection whose endpoints have both finished may be delivered if it stayed quiet.
    Quiet,
    /// A delivered connection's 4-tuple is forgotten.
    Forget,
}

/// A timer for connection `id` on `key`. Ordered by (due, id, timer) alone: the id names the
/// connection, so the key never decides, and comparing it (two socket addresses) on every
/// sift of the heap would be most of the heap's cost.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Due {
    pub due: Timestamp,
    pub id: u64,
    pub timer: Timer,
    pub key: Key,
}

impl Due {
    fn rank(&self) -> (Timestamp, u64, Timer) {
        (self.due, self.id, self.timer)
    }
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// Pending timers, earliest first (ties: lower connection id, then [`Timer`] order), so
/// connections finishing at the same instant are delivered in id order.
#[derive(Default)]
pub(crate) struct Timers(BinaryHeap<Reverse<Due>>);

impl Timers {
    pub fn push(&mut self, due: Timestamp, id: u64, timer: Timer, key: Key) {
        self.0.push(Reverse(Due { due, id, timer, key }));
    }

    /// The earliest timer if it is due at or before `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<Due> {
        if self.0.peek()?.0.due > now {
            return None;
        }
        self.0.pop().map(|Reverse(d)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::segment::{TcpFlags, TcpOptions};
    use crate::decode::Segment;
    use crate::tcp::seq::SeqNum;

    fn key(port: u16) -> Key {
        let seg = Segment {
            src: format!("10.0.0.1:{port}").parse().unwrap(),
            dst: "10.0.0.2:80".parse().unwrap(),
            seq: SeqNum(0),
            ack: SeqNum(0),
            flags: TcpFlags(0x10),
            window: 0,
            payload_len: 0,
            options: TcpOptions::default(),
        };
        Key::of(&seg).0
    }

    #[test]
    fn due_timers_pop_by_time_then_id_then_kind() {
        let mut t = Timers::default();
        t.push(Timestamp(20), 1, Timer::Quiet, key(1));
        t.push(Timestamp(10), 5, Timer::Forget, key(5));
        t.push(Timestamp(10), 5, Timer::TimeWait, key(5));
        t.push(Timestamp(10), 2, Timer::Quiet, key(2));
        let order: Vec<_> = std::iter::from_fn(|| t.pop_due(Timestamp(20))).map(|d| (d.due.0, d.id, d.timer)).collect();
        assert_eq!(
            order,
            [(10, 2, Timer::Quiet), (10, 5, Timer::TimeWait), (10, 5, Timer::Forget), (20, 1, Timer::Quiet)]
        );
    }

    #[test]
    fn timers_not_yet_due_stay() {
        let mut t = Timers::default();
        t.push(Timestamp(30), 0, Timer::Quiet, key(1));
        assert!(t.pop_due(Timestamp(29)).is_none());
        assert_eq!(t.pop_due(Timestamp(30)).map(|d| d.id), Some(0));
    }
}
