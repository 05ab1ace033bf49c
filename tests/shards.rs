//! `--threads N` shards the flow table; its output must be the single-threaded one, in the
//! same order, with the same ids: on every capture we have and on a crafted capture built to
//! make the shards disagree (port reuse, late segments, timers firing in long gaps, ties).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use tcpstate::flow::Sink;
use tcpstate::output::json::{DocumentSink, LineSink};
use tcpstate::summary::{SummaryBuilder, SummaryOptions};
use tcpstate::timeline::Connection;
use tcpstate::{analyze, analyze_reader, Options, Report};

use crate::pcapwriter::{addr, Capture, Pcap, Seg, ACK, FIN, RST};
use crate::support::every_capture;

/// Everything a run produces, in delivery order, as comparable text.
fn outcome(report: &Report, conns: &[Connection]) -> (String, Vec<String>) {
    let report = format!(
        "frames {:?} warnings {:?} late {} first {:?} last {:?}",
        report.frames, report.warnings, report.late_segments, report.first_ts, report.last_ts
    );
    (report, conns.iter().map(|c| serde_json::to_string(c).unwrap()).collect())
}

fn run_file(path: &Path, threads: usize) -> (String, Vec<String>) {
    let opts = Options { threads, ..Options::default() };
    let mut conns = Vec::new();
    let report =
        analyze(&[path.to_path_buf()], &opts, &mut conns).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    outcome(&report, &conns)
}

/// The `--json` document and the `--jsonl` lines: with threads, shards write the JSON.
fn json_file(path: &Path, threads: usize) -> (String, String) {
    let opts = Options { threads, ..Options::default() };
    let files = [path.to_path_buf()];
    let mut doc = DocumentSink::begin(Vec::new(), &files).unwrap();
    let report = analyze(&files, &opts, &mut doc).unwrap();
    let doc = doc.end(&report).unwrap();
    let mut lines = LineSink::new(Vec::new());
    analyze(&files, &opts, &mut lines).unwrap();
    (String::from_utf8(doc).unwrap(), String::from_utf8(lines.end().unwrap()).unwrap())
}

fn json_bytes(bytes: &[u8], threads: usize) -> String {
    let opts = Options { threads, ..Options::default() };
    let mut lines = LineSink::new(Vec::new());
    analyze_reader(Path::new("stress"), Box::new(Cursor::new(bytes.to_vec())), &opts, &mut lines).unwrap();
    String::from_utf8(lines.end().unwrap()).unwrap()
}

/// The run's outcome, and its report for the checks that need numbers from it.
fn run_bytes(bytes: &[u8], threads: usize) -> ((String, Vec<String>), Report) {
    let opts = Options { threads, ..Options::default() };
    let mut conns = Vec::new();
    let input = Box::new(Cursor::new(bytes.to_vec()));
    let report = analyze_reader(Path::new("stress"), input, &opts, &mut conns).unwrap();
    (outcome(&report, &conns), report)
}

#[test]
fn shards_deliver_what_one_table_delivers_on_every_capture() {
    let captures: Vec<PathBuf> = every_capture();
    assert!(captures.len() >= 100, "found only {} captures", captures.len());
    for path in &captures {
        let one = run_file(path, 1);
        for threads in [2, 3, 5] {
            let many = run_file(path, threads);
            assert_eq!(one.0, many.0, "{} with {threads} shards: report", path.display());
            assert_eq!(one.1.len(), many.1.len(), "{} with {threads} shards: connections", path.display());
            for (i, (a, b)) in one.1.iter().zip(&many.1).enumerate() {
                assert_eq!(a, b, "{} with {threads} shards: delivery {i}", path.display());
            }
        }
    }
}

#[test]
fn shards_write_the_json_one_table_writes_on_every_capture() {
    let captures: Vec<PathBuf> = every_capture();
    let mut lines = 0;
    for path in &captures {
        let one = json_file(path, 1);
        lines += one.1.lines().count();
        for threads in [2, 3] {
            let many = json_file(path, threads);
            assert_eq!(one.0, many.0, "{} with {threads} shards: --json", path.display());
            assert_eq!(one.1, many.1, "{} with {threads} shards: --jsonl", path.display());
        }
    }
    assert!(lines > 200, "only {lines} connections in all captures");
}

/// The `summary --json` document: with threads, each shard folds its own connections.
fn summary_of(report: &Report, summary: SummaryBuilder) -> String {
    serde_json::to_string(&summary.finish(report)).unwrap()
}

fn summary_file(path: &Path, threads: usize) -> String {
    let opts = Options { threads, ..Options::default() };
    let mut summary = SummaryBuilder::new(SummaryOptions::default());
    let report = analyze(&[path.to_path_buf()], &opts, &mut summary).unwrap();
    summary_of(&report, summary)
}

fn summary_bytes(bytes: &[u8], threads: usize) -> String {
    let opts = Options { threads, ..Options::default() };
    let mut summary = SummaryBuilder::new(SummaryOptions::default());
    let input = Box::new(Cursor::new(bytes.to_vec()));
    let report = analyze_reader(Path::new("stress"), input, &opts, &mut summary).unwrap();
    summary_of(&report, summary)
}

#[test]
fn shards_fold_the_summary_one_table_folds_on_every_capture() {
    let mut folded = 0;
    for path in &every_capture() {
        let one = summary_file(path, 1);
        folded += one.matches("\"tcp_stream\":").count();
        for threads in [2, 3] {
            assert_eq!(one, summary_file(path, threads), "{} with {threads} shards: summary", path.display());
        }
    }
    assert!(folded > 200, "only {folded} connections in all captures");
    let bytes = stress();
    let one = summary_bytes(&bytes, 1);
    for threads in [2, 3, 5] {
        assert_eq!(one, summary_bytes(&bytes, threads), "stress with {threads} shards: summary");
    }
}

/// A deterministic mess: 40 client ports on 3 servers, so 4-tuples are reused many times
/// (new SYNs with new sequence numbers), connections closed by FIN, reset, or left open;
/// stray segments long after a close (late); bursts sharing one timestamp; and gaps longer
/// than TIME_WAIT plus the quiet time, so many timers fire at one segment.
fn stress() -> Vec<u8> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut cap = Capture::new();
    let mut t: i64 = 1_700_000_000_000_000_000;
    // Enough rounds for about 40,000 segments: several of the shards' reports to the merger,
    // each of which covers 8 batches of 2,048.
    for round in 0..6000u32 {
        let c = addr(&format!("10.0.{}.{}:{}", next(2), 1 + next(4), 40000 + next(10)));
        let s = addr(&format!("192.0.2.{}:{}", 1 + next(3), [80, 443][next(2) as usize]));
        let isn = 1000 + round * 7919;
        let sisn = 5000 + round * 104_729;
        let mut segs = vec![
            Seg::syn(c, s).seq(isn),
            Seg::syn_ack(s, c).seq(sisn).ack_no(isn + 1),
            Seg::ack(c, s).seq(isn + 1).ack_no(sisn + 1),
            Seg::ack(c, s).seq(isn + 1).ack_no(sisn + 1).payload(10),
        ];
        match next(5) {
            0 => segs.push(Seg::new(c, s, RST | ACK).seq(isn + 11).ack_no(sisn + 1)),
            1 => {}
            2 => segs.extend([
                Seg::new(s, c, FIN | ACK).seq(sisn + 1).ack_no(isn + 11),
                Seg::new(c, s, FIN | ACK).seq(isn + 11).ack_no(sisn + 2),
                Seg::ack(s, c).seq(sisn + 2).ack_no(isn + 12),
            ]),
            _ => segs.extend([
                Seg::new(c, s, FIN | ACK).seq(isn + 11).ack_no(sisn + 1),
                Seg::ack(s, c).seq(sisn + 1).ack_no(isn + 12),
                Seg::new(s, c, FIN | ACK).seq(sisn + 1).ack_no(isn + 12),
                Seg::ack(c, s).seq(isn + 12).ack_no(sisn + 2),
            ]),
        }
        for seg in segs {
            // One in four segments shares the previous timestamp.
            t += if next(4) == 0 { 0 } else { 1 + next(3_000_000) as i64 };
            cap = cap.segment(seg.at_ns(t));
        }
        if next(10) == 0 {
            // A stray ACK on an old tuple: late if its connection was delivered.
            let old = addr(&format!("10.0.0.1:{}", 40000 + next(10)));
            cap = cap.segment(Seg::ack(old, addr("192.0.2.1:80")).seq(7).ack_no(9).at_ns(t));
        }
        if next(40) == 0 {
            // Longer than TIME_WAIT and the quiet time together: timers cascade at one segment.
            t += 75_000_000_000;
        }
    }
    // Connections left open on tuples of their own: the end of the capture then delivers
    // enough for several of its chunks (of 128) on every shard.
    for i in 0..1500u32 {
        let c = addr(&format!("10.1.{}.{}:50000", i / 250, 1 + i % 250));
        let s = addr("192.0.2.9:80");
        let isn = 3_000 + i * 13;
        for seg in [
            Seg::syn(c, s).seq(isn),
            Seg::syn_ack(s, c).seq(9_000).ack_no(isn + 1),
            Seg::ack(c, s).seq(isn + 1).ack_no(9_001),
        ] {
            t += 1 + next(1_000_000) as i64;
            cap = cap.segment(seg.at_ns(t));
        }
    }
    cap.pcap(Pcap::default())
}

#[test]
fn shards_deliver_what_one_table_delivers_on_port_reuse_gaps_and_ties() {
    let bytes = stress();
    let (one, report) = run_bytes(&bytes, 1);
    assert!(one.1.len() > 500, "{} connections", one.1.len());
    let frames = report.frames.total;
    assert!(frames > 2 * 8 * 2048, "{frames} frames: fewer than two rounds of the shards' reports");
    assert!(report.late_segments > 0, "the stress capture has late segments: {}", one.0);
    let tuples: std::collections::HashSet<(String, String)> = one
        .1
        .iter()
        .map(|c| {
            let v: serde_json::Value = serde_json::from_str(c).unwrap();
            (v["client"].to_string(), v["server"].to_string())
        })
        .collect();
    assert!(
        one.1.len() > tuples.len() + 200,
        "{} connections on {} 4-tuples: too little reuse",
        one.1.len(),
        tuples.len()
    );
    let lines = json_bytes(&bytes, 1);
    assert_eq!(lines.lines().count(), one.1.len());
    for threads in [2, 3, 4, 7] {
        let (many, _) = run_bytes(&bytes, threads);
        assert_eq!(one.0, many.0, "{threads} shards: report");
        assert_eq!(one.1, many.1, "{threads} shards: deliveries");
        assert_eq!(lines, json_bytes(&bytes, threads), "{threads} shards: JSON lines");
    }
}

/// The end of a capture delivers what is still open, on every shard at once, in chunks (of
/// 128) that the merger interleaves by id: the stress capture leaves enough open for several
/// chunks per shard and helper with 2 shards.
#[test]
fn the_end_of_the_stress_capture_spans_several_chunks_per_shard() {
    struct Ends(usize);
    impl Sink for Ends {
        fn connection(&mut self, _: Connection) {}
        fn deliver(&mut self, _: Connection, why: tcpstate::flow::Why) {
            self.0 += usize::from(why == tcpstate::flow::Why::End);
        }
    }
    let mut ends = Ends(0);
    let input = Box::new(Cursor::new(stress()));
    analyze_reader(Path::new("stress"), input, &Options::default(), &mut ends).unwrap();
    assert!(ends.0 > 8 * 128, "{} connections delivered at the end", ends.0);
}
