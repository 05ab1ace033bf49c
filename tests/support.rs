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
