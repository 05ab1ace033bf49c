//! The timeline model: what the analysis found, and the only types the outputs read.
//! Field names and spellings here are the `tcpstate/1` JSON contract (see README).

use std::fmt;
use std::net::SocketAddr;

use serde::Serialize;

use crate::decode::TcpFlags;
use crate::frame::{Duration, FrameNo, Timestamp};
use crate::tcp::seq::SeqNum;
use crate::tcp::state::State;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Role::Client => 0,
            Role::Server => 1,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Server => "server",
        })
    }
}

/// How the roles were decided: from the handshake, or guessed for a connection picked up
/// mid-stream (the endpoint with the lower, usually well-known, port is taken as server).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleBasis {
    /// The client sent the first SYN without ACK.
    Syn,
    /// The capture starts at the SYN,ACK: its sender is the server.
    SynAck,
    /// No handshake seen: the lower port is the server's.
    Port,
}

/// Why an endpoint's timeline starts in the state it does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Initial {
    /// A client before it sends its SYN.
    Closed,
    /// A server with a listening socket.
    Listening,
    /// The server answered the SYN with a RST: nothing was listening.
    NoListener,
    /// The capture began after the handshake.
    MidStream,
}

/// What moved an endpoint into a state. Rendered as the words users read ("sent SYN",
/// "received FIN,ACK", "2MSL timer expired").
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    Initial(Initial),
    Sent(TcpFlags),
    Received(TcpFlags),
    TimeWaitExpired,
    /// A new SYN on the same 4-tuple ended TIME_WAIT early (RFC 9293 §3.10.7.4, RFC 6191).
    Reincarnated,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Initial(Initial::Closed) | Cause::Initial(Initial::Listening) => f.write_str("before first frame"),
            Cause::Initial(Initial::NoListener) => f.write_str("no listener: SYN answered with RST"),
            Cause::Initial(Initial::MidStream) => f.write_str("connection already open when the capture started"),
            Cause::Sent(flags) => write!(f, "sent {flags}"),
            Cause::Received(flags) => write!(f, "received {flags}"),
            Cause::TimeWaitExpired => f.write_str("2MSL timer expired"),
            Cause::Reincarnated => f.write_str("new SYN on the same 4-tuple"),
        }
    }
}

impl Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One entry of an endpoint's timeline: the state it entered, when, and why.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub state: State,
    pub ts: Timestamp,
    /// The frame that showed it; `null` for the state before the first frame and for timers.
    pub frame: Option<FrameNo>,
    pub cause: Cause,
    /// True when no captured segment shows this step directly: it is implied by what the
    /// endpoints did later (a segment lost before the capture point), or the connection was
    /// picked up mid-stream.
    pub inferred: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointTimeline {
    pub timeline: Vec<Transition>,
    #[serde(rename = "final")]
    pub final_state: State,
}

impl EndpointTimeline {
    pub fn states(&self) -> impl Iterator<Item = State> + '_ {
        self.timeline.iter().map(|t| t.state)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    pub client: EndpointTimeline,
    pub server: EndpointTimeline,
}

impl Endpoints {
    pub fn get(&self, role: Role) -> &EndpointTimeline {
        match role {
            Role::Client => &self.client,
            Role::Server => &self.server,
        }
    }
}

/// Per-direction counters: index 0 is client→server, 1 is server→client.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub packets: u64,
    /// TCP payload bytes, as the IP length declares them.
    pub bytes: u64,
}

/// Something worth a user's attention, with the frame that shows it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub frame: FrameNo,
    pub by: Role,
    pub kind: NoteKind,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    SynRetransmitted,
    SynAckRetransmitted,
    FinRetransmitted,
    /// A FIN arrived while its receiver was already in TIME_WAIT: our final ACK was lost.
    FinIntoTimeWait,
    DataAfterFin,
    /// A RST whose sequence number was outside the receiver's window: ignored (RFC 5961).
    RstIgnored,
    /// A later segment proved that an earlier one, though captured, never reached its
    /// receiver (it was lost after the capture point), so the step it caused was taken back.
    StepRetracted,
    /// Segment flags no TCP sends together (SYN+FIN, SYN+RST, no flags at all).
    ImpossibleFlags,
    /// A RST sent after new data came in behind our FIN: the application had closed the
    /// socket, which cannot deliver data any more (RFC 1122 §4.2.2.13).
    ResetForDataAfterClose,
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoteKind::SynRetransmitted => "SYN retransmitted",
            NoteKind::SynAckRetransmitted => "SYN,ACK retransmitted",
            NoteKind::FinRetransmitted => "FIN retransmitted",
            NoteKind::FinIntoTimeWait => "FIN arrived in TIME_WAIT (our last ACK was lost)",
            NoteKind::DataAfterFin => "data sent after FIN",
            NoteKind::RstIgnored => "RST outside the window, ignored",
            NoteKind::StepRetracted => "a segment taken as received had not reached this endpoint (lost, or still in flight): its step was taken back",
            NoteKind::ImpossibleFlags => "impossible flag combination",
            NoteKind::ResetForDataAfterClose => {
                "RST for data that arrived after this endpoint's FIN: its application had closed the socket"
            }
        })
    }
}

/// How the connection ended, in the words of the `analyze` table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ending {
    ClosedByClientFirst,
    ClosedByServerFirst,
    SimultaneousClose,
    /// A RST ended it; `state` is the sender's state when it sent the RST.
    Reset {
        by: Role,
        state: State,
    },
    /// The SYN was answered with a RST.
    Refused,
    UnansweredSyn,
    /// One side sent FIN, the other had not by the end of the capture.
    HalfClosed {
        by: Role,
    },
    StillOpen,
    /// A SYN,ACK answered but the handshake never completed.
    HandshakeIncomplete,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::ClosedByClientFirst => f.write_str("closed by client first"),
            Ending::ClosedByServerFirst => f.write_str("closed by server first"),
            Ending::SimultaneousClose => f.write_str("simultaneous close"),
            Ending::Reset { by, state } => write!(f, "reset by {by} in {state}"),
            Ending::Refused => f.write_str("refused"),
            Ending::UnansweredSyn => f.write_str("unanswered SYN"),
            Ending::HalfClosed { by } => write!(f, "half-closed by {by}"),
            Ending::StillOpen => f.write_str("still open at end of capture"),
            Ending::HandshakeIncomplete => f.write_str("handshake not completed"),
        }
    }
}

/// One segment as the sequence diagrams draw it; recorded only when asked for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentRecord {
    pub frame: FrameNo,
    pub ts: Timestamp,
    pub from: Role,
    pub flags: TcpFlags,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub len: u32,
    /// Sequence space already sent before (a retransmitted SYN, FIN or data).
    pub retransmission: bool,
}

impl Serialize for TcpFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for SeqNum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

/// Serializes a socket address as `10.0.0.1:80` or `[fd00::1]:80`.
fn addr<S: serde::Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// Equal to Wireshark's `tcp.stream` for the same capture.
    pub id: u64,
    #[serde(serialize_with = "addr")]
    pub client: SocketAddr,
    #[serde(serialize_with = "addr")]
    pub server: SocketAddr,
    pub roles: RoleBasis,
    pub first_frame: FrameNo,
    pub last_frame: FrameNo,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration: Duration,
    pub ending: Ending,
    /// [client→server, server→client]
    pub traffic: [Traffic; 2],
    pub endpoints: Endpoints,
    pub notes: Vec<Note>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<SegmentRecord>>,
    /// The same connection in other tools' words (Zeek conn_state/history).
    pub peers: crate::peers::Peers,
}

impl Connection {
    /// Gives the connection the id a single flow table would have: a sharded run numbers
    /// each shard's connections apart and renumbers them when it merges (see `shards`).
    pub(crate) fn renumber(&mut self, id: u64) {
        self.id = id;
        self.peers.wireshark.tcp_stream = id;
    }
}
