//! The `tcpstate/1` JSON document (`--json`) and JSON Lines (`--jsonl`). The contract is the
//! serde shape of `crate::timeline` plus the envelope below; see README "JSON format".
//!
//! Connections finish in any order but the document lists them by id. Rather than hold every
//! finished connection in memory until the end, [`DocumentSink`] writes each to a temporary
//! file as it finishes and keeps only (id, offset, length): memory stays proportional to the
//! connections open at once, not to the capture.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use serde::Serialize;

use crate::flow::Sink;
use crate::timeline::Connection;
use crate::{FrameCounts, Report};

pub const SCHEMA: &str = "tcpstate/1";

#[derive(Serialize)]
struct Envelope<'a> {
    schema: &'static str,
    file: String,
    files: Vec<String>,
    frames: &'a FrameCounts,
    warnings: &'a [String],
}

/// Collects finished connections for the document, spilled to a temporary file.
pub struct DocumentSink {
    spill: BufWriter<File>,
    written: u64,
    index: Vec<(u64, u64, u64)>,
    error: Option<io::Error>,
}

impl DocumentSink {
    pub fn new() -> io::Result<DocumentSink> {
        Ok(DocumentSink { spill: BufWriter::new(tempfile::tempfile()?), written: 0, index: Vec::new(), error: None })
    }

    fn push(&mut self, conn: &Connection) -> io::Result<()> {
        let bytes = serde_json::to_vec(conn)?;
        self.spill.write_all(&bytes)?;
        self.index.push((conn.id, self.written, bytes.len() as u64));
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the whole document: the envelope, then the connections in id order.
    pub fn write(self, out: &mut impl Write, report: &Report) -> io::Result<()> {
        let DocumentSink { spill, mut index, error, .. } = self;
        if let Some(e) = error {
            return Err(e);
        }
        let mut spill = spill.into_inner().map_err(|e| e.into_error())?;
        let files: Vec<String> = report.files.iter().map(|p| p.display().to_string()).collect();
        let envelope = Envelope {
            schema: SCHEMA,
            file: files.first().cloned().unwrap_or_default(),
            files,
            frames: &report.frames,
            warnings: &report.warnings,
        };
        // The envelope's closing brace is replaced by the connections array, one compact
        // connection per line: greppable, diffable, and a third the size of pretty JSON.
        let head = serde_json::to_string_pretty(&envelope)?;
        let head = head.strip_suffix("\n}").unwrap_or(&head);
        out.write_all(head.as_bytes())?;
        out.write_all(b",\n  \"connections\": [")?;
        index.sort_unstable();
        let mut buf = Vec::new();
        for (n, &(_, offset, len)) in index.iter().enumerate() {
            spill.seek(SeekFrom::Start(offset))?;
            buf.clear();
            (&mut spill).take(len).read_to_end(&mut buf)?;
            out.write_all(if n == 0 { b"\n    " } else { b",\n    " })?;
            out.write_all(&buf)?;
        }
        out.write_all(if index.is_empty() { b"]\n}\n" } else { b"\n  ]\n}\n" })
    }
}

impl Sink for DocumentSink {
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
