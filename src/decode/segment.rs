//! The decoder's output: one TCP segment with the fields the flow table and the state
//! machines need. Plain `Copy` data: nothing on the hot path allocates.

use std::fmt;
use std::net::SocketAddr;

use crate::tcp::seq::SeqNum;

/// TCP header flag bits, as on the wire (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }

    /// Flags no TCP stack sends together: SYN with FIN or RST, or none of SYN, FIN, RST and
    /// ACK (scanners' Xmas, SYN-FIN and null probes, or corruption).
    pub fn impossible(self) -> bool {
        (self.syn() && (self.fin() || self.rst())) || self.0 & (Self::SYN | Self::FIN | Self::RST | Self::ACK) == 0
    }

    /// Only the control bits that drive the state machine (SYN, FIN, RST, ACK), for causes
    /// such as "received FIN,ACK": PSH, URG and ECN bits would be noise there.
    pub fn control(self) -> TcpFlags {
        TcpFlags(self.0 & (Self::SYN | Self::FIN | Self::RST | Self::ACK))
    }
}

const FLAG_NAMES: [(u8, &str); 8] = [
    (TcpFlags::SYN, "SYN"),
    (TcpFlags::FIN, "FIN"),
    (TcpFlags::RST, "RST"),
    (TcpFlags::PSH, "PSH"),
    (TcpFlags::ACK, "ACK"),
    (TcpFlags::URG, "URG"),
    (TcpFlags::ECE, "ECE"),
    (TcpFlags::CWR, "CWR"),
];

/// `SYN,ACK`, `FIN,PSH,ACK`; `none` when no bit is set.
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in FLAG_NAMES {
            if self.has(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The handshake options we report, decoded on SYN segments only (where they are
/// negotiated); the rest of the option space is skipped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// (TSval, TSecr)
    pub timestamps: Option<(u32, u32)>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub flags: TcpFlags,
    pub window: u16,
    /// Payload bytes as the IP length says, not as captured: a snap length must not
    /// change what the endpoint sent.
    pub payload_len: u32,
    pub options: TcpOptions,
}

impl Segment {
    /// Sequence space this segment occupies: payload plus one for each of SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload_len + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// First sequence number after this segment.
    pub fn seq_end(&self) -> SeqNum {
        self.seq.plus(self.seq_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_in_wireshark_order() {
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(), "SYN,ACK");
        assert_eq!(TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).to_string(), "FIN,PSH,ACK");
        assert_eq!(TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).control().to_string(), "FIN,ACK");
        assert_eq!(TcpFlags(0).to_string(), "none");
    }

    #[test]
    fn impossible_flag_combinations() {
        for bits in [
            TcpFlags::SYN | TcpFlags::FIN,
            TcpFlags::SYN | TcpFlags::RST | TcpFlags::ACK,
            0,
            TcpFlags::PSH | TcpFlags::URG,
        ] {
            assert!(TcpFlags(bits).impossible(), "{}", TcpFlags(bits));
        }
        for bits in [
            TcpFlags::SYN,
            TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE | TcpFlags::CWR,
            TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK,
            TcpFlags::RST,
            TcpFlags::ACK,
        ] {
            assert!(!TcpFlags(bits).impossible(), "{}", TcpFlags(bits));
        }
    }
}
