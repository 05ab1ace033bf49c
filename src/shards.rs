//! `--threads N`: N flow tables on N threads, each owning the connections whose 4-tuple
//! hashes to it, behind one reading thread; the calling thread merges what they deliver.
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
//! incarnation; at the end, timers due by then and the rest in id order.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

use crate::capture::Capture;
use crate::decode::Segment;
use crate::flow::{FlowTable, SegmentLog, Sink, Why};
use crate::frame::Timestamp;
use crate::tcp::endpoint::At;
use crate::timeline::Connection;
use crate::{decode_all, finish_report, Options, Report};

/// Segments per batch: the channels' cost is paid once per batch, and every shard walks the
/// whole batch's clock, so batches should be large but stay in cache (a few hundred kB).
const BATCH: usize = 2048;
/// Batches in flight per shard: enough to ride out jitter, few enough to keep memory flat.
const IN_FLIGHT: usize = 6;

/// The reader's output, shared by all shards.
struct Batch {
    /// Global index of the batch's first segment.
    first: u64,
    /// Every segment's time, in capture order.
    clock: Vec<At>,
    /// Which shard owns each segment.
    owner: Vec<u8>,
    /// Each shard's segments, in capture order.
    segments: Vec<Vec<Segment>>,
}

impl Batch {
    fn new(first: u64, shards: usize) -> Batch {
        Batch {
            first,
            clock: Vec::with_capacity(BATCH),
            owner: Vec::with_capacity(BATCH),
            segments: (0..shards).map(|_| Vec::with_capacity(BATCH / shards + BATCH / 8)).collect(),
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

/// What one shard did with one batch.
#[derive(Default)]
struct Done {
    /// Global segment indices at which the shard created connections, in its id order.
    created: Vec<u64>,
    delivered: Vec<(Place, Connection)>,
    /// Set on the shard's last report.
    late_segments: Option<u64>,
}

/// Records deliveries with their place.
struct Placing<'a> {
    done: &'a mut Done,
    segment: u64,
}

impl Sink for Placing<'_> {
    fn connection(&mut self, conn: Connection) {
        self.deliver(conn, Why::End);
    }

    fn deliver(&mut self, conn: Connection, why: Why) {
        let (phase, due) = match why {
            Why::Quiet(due) => (0, due),
            Why::Reincarnated => (1, Timestamp::default()),
            Why::End => (2, Timestamp::default()),
        };
        self.done.delivered.push((Place { segment: self.segment, phase, due }, conn));
    }
}

/// Runs the analysis over `shards` flow tables (2 to 255).
pub(crate) fn run(cap: Capture, files: Vec<PathBuf>, opts: &Options, shards: usize, sink: &mut impl Sink) -> Report {
    let shards = shards.clamp(2, usize::from(u8::MAX));
    let (work_tx, work_rx): (Vec<_>, Vec<_>) = (0..shards).map(|_| sync_channel::<Work>(IN_FLIGHT)).unzip();
    let (done_tx, done_rx): (Vec<_>, Vec<_>) = (0..shards).map(|_| sync_channel::<Done>(IN_FLIGHT)).unzip();
    // Batches come back from the last shard to finish with them: a quarter of a megabyte
    // each, so reusing them saves the allocator mapping and faulting in fresh pages every time.
    let (spent_tx, spent_rx) = channel::<Batch>();
    thread::scope(|scope| {
        let reader = thread::Builder::new()
            .name("reader".into())
            .spawn_scoped(scope, move || read(cap, files, opts, work_tx, spent_rx))
            .unwrap_or_else(|e| panic!("cannot start the reading thread: {e}"));
        for (me, (rx, tx)) in work_rx.into_iter().zip(done_tx).enumerate() {
            let time_wait = opts.time_wait;
            let spent = spent_tx.clone();
            thread::Builder::new()
                .name(format!("shard {me}"))
                .spawn_scoped(scope, move || shard(me, FlowTable::new(time_wait, SegmentLog::None), rx, tx, spent))
                .unwrap_or_else(|e| panic!("cannot start a shard thread: {e}"));
        }
        let late = merge(&done_rx, sink);
        let (report, impossible) = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        finish_report(report, impossible, late)
    })
}

/// The reading thread: decodes every frame and deals the segments out by flow hash.
fn read(
    cap: Capture,
    files: Vec<PathBuf>,
    opts: &Options,
    work: Vec<SyncSender<Work>>,
    spent: Receiver<Batch>,
) -> (Report, Option<String>) {
    let shards = work.len();
    let mut batch = Batch::new(0, shards);
    let send = |batch: Batch| {
        let batch = Arc::new(batch);
        for tx in &work {
            // A closed channel means a shard died; its panic is re-raised when joined.
            let _ = tx.send(Work::Batch(Arc::clone(&batch)));
        }
    };
    let decoded = decode_all(cap, files, opts, |seg, at| {
        // The high bits of hash × shards: an even split without a division per segment.
        let owner = ((u128::from(spread(seg)) * shards as u128) >> 64) as usize;
        batch.clock.push(at);
        batch.owner.push(owner as u8);
        if let Some(mine) = batch.segments.get_mut(owner) {
            mine.push(*seg);
        }
        if batch.clock.len() == BATCH {
            let next = batch.first + BATCH as u64;
            let fresh = spent.try_recv().map_or_else(|_| Batch::new(next, shards), |b| b.reuse(next));
            send(std::mem::replace(&mut batch, fresh));
        }
    });
    if !batch.clock.is_empty() {
        send(batch);
    }
    let end = decoded.0.last_ts.unwrap_or_default();
    for tx in &work {
        let _ = tx.send(Work::End(end));
    }
    decoded
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

/// One shard: its flow table, run on every instant of the clock and on its own segments.
fn shard(me: usize, mut table: FlowTable, work: Receiver<Work>, done: SyncSender<Done>, spent: Sender<Batch>) {
    for item in work {
        let mut report = Done::default();
        match item {
            Work::Batch(batch) => {
                let mut mine = batch.segments.get(me).map_or(&[][..], Vec::as_slice).iter();
                for (i, (at, &owner)) in batch.clock.iter().zip(&batch.owner).enumerate() {
                    let segment = batch.first + i as u64;
                    let mut placing = Placing { done: &mut report, segment };
                    let own = if usize::from(owner) == me { mine.next() } else { None };
                    match own {
                        Some(seg) => {
                            let before = table.created();
                            table.on_segment(seg, *at, &mut placing);
                            if table.created() > before {
                                report.created.push(segment);
                            }
                        }
                        None => table.fire_timers(at.ts, &mut placing),
                    }
                }
                if let Some(batch) = Arc::into_inner(batch) {
                    // The reader may have finished already; then the batch is simply dropped.
                    let _ = spent.send(batch);
                }
                if done.send(report).is_err() {
                    return;
                }
            }
            Work::End(end) => {
                let late = table.late_segments;
                table.finish(end, &mut Placing { done: &mut report, segment: u64::MAX });
                report.late_segments = Some(late);
                let _ = done.send(report);
                return;
            }
        }
    }
}

/// The calling thread: takes the shards' reports batch by batch, numbers their connections
/// globally and hands them to `sink` in single-threaded order. Returns the late segments.
fn merge(done: &[Receiver<Done>], sink: &mut impl Sink) -> u64 {
    // (shard, shard's id) → global id, for connections created and not yet delivered.
    let mut ids: std::collections::HashMap<(usize, u64), u64, foldhash::fast::RandomState> = Default::default();
    let mut local_next = vec![0u64; done.len()];
    let mut next_id = 0u64;
    let mut created: Vec<(u64, usize)> = Vec::new();
    let mut ready: Vec<(Place, u64, Connection)> = Vec::new();
    let mut late = 0;
    loop {
        let mut reports = Vec::with_capacity(done.len());
        for rx in done {
            // A shard that stopped without its last report panicked: joining re-raises it.
            let Ok(report) = rx.recv() else {
                return late;
            };
            reports.push(report);
        }
        created.clear();
        for (s, report) in reports.iter().enumerate() {
            created.extend(report.created.iter().map(|&segment| (segment, s)));
        }
        created.sort_unstable();
        for &(_, s) in &created {
            if let Some(local) = local_next.get_mut(s) {
                ids.insert((s, *local), next_id);
                *local += 1;
                next_id += 1;
            }
        }
        let mut last = false;
        for (s, report) in reports.into_iter().enumerate() {
            if let Some(n) = report.late_segments {
                late += n;
                last = true;
            }
            for (place, mut conn) in report.delivered {
                let id = ids.remove(&(s, conn.id)).unwrap_or(conn.id);
                conn.renumber(id);
                ready.push((place, id, conn));
            }
        }
        ready.sort_unstable_by_key(|(place, id, _)| (*place, *id));
        for (_, _, conn) in ready.drain(..) {
            sink.connection(conn);
        }
        if last {
            return late;
        }
    }
}
