//! The hand-written JSON of a connection (`output::json::encode`) must be byte for byte what
//! serde_json makes of the `Serialize` impls: on every connection of every capture we have,
//! on every value of every enum, and on arbitrary connections.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::PathBuf;

use proptest::prelude::*;

use tcpstate::decode::TcpFlags;
use tcpstate::flow::SegmentLog;
use tcpstate::frame::{Duration, FrameNo, Timestamp};
use tcpstate::output::json::{encode, write_line, DocumentSink};
use tcpstate::peers::wireshark::Wireshark;
use tcpstate::peers::zeek::{ConnState, Zeek};
use tcpstate::peers::Peers;
use tcpstate::tcp::seq::SeqNum;
use tcpstate::tcp::state::State;
use tcpstate::timeline::{
    Cause, Connection, Ending, EndpointTimeline, Endpoints, Initial, Note, NoteKind, Role, RoleBasis, SegmentRecord,
    Traffic, Transition,
};
use tcpstate::{analyze, Options, Report};

use crate::support::every_capture;

/// Where the two differ, with some context from each; `None` when they are equal.
fn mismatch(conn: &Connection) -> Option<String> {
    let want = serde_json::to_vec(conn).unwrap();
    let mut got = Vec::new();
    encode::connection(&mut got, conn);
    if got == want {
        return None;
    }
    let at = got.iter().zip(&want).position(|(g, w)| g != w).unwrap_or(got.len().min(want.len()));
    let around = |b: &[u8]| String::from_utf8_lossy(&b[at.saturating_sub(60)..(at + 60).min(b.len())]).into_owned();
    Some(format!(
        "connection {}: first difference at byte {at}\n  serde: …{}…\n  ours:  …{}…",
        conn.id,
        around(&want),
        around(&got)
    ))
}

#[track_caller]
fn assert_same(conn: &Connection) {
    if let Some(m) = mismatch(conn) {
        panic!("{m}");
    }
}

#[test]
fn every_connection_of_every_capture_encodes_as_serde_does() {
    let captures = every_capture();
    let (mut connections, mut failures) = (0, Vec::new());
    for path in &captures {
        for segments in [SegmentLog::None, SegmentLog::All] {
            let opts = Options { segments: segments.clone(), ..Options::default() };
            let mut conns: Vec<Connection> = Vec::new();
            analyze(std::slice::from_ref(path), &opts, &mut conns)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            connections += conns.len();
            failures
                .extend(conns.iter().filter_map(mismatch).map(|m| format!("{} ({segments:?}): {m}", path.display())));
        }
    }
    assert!(captures.len() >= 100, "expected the fixtures and the 52 public captures, found {}", captures.len());
    assert!(connections > 300, "only {connections} connections");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn ts(secs: i64, nanos: i64) -> Timestamp {
    Timestamp::from_parts(secs, nanos)
}

fn transition(state: State, cause: Cause) -> Transition {
    Transition { state, ts: ts(1_700_000_000, 1), frame: Some(FrameNo(1)), cause, inferred: false }
}

/// A small connection of every kind of field, for the tests to vary one at a time.
fn base() -> Connection {
    let (client, server): (SocketAddr, SocketAddr) =
        ("10.0.0.1:40000".parse().unwrap(), "10.0.0.2:80".parse().unwrap());
    let timeline = |first: Cause| EndpointTimeline {
        timeline: vec![
            Transition { frame: None, ..transition(State::Closed, first) },
            transition(State::SynSent, Cause::Sent(TcpFlags(TcpFlags::SYN))),
        ],
        final_state: State::SynSent,
    };
    Connection {
        id: 7,
        client,
        server,
        roles: RoleBasis::Syn,
        first_frame: FrameNo(1),
        last_frame: FrameNo(2),
        start: ts(1_700_000_000, 1),
        end: ts(1_700_000_000, 20_000_000),
        duration: Duration(19_999_999),
        ending: Ending::Refused,
        traffic: [Traffic { packets: 1, bytes: 0 }, Traffic { packets: 1, bytes: 0 }],
        endpoints: Endpoints {
            client: timeline(Cause::Initial(Initial::Closed)),
            server: timeline(Cause::Initial(Initial::NoListener)),
        },
        notes: vec![Note { frame: FrameNo(2), by: Role::Server, kind: NoteKind::RstIgnored }],
        segments: Some(vec![SegmentRecord {
            frame: FrameNo(1),
            ts: ts(1_700_000_000, 1),
            from: Role::Client,
            flags: TcpFlags(TcpFlags::SYN),
            seq: SeqNum(u32::MAX),
            ack: SeqNum(0),
            len: 0,
            retransmission: false,
        }]),
        peers: Peers {
            wireshark: Wireshark { tcp_stream: 7, completeness: 33 },
            zeek: vec![Zeek {
                conn_state: ConnState::REJ,
                history: "Sr".into(),
                orig: client,
                resp: server,
                orig_pkts: 1,
                resp_pkts: 1,
            }],
        },
    }
}

const ROLES: [Role; 2] = [Role::Client, Role::Server];
const NOTE_KINDS: [NoteKind; 8] = [
    NoteKind::SynRetransmitted,
    NoteKind::SynAckRetransmitted,
    NoteKind::FinRetransmitted,
    NoteKind::FinIntoTimeWait,
    NoteKind::DataAfterFin,
    NoteKind::RstIgnored,
    NoteKind::StepRetracted,
    NoteKind::ImpossibleFlags,
];
const INITIALS: [Initial; 4] = [Initial::Closed, Initial::Listening, Initial::NoListener, Initial::MidStream];

fn causes() -> Vec<Cause> {
    let mut all: Vec<Cause> = INITIALS.into_iter().map(Cause::Initial).collect();
    all.extend((0..=u8::MAX).flat_map(|f| [Cause::Sent(TcpFlags(f)), Cause::Received(TcpFlags(f))]));
    all.extend([Cause::TimeWaitExpired, Cause::Reincarnated]);
    all
}

fn endings() -> Vec<Ending> {
    let mut all = vec![
        Ending::ClosedByClientFirst,
        Ending::ClosedByServerFirst,
        Ending::SimultaneousClose,
        Ending::Refused,
        Ending::UnansweredSyn,
        Ending::StillOpen,
        Ending::HandshakeIncomplete,
    ];
    for by in ROLES {
        all.push(Ending::HalfClosed { by });
        all.extend(State::ALL.map(|state| Ending::Reset { by, state }));
    }
    all
}

#[test]
fn every_cause_flag_state_and_kind_encodes_as_serde_does() {
    let mut c = base();
    assert_same(&c);
    for cause in causes() {
        c.endpoints.client.timeline[1].cause = cause;
        assert_same(&c);
    }
    for f in 0..=u8::MAX {
        c.segments.as_mut().unwrap()[0].flags = TcpFlags(f);
        assert_same(&c);
    }
    for state in State::ALL {
        c.endpoints.server.timeline[0].state = state;
        c.endpoints.server.final_state = state;
        assert_same(&c);
    }
    for ending in endings() {
        c.ending = ending;
        assert_same(&c);
    }
    for (kind, by) in NOTE_KINDS.into_iter().zip(ROLES.into_iter().cycle()) {
        c.notes.push(Note { frame: FrameNo(u64::MAX), by, kind });
        assert_same(&c);
    }
    for conn_state in ConnState::ALL {
        c.peers.zeek[0].conn_state = conn_state;
        assert_same(&c);
    }
    for roles in [RoleBasis::Syn, RoleBasis::SynAck, RoleBasis::Port] {
        c.roles = roles;
        assert_same(&c);
    }
    for (retransmission, inferred) in [(true, true), (false, true), (true, false)] {
        c.segments.as_mut().unwrap()[0].retransmission = retransmission;
        c.endpoints.client.timeline[0].inferred = inferred;
        assert_same(&c);
    }
}

#[test]
fn empty_and_missing_parts_encode_as_serde_does() {
    let mut c = base();
    c.segments = None;
    assert_same(&c);
    c.segments = Some(Vec::new());
    c.notes.clear();
    c.peers.zeek.clear();
    c.endpoints.client.timeline.clear();
    assert_same(&c);
}

#[test]
fn edge_addresses_and_timestamps_encode_as_serde_does() {
    let v6 = |s: &str, port, scope| SocketAddr::V6(SocketAddrV6::new(s.parse().unwrap(), port, 0xabcde, scope));
    let addrs = [
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, u16::MAX)),
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(1, 20, 100, 255), 8)),
        v6("::", 0, 0),
        v6("::1", 80, 0),
        v6("::ffff:10.0.0.1", 443, 0),
        v6("::10.0.0.1", 443, 0),
        v6("64:ff9b::192.0.2.33", 443, 0),
        v6("fe80::1", 22, 3),
        v6("fe80::1:0:0:1", 22, u32::MAX),
        v6("1:0:0:2:0:0:0:3", 1, 0),
        v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", u16::MAX, u32::MAX),
    ];
    let times = [
        i64::MIN,
        i64::MIN + 1,
        -1_000_000_001,
        -1_000_000_000,
        -999_999_999,
        -1,
        0,
        1,
        999_999_999,
        999_999_999_999_999_999,
        1_000_000_000_000_000_000,
        1_700_000_000_000_000_001,
        i64::MAX,
    ];
    let mut c = base();
    for (i, &a) in addrs.iter().enumerate() {
        c.client = a;
        c.peers.zeek[0].resp = addrs[addrs.len() - 1 - i];
        assert_same(&c);
    }
    for &t in &times {
        c.start = Timestamp(t);
        c.duration = Duration(t);
        c.segments.as_mut().unwrap()[0].ts = Timestamp(t);
        assert_same(&c);
    }
    assert_eq!(Timestamp(-1).to_string(), "-1.999999999");
}

#[test]
fn histories_are_escaped_as_serde_does() {
    let mut c = base();
    let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
    for h in ["", "\"", "\\", "a\"b\\c", "\u{0}\u{1f}\u{7f}", "é😀\u{2028}\u{fffd}", every_ascii.as_str()] {
        c.peers.zeek[0].history = h.into();
        assert_same(&c);
    }
}

#[test]
fn lines_and_documents_carry_the_serde_bytes() {
    let conns = [base(), Connection { id: 8, segments: None, ..base() }];
    let serde: Vec<String> = conns.iter().map(|c| serde_json::to_string(c).unwrap()).collect();

    let mut lines = Vec::new();
    for c in &conns {
        write_line(&mut lines, c).unwrap();
    }
    assert_eq!(String::from_utf8(lines).unwrap(), format!("{}\n{}\n", serde[0], serde[1]));

    let mut sink = DocumentSink::begin(Vec::new(), &[PathBuf::from("x.pcap")]).unwrap();
    for c in &conns {
        tcpstate::flow::Sink::connection(&mut sink, c.clone());
    }
    let doc = String::from_utf8(sink.end(&Report::default()).unwrap()).unwrap();
    let want = format!("\"connections\": [\n    {},\n    {}\n  ],\n", serde[0], serde[1]);
    assert!(doc.contains(&want), "{doc}");
    serde_json::from_str::<serde_json::Value>(&doc).unwrap();
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    // Segments drawn mostly from 0 and ffff, so zero runs and the IPv4-mapped form come up.
    let segment = prop_oneof![Just(0u16), Just(0xffff), any::<u16>()];
    let scope = prop_oneof![Just(0u32), any::<u32>()];
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
        (prop::array::uniform8(segment), any::<u16>(), any::<u32>(), scope.clone()).prop_map(
            |(segs, port, flow, scope)| SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(segs), port, flow, scope))
        ),
        (any::<[u8; 4]>(), any::<u16>(), scope).prop_map(|(ip, port, scope)| {
            SocketAddr::V6(SocketAddrV6::new(Ipv4Addr::from(ip).to_ipv6_mapped(), port, 0, scope))
        }),
    ]
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -3_000_000_000i64..3_000_000_000,
        1_600_000_000_000_000_000i64..1_900_000_000_000_000_000,
        Just(i64::MIN),
        Just(i64::MAX),
    ]
}

fn history() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        prop::char::range('A', 'z'),
        Just('"'),
        Just('\\'),
        (0u8..0x20).prop_map(char::from),
        Just('\u{7f}'),
        Just('é'),
        Just('😀'),
        any::<char>(),
    ];
    prop::collection::vec(ch, 0..12).prop_map(String::from_iter)
}

fn cause() -> impl Strategy<Value = Cause> {
    prop::sample::select(causes())
}

fn state() -> impl Strategy<Value = State> {
    prop::sample::select(State::ALL.to_vec())
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(ROLES.to_vec())
}

fn frame() -> impl Strategy<Value = FrameNo> {
    any::<u64>().prop_map(FrameNo)
}

fn endpoint() -> impl Strategy<Value = EndpointTimeline> {
    let transition = (state(), timestamp(), prop::option::of(frame()), cause(), any::<bool>())
        .prop_map(|(state, t, frame, cause, inferred)| Transition { state, ts: Timestamp(t), frame, cause, inferred });
    (prop::collection::vec(transition, 0..5), state())
        .prop_map(|(timeline, final_state)| EndpointTimeline { timeline, final_state })
}

fn segment_record() -> impl Strategy<Value = SegmentRecord> {
    (frame(), timestamp(), role(), any::<u8>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>()).prop_map(
        |(frame, t, from, flags, seq, ack, len, retransmission)| SegmentRecord {
            frame,
            ts: Timestamp(t),
            from,
            flags: TcpFlags(flags),
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            len,
            retransmission,
        },
    )
}

fn zeek() -> impl Strategy<Value = Zeek> {
    (prop::sample::select(ConnState::ALL.to_vec()), history(), addr(), addr(), any::<u64>(), any::<u64>()).prop_map(
        |(conn_state, history, orig, resp, orig_pkts, resp_pkts)| Zeek {
            conn_state,
            history,
            orig,
            resp,
            orig_pkts,
            resp_pkts,
        },
    )
}

fn connection() -> impl Strategy<Value = Connection> {
    let traffic = (any::<u64>(), any::<u64>()).prop_map(|(packets, bytes)| Traffic { packets, bytes });
    let note = (frame(), role(), prop::sample::select(NOTE_KINDS.to_vec())).prop_map(|(frame, by, kind)| Note {
        frame,
        by,
        kind,
    });
    let head = (
        any::<u64>(),
        addr(),
        addr(),
        prop::sample::select(vec![RoleBasis::Syn, RoleBasis::SynAck, RoleBasis::Port]),
        frame(),
        frame(),
        timestamp(),
        timestamp(),
        timestamp(),
        prop::sample::select(endings()),
    );
    let body = (
        [traffic.clone(), traffic],
        endpoint(),
        endpoint(),
        prop::collection::vec(note, 0..4),
        prop::option::of(prop::collection::vec(segment_record(), 0..4)),
        (any::<u64>(), any::<u8>()),
        prop::collection::vec(zeek(), 0..3),
    );
    (head, body).prop_map(
        |(
            (id, client, server, roles, first_frame, last_frame, start, end, duration, ending),
            (traffic, client_timeline, server_timeline, notes, segments, (tcp_stream, completeness), zeek),
        )| Connection {
            id,
            client,
            server,
            roles,
            first_frame,
            last_frame,
            start: Timestamp(start),
            end: Timestamp(end),
            duration: Duration(duration),
            ending,
            traffic,
            endpoints: Endpoints { client: client_timeline, server: server_timeline },
            notes,
            segments,
            peers: Peers { wireshark: Wireshark { tcp_stream, completeness }, zeek },
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_connections_encode_as_serde_does(c in connection()) {
        let m = mismatch(&c);
        prop_assert!(m.is_none(), "{}", m.unwrap_or_default());
    }
}
