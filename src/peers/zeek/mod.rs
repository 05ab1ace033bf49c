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
//! Zeek's timers (5 s attempt, 5 s close delay, 5 min inactivity) can split one of our
//! connections into several conn.log rows: [`ZeekTracker`] keeps them. Not reproduced
//! (README): checksum validation (`C`), gaps from snap-length-cut payload, site options.
//!
//! `conn.rs` is one Zeek connection's state machine and history; this file the public types,
//! the timers and Zeek's port heuristics.

mod conn;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use serde::Serialize;

use crate::decode::Segment;
use crate::frame::{Duration, Timestamp};
use conn::ZeekConn;

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
    /// Starts at the connection's first segment (not yet observed), going in direction
    /// `forward` of whatever fixed orientation the caller gives every segment.
    pub fn new(first: &Segment, forward: bool, ts: Timestamp) -> ZeekTracker {
        ZeekTracker {
            done: Vec::new(),
            cur: ZeekConn::new(first, forward),
            attempt_deadline: None,
            close_deadline: None,
            last_ts: ts,
        }
    }

    /// Feeds one segment seen at `ts`. Zeek runs its timers before the packet: an attempt
    /// still unanswered 5 s after its SYN, a close completed 5 s ago, or 5 min of silence
    /// ends the Zeek connection and this segment opens a new one.
    pub fn observe(&mut self, seg: &Segment, forward: bool, ts: Timestamp) {
        let attempt_over = self.attempt_deadline.is_some_and(|d| d <= ts && self.cur.attempt_failed());
        let removed = self.close_deadline.is_some_and(|d| d <= ts);
        let idle = ts.since(self.last_ts) >= INACTIVITY_TIMEOUT;
        if attempt_over || removed || idle {
            let old = std::mem::replace(&mut self.cur, ZeekConn::new(seg, forward));
            self.done.push(old.finish(if forward { [seg.src, seg.dst] } else { [seg.dst, seg.src] }));
            self.attempt_deadline = None;
            self.close_deadline = None;
        }
        self.last_ts = ts;
        let timers = self.cur.observe(seg, forward);
        if timers.attempt {
            self.attempt_deadline = Some(ts.saturating_add(ATTEMPT_DELAY));
        }
        if timers.closed && self.close_deadline.is_none() {
            self.close_deadline = Some(ts.saturating_add(CLOSE_DELAY));
        }
    }

    /// The conn.log rows, in the order Zeek would log them. `ends`: the source and destination
    /// of a segment going `forward`.
    pub fn finish(mut self, ends: [SocketAddr; 2]) -> Vec<Zeek> {
        self.done.push(self.cur.finish(ends));
        self.done
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` matched against the whole history (zeek/zeek PR #1166).
pub(super) fn syn_then_rst(history: &str) -> bool {
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
pub(super) fn likely_server_port(port: u16) -> bool {
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
