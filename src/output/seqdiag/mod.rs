//! The sequence diagram of one connection: the two lifelines of the textbook figures, one
//! slanted arrow per segment, and each endpoint's state written beside its line.
//!
//! [`model`] derives arrows (with estimated transit) and phases from the timeline types;
//! [`layout`] positions them as a [`Scene`](super::svg::Scene); the SVG writer emits it.

pub mod lang;
pub mod layout;
mod levels;
mod margin;
pub mod model;
mod states;

pub use lang::Lang;

use crate::frame::Duration;
use crate::tcp::state::Names;
use crate::timeline::Connection;

/// Which part of the connection to draw.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Phase {
    /// The handshake and the close, with the data transfer folded into one labelled gap.
    #[default]
    HandshakeAndClose,
    Handshake,
    Close,
    All,
}

/// How time maps to the vertical axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    /// One step per event: the order is exact, durations are not drawn (teaching figures).
    #[default]
    Uniform,
    /// Distance proportional to time, with a time axis in the margin.
    Time,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SeqOptions {
    pub phase: Phase,
    pub scale: Scale,
    pub names: Names,
    pub lang: Lang,
    /// Raw sequence numbers instead of numbers relative to each side's ISN.
    pub absolute: bool,
    /// The 2·MSL the analysis used, written on the TIME_WAIT bracket.
    pub time_wait: Duration,
}

impl Default for SeqOptions {
    fn default() -> Self {
        SeqOptions {
            phase: Phase::default(),
            scale: Scale::default(),
            names: Names::Rfc,
            lang: Lang::En,
            absolute: false,
            time_wait: Duration::from_secs_f64(60.0),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiagramError {
    #[error("connection {0}: its segments were not recorded (analyze with Options.segments)")]
    NoSegments(u64),
    #[error("connection {id}: nothing to draw for the {phase} phase")]
    EmptyPhase { id: u64, phase: &'static str },
}

/// The SVG document of `conn`'s sequence diagram.
pub fn render(conn: &Connection, opts: &SeqOptions) -> Result<String, DiagramError> {
    Ok(layout::layout(conn, opts)?.to_svg())
}
