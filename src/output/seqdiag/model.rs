//! What the sequence diagram draws, derived from the timeline model: one arrow per segment
//! with estimated send and arrival times, the ghosts of segments the capture never saw, and the
//! blocks (handshake, folded data, close) the user asked for.
//!
//! With one capture point each segment has one timestamp. The handshake tells where that
//! point sits: SYN → SYN,ACK is the round trip from the capture point to the server and back,
//! SYN,ACK → ACK the round trip to the client. Half of each is the one-way delay on that side;
//! a segment from the client left it `d_client` before it was captured and reached the server
//! `d_server` after.

use crate::decode::TcpFlags;
use crate::frame::{FrameNo, Timestamp};
use crate::tcp::seq::SeqNum;
use crate::timeline::{Cause, Connection, Role, SegmentRecord, Transition};

use super::{Phase, SeqOptions};

/// One-way delays between each endpoint and the capture point, in seconds.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Delays {
    pub client: f64,
    pub server: f64,
    /// Estimated from SYN, SYN,ACK, ACK (true), or from a SYN answered by a SYN.
    pub from_handshake: bool,
}

impl Delays {
    fn of(self, role: Role) -> f64 {
        match role {
            Role::Client => self.client,
            Role::Server => self.server,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    Normal,
    Retransmission,
    Reset,
    /// Not captured: implied by an inferred step of the timeline.
    Ghost,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    /// The captured frame; for a ghost, the frame whose evidence implies it.
    pub frame: FrameNo,
    pub from: Role,
    /// Estimated departure and arrival, seconds since the connection's first frame.
    pub send: f64,
    pub arrive: f64,
    /// The capture time (for ghosts: the departure).
    pub seen: f64,
    pub kind: ArrowKind,
    pub flags: TcpFlags,
    pub len: u32,
    pub label: String,
}

impl Arrow {
    pub fn is_ghost(&self) -> bool {
        self.kind == ArrowKind::Ghost
    }
}

/// A run of consecutive arrows: drawn, or folded into one labelled gap.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Shown(std::ops::Range<usize>),
    Folded(std::ops::Range<usize>),
}

fn secs(ts: Timestamp, origin: Timestamp) -> f64 {
    ts.since(origin).as_secs_f64()
}

/// The delays from the handshake (the last SYN before the first SYN,ACK, that SYN,ACK, and
/// the client's next segment), else from the first SYN → SYN → reply exchange; `None` when
/// the capture shows no opening to measure.
pub fn delays(segs: &[SegmentRecord]) -> Option<Delays> {
    let is = |s: &SegmentRecord, role: Role, syn: bool, ack: bool| {
        s.from == role && s.flags.syn() == syn && (s.flags.ack() == ack || !syn)
    };
    // After retransmitted SYNs the SYN,ACK may answer any of them (Karn's ambiguity); the
    // last one gives the shortest round trip, an estimate never inflated by a lost SYN.
    let handshake = (|| {
        let j = segs.iter().position(|s| is(s, Role::Server, true, true))?;
        let i = segs[..j].iter().rposition(|s| is(s, Role::Client, true, false))?;
        let k = j + 1 + segs[j + 1..].iter().position(|s| is(s, Role::Client, false, true))?;
        Some((i, j, k, true))
    })();
    // Another opening (a simultaneous or split handshake: SYN answered by SYN): the answers
    // are still immediate. Data exchanges are not used: an application may wait for minutes
    // before it answers, which would read as minutes of delay.
    let exchange = || {
        let i = segs.iter().position(|s| s.from == Role::Client && s.flags.syn())?;
        let j = i + 1 + segs[i + 1..].iter().position(|s| s.from == Role::Server && s.flags.syn())?;
        let k = j + 1 + segs[j + 1..].iter().position(|s| s.from == Role::Client)?;
        Some((i, j, k, false))
    };
    let (i, j, k, from_handshake) = handshake.or_else(exchange)?;
    let server = segs[j].ts.since(segs[i].ts).as_secs_f64() / 2.0;
    let client = segs[k].ts.since(segs[j].ts).as_secs_f64() / 2.0;
    (server + client > 0.0).then_some(Delays { client, server, from_handshake })
}

/// The sequence number each side started from: its SYN's, else the first it sent.
fn isns(segs: &[SegmentRecord]) -> [Option<SeqNum>; 2] {
    let mut isn = [None, None];
    for role in [Role::Client, Role::Server] {
        let mine = || segs.iter().filter(|s| s.from == role);
        isn[role.index()] = mine().find(|s| s.flags.syn()).or_else(|| mine().next()).map(|s| s.seq);
    }
    isn
}

/// `SYN seq=0`, `SYN,ACK seq=0 ack=1`, `PSH,ACK seq=1 ack=1 len=100`.
fn label(s: &SegmentRecord, isn: &[Option<SeqNum>; 2], again: bool, opts: &SeqOptions) -> String {
    let rel = |v: SeqNum, base: Option<SeqNum>| match (opts.absolute, base) {
        (false, Some(b)) => v.0.wrapping_sub(b.0),
        _ => v.0,
    };
    let mut out = format!("{} seq={}", s.flags, rel(s.seq, isn[s.from.index()]));
    if s.flags.ack() {
        out += &format!(" ack={}", rel(s.ack, isn[s.from.peer().index()]));
    }
    if s.len > 0 {
        out += &format!(" len={}", s.len);
    }
    if again {
        out.push(' ');
        out += opts.lang.retransmission();
    }
    out
}

/// Where a captured segment ends in sequence space (SYN and FIN count one).
fn seq_end(s: &SegmentRecord) -> Option<SeqNum> {
    let used = s.len + u32::from(s.flags.syn()) + u32::from(s.flags.fin());
    (used > 0).then(|| s.seq.plus(used))
}

/// Arrows for every segment in capture order, with ghosts before the frame that implies them.
pub fn arrows(conn: &Connection, segs: &[SegmentRecord], opts: &SeqOptions) -> (Vec<Arrow>, Option<Delays>) {
    let delays = delays(segs);
    // Without an estimate, a token delay keeps every arrival after its departure.
    let d = delays.unwrap_or(Delays { client: 1e-6, server: 1e-6, from_handshake: false });
    let isn = isns(segs);
    let mut out: Vec<Arrow> = segs
        .iter()
        .map(|s| {
            let again = s.retransmission;
            let seen = secs(s.ts, conn.start);
            let kind = if s.flags.rst() {
                ArrowKind::Reset
            } else if again {
                ArrowKind::Retransmission
            } else {
                ArrowKind::Normal
            };
            Arrow {
                frame: s.frame,
                from: s.from,
                send: seen - d.of(s.from),
                arrive: seen + d.of(s.from.peer()),
                seen,
                kind,
                flags: s.flags,
                len: s.len,
                label: label(s, &isn, again, opts),
            }
        })
        .collect();
    causality(segs, &mut out);
    let ghosts = ghosts(conn, segs, &out, d, opts);
    for g in ghosts.into_iter().rev() {
        let at = out.iter().position(|a| a.frame >= g.frame).unwrap_or(out.len());
        out.insert(at, g);
    }
    (out, delays)
}

/// A nanosecond: the smallest step between two instants that must be ordered.
const TICK: f64 = 1e-9;

/// Makes the estimated times respect what the capture proves, whatever the estimate says
/// (delays vary, and timestamps can be equal): each endpoint sends in capture order, and a
/// segment arrives before its receiver sends the first ACK that covers it. Arrivals are
/// moved earlier, and if that is not enough (the ACK would leave before the segment did),
/// the ACK's departure later.
fn causality(segs: &[SegmentRecord], out: &mut [Arrow]) {
    // Per sender: segments awaiting the peer's covering ACK, in order.
    let mut unacked: [std::collections::VecDeque<(usize, SeqNum)>; 2] = Default::default();
    let mut last_send = [f64::MIN; 2];
    for (j, s) in segs.iter().enumerate() {
        let me = s.from.index();
        out[j].send = out[j].send.max(last_send[me] + TICK);
        if s.flags.ack() {
            let queue = &mut unacked[s.from.peer().index()];
            while let Some(&(k, end)) = queue.front() {
                if s.ack < end {
                    break;
                }
                queue.pop_front();
                let latest = out[j].send - TICK;
                if out[k].arrive > latest {
                    out[k].arrive = latest.max(out[k].send + TICK);
                }
                if out[k].arrive >= out[j].send {
                    out[j].send = out[k].arrive + TICK;
                }
            }
        }
        out[j].arrive = out[j].arrive.max(out[j].send + TICK);
        last_send[me] = out[j].send;
        if let Some(end) = seq_end(s) {
            unacked[me].push_back((j, end));
        }
    }
    // Arrivals in one direction stay in sending order.
    for role in [Role::Client, Role::Server] {
        let mut next_arrival = f64::MAX;
        for a in out.iter_mut().rev().filter(|a| a.from == role) {
            a.arrive = a.arrive.min(next_arrival).max(a.send + TICK);
            next_arrival = a.arrive;
        }
    }
}

/// Segments the timeline says were sent or received without the capture showing them: an
/// inferred step caused by flags that no captured segment from that sender carries.
fn ghosts(conn: &Connection, segs: &[SegmentRecord], arrows: &[Arrow], d: Delays, opts: &SeqOptions) -> Vec<Arrow> {
    let mut out = Vec::new();
    for role in [Role::Client, Role::Server] {
        for t in &conn.endpoints.get(role).timeline {
            let (sender, flags) = match t.cause {
                Cause::Sent(f) if t.inferred => (role, f),
                Cause::Received(f) if t.inferred => (role.peer(), f),
                _ => continue,
            };
            let Some(frame) = t.frame else { continue };
            let seen_from_sender = segs.iter().any(|s| s.from == sender && s.flags.control() == flags.control());
            if seen_from_sender {
                continue;
            }
            let Some(anchor) = arrows.iter().find(|a| a.frame == frame) else {
                continue;
            };
            // The moment the frame's segment touched `role`'s lifeline.
            let at_role = if anchor.from == role { anchor.send } else { anchor.arrive };
            let transit = d.client + d.server;
            let (send, arrive) = if sender == role {
                (at_role - 2e-7, at_role - 2e-7 + transit)
            } else {
                (at_role - 2e-7 - transit, at_role - 2e-7)
            };
            out.push(Arrow {
                frame,
                from: sender,
                send,
                arrive,
                seen: send,
                kind: ArrowKind::Ghost,
                flags,
                len: 0,
                label: format!("{} {}", flags.control(), opts.lang.not_captured()),
            });
        }
    }
    out.sort_by(|a, b| a.frame.cmp(&b.frame).then(a.send.total_cmp(&b.send)));
    out
}

/// How many segments the default phase draws of a connection with neither handshake nor close.
const PREVIEW: usize = 10;

/// Which arrows the phase shows, and which it folds.
pub fn blocks(conn: &Connection, arrows: &[Arrow], phase: Phase) -> Vec<Block> {
    let n = arrows.len();
    let established = |tl: &[Transition]| {
        tl.iter().find(|t| t.state == crate::tcp::state::State::Established && t.frame.is_some()).and_then(|t| t.frame)
    };
    let last_syn = arrows.iter().rposition(|a| a.flags.syn());
    let est_frames = [established(&conn.endpoints.client.timeline), established(&conn.endpoints.server.timeline)];
    let est = est_frames.iter().flatten().filter_map(|f| arrows.iter().rposition(|a| a.frame == *f)).max();
    let hs_end = match (last_syn, est) {
        (None, None) => 0,
        (a, b) => a.max(b).map_or(0, |i| i + 1),
    };
    let close_start = arrows.iter().position(|a| a.flags.fin() || a.flags.rst()).unwrap_or(n).max(hs_end);
    let mut out = match phase {
        Phase::All => vec![Block::Shown(0..n)],
        Phase::Handshake => vec![Block::Shown(0..hs_end), Block::Folded(hs_end..n)],
        Phase::Close => vec![Block::Folded(0..close_start), Block::Shown(close_start..n)],
        // Neither handshake nor close (picked up mid-stream, still open): the first few
        // segments show what was going on, the rest is folded.
        Phase::HandshakeAndClose if hs_end == 0 && close_start == n => {
            vec![Block::Shown(0..n.min(PREVIEW)), Block::Folded(n.min(PREVIEW)..n)]
        }
        Phase::HandshakeAndClose => {
            vec![Block::Shown(0..hs_end), Block::Folded(hs_end..close_start), Block::Shown(close_start..n)]
        }
    };
    if phase != Phase::All {
        out = out
            .into_iter()
            .flat_map(|b| match b {
                Block::Shown(r) => fold_plain_runs(conn, arrows, r),
                folded => vec![folded],
            })
            .collect();
    }
    out.retain(|b| match b {
        Block::Shown(r) | Block::Folded(r) => !r.is_empty(),
    });
    out
}

/// Longest run of plain segments a phase draws in full.
const PLAIN_RUN: usize = 6;

/// Splits a drawn block so that a long run of plain segments (no SYN, FIN or RST, not resent,
/// changing no state: a close with data still flowing) shows its first and last two around a
/// fold. `--phase all` draws everything.
fn fold_plain_runs(conn: &Connection, arrows: &[Arrow], r: std::ops::Range<usize>) -> Vec<Block> {
    let changes: Vec<FrameNo> = [&conn.endpoints.client, &conn.endpoints.server]
        .iter()
        .flat_map(|e| e.timeline.iter().filter_map(|t| t.frame))
        .collect();
    let plain = |a: &Arrow| {
        a.kind == ArrowKind::Normal && !(a.flags.syn() || a.flags.fin() || a.flags.rst()) && !changes.contains(&a.frame)
    };
    let mut out = Vec::new();
    let mut start = r.start;
    let mut i = r.start;
    while i < r.end {
        if !plain(&arrows[i]) {
            i += 1;
            continue;
        }
        let run_end = (i..r.end).find(|&j| !plain(&arrows[j])).unwrap_or(r.end);
        if run_end - i > PLAIN_RUN {
            out.push(Block::Shown(start..i + 2));
            out.push(Block::Folded(i + 2..run_end - 2));
            start = run_end - 2;
        }
        i = run_end;
    }
    out.push(Block::Shown(start..r.end));
    out
}
