//! The RFC 9293 state machine as an observer sees it: one `match (state, event)` holding every
//! arc of the §3.3.2 diagram (Figure 5) plus the reset and timer arcs of §3.10.7.
//!
//! Events are what the capture can show of one endpoint: a segment it sent, a segment it
//! received (already classified against what it sent: does this ACK cover our SYN? our FIN?),
//! or a timer. [`next`] is pure; [`super::endpoint::Endpoint`] classifies segments and records.

use std::fmt;

use super::state::State;

/// How the endpoint opened: RFC 9293 returns a passively opened connection to LISTEN on a
/// RST in SYN_RCVD, an actively opened one to CLOSED.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Open {
    Active,
    Passive,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// Sent a SYN without ACK.
    SndSyn,
    /// Sent a SYN,ACK.
    SndSynAck,
    /// Sent a FIN (the first one: retransmissions are classified as [`Event::SndFinAgain`]).
    SndFin,
    /// Sent our FIN again: a retransmission.
    SndFinAgain,
    /// Sent a segment with none of SYN, FIN, RST: an ACK and maybe data.
    SndAck,
    SndRst,
    /// Received a SYN without ACK.
    RcvSyn,
    /// Received a SYN,ACK that acknowledges our SYN.
    RcvSynAck,
    /// Received an ACK covering our SYN.
    RcvAckOfSyn,
    /// Received the peer's FIN for the first time, not acknowledging a FIN of ours.
    RcvFin,
    /// Received an ACK covering our FIN (no new FIN in it).
    RcvAckOfFin,
    /// Received the peer's first FIN in a segment that also acknowledges ours.
    RcvFinAckOfFin,
    /// Received a segment that changes nothing here: data, a duplicate ACK, a retransmitted
    /// FIN, an old SYN.
    RcvOther,
    /// Received an acceptable RST.
    RcvRst,
    /// The 2·MSL TIME_WAIT timer expired.
    TimeWaitTimeout,
    /// A new connection on the same 4-tuple took over (a SYN accepted in TIME_WAIT).
    Reincarnation,
}

impl Event {
    pub const ALL: [Event; 16] = [
        Event::SndSyn,
        Event::SndSynAck,
        Event::SndFin,
        Event::SndFinAgain,
        Event::SndAck,
        Event::SndRst,
        Event::RcvSyn,
        Event::RcvSynAck,
        Event::RcvAckOfSyn,
        Event::RcvFin,
        Event::RcvAckOfFin,
        Event::RcvFinAckOfFin,
        Event::RcvOther,
        Event::RcvRst,
        Event::TimeWaitTimeout,
        Event::Reincarnation,
    ];

    pub fn is_send(self) -> bool {
        matches!(
            self,
            Event::SndSyn | Event::SndSynAck | Event::SndFin | Event::SndFinAgain | Event::SndAck | Event::SndRst
        )
    }
}

/// The labels of the RFC figure: `event / action`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Event::SndSyn => "snd SYN",
            Event::SndSynAck => "rcv SYN / snd SYN,ACK",
            Event::SndFin => "close / snd FIN",
            Event::SndFinAgain => "snd FIN again",
            Event::SndAck => "snd ACK",
            Event::SndRst => "snd RST",
            Event::RcvSyn => "rcv SYN / snd SYN,ACK",
            Event::RcvSynAck => "rcv SYN,ACK / snd ACK",
            Event::RcvAckOfSyn => "rcv ACK of SYN",
            Event::RcvFin => "rcv FIN / snd ACK",
            Event::RcvAckOfFin => "rcv ACK of FIN",
            Event::RcvFinAckOfFin => "rcv FIN,ACK / snd ACK",
            Event::RcvOther => "rcv segment",
            Event::RcvRst => "rcv RST",
            Event::TimeWaitTimeout => "timeout = 2MSL",
            Event::Reincarnation => "new SYN on 4-tuple",
        })
    }
}

/// The state `event` moves an endpoint in `state` to, or `None` if this event changes nothing
/// there (retransmissions, data, and events that cannot happen in that state).
///
/// Read from [`NEXT`], the table [`arc`] fills at compile time: an endpoint asks two or three
/// times a segment, and the lookup is one load where the `match` cost about a dozen
/// instructions each time.
pub fn next(state: State, event: Event, open: Open) -> Option<State> {
    NEXT[open as usize][state as usize][event as usize]
}

/// [`arc`] for every open, state and event, indexed by their discriminants.
const NEXT: [[[Option<State>; Event::ALL.len()]; State::ALL.len()]; 2] = {
    let mut table = [[[None; Event::ALL.len()]; State::ALL.len()]; 2];
    let mut s = 0;
    while s < State::ALL.len() {
        // The lookups index by discriminant: the lists must be in declaration order.
        assert!(State::ALL[s] as usize == s);
        let mut e = 0;
        while e < Event::ALL.len() {
            assert!(Event::ALL[e] as usize == e);
            table[Open::Active as usize][s][e] = arc(State::ALL[s], Event::ALL[e], Open::Active);
            table[Open::Passive as usize][s][e] = arc(State::ALL[s], Event::ALL[e], Open::Passive);
            e += 1;
        }
        s += 1;
    }
    table
};

/// The diagram itself: every arc, as [`next`] answers it.
const fn arc(state: State, event: Event, open: Open) -> Option<State> {
    use Event::*;
    use State::*;
    match (state, event) {
        // Opening (Figure 5, top half).
        (Closed, SndSyn) => Some(SynSent),
        // "SEND" in LISTEN: the listener turns active opener.
        (Listen, SndSyn) => Some(SynSent),
        (Listen, SndSynAck) => Some(SynRcvd),
        // Simultaneous open: each side receives the other's SYN while in SYN_SENT.
        (SynSent, RcvSyn) => Some(SynRcvd),
        // ... or we see it answer with SYN,ACK without having seen the SYN reach it.
        (SynSent, SndSynAck) => Some(SynRcvd),
        (SynSent, RcvSynAck) => Some(Established),
        (SynRcvd, RcvAckOfSyn) => Some(Established),
        // In a simultaneous open the peer's SYN,ACK also acknowledges our SYN.
        (SynRcvd, RcvSynAck) => Some(Established),
        // "rcv RST" in SYN_RCVD returns a passive open to LISTEN (§3.10.7.4).
        (SynRcvd, RcvRst) => Some(match open {
            Open::Passive => Listen,
            Open::Active => Closed,
        }),
        (SynSent, RcvRst) => Some(Closed),

        // Closing (Figure 5, bottom half).
        (Established, SndFin) | (SynRcvd, SndFin) => Some(FinWait1),
        (Established, RcvFin) | (SynRcvd, RcvFin) => Some(CloseWait),
        (CloseWait, SndFin) => Some(LastAck),
        (FinWait1, RcvAckOfFin) => Some(FinWait2),
        // Simultaneous close: the peer's FIN crosses ours.
        (FinWait1, RcvFin) => Some(Closing),
        // The peer's FIN and the ACK of ours in one segment.
        (FinWait1, RcvFinAckOfFin) => Some(TimeWait),
        (FinWait2, RcvFin) | (FinWait2, RcvFinAckOfFin) => Some(TimeWait),
        (Closing, RcvAckOfFin) | (Closing, RcvFinAckOfFin) => Some(TimeWait),
        (LastAck, RcvAckOfFin) | (LastAck, RcvFinAckOfFin) => Some(Closed),
        (TimeWait, TimeWaitTimeout) | (TimeWait, Reincarnation) => Some(Closed),

        // Aborts: a RST sent or accepted ends any connection that exists (§3.10.7.4).
        (SynSent | SynRcvd | Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck | TimeWait, SndRst) => {
            Some(Closed)
        }
        (Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck | TimeWait, RcvRst) => Some(Closed),

        // Everything else changes nothing: retransmissions (SYN in SYN_SENT, SYN,ACK in
        // SYN_RCVD, FIN in FIN_WAIT_1/CLOSING/LAST_ACK, FIN into TIME_WAIT), data and ACKs,
        // RSTs to a listener or a closed socket, SYNs to a listener before its SYN,ACK.
        (
            Closed | Listen | SynSent | SynRcvd | Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck
            | TimeWait,
            _,
        ) => None,
    }
}

/// Whether an endpoint in `state` can do or undergo `event` without changing state. A
/// segment that is neither an arc nor admissible contradicts our view of the endpoint: we
/// missed something (see `Endpoint`'s retraction and inference).
pub fn admissible(state: State, event: Event) -> bool {
    ADMISSIBLE[state as usize][event as usize]
}

/// [`admits`] for every state and event, like [`NEXT`].
const ADMISSIBLE: [[bool; Event::ALL.len()]; State::ALL.len()] = {
    let mut table = [[false; Event::ALL.len()]; State::ALL.len()];
    let mut s = 0;
    while s < State::ALL.len() {
        let mut e = 0;
        while e < Event::ALL.len() {
            table[s][e] = admits(State::ALL[s], Event::ALL[e]);
            e += 1;
        }
        s += 1;
    }
    table
};

const fn admits(state: State, event: Event) -> bool {
    use Event::*;
    use State::*;
    match event {
        SndSyn => matches!(state, SynSent),
        SndSynAck => matches!(state, SynRcvd),
        SndFinAgain => matches!(state, FinWait1 | Closing | LastAck),
        SndFin => false,
        SndAck => matches!(state, Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck | TimeWait),
        SndRst => matches!(state, Closed | Listen),
        RcvSyn => matches!(state, Listen | SynRcvd | Established | TimeWait | Closed),
        RcvSynAck => {
            matches!(state, Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck | TimeWait)
        }
        RcvAckOfSyn | RcvOther | RcvAckOfFin => true,
        RcvFin | RcvFinAckOfFin => matches!(state, CloseWait | Closing | LastAck | TimeWait),
        RcvRst => matches!(state, Closed | Listen),
        TimeWaitTimeout | Reincarnation => !matches!(state, TimeWait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    /// Declares one test per arc of the diagram, named after it, and the table of them all so
    /// that `every_arc_has_its_test` can prove nothing in `next` goes untested.
    macro_rules! arcs {
        ($($name:ident: $from:ident, $event:ident, $open:ident => $to:ident;)*) => {
            const ARCS: &[(State, Event, Open, State)] = &[$(($from, Event::$event, Open::$open, $to)),*];
            $(
                #[test]
                fn $name() {
                    assert_eq!(next($from, Event::$event, Open::$open), Some($to));
                }
            )*
        };
    }

    arcs! {
        test_closed_snd_syn: Closed, SndSyn, Active => SynSent;
        test_listen_snd_syn: Listen, SndSyn, Passive => SynSent;
        test_listen_snd_syn_ack: Listen, SndSynAck, Passive => SynRcvd;
        test_syn_sent_rcv_syn: SynSent, RcvSyn, Active => SynRcvd;
        test_syn_sent_snd_syn_ack: SynSent, SndSynAck, Active => SynRcvd;
        test_syn_sent_rcv_syn_ack: SynSent, RcvSynAck, Active => Established;
        test_syn_sent_rcv_rst: SynSent, RcvRst, Active => Closed;
        test_syn_sent_snd_rst: SynSent, SndRst, Active => Closed;
        test_syn_rcvd_rcv_ack_of_syn: SynRcvd, RcvAckOfSyn, Passive => Established;
        test_syn_rcvd_rcv_syn_ack: SynRcvd, RcvSynAck, Active => Established;
        test_syn_rcvd_rcv_rst_passive: SynRcvd, RcvRst, Passive => Listen;
        test_syn_rcvd_rcv_rst_active: SynRcvd, RcvRst, Active => Closed;
        test_syn_rcvd_snd_fin: SynRcvd, SndFin, Passive => FinWait1;
        test_syn_rcvd_rcv_fin: SynRcvd, RcvFin, Passive => CloseWait;
        test_syn_rcvd_snd_rst: SynRcvd, SndRst, Passive => Closed;
        test_established_snd_fin: Established, SndFin, Active => FinWait1;
        test_established_rcv_fin: Established, RcvFin, Active => CloseWait;
        test_established_snd_rst: Established, SndRst, Active => Closed;
        test_established_rcv_rst: Established, RcvRst, Active => Closed;
        test_fin_wait_1_rcv_ack_of_fin: FinWait1, RcvAckOfFin, Active => FinWait2;
        test_fin_wait_1_rcv_fin: FinWait1, RcvFin, Active => Closing;
        test_fin_wait_1_rcv_fin_ack_of_fin: FinWait1, RcvFinAckOfFin, Active => TimeWait;
        test_fin_wait_1_snd_rst: FinWait1, SndRst, Active => Closed;
        test_fin_wait_1_rcv_rst: FinWait1, RcvRst, Active => Closed;
        test_fin_wait_2_rcv_fin: FinWait2, RcvFin, Active => TimeWait;
        test_fin_wait_2_rcv_fin_ack_of_fin: FinWait2, RcvFinAckOfFin, Active => TimeWait;
        test_fin_wait_2_snd_rst: FinWait2, SndRst, Active => Closed;
        test_fin_wait_2_rcv_rst: FinWait2, RcvRst, Active => Closed;
        test_close_wait_snd_fin: CloseWait, SndFin, Active => LastAck;
        test_close_wait_snd_rst: CloseWait, SndRst, Active => Closed;
        test_close_wait_rcv_rst: CloseWait, RcvRst, Active => Closed;
        test_closing_rcv_ack_of_fin: Closing, RcvAckOfFin, Active => TimeWait;
        test_closing_rcv_fin_ack_of_fin: Closing, RcvFinAckOfFin, Active => TimeWait;
        test_closing_snd_rst: Closing, SndRst, Active => Closed;
        test_closing_rcv_rst: Closing, RcvRst, Active => Closed;
        test_last_ack_rcv_ack_of_fin: LastAck, RcvAckOfFin, Active => Closed;
        test_last_ack_rcv_fin_ack_of_fin: LastAck, RcvFinAckOfFin, Active => Closed;
        test_last_ack_snd_rst: LastAck, SndRst, Active => Closed;
        test_last_ack_rcv_rst: LastAck, RcvRst, Active => Closed;
        test_time_wait_timeout: TimeWait, TimeWaitTimeout, Active => Closed;
        test_time_wait_reincarnation: TimeWait, Reincarnation, Active => Closed;
        test_time_wait_snd_rst: TimeWait, SndRst, Active => Closed;
        test_time_wait_rcv_rst: TimeWait, RcvRst, Active => Closed;
    }

    #[test]
    fn every_arc_has_its_test() {
        for open in [Open::Active, Open::Passive] {
            for from in State::ALL {
                for event in Event::ALL {
                    if let Some(to) = next(from, event, open) {
                        let covered = ARCS.iter().any(|&(f, e, _, t)| f == from && e == event && t == to);
                        assert!(covered, "arc {from} --{event:?}--> {to} ({open:?}) has no test");
                    }
                }
            }
        }
    }

    #[test]
    fn retransmissions_change_nothing() {
        assert_eq!(next(SynSent, Event::SndSyn, Open::Active), None);
        assert_eq!(next(SynRcvd, Event::SndSynAck, Open::Passive), None);
        for st in [FinWait1, Closing, LastAck] {
            assert_eq!(next(st, Event::SndFinAgain, Open::Active), None);
            assert!(admissible(st, Event::SndFinAgain));
        }
        // A FIN retransmitted into TIME_WAIT is re-acknowledged without a transition.
        assert_eq!(next(TimeWait, Event::RcvOther, Open::Active), None);
    }

    #[test]
    fn a_listener_ignores_rst() {
        assert_eq!(next(Listen, Event::RcvRst, Open::Passive), None);
        assert_eq!(next(Closed, Event::RcvRst, Open::Active), None);
    }
}
