//! One connection while it is in the flow table: both endpoints' machines and what the
//! outputs will want to know about it.

use std::net::SocketAddr;

use crate::decode::Segment;
use crate::frame::{Duration, FrameNo, Timestamp};
use crate::peers::PeersTracker;
use crate::tcp::endpoint::{At, Endpoint};
use crate::tcp::seq::SeqNum;
use crate::tcp::state::State;
use crate::timeline::{
    Connection, Ending, Endpoints, Initial, Note, NoteKind, Role, RoleBasis, SegmentRecord, Traffic,
};

pub(super) struct Live {
    pub(super) id: u64,
    client: SocketAddr,
    server: SocketAddr,
    roles: RoleBasis,
    /// Whether the client sends in the key's forward direction (see `Key::of`): the flow
    /// table has that direction already, and a boolean tells a segment's sender where
    /// comparing two pairs of `SocketAddr`s cost about thirty instructions a segment.
    client_forward: bool,
    /// First sequence number seen from each side of the key ([Key.0→Key.1, Key.1→Key.0]):
    /// Wireshark's `base_seq`, which decides port reuse.
    pub(super) base_seq: [Option<SeqNum>; 2],
    first: (FrameNo, Timestamp),
    pub(super) last: (FrameNo, Timestamp),
    traffic: [Traffic; 2],
    /// [client, server]
    pub(super) endpoints: [Endpoint; 2],
    notes: Vec<Note>,
    first_fin: Option<Role>,
    simultaneous: bool,
    reset: Option<(Role, State)>,
    syn_ack_seen: bool,
    segments: Option<Vec<SegmentRecord>>,
    /// Zeek's and Wireshark's view of the same connection.
    peers: PeersTracker,
    /// [`Live::finished`] as of the last [`Live::check_finished`]: the flow table asks only
    /// after a change, and acts only when the answer turns true.
    was_finished: bool,
}

impl Live {
    /// `forward`: the segment's direction in its key, as `Key::of` says.
    pub(super) fn new(id: u64, seg: &Segment, forward: bool, at: At, time_wait: Duration, log: bool) -> Live {
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
            client_forward: (client == seg.src) == forward,
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
            peers: PeersTracker::new(seg, forward, at.ts),
            was_finished: false,
        }
    }

    pub(super) fn apply(&mut self, seg: &Segment, forward: bool, at: At) {
        let from = if forward == self.client_forward { Role::Client } else { Role::Server };
        let (s, r) = (from.index(), from.peer().index());
        self.last = (at.frame, at.ts);
        self.peers.observe(seg, forward, at.ts);
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
            // Notes are rare; a drain costs a dozen instructions even when there is none.
            if !self.endpoints[ep].notes.is_empty() {
                for (frame, kind) in self.endpoints[ep].notes.drain(..) {
                    self.notes.push(Note { frame, by: role, kind });
                }
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

    /// Changes of either endpoint's state or timeline so far.
    pub(super) fn changes(&self) -> u32 {
        self.endpoints[0].changes().wrapping_add(self.endpoints[1].changes())
    }

    /// Whether the connection has just finished: finished now, and not at the last check.
    /// Called after every change, so a connection that un-finishes (a retraction) and
    /// finishes again is caught again.
    pub(super) fn check_finished(&mut self) -> bool {
        let now = self.finished();
        let turned = now && !self.was_finished;
        self.was_finished = now;
        turned
    }

    /// Both endpoints are where nothing more can happen to them: CLOSED, or a server back in
    /// LISTEN. (TIME_WAIT is not finished: its timer and retransmitted FINs are still to come.)
    pub(super) fn finished(&self) -> bool {
        let progressed = self.endpoints.iter().any(|e| e.timeline().len() > 1);
        progressed
            && self
                .endpoints
                .iter()
                .all(|e| matches!(e.state(), State::Closed) || (e.state() == State::Listen && e.timeline().len() > 1))
    }

    /// Takes the connection out of its box field by field: moving the whole `Live` out first
    /// copied a kilobyte per connection.
    pub(super) fn finish(self: Box<Self>) -> Connection {
        let ending = self.ending();
        let Live {
            id,
            client,
            server,
            roles,
            client_forward,
            first,
            last,
            traffic,
            endpoints,
            notes,
            segments,
            peers,
            ..
        } = *self;
        let ends = if client_forward { [client, server] } else { [server, client] };
        let [c, s] = endpoints;
        let mut notes = notes;
        // A peer FIN still denied at the end stays taken back; notes of a FIN settled late
        // were made after later frames' notes.
        for (by, ep) in [(Role::Client, &c), (Role::Server, &s)] {
            if let Some(frame) = ep.fin_denied_at() {
                notes.push(Note { frame, by, kind: NoteKind::StepRetracted });
            }
        }
        notes.sort_by_key(|n| n.frame);
        Connection {
            id,
            client,
            server,
            roles,
            first_frame: first.0,
            last_frame: last.0,
            start: first.1,
            end: last.1,
            duration: last.1.since(first.1),
            ending,
            traffic,
            endpoints: Endpoints { client: c.into_timeline(), server: s.into_timeline() },
            notes,
            segments,
            peers: peers.finish(id, ends),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpFlags;
    use crate::flow::key::tests::seg;
    use crate::flow::key::Key;

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN_ACK: u8 = 0x11;
    const SYN_ACK: u8 = 0x12;
    const RST: u8 = 0x04;

    fn segment(from_client: bool, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
        let (c, s) = ("10.0.0.1:40000", "10.0.0.2:80");
        let mut seg = if from_client { seg(c, s) } else { seg(s, c) };
        seg.flags = TcpFlags(flags);
        seg.seq = SeqNum(seq);
        seg.ack = SeqNum(ack);
        seg.payload_len = len;
        seg
    }

    fn at(n: u64) -> At {
        At { ts: Timestamp(i64::try_from(n).unwrap() * 1000), frame: FrameNo(n) }
    }

    /// Feeds `segs` to a connection opened by the first, returning it and, per segment,
    /// whether it changed anything and whether the connection turned finished.
    fn run(segs: &[Segment]) -> (Live, Vec<(bool, bool)>) {
        let mut live = Live::new(0, &segs[0], Key::of(&segs[0]).1, at(1), Duration(0), false);
        let mut seen = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let before = live.changes();
            live.apply(seg, Key::of(seg).1, at(i as u64 + 1));
            let changed = live.changes() != before;
            seen.push((changed, changed && live.check_finished()));
        }
        (live, seen)
    }

    /// The three-way handshake (client ISN 100, server ISN 500), then `rest`: frames 4 on.
    fn opened_then(rest: &[Segment]) -> Vec<Segment> {
        let mut segs =
            vec![segment(true, SYN, 100, 0, 0), segment(false, SYN_ACK, 500, 101, 0), segment(true, ACK, 101, 501, 0)];
        segs.extend_from_slice(rest);
        segs
    }

    #[test]
    fn data_in_established_changes_nothing() {
        let (live, seen) = run(&opened_then(&[segment(true, ACK, 101, 501, 10), segment(false, ACK, 501, 111, 0)]));
        assert_eq!(live.endpoints.each_ref().map(Endpoint::state), [State::Established, State::Established]);
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [true, true, true, false, false]);
    }

    #[test]
    fn finishing_is_reported_once() {
        // The server is closed by the last ACK, the client waits in TIME_WAIT: not finished
        // yet, and a repeated ACK changes nothing. The timer finishes it, reported once.
        let (live, seen) = run(&opened_then(&[
            segment(true, FIN_ACK, 101, 501, 0),
            segment(false, FIN_ACK, 501, 102, 0),
            segment(true, ACK, 102, 502, 0),
            segment(true, ACK, 102, 502, 0),
        ]));
        assert_eq!(live.endpoints.each_ref().map(Endpoint::state), [State::TimeWait, State::Closed]);
        assert_eq!(seen.iter().filter(|s| s.1).count(), 0, "{seen:?}");
        let mut live = live;
        for ep in &mut live.endpoints {
            ep.on_timer(Timestamp(1_000_000));
        }
        assert!(live.check_finished());
        assert!(!live.check_finished());
    }

    /// Data then FIN from the client; the server's quick ACK of the data leaves before the FIN
    /// comes in, its delayed ACK covers the FIN. Frames 4..=7 of each test below.
    fn close_with_quick_ack(after_denial: &[Segment]) -> Live {
        let segs =
            [segment(true, ACK, 101, 501, 10), segment(true, FIN_ACK, 111, 501, 0), segment(false, ACK, 501, 111, 0)];
        run(&opened_then(&[&segs[..], after_denial].concat())).0
    }

    fn close_wait_entry(live: &Live) -> (FrameNo, bool) {
        let t = live.endpoints[1].timeline().iter().find(|t| t.state == State::CloseWait).copied().unwrap();
        (t.frame.unwrap(), t.inferred)
    }

    #[test]
    fn fin_overtaken_by_a_quick_ack_is_received_on_its_own_frame() {
        let live = close_with_quick_ack(&[segment(false, ACK, 501, 112, 0)]);
        assert_eq!(close_wait_entry(&live), (FrameNo(5), false));
        assert!(live.notes.is_empty(), "{:?}", live.notes);
    }

    #[test]
    fn fin_lost_and_retransmitted_is_received_at_the_retransmission() {
        let live = close_with_quick_ack(&[segment(true, FIN_ACK, 111, 501, 0), segment(false, ACK, 501, 112, 0)]);
        assert_eq!(close_wait_entry(&live), (FrameNo(7), true));
        let notes: Vec<_> = live.notes.iter().map(|n| (n.frame, n.kind)).collect();
        assert!(notes.contains(&(FrameNo(6), NoteKind::StepRetracted)), "{notes:?}");
    }

    #[test]
    fn fin_never_acknowledged_stays_taken_back_and_noted() {
        let conn = Box::new(close_with_quick_ack(&[])).finish();
        assert_eq!(conn.endpoints.server.timeline.last().map(|t| t.state), Some(State::Established));
        let notes: Vec<_> = conn.notes.iter().map(|n| (n.frame, n.by, n.kind)).collect();
        assert_eq!(notes, [(FrameNo(6), Role::Server, NoteKind::StepRetracted)]);
    }

    /// The client sends its request and FIN at once; the server answers later.
    fn reply_after_client_fin(after_reply: &[Segment]) -> Vec<(FrameNo, Role, NoteKind)> {
        let segs =
            [segment(true, FIN_ACK, 101, 501, 10), segment(false, ACK, 501, 112, 0), segment(false, ACK, 501, 112, 20)];
        run(&opened_then(&[&segs[..], after_reply].concat())).0.notes.iter().map(|n| (n.frame, n.by, n.kind)).collect()
    }

    #[test]
    fn rst_for_data_after_our_fin_is_noted_once() {
        let notes = reply_after_client_fin(&[segment(true, RST, 112, 0, 0), segment(true, RST, 112, 0, 0)]);
        let resets: Vec<_> = notes.into_iter().filter(|n| n.2 == NoteKind::ResetForDataAfterClose).collect();
        assert_eq!(resets, [(FrameNo(7), Role::Client, NoteKind::ResetForDataAfterClose)]);
    }

    #[test]
    fn data_after_our_fin_read_and_acknowledged_is_a_half_close() {
        let notes = reply_after_client_fin(&[segment(true, ACK, 112, 521, 0), segment(false, FIN_ACK, 521, 112, 0)]);
        assert_eq!(notes, []);
    }
}
