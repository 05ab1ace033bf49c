//! One input: a file or standard input, decompressed, split into records by pcap-parser's
//! bounded buffer, each record interpreted by [`Layout`]. Damage after the file header ends
//! the input with a [`Warning`] that names the frame and byte offset; what was read before
//! stays in the analysis.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::block::{u32_at, Layout, Taken};
use super::{Frame, Warning};
use crate::error::{CaptureError, Location};
use crate::frame::{FrameNo, Timestamp};

/// Start size of the reader's buffer: every pcap record Wireshark accepts (256 KiB) fits.
const INITIAL_BUFFER: usize = 1 << 20;
/// Most bytes asked of the stream at once: the bytes just read are then still in the CPU's
/// cache when they are parsed, while a whole buffer's worth would push them out.
const READ_CHUNK: usize = 256 << 10;
/// No record may declare more than this (Wireshark's own pcapng block limit): a lying length
/// field gets a message, not an allocation.
pub(super) const MAX_RECORD: u64 = 16 << 20;
/// A section header block larger than this is not one.
const MAX_HEADER: u64 = 1 << 20;

/// Every zstd level up to 19 uses a window of at most 8 MiB; only `--ultra` and `--long` go
/// further (up to 128 MiB, which the decoder would reserve on the header's word).
const MAX_ZSTD_WINDOW: u64 = 32 << 20;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const PCAPNG_MAGIC: u32 = 0x0A0D_0D0A;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;
/// Microsecond, nanosecond and "modified" pcap magics, as read little-endian.
const PCAP_MAGICS: [u32; 3] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xa1b2_cd34];
const PCAP_HEADER: usize = 24;

/// The last I/O error of the underlying stream: pcap-parser turns read errors into a bare
/// `ReadError`, and the user needs to see "corrupt deflate stream" or "Is a directory".
type IoErrorSlot = Arc<Mutex<Option<io::Error>>>;

struct Tracked<R> {
    inner: R,
    error: IoErrorSlot,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(READ_CHUNK);
        let buf = buf.get_mut(..len).unwrap_or_default();
        let r = loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        if let Err(e) = &r {
            if let Ok(mut slot) = self.error.lock() {
                *slot = Some(io::Error::new(e.kind(), e.to_string()));
            }
        }
        r
    }
}

/// The decompressed stream, behind the file header read ahead by [`header_prefix`].
type Stream = io::Chain<io::Cursor<Vec<u8>>, Tracked<Box<dyn Read + Send>>>;

/// pcap-parser's reader for the format the header names. An enum, not the boxed trait object
/// `create_reader` returns: the calls made for every record are then direct, and inlined.
enum Reader {
    Pcap(LegacyPcapReader<Stream>),
    PcapNg(PcapNGReader<Stream>),
}

impl Reader {
    fn open(pcapng: bool, stream: Stream) -> Result<Reader, PcapError<&'static [u8]>> {
        Ok(if pcapng {
            Reader::PcapNg(PcapNGReader::new(INITIAL_BUFFER, stream)?)
        } else {
            Reader::Pcap(LegacyPcapReader::new(INITIAL_BUFFER, stream)?)
        })
    }

    #[inline]
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&'_ [u8]>> {
        match self {
            Reader::Pcap(r) => r.next(),
            Reader::PcapNg(r) => r.next(),
        }
    }

    #[inline]
    fn consume_noshift(&mut self, len: usize) {
        match self {
            Reader::Pcap(r) => r.consume_noshift(len),
            Reader::PcapNg(r) => r.consume_noshift(len),
        }
    }

    #[inline]
    fn data(&self) -> &[u8] {
        match self {
            Reader::Pcap(r) => r.data(),
            Reader::PcapNg(r) => r.data(),
        }
    }

    fn refill(&mut self) -> Result<(), PcapError<&'_ [u8]>> {
        match self {
            Reader::Pcap(r) => r.refill(),
            Reader::PcapNg(r) => r.refill(),
        }
    }

    fn grow(&mut self, size: usize) -> bool {
        match self {
            Reader::Pcap(r) => r.grow(size),
            Reader::PcapNg(r) => r.grow(size),
        }
    }
}

/// Frames that go back in time within one input: reported once, with the first place.
#[derive(Default)]
struct Backwards {
    count: u64,
    first: Option<(Location, i64)>,
}

/// Reads one input: a file, or standard input when the path is `-`.
pub struct Input {
    path: PathBuf,
    reader: Reader,
    io_error: IoErrorSlot,
    /// Bytes of the (decompressed) stream consumed so far: the offset of the next block.
    offset: u64,
    /// Records read from this input, for messages that name its own frame number.
    records: u64,
    layout: Layout,
    /// Length of the record whose frame was returned last: it is consumed at the next read.
    unconsumed: usize,
    /// The address and length of that frame's bytes: the reader's buffer keeps them in place
    /// until the next read, so [`Input::head_data`] can find them with one look at it.
    head: (usize, usize),
    buffer_size: usize,
    done: bool,
    last_ts: Option<Timestamp>,
    backwards: Backwards,
}

impl Input {
    /// Opens `path` (`-` is standard input).
    pub fn open(path: &Path) -> Result<Input, CaptureError> {
        let raw: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(path).map_err(|e| CaptureError::io(path, e))?)
        };
        Input::from_reader(path, raw)
    }

    /// Reads a capture from any byte stream; `name` is used in messages.
    pub fn from_reader(name: &Path, raw: Box<dyn Read + Send>) -> Result<Input, CaptureError> {
        let at = Location { path: name.to_path_buf(), frame: None, offset: 0 };
        let format_error = |what: String| CaptureError::Format { at: at.clone(), what };
        let io_error = IoErrorSlot::default();
        let stream =
            Tracked { inner: decompressed(raw).map_err(|e| format_error(e.to_string()))?, error: io_error.clone() };
        let (head, stream) = header_prefix(stream).map_err(|e| format_error(e.to_string()))?;
        let pcapng = u32_at(&head, 0, false) == Some(PCAPNG_MAGIC);
        let reader = Reader::open(pcapng, io::Cursor::new(head).chain(stream)).map_err(|e| {
            format_error(match e {
                PcapError::ReadError => read_error(&io_error),
                other => format!("cannot read the capture header: {}", describe(&other)),
            })
        })?;
        Ok(Input {
            path: name.to_path_buf(),
            reader,
            io_error,
            offset: 0,
            records: 0,
            layout: Layout::default(),
            unconsumed: 0,
            head: (0, 0),
            buffer_size: INITIAL_BUFFER,
            done: false,
            last_ts: None,
            backwards: Backwards::default(),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn location(&self, offset: u64) -> Location {
        Location { path: self.path.clone(), frame: Some(FrameNo(self.records + 1)), offset }
    }

    /// Ends this input with a warning; the frames before it stay.
    fn stop(&mut self, warnings: &mut Vec<Warning>, offset: u64, what: String) {
        self.done = true;
        let what = format!("{what}; reading of this file stops here, after its first {} frames", self.records);
        warnings.push(Warning { at: self.location(offset), what });
    }

    /// Reads the next frame; `None` at the end of the input. Its bytes are [`Input::head_data`]
    /// until the next call: the record stays in the reader's buffer, unconsumed, so nothing is
    /// copied. Damage after the header ends the input early, with a warning.
    pub fn next_frame(&mut self, warnings: &mut Vec<Warning>) -> Option<Frame> {
        // `consume` moves the unread rest of the buffer to its front whenever more than half
        // of it has been read; `refill` does that anyway before it reads, by when only the tail
        // of a record cut by the buffer's end is left to move.
        self.reader.consume_noshift(std::mem::take(&mut self.unconsumed));
        self.head = (0, 0);
        while !self.done {
            let problem = match self.reader.next() {
                Ok((len, block)) => {
                    let taken = self.layout.take(block);
                    let at = self.offset;
                    self.offset += len as u64;
                    match taken {
                        Ok(Taken::Frame(packet)) => {
                            // The packet borrows the buffer the reader is about to lend again:
                            // keep where its bytes are, not the borrow.
                            self.head = (packet.data.as_ptr() as usize, packet.data.len());
                            let frame = Frame {
                                ts: packet.ts,
                                linktype: packet.linktype,
                                orig_len: packet.orig_len,
                                offset: at,
                                no_in_input: FrameNo(self.records + 1),
                                ..Frame::default()
                            };
                            self.unconsumed = len;
                            self.records += 1;
                            self.check_order(frame.ts, at);
                            return Some(frame);
                        }
                        Ok(Taken::Meta) => {
                            self.reader.consume_noshift(len);
                            continue;
                        }
                        Err(what) => Problem::Corrupt(at, what),
                    }
                }
                Err(PcapError::Eof) => Problem::End,
                Err(PcapError::Incomplete(_) | PcapError::BufferTooSmall) => Problem::NeedMore,
                Err(PcapError::UnexpectedEof) => Problem::CutShort,
                Err(PcapError::ReadError) => Problem::Corrupt(self.offset, read_error(&self.io_error)),
                Err(e) => Problem::Refused(describe(&e)),
            };
            match problem {
                Problem::End => self.done = true,
                Problem::NeedMore => self.more_data(warnings),
                Problem::CutShort => {
                    let what = match self.layout.declared_len(self.reader.data()) {
                        Some(n) => format!(
                            "file ends in the middle of a record ({} of its {n} bytes present; capture cut short?)",
                            self.reader.data().len()
                        ),
                        None => "file ends in the middle of a record (capture cut short?)".to_string(),
                    };
                    self.stop(warnings, self.offset, what);
                }
                Problem::Corrupt(at, what) => self.stop(warnings, at, what),
                Problem::Refused(why) => {
                    let what =
                        self.layout.diagnose(self.reader.data()).unwrap_or_else(|| format!("corrupt record: {why}"));
                    self.stop(warnings, self.offset, what);
                }
            }
        }
        self.report_order(warnings);
        None
    }

    /// The captured bytes of the frame [`Input::next_frame`] returned last (empty once the
    /// input has ended).
    pub fn head_data(&self) -> &[u8] {
        let data = self.reader.data();
        let (at, len) = self.head;
        let from = at.wrapping_sub(data.as_ptr() as usize);
        data.get(from..from.saturating_add(len)).unwrap_or_default()
    }

    /// The parser needs more bytes than the buffer holds. Judge the record's declared length
    /// before reading on: an absurd one is refused, one the bytes at hand already cover is a
    /// lying inner length, and the buffer grows only once it is full of real data, so memory
    /// follows the file, never a length field.
    fn more_data(&mut self, warnings: &mut Vec<Warning>) {
        let available = self.reader.data().len();
        match self.layout.declared_len(self.reader.data()) {
            Some(n) if n > MAX_RECORD => {
                let what = format!(
                    "record declares {n} bytes, more than the {} MiB any capture tool writes (corrupt length field)",
                    MAX_RECORD >> 20
                );
                return self.stop(warnings, self.offset, what);
            }
            Some(n) if n <= available as u64 => {
                let what = format!("a length inside the record runs past the record's own {n} bytes (corrupt record)");
                return self.stop(warnings, self.offset, what);
            }
            _ => {}
        }
        if available >= self.buffer_size {
            let grown = self.buffer_size.saturating_mul(2);
            if grown as u64 > 2 * MAX_RECORD || !self.reader.grow(grown) {
                let what = "record does not fit the read buffer (corrupt length field)".to_string();
                return self.stop(warnings, self.offset, what);
            }
            self.buffer_size = grown;
        } else if self.reader.refill().is_err() {
            let what = read_error(&self.io_error);
            self.stop(warnings, self.offset, what);
        }
    }

    fn check_order(&mut self, ts: Timestamp, offset: u64) {
        if let Some(prev) = self.last_ts {
            if ts < prev {
                self.backwards.count += 1;
                if self.backwards.first.is_none() {
                    let loc = self.location(offset);
                    let loc = Location { frame: Some(FrameNo(self.records)), ..loc };
                    self.backwards.first = Some((loc, prev.0.saturating_sub(ts.0)));
                }
            }
        }
        self.last_ts = Some(self.last_ts.map_or(ts, |p| p.max(ts)));
    }

    fn report_order(&mut self, warnings: &mut Vec<Warning>) {
        if let Some((at, by)) = self.backwards.first.take() {
            warnings.push(Warning {
                at,
                what: format!(
                    "timestamp goes back {} before an earlier frame; {} frames of this file go back in time (they keep their place in file order)",
                    crate::frame::Timestamp(by),
                    self.backwards.count
                ),
            });
        }
    }
}

enum Problem {
    End,
    NeedMore,
    CutShort,
    Corrupt(u64, String),
    /// The parser refused the record at the current offset.
    Refused(String),
}

fn read_error(slot: &IoErrorSlot) -> String {
    match slot.lock().ok().and_then(|mut s| s.take()) {
        Some(e) => format!("read failed: {e}"),
        None => "read failed".to_string(),
    }
}

/// pcap-parser's errors in our words.
fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("a field has an impossible value ({})", kind.description())
        }
        PcapError::Eof => "empty file".to_string(),
        PcapError::UnexpectedEof | PcapError::Incomplete(_) => "file too short".to_string(),
        PcapError::BufferTooSmall => "record too large".to_string(),
        PcapError::ReadError => "read failed".to_string(),
        PcapError::HeaderNotRecognized => "not a pcap or pcapng file".to_string(),
    }
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// gzip and zstd are recognised by their magic bytes, not by the file name: mail
/// attachments and `tcpdump -w - | gzip` rarely keep the extension.
fn decompressed(mut raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut raw, &mut magic)?;
    let head = magic.get(..n).unwrap_or_default();
    let whole = io::Cursor::new(head.to_vec()).chain(raw);
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(whole)))
    } else if head.starts_with(&ZSTD_MAGIC) {
        // The decoder reserves the window the frame header asks for: cap it.
        let dec =
            ruzstd::decoding::StreamingDecoder::new_with_max_window_size(whole, MAX_ZSTD_WINDOW).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("zstd: {e} (tcpstate accepts windows up to 32 MiB: decompress with `zstd -d` first)"),
                )
            })?;
        Ok(Box::new(dec))
    } else {
        Ok(Box::new(whole))
    }
}

/// Reads the whole file header before pcap-parser sees the stream: its format detection
/// looks at the first `read()` only, which a pipe may cut anywhere. Also names what is wrong
/// with a file that is not a capture.
fn header_prefix<R: Read>(mut r: R) -> io::Result<(Vec<u8>, R)> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut head = vec![0u8; 12];
    let n = read_up_to(&mut r, &mut head)?;
    head.truncate(n);
    if n == 0 {
        return Err(invalid("empty file: no capture header".to_string()));
    }
    let magic_le = u32_at(&head, 0, false);
    let need = match magic_le {
        Some(m) if PCAP_MAGICS.iter().any(|p| *p == m || p.swap_bytes() == m) => PCAP_HEADER as u64,
        Some(PCAPNG_MAGIC) => match u32_at(&head, 8, false) {
            Some(bom) if bom == PCAPNG_BOM || bom == PCAPNG_BOM.swap_bytes() => {
                let len = u32_at(&head, 4, bom != PCAPNG_BOM).map_or(0, u64::from);
                if !(28..=MAX_HEADER).contains(&len) {
                    return Err(invalid(format!("pcapng section header declares {len} bytes (corrupt length field)")));
                }
                len
            }
            Some(bom) => {
                return Err(invalid(format!("pcapng section header has an unknown byte-order magic {bom:#010x}")))
            }
            None => 12,
        },
        _ => {
            let hex: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
            return Err(invalid(format!("not a pcap or pcapng capture: unknown magic number {}", hex.join(" "))));
        }
    };
    let need = usize::try_from(need).unwrap_or(usize::MAX);
    if head.len() < need {
        let had = head.len();
        head.resize(need, 0);
        let more = read_up_to(&mut r, head.get_mut(had..).unwrap_or_default())?;
        head.truncate(had + more);
    }
    if head.len() < need {
        return Err(invalid(format!("file too short for a capture header ({} of {need} bytes)", head.len())));
    }
    Ok((head, r))
}
