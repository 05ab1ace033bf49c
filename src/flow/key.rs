//! The flow table's key: the 4-tuple with the smaller address first, so both directions of a
//! connection find the same entry.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use crate::decode::Segment;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key(SocketAddr, SocketAddr);

impl Key {
    /// The key and whether the segment goes from `Key.0` to `Key.1`.
    pub(crate) fn of(seg: &Segment) -> (Key, bool) {
        if seg.src <= seg.dst {
            (Key(seg.src, seg.dst), true)
        } else {
            (Key(seg.dst, seg.src), false)
        }
    }
}

/// The derived `Hash` of a `SocketAddr` feeds the hasher the enum tag, every address byte,
/// the port and (for IPv6) flow label and scope one call at a time; the table hashes a key
/// for every segment, so this writes each endpoint as one or two machine words instead.
/// Equal keys still hash equally: the words are taken from fields `Eq` compares.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for addr in [self.0, self.1] {
            match addr {
                SocketAddr::V4(a) => state.write_u64(u64::from(a.ip().to_bits()) << 16 | u64::from(a.port())),
                SocketAddr::V6(a) => {
                    state.write_u128(a.ip().to_bits());
                    state.write_u64(u64::from(a.port()) << 32 | u64::from(a.scope_id()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::segment::{TcpFlags, TcpOptions};
    use crate::tcp::seq::SeqNum;

    fn seg(src: &str, dst: &str) -> Segment {
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
    fn ports_and_families_hash_apart() {
        let v4 = Key::of(&seg("10.0.0.1:4000", "10.0.0.2:80")).0;
        let other_port = Key::of(&seg("10.0.0.1:4001", "10.0.0.2:80")).0;
        let v6 = Key::of(&seg("[::ffff:10.0.0.1]:4000", "[::ffff:10.0.0.2]:80")).0;
        assert_ne!(hash(v4), hash(other_port));
        assert_ne!(hash(v4), hash(v6));
    }
}
