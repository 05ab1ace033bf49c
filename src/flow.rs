//! The flow table: segments → connections, with both endpoints' machines.
//!
//! Connections are keyed by the unordered 4-tuple and numbered exactly as Wireshark numbers
//! `tcp.stream` (packet-tcp.c, 4.0): a new number for a 4-tuple never seen, and for a SYN
//! without ACK whose sequence number differs from the first sequence number seen in that
//! direction (port reuse). Nothing else — no FIN, RST or idle time — splits a connection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

/// The flow table is looked up once per segment: foldhash is several times faster than
/// SipHash on a 4-tuple and still seeded per process, so crafted captures cannot force
/// collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use crate::decode::Segment;
use crate::frame::{Duration, FrameNo, Timestamp};
use crate::peers::PeersTracker;
use crate::tcp::endpoint::{At, Endpoint};
use crate::tcp::seq::SeqNum;
use crate::tcp::state::State;
use crate::timeline::{
    Connection, Ending, Endpoints, Initial, Note, NoteKind, Role, RoleBasis, SegmentRecord, Traffic,
};

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

/// The 4-tuple with the smaller address first, so both directions find the same entry.
/// Ordered too, so the timer heap breaks ties deterministically.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key(SocketAddr, SocketAddr);

impl Key {
    /// The key and whether the segment goes from `Key.0` to `Key.1`.
    fn of(seg: &Segment) -> (Key, bool) {
        if seg.src <= seg.dst {
            (Key(seg.src, seg.dst), true)
        } else {
            (Key(seg.dst, seg.src), false)
        }
    }
}

struct Live {
    id: u64,
    client: SocketAddr,
    server: SocketAddr,
    roles: RoleBasis,
    /// First sequence number seen from each side of the key ([Key.0→Key.1, Key.1→Key.0]):
    /// Wireshark's `base_seq`, which decides port reuse.
    base_seq: [Option<SeqNum>; 2],
    first: (FrameNo, Timestamp),
    last: (FrameNo, Timestamp),
    traffic: [Traffic; 2],
    /// [client, server]
    endpoints: [Endpoint; 2],
    notes: Vec<Note>,
    first_fin: Option<Role>,
    simultaneous: bool,
    reset: Option<(Role, State)>,
    syn_ack_seen: bool,
    segments: Option<Vec<SegmentRecord>>,
    /// Zeek's and Wireshark's view of the same connection.
    peers: PeersTracker,
}

impl Live {
    fn new(id: u64, seg: &Segment, at: At, time_wait: Duration, log: bool) -> Live {
        let f = seg.flags;
        let (client, server, roles) = if f.syn() && !f.ack() {
            (seg.src, seg.dst, RoleBasis::Syn)
        } else if f.syn() && f.ack() {
            (seg.dst, seg.src, RoleBasis::SynAck)
        } else if seg.src.port() < seg.dst.port() {
            (seg.dst, seg.src, RoleBasis::Port)
        } else {
            (seg.src, seg.dst, RoleBasis::Port)
        };
        let (c0, s0, cw, sw) = match roles {
            RoleBasis::Syn | RoleBasis::SynAck => (State::Closed, State::Listen, Initial::Closed, Initial::Listening),
            RoleBasis::Port => (State::Established, State::Established, Initial::MidStream, Initial::MidStream),
        };
        Live {
            id,
            client,
            server,
            roles,
            base_seq: [None, None],
            first: (at.frame, at.ts),
            last: (at.frame, at.ts),
            traffic: [Traffic::default(); 2],
            endpoints: [Endpoint::new(c0, cw, at.ts, time_wait), Endpoint::new(s0, sw, at.ts, time_wait)],
            notes: Vec::new(),
            first_fin: None,
            simultaneous: false,
            reset: None,
            syn_ack_seen: false,
            segments: log.then(Vec::new),
            peers: PeersTracker::new(seg, at.ts),
        }
    }

    fn apply(&mut self, seg: &Segment, at: At) {
        let from = if seg.src == self.client && seg.dst == self.server { Role::Client } else { Role::Server };
        let (s, r) = (from.index(), from.peer().index());
        self.last = (at.frame, at.ts);
        self.peers.observe(seg, at.ts);
        self.traffic[s].packets += 1;
        self.traffic[s].bytes += u64::from(seg.payload_len);
        let f = seg.flags;
        if (f.syn() && (f.fin() || f.rst())) || f.0 & 0x17 == 0 {
            self.notes.push(Note { frame: at.frame, by: from, kind: NoteKind::ImpossibleFlags });
        }
        if f.syn() && f.ack() {
            self.syn_ack_seen = true;
        }
        if let Some(log) = self.segments.as_mut() {
            let ep = &self.endpoints[s];
            let retransmission = ep.is_retransmission(seg);
            log.push(SegmentRecord {
                frame: at.frame,
                ts: at.ts,
                from,
                flags: f,
                seq: seg.seq,
                ack: seg.ack,
                len: seg.payload_len,
                retransmission,
            });
        }
        if f.ack() && !f.rst() && self.endpoints[r].fin_implied_by(seg.ack) {
            // The sender acknowledges one sequence number beyond everything the peer sent: the
            // peer's FIN, lost before the capture point.
            self.endpoints[r].infer_sent_fin(at);
            self.endpoints[s].infer_received_fin(seg.ack.minus(1), at);
            if self.first_fin.is_none() {
                self.first_fin = Some(from.peer());
            }
        }
        let sender_before = self.endpoints[s].state();
        let receiver_before = self.endpoints[r].state();
        let fin_before = self.endpoints[s].has_sent_fin();
        self.endpoints[s].on_send(seg, at);
        if f.fin() && !fin_before {
            match self.first_fin {
                None => self.first_fin = Some(from),
                // The second FIN, sent before its sender had the first: they crossed.
                Some(_) if self.endpoints[s].state() == State::FinWait1 => self.simultaneous = true,
                Some(_) => {}
            }
        }
        self.endpoints[r].on_receive(seg, at);
        if f.rst() && self.reset.is_none() {
            let receiver_reset =
                receiver_before != self.endpoints[r].state() && self.endpoints[r].state() == State::Closed;
            if receiver_reset || sender_before != State::Closed {
                self.reset = Some((from, sender_before));
            }
        }
        for (role, ep) in [(Role::Client, 0), (Role::Server, 1)] {
            for (frame, kind) in self.endpoints[ep].notes.drain(..) {
                self.notes.push(Note { frame, by: role, kind });
            }
        }
    }

    fn ending(&self) -> Ending {
        let [c, s] = &self.endpoints;
        let server_refused =
            s.timeline().first().is_some_and(|t| t.cause == crate::timeline::Cause::Initial(Initial::NoListener));
        if server_refused {
            return Ending::Refused;
        }
        if let Some((by, state)) = self.reset {
            return Ending::Reset { by, state };
        }
        match (c.has_sent_fin(), s.has_sent_fin(), self.first_fin) {
            (true, true, _) if self.simultaneous => Ending::SimultaneousClose,
            (true, true, Some(Role::Client)) => Ending::ClosedByClientFirst,
            (true, true, _) => Ending::ClosedByServerFirst,
            (true, false, _) => Ending::HalfClosed { by: Role::Client },
            (false, true, _) => Ending::HalfClosed { by: Role::Server },
            (false, false, _) => {
                if c.state() == State::SynSent && !self.syn_ack_seen {
                    Ending::UnansweredSyn
                } else if c.state() == State::Established && s.state() == State::Established {
                    Ending::StillOpen
                } else if self.syn_ack_seen && s.state() != State::Established {
                    Ending::HandshakeIncomplete
                } else {
                    Ending::StillOpen
                }
            }
        }
    }

    /// Both endpoints are where nothing more can happen to them: CLOSED, or a server back in
    /// LISTEN. (TIME_WAIT is not finished: its timer and retransmitted FINs are still to come.)
    fn finished(&self) -> bool {
        let progressed = self.endpoints.iter().any(|e| e.timeline().len() > 1);
        progressed
            && self
                .endpoints
                .iter()
                .all(|e| matches!(e.state(), State::Closed) || (e.state() == State::Listen && e.timeline().len() > 1))
    }

    fn finish(self) -> Connection {
        let ending = self.ending();
        let [c, s] = self.endpoints;
        Connection {
            id: self.id,
            client: self.client,
            server: self.server,
            roles: self.roles,
            first_frame: self.first.0,
            last_frame: self.last.0,
            start: self.first.1,
            end: self.last.1,
            duration: self.last.1.since(self.first.1),
            ending,
            traffic: self.traffic,
            endpoints: Endpoints { client: c.into_timeline(), server: s.into_timeline() },
            notes: self.notes,
            segments: self.segments,
            peers: self.peers.finish(self.id),
        }
    }
}

/// Where finished connections go: the outputs, in the order they finish.
pub trait Sink {
    fn connection(&mut self, conn: Connection);
}

impl Sink for Vec<Connection> {
    fn connection(&mut self, conn: Connection) {
        self.push(conn);
    }
}

pub struct FlowTable {
    /// Boxed: the table's spare capacity then costs a pointer per slot, not a connection.
    live: HashMap<Key, Box<Live>>,
    /// Connections already delivered, remembered so that a stray segment on their 4-tuple keeps
    /// Wireshark's numbering (it belongs to the old stream) instead of opening a new one.
    retired: HashMap<Key, Retired>,
    timers: BinaryHeap<Reverse<(Timestamp, u64, Timer, Key)>>,
    next_id: u64,
    time_wait: Duration,
    log: SegmentLog,
    /// Segments that arrived for a connection already delivered (counted, not analysed).
    pub late_segments: u64,
}

struct Retired {
    id: u64,
    base_seq: [Option<SeqNum>; 2],
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// An endpoint's 2·MSL TIME_WAIT expires.
    TimeWait,
    /// A connection whose endpoints have both finished may be delivered if it stayed quiet.
    Quiet,
    /// A delivered connection's 4-tuple is forgotten.
    Forget,
}

/// How long a finished connection stays in the table before it is delivered: long enough for
/// the segments that prove a step was lost (a challenge ACK after a RST, a retransmitted FIN)
/// to arrive from any capture point.
pub const QUIET: Duration = Duration(10 * Timestamp::NANOS_PER_SEC);

impl FlowTable {
    pub fn new(time_wait: Duration, log: SegmentLog) -> FlowTable {
        FlowTable {
            live: HashMap::default(),
            retired: HashMap::default(),
            timers: BinaryHeap::new(),
            next_id: 0,
            time_wait,
            log,
            late_segments: 0,
        }
    }

    /// Connections currently held in memory.
    pub fn open_connections(&self) -> usize {
        self.live.len()
    }

    pub fn on_segment(&mut self, seg: &Segment, at: At, sink: &mut impl Sink) {
        self.fire_timers(at.ts, sink);
        let (key, forward) = Key::of(seg);
        let dir = usize::from(!forward);
        let f = seg.flags;
        let new_isn = |base: Option<SeqNum>| f.syn() && !f.ack() && base.is_some_and(|b| b != seg.seq);
        let reuse = match (self.live.get(&key), self.retired.get(&key)) {
            (Some(live), _) => new_isn(live.base_seq[dir]),
            (None, Some(old)) => {
                if !new_isn(old.base_seq[dir]) {
                    self.late_segments += 1;
                    return;
                }
                true
            }
            (None, None) => true,
        };
        if reuse {
            if let Some(mut old) = self.live.remove(&key) {
                for ep in &mut old.endpoints {
                    ep.on_reincarnation(at);
                }
                sink.connection(old.finish());
            }
            self.retired.remove(&key);
            let id = self.next_id;
            self.next_id += 1;
            let log = self.log.wants(id);
            self.live.insert(key, Box::new(Live::new(id, seg, at, self.time_wait, log)));
        }
        let Some(live) = self.live.get_mut(&key) else {
            return;
        };
        if f.syn() && f.ack() && live.base_seq[dir].is_some_and(|b| b != seg.seq) {
            // Wireshark re-bases a SYN,ACK with a new sequence number instead of splitting.
            live.base_seq[dir] = Some(seg.seq);
        }
        live.base_seq[dir].get_or_insert(seg.seq);
        let before = live.endpoints.each_ref().map(|e| e.time_wait_deadline());
        let finished_before = live.finished();
        live.apply(seg, at);
        for (ep, was) in live.endpoints.iter().zip(before) {
            if let Some(deadline) = ep.time_wait_deadline().filter(|d| Some(*d) != was) {
                self.timers.push(Reverse((deadline, live.id, Timer::TimeWait, key)));
            }
        }
        if live.finished() && !finished_before {
            self.timers.push(Reverse((at.ts.saturating_add(QUIET), live.id, Timer::Quiet, key)));
        }
    }

    /// Runs every timer due at or before `now`: TIME_WAIT expiries, deliveries of finished
    /// connections that stayed quiet, and forgetting delivered 4-tuples.
    pub fn fire_timers(&mut self, now: Timestamp, sink: &mut impl Sink) {
        while let Some(Reverse((due, id, timer, key))) = self.timers.peek().copied() {
            if due > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::TimeWait => {
                    if let Some(live) = self.live.get_mut(&key).filter(|l| l.id == id) {
                        for ep in &mut live.endpoints {
                            ep.on_timer(due);
                        }
                        if live.finished() {
                            self.timers.push(Reverse((due.saturating_add(QUIET), id, Timer::Quiet, key)));
                        }
                    }
                }
                Timer::Quiet => {
                    let quiet = self
                        .live
                        .get(&key)
                        .is_some_and(|l| l.id == id && l.finished() && l.last.1.saturating_add(QUIET) <= due);
                    if quiet {
                        if let Some(live) = self.live.remove(&key) {
                            self.retired.insert(key, Retired { id, base_seq: live.base_seq });
                            self.timers.push(Reverse((due.saturating_add(self.time_wait), id, Timer::Forget, key)));
                            sink.connection(live.finish());
                        }
                    } else if let Some(live) = self.live.get(&key).filter(|l| l.id == id && l.finished()) {
                        // Segments arrived meanwhile: wait for quiet again.
                        self.timers.push(Reverse((live.last.1.saturating_add(QUIET), id, Timer::Quiet, key)));
                    }
                }
                Timer::Forget => {
                    if self.retired.get(&key).is_some_and(|r| r.id == id) {
                        self.retired.remove(&key);
                    }
                }
            }
        }
    }

    /// End of capture at `end`: timers due by then fire, and every connection is delivered
    /// in id order.
    pub fn finish(mut self, end: Timestamp, sink: &mut impl Sink) {
        self.fire_timers(end, sink);
        // Sort the small (id, key) pairs, not the connections themselves.
        let mut order: Vec<(u64, Key)> = self.live.iter().map(|(k, l)| (l.id, *k)).collect();
        order.sort_unstable_by_key(|(id, _)| *id);
        for (_, key) in order {
            if let Some(live) = self.live.remove(&key) {
                sink.connection(live.finish());
            }
        }
    }
}
