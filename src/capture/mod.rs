//! Capture files → frames, streaming through pcap-parser's bounded buffer: the file is never
//! read whole, and no allocation is sized by a length field we have not bounded.
//!
//! One [`Capture`] merges any number of inputs by timestamp (like mergecap), so a connection
//! that spans rotated files stays one connection; frames are numbered in merged order.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

use crate::error::{CaptureError, Location};
use crate::frame::{FrameNo, Timestamp};

/// Start size of the reader's buffer; it doubles when a block needs more, up to [`MAX_BLOCK`].
const INITIAL_BUFFER: usize = 1 << 20;
/// No single record may be larger than this: a lying length field gets an error, not a
/// gigabyte allocation.
const MAX_BLOCK: usize = 64 << 20;

/// One captured frame, copied into a buffer that is reused for every frame of its input.
#[derive(Debug, Default, Clone)]
pub struct Frame {
    pub no: FrameNo,
    pub ts: Timestamp,
    pub linktype: i32,
    /// Length on the wire; `data` may be shorter (snap length).
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// A problem that does not stop reading (a file cut short mid-record, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub at: Location,
    pub what: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.what)
    }
}

/// What the headers seen so far say about the records that follow.
struct Layout {
    legacy_linktype: i32,
    legacy_nanos: bool,
    /// pcapng interfaces of the current section, by id.
    interfaces: Vec<Interface>,
}

struct Interface {
    linktype: i32,
    /// Units per second of this interface's timestamps.
    resolution: u64,
    offset_secs: i64,
}

/// Reads one input: a file, or standard input when the path is `-`.
pub struct Input {
    path: PathBuf,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// Bytes of the (decompressed) stream consumed so far: the offset of the next block.
    offset: u64,
    /// Records read from this input, for messages that name its own frame number.
    records: u64,
    layout: Layout,
    buffer_size: usize,
    done: bool,
}

impl Input {
    pub fn open(path: &Path) -> Result<Input, CaptureError> {
        let raw: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(path).map_err(|e| CaptureError::io(path, e))?)
        };
        let stream = decompressed(BufReader::new(raw)).map_err(|e| CaptureError::io(path, e))?;
        let at = Location { path: path.to_path_buf(), frame: None, offset: 0 };
        let reader = create_reader(INITIAL_BUFFER, stream).map_err(|e| CaptureError::Format {
            at,
            what: match e {
                PcapError::Eof => "empty file: no capture header".to_string(),
                PcapError::Incomplete(_) => "file too short for a capture header".to_string(),
                PcapError::HeaderNotRecognized => "not a pcap or pcapng capture (unknown magic number)".to_string(),
                other => format!("cannot read the capture header: {other:?}"),
            },
        })?;
        Ok(Input {
            path: path.to_path_buf(),
            reader,
            offset: 0,
            records: 0,
            layout: Layout { legacy_linktype: 1, legacy_nanos: false, interfaces: Vec::new() },
            buffer_size: INITIAL_BUFFER,
            done: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn location(&self) -> Location {
        Location { path: self.path.clone(), frame: Some(FrameNo(self.records + 1)), offset: self.offset }
    }

    /// Reads the next frame into `out`. `Ok(false)` at the end of the input; a file cut short
    /// mid-record ends the input with a warning instead of an error.
    pub fn next_into(&mut self, out: &mut Frame, warnings: &mut Vec<Warning>) -> Result<bool, CaptureError> {
        while !self.done {
            match self.reader.next() {
                Ok((len, block)) => {
                    let got = take_block(block, &mut self.layout, out);
                    self.reader.consume(len);
                    let at_offset = self.offset;
                    self.offset += len as u64;
                    match got {
                        Ok(true) => {
                            self.records += 1;
                            return Ok(true);
                        }
                        Ok(false) => {}
                        Err(what) => {
                            return Err(CaptureError::Format {
                                at: Location {
                                    path: self.path.clone(),
                                    frame: Some(FrameNo(self.records + 1)),
                                    offset: at_offset,
                                },
                                what,
                            })
                        }
                    }
                }
                Err(PcapError::Eof) => self.done = true,
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.reader_exhausted() {
                        self.done = true;
                        warnings.push(Warning {
                            at: self.location(),
                            what:
                                "file ends in the middle of a record (capture cut short?); frames read so far are used"
                                    .to_string(),
                        });
                    } else if let Err(e) = self.reader.refill() {
                        let what = format!("read failed: {}", describe(&e));
                        return Err(CaptureError::Format { at: self.location(), what });
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    if self.buffer_size >= MAX_BLOCK || !self.reader.grow(self.buffer_size * 2) {
                        return Err(CaptureError::Format {
                            at: self.location(),
                            what: format!("record larger than {} MiB (corrupt length field?)", MAX_BLOCK >> 20),
                        });
                    }
                    self.buffer_size *= 2;
                }
                Err(PcapError::UnexpectedEof) => {
                    self.done = true;
                    warnings.push(Warning { at: self.location(), what: "unexpected end of file".to_string() });
                }
                Err(e) => {
                    let what = format!("corrupt record: {}", describe(&e));
                    return Err(CaptureError::Format { at: self.location(), what });
                }
            }
        }
        Ok(false)
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("parse error ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("parse error ({kind:?})"),
        PcapError::ReadError => "read error".to_string(),
        PcapError::HeaderNotRecognized => "header not recognized".to_string(),
        other => format!("{other:?}"),
    }
}

/// Interprets one block; fills `out` and returns `Ok(true)` when it is a packet.
fn take_block(block: PcapBlockOwned<'_>, layout: &mut Layout, out: &mut Frame) -> Result<bool, String> {
    let interfaces = &mut layout.interfaces;
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            layout.legacy_linktype = h.network.0;
            layout.legacy_nanos = h.is_nanosecond_precision();
            Ok(false)
        }
        PcapBlockOwned::Legacy(b) => {
            let frac = i64::from(b.ts_usec) * if layout.legacy_nanos { 1 } else { 1000 };
            fill(
                out,
                Timestamp::from_parts(i64::from(b.ts_sec), frac),
                layout.legacy_linktype,
                b.origlen,
                b.data,
                b.caplen,
            );
            Ok(true)
        }
        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
            interfaces.clear();
            Ok(false)
        }
        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
            interfaces.push(Interface {
                linktype: idb.linktype.0,
                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                offset_secs: idb.ts_offset(),
            });
            Ok(false)
        }
        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
            let iface = interfaces.get(epb.if_id as usize).ok_or_else(|| {
                format!("packet names interface {} but only {} are described", epb.if_id, interfaces.len())
            })?;
            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            let ts = ng_timestamp(units, iface);
            fill(out, ts, iface.linktype, epb.origlen, epb.data, epb.caplen);
            Ok(true)
        }
        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
            let iface = interfaces.first().ok_or("simple packet block before any interface description")?;
            // Simple packets carry no timestamp; they sort at the epoch.
            let linktype = iface.linktype;
            fill(out, Timestamp(0), linktype, spb.origlen, spb.data, spb.origlen);
            Ok(true)
        }
        PcapBlockOwned::NG(_) => Ok(false),
    }
}

fn ng_timestamp(units: u64, iface: &Interface) -> Timestamp {
    let res = i128::from(iface.resolution.max(1));
    let units = i128::from(units);
    let secs = units / res;
    let nanos = (units % res) * 1_000_000_000 / res;
    let total = (secs + i128::from(iface.offset_secs)) * 1_000_000_000 + nanos;
    Timestamp(i64::try_from(total).unwrap_or(i64::MAX))
}

fn fill(out: &mut Frame, ts: Timestamp, linktype: i32, orig_len: u32, data: &[u8], caplen: u32) {
    let n = (caplen as usize).min(data.len());
    out.ts = ts;
    out.linktype = linktype;
    out.orig_len = orig_len;
    out.data.clear();
    out.data.extend_from_slice(&data[..n]);
}

/// gzip is recognised by its magic bytes, not by the file name: mail attachments and
/// `tcpdump -w - | gzip` rarely keep the extension.
fn decompressed<R: std::io::BufRead + Send + 'static>(mut r: R) -> std::io::Result<Box<dyn Read + Send>> {
    let head = r.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// All inputs of one analysis, merged by timestamp into one frame sequence.
pub struct Capture {
    inputs: Vec<Input>,
    /// The next frame of each input, if it has one.
    heads: Vec<Option<Frame>>,
    next_no: u64,
    pub warnings: Vec<Warning>,
}

impl Capture {
    pub fn open(paths: &[PathBuf]) -> Result<Capture, CaptureError> {
        let inputs = paths.iter().map(|p| Input::open(p)).collect::<Result<Vec<_>, _>>()?;
        let mut cap =
            Capture { heads: (0..inputs.len()).map(|_| None).collect(), inputs, next_no: 0, warnings: Vec::new() };
        for i in 0..cap.inputs.len() {
            cap.advance(i, Frame::default())?;
        }
        Ok(cap)
    }

    fn advance(&mut self, i: usize, mut buf: Frame) -> Result<(), CaptureError> {
        let got = self.inputs[i].next_into(&mut buf, &mut self.warnings)?;
        self.heads[i] = got.then_some(buf);
        Ok(())
    }

    /// The next frame in timestamp order (ties go to the earlier input, then file order).
    /// `out`'s buffer is swapped with the input's so neither allocates per frame.
    pub fn next_into(&mut self, out: &mut Frame) -> Result<bool, CaptureError> {
        let pick = if self.heads.len() == 1 {
            if self.heads[0].is_some() {
                Some(0)
            } else {
                None
            }
        } else {
            self.heads.iter().enumerate().filter_map(|(i, h)| h.as_ref().map(|f| (f.ts, i))).min().map(|(_, i)| i)
        };
        let Some(i) = pick else { return Ok(false) };
        let mut head = self.heads[i].take().unwrap_or_default();
        std::mem::swap(out, &mut head);
        self.next_no += 1;
        out.no = FrameNo(self.next_no);
        self.advance(i, head)?;
        Ok(true)
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.inputs.iter().map(|i| i.path())
    }
}
