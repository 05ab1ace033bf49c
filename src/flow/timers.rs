//! The flow table's timers: one heap, ordered by when they are due.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

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
///
/// Each kind of timer is set a fixed time after a segment or another timer, and ids grow with
/// time, so almost every timer ranks after the last one of its kind: those wait in a FIFO per
/// kind, which costs nothing to keep in order. The rest (timestamps that went backwards, a
/// later connection finishing in the same instant) go to a heap. The earliest timer is the
/// least of four fronts, and the instant it is due is kept apart, so asking "anything due?"
/// at every segment is one comparison.
pub(crate) struct Timers {
    fifo: [VecDeque<Due>; 3],
    stragglers: BinaryHeap<Reverse<Due>>,
    next_due: Timestamp,
}

impl Default for Timers {
    fn default() -> Self {
        Timers { fifo: Default::default(), stragglers: BinaryHeap::new(), next_due: Timestamp(i64::MAX) }
    }
}

impl Timers {
    pub fn push(&mut self, due: Timestamp, id: u64, timer: Timer, key: Key) {
        let t = Due { due, id, timer, key };
        let fifo = &mut self.fifo[timer as usize];
        if fifo.back().map_or(true, |last| *last <= t) {
            fifo.push_back(t);
        } else {
            self.stragglers.push(Reverse(t));
        }
        self.next_due = self.next_due.min(due);
    }

    /// Whether a timer may be due at or before `now` (never false when one is).
    #[inline]
    pub fn any_due(&self, now: Timestamp) -> bool {
        self.next_due <= now
    }

    /// The earliest timer if it is due at or before `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<Due> {
        if self.next_due > now {
            return None;
        }
        let mut best: Option<(Due, Option<usize>)> = self.stragglers.peek().map(|r| (r.0, None));
        for (i, fifo) in self.fifo.iter().enumerate() {
            if let Some(front) = fifo.front() {
                if best.map_or(true, |(b, _)| *front < b) {
                    best = Some((*front, Some(i)));
                }
            }
        }
        let (due, from) = best?;
        if due.due > now {
            self.next_due = due.due;
            return None;
        }
        match from {
            Some(i) => self.fifo[i].pop_front(),
            None => self.stragglers.pop().map(|r| r.0),
        };
        if self.stragglers.is_empty() && self.fifo.iter().all(VecDeque::is_empty) {
            self.next_due = Timestamp(i64::MAX);
        }
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::key::tests::seg;

    fn key(port: u16) -> Key {
        Key::of(&seg(&format!("10.0.0.1:{port}"), "10.0.0.2:80")).0
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
    fn timers_set_out_of_order_still_pop_in_order() {
        let mut t = Timers::default();
        t.push(Timestamp(50), 3, Timer::Quiet, key(3));
        t.push(Timestamp(40), 4, Timer::Quiet, key(4));
        t.push(Timestamp(50), 1, Timer::Quiet, key(1));
        t.push(Timestamp(45), 9, Timer::TimeWait, key(9));
        let order: Vec<_> = std::iter::from_fn(|| t.pop_due(Timestamp(60))).map(|d| (d.due.0, d.id)).collect();
        assert_eq!(order, [(40, 4), (45, 9), (50, 1), (50, 3)]);
        assert!(t.pop_due(Timestamp(i64::MAX)).is_none());
    }

    #[test]
    fn timers_not_yet_due_stay() {
        let mut t = Timers::default();
        t.push(Timestamp(30), 0, Timer::Quiet, key(1));
        t.push(Timestamp(35), 1, Timer::Forget, key(2));
        assert!(t.pop_due(Timestamp(29)).is_none());
        assert_eq!(t.pop_due(Timestamp(30)).map(|d| d.id), Some(0));
        assert!(t.pop_due(Timestamp(34)).is_none());
        t.push(Timestamp(32), 2, Timer::Quiet, key(3));
        assert_eq!(t.pop_due(Timestamp(34)).map(|d| d.id), Some(2));
        assert_eq!(t.pop_due(Timestamp(35)).map(|d| d.id), Some(1));
    }
}
