//! Zeek's `conn_state` and `history` for one connection, computed the way Zeek computes them
//! (zeek/zeek `src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`, `TCP.cc`,
//! `scripts/base/protocols/conn/main.zeek`; see `../shared/PEERS.md` §1), so a user can move
//! from our timelines to a conn.log row and back.
//!
//! Zeek keeps a coarse state per endpoint (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
//! ESTABLISHED, CLOSED, RESET) and decides `conn_state` from the pair at log time. Its
//! originator is the first packet's sender unless a heuristic flips it; the tracker keeps that
//! notion to itself, because it can differ from our client.
//!
//! What we do not reproduce (documented in the README): Zeek's timers, which split one of our
//! connections into several conn.log rows (5 s attempt timer, inactivity timeout); checksum
//! validation (`C`); VLAN-aware connection keys.

use std::net::SocketAddr;

use serde::Serialize;

use crate::decode::Segment;
use crate::frame::{Duration, Timestamp};

/// Zeek's `conn_state` values (main.zeek `Conn::Info$conn_state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ConnState {
    S0,
    S1,
    SF,
    REJ,
    S2,
    S3,
    RSTO,
    RSTR,
    RSTOS0,
    RSTRH,
    SH,
    SHR,
    OTH,
}

impl ConnState {
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }

    /// Zeek's documented meaning, for tables and tooltips.
    pub fn meaning(self) -> &'static str {
        match self {
            ConnState::S0 => "connection attempt seen, no reply",
            ConnState::S1 => "established, not terminated",
            ConnState::SF => "normal establishment and termination",
            ConnState::REJ => "connection attempt rejected",
            ConnState::S2 => "established, close attempt by originator seen (no reply)",
            ConnState::S3 => "established, close attempt by responder seen (no reply)",
            ConnState::RSTO => "established, originator aborted (sent a RST)",
            ConnState::RSTR => "responder sent a RST",
            ConnState::RSTOS0 => "originator sent a SYN followed by a RST, never saw a SYN-ACK",
            ConnState::RSTRH => "responder sent a SYN-ACK followed by a RST, never saw a SYN",
            ConnState::SH => "originator sent a SYN followed by a FIN, never saw a SYN-ACK",
            ConnState::SHR => "responder sent a SYN-ACK followed by a FIN, never saw a SYN",
            ConnState::OTH => "no SYN seen, just midstream traffic",
        }
    }
}

impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Zeek fields of one connection, as conn.log would show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Zeek {
    pub conn_state: ConnState,
    pub history: String,
    /// Zeek's originator (`id.orig_h`/`id.orig_p`); not always our client.
    #[serde(serialize_with = "crate::peers::addr")]
    pub orig: SocketAddr,
    #[serde(serialize_with = "crate::peers::addr")]
    pub resp: SocketAddr,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
}

/// `TCP_Endpoint::state` (TCP_Endpoint.h).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum St {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Bits of `Connection::hist_seen` for the letters Zeek records once per direction.
const HIST_SYN: u32 = 1 << 0;
const HIST_FIN: u32 = 1 << 1;
const HIST_RST: u32 = 1 << 2;
const HIST_FIN_RST: u32 = 1 << 3;
const HIST_ACK: u32 = 1 << 4;
const HIST_DATA: u32 = 1 << 5;
const HIST_MULTI: u32 = 1 << 6;

/// Zeek's TOO_LARGE_SEQ_DELTA: a SYN or RST jumping further is not trusted as `last_seq`.
const TOO_LARGE_SEQ_DELTA: i64 = 1_048_576;

/// A logarithmic history letter (`Connection::ScaledHistoryEntry`, base 10): recorded at the
/// 1st, 10th, 100th … occurrence.
#[derive(Clone, Debug)]
struct Scaled {
    count: u64,
    threshold: u64,
}

impl Default for Scaled {
    fn default() -> Self {
        Scaled {
            count: 0,
            threshold: 1,
        }
    }
}

impl Scaled {
    fn hit(&mut self) -> bool {
        self.count += 1;
        if self.count == self.threshold {
            self.threshold = self.threshold.saturating_mul(10);
            true
        } else {
            false
        }
    }
}

/// One side as Zeek's TCP_Endpoint sees it. Sequence numbers are unwrapped to i64 so relative
/// numbers never wrap (Zeek counts wraps; same effect).
#[derive(Clone, Debug)]
struct Side {
    addr: SocketAddr,
    state: St,
    prev_state: St,
    start: i64,
    last: i64,
    ack: i64,
    /// Whether `start`/`last` are set (by this side's first segment, or the peer's ACK).
    initialized: bool,
    fin_cnt: u32,
    /// Relative sequence number one past the FIN.
    fin_seq: i64,
    hist_last_syn: i64,
    hist_last_fin: i64,
    hist_last_rst: i64,
    rxmit: Scaled,
    zero_window: Scaled,
    gap: Scaled,
    /// Relative sequence number up to which this side's stream is accounted for (delivered
    /// or declared a gap), and data seen above it: Zeek's reassembler, reduced to the part
    /// that decides `G`.
    reassembled: i64,
    pending: Vec<(i64, i64)>,
    pkts: u64,
    /// `did_close`: this side's FIN or RST has been reported as a close.
    did_close: bool,
}

impl Side {
    fn new(addr: SocketAddr) -> Side {
        Side {
            addr,
            state: St::Inactive,
            prev_state: St::Inactive,
            start: 0,
            last: 0,
            ack: 0,
            initialized: false,
            fin_cnt: 0,
            fin_seq: 0,
            hist_last_syn: 0,
            hist_last_fin: 0,
            hist_last_rst: 0,
            rxmit: Scaled::default(),
            zero_window: Scaled::default(),
            gap: Scaled::default(),
            reassembled: 1,
            pending: Vec::new(),
            pkts: 0,
            did_close: false,
        }
    }

    fn set_state(&mut self, s: St) {
        self.prev_state = self.state;
        self.state = s;
    }

    fn inactive(&self) -> bool {
        matches!(self.state, St::Inactive | St::Partial)
    }

    /// Unwraps a 32-bit sequence number to the i64 nearest this side's last one.
    fn unwrap(&self, raw: u32) -> i64 {
        if !self.initialized {
            return i64::from(raw) + (1 << 32);
        }
        let reference = self.last;
        reference + i64::from(raw.wrapping_sub(reference as u32) as i32)
    }

    fn init(&mut self, start: i64, last: i64) {
        self.start = start;
        self.ack = start;
        self.last = last;
        self.initialized = true;
        self.reassembled = 1;
        self.pending.clear();
    }

    /// `TCP_Endpoint::Size()`: bytes of sequence space used, without SYN and FIN.
    fn size(&self) -> i64 {
        let mut size = self.last.max(self.ack) - self.start;
        if size > 0 {
            size -= 1;
        }
        if self.fin_cnt > 0 && size > 0 {
            size -= 1;
        }
        size
    }
}

/// Timers a segment starts in Zeek.
#[derive(Copy, Clone, Debug)]
struct Timers {
    /// The originator's first SYN: `tcp_attempt_delay`.
    attempt: bool,
    /// A complete close: `tcp_close_delay`.
    closed: bool,
}

/// One Zeek connection (one conn.log row) being accumulated.
#[derive(Clone, Debug)]
struct ZeekConn {
    /// [orig, resp] in Zeek's current notion.
    sides: [Side; 2],
    history: String,
    /// `hist_seen`: low 16 bits for the originator, high 16 for the responder.
    hist_seen: u32,
    /// Zeek's `is_partial`: a side's first packet was not the SYN it should open with.
    partial: bool,
}

impl ZeekConn {
    /// Starts a connection at its first segment: its sender is Zeek's originator unless
    /// `TCPAnalyzer::WantConnection` flips it (a connection that does not begin with a pure
    /// SYN whose source port is a likely server port).
    fn new(first: &Segment) -> ZeekConn {
        let f = first.flags;
        let (sport, dport) = (first.src.port(), first.dst.port());
        let partial = !f.syn() || f.ack();
        // Both plausible servers: flip only a non-SYN towards a higher port.
        let flip = partial
            && likely_server_port(sport)
            && (!likely_server_port(dport) || (!f.syn() && sport < dport));
        let mut t = ZeekConn {
            sides: [Side::new(first.src), Side::new(first.dst)],
            history: String::new(),
            hist_seen: 0,
            partial: false,
        };
        if flip {
            t.flip_roles();
        }
        t
    }

    /// `Connection::FlipRoles`: swaps originator and responder and records `^`. The
    /// `hist_seen` bits stay where they are, as in Zeek.
    fn flip_roles(&mut self) {
        self.sides.swap(0, 1);
        self.history.push('^');
    }

    /// `Connection::CheckHistory`: records the letter the first time; returns whether it had
    /// been seen before in this direction.
    fn check_history(&mut self, is_orig: bool, mask: u32, code: char) -> bool {
        let (mask, code) = if is_orig {
            (mask, code)
        } else {
            (mask << 16, code.to_ascii_lowercase())
        };
        if self.hist_seen & mask == 0 {
            self.hist_seen |= mask;
            self.history.push(code);
            false
        } else {
            true
        }
    }

    fn add_history(&mut self, is_orig: bool, code: char) {
        self.history.push(if is_orig {
            code
        } else {
            code.to_ascii_lowercase()
        });
    }

    /// Feeds one segment; returns the timers it starts.
    fn observe(&mut self, seg: &Segment) -> Timers {
        let f = seg.flags;
        let len = i64::from(seg.payload_len);
        // PR #2191 (zeek/zeek): a connection that began with a SYN-ACK and continues with an
        // ACK or data in either direction is flipped, its history rewritten from "H" to "^h".
        if self.history == "H" && !f.syn() && !f.fin() && !f.rst() && (f.ack() || len > 0) {
            self.sides.swap(0, 1);
            self.history = "^h".to_string();
            let (o, r) = (self.hist_seen & 0xffff, self.hist_seen >> 16);
            self.hist_seen = (o << 16) | r;
        }
        let is_orig = seg.src == self.sides[0].addr;
        let (e, p) = if is_orig { (0, 1) } else { (1, 0) };
        if self.sides[e].pkts == 0 {
            // SetPartialStatus: the originator opens with a pure SYN, the responder with a SYN.
            self.partial |= if is_orig {
                !f.syn() || f.ack()
            } else {
                !f.syn()
            };
        }
        self.sides[e].pkts += 1;

        let seg_len = len + i64::from(f.syn()) + i64::from(f.fin()) - if f.rst() { len } else { 0 };
        let base = self.sides[e].unwrap(seg.seq.0);
        let past = base + seg_len;
        self.init_endpoint(e, f.syn(), base, past);
        let rel_seq = base - self.sides[e].start;

        self.update_history(is_orig, e, f, rel_seq, len);
        // update_window: a zero window is worth a `W` unless RST or the peer has closed.
        if seg.window == 0
            && !f.rst()
            && self.sides[p].state != St::Closed
            && self.sides[e].state != St::Reset
            && self.sides[e].zero_window.hit()
        {
            self.add_history(is_orig, 'W');
        }
        if f.fin() {
            self.sides[e].fin_cnt += 1;
            self.sides[e].fin_seq = rel_seq + seg_len;
        }
        let mut rel_ack = None;
        if f.ack() {
            let ack = self.sides[p].unwrap(seg.ack.0);
            if self.sides[p].state == St::Inactive && !self.sides[p].initialized {
                // init_peer: number the peer as though its SYN had been seen.
                self.sides[p].init(ack - 1, ack - 1);
                rel_ack = Some(1);
            } else {
                rel_ack = Some(ack - self.sides[p].start);
                if !f.rst() && ack > self.sides[p].ack {
                    self.sides[p].ack = ack;
                }
            }
        }
        self.update_last_seq(is_orig, e, past, f, len);
        let attempt = is_orig && f.syn() && self.sides[e].state == St::Inactive;
        let before = self.sides[e].state;
        self.update_state_machine(is_orig, e, p, f, base, len);
        // A flip may have moved the sender: find it again by address.
        let (e, p) = if seg.src == self.sides[0].addr {
            (0, 1)
        } else {
            (1, 0)
        };
        let do_close = match before {
            St::Closed => f.rst() && self.sides[p].state != St::Closed,
            St::Reset => false,
            _ => f.fin() || f.rst(),
        };
        let closed = do_close && self.connection_closed(e, p);
        if let Some(rel_ack) = rel_ack.filter(|_| !f.rst()) {
            self.ack_received(p, rel_ack);
        }
        if len > 0 && !f.rst() {
            let rel_data = if f.syn() { rel_seq + 1 } else { rel_seq };
            self.data_sent(e, rel_data, len);
        }
        Timers { attempt, closed }
    }

    /// `TCPSessionAdapter::ConnectionClosed`: whether the close is complete (this side reset,
    /// or both sides closed, or the peer never spoke), which schedules the connection's
    /// removal `tcp_close_delay` later.
    fn connection_closed(&mut self, e: usize, p: usize) -> bool {
        if self.sides[e].did_close {
            return false;
        }
        self.sides[e].did_close = true;
        self.sides[e].state == St::Reset
            || self.sides[p].did_close
            || self.sides[p].state == St::Inactive
    }

    /// `TCPSessionAdapter::AttemptTimer`: an attempt nobody answered is over.
    fn attempt_failed(&self) -> bool {
        matches!(self.sides[0].state, St::SynSent | St::SynAckSent)
            && self.sides[1].state == St::Inactive
    }

    fn init_endpoint(&mut self, e: usize, syn: bool, base: i64, past: i64) {
        let side = &mut self.sides[e];
        match side.state {
            St::Inactive => {
                if syn {
                    side.init(base, past);
                } else if !side.initialized {
                    side.init(base - 1, base);
                }
            }
            St::SynSent | St::SynAckSent => {
                if syn && base != side.start {
                    side.init(base, past);
                }
            }
            St::Established | St::Partial => {
                if syn {
                    side.init(base, past);
                }
            }
            St::Reset => {
                if syn && side.prev_state == St::Inactive {
                    side.init(base, past);
                }
            }
            St::Closed => {}
        }
    }

    /// `update_history` in TCPSessionAdapter.cc.
    fn update_history(
        &mut self,
        is_orig: bool,
        e: usize,
        f: crate::decode::TcpFlags,
        rel_seq: i64,
        len: i64,
    ) {
        let bits = u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst());
        if bits > 1 {
            if f.fin() && f.rst() {
                self.check_history(is_orig, HIST_FIN_RST, 'I');
            } else {
                self.check_history(is_orig, HIST_MULTI, 'Q');
            }
        } else if bits == 1 {
            // SYN, FIN and RST letters repeat when the sequence number moved (for a FIN: its
            // end) since the last one of that kind.
            if f.syn() {
                let code = if f.ack() { 'H' } else { 'S' };
                if self.check_history(is_orig, HIST_SYN, code)
                    && self.sides[e].hist_last_syn != rel_seq
                {
                    self.add_history(is_orig, code);
                }
                self.sides[e].hist_last_syn = rel_seq;
            }
            if f.fin() {
                if self.check_history(is_orig, HIST_FIN, 'F')
                    && self.sides[e].hist_last_fin != rel_seq + len
                {
                    self.add_history(is_orig, 'F');
                }
                self.sides[e].hist_last_fin = rel_seq + len;
            }
            if f.rst() {
                if self.check_history(is_orig, HIST_RST, 'R')
                    && self.sides[e].hist_last_rst != rel_seq
                {
                    self.add_history(is_orig, 'R');
                }
                self.sides[e].hist_last_rst = rel_seq;
            }
        } else if len > 0 {
            self.check_history(is_orig, HIST_DATA, 'D');
        } else if f.ack() {
            self.check_history(is_orig, HIST_ACK, 'A');
        }
    }

    /// `update_last_seq`: a segment with payload that does not advance the highest sequence
    /// number seen is a retransmission (`T`).
    fn update_last_seq(
        &mut self,
        is_orig: bool,
        e: usize,
        past: i64,
        f: crate::decode::TcpFlags,
        len: i64,
    ) {
        let side = &mut self.sides[e];
        let delta = past - side.last;
        if (f.syn() || f.rst()) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
        } else if f.fin() && side.last == side.start + 1 {
            side.last = past;
        } else if side.state == St::Reset {
        } else if delta > 0 {
            side.last = past;
        } else if len > 0 && side.rxmit.hit() {
            self.add_history(is_orig, 'T');
        }
    }

    /// `UpdateStateMachine` and its per-state helpers, without the weirds.
    fn update_state_machine(
        &mut self,
        is_orig: bool,
        e: usize,
        p: usize,
        f: crate::decode::TcpFlags,
        base: i64,
        len: i64,
    ) {
        match self.sides[e].state {
            St::Inactive => self.update_inactive(is_orig, e, p, f, base, len),
            St::SynSent | St::SynAckSent => {
                if f.fin() {
                    self.sides[e].set_state(St::Closed);
                }
                if f.rst() {
                    self.sides[e].set_state(St::Reset);
                }
            }
            St::Established | St::Partial => {
                if f.syn()
                    && self.sides[e].state == St::Partial
                    && self.sides[p].state == St::Inactive
                    && !f.ack()
                {
                    self.sides[e].set_state(St::SynSent);
                }
                if f.fin() && !f.rst() {
                    self.sides[e].set_state(St::Closed);
                    // A FIN after the peer's FIN-then-RST: that was a normal close.
                    if self.sides[p].state == St::Reset && self.sides[p].prev_state == St::Closed {
                        self.sides[p].set_state(St::Closed);
                    }
                }
                if f.rst() {
                    self.sides[e].set_state(St::Reset);
                }
            }
            St::Closed => {
                // A RST after our FIN counts only if the peer has not closed too.
                if f.rst() && self.sides[p].state != St::Closed {
                    self.sides[e].set_state(St::Reset);
                }
            }
            St::Reset => {}
        }
    }

    /// `UpdateInactiveState`.
    fn update_inactive(
        &mut self,
        is_orig: bool,
        e: usize,
        p: usize,
        f: crate::decode::TcpFlags,
        base: i64,
        len: i64,
    ) {
        // A flip swaps the sides, so the indices follow it.
        let (mut e, mut p) = (e, p);
        if f.syn() {
            if is_orig {
                let s = if f.ack() { St::SynAckSent } else { St::SynSent };
                self.sides[e].set_state(s);
            } else {
                if !f.ack() && self.sides[p].state == St::SynAckSent && base == self.sides[e].start
                {
                    // SYN/SYN-ACK reversal: the SYN-ACK came first. Flip and establish.
                    self.flip_roles();
                    (e, p) = (p, e);
                    self.sides[p].set_state(St::Established);
                }
                if self.sides[p].state == St::SynSent {
                    self.sides[p].set_state(St::Established);
                }
                self.sides[e].set_state(St::Established);
            }
        }
        if f.fin() {
            self.sides[e].set_state(St::Closed);
        }
        if f.rst() {
            self.sides[e].set_state(St::Reset);
        }
        if self.sides[e].state == St::Inactive {
            let orig_syn_sent = self.sides[0].state == St::SynSent;
            if !is_orig && len == 0 && orig_syn_sent {
                // An ACK of the SYN before the SYN-ACK (ftp.microsoft.com): not partial.
            } else if f.ack() && self.sides[p].state == St::Established {
                self.sides[e].set_state(St::Established);
            } else {
                self.sides[e].set_state(St::Partial);
            }
        }
    }

    /// Data from side `e` at relative sequence `rel`: the reassembler's view.
    fn data_sent(&mut self, e: usize, rel: i64, len: i64) {
        let side = &mut self.sides[e];
        let end = rel + len;
        if end <= side.reassembled {
            return;
        }
        if rel <= side.reassembled {
            side.reassembled = end;
            // Buffered blocks that now connect are delivered too.
            side.pending.sort_unstable();
            let mut rest = Vec::new();
            for (s, t) in side.pending.drain(..) {
                if s <= side.reassembled {
                    side.reassembled = side.reassembled.max(t);
                } else {
                    rest.push((s, t));
                }
            }
            side.pending = rest;
        } else if side.pending.len() < 64 {
            side.pending.push((rel, end));
        }
    }

    /// The peer acknowledged side `e`'s stream up to `rel_ack`: sequence space acknowledged but
    /// never seen is a content gap (`G`), except the FIN's own octet and the first ACK of a
    /// connection picked up mid-stream (`TCP_Reassembler::Undelivered`).
    fn ack_received(&mut self, e: usize, rel_ack: i64) {
        let is_orig = e == 0;
        let side = &mut self.sides[e];
        if side.state == St::Inactive {
            // Nothing seen from this side (a one-sided capture): acks of its unseen stream
            // are no gap in Zeek's reassembler, which never started.
            return;
        }
        let mut up_to = rel_ack;
        if side.fin_cnt > 0 && up_to >= side.fin_seq {
            up_to = side.fin_seq - 1;
        }
        if up_to <= side.reassembled {
            return;
        }
        if up_to <= 2 && self.partial {
            // A partial connection's first ACK: Zeek faked the ISN, so this is no real gap.
            side.reassembled = up_to;
            return;
        }
        side.pending.sort_unstable();
        let mut missing = false;
        let mut at = side.reassembled;
        for &(s, t) in &side.pending {
            if s >= up_to {
                break;
            }
            if s > at {
                missing = true;
            }
            at = at.max(t);
        }
        if at < up_to {
            missing = true;
        }
        side.pending.retain(|&(_, t)| t > up_to);
        side.reassembled = up_to;
        if missing && side.gap.hit() {
            self.add_history(is_orig, 'G');
        }
    }

    /// The fields conn.log would show when the connection is logged.
    fn finish(&self) -> Zeek {
        let [o, r] = &self.sides;
        Zeek {
            conn_state: self.conn_state(),
            history: self.history.clone(),
            orig: o.addr,
            resp: r.addr,
            orig_pkts: o.pkts,
            resp_pkts: r.pkts,
        }
    }

    /// `conn_state()` in main.zeek.
    fn conn_state(&self) -> ConnState {
        let [o, r] = &self.sides;
        let (os, rs) = (o.state, r.state);
        let (o_inactive, r_inactive) = (o.inactive(), r.inactive());
        if rs == St::Reset {
            if matches!(os, St::SynSent | St::SynAckSent)
                || (os == St::Reset && o.size() == 0 && r.size() == 0)
            {
                ConnState::REJ
            } else if o_inactive {
                ConnState::RSTRH
            } else {
                ConnState::RSTR
            }
        } else if os == St::Reset {
            if r_inactive {
                if syn_then_rst(&self.history) {
                    ConnState::RSTOS0
                } else {
                    ConnState::OTH
                }
            } else {
                ConnState::RSTO
            }
        } else if rs == St::Closed && os == St::Closed {
            ConnState::SF
        } else if os == St::Closed {
            if r_inactive {
                ConnState::SH
            } else {
                ConnState::S2
            }
        } else if rs == St::Closed {
            if o_inactive {
                ConnState::SHR
            } else {
                ConnState::S3
            }
        } else if os == St::SynSent && rs == St::Inactive {
            ConnState::S0
        } else if os == St::Established && rs == St::Established {
            ConnState::S1
        } else {
            ConnState::OTH
        }
    }
}

/// Zeek's default `tcp_attempt_delay`: an unanswered SYN is logged (S0) this long after it.
const ATTEMPT_DELAY: Duration = Duration(5_000_000_000);
/// Zeek's default `tcp_close_delay`: a connection closed on both sides (or reset) is removed
/// this long after its closing packet; later packets start a new conn.log row.
const CLOSE_DELAY: Duration = Duration(5_000_000_000);
/// Zeek's default `tcp_inactivity_timeout` (5 min): a longer silence ends the connection.
const INACTIVITY_TIMEOUT: Duration = Duration(300_000_000_000);

/// Zeek's view of one of our connections: usually one conn.log row, several when Zeek's timers
/// end a connection that Wireshark's numbering (ours) continues.
#[derive(Clone, Debug)]
pub struct ZeekTracker {
    done: Vec<Zeek>,
    cur: ZeekConn,
    attempt_deadline: Option<Timestamp>,
    close_deadline: Option<Timestamp>,
    last_ts: Timestamp,
}

impl ZeekTracker {
    /// Starts at the connection's first segment (not yet observed).
    pub fn new(first: &Segment, ts: Timestamp) -> ZeekTracker {
        ZeekTracker {
            done: Vec::new(),
            cur: ZeekConn::new(first),
            attempt_deadline: None,
            close_deadline: None,
            last_ts: ts,
        }
    }

    /// Feeds one segment seen at `ts`. Zeek runs its timers before the packet: an attempt
    /// still unanswered 5 s after its SYN, a close completed 5 s ago, or 5 min of silence
    /// ends the Zeek connection and this segment opens a new one.
    pub fn observe(&mut self, seg: &Segment, ts: Timestamp) {
        let attempt_over = self
            .attempt_deadline
            .is_some_and(|d| d <= ts && self.cur.attempt_failed());
        let removed = self.close_deadline.is_some_and(|d| d <= ts);
        let idle = ts.since(self.last_ts) >= INACTIVITY_TIMEOUT;
        if attempt_over || removed || idle {
            let old = std::mem::replace(&mut self.cur, ZeekConn::new(seg));
            self.done.push(old.finish());
            self.attempt_deadline = None;
            self.close_deadline = None;
        }
        self.last_ts = ts;
        let timers = self.cur.observe(seg);
        if timers.attempt {
            self.attempt_deadline = Some(ts.saturating_add(ATTEMPT_DELAY));
        }
        if timers.closed && self.close_deadline.is_none() {
            self.close_deadline = Some(ts.saturating_add(CLOSE_DELAY));
        }
    }

    /// The conn.log rows, in the order Zeek would log them.
    pub fn finish(mut self) -> Vec<Zeek> {
        self.done.push(self.cur.finish());
        self.done
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` matched against the whole history (zeek/zeek PR #1166).
fn syn_then_rst(history: &str) -> bool {
    let h = history.strip_prefix('^').unwrap_or(history);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        if c == 'R' {
            return true;
        }
        if "HAFGIQ".contains(c) {
            return false;
        }
    }
    false
}

/// TCP ports Zeek's base scripts register with `Analyzer::register_for_ports`, which fill
/// `likely_server_ports` (Zeek 7/8 defaults).
fn likely_server_port(port: u16) -> bool {
    matches!(
        port,
        21 | 22
            | 25
            | 53
            | 80
            | 81
            | 88
            | 135
            | 139
            | 143
            | 389
            | 443
            | 445
            | 502
            | 563
            | 585
            | 587
            | 614
            | 631
            | 636
            | 989
            | 990
            | 992
            | 993
            | 995
            | 1080
            | 1434
            | 1883
            | 2811
            | 3128
            | 3268
            | 3306
            | 3389
            | 5222
            | 5223
            | 5269
            | 5432
            | 6379
            | 6666..=6669 | 8000 | 8080 | 8888 | 20000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{TcpFlags, TcpOptions};
    use crate::tcp::seq::SeqNum;

    const C: &str = "10.0.0.1:40000";
    const S: &str = "10.0.0.2:8080";

    /// A segment from `from` to the other address.
    fn seg(from: &str, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
        let to = if from == C { S } else { C };
        Segment {
            src: from.parse().unwrap(),
            dst: to.parse().unwrap(),
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags: TcpFlags(flags),
            window: 1000,
            payload_len: len,
            options: TcpOptions::default(),
        }
    }

    fn run(segs: &[Segment]) -> Vec<Zeek> {
        let mut t = ZeekTracker::new(&segs[0], Timestamp(0));
        for (i, s) in segs.iter().enumerate() {
            t.observe(s, Timestamp(i as i64 * 1_000_000));
        }
        t.finish()
    }

    const SYN: u8 = TcpFlags::SYN;
    const SA: u8 = TcpFlags::SYN | TcpFlags::ACK;
    const A: u8 = TcpFlags::ACK;
    const R: u8 = TcpFlags::RST;

    #[test]
    fn a_repeated_fin_adds_a_letter_only_when_its_sequence_number_moved() {
        let fa = TcpFlags::FIN | TcpFlags::ACK;
        let z = run(&[
            seg(C, SYN, 100, 0, 0),
            seg(S, SA, 500, 101, 0),
            seg(C, A, 101, 501, 0),
            seg(C, fa, 101, 501, 0),
            seg(C, fa, 101, 501, 0),
            seg(C, fa, 105, 501, 0),
        ]);
        assert_eq!(
            (z[0].history.as_str(), z[0].conn_state),
            ("ShAFF", ConnState::S2)
        );
    }

    #[test]
    fn a_syn_with_a_new_isn_rebases_instead_of_adding_a_letter() {
        // init_endpoint re-initialises the sequence space (weird SYN_seq_jump), so the new
        // SYN's relative sequence number is 0 again, like the first one's.
        let z = run(&[seg(C, SYN, 100, 0, 0), seg(C, SYN, 900, 0, 0)]);
        assert_eq!(
            (z[0].history.as_str(), z[0].conn_state),
            ("S", ConnState::S0)
        );
    }

    #[test]
    fn retransmissions_are_logged_at_the_1st_and_10th() {
        let mut segs = vec![
            seg(C, SYN, 100, 0, 0),
            seg(S, SA, 500, 101, 0),
            seg(C, A, 101, 501, 0),
            seg(C, A, 101, 501, 10),
        ];
        segs.extend((0..10).map(|_| seg(C, A, 101, 501, 10)));
        let z = run(&segs);
        assert_eq!(z.len(), 1);
        assert_eq!(z[0].history, "ShADTT");
        assert_eq!(z[0].conn_state, ConnState::S1);
        assert_eq!((z[0].orig_pkts, z[0].resp_pkts), (13, 1));
    }

    #[test]
    fn syn_then_rst_without_answer_is_rstos0_and_a_lone_rst_is_oth() {
        let z = run(&[seg(C, SYN, 100, 0, 0), seg(C, R, 101, 0, 0)]);
        assert_eq!(
            (z[0].history.as_str(), z[0].conn_state),
            ("SR", ConnState::RSTOS0)
        );
        let z = run(&[seg(C, R, 101, 0, 0)]);
        assert_eq!(
            (z[0].history.as_str(), z[0].conn_state),
            ("R", ConnState::OTH)
        );
    }

    #[test]
    fn syn_ack_first_from_a_server_port_is_flipped_at_once() {
        let z = run(&[seg(S, SA, 500, 101, 0), seg(C, A, 101, 501, 0)]);
        // 8080 is a likely server port: Zeek's originator is the client.
        assert_eq!(z[0].history, "^hA");
        assert_eq!(z[0].orig.to_string(), C);
    }

    #[test]
    fn rstos0_pattern_matches_zeeks_regex() {
        assert!(syn_then_rst("SR"));
        assert!(syn_then_rst("SaR"));
        assert!(syn_then_rst("^SdR"));
        assert!(!syn_then_rst("SaFR"));
        assert!(!syn_then_rst("R"));
        // Case matters: the responder's `h` is not excluded, the originator's `H` is.
        assert!(syn_then_rst("ShR"));
        assert!(!syn_then_rst("SHR"));
    }

    #[test]
    fn scaled_letters_fire_at_1_10_100() {
        let mut s = Scaled::default();
        let at: Vec<u64> = (1..=150u64).filter(|_| s.hit()).collect();
        assert_eq!(at, vec![1, 10, 100]);
    }

    #[test]
    fn every_conn_state_has_a_meaning() {
        for c in ConnState::ALL {
            assert!(!c.meaning().is_empty(), "{c}");
        }
    }
}
