//! The flow table's key: the 4-tuple with the smaller address first, so both directions of a
//! connection find the same entry.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use crate::decode::Segment;

/// Addresses as 16 bytes (IPv4 in the low four) with a family flag, ports apart: 38 bytes
/// instead of two 32-byte `SocketAddr`s. The table stores a key per connection and every
/// timer carries one, so this is most of their size; it also compares and hashes as a few
/// machine words. Only lookups use it: connections keep their own `SocketAddr`s.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    addrs: [[u8; 16]; 2],
    ports: [u16; 2],
    v6: bool,
}

fn bytes(addr: &SocketAddr) -> [u8; 16] {
    match addr {
        SocketAddr::V4(a) => u128::from(a.ip().to_bits()).to_le_bytes(),
        SocketAddr::V6(a) => a.ip().octets(),
    }
}

impl Key {
    /// The key and whether the segment goes from the key's first address to its second.
    ///
    /// The order is the key's own (address bytes, then port), not `SocketAddr`'s: comparing
    /// the bytes already built costs a few instructions where `SocketAddr`'s enum comparison
    /// cost dozens, once per segment.
    pub(crate) fn of(seg: &Segment) -> (Key, bool) {
        let (src, dst) = (bytes(&seg.src), bytes(&seg.dst));
        let (sp, dp) = (seg.src.port(), seg.dst.port());
        let forward = (u128::from_le_bytes(src), sp) <= (u128::from_le_bytes(dst), dp);
        // A capture can mix families only across connections: a segment's two ends share one.
        let v6 = seg.src.is_ipv6();
        let key = if forward {
            Key { addrs: [src, dst], ports: [sp, dp], v6 }
        } else {
            Key { addrs: [dst, src], ports: [dp, sp], v6 }
        };
        (key, forward)
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [a, b] = self.addrs;
        state.write_u128(u128::from_le_bytes(a));
        state.write_u128(u128::from_le_bytes(b));
        state.write_u64(u64::from(self.ports[0]) << 32 | u64::from(self.ports[1]) << 8 | u64::from(self.v6));
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::decode::segment::{TcpFlags, TcpOptions};
    use crate::tcp::seq::SeqNum;

    /// A bare ACK from `src` to `dst`: all the key looks at.
    pub(in crate::flow) fn seg(src: &str, dst: &str) -> Segment {
        Segment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq: SeqNum(0),
            ack: SeqNum(0),
            flags: TcpFlags(0x10),
            window: 0,
            payload_len: 0,
            options: TcpOptions::default(),
        }
    }

    fn hash(k: Key) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::with_seed(7).hash_one(k)
    }

    #[test]
    fn both_directions_share_one_key() {
        let (a, fa) = Key::of(&seg("10.0.0.1:4000", "10.0.0.2:80"));
        let (b, fb) = Key::of(&seg("10.0.0.2:80", "10.0.0.1:4000"));
        assert_eq!(a, b);
        assert_eq!(hash(a), hash(b));
        assert_ne!(fa, fb);
    }

    #[test]
    fn a_key_is_small() {
        assert!(std::mem::size_of::<Key>() <= 38);
    }

    #[test]
    fn ports_and_families_hash_apart() {
        let v4 = Key::of(&seg("10.0.0.1:4000", "10.0.0.2:80")).0;
        let other_port = Key::of(&seg("10.0.0.1:4001", "10.0.0.2:80")).0;
        let v6 = Key::of(&seg("[::ffff:10.0.0.1]:4000", "[::ffff:10.0.0.2]:80")).0;
        let low = Key::of(&seg("[::a00:1]:4000", "[::a00:2]:80")).0;
        assert_ne!(hash(v4), hash(other_port));
        assert_ne!(hash(v4), hash(v6));
        assert_ne!(v4, low, "an IPv6 address whose low bytes spell an IPv4 one is another key");
    }
}
