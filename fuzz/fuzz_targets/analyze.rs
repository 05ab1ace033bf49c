//! Arbitrary bytes through the whole pipeline: capture reader (pcap, pcapng, gzip, zstd),
//! link and IP decoding, the flow table and both endpoint state machines. Any panic, hang
//! (libFuzzer `-timeout`) or runaway allocation (`-rss_limit_mb`, `-malloc_limit_mb`) is a bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tcpstate::flow::SegmentLog;
use tcpstate::timeline::Connection;
use tcpstate::{analyze_reader, Options};

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        segments: SegmentLog::All,
        ..Options::default()
    };
    let mut conns: Vec<Connection> = Vec::new();
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(report) = analyze_reader(Path::new("fuzz"), input, &opts, &mut conns) {
        let skipped: u64 = report.frames.skipped.values().sum();
        assert_eq!(report.frames.total, report.frames.tcp + skipped);
    }
});
