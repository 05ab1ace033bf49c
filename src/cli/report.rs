//! `tcpstate report`: one self-contained HTML file with the summary, every connection in a
//! sortable table, and the diagrams of the connections worth a look.

use std::path::PathBuf;

use anyhow::{bail, Result};

use tcpstate::flow::SegmentLog;
use tcpstate::frame::Duration;
use tcpstate::output::html::{self, HtmlOptions, DEFAULT_MAX_DETAILS};
use tcpstate::output::seqdiag::{Scale, SeqOptions};
use tcpstate::summary::{summarize, SummaryOptions};
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

use super::diagram::{time_wait, write_output, DrawingArgs, ScaleArg};
use super::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// The HTML file to write; `-` writes to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Embed the diagrams of at most this many connections: those named in a diagnosis
    /// first, then the lowest ids. The table always lists every connection.
    #[arg(long = "max-details", value_name = "N", default_value_t = DEFAULT_MAX_DETAILS)]
    pub max_details: usize,
    /// Vertical spacing of the sequence diagrams: uniform steps, or proportional to time.
    #[arg(long, value_enum, default_value_t = ScaleArg::Uniform)]
    pub scale: ScaleArg,
    #[command(flatten)]
    pub drawing: DrawingArgs,
    /// Report FIN_WAIT_2 lasting at least this long (Linux tcp_fin_timeout is 60 s).
    #[arg(long = "fin-wait-2", value_name = "SECONDS", default_value_t = 60.0)]
    pub fin_wait_2: f64,
}

pub fn run(args: ReportArgs) -> Result<u8> {
    let time_wait = time_wait(args.drawing.time_wait)?;
    if !(args.fin_wait_2.is_finite() && args.fin_wait_2 >= 0.0) {
        bail!("--fin-wait-2 must be a non-negative number of seconds");
    }
    let sopts =
        SummaryOptions { long_fin_wait_2: Duration::from_secs_f64(args.fin_wait_2), ..SummaryOptions::default() };
    // Which connections get diagrams is known only after the whole capture (diagnoses), and
    // their segments are needed for the sequence diagrams. Files are read twice, the first
    // time keeping no segments, so memory stays proportional to the connections drawn;
    // standard input can be read once only, so it keeps every connection's segments.
    let rereadable = args.captures.iter().all(|p| p.as_os_str() != "-");
    let first_log = if rereadable { SegmentLog::None } else { SegmentLog::All };
    let progress = Progress::start(&args.captures);
    let opts = Options { time_wait, segments: first_log, progress: progress.counter(), ..Options::default() };
    let mut conns: Vec<Connection> = Vec::new();
    let mut report = analyze(&args.captures, &opts, &mut conns)?;
    progress.finish();
    let summary = summarize(&report, &conns, &sopts);
    let details = html::detail_ids(&summary, args.max_details);
    if rereadable && !details.is_empty() {
        let progress = Progress::start(&args.captures);
        let segments = SegmentLog::Only(details.iter().copied().collect());
        let opts = Options { time_wait, segments, progress: progress.counter(), ..Options::default() };
        conns.clear();
        report = analyze(&args.captures, &opts, &mut conns)?;
        progress.finish();
    }
    let hopts = HtmlOptions {
        seq: SeqOptions {
            scale: match args.scale {
                ScaleArg::Uniform => Scale::Uniform,
                ScaleArg::Time => Scale::Time,
            },
            names: args.drawing.names.into(),
            lang: args.drawing.lang.into(),
            time_wait,
            ..SeqOptions::default()
        },
    };
    let page = html::render(&report, &conns, &summary, &details, &hopts).map_err(anyhow::Error::msg)?;
    write_output(Some(&args.output), &page)?;
    Ok(0)
}
