//! The peers' language: the fields other tools give the same connection, so users can move
//! between tcpstate, Zeek and Wireshark. Wireshark's `tcp.stream` is our connection id (see
//! `crate::flow`); Zeek's `conn_state` and `history` are computed by [`zeek::ZeekTracker`].

pub mod zeek;

use std::net::SocketAddr;

use serde::Serialize;

/// What the peers would say about one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peers {
    /// Zeek's conn.log rows for this connection: one, or more when Zeek's timers split what
    /// Wireshark (and we) keep as one connection.
    pub zeek: Vec<zeek::Zeek>,
}

/// Serializes a socket address as `10.0.0.1:80` or `[fd00::1]:80`.
pub(crate) fn addr<S: serde::Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}
