//! `tcpstate timeline`: the state timelines as a picture (SVG or PNG, chosen by the output
//! file's extension).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use tcpstate::flow::SegmentLog;
use tcpstate::frame::Duration;
use tcpstate::output::chart::{self, Selection};
use tcpstate::summary::{summarize, SummaryOptions};
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

use super::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct TimelineArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Draw these connections (ids as Wireshark's tcp.stream); repeat for several.
    #[arg(long = "conn", value_name = "ID", conflicts_with = "all")]
    pub conn: Vec<u64>,
    /// Draw every connection: lanes when there are few, otherwise the aggregate
    /// "endpoints per state over time" and the most suspicious connections' lanes (the default).
    #[arg(long)]
    pub all: bool,
    /// Output file: .svg or .png.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Length of TIME_WAIT (2·MSL) in seconds; Linux uses 60.
    #[arg(long = "time-wait", value_name = "SECONDS", default_value_t = 60.0)]
    pub time_wait: f64,
}

enum Format {
    Svg,
    Png,
}

pub fn run(args: TimelineArgs) -> Result<u8> {
    if !(args.time_wait.is_finite() && args.time_wait >= 0.0) {
        bail!("--time-wait must be a non-negative number of seconds");
    }
    let format = match args.output.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => Format::Svg,
        Some("png") => Format::Png,
        _ => bail!("{}: the output must end in .svg or .png", args.output.display()),
    };
    let progress = Progress::start(&args.captures);
    let opts = Options {
        time_wait: Duration::from_secs_f64(args.time_wait),
        segments: SegmentLog::None,
        progress: progress.counter(),
        ..Options::default()
    };
    let mut conns: Vec<Connection> = Vec::new();
    let report = analyze(&args.captures, &opts, &mut conns)?;
    progress.finish();
    conns.sort_by_key(|c| c.id);
    let summary = summarize(&report, &conns, &SummaryOptions::default());
    let selection = if args.conn.is_empty() { Selection::All } else { Selection::Ids(args.conn.clone()) };
    let model = chart::model(&report, &conns, &selection, &summary).map_err(|e| anyhow!(e))?;
    let bytes = match format {
        Format::Svg => chart::render_svg(&model).map_err(|e| anyhow!(e))?.into_bytes(),
        Format::Png => chart::render_png(&model).map_err(|e| anyhow!(e))?,
    };
    std::fs::write(&args.output, bytes).with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(0)
}
