//! Every capture of ../shared/public-traces: connection ids must equal tshark's `tcp.stream`
//! frame by frame (the reference `*.tshark-fields.txt` files were made by TShark 4.0.17).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{public_traces, run};

fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![public_traces()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| {
                e == "txt"
                    || e == "log"
                    || e == "out"
                    || e == "yaml"
                    || e == "md"
                    || e == "cut"
                    || e == "short"
                    || e == "long"
            }) {
                continue;
            } else if Path::new(&format!("{}.tshark-fields.txt", path.display())).exists() {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// frame number → tcp.stream, from tshark's fields output.
fn tshark_streams(capture: &Path) -> BTreeMap<u64, u64> {
    let text = std::fs::read_to_string(format!("{}.tshark-fields.txt", capture.display())).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (fno, stream) = (col("frame.number"), col("tcp.stream"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            (cells[fno].parse().unwrap(), cells[stream].split('|').next().unwrap().parse().unwrap())
        })
        .collect()
}

#[test]
fn there_are_public_traces_to_check() {
    assert!(captures().len() >= 50, "expected the 52 public captures, found {}", captures().len());
}

#[test]
fn connection_ids_equal_tshark_tcp_stream_on_every_public_trace() {
    let mut failures = Vec::new();
    for cap in captures() {
        let expected = tshark_streams(&cap);
        let (_, conns) = run(&cap);
        let mut got = BTreeMap::new();
        for c in &conns {
            for s in c.segments.as_deref().unwrap_or_default() {
                got.insert(s.frame.0, c.id);
            }
        }
        if got != expected {
            let first = expected.iter().find(|(f, id)| got.get(f) != Some(id));
            failures.push(format!(
                "{}: {} frames expected, {} got; first difference at {:?} (got {:?})",
                cap.display(),
                expected.len(),
                got.len(),
                first,
                first.and_then(|(f, _)| got.get(f))
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
