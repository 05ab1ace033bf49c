//! Every public capture opens, with tshark's frame count and tshark's number of TCP
//! connections (`tests/public_traces_counts.tsv`, made by `tests/public_traces_counts.sh`),
//! no warning, and every frame accounted for.

use crate::support::{public_traces, run};

#[test]
fn frame_and_connection_counts_equal_tsharks_on_every_public_trace() {
    let table = include_str!("public_traces_counts.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cells: Vec<&str> = line.split('\t').collect();
        let [file, frames, streams] = cells[..] else {
            panic!("bad line {line:?}");
        };
        let (frames, streams): (u64, usize) = (frames.parse().unwrap(), streams.parse().unwrap());
        let (report, conns) = run(&public_traces().join(file));
        let skipped: u64 = report.frames.skipped.values().sum();
        let got = (report.frames.total, conns.len(), report.frames.tcp + skipped);
        if got != (frames, streams, frames) || !report.warnings.is_empty() {
            failures.push(format!(
                "{file}: tshark {frames} frames, {streams} connections; got {got:?}, warnings {:?}",
                report.warnings
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 52, "the table lists the 52 public captures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
