//! Property tests: random segment sequences through the flow table and both endpoint
//! machines, and random bytes through the reader and decoder. Nothing may panic; every
//! recorded transition must be an arc of `tcp::machine::next` (retracted steps are removed
//! from the timeline, inferred ones are arcs too); every segment lands in one connection;
//! every frame is counted once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use proptest::prelude::*;

use tcpstate::decode::{Segment, TcpFlags, TcpOptions};
use tcpstate::flow::{FlowTable, SegmentLog};
use tcpstate::frame::{Duration, FrameNo, Timestamp};
use tcpstate::tcp::endpoint::At;
use tcpstate::tcp::machine::{next, Event, Open};
use tcpstate::tcp::seq::SeqNum;
use tcpstate::tcp::state::State;
use tcpstate::timeline::{Connection, EndpointTimeline};
use tcpstate::{analyze_reader, Options};

use crate::capture_formats::fixtures;

fn is_arc(from: State, to: State) -> bool {
    Event::ALL.iter().any(|&e| [Open::Active, Open::Passive].iter().any(|&o| next(from, e, o) == Some(to)))
}

/// `in_order`: the segments were fed in time order, so the timeline must be too (a capture
/// whose timestamps go back keeps file order, and so do its timelines).
fn check_timeline(t: &EndpointTimeline, in_order: bool) -> Result<(), TestCaseError> {
    prop_assert!(!t.timeline.is_empty());
    for pair in t.timeline.windows(2) {
        prop_assert!(
            is_arc(pair[0].state, pair[1].state),
            "{} -> {} is no arc of the machine: {:?}",
            pair[0].state,
            pair[1].state,
            t.timeline
        );
        prop_assert!(!in_order || pair[0].ts <= pair[1].ts, "time goes back: {:?}", t.timeline);
    }
    prop_assert_eq!(t.timeline.last().map(|x| x.state), Some(t.final_state));
    Ok(())
}

/// Two hosts, two ports each: random segments collide on the same 4-tuples often.
fn endpoint() -> impl Strategy<Value = SocketAddr> {
    (0u8..2, 0u16..2)
        .prop_map(|(h, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, h + 1)), [80, 40000][p as usize]))
}

/// Sequence numbers near a few bases, some at the wrap-around, so ACKs often match.
fn seq() -> impl Strategy<Value = u32> {
    (prop::sample::select(vec![0u32, 1000, 5000, u32::MAX - 2]), 0u32..4).prop_map(|(b, d)| b.wrapping_add(d))
}

fn segment() -> impl Strategy<Value = (Segment, i64)> {
    (
        endpoint(),
        endpoint(),
        any::<u8>(),
        seq(),
        seq(),
        0u32..3,
        // Gaps up to 90 s: TIME_WAIT (60 s) expires now and then.
        prop::sample::select(vec![0i64, 1, 1_000_000, 30_000_000_000, 90_000_000_000]),
    )
        .prop_filter("a segment needs two distinct endpoints", |(a, b, ..)| a != b)
        .prop_map(|(src, dst, flags, seq, ack, len, gap)| {
            (
                Segment {
                    src,
                    dst,
                    seq: SeqNum(seq),
                    ack: SeqNum(ack),
                    flags: TcpFlags(flags),
                    window: 1000,
                    payload_len: len,
                    options: TcpOptions::default(),
                },
                gap,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_segments_give_only_arcs_of_the_machine(segs in prop::collection::vec(segment(), 1..40)) {
        let mut table = FlowTable::new(Duration::from_secs_f64(60.0), SegmentLog::All);
        let mut conns: Vec<Connection> = Vec::new();
        let mut ts = Timestamp(1_700_000_000_000_000_000);
        for (i, (seg, gap)) in segs.iter().enumerate() {
            ts = Timestamp(ts.0 + gap);
            table.on_segment(seg, At { ts, frame: FrameNo(i as u64 + 1) }, &mut conns);
        }
        let late = table.late_segments;
        table.finish(ts, &mut conns);
        let mut frames: Vec<u64> = Vec::new();
        for c in &conns {
            check_timeline(&c.endpoints.client, true)?;
            check_timeline(&c.endpoints.server, true)?;
            frames.extend(c.segments.iter().flatten().map(|s| s.frame.0));
        }
        frames.sort_unstable();
        // Every segment is logged by its connection, or counted as late (its connection was
        // already delivered).
        prop_assert_eq!(frames.len() as u64 + late, segs.len() as u64);
    }

}

proptest! {
    #[test]
    fn random_bytes_after_a_capture_header_never_panic(tail in prop::collection::vec(any::<u8>(), 0..600), ng in any::<bool>()) {
        let name = if ng { "sections.pcapng" } else { "ethernet.pcap" };
        let mut bytes = std::fs::read(fixtures().join(name)).unwrap();
        bytes.truncate(if ng { 76 } else { 24 });
        bytes.extend_from_slice(&tail);
        check_reader(bytes)?;
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..6,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let name = ["ethernet.pcap", "interfaces-be.pcapng", "sections.pcapng", "obsolete-packets.pcapng", "fragments-snaplen.pcap", "qinq.pcap"][which];
        let mut bytes = std::fs::read(fixtures().join(name)).unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        check_reader(bytes)?;
    }
}

fn check_reader(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let opts = Options { segments: SegmentLog::All, ..Options::default() };
    let mut conns: Vec<Connection> = Vec::new();
    let input = Box::new(std::io::Cursor::new(bytes));
    if let Ok(report) = analyze_reader(Path::new("mutant"), input, &opts, &mut conns) {
        let skipped: u64 = report.frames.skipped.values().sum();
        prop_assert_eq!(report.frames.total, report.frames.tcp + skipped);
        let logged: usize = conns.iter().map(|c| c.segments.as_ref().map_or(0, Vec::len)).sum();
        prop_assert_eq!(logged as u64 + report.late_segments, report.frames.tcp);
        for c in &conns {
            check_timeline(&c.endpoints.client, false)?;
            check_timeline(&c.endpoints.server, false)?;
        }
    }
    Ok(())
}
