//! The `tcpstate/1` JSON document (`--json`) and JSON Lines (`--jsonl`). The contract is the
//! serde shape of `crate::timeline` plus the envelope below; see README "JSON format".
//!
//! The document is written as the analysis goes: its head first, each connection the moment
//! it finishes (one compact object per line), and the frame counters and warnings — known
//! only at the end — last. Memory stays proportional to the connections open at once, and
//! nothing is written twice.

use std::io::{self, Write};

use serde::Serialize;

use crate::flow::Sink;
use crate::timeline::Connection;
use crate::{FrameCounts, Report};

pub const SCHEMA: &str = "tcpstate/1";

#[derive(Serialize)]
struct Head<'a> {
    schema: &'static str,
    file: &'a str,
    files: &'a [String],
}

#[derive(Serialize)]
struct Tail<'a> {
    frames: &'a FrameCounts,
    warnings: &'a [String],
}

/// Streams the document to `out`: [`DocumentSink::begin`], the connections through [`Sink`],
/// then [`DocumentSink::end`].
pub struct DocumentSink<W: Write> {
    out: W,
    connections: u64,
    error: Option<io::Error>,
}

impl<W: Write> DocumentSink<W> {
    /// Writes the head: the schema and the input files.
    pub fn begin(mut out: W, files: &[std::path::PathBuf]) -> io::Result<DocumentSink<W>> {
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let head = Head { schema: SCHEMA, file: files.first().map_or("", String::as_str), files: &files };
        let text = serde_json::to_string_pretty(&head)?;
        out.write_all(text.strip_suffix("\n}").unwrap_or(&text).as_bytes())?;
        out.write_all(b",\n  \"connections\": [")?;
        Ok(DocumentSink { out, connections: 0, error: None })
    }

    fn push(&mut self, conn: &Connection) -> io::Result<()> {
        self.out.write_all(if self.connections == 0 { b"\n    " } else { b",\n    " })?;
        serde_json::to_writer(&mut self.out, conn)?;
        self.connections += 1;
        Ok(())
    }

    /// Closes the connections array and writes what only the end of the capture knows.
    pub fn end(mut self, report: &Report) -> io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.write_all(if self.connections == 0 { b"],\n" } else { b"\n  ],\n" })?;
        let tail = serde_json::to_string_pretty(&Tail { frames: &report.frames, warnings: &report.warnings })?;
        // The tail's own braces are the document's closing one.
        self.out.write_all(tail.strip_prefix("{\n").unwrap_or(&tail).as_bytes())?;
        self.out.write_all(b"\n")?;
        Ok(self.out)
    }
}

impl<W: Write> Sink for DocumentSink<W> {
    fn connection(&mut self, conn: Connection) {
        if self.error.is_none() {
            if let Err(e) = self.push(&conn) {
                self.error = Some(e);
            }
        }
    }
}

/// One connection per line, as it finishes.
pub fn write_line(out: &mut impl Write, conn: &Connection) -> io::Result<()> {
    serde_json::to_writer(&mut *out, conn)?;
    out.write_all(b"\n")
}
