//! The `tcpstate/1` JSON document (`--json`) and JSON Lines (`--jsonl`). The contract is the
//! serde shape of `crate::timeline` plus the envelope below; see README "JSON format".
//!
//! The document is written as the analysis goes: its head first, each connection the moment
//! it finishes (one compact object per line), and the frame counters and warnings — known
//! only at the end — last. Memory stays proportional to the connections open at once, and
//! nothing is written twice.
//!
//! Connections, the bulk of the output, go through [`encode`] rather than serde; the head and
//! the tail, once per document, keep serde.

pub mod encode;

use std::io::{self, Write};

use serde::Serialize;

use crate::flow::{JsonSink, Sink};
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
    buf: Vec<u8>,
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
        Ok(DocumentSink { out, buf: Vec::new(), connections: 0, error: None })
    }

    fn push(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        let sep = self.separator();
        self.written(|out, buf| write_staged(out, buf, sep, fill, b""));
    }

    fn separator(&self) -> &'static [u8] {
        if self.connections == 0 {
            b"\n    "
        } else {
            b",\n    "
        }
    }

    /// Counts one connection written by `write`, or keeps the first error.
    fn written(&mut self, write: impl FnOnce(&mut W, &mut Vec<u8>) -> io::Result<()>) {
        if self.error.is_some() {
            return;
        }
        match write(&mut self.out, &mut self.buf) {
            Ok(()) => self.connections += 1,
            Err(e) => self.error = Some(e),
        }
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
        self.push(|buf| encode::connection(buf, &conn));
    }

    fn json(&mut self) -> Option<&mut dyn JsonSink> {
        Some(self)
    }
}

impl<W: Write> JsonSink for DocumentSink<W> {
    fn numbered(&mut self, json: Unnumbered<'_>, id: u64) {
        let sep = self.separator();
        self.written(|out, _| {
            out.write_all(sep)?;
            json.write_numbered(out, id)
        });
    }
}

/// JSON Lines (`--jsonl`): one connection per line, written the moment it finishes.
pub struct LineSink<W: Write> {
    out: W,
    buf: Vec<u8>,
    error: Option<io::Error>,
}

impl<W: Write> LineSink<W> {
    pub fn new(out: W) -> LineSink<W> {
        LineSink { out, buf: Vec::new(), error: None }
    }

    /// The writer back, or the first error writing to it.
    pub fn end(self) -> io::Result<W> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    fn push(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        self.written(|out, buf| write_staged(out, buf, b"", fill, b"\n"));
    }

    /// Writes one line with `write`, or keeps the first error.
    fn written(&mut self, write: impl FnOnce(&mut W, &mut Vec<u8>) -> io::Result<()>) {
        if self.error.is_none() {
            if let Err(e) = write(&mut self.out, &mut self.buf) {
                self.error = Some(e);
            }
        }
    }
}

impl<W: Write> Sink for LineSink<W> {
    fn connection(&mut self, conn: Connection) {
        self.push(|buf| encode::connection(buf, &conn));
    }

    fn json(&mut self) -> Option<&mut dyn JsonSink> {
        Some(self)
    }
}

impl<W: Write> JsonSink for LineSink<W> {
    fn numbered(&mut self, json: Unnumbered<'_>, id: u64) {
        self.written(|out, _| {
            json.write_numbered(out, id)?;
            out.write_all(b"\n")
        });
    }
}

/// One connection as a JSON line, to `out`.
pub fn write_line(out: &mut impl Write, conn: &Connection) -> io::Result<()> {
    let mut sink = LineSink::new(out);
    sink.push(|buf| encode::connection(buf, conn));
    sink.end().map(drop)
}

/// One connection's JSON without its number, as [`encode::unnumbered`] wrote it.
#[derive(Clone, Copy, Debug)]
pub struct Unnumbered<'a> {
    pub bytes: &'a [u8],
    /// Where the number goes, in order.
    pub holes: [usize; 2],
}

impl Unnumbered<'_> {
    /// Writes the connection as number `id`: the bytes [`encode::connection`] writes. Straight
    /// to `out`, in pieces: the merging thread of a sharded run copies every byte of the
    /// output, and staging them first would copy them twice. `out` is buffered there.
    pub fn write_numbered(&self, out: &mut impl Write, id: u64) -> io::Result<()> {
        let mut digits = itoa::Buffer::new();
        let number = digits.format(id).as_bytes();
        let mut rest = self.bytes;
        let mut at = 0;
        for hole in self.holes {
            let (piece, tail) = rest.split_at(hole.saturating_sub(at).min(rest.len()));
            out.write_all(piece)?;
            out.write_all(number)?;
            (rest, at) = (tail, hole);
        }
        out.write_all(rest)
    }
}

/// Capacity a staging buffer keeps between connections: several times a typical connection,
/// so it is allocated once, but not the megabytes a long segment log (`SegmentLog::All`) can
/// take, which would otherwise stay held to the end of the run.
const STAGING_KEPT: usize = 64 * 1024;

/// Writes `before`, what `fill` writes and `after` with one `write_all`, staged in `buf`: an
/// unbuffered `out` sees one write per connection, a buffered one a single copy.
fn write_staged(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    before: &[u8],
    fill: impl FnOnce(&mut Vec<u8>),
    after: &[u8],
) -> io::Result<()> {
    buf.clear();
    buf.extend_from_slice(before);
    fill(buf);
    buf.extend_from_slice(after);
    let written = out.write_all(buf);
    buf.clear();
    buf.shrink_to(STAGING_KEPT);
    written
}
