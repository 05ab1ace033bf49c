//! The tracker on hand-made segments: one rule per test.

use super::conn::Scaled;
use super::*;
use crate::decode::{TcpFlags, TcpOptions};
use crate::tcp::seq::SeqNum;

const C: &str = "10.0.0.1:40000";
const S: &str = "10.0.0.2:8080";

/// A segment from `from` to the other address.
fn seg(from: &str, flags: u8, seq: u32, ack: u32, len: u32) -> Segment {
    let to = if from == C { S } else { C };
    Segment {
        src: from.parse().unwrap(),
        dst: to.parse().unwrap(),
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags: TcpFlags(flags),
        window: 1000,
        payload_len: len,
        options: TcpOptions::default(),
    }
}

fn run(segs: &[Segment]) -> Vec<Zeek> {
    // Directions as the first segment's sender sees them: any fixed orientation will do.
    let forward = |s: &Segment| s.src == segs[0].src;
    let mut t = ZeekTracker::new(&segs[0], true, Timestamp(0));
    for (i, s) in segs.iter().enumerate() {
        t.observe(s, forward(s), Timestamp(i as i64 * 1_000_000));
    }
    t.finish([segs[0].src, segs[0].dst])
}

const SYN: u8 = TcpFlags::SYN;
const SA: u8 = TcpFlags::SYN | TcpFlags::ACK;
const A: u8 = TcpFlags::ACK;
const R: u8 = TcpFlags::RST;

#[test]
fn a_repeated_fin_adds_a_letter_only_when_its_sequence_number_moved() {
    let fa = TcpFlags::FIN | TcpFlags::ACK;
    let z = run(&[
        seg(C, SYN, 100, 0, 0),
        seg(S, SA, 500, 101, 0),
        seg(C, A, 101, 501, 0),
        seg(C, fa, 101, 501, 0),
        seg(C, fa, 101, 501, 0),
        seg(C, fa, 105, 501, 0),
    ]);
    assert_eq!((z[0].history.as_str(), z[0].conn_state), ("ShAFF", ConnState::S2));
}

#[test]
fn a_syn_with_a_new_isn_rebases_instead_of_adding_a_letter() {
    // init_endpoint re-initialises the sequence space (weird SYN_seq_jump), so the new
    // SYN's relative sequence number is 0 again, like the first one's.
    let z = run(&[seg(C, SYN, 100, 0, 0), seg(C, SYN, 900, 0, 0)]);
    assert_eq!((z[0].history.as_str(), z[0].conn_state), ("S", ConnState::S0));
}

#[test]
fn retransmissions_are_logged_at_the_1st_and_10th() {
    let mut segs =
        vec![seg(C, SYN, 100, 0, 0), seg(S, SA, 500, 101, 0), seg(C, A, 101, 501, 0), seg(C, A, 101, 501, 10)];
    segs.extend((0..10).map(|_| seg(C, A, 101, 501, 10)));
    let z = run(&segs);
    assert_eq!(z.len(), 1);
    assert_eq!(z[0].history, "ShADTT");
    assert_eq!(z[0].conn_state, ConnState::S1);
    assert_eq!((z[0].orig_pkts, z[0].resp_pkts), (13, 1));
}

#[test]
fn syn_then_rst_without_answer_is_rstos0_and_a_lone_rst_is_oth() {
    let z = run(&[seg(C, SYN, 100, 0, 0), seg(C, R, 101, 0, 0)]);
    assert_eq!((z[0].history.as_str(), z[0].conn_state), ("SR", ConnState::RSTOS0));
    let z = run(&[seg(C, R, 101, 0, 0)]);
    assert_eq!((z[0].history.as_str(), z[0].conn_state), ("R", ConnState::OTH));
}

#[test]
fn syn_ack_first_from_a_server_port_is_flipped_at_once() {
    let z = run(&[seg(S, SA, 500, 101, 0), seg(C, A, 101, 501, 0)]);
    // 8080 is a likely server port: Zeek's originator is the client.
    assert_eq!(z[0].history, "^hA");
    assert_eq!(z[0].orig.to_string(), C);
}

#[test]
fn rstos0_pattern_matches_zeeks_regex() {
    assert!(syn_then_rst("SR"));
    assert!(syn_then_rst("SaR"));
    assert!(syn_then_rst("^SdR"));
    assert!(!syn_then_rst("SaFR"));
    assert!(!syn_then_rst("R"));
    // Case matters: the responder's `h` is not excluded, the originator's `H` is.
    assert!(syn_then_rst("ShR"));
    assert!(!syn_then_rst("SHR"));
}

#[test]
fn scaled_letters_fire_at_1_10_100() {
    let mut s = Scaled::default();
    let at: Vec<u64> = (1..=150u64).filter(|_| s.hit()).collect();
    assert_eq!(at, vec![1, 10, 100]);
}

#[test]
fn every_conn_state_has_a_meaning() {
    for c in ConnState::ALL {
        assert!(!c.meaning().is_empty(), "{c}");
    }
}
