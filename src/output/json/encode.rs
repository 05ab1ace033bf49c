//! A [`Connection`] as compact JSON, written by hand: the same bytes `serde_json::to_writer`
//! makes of the `Serialize` impls in `crate::timeline`, `crate::peers` and `crate::frame`,
//! which stay the contract. serde spent most of its time in `core::fmt` (`collect_str` for
//! addresses, causes and flags) and in one call per field; here every key and its
//! punctuation is one constant, numbers go through `itoa`, and nothing is allocated once the
//! caller's buffer has grown. `tests/json_writer.rs` holds the two to byte equality on every
//! capture we have and on arbitrary values.
//!
//! Every struct is destructured and every enum matched without `..` or `_`: a new field or
//! variant stops the build here instead of silently missing from the JSON.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::decode::TcpFlags;
use crate::frame::{Duration, FrameNo, Timestamp};
use crate::peers::wireshark::Wireshark;
use crate::peers::zeek::Zeek;
use crate::peers::Peers;
use crate::tcp::seq::SeqNum;
use crate::timeline::{
    Cause, Connection, Ending, EndpointTimeline, Endpoints, Initial, Note, NoteKind, Role, RoleBasis, SegmentRecord,
    Traffic, Transition,
};

/// Appends `conn` to `out`, exactly as `serde_json::to_writer(out, conn)` would.
pub fn connection(out: &mut Vec<u8>, conn: &Connection) {
    write(out, conn, &mut |out, n| int(out, n));
}

/// Appends `conn` without its number, and returns the two offsets into `out` where it goes:
/// `id`, and Wireshark's `tcp_stream`, which is the same number. A sharded run writes each
/// connection on the shard that built it, before the merge has numbered it.
pub fn unnumbered(out: &mut Vec<u8>, conn: &Connection) -> [usize; 2] {
    let mut holes = [0; 2];
    let mut n = 0;
    write(out, conn, &mut |out, _| {
        if let Some(hole) = holes.get_mut(n) {
            *hole = out.len();
        }
        n += 1;
    });
    holes
}

/// [`connection`], with `number` writing the connection's number at both of its places.
fn write(out: &mut Vec<u8>, conn: &Connection, number: &mut impl FnMut(&mut Vec<u8>, u64)) {
    let Connection {
        id,
        client,
        server,
        roles,
        first_frame,
        last_frame,
        start,
        end,
        duration,
        ending,
        traffic,
        endpoints,
        notes,
        segments,
        peers,
    } = conn;
    raw(out, "{\"id\":");
    number(out, *id);
    raw(out, ",\"client\":\"");
    addr(out, client);
    raw(out, "\",\"server\":\"");
    addr(out, server);
    raw(out, "\",\"roles\":\"");
    raw(out, role_basis(*roles));
    raw(out, "\",\"first_frame\":");
    frame(out, *first_frame);
    raw(out, ",\"last_frame\":");
    frame(out, *last_frame);
    raw(out, ",\"start\":");
    timestamp(out, *start);
    raw(out, ",\"end\":");
    timestamp(out, *end);
    raw(out, ",\"duration\":");
    let Duration(d) = *duration;
    timestamp(out, Timestamp(d));
    raw(out, ",\"ending\":");
    self::ending(out, *ending);
    raw(out, ",\"traffic\":");
    array(out, traffic, |out, t| self::traffic(out, *t));
    raw(out, ",\"endpoints\":");
    self::endpoints(out, endpoints);
    raw(out, ",\"notes\":");
    array(out, notes, |out, n| note(out, *n));
    if let Some(segments) = segments {
        raw(out, ",\"segments\":");
        array(out, segments, |out, s| segment(out, *s));
    }
    raw(out, ",\"peers\":");
    self::peers(out, peers, number);
    out.push(b'}');
}

fn ending(out: &mut Vec<u8>, e: Ending) {
    raw(out, "{\"kind\":\"");
    match e {
        Ending::ClosedByClientFirst => raw(out, "closed_by_client_first\"}"),
        Ending::ClosedByServerFirst => raw(out, "closed_by_server_first\"}"),
        Ending::SimultaneousClose => raw(out, "simultaneous_close\"}"),
        Ending::Reset { by, state } => {
            raw(out, "reset\",\"by\":\"");
            raw(out, role(by));
            raw(out, "\",\"state\":\"");
            raw(out, state.rfc_name());
            raw(out, "\"}");
        }
        Ending::Refused => raw(out, "refused\"}"),
        Ending::UnansweredSyn => raw(out, "unanswered_syn\"}"),
        Ending::HalfClosed { by } => {
            raw(out, "half_closed\",\"by\":\"");
            raw(out, role(by));
            raw(out, "\"}");
        }
        Ending::StillOpen => raw(out, "still_open\"}"),
        Ending::HandshakeIncomplete => raw(out, "handshake_incomplete\"}"),
    }
}

fn traffic(out: &mut Vec<u8>, t: Traffic) {
    let Traffic { packets, bytes } = t;
    raw(out, "{\"packets\":");
    int(out, packets);
    raw(out, ",\"bytes\":");
    int(out, bytes);
    out.push(b'}');
}

fn endpoints(out: &mut Vec<u8>, e: &Endpoints) {
    let Endpoints { client, server } = e;
    raw(out, "{\"client\":");
    endpoint(out, client);
    raw(out, ",\"server\":");
    endpoint(out, server);
    out.push(b'}');
}

fn endpoint(out: &mut Vec<u8>, e: &EndpointTimeline) {
    let EndpointTimeline { timeline, final_state } = e;
    raw(out, "{\"timeline\":");
    array(out, timeline, |out, t| transition(out, *t));
    raw(out, ",\"final\":\"");
    raw(out, final_state.rfc_name());
    raw(out, "\"}");
}

fn transition(out: &mut Vec<u8>, t: Transition) {
    let Transition { state, ts, frame, cause, inferred } = t;
    raw(out, "{\"state\":\"");
    raw(out, state.rfc_name());
    raw(out, "\",\"ts\":");
    timestamp(out, ts);
    raw(out, ",\"frame\":");
    match frame {
        Some(f) => self::frame(out, f),
        None => raw(out, "null"),
    }
    raw(out, ",\"cause\":\"");
    self::cause(out, cause);
    raw(out, "\",\"inferred\":");
    boolean(out, inferred);
    out.push(b'}');
}

/// `Cause`'s `Display`, which has nothing JSON escapes.
fn cause(out: &mut Vec<u8>, c: Cause) {
    match c {
        Cause::Initial(Initial::Closed) | Cause::Initial(Initial::Listening) => raw(out, "before first frame"),
        Cause::Initial(Initial::NoListener) => raw(out, "no listener: SYN answered with RST"),
        Cause::Initial(Initial::MidStream) => raw(out, "connection already open when the capture started"),
        Cause::Sent(f) => {
            raw(out, "sent ");
            flags(out, f);
        }
        Cause::Received(f) => {
            raw(out, "received ");
            flags(out, f);
        }
        Cause::TimeWaitExpired => raw(out, "2MSL timer expired"),
        Cause::Reincarnated => raw(out, "new SYN on the same 4-tuple"),
    }
}

/// `TcpFlags`' `Display` (`SYN,ACK`, `none`): one copy from [`FLAG_TEXT`].
fn flags(out: &mut Vec<u8>, TcpFlags(f): TcpFlags) {
    let (text, len) = &FLAG_TEXT[usize::from(f)];
    out.extend_from_slice(&text[..usize::from(*len)]);
}

/// The text of every flag byte, made at compile time: up to eight names in `Display`'s order
/// (not the bits'), joined by commas, 31 bytes at most.
static FLAG_TEXT: [([u8; 31], u8); 256] = flag_texts();

const fn flag_texts() -> [([u8; 31], u8); 256] {
    const NAMES: [(u8, &[u8; 3]); 8] = [
        (TcpFlags::SYN, b"SYN"),
        (TcpFlags::FIN, b"FIN"),
        (TcpFlags::RST, b"RST"),
        (TcpFlags::PSH, b"PSH"),
        (TcpFlags::ACK, b"ACK"),
        (TcpFlags::URG, b"URG"),
        (TcpFlags::ECE, b"ECE"),
        (TcpFlags::CWR, b"CWR"),
    ];
    let mut all = [([0u8; 31], 0u8); 256];
    let mut f = 0;
    while f < 256 {
        let mut len = 0;
        let mut i = 0;
        while i < NAMES.len() {
            let (bit, name) = NAMES[i];
            if f as u8 & bit != 0 {
                if len > 0 {
                    all[f].0[len] = b',';
                    len += 1;
                }
                all[f].0[len] = name[0];
                all[f].0[len + 1] = name[1];
                all[f].0[len + 2] = name[2];
                len += 3;
            }
            i += 1;
        }
        if len == 0 {
            let none = b"none";
            while len < none.len() {
                all[f].0[len] = none[len];
                len += 1;
            }
        }
        all[f].1 = len as u8;
        f += 1;
    }
    all
}

fn note(out: &mut Vec<u8>, n: Note) {
    let Note { frame, by, kind } = n;
    raw(out, "{\"frame\":");
    self::frame(out, frame);
    raw(out, ",\"by\":\"");
    raw(out, role(by));
    raw(out, "\",\"kind\":\"");
    raw(out, note_kind(kind));
    raw(out, "\"}");
}

fn segment(out: &mut Vec<u8>, s: SegmentRecord) {
    let SegmentRecord { frame, ts, from, flags, seq: SeqNum(seq), ack: SeqNum(ack), len, retransmission } = s;
    raw(out, "{\"frame\":");
    self::frame(out, frame);
    raw(out, ",\"ts\":");
    timestamp(out, ts);
    raw(out, ",\"from\":\"");
    raw(out, role(from));
    raw(out, "\",\"flags\":\"");
    self::flags(out, flags);
    raw(out, "\",\"seq\":");
    int(out, seq);
    raw(out, ",\"ack\":");
    int(out, ack);
    raw(out, ",\"len\":");
    int(out, len);
    raw(out, ",\"retransmission\":");
    boolean(out, retransmission);
    out.push(b'}');
}

fn peers(out: &mut Vec<u8>, p: &Peers, number: &mut impl FnMut(&mut Vec<u8>, u64)) {
    let Peers { wireshark: Wireshark { tcp_stream, completeness }, zeek } = p;
    raw(out, "{\"wireshark\":{\"tcp_stream\":");
    number(out, *tcp_stream);
    raw(out, ",\"completeness\":");
    int(out, *completeness);
    raw(out, "},\"zeek\":");
    array(out, zeek, self::zeek);
    out.push(b'}');
}

fn zeek(out: &mut Vec<u8>, z: &Zeek) {
    let Zeek { conn_state, history, orig, resp, orig_pkts, resp_pkts } = z;
    raw(out, "{\"conn_state\":\"");
    raw(out, conn_state.as_str());
    raw(out, "\",\"history\":");
    string(out, history);
    raw(out, ",\"orig\":\"");
    addr(out, orig);
    raw(out, "\",\"resp\":\"");
    addr(out, resp);
    raw(out, "\",\"orig_pkts\":");
    int(out, *orig_pkts);
    raw(out, ",\"resp_pkts\":");
    int(out, *resp_pkts);
    out.push(b'}');
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Client => "client",
        Role::Server => "server",
    }
}

fn role_basis(r: RoleBasis) -> &'static str {
    match r {
        RoleBasis::Syn => "syn",
        RoleBasis::SynAck => "syn_ack",
        RoleBasis::Port => "port",
    }
}

fn note_kind(k: NoteKind) -> &'static str {
    match k {
        NoteKind::SynRetransmitted => "syn_retransmitted",
        NoteKind::SynAckRetransmitted => "syn_ack_retransmitted",
        NoteKind::FinRetransmitted => "fin_retransmitted",
        NoteKind::FinIntoTimeWait => "fin_into_time_wait",
        NoteKind::DataAfterFin => "data_after_fin",
        NoteKind::RstIgnored => "rst_ignored",
        NoteKind::StepRetracted => "step_retracted",
        NoteKind::ImpossibleFlags => "impossible_flags",
        NoteKind::ResetForDataAfterClose => "reset_for_data_after_close",
    }
}

fn array<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, t);
    }
    out.push(b']');
}

/// `SocketAddr`'s `Display`: `a.b.c.d:port`, `[v6]:port` or `[v6%scope]:port`.
fn addr(out: &mut Vec<u8>, a: &SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            const LONGEST: usize = "255.255.255.255:65535".len();
            let mut buf = [0u8; LONGEST];
            let mut at = decimal_before(&mut buf, LONGEST, v4.port().into());
            at -= 1;
            buf[at] = b':';
            at = ipv4_before(&mut buf, at, *v4.ip());
            out.extend_from_slice(&buf[at..]);
        }
        SocketAddr::V6(v6) => {
            out.push(b'[');
            ipv6(out, *v6.ip());
            if v6.scope_id() != 0 {
                out.push(b'%');
                int(out, v6.scope_id());
            }
            raw(out, "]:");
            int(out, v6.port());
        }
    }
}

/// Writes `ip` dotted to end just before `buf[end]` and returns where it starts; with the
/// port in the same buffer, a whole IPv4 address is one copy.
fn ipv4_before(buf: &mut [u8], mut end: usize, ip: Ipv4Addr) -> usize {
    let [a, b, c, d] = ip.octets();
    end = decimal_before(buf, end, d.into());
    for octet in [c, b, a] {
        end -= 1;
        buf[end] = b'.';
        end = decimal_before(buf, end, octet.into());
    }
    end
}

/// `Ipv6Addr`'s `Display` (RFC 5952): `::ffff:a.b.c.d` for IPv4-mapped addresses, otherwise
/// lower-case hex groups with the first longest run of two or more zero groups as `::`.
fn ipv6(out: &mut Vec<u8>, ip: Ipv6Addr) {
    if let Some(v4) = ip.to_ipv4_mapped() {
        const LONGEST: usize = "255.255.255.255".len();
        let mut buf = [0u8; LONGEST];
        let at = ipv4_before(&mut buf, LONGEST, v4);
        raw(out, "::ffff:");
        out.extend_from_slice(&buf[at..]);
        return;
    }
    let groups = ip.segments();
    let (mut zeros, mut run) = (0..0, 0..0);
    for (i, &g) in groups.iter().enumerate() {
        if g != 0 {
            run = i + 1..i + 1;
        } else {
            run.end = i + 1;
            if run.len() > zeros.len() {
                zeros = run.clone();
            }
        }
    }
    if zeros.len() < 2 {
        hex_groups(out, &groups);
    } else {
        hex_groups(out, &groups[..zeros.start]);
        raw(out, "::");
        hex_groups(out, &groups[zeros.end..]);
    }
}

fn hex_groups(out: &mut Vec<u8>, groups: &[u16]) {
    for (i, &g) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        let nibbles = g.checked_ilog2().unwrap_or(0) / 4 + 1;
        for n in (0..nibbles).rev() {
            out.push(HEX[usize::from(g >> (4 * n) & 0xf)]);
        }
    }
}

/// `Timestamp`'s JSON number: seconds, a point and all nine decimals, flooring towards
/// negative infinity (`Timestamp(-1)` is `-1.999999999`). Built back to front in one stack
/// buffer, so the number is a single copy.
fn timestamp(out: &mut Vec<u8>, Timestamp(t): Timestamp) {
    const NANOS: i64 = Timestamp::NANOS_PER_SEC;
    const LONGEST: usize = "-9223372037.000000000".len();
    let (secs, nanos) = (t.div_euclid(NANOS), t.rem_euclid(NANOS) as u32);
    if let Ok(ten_digits @ 1_000_000_000..=9_999_999_999) = u64::try_from(secs) {
        // Every capture from September 2001 to 2286: ten digits of seconds, so the number is
        // always 20 bytes and goes out in one fixed-size copy, where a copy of a varying
        // length cost a call to memcpy. The seconds are unrolled: `decimal_before`'s loop
        // here cost 0.4 % of a run's instructions.
        let mut buf = [0u8; 20];
        let low = (ten_digits % 100_000_000) as u32;
        buf[..2].copy_from_slice(&DIGIT_PAIRS[(ten_digits / 100_000_000) as usize]);
        four_digits(&mut buf[2..], low / 10_000);
        four_digits(&mut buf[6..], low % 10_000);
        fraction(&mut buf[10..], nanos);
        out.extend_from_slice(&buf);
        return;
    }
    let mut buf = [0u8; LONGEST];
    fraction(&mut buf[LONGEST - 10..], nanos);
    let mut at = decimal_before(&mut buf, LONGEST - 10, secs.unsigned_abs());
    if secs < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    out.extend_from_slice(&buf[at..]);
}

/// The point and nine decimals of `nanos` (below 1,000,000,000), at the start of `to`.
fn fraction(to: &mut [u8], nanos: u32) {
    to[0] = b'.';
    to[1] = b'0' + (nanos / 100_000_000) as u8;
    four_digits(&mut to[2..], nanos / 10_000 % 10_000);
    four_digits(&mut to[6..], nanos % 10_000);
}

/// Writes `n` in decimal to end just before `buf[end]` and returns where it starts: numbers
/// come out least significant digits first, and this way two at a time.
fn decimal_before(buf: &mut [u8], mut end: usize, mut n: u64) -> usize {
    while n >= 100 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&DIGIT_PAIRS[(n % 100) as usize]);
        n /= 100;
    }
    if n >= 10 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&DIGIT_PAIRS[n as usize]);
    } else {
        end -= 1;
        buf[end] = b'0' + n as u8;
    }
    end
}

/// `n` (below 10,000) as four digits, leading zeros included, at the start of `to`.
fn four_digits(to: &mut [u8], n: u32) {
    to[..2].copy_from_slice(&DIGIT_PAIRS[(n / 100) as usize]);
    to[2..4].copy_from_slice(&DIGIT_PAIRS[(n % 100) as usize]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `00` to `99`.
static DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

fn frame(out: &mut Vec<u8>, FrameNo(n): FrameNo) {
    int(out, n);
}

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    raw(out, itoa::Buffer::new().format(n));
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    raw(out, if b { "true" } else { "false" });
}

/// A JSON string escaped as serde_json escapes it: `"` and `\` with a backslash, the C0
/// controls as `\b \t \n \f \r` or `\u00xx` (lower-case hex), everything else (DEL and
/// non-ASCII included) as is.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            b'\t' => b't',
            b'\n' => b'n',
            0x0c => b'f',
            b'\r' => b'r',
            0x00..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if short == b'u' {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

fn raw(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}
