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
mod shards;
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

/// What an analysis is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long TIME_WAIT lasts (2·MSL). Linux uses 60 s.
    pub time_wait: Duration,
    pub segments: SegmentLog,
    /// Capture bytes read so far (record headers included), for a progress display that
    /// runs on another thread. `None`: nobody is watching.
    pub progress: Option<Arc<AtomicU64>>,
    /// Flow tables to run: 1 runs everything on the calling thread; N > 1 runs N tables,
    /// sharded by flow hash, one on the reading thread and the others on threads of their own
    /// (see `shards`), while the calling thread writes the output. The output is the same.
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
pub fn analyze(inputs: &[PathBuf], opts: &Options, sink: &mut impl Sink) -> Result<Report, CaptureError> {
    let cap = Capture::open(inputs)?;
    Ok(analyze_capture(cap, inputs.to_vec(), opts, sink))
}

/// [`analyze`] over one byte stream instead of files (a socket, a buffer, a fuzzer's input);
/// `name` stands for it in messages.
pub fn analyze_reader(
    name: &std::path::Path,
    reader: Box<dyn std::io::Read + Send>,
    opts: &Options,
    sink: &mut impl Sink,
) -> Result<Report, CaptureError> {
    let input = capture::Input::from_reader(name, reader)?;
    let cap = Capture::from_inputs(vec![input]);
    Ok(analyze_capture(cap, vec![name.to_path_buf()], opts, sink))
}

fn analyze_capture(cap: Capture, files: Vec<PathBuf>, opts: &Options, sink: &mut impl Sink) -> Report {
    // A segment log names connections by their global ids, which shards learn only later.
    if opts.threads > 1 && opts.segments == SegmentLog::None {
        return shards::run(cap, files, opts, opts.threads, sink);
    }
    let mut table = FlowTable::new(opts.time_wait, opts.segments.clone());
    let (report, impossible) = decode_all(cap, files, opts, |seg, at| table.on_segment(seg, at, sink));
    let late = table.late_segments;
    table.finish(report.last_ts.unwrap_or_default(), sink);
    finish_report(report, impossible, late)
}

/// The report's last words: the flow table's warning about late segments, then the
/// decoder's about impossible flags.
fn finish_report(mut report: Report, impossible: Option<String>, late_segments: u64) -> Report {
    report.late_segments = late_segments;
    if late_segments > 0 {
        report.warnings.push(format!(
            "{late_segments} segment(s) arrived more than {} s after their connection had finished; they are counted as TCP but not analysed",
            flow::QUIET.as_secs_f64()
        ));
    }
    report.warnings.extend(impossible);
    report
}

/// Reads and decodes every frame, counting what is skipped, and hands each TCP segment to
/// `emit` in capture order. The warning about impossible flag combinations is returned apart:
/// it follows the flow table's warnings, which the caller appends.
pub(crate) fn decode_all(
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
