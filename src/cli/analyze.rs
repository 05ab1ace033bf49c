//! `tcpstate analyze`: the connection table, one connection's timelines, or JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use tcpstate::flow::SegmentLog;
use tcpstate::frame::Duration;
use tcpstate::output::{json, text};
use tcpstate::tcp::state::Names;
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

use super::NameStyle;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    /// Several files are merged by timestamp into one capture.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Show this connection's two timelines side by side (ids as Wireshark's tcp.stream).
    #[arg(long = "conn", value_name = "ID")]
    pub conn: Option<u64>,
    /// Print the tcpstate/1 JSON document.
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one JSON object per connection per line, as each finishes.
    #[arg(long)]
    pub jsonl: bool,
    /// State names to print.
    #[arg(long, value_enum, default_value_t = NameStyle::Rfc)]
    pub names: NameStyle,
    /// Length of TIME_WAIT (2·MSL) in seconds; Linux uses 60.
    #[arg(long = "time-wait", value_name = "SECONDS", default_value_t = 60.0)]
    pub time_wait: f64,
}

pub fn run(args: AnalyzeArgs) -> Result<u8> {
    if !(args.time_wait.is_finite() && args.time_wait >= 0.0) {
        bail!("--time-wait must be a non-negative number of seconds");
    }
    let opts = Options {
        time_wait: Duration::from_secs_f64(args.time_wait),
        segments: SegmentLog::None,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if args.jsonl {
        let mut sink = LineSink {
            out: &mut out,
            error: None,
        };
        let report = analyze(&args.captures, &opts, &mut sink)?;
        // JSON Lines carry connections only: damaged input is reported on stderr.
        for w in &report.warnings {
            eprintln!("tcpstate: warning: {w}");
        }
        if let Some(e) = sink.error {
            return Err(e.into());
        }
        out.flush()?;
        return Ok(0);
    }
    let mut conns: Vec<Connection> = Vec::new();
    let report = analyze(&args.captures, &opts, &mut conns)?;
    conns.sort_by_key(|c| c.id);
    let names: Names = args.names.into();
    if args.json {
        json::write_document(&mut out, &report, &conns)?;
    } else if let Some(id) = args.conn {
        let c = conns.iter().find(|c| c.id == id).with_context(|| {
            format!(
                "no connection {id}: the capture has {} (ids 0–{})",
                conns.len(),
                conns.len().saturating_sub(1)
            )
        })?;
        out.write_all(text::connection_timelines(&report, c, names).as_bytes())?;
    } else {
        out.write_all(text::summary_table(&report, &conns, names).as_bytes())?;
    }
    out.flush()?;
    Ok(0)
}

struct LineSink<'a, W: Write> {
    out: &'a mut W,
    error: Option<io::Error>,
}

impl<W: Write> tcpstate::flow::Sink for LineSink<'_, W> {
    fn connection(&mut self, conn: Connection) {
        if self.error.is_none() {
            if let Err(e) = json::write_line(self.out, &conn) {
                self.error = Some(e);
            }
        }
    }
}
