//! The peers' language: the fields other tools give the same connection, so users can move
//! between tcpstate, Zeek and Wireshark. Wireshark's `tcp.stream` is our connection id (see
//! `crate::flow`) and its `tcp.completeness` comes from [`wireshark::Completeness`]; Zeek's
//! `conn_state` and `history` are computed by [`zeek::ZeekTracker`].

pub mod wireshark;
pub mod zeek;

use std::net::SocketAddr;

use serde::Serialize;

use crate::decode::Segment;
use crate::frame::Timestamp;

/// What the peers would say about one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peers {
    pub wireshark: wireshark::Wireshark,
    /// Zeek's conn.log rows for this connection: one, or more when Zeek's timers split what
    /// Wireshark (and we) keep as one connection.
    pub zeek: Vec<zeek::Zeek>,
}

/// Serializes a socket address as `10.0.0.1:80` or `[fd00::1]:80`.
pub(crate) fn addr<S: serde::Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

/// Everything the peers track, fed once per segment by the flow table.
#[derive(Clone, Debug)]
pub struct PeersTracker {
    zeek: zeek::ZeekTracker,
    completeness: wireshark::Completeness,
}

impl PeersTracker {
    /// Starts at the connection's first segment (which is then observed like every other).
    /// `forward` is a segment's direction in a fixed orientation of the 4-tuple (the flow
    /// table's key), here and in [`PeersTracker::observe`].
    pub fn new(first: &Segment, forward: bool, ts: Timestamp) -> PeersTracker {
        PeersTracker {
            zeek: zeek::ZeekTracker::new(first, forward, ts),
            completeness: wireshark::Completeness::new(first),
        }
    }

    pub fn observe(&mut self, seg: &Segment, forward: bool, ts: Timestamp) {
        self.zeek.observe(seg, forward, ts);
        self.completeness.observe(seg);
    }

    /// The fields of connection `id` (Wireshark's tcp.stream); `ends`: the source and
    /// destination of a segment going `forward`.
    pub fn finish(self, id: u64, ends: [SocketAddr; 2]) -> Peers {
        Peers { wireshark: self.completeness.finish(id), zeek: self.zeek.finish(ends) }
    }
}
