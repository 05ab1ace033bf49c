//! One Zeek connection: both endpoints' coarse states, the history letters and the part of
//! the reassembler that decides content gaps, following TCPSessionAdapter.cc.

use std::net::SocketAddr;

use super::{likely_server_port, syn_then_rst, ConnState, Zeek};
use crate::decode::Segment;

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
/// 1st, 10th, 100th … occurrence. Counted in 32 bits, as Zeek's `Connection` counts them:
/// twelve bytes less per connection, which the flow table touches at every segment.
#[derive(Clone, Debug)]
pub(super) struct Scaled {
    count: u32,
    threshold: u32,
}

impl Default for Scaled {
    fn default() -> Self {
        Scaled { count: 0, threshold: 1 }
    }
}

impl Scaled {
    pub(super) fn hit(&mut self) -> bool {
        self.count = self.count.wrapping_add(1);
        if self.count == self.threshold {
            match self.threshold.checked_mul(10) {
                Some(next) => self.threshold = next,
                None => self.count = 0,
            }
            true
        } else {
            false
        }
    }
}

/// One side as Zeek's TCP_Endpoint sees it. Sequence numbers are unwrapped to i64 so relative
/// numbers never wrap (Zeek counts wraps; same effect). Its address is not kept: the caller
/// has both at hand when a row is logged, and two `SocketAddr`s would add a cache line to
/// what every segment touches.
#[derive(Clone, Debug)]
struct Side {
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
    fn new() -> Side {
        Side {
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
pub(super) struct Timers {
    /// The originator's first SYN: `tcp_attempt_delay`.
    pub(super) attempt: bool,
    /// A complete close: `tcp_close_delay`.
    pub(super) closed: bool,
}

/// One Zeek connection (one conn.log row) being accumulated.
#[derive(Clone, Debug)]
pub(super) struct ZeekConn {
    /// [orig, resp] in Zeek's current notion.
    sides: [Side; 2],
    history: String,
    /// `hist_seen`: low 16 bits for the originator, high 16 for the responder.
    hist_seen: u32,
    /// Zeek's `is_partial`: a side's first packet was not the SYN it should open with.
    partial: bool,
    /// Whether the originator sends in the caller's `forward` direction: a boolean tells a
    /// segment's sender where comparing `SocketAddr`s cost dozens of instructions a segment.
    orig_forward: bool,
}

impl ZeekConn {
    /// Starts a connection at its first segment: its sender is Zeek's originator unless
    /// `TCPAnalyzer::WantConnection` flips it (a connection that does not begin with a pure
    /// SYN whose source port is a likely server port).
    /// `forward`: the direction of `first` in whatever fixed orientation the caller uses for
    /// every segment of the connection.
    pub(super) fn new(first: &Segment, forward: bool) -> ZeekConn {
        let f = first.flags;
        let (sport, dport) = (first.src.port(), first.dst.port());
        let partial = !f.syn() || f.ack();
        // Both plausible servers: flip only a non-SYN towards a higher port.
        let flip = partial && likely_server_port(sport) && (!likely_server_port(dport) || (!f.syn() && sport < dport));
        let mut t = ZeekConn {
            sides: [Side::new(), Side::new()],
            history: String::new(),
            hist_seen: 0,
            partial: false,
            orig_forward: forward,
        };
        if flip {
            t.flip_roles();
        }
        t
    }

    /// `Connection::FlipRoles`: swaps originator and responder and records `^`. The
    /// `hist_seen` bits stay where they are, as in Zeek.
    fn flip_roles(&mut self) {
        self.swap_sides();
        self.history.push('^');
    }

    /// Originator and responder change places, and with them the originator's direction.
    fn swap_sides(&mut self) {
        self.sides.swap(0, 1);
        self.orig_forward = !self.orig_forward;
    }

    /// `Connection::CheckHistory`: records the letter the first time; returns whether it had
    /// been seen before in this direction.
    fn check_history(&mut self, is_orig: bool, mask: u32, code: char) -> bool {
        let (mask, code) = if is_orig { (mask, code) } else { (mask << 16, code.to_ascii_lowercase()) };
        if self.hist_seen & mask == 0 {
            self.hist_seen |= mask;
            self.history.push(code);
            false
        } else {
            true
        }
    }

    fn add_history(&mut self, is_orig: bool, code: char) {
        self.history.push(if is_orig { code } else { code.to_ascii_lowercase() });
    }

    /// Feeds one segment going in direction `forward` (see [`ZeekConn::new`]); returns the
    /// timers it starts.
    pub(super) fn observe(&mut self, seg: &Segment, forward: bool) -> Timers {
        let f = seg.flags;
        let len = i64::from(seg.payload_len);
        // PR #2191 (zeek/zeek): a connection that began with a SYN-ACK and continues with an
        // ACK or data in either direction is flipped, its history rewritten from "H" to "^h".
        if self.history == "H" && !f.syn() && !f.fin() && !f.rst() && (f.ack() || len > 0) {
            self.swap_sides();
            self.history = "^h".to_string();
            let (o, r) = (self.hist_seen & 0xffff, self.hist_seen >> 16);
            self.hist_seen = (o << 16) | r;
        }
        let is_orig = forward == self.orig_forward;
        let (e, p) = if is_orig { (0, 1) } else { (1, 0) };
        if self.sides[e].pkts == 0 {
            // SetPartialStatus: the originator opens with a pure SYN, the responder with a SYN.
            self.partial |= if is_orig { !f.syn() || f.ack() } else { !f.syn() };
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
        // A flip may have moved the sender: find it again.
        let (e, p) = if forward == self.orig_forward { (0, 1) } else { (1, 0) };
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
        self.sides[e].state == St::Reset || self.sides[p].did_close || self.sides[p].state == St::Inactive
    }

    /// `TCPSessionAdapter::AttemptTimer`: an attempt nobody answered is over.
    pub(super) fn attempt_failed(&self) -> bool {
        matches!(self.sides[0].state, St::SynSent | St::SynAckSent) && self.sides[1].state == St::Inactive
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
    fn update_history(&mut self, is_orig: bool, e: usize, f: crate::decode::TcpFlags, rel_seq: i64, len: i64) {
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
                if self.check_history(is_orig, HIST_SYN, code) && self.sides[e].hist_last_syn != rel_seq {
                    self.add_history(is_orig, code);
                }
                self.sides[e].hist_last_syn = rel_seq;
            }
            if f.fin() {
                if self.check_history(is_orig, HIST_FIN, 'F') && self.sides[e].hist_last_fin != rel_seq + len {
                    self.add_history(is_orig, 'F');
                }
                self.sides[e].hist_last_fin = rel_seq + len;
            }
            if f.rst() {
                if self.check_history(is_orig, HIST_RST, 'R') && self.sides[e].hist_last_rst != rel_seq {
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
    fn update_last_seq(&mut self, is_orig: bool, e: usize, past: i64, f: crate::decode::TcpFlags, len: i64) {
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
                if f.syn() && self.sides[e].state == St::Partial && self.sides[p].state == St::Inactive && !f.ack() {
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
    fn update_inactive(&mut self, is_orig: bool, e: usize, p: usize, f: crate::decode::TcpFlags, base: i64, len: i64) {
        // A flip swaps the sides, so the indices follow it.
        let (mut e, mut p) = (e, p);
        if f.syn() {
            if is_orig {
                let s = if f.ack() { St::SynAckSent } else { St::SynSent };
                self.sides[e].set_state(s);
            } else {
                if !f.ack() && self.sides[p].state == St::SynAckSent && base == self.sides[e].start {
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
            if side.pending.is_empty() {
                return;
            }
            // Buffered blocks that now connect are delivered too. In place: rebuilding the
            // list dropped its buffer, and the next block out of order allocated a new one.
            side.pending.sort_unstable();
            let mut reassembled = side.reassembled;
            side.pending.retain(|&(s, t)| {
                let connects = s <= reassembled;
                if connects {
                    reassembled = reassembled.max(t);
                }
                !connects
            });
            side.reassembled = reassembled;
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

    /// The fields conn.log would show when the connection is logged. By value: the history
    /// moves into the row instead of being copied into a new allocation. `ends`: the source and
    /// destination of a segment going in the caller's `forward` direction.
    pub(super) fn finish(self, ends: [SocketAddr; 2]) -> Zeek {
        let conn_state = self.conn_state();
        let [o, r] = &self.sides;
        let [orig, resp] = if self.orig_forward { ends } else { [ends[1], ends[0]] };
        Zeek { conn_state, orig, resp, orig_pkts: o.pkts, resp_pkts: r.pkts, history: self.history }
    }

    /// `conn_state()` in main.zeek.
    fn conn_state(&self) -> ConnState {
        let [o, r] = &self.sides;
        let (os, rs) = (o.state, r.state);
        let (o_inactive, r_inactive) = (o.inactive(), r.inactive());
        if rs == St::Reset {
            if matches!(os, St::SynSent | St::SynAckSent) || (os == St::Reset && o.size() == 0 && r.size() == 0) {
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
