//! `--threads N`: N flow tables, each owning the connections whose 4-tuple hashes to it. The
//! reading thread decodes every frame and runs the first table itself, on a smaller share of
//! the connections ([`reader_share`]); the others run on threads of their own, fed batches of
//! their segments; the calling thread merges what all of them deliver. With 2 tables on 2
//! cores, reading plus a quarter of the connections weighs about what the other three
//! quarters do: two busy threads for two cores, where a reader and two tables made three
//! share them (1.6–1.8 of the 2 cores busy, 7,600 context switches on large), and the
//! reader's own segments are never copied into a batch or handed across.
//!
//! The output is the single-threaded one by construction, because a flow table's behaviour
//! depends on other connections in only two ways, and both are carried across:
//! - **Time.** Timers fire when a segment's timestamp passes them, whoever's segment it is.
//!   Every shard therefore sees the whole clock: each batch lists every segment's time and
//!   owner, and a shard runs its timers at each instant, processing only its own segments.
//! - **Numbering.** Ids (Wireshark's `tcp.stream`) count connections in creation order
//!   across all of them. Each shard numbers its own and says at which segment it created
//!   each one; the merger ranks those segment indices into global ids.
//!
//! A delivery is then placed exactly where one table would have made it: at a segment index,
//! timers first (by due time, then id, as the timer heap orders them), then a superseded
//! incarnation; at the end, timers due by then and the rest in id order. Each table delivers
//! in that order already, so the merger only takes the least of the tables' next deliveries.
//!
//! When the sink only writes JSON ([`Sink::json`]), each shard writes its connections itself,
//! leaving out the number, and frees them: the merging thread copies bytes and numbers. When
//! it only folds them into a summary ([`Sink::summary`]), each shard folds its own into a
//! summary of its own, and the merging thread adds those up, renumbered, at the end: a
//! summary does not depend on the order connections come in. At the end of the capture, when
//! about half of a long capture's connections are written at once and a shard holds most of
//! them, a helper thread per shard writes (or folds) every third (with 2 or 3 tables) as a
//! stream of its own.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

mod numbers;

use crate::capture::Capture;
use crate::decode::Segment;
use crate::flow::{FlowTable, SegmentLog, Sink, Why};
use crate::frame::Timestamp;
use crate::output::json::{encode, Unnumbered};
use crate::summary::SummaryBuilder;
use crate::tcp::endpoint::At;
use crate::timeline::Connection;
use crate::{decode_all, finish_report, Options, Report};
use numbers::Numbers;

/// Segments per batch: the channels' cost is paid once per batch, and every shard walks the
/// whole batch's clock, so batches should be large but stay in cache (a few hundred kB).
const BATCH: usize = 2048;
/// Batches in flight per shard: enough to ride out jitter, few enough to keep memory flat.
const IN_FLIGHT: usize = 6;
/// Batches per report to the merger: every table reports at the same batches, so a round of
/// reports covers the same segments. The merging thread, a third thread on two cores, then
/// wakes once for this many batches, not for each.
const REPORT_EVERY: u32 = 8;
/// What reading, decoding and dealing a segment costs the reading thread, against what the
/// flow tables then do with it (flow lookup, both machines, the peers' trackers, JSON): about
/// half on the large corpus. Measured with `perf record -e cpu-clock`, `--threads 2`, by the
/// samples of each thread: at 0.6 the other shard had 20 % more than the reading thread, at
/// 0.45 the reading thread 11 % more than the shard.
const READ_COST: f64 = 0.5;

/// The fraction of connections the reading thread's own table takes out of `tables`, so that
/// its reading plus its table cost what each other table costs: r·W + R = (1 − r)·W/(N − 1)
/// with R = READ_COST·W. From 3 tables on, reading alone is a full share and the reader's
/// table takes none.
fn reader_share(tables: usize) -> f64 {
    let n = tables as f64;
    ((1.0 - (n - 1.0) * READ_COST) / n).max(0.0)
}

/// A batch's segments for each table but the reader's, on average.
fn share(tables: usize) -> usize {
    (BATCH as f64 * (1.0 - reader_share(tables)) / (tables - 1).max(1) as f64) as usize
}

/// The reader's output, shared by all shards.
struct Batch {
    /// Global index of the batch's first segment.
    first: u64,
    /// Every segment's time, in capture order.
    clock: Vec<At>,
    /// Which shard owns each segment.
    owner: Vec<u8>,
    /// Each shard's segments, in capture order (none for the reader's own, shard 0).
    segments: Vec<Vec<Segment>>,
}

impl Batch {
    fn new(first: u64, shards: usize) -> Batch {
        Batch {
            first,
            clock: Vec::with_capacity(BATCH),
            owner: Vec::with_capacity(BATCH),
            // The reader keeps its own; the others split what it leaves, give or take an eighth.
            segments: (0..shards)
                .map(|s| if s == 0 { Vec::new() } else { Vec::with_capacity(share(shards) + BATCH / 8) })
                .collect(),
        }
    }

    /// An emptied batch, to be filled again from `first`.
    fn reuse(mut self, first: u64) -> Batch {
        self.first = first;
        self.clock.clear();
        self.owner.clear();
        self.segments.iter_mut().for_each(Vec::clear);
        self
    }
}

enum Work {
    Batch(Arc<Batch>),
    /// The capture ended at this instant.
    End(Timestamp),
}

/// Where a delivery belongs in the single-threaded order, with the shard's own id; the
/// merger swaps that for the global id before comparing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    segment: u64,
    /// 0: a quiet timer (then by due time), 1: a superseded incarnation, 2: the end.
    phase: u8,
    due: Timestamp,
}

/// What one shard did with one round of batches. The merger sends each back once merged, to
/// be filled again: fresh ones cost the allocator mapping and faulting in their pages.
#[derive(Default)]
struct Done {
    /// Global segment indices at which the shard created connections, in its id order.
    created: Vec<u64>,
    delivered: Vec<(Place, Delivered)>,
    /// The JSON of the [`Delivered::Json`] connections, one after the other.
    json: Vec<u8>,
    /// Set on the reports of the end of the capture, which come in chunks.
    ending: bool,
    /// Set on the shard's last report.
    late_segments: Option<u64>,
    /// On the last report, with [`Form::Fold`]: the summary of every connection the table
    /// (or helper) delivered, numbered by the table.
    folded: Option<Box<SummaryBuilder>>,
}

impl Done {
    /// Emptied for reuse, keeping its buffers.
    fn recycled(mut self) -> Done {
        self.created.clear();
        self.delivered.clear();
        self.json.clear();
        Done { ending: false, late_segments: None, folded: None, ..self }
    }
}

/// A connection a shard delivered: whole, or written as JSON for a sink that takes it so.
/// Boxed whole: an allocation per connection, where moving a connection (some 300 bytes)
/// into a report, through the merge and out cost more.
enum Delivered {
    Whole(Box<Connection>),
    /// The shard's own id for it, its bytes in [`Done::json`], and where its number goes,
    /// counted from the first of those bytes.
    Json {
        id: u64,
        bytes: Range<usize>,
        holes: [usize; 2],
    },
}

impl Delivered {
    /// The shard's own id for the connection.
    fn id(&self) -> u64 {
        match self {
            Delivered::Whole(conn) => conn.id,
            Delivered::Json { id, .. } => *id,
        }
    }
}

/// How a table (or its helper) hands its connections on, following what the sink takes.
enum Form {
    /// Whole and boxed, for the merger to hand on in order.
    Whole,
    /// Written as JSON, numbered by the merger ([`Sink::json`]).
    Json,
    /// Folded into the table's own summary, sent with its last report ([`Sink::summary`]).
    Fold(Box<SummaryBuilder>),
}

/// Records deliveries with their place.
struct Placing<'a> {
    done: &'a mut Done,
    segment: u64,
    form: &'a mut Form,
}

impl Sink for Placing<'_> {
    fn connection(&mut self, conn: Connection) {
        self.deliver(conn, Why::End);
    }

    fn deliver(&mut self, conn: Connection, why: Why) {
        let delivered = match self.form {
            Form::Whole => Delivered::Whole(Box::new(conn)),
            Form::Json => {
                let start = self.done.json.len();
                let holes = encode::unnumbered(&mut self.done.json, &conn).map(|h| h - start);
                Delivered::Json { id: conn.id, bytes: start..self.done.json.len(), holes }
            }
            // A summary has no place for it: the order of its connections does not matter.
            Form::Fold(summary) => return summary.add(&conn),
        };
        let (phase, due) = match why {
            Why::Quiet(due) => (0, due),
            Why::Reincarnated => (1, Timestamp::default()),
            Why::End => (2, Timestamp::default()),
        };
        self.done.delivered.push((Place { segment: self.segment, phase, due }, delivered));
    }
}

/// Runs the analysis over `shards` flow tables (2 to 255).
pub(crate) fn run(cap: Capture, files: Vec<PathBuf>, opts: &Options, shards: usize, sink: &mut impl Sink) -> Report {
    let shards = shards.clamp(2, usize::from(u8::MAX));
    let json = sink.json().is_some();
    // An empty copy of the sink's summary to make each table's from: the merger borrows the
    // sink itself.
    let fold = sink.summary().filter(|_| !json).map(|summary| summary.sibling());
    let form = || match &fold {
        Some(summary) => Form::Fold(Box::new(summary.sibling())),
        None if json => Form::Json,
        None => Form::Whole,
    };
    // Table 0 is the reading thread's; the merger hears from every table in id order.
    let (own, own_reports, _) = Table::new(0, shards, opts, &form);
    let (mut tables, mut helpers) = (vec![own_reports], Vec::new());
    let (mut workers, mut work_tx) = (Vec::new(), Vec::new());
    for me in 1..shards {
        let (table, reports, helped) = Table::new(me, shards, opts, &form);
        let (tx, rx) = sync_channel::<Work>(IN_FLIGHT);
        tables.push(reports);
        helpers.extend(helped);
        work_tx.push(tx);
        workers.push((table, rx));
    }
    // Batches come back from the last shard to finish with them: a quarter of a megabyte
    // each, so reusing them saves the allocator mapping and faulting in fresh pages every time.
    let (spent_tx, spent_rx) = channel::<Batch>();
    thread::scope(|scope| {
        for (table, work) in workers {
            let name = format!("shard {}", table.me);
            let shard = Shard { table, work, spent: spent_tx.clone() };
            thread::Builder::new()
                .name(name)
                .spawn_scoped(scope, move || shard.run())
                .unwrap_or_else(|e| panic!("cannot start a shard thread: {e}"));
        }
        drop(spent_tx);
        let reader = thread::Builder::new()
            .name("reader".into())
            .spawn_scoped(scope, move || read(cap, files, opts, own, work_tx, spent_rx))
            .unwrap_or_else(|e| panic!("cannot start the reading thread: {e}"));
        let late = merge(&tables, &helpers, sink);
        let (report, impossible) = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        finish_report(report, impossible, late)
    })
}

/// The reading thread: decodes every frame, runs its own table on its share of the segments
/// and deals the others out by flow hash.
fn read(
    cap: Capture,
    files: Vec<PathBuf>,
    opts: &Options,
    mut own: Table,
    work: Vec<SyncSender<Work>>,
    spent: Receiver<Batch>,
) -> (Report, Option<String>) {
    let shards = work.len() + 1;
    let deal = Deal::new(shards);
    let mut batch = Batch::new(0, shards);
    let mut report = own.line.report();
    let send = |batch: Batch| {
        let batch = Arc::new(batch);
        for tx in &work {
            // A closed channel means a shard died; its panic is re-raised when joined.
            let _ = tx.send(Work::Batch(Arc::clone(&batch)));
        }
    };
    let decoded = decode_all(cap, files, opts, |seg, at| {
        let owner = deal.owner(spread(seg));
        let segment = batch.first + batch.clock.len() as u64;
        batch.clock.push(at);
        batch.owner.push(owner as u8);
        let mine = if owner == 0 {
            Some(seg)
        } else {
            if let Some(theirs) = batch.segments.get_mut(owner) {
                theirs.push(*seg);
            }
            None
        };
        own.step(&mut report, segment, at, mine);
        if batch.clock.len() == BATCH {
            let next = batch.first + BATCH as u64;
            let fresh = spent.try_recv().map_or_else(|_| Batch::new(next, shards), |b| b.reuse(next));
            send(std::mem::replace(&mut batch, fresh));
            // After the batches: the merger waits for every table's report of them in turn.
            own.batch_done(&mut report);
        }
    });
    if !batch.clock.is_empty() {
        send(batch);
        own.batch_done(&mut report);
    }
    own.report_rest(report);
    let end = decoded.0.last_ts.unwrap_or_default();
    for tx in &work {
        let _ = tx.send(Work::End(end));
    }
    own.end(end);
    decoded
}

/// Which table owns a flow hash: the reader's (0) below a threshold, its share of the hashes;
/// the others split the rest evenly. In the top 32 bits of the hash, with a multiplier
/// computed once: no division per segment.
struct Deal {
    /// Hashes (top 32 bits) below this are the reader's.
    mine: u64,
    /// ⌊(tables − 1)·2³² / (2³² − mine)⌋: scales a hash above `mine` to the other tables.
    scale: u64,
}

impl Deal {
    fn new(tables: usize) -> Deal {
        let mine = (reader_share(tables) * 2f64.powi(32)) as u64;
        let others = (tables as u64).saturating_sub(1).max(1);
        Deal { mine, scale: (others << 32) / ((1u64 << 32) - mine).max(1) }
    }

    /// (h − mine) < 2³² − mine, so (h − mine)·scale < (tables − 1)·2³²: no overflow, and the
    /// table is below `tables`.
    fn owner(&self, hash: u64) -> usize {
        match (hash >> 32).checked_sub(self.mine) {
            Some(above) => 1 + ((above * self.scale) >> 32) as usize,
            None => 0,
        }
    }
}

/// Which shard a segment goes to, as a 64-bit hash of its 4-tuple. Both directions must agree:
/// XOR of one word per endpoint is symmetric and needs no ordering of the addresses, which
/// matters here because the reading thread is the pipeline's narrowest stage. A capture
/// crafted to collide only loads one shard more; the flow tables' own hashes are keyed.
fn spread(seg: &Segment) -> u64 {
    let word = |addr: &SocketAddr| -> u64 {
        let port = u64::from(addr.port());
        match addr {
            SocketAddr::V4(a) => u64::from(a.ip().to_bits()) << 16 | port,
            SocketAddr::V6(a) => {
                let ip = a.ip().to_bits();
                (ip as u64) ^ ((ip >> 64) as u64).rotate_left(17) ^ port << 48
            }
        }
    };
    let h = word(&seg.src) ^ word(&seg.dst);
    (h ^ h >> 29).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// One flow table and its line to the merger, on a shard's thread or on the reading thread.
struct Table {
    me: usize,
    table: FlowTable,
    line: Line,
    /// The line of the helper that writes some of the table's last connections.
    helper: Option<Line>,
    hand_every: usize,
    /// Batches done since the table's last report to the merger.
    unreported: u32,
}

/// Where a table's reports go.
struct Line {
    form: Form,
    done: SyncSender<Done>,
    /// Reports the merger has merged, to fill again.
    written: Receiver<Done>,
}

/// The merger's end of a line: the reports of table `shard` (or of its helper), and where
/// they go back once merged.
struct Reports {
    shard: usize,
    done: Receiver<Done>,
    written: Sender<Done>,
}

impl Line {
    fn new(shard: usize, form: Form) -> (Line, Reports) {
        let (done, done_rx) = sync_channel::<Done>(IN_FLIGHT);
        let (written_tx, written) = channel::<Done>();
        (Line { form, done, written }, Reports { shard, done: done_rx, written: written_tx })
    }

    /// The summary folded so far, with [`Form::Fold`], for the last report.
    fn folded(&mut self) -> Option<Box<SummaryBuilder>> {
        match std::mem::replace(&mut self.form, Form::Whole) {
            Form::Fold(summary) => Some(summary),
            other => {
                self.form = other;
                None
            }
        }
    }

    /// An empty report: one the merger gave back if there is one.
    fn report(&self) -> Done {
        self.written.try_recv().map_or_else(|_| Done::default(), Done::recycled)
    }
}

impl Table {
    /// Table `me` of `tables`, and the merger's end of its line; `form` gives each line's form.
    /// With JSON or a summary, a shard's table has a helper at the end of the capture (see
    /// [`Hand`]): the third value is the merger's end of the helper's line.
    fn new(me: usize, tables: usize, opts: &Options, form: &impl Fn() -> Form) -> (Table, Reports, Option<Reports>) {
        let (line, reports) = Line::new(me, form());
        let helped = me > 0 && !matches!(line.form, Form::Whole);
        let (helper, helped) = helped.then(|| Line::new(me, form())).unzip();
        let table = FlowTable::new(opts.time_wait, SegmentLog::None);
        (Table { me, table, line, helper, hand_every: hand_every(tables), unreported: 0 }, reports, helped)
    }

    /// Counts one batch done; at every [`REPORT_EVERY`]th, sends the report of them to the
    /// merger and starts the next. False once the merger has gone.
    fn batch_done(&mut self, report: &mut Done) -> bool {
        self.unreported += 1;
        if self.unreported < REPORT_EVERY {
            return true;
        }
        self.unreported = 0;
        let next = self.line.report();
        self.line.done.send(std::mem::replace(report, next)).is_ok()
    }

    /// Sends the report of the batches done since the last one, if there are any (the last
    /// round may be short). False once the merger has gone.
    fn report_rest(&mut self, report: Done) -> bool {
        std::mem::take(&mut self.unreported) == 0 || self.line.done.send(report).is_ok()
    }

    /// One instant of the clock, the global segment index `segment`: the table's own segment
    /// then, or only its timers. Most instants are another table's segment with no timer due;
    /// those are answered here without the call to [`Table::place`], whose set-up alone cost
    /// 1.8 % of a two-table run's instructions. Both are forced inline: left to itself the
    /// compiler made `step` a call, and its prologue on every instant cost 1.35 % again.
    #[inline(always)]
    fn step(&mut self, report: &mut Done, segment: u64, at: At, own: Option<&Segment>) {
        if own.is_some() || self.table.any_due(at.ts) {
            self.place(report, segment, at, own);
        }
    }

    #[inline(always)]
    fn place(&mut self, report: &mut Done, segment: u64, at: At, own: Option<&Segment>) {
        let mut placing = Placing { done: report, segment, form: &mut self.line.form };
        match own {
            Some(seg) => {
                let before = self.table.created();
                self.table.on_segment(seg, at, &mut placing);
                if self.table.created() > before {
                    report.created.push(segment);
                }
            }
            None => self.table.fire_timers(at.ts, &mut placing),
        }
    }

    /// The end of the capture, at `end`: the rest of the table's deliveries, in chunks.
    fn end(self, end: Timestamp) {
        let Table { me, table, mut line, helper, hand_every, .. } = self;
        let late = table.late_segments;
        let report = Done { ending: true, ..line.report() };
        thread::scope(|scope| {
            let hand = helper.map(|helper| {
                let (tx, handed) = sync_channel::<Vec<Connection>>(HANDED_IN_FLIGHT);
                thread::Builder::new()
                    .name(format!("helper {me}"))
                    .spawn_scoped(scope, move || help(handed, helper))
                    .unwrap_or_else(|e| panic!("cannot start a helper thread: {e}"));
                Hand { tx, every: hand_every, count: 0, chunk: Vec::with_capacity(END_CHUNK) }
            });
            let mut ending = Ending { line: &mut line, report, hand };
            table.finish(end, &mut ending);
            ending.close(late);
        });
    }
}

/// A table on a thread of its own, fed by the reading thread.
struct Shard {
    table: Table,
    work: Receiver<Work>,
    spent: Sender<Batch>,
}

impl Shard {
    /// Runs the table on every instant of the clock and on the shard's own segments.
    fn run(mut self) {
        let me = self.table.me;
        let mut report = self.table.line.report();
        for item in &self.work {
            match item {
                Work::Batch(batch) => {
                    let mut mine = batch.segments.get(me).map_or(&[][..], Vec::as_slice).iter();
                    for (i, (at, &owner)) in batch.clock.iter().zip(&batch.owner).enumerate() {
                        let own = if usize::from(owner) == me { mine.next() } else { None };
                        self.table.step(&mut report, batch.first + i as u64, *at, own);
                    }
                    if let Some(batch) = Arc::into_inner(batch) {
                        // The reader may have finished already; then the batch is simply dropped.
                        let _ = self.spent.send(batch);
                    }
                    if !self.table.batch_done(&mut report) {
                        return;
                    }
                }
                Work::End(end) => {
                    // The reader reports its last batches as one round too.
                    if !self.table.report_rest(report) {
                        return;
                    }
                    self.table.end(end);
                    return;
                }
            }
        }
    }
}

/// Connections a shard delivers at the end of the capture, most of a long capture's (all
/// that are open or in TIME_WAIT then): sent in chunks as they come, so they never pile up.
struct Ending<'a> {
    line: &'a mut Line,
    report: Done,
    /// A shard's line to its helper, which writes every few of the last connections.
    hand: Option<Hand>,
}

/// Connections a shard hands to its helper at the end of the capture: the end delivers about
/// half the connections of a long capture at once, and the shard holds most of them.
struct Hand {
    tx: SyncSender<Vec<Connection>>,
    every: usize,
    count: usize,
    chunk: Vec<Connection>,
}

impl Hand {
    /// Takes `conn` if it is its turn, giving it back otherwise.
    fn take(&mut self, conn: Connection) -> Option<Connection> {
        self.count += 1;
        if self.count % self.every != 0 {
            return Some(conn);
        }
        self.chunk.push(conn);
        if self.chunk.len() >= END_CHUNK {
            self.flush();
        }
        None
    }

    fn flush(&mut self) {
        if !self.chunk.is_empty() {
            // A closed channel: the helper panicked, and its panic is re-raised when joined.
            let _ = self.tx.send(std::mem::replace(&mut self.chunk, Vec::with_capacity(END_CHUNK)));
        }
    }
}

/// A shard's helper at the end: writes the connections it is handed, as its own stream of
/// deliveries in the shard's order (each one's share of an ordered stream is ordered).
fn help(handed: Receiver<Vec<Connection>>, mut line: Line) {
    let report = Done { ending: true, ..line.report() };
    let mut ending = Ending { line: &mut line, report, hand: None };
    for chunk in handed {
        for conn in chunk {
            ending.deliver(conn, Why::End);
        }
    }
    ending.close(0);
}

/// Deliveries per chunk at the end: each chunk can wake the merger and the helper, and at 32
/// a two-thread run on large switched context ~4,800 times against ~3,200 at 128 (`perf
/// stat`). 512 held a megabyte of JSON per chunk in flight and raised peak RSS.
const END_CHUNK: usize = 128;
/// Chunks of connections in flight from a shard to its helper at the end: two, so that a
/// shard filling its own chunk never waits on a helper that waits on the merger (a shard hands
/// over fewer than a chunk's worth while it fills one of its own).
const HANDED_IN_FLIGHT: usize = 2;

/// Every how many of its last deliveries a shard hands one to its helper, so that at the end
/// of the capture the reading thread (with its table's share r) and each shard's helper weigh
/// what each shard keeps: r + f·(1 − r) = (1 − f)·(1 − r)/(N − 1) for one helper per shard,
/// f = (q − r)/(N·q) with q = (1 − r)/(N − 1) a shard's share. 3 for 2 and 3 tables.
fn hand_every(tables: usize) -> usize {
    let n = tables.max(2) as f64;
    let r = reader_share(tables);
    let q = (1.0 - r) / (n - 1.0);
    let f = (q - r) / (n * q);
    if f > 0.0 {
        (1.0 / f).round().max(2.0) as usize
    } else {
        usize::MAX
    }
}

impl Ending<'_> {
    /// Hands over what is left for the helper and sends the last report, which tells the
    /// merger the stream is over and how many segments came late, and carries the summary.
    fn close(mut self, late: u64) {
        if let Some(hand) = self.hand.as_mut() {
            hand.flush();
        }
        self.report.late_segments = Some(late);
        self.report.folded = self.line.folded();
        // A closed channel: the merger has gone, and its panic is re-raised when joined.
        let _ = self.line.done.send(self.report);
    }
}

impl Sink for Ending<'_> {
    fn connection(&mut self, conn: Connection) {
        self.deliver(conn, Why::End);
    }

    fn deliver(&mut self, conn: Connection, why: Why) {
        let conn = match (why, self.hand.as_mut()) {
            (Why::End, Some(hand)) => match hand.take(conn) {
                Some(conn) => conn,
                None => return,
            },
            _ => conn,
        };
        Placing { done: &mut self.report, segment: u64::MAX, form: &mut self.line.form }.deliver(conn, why);
        if self.report.delivered.len() >= END_CHUNK {
            let next = Done { ending: true, ..self.line.report() };
            // A closed channel: the merger has gone, and its panic is re-raised when joined.
            let _ = self.line.done.send(std::mem::replace(&mut self.report, next));
        }
    }
}

/// One table's (or helper's) deliveries, in its order, which is the global order among them:
/// each round's, and at the end of the capture every chunk of its last ones.
struct Stream<'a> {
    reports: &'a Reports,
    /// The report being merged, its deliveries reversed: the next one is the last.
    report: Done,
    /// Whether the table (or helper) has sent its last report.
    finished: bool,
    /// The summary its last report carried.
    folded: Option<Box<SummaryBuilder>>,
}

impl<'a> Stream<'a> {
    fn new(reports: &'a Reports) -> Stream<'a> {
        Stream { reports, report: Done::default(), finished: false, folded: None }
    }

    /// Merges `report` next, sending the one merged before back to be filled again; records
    /// the late segments and keeps the summary a last report tells.
    fn take(&mut self, mut report: Done, late: &mut u64) {
        if let Some(n) = report.late_segments {
            *late += n;
            self.finished = true;
            self.folded = report.folded.take();
        }
        report.delivered.reverse();
        let merged = std::mem::replace(&mut self.report, report);
        // A table that has finished no longer takes reports back: dropped then.
        let _ = self.reports.written.send(merged);
    }

    /// The next delivery, with its global id. At the end of the capture (`wait`), waits for
    /// the table's next chunk when this one is merged.
    fn next(&mut self, wait: bool, numbers: &mut Numbers, late: &mut u64) -> Option<(Place, u64, Delivered)> {
        loop {
            if let Some((place, delivered)) = self.report.delivered.pop() {
                return Some((place, numbers.global(self.reports.shard, delivered.id()), delivered));
            }
            if !wait || self.finished {
                return None;
            }
            let report = self.reports.done.recv().ok()?;
            self.take(report, late);
        }
    }
}

/// The calling thread: takes the tables' reports round by round, numbers their connections
/// globally and hands them to `sink` in single-threaded order. At the end of the capture, it
/// merges every table's and helper's chunks of last deliveries as they arrive, and adds up
/// their summaries. Returns the late segments.
fn merge(tables: &[Reports], helpers: &[Reports], sink: &mut impl Sink) -> u64 {
    let mut numbers = Numbers::new(tables.len());
    let mut streams: Vec<Stream<'_>> = tables.iter().chain(helpers).map(Stream::new).collect();
    let mut late = 0;
    loop {
        let mut ending = false;
        for stream in streams.iter_mut().take(tables.len()) {
            // A shard that stopped without its last report panicked: joining re-raises it.
            let Ok(report) = stream.reports.done.recv() else {
                return 0;
            };
            ending |= report.ending;
            stream.take(report, &mut late);
        }
        numbers.created(streams.iter().take(tables.len()).map(|s| s.report.created.as_slice()));
        merge_streams(&mut streams, ending, &mut numbers, sink, &mut late);
        if ending {
            if let Some(summary) = sink.summary() {
                for stream in &mut streams {
                    if let Some(folded) = stream.folded.take() {
                        summary.absorb(*folded, |local| numbers.lookup(stream.reports.shard, local));
                    }
                }
            }
            return late;
        }
    }
}

/// Hands the streams' deliveries to `sink` by place and global id: each stream's come in that
/// order, so taking the least of their heads each time is the single-threaded order.
fn merge_streams(streams: &mut [Stream<'_>], wait: bool, numbers: &mut Numbers, sink: &mut impl Sink, late: &mut u64) {
    let mut heads: Vec<Option<(Place, u64, Delivered)>> =
        streams.iter_mut().map(|s| s.next(wait, numbers, late)).collect();
    loop {
        let next = heads.iter().enumerate().filter_map(|(s, h)| h.as_ref().map(|(p, id, _)| ((*p, *id), s))).min();
        let Some((_, s)) = next else {
            return;
        };
        let (Some(head), Some(stream)) = (heads.get_mut(s), streams.get_mut(s)) else {
            return;
        };
        if let Some((_, id, delivered)) = head.take() {
            hand_over(sink, delivered, id, &stream.report.json);
        }
        *head = stream.next(wait, numbers, late);
    }
}

/// Gives one delivery, numbered `id`, to `sink`; `json` holds its bytes if it was written.
fn hand_over(sink: &mut impl Sink, delivered: Delivered, id: u64, json: &[u8]) {
    match delivered {
        Delivered::Whole(mut conn) => {
            conn.renumber(id);
            sink.connection(*conn);
        }
        Delivered::Json { bytes, holes, .. } => {
            if let Some(out) = sink.json() {
                out.numbered(Unnumbered { bytes: json.get(bytes).unwrap_or_default(), holes }, id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_takes_a_quarter_of_two_tables_and_none_from_three_on() {
        assert!((reader_share(2) - 0.25).abs() < 1e-9);
        assert_eq!(reader_share(3), 0.0);
        assert_eq!(reader_share(255), 0.0);
    }

    #[test]
    fn a_helper_takes_every_third_of_a_shards_last_connections_with_two_or_three_tables() {
        assert_eq!(hand_every(2), 3);
        assert_eq!(hand_every(3), 3);
        assert_eq!(hand_every(4), 4);
    }

    #[test]
    fn every_hash_goes_to_a_table_in_range() {
        for tables in [2, 3, 5, 255] {
            let deal = Deal::new(tables);
            for hash in [0, 1, u64::MAX, u64::MAX - 1, 1 << 63, (deal.mine << 32).wrapping_sub(1), deal.mine << 32] {
                assert!(deal.owner(hash) < tables, "{tables} tables, hash {hash:#x}");
            }
            assert_eq!(deal.owner(u64::MAX), tables - 1);
        }
    }

    #[test]
    fn hashes_are_dealt_in_the_planned_shares() {
        let deal = Deal::new(2);
        let mut counts = [0u32; 2];
        // Evenly spread hashes: the shares are those of the hash space.
        for i in 0..10_000u64 {
            counts[deal.owner(i.wrapping_mul(u64::MAX / 10_000))] += 1;
        }
        assert!(counts[0].abs_diff(2_500) <= 2 && counts[1].abs_diff(7_500) <= 2, "{counts:?}");
        let deal = Deal::new(3);
        let mut counts = [0u32; 3];
        for i in 0..9_000u64 {
            counts[deal.owner(i.wrapping_mul(u64::MAX / 9_000))] += 1;
        }
        assert!(counts[0] == 0 && counts[1].abs_diff(4_500) <= 2, "{counts:?}");
    }
}
