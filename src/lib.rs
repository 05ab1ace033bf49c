//! tcpstate reconstructs, for every TCP connection in a capture, the RFC 9293 state timeline
//! of both endpoints.
//!
//! Data flows one way through one module per stage:
//!
//! ```text
//! capture (pcap/pcapng/gzip, merged inputs) → decode (link, IP, TCP → Segment)
//!   → flow (4-tuple, roles, incarnations, tcp.stream ids; two tcp::Endpoint machines)
//!   → timeline (Connection, Transition) → output (json, text, ...)
//! ```

pub mod capture;
pub mod check;
pub mod decode;
pub mod error;
pub mod flow;
pub mod frame;
pub mod output;
pub mod peers;
pub mod summary;
pub mod tcp;
pub mod timeline;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use capture::{Capture, Warning};
use decode::Segment;
use error::{CaptureError, SkipReason};
use flow::{FlowTable, SegmentLog, Sink};
use frame::{Duration, Timestamp};
use tcp::endpoint::At;
use timeline::Connection;

/// What an analysis is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long TIME_WAIT lasts (2·MSL). Linux uses 60 s.
    pub time_wait: Duration,
    pub segments: SegmentLog,
    /// Capture bytes read so far (record headers included), for a progress display that
    /// runs on another thread. `None`: nobody is watching.
    pub progress: Option<Arc<AtomicU64>>,
    /// Threads to use: 1 runs everything on the calling thread; more run reading, the flow
    /// table and the output as a pipeline (see [`pipelined`]). The output is the same.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { time_wait: Duration::from_secs_f64(60.0), segments: SegmentLog::None, progress: None, threads: 1 }
    }
}

/// Every frame accounted for: `total == tcp + sum(skipped)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrameCounts {
    pub total: u64,
    pub tcp: u64,
    pub skipped: BTreeMap<&'static str, u64>,
}

/// What the analysis saw besides the connections.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub files: Vec<PathBuf>,
    pub frames: FrameCounts,
    pub warnings: Vec<String>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// TCP segments that arrived for a connection already delivered (see `flow::QUIET`).
    pub late_segments: u64,
}

/// Reads every frame of `inputs` (merged by time) and hands each connection to `sink` when it
/// is finished: superseded by a new incarnation, or at the end of the capture (in id order).
pub fn analyze(inputs: &[PathBuf], opts: &Options, sink: &mut (impl Sink + Send)) -> Result<Report, CaptureError> {
    let cap = Capture::open(inputs)?;
    Ok(analyze_capture(cap, inputs.to_vec(), opts, sink))
}

/// [`analyze`] over one byte stream instead of files (a socket, a buffer, a fuzzer's input);
/// `name` stands for it in messages.
pub fn analyze_reader(
    name: &std::path::Path,
    reader: Box<dyn std::io::Read + Send>,
    opts: &Options,
    sink: &mut (impl Sink + Send),
) -> Result<Report, CaptureError> {
    let input = capture::Input::from_reader(name, reader)?;
    let cap = Capture::from_inputs(vec![input]);
    Ok(analyze_capture(cap, vec![name.to_path_buf()], opts, sink))
}

fn analyze_capture(cap: Capture, files: Vec<PathBuf>, opts: &Options, sink: &mut (impl Sink + Send)) -> Report {
    let mut table = FlowTable::new(opts.time_wait, opts.segments.clone());
    if opts.threads > 1 {
        return pipelined(cap, files, opts, table, sink);
    }
    let (report, impossible) = decode_all(cap, files, opts, |seg, at| table.on_segment(seg, at, sink));
    finish(report, impossible, table, sink)
}

/// The flow table's last word: its warnings (then the decoder's about impossible flags),
/// then the connections still open.
fn finish(mut report: Report, impossible: Option<String>, table: FlowTable, sink: &mut impl Sink) -> Report {
    report.late_segments = table.late_segments;
    if table.late_segments > 0 {
        report.warnings.push(format!(
            "{} segment(s) arrived more than {} s after their connection had finished; they are counted as TCP but not analysed",
            table.late_segments,
            flow::QUIET.as_secs_f64()
        ));
    }
    report.warnings.extend(impossible);
    table.finish(report.last_ts.unwrap_or_default(), sink);
    report
}

/// Segments travel between the pipeline's threads in batches, so the channel's cost is paid
/// once per thousand segments rather than once per segment.
const BATCH: usize = 1024;
/// Batches (and finished connections) in flight: enough to ride out jitter, few enough to
/// keep memory flat.
const IN_FLIGHT: usize = 16;

/// Three stages on three threads: reading and decoding frames; the flow table; and the sink
/// (serializing and writing finished connections). The flow table still sees every segment in
/// capture order and the sink every connection in the order the flow table finished them, so
/// the output is the single-threaded one by construction.
fn pipelined(
    cap: Capture,
    files: Vec<PathBuf>,
    opts: &Options,
    mut table: FlowTable,
    sink: &mut (impl Sink + Send),
) -> Report {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Segment, At)>>(IN_FLIGHT);
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<(Segment, At)>>();
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Connection>(IN_FLIGHT * 64);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let decoded = decode_all(cap, files, opts, |seg, at| {
                batch.push((*seg, at));
                if batch.len() == BATCH {
                    let next = recycle_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    // A closed channel means the consumer is gone; the report still returns.
                    let _ = tx.send(std::mem::replace(&mut batch, next));
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            decoded
        });
        let writer = scope.spawn(move || {
            for conn in done_rx {
                sink.connection(conn);
            }
        });
        let mut forward = Forward(done_tx);
        for mut batch in rx {
            for (seg, at) in batch.drain(..) {
                table.on_segment(&seg, at, &mut forward);
            }
            let _ = recycle_tx.send(batch);
        }
        let (report, impossible) = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let report = finish(report, impossible, table, &mut forward);
        drop(forward);
        writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        report
    })
}

/// Hands finished connections to the sink's thread.
struct Forward(std::sync::mpsc::SyncSender<Connection>);

impl Sink for Forward {
    fn connection(&mut self, conn: Connection) {
        // The sink's thread only stops early by panicking, which `join` re-raises.
        let _ = self.0.send(conn);
    }
}

/// Reads and decodes every frame, counting what is skipped, and hands each TCP segment to
/// `emit` in capture order. The warning about impossible flag combinations is returned apart:
/// it follows the flow table's warnings, which the caller appends.
fn decode_all(
    mut cap: Capture,
    files: Vec<PathBuf>,
    opts: &Options,
    mut emit: impl FnMut(&Segment, At),
) -> (Report, Option<String>) {
    let mut report = Report { files, ..Report::default() };
    let mut unsupported: BTreeMap<i32, ()> = BTreeMap::new();
    let mut impossible: (u64, Option<String>) = (0, None);
    while let Some((frame, data)) = cap.next_frame() {
        report.frames.total += 1;
        if let Some(p) = &opts.progress {
            // A pcap record header is 16 bytes: exact for pcap, close for pcapng.
            p.fetch_add(data.len() as u64 + 16, Ordering::Relaxed);
        }
        report.first_ts.get_or_insert(frame.ts);
        report.last_ts = Some(report.last_ts.map_or(frame.ts, |l| l.max(frame.ts)));
        match decode::decode(frame.linktype, data) {
            Ok(seg) => {
                report.frames.tcp += 1;
                if seg.flags.impossible() {
                    impossible.0 += 1;
                    impossible.1.get_or_insert_with(|| {
                        format!(
                            "{}: TCP flags {} from {} to {} are impossible together",
                            cap.locate(&frame),
                            seg.flags,
                            seg.src,
                            seg.dst
                        )
                    });
                }
                emit(&seg, At { ts: frame.ts, frame: frame.no });
            }
            Err(reason) => {
                if reason == SkipReason::UnsupportedLinkType && unsupported.insert(frame.linktype, ()).is_none() {
                    report.warnings.push(format!(
                        "{}: link type {} is not supported; its frames are skipped",
                        cap.locate(&frame),
                        decode::link::linktype_name(frame.linktype)
                    ));
                }
                *report.frames.skipped.entry(reason.key()).or_insert(0) += 1;
            }
        }
    }
    report.warnings.extend(cap.warnings.iter().map(Warning::to_string));
    let impossible = impossible
        .1
        .map(|first| format!("{first} (a scan or a crafted packet; {} such frames in the capture)", impossible.0));
    (report, impossible)
}
