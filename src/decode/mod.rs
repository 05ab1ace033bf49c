//! Frame bytes → [`Segment`]: link framing (see [`link`]), then IPv4/IPv6 and the TCP header
//! through etherparse's borrowing slices. A frame that is not a whole TCP header is a counted
//! [`SkipReason`], never an error: captures are full of ARP, DNS and cut frames.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod link;
pub mod segment;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use etherparse::{
    ip_number, IpNumber, Ipv4HeaderSlice, Ipv6ExtensionsSlice, Ipv6HeaderSlice, TcpHeaderSlice, TcpOptionElement,
};

use crate::error::SkipReason;
use crate::tcp::seq::SeqNum;
pub use link::Network;
pub use segment::{Segment, TcpFlags, TcpOptions};

const TCP_MIN_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;

/// Decodes one frame of the given link type.
pub fn decode(linktype: i32, data: &[u8]) -> Result<Segment, SkipReason> {
    let (network, ip) = link::strip(linktype, data)?;
    match network {
        Network::Ipv4 => {
            let (src, dst, tcp_len, tcp) = ipv4(ip)?;
            tcp_segment(src, dst, tcp_len, tcp)
        }
        Network::Ipv6 => {
            let (src, dst, tcp_len, tcp) = ipv6(ip)?;
            tcp_segment(src, dst, tcp_len, tcp)
        }
    }
}

/// Returns source, destination, the TCP length the IP header declares, and the TCP bytes.
fn ipv4(ip: &[u8]) -> Result<(Ipv4Addr, Ipv4Addr, usize, &[u8]), SkipReason> {
    let h = Ipv4HeaderSlice::from_slice(ip).map_err(|e| match e {
        etherparse::err::ipv4::HeaderSliceError::Len(_) => SkipReason::Truncated,
        etherparse::err::ipv4::HeaderSliceError::Content(_) => SkipReason::Malformed,
    })?;
    if h.protocol() != ip_number::TCP {
        return Err(SkipReason::NotTcp);
    }
    if h.is_fragmenting_payload() {
        return Err(SkipReason::IpFragment);
    }
    let header_len = usize::from(h.ihl()) * 4;
    let total = usize::from(h.total_len());
    // TSO captures write total_len 0; trust the captured bytes then.
    let tcp_len = if total == 0 {
        ip.len().saturating_sub(header_len)
    } else {
        total.checked_sub(header_len).ok_or(SkipReason::Malformed)?
    };
    let rest = ip.get(header_len..).ok_or(SkipReason::Truncated)?;
    Ok((h.source_addr(), h.destination_addr(), tcp_len, rest))
}

fn ipv6(ip: &[u8]) -> Result<(Ipv6Addr, Ipv6Addr, usize, &[u8]), SkipReason> {
    let h = Ipv6HeaderSlice::from_slice(ip).map_err(|e| match e {
        etherparse::err::ipv6::HeaderSliceError::Len(_) => SkipReason::Truncated,
        etherparse::err::ipv6::HeaderSliceError::Content(_) => SkipReason::Malformed,
    })?;
    let after = ip.get(IPV6_HEADER..).ok_or(SkipReason::Truncated)?;
    let (exts, next, rest) = Ipv6ExtensionsSlice::from_slice(h.next_header(), after).map_err(|e| match e {
        etherparse::err::ipv6_exts::HeaderSliceError::Len(_) => SkipReason::Truncated,
        etherparse::err::ipv6_exts::HeaderSliceError::Content(_) => SkipReason::Malformed,
    })?;
    if exts.is_fragmenting_payload() {
        return Err(SkipReason::IpFragment);
    }
    if next != IpNumber::TCP {
        return Err(SkipReason::NotTcp);
    }
    let ext_len = after.len() - rest.len();
    let payload = usize::from(h.payload_length());
    // Jumbograms (payload length 0 with a hop-by-hop option) fall back to the captured size.
    let tcp_len = if payload == 0 { rest.len() } else { payload.checked_sub(ext_len).ok_or(SkipReason::Malformed)? };
    Ok((h.source_addr(), h.destination_addr(), tcp_len, rest))
}

/// Generic over the address type, so that each IP version builds its own kind of address in
/// the segment: through one `IpAddr` argument, IPv4 addresses went byte by byte through the
/// layout of IPv6 ones.
fn tcp_segment<A: Into<IpAddr>>(src: A, dst: A, tcp_len: usize, tcp: &[u8]) -> Result<Segment, SkipReason> {
    match TcpHeaderSlice::from_slice(tcp) {
        Ok(h) => {
            let header_len = usize::from(h.data_offset()) * 4;
            let payload_len = tcp_len.checked_sub(header_len).ok_or(SkipReason::Malformed)?;
            base_segment(src, dst, &h, payload_len)
        }
        Err(etherparse::err::tcp::HeaderSliceError::Content(_)) => Err(SkipReason::Malformed),
        Err(etherparse::err::tcp::HeaderSliceError::Len(_)) => truncated_options(src, dst, tcp_len, tcp),
    }
}

/// A snap length that cuts into the TCP options still leaves the 20 fixed bytes: decode those
/// (with the options dropped) so the segment still drives the state machines.
fn truncated_options<A: Into<IpAddr>>(src: A, dst: A, tcp_len: usize, tcp: &[u8]) -> Result<Segment, SkipReason> {
    let fixed: [u8; TCP_MIN_HEADER] =
        tcp.get(..TCP_MIN_HEADER).and_then(|b| b.try_into().ok()).ok_or(SkipReason::Truncated)?;
    let [.., offset_byte, _, _, _, _, _, _, _] = fixed;
    let declared = usize::from(offset_byte >> 4) * 4;
    if declared < TCP_MIN_HEADER {
        return Err(SkipReason::Malformed);
    }
    let mut base = fixed;
    if let Some(b) = base.get_mut(12) {
        *b = (5 << 4) | (offset_byte & 0x0f);
    }
    let h = TcpHeaderSlice::from_slice(&base).map_err(|_| SkipReason::Malformed)?;
    let payload_len = tcp_len.checked_sub(declared).ok_or(SkipReason::Malformed)?;
    base_segment(src, dst, &h, payload_len)
}

fn base_segment<A: Into<IpAddr>>(
    src: A,
    dst: A,
    h: &TcpHeaderSlice<'_>,
    payload_len: usize,
) -> Result<Segment, SkipReason> {
    let raw_flags = h.slice().get(13).copied().ok_or(SkipReason::Truncated)?;
    let flags = TcpFlags(raw_flags);
    // Options are negotiated on SYNs; walking them on every segment (timestamps ride on all
    // of them) would cost more than the rest of the decoding. Built here, inside the one
    // `Segment` literal: setting them afterwards copied the whole segment once more.
    let options = if flags.syn() { options(h) } else { TcpOptions::default() };
    Ok(Segment {
        src: SocketAddr::new(src.into(), h.source_port()),
        dst: SocketAddr::new(dst.into(), h.destination_port()),
        seq: SeqNum(h.sequence_number()),
        ack: SeqNum(h.acknowledgment_number()),
        flags,
        window: h.window_size(),
        payload_len: u32::try_from(payload_len).map_err(|_| SkipReason::Malformed)?,
        options,
    })
}

fn options(h: &TcpHeaderSlice<'_>) -> TcpOptions {
    let mut out = TcpOptions::default();
    for opt in h.options_iterator() {
        match opt {
            Ok(TcpOptionElement::MaximumSegmentSize(v)) => out.mss = Some(v),
            Ok(TcpOptionElement::WindowScale(v)) => out.window_scale = Some(v),
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => out.sack_permitted = true,
            Ok(TcpOptionElement::Timestamp(v, e)) => out.timestamps = Some((v, e)),
            Ok(_) => {}
            // A malformed option list ends option parsing, not the segment.
            Err(_) => break,
        }
    }
    out
}
