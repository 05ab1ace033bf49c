//! Wireshark's per-conversation `tcp.completeness` (packet-tcp.c, TShark 4.0; PEERS.md §2):
//! which parts of a connection's life the capture shows. Bits: 1 SYN, 2 SYN-ACK, 4 ACK,
//! 8 DATA, 16 FIN, 32 RST; "complete" is 31, 47 or 63. The stream number is our id.

use serde::Serialize;

use crate::decode::Segment;

pub const SYN: u8 = 1;
pub const SYN_ACK: u8 = 2;
pub const ACK: u8 = 4;
pub const DATA: u8 = 8;
pub const FIN: u8 = 16;
pub const RST: u8 = 32;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Wireshark {
    /// `tcp.stream`: always equal to the connection id.
    pub tcp_stream: u64,
    /// `tcp.completeness` as `tshark -2` shows it.
    pub completeness: u8,
}

/// Accumulates `tcp.completeness` over a conversation's segments.
#[derive(Copy, Clone, Debug, Default)]
pub struct Completeness {
    /// Bits set when the conversation was created.
    created: u8,
    bits: u8,
    segments: u64,
}

impl Completeness {
    /// The conversation's first segment. Only a pure SYN (no other flag, not even ECN's:
    /// linux_cooked_socket.dmp.gz) sets the SYN bit, with DATA when it carries payload (TCP
    /// Fast Open).
    pub fn new(first: &Segment) -> Completeness {
        let bits = if first.flags.0 == crate::decode::TcpFlags::SYN {
            SYN | if first.payload_len > 0 { DATA } else { 0 }
        } else {
            0
        };
        Completeness { created: bits, bits, segments: 0 }
    }

    pub fn observe(&mut self, seg: &Segment) {
        self.segments += 1;
        let f = seg.flags;
        if f.syn() && f.ack() {
            self.bits |= SYN_ACK;
        }
        if f.ack() && !f.syn() {
            self.bits |= if seg.payload_len > 0 { DATA } else { ACK };
        }
        // A bare FIN (no ACK) sets nothing.
        if f.fin() && f.ack() {
            self.bits |= FIN;
        }
        if f.rst() {
            self.bits |= RST;
        }
    }

    /// TShark 4.0 (`-2`) shows a one-segment conversation with its creation bits only (a
    /// lone RST or SYN-ACK reads 0, a lone SYN 1): measured on the public traces.
    pub fn finish(self, tcp_stream: u64) -> Wireshark {
        Wireshark { tcp_stream, completeness: if self.segments <= 1 { self.created } else { self.bits } }
    }
}
