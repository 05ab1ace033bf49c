//! Link-layer framing: strips whatever precedes the IP header and says which IP version
//! follows. etherparse covers Ethernet; Linux cooked v2 and BSD loopback are done here.

use crate::error::SkipReason;

/// Link types we decode, as numbered by tcpdump.org's LINKTYPE_ registry.
pub mod linktype {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const RAW: i32 = 101;
    pub const LOOP: i32 = 108;
    pub const LINUX_SLL: i32 = 113;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const LINUX_SLL2: i32 = 276;
    /// Some BSDs write DLT_RAW's own value instead of LINKTYPE_RAW.
    pub const DLT_RAW_ALT: i32 = 12;
    pub const DLT_RAW_OPENBSD: i32 = 14;
}

/// A readable name for a link type number, for the one-time warning about unsupported ones.
pub fn linktype_name(lt: i32) -> String {
    let name = match lt {
        linktype::NULL => "NULL",
        linktype::ETHERNET => "ETHERNET",
        linktype::RAW | linktype::DLT_RAW_ALT | linktype::DLT_RAW_OPENBSD => "RAW",
        linktype::LOOP => "LOOP",
        linktype::LINUX_SLL => "LINUX_SLL",
        linktype::IPV4 => "IPV4",
        linktype::IPV6 => "IPV6",
        linktype::LINUX_SLL2 => "LINUX_SLL2",
        105 => "IEEE802_11",
        127 => "IEEE802_11_RADIOTAP",
        147..=162 => "USER",
        192 => "PPI",
        195 => "IEEE802_15_4",
        _ => "unknown",
    };
    format!("{name} ({lt})")
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Network {
    Ipv4,
    Ipv6,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
/// How many MPLS labels we pop before calling the frame malformed.
const MAX_MPLS_LABELS: usize = 16;
/// How many stacked VLAN tags we peel before calling the frame malformed.
const MAX_VLAN_TAGS: usize = 8;

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(b))
}

/// Returns the IP version and the bytes starting at the IP header.
pub fn strip(linktype: i32, data: &[u8]) -> Result<(Network, &[u8]), SkipReason> {
    match linktype {
        linktype::ETHERNET => {
            let mut ethertype = be16(data, 12).ok_or(SkipReason::Truncated)?;
            let mut at = 14;
            let mut tags = 0;
            while matches!(ethertype, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) {
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    return Err(SkipReason::Malformed);
                }
                ethertype = be16(data, at + 2).ok_or(SkipReason::Truncated)?;
                at += 4;
            }
            by_ethertype(ethertype, data.get(at..).ok_or(SkipReason::Truncated)?)
        }
        linktype::LINUX_SLL => {
            let proto = be16(data, 14).ok_or(SkipReason::Truncated)?;
            by_ethertype(proto, data.get(16..).ok_or(SkipReason::Truncated)?)
        }
        linktype::LINUX_SLL2 => {
            let proto = be16(data, 0).ok_or(SkipReason::Truncated)?;
            by_ethertype(proto, data.get(20..).ok_or(SkipReason::Truncated)?)
        }
        linktype::NULL | linktype::LOOP => {
            // The 4-byte address family is in the writer's byte order for NULL and big-endian
            // for LOOP; the values that mean IPv6 differ between BSDs (24, 28, 30).
            let (fam, rest) = data.split_first_chunk::<4>().ok_or(SkipReason::Truncated)?;
            let family = if fam.starts_with(&[0, 0]) { u32::from_be_bytes(*fam) } else { u32::from_le_bytes(*fam) };
            match family {
                2 => Ok((Network::Ipv4, rest)),
                24 | 28 | 30 => Ok((Network::Ipv6, rest)),
                _ => Err(SkipReason::NotIp),
            }
        }
        linktype::RAW | linktype::DLT_RAW_ALT | linktype::DLT_RAW_OPENBSD => by_version(data),
        linktype::IPV4 => Ok((Network::Ipv4, data)),
        linktype::IPV6 => Ok((Network::Ipv6, data)),
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Result<(Network, &[u8]), SkipReason> {
    match ethertype {
        ETHERTYPE_IPV4 => Ok((Network::Ipv4, rest)),
        ETHERTYPE_IPV6 => Ok((Network::Ipv6, rest)),
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => mpls(rest),
        ETHERTYPE_PPPOE_SESSION => {
            // A 6-byte PPPoE header, then the 2-byte PPP protocol.
            let payload = rest.get(8..).ok_or(SkipReason::Truncated)?;
            match be16(rest, 6) {
                Some(PPP_IPV4) => Ok((Network::Ipv4, payload)),
                Some(PPP_IPV6) => Ok((Network::Ipv6, payload)),
                _ => Err(SkipReason::NotIp),
            }
        }
        _ => Err(SkipReason::NotIp),
    }
}

/// Pops MPLS labels up to the bottom of the stack; the payload's first nibble names the IP
/// version (RFC 4928 keeps it unambiguous for IP payloads).
fn mpls(mut rest: &[u8]) -> Result<(Network, &[u8]), SkipReason> {
    for _ in 0..MAX_MPLS_LABELS {
        let (&[_, _, tc_s, _], after) = rest.split_first_chunk::<4>().ok_or(SkipReason::Truncated)?;
        let bottom = tc_s & 0x01 != 0;
        rest = after;
        if bottom {
            return by_version(rest);
        }
    }
    Err(SkipReason::Malformed)
}

/// Raw IP: the version nibble says which.
fn by_version(data: &[u8]) -> Result<(Network, &[u8]), SkipReason> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Ok((Network::Ipv4, data)),
        Some(6) => Ok((Network::Ipv6, data)),
        Some(_) => Err(SkipReason::NotIp),
        None => Err(SkipReason::Truncated),
    }
}

#[cfg(test)]
// Frames built right here, not read from a capture: slicing them cannot go wrong unnoticed.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    const IP4: [u8; 1] = [0x45];
    const IP6: [u8; 1] = [0x60];

    fn ethernet(tpids: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0; 12];
        for tpid in tpids {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&[0, 42]);
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn vlan_tags_are_peeled_up_to_a_limit() {
        let two = ethernet(&[ETHERTYPE_QINQ, ETHERTYPE_VLAN], ETHERTYPE_IPV6, &IP6);
        assert_eq!(strip(linktype::ETHERNET, &two), Ok((Network::Ipv6, &IP6[..])));
        let nine = ethernet(&[ETHERTYPE_VLAN; 9], ETHERTYPE_IPV4, &IP4);
        assert_eq!(strip(linktype::ETHERNET, &nine), Err(SkipReason::Malformed));
        let cut = &two[..15];
        assert_eq!(strip(linktype::ETHERNET, cut), Err(SkipReason::Truncated));
        let arp = ethernet(&[], 0x0806, &[0; 28]);
        assert_eq!(strip(linktype::ETHERNET, &arp), Err(SkipReason::NotIp));
    }

    #[test]
    fn mpls_stack_ends_at_bottom_of_stack_or_is_malformed() {
        let mut labels = vec![0, 0, 0x10, 64, 0, 0, 0x11, 64];
        labels.extend_from_slice(&IP4);
        let f = ethernet(&[], ETHERTYPE_MPLS, &labels);
        assert_eq!(strip(linktype::ETHERNET, &f), Ok((Network::Ipv4, &IP4[..])));
        let endless = ethernet(&[], ETHERTYPE_MPLS, &[0, 0, 0x10, 64].repeat(17));
        assert_eq!(strip(linktype::ETHERNET, &endless), Err(SkipReason::Malformed));
    }

    #[test]
    fn loopback_families_in_either_byte_order() {
        let mut v4_le = 2u32.to_le_bytes().to_vec();
        v4_le.extend_from_slice(&IP4);
        assert_eq!(strip(linktype::NULL, &v4_le), Ok((Network::Ipv4, &IP4[..])));
        for fam in [24u32, 28, 30] {
            let mut be = fam.to_be_bytes().to_vec();
            be.extend_from_slice(&IP6);
            assert_eq!(strip(linktype::LOOP, &be), Ok((Network::Ipv6, &IP6[..])));
        }
        assert_eq!(strip(linktype::NULL, &[2, 0]), Err(SkipReason::Truncated));
        assert_eq!(strip(linktype::NULL, &7u32.to_le_bytes()), Err(SkipReason::NotIp));
    }

    #[test]
    fn cooked_and_raw_headers() {
        let mut sll = vec![0; 14];
        sll.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        sll.extend_from_slice(&IP4);
        assert_eq!(strip(linktype::LINUX_SLL, &sll), Ok((Network::Ipv4, &IP4[..])));
        let mut sll2 = ETHERTYPE_IPV6.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0; 18]);
        sll2.extend_from_slice(&IP6);
        assert_eq!(strip(linktype::LINUX_SLL2, &sll2), Ok((Network::Ipv6, &IP6[..])));
        assert_eq!(strip(linktype::LINUX_SLL2, &sll2[..19]), Err(SkipReason::Truncated));
        assert_eq!(strip(linktype::RAW, &[0x20]), Err(SkipReason::NotIp));
        assert_eq!(strip(linktype::RAW, &[]), Err(SkipReason::Truncated));
        assert_eq!(strip(147, &IP4), Err(SkipReason::UnsupportedLinkType));
    }
}
