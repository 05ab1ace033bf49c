//! `tcpstate diagram`: one connection's sequence diagram as SVG.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;

use tcpstate::flow::SegmentLog;
use tcpstate::frame::Duration;
use tcpstate::output::no_connection;
use tcpstate::output::seqdiag::{self, Phase, Scale, SeqOptions};
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

use super::NameStyle;

#[derive(clap::Args, Debug)]
pub struct DiagramArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// The connection to draw (ids as Wireshark's tcp.stream); may be left out when the
    /// capture holds only one.
    #[arg(long = "conn", value_name = "ID")]
    pub conn: Option<u64>,
    /// Where to write the SVG; `-` or nothing writes to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which part to draw: by default the handshake and the close, with the data transfer
    /// folded into one labelled gap.
    #[arg(long, value_enum)]
    pub phase: Option<PhaseArg>,
    /// Vertical spacing: uniform steps (teaching), or proportional to time.
    #[arg(long, value_enum, default_value_t = ScaleArg::Uniform)]
    pub scale: ScaleArg,
    /// Raw sequence and acknowledgment numbers instead of numbers relative to each ISN.
    #[arg(long)]
    pub absolute: bool,
    #[command(flatten)]
    pub drawing: DrawingArgs,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum PhaseArg {
    /// The opening only (SYNs, the handshake's ACK); the rest folded.
    Handshake,
    /// From the first FIN or RST to the end; what comes before folded.
    Close,
    /// Every segment.
    All,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum ScaleArg {
    /// One step per event: the order is exact, durations are not drawn.
    Uniform,
    /// Distance proportional to time, with a time axis in the margin.
    Time,
}

pub fn run(args: DiagramArgs) -> Result<u8> {
    let time_wait = time_wait(args.drawing.time_wait)?;
    let segments = args.conn.map_or(SegmentLog::All, |id| SegmentLog::Only(vec![id]));
    let opts = Options { time_wait, segments, ..Options::default() };
    let mut conns: Vec<Connection> = Vec::new();
    analyze(&args.captures, &opts, &mut conns)?;
    conns.sort_by_key(|c| c.id);
    let conn = pick(&conns, args.conn)?;
    let seq = SeqOptions {
        phase: match args.phase {
            None => Phase::HandshakeAndClose,
            Some(PhaseArg::Handshake) => Phase::Handshake,
            Some(PhaseArg::Close) => Phase::Close,
            Some(PhaseArg::All) => Phase::All,
        },
        scale: match args.scale {
            ScaleArg::Uniform => Scale::Uniform,
            ScaleArg::Time => Scale::Time,
        },
        names: args.drawing.names.into(),
        lang: args.drawing.lang.into(),
        absolute: args.absolute,
        time_wait,
    };
    let svg = seqdiag::render(conn, &seq)?;
    write_output(args.output.as_deref(), &svg)?;
    Ok(0)
}

/// The connection asked for, or the only one.
pub(super) fn pick(conns: &[Connection], id: Option<u64>) -> Result<&Connection> {
    match id {
        Some(id) => conns.iter().find(|c| c.id == id).with_context(|| no_connection(id, conns.len() as u64)),
        None if conns.len() == 1 => Ok(&conns[0]),
        None => anyhow::bail!(
            "the capture has {} connections: choose one with --conn ID (see `tcpstate analyze`)",
            conns.len()
        ),
    }
}

/// What the drawing commands (diagram, states, report) share.
#[derive(clap::Args, Debug)]
pub struct DrawingArgs {
    /// State names to print.
    #[arg(long, value_enum, default_value_t = NameStyle::Rfc)]
    pub names: NameStyle,
    /// Language of state labels and legends.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Length of TIME_WAIT (2·MSL) in seconds; Linux uses 60.
    #[arg(long = "time-wait", value_name = "SECONDS", default_value_t = 60.0)]
    pub time_wait: f64,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum LangArg {
    /// English
    En,
    /// Chinese (中文): state labels with the textbook terms, legend
    Zh,
}

impl From<LangArg> for tcpstate::output::seqdiag::Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::En => Self::En,
            LangArg::Zh => Self::Zh,
        }
    }
}

/// `--time-wait` as a duration, refused if negative or not a number.
pub(super) fn time_wait(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs >= 0.0) {
        anyhow::bail!("--time-wait must be a non-negative number of seconds");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Writes a drawing to `path`, or to standard output for `-` or no path.
pub(super) fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) if p.as_os_str() != "-" => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        _ => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
