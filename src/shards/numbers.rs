//! Global ids (Wireshark's `tcp.stream`) for the connections of a sharded run. Each table
//! numbers its own 0, 1, 2, … in creation order; the merger ranks the tables' creations by
//! segment index into global ids, and looks each connection's up, once, when it is delivered.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU64;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Ring entries allowed beyond twice those waiting before the oldest move out.
const SLACK: usize = 4096;

pub(super) struct Numbers {
    tables: Vec<Ids>,
    next_id: u64,
    /// One round's creations, as (segment index, table): reused from round to round.
    created: Vec<(u64, usize)>,
}

impl Numbers {
    pub(super) fn new(tables: usize) -> Numbers {
        Numbers { tables: (0..tables).map(|_| Ids::default()).collect(), next_id: 0, created: Vec::new() }
    }

    /// Numbers one round's connections, given as each table's list of the segment indices at
    /// which it created them, in the order they were created.
    pub(super) fn created<'c>(&mut self, per_table: impl Iterator<Item = &'c [u64]>) {
        self.created.clear();
        for (table, created) in per_table.enumerate() {
            self.created.extend(created.iter().map(|&segment| (segment, table)));
        }
        self.created.sort_unstable();
        for &(_, table) in &self.created {
            if let Some(ids) = self.tables.get_mut(table) {
                ids.push(self.next_id);
                self.next_id += 1;
            }
        }
    }

    /// The global id of connection `local` of `table`, which it delivered; forgets it.
    pub(super) fn global(&mut self, table: usize, local: u64) -> u64 {
        self.tables.get_mut(table).and_then(|ids| ids.take(local)).unwrap_or(local)
    }

    /// The global id of connection `local` of `table`, which it folded into its summary
    /// instead of delivering: looked up as often as the summary names it.
    pub(super) fn lookup(&self, table: usize, local: u64) -> u64 {
        self.tables.get(table).and_then(|ids| ids.get(local)).unwrap_or(local)
    }
}

/// One table's ids, created and not yet delivered. A table delivers most connections within
/// a few rounds of making them, so those waiting are mostly a window of recent local ids: a
/// ring indexed by local id, where a hash map missed the cache once to insert and once to
/// remove. The few that stay long (a connection open to the end of the capture) move out of
/// the way into `stragglers`, so the ring stays proportional to the connections waiting, not
/// to all the table ever made.
#[derive(Default)]
struct Ids {
    /// Local id of the ring's front; every one below it is delivered or a straggler.
    base: u64,
    /// The global id of each local id from `base` on, plus one (see [`held`]), None once
    /// delivered.
    ring: VecDeque<Option<NonZeroU64>>,
    /// How many of the ring's are not delivered yet.
    waiting: usize,
    stragglers: Map<u64, u64>,
}

impl Ids {
    /// The table's next connection is number `global`.
    fn push(&mut self, global: u64) {
        self.ring.push_back(held(global));
        self.waiting += 1;
        while self.ring.len() > 2 * self.waiting + SLACK {
            self.spill(self.ring.len() / 2);
        }
    }

    /// Moves the oldest `n` out of the ring, the waiting ones into `stragglers`.
    fn spill(&mut self, n: usize) {
        for _ in 0..n {
            if let Some(Some(kept)) = self.ring.pop_front() {
                self.stragglers.insert(self.base, unheld(kept));
                self.waiting -= 1;
            }
            self.base += 1;
        }
    }

    fn get(&self, local: u64) -> Option<u64> {
        match local.checked_sub(self.base) {
            None => self.stragglers.get(&local).copied(),
            Some(at) => self.ring.get(usize::try_from(at).ok()?)?.map(unheld),
        }
    }

    fn take(&mut self, local: u64) -> Option<u64> {
        let Some(at) = local.checked_sub(self.base) else {
            return self.stragglers.remove(&local);
        };
        let global = unheld(self.ring.get_mut(usize::try_from(at).ok()?)?.take()?);
        self.waiting -= 1;
        while self.ring.front() == Some(&None) {
            self.ring.pop_front();
            self.base += 1;
        }
        Some(global)
    }
}

/// A global id as the ring holds it: one more than itself, so that `Option` costs no tag and
/// an entry 8 bytes instead of 16. A summary with threads keeps every connection's until the
/// end, 1.31 M of them on the 10× corpus. The one id that has no successor is never reached.
fn held(global: u64) -> Option<NonZeroU64> {
    global.checked_add(1).and_then(NonZeroU64::new)
}

fn unheld(kept: NonZeroU64) -> u64 {
    kept.get() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_are_numbered_by_segment_across_tables() {
        let mut numbers = Numbers::new(2);
        numbers.created([&[3, 9][..], &[1, 5][..]].into_iter());
        assert_eq!(
            [numbers.global(0, 0), numbers.global(0, 1), numbers.global(1, 0), numbers.global(1, 1)],
            [1, 3, 0, 2]
        );
        numbers.created([&[12][..], &[10][..]].into_iter());
        assert_eq!([numbers.global(1, 2), numbers.global(0, 2)], [4, 5]);
    }

    #[test]
    fn an_id_is_given_once() {
        let mut numbers = Numbers::new(1);
        numbers.created([&[0, 1][..]].into_iter());
        assert_eq!(numbers.global(0, 1), 1);
        // A delivery the merger never numbered keeps its own id.
        assert_eq!(numbers.global(0, 1), 1);
        assert_eq!(numbers.global(0, 7), 7);
    }

    #[test]
    fn a_folded_connection_is_looked_up_as_often_as_its_summary_names_it() {
        let mut numbers = Numbers::new(2);
        numbers.created([&[4][..], &[2, 7][..]].into_iter());
        assert_eq!(
            [numbers.lookup(1, 1), numbers.lookup(1, 1), numbers.lookup(0, 0), numbers.lookup(1, 0)],
            [2, 2, 1, 0]
        );
        // Numbered after being delivered: a straggler, or gone (then its own id).
        assert_eq!(numbers.global(1, 1), 2);
        assert_eq!(numbers.lookup(1, 1), 1);
    }

    #[test]
    fn long_waiting_ids_leave_the_ring_and_keep_their_numbers() {
        let mut ids = Ids::default();
        let total = 10 * SLACK as u64;
        for global in 0..total {
            ids.push(1000 + global);
            // Every id but the first three is delivered as soon as it is made.
            if global >= 3 {
                assert_eq!(ids.take(global), Some(1000 + global));
            }
        }
        assert!(ids.ring.len() <= 2 * ids.waiting + SLACK, "ring of {}", ids.ring.len());
        assert_eq!(ids.stragglers.len(), 3);
        assert_eq!([ids.take(2), ids.take(0), ids.take(1)], [Some(1002), Some(1000), Some(1001)]);
        assert_eq!(ids.take(0), None);
    }
}
