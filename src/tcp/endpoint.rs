//! One endpoint's state machine, driven by the segments it sends and receives.
//!
//! The endpoint keeps what it needs to classify a segment into an [`Event`] (its ISN, the
//! sequence number of its FIN, how far it has received), runs [`next`], and records every
//! change through one place, [`Endpoint::set_state`].
//!
//! A capture point is not the endpoint: a segment captured on its way may still be lost
//! before it arrives, and one lost before the capture point never shows. Two rules keep the
//! timeline honest about that:
//! - *retraction*: when an endpoint sends what its state forbids (a FIN retransmitted after
//!   its FIN was acknowledged), the receive that took it there never happened; undo it.
//! - *inference*: when a segment only makes sense after an unseen step (a SYN,ACK answered by
//!   an endpoint whose SYN we never saw), add that step, marked `inferred`.

use super::machine::{admissible, next, Event, Open};
use super::seq::SeqNum;
use super::state::State;
use crate::decode::{Segment, TcpFlags};
use crate::frame::{Duration, FrameNo, Timestamp};
use crate::timeline::{Cause, EndpointTimeline, Initial, NoteKind, Transition};

/// Where and when a segment was seen.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub ts: Timestamp,
    pub frame: FrameNo,
}

/// Events an unseen segment could have caused, in the order we try them as explanations.
const UNSEEN: [Event; 6] =
    [Event::SndSyn, Event::RcvSynAck, Event::SndSynAck, Event::RcvAckOfSyn, Event::RcvFin, Event::RcvAckOfFin];

/// Timeline entries room is made for up front: a whole open and close is six or seven
/// (CLOSED, SYN_SENT, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT, CLOSED), so most
/// connections never grow their timelines, where growing from one entry cost two
/// reallocations per endpoint, about a quarter of a connection's allocations. Not eight:
/// the eighth entry would cost 4 MB at the large corpus's peak and serve few connections.
const STEPS: usize = 7;

#[derive(Clone, Debug)]
pub struct Endpoint {
    state: State,
    open: Open,
    /// Our initial sequence number, from the SYN or SYN,ACK we sent (or the peer's ACK of it).
    iss: Option<SeqNum>,
    /// Sequence number of our FIN.
    fin_seq: Option<SeqNum>,
    /// The highest sequence number we have sent up to (exclusive).
    snd_max: Option<SeqNum>,
    /// Our best estimate of RCV.NXT: the end of what the peer sent, or what we acknowledged.
    rcv_nxt: Option<SeqNum>,
    /// The peer's FIN sequence number, once received.
    peer_fin: Option<SeqNum>,
    /// A peer FIN seen on the wire whose receipt our own ACKs later denied: it was still in
    /// flight. The first ACK of ours that covers it shows when it arrived. Boxed: it is rare,
    /// and inline it made every open connection 128 bytes heavier (6 MB on the large corpus).
    peer_fin_in_flight: Option<Box<InFlight>>,
    time_wait: Duration,
    tw_deadline: Option<Timestamp>,
    timeline: Vec<Transition>,
    /// The event behind each timeline entry (`None` for the initial one), so a retracted
    /// receive can be replayed when it turns out to have been in flight, not lost.
    events: Vec<Option<Event>>,
    sent_syn: bool,
    sent_syn_ack: bool,
    /// Window scale we announced in our SYN, and the peer's; scaling applies only if both did.
    wscale_sent: Option<u8>,
    wscale_rcvd: Option<u8>,
    /// The receive window we last advertised, scaled: how far ahead an acceptable RST may be.
    rcv_wnd: Option<u32>,
    /// Whether new data came from the peer after our FIN, and whether we answered with RST.
    after_close: AfterClose,
    /// Notes for the connection, drained by the flow table.
    pub(crate) notes: Vec<(FrameNo, NoteKind)>,
    /// Counts changes of state or timeline: one comparison tells the flow table that a
    /// segment moved nothing, as most do, so it need not re-check timers and finishing.
    changes: u32,
}

/// New data from the peer after our FIN is legal (we only shut down writing), but a socket
/// its application has closed cannot deliver it, and answers with RST (RFC 1122 §4.2.2.13):
/// the RST that follows such data says why the connection was reset.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum AfterClose {
    Quiet,
    DataCame,
    Reset,
}

/// A peer FIN whose receipt an ACK of ours denied, with the step its receipt had caused.
#[derive(Copy, Clone, Debug)]
struct InFlight {
    fin: SeqNum,
    event: Event,
    step: Transition,
    /// The timeline's length once the step was taken back: longer means the endpoint moved.
    steps: usize,
    /// The frame of the denying ACK: the retraction's note goes there, if the step does not
    /// stand after all.
    denied_at: FrameNo,
}

impl Endpoint {
    pub fn new(initial: State, why: Initial, ts: Timestamp, time_wait: Duration) -> Endpoint {
        let mut ep = Endpoint {
            state: initial,
            open: if initial == State::Listen { Open::Passive } else { Open::Active },
            iss: None,
            fin_seq: None,
            snd_max: None,
            rcv_nxt: None,
            peer_fin: None,
            peer_fin_in_flight: None,
            time_wait,
            tw_deadline: None,
            events: Vec::with_capacity(STEPS),
            sent_syn: false,
            sent_syn_ack: false,
            wscale_sent: None,
            wscale_rcvd: None,
            rcv_wnd: None,
            after_close: AfterClose::Quiet,
            timeline: Vec::with_capacity(STEPS),
            notes: Vec::new(),
            changes: 0,
        };
        ep.events.push(None);
        ep.timeline.push(Transition {
            state: initial,
            ts,
            frame: None,
            cause: Cause::Initial(why),
            inferred: why == Initial::MidStream,
        });
        ep
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Changes so far: equal before and after a segment when it changed nothing.
    pub fn changes(&self) -> u32 {
        self.changes
    }

    pub fn time_wait_deadline(&self) -> Option<Timestamp> {
        self.tw_deadline.filter(|_| self.state == State::TimeWait)
    }

    pub fn has_sent_fin(&self) -> bool {
        self.fin_seq.is_some()
    }

    pub fn timeline(&self) -> &[Transition] {
        &self.timeline
    }

    pub fn into_timeline(self) -> EndpointTimeline {
        EndpointTimeline { final_state: self.state, timeline: self.timeline }
    }

    /// The one place a state changes.
    fn set_state(&mut self, to: State, at: Transition) {
        debug_assert_eq!(to, at.state);
        if to == State::TimeWait {
            self.tw_deadline = Some(at.ts.saturating_add(self.time_wait));
        }
        if to == State::SynRcvd && self.state == State::Listen {
            self.open = Open::Passive;
        }
        self.state = to;
        self.timeline.push(at);
        self.changes = self.changes.wrapping_add(1);
    }

    fn pop_step(&mut self) -> Option<(Event, Transition)> {
        if self.timeline.len() < 2 {
            return None;
        }
        let t = self.timeline.pop()?;
        let e = self.events.pop().flatten();
        self.state = self.timeline[self.timeline.len() - 1].state;
        self.changes = self.changes.wrapping_add(1);
        e.map(|e| (e, t))
    }

    /// Applies `event`; returns whether the state changed.
    fn apply(&mut self, event: Event, cause: Cause, ts: Timestamp, frame: Option<FrameNo>, inferred: bool) -> bool {
        match next(self.state, event, self.open) {
            Some(to) => {
                self.set_state(to, Transition { state: to, ts, frame, cause, inferred });
                self.events.push(Some(event));
                true
            }
            None => false,
        }
    }

    /// Handles an event seen in the capture, after trying retraction and inference if the
    /// event contradicts the current state.
    ///
    /// A first-time send that contradicts a receive (a SYN,ACK sent after the peer's SYN,ACK
    /// was taken as received) means the two segments crossed: the receive is replayed after
    /// the send. A retransmission that contradicts one means the received segment was lost.
    #[inline]
    fn observe(&mut self, event: Event, flags: TcpFlags, at: At, first_time: bool) {
        if next(self.state, event, self.open).is_none() && admissible(self.state, event) {
            // Most segments: data or an ACK that moves nothing and contradicts nothing.
            return;
        }
        self.observe_change(event, flags, at, first_time);
    }

    /// [`Endpoint::observe`] for an event that moves or contradicts the state: kept out of
    /// line, so the common case above costs no stack frame for the retraction machinery.
    #[inline(never)]
    fn observe_change(&mut self, event: Event, flags: TcpFlags, at: At, first_time: bool) {
        let cause = if event.is_send() { Cause::Sent(flags.control()) } else { Cause::Received(flags.control()) };
        let mut retracted = Vec::new();
        if next(self.state, event, self.open).is_none() && !admissible(self.state, event) {
            retracted = self.retract_for(event, at);
        }
        if next(self.state, event, self.open).is_none() && !admissible(self.state, event) {
            self.infer_for(event, at);
        }
        self.apply(event, cause, at.ts, Some(at.frame), false);
        if first_time {
            for (e, t) in retracted.into_iter().rev() {
                self.apply(e, t.cause, at.ts, Some(at.frame), true);
            }
        }
    }

    /// Undo receive-caused steps while `event` contradicts the state they led to but fits the
    /// state before: the segment was captured but never reached this endpoint.
    /// Returns the steps taken back, latest first.
    fn retract_for(&mut self, event: Event, at: At) -> Vec<(Event, Transition)> {
        let mut popped = Vec::new();
        if !event.is_send() {
            return popped;
        }
        while self.timeline.len() > 1 {
            let last = self.timeline[self.timeline.len() - 1];
            let prev = self.timeline[self.timeline.len() - 2].state;
            let received = matches!(last.cause, Cause::Received(_));
            let fits_prev = next(prev, event, self.open).is_some() || admissible(prev, event);
            if !received || !fits_prev {
                break;
            }
            let Some(step) = self.pop_step() else { break };
            popped.push(step);
            self.notes.push((at.frame, NoteKind::StepRetracted));
            if next(self.state, event, self.open).is_some() || admissible(self.state, event) {
                break;
            }
        }
        popped
    }

    /// Add the unseen step(s) — at most two — that make `event` possible. A connection that
    /// has ended stays ended: nothing is inferred out of a CLOSED reached by a transition.
    fn infer_for(&mut self, event: Event, at: At) {
        if self.state == State::TimeWait || (self.state == State::Closed && self.timeline.len() > 1) {
            return;
        }
        let fits = |s: State| next(s, event, Open::Active).is_some() || admissible(s, event);
        for u1 in UNSEEN {
            let Some(s1) = next(self.state, u1, self.open) else {
                continue;
            };
            if fits(s1) {
                self.apply(u1, unseen_cause(u1), at.ts, Some(at.frame), true);
                return;
            }
        }
        for u1 in UNSEEN {
            let Some(s1) = next(self.state, u1, self.open) else {
                continue;
            };
            for u2 in UNSEEN {
                let Some(s2) = next(s1, u2, self.open) else {
                    continue;
                };
                if fits(s2) {
                    self.apply(u1, unseen_cause(u1), at.ts, Some(at.frame), true);
                    self.apply(u2, unseen_cause(u2), at.ts, Some(at.frame), true);
                    return;
                }
            }
        }
    }

    /// A segment this endpoint sent. Its ACK field says what it had received by then.
    pub fn on_send(&mut self, seg: &Segment, at: At) {
        let f = seg.flags;
        let end = seg.seq_end();
        if f.ack() && !f.rst() {
            self.check_fin_receipt(seg.ack, at);
        }
        if f.ack() {
            self.rcv_nxt = Some(self.rcv_nxt.map_or(seg.ack, |r| r.max(seg.ack)));
        }
        if f.syn() && !f.ack() && self.state == State::Listen && self.timeline.len() == 1 {
            // A "server" that sends its own SYN is an active opener (simultaneous open).
            self.reinitialize(State::Closed, Initial::Closed);
        }
        let mut first_time = true;
        let event = if f.rst() {
            if self.after_close == AfterClose::DataCame {
                self.after_close = AfterClose::Reset;
                self.notes.push((at.frame, NoteKind::ResetForDataAfterClose));
            }
            if self.state == State::Listen && self.timeline.len() == 1 {
                // A "server" that answers with RST had no listener: its whole timeline is CLOSED.
                self.reinitialize(State::Closed, Initial::NoListener);
            }
            Event::SndRst
        } else if f.syn() {
            let sent_before = if f.ack() { self.sent_syn_ack } else { self.sent_syn };
            if sent_before && self.iss == Some(seg.seq) {
                first_time = false;
                let kind = if f.ack() { NoteKind::SynAckRetransmitted } else { NoteKind::SynRetransmitted };
                self.notes.push((at.frame, kind));
            }
            self.iss = Some(seg.seq);
            self.wscale_sent = seg.options.window_scale;
            if f.ack() {
                self.sent_syn_ack = true;
                Event::SndSynAck
            } else {
                self.sent_syn = true;
                Event::SndSyn
            }
        } else if f.fin() {
            let fin_at = seg.seq.plus(seg.payload_len);
            match self.fin_seq {
                Some(_) => {
                    first_time = false;
                    self.notes.push((at.frame, NoteKind::FinRetransmitted));
                    Event::SndFinAgain
                }
                None => {
                    self.fin_seq = Some(fin_at);
                    Event::SndFin
                }
            }
        } else {
            if let Some(fin) = self.fin_seq {
                if seg.payload_len > 0 && seg.seq.plus(seg.payload_len) > fin {
                    self.notes.push((at.frame, NoteKind::DataAfterFin));
                }
            }
            Event::SndAck
        };
        self.snd_max = Some(self.snd_max.map_or(end, |m| m.max(end)));
        if !f.syn() {
            let shift = match (self.wscale_sent, self.wscale_rcvd) {
                (Some(ours), Some(_)) => u32::from(ours.min(14)),
                _ => 0,
            };
            self.rcv_wnd = Some(u32::from(seg.window) << shift);
        }
        if event == Event::SndAck && self.state == State::Closed {
            first_time = false;
        }
        self.observe(event, f, at, first_time);
    }

    /// A segment the peer sent, assumed received (see retraction).
    pub fn on_receive(&mut self, seg: &Segment, at: At) {
        let f = seg.flags;
        if let Some(in_flight) = self.peer_fin_in_flight.take() {
            // Segments of one direction arrive in the order they were sent: a FIN still in
            // flight has arrived before anything its sender sent after it.
            self.fin_arrived(*in_flight, at, false);
        }
        let event = if f.rst() {
            if self.rst_acceptable(seg) {
                Event::RcvRst
            } else {
                self.notes.push((at.frame, NoteKind::RstIgnored));
                Event::RcvOther
            }
        } else if f.syn() {
            if f.ack() && self.acks_syn(seg) {
                Event::RcvSynAck
            } else if f.ack() && self.iss.is_none() && matches!(self.state, State::Closed) {
                // Our SYN was not captured; its SYN,ACK names it.
                self.iss = Some(seg.ack.minus(1));
                Event::RcvSynAck
            } else if !f.ack() {
                self.wscale_rcvd = seg.options.window_scale;
                Event::RcvSyn
            } else {
                Event::RcvOther
            }
        } else {
            let acks_fin = f.ack() && self.fin_seq.is_some_and(|fin| seg.ack.diff(fin) >= 1);
            let new_fin = f.fin() && self.peer_fin.is_none();
            if new_fin {
                self.peer_fin = Some(seg.seq.plus(seg.payload_len));
                self.peer_fin_in_flight = None;
            } else if f.fin() && self.state == State::TimeWait {
                // Our last ACK was lost; the FIN restarts the 2MSL timer (§3.10.7.4).
                self.notes.push((at.frame, NoteKind::FinIntoTimeWait));
                self.tw_deadline = Some(at.ts.saturating_add(self.time_wait));
            }
            match (new_fin, acks_fin) {
                (true, true) => Event::RcvFinAckOfFin,
                (true, false) => Event::RcvFin,
                (false, true) => Event::RcvAckOfFin,
                _ if self.acks_syn(seg) => Event::RcvAckOfSyn,
                _ => Event::RcvOther,
            }
        };
        // A FIN can also complete our handshake (SYN_RCVD → ESTABLISHED → CLOSE_WAIT).
        if self.state == State::SynRcvd && matches!(event, Event::RcvFin | Event::RcvFinAckOfFin) && self.acks_syn(seg)
        {
            self.observe(Event::RcvAckOfSyn, f, at, true);
        }
        let end = seg.seq_end();
        if !f.rst() {
            if self.fin_seq.is_some()
                && self.after_close == AfterClose::Quiet
                && seg.payload_len > 0
                && self.rcv_nxt.map_or(true, |r| seg.seq.plus(seg.payload_len) > r)
            {
                self.after_close = AfterClose::DataCame;
            }
            self.rcv_nxt = Some(self.rcv_nxt.map_or(end, |r| r.max(end)));
        }
        self.observe(event, f, at, true);
    }

    /// Whether an ACK of `ack` from the peer covers a FIN of ours that the capture did not show:
    /// exactly one beyond all we sent, while we have data out and no FIN seen.
    pub fn fin_implied_by(&self, ack: SeqNum) -> bool {
        self.fin_seq.is_none()
            && matches!(self.state, State::Established | State::CloseWait)
            && self.snd_max.is_some_and(|m| ack == m.plus(1))
    }

    /// Our FIN, sent at sequence number SND.MAX but lost before the capture point.
    pub fn infer_sent_fin(&mut self, at: At) {
        if let Some(m) = self.snd_max {
            self.fin_seq = Some(m);
            self.snd_max = Some(m.plus(1));
            self.apply(Event::SndFin, unseen_cause(Event::SndFin), at.ts, Some(at.frame), true);
        }
    }

    /// The peer's FIN at `fin`, never captured, but acknowledged by the segment we are sending.
    pub fn infer_received_fin(&mut self, fin: SeqNum, at: At) {
        if self.peer_fin.is_none() {
            self.peer_fin = Some(fin);
            self.rcv_nxt = Some(self.rcv_nxt.map_or(fin.plus(1), |r| r.max(fin.plus(1))));
            self.apply(Event::RcvFin, unseen_cause(Event::RcvFin), at.ts, Some(at.frame), true);
        }
    }

    /// Replaces the state before the first frame, when the endpoint's first segment shows it
    /// was not what its role suggested (no listener; an active opener on the "server" side).
    fn reinitialize(&mut self, state: State, why: Initial) {
        self.timeline[0].state = state;
        self.timeline[0].cause = Cause::Initial(why);
        self.state = state;
        self.open = if state == State::Listen { Open::Passive } else { Open::Active };
        self.changes = self.changes.wrapping_add(1);
    }

    /// An ACK we send either covers the peer's FIN or shows it had not arrived yet: the FIN
    /// crossed ours in flight (simultaneous close seen from the other side's capture point).
    fn check_fin_receipt(&mut self, ack: SeqNum, at: At) {
        if let Some(fin) = self.peer_fin {
            let last = self.timeline[self.timeline.len() - 1];
            let by_fin = matches!(last.cause, Cause::Received(flags) if flags.fin());
            if ack.diff(fin) < 1 && by_fin && self.timeline.len() > 1 {
                if let Some((event, step)) = self.pop_step() {
                    let steps = self.timeline.len();
                    self.peer_fin_in_flight = Some(Box::new(InFlight { fin, event, step, steps, denied_at: at.frame }));
                }
                self.peer_fin = None;
            }
        } else if let Some(fin) = self.peer_fin_in_flight.as_ref().map(|f| f.fin) {
            if ack.diff(fin) >= 1 {
                if let Some(in_flight) = self.peer_fin_in_flight.take() {
                    self.fin_arrived(*in_flight, at, true);
                }
            }
        }
    }

    /// The frame of an ACK of ours that denied the peer's FIN, if no later segment settled
    /// when it arrived: the FIN's step stays taken back, and the connection's notes say so.
    pub fn fin_denied_at(&self) -> Option<FrameNo> {
        self.peer_fin_in_flight.as_ref().map(|f| f.denied_at)
    }

    /// The peer's FIN, taken back as still in flight, has arrived by `at`. When an ACK of ours
    /// covers it (`acked`) and this endpoint has not moved since, the FIN was only overtaken by
    /// an ACK that left just before it came in (a quick ACK of the data in front of it; the
    /// FIN's own ACK is delayed): its step stands where it was first taken, on the FIN's own
    /// frame. Had it been lost, the peer's retransmission would have been captured before
    /// any ACK could cover it, and settled it here with `acked` false. Otherwise (lost, or
    /// crossed by our own FIN) it arrived after the ACK that denied it, at `at` at the latest.
    fn fin_arrived(&mut self, in_flight: InFlight, at: At, acked: bool) {
        self.peer_fin = Some(in_flight.fin);
        let InFlight { event, step, steps, denied_at, .. } = in_flight;
        let unmoved = self.timeline.len() == steps && next(self.state, event, self.open) == Some(step.state);
        if acked && unmoved {
            self.apply(event, step.cause, step.ts, step.frame, step.inferred);
        } else {
            self.notes.push((denied_at, NoteKind::StepRetracted));
            self.apply(Event::RcvFin, unseen_cause(Event::RcvFin), at.ts, Some(at.frame), true);
        }
    }

    /// Fires the TIME_WAIT timer if it is due at `now`.
    pub fn on_timer(&mut self, now: Timestamp) {
        if let Some(deadline) = self.time_wait_deadline() {
            if deadline <= now {
                self.apply(Event::TimeWaitTimeout, Cause::TimeWaitExpired, deadline, None, false);
            }
        }
    }

    /// A new incarnation of the 4-tuple began while this endpoint was in TIME_WAIT.
    pub fn on_reincarnation(&mut self, at: At) {
        self.apply(Event::Reincarnation, Cause::Reincarnated, at.ts, Some(at.frame), false);
    }

    /// Whether the segment acknowledges our SYN and nothing we have not sent: an ACK in
    /// (ISS, SND.MAX] — more than ISS+1 only when the SYN carried data (TCP Fast Open).
    /// Whether `seg`, about to be sent, re-sends what this endpoint already sent: the same SYN
    /// or SYN,ACK again, or sequence space below SND.MAX. (A SYN,ACK that follows our own SYN in
    /// a simultaneous open carries the same ISN but is no retransmission.)
    pub fn is_retransmission(&self, seg: &Segment) -> bool {
        let f = seg.flags;
        if f.syn() {
            let sent = if f.ack() { self.sent_syn_ack } else { self.sent_syn };
            return sent && self.iss == Some(seg.seq);
        }
        seg.seq_len() > 0 && self.snd_max.is_some_and(|m| seg.seq < m)
    }

    fn acks_syn(&self, seg: &Segment) -> bool {
        let (Some(iss), true) = (self.iss, seg.flags.ack()) else {
            return false;
        };
        let acked = seg.ack.diff(iss);
        let sent = self.snd_max.map_or(1, |m| m.diff(iss).max(1));
        (1..=sent).contains(&acked)
    }

    /// RFC 9293 §3.10.7 with RFC 5961's mitigation (as Linux does): in SYN_SENT a RST must
    /// acknowledge our SYN; otherwise its sequence number must be RCV.NXT (or RCV.NXT-1 once
    /// the peer's FIN is in), or at least in the window — an in-window RST that only drew a
    /// challenge ACK is taken back by retraction when the endpoint then sends that ACK.
    fn rst_acceptable(&self, seg: &Segment) -> bool {
        match self.state {
            State::SynSent => self.iss.is_none() || self.acks_syn(seg),
            State::Listen | State::Closed => false,
            _ => match self.rcv_nxt {
                None => true,
                Some(rcv) => {
                    let d = i64::from(seg.seq.diff(rcv));
                    let after_fin = self.peer_fin.is_some();
                    // Without a window seen (mid-stream), allow the largest scaled window.
                    let wnd = i64::from(self.rcv_wnd.unwrap_or(1 << 30).max(1));
                    (0..wnd).contains(&d) || (after_fin && d == -1)
                }
            },
        }
    }
}

/// The cause we record for a step no captured segment shows.
fn unseen_cause(event: Event) -> Cause {
    let flags = |bits: u8| TcpFlags(bits);
    match event {
        Event::SndSyn => Cause::Sent(flags(TcpFlags::SYN)),
        Event::SndSynAck => Cause::Sent(flags(TcpFlags::SYN | TcpFlags::ACK)),
        Event::SndFin => Cause::Sent(flags(TcpFlags::FIN | TcpFlags::ACK)),
        Event::RcvSynAck => Cause::Received(flags(TcpFlags::SYN | TcpFlags::ACK)),
        Event::RcvAckOfSyn | Event::RcvAckOfFin => Cause::Received(flags(TcpFlags::ACK)),
        Event::RcvFin => Cause::Received(flags(TcpFlags::FIN | TcpFlags::ACK)),
        _ => Cause::Received(flags(0)),
    }
}
