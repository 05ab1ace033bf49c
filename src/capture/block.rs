//! One parsed pcap/pcapng block → what it means for the frames that follow (file headers,
//! interfaces, sections) or one frame. pcap-parser splits the file into blocks; the meaning of
//! a block's fields (time resolution, offsets, byte order of options, the obsolete Packet
//! block) is decided here, where we can test it against what Wireshark does.

use pcap_parser::pcapng::{Block, InterfaceDescriptionBlock, OptionCode, UnknownBlock};
use pcap_parser::{PcapBlockOwned, PcapNGOption};

use crate::frame::Timestamp;

/// pcapng's obsolete Packet Block (type 2), which pcap-parser leaves as an unknown block:
/// Wireshark still reads it, and old captures (Ethereal, early WinPcap) are full of it.
const OBSOLETE_PACKET_BLOCK: u32 = 0x0000_0002;
/// Microseconds: the pcapng default when an interface has no `if_tsresol`.
const DEFAULT_RESOLUTION: u64 = 1_000_000;

/// What the headers seen so far say about the records that follow.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub(super) format: Format,
    /// Timestamp of the previous packet of this input: Simple Packet Blocks have none, and
    /// borrowing the previous one keeps merging and durations sane (Wireshark shows 0).
    last_ts: Timestamp,
}

#[derive(Debug, Default)]
pub(super) enum Format {
    /// Before the first header block.
    #[default]
    Unknown,
    Pcap {
        linktype: i32,
        nanos: bool,
        big_endian: bool,
        /// 16, or 24 for the "modified" (Kuznetzov) format.
        record_header: usize,
    },
    PcapNg {
        big_endian: bool,
        /// Interfaces of the current section, by id.
        interfaces: Vec<Interface>,
    },
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Interface {
    linktype: i32,
    /// Units per second of this interface's timestamps.
    resolution: u64,
    /// Seconds added to every timestamp of this interface (`if_tsoffset`, signed).
    offset_secs: i64,
    /// 0 = no limit. Simple Packet blocks need it to tell data from padding.
    snaplen: u32,
}

/// What one block turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Taken<'a> {
    /// A packet, its bytes still in the block.
    Frame(Packet<'a>),
    /// A header, interface, statistics, name-resolution, custom or unknown block.
    Meta,
}

/// One packet's metadata and captured bytes, borrowed from the reader's buffer: the hot path
/// copies nothing.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Packet<'a> {
    pub(super) ts: Timestamp,
    pub(super) linktype: i32,
    /// Length on the wire; `data` may be shorter (snap length).
    pub(super) orig_len: u32,
    pub(super) data: &'a [u8],
}

impl Layout {
    /// The record's total size as its header declares it, if the bytes at hand are enough to
    /// know: used to judge a record the parser could not finish (too long for the buffer, cut
    /// short, or with an inner length running past it).
    pub(super) fn declared_len(&self, data: &[u8]) -> Option<u64> {
        match &self.format {
            Format::Unknown => None,
            Format::Pcap { big_endian, record_header, .. } => {
                let caplen = u32_at(data, 8, *big_endian)?;
                Some(*record_header as u64 + u64::from(caplen))
            }
            Format::PcapNg { big_endian, .. } => {
                // A new section may switch byte order: its header's length is read in the
                // order its byte-order magic announces.
                let big = if u32_at(data, 0, false) == Some(0x0A0D_0D0A) {
                    u32_at(data, 8, false)? != 0x1A2B_3C4D
                } else {
                    *big_endian
                };
                u32_at(data, 4, big).map(u64::from)
            }
        }
    }

    /// Why the parser refused the record at the start of `data`, in terms a user can check
    /// with a hex editor; `None` when the lengths look sound and only a field inside is bad.
    pub(super) fn diagnose(&self, data: &[u8]) -> Option<String> {
        let Format::PcapNg { big_endian, .. } = &self.format else {
            return None;
        };
        let big = *big_endian;
        let first = self.declared_len(data)?;
        if first < 12 || first % 4 != 0 {
            return Some(format!("block length {first} is invalid (must be a multiple of 4, at least 12)"));
        }
        let at = usize::try_from(first - 4).ok()?;
        let trailing = u32_at(data, at, big)?;
        (u64::from(trailing) != first)
            .then(|| format!("block length fields disagree (leading {first}, trailing {trailing})"))
    }

    /// Interprets one block; a packet's bytes stay where the block has them. Inlined into
    /// its one caller, the reader's loop: a pcap record is then read without the copies of
    /// the block into the call and of the packet out of it.
    #[inline]
    pub(super) fn take<'a>(&mut self, block: PcapBlockOwned<'a>) -> Result<Taken<'a>, String> {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.format = Format::Pcap {
                    // The upper bits say whether frames carry an FCS (pcap spec §4); the
                    // link type is the low 16 bits.
                    linktype: h.network.0 & 0xFFFF,
                    nanos: h.is_nanosecond_precision(),
                    big_endian: h.is_bigendian(),
                    record_header: if h.is_modified_format() { 24 } else { 16 },
                };
                Ok(Taken::Meta)
            }
            PcapBlockOwned::Legacy(b) => {
                let Format::Pcap { linktype, nanos, .. } = self.format else {
                    return Err("pcap record before the file header".to_string());
                };
                let frac_ns = i64::from(b.ts_usec) * if nanos { 1 } else { 1000 };
                let ts = Timestamp::from_parts(i64::from(b.ts_sec), frac_ns);
                Ok(Taken::Frame(self.packet(ts, linktype, b.origlen, b.data, b.caplen)))
            }
            PcapBlockOwned::NG(block) => self.take_ng(block),
        }
    }

    fn take_ng<'a>(&mut self, block: Block<'a>) -> Result<Taken<'a>, String> {
        if let Block::SectionHeader(shb) = &block {
            // Interface ids are per section: a new section starts over.
            self.format = Format::PcapNg { big_endian: shb.big_endian(), interfaces: Vec::new() };
            return Ok(Taken::Meta);
        }
        let Format::PcapNg { big_endian, interfaces } = &mut self.format else {
            return Err("pcapng block before the section header".to_string());
        };
        let big_endian = *big_endian;
        match block {
            Block::InterfaceDescription(idb) => {
                interfaces.push(interface(&idb, big_endian)?);
                Ok(Taken::Meta)
            }
            Block::EnhancedPacket(epb) => {
                // pcap-parser has compared both block lengths and bounded the captured
                // length by the block already.
                let iface = lookup(interfaces, epb.if_id)?;
                let ts = iface.timestamp(epb.ts_high, epb.ts_low);
                Ok(Taken::Frame(self.packet(ts, iface.linktype, epb.origlen, epb.data, epb.caplen)))
            }
            Block::SimplePacket(spb) => {
                check_lengths(spb.block_len1, spb.block_len2)?;
                let iface =
                    interfaces.first().copied().ok_or("simple packet block before any interface description")?;
                // The data is the packet cut at the interface's snap length, then padded to
                // 32 bits: the captured length is the smaller of packet and snap length.
                let caplen = match iface.snaplen {
                    0 => spb.origlen,
                    snap => spb.origlen.min(snap),
                };
                let ts = self.last_ts;
                Ok(Taken::Frame(self.packet(ts, iface.linktype, spb.origlen, spb.data, caplen)))
            }
            Block::Unknown(ub) if native(ub.block_type, big_endian) == OBSOLETE_PACKET_BLOCK => {
                let packet = obsolete_packet(&ub, big_endian)?;
                let iface = lookup(interfaces, packet.if_id)?;
                let ts = iface.timestamp(packet.ts_high, packet.ts_low);
                Ok(Taken::Frame(self.packet(ts, iface.linktype, packet.origlen, packet.data, packet.caplen)))
            }
            Block::Unknown(ub) => {
                check_lengths(ub.block_len1, ub.block_len2)?;
                Ok(Taken::Meta)
            }
            // Name resolution, interface statistics, custom, decryption secrets, journal
            // export, process information: nothing a state timeline needs.
            _ => Ok(Taken::Meta),
        }
    }

    fn packet<'a>(&mut self, ts: Timestamp, linktype: i32, orig_len: u32, data: &'a [u8], caplen: u32) -> Packet<'a> {
        let n = usize::try_from(caplen).unwrap_or(usize::MAX).min(data.len());
        self.last_ts = ts;
        Packet { ts, linktype, orig_len, data: data.get(..n).unwrap_or(data) }
    }
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = i128::from((u64::from(high) << 32) | u64::from(low));
        let res = i128::from(self.resolution.max(1));
        let secs = units / res;
        let nanos = (units % res) * 1_000_000_000 / res;
        let total = (secs + i128::from(self.offset_secs)) * 1_000_000_000 + nanos;
        Timestamp(i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX }))
    }
}

fn lookup(interfaces: &[Interface], id: u32) -> Result<Interface, String> {
    usize::try_from(id)
        .ok()
        .and_then(|i| interfaces.get(i))
        .copied()
        .ok_or_else(|| format!("packet names interface {id} but this section describes {}", interfaces.len()))
}

/// Wireshark refuses a block whose leading and trailing lengths differ: the file is corrupt
/// from there on, and guessing which one is right would misplace every later block.
fn check_lengths(first: u32, trailing: u32) -> Result<(), String> {
    if first == trailing {
        Ok(())
    } else {
        Err(format!("block length fields disagree (leading {first}, trailing {trailing})"))
    }
}

/// The interface's link type, time resolution and offset. pcap-parser decodes `if_tsresol`'s
/// power-of-two form as invalid and reads `if_tsoffset` little-endian in every section, so
/// both options are decoded here in the section's byte order.
fn interface(idb: &InterfaceDescriptionBlock<'_>, big_endian: bool) -> Result<Interface, String> {
    check_lengths(idb.block_len1, idb.block_len2)?;
    let mut resolution = DEFAULT_RESOLUTION;
    let mut offset_secs = 0;
    for opt in &idb.options {
        match opt.code {
            OptionCode::IfTsresol => {
                if let Some(&r) = opt.value.first() {
                    resolution =
                        tsresol(r).ok_or_else(|| format!("interface time resolution {r:#04x} is out of range"))?;
                }
            }
            OptionCode::IfTsoffset => offset_secs = tsoffset(opt, big_endian)?,
            _ => {}
        }
    }
    Ok(Interface { linktype: idb.linktype.0, resolution, offset_secs, snaplen: idb.snaplen })
}

/// `if_tsresol`: the high bit chooses a power of two, otherwise a power of ten, of units per
/// second. Resolutions finer than 1 ns are accepted and rounded down to nanoseconds.
fn tsresol(r: u8) -> Option<u64> {
    let exp = u32::from(r & 0x7f);
    if r & 0x80 != 0 {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    } else {
        10u64.checked_pow(exp)
    }
}

fn tsoffset(opt: &PcapNGOption<'_>, big_endian: bool) -> Result<i64, String> {
    let bytes: [u8; 8] = opt
        .value
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or("interface time offset option is shorter than 8 bytes")?;
    Ok(if big_endian { i64::from_be_bytes(bytes) } else { i64::from_le_bytes(bytes) })
}

struct ObsoletePacket<'a> {
    if_id: u32,
    ts_high: u32,
    ts_low: u32,
    caplen: u32,
    origlen: u32,
    data: &'a [u8],
}

/// Interface id (16 bits), drops count (16 bits), timestamp high and low, captured length,
/// packet length, data (pcapng draft, appendix "Packet Block (obsolete)").
fn obsolete_packet<'a>(ub: &UnknownBlock<'a>, big_endian: bool) -> Result<ObsoletePacket<'a>, String> {
    check_lengths(ub.block_len1, ub.block_len2)?;
    let short = || "obsolete packet block is shorter than its header".to_string();
    let b = ub.data;
    let id_bytes: [u8; 2] = b.get(..2).and_then(|s| s.try_into().ok()).ok_or_else(short)?;
    let if_id = if big_endian { u16::from_be_bytes(id_bytes) } else { u16::from_le_bytes(id_bytes) };
    let caplen = u32_at(b, 12, big_endian).ok_or_else(short)?;
    let data = b.get(20..).ok_or_else(short)?;
    if usize::try_from(caplen).map_or(true, |c| c > data.len()) {
        return Err(format!("obsolete packet block claims {caplen} captured bytes in a {}-byte block", ub.block_len1));
    }
    Ok(ObsoletePacket {
        if_id: u32::from(if_id),
        ts_high: u32_at(b, 4, big_endian).ok_or_else(short)?,
        ts_low: u32_at(b, 8, big_endian).ok_or_else(short)?,
        caplen,
        origlen: u32_at(b, 16, big_endian).ok_or_else(short)?,
        data,
    })
}

/// pcap-parser keeps block types as read little-endian.
fn native(block_type: u32, big_endian: bool) -> u32 {
    if big_endian {
        block_type.swap_bytes()
    } else {
        block_type
    }
}

pub(super) fn u32_at(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_power_of_ten_and_of_two() {
        assert_eq!(tsresol(6), Some(1_000_000));
        assert_eq!(tsresol(9), Some(1_000_000_000));
        assert_eq!(tsresol(0x80 | 10), Some(1024));
        assert_eq!(tsresol(0x80 | 63), Some(1 << 63));
        assert_eq!(tsresol(20), None);
    }

    #[test]
    fn negative_offset_moves_timestamps_back() {
        let iface = Interface { linktype: 1, resolution: 1_000, offset_secs: -10, snaplen: 0 };
        // 12.345 s in milliseconds, minus 10 s.
        assert_eq!(iface.timestamp(0, 12_345), Timestamp(2_345_000_000));
    }

    #[test]
    fn simple_packet_data_stops_at_the_snap_length_not_the_padding() {
        let mut layout = Layout {
            format: Format::PcapNg {
                big_endian: false,
                interfaces: vec![Interface { linktype: 1, resolution: DEFAULT_RESOLUTION, offset_secs: 0, snaplen: 5 }],
            },
            last_ts: Timestamp(42),
        };
        // A 9-byte packet cut at 5 bytes, padded to 8.
        let spb = pcap_parser::pcapng::SimplePacketBlock {
            block_type: pcap_parser::SPB_MAGIC,
            block_len1: 24,
            origlen: 9,
            data: &[1, 2, 3, 4, 5, 0, 0, 0],
            block_len2: 24,
        };
        let got = layout.take(PcapBlockOwned::NG(Block::SimplePacket(spb)));
        let packet = Packet { ts: Timestamp(42), linktype: 1, orig_len: 9, data: &[1, 2, 3, 4, 5] };
        assert_eq!(got, Ok(Taken::Frame(packet)));
    }

    #[test]
    fn binary_resolution_converts_to_nanoseconds() {
        let iface = Interface { linktype: 1, resolution: 1 << 20, offset_secs: 0, snaplen: 0 };
        // 3.5 s in 2^-20 s units.
        assert_eq!(iface.timestamp(0, 3 << 20 | 1 << 19), Timestamp(3_500_000_000));
    }
}
