//! Rare and tricky exchanges the kernel cannot be made to do on cue, fed to the flow table as
//! crafted segments: both endpoints' timelines are asserted step by step.

use std::net::SocketAddr;

use tcpstate::decode::{Segment, TcpFlags, TcpOptions};
use tcpstate::flow::{FlowTable, SegmentLog};
use tcpstate::frame::{Duration, FrameNo, Timestamp};
use tcpstate::tcp::endpoint::At;
use tcpstate::tcp::seq::SeqNum;
use tcpstate::tcp::state::State::{self, *};
use tcpstate::timeline::{Cause, Connection, Ending, NoteKind, Role};

const S: u8 = TcpFlags::SYN;
const A: u8 = TcpFlags::ACK;
const F: u8 = TcpFlags::FIN;
const R: u8 = TcpFlags::RST;

/// A scripted exchange between a client (10.0.0.1:40000) and a server (10.0.0.2:80); frames
/// are numbered from 1, one millisecond apart unless `at` says otherwise.
struct Script {
    table: FlowTable,
    out: Vec<Connection>,
    frame: u64,
    ms: i64,
}

fn client() -> SocketAddr {
    "10.0.0.1:40000".parse().unwrap()
}
fn server() -> SocketAddr {
    "10.0.0.2:80".parse().unwrap()
}

impl Script {
    fn new() -> Script {
        Script {
            table: FlowTable::new(Duration::from_secs_f64(60.0), SegmentLog::None),
            out: Vec::new(),
            frame: 0,
            ms: 0,
        }
    }

    fn at(&mut self, ms: i64) -> &mut Self {
        self.ms = ms;
        self
    }

    fn seg(&mut self, from: Role, flags: u8, seq: u32, ack: u32, len: u32) -> &mut Self {
        let (src, dst) = match from {
            Role::Client => (client(), server()),
            Role::Server => (server(), client()),
        };
        self.frame += 1;
        self.ms += 1;
        let seg = Segment {
            src,
            dst,
            seq: SeqNum(seq),
            ack: SeqNum(if flags & A != 0 { ack } else { 0 }),
            flags: TcpFlags(flags),
            window: 65535,
            payload_len: len,
            options: TcpOptions::default(),
        };
        let at = At { ts: Timestamp(self.ms * 1_000_000), frame: FrameNo(self.frame) };
        self.table.on_segment(&seg, at, &mut self.out);
        self
    }

    fn c(&mut self, flags: u8, seq: u32, ack: u32, len: u32) -> &mut Self {
        self.seg(Role::Client, flags, seq, ack, len)
    }

    fn s(&mut self, flags: u8, seq: u32, ack: u32, len: u32) -> &mut Self {
        self.seg(Role::Server, flags, seq, ack, len)
    }

    /// Ends the capture `after_ms` after the last frame.
    fn end(&mut self, after_ms: i64) -> Vec<Connection> {
        let table = std::mem::replace(&mut self.table, FlowTable::new(Duration(0), SegmentLog::None));
        let mut out = std::mem::take(&mut self.out);
        table.finish(Timestamp((self.ms + after_ms) * 1_000_000), &mut out);
        out.sort_by_key(|c| c.id);
        out
    }
}

/// (state, frame) pairs of one endpoint, the initial entry included with frame 0.
fn steps(c: &Connection, role: Role) -> Vec<(State, u64)> {
    c.endpoints.get(role).timeline.iter().map(|t| (t.state, t.frame.map_or(0, |f| f.0))).collect()
}

fn handshake(s: &mut Script) {
    s.c(S, 100, 0, 0).s(S | A, 500, 101, 0).c(A, 101, 501, 0);
}

#[test]
fn three_way_handshake_and_client_close() {
    let mut s = Script::new();
    handshake(&mut s);
    s.c(F | A, 101, 501, 0).s(A, 501, 102, 0).s(F | A, 501, 102, 0).c(A, 102, 502, 0);
    let c = &s.end(0)[0];
    assert_eq!(
        steps(c, Role::Client),
        [(Closed, 0), (SynSent, 1), (Established, 2), (FinWait1, 4), (FinWait2, 5), (TimeWait, 6)]
    );
    assert_eq!(
        steps(c, Role::Server),
        [(Listen, 0), (SynRcvd, 2), (Established, 3), (CloseWait, 4), (LastAck, 6), (Closed, 7)]
    );
    assert_eq!(c.ending, Ending::ClosedByClientFirst);
}

#[test]
fn time_wait_expires_after_two_msl_when_the_capture_lasts() {
    let mut s = Script::new();
    handshake(&mut s);
    s.c(F | A, 101, 501, 0).s(F | A, 501, 102, 0).c(A, 102, 502, 0);
    let c = &s.end(61_000)[0];
    let last = c.endpoints.client.timeline.last().unwrap();
    assert_eq!((last.state, last.frame, last.cause), (Closed, None, Cause::TimeWaitExpired));
    assert_eq!(last.ts, Timestamp(5 * 1_000_000 + 60_000_000_000));
    // FIN_WAIT_1 → TIME_WAIT directly: the server's FIN carried the ACK of ours.
    assert_eq!(steps(c, Role::Client)[3..5], [(FinWait1, 4), (TimeWait, 5)]);
}

#[test]
fn time_wait_still_open_when_the_capture_ends_first() {
    let mut s = Script::new();
    handshake(&mut s);
    s.c(F | A, 101, 501, 0).s(F | A, 501, 102, 0).c(A, 102, 502, 0);
    let c = &s.end(59_000)[0];
    assert_eq!(c.endpoints.client.final_state, TimeWait);
}

#[test]
fn simultaneous_open_goes_through_syn_rcvd_on_both_sides() {
    let mut s = Script::new();
    // Both SYNs cross, then both SYN,ACKs cross: each side answers the other's SYN before it
    // has the other's SYN,ACK.
    s.c(S, 100, 0, 0).s(S, 500, 0, 0).s(S | A, 500, 101, 0).c(S | A, 100, 501, 0).s(A, 501, 101, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client), [(Closed, 0), (SynSent, 1), (SynRcvd, 2), (Established, 4)]);
    assert_eq!(steps(c, Role::Server), [(Closed, 0), (SynSent, 2), (SynRcvd, 3), (Established, 4)]);
    let replayed = c.endpoints.client.timeline.last().unwrap();
    assert!(replayed.inferred, "the crossing SYN,ACK arrives after the client's own");
}

#[test]
fn syn_rcvd_returns_to_listen_on_rst() {
    let mut s = Script::new();
    s.c(S, 100, 0, 0).s(S | A, 500, 101, 0).c(R, 101, 0, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Server), [(Listen, 0), (SynRcvd, 2), (Listen, 3)]);
    assert_eq!(c.ending, Ending::Reset { by: Role::Client, state: Established });
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut s = Script::new();
    handshake(&mut s);
    s.c(F | A, 101, 501, 0).s(F | A, 501, 101, 0).c(A, 102, 502, 0).s(A, 502, 102, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client)[3..], [(FinWait1, 4), (Closing, 5), (TimeWait, 7)]);
    assert_eq!(steps(c, Role::Server)[3..], [(FinWait1, 5), (Closing, 6), (TimeWait, 6)]);
    assert_eq!(c.ending, Ending::SimultaneousClose);
}

#[test]
fn fin_retransmitted_into_time_wait_is_reacknowledged_without_a_transition() {
    let mut s = Script::new();
    handshake(&mut s);
    // The client's final ACK (frame 7) is lost after the capture point: the server resends
    // its FIN, proving it never got the ACK, and closes only on the second ACK.
    s.c(F | A, 101, 501, 0).s(A, 501, 102, 0).s(F | A, 501, 102, 0).c(A, 102, 502, 0);
    s.s(F | A, 501, 102, 0).c(A, 102, 502, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client)[3..], [(FinWait1, 4), (FinWait2, 5), (TimeWait, 6)]);
    assert_eq!(steps(c, Role::Server)[3..], [(CloseWait, 4), (LastAck, 6), (Closed, 9)]);
    let kinds: Vec<NoteKind> = c.notes.iter().map(|n| n.kind).collect();
    assert!(kinds.contains(&NoteKind::FinIntoTimeWait), "{kinds:?}");
    assert!(kinds.contains(&NoteKind::StepRetracted), "{kinds:?}");
}

#[test]
fn refused_connection_leaves_the_server_closed_throughout() {
    let mut s = Script::new();
    s.c(S, 100, 0, 0).s(R | A, 0, 101, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Server), [(Closed, 0)]);
    assert_eq!(steps(c, Role::Client), [(Closed, 0), (SynSent, 1), (Closed, 2)]);
    assert_eq!(c.ending, Ending::Refused);
}

#[test]
fn unanswered_syn_retransmissions_stay_in_syn_sent() {
    let mut s = Script::new();
    s.c(S, 100, 0, 0).at(1001).c(S, 100, 0, 0).at(3001).c(S, 100, 0, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client), [(Closed, 0), (SynSent, 1)]);
    assert_eq!(steps(c, Role::Server), [(Listen, 0)]);
    assert_eq!(c.ending, Ending::UnansweredSyn);
    assert_eq!(c.notes.iter().filter(|n| n.kind == NoteKind::SynRetransmitted).count(), 2);
}

#[test]
fn lost_syn_ack_is_taken_back_when_the_client_retries_its_syn() {
    let mut s = Script::new();
    s.c(S, 100, 0, 0).s(S | A, 500, 101, 0).at(1000).c(S, 100, 0, 0).s(S | A, 500, 101, 0).c(A, 101, 501, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client), [(Closed, 0), (SynSent, 1), (Established, 4)]);
    assert_eq!(steps(c, Role::Server), [(Listen, 0), (SynRcvd, 2), (Established, 5)]);
}

#[test]
fn capture_starting_at_the_syn_ack_infers_the_unseen_syn() {
    let mut s = Script::new();
    s.s(S | A, 500, 101, 0).c(A, 101, 501, 0);
    let c = &s.end(0)[0];
    let client = &c.endpoints.client.timeline;
    assert_eq!(
        client.iter().map(|t| (t.state, t.inferred)).collect::<Vec<_>>(),
        [(Closed, false), (SynSent, true), (Established, false)]
    );
    assert_eq!(c.client, client_addr());
}

fn client_addr() -> SocketAddr {
    client()
}

#[test]
fn mid_stream_connection_starts_both_endpoints_established() {
    let mut s = Script::new();
    s.c(A, 1000, 5000, 10).s(A, 5000, 1010, 0).s(F | A, 5000, 1010, 0).c(A, 1010, 5001, 0);
    let c = &s.end(0)[0];
    assert_eq!(c.server, server());
    let first = c.endpoints.client.timeline[0];
    assert_eq!((first.state, first.inferred, first.frame), (Established, true, None));
    assert_eq!(steps(c, Role::Server)[1..], [(FinWait1, 3), (FinWait2, 4)]);
    assert_eq!(steps(c, Role::Client)[1..], [(CloseWait, 3)]);
    assert_eq!(c.ending, Ending::HalfClosed { by: Role::Server });
}

#[test]
fn out_of_window_rst_is_ignored_and_in_window_rst_closes() {
    let mut s = Script::new();
    handshake(&mut s);
    s.s(R, 9_000_000, 0, 0);
    s.s(R, 501, 0, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client)[3..], [(Closed, 5)]);
    assert_eq!(c.notes.iter().find(|n| n.kind == NoteKind::RstIgnored).map(|n| n.frame.0), Some(4));
}

#[test]
fn rst_answered_by_a_challenge_ack_is_taken_back() {
    let mut s = Script::new();
    handshake(&mut s);
    s.s(A, 501, 101, 100).s(R, 550, 0, 0).c(A, 101, 601, 0);
    let c = &s.end(0)[0];
    // RFC 5961: an in-window RST that is not exactly RCV.NXT draws a challenge ACK.
    assert_eq!(c.endpoints.client.final_state, Established);
}

#[test]
fn a_new_syn_with_another_isn_starts_a_new_connection_and_ends_time_wait() {
    let mut s = Script::new();
    handshake(&mut s);
    s.s(F | A, 501, 101, 0).c(A, 101, 502, 0).c(F | A, 101, 502, 0).s(A, 502, 102, 0);
    s.c(S, 90_000, 0, 0).s(S | A, 7000, 90_001, 0).c(A, 90_001, 7001, 0);
    let conns = s.end(0);
    assert_eq!(conns.len(), 2);
    let old = &conns[0];
    assert_eq!(old.id, 0);
    assert_eq!(steps(old, Role::Server)[3..], [(FinWait1, 4), (FinWait2, 5), (TimeWait, 6), (Closed, 8)]);
    assert_eq!(old.endpoints.server.timeline.last().unwrap().cause, Cause::Reincarnated);
    assert_eq!(conns[1].id, 1);
    assert_eq!(conns[1].endpoints.client.final_state, Established);
}

#[test]
fn retransmitted_syn_with_the_same_isn_stays_in_the_connection() {
    let mut s = Script::new();
    s.c(S, 100, 0, 0).c(S, 100, 0, 0).s(S | A, 500, 101, 0).c(A, 101, 501, 0);
    assert_eq!(s.end(0).len(), 1);
}

#[test]
fn half_close_with_data_after_fin() {
    let mut s = Script::new();
    handshake(&mut s);
    s.c(F | A, 101, 501, 0)
        .s(A, 501, 102, 100)
        .s(A, 601, 102, 100)
        .c(A, 102, 701, 0)
        .s(F | A, 701, 102, 0)
        .c(A, 102, 702, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Client)[3..], [(FinWait1, 4), (FinWait2, 5), (TimeWait, 8)]);
    assert_eq!(steps(c, Role::Server)[3..], [(CloseWait, 4), (LastAck, 8), (Closed, 9)]);
    assert_eq!(c.ending, Ending::ClosedByClientFirst);
}

#[test]
fn ack_and_fin_in_one_segment_complete_the_handshake_then_close_wait() {
    let mut s = Script::new();
    s.c(S, 100, 0, 0).s(S | A, 500, 101, 0).c(F | A, 101, 501, 0);
    let c = &s.end(0)[0];
    assert_eq!(steps(c, Role::Server), [(Listen, 0), (SynRcvd, 2), (Established, 3), (CloseWait, 3)]);
}

#[test]
fn finished_connections_leave_memory_but_keep_their_number() {
    let mut s = Script::new();
    handshake(&mut s);
    s.c(R, 101, 0, 0);
    assert_eq!(s.table.open_connections(), 1, "kept a while for segments that prove a loss");
    s.at(20_000).s(A, 501, 101, 0);
    assert_eq!(s.table.open_connections(), 0);
    assert_eq!(s.table.late_segments, 1, "the stray ACK belongs to the delivered connection");
    assert_eq!(s.out.len(), 1);
    s.c(S, 7_000, 0, 0);
    let conns = s.end(0);
    assert_eq!(conns.iter().map(|c| c.id).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn a_fin_lost_before_the_capture_point_is_implied_by_its_ack() {
    let mut s = Script::new();
    handshake(&mut s);
    // Client sends 10 bytes, then a FIN the capture never sees; the server ACKs 112 = 101+10+1.
    s.c(A, 101, 501, 10).s(A, 501, 111, 0).s(A, 501, 112, 0).s(F | A, 501, 112, 0).c(A, 112, 502, 0);
    let c = &s.end(0)[0];
    let client: Vec<_> =
        c.endpoints.client.timeline.iter().map(|t| (t.state, t.frame.map_or(0, |f| f.0), t.inferred)).collect();
    assert_eq!(client[3..], [(FinWait1, 6, true), (FinWait2, 6, false), (TimeWait, 7, false)]);
    let server: Vec<_> =
        c.endpoints.server.timeline.iter().map(|t| (t.state, t.frame.map_or(0, |f| f.0), t.inferred)).collect();
    assert_eq!(server[3..], [(CloseWait, 6, true), (LastAck, 7, false), (Closed, 8, false)]);
    assert_eq!(c.ending, Ending::ClosedByClientFirst);
}
