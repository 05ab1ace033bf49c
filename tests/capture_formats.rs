//! Every capture format and link type we promise to read, crafted with the test writer and
//! committed under `fixtures/formats/` (so Wireshark can open the same bytes). The first test
//! regenerates each fixture and fails if the committed file differs (`TCPSTATE_BLESS=1`
//! rewrites them on purpose); the others analyze the committed files and assert connections,
//! states, frame numbers and timestamps.

use std::path::{Path, PathBuf};

use tcpstate::flow::SegmentLog;
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options, Report};

use crate::pcapwriter::{addr, BlockKind, Capture, Ext, Iface, Link, Pcap, Seg, START_NS};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/formats")
}

/// A whole connection between `client` and `server` ("addr:port"): handshake, 100 bytes
/// each way, client closes first; 8 segments, timestamps left to the capture (1 ms apart).
pub fn conversation(client: &str, server: &str) -> Vec<Seg> {
    let (c, s) = (addr(client), addr(server));
    vec![
        Seg::syn(c, s).seq(1000),
        Seg::syn_ack(s, c).seq(5000).ack_no(1001),
        Seg::ack(c, s).seq(1001).ack_no(5001),
        Seg::ack(c, s).seq(1001).ack_no(5001).payload(100),
        Seg::ack(s, c).seq(5001).ack_no(1101).payload(100),
        Seg::fin(c, s).seq(1101).ack_no(5101),
        Seg::fin(s, c).seq(5101).ack_no(1102),
        Seg::ack(c, s).seq(1102).ack_no(5102),
    ]
}

const V4: (&str, &str) = ("10.0.0.1:40000", "10.0.0.2:80");
const V6: (&str, &str) = ("[2001:db8::1]:40000", "[2001:db8::2]:443");

fn v4() -> Vec<Seg> {
    conversation(V4.0, V4.1)
}

fn v6() -> Vec<Seg> {
    conversation(V6.0, V6.1)
}

/// Each fixture: file name and its bytes.
fn generate() -> Vec<(&'static str, Vec<u8>)> {
    let le = Pcap::default();
    let pcap = |link: Link, segs: Vec<Seg>| Capture::new().link(link).segments(segs).pcap(le);
    let mut out = vec![
        ("ethernet.pcap", pcap(Link::Ethernet, v4())),
        ("vlan.pcap", pcap(Link::Vlan(vec![42]), v4())),
        ("qinq.pcap", pcap(Link::Vlan(vec![100, 42]), v6())),
        ("sll.pcap", pcap(Link::Sll, v4())),
        ("sll2.pcap", pcap(Link::Sll2, v6())),
        ("null.pcap", pcap(Link::Null, v4())),
        ("loop.pcap", pcap(Link::Loop, v6())),
        ("raw.pcap", pcap(Link::Raw, v6())),
        ("ipv4.pcap", pcap(Link::Ipv4, v4())),
        ("ipv6.pcap", pcap(Link::Ipv6, v6())),
        (
            "be-nsec.pcap",
            Capture::new()
                .segments(
                    v4().into_iter()
                        .enumerate()
                        .map(|(i, s)| s.at_ns(START_NS + 123_456_789 + i as i64 * 1_000_000_001)),
                )
                .pcap(Pcap { big_endian: true, nanos: true, snaplen: 0 }),
        ),
    ];
    // Three interfaces, three link types, three time resolutions; one negative offset.
    let ifaces = Capture::new()
        .interface(Iface::new(Link::Ethernet).tsresol(9))
        .segments(conversation("10.0.0.1:40001", "10.0.0.2:80"))
        .interface(Iface::new(Link::Sll2).tsresol(0x80 | 20))
        .segments(conversation("10.0.1.1:40002", "10.0.1.2:80"))
        .interface(Iface::new(Link::Raw).tsresol(3).tsoffset(-3600))
        .segments(
            conversation("[2001:db8::1]:40003", "[2001:db8::2]:80")
                .into_iter()
                .enumerate()
                .map(|(i, s)| s.at_ns(START_NS + 3_600_000_000_000 + i as i64 * 500_000_000)),
        );
    out.push(("interfaces.pcapng", ifaces.pcapng(false)));
    out.push(("interfaces-be.pcapng", ifaces.pcapng(true)));
    // One connection across two sections of opposite byte order, with blocks to skip:
    // name resolution (4), interface statistics (5), custom (0xBAD), unknown (0x1234).
    let segs = v4();
    let (first, second) = segs.split_at(4);
    let sections = Capture::new()
        .section(true)
        .block(4, vec![0, 0, 0, 0])
        .segments(first.to_vec())
        .block(5, vec![0; 12])
        .section(false)
        .block(0xBAD, vec![0, 0, 0x7e, 0xd9, 1, 2, 3, 4])
        .segments(second.to_vec())
        .block(0x1234, vec![9; 7]);
    out.push(("sections.pcapng", sections.pcapng(true)));
    out.push((
        "simple-packets.pcapng",
        Capture::new()
            .segments(v4().into_iter().take(3))
            .blocks(BlockKind::Simple)
            .segments(v4().into_iter().skip(3))
            .pcapng(false),
    ));
    out.push(("obsolete-packets.pcapng", Capture::new().blocks(BlockKind::Obsolete).segments(v6()).pcapng(false)));
    // IPv6 extension headers before TCP; an atomic fragment header (offset 0, no more
    // fragments) is a whole packet.
    let exts = v6().into_iter().enumerate().map(|(i, s)| match i % 4 {
        0 => s.ext(Ext::HopByHop),
        1 => s.ext(Ext::DestOpts).ext(Ext::Routing),
        2 => s.ext(Ext::Fragment { offset: 0, more: false }),
        _ => s,
    });
    out.push(("ipv6-ext.pcap", Capture::new().segments(exts).pcap(le)));
    // Fragments of both IP versions are skipped; frames cut by a snap length keep their
    // fixed TCP header (the SYN's MSS option is cut off), or are skipped when even that is
    // cut.
    let (c, s) = (addr(V4.0), addr(V4.1));
    let (c6, s6) = (addr(V6.0), addr(V6.1));
    let mut cut = v4();
    cut[0] = cut[0].clone().snap(14 + 20 + 20 + 2);
    cut[4] = cut[4].clone().snap(14 + 20 + 20);
    let fragments = Capture::new()
        .segment(Seg::ack(c, s).seq(1).payload(1400).fragment(0, true))
        .segment(Seg::ack(c, s).seq(1).payload(8).fragment(175, false))
        .segment(Seg::ack(c6, s6).seq(1).payload(8).ext(Ext::Fragment { offset: 10, more: false }))
        .segments(cut)
        .segment(Seg::ack(c, s).seq(1102).ack_no(5102).snap(14 + 20 + 19));
    out.push(("fragments-snaplen.pcap", fragments.pcap(le)));
    // Two link types we do not decode (USER0, 802.11): one warning each, not one per frame.
    out.push((
        "unsupported-link.pcapng",
        Capture::new()
            .interface(Iface::new(Link::Other(147)))
            .frame(None, vec![1, 2, 3, 4])
            .frame(None, vec![5, 6, 7, 8])
            .interface(Iface::new(Link::Other(105)))
            .frame(None, vec![0; 24])
            .interface(Iface::new(Link::Ethernet))
            .segments(v4())
            .pcapng(false),
    ));
    // A capture rotated into two files (mergecap's case): the connection continues in the
    // second file, and the files interleave in time.
    let segs = v4();
    let rotated_a: Vec<Seg> = segs.iter().step_by(2).cloned().collect();
    let rotated_b: Vec<Seg> = segs.iter().skip(1).step_by(2).cloned().collect();
    let timed = |segs: Vec<Seg>, odd: i64| -> Vec<Seg> {
        segs.into_iter().enumerate().map(|(i, s)| s.at_ns(START_NS + (2 * i as i64 + odd) * 1_000_000)).collect()
    };
    out.push(("rotated-1.pcap", Capture::new().segments(timed(rotated_a, 0)).pcap(le)));
    out.push(("rotated-2.pcapng", Capture::new().segments(timed(rotated_b, 1)).pcapng(false)));
    out
}

#[test]
fn committed_fixtures_equal_what_the_writer_makes() {
    let bless = std::env::var_os("TCPSTATE_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, bytes) in generate() {
        let path = fixtures().join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "fixtures missing or different from the writer's output (rerun with TCPSTATE_BLESS=1 and review): {stale:?}"
    );
}

fn run(names: &[&str]) -> (Report, Vec<Connection>) {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixtures().join(n)).collect();
    let opts = Options { segments: SegmentLog::All, ..Options::default() };
    let mut conns = Vec::new();
    let report = analyze(&paths, &opts, &mut conns).unwrap_or_else(|e| panic!("{e}"));
    conns.sort_by_key(|c| c.id);
    (report, conns)
}

/// One line per connection: addresses, ending, final states, segment count.
fn summary(c: &Connection) -> String {
    format!(
        "{} {} -> {} {}; client {} server {}; {} segments",
        c.id,
        c.client,
        c.server,
        c.ending,
        c.endpoints.client.final_state,
        c.endpoints.server.final_state,
        c.segments.as_ref().map_or(0, Vec::len),
    )
}

fn summaries(conns: &[Connection]) -> Vec<String> {
    conns.iter().map(summary).collect()
}

fn closed(id: u64, (c, s): (&str, &str)) -> String {
    format!("{id} {c} -> {s} closed by client first; client TIME_WAIT server CLOSED; 8 segments")
}

#[test]
fn every_link_type_yields_the_whole_conversation() {
    for (file, addrs) in [
        ("ethernet.pcap", V4),
        ("vlan.pcap", V4),
        ("qinq.pcap", V6),
        ("sll.pcap", V4),
        ("sll2.pcap", V6),
        ("null.pcap", V4),
        ("loop.pcap", V6),
        ("raw.pcap", V6),
        ("ipv4.pcap", V4),
        ("ipv6.pcap", V6),
        ("ipv6-ext.pcap", V6),
        ("obsolete-packets.pcapng", V6),
    ] {
        let (report, conns) = run(&[file]);
        assert_eq!(summaries(&conns), [closed(0, addrs)], "{file}");
        assert_eq!((report.frames.total, report.frames.tcp), (8, 8), "{file}");
        assert!(report.warnings.is_empty(), "{file}: {:?}", report.warnings);
    }
}

#[test]
fn big_endian_nanosecond_pcap_keeps_every_nanosecond() {
    let (_, conns) = run(&["be-nsec.pcap"]);
    assert_eq!(summaries(&conns), [closed(0, V4)]);
    let segs = conns[0].segments.as_ref().unwrap();
    assert_eq!(segs[0].ts.to_string(), "1700000000.123456789");
    assert_eq!(segs[7].ts.to_string(), "1700000007.123456796");
}

#[test]
fn pcapng_interfaces_keep_their_link_type_resolution_and_offset() {
    for file in ["interfaces.pcapng", "interfaces-be.pcapng"] {
        let (report, conns) = run(&[file]);
        assert_eq!(
            summaries(&conns),
            [
                // An hour later (the third interface) their TIME_WAIT is long over.
                closed(0, ("10.0.0.1:40001", "10.0.0.2:80")).replace("TIME_WAIT", "CLOSED"),
                closed(1, ("10.0.1.1:40002", "10.0.1.2:80")).replace("TIME_WAIT", "CLOSED"),
                closed(2, ("[2001:db8::1]:40003", "[2001:db8::2]:80")),
            ],
            "{file}"
        );
        assert_eq!(report.frames.total, 24);
        // Interface 0: nanoseconds; interface 1: 2^-20 s units (8 ms is 8388.608 units,
        // written as 8388; tshark 4.0 shows the same 0.007999420); interface 2:
        // milliseconds counted from an hour later, if_tsoffset -3600 putting them back.
        let start = |i: usize| conns[i].segments.as_ref().unwrap()[0].ts.to_string();
        assert_eq!(start(0), "1700000000.000000000", "{file}");
        assert_eq!(start(1), "1700000000.007999420", "{file}");
        assert_eq!(start(2), "1700003600.000000000", "{file}");
        let third = conns[2].segments.as_ref().unwrap();
        assert_eq!(third[7].ts.to_string(), "1700003603.500000000", "{file}");
        // Frames are numbered over the whole file, like Wireshark.
        assert_eq!(conns[1].first_frame.0, 9, "{file}");
        assert_eq!(conns[2].last_frame.0, 24, "{file}");
    }
}

#[test]
fn one_connection_spans_sections_of_both_byte_orders_and_skips_other_blocks() {
    let (report, conns) = run(&["sections.pcapng"]);
    assert_eq!(summaries(&conns), [closed(0, V4)]);
    assert_eq!((report.frames.total, report.frames.tcp), (8, 8));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn simple_packet_blocks_borrow_the_previous_timestamp() {
    let (report, conns) = run(&["simple-packets.pcapng"]);
    assert_eq!(summaries(&conns), [closed(0, V4)]);
    assert_eq!(report.frames.total, 8);
    let ts: Vec<String> = conns[0].segments.as_ref().unwrap().iter().map(|s| s.ts.to_string()).collect();
    // Frames 1-3 are Enhanced (1 ms apart); 4-8 are Simple and carry frame 3's time.
    assert_eq!(ts[2], "1700000000.002000000");
    assert!(ts[3..].iter().all(|t| t == &ts[2]), "{ts:?}");
}

#[test]
fn fragments_are_skipped_and_snapped_frames_keep_their_tcp_header() {
    let (report, conns) = run(&["fragments-snaplen.pcap"]);
    assert_eq!(report.frames.total, 12);
    assert_eq!(report.frames.tcp, 8);
    assert_eq!(report.frames.skipped.get("ip_fragment"), Some(&3));
    assert_eq!(report.frames.skipped.get("truncated"), Some(&1));
    // The cut SYN still opened the connection; the cut data segment still counts its
    // 100 bytes, as the IP header declares them.
    assert_eq!(summaries(&conns), [closed(0, V4)]);
    assert_eq!(conns[0].traffic[1].bytes, 100);
}

#[test]
fn unsupported_link_types_are_reported_once_each_by_name_and_number() {
    let (report, conns) = run(&["unsupported-link.pcapng"]);
    assert_eq!(summaries(&conns), [closed(0, V4)]);
    assert_eq!(report.frames.skipped.get("unsupported_link_type"), Some(&3));
    assert_eq!(report.frames.total, 11);
    let path = fixtures().join("unsupported-link.pcapng");
    assert_eq!(
        report.warnings,
        [
            format!(
                "{}: frame 1 (byte offset 88): link type USER (147) is not supported; its frames are skipped",
                path.display()
            ),
            format!(
                "{}: frame 3 (byte offset 160): link type IEEE802_11 (105) is not supported; its frames are skipped",
                path.display()
            ),
        ]
    );
}

#[test]
fn rotated_files_merge_into_one_connection_numbered_in_time_order() {
    let (report, conns) = run(&["rotated-1.pcap", "rotated-2.pcapng"]);
    assert_eq!(summaries(&conns), [closed(0, V4)]);
    assert_eq!(report.frames.total, 8);
    let frames: Vec<u64> = conns[0].segments.as_ref().unwrap().iter().map(|s| s.frame.0).collect();
    assert_eq!(frames, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn merged_inputs_lend_each_frame_its_own_bytes_across_buffer_refills() {
    // Two inputs of some 3 MiB each, frames alternating between them: each input refills its
    // 1 MiB read buffer while the other's next frame waits, unconsumed, in its own buffer.
    let bytes = |input: usize, k: usize| -> Vec<u8> {
        (0..60 + k * 37 % 2900).map(|i| (k * 7 + i + input * 101) as u8).collect()
    };
    let frames = 2000;
    let write = |input: usize| {
        (0..frames)
            .fold(Capture::new(), |c, k| c.frame(Some(START_NS + (2 * k + input) as i64 * 1_000_000), bytes(input, k)))
    };
    let inputs = [write(0).pcap(Pcap::default()), write(1).pcapng(false)]
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let name = PathBuf::from(format!("input-{i}"));
            tcpstate::capture::Input::from_reader(&name, Box::new(std::io::Cursor::new(b))).unwrap()
        })
        .collect();
    let mut cap = tcpstate::capture::Capture::from_inputs(inputs);
    let mut seen = 0;
    while let Some((frame, data)) = cap.next_frame() {
        let k = frame.no_in_input.0 as usize - 1;
        assert_eq!((frame.input, k), (seen % 2, seen / 2), "frame {}", frame.no.0);
        assert_eq!(data, bytes(frame.input, k), "frame {} ({} of input {})", frame.no.0, k + 1, frame.input);
        assert_eq!(frame.orig_len as usize, data.len());
        seen += 1;
        assert_eq!(frame.no.0, seen as u64);
    }
    assert_eq!(seen, 2 * frames);
    assert!(cap.warnings.is_empty(), "{:?}", cap.warnings);
}

#[test]
fn compressed_captures_are_recognised_by_content() {
    // Made with `gzip -n -c ethernet.pcap > ethernet.pcap.gz` and `zstd -19 -c ... >
    // ethernet.bin`: the name says nothing about the format.
    let (plain, conns) = run(&["ethernet.pcap"]);
    for file in ["ethernet.pcap.gz", "ethernet.bin"] {
        let (report, got) = run(&[file]);
        assert_eq!(got, conns, "{file}");
        assert_eq!(report.frames, plain.frames, "{file}");
    }
}

#[test]
fn modified_pcap_format_with_its_longer_record_headers_is_read() {
    // Alexey Kuznetsov's patched libpcap (magic a1b2cd34) adds interface index, protocol,
    // packet type and padding: 8 more bytes per record header.
    let plain = std::fs::read(fixtures().join("ethernet.pcap")).unwrap();
    let mut modified = plain[..24].to_vec();
    modified[..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    let mut at = 24;
    while at < plain.len() {
        let caplen = u32::from_le_bytes(plain[at + 8..at + 12].try_into().unwrap()) as usize;
        modified.extend_from_slice(&plain[at..at + 16]);
        modified.extend_from_slice(&[2, 0, 0, 0, 0x08, 0x00, 0, 0]);
        modified.extend_from_slice(&plain[at + 16..at + 16 + caplen]);
        at += 16 + caplen;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("modified.pcap");
    std::fs::write(&path, modified).unwrap();
    let opts = Options::default();
    let mut conns: Vec<Connection> = Vec::new();
    let report = analyze(&[path], &opts, &mut conns).unwrap();
    assert_eq!((report.frames.total, report.frames.tcp), (8, 8));
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].ending.to_string(), "closed by client first");
}

/// Real recordings of one loopback conversation (client sends 40 bytes, server answers 40,
/// client closes first): `tcpdump -i any` (SLL2), `tcpdump -i any -y LINUX_SLL`,
/// `tcpdump -i lo` (Ethernet) and `dumpcap -i lo` (pcapng with an interface statistics
/// block, IPv6). tshark 4.0 counts 11 frames and one TCP conversation in each.
#[test]
fn recorded_captures_of_every_kind_read_like_tshark() {
    for (file, client, server) in [
        ("recorded-any-sll2.pcap", "127.0.0.1:54746", "127.0.0.1:47001"),
        ("recorded-any-sll1.pcap", "127.0.0.1:43406", "127.0.0.1:47004"),
        ("recorded-lo.pcap", "127.0.0.1:36682", "127.0.0.1:47002"),
        ("recorded-lo-dumpcap.pcapng", "[::1]:48414", "[::1]:47003"),
    ] {
        let (report, conns) = run(&[file]);
        assert_eq!((report.frames.total, report.frames.tcp), (11, 11), "{file}");
        assert!(report.warnings.is_empty(), "{file}: {:?}", report.warnings);
        assert_eq!(
            summaries(&conns),
            [format!("0 {client} -> {server} closed by client first; client TIME_WAIT server CLOSED; 11 segments")],
            "{file}"
        );
        assert_eq!(conns[0].traffic[0].bytes, 40, "{file}");
        assert_eq!(conns[0].traffic[1].bytes, 40, "{file}");
    }
}

#[test]
fn pcap_link_type_with_fcs_bits_is_still_ethernet() {
    let mut bytes = std::fs::read(fixtures().join("ethernet.pcap")).unwrap();
    // "Frames carry a 4-byte FCS" (bits 28-31 = 2, bit 26 set) over LINKTYPE_ETHERNET.
    bytes[20..24].copy_from_slice(&0x2400_0001u32.to_le_bytes());
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fcs-bits.pcap");
    std::fs::write(&path, bytes).unwrap();
    let mut conns: Vec<Connection> = Vec::new();
    let report = analyze(&[path], &Options::default(), &mut conns).unwrap();
    assert_eq!((report.frames.total, report.frames.tcp), (8, 8));
    assert_eq!(conns.len(), 1);
}
