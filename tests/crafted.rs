//! Exchanges the Linux kernel cannot be made to do on cue, crafted with the pcap writer and
//! committed under fixtures/crafted/ (each with the expectation `tcpstate check` enforces):
//! simultaneous open, SYN_RCVD → LISTEN on a RST, a FIN lost before the capture point, and a
//! capture that starts at the SYN,ACK. The timelines asserted here are the RFC 9293 ones.

use std::path::PathBuf;

use tcpstate::tcp::state::State::{self, *};
use tcpstate::timeline::{Connection, Role};

use crate::pcapwriter::{addr, Capture, Pcap, Seg};
use crate::support::{repo, run};

fn dir() -> PathBuf {
    repo("fixtures/crafted")
}

/// (file name, capture bytes) of every crafted fixture.
fn generate() -> Vec<(&'static str, Vec<u8>)> {
    let (c, s) = (addr("192.0.2.1:5000"), addr("192.0.2.2:6000"));
    let pcap = Pcap::default();
    vec![
        (
            // Both ends send SYN; both answer with SYN,ACK before they have the other's.
            "simultaneous_open.pcap",
            Capture::new()
                .segment(Seg::syn(c, s).seq(100))
                .segment(Seg::syn(s, c).seq(500))
                .segment(Seg::syn_ack(s, c).seq(500).ack_no(101))
                .segment(Seg::syn_ack(c, s).seq(100).ack_no(501))
                .segment(Seg::ack(s, c).seq(501).ack_no(101))
                .segment(Seg::fin(c, s).seq(101).ack_no(501))
                .segment(Seg::fin(s, c).seq(501).ack_no(102))
                .segment(Seg::ack(c, s).seq(102).ack_no(502))
                .pcap(pcap),
        ),
        (
            // The client aborts the handshake: the listener's embryonic connection goes back
            // to LISTEN (RFC 9293 §3.10.7.4).
            "syn_rcvd_reset.pcap",
            Capture::new()
                .segment(Seg::syn(c, s).seq(100))
                .segment(Seg::syn_ack(s, c).seq(500).ack_no(101))
                .segment(Seg::rst(c, s).seq(101))
                .pcap(pcap),
        ),
        (
            // The client's FIN never reached the capture point; the server's ACK of it did.
            "fin_lost_before_capture.pcap",
            Capture::new()
                .segment(Seg::syn(c, s).seq(100))
                .segment(Seg::syn_ack(s, c).seq(500).ack_no(101))
                .segment(Seg::ack(c, s).seq(101).ack_no(501))
                .segment(Seg::ack(c, s).seq(101).ack_no(501).payload(10))
                .segment(Seg::ack(s, c).seq(501).ack_no(112))
                .segment(Seg::fin(s, c).seq(501).ack_no(112))
                .segment(Seg::ack(c, s).seq(112).ack_no(502))
                .pcap(pcap),
        ),
        (
            // The capture starts one segment late: the client's SYN is inferred.
            "starts_at_syn_ack.pcap",
            Capture::new()
                .segment(Seg::syn_ack(s, c).seq(500).ack_no(101))
                .segment(Seg::ack(c, s).seq(101).ack_no(501))
                .segment(Seg::fin(s, c).seq(501).ack_no(101))
                .segment(Seg::fin(c, s).seq(101).ack_no(502))
                .segment(Seg::ack(s, c).seq(502).ack_no(102))
                .pcap(pcap),
        ),
    ]
}

#[test]
fn committed_crafted_captures_equal_what_the_writer_makes() {
    let bless = std::env::var_os("TCPSTATE_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, bytes) in generate() {
        let path = dir().join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "rerun with TCPSTATE_BLESS=1 and review: {stale:?}");
}

/// (state, frame, inferred) of one endpoint, the state before the first frame included.
fn steps(c: &Connection, role: Role) -> Vec<(State, u64, bool)> {
    c.endpoints.get(role).timeline.iter().map(|t| (t.state, t.frame.map_or(0, |f| f.0), t.inferred)).collect()
}

fn only(name: &str) -> Connection {
    let (_, mut conns) = run(&dir().join(name));
    assert_eq!(conns.len(), 1, "{name}");
    conns.remove(0)
}

#[test]
fn simultaneous_open_passes_syn_rcvd_on_both_sides() {
    let c = only("simultaneous_open.pcap");
    assert_eq!(
        steps(&c, Role::Client),
        [
            (Closed, 0, false),
            (SynSent, 1, false),
            (SynRcvd, 2, false),
            (Established, 4, true),
            (FinWait1, 6, false),
            (TimeWait, 7, false)
        ]
    );
    assert_eq!(
        steps(&c, Role::Server),
        [
            (Closed, 0, false),
            (SynSent, 2, false),
            (SynRcvd, 3, false),
            (Established, 4, false),
            (CloseWait, 6, false),
            (LastAck, 7, false),
            (Closed, 8, false)
        ]
    );
}

#[test]
fn syn_rcvd_returns_to_listen_on_rst() {
    let c = only("syn_rcvd_reset.pcap");
    assert_eq!(steps(&c, Role::Server), [(Listen, 0, false), (SynRcvd, 2, false), (Listen, 3, false)]);
}

#[test]
fn a_fin_lost_before_the_capture_is_inferred_from_its_ack() {
    let c = only("fin_lost_before_capture.pcap");
    assert_eq!(steps(&c, Role::Client)[3..], [(FinWait1, 5, true), (FinWait2, 5, false), (TimeWait, 6, false)]);
    assert_eq!(steps(&c, Role::Server)[3..], [(CloseWait, 5, true), (LastAck, 6, false), (Closed, 7, false)]);
}

#[test]
fn a_capture_starting_at_the_syn_ack_infers_the_syn() {
    let c = only("starts_at_syn_ack.pcap");
    assert_eq!(c.client, addr("192.0.2.1:5000"));
    assert_eq!(
        steps(&c, Role::Client),
        [
            (Closed, 0, false),
            (SynSent, 1, true),
            (Established, 1, false),
            (CloseWait, 3, false),
            (LastAck, 4, false),
            (Closed, 5, false)
        ]
    );
    assert_eq!(steps(&c, Role::Server)[..3], [(Listen, 0, false), (SynRcvd, 1, false), (Established, 2, false)]);
}
