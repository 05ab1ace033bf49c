//! Capture files → frames, streaming through pcap-parser's bounded buffer: the file is never
//! read whole, and no allocation is sized by a length field we have not bounded.
//!
//! One [`Capture`] merges any number of inputs by timestamp (like mergecap), so a connection
//! that spans rotated files stays one connection; frames are numbered in merged order.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod block;
mod input;

use std::path::PathBuf;

use crate::error::{CaptureError, Location};
use crate::frame::{FrameNo, Timestamp};
pub use input::Input;

/// Where and when one captured frame is; its bytes are lent beside it by
/// [`Capture::next_frame`], straight from the reader's buffer.
#[derive(Debug, Default, Clone, Copy)]
pub struct Frame {
    pub no: FrameNo,
    pub ts: Timestamp,
    pub linktype: i32,
    /// Length on the wire; the captured bytes may be fewer (snap length).
    pub orig_len: u32,
    /// Byte offset of the frame's record in its (decompressed) input, for messages.
    pub offset: u64,
    /// Which input (index into the paths given) the frame came from.
    pub input: usize,
    /// The frame's number within its own input (equal to `no` when there is one input).
    pub no_in_input: FrameNo,
}

/// A problem that does not stop the analysis (a file cut short mid-record, ...).
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

/// All inputs of one analysis, merged by timestamp into one frame sequence. Within one input
/// the file order is kept even where timestamps go backwards, so a single file's frames keep
/// Wireshark's numbers.
pub struct Capture {
    inputs: Vec<Input>,
    /// The next frame of each input, if it has one; its bytes wait in the input's buffer.
    heads: Vec<Option<Frame>>,
    /// The input whose head the last call lent out: it reads on at the next call, once the
    /// borrow of its bytes has ended.
    lent: Option<usize>,
    next_no: u64,
    pub warnings: Vec<Warning>,
}

impl Capture {
    /// Opens every input (`-` is standard input); fails on the first that is not a capture.
    pub fn open(paths: &[PathBuf]) -> Result<Capture, CaptureError> {
        let inputs = paths.iter().map(|p| Input::open(p)).collect::<Result<Vec<_>, _>>()?;
        Ok(Capture::from_inputs(inputs))
    }

    /// Merges inputs opened by the caller (e.g. [`Input::from_reader`]).
    pub fn from_inputs(inputs: Vec<Input>) -> Capture {
        let mut cap = Capture { heads: vec![None; inputs.len()], inputs, lent: None, next_no: 0, warnings: Vec::new() };
        // A lone input is read as it goes, without heads (see `next_frame`).
        if cap.inputs.len() > 1 {
            for i in 0..cap.inputs.len() {
                cap.advance(i);
            }
        }
        cap
    }

    fn advance(&mut self, i: usize) {
        let (Some(input), Some(head)) = (self.inputs.get_mut(i), self.heads.get_mut(i)) else {
            return;
        };
        *head = input.next_frame(&mut self.warnings).map(|f| Frame { input: i, ..f });
    }

    /// The next frame in timestamp order (ties go to the earlier input, then file order), and
    /// its captured bytes, borrowed from its input's read buffer until the next call.
    /// A damaged input ends early with a warning (see [`Capture::warnings`]); the others go on.
    pub fn next_frame(&mut self) -> Option<(Frame, &[u8])> {
        // One input, the usual case, has nothing to merge: the search over heads and the copy
        // through them would be most of this function's cost.
        if self.inputs.len() == 1 {
            let input = self.inputs.first_mut()?;
            let frame = input.next_frame(&mut self.warnings)?;
            self.next_no += 1;
            return Some((Frame { no: FrameNo(self.next_no), ..frame }, input.head_data()));
        }
        if let Some(i) = self.lent.take() {
            self.advance(i);
        }
        let (_, i) = self.heads.iter().enumerate().filter_map(|(i, h)| h.as_ref().map(|f| (f.ts, i))).min()?;
        let mut frame = self.heads.get(i).copied().flatten()?;
        self.next_no += 1;
        frame.no = FrameNo(self.next_no);
        self.lent = Some(i);
        Some((frame, self.inputs.get(i)?.head_data()))
    }

    /// Where `frame` is, for a message: its file, its number in that file, its byte offset.
    pub fn locate(&self, frame: &Frame) -> Location {
        Location {
            path: self.inputs.get(frame.input).map_or_else(|| PathBuf::from("-"), |i| i.path().to_path_buf()),
            frame: Some(frame.no_in_input),
            offset: frame.offset,
        }
    }
}
