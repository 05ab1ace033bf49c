//! Micro-benchmarks of the per-segment hot path: decoding one frame, one step of the state
//! machine (the diagram's lookup, and one endpoint observing a segment), one connection through
//! the flow table and both endpoint machines, and one finished connection written as JSON.
//! `cargo bench --bench hot_path`.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcpstate::decode::{decode, Segment, TcpFlags, TcpOptions};
use tcpstate::flow::{FlowTable, SegmentLog};
use tcpstate::frame::{Duration, FrameNo, Timestamp};
use tcpstate::output::json::encode;
use tcpstate::tcp::endpoint::{At, Endpoint};
use tcpstate::tcp::machine::{next, Event, Open};
use tcpstate::tcp::seq::SeqNum;
use tcpstate::tcp::state::State;
use tcpstate::timeline::{Connection, Initial};

/// Ethernet + IPv4 + TCP (ACK, 20-byte header with timestamps option), 100 bytes of payload.
fn frame() -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 32 + 100];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(20u16 + 32 + 100).to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let tcp = &mut f[34..66];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&443u16.to_be_bytes());
    tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
    tcp[8..12].copy_from_slice(&2000u32.to_be_bytes());
    tcp[12] = 8 << 4;
    tcp[13] = TcpFlags::ACK;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    tcp[20..32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    f
}

fn seg(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
    Segment {
        src,
        dst,
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags: TcpFlags(flags),
        window: 65535,
        payload_len: len,
        options: TcpOptions::default(),
    }
}

fn benches(c: &mut Criterion) {
    let f = frame();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ethernet_ipv4_tcp", |b| b.iter(|| decode(1, black_box(&f))));
    g.finish();

    // A whole connection: handshake, 20 data segments each way with ACKs, close.
    let (a, b): (SocketAddr, SocketAddr) = ("10.0.0.1:40000".parse().unwrap(), "10.0.0.2:443".parse().unwrap());
    let (s, ak, fi) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::FIN);
    let mut script = vec![seg(a, b, s, 100, 0, 0), seg(b, a, s | ak, 500, 101, 0), seg(a, b, ak, 101, 501, 0)];
    let (mut cs, mut ss) = (101u32, 501u32);
    for _ in 0..20 {
        script.push(seg(a, b, ak, cs, ss, 100));
        cs += 100;
        script.push(seg(b, a, ak, ss, cs, 1400));
        ss += 1400;
    }
    script.extend([seg(a, b, fi | ak, cs, ss, 0), seg(b, a, fi | ak, ss, cs + 1, 0), seg(a, b, ak, cs + 1, ss + 1, 0)]);
    let at =
        |i: usize| At { ts: Timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000), frame: FrameNo(i as u64 + 1) };

    // The machine alone: the diagram's answer for every state and event, and the two endpoint
    // machines stepped through the script without a flow table (each segment is one side's
    // send and the other's receive).
    let mut g = c.benchmark_group("machine");
    g.throughput(Throughput::Elements((State::ALL.len() * Event::ALL.len() * 2) as u64));
    g.bench_function("next_for_every_state_and_event", |b| {
        b.iter(|| {
            let mut moved = 0usize;
            for open in [Open::Active, Open::Passive] {
                for state in State::ALL {
                    for event in Event::ALL {
                        moved += usize::from(next(black_box(state), black_box(event), open).is_some());
                    }
                }
            }
            moved
        })
    });
    g.throughput(Throughput::Elements(script.len() as u64 * 2));
    let steps = |script: &[Segment]| {
        let tw = Duration::from_secs_f64(60.0);
        let mut ends = [
            Endpoint::new(State::Closed, Initial::Closed, at(0).ts, tw),
            Endpoint::new(State::Listen, Initial::Listening, at(0).ts, tw),
        ];
        for (i, sg) in script.iter().enumerate() {
            let from = usize::from(sg.src != a);
            ends[from].on_send(black_box(sg), at(i));
            ends[1 - from].on_receive(black_box(sg), at(i));
        }
        ends.map(|e| e.state())
    };
    // The client closed first: a benchmark of anything else would measure the wrong path.
    assert_eq!(steps(&script), [State::TimeWait, State::Closed]);
    g.bench_function("endpoint_steps_of_one_connection", |bench| bench.iter(|| steps(&script)));
    g.finish();

    let run = |script: &[Segment]| {
        let mut table = FlowTable::new(Duration::from_secs_f64(60.0), SegmentLog::None);
        let mut out: Vec<Connection> = Vec::new();
        for (i, sg) in script.iter().enumerate() {
            table.on_segment(black_box(sg), at(i), &mut out);
        }
        table.finish(Timestamp(1_700_000_001_000_000_000), &mut out);
        out
    };
    let mut g = c.benchmark_group("flow");
    g.throughput(Throughput::Elements(script.len() as u64));
    g.bench_function("segments_of_one_connection", |bench| bench.iter(|| run(&script)));
    g.finish();

    // That connection written as a JSON line, into a buffer reused as the sinks reuse theirs.
    let conn = run(&script).pop().unwrap();
    let mut buf = Vec::new();
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("connection_serde_json", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&conn)).unwrap();
            buf.len()
        })
    });
    g.bench_function("connection_encode", |b| {
        b.iter(|| {
            buf.clear();
            encode::connection(&mut buf, black_box(&conn));
            buf.len()
        })
    });
    g.finish();
}

criterion_group!(hot_path, benches);
criterion_main!(hot_path);
