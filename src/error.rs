//! Errors that stop reading a capture, and the reasons a frame is skipped without stopping.

use std::fmt;
use std::path::PathBuf;

use crate::frame::FrameNo;

/// Where in which input something went wrong: the message a user needs to open the file
/// at the right place (`file`, Wireshark frame number, byte offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    /// The frame that was being read, numbered within its own file (what Wireshark shows
    /// when it opens that file alone); `None` before the first frame (file header).
    pub frame: Option<FrameNo>,
    /// Byte offset of the record (in the decompressed stream for compressed files).
    pub offset: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(frame) = self.frame {
            write!(f, ": frame {frame}")?;
        }
        write!(f, " (byte offset {})", self.offset)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: {what}")]
    Format { at: Location, what: String },
}

impl CaptureError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CaptureError::Io { path: path.into(), source }
    }
}

/// Why a frame did not yield a TCP segment. Counted per reason, never fatal: every frame of
/// the capture is either decoded or counted under one of these.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// ARP, LLDP, MPLS payloads we do not open, ...
    NotIp,
    /// UDP, ICMP, ... inside IP.
    NotTcp,
    /// IPv4 or IPv6 fragments: TCP headers in later fragments are not reassembled.
    IpFragment,
    /// The snap length or a short record cut the frame before the end of the TCP header.
    Truncated,
    /// A header whose fields contradict each other (bad IHL, TCP data offset < 5, ...).
    Malformed,
    /// A link type we cannot decode; reported once by name in the warnings.
    UnsupportedLinkType,
}

impl SkipReason {
    /// The key used in the JSON `frames.skipped` object.
    pub fn key(self) -> &'static str {
        match self {
            SkipReason::NotIp => "not_ip",
            SkipReason::NotTcp => "not_tcp",
            SkipReason::IpFragment => "ip_fragment",
            SkipReason::Truncated => "truncated",
            SkipReason::Malformed => "malformed",
            SkipReason::UnsupportedLinkType => "unsupported_link_type",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
