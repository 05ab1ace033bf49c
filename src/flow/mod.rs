//! The flow table: segments → connections, with both endpoints' machines.
//!
//! Connections are keyed by the unordered 4-tuple and numbered exactly as Wireshark numbers
//! `tcp.stream` (packet-tcp.c, 4.0): a new number for a 4-tuple never seen, and for a SYN
//! without ACK whose sequence number differs from the first sequence number seen in that
//! direction (port reuse). Nothing else — no FIN, RST or idle time — splits a connection.

mod key;
mod live;
mod timers;

use std::collections::hash_map::Entry;

use key::Key;
use live::Live;
use timers::{Timer, Timers};

/// The flow table is looked up once per segment: foldhash is several times faster than
/// SipHash on a 4-tuple and still seeded per process, so crafted captures cannot force
/// collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use crate::decode::Segment;
use crate::frame::{Duration, Timestamp};
use crate::output::json::Unnumbered;
use crate::summary::SummaryBuilder;
use crate::tcp::endpoint::At;
use crate::tcp::seq::SeqNum;
use crate::timeline::Connection;

/// Which connections keep their segment list (for sequence diagrams).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SegmentLog {
    #[default]
    None,
    Only(Vec<u64>),
    All,
}

impl SegmentLog {
    fn wants(&self, id: u64) -> bool {
        match self {
            SegmentLog::None => false,
            SegmentLog::Only(ids) => ids.contains(&id),
            SegmentLog::All => true,
        }
    }
}

/// Why the flow table let a connection go; a run split over several tables orders their
/// deliveries by it (see `shards`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its quiet timer, due at this instant, found it finished.
    Quiet(Timestamp),
    /// A new incarnation on its 4-tuple superseded it.
    Reincarnated,
    /// The capture ended with it still in the table.
    End,
}

/// Where finished connections go: the outputs, in the order they finish.
pub trait Sink {
    fn connection(&mut self, conn: Connection);

    /// The flow table's entry point: `connection`, told why. Only sinks that reorder
    /// deliveries need the reason.
    fn deliver(&mut self, conn: Connection, why: Why) {
        let _ = why;
        self.connection(conn);
    }

    /// A sink that only writes each connection as JSON says where to. A sharded run then
    /// writes every connection on the shard that built it, while its memory is still in
    /// that core's cache, and frees it there; the merging thread only copies bytes.
    fn json(&mut self) -> Option<&mut dyn JsonSink> {
        None
    }

    /// A sink that only folds connections into a summary says which. A sharded run then
    /// folds each connection on the shard that built it, into a summary of the shard's own,
    /// and frees it there; the merging thread adds the summaries up at the end.
    fn summary(&mut self) -> Option<&mut SummaryBuilder> {
        None
    }
}

/// Takes connections already written as JSON, in delivery order (see [`Sink::json`]).
pub trait JsonSink {
    fn numbered(&mut self, json: Unnumbered<'_>, id: u64);
}

impl Sink for Vec<Connection> {
    fn connection(&mut self, conn: Connection) {
        self.push(conn);
    }
}

/// What the table holds for a 4-tuple: the connection on it, or, for a while after it was
/// delivered, enough of it that a stray segment keeps Wireshark's numbering (it belongs to
/// the old stream) instead of opening a new one. One map for both, so a segment costs one
/// lookup. Boxed: the map's spare capacity then costs a pointer per slot, not a connection.
enum Slot {
    Live(Box<Live>),
    Retired { id: u64, base_seq: [Option<SeqNum>; 2] },
}

pub struct FlowTable {
    table: HashMap<Key, Slot>,
    live: usize,
    timers: Timers,
    next_id: u64,
    time_wait: Duration,
    log: SegmentLog,
    /// Segments that arrived for a connection already delivered (counted, not analysed).
    pub late_segments: u64,
}

/// How long a finished connection stays in the table before it is delivered: long enough for
/// the segments that prove a step was lost (a challenge ACK after a RST, a retransmitted FIN)
/// to arrive from any capture point.
pub const QUIET: Duration = Duration(10 * Timestamp::NANOS_PER_SEC);

impl FlowTable {
    pub fn new(time_wait: Duration, log: SegmentLog) -> FlowTable {
        FlowTable {
            table: HashMap::default(),
            live: 0,
            timers: Timers::default(),
            next_id: 0,
            time_wait,
            log,
            late_segments: 0,
        }
    }

    /// Connections currently held in memory.
    pub fn open_connections(&self) -> usize {
        self.live
    }

    /// Connections created so far (the next connection's id).
    pub fn created(&self) -> u64 {
        self.next_id
    }

    pub fn on_segment(&mut self, seg: &Segment, at: At, sink: &mut impl Sink) {
        self.fire_timers(at.ts, sink);
        let (key, forward) = Key::of(seg);
        let dir = usize::from(!forward);
        let f = seg.flags;
        let new_isn = |base: Option<SeqNum>| f.syn() && !f.ack() && base.is_some_and(|b| b != seg.seq);
        let fresh = |next_id: &mut u64| {
            let id = *next_id;
            *next_id += 1;
            Box::new(Live::new(id, seg, forward, at, self.time_wait, self.log.wants(id)))
        };
        let slot = match self.table.entry(key) {
            Entry::Vacant(slot) => {
                self.live += 1;
                slot.insert(Slot::Live(fresh(&mut self.next_id)))
            }
            Entry::Occupied(slot) => {
                let slot = slot.into_mut();
                match slot {
                    Slot::Live(live) if new_isn(live.base_seq[dir]) => {
                        let mut old = std::mem::replace(live, fresh(&mut self.next_id));
                        for ep in &mut old.endpoints {
                            ep.on_reincarnation(at);
                        }
                        sink.deliver(old.finish(), Why::Reincarnated);
                    }
                    Slot::Live(_) => {}
                    Slot::Retired { base_seq, .. } if new_isn(base_seq[dir]) => {
                        self.live += 1;
                        *slot = Slot::Live(fresh(&mut self.next_id));
                    }
                    Slot::Retired { .. } => {
                        self.late_segments += 1;
                        return;
                    }
                }
                slot
            }
        };
        let Slot::Live(live) = slot else {
            return;
        };
        if f.syn() && f.ack() && live.base_seq[dir].is_some_and(|b| b != seg.seq) {
            // Wireshark re-bases a SYN,ACK with a new sequence number instead of splitting.
            live.base_seq[dir] = Some(seg.seq);
        }
        live.base_seq[dir].get_or_insert(seg.seq);
        let changes = live.changes();
        let before = live.endpoints.each_ref().map(|e| e.time_wait_deadline());
        live.apply(seg, forward, at);
        if live.changes() == changes {
            return;
        }
        for (ep, was) in live.endpoints.iter().zip(before) {
            if let Some(deadline) = ep.time_wait_deadline().filter(|d| Some(*d) != was) {
                self.timers.push(deadline, live.id, Timer::TimeWait, key);
            }
        }
        if live.check_finished() {
            self.timers.push(at.ts.saturating_add(QUIET), live.id, Timer::Quiet, key);
        }
    }

    /// Runs every timer due at or before `now`: TIME_WAIT expiries, deliveries of finished
    /// connections that stayed quiet, and forgetting delivered 4-tuples.
    ///
    /// Inlined down to one comparison when nothing is due: every segment asks, and in a
    /// sharded run every shard asks at every other shard's segments too.
    #[inline]
    pub fn fire_timers(&mut self, now: Timestamp, sink: &mut impl Sink) {
        if self.any_due(now) {
            self.fire_due_timers(now, sink);
        }
    }

    /// Whether a timer may be due at `now`: a caller with nothing else to do at an instant
    /// asks this before building a sink for [`FlowTable::fire_timers`].
    #[inline]
    pub fn any_due(&self, now: Timestamp) -> bool {
        self.timers.any_due(now)
    }

    fn fire_due_timers(&mut self, now: Timestamp, sink: &mut impl Sink) {
        while let Some(t) = self.timers.pop_due(now) {
            let Some(slot) = self.table.get_mut(&t.key) else {
                continue;
            };
            match (t.timer, &mut *slot) {
                (Timer::TimeWait, Slot::Live(live)) if live.id == t.id => {
                    for ep in &mut live.endpoints {
                        ep.on_timer(t.due);
                    }
                    if live.check_finished() {
                        self.timers.push(t.due.saturating_add(QUIET), t.id, Timer::Quiet, t.key);
                    }
                }
                (Timer::Quiet, Slot::Live(live)) if live.id == t.id && live.finished() => {
                    if live.last.1.saturating_add(QUIET) > t.due {
                        // Segments arrived meanwhile: wait for quiet again.
                        self.timers.push(live.last.1.saturating_add(QUIET), t.id, Timer::Quiet, t.key);
                        continue;
                    }
                    let retired = Slot::Retired { id: t.id, base_seq: live.base_seq };
                    if let Slot::Live(live) = std::mem::replace(slot, retired) {
                        self.live -= 1;
                        self.timers.push(t.due.saturating_add(self.time_wait), t.id, Timer::Forget, t.key);
                        sink.deliver(live.finish(), Why::Quiet(t.due));
                    }
                }
                (Timer::Forget, Slot::Retired { id, .. }) if *id == t.id => {
                    self.table.remove(&t.key);
                }
                _ => {}
            }
        }
    }

    /// End of capture at `end`: timers due by then fire, and every connection is delivered
    /// in id order.
    pub fn finish(mut self, end: Timestamp, sink: &mut impl Sink) {
        self.fire_timers(end, sink);
        // Sorted by ids copied beside the boxes: comparing through the boxes missed the cache
        // at nearly every comparison, most of the table being out of it by the end.
        let mut open: Vec<(u64, Box<Live>)> = self
            .table
            .into_values()
            .filter_map(|slot| match slot {
                Slot::Live(live) => Some((live.id, live)),
                Slot::Retired { .. } => None,
            })
            .collect();
        open.sort_unstable_by_key(|(id, _)| *id);
        for (_, live) in open {
            sink.deliver(live.finish(), Why::End);
        }
    }
}
