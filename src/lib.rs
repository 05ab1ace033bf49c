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

use capture::{Capture, Frame, Warning};
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
}

impl Default for Options {
    fn default() -> Self {
        Options { time_wait: Duration::from_secs_f64(60.0), segments: SegmentLog::None, progress: None }
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
}

/// Reads every frame of `inputs` (merged by time) and hands each connection to `sink` when it
/// is finished: superseded by a new incarnation, or at the end of the capture (in id order).
pub fn analyze(inputs: &[PathBuf], opts: &Options, sink: &mut impl Sink) -> Result<Report, CaptureError> {
    let mut cap = Capture::open(inputs)?;
    let mut report = Report { files: inputs.to_vec(), ..Report::default() };
    let mut table = FlowTable::new(opts.time_wait, opts.segments.clone());
    let mut frame = Frame::default();
    let mut unsupported: BTreeMap<i32, ()> = BTreeMap::new();
    while cap.next_into(&mut frame)? {
        report.frames.total += 1;
        if let Some(p) = &opts.progress {
            // A pcap record header is 16 bytes: exact for pcap, close for pcapng.
            p.fetch_add(frame.data.len() as u64 + 16, Ordering::Relaxed);
        }
        report.first_ts.get_or_insert(frame.ts);
        report.last_ts = Some(report.last_ts.map_or(frame.ts, |l| l.max(frame.ts)));
        match decode::decode(frame.linktype, &frame.data) {
            Ok(seg) => {
                report.frames.tcp += 1;
                table.on_segment(&seg, At { ts: frame.ts, frame: frame.no }, sink);
            }
            Err(reason) => {
                if reason == SkipReason::UnsupportedLinkType && unsupported.insert(frame.linktype, ()).is_none() {
                    report.warnings.push(format!(
                        "frame {}: link type {} is not supported; its frames are skipped",
                        frame.no,
                        decode::link::linktype_name(frame.linktype)
                    ));
                }
                *report.frames.skipped.entry(reason.key()).or_insert(0) += 1;
            }
        }
    }
    report.warnings.extend(cap.warnings.iter().map(Warning::to_string));
    if table.late_segments > 0 {
        report.warnings.push(format!(
            "{} segment(s) arrived more than {} s after their connection had finished; they are counted as TCP but not analysed",
            table.late_segments,
            flow::QUIET.as_secs_f64()
        ));
    }
    table.finish(report.last_ts.unwrap_or_default(), sink);
    Ok(report)
}
