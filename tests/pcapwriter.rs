//! A small pcap/pcapng writer for crafting captures in tests: TCP segments over every link
//! type we decode, IPv4 or IPv6 (with extension headers), in pcap (both byte orders, µs or
//! ns) or pcapng (several interfaces and sections, `if_tsresol`, `if_tsoffset`, Enhanced,
//! Simple and obsolete Packet blocks, either byte order).
//!
//! ```ignore
//! let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
//! let bytes = Capture::new()
//!     .link(Link::Ethernet)
//!     .segment(Seg::syn(c, s).seq(100))
//!     .segment(Seg::syn_ack(s, c).seq(300).ack(101))
//!     .segment(Seg::ack(c, s).seq(101).ack(301))
//!     .pcap(Pcap::default());
//! ```
//!
//! Timestamps default to 1 ms after the previous record, starting at 1_700_000_000 s.
//! Checksums are computed, so Wireshark shows the files without complaint.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

pub const SYN: u8 = 0x02;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Parses `"10.0.0.1:80"` or `"[2001:db8::1]:80"`.
#[track_caller]
pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Link-layer framing, with the LINKTYPE_ number each writes.
#[derive(Clone, Debug, PartialEq)]
pub enum Link {
    Ethernet,
    /// Ethernet with 802.1Q tags, outermost first (two tags = QinQ: 0x88a8 then 0x8100).
    Vlan(Vec<u16>),
    /// Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// BSD loopback, address family in the writer's (little-endian) byte order.
    Null,
    /// OpenBSD loopback, address family big-endian.
    Loop,
    /// Raw IP, version from the first nibble.
    Raw,
    Ipv4,
    Ipv6,
    /// Any other link type, frames written as given (for "unsupported link type").
    Other(u32),
}

impl Link {
    pub fn linktype(&self) -> u32 {
        match self {
            Link::Ethernet | Link::Vlan(_) => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Null => 0,
            Link::Loop => 108,
            Link::Raw => 101,
            Link::Ipv4 => 228,
            Link::Ipv6 => 229,
            Link::Other(n) => *n,
        }
    }

    /// Wraps an IP packet.
    pub fn frame(&self, ip: &[u8]) -> Vec<u8> {
        let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
        let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
        let mut f = Vec::new();
        match self {
            Link::Ethernet | Link::Vlan(_) => {
                f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
                if let Link::Vlan(tags) = self {
                    for (i, tag) in tags.iter().enumerate() {
                        let tpid: u16 = if i + 1 < tags.len() { 0x88a8 } else { 0x8100 };
                        f.extend_from_slice(&tpid.to_be_bytes());
                        f.extend_from_slice(&tag.to_be_bytes());
                    }
                }
                f.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Sll => {
                // packet type (0 = to us), ARPHRD_ETHER, address length, address, protocol.
                f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0]);
                f.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Sll2 => {
                f.extend_from_slice(&ethertype.to_be_bytes());
                f.extend_from_slice(&[0, 0]); // reserved
                f.extend_from_slice(&2u32.to_be_bytes()); // interface index
                f.extend_from_slice(&[0, 1, 0, 6]); // ARPHRD_ETHER, packet type, addr len
                f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0, 0]);
            }
            Link::Null => f.extend_from_slice(&(if v6 { 30u32 } else { 2 }).to_le_bytes()),
            Link::Loop => f.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_be_bytes()),
            Link::Raw | Link::Ipv4 | Link::Ipv6 | Link::Other(_) => {}
        }
        f.extend_from_slice(ip);
        f
    }
}

/// An IPv6 extension header placed before TCP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ext {
    HopByHop,
    DestOpts,
    Routing,
    Fragment { offset: u16, more: bool },
}

impl Ext {
    fn number(self) -> u8 {
        match self {
            Ext::HopByHop => 0,
            Ext::Routing => 43,
            Ext::Fragment { .. } => 44,
            Ext::DestOpts => 60,
        }
    }

    fn bytes(self, next: u8) -> [u8; 8] {
        match self {
            // PadN option filling the 6 bytes after the two-byte header.
            Ext::HopByHop | Ext::DestOpts => [next, 0, 1, 4, 0, 0, 0, 0],
            Ext::Routing => [next, 0, 0, 0, 0, 0, 0, 0],
            Ext::Fragment { offset, more } => {
                let off = (offset << 3) | u16::from(more);
                let [a, b] = off.to_be_bytes();
                [next, 0, a, b, 0, 0, 0, 7]
            }
        }
    }
}

/// One TCP segment.
#[derive(Clone, Debug)]
pub struct Seg {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub payload: Vec<u8>,
    pub mss: Option<u16>,
    /// Nanoseconds since the epoch; `None` = 1 ms after the previous record.
    pub ts: Option<i64>,
    pub exts: Vec<Ext>,
    /// IPv4 fragment: (offset in 8-byte units, more fragments).
    pub fragment: Option<(u16, bool)>,
    /// Captured bytes, if less than the whole frame (snap length).
    pub snap: Option<usize>,
}

impl Seg {
    pub fn new(src: SocketAddr, dst: SocketAddr, flags: u8) -> Seg {
        Seg {
            src,
            dst,
            flags,
            seq: 0,
            ack: 0,
            window: 64240,
            payload: Vec::new(),
            mss: None,
            ts: None,
            exts: Vec::new(),
            fragment: None,
            snap: None,
        }
    }
    pub fn syn(src: SocketAddr, dst: SocketAddr) -> Seg {
        Seg::new(src, dst, SYN).mss(1460)
    }
    pub fn syn_ack(src: SocketAddr, dst: SocketAddr) -> Seg {
        Seg::new(src, dst, SYN | ACK).mss(1460)
    }
    pub fn ack(src: SocketAddr, dst: SocketAddr) -> Seg {
        Seg::new(src, dst, ACK)
    }
    pub fn fin(src: SocketAddr, dst: SocketAddr) -> Seg {
        Seg::new(src, dst, FIN | ACK)
    }
    pub fn rst(src: SocketAddr, dst: SocketAddr) -> Seg {
        Seg::new(src, dst, RST)
    }
    pub fn seq(mut self, seq: u32) -> Seg {
        self.seq = seq;
        self
    }
    pub fn ack_no(mut self, ack: u32) -> Seg {
        self.ack = ack;
        self.flags |= ACK;
        self
    }
    pub fn flags(mut self, flags: u8) -> Seg {
        self.flags = flags;
        self
    }
    pub fn payload(mut self, len: usize) -> Seg {
        self.payload = vec![b'x'; len];
        if len > 0 {
            self.flags |= PSH;
        }
        self
    }
    pub fn mss(mut self, mss: u16) -> Seg {
        self.mss = Some(mss);
        self
    }
    /// Timestamp in seconds (exactly representable values are exact: whole seconds and
    /// fraction are converted apart, as nanoseconds since 1970 exceed f64's precision).
    pub fn at(mut self, secs: f64) -> Seg {
        let whole = secs.trunc();
        self.ts = Some(whole as i64 * 1_000_000_000 + ((secs - whole) * 1e9).round() as i64);
        self
    }
    pub fn at_ns(mut self, ns: i64) -> Seg {
        self.ts = Some(ns);
        self
    }
    pub fn ext(mut self, ext: Ext) -> Seg {
        self.exts.push(ext);
        self
    }
    pub fn fragment(mut self, offset: u16, more: bool) -> Seg {
        self.fragment = Some((offset, more));
        self
    }
    pub fn snap(mut self, len: usize) -> Seg {
        self.snap = Some(len);
        self
    }

    fn tcp(&self) -> Vec<u8> {
        let mut opts = Vec::new();
        if let Some(mss) = self.mss {
            opts.extend_from_slice(&[2, 4]);
            opts.extend_from_slice(&mss.to_be_bytes());
        }
        let header = 20 + opts.len();
        let mut t = Vec::with_capacity(header + self.payload.len());
        t.extend_from_slice(&self.src.port().to_be_bytes());
        t.extend_from_slice(&self.dst.port().to_be_bytes());
        t.extend_from_slice(&self.seq.to_be_bytes());
        t.extend_from_slice(&self.ack.to_be_bytes());
        t.push(((header / 4) as u8) << 4);
        t.push(self.flags);
        t.extend_from_slice(&self.window.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        t.extend_from_slice(&opts);
        t.extend_from_slice(&self.payload);
        let mut pseudo = Vec::new();
        match (self.src.ip(), self.dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&[0, 6]);
                pseudo.extend_from_slice(&(t.len() as u16).to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&(t.len() as u32).to_be_bytes());
                pseudo.extend_from_slice(&[0, 0, 0, 6]);
            }
            _ => panic!("source and destination must be the same IP version"),
        }
        pseudo.extend_from_slice(&t);
        let sum = checksum(&pseudo);
        t[16..18].copy_from_slice(&sum.to_be_bytes());
        t
    }

    /// The IP packet carrying this segment.
    pub fn ip(&self) -> Vec<u8> {
        let tcp = self.tcp();
        match (self.src.ip(), self.dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut h = vec![0x45, 0];
                h.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
                h.extend_from_slice(&[0x12, 0x34]);
                let frag = match self.fragment {
                    Some((offset, more)) => offset | if more { 0x2000 } else { 0 },
                    None => 0x4000, // don't fragment
                };
                h.extend_from_slice(&frag.to_be_bytes());
                h.extend_from_slice(&[64, 6, 0, 0]);
                h.extend_from_slice(&s.octets());
                h.extend_from_slice(&d.octets());
                let sum = checksum(&h);
                h[10..12].copy_from_slice(&sum.to_be_bytes());
                h.extend_from_slice(&tcp);
                h
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut exts = Vec::new();
                for (i, ext) in self.exts.iter().enumerate() {
                    let next = self.exts.get(i + 1).map_or(6, |e| e.number());
                    exts.extend_from_slice(&ext.bytes(next));
                }
                let first = self.exts.first().map_or(6, |e| e.number());
                let mut h = vec![0x60, 0, 0, 0];
                h.extend_from_slice(&((exts.len() + tcp.len()) as u16).to_be_bytes());
                h.extend_from_slice(&[first, 64]);
                h.extend_from_slice(&s.octets());
                h.extend_from_slice(&d.octets());
                h.extend_from_slice(&exts);
                h.extend_from_slice(&tcp);
                h
            }
            _ => panic!("source and destination must be the same IP version"),
        }
    }
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// How a pcapng record is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BlockKind {
    #[default]
    Enhanced,
    /// Simple Packet Block: no timestamp, no interface id (always interface 0).
    Simple,
    /// The obsolete Packet Block (type 2).
    Obsolete,
}

/// A pcapng interface.
#[derive(Clone, Debug)]
pub struct Iface {
    pub link: Link,
    /// `if_tsresol` byte; `None` writes no option (microseconds).
    pub tsresol: Option<u8>,
    /// `if_tsoffset` seconds; `None` writes no option.
    pub tsoffset: Option<i64>,
}

impl Iface {
    pub fn new(link: Link) -> Iface {
        Iface { link, tsresol: None, tsoffset: None }
    }
    pub fn tsresol(mut self, r: u8) -> Iface {
        self.tsresol = Some(r);
        self
    }
    pub fn tsoffset(mut self, secs: i64) -> Iface {
        self.tsoffset = Some(secs);
        self
    }
    fn units_per_sec(&self) -> i128 {
        match self.tsresol {
            None => 1_000_000,
            Some(r) if r & 0x80 != 0 => 1i128 << (r & 0x7f),
            Some(r) => 10i128.pow(u32::from(r)),
        }
    }
}

#[derive(Clone, Debug)]
enum Item {
    Record {
        iface: usize,
        ts: i64,
        frame: Vec<u8>,
        orig_len: usize,
        kind: BlockKind,
    },
    /// A new pcapng section (interfaces are described again in it).
    Section {
        big_endian: bool,
    },
    /// A pcapng block written as given (type, body without the length fields).
    Block {
        kind: u32,
        body: Vec<u8>,
    },
}

/// pcap file options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pcap {
    pub big_endian: bool,
    pub nanos: bool,
    /// Header snap length; 0 means 262144.
    pub snaplen: u32,
}

/// A capture under construction.
#[derive(Clone, Debug)]
pub struct Capture {
    ifaces: Vec<Iface>,
    current: usize,
    items: Vec<Item>,
    next_ts: i64,
    kind: BlockKind,
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

pub const START_NS: i64 = 1_700_000_000_000_000_000;

impl Capture {
    pub fn new() -> Capture {
        Capture {
            ifaces: vec![Iface::new(Link::Ethernet)],
            current: 0,
            items: Vec::new(),
            next_ts: START_NS,
            kind: BlockKind::Enhanced,
        }
    }

    /// The link of the current interface (interface 0 until [`Capture::interface`]).
    pub fn link(mut self, link: Link) -> Capture {
        self.ifaces[self.current].link = link;
        self
    }

    /// Adds a pcapng interface; the records that follow are on it.
    pub fn interface(mut self, iface: Iface) -> Capture {
        if self.items.is_empty() && self.ifaces.len() == 1 && self.current == 0 {
            self.ifaces[0] = iface;
        } else {
            self.ifaces.push(iface);
            self.current = self.ifaces.len() - 1;
        }
        self
    }

    /// Records that follow go on interface `i`.
    pub fn on(mut self, i: usize) -> Capture {
        assert!(i < self.ifaces.len(), "no interface {i}");
        self.current = i;
        self
    }

    /// How the following pcapng records are stored.
    pub fn blocks(mut self, kind: BlockKind) -> Capture {
        self.kind = kind;
        self
    }

    pub fn segment(mut self, seg: Seg) -> Capture {
        let ip = seg.ip();
        let mut frame = self.ifaces[self.current].link.frame(&ip);
        let orig_len = frame.len();
        if let Some(n) = seg.snap {
            frame.truncate(n);
        }
        self.push(seg.ts, frame, orig_len);
        self
    }

    pub fn segments(self, segs: impl IntoIterator<Item = Seg>) -> Capture {
        segs.into_iter().fold(self, Capture::segment)
    }

    /// A link-layer frame written as given (ARP, UDP, garbage...).
    pub fn frame(mut self, ts: Option<i64>, frame: Vec<u8>) -> Capture {
        let len = frame.len();
        self.push(ts, frame, len);
        self
    }

    /// Starts a new pcapng section.
    pub fn section(mut self, big_endian: bool) -> Capture {
        self.items.push(Item::Section { big_endian });
        self
    }

    /// Inserts a pcapng block of any type (name resolution, statistics, custom, unknown).
    pub fn block(mut self, kind: u32, body: Vec<u8>) -> Capture {
        self.items.push(Item::Block { kind, body });
        self
    }

    fn push(&mut self, ts: Option<i64>, frame: Vec<u8>, orig_len: usize) {
        let ts = ts.unwrap_or(self.next_ts);
        self.next_ts = ts + 1_000_000;
        self.items.push(Item::Record { iface: self.current, ts, frame, orig_len, kind: self.kind });
    }

    /// pcap bytes; the link type is interface 0's.
    pub fn pcap(&self, opts: Pcap) -> Vec<u8> {
        let w = Writer { big: opts.big_endian };
        let mut out = Vec::new();
        w.u32(&mut out, if opts.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        w.u16(&mut out, 2);
        w.u16(&mut out, 4);
        w.u32(&mut out, 0);
        w.u32(&mut out, 0);
        w.u32(&mut out, if opts.snaplen == 0 { 262_144 } else { opts.snaplen });
        w.u32(&mut out, self.ifaces[0].link.linktype());
        for item in &self.items {
            if let Item::Record { ts, frame, orig_len, .. } = item {
                let secs = ts.div_euclid(1_000_000_000);
                let ns = ts.rem_euclid(1_000_000_000);
                w.u32(&mut out, secs as u32);
                w.u32(&mut out, if opts.nanos { ns } else { ns / 1000 } as u32);
                w.u32(&mut out, frame.len() as u32);
                w.u32(&mut out, *orig_len as u32);
                out.extend_from_slice(frame);
            }
        }
        out
    }

    /// pcapng bytes; `big_endian` is the first section's byte order.
    pub fn pcapng(&self, big_endian: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Writer { big: big_endian };
        let starts_with_section = matches!(self.items.first(), Some(Item::Section { .. }));
        if !starts_with_section {
            self.section_header(&mut out, w);
        }
        for item in &self.items {
            match item {
                Item::Section { big_endian } => {
                    w = Writer { big: *big_endian };
                    self.section_header(&mut out, w);
                }
                Item::Block { kind, body } => w.block(&mut out, *kind, body),
                Item::Record { iface, ts, frame, orig_len, kind } => {
                    let info = &self.ifaces[*iface];
                    let units = (i128::from(*ts) - i128::from(info.tsoffset.unwrap_or(0)) * 1_000_000_000)
                        * info.units_per_sec()
                        / 1_000_000_000;
                    let units = units as u64;
                    let mut body = Vec::new();
                    match kind {
                        BlockKind::Enhanced => {
                            w.u32(&mut body, *iface as u32);
                            w.u32(&mut body, (units >> 32) as u32);
                            w.u32(&mut body, units as u32);
                            w.u32(&mut body, frame.len() as u32);
                            w.u32(&mut body, *orig_len as u32);
                            pad_push(&mut body, frame);
                            w.block(&mut out, 6, &body);
                        }
                        BlockKind::Simple => {
                            w.u32(&mut body, *orig_len as u32);
                            pad_push(&mut body, frame);
                            w.block(&mut out, 3, &body);
                        }
                        BlockKind::Obsolete => {
                            w.u16(&mut body, *iface as u16);
                            w.u16(&mut body, 0);
                            w.u32(&mut body, (units >> 32) as u32);
                            w.u32(&mut body, units as u32);
                            w.u32(&mut body, frame.len() as u32);
                            w.u32(&mut body, *orig_len as u32);
                            pad_push(&mut body, frame);
                            w.block(&mut out, 2, &body);
                        }
                    }
                }
            }
        }
        out
    }

    fn section_header(&self, out: &mut Vec<u8>, w: Writer) {
        let mut body = Vec::new();
        w.u32(&mut body, 0x1A2B_3C4D);
        w.u16(&mut body, 1);
        w.u16(&mut body, 0);
        w.u64(&mut body, u64::MAX); // section length unknown
        w.block(out, 0x0A0D_0D0A, &body);
        for iface in &self.ifaces {
            let mut body = Vec::new();
            w.u16(&mut body, iface.link.linktype() as u16);
            w.u16(&mut body, 0);
            w.u32(&mut body, 0); // no snap length
            if let Some(r) = iface.tsresol {
                w.option(&mut body, 9, &[r]);
            }
            if let Some(o) = iface.tsoffset {
                let mut v = Vec::new();
                w.u64(&mut v, o as u64);
                w.option(&mut body, 14, &v);
            }
            if iface.tsresol.is_some() || iface.tsoffset.is_some() {
                w.option(&mut body, 0, &[]);
            }
            w.block(out, 1, &body);
        }
    }

    pub fn write_pcap(&self, path: &Path, opts: Pcap) {
        std::fs::write(path, self.pcap(opts)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    pub fn write_pcapng(&self, path: &Path, big_endian: bool) {
        std::fs::write(path, self.pcapng(big_endian)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

fn pad_push(body: &mut Vec<u8>, data: &[u8]) {
    body.extend_from_slice(data);
    body.resize(body.len().next_multiple_of(4), 0);
}

#[derive(Clone, Copy, Debug)]
struct Writer {
    big: bool,
}

impl Writer {
    fn u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn u64(self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&if self.big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    fn option(self, out: &mut Vec<u8>, code: u16, value: &[u8]) {
        self.u16(out, code);
        self.u16(out, value.len() as u16);
        pad_push(out, value);
    }
    /// Type, total length, body (padded), total length again.
    fn block(self, out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let len = 12 + body.len().next_multiple_of(4);
        self.u32(out, kind);
        self.u32(out, len as u32);
        pad_push(out, body);
        self.u32(out, len as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tcpstate::flow::SegmentLog;
    use tcpstate::timeline::Connection;
    use tcpstate::{analyze, Options};

    /// The writer's own check: what it writes to disk reads back as written, in both
    /// formats, with interfaces switched back and forth.
    #[test]
    fn written_files_read_back_with_interfaces_times_and_flags() {
        let (c, s) = (addr("192.0.2.1:5000"), addr("192.0.2.2:25"));
        let (c6, s6) = (addr("[2001:db8::7]:5001"), addr("[2001:db8::8]:25"));
        let capture = Capture::new()
            .segment(Seg::syn(c, s).seq(7).at(1_700_000_100.25))
            .interface(Iface::new(Link::Sll2).tsresol(9))
            .segment(Seg::syn(c6, s6).seq(9))
            .on(0)
            .segment(Seg::rst(s, c).ack_no(8).at(1_700_000_100.5))
            .on(1)
            .segment(Seg::new(s6, c6, RST | ACK).ack_no(10));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let ng = dir.join("writer-self-test.pcapng");
        capture.write_pcapng(&ng, false);
        let mut conns: Vec<Connection> = Vec::new();
        let opts = Options { segments: SegmentLog::All, ..Options::default() };
        let report = analyze(&[ng], &opts, &mut conns).unwrap();
        assert_eq!((report.frames.total, report.frames.tcp), (4, 4));
        conns.sort_by_key(|c| c.id);
        let endings: Vec<String> = conns.iter().map(|c| c.ending.to_string()).collect();
        assert_eq!(endings, ["refused", "refused"]);
        let first = conns[0].segments.as_ref().unwrap();
        assert_eq!(first[0].ts.to_string(), "1700000100.250000000");
        assert_eq!(first[1].ts.to_string(), "1700000100.500000000");
        // pcap has one link type: only interface 0's frames decode as IPv4 Ethernet.
        let pcap = dir.join("writer-self-test.pcap");
        Capture::new()
            .segment(Seg::syn(c, s).seq(7))
            .segment(Seg::rst(s, c).ack_no(8))
            .write_pcap(&pcap, Pcap::default());
        let mut conns: Vec<Connection> = Vec::new();
        let report = analyze(&[pcap], &opts, &mut conns).unwrap();
        assert_eq!(report.frames.tcp, 2);
        assert_eq!(conns[0].ending.to_string(), "refused");
    }
}
