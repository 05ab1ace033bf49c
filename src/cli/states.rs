//! `tcpstate states`: the RFC 9293 state diagram as SVG, plain or with the paths connections
//! took.

use std::path::PathBuf;

use anyhow::Result;

use tcpstate::flow::SegmentLog;
use tcpstate::output::statediag::{self, Overlay};
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

use super::diagram::{pick, time_wait, write_output, DrawingArgs};

#[derive(clap::Args, Debug)]
pub struct StatesArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    /// Without any, draws the plain teaching diagram.
    pub captures: Vec<PathBuf>,
    /// Highlight this connection's client and server paths, steps numbered in order (ids as
    /// Wireshark's tcp.stream); may be left out when the capture holds only one.
    #[arg(long = "conn", value_name = "ID", conflicts_with = "all")]
    pub conn: Option<u64>,
    /// Count, on each arc, how many connections took it.
    #[arg(long)]
    pub all: bool,
    /// Where to write the SVG; `-` or nothing writes to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub drawing: DrawingArgs,
}

pub fn run(args: StatesArgs) -> Result<u8> {
    let overlay = if args.captures.is_empty() {
        if args.conn.is_some() || args.all {
            anyhow::bail!("--conn and --all need a capture");
        }
        Overlay::None
    } else {
        let opts =
            Options { time_wait: time_wait(args.drawing.time_wait)?, segments: SegmentLog::None, ..Options::default() };
        let mut conns: Vec<Connection> = Vec::new();
        analyze(&args.captures, &opts, &mut conns)?;
        conns.sort_by_key(|c| c.id);
        if args.all {
            Overlay::counts(&conns)
        } else {
            Overlay::path(pick(&conns, args.conn)?)
        }
    };
    let svg = statediag::render(&overlay, args.drawing.names.into(), args.drawing.lang.into());
    write_output(args.output.as_deref(), &svg)?;
    Ok(0)
}
