//! The `tcpstate/1` JSON document (`--json`) and JSON Lines (`--jsonl`). The contract is the
//! serde shape of `crate::timeline` plus the envelope below; see README "JSON format".

use std::io::{self, Write};

use serde::Serialize;

use crate::timeline::Connection;
use crate::{FrameCounts, Report};

pub const SCHEMA: &str = "tcpstate/1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    file: String,
    files: Vec<String>,
    frames: &'a FrameCounts,
    warnings: &'a [String],
    connections: &'a [Connection],
}

pub fn write_document(out: &mut impl Write, report: &Report, connections: &[Connection]) -> io::Result<()> {
    let files: Vec<String> = report.files.iter().map(|p| p.display().to_string()).collect();
    let doc = Document {
        schema: SCHEMA,
        file: files.first().cloned().unwrap_or_default(),
        files,
        frames: &report.frames,
        warnings: &report.warnings,
        connections,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// One connection per line, as it finishes.
pub fn write_line(out: &mut impl Write, conn: &Connection) -> io::Result<()> {
    serde_json::to_writer(&mut *out, conn)?;
    out.write_all(b"\n")
}
