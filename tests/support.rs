//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use tcpstate::flow::SegmentLog;
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options, Report};

/// `../shared/public-traces`, beside the repository, as CI lays it out.
pub fn public_traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/public-traces")
}

/// Analyzes with every segment recorded, connections in id order.
#[track_caller]
pub fn run(path: &Path) -> (Report, Vec<Connection>) {
    let opts = Options { segments: SegmentLog::All, ..Options::default() };
    let mut conns = Vec::new();
    let report =
        analyze(&[path.to_path_buf()], &opts, &mut conns).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    conns.sort_by_key(|c| c.id);
    (report, conns)
}

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Every capture under `dir`, recursively.
pub fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            captures_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng" || e == "gz") {
            out.push(path);
        }
    }
}

/// The fixtures and the public traces, sorted.
pub fn every_capture() -> Vec<PathBuf> {
    let mut captures = Vec::new();
    captures_under(&repo("fixtures"), &mut captures);
    captures_under(&public_traces(), &mut captures);
    captures.sort();
    captures
}
