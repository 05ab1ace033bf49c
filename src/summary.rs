//! "What went wrong with my connections?": outcomes, time spent in each state, and diagnoses,
//! computed as a pure function of the timeline model (`crate::timeline`) and the analysis
//! `Report`. The `tcpstate-summary/1` JSON (`tcpstate summary --json`) is the serde shape of
//! [`Summary`]; the text table and the HTML report render the same value.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::frame::{Duration, FrameNo, Timestamp};
use crate::peers::zeek::{ConnState, Zeek};
use crate::tcp::state::State;
use crate::timeline::{Cause, Connection, Ending, EndpointTimeline, NoteKind, Role, RoleBasis};
use crate::{FrameCounts, Report};

pub const SCHEMA: &str = "tcpstate-summary/1";

/// Thresholds of the diagnoses that need one.
#[derive(Clone, Debug)]
pub struct SummaryOptions {
    /// FIN_WAIT_2 lasting at least this long is reported. Linux gives up on an orphaned
    /// FIN_WAIT_2 after `tcp_fin_timeout` = 60 s; a longer one means a peer that never closes.
    pub long_fin_wait_2: Duration,
    /// Whether to keep [`Summary::per_connection`]: a line per connection is most of what a
    /// summary holds (about half its memory on a million connections), and the text summary
    /// prints them only when asked.
    pub per_connection: bool,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions { long_fin_wait_2: Duration::from_secs_f64(60.0), per_connection: true }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub files: Vec<String>,
    pub frames: FrameCounts,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub connections: usize,
    /// How the connections ended, most frequent first.
    pub outcomes: Vec<OutcomeGroup>,
    /// Connections whose handshake was before the capture started (roles guessed by port).
    pub picked_up_mid_stream: IdList,
    /// Per side, per state: how long endpoints stayed there.
    pub time_in_state: TimeInState,
    pub diagnoses: Vec<Diagnosis>,
    /// Zeek `conn_state` counts over all conn.log rows Zeek would write.
    pub zeek_conn_states: BTreeMap<ConnState, usize>,
    /// One line per connection, with the ids other tools use; empty unless
    /// [`SummaryOptions::per_connection`].
    pub per_connection: Vec<ConnectionLine>,
}

/// Connection ids, in id order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IdList {
    pub count: usize,
    pub ids: Vec<u64>,
}

impl IdList {
    fn push(&mut self, id: u64) {
        self.count += 1;
        self.ids.push(id);
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct OutcomeGroup {
    pub outcome: Ending,
    /// `outcome` in words ("reset by server in ESTABLISHED").
    pub label: String,
    #[serde(flatten)]
    pub connections: IdList,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimeInState {
    pub client: Vec<StateTime>,
    pub server: Vec<StateTime>,
}

/// Time endpoints spent in one state: each visit is one sample; the last state of a timeline
/// lasts until the end of the capture.
#[derive(Clone, Debug, Serialize)]
pub struct StateTime {
    pub state: State,
    pub visits: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub max: Duration,
    /// The connection with the longest visit.
    pub max_connection: u64,
    /// Visits still in this state when the capture ended (their time is a lower bound).
    pub open_at_end: usize,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisKind {
    CloseWaitNeverLeft,
    LongFinWait2,
    SynRetransmitted,
    LostFinalAck,
    RstAfterFin,
    ResetForDataAfterClose,
    DataAfterFin,
    SynOnTimeWait,
    HalfOpen,
}

impl DiagnosisKind {
    pub const ALL: [DiagnosisKind; 9] = [
        DiagnosisKind::CloseWaitNeverLeft,
        DiagnosisKind::LongFinWait2,
        DiagnosisKind::SynRetransmitted,
        DiagnosisKind::LostFinalAck,
        DiagnosisKind::RstAfterFin,
        DiagnosisKind::ResetForDataAfterClose,
        DiagnosisKind::DataAfterFin,
        DiagnosisKind::SynOnTimeWait,
        DiagnosisKind::HalfOpen,
    ];

    pub fn title(self) -> &'static str {
        match self {
            DiagnosisKind::CloseWaitNeverLeft => "CLOSE_WAIT never left",
            DiagnosisKind::LongFinWait2 => "long FIN_WAIT_2",
            DiagnosisKind::SynRetransmitted => "SYN retransmissions",
            DiagnosisKind::LostFinalAck => "lost final ACK",
            DiagnosisKind::RstAfterFin => "RST after FIN",
            DiagnosisKind::ResetForDataAfterClose => "RST for data after close",
            DiagnosisKind::DataAfterFin => "data after FIN",
            DiagnosisKind::SynOnTimeWait => "new SYN on a 4-tuple in TIME_WAIT",
            DiagnosisKind::HalfOpen => "half-open connections",
        }
    }

    /// What it usually means, for the reader who sees it for the first time.
    pub fn explanation(self) -> &'static str {
        match self {
            DiagnosisKind::CloseWaitNeverLeft => {
                "the peer closed, but this endpoint's application never closed its socket \
                 (a descriptor leak or a stuck worker)"
            }
            DiagnosisKind::LongFinWait2 => {
                "this endpoint closed and its FIN was acknowledged, but the peer's application \
                 did not close for a long time"
            }
            DiagnosisKind::SynRetransmitted => {
                "a SYN or SYN,ACK was sent again: lost handshake packets, a full accept queue, \
                 or a filtering firewall"
            }
            DiagnosisKind::LostFinalAck => {
                "a FIN arrived in TIME_WAIT: the last ACK was lost and the peer retransmitted \
                 its FIN (RFC 9293 §3.10.7.4)"
            }
            DiagnosisKind::RstAfterFin => {
                "a RST ended a connection that was already closing: unread data at close(), \
                 SO_LINGER 0, or a peer that gave up waiting"
            }
            DiagnosisKind::ResetForDataAfterClose => {
                "this endpoint had sent its FIN and its application had closed the socket, not \
                 only shut down writing; the peer kept sending, and data a closed socket cannot \
                 deliver is answered with RST (RFC 1122 §4.2.2.13): a server replying after its \
                 client gave up, or a client closing before reading the whole reply"
            }
            DiagnosisKind::DataAfterFin => {
                "an endpoint sent data beyond its own FIN: a broken TCP stack or a middlebox"
            }
            DiagnosisKind::SynOnTimeWait => {
                "a new connection reused the 4-tuple while the old one was still in TIME_WAIT \
                 (fast port reuse; RFC 6191)"
            }
            DiagnosisKind::HalfOpen => {
                "one endpoint still holds the connection while the other has dropped it \
                 (RFC 9293 §3.5.1), or a handshake was never completed"
            }
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub kind: DiagnosisKind,
    pub title: &'static str,
    pub explanation: &'static str,
    pub connections: usize,
    pub findings: Vec<Finding>,
}

/// One connection showing a diagnosis, with the frames that show it.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub connection: u64,
    /// The endpoint concerned, when there is one.
    pub endpoint: Option<Role>,
    pub frames: Vec<FrameNo>,
    /// How long the condition lasted, when that is what makes it a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
}

/// A connection in the words of each tool.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionLine {
    pub id: u64,
    /// Wireshark's `tcp.stream` (identical to `id`).
    pub tcp_stream: u64,
    pub client: String,
    pub server: String,
    pub start: Timestamp,
    pub duration: Duration,
    pub outcome: String,
    pub client_final: State,
    pub server_final: State,
    /// Wireshark's `tcp.completeness` bitmask (31, 47, 63: complete).
    pub completeness: u8,
    /// Zeek's conn.log rows for this connection (more than one when Zeek's timers split it).
    pub zeek: Vec<ZeekLine>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ZeekLine {
    pub conn_state: ConnState,
    pub history: String,
    pub orig: String,
}

impl From<&Zeek> for ZeekLine {
    fn from(z: &Zeek) -> Self {
        ZeekLine { conn_state: z.conn_state, history: z.history.clone(), orig: z.orig.to_string() }
    }
}

/// Builds the summary. `conns` may be in any order; everything in the result is in id order
/// or sorted by a documented key, so the output is deterministic.
pub fn summarize(report: &Report, conns: &[Connection], opts: &SummaryOptions) -> Summary {
    let mut builder = SummaryBuilder::new(opts.clone());
    for c in conns {
        builder.add(c);
    }
    builder.finish(report)
}

/// Folds connections into a [`Summary`] one at a time, as the flow table delivers them,
/// keeping of each only what the summary lists (its ids, its line, its visits' lengths).
/// `tcpstate summary` then holds a few hundred bytes per connection instead of every
/// timeline: 229 MB peak on the large benchmark corpus when it collected them all, 181 MB
/// now.
///
/// Only the visits an endpoint was still in at the end of its timeline wait for
/// [`SummaryBuilder::finish`]: how long they lasted depends on where the capture ends.
pub struct SummaryBuilder {
    opts: SummaryOptions,
    connections: usize,
    /// The latest connection end: the capture's end when the report has none.
    last_end: Option<Timestamp>,
    outcomes: Vec<OutcomeGroup>,
    mid_stream: IdList,
    zeek_conn_states: BTreeMap<ConnState, usize>,
    /// Per role: [client, server].
    samples: [Samples; 2],
    last_visits: Vec<LastVisit>,
    found: BTreeMap<DiagnosisKind, Vec<Finding>>,
    lines: Vec<ConnectionLine>,
}

/// Per timed state, its visits.
type Samples = BTreeMap<State, Visits>;

/// One state's visits, as [`StateTime`] needs them: every duration for the exact
/// percentiles, but only the longest visit's connection and a count of the open ones, so a
/// visit costs 8 bytes (a million connections make about ten million visits).
#[derive(Default)]
struct Visits {
    durations: Vec<Duration>,
    /// The longest visit and its connection, the lowest id among equals: deterministic
    /// whatever order the connections came in.
    longest: Option<(Duration, u64)>,
    open_at_end: usize,
}

impl Visits {
    fn push(&mut self, lasted: Duration, connection: u64, open_at_end: bool) {
        self.durations.push(lasted);
        self.keep_longest(lasted, connection);
        self.open_at_end += usize::from(open_at_end);
    }

    fn keep_longest(&mut self, lasted: Duration, connection: u64) {
        if self.longest.map_or(true, |(d, id)| lasted > d || (lasted == d && connection < id)) {
            self.longest = Some((lasted, connection));
        }
    }

    /// Adds `other`'s visits, its connections renumbered by `id`.
    fn absorb(&mut self, other: Visits, id: impl Fn(u64) -> u64) {
        self.durations.extend(other.durations);
        if let Some((lasted, connection)) = other.longest {
            self.keep_longest(lasted, id(connection));
        }
        self.open_at_end += other.open_at_end;
    }
}

/// The last visit of one endpoint's timeline, to a timed state: it lasts until the capture's
/// end.
struct LastVisit {
    connection: u64,
    role: Role,
    state: State,
    from: Timestamp,
    frame: Option<FrameNo>,
    /// The endpoint sent a captured segment (see the CLOSE_WAIT diagnosis).
    talked: bool,
}

impl SummaryBuilder {
    pub fn new(opts: SummaryOptions) -> SummaryBuilder {
        SummaryBuilder {
            opts,
            connections: 0,
            last_end: None,
            outcomes: Vec::new(),
            mid_stream: IdList::default(),
            zeek_conn_states: BTreeMap::new(),
            samples: [BTreeMap::new(), BTreeMap::new()],
            last_visits: Vec::new(),
            found: BTreeMap::new(),
            lines: Vec::new(),
        }
    }

    /// An empty builder with the same options, to fold a share of the connections elsewhere
    /// (a shard of a sharded run) and be [absorbed](SummaryBuilder::absorb) at the end.
    pub fn sibling(&self) -> SummaryBuilder {
        SummaryBuilder::new(self.opts.clone())
    }

    /// Adds what `other` folded, each of its connection ids `n` becoming `id(n)`: the sum
    /// is what one builder fed every connection gives, because nothing a builder keeps
    /// depends on the order connections came in. `id` must keep the order of `other`'s ids
    /// (the longest visit goes to the lowest id among equals), as global numbering keeps a
    /// shard's creation order.
    pub fn absorb(&mut self, other: SummaryBuilder, id: impl Fn(u64) -> u64) {
        self.connections += other.connections;
        self.last_end = self.last_end.max(other.last_end);
        for group in other.outcomes {
            let ids = self.outcome(group.outcome);
            group.connections.ids.iter().for_each(|&n| ids.push(id(n)));
        }
        other.mid_stream.ids.iter().for_each(|&n| self.mid_stream.push(id(n)));
        for (state, n) in other.zeek_conn_states {
            *self.zeek_conn_states.entry(state).or_insert(0) += n;
        }
        for (mine, theirs) in self.samples.iter_mut().zip(other.samples) {
            for (state, visits) in theirs {
                mine.entry(state).or_default().absorb(visits, &id);
            }
        }
        let visits = other.last_visits.into_iter().map(|v| LastVisit { connection: id(v.connection), ..v });
        self.last_visits.extend(visits);
        for (kind, findings) in other.found {
            let findings = findings.into_iter().map(|f| Finding { connection: id(f.connection), ..f });
            self.found.entry(kind).or_default().extend(findings);
        }
        let lines = other.lines.into_iter().map(|l| ConnectionLine { id: id(l.id), tcp_stream: id(l.tcp_stream), ..l });
        self.lines.extend(lines);
    }

    pub fn add(&mut self, c: &Connection) {
        self.connections += 1;
        self.last_end = self.last_end.max(Some(c.end));
        self.outcome(c.ending).push(c.id);
        if c.roles == RoleBasis::Port {
            self.mid_stream.push(c.id);
        }
        for z in &c.peers.zeek {
            *self.zeek_conn_states.entry(z.conn_state).or_insert(0) += 1;
        }
        for role in [Role::Client, Role::Server] {
            self.visits(c, role);
        }
        self.diagnose(c);
        if self.opts.per_connection {
            self.lines.push(line(c));
        }
    }

    /// The ids of the connections that ended as `outcome`, a new group the first time.
    fn outcome(&mut self, outcome: Ending) -> &mut IdList {
        let at = match self.outcomes.iter().position(|g| g.outcome == outcome) {
            Some(at) => at,
            None => {
                let label = outcome.to_string();
                self.outcomes.push(OutcomeGroup { outcome, label, connections: IdList::default() });
                self.outcomes.len() - 1
            }
        };
        &mut self.outcomes[at].connections
    }

    /// Time in state and the visit diagnoses of one endpoint, but for its last visit.
    fn visits(&mut self, c: &Connection, role: Role) {
        let t = c.endpoints.get(role);
        for (tr, next) in t.timeline.iter().zip(t.timeline.iter().skip(1)) {
            let lasted = next.ts.since(tr.ts);
            if timed(tr.state) {
                self.samples[role.index()].entry(tr.state).or_default().push(lasted, c.id, false);
            }
            if tr.state == State::FinWait2 && lasted >= self.opts.long_fin_wait_2 {
                let finding = Finding {
                    connection: c.id,
                    endpoint: Some(role),
                    frames: tr.frame.into_iter().collect(),
                    duration: Some(lasted),
                };
                self.found.entry(DiagnosisKind::LongFinWait2).or_default().push(finding);
            }
        }
        // A last visit to CLOSED or LISTEN is neither timed nor diagnosed: most connections'
        // last visit is one, and keeping it would cost memory for every connection.
        if let Some(last) = t.timeline.last().filter(|last| timed(last.state)) {
            self.last_visits.push(LastVisit {
                connection: c.id,
                role,
                state: last.state,
                from: last.ts,
                frame: last.frame,
                talked: c.traffic[role.index()].packets > 0,
            });
        }
    }

    /// Every diagnosis that does not depend on the capture's end.
    fn diagnose(&mut self, c: &Connection) {
        let mut add = |kind, f: Finding| self.found.entry(kind).or_default().push(f);
        for role in [Role::Client, Role::Server] {
            let t = c.endpoints.get(role);
            if let Some(tr) = t.timeline.iter().find(|tr| tr.cause == Cause::Reincarnated) {
                add(
                    DiagnosisKind::SynOnTimeWait,
                    Finding {
                        connection: c.id,
                        endpoint: Some(role),
                        frames: tr.frame.into_iter().collect(),
                        duration: None,
                    },
                );
            }
        }
        for (kind, wanted) in [
            (DiagnosisKind::SynRetransmitted, &[NoteKind::SynRetransmitted, NoteKind::SynAckRetransmitted][..]),
            (DiagnosisKind::LostFinalAck, &[NoteKind::FinIntoTimeWait][..]),
            (DiagnosisKind::DataAfterFin, &[NoteKind::DataAfterFin][..]),
        ] {
            for role in [Role::Client, Role::Server] {
                let frames: Vec<FrameNo> =
                    c.notes.iter().filter(|n| n.by == role && wanted.contains(&n.kind)).map(|n| n.frame).collect();
                if !frames.is_empty() {
                    add(kind, Finding { connection: c.id, endpoint: Some(role), frames, duration: None });
                }
            }
        }
        let reset_for_data =
            |role| c.notes.iter().find(|n| n.by == role && n.kind == NoteKind::ResetForDataAfterClose).map(|n| n.frame);
        for role in [Role::Client, Role::Server] {
            if let (Some(rst), Some(fin)) = (reset_for_data(role), fin_frame(c.endpoints.get(role))) {
                let finding =
                    Finding { connection: c.id, endpoint: Some(role), frames: vec![fin, rst], duration: None };
                add(DiagnosisKind::ResetForDataAfterClose, finding);
            }
        }
        if let Ending::Reset { by, .. } = c.ending {
            // A FIN was sent (by either side) before the RST: the close was under way. The RST
            // of a closed socket that got data has its own, more telling diagnosis.
            let explained = reset_for_data(by).is_some();
            let rst = first_rst_frame(c);
            let fin = first_fin_frame(c);
            if let (Some(rst), Some(fin), false) = (rst, fin, explained) {
                if fin < rst {
                    add(
                        DiagnosisKind::RstAfterFin,
                        Finding { connection: c.id, endpoint: Some(by), frames: vec![fin, rst], duration: None },
                    );
                }
            }
        }
        if let Some(f) = half_open(c) {
            add(DiagnosisKind::HalfOpen, f);
        }
    }

    pub fn finish(mut self, report: &Report) -> Summary {
        let capture_end = report.last_ts.or(self.last_end).unwrap_or_default();
        for v in std::mem::take(&mut self.last_visits) {
            let lasted = capture_end.max(v.from).since(v.from);
            self.samples[v.role.index()].entry(v.state).or_default().push(lasted, v.connection, true);
            let kind = match v.state {
                // An endpoint none of whose segments were captured (a one-sided capture) may
                // well have closed: its FIN is just out of view. Only one seen talking is
                // diagnosed.
                State::CloseWait if v.talked => DiagnosisKind::CloseWaitNeverLeft,
                State::FinWait2 if lasted >= self.opts.long_fin_wait_2 => DiagnosisKind::LongFinWait2,
                _ => continue,
            };
            let finding = Finding {
                connection: v.connection,
                endpoint: Some(v.role),
                frames: v.frame.into_iter().collect(),
                duration: Some(lasted),
            };
            self.found.entry(kind).or_default().push(finding);
        }
        for g in &mut self.outcomes {
            g.connections.ids.sort_unstable();
        }
        self.outcomes.sort_by(|a, b| {
            b.connections
                .count
                .cmp(&a.connections.count)
                .then_with(|| a.connections.ids.first().cmp(&b.connections.ids.first()))
        });
        self.mid_stream.ids.sort_unstable();
        self.lines.sort_by_key(|l| l.id);
        let [client, server] = self.samples.map(state_times);
        Summary {
            schema: SCHEMA,
            files: report.files.iter().map(|p| p.display().to_string()).collect(),
            frames: report.frames.clone(),
            first_ts: report.first_ts,
            last_ts: report.last_ts,
            connections: self.connections,
            outcomes: self.outcomes,
            picked_up_mid_stream: self.mid_stream,
            time_in_state: TimeInState { client, server },
            diagnoses: diagnoses(self.found),
            zeek_conn_states: self.zeek_conn_states,
            per_connection: self.lines,
        }
    }
}

impl crate::flow::Sink for SummaryBuilder {
    fn connection(&mut self, conn: Connection) {
        self.add(&conn);
    }

    fn summary(&mut self) -> Option<&mut SummaryBuilder> {
        Some(self)
    }
}

fn line(c: &Connection) -> ConnectionLine {
    ConnectionLine {
        id: c.id,
        tcp_stream: c.id,
        client: addr(c.client),
        server: addr(c.server),
        start: c.start,
        duration: c.duration,
        outcome: c.ending.to_string(),
        client_final: c.endpoints.client.final_state,
        server_final: c.endpoints.server.final_state,
        completeness: c.peers.wireshark.completeness,
        zeek: c.peers.zeek.iter().map(ZeekLine::from).collect(),
    }
}

fn addr(a: SocketAddr) -> String {
    a.to_string()
}

/// One stay in a state: from entering it to the next transition, or to `capture_end`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub state: State,
    pub from: Timestamp,
    pub until: Timestamp,
    /// The frame that moved the endpoint into the state (`None` before the first frame or
    /// for a timer).
    pub frame: Option<FrameNo>,
    /// Still in this state when the capture ended.
    pub open: bool,
    /// No captured segment shows the step into this state (see `Transition::inferred`).
    pub inferred: bool,
}

/// The visits of one endpoint timeline, in order. The chart draws exactly these.
pub fn visits(t: &EndpointTimeline, capture_end: Timestamp) -> Vec<Visit> {
    let mut out = Vec::with_capacity(t.timeline.len());
    for (i, tr) in t.timeline.iter().enumerate() {
        let (until, open) = match t.timeline.get(i + 1) {
            Some(next) => (next.ts, false),
            None => (capture_end.max(tr.ts), true),
        };
        out.push(Visit { state: tr.state, from: tr.ts, until, frame: tr.frame, open, inferred: tr.inferred });
    }
    out
}

/// States whose duration says something about the connection: CLOSED is no connection at all
/// and LISTEN belongs to the listening socket, not to this connection.
fn timed(state: State) -> bool {
    !matches!(state, State::Closed | State::Listen)
}

fn state_times(samples: Samples) -> Vec<StateTime> {
    samples
        .into_iter()
        .filter_map(|(state, mut v)| {
            let (max, max_connection) = v.longest?;
            v.durations.sort_unstable();
            let n = v.durations.len();
            let rank = |p: usize| v.durations[(n * p).div_ceil(100).clamp(1, n) - 1];
            Some(StateTime {
                state,
                visits: n,
                p50: rank(50),
                p90: rank(90),
                max,
                max_connection,
                open_at_end: v.open_at_end,
            })
        })
        .collect()
}

fn diagnoses(mut found: BTreeMap<DiagnosisKind, Vec<Finding>>) -> Vec<Diagnosis> {
    DiagnosisKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let mut findings = found.remove(&kind)?;
            // Longest-lasting first, then by connection and endpoint: the worst case on top,
            // whatever order the connections came in.
            findings.sort_by(|a, b| {
                b.duration.cmp(&a.duration).then(a.connection.cmp(&b.connection)).then(a.endpoint.cmp(&b.endpoint))
            });
            let mut ids: Vec<u64> = findings.iter().map(|f| f.connection).collect();
            ids.sort_unstable();
            ids.dedup();
            Some(Diagnosis {
                kind,
                title: kind.title(),
                explanation: kind.explanation(),
                connections: ids.len(),
                findings,
            })
        })
        .collect()
}

/// The frame of the first RST that moved either endpoint.
fn first_rst_frame(c: &Connection) -> Option<FrameNo> {
    [&c.endpoints.client, &c.endpoints.server]
        .iter()
        .flat_map(|t| t.timeline.iter())
        .filter(|tr| matches!(tr.cause, Cause::Sent(f) | Cause::Received(f) if f.rst()))
        .filter_map(|tr| tr.frame)
        .min()
}

/// The frame of the first FIN either endpoint sent.
fn first_fin_frame(c: &Connection) -> Option<FrameNo> {
    [&c.endpoints.client, &c.endpoints.server].into_iter().filter_map(fin_frame).min()
}

/// The frame of the FIN this endpoint sent.
fn fin_frame(t: &EndpointTimeline) -> Option<FrameNo> {
    t.timeline.iter().filter(|tr| matches!(tr.cause, Cause::Sent(f) if f.fin())).find_map(|tr| tr.frame)
}

/// One endpoint synchronized (it would still send and accept data) while the other is gone
/// (CLOSED after having been open), or a server left in SYN_RCVD by a client that never
/// completed the handshake.
fn half_open(c: &Connection) -> Option<Finding> {
    if c.ending == Ending::HandshakeIncomplete {
        let t = &c.endpoints.server;
        let frame = t.timeline.iter().find(|tr| tr.state == State::SynRcvd).and_then(|tr| tr.frame);
        return Some(Finding {
            connection: c.id,
            endpoint: Some(Role::Server),
            frames: frame.into_iter().collect(),
            duration: None,
        });
    }
    for role in [Role::Client, Role::Server] {
        let me = c.endpoints.get(role);
        let peer = c.endpoints.get(role.peer());
        let peer_gone = peer.final_state == State::Closed && peer.timeline.len() > 1;
        let held = matches!(me.final_state, State::Established | State::CloseWait | State::FinWait1 | State::FinWait2);
        if held && peer_gone {
            let frame = peer.timeline.last().and_then(|tr| tr.frame);
            return Some(Finding {
                connection: c.id,
                endpoint: Some(role),
                frames: frame.into_iter().collect(),
                duration: None,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_visit_goes_to_the_lowest_id_among_equals_in_any_order() {
        let visits = [(Duration(5), 7, false), (Duration(9), 4, true), (Duration(9), 2, false), (Duration(1), 1, true)];
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
            let mut v = Visits::default();
            for i in order {
                let (d, id, open) = visits[i];
                v.push(d, id, open);
            }
            assert_eq!(v.longest, Some((Duration(9), 2)));
            assert_eq!(v.open_at_end, 2);
            assert_eq!(v.durations.len(), 4);
        }
    }

    #[test]
    fn percentiles_rank_the_sorted_durations() {
        let mut samples = Samples::new();
        for (i, d) in [40, 10, 30, 20, 50, 60, 70, 80, 90, 100].into_iter().enumerate() {
            samples.entry(State::TimeWait).or_default().push(Duration(d), i as u64, false);
        }
        let [t] = state_times(samples).try_into().unwrap_or_else(|v: Vec<_>| panic!("{} states", v.len()));
        assert_eq!(
            (t.visits, t.p50, t.p90, t.max, t.max_connection),
            (10, Duration(50), Duration(90), Duration(100), 9)
        );
    }
}
